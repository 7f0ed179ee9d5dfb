/**
 * A durable {@link LedgerStore} for a key holder's {@link ShareLedger} (DESIGN.md §3: "a key
 * holder produces at most one share per (round, ciphertext) and answers a retry with the stored
 * share").
 *
 * {@link SqliteLedgerStore.set} returns only after its row is committed to an SQLite file with
 * `journal_mode=WAL` and `synchronous=FULL` (the WAL is fsynced at every commit), and
 * `ShareLedger.issue` calls it before it returns a share: a share that was ever handed out is on
 * disk, so a retry after a crash gets the same bytes (tested in `test/edge/keyholder*.test.ts`).
 * A share made but not yet stored when the process died never left it; the retry makes a fresh
 * one, which is safe because nobody saw the first.
 *
 * The file holds public shares only (decryption shares are flooded; ceremony shares are public
 * by design); secrets live in key custody (`custody.ts`). One owner per file: SQLite's exclusive
 * locking mode, as in `buffer.ts`.
 * @module
 */
import { makeDurable } from './sqlite.ts';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { LedgerStore } from '../he/mhe/ledger.ts';
import { aString, describe } from './assert.ts';
import { EDGE_ERR, EdgeError, EdgeTypeError } from './errors.ts';

const SCHEMA_VERSION = 1;

/**
 * Opens an SQLite database the way every key-holder file is opened: exclusive lock taken now,
 * WAL, synchronous=FULL, and the schema created (version 0) or checked.
 *
 * @throws EdgeError `EDGE_ERR_KEYHOLDER_LOCKED`, `EDGE_ERR_KEYHOLDER_STORAGE`
 */
export function openKeyholderDb(op: string, path: string, version: number, schema: string): DatabaseSync {
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(path);
    makeDurable(db);
    db.exec('BEGIN IMMEDIATE');
    const found = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
    if (found === 0) db.exec(`${schema}; PRAGMA user_version = ${version};`);
    else if (found !== version) throw new EdgeError(EDGE_ERR.KEYHOLDER_STORAGE, `cannot ${op}: ${path} has schema version ${found}, this code reads ${version}`);
    db.exec('COMMIT');
    return db;
  } catch (e) {
    try {
      db?.close();
    } catch {
      // already failing; the original error is the one to report
    }
    throw keyholderStorageError(op, e);
  }
}

/**
 * Wraps an SQLite failure: `SQLITE_BUSY` / `SQLITE_LOCKED` mean another owner holds the file.
 * @example
 * ```ts
 * try { stmt.run(); } catch (e) { throw keyholderStorageError('store share', e); }
 * ```
 */
export function keyholderStorageError(op: string, e: unknown): EdgeError {
  if (e instanceof EdgeError) return e;
  const errcode = (e as { errcode?: number }).errcode;
  const reason = (e as Error)?.message ?? String(e);
  if (errcode === 5 || errcode === 6) {
    return new EdgeError(EDGE_ERR.KEYHOLDER_LOCKED, `cannot ${op}: the file is owned by another process or connection (${reason})`, { cause: e });
  }
  return new EdgeError(EDGE_ERR.KEYHOLDER_STORAGE, `cannot ${op}: ${reason}`, { cause: e });
}

/**
 * A {@link LedgerStore} in one SQLite file: `set` is durable before it returns.
 *
 * @example
 * ```ts
 * using store = SqliteLedgerStore.open('/var/lib/hedge/ledger.db');
 * const ledger = new ShareLedger(store);
 * const bytes = ledger.issue('sum-key-switch', jobId, digest, () => makeShare());
 * ```
 */
export class SqliteLedgerStore implements LedgerStore {
  readonly #db: DatabaseSync;
  readonly #get: StatementSync;
  readonly #set: StatementSync;
  readonly #count: StatementSync;
  #closed = false;

  private constructor(db: DatabaseSync) {
    this.#db = db;
    this.#get = db.prepare('SELECT value FROM share WHERE key = ?');
    this.#set = db.prepare('INSERT INTO share (key, value, stored_at) VALUES (?, ?, ?)');
    this.#count = db.prepare('SELECT count(*) AS n FROM share');
  }

  /**
   * Opens (or creates) a ledger file, recovering a crashed owner's committed rows.
   *
   * @throws EdgeTypeError / EdgeRangeError for a malformed path
   * @throws EdgeError `EDGE_ERR_KEYHOLDER_LOCKED` (another owner), `EDGE_ERR_KEYHOLDER_STORAGE`
   * @example
   * ```ts
   * const store = SqliteLedgerStore.open('ledger.db');
   * ```
   */
  static open(path: string): SqliteLedgerStore {
    const op = 'open share ledger';
    aString(op, 'path', path);
    return new SqliteLedgerStore(openKeyholderDb(op, path, SCHEMA_VERSION,
      'CREATE TABLE share (key TEXT PRIMARY KEY, value BLOB NOT NULL, stored_at INTEGER NOT NULL) STRICT'));
  }

  /**
   * The stored share for a ledger key (a fresh copy), or undefined.
   * @throws EdgeError `EDGE_ERR_KEYHOLDER_STORAGE`, `EDGE_ERR_KEYHOLDER_CLOSED`
   * @example
   * ```ts
   * store.get(ShareLedger.key('sum-decrypt', jobId, digest));
   * ```
   */
  get(key: string): Uint8Array | undefined {
    const op = 'read share ledger';
    this.#open(op);
    aString(op, 'key', key);
    try {
      const row = this.#get.get(key) as { value: Uint8Array } | undefined;
      return row === undefined ? undefined : new Uint8Array(row.value);
    } catch (e) {
      throw keyholderStorageError(op, e);
    }
  }

  /**
   * Stores a share, committed and fsynced before it returns. A key is written once: a second
   * `set` for the same key fails (the ledger never asks for one).
   * @throws EdgeTypeError for a non-bytes value
   * @throws EdgeError `EDGE_ERR_KEYHOLDER_STORAGE` (nothing stored), `EDGE_ERR_KEYHOLDER_CLOSED`
   * @example
   * ```ts
   * store.set(key, shareBytes);
   * ```
   */
  set(key: string, value: Uint8Array): void {
    const op = 'store share';
    this.#open(op);
    aString(op, 'key', key);
    if (!(value instanceof Uint8Array)) throw new EdgeTypeError(`cannot ${op}: value must be a Uint8Array, got ${describe(value)}`);
    try {
      this.#set.run(key, value, Date.now());
    } catch (e) {
      throw keyholderStorageError(op, e);
    }
  }

  /**
   * Number of shares stored.
   * @throws EdgeError `EDGE_ERR_KEYHOLDER_STORAGE`, `EDGE_ERR_KEYHOLDER_CLOSED`
   * @example
   * ```ts
   * store.size; // 3
   * ```
   */
  get size(): number {
    const op = 'count shares';
    this.#open(op);
    try {
      return (this.#count.get() as { n: number }).n;
    } catch (e) {
      throw keyholderStorageError(op, e);
    }
  }

  /**
   * Closes the file and releases its lock. Idempotent.
   * @example
   * ```ts
   * store.close();
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  /** Same as {@link SqliteLedgerStore.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #open(op: string): void {
    if (this.#closed) throw new EdgeError(EDGE_ERR.KEYHOLDER_CLOSED, `cannot ${op}: the share ledger is closed`);
  }
}
