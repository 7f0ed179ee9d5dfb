/**
 * The hedge transparency log: catalogue events appended to a durable RFC 6962
 * Merkle tree, signed checkpoints (C2SP tlog-checkpoint as a signed note), and
 * the proofs witnesses and auditors ask for. The log refuses to sign a
 * checkpoint that is inconsistent with one it signed before: it never signs
 * two views of history.
 */
import { TrustError, TrustErrorCode } from '../errors.ts';
import type { LogEvent } from '../events.ts';
import { decodeEvent, encodeEvent } from '../events.ts';
import { equalBytes, toBase64 } from '../bytes.ts';
import { verifyConsistency } from '../merkle/verify.ts';
import { signCheckpoint } from '../note/checkpoint.ts';
import type { KeyRing } from '../note/key-ring.ts';
import { assertKeyName } from '../note/keys.ts';
import type { SqlClient } from '../storage/sql.ts';
import { bytesFromRow } from '../storage/sql.ts';
import type { AppendResult } from './merkle-store.ts';
import { MerkleStore } from './merkle-store.ts';

/** Options of {@link TransparencyLog.open}. */
export interface TransparencyLogOptions {
  /** Where the tables live (see `openSql`). */
  readonly sql: SqlClient;
  /** The log's identity, first line of every checkpoint and its key name. */
  readonly origin: string;
  /** Signing keys (with rotation windows). */
  readonly keys: KeyRing;
  /** Clock for key windows; `() => new Date()` by default. */
  readonly clock?: () => Date;
}

/** Where a witness gets checkpoints and proofs from (a log, or a client of its API). */
export interface CheckpointSource {
  /** The latest signed checkpoint note. */
  getCheckpoint(): Promise<string>;
  /** The consistency proof between two sizes. */
  getConsistencyProof(size1: number, size2: number): Promise<Uint8Array[]>;
}

/** An inclusion proof with the sizes it is for. */
export interface InclusionProof {
  readonly index: number;
  readonly size: number;
  readonly proof: Uint8Array[];
}

/**
 * The transparency log.
 *
 * @example
 * ```ts
 * const log = await TransparencyLog.open({ sql: await openSql(), origin: 'log.hedge.example', keys: ring });
 * await log.append([event]);
 * const note = await log.signCheckpoint();
 * ```
 */
export class TransparencyLog implements CheckpointSource {
  readonly origin: string;
  readonly #store: MerkleStore;
  readonly #keys: KeyRing;
  readonly #clock: () => Date;

  private constructor(store: MerkleStore, keys: KeyRing, clock: () => Date) {
    this.origin = store.origin;
    this.#store = store;
    this.#keys = keys;
    this.#clock = clock;
  }

  /**
   * Opens (creating if needed) the log `origin` in `sql`.
   *
   * @throws {TypeError} wrong option types
   * @throws {TrustError} `TRUST_ERR_KEY_INVALID` for an origin that cannot be a key name; `TRUST_ERR_STORAGE`
   * @example
   * ```ts
   * const log = await TransparencyLog.open({ sql, origin, keys });
   * ```
   */
  static async open(options: TransparencyLogOptions): Promise<TransparencyLog> {
    assertKeyName(options.origin);
    if (typeof options.keys?.signersAt !== 'function') throw new TypeError('keys must be a KeyRing');
    const store = await MerkleStore.open(options.sql, options.origin);
    return new TransparencyLog(store, options.keys, options.clock ?? (() => new Date()));
  }

  /** Size as last seen by this process. */
  get size(): number {
    return this.#store.size;
  }

  /** The underlying Merkle store (raw bytes; for tooling and benchmarks). */
  get store(): MerkleStore {
    return this.#store;
  }

  /**
   * Appends catalogue events (checked and canonically encoded) in one transaction.
   *
   * @throws {TrustError} `TRUST_ERR_EVENT_INVALID` for an event outside the catalogue (nothing is written); `TRUST_ERR_STORAGE`
   * @example
   * ```ts
   * const { first } = await log.append([{ kind: 'ingest', time, actor, tenant, subject, payloadHash: hashPayload(batch), details: { dataset: 'd1', records: 4096 } }]);
   * ```
   */
  async append(events: readonly LogEvent[]): Promise<AppendResult> {
    if (!Array.isArray(events)) throw new TypeError('events must be an array');
    return this.#store.append(events.map(encodeEvent));
  }

