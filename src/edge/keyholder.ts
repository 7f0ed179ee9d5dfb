/**
 * The key holder of a plant (DESIGN.md §3; issue 6): takes part in key ceremonies and makes a
 * reveal share only when the plant's policy allows it. Pure logic and storage: the cloud carries
 * the messages (transport is not this module's job).
 *
 * A key holder keeps three files in its directory:
 *
 * | file | what | how |
 * |---|---|---|
 * | `custody.hkc` | the secret share sᵢ, the threshold share, ceremony secrets between steps | {@link KeyCustody}: AES-256-GCM under an argon2id key |
 * | `ledger.db` | every public share made, by (protocol, instance, input digest) | {@link SqliteLedgerStore}: durable before a share is returned |
 * | `keyholder.db` | one row per protocol instance answered, admin approvals, the local log | SQLite, WAL, synchronous=FULL; the log is hash-chained and append-only |
 *
 * Rules, each tested in `test/edge/keyholder*.test.ts`:
 * - **Single use.** A protocol instance (a ceremony step, or a job's reveal) is answered for one
 *   request only: the request's digest is recorded durably *before* the share is made, a retry
 *   of the same request gets the stored share (byte-identical, also after a restart or a
 *   SIGKILL), a different request for the same instance is refused (`EDGE_ERR_SHARE_CONFLICT`).
 *   Inputs are decoded and checked before anything is recorded, so bad bytes never burn an
 *   instance.
 * - **Reveal policy.** A reveal share is made only for a job the plant admin approved
 *   ({@link KeyHolder.approve}: who, when, job id, the plan's digest {@link jobPlanDigest}), whose
 *   plan covers at least `minPlants` plants and `minRecords` records — the figures recomputed
 *   from the plan's own batch list — within `maxRevealsPerDay` new reveal shares per rolling
 *   24 hours (retries are free), and whose receiver is the federation's registered receiver,
 *   unless the admin approved collective decryption for that job. Each refusal throws a typed
 *   {@link EdgeError} and is logged.
 * - **Relinearization ephemeral.** Round 1's uᵢ is stored in custody before the round-1 share is
 *   stored in the ledger, and deleted (and zeroed) once the round-2 share is.
 * - **t-of-n.** The deal travels sealed ({@link KeyHolder.dealKey}, {@link KeyHolder.sealDeal},
 *   {@link KeyHolder.openDeal}; src/edge/deal-channel.ts): the X25519 key stays in custody until
 *   the deal is combined, then it is deleted. A reveal is one instance per (job, λⱼ) — λⱼ the
 *   Lagrange coefficient of the request's active set — so an active set that gives the same λⱼ
 *   gets the stored share, and a new active set (another λⱼ, another linear function of tskⱼ)
 *   a fresh one; with `federation.holders` (n) known, at most n − t + 1 per job.
 * - **Local log.** Every share produced or re-sent, every refusal and every approval is appended
 *   to the `log` table of `keyholder.db` with ids and SHA-256 digests only — never a value.
 *   Each row carries `hash = SHA-256(prev ‖ row)`; SQLite triggers refuse UPDATE and DELETE;
 *   {@link KeyHolder.verifyLog} recomputes the chain.
 * @module
 */
import { immediateTransaction } from './sqlite.ts';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { SealEngine } from '../he/backend/seal.ts';
import { ShareLedger } from '../he/mhe/ledger.ts';
import { PublicKeyProtocol } from '../he/mhe/public-key-gen.ts';
import { RelinKeyProtocol } from '../he/mhe/relin-key-gen.ts';
import type { PartySecret } from '../he/mhe/secret.ts';
import type { SumRevealInput } from '../he/mhe/sum-input.ts';
import { ThresholdProtocol, type ShamirShare } from '../he/mhe/threshold.ts';
import type { SealedShare } from '../wire/deal.ts';
import { dealPublicKey, generateDealKey, openDealShare, sealDealShare } from './deal-channel.ts';
import { wipe } from '../he/ring.ts';
import { CiphertextCodec, PublicKeyCodec, PublicKeyShareCodec, RelinKeyEphemeralCodec, RelinKeyShare1Codec, RelinKeyShare2Codec, ShamirShareCodec } from '../he/wire.ts';
import type { JobPlan } from '../compute/plan.ts';
import { makeRevealShare, receiveMoments, revealInputDigest } from '../compute/reveal.ts';
import type { DatasetSchema } from '../models/schema.ts';
import type { Moments } from '../models/moments.ts';
import { aArray, aInteger, aObject, aString, describe } from './assert.ts';
import { KeyCustody, type CustodyUnlock, type KdfParams } from './custody.ts';
import { EDGE_ERR, EdgeError, EdgeRangeError, EdgeTypeError, type EdgeErrorCode } from './errors.ts';
import { SqliteLedgerStore, keyholderStorageError, openKeyholderDb } from './ledger-store.ts';

/** What this plant allows to be revealed (owned by the plant admin). */
export interface KeyHolderPolicy {
  /** A reveal must cover at least this many plants (k). */
  readonly minPlants: number;
  /** … and at least this many records (m). */
  readonly minRecords: number;
  /** At most this many new reveal shares in any rolling 24 hours (R); retries are not counted. */
  readonly maxRevealsPerDay: number;
}

/** The federation as this key holder knows it. */
export interface KeyHolderFederation {
  /**
   * The registered receiver's public key (the machine builder), as `PublicKeyCodec` bytes. Absent
   * while the federation has none registered (during its key ceremony): then every reveal to a
   * receiver is refused (`EDGE_ERR_RECEIVER`); reopen the key holder once it is known.
   */
  readonly receiver?: Uint8Array;
  /** How many key holders' shares a reveal combines (n, or t for t-of-n); each floods for all of them. */
  readonly parties: number;
  /** t-of-n: this key holder's public evaluation point. Absent: additive n-of-n. */
  readonly thresholdPoint?: number;
  /**
   * t-of-n: how many key holders the federation has (n). When given, this key holder makes
   * shares for at most n − t + 1 different active sets (Lagrange coefficients) per job — the most
   * an honest cloud asks for, since every new attempt leaves out a key holder that did not answer.
   */
  readonly holders?: number;
}

/** t-of-n: the federation's key holders as the deal needs them (their points and registered X25519 keys). */
export interface DealMembers {
  /** The federation id (bound into every sealed share). */
  readonly federation: string;
  /** This key holder's tenant. */
  readonly self: string;
  /** t. */
  readonly threshold: number;
  /** Every key holder, this one included: tenant, evaluation point, and its key-agreement public key (32 bytes). */
  readonly members: readonly { readonly tenant: string; readonly point: number; readonly dealKey: Uint8Array }[];
}

/** Options of {@link KeyHolder.open}. */
export interface KeyHolderOptions {
  /** Directory holding `custody.hkc`, `ledger.db` and `keyholder.db` (see {@link KeyHolder.init}). */
  readonly dir: string;
  readonly engine: SealEngine;
  readonly unlock: CustodyUnlock;
  readonly policy: KeyHolderPolicy;
  readonly federation: KeyHolderFederation;
  /** Clock in ms (default `Date.now`), for approvals, the rate limit and the log. */
  readonly now?: () => number;
}

