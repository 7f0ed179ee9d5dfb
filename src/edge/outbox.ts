/**
 * The gateway's outbox (DESIGN.md §2, §9): sealed batches, durable, waiting for upload.
 *
 * A batch enters the outbox in one SQLite transaction (`journal_mode=WAL`, `synchronous=FULL`)
 * that also takes its sequence number, so a batch id is bound to exactly one content the moment it
 * exists: the bytes are stored before the first upload attempt, and every retry (after a restart
 * too) sends those same bytes. Since encryption is randomised, sealing the same records again
 * would give other bytes; the outbox makes sure that never happens under an id that was stored.
 *
 * **Batch ids.** `<tag>-<seq>`: `tag` is the first 12 hex digits of
 * SHA-256(`hedge/batch-id/v1\n` ‖ plant ‖ `\n` ‖ dataset ‖ `\n` ‖ epoch), `seq` the stream's
 * sequence number (1, 2, …; ten digits). The epoch is 128 random bits drawn when the outbox file
 * is created, so a lost and recreated outbox never reuses an id (the cloud would refuse it as a
 * conflict). Every id matches the lake's `[A-Za-z0-9][A-Za-z0-9._-]{0,127}`.
 *
 * **Streams.** One per (dataset, plant), each with its next sequence number and the highest
 * record-buffer id its batches consumed (`consumedThrough`), which lets the gateway finish an ack
 * a crash interrupted. Batches of a stream are uploaded in sequence order.
 *
 * One owner (SQLite exclusive locking mode): a second opener gets `EDGE_ERR_OUTBOX_LOCKED`.
 * Uses Node's built-in `node:sqlite`.
 * @module
 */
import { immediateTransaction, makeDurable } from './sqlite.ts';
import { createHash, randomBytes } from 'node:crypto';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { aFunction, aInteger, aObject, aString, describe } from './assert.ts';
import { EDGE_ERR, EdgeError, EdgeRangeError, EdgeTypeError } from './errors.ts';

/** A sealed batch in the outbox. */
export interface OutboxBatch {
  readonly dataset: string;
  readonly plant: string;
  readonly seq: number;
  readonly batchId: string;
  /** Hex SHA-256 of `bytes` (the lake's content hash). */
  readonly contentHash: string;
  readonly records: number;
  readonly bytes: Uint8Array;
  /** When it was sealed (ms). */
  readonly sealedAt: number;
  /** Failed upload attempts so far. */
  readonly attempts: number;
}

/** A batch the cloud refused for good, kept with the reason. */
export interface ParkedBatch extends Omit<OutboxBatch, 'bytes'> {
  readonly code: string;
  readonly reason: string;
}

/** What {@link Outbox.put} stores. */
export interface OutboxEntry {
  readonly dataset: string;
  readonly plant: string;
  /** Must be the stream's next sequence number ({@link Outbox.next}). */
  readonly seq: number;
  readonly contentHash: string;
  readonly records: number;
  readonly bytes: Uint8Array;
  /** The highest record-buffer id this batch consumed. */
  readonly consumedThrough: number;
}

/** Backlog and upload figures, totals since the outbox file was created. */
export interface OutboxMetrics {
  /** Batches waiting for upload, and their bytes. */
  readonly backlogBatches: number;
  readonly backlogBytes: number;
  /** When the oldest waiting batch was sealed (ms), or null: the backlog's age. */
  readonly oldestSealedAt: number | null;
  /** Batches the cloud refused for good ({@link Outbox.parked}). */
  readonly parkedBatches: number;
  readonly sentBatches: number;
  readonly sentBytes: number;
  /** Uploads the cloud answered `duplicate` (already stored: a retry after a lost answer). */
  readonly duplicates: number;
  /** Failed attempts that were retried. */
  readonly retries: number;
  /** When the last upload succeeded (ms), or null. */
  readonly lastSuccessAt: number | null;
  readonly maxBytes: number;
}

const SCHEMA_VERSION = 1;
const COUNTERS = ['sent_batches', 'sent_bytes', 'duplicates', 'retries', 'parked', 'last_success_at'] as const;
type Counter = (typeof COUNTERS)[number];

