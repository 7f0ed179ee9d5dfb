/**
 * One storage interface over PostgreSQL tables: in-process PGlite by default,
 * a PostgreSQL server (through `pg`) when a connection string is given. The
 * trust layer speaks only this interface, so the same SQL runs on both.
 *
 * Values come back normalised: `bigint` columns as `number` (PGlite returns
 * numbers, `pg` strings) and `bytea` as `Uint8Array`.
 */
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { TrustError, TrustErrorCode } from '../errors.ts';

/** Something SQL can be run on: a client or an open transaction. */
export interface SqlQueryable {
  /**
   * Runs one statement with `$1…` parameters and returns its rows.
   *
   * @throws {TrustError} `TRUST_ERR_STORAGE` when the database refuses the statement
   */
  query<T extends object = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
}

/** A database the trust layer can keep its tables in. */
export interface SqlClient extends SqlQueryable {
  /** Which engine serves this client. */
  readonly engine: 'pglite' | 'postgres';
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when it throws.
   *
   * @throws whatever `fn` throws, after the rollback
   */
  transaction<R>(fn: (tx: SqlQueryable) => Promise<R>): Promise<R>;
  /** Closes the connection(s). */
  close(): Promise<void>;
}

/** Options of {@link openSql}. */
export interface OpenSqlOptions {
  /**
   * A `postgres://` connection string. When absent, `process.env.DATABASE_URL`
   * is used; when that is absent too, an in-process PGlite database.
   * Pass `null` to force PGlite whatever the environment says.
   */
  databaseUrl?: string | null;
  /** PGlite only: a directory to keep the database in; in memory when absent. */
  dataDir?: string;
}

function storageError(op: string, cause: unknown): TrustError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new TrustError(TrustErrorCode.STORAGE, `cannot ${op}: ${reason}`, { cause });
}

async function run<T extends object>(op: () => Promise<{ rows: unknown[] }>): Promise<T[]> {
  try {
    return (await op()).rows as T[];
  } catch (e) {
    throw storageError('run SQL statement', e);
  }
}

/**
 * Opens the database the trust layer stores in: PostgreSQL when a connection
 * string is given (or `DATABASE_URL` is set), else in-process PGlite.
 *
 * @throws {TrustError} `TRUST_ERR_STORAGE` when the database cannot be opened or reached
 * @example
 * ```ts
 * const sql = await openSql();                       // PGlite in memory (or DATABASE_URL)
 * const pgsql = await openSql({ databaseUrl: 'postgres://postgres@127.0.0.1:5432/hedge' });
 * ```
 */
export async function openSql(options: OpenSqlOptions = {}): Promise<SqlClient> {
  const url = options.databaseUrl === undefined ? process.env.DATABASE_URL : options.databaseUrl;
  return url ? openPostgres(url) : openPglite(options.dataDir);
}

async function openPglite(dataDir: string | undefined): Promise<SqlClient> {
  let db: PGlite;
  try {
    db = dataDir === undefined ? new PGlite() : new PGlite(dataDir);
    await db.waitReady;
  } catch (e) {
    throw storageError('open PGlite', e);
  }
  return {
    engine: 'pglite',
    query: (sql, params) => run(() => db.query(sql, params ? [...params] : undefined)),
    transaction: (fn) =>
      db.transaction((tx) => fn({ query: (sql, params) => run(() => tx.query(sql, params ? [...params] : undefined)) })),
    close: () => db.close(),
  };
}

async function openPostgres(url: string): Promise<SqlClient> {
  // int8 as number: log sizes stay below 2^53, checked where they are written.
  const types = { getTypeParser: (oid: number, format?: 'text' | 'binary') => (oid === 20 ? Number : pg.types.getTypeParser(oid, format)) };
  const pool = new pg.Pool({ connectionString: url, max: 4, types: types as pg.CustomTypesConfig });
  pool.on('error', () => {}); // idle-client errors surface on the next query instead
  try {
    (await pool.connect()).release();
  } catch (e) {
    await pool.end().catch(() => {});
    throw storageError('connect to PostgreSQL', e);
  }
  const wrap = (q: (sql: string, params?: unknown[]) => Promise<{ rows: unknown[] }>): SqlQueryable['query'] => (sql, params) =>
    run(() => q(sql, params ? [...params] : undefined));
  return {
    engine: 'postgres',
    query: wrap((sql, params) => pool.query(sql, params)),
    async transaction(fn) {
      const client = await pool.connect().catch((e: unknown) => {
        throw storageError('connect to PostgreSQL', e);
      });
      try {
        await client.query('BEGIN');
        const result = await fn({ query: wrap((sql, params) => client.query(sql, params)) });
        await client.query('COMMIT');
        return result;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {});
        throw e;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

/**
 * Normalises a `bytea` value as both engines return it (PGlite `Uint8Array`,
 * `pg` `Buffer`) into a plain `Uint8Array` copy.
 *
 * @throws {TrustError} `TRUST_ERR_STORAGE` when the value is not bytes
 * @example
 * ```ts
 * const root = bytesFromRow(row.root);
 * ```
 */
export function bytesFromRow(value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TrustError(TrustErrorCode.STORAGE, 'cannot read bytes: column is not bytea');
  return new Uint8Array(value);
}
