/**
 * What the gateway's SQLite stores (record buffer, outbox, key holder ledger
 * and log) share: durable settings and the immediate-transaction wrapper.
 * `node:sqlite` is built into the pinned Node (no addon to compile).
 * @module
 */
import type { DatabaseSync } from 'node:sqlite';
import { EdgeError } from './errors.ts';

/**
 * Makes `db` durable and single-owner: exclusive locking (a second process
 * gets SQLITE_BUSY at its first write), WAL, `synchronous = FULL` (a commit is
 * on disk when it returns).
 *
 * @throws the SQLite error (callers map it to their storage error)
 * @example
 * ```ts
 * const db = new DatabaseSync(file);
 * makeDurable(db);
 * ```
 */
export function makeDurable(db: DatabaseSync): void {
  db.exec('PRAGMA locking_mode = EXCLUSIVE');
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = FULL');
}

/**
 * Runs `body` in a `BEGIN IMMEDIATE` transaction: committed when it returns,
 * rolled back when it throws. An {@link EdgeError} from `body` passes through;
 * anything else (SQLite) becomes `storageError(e)`.
 *
 * @example
 * ```ts
 * const id = immediateTransaction(db, () => insert.run(value).lastInsertRowid, (e) => storageError('append', e));
 * ```
 */
export function immediateTransaction<R>(db: DatabaseSync, body: () => R, storageError: (e: unknown) => Error): R {
  try {
    db.exec('BEGIN IMMEDIATE');
  } catch (e) {
    throw storageError(e);
  }
  try {
    const result = body();
    db.exec('COMMIT');
    return result;
  } catch (e) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw e instanceof EdgeError ? e : storageError(e);
  }
}
