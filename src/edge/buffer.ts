/**
 * The durable store-and-forward buffer between connectors and the uploader (DESIGN.md §2, §9).
 *
 * Guarantees (each tested, `test/edge/buffer*.test.ts`):
 * - **Durable acknowledgement.** {@link DurableBuffer.append} returns only after its SQLite
 *   transaction committed with `journal_mode=WAL` and `synchronous=FULL` (the WAL is fsynced on
 *   every commit): an append that returned survives a process kill or power loss. An append that
 *   did not return may or may not be stored, entirely or not at all (one transaction).
 * - **Exactly once by id.** Every entry gets an id (ascending, never reused) when appended; it is
 *   handed out by {@link DurableBuffer.lease} / {@link DurableBuffer.peek} until it is acked, and
 *   never after. After a crash, entries leased but not acked are handed out again with the same id,
 *   so the receiver deduplicates by id; an ack is idempotent.
 * - **Bounded.** At most `maxEntries` entries and `maxBytes` payload bytes; when an append would
 *   exceed either, `whenFull: 'refuse'` throws `EDGE_ERR_BUFFER_FULL` and stores nothing, and
 *   `'drop-oldest'` deletes the oldest entries in the same transaction, counts them and reports
 *   them through `onDrop`.
 * - **One owner.** The file is opened in SQLite's exclusive locking mode: a second opener (another
 *   process or connection) gets `EDGE_ERR_BUFFER_LOCKED`. The operating system releases the lock
 *   when the owner dies, so a restarted gateway reopens it at once.
 *
 * Uses Node's built-in `node:sqlite` (`DatabaseSync`; SQLite 3.5x bundled with Node, no native
 * dependency to build); on the pinned Node 24.21 it loads without an ExperimentalWarning.
 * Leases live in memory: a restart makes every unacked entry available again.
 * @module
 */
import { immediateTransaction, makeDurable } from './sqlite.ts';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { deserialize, serialize } from 'node:v8';
import { aArray, aFunction, aInteger, aObject, aString, describe } from './assert.ts';
import { EDGE_ERR, EdgeError, EdgeRangeError, EdgeTypeError } from './errors.ts';

/** What to do when an append would exceed the buffer's bounds. */
export type WhenFull = 'refuse' | 'drop-oldest';

/** Turns entries into bytes and back. */
export interface BufferCodec<T> {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

/** Reported through `onDrop` when `drop-oldest` deleted entries to make room. */
export interface DropEvent {
  /** Entries deleted by this append. */
  readonly count: number;
  /** Their payload bytes. */
  readonly bytes: number;
  /** The oldest and newest deleted id (all ids between them that were still stored were deleted). */
  readonly firstId: number;
  readonly lastId: number;
  /** Entries dropped since the buffer file was created, this drop included. */
  readonly droppedTotal: number;
}

/** Options of {@link DurableBuffer.open}. */
export interface BufferOptions<T> {
  /** The SQLite file (created if absent); `-wal` beside it while open. */
  readonly path: string;
  /** The most entries the buffer holds. */
  readonly maxEntries: number;
  /** The most payload bytes the buffer holds (default 1 GiB). */
  readonly maxBytes?: number;
  /** The largest single encoded entry (default 1 MiB). */
  readonly maxEntryBytes?: number;
  readonly whenFull: WhenFull;
  /** Called after a committed append that dropped entries; must not throw (a throw becomes a process warning). */
  readonly onDrop?: (event: DropEvent) => void;
  /** Default: Node's structured-clone serialisation (`node:v8`), which keeps NaN and ±∞. */
  readonly codec?: BufferCodec<T>;
  /** Clock in ms, for `appendedAt` and lease expiry (default `Date.now`). */
  readonly now?: () => number;
}

/** One stored entry as handed out by {@link DurableBuffer.lease} and {@link DurableBuffer.peek}. */
export interface BufferEntry<T> {
  readonly id: number;
  /** When it was appended (ms). */
  readonly appendedAt: number;
  readonly value: T;
}

/** Size and backlog figures of a buffer. */
export interface BufferMetrics {
  readonly entries: number;
  readonly bytes: number;
  /** Entries under an unexpired lease. */
  readonly leased: number;
  /** When the oldest stored entry was appended (ms), or null when empty: the backlog's age. */
  readonly oldestAppendedAt: number | null;
  /** Totals since the buffer file was created. */
  readonly appendedTotal: number;
  readonly ackedTotal: number;
  readonly droppedTotal: number;
  readonly maxEntries: number;
  readonly maxBytes: number;
}

const SCHEMA_VERSION = 1;
const COUNTERS = ['entries', 'bytes', 'appended', 'acked', 'dropped'] as const;
type Counter = (typeof COUNTERS)[number];

/** The default codec: Node's structured-clone serialisation, which keeps NaN, ±∞ and typed arrays. */
const V8_CODEC: BufferCodec<never> = {
  encode: (value) => serialize(value),
  decode: (bytes) => deserialize(bytes) as never,
};

/**
 * A crash-safe, bounded, single-owner store-and-forward buffer (see the module description for
 * its guarantees).
 *
 * @example
 * ```ts
 * using buffer = DurableBuffer.open<RawEvent>({ path: '/var/lib/hedge/buffer.db', maxEntries: 5_000_000, whenFull: 'drop-oldest', onDrop: (e) => log.warn(e) });
 * buffer.append(events);                 // durable when it returns
 * const batch = buffer.lease(1000);      // upload …
 * buffer.ack(batch.map((e) => e.id));    // … then ack
 * ```
 */
export class DurableBuffer<T> {
  readonly #db: DatabaseSync;
  readonly #codec: BufferCodec<T>;
  readonly #now: () => number;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #maxEntryBytes: number;
  readonly #whenFull: WhenFull;
  readonly #onDrop: ((event: DropEvent) => void) | undefined;
  readonly #leases = new Map<number, number>();
  readonly #sql: Record<'insert' | 'oldest' | 'deleteUpTo' | 'deleteOne' | 'scan' | 'counter' | 'setCounter' | 'maxId' | 'oldestTime', StatementSync>;
  #closed = false;