  /**
   * The event at `index`, decoded and re-checked.
   *
   * @throws {TrustError} `TRUST_ERR_OUT_OF_RANGE`, `TRUST_ERR_EVENT_INVALID` (a stored entry is not canonical), `TRUST_ERR_STORAGE`
   * @example
   * ```ts
   * const e = await log.event(0);
   * ```
   */
  async event(index: number): Promise<LogEvent> {
    return decodeEvent(await this.#store.entry(index));
  }

  /**
   * The raw entry bytes at `index` (what the leaf hash is over).
   *
   * @throws {TrustError} `TRUST_ERR_OUT_OF_RANGE`, `TRUST_ERR_STORAGE`
   * @example
   * ```ts
   * verifyInclusion(i, size, hashLeaf(await log.entry(i)), proof, root);
   * ```
   */
  async entry(index: number): Promise<Uint8Array> {
    return this.#store.entry(index);
  }

  /**
   * The inclusion proof of entry `index` in the tree of `size` (default: current size).
   *
   * @throws {TypeError} / {RangeError} bad arguments
   * @throws {TrustError} `TRUST_ERR_OUT_OF_RANGE`, `TRUST_ERR_STORAGE`
   * @example
   * ```ts
   * const { proof, size } = await log.inclusionProof(3);
   * ```
   */
  async inclusionProof(index: number, size?: number): Promise<InclusionProof> {
    const n = size ?? (await this.#store.refresh());
    return { index, size: n, proof: await this.#store.inclusionProof(index, n) };
  }

  /**
   * The consistency proof from `size1` to `size2`.
   *
   * @throws {TypeError} / {RangeError} bad arguments
   * @throws {TrustError} `TRUST_ERR_OUT_OF_RANGE`, `TRUST_ERR_STORAGE`
   * @example
   * ```ts
   * const proof = await log.getConsistencyProof(witnessSize, log.size);
   * ```
   */
  async getConsistencyProof(size1: number, size2: number): Promise<Uint8Array[]> {
    return this.#store.consistencyProof(size1, size2);
  }

  /**
   * Signs a checkpoint of the current tree with every key valid now, stores it
   * and returns the note. Before signing, the log proves to itself that the
   * new tree extends the last checkpoint it signed.
   *
   * @throws {TrustError} `TRUST_ERR_INCONSISTENT` when storage no longer extends the last signed checkpoint; `TRUST_ERR_KEY_INVALID` when no key is valid; `TRUST_ERR_STORAGE`
   * @example
   * ```ts
   * const note = await log.signCheckpoint();
   * ```
   */
  async signCheckpoint(): Promise<string> {
    const size = await this.#store.refresh();
    const root = this.#store.root;
    const last = await this.#lastCheckpoint();
    if (last) {
      const refuse = (reason: string, cause?: unknown): TrustError =>
        new TrustError(TrustErrorCode.INCONSISTENT, `cannot sign checkpoint: ${reason}`, cause === undefined ? undefined : { cause });
      if (last.size > size) throw refuse(`the log shrank from ${last.size} to ${size}`);
      if (last.size === size) {
        if (!equalBytes(last.root, root)) throw refuse(`size ${size} was signed with another root`);
        return last.note;
      }
      if (last.size > 0) {
        try {
          verifyConsistency(last.size, size, await this.#store.consistencyProof(last.size, size), last.root, root);
        } catch (e) {
          throw refuse(`the tree at ${size} does not extend the checkpoint at ${last.size}`, e);
        }
      }
    }
    const note = signCheckpoint({ origin: this.origin, size, root, extensions: [] }, this.#keys.signersAt(this.#clock()));
    await this.#store.sql.query(
      'INSERT INTO trust_checkpoint (log_id, size, root, note) VALUES ($1, $2, $3, $4) ON CONFLICT (log_id, size) DO NOTHING',
      [this.#store.logId, size, root, note],
    );
    const stored = await this.#lastCheckpoint();
    if (!stored || stored.size !== size || !equalBytes(stored.root, root)) {
      throw new TrustError(TrustErrorCode.INCONSISTENT, `cannot sign checkpoint: a concurrent signer stored another root for size ${size} (${toBase64(root)})`);
    }
    return stored.note;
  }

  /**
   * The latest stored checkpoint note, signing one first if none exists yet.
   *
   * @throws {TrustError} as {@link signCheckpoint}
   * @example
   * ```ts
   * const note = await log.getCheckpoint();
   * ```
   */
  async getCheckpoint(): Promise<string> {
    const last = await this.#lastCheckpoint();
    return last ? last.note : this.signCheckpoint();
  }

  async #lastCheckpoint(): Promise<{ size: number; root: Uint8Array; note: string } | undefined> {
    const [row] = await this.#store.sql.query<{ size: number | string; root: unknown; note: string }>(
      'SELECT size, root, note FROM trust_checkpoint WHERE log_id = $1 ORDER BY size DESC LIMIT 1',
      [this.#store.logId],
    );
    return row ? { size: Number(row.size), root: bytesFromRow(row.root), note: row.note } : undefined;
  }
}
