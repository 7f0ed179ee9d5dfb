/**
 * Test helper: a uniquely named PostgreSQL database on the machine's server
 * (DATABASE_URL or postgres://postgres@127.0.0.1:5432/postgres), created for
 * one test and dropped after it, so parallel runs never collide. When the
 * server is unreachable the test is skipped with a clear message.
 */
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import pg from 'pg';

const ADMIN_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Runs `fn` with the URL of a fresh database; skips `t` when the server is unreachable. */
export async function withPostgresDatabase(t: TestContext, fn: (url: string) => Promise<void>): Promise<void> {
  const admin = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
  } catch (e) {
    t.skip(`PostgreSQL unreachable at ${ADMIN_URL.replace(/:[^:@/]*@/, ':***@')}: ${(e as Error).message}`);
    return;
  }
  const name = `hedge_trust_test_${process.pid}_${randomBytes(6).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${name}`);
  try {
    const url = new URL(ADMIN_URL);
    url.pathname = `/${name}`;
    await fn(url.toString());
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

/**
 * Registers two tests running `exercise` on a fresh database: PGlite in process, and a
 * PostgreSQL server database of its own (skipped when the server is unreachable).
 */
export function onBothDatabases(name: string, exercise: (sql: import('../../src/trust/storage/sql.ts').SqlClient) => Promise<void>): void {
  const run = async (databaseUrl: string | null): Promise<void> => {
    const { openSql } = await import('../../src/trust/storage/sql.ts');
    const sql = await openSql({ databaseUrl });
    try {
      await exercise(sql);
    } finally {
      await sql.close();
    }
  };
  test(`${name} on PGlite`, () => run(null));
  test(`${name} on a PostgreSQL server`, (t) => withPostgresDatabase(t, (url) => run(url)));
}