/**
 * The batch id of sequence number `seq` in the stream (`dataset`, `plant`) of an outbox with this
 * epoch (see the module description).
 * @throws never for valid strings and a positive integer
 * @example
 * ```ts
 * batchIdFor('9f…', 'ai4i', 'plant-a', 1); // 'c41d0a9be2f3-0000000001'
 * ```
 */
export function batchIdFor(epoch: string, dataset: string, plant: string, seq: number): string {
  const tag = createHash('sha256').update(`hedge/batch-id/v1\n${plant}\n${dataset}\n${epoch}`).digest('hex').slice(0, 12);
  return `${tag}-${String(seq).padStart(10, '0')}`;
}

/**
 * A durable, single-owner store of sealed batches waiting for upload (see the module description).
 *
 * @example
 * ```ts
 * using outbox = Outbox.open({ path: '/var/lib/hedge/outbox.db' });
 * const { seq, batchId } = outbox.next('ai4i', 'plant-a');
 * // … seal the records under batchId …
 * outbox.put({ dataset: 'ai4i', plant: 'plant-a', seq, contentHash, records, bytes, consumedThrough });
 * ```
 */
export class Outbox {
  readonly #db: DatabaseSync;
  readonly #epoch: string;
  readonly #maxBytes: number;
  readonly #now: () => number;
  readonly #sql: Record<
    'stream' | 'newStream' | 'advance' | 'insert' | 'head' | 'queues' | 'delete' | 'park' | 'attempt' | 'counter' | 'setCounter' | 'backlog' | 'parked' | 'parkedCount',
    StatementSync
  >;
  #closed = false;