  private constructor(db: DatabaseSync, options: BufferOptions<T>) {
    this.#db = db;
    this.#codec = options.codec ?? (V8_CODEC as BufferCodec<T>);
    this.#now = options.now ?? Date.now;
    this.#maxEntries = options.maxEntries;
    this.#maxBytes = options.maxBytes ?? 2 ** 30;
    this.#maxEntryBytes = options.maxEntryBytes ?? 2 ** 20;
    this.#whenFull = options.whenFull;
    this.#onDrop = options.onDrop;
    this.#sql = {
      insert: db.prepare('INSERT INTO entry (appended_at, payload) VALUES (?, ?)'),
      oldest: db.prepare('SELECT id, length(payload) AS len FROM entry ORDER BY id'),
      deleteUpTo: db.prepare('DELETE FROM entry WHERE id <= ?'),
      deleteOne: db.prepare('DELETE FROM entry WHERE id = ? RETURNING length(payload) AS len'),
      scan: db.prepare('SELECT id, appended_at, payload FROM entry ORDER BY id'),
      counter: db.prepare('SELECT value FROM counter WHERE name = ?'),
      setCounter: db.prepare('UPDATE counter SET value = ? WHERE name = ?'),
      maxId: db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'entry'"),
      oldestTime: db.prepare('SELECT appended_at FROM entry ORDER BY id LIMIT 1'),
    };
  }

