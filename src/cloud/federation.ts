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
 */
import { createHash, randomBytes } from 'node:crypto';
import type { SealEngine } from '../he/backend/seal.ts';
import { PublicKeyProtocol } from '../he/mhe/public-key-gen.ts';
import { RelinKeyProtocol } from '../he/mhe/relin-key-gen.ts';
import { PublicKeyCodec, PublicKeyShareCodec, RelinKeyShare1Codec, RelinKeyShare2Codec, RelinKeysCodec } from '../he/wire.ts';
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
];

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** The rounds of the key ceremony, in order; `ready` once the keys exist. */
export type CeremonyRound = 'pk' | 'rlk1' | 'rlk2' | 'ready';

/** A key holder of a federation. */
export interface Member {
  readonly tenant: string;
  readonly role: 'plant' | 'builder';
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
}

/** An event for the transparency log. */
export interface CeremonyAudit {
  readonly federation: string;
  readonly member: string;
  readonly step: 'public_share' | 'combine' | 'complete';
  readonly round: Exclude<CeremonyRound, 'ready'>;
  /** SHA-256 (hex) of the share or key bytes. */
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
   * Creates a federation; its ceremony starts at round `pk`.
   *
   * @throws {TypeError|RangeError} for malformed members, receiver or guards
   * @throws {CloudError} `CLOUD_ERR_CONFLICT` when the id exists
   * @example
   * ```ts
   * await federations.create({ id: 'ai4i', preset: 'BGV_AGG_8192', members, receiver: 'builder', guards: { minPlants: 3, minRecords: 1000 } });
   * ```
   */
  async create(def: { id: string; preset: string; members: readonly Member[]; receiver: string; guards: { minPlants: number; minRecords: number } }): Promise<FederationRecord> {
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
    const seed = randomBytes(32).toString('hex');
    const rows = await this.#sql.query(
      `INSERT INTO cloud_federation (id, preset, members, receiver, min_plants, min_records, seed, round, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'pk', $8) ON CONFLICT (id) DO NOTHING RETURNING id`,
      [def.id, def.preset, JSON.stringify(def.members.map((m) => ({ tenant: m.tenant, role: m.role }))), def.receiver, minPlants, minRecords, seed, this.#now()],
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
   * A key holder's public share for a round (wire bytes of its round's codec). When the last
   * member's share arrives, the round is aggregated and the ceremony moves on.
   *
   * @returns whether this was new (`accepted`) or a repeat of the same bytes (`duplicate`), and the round now
   * @throws {CloudError} `CLOUD_ERR_STATE` for a round that is not the current one;
   *   `CLOUD_ERR_ACCESS_DENIED` for a tenant that is not a member; `CLOUD_ERR_CONFLICT` for other
   *   bytes than the member sent before; `CLOUD_ERR_VALIDATION` for bytes that do not decode
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
    const engine = await this.#engine(f.preset);
    const codec = round === 'pk' ? PublicKeyShareCodec : round === 'rlk1' ? RelinKeyShare1Codec : RelinKeyShare2Codec;
    try {
      codec.fromBytes(engine, bytes);
    } catch (cause) {
      throw new CloudError(CLOUD_ERR.VALIDATION, `cannot ${op}: the share does not decode (${(cause as Error).message})`, { cause });
    }
    await this.#blobs.put(bytes);
    const inserted = await this.#sql.query(
      'INSERT INTO cloud_ceremony_share (federation, round, member, share, received_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING member',
      [id, round, member, hash, this.#now()],
    );
    if (inserted.length === 0) return this.submitShare(id, member, round, bytes);
    await this.#audit({ federation: id, member, step: 'public_share', round, hash });
    const now = await this.#advance(id);
    return { status: 'accepted', round: now };
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
      if (f.round === 'pk') {
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
        await tx.query("UPDATE cloud_federation SET relin_keys = $2, round = 'ready' WHERE id = $1", [id, await this.#blobs.put(product)]);
        next = 'ready';
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
  });
}