  private constructor(db: DatabaseSync, epoch: string, maxBytes: number, now: () => number) {
    this.#db = db;
    this.#epoch = epoch;
    this.#maxBytes = maxBytes;
    this.#now = now;
    this.#sql = {
      stream: db.prepare('SELECT next_seq, consumed_through FROM stream WHERE dataset = ? AND plant = ?'),
      newStream: db.prepare('INSERT OR IGNORE INTO stream (dataset, plant, next_seq, consumed_through) VALUES (?, ?, 1, 0)'),
      advance: db.prepare('UPDATE stream SET next_seq = next_seq + 1, consumed_through = max(consumed_through, ?) WHERE dataset = ? AND plant = ?'),
      insert: db.prepare(`INSERT INTO batch (dataset, plant, seq, batch_id, content_hash, records, bytes, size, sealed_at, attempts, state)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 'pending')`),
      head: db.prepare("SELECT * FROM batch WHERE dataset = ? AND plant = ? AND state = 'pending' ORDER BY seq LIMIT 1"),
      queues: db.prepare("SELECT dataset, plant FROM batch WHERE state = 'pending' GROUP BY dataset, plant ORDER BY dataset, plant"),
      delete: db.prepare("DELETE FROM batch WHERE dataset = ? AND plant = ? AND seq = ? AND state = 'pending' RETURNING size"),
      park: db.prepare("UPDATE batch SET state = 'parked', code = ?, reason = ? WHERE dataset = ? AND plant = ? AND seq = ? AND state = 'pending'"),
      attempt: db.prepare('UPDATE batch SET attempts = attempts + 1 WHERE dataset = ? AND plant = ? AND seq = ?'),
      counter: db.prepare('SELECT value FROM counter WHERE name = ?'),
      setCounter: db.prepare('UPDATE counter SET value = ? WHERE name = ?'),
      backlog: db.prepare("SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes, min(sealed_at) AS oldest FROM batch WHERE state = 'pending'"),
      parked: db.prepare("SELECT dataset, plant, seq, batch_id, content_hash, records, sealed_at, attempts, code, reason FROM batch WHERE state = 'parked' ORDER BY dataset, plant, seq"),
      parkedCount: db.prepare("SELECT count(*) AS n FROM batch WHERE state = 'parked'"),
    };
  }

  /**
   * Opens (or creates) an outbox file.
   *
   * @param options.path - the SQLite file (created if absent)
   * @param options.maxBytes - the most bytes of waiting batches before {@link Outbox.hasRoom} says no (default 4 GiB)
   * @param options.now - clock in ms (default `Date.now`)
   * @throws EdgeTypeError / EdgeRangeError if an option is malformed
   * @throws EdgeError `EDGE_ERR_OUTBOX_LOCKED` if another process or connection owns the file,
   *   `EDGE_ERR_OUTBOX_STORAGE` if SQLite cannot open it or it is not an outbox of this version
   * @example
   * ```ts
   * const outbox = Outbox.open({ path: 'outbox.db' });
   * ```
   */
  static open(options: { path: string; maxBytes?: number; now?: () => number }): Outbox {
    const op = 'open outbox';
    aObject(op, 'options', options);
    aString(op, 'options.path', options.path);
    if (options.maxBytes !== undefined) aInteger(op, 'options.maxBytes', options.maxBytes, 1);
    if (options.now !== undefined) aFunction(op, 'options.now', options.now);
    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(options.path);
      makeDurable(db);
      db.exec('BEGIN IMMEDIATE');
      const version = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
      if (version === 0) {
        db.exec(`
          CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
          CREATE TABLE stream (dataset TEXT NOT NULL, plant TEXT NOT NULL, next_seq INTEGER NOT NULL, consumed_through INTEGER NOT NULL,
            PRIMARY KEY (dataset, plant)) STRICT;
          CREATE TABLE batch (dataset TEXT NOT NULL, plant TEXT NOT NULL, seq INTEGER NOT NULL, batch_id TEXT NOT NULL UNIQUE,
            content_hash TEXT NOT NULL, records INTEGER NOT NULL, bytes BLOB NOT NULL, size INTEGER NOT NULL, sealed_at INTEGER NOT NULL,
            attempts INTEGER NOT NULL, state TEXT NOT NULL CHECK (state IN ('pending', 'parked')), code TEXT, reason TEXT,
            PRIMARY KEY (dataset, plant, seq)) STRICT;
          CREATE TABLE counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT;
          PRAGMA user_version = ${SCHEMA_VERSION};`);
        db.prepare("INSERT INTO meta (name, value) VALUES ('epoch', ?)").run(randomBytes(16).toString('hex'));
        const init = db.prepare('INSERT INTO counter (name, value) VALUES (?, 0)');
        for (const c of COUNTERS) init.run(c);
      } else if (version !== SCHEMA_VERSION) {
        throw new EdgeError(EDGE_ERR.OUTBOX_STORAGE, `cannot ${op}: ${options.path} has schema version ${version}, this code reads ${SCHEMA_VERSION}`);
      }
      const epoch = (db.prepare("SELECT value FROM meta WHERE name = 'epoch'").get() as { value: string } | undefined)?.value;
      if (epoch === undefined) throw new EdgeError(EDGE_ERR.OUTBOX_STORAGE, `cannot ${op}: ${options.path} has no epoch`);
      db.exec('COMMIT');
      return new Outbox(db, epoch, options.maxBytes ?? 4 * 2 ** 30, options.now ?? Date.now);
    } catch (e) {
      try {
        db?.close();
      } catch {
        // already failing; the original error is the one to report
      }
      throw storageError(op, e);
    }
  }

  /**
   * The sequence number and batch id the next batch of a stream must take. Does not reserve
   * them: they are taken by {@link Outbox.put}, so a batch sealed but never stored (a crash while
   * encrypting) leaves them to the next batch.
   *
   * @throws EdgeTypeError / EdgeRangeError for empty or non-string ids
   * @throws EdgeError `EDGE_ERR_OUTBOX_STORAGE`, `EDGE_ERR_OUTBOX_CLOSED`
   * @example
   * ```ts
   * const { seq, batchId } = outbox.next('ai4i', 'plant-a');
   * ```
   */
  next(dataset: string, plant: string): { seq: number; batchId: string } {
    const op = 'read outbox stream';
    this.#open(op);
    aString(op, 'dataset', dataset);
    aString(op, 'plant', plant);
    const seq = this.#read(op, () => (this.#sql.stream.get(dataset, plant) as { next_seq: number } | undefined)?.next_seq ?? 1);
    return { seq, batchId: batchIdFor(this.#epoch, dataset, plant, seq) };
  }

  /**
   * The highest record-buffer id the stream's stored batches consumed (0 if none).
   * @throws EdgeError `EDGE_ERR_OUTBOX_STORAGE`, `EDGE_ERR_OUTBOX_CLOSED`
   * @example
   * ```ts
   * const through = outbox.consumedThrough('ai4i', 'plant-a');
   * ```
   */
  consumedThrough(dataset: string, plant: string): number {
    const op = 'read outbox stream';
    this.#open(op);
    aString(op, 'dataset', dataset);
    aString(op, 'plant', plant);
    return this.#read(op, () => (this.#sql.stream.get(dataset, plant) as { consumed_through: number } | undefined)?.consumed_through ?? 0);
  }

  /**
   * Stores a sealed batch under the stream's next sequence number, durably, before it returns.
   *
   * @returns the stored batch's id
   * @throws EdgeTypeError / EdgeRangeError if a field is malformed
   * @throws EdgeError `EDGE_ERR_OUTBOX_MISMATCH` if `seq` is not the stream's next number (nothing
   *   stored), `EDGE_ERR_OUTBOX_STORAGE`, `EDGE_ERR_OUTBOX_CLOSED`
   * @example
   * ```ts
   * outbox.put({ dataset: 'ai4i', plant: 'plant-a', seq, contentHash: ref.contentHash, records: 4096, bytes, consumedThrough: lastId });
   * ```
   */
  put(entry: OutboxEntry): string {
    const op = 'store sealed batch';
    this.#open(op);
    aObject(op, 'entry', entry);
    aString(op, 'entry.dataset', entry.dataset);
    aString(op, 'entry.plant', entry.plant);
    aInteger(op, 'entry.seq', entry.seq, 1);
    aString(op, 'entry.contentHash', entry.contentHash);
    aInteger(op, 'entry.records', entry.records, 1);
    aInteger(op, 'entry.consumedThrough', entry.consumedThrough, 0);
    if (!(entry.bytes instanceof Uint8Array)) throw new EdgeTypeError(`cannot ${op}: entry.bytes must be a Uint8Array, got ${describe(entry.bytes)}`);
    const { dataset, plant, seq } = entry;
    const batchId = batchIdFor(this.#epoch, dataset, plant, seq);
    this.#transaction(op, () => {
      this.#sql.newStream.run(dataset, plant);
      const next = (this.#sql.stream.get(dataset, plant) as { next_seq: number }).next_seq;
      if (seq !== next) throw new EdgeError(EDGE_ERR.OUTBOX_MISMATCH, `cannot ${op}: sequence number ${seq} of ${dataset}/${plant}, the next is ${next}`);
      this.#sql.insert.run(dataset, plant, seq, batchId, entry.contentHash, entry.records, entry.bytes, entry.bytes.length, this.#now());
      this.#sql.advance.run(entry.consumedThrough, dataset, plant);
    });
    return batchId;
  }

  /**
   * The streams with batches waiting, in a stable order.
   * @throws EdgeError `EDGE_ERR_OUTBOX_STORAGE`, `EDGE_ERR_OUTBOX_CLOSED`
   * @example
   * ```ts
   * for (const { dataset, plant } of outbox.queues()) outbox.head(dataset, plant);
   * ```
   */
  queues(): { dataset: string; plant: string }[] {
    const op = 'list outbox queues';
    this.#open(op);
    return this.#read(op, () => (this.#sql.queues.all() as { dataset: string; plant: string }[]).map((r) => ({ dataset: r.dataset, plant: r.plant })));
  }

  /**
   * The stream's oldest waiting batch (lowest sequence number), or undefined.
   * @throws EdgeError `EDGE_ERR_OUTBOX_STORAGE`, `EDGE_ERR_OUTBOX_CLOSED`
   * @example
   * ```ts
   * const batch = outbox.head('ai4i', 'plant-a');
   * ```
   */
  head(dataset: string, plant: string): OutboxBatch | undefined {
    const op = 'read outbox';
    this.#open(op);
    aString(op, 'dataset', dataset);
    aString(op, 'plant', plant);
    const row = this.#read(op, () => this.#sql.head.get(dataset, plant) as BatchRow | undefined);
    return row === undefined ? undefined : Object.freeze({ ...meta(row), bytes: row.bytes });
  }

  /**
   * Removes a batch the cloud acknowledged (`stored` or `duplicate`) and counts it. Idempotent.
   * @throws EdgeError `EDGE_ERR_OUTBOX_STORAGE`, `EDGE_ERR_OUTBOX_CLOSED`
   * @example
   * ```ts
   * outbox.markSent(batch, 'stored');
   * ```
   */
  markSent(batch: Pick<OutboxBatch, 'dataset' | 'plant' | 'seq'>, status: 'stored' | 'duplicate'): void {
    const op = 'mark batch sent';
    this.#open(op);
    aBatch(op, batch);
    if (status !== 'stored' && status !== 'duplicate') throw new EdgeRangeError(`cannot ${op}: status must be 'stored' or 'duplicate', got ${describe(status)}`);
    this.#transaction(op, () => {
      const row = this.#sql.delete.get(batch.dataset, batch.plant, batch.seq) as { size: number } | undefined;
      if (row === undefined) return;
      this.#bump('sent_batches', 1);
      this.#bump('sent_bytes', row.size);
      if (status === 'duplicate') this.#bump('duplicates', 1);
      this.#set('last_success_at', this.#now());
    });
  }

  /**
   * Counts a failed attempt that will be retried.
   * @throws EdgeError `EDGE_ERR_OUTBOX_STORAGE`, `EDGE_ERR_OUTBOX_CLOSED`
   * @example
   * ```ts
   * outbox.markRetry(batch);
   * ```
   */
  markRetry(batch: Pick<OutboxBatch, 'dataset' | 'plant' | 'seq'>): void {
    const op = 'count upload retry';
    this.#open(op);
    aBatch(op, batch);
    this.#transaction(op, () => {
      this.#sql.attempt.run(batch.dataset, batch.plant, batch.seq);
      this.#bump('retries', 1);
    });
  }

  /**
   * Parks a batch the cloud refused for good: it keeps its bytes and the reason, is never sent
   * again, and the stream's next batch goes ahead.
   * @throws EdgeError `EDGE_ERR_OUTBOX_STORAGE`, `EDGE_ERR_OUTBOX_CLOSED`
   * @example
   * ```ts
   * outbox.park(batch, 'EDGE_ERR_UPLOAD_REJECTED', 'cannot upload batch: 400 …');
   * ```
   */
  park(batch: Pick<OutboxBatch, 'dataset' | 'plant' | 'seq'>, code: string, reason: string): void {
    const op = 'park batch';
    this.#open(op);
    aBatch(op, batch);
    aString(op, 'code', code);
    aString(op, 'reason', reason);
    this.#transaction(op, () => {
      const changed = Number(this.#sql.park.run(code, reason.slice(0, 2000), batch.dataset, batch.plant, batch.seq).changes);
      if (changed > 0) this.#bump('parked', changed);
    });
  }

  /**
   * The parked batches, for the plant admin.
   * @throws EdgeError `EDGE_ERR_OUTBOX_STORAGE`, `EDGE_ERR_OUTBOX_CLOSED`
   * @example
   * ```ts
   * for (const p of outbox.parked()) console.log(p.batchId, p.code, p.reason);
   * ```
   */
  parked(): ParkedBatch[] {
    const op = 'list parked batches';
    this.#open(op);
    return this.#read(op, () => (this.#sql.parked.all() as unknown as (BatchRow & { code: string; reason: string })[])
      .map((r) => Object.freeze({ ...meta(r), code: r.code, reason: r.reason })));
  }

  /**
   * Whether `bytes` more fit under `maxBytes` (the gateway stops sealing when they do not; its
   * records then wait in the record buffer).
   * @throws EdgeError `EDGE_ERR_OUTBOX_STORAGE`, `EDGE_ERR_OUTBOX_CLOSED`
   * @example
   * ```ts
   * if (outbox.hasRoom(6_000_000)) seal();
   * ```
   */
  hasRoom(bytes: number): boolean {
    const op = 'check outbox room';
    this.#open(op);
    aInteger(op, 'bytes', bytes, 0);
    return this.#read(op, () => (this.#sql.backlog.get() as { bytes: number }).bytes) + bytes <= this.#maxBytes;
  }

  /**
   * Backlog and upload figures.
   * @throws EdgeError `EDGE_ERR_OUTBOX_STORAGE`, `EDGE_ERR_OUTBOX_CLOSED`
   * @example
   * ```ts
   * const { backlogBatches, backlogBytes, lastSuccessAt } = outbox.metrics();
   * ```
   */
  metrics(): OutboxMetrics {
    const op = 'read outbox metrics';
    this.#open(op);
    return this.#read(op, () => {
      const b = this.#sql.backlog.get() as { n: number; bytes: number; oldest: number | null };
      const last = this.#get('last_success_at');
      return Object.freeze({
        backlogBatches: b.n,
        backlogBytes: b.bytes,
        oldestSealedAt: b.oldest,
        parkedBatches: (this.#sql.parkedCount.get() as { n: number }).n,
        sentBatches: this.#get('sent_batches'),
        sentBytes: this.#get('sent_bytes'),
        duplicates: this.#get('duplicates'),
        retries: this.#get('retries'),
        lastSuccessAt: last === 0 ? null : last,
        maxBytes: this.#maxBytes,
      });
    });
  }

  /**
   * Closes the file (checkpointing the WAL) and releases the lock. Idempotent.
   * @example
   * ```ts
   * outbox.close();
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  /** Same as {@link Outbox.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #open(op: string): void {
    if (this.#closed) throw new EdgeError(EDGE_ERR.OUTBOX_CLOSED, `cannot ${op}: the outbox is closed`);
  }

  #get(name: Counter): number {
    return (this.#sql.counter.get(name) as { value: number }).value;
  }

  #set(name: Counter, value: number): void {
    this.#sql.setCounter.run(value, name);
  }

  #bump(name: Counter, by: number): void {
    this.#set(name, this.#get(name) + by);
  }

  #read<R>(op: string, body: () => R): R {
    try {
      return body();
    } catch (e) {
      throw storageError(op, e);
    }
  }

  #transaction(op: string, body: () => void): void {
    return immediateTransaction(this.#db, body, (e) => storageError(op, e));
  }
}

interface BatchRow {
  dataset: string;
  plant: string;
  seq: number;
  batch_id: string;
  content_hash: string;
  records: number;
  bytes: Uint8Array;
  sealed_at: number;
  attempts: number;
}

function aBatch(op: string, batch: unknown): asserts batch is Pick<OutboxBatch, 'dataset' | 'plant' | 'seq'> {
  aObject(op, 'batch', batch);
  aString(op, 'batch.dataset', batch.dataset);
  aString(op, 'batch.plant', batch.plant);
  aInteger(op, 'batch.seq', batch.seq, 1);
}

function meta(r: Omit<BatchRow, 'bytes'>): Omit<OutboxBatch, 'bytes'> {
  return {
    dataset: r.dataset, plant: r.plant, seq: r.seq, batchId: r.batch_id, contentHash: r.content_hash,
    records: r.records, sealedAt: r.sealed_at, attempts: r.attempts,
  };
}

/** Wraps a SQLite failure: `SQLITE_BUSY` / `SQLITE_LOCKED` mean another owner holds the file. */
function storageError(op: string, e: unknown): EdgeError {
  if (e instanceof EdgeError) return e;
  const errcode = (e as { errcode?: number }).errcode;
  const reason = (e as Error)?.message ?? String(e);
  if (errcode === 5 || errcode === 6) {
    return new EdgeError(EDGE_ERR.OUTBOX_LOCKED, `cannot ${op}: the outbox file is owned by another process or connection (${reason})`, { cause: e });
  }
  return new EdgeError(EDGE_ERR.OUTBOX_STORAGE, `cannot ${op}: ${reason}`, { cause: e });
}