  /**
   * Opens (or creates) a buffer file, recovering a crashed owner's committed transactions and
   * rolling back its uncommitted one.
   *
   * @throws EdgeTypeError / EdgeRangeError if an option is malformed
   * @throws EdgeError `EDGE_ERR_BUFFER_LOCKED` if another process or connection owns the file
   * @throws EdgeError `EDGE_ERR_BUFFER_STORAGE` if SQLite cannot open it or it is not a buffer of this version
   * @example
   * ```ts
   * const buffer = DurableBuffer.open({ path: 'buffer.db', maxEntries: 100_000, whenFull: 'refuse' });
   * ```
   */
  static open<T = unknown>(options: BufferOptions<T>): DurableBuffer<T> {
    const op = 'open buffer';
    aObject(op, 'options', options);
    aString(op, 'options.path', options.path);
    aInteger(op, 'options.maxEntries', options.maxEntries, 1);
    if (options.maxBytes !== undefined) aInteger(op, 'options.maxBytes', options.maxBytes, 1);
    if (options.maxEntryBytes !== undefined) aInteger(op, 'options.maxEntryBytes', options.maxEntryBytes, 1);
    if (options.whenFull !== 'refuse' && options.whenFull !== 'drop-oldest') {
      throw new EdgeRangeError(`cannot ${op}: options.whenFull must be 'refuse' or 'drop-oldest', got ${describe(options.whenFull)}`);
    }
    if (options.onDrop !== undefined) aFunction(op, 'options.onDrop', options.onDrop);
    if (options.now !== undefined) aFunction(op, 'options.now', options.now);
    if (options.codec !== undefined) {
      aObject(op, 'options.codec', options.codec);
      aFunction(op, 'options.codec.encode', options.codec.encode);
      aFunction(op, 'options.codec.decode', options.codec.decode);
    }
    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(options.path);
      makeDurable(db);
      db.exec('BEGIN IMMEDIATE'); // takes the exclusive lock now, not at the first append
      const version = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
      if (version === 0) {
        db.exec(`
          CREATE TABLE entry (id INTEGER PRIMARY KEY AUTOINCREMENT, appended_at INTEGER NOT NULL, payload BLOB NOT NULL) STRICT;
          CREATE TABLE counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT;
          PRAGMA user_version = ${SCHEMA_VERSION};`);
        const init = db.prepare('INSERT INTO counter (name, value) VALUES (?, 0)');
        for (const c of COUNTERS) init.run(c);
      } else if (version !== SCHEMA_VERSION) {
        throw new EdgeError(EDGE_ERR.BUFFER_STORAGE, `cannot ${op}: ${options.path} has schema version ${version}, this code reads ${SCHEMA_VERSION}`);
      }
      db.exec('COMMIT');
      return new DurableBuffer<T>(db, options);
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
   * Appends entries in one transaction and returns their ids once it is durably committed.
   * Makes room first if the buffer is full and its policy is `drop-oldest`.
   *
   * @returns the new ids, in the order of `values`
   * @throws EdgeTypeError if `values` is not an array or the codec does not return bytes
   * @throws EdgeRangeError if an entry exceeds `maxEntryBytes`, or the batch alone exceeds
   *   `maxEntries` / `maxBytes`
   * @throws EdgeError `EDGE_ERR_BUFFER_FULL` (policy `refuse`; nothing stored),
   *   `EDGE_ERR_BUFFER_STORAGE` (SQLite failed; nothing stored), `EDGE_ERR_BUFFER_CLOSED`
   * @example
   * ```ts
   * const [id] = buffer.append([{ kind: 'sample', machineId: 'mill-3', t: Date.now(), values: { torque: 40 } }]);
   * ```
   */
  append(values: readonly T[]): number[] {
    const op = 'append to buffer';
    this.#open(op);
    aArray(op, 'values', values);
    const payloads = values.map((v, i) => {
      const bytes = this.#codec.encode(v);
      if (!(bytes instanceof Uint8Array)) throw new EdgeTypeError(`cannot ${op}: the codec returned ${describe(bytes)} for values[${i}], not bytes`);
      if (bytes.length > this.#maxEntryBytes) {
        throw new EdgeRangeError(`cannot ${op}: values[${i}] takes ${bytes.length} bytes, more than maxEntryBytes ${this.#maxEntryBytes}`);
      }
      return bytes;
    });
    const size = payloads.reduce((s, p) => s + p.length, 0);
    if (payloads.length > this.#maxEntries || size > this.#maxBytes) {
      throw new EdgeRangeError(`cannot ${op}: the batch alone (${payloads.length} entries, ${size} bytes) exceeds the buffer's bounds`);
    }
    if (payloads.length === 0) return [];
    let drop: Omit<DropEvent, 'droppedTotal'> | null = null;
    let droppedTotal = 0;
    const ids = this.#transaction(op, () => {
      const entries = this.#get('entries');
      const bytes = this.#get('bytes');
      const needEntries = entries + payloads.length - this.#maxEntries;
      const needBytes = bytes + size - this.#maxBytes;
      if (needEntries > 0 || needBytes > 0) {
        if (this.#whenFull === 'refuse') {
          throw new EdgeError(
            EDGE_ERR.BUFFER_FULL,
            `cannot ${op}: the buffer is full (${entries} of ${this.#maxEntries} entries, ${bytes} of ${this.#maxBytes} bytes) and its policy is refuse`,
          );
        }
        drop = this.#dropOldest(needEntries, needBytes);
        droppedTotal = this.#get('dropped') + drop.count;
        this.#set('dropped', droppedTotal);
      }
      const at = this.#now();
      const ids = payloads.map((p) => Number(this.#sql.insert.run(at, p).lastInsertRowid));
      this.#set('entries', entries - (drop?.count ?? 0) + payloads.length);
      this.#set('bytes', bytes - (drop?.bytes ?? 0) + size);
      this.#set('appended', this.#get('appended') + payloads.length);
      return ids;
    });
    if (drop !== null) {
      const d: Omit<DropEvent, 'droppedTotal'> = drop;
      for (const id of this.#leases.keys()) if (id <= d.lastId) this.#leases.delete(id);
      try {
        this.#onDrop?.(Object.freeze({ ...d, droppedTotal }));
      } catch (e) {
        process.emitWarning(`hedge buffer: onDrop threw (${(e as Error)?.message}); the append itself is committed`, 'EdgeBufferWarning');
      }
    }
    return ids;
  }

  /**
   * Hands out up to `max` of the oldest entries that are not under an unexpired lease, and leases
   * them for `leaseMs`; until then they are not handed out again (unless {@link DurableBuffer.release}d).
   *
   * @throws EdgeRangeError if `max` or `leaseMs` is not a positive integer
   * @throws EdgeError `EDGE_ERR_BUFFER_DECODE` if a stored entry cannot be decoded,
   *   `EDGE_ERR_BUFFER_STORAGE`, `EDGE_ERR_BUFFER_CLOSED`
   * @example
   * ```ts
   * const batch = buffer.lease(512, 60_000);
   * ```
   */
  lease(max: number, leaseMs = 60_000): BufferEntry<T>[] {
    const op = 'lease from buffer';
    this.#open(op);
    aInteger(op, 'max', max, 1);
    aInteger(op, 'leaseMs', leaseMs, 1);
    const now = this.#now();
    const out = this.#read(op, max, (id) => (this.#leases.get(id) ?? -Infinity) <= now);
    for (const e of out) this.#leases.set(e.id, now + leaseMs);
    return out;
  }

  /**
   * The up to `max` oldest entries, leased or not, without leasing them.
   *
   * @throws EdgeRangeError if `max` is not a positive integer
   * @throws EdgeError `EDGE_ERR_BUFFER_DECODE`, `EDGE_ERR_BUFFER_STORAGE`, `EDGE_ERR_BUFFER_CLOSED`
   * @example
   * ```ts
   * const next = buffer.peek(10);
   * ```
   */
  peek(max: number): BufferEntry<T>[] {
    const op = 'peek into buffer';
    this.#open(op);
    aInteger(op, 'max', max, 1);
    return this.#read(op, max, () => true);
  }

  /**
   * Ends the leases of entries without acking them (e.g. an upload failed), so that the next
   * {@link DurableBuffer.lease} hands them out again. Unknown or unleased ids are ignored.
   *
   * @throws EdgeTypeError / EdgeRangeError if `ids` is not an array of positive integers
   * @throws EdgeError `EDGE_ERR_BUFFER_CLOSED`
   * @example
   * ```ts
   * buffer.release(batch.map((e) => e.id));
   * ```
   */
  release(ids: readonly number[]): void {
    const op = 'release leases';
    this.#open(op);
    aIds(op, ids);
    for (const id of ids) this.#leases.delete(id);
  }

  /**
   * Deletes entries for good, in one durable transaction. Idempotent: an id that was already acked
   * (or dropped) is ignored.
   *
   * @returns how many of `ids` were still stored (and now are not)
   * @throws EdgeTypeError / EdgeRangeError if `ids` is not an array of positive integers
   * @throws EdgeError `EDGE_ERR_BUFFER_UNKNOWN_ID` if an id was never issued (nothing acked),
   *   `EDGE_ERR_BUFFER_STORAGE`, `EDGE_ERR_BUFFER_CLOSED`
   * @example
   * ```ts
   * buffer.ack(batch.map((e) => e.id));
   * ```
   */
  ack(ids: readonly number[]): number {
    const op = 'ack buffer entries';
    this.#open(op);
    aIds(op, ids);
    if (ids.length === 0) return 0;
    const removed = this.#transaction(op, () => {
      const maxId = (this.#sql.maxId.get() as { seq: number } | undefined)?.seq ?? 0;
      const unknown = ids.find((id) => id > maxId);
      if (unknown !== undefined) throw new EdgeError(EDGE_ERR.BUFFER_UNKNOWN_ID, `cannot ${op}: id ${unknown} was never issued (the highest is ${maxId})`);
      let count = 0;
      let bytes = 0;
      for (const id of new Set(ids)) {
        const row = this.#sql.deleteOne.get(id) as { len: number } | undefined;
        if (row === undefined) continue;
        count++;
        bytes += row.len;
      }
      if (count > 0) {
        this.#set('entries', this.#get('entries') - count);
        this.#set('bytes', this.#get('bytes') - bytes);
        this.#set('acked', this.#get('acked') + count);
      }
      return count;
    });
    for (const id of ids) this.#leases.delete(id);
    return removed;
  }

  /**
   * Size and backlog figures.
   * @throws EdgeError `EDGE_ERR_BUFFER_STORAGE`, `EDGE_ERR_BUFFER_CLOSED`
   * @example
   * ```ts
   * const { entries, oldestAppendedAt } = buffer.metrics();
   * ```
   */
  metrics(): BufferMetrics {
    const op = 'read buffer metrics';
    this.#open(op);
    try {
      const now = this.#now();
      let leased = 0;
      for (const until of this.#leases.values()) if (until > now) leased++;
      const oldest = this.#sql.oldestTime.get() as { appended_at: number } | undefined;
      return Object.freeze({
        entries: this.#get('entries'),
        bytes: this.#get('bytes'),
        leased,
        oldestAppendedAt: oldest?.appended_at ?? null,
        appendedTotal: this.#get('appended'),
        ackedTotal: this.#get('acked'),
        droppedTotal: this.#get('dropped'),
        maxEntries: this.#maxEntries,
        maxBytes: this.#maxBytes,
      });
    } catch (e) {
      throw storageError(op, e);
    }
  }

  /**
   * Closes the file (checkpointing the WAL) and releases the lock. Idempotent.
   * @example
   * ```ts
   * buffer.close();
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#leases.clear();
    this.#db.close();
  }

  /** Same as {@link DurableBuffer.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #open(op: string): void {
    if (this.#closed) throw new EdgeError(EDGE_ERR.BUFFER_CLOSED, `cannot ${op}: the buffer is closed`);
  }

  #get(name: Counter): number {
    return (this.#sql.counter.get(name) as { value: number }).value;
  }

  #set(name: Counter, value: number): void {
    this.#sql.setCounter.run(value, name);
  }

  #transaction<R>(op: string, body: () => R): R {
    return immediateTransaction(this.#db, body, (e) => storageError(op, e));
  }

  /** Deletes the oldest entries until `needEntries` entries and `needBytes` bytes are free (inside a transaction). */
  #dropOldest(needEntries: number, needBytes: number): Omit<DropEvent, 'droppedTotal'> {
    let count = 0;
    let bytes = 0;
    let firstId = 0;
    let lastId = 0;
    for (const row of this.#sql.oldest.iterate() as Iterable<{ id: number; len: number }>) {
      if (count >= needEntries && bytes >= needBytes) break;
      if (count === 0) firstId = row.id;
      lastId = row.id;
      count++;
      bytes += row.len;
    }
    this.#sql.deleteUpTo.run(lastId);
    return { count, bytes, firstId, lastId };
  }

  #read(op: string, max: number, take: (id: number) => boolean): BufferEntry<T>[] {
    const out: BufferEntry<T>[] = [];
    let rows: Iterable<{ id: number; appended_at: number; payload: Uint8Array }>;
    try {
      rows = this.#sql.scan.iterate() as Iterable<{ id: number; appended_at: number; payload: Uint8Array }>;
      for (const row of rows) {
        if (out.length === max) break;
        if (!take(row.id)) continue;
        let value: T;
        try {
          value = this.#codec.decode(row.payload);
        } catch (e) {
          throw new EdgeError(EDGE_ERR.BUFFER_DECODE, `cannot ${op}: entry ${row.id} cannot be decoded`, { cause: e });
        }
        out.push(Object.freeze({ id: row.id, appendedAt: row.appended_at, value }));
      }
    } catch (e) {
      throw e instanceof EdgeError ? e : storageError(op, e);
    }
    return out;
  }
}

function aIds(op: string, ids: unknown): asserts ids is readonly number[] {
  aArray(op, 'ids', ids);
  ids.forEach((id, i) => aInteger(op, `ids[${i}]`, id, 1));
}

/** Wraps a SQLite failure: `SQLITE_BUSY` / `SQLITE_LOCKED` mean another owner holds the file. */
function storageError(op: string, e: unknown): EdgeError {
  if (e instanceof EdgeError) return e;
  const errcode = (e as { errcode?: number }).errcode;
  const reason = (e as Error)?.message ?? String(e);
  if (errcode === 5 || errcode === 6) {
    return new EdgeError(EDGE_ERR.BUFFER_LOCKED, `cannot ${op}: the buffer file is owned by another process or connection (${reason})`, { cause: e });
  }
  return new EdgeError(EDGE_ERR.BUFFER_STORAGE, `cannot ${op}: ${reason}`, { cause: e });
}