/** An admin's approval of one job's plan. */
export interface Approval {
  readonly jobId: string;
  /** {@link jobPlanDigest} of the plan the admin reviewed. */
  readonly planDigest: string;
  /** Who approved (an admin identity; an id, not a name the log must hide). */
  readonly approvedBy: string;
  /** When (ms since the epoch). */
  readonly approvedAt: number;
  /** Whether the result may be decrypted collectively (whoever combines learns it) instead of switched to the registered receiver. */
  readonly collectiveDecryption: boolean;
}

/** A request for this key holder's share of a job's reveal. */
export interface RevealShareRequest {
  readonly jobId: string;
  readonly plan: JobPlan;
  readonly input: SumRevealInput;
  /** The receiver's public key as `PublicKeyCodec` bytes, or null for collective decryption. */
  readonly receiver: Uint8Array | null;
  /** t-of-n: the evaluation points of the t key holders taking part (this one's among them). */
  readonly activeSet?: readonly number[];
}

/** One row of the local log. */
export interface LogEntry {
  readonly seq: number;
  readonly at: number;
  /** `batch`: a batch the cloud acknowledged; `checkpoint`: a cloud checkpoint checked for consistency. */
  readonly kind: 'share' | 'refusal' | 'approval' | 'batch' | 'checkpoint';
  /** Ids, counts, codes and SHA-256 digests only. */
  readonly detail: Readonly<Record<string, string | number | boolean>>;
  readonly prev: string;
  readonly hash: string;
}

const STATE_VERSION = 1;
const STATE_SCHEMA = `
  CREATE TABLE step (protocol TEXT NOT NULL, instance TEXT NOT NULL, request TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (protocol, instance)) STRICT;
  CREATE TABLE approval (job_id TEXT PRIMARY KEY, plan_digest TEXT NOT NULL, approved_by TEXT NOT NULL, approved_at INTEGER NOT NULL, collective INTEGER NOT NULL) STRICT;
  CREATE TABLE log (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL) STRICT;
  CREATE TRIGGER log_no_update BEFORE UPDATE ON log BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
  CREATE TRIGGER log_no_delete BEFORE DELETE ON log BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END`;
const GENESIS = '0'.repeat(64);
const DAY_MS = 86_400_000;
const ID_RE = /^[A-Za-z0-9._:@-]{1,128}$/;
const REVEAL = 'reveal';
/** Custody name of the receiver's SEAL secret key. */
const RECEIVER_SECRET = 'receiver:secret-key';
const RECEIVER_PUBLIC = 'receiver:public-key';

/**
 * SHA-256 (hex) of a job plan in canonical JSON (object keys sorted, no whitespace), under the
 * label `hedge/job-plan/v1`: what an admin approves and what a key holder checks a request
 * against. Any change to the plan — a batch, a feature, the records — changes it.
 *
 * @throws EdgeTypeError if the plan holds something JSON cannot (a bigint, a function, NaN)
 * @example
 * ```ts
 * keyholder.approve({ jobId: 'job-7', planDigest: jobPlanDigest(plan), approvedBy: 'admin@plant-a' });
 * ```
 */
export function jobPlanDigest(plan: JobPlan): string {
  aObject('digest job plan', 'plan', plan);
  return createHash('sha256').update('hedge/job-plan/v1\n').update(canonicalJson(plan, 'plan')).digest('hex');
}

/**
 * A plant's key holder: custody, ledger, approvals and log behind one object.
 *
 * @example
 * ```ts
 * await KeyHolder.init('/var/lib/hedge/keyholder', engine, { keyFile: '/etc/hedge/custody.key' });
 * using kh = await KeyHolder.open({ dir: '/var/lib/hedge/keyholder', engine, unlock, policy, federation });
 * const pkShare = kh.publicKeyShare('ceremony-1', seed);             // to the cloud
 * kh.approve({ jobId: 'job-7', planDigest: jobPlanDigest(plan), approvedBy: 'admin@plant-a' });
 * const share = kh.revealShare({ jobId: 'job-7', plan, input, receiver: builderPkBytes });
 * ```
 */
export class KeyHolder {
  readonly #engine: SealEngine;
  readonly #custody: KeyCustody;
  readonly #store: SqliteLedgerStore;
  readonly #ledger: ShareLedger;
  readonly #db: DatabaseSync;
  readonly #policy: KeyHolderPolicy;
  readonly #federation: KeyHolderFederation;
  readonly #now: () => number;
  readonly #sql: Record<'step' | 'reserve' | 'recent' | 'approval' | 'approve' | 'last' | 'append' | 'scan', StatementSync>;
  #closed = false;

