/**
 * Federations and their key ceremonies (DESIGN §3, §9). A federation is a
 * parameter preset, its key holders (plants and the machine builder), the
 * receiver of results (the machine builder), and the guards every job must
 * meet. The collective keys are made by the key holders from public shares
 * that the cloud collects and aggregates (src/he/mhe): round `pk` (public-key
 * shares), `rlk1` and `rlk2` (the two relinearization rounds). The cloud only
 * ever holds public material; the common reference polynomials are derived by
 * every party from the federation's public seed.
 *
 * Shares are single-use: a key holder that re-sends its share for a round gets
 * the same acknowledgement; other bytes for a round it already answered are a
 * conflict. Every accepted share and every completed round is reported through
 * the `audit` callback (the transparency log).
 *
 * A t-of-n federation (`threshold` t < n members) gives each member a public
 * evaluation point (its 1-based index in the member list) and three more rounds
 * after `rlk2` (docs/protocol.md, "Threshold ceremony over the cloud"): `kex`
 * (each key holder's X25519 key-agreement public key), `deal` (each key
 * holder's n − 1 Shamir shares, each sealed to its receiver — the cloud stores
 * them per (from, to) and cannot open them), `combine` (each key holder fetches
 * the shares sealed to it, combines them into its threshold share and
 * acknowledges with the SHA-256 of what it fetched); then `ready`.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { SealEngine } from '../he/backend/seal.ts';
import { PublicKeyProtocol } from '../he/mhe/public-key-gen.ts';
import { RelinKeyProtocol } from '../he/mhe/relin-key-gen.ts';
import { PublicKeyCodec, PublicKeyShareCodec, RelinKeyShare1Codec, RelinKeyShare2Codec, RelinKeysCodec } from '../he/wire.ts';
import { DealBundleCodec, type SealedShare } from '../wire/deal.ts';
import type { SqlClient } from '../trust/storage/sql.ts';
import type { FileBlobStore } from './blobs.ts';
import { CLOUD_ERR, CloudError } from './errors.ts';

const DDL = [
  `CREATE TABLE IF NOT EXISTS cloud_federation (
    id text PRIMARY KEY,
    preset text NOT NULL,
    members jsonb NOT NULL,
    receiver text NOT NULL,
    min_plants integer NOT NULL,
    min_records integer NOT NULL,
    seed text NOT NULL,
    round text NOT NULL,
    public_key text,
    relin_round1 text,
    relin_keys text,
    receiver_key text,
    created_at timestamptz NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS cloud_ceremony_share (
    federation text NOT NULL REFERENCES cloud_federation (id),
    round text NOT NULL,
    member text NOT NULL,
    share text NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (federation, round, member)
  )`,
  // t-of-n (added after the first release: NULL is an additive n-of-n federation).
  'ALTER TABLE cloud_federation ADD COLUMN IF NOT EXISTS threshold integer',
  `CREATE TABLE IF NOT EXISTS cloud_deal_share (
    federation text NOT NULL REFERENCES cloud_federation (id),
    sender text NOT NULL,
    receiver text NOT NULL,
    point integer NOT NULL,
    sealed text NOT NULL,
    PRIMARY KEY (federation, sender, receiver)
  )`,
];

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * The rounds of the key ceremony, in order; `ready` once the keys exist. `kex`, `deal` and
 * `combine` only for t-of-n federations.
 */
export type CeremonyRound = 'pk' | 'rlk1' | 'rlk2' | 'kex' | 'deal' | 'combine' | 'ready';

/** A key holder of a federation. */
export interface Member {
  readonly tenant: string;
  readonly role: 'plant' | 'builder';
  /** t-of-n: the member's public evaluation point (its 1-based index in the member list). */
  readonly point?: number;
}

/** A federation as registered. */
export interface FederationRecord {
  readonly id: string;
  readonly preset: string;
  readonly members: readonly Member[];
  /** The tenant results are re-encrypted to (the machine builder). */
  readonly receiver: string;
  readonly guards: { readonly minPlants: number; readonly minRecords: number };
  /** Public seed of the common reference polynomials (hex). */
  readonly seed: string;
  readonly round: CeremonyRound;
  /** How many key holders a reveal needs: t (t-of-n), or n for an additive federation. */
  readonly threshold: number;
}

