/**
 * The cloud's migrations and storage on both engines: PGlite in-process and
 * a real PostgreSQL server (a database of its own, created and dropped; the
 * PostgreSQL tests skip when no server answers).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLOUD_MIGRATIONS, migrateCloud, openCloudDb } from '../../src/cloud/db.ts';
import { CLOUD_ERR, CloudError } from '../../src/cloud/errors.ts';
import { setLocalUser } from '../../src/cloud/users.ts';
import { openSql, type SqlClient } from '../../src/trust/storage/sql.ts';
import { withPostgresDatabase } from '../trust/_postgres.ts';
import { enrolGateway, makeApp, presentCertificatesFromHeader, withCertificate } from './_fixtures.ts';

const isConfig = (e: unknown) => e instanceof CloudError && e.code === CLOUD_ERR.CONFIG;

async function migrationsBehave(db: SqlClient): Promise<void> {
  assert.deepEqual(await migrateCloud(db), CLOUD_MIGRATIONS.map((m) => m.id));
  assert.deepEqual(await migrateCloud(db), [], 'idempotent');
  const extra = [...CLOUD_MIGRATIONS, { id: '9999-test', statements: ['CREATE TABLE cloud_test_extra (x int)'] }];
  assert.deepEqual(await migrateCloud(db, extra), ['9999-test'], 'an appended step runs once');
  await assert.rejects(migrateCloud(db), isConfig, 'older code on a newer schema');
  await assert.rejects(migrateCloud(db, [...extra, extra[0]!]), isConfig, 'repeated ids');
}

/** The API flow that touches every table: roles, users, enrolments, gateways. */
async function apiFlow(db: SqlClient): Promise<void> {
  const t = await makeApp({ db });
  presentCertificatesFromHeader(t.app);
  try {
    await t.grant('admin-plant-a', 'plant_admin', 'plant-a');
    await setLocalUser(db, { username: 'alice', password: 'correct horse battery' });
    const login = await t.app.inject({ method: 'POST', url: '/v1/auth/token', payload: { username: 'alice', password: 'correct horse battery' } });
    assert.equal(login.statusCode, 200);
    const gw = await enrolGateway(t, 'plant-a', 'gw-1');
    const self = await t.app.inject({ method: 'GET', url: '/v1/tenants/plant-a/gateways/gw-1', headers: withCertificate(gw.certificate) });
    assert.equal(self.statusCode, 200, self.body);
    assert.equal(self.json().serial, gw.serial);
    const again = await enrolGateway(t, 'plant-a', 'gw-1');
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/tenants/plant-a/gateways/gw-1', headers: withCertificate(gw.certificate) })).statusCode, 401);
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/tenants/plant-a/gateways/gw-1', headers: withCertificate(again.certificate) })).statusCode, 200);
    const page = await t.app.inject({ method: 'GET', url: '/v1/tenants/plant-a/roles?limit=1', headers: await t.bearer('admin-plant-a') });
    assert.equal(page.json().items.length, 1);
    assert.ok(page.json().next);
    assert.equal((await t.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
  } finally {
    await t.app.close();
  }
}

test('PGlite: migrations apply once, in order; the API flow works', async () => {
  const db = await openSql({ databaseUrl: null });
  try {
    await migrationsBehave(db);
  } finally {
    await db.close();
  }
  const fresh = await openCloudDb({ databaseUrl: null });
  try {
    await apiFlow(fresh);
  } finally {
    await fresh.close();
  }
});

test('PostgreSQL: migrations (two processes racing) and the API flow', async (t) => {
  await withPostgresDatabase(t, async (url) => {
    const a = await openSql({ databaseUrl: url });
    const b = await openSql({ databaseUrl: url });
    try {
      assert.equal(a.engine, 'postgres');
      const [ra, rb] = await Promise.all([migrateCloud(a), migrateCloud(b)]);
      assert.deepEqual([...ra, ...rb].sort(), CLOUD_MIGRATIONS.map((m) => m.id).sort(), 'each step applied by exactly one of them');
      await apiFlow(a);
    } finally {
      await a.close();
      await b.close();
    }
    const db = await openSql({ databaseUrl: url });
    try {
      await db.query('DROP TABLE cloud_gateway, cloud_enrolment, cloud_role, cloud_user, cloud_migration');
      await migrationsBehave(db);
    } finally {
      await db.close();
    }
  });
});