  private constructor(options: KeyHolderOptions, custody: KeyCustody, store: SqliteLedgerStore, db: DatabaseSync) {
    this.#engine = options.engine;
    this.#custody = custody;
    this.#store = store;
    this.#ledger = new ShareLedger(store);
    this.#db = db;
    this.#policy = Object.freeze({ ...options.policy });
    const receiver = options.federation.receiver;
    this.#federation = Object.freeze({ ...options.federation, ...(receiver === undefined ? {} : { receiver: new Uint8Array(receiver) }) });
    this.#now = options.now ?? Date.now;
    this.#sql = {
      step: db.prepare('SELECT request FROM step WHERE protocol = ? AND instance = ?'),
      reserve: db.prepare('INSERT INTO step (protocol, instance, request, at) VALUES (?, ?, ?, ?)'),
      recent: db.prepare('SELECT count(*) AS n FROM step WHERE protocol = ? AND at > ?'),
      approval: db.prepare('SELECT job_id, plan_digest, approved_by, approved_at, collective FROM approval WHERE job_id = ?'),
      approve: db.prepare('INSERT INTO approval (job_id, plan_digest, approved_by, approved_at, collective) VALUES (?, ?, ?, ?, ?)'),
      last: db.prepare('SELECT seq, hash FROM log ORDER BY seq DESC LIMIT 1'),
      append: db.prepare('INSERT INTO log (seq, at, kind, detail, prev, hash) VALUES (?, ?, ?, ?, ?, ?)'),
      scan: db.prepare('SELECT seq, at, kind, detail, prev, hash FROM log ORDER BY seq'),
    };
  }

  /**
   * Creates a key holder's directory (mode 0700 if new) and its custody file with a fresh secret
   * share. Run once per plant.
   *
   * @throws EdgeError `EDGE_ERR_CUSTODY_EXISTS` and the other errors of {@link KeyCustody.create}
   * @example
   * ```ts
   * await KeyHolder.init('/var/lib/hedge/keyholder', engine, { keyFile: '/etc/hedge/custody.key' });
   * ```
   */
  static async init(dir: string, engine: SealEngine, unlock: CustodyUnlock, options: { readonly kdf?: KdfParams } = {}): Promise<void> {
    const op = 'initialise key holder';
    aString(op, 'dir', dir);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new EdgeError(EDGE_ERR.CUSTODY_IO, `cannot ${op}: cannot create ${dir} (${(e as Error).message})`, { cause: e });
    }
    (await KeyCustody.create(join(dir, 'custody.hkc'), engine, unlock, options)).close();
  }

  /**
   * Opens a key holder: unlocks custody, opens the ledger and the state (taking their locks).
   *
   * @throws EdgeTypeError / EdgeRangeError for malformed options (policy figures must be
   *   positive integers; the receiver must decode as a public key of this parameter set)
   * @throws EdgeError the errors of {@link KeyCustody.open}, `EDGE_ERR_KEYHOLDER_LOCKED`,
   *   `EDGE_ERR_KEYHOLDER_STORAGE`
   * @example
   * ```ts
   * const kh = await KeyHolder.open({ dir, engine, unlock: { passphrase }, policy: { minPlants: 3, minRecords: 1000, maxRevealsPerDay: 10 }, federation: { receiver, parties: 3 } });
   * ```
   */
  static async open(options: KeyHolderOptions): Promise<KeyHolder> {
    const op = 'open key holder';
    aObject(op, 'options', options);
    aString(op, 'options.dir', options.dir);
    aObject(op, 'options.policy', options.policy);
    aInteger(op, 'options.policy.minPlants', options.policy.minPlants, 1);
    aInteger(op, 'options.policy.minRecords', options.policy.minRecords, 1);
    aInteger(op, 'options.policy.maxRevealsPerDay', options.policy.maxRevealsPerDay, 1);
    const federation = options.federation as KeyHolderFederation;
    aObject(op, 'options.federation', federation);
    aInteger(op, 'options.federation.parties', federation.parties, 1, 64);
    if (federation.thresholdPoint !== undefined) aInteger(op, 'options.federation.thresholdPoint', federation.thresholdPoint, 1, 0xffff);
    if (federation.receiver !== undefined) {
      if (!(federation.receiver instanceof Uint8Array)) throw new EdgeTypeError(`cannot ${op}: options.federation.receiver must be PublicKeyCodec bytes, got ${describe(federation.receiver)}`);
      try {
        PublicKeyCodec.fromBytes(options.engine, federation.receiver)[Symbol.dispose]();
      } catch (e) {
        throw new EdgeRangeError(`cannot ${op}: options.federation.receiver is not a public key under ${options.engine?.params?.name} (${(e as Error).message})`, { cause: e });
      }
    }
    const custody = await KeyCustody.open(join(options.dir, 'custody.hkc'), options.engine, options.unlock);
    let store: SqliteLedgerStore | undefined;
    try {
      store = SqliteLedgerStore.open(join(options.dir, 'ledger.db'));
      const db = openKeyholderDb(op, join(options.dir, 'keyholder.db'), STATE_VERSION, STATE_SCHEMA);
      return new KeyHolder(options, custody, store, db);
    } catch (e) {
      store?.close();
      custody.close();
      throw e;
    }
  }

  /**
   * Public-key ceremony: this key holder's share −a·sᵢ + eᵢ for the federation's seed, as
   * `PublicKeyShareCodec` bytes.
   *
   * @throws EdgeError `EDGE_ERR_SHARE_CONFLICT` (this ceremony was answered for another seed)
   * @example
   * ```ts
   * const bytes = kh.publicKeyShare('federation-1', seed);
   * ```
   */
  publicKeyShare(ceremonyId: string, seed: Uint8Array): Uint8Array {
    const op = 'make a public-key share';
    this.#open(op);
    checkId(op, 'ceremonyId', ceremonyId);
    checkSeed(op, seed);
    return this.#step(op, 'public-key', ceremonyId, sha256(seed), () => this.#ledger.issue('public-key', ceremonyId, seed, () => {
      const p = new PublicKeyProtocol(this.#engine);
      return PublicKeyShareCodec.toBytes(this.#engine, p.genShare(this.#custody.secret, p.sampleCrp(seed)));
    }));
  }

  /**
   * Relinearization-key ceremony, round 1: the public share (`RelinKeyShare1Codec` bytes). The
   * ephemeral uᵢ goes into custody (durably) before the share is stored and returned.
   *
   * @throws EdgeError `EDGE_ERR_SHARE_CONFLICT`, `EDGE_ERR_CUSTODY_IO`
   * @example
   * ```ts
   * const r1 = kh.relinKeyShareRound1('federation-1', seed);
   * ```
   */
  relinKeyShareRound1(ceremonyId: string, seed: Uint8Array): Uint8Array {
    const op = 'make a relinearization round-1 share';
    this.#open(op);
    checkId(op, 'ceremonyId', ceremonyId);
    checkSeed(op, seed);
    return this.#step(op, 'relin-1', ceremonyId, sha256(seed), () => this.#ledger.issue('relin-1', ceremonyId, seed, () => {
      const e = this.#engine;
      const p = new RelinKeyProtocol(e);
      const r1 = p.genShareRound1(this.#custody.secret, p.sampleCrp(seed));
      const u = RelinKeyEphemeralCodec.toBytes(e, r1.secret);
      try {
        this.#custody.putEphemeral(`relin:${ceremonyId}`, u);
      } finally {
        u.fill(0);
        wipe(r1.secret.u);
      }
      return RelinKeyShare1Codec.toBytes(e, r1.public);
    }));
  }

  /**
   * Relinearization-key ceremony, round 2 on the aggregate of every round-1 share
   * (`RelinKeyShare1Codec` bytes): the share (`RelinKeyShare2Codec` bytes). Uses round 1's
   * ephemeral from custody, then deletes and zeroes it.
   *
   * @throws HeError `HE_ERR_DECODE` for bad aggregate bytes (nothing recorded)
   * @throws EdgeError `EDGE_ERR_CEREMONY` (no round 1 here, or its ephemeral is gone),
   *   `EDGE_ERR_SHARE_CONFLICT` (round 2 was answered for another aggregate)
   * @example
   * ```ts
   * const r2 = kh.relinKeyShareRound2('federation-1', aggregate1Bytes);
   * ```
   */
  relinKeyShareRound2(ceremonyId: string, round1Aggregate: Uint8Array): Uint8Array {
    const op = 'make a relinearization round-2 share';
    this.#open(op);
    checkId(op, 'ceremonyId', ceremonyId);
    if (!(round1Aggregate instanceof Uint8Array)) throw new EdgeTypeError(`cannot ${op}: round1Aggregate must be a Uint8Array, got ${describe(round1Aggregate)}`);
    const e = this.#engine;
    const aggregate = RelinKeyShare1Codec.fromBytes(e, round1Aggregate);
    const name = `relin:${ceremonyId}`;
    if (this.#stepRequest(op, 'relin-1', ceremonyId) === undefined) {
      throw new EdgeError(EDGE_ERR.CEREMONY, `cannot ${op}: this key holder made no round-1 share for ceremony ${ceremonyId}`);
    }
    const answered = this.#ledger.has('relin-2', ceremonyId, round1Aggregate);
    if (!answered && this.#custody.getEphemeral(name) === undefined && this.#stepRequest(op, 'relin-2', ceremonyId) === undefined) {
      throw new EdgeError(EDGE_ERR.CEREMONY, `cannot ${op}: round 1's ephemeral secret for ceremony ${ceremonyId} is gone`);
    }
    const bytes = this.#step(op, 'relin-2', ceremonyId, sha256(round1Aggregate), () => this.#ledger.issue('relin-2', ceremonyId, round1Aggregate, () => {
      const u = this.#custody.getEphemeral(name);
      if (u === undefined) throw new EdgeError(EDGE_ERR.CEREMONY, `cannot ${op}: round 1's ephemeral secret for ceremony ${ceremonyId} is gone`);
      let ephemeral;
      try {
        ephemeral = RelinKeyEphemeralCodec.fromBytes(e, u);
      } finally {
        u.fill(0);
      }
      return RelinKeyShare2Codec.toBytes(e, new RelinKeyProtocol(e).genShareRound2(this.#custody.secret, ephemeral, aggregate)); // wipes ephemeral.u
    }));
    this.#custody.deleteEphemeral(name);
    return bytes;
  }

  /**
   * Threshold ceremony (t-of-n), deal: Pᵢ(x) for every point x of `points` (this key holder's
   * own included), as `ShamirShareCodec` bytes. The polynomial is re-derived from a seed kept in
   * custody, so a retried deal returns the same bytes. **These bytes are secret**: each must
   * reach its key holder over a private channel (encrypted to it); never log or store them.
   *
   * @throws EdgeError `EDGE_ERR_SHARE_CONFLICT` (dealt before with another t or points),
   *   `EDGE_ERR_CEREMONY` (already combined: the seed is gone)
   * @example
   * ```ts
   * const dealt = kh.dealShamirShares('federation-1', 2, [1, 2, 3]); // Map point → bytes
   * ```
   */
  dealShamirShares(ceremonyId: string, threshold: number, points: readonly number[]): Map<number, Uint8Array> {
    const op = 'deal Shamir shares';
    this.#open(op);
    checkId(op, 'ceremonyId', ceremonyId);
    aInteger(op, 'threshold', threshold, 1, 64);
    aArray(op, 'points', points);
    points.forEach((x, i) => aInteger(op, `points[${i}]`, x, 1, 0xffff));
    if (new Set(points).size !== points.length || points.length < threshold) throw new EdgeRangeError(`cannot ${op}: points must be at least ${threshold} distinct evaluation points`);
    const name = `shamir:${ceremonyId}`;
    const request = sha256(Buffer.from(JSON.stringify([threshold, points])));
    const out = new Map<number, Uint8Array>();
    this.#step(op, 'shamir-deal', ceremonyId, request, (retry) => {
      let seed = this.#custody.getEphemeral(name);
      if (seed === undefined) {
        // No seed: either nothing was dealt yet (a crash before it was stored), or the deal was combined and its seed deleted.
        if (retry && this.#stepRequest(op, 'shamir-combine', ceremonyId) !== undefined) {
          throw new EdgeError(EDGE_ERR.CEREMONY, `cannot ${op}: ceremony ${ceremonyId} was combined; its deal is gone`);
        }
        seed = randomBytes(32);
        this.#custody.putEphemeral(name, seed);
      }
      const th = new ThresholdProtocol(this.#engine);
      const poly = th.genShamirPolynomial(this.#custody.secret, threshold, seed);
      seed.fill(0);
      const digest = createHash('sha256');
      try {
        for (const x of points) {
          const share = th.genShamirShare(poly, x);
          const bytes = ShamirShareCodec.toBytes(this.#engine, share);
          wipe(share.value);
          digest.update(bytes);
          out.set(x, bytes);
        }
      } finally {
        th.wipePolynomial(poly);
      }
      return new Uint8Array(digest.digest());
    });
    return out;
  }

  /**
   * Threshold ceremony, combine: sums the shares every key holder dealt to this one's point
   * into its threshold share tskⱼ, stores it in custody and deletes this key holder's deal seed.
   * Call it once every key holder has received its dealt shares. A retry is a no-op.
   *
   * @throws HeError `HE_ERR_DECODE` for bad share bytes (nothing recorded)
   * @throws EdgeRangeError if the federation is not t-of-n or a share is for another point
   * @throws EdgeError `EDGE_ERR_SHARE_CONFLICT` (combined before from other shares)
   * @example
   * ```ts
   * kh.combineShamirShares('federation-1', receivedFromEveryKeyHolder);
   * ```
   */
  combineShamirShares(ceremonyId: string, received: readonly Uint8Array[]): void {
    const op = 'combine Shamir shares';
    this.#open(op);
    checkId(op, 'ceremonyId', ceremonyId);
    aArray(op, 'received', received);
    const point = this.#federation.thresholdPoint;
    if (point === undefined) throw new EdgeRangeError(`cannot ${op}: the federation is not t-of-n (no thresholdPoint)`);
    if (received.length < this.#federation.parties) throw new EdgeRangeError(`cannot ${op}: ${received.length} shares, at least t = ${this.#federation.parties} are needed`);
    const digest = createHash('sha256');
    const shares: ShamirShare[] = [];
    try {
      for (const [i, bytes] of received.entries()) {
        if (!(bytes instanceof Uint8Array)) throw new EdgeTypeError(`cannot ${op}: received[${i}] must be a Uint8Array, got ${describe(bytes)}`);
        const share = ShamirShareCodec.fromBytes(this.#engine, bytes);
        shares.push(share);
        if (share.point !== point) throw new EdgeRangeError(`cannot ${op}: received[${i}] is for point ${share.point}, this key holder's is ${point}`);
        digest.update(bytes);
      }
      this.#step(op, 'shamir-combine', ceremonyId, digest.digest('hex'), (retry) => {
        if (!retry || this.#custody.thresholdShare === undefined) {
          const tsk = new ThresholdProtocol(this.#engine).aggregateShares(shares);
          try {
            this.#custody.setThresholdShare(tsk);
          } finally {
            wipe(tsk.value);
          }
        }
        this.#custody.deleteEphemeral(`shamir:${ceremonyId}`);
        return new Uint8Array(0);
      });
    } finally {
      for (const s of shares) wipe(s.value);
    }
  }

  /**
   * t-of-n, round `kex`: this key holder's X25519 key-agreement public key for a ceremony (32
   * bytes). The private key is made on the first call and kept in custody (encrypted at rest)
   * until the deal is combined; later calls answer the same key.
   *
   * @throws EdgeError `EDGE_ERR_CEREMONY` (the ceremony was combined: its key is gone),
   *   `EDGE_ERR_CUSTODY_IO`, `EDGE_ERR_KEYHOLDER_CLOSED`
   * @example
   * ```ts
   * await cloud.postCeremonyShare('mills', 'kex', kh.dealKey('mills'));
   * ```
   */
  dealKey(ceremonyId: string): Uint8Array {
    const op = 'make the deal key';
    this.#open(op);
    checkId(op, 'ceremonyId', ceremonyId);
    const name = `deal-key:${ceremonyId}`;
    const known = this.#custody.getEphemeral(name);
    if (known !== undefined) {
      try {
        return dealPublicKey(known);
      } finally {
        known.fill(0);
      }
    }
    if (this.#stepRequest(op, 'shamir-combine', ceremonyId) !== undefined) throw new EdgeError(EDGE_ERR.CEREMONY, `cannot ${op}: ceremony ${ceremonyId} was combined; its deal key is gone`);
    const { publicKey, privateKey } = generateDealKey();
    try {
      this.#custody.putEphemeral(name, privateKey);
    } finally {
      privateKey.fill(0);
    }
    return publicKey;
  }

  /**
   * t-of-n, round `deal`: this key holder's Shamir shares Pᵢ(xⱼ) for every other member, each
   * sealed to that member's registered key ({@link sealDealShare}). Deterministic: the polynomial
   * comes from the seed in custody and the sealing is deterministic, so a retry returns the same
   * bytes. The plaintext shares never leave this method.
   *
   * @throws EdgeTypeError / EdgeRangeError for malformed members (this key holder missing, or at
   *   another point than its `thresholdPoint`)
   * @throws EdgeError `EDGE_ERR_CEREMONY` (no deal key yet, or already combined),
   *   `EDGE_ERR_DEAL_CHANNEL` (the key registered for this key holder is not its own),
   *   `EDGE_ERR_SHARE_CONFLICT` (dealt before with another t or points)
   * @example
   * ```ts
   * const bundle = DealBundleCodec.toBytes(kh.sealDeal('mills', { federation: 'mills', self: 'plant-a', threshold: 2, members }));
   * ```
   */
  sealDeal(ceremonyId: string, deal: DealMembers): SealedShare[] {
    const op = 'seal the deal';
    this.#open(op);
    const { me, points } = this.#dealMembers(op, deal);
    const sk = this.#dealPrivateKey(op, ceremonyId, me.dealKey);
    const dealt = this.dealShamirShares(ceremonyId, deal.threshold, points);
    try {
      return deal.members.filter((m) => m.tenant !== deal.self).map((m) => sealDealShare(
        { federation: deal.federation, ceremony: ceremonyId, from: deal.self, to: m.tenant, point: m.point }, sk, m.dealKey, dealt.get(m.point)!,
      ));
    } finally {
      sk.fill(0);
      for (const b of dealt.values()) b.fill(0);
    }
  }

  /**
   * t-of-n, round `combine`: opens the shares the other members sealed to this key holder,
   * adds its own Pⱼ(xⱼ), combines them into its threshold share tskⱼ (kept in custody), and
   * deletes the deal key. A retry after combining is a no-op.
   *
   * @throws EdgeTypeError / EdgeRangeError for malformed members or shares
   * @throws EdgeError `EDGE_ERR_DEAL_CHANNEL` (a share that does not open: not for this key
   *   holder, another context, another sender's key, altered), `EDGE_ERR_CEREMONY` (a member's
   *   share missing or repeated, an unknown sender, or no deal key)
   * @example
   * ```ts
   * kh.openDeal('mills', { federation: 'mills', self: 'plant-b', threshold: 2, members }, DealBundleCodec.fromBytes(await cloud.deal('mills')));
   * ```
   */
  openDeal(ceremonyId: string, deal: DealMembers, received: readonly SealedShare[]): void {
    const op = 'open the deal';
    this.#open(op);
    const { me, points } = this.#dealMembers(op, deal);
    aArray(op, 'received', received);
    const name = `deal-key:${ceremonyId}`;
    if (this.#stepRequest(op, 'shamir-combine', ceremonyId) !== undefined && this.#custody.thresholdShare !== undefined) {
      this.#custody.deleteEphemeral(name); // a crash after combining, before the key was deleted
      return;
    }
    const senders = new Map(deal.members.filter((m) => m.tenant !== deal.self).map((m) => [m.tenant, m]));
    const seen = new Set<string>();
    for (const s of received) {
      if (!senders.has(s?.from) || seen.has(s.from)) throw new EdgeError(EDGE_ERR.CEREMONY, `cannot ${op}: a share from ${String(s?.from)} is unexpected or repeated`);
      seen.add(s.from);
    }
    if (seen.size !== senders.size) throw new EdgeError(EDGE_ERR.CEREMONY, `cannot ${op}: ${senders.size - seen.size} of the other members' shares are missing`);
    const sk = this.#dealPrivateKey(op, ceremonyId, me.dealKey);
    const plain: Uint8Array[] = [];
    try {
      plain.push(this.dealShamirShares(ceremonyId, deal.threshold, points).get(me.point)!);
      for (const s of received) {
        const from = senders.get(s.from)!;
        plain.push(openDealShare({ federation: deal.federation, ceremony: ceremonyId, from: s.from, to: deal.self, point: me.point }, sk, from.dealKey, s));
      }
      this.combineShamirShares(ceremonyId, plain);
      this.#custody.deleteEphemeral(name);
    } finally {
      sk.fill(0);
      for (const b of plain) b.fill(0);
    }
  }

  #dealMembers(op: string, deal: DealMembers): { me: DealMembers['members'][number]; points: number[] } {
    aObject(op, 'deal', deal);
    aString(op, 'deal.federation', deal.federation);
    aString(op, 'deal.self', deal.self);
    aArray(op, 'deal.members', deal.members);
    deal.members.forEach((m, i) => {
      aObject(op, `deal.members[${i}]`, m);
      aString(op, `deal.members[${i}].tenant`, m.tenant);
      aInteger(op, `deal.members[${i}].point`, m.point, 1, 0xffff);
      if (!(m.dealKey instanceof Uint8Array) || m.dealKey.length !== 32) throw new EdgeRangeError(`cannot ${op}: deal.members[${i}].dealKey must be a 32-byte X25519 key`);
    });
    const points = deal.members.map((m) => m.point);
    if (new Set(points).size !== points.length) throw new EdgeRangeError(`cannot ${op}: deal.members repeat a point`);
    const me = deal.members.find((m) => m.tenant === deal.self);
    const own = this.#federation.thresholdPoint;
    if (own === undefined) throw new EdgeRangeError(`cannot ${op}: the federation is not t-of-n (no thresholdPoint)`);
    if (me === undefined || me.point !== own) throw new EdgeRangeError(`cannot ${op}: deal.members must hold ${deal.self} at this key holder's point ${own}`);
    return { me, points };
  }

  /** The custody's deal key, checked against the key the federation shows for this key holder. */
  #dealPrivateKey(op: string, ceremonyId: string, registered: Uint8Array): Uint8Array {
    const sk = this.#custody.getEphemeral(`deal-key:${ceremonyId}`);
    if (sk === undefined) throw new EdgeError(EDGE_ERR.CEREMONY, `cannot ${op}: no deal key for ceremony ${ceremonyId} (make it with dealKey() and register it in round kex first)`);
    if (!Buffer.from(dealPublicKey(sk)).equals(Buffer.from(registered))) {
      sk.fill(0);
      throw new EdgeError(EDGE_ERR.DEAL_CHANNEL, `cannot ${op}: the key-agreement key registered for this key holder is not its own`);
    }
    return sk;
  }

  /**
   * Records the plant admin's approval of a job's plan (durably, and in the log). Approving the
   * same job again with the same plan and scope returns the first approval.
   *
   * @throws EdgeTypeError / EdgeRangeError for malformed fields (the digest is 64 hex digits)
   * @throws EdgeError `EDGE_ERR_CEREMONY` (the job was approved for another plan or scope)
   * @example
   * ```ts
   * kh.approve({ jobId: 'job-7', planDigest: jobPlanDigest(plan), approvedBy: 'admin@plant-a' });
   * ```
   */
  approve(approval: { readonly jobId: string; readonly planDigest: string; readonly approvedBy: string; readonly collectiveDecryption?: boolean }): Approval {
    const op = 'approve job';
    this.#open(op);
    aObject(op, 'approval', approval);
    checkId(op, 'approval.jobId', approval.jobId);
    aString(op, 'approval.planDigest', approval.planDigest);
    if (!/^[0-9a-f]{64}$/.test(approval.planDigest)) throw new EdgeRangeError(`cannot ${op}: approval.planDigest must be 64 lower-case hex digits (jobPlanDigest)`);
    checkId(op, 'approval.approvedBy', approval.approvedBy);
    const collective = approval.collectiveDecryption ?? false;
    if (typeof collective !== 'boolean') throw new EdgeTypeError(`cannot ${op}: approval.collectiveDecryption must be a boolean, got ${describe(collective)}`);
    return this.#transaction(op, () => {
      const old = this.#approval(approval.jobId);
      if (old !== undefined) {
        if (old.planDigest === approval.planDigest && old.collectiveDecryption === collective) return old;
        throw new EdgeError(EDGE_ERR.CEREMONY, `cannot ${op}: job ${approval.jobId} was approved before for another plan or scope`);
      }
      const at = this.#now();
      this.#sql.approve.run(approval.jobId, approval.planDigest, approval.approvedBy, at, collective ? 1 : 0);
      this.#append('approval', { job: approval.jobId, plan: approval.planDigest, by: approval.approvedBy, collective });
      return Object.freeze({ jobId: approval.jobId, planDigest: approval.planDigest, approvedBy: approval.approvedBy, approvedAt: at, collectiveDecryption: collective });
    });
  }

  /**
   * The admin's approval of a job, or undefined.
   * @throws EdgeError `EDGE_ERR_KEYHOLDER_STORAGE`, `EDGE_ERR_KEYHOLDER_CLOSED`
   * @example
   * ```ts
   * kh.approval('job-7')?.approvedBy;
   * ```
   */
  approval(jobId: string): Approval | undefined {
    const op = 'read approval';
    this.#open(op);
    checkId(op, 'jobId', jobId);
    try {
      return this.#approval(jobId);
    } catch (e) {
      throw keyholderStorageError(op, e);
    }
  }

  /**
   * This key holder's share of a job's reveal (`SumKeySwitchShareCodec` bytes, or
   * `SumDecryptShareCodec` bytes for collective decryption), made only when the policy allows
   * it (see the module description); a retry of the same request gets the stored bytes.
   *
   * @throws EdgeTypeError / EdgeRangeError for a malformed request (nothing recorded or logged)
   * @throws EdgeError `EDGE_ERR_NOT_APPROVED`, `EDGE_ERR_REVEAL_GUARD`, `EDGE_ERR_RECEIVER`,
   *   `EDGE_ERR_SHARE_CONFLICT`, `EDGE_ERR_RATE_LIMIT` (each logged), `EDGE_ERR_CEREMONY`
   *   (t-of-n without a threshold share)
   * @throws HeError `HE_ERR_FLOODING_BUDGET` when the result cannot carry the flooding
   * @example
   * ```ts
   * const share = kh.revealShare({ jobId: 'job-7', plan, input: sumRevealInput(engine, accumulated), receiver: builderPkBytes });
   * ```
   */
  revealShare(request: RevealShareRequest): Uint8Array {
    const op = 'make a reveal share';
    this.#open(op);
    aObject(op, 'request', request);
    const { jobId, plan, input, receiver, activeSet } = request;
    checkId(op, 'request.jobId', jobId);
    aObject(op, 'request.plan', plan);
    aArray(op, 'request.plan.plants', plan.plants);
    aArray(op, 'request.plan.batches', plan.batches);
    plan.batches.forEach((b, i) => aObject(op, `request.plan.batches[${i}]`, b));
    if (typeof plan.records !== 'number') throw new EdgeTypeError(`cannot ${op}: request.plan.records must be a number, got ${describe(plan.records)}`);
    aObject(op, 'request.input', input);
    if (receiver !== null && !(receiver instanceof Uint8Array)) throw new EdgeTypeError(`cannot ${op}: request.receiver must be PublicKeyCodec bytes or null, got ${describe(receiver)}`);
    const planDigest = jobPlanDigest(plan);
    let inputDigest: string;
    try {
      inputDigest = Buffer.from(revealInputDigest(input)).toString('hex');
    } catch (e) {
      throw new EdgeTypeError(`cannot ${op}: request.input is not a sum-reveal input`, { cause: e });
    }
    const stats = (plan.aggregation as { stats?: unknown } | undefined)?.stats;
    if (!Array.isArray(stats) || input.count !== stats.length) throw new EdgeRangeError(`cannot ${op}: request.input has ${input.count} results, the plan ${Array.isArray(stats) ? stats.length : 'none'}`);
    const point = this.#federation.thresholdPoint;
    // The instance: the job, or (t-of-n) the job and this key holder's Lagrange coefficient λⱼ for the active set.
    let instance = jobId;
    if (point === undefined) {
      if (activeSet !== undefined) throw new EdgeRangeError(`cannot ${op}: request.activeSet is for t-of-n federations; this one is additive`);
    } else {
      aArray(op, 'request.activeSet', activeSet);
      activeSet.forEach((x, i) => aInteger(op, `request.activeSet[${i}]`, x, 1, 0xffff));
      if (activeSet.length !== this.#federation.parties || new Set(activeSet).size !== activeSet.length || !activeSet.includes(point)) {
        throw new EdgeRangeError(`cannot ${op}: request.activeSet must be ${this.#federation.parties} distinct points including this key holder's ${point}`);
      }
      const lambda = new ThresholdProtocol(this.#engine).lagrangeCoefficient(point, activeSet);
      instance = `${jobId}@${sha256(Buffer.from(lambda.join(','))).slice(0, 32)}`;
    }
    const refuse = (code: EdgeErrorCode, reason: string): never => {
      this.#append('refusal', { protocol: REVEAL, instance: jobId, code, plan: planDigest });
      throw new EdgeError(code, `cannot ${op} for job ${jobId}: ${reason}`);
    };

    const approval = this.#approval(jobId);
    if (approval === undefined) refuse(EDGE_ERR.NOT_APPROVED, 'the plant admin has not approved it');
    if (approval!.planDigest !== planDigest) refuse(EDGE_ERR.NOT_APPROVED, 'the admin approved another plan for it (plan digests differ)');
    const { plants, records } = planFigures(plan);
    const claimed = [...plan.plants].sort();
    if (plants.length !== claimed.length || plants.some((p, i) => p !== claimed[i]) || records !== plan.records) {
      refuse(EDGE_ERR.REVEAL_GUARD, `the plan's figures (${plan.plants.length} plants, ${plan.records} records) disagree with its batches (${plants.length}, ${records})`);
    }
    const { minPlants, minRecords, maxRevealsPerDay } = this.#policy;
    if (plants.length < minPlants || records < minRecords) {
      refuse(EDGE_ERR.REVEAL_GUARD, `${plants.length} plants and ${records} records, this key holder requires ${minPlants} and ${minRecords}`);
    }
    if (receiver === null) {
      if (!approval!.collectiveDecryption) refuse(EDGE_ERR.RECEIVER, 'collective decryption was not approved for it');
    } else if (this.#federation.receiver === undefined) {
      refuse(EDGE_ERR.RECEIVER, 'the federation has no registered receiver yet');
    } else if (!Buffer.from(receiver).equals(Buffer.from(this.#federation.receiver))) {
      refuse(EDGE_ERR.RECEIVER, "the receiver is not the federation's registered receiver");
    }
    const requestDigest = sha256(Buffer.from(JSON.stringify([planDigest, inputDigest, receiver === null ? 'collective' : sha256(receiver), instance])));
    const previous = this.#stepRequest(op, REVEAL, instance);
    if (previous !== undefined && previous !== requestDigest) refuse(EDGE_ERR.SHARE_CONFLICT, 'a share was made for another request of this job (single-use shares)');
    if (previous === undefined && point !== undefined && this.#federation.holders !== undefined) {
      const most = this.#federation.holders - this.#federation.parties + 1;
      if (this.#revealSetsOf(op, jobId) >= most) refuse(EDGE_ERR.SHARE_CONFLICT, `shares for ${most} active sets of this job were made, the most a reveal with ${this.#federation.holders} key holders needs`);
    }
    if (previous === undefined && this.#recentReveals(op) >= maxRevealsPerDay) {
      refuse(EDGE_ERR.RATE_LIMIT, `${maxRevealsPerDay} reveal shares in the last 24 hours, the most this key holder makes`);
    }
    if (point !== undefined && this.#custody.thresholdShare === undefined) {
      throw new EdgeError(EDGE_ERR.CEREMONY, `cannot ${op}: this key holder has no threshold share (run the threshold ceremony first)`);
    }
    return this.#step(op, REVEAL, instance, requestDigest, () => {
      let secret: PartySecret = this.#custody.secret;
      let additive: PartySecret | undefined;
      if (point !== undefined) additive = secret = new ThresholdProtocol(this.#engine).genAdditiveShare(this.#custody.thresholdShare!, activeSet!);
      const pk = receiver === null ? null : PublicKeyCodec.fromBytes(this.#engine, receiver);
      try {
        const guards = { minPlants, minRecords };
        // The ledger instance is the step's: one stored share per (job, λⱼ).
        return makeRevealShare(this.#engine, secret, { jobId: instance, plan, input, receiver: pk, parties: this.#federation.parties }, guards, this.#ledger);
      } finally {
        pk?.[Symbol.dispose]();
        additive?.wipe();
      }
    }, { plan: planDigest });
  }

  /**
   * The receiver's public key (`PublicKeyCodec` bytes), for the key holder that receives the
   * federation's results (the machine builder): a fresh SEAL key pair on the first call, whose
   * secret key stays in custody (encrypted at rest, under the name `receiver:secret-key`, beside
   * the public key); later calls answer the same public key bytes. Register it once with the cloud
   * (`PUT …/federations/{f}/receiver-key`); key holders switch results to it.
   *
   * @throws EdgeError `EDGE_ERR_CUSTODY_IO`, `EDGE_ERR_KEYHOLDER_CLOSED`
   * @example
   * ```ts
   * await cloud.putReceiverKey('mills', kh.receiverKey());
   * ```
   */
  receiverKey(): Uint8Array {
    this.#open('make the receiver key');
    const known = this.#custody.getEphemeral(RECEIVER_PUBLIC);
    if (known !== undefined) return known;
    using sk = this.#engine.generateSecretKey();
    using pk = this.#engine.publicKeyFor(sk);
    const skBytes = this.#engine.save(sk);
    const pkBytes = PublicKeyCodec.toBytes(this.#engine, pk);
    try {
      // The secret first: after a crash between the two writes, the next call makes a new pair
      // (nothing was registered with the public key yet), never a public key without its secret.
      this.#custody.putEphemeral(RECEIVER_SECRET, skBytes);
      this.#custody.putEphemeral(RECEIVER_PUBLIC, pkBytes);
    } finally {
      skBytes.fill(0);
    }
    return pkBytes;
  }

  /**
   * Opens a job's result — the ciphertext the key holders' shares switched to this receiver — into
   * the job's moments, with the receiver secret key of {@link KeyHolder.receiverKey}.
   *
   * @throws EdgeError `EDGE_ERR_RECEIVER` when this key holder has no receiver key
   * @throws ComputeError `COMPUTE_ERR_REVEAL` when the sums are not moments (a share missing or
   *   wrong, or a result for another receiver)
   * @example
   * ```ts
   * const moments = kh.openResult(schema, plan, await cloud.result('job-1'));
   * ```
   */
  openResult(schema: DatasetSchema, plan: JobPlan, result: Uint8Array): Moments {
    const op = 'open a job result';
    this.#open(op);
    const skBytes = this.#custody.getEphemeral(RECEIVER_SECRET);
    if (skBytes === undefined) throw new EdgeError(EDGE_ERR.RECEIVER, `cannot ${op}: this key holder has no receiver key (make it with receiverKey() and register it)`);
    try {
      using sk = this.#engine.load('secretKey', skBytes);
      using switched = CiphertextCodec.fromBytes(this.#engine, result);
      return receiveMoments(this.#engine, schema, plan, switched, sk);
    } finally {
      skBytes.fill(0);
    }
  }

  /**
   * The local log, oldest first.
   * @throws EdgeError `EDGE_ERR_KEYHOLDER_STORAGE`, `EDGE_ERR_KEYHOLDER_CLOSED`
   * @example
   * ```ts
   * const refusals = kh.log().filter((e) => e.kind === 'refusal');
   * ```
   */
  log(): LogEntry[] {
    const op = 'read the log';
    this.#open(op);
    try {
      return (this.#sql.scan.all() as { seq: number; at: number; kind: LogEntry['kind']; detail: string; prev: string; hash: string }[])
        .map((r) => Object.freeze({ seq: r.seq, at: r.at, kind: r.kind, detail: JSON.parse(r.detail), prev: r.prev, hash: r.hash }));
    } catch (e) {
      throw keyholderStorageError(op, e);
    }
  }

  /**
   * Appends a gateway event to the local log: a batch the cloud acknowledged, or a cloud
   * checkpoint checked for consistency (ids, counts, hashes and codes only).
   * @throws EdgeError `EDGE_ERR_KEYHOLDER_CLOSED`; storage errors
   * @example
   * ```ts
   * kh.record('batch', { dataset: 'ai4i', batchId, contentHash, records: 8192, status: 'stored' });
   * ```
   */
  record(kind: 'batch' | 'checkpoint', detail: Readonly<Record<string, string | number | boolean>>): void {
    this.#open(`record ${kind}`);
    this.#append(kind, { ...detail });
  }

  /**
   * Recomputes the log's hash chain.
   * @returns the number of entries and the head hash
   * @throws EdgeError `EDGE_ERR_LOG_CORRUPT` at the first row that does not chain
   * @example
   * ```ts
   * const { entries, head } = kh.verifyLog();
   * ```
   */
  verifyLog(): { readonly entries: number; readonly head: string } {
    const op = 'verify the log';
    let prev = GENESIS;
    let expected = 1;
    for (const e of this.log()) {
      const hash = entryHash(prev, e.seq, e.at, e.kind, canonicalJson(e.detail, 'detail'));
      if (e.seq !== expected || e.prev !== prev || e.hash !== hash) throw new EdgeError(EDGE_ERR.LOG_CORRUPT, `cannot ${op}: entry ${e.seq} does not chain (expected entry ${expected} after ${prev.slice(0, 12)}…)`);
      prev = hash;
      expected++;
    }
    return Object.freeze({ entries: expected - 1, head: prev });
  }

  /**
   * Wipes custody and closes the files (releasing their locks). Idempotent.
   * @example
   * ```ts
   * kh.close();
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#custody.close();
    this.#store.close();
    this.#db.close();
  }

  /** Same as {@link KeyHolder.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #open(op: string): void {
    if (this.#closed) throw new EdgeError(EDGE_ERR.KEYHOLDER_CLOSED, `cannot ${op}: the key holder is closed`);
  }

  /**
   * Answers one protocol instance: a request seen before (same digest) is a retry, another one
   * a conflict (refused, logged); a new one is recorded durably before `produce` runs. The share
   * (or, for secret output, a digest of it) is logged before it is returned.
   */
  #step(op: string, protocol: string, instance: string, request: string, produce: (retry: boolean) => Uint8Array, extra: Record<string, string> = {}): Uint8Array {
    const previous = this.#stepRequest(op, protocol, instance);
    if (previous !== undefined && previous !== request) {
      this.#append('refusal', { protocol, instance, code: EDGE_ERR.SHARE_CONFLICT, ...extra });
      throw new EdgeError(EDGE_ERR.SHARE_CONFLICT, `cannot ${op}: ${protocol} ${instance} was answered for another request (single-use shares)`);
    }
    const retry = previous !== undefined;
    if (!retry) {
      try {
        this.#sql.reserve.run(protocol, instance, request, this.#now());
      } catch (e) {
        throw keyholderStorageError(op, e);
      }
    }
    const bytes = produce(retry);
    this.#transaction(op, () => this.#append('share', { protocol, instance, request, share: sha256(bytes), retry, ...extra }));
    return bytes;
  }

  #stepRequest(op: string, protocol: string, instance: string): string | undefined {
    try {
      return (this.#sql.step.get(protocol, instance) as { request: string } | undefined)?.request;
    } catch (e) {
      throw keyholderStorageError(op, e);
    }
  }

  /** t-of-n: how many active sets (λⱼ instances) of a job this key holder answered. */
  #revealSetsOf(op: string, jobId: string): number {
    try {
      const row = this.#db.prepare("SELECT count(*) AS n FROM step WHERE protocol = ? AND substr(instance, 1, ?) = ?").get(REVEAL, jobId.length + 1, `${jobId}@`) as { n: number };
      return Number(row.n);
    } catch (e) {
      throw keyholderStorageError(op, e);
    }
  }

  #recentReveals(op: string): number {
    try {
      return (this.#sql.recent.get(REVEAL, this.#now() - DAY_MS) as { n: number }).n;
    } catch (e) {
      throw keyholderStorageError(op, e);
    }
  }

  #approval(jobId: string): Approval | undefined {
    const row = this.#sql.approval.get(jobId) as { job_id: string; plan_digest: string; approved_by: string; approved_at: number; collective: number } | undefined;
    return row === undefined ? undefined : Object.freeze({
      jobId: row.job_id, planDigest: row.plan_digest, approvedBy: row.approved_by, approvedAt: row.approved_at, collectiveDecryption: row.collective === 1,
    });
  }

  /** Appends one hash-chained row (durable when it returns; inside a caller's transaction, when that commits). */
  #append(kind: LogEntry['kind'], detail: Record<string, string | number | boolean>): void {
    try {
      const last = this.#sql.last.get() as { seq: number; hash: string } | undefined;
      const seq = (last?.seq ?? 0) + 1;
      const prev = last?.hash ?? GENESIS;
      const at = this.#now();
      const body = canonicalJson(detail, 'detail');
      this.#sql.append.run(seq, at, kind, body, prev, entryHash(prev, seq, at, kind, body));
    } catch (e) {
      throw keyholderStorageError('append to the log', e);
    }
  }

  #transaction<R>(op: string, body: () => R): R {
    return immediateTransaction(this.#db, body, (e) => keyholderStorageError(op, e));
  }
}

/** Plants (sorted, distinct) and records, recomputed from the plan's batch list. */
function planFigures(plan: JobPlan): { plants: string[]; records: number } {
  const batches = plan.batches;
  return {
    plants: [...new Set(batches.map((b) => b.plant))].sort(),
    records: batches.reduce((s, b) => s + (Number.isSafeInteger(b.recordCount) && b.recordCount > 0 ? b.recordCount : Number.NaN), 0),
  };
}

function entryHash(prev: string, seq: number, at: number, kind: string, body: string): string {
  return createHash('sha256').update(`hedge/keyholder-log/v1\n${prev}\n${seq}\n${at}\n${kind}\n${body}`).digest('hex');
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function checkId(op: string, name: string, value: unknown): asserts value is string {
  aString(op, name, value);
  if (!ID_RE.test(value)) throw new EdgeRangeError(`cannot ${op}: ${name} must be 1 to 128 of [A-Za-z0-9._:@-]`);
}

function checkSeed(op: string, seed: unknown): asserts seed is Uint8Array {
  if (!(seed instanceof Uint8Array)) throw new EdgeTypeError(`cannot ${op}: seed must be a Uint8Array, got ${describe(seed)}`);
  if (seed.length !== 32) throw new EdgeRangeError(`cannot ${op}: seed must be 32 bytes, got ${seed.length}`);
}

/** JSON with object keys sorted and no whitespace; refuses what JSON cannot represent exactly. */
function canonicalJson(value: unknown, path: string): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new EdgeTypeError(`cannot encode ${path}: ${value} is not a finite number`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v, i) => canonicalJson(v, `${path}[${i}]`)).join(',')}]`;
  if (typeof value === 'object' && (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null)) {
    const entries = Object.entries(value as object).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v, `${path}.${k}`)}`).join(',')}}`;
  }
  throw new EdgeTypeError(`cannot encode ${path}: ${describe(value)} is not JSON`);
}
