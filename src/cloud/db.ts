/**
 * The cloud's tables and their migrations, on the storage of
 * `src/trust/storage/sql.ts` (PGlite in-process by default, a PostgreSQL
 * server when `DATABASE_URL` is set; the same SQL runs on both).
 *
 * {@link CLOUD_MIGRATIONS} is append-only: a part of the cloud that needs
 * tables adds one entry at the end with a new id and never edits an entry
 * that has shipped. {@link migrateCloud} applies, in order and once each, the
 * entries a database has not seen, under an advisory lock so that processes
 * sharing a server do not race. Timestamps are `timestamptz` written from the
 * app's clock (never SQL `now()`), so tests can move time.
 * @module
 */
import { openSql, type OpenSqlOptions, type SqlClient, type SqlQueryable } from '../trust/storage/sql.ts';
import { CLOUD_ERR, CloudError } from './errors.ts';

/** One schema step: a unique id and its statements, run in one transaction. */
export interface CloudMigration {
  /** `NNNN-what`, unique and never reused. */
  readonly id: string;
  /** One SQL statement per entry (no parameters). */
  readonly statements: readonly string[];
}

/**
 * Every schema step of the cloud, oldest first. Append new steps at the end.
 * @example
 * ```ts
 * // in db.ts, at the end of the list:
 * { id: '0002-lake', statements: ['CREATE TABLE cloud_batch (…)'] },
 * ```
 */
export const CLOUD_MIGRATIONS: readonly CloudMigration[] = Object.freeze([
  {
    id: '0001-identity',
    statements: [
      `CREATE TABLE cloud_user (
        name text PRIMARY KEY,
        password_hash text NOT NULL,
        created_at timestamptz NOT NULL
      )`,
      `CREATE TABLE cloud_role (
        subject text NOT NULL,
        role text NOT NULL,
        tenant text NOT NULL,
        granted_by text NOT NULL,
        granted_at timestamptz NOT NULL,
        PRIMARY KEY (subject, tenant, role)
      )`,
      `CREATE INDEX cloud_role_tenant ON cloud_role (tenant, subject, role)`,
      `CREATE TABLE cloud_enrolment (
        id text PRIMARY KEY,
        tenant text NOT NULL,
        gateway text NOT NULL,
        token_hash bytea NOT NULL UNIQUE,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        used_at timestamptz
      )`,
      `CREATE TABLE cloud_gateway (
        tenant text NOT NULL,
        gateway text NOT NULL,
        serial text NOT NULL UNIQUE,
        enrolment_id text NOT NULL REFERENCES cloud_enrolment (id),
        enrolled_at timestamptz NOT NULL,
        not_after timestamptz NOT NULL,
        revoked_at timestamptz,
        PRIMARY KEY (tenant, gateway)
      )`,
    ],
  },
]);

/**
 * Applies the migrations `db` has not seen yet, in order, each in its own
 * transaction, and returns the ids it applied.
 *
 * @param migrations - the list to apply (default {@link CLOUD_MIGRATIONS})
 * @throws {CloudError} `CLOUD_ERR_CONFIG` when ids repeat or the database knows an id the list lacks (older code on a newer schema)
 * @throws {TrustError} `TRUST_ERR_STORAGE` when the database refuses a statement
 * @example
 * ```ts
 * const db = await openSql();
 * await migrateCloud(db);
 * ```
 */
export async function migrateCloud(db: SqlClient, migrations: readonly CloudMigration[] = CLOUD_MIGRATIONS): Promise<string[]> {
  const ids = migrations.map((m) => m.id);
  if (new Set(ids).size !== ids.length) throw new CloudError(CLOUD_ERR.CONFIG, 'cannot migrate: migration ids repeat');
  const applied: string[] = [];
  await db.transaction(async (tx) => {
    await lock(tx);
    await tx.query('CREATE TABLE IF NOT EXISTS cloud_migration (id text PRIMARY KEY, applied_at timestamptz NOT NULL)');
  });
  for (const m of migrations) {
    const done = await db.transaction(async (tx) => {
      await lock(tx);
      if ((await tx.query('SELECT 1 FROM cloud_migration WHERE id = $1', [m.id])).length > 0) return false;
      for (const statement of m.statements) await tx.query(statement);
      await tx.query('INSERT INTO cloud_migration (id, applied_at) VALUES ($1, $2)', [m.id, new Date()]);
      return true;
    });
    if (done) applied.push(m.id);
  }
  const known = await db.query<{ id: string }>('SELECT id FROM cloud_migration');
  const unknown = known.map((r) => r.id).filter((id) => !ids.includes(id));
  if (unknown.length > 0) {
    throw new CloudError(CLOUD_ERR.CONFIG, `cannot migrate: the database has migrations this code does not know (${unknown.join(', ')})`, {
      hint: 'run the newer hedge version that wrote them',
    });
  }
  return applied;
}

async function lock(tx: SqlQueryable): Promise<void> {
  await tx.query("SELECT pg_advisory_xact_lock(hashtext('hedge.cloud.schema'))");
}

/**
 * Opens the cloud database ({@link openSql}: PGlite unless a URL or
 * `DATABASE_URL` is given) and brings its schema up to date.
 *
 * @throws {TrustError} `TRUST_ERR_STORAGE` when it cannot be opened or migrated
 * @throws {CloudError} `CLOUD_ERR_CONFIG` see {@link migrateCloud}
 * @example
 * ```ts
 * const db = await openCloudDb({ dataDir: '/var/lib/hedge/db' });
 * ```
 */
export async function openCloudDb(options: OpenSqlOptions = {}): Promise<SqlClient> {
  const db = await openSql(options);
  try {
    await migrateCloud(db);
  } catch (e) {
    await db.close().catch(() => {});
    throw e;
  }
  return db;
}