/** An event for the transparency log. */
export interface CeremonyAudit {
  readonly federation: string;
  readonly member: string;
  readonly step: 'public_share' | 'combine' | 'complete';
  readonly round: Exclude<CeremonyRound, 'ready'>;
  /** SHA-256 (hex) of the share or key bytes (for `kex`, `deal`, `combine`: of what the member sent). */
  readonly hash: string;
}

interface Row {
  id: string;
  preset: string;
  members: unknown;
  receiver: string;
  min_plants: number;
  min_records: number;
  seed: string;
  round: CeremonyRound;
  public_key: string | null;
  relin_round1: string | null;
  relin_keys: string | null;
  receiver_key: string | null;
  threshold: number | null;
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Federations and their ceremonies. */
export class Federations {
  readonly #sql: SqlClient;
  readonly #blobs: FileBlobStore;
  readonly #engine: (preset: string) => Promise<SealEngine>;
  readonly #now: () => Date;
  readonly #audit: (e: CeremonyAudit) => Promise<void>;

  private constructor(o: FederationsOptions) {
    this.#sql = o.sql;
    this.#blobs = o.blobs;
    this.#engine = o.engine;
    this.#now = o.now ?? (() => new Date());
    this.#audit = o.audit ?? (async () => {});
  }

  /**
   * Opens the registry (creating its tables).
   *
   * @example
   * ```ts
   * const federations = await Federations.open({ sql, blobs, engine: (p) => engines.get(p) });
   * ```
   */
  static async open(options: FederationsOptions): Promise<Federations> {
    await options.sql.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock(hashtext('hedge.cloud.federation'))");
      for (const s of DDL) await tx.query(s);
    });
    return new Federations(options);
  }

  /**
   * Creates a federation; its ceremony starts at round `pk`. With `threshold` t < n (members), it is
   * t-of-n: each member gets its 1-based index as evaluation point, and the ceremony adds the
   * rounds `kex`, `deal` and `combine`. Default t = n (additive).
   *
   * @throws {TypeError|RangeError} for malformed members, receiver, guards or threshold (2 ≤ t ≤ n)
   * @throws {CloudError} `CLOUD_ERR_CONFLICT` when the id exists
   * @example
   * ```ts
   * await federations.create({ id: 'ai4i', preset: 'BGV_AGG_8192', members, receiver: 'builder', guards: { minPlants: 3, minRecords: 1000 } });
   * ```
   */
  async create(def: { id: string; preset: string; members: readonly Member[]; receiver: string; guards: { minPlants: number; minRecords: number }; threshold?: number }): Promise<FederationRecord> {
    if (typeof def?.id !== 'string' || !ID.test(def.id)) throw new TypeError('federation id must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}');
    await this.#engine(def.preset); // validates the preset
    if (!Array.isArray(def.members) || def.members.length < 2) throw new RangeError('a federation needs at least two key holders');
    const tenants = new Set<string>();
    for (const m of def.members) {
      if (typeof m?.tenant !== 'string' || !ID.test(m.tenant)) throw new TypeError('every member needs a tenant id');
      if (m.role !== 'plant' && m.role !== 'builder') throw new TypeError(`member ${m.tenant}: role must be 'plant' or 'builder'`);
      if (tenants.has(m.tenant)) throw new RangeError(`member ${m.tenant} is listed twice`);
      tenants.add(m.tenant);
    }
    if (!def.members.some((m) => m.tenant === def.receiver && m.role === 'builder')) throw new RangeError('the receiver must be a builder member');
    const { minPlants, minRecords } = def.guards ?? {};
    if (!Number.isInteger(minPlants) || minPlants < 1 || !Number.isInteger(minRecords) || minRecords < 1) throw new RangeError('guards.minPlants and guards.minRecords must be positive integers');
    const plants = def.members.filter((m) => m.role === 'plant').length;
    if (minPlants > plants) throw new RangeError(`guards.minPlants ${minPlants} exceeds the ${plants} plants of the federation`);
    const n = def.members.length;
    const t = def.threshold ?? n;
    if (!Number.isInteger(t) || t < 2 || t > n) throw new RangeError(`threshold must be an integer from 2 to the ${n} key holders, got ${String(def.threshold)}`);
    const seed = randomBytes(32).toString('hex');
    const members = def.members.map((m, i) => (t < n ? { tenant: m.tenant, role: m.role, point: i + 1 } : { tenant: m.tenant, role: m.role }));
    const rows = await this.#sql.query(
      `INSERT INTO cloud_federation (id, preset, members, receiver, min_plants, min_records, seed, round, created_at, threshold)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'pk', $8, $9) ON CONFLICT (id) DO NOTHING RETURNING id`,
      [def.id, def.preset, JSON.stringify(members), def.receiver, minPlants, minRecords, seed, this.#now(), t < n ? t : null],
    );
    if (rows.length === 0) throw new CloudError(CLOUD_ERR.CONFLICT, `cannot create federation ${def.id}: it exists`);
    return this.get(def.id);
  }

  /**
   * A federation.
   *
   * @throws {CloudError} `CLOUD_ERR_NOT_FOUND`
   */
  async get(id: string): Promise<FederationRecord> {
    return recordOf(await this.#row(id));
  }

  async #row(id: string): Promise<Row> {
    const rows = await this.#sql.query<Row>('SELECT * FROM cloud_federation WHERE id = $1', [id]);
    if (rows.length === 0) throw new CloudError(CLOUD_ERR.NOT_FOUND, `cannot read federation: no federation ${JSON.stringify(id)}`);
    return rows[0];
  }

  /** Members that sent their share for the current round, and those still missing. */
  async status(id: string): Promise<{ round: CeremonyRound; submitted: string[]; missing: string[] }> {
    const f = await this.get(id);
    if (f.round === 'ready') return { round: 'ready', submitted: f.members.map((m) => m.tenant), missing: [] };
    const got = new Set((await this.#sql.query<{ member: string }>('SELECT member FROM cloud_ceremony_share WHERE federation = $1 AND round = $2', [id, f.round])).map((r) => r.member));
    return { round: f.round, submitted: f.members.filter((m) => got.has(m.tenant)).map((m) => m.tenant), missing: f.members.filter((m) => !got.has(m.tenant)).map((m) => m.tenant) };
  }

  /**
   * A key holder's message for a round. When the last member's message arrives, the round is
   * aggregated and the ceremony moves on. What each round takes:
   *
   * | round | bytes |
   * |---|---|
   * | `pk`, `rlk1`, `rlk2` | the round's public share (its codec's wire bytes) |
   * | `kex` | the key holder's X25519 public key (32 bytes) |
   * | `deal` | a `DealBundleCodec` bundle: one sealed share from this key holder to every other member, for the receiver's point |
   * | `combine` | the SHA-256 (32 bytes) of the bundle {@link Federations.dealFor} gave this key holder: it combined exactly those shares |
   *
   * @returns whether this was new (`accepted`) or a repeat of the same bytes (`duplicate`), and the round now
   * @throws {CloudError} `CLOUD_ERR_STATE` for a round that is not the current one;
   *   `CLOUD_ERR_ACCESS_DENIED` for a tenant that is not a member; `CLOUD_ERR_CONFLICT` for other
   *   bytes than the member sent before; `CLOUD_ERR_VALIDATION` for bytes that do not decode (or a
   *   deal that does not address every other member once, at its point)
   * @example
   * ```ts
   * await federations.submitShare('mills', 'plant-a', 'kex', dealPublicKey);
   * ```
   */
  async submitShare(id: string, member: string, round: Exclude<CeremonyRound, 'ready'>, bytes: Uint8Array): Promise<{ status: 'accepted' | 'duplicate'; round: CeremonyRound }> {
    const op = `accept ${round} share for federation ${id}`;
    const row = await this.#row(id);
    const f = recordOf(row);
    if (!f.members.some((m) => m.tenant === member)) throw new CloudError(CLOUD_ERR.ACCESS_DENIED, `cannot ${op}: ${member} is not a key holder of it`);
    const hash = sha256(bytes);
    const previous = await this.#sql.query<{ share: string }>('SELECT share FROM cloud_ceremony_share WHERE federation = $1 AND round = $2 AND member = $3', [id, round, member]);
    if (previous.length > 0) {
      if (previous[0].share !== hash) throw new CloudError(CLOUD_ERR.CONFLICT, `cannot ${op}: ${member} sent another share for this round before (shares are single-use)`);
      return { status: 'duplicate', round: f.round };
    }
    if (f.round !== round) throw new CloudError(CLOUD_ERR.STATE, `cannot ${op}: the ceremony is at round ${f.round}`);
    let dealt: { to: string; point: number; sealed: string }[] = [];
    if (round === 'kex') {
      if (bytes.length !== 32 || bytes.every((b) => b === 0)) throw new CloudError(CLOUD_ERR.VALIDATION, `cannot ${op}: a key-agreement key is 32 bytes (X25519), got ${bytes.length}`);
    } else if (round === 'deal') {
      dealt = await this.#checkDeal(op, f, member, bytes);
    } else if (round === 'combine') {
      if (!Buffer.from(bytes).equals(createHash('sha256').update(await this.dealFor(id, member)).digest())) {
        throw new CloudError(CLOUD_ERR.VALIDATION, `cannot ${op}: the acknowledgement is not the SHA-256 of the shares dealt to ${member}`);
      }
    } else {
      const engine = await this.#engine(f.preset);
      const codec = round === 'pk' ? PublicKeyShareCodec : round === 'rlk1' ? RelinKeyShare1Codec : RelinKeyShare2Codec;
      try {
        codec.fromBytes(engine, bytes);
      } catch (cause) {
        throw new CloudError(CLOUD_ERR.VALIDATION, `cannot ${op}: the share does not decode (${(cause as Error).message})`, { cause });
      }
    }
    await this.#blobs.put(bytes);
    // One transaction: a deal's sealed shares are stored with the message that carries them, never apart.
    const inserted = await this.#sql.transaction(async (tx) => {
      const rows = await tx.query(
        'INSERT INTO cloud_ceremony_share (federation, round, member, share, received_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING member',
        [id, round, member, hash, this.#now()],
      );
      if (rows.length > 0) {
        for (const d of dealt) {
          await tx.query('INSERT INTO cloud_deal_share (federation, sender, receiver, point, sealed) VALUES ($1, $2, $3, $4, $5)', [id, member, d.to, d.point, d.sealed]);
        }
      }
      return rows.length > 0;
    });
    if (!inserted) return this.submitShare(id, member, round, bytes);
    await this.#audit({ federation: id, member, step: 'public_share', round, hash });
    const now = await this.#advance(id);
    return { status: 'accepted', round: now };
  }

  /** Checks a deal bundle and stores each sealed share's bytes; returns the rows to record per (from, to). */
  async #checkDeal(op: string, f: FederationRecord, member: string, bytes: Uint8Array): Promise<{ to: string; point: number; sealed: string }[]> {
    let bundle: SealedShare[];
    try {
      bundle = DealBundleCodec.fromBytes(bytes);
    } catch (cause) {
      throw new CloudError(CLOUD_ERR.VALIDATION, `cannot ${op}: the deal does not decode (${(cause as Error).message})`, { cause });
    }
    const others = f.members.filter((m) => m.tenant !== member);
    const seen = new Set<string>();
    for (const s of bundle) {
      const to = others.find((m) => m.tenant === s.to);
      if (s.from !== member || to === undefined || to.point !== s.point || seen.has(s.to)) {
        throw new CloudError(CLOUD_ERR.VALIDATION, `cannot ${op}: a deal holds one share from ${member} to every other member at its point (got ${s.from} → ${s.to} at ${s.point})`);
      }
      seen.add(s.to);
    }
    if (seen.size !== others.length) throw new CloudError(CLOUD_ERR.VALIDATION, `cannot ${op}: the deal addresses ${seen.size} of the ${others.length} other members`);
    const out: { to: string; point: number; sealed: string }[] = [];
    for (const s of bundle) out.push({ to: s.to, point: s.point, sealed: await this.#blobs.put(DealBundleCodec.toBytes([s])) });
    return out;
  }

  /**
   * t-of-n: the sealed shares every other member dealt to `member`, as one `DealBundleCodec`
   * bundle in member order (from round `combine` on). The cloud cannot open them; only `member`'s
   * key-agreement key can.
   *
   * @throws {CloudError} `CLOUD_ERR_STATE` before every deal is in, or for an additive federation;
   *   `CLOUD_ERR_ACCESS_DENIED` for a tenant that is not a member
   * @example
   * ```ts
   * const bundle = DealBundleCodec.fromBytes(await federations.dealFor('mills', 'plant-b'));
   * ```
   */
  async dealFor(id: string, member: string): Promise<Uint8Array> {
    const op = `read the shares dealt to ${member} in federation ${id}`;
    const f = await this.get(id);
    if (!f.members.some((m) => m.tenant === member)) throw new CloudError(CLOUD_ERR.ACCESS_DENIED, `cannot ${op}: ${member} is not a key holder of it`);
    if (f.threshold === f.members.length) throw new CloudError(CLOUD_ERR.STATE, `cannot ${op}: the federation is additive (n-of-n), nothing is dealt`);
    if (f.round !== 'combine' && f.round !== 'ready') throw new CloudError(CLOUD_ERR.STATE, `cannot ${op}: the ceremony is at round ${f.round}`);
    const rows = await this.#sql.query<{ sender: string; sealed: string }>('SELECT sender, sealed FROM cloud_deal_share WHERE federation = $1 AND receiver = $2', [id, member]);
    const order = f.members.map((m) => m.tenant);
    rows.sort((a, b) => order.indexOf(a.sender) - order.indexOf(b.sender));
    const shares = await Promise.all(rows.map(async (r) => DealBundleCodec.fromBytes(await this.#blobs.get(r.sealed))[0]));
    return DealBundleCodec.toBytes(shares);
  }

  /**
   * t-of-n: the key-agreement public keys (hex) members registered in round `kex`, by tenant.
   * @example
   * ```ts
   * const keys = await federations.dealKeys('mills'); // Map { 'plant-a' => '7f…', … }
   * ```
   */
  async dealKeys(id: string): Promise<Map<string, string>> {
    const rows = await this.#sql.query<{ member: string; share: string }>("SELECT member, share FROM cloud_ceremony_share WHERE federation = $1 AND round = 'kex'", [id]);
    const out = new Map<string, string>();
    for (const r of rows) out.set(r.member, Buffer.from(await this.#blobs.get(r.share)).toString('hex'));
    return out;
  }

  /** Aggregates the current round when every member has sent its share (one process at a time). */
  async #advance(id: string): Promise<CeremonyRound> {
    let done: CeremonyAudit | undefined;
    const round = await this.#sql.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`hedge.cloud.ceremony/${id}`]);
      const row = (await tx.query<Row>('SELECT * FROM cloud_federation WHERE id = $1', [id]))[0];
      const f = recordOf(row);
      if (f.round === 'ready') return f.round;
      const shares = await tx.query<{ member: string; share: string }>('SELECT member, share FROM cloud_ceremony_share WHERE federation = $1 AND round = $2', [id, f.round]);
      if (shares.length < f.members.length) return f.round;
      const engine = await this.#engine(f.preset);
      const seed = Buffer.from(f.seed, 'hex');
      const load = async <T>(codec: { fromBytes(e: SealEngine, b: Uint8Array): T }): Promise<T[]> =>
        Promise.all(f.members.map(async (m) => codec.fromBytes(engine, await this.#blobs.get(shares.find((s) => s.member === m.tenant)!.share))));
      let next: CeremonyRound;
      let product: Uint8Array;
      const threshold = f.threshold < f.members.length;
      if (f.round === 'kex' || f.round === 'deal' || f.round === 'combine') {
        // Nothing to aggregate: the round's product is the list of what every member sent (by hash).
        next = f.round === 'kex' ? 'deal' : f.round === 'deal' ? 'combine' : 'ready';
        product = new TextEncoder().encode(JSON.stringify(f.members.map((m) => [m.tenant, shares.find((s) => s.member === m.tenant)!.share])));
        await tx.query('UPDATE cloud_federation SET round = $2 WHERE id = $1', [id, next]);
      } else if (f.round === 'pk') {
        const p = new PublicKeyProtocol(engine);
        const crp = p.sampleCrp(seed);
        using pk = p.genPublicKey(p.aggregateShares(await load(PublicKeyShareCodec)), crp);
        product = PublicKeyCodec.toBytes(engine, pk);
        await tx.query("UPDATE cloud_federation SET public_key = $2, round = 'rlk1' WHERE id = $1", [id, await this.#blobs.put(product)]);
        next = 'rlk1';
      } else if (f.round === 'rlk1') {
        const p = new RelinKeyProtocol(engine);
        product = RelinKeyShare1Codec.toBytes(engine, p.aggregateShares1(await load(RelinKeyShare1Codec)));
        await tx.query("UPDATE cloud_federation SET relin_round1 = $2, round = 'rlk2' WHERE id = $1", [id, await this.#blobs.put(product)]);
        next = 'rlk2';
      } else {
        const p = new RelinKeyProtocol(engine);
        const round1 = RelinKeyShare1Codec.fromBytes(engine, await this.#blobs.get(row.relin_round1!));
        using rk = p.genRelinKey(round1, p.aggregateShares2(await load(RelinKeyShare2Codec)));
        product = RelinKeysCodec.toBytes(engine, rk);
        next = threshold ? 'kex' : 'ready';
        await tx.query('UPDATE cloud_federation SET relin_keys = $2, round = $3 WHERE id = $1', [id, await this.#blobs.put(product), next]);
      }
      done = { federation: id, member: 'cloud', step: next === 'ready' ? 'complete' : 'combine', round: f.round, hash: sha256(product) };
      return next;
    });
    // After the transaction: the audit may write to the same database (PGlite has one connection).
    if (done !== undefined) await this.#audit(done);
    return round;
  }

  /**
   * Registers the receiver's own public key (the machine builder's SEAL key, not a share of the
   * collective one): results are re-encrypted to it. Set once; key holders check every reveal
   * request against it, so the cloud cannot substitute a key of its own.
   *
   * @throws {CloudError} `CLOUD_ERR_ACCESS_DENIED` for a tenant other than the receiver;
   *   `CLOUD_ERR_CONFLICT` when another key is registered; `CLOUD_ERR_VALIDATION` for bytes that
   *   are not a public key of the preset
   */
  async setReceiverKey(id: string, tenant: string, bytes: Uint8Array): Promise<string> {
    const op = `register the receiver key of federation ${id}`;
    const row = await this.#row(id);
    if (tenant !== row.receiver) throw new CloudError(CLOUD_ERR.ACCESS_DENIED, `cannot ${op}: only the receiver ${row.receiver} registers its key`);
    const engine = await this.#engine(row.preset);
    try {
      PublicKeyCodec.fromBytes(engine, bytes)[Symbol.dispose]();
    } catch (cause) {
      throw new CloudError(CLOUD_ERR.VALIDATION, `cannot ${op}: not a public key of ${row.preset}`, { cause });
    }
    const hash = sha256(bytes);
    if (row.receiver_key !== null && row.receiver_key !== hash) throw new CloudError(CLOUD_ERR.CONFLICT, `cannot ${op}: another key is registered`);
    await this.#blobs.put(bytes);
    await this.#sql.query('UPDATE cloud_federation SET receiver_key = $2 WHERE id = $1 AND (receiver_key IS NULL OR receiver_key = $2)', [id, hash]);
    return hash;
  }

  /**
   * Public material of the ceremony: the collective public key (after round `pk`), the round-1
   * aggregate that round 2 needs (after `rlk1`), the relinearization keys (when `ready`), and the
   * receiver's registered key.
   *
   * @throws {CloudError} `CLOUD_ERR_STATE` when the ceremony has not produced it yet
   */
  async material(id: string, what: 'publicKey' | 'relinRound1' | 'relinKeys' | 'receiverKey'): Promise<Uint8Array> {
    const row = await this.#row(id);
    const hash = what === 'publicKey' ? row.public_key : what === 'relinRound1' ? row.relin_round1 : what === 'relinKeys' ? row.relin_keys : row.receiver_key;
    if (hash === null) throw new CloudError(CLOUD_ERR.STATE, `cannot read ${what} of federation ${id}: the ceremony is at round ${row.round}`);
    return this.#blobs.get(hash);
  }
}

/** Options of {@link Federations.open}. */
export interface FederationsOptions {
  readonly sql: SqlClient;
  readonly blobs: FileBlobStore;
  /** The SEAL engine of a preset (throws for an unknown one). */
  readonly engine: (preset: string) => Promise<SealEngine>;
  readonly now?: () => Date;
  readonly audit?: (e: CeremonyAudit) => Promise<void>;
}

function recordOf(r: Row): FederationRecord {
  const members = (typeof r.members === 'string' ? JSON.parse(r.members) : r.members) as Member[];
  return Object.freeze({
    id: r.id, preset: r.preset, members: Object.freeze(members.map((m) => Object.freeze({ ...m }))), receiver: r.receiver,
    guards: Object.freeze({ minPlants: Number(r.min_plants), minRecords: Number(r.min_records) }), seed: r.seed, round: r.round,
    threshold: r.threshold === null || r.threshold === undefined ? members.length : Number(r.threshold),
  });
}
