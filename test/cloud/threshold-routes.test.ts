/**
 * The t-of-n routes' bad-input matrix over `inject()`: `threshold` at create (schema and range),
 * the federation view (points, threshold), ceremony rounds out of order, the dealt shares before
 * `combine` and for an additive federation, a reveal share with a bad attempt. Each refusal has
 * its status and code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { enrolGateway, makeApp, presentCertificatesFromHeader, withCertificate } from './_fixtures.ts';
import { FileBlobStore } from '../../src/cloud/blobs.ts';
import { Federations } from '../../src/cloud/federation.ts';
import { Jobs } from '../../src/cloud/jobs.ts';
import { Lake } from '../../src/cloud/lake.ts';
import { domainRoutes } from '../../src/cloud/routes/domain.ts';
import { openSql } from '../../src/trust/storage/sql.ts';
import { SealEngine } from '../../src/he/backend/seal.ts';
import { preset } from '../../src/he/params.ts';

const binary = { 'content-type': 'application/octet-stream' };

test('t-of-n routes: threshold at create, the view, rounds out of order, dealt shares, attempts', async () => {
  const engine = await SealEngine.create(preset('TEST_INSECURE_BGV_2048', { allowInsecure: true }));
  const engineOf = async (name: string): Promise<SealEngine> => {
    if (name !== engine.params.name) throw new RangeError(`unknown preset ${name}`);
    return engine;
  };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hedge-threshold-routes-'));
  const db = await openSql({ databaseUrl: null });
  const blobs = await FileBlobStore.open(dir);
  const lake = await Lake.open({ sql: db, blobs });
  const federations = await Federations.open({ sql: db, blobs, engine: engineOf });
  const jobs = await Jobs.open({ sql: db, blobs, lake, federations, engine: engineOf });
  const t = await makeApp({ db, routes: [domainRoutes({ federations, lake, jobs, engine: engineOf })] });
  presentCertificatesFromHeader(t.app);
  try {
    await t.grant('alice', 'machine_builder', 'builder');
    const alice = await t.bearer('alice');
    await t.grant('admin-plant-a', 'plant_admin', 'plant-a');
    const gw = withCertificate((await enrolGateway(t, 'plant-a', 'gw-1')).certificate);
    const call = async (method: 'GET' | 'POST', url: string, headers: Record<string, string>, payload: unknown, status: number, code?: string) => {
      const res = await t.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as never }) });
      assert.equal(res.statusCode, status, `${method} ${url}: ${res.body.slice(0, 300)}`);
      if (code !== undefined) assert.equal(res.json().code, code, res.body);
      return res;
    };
    const members = [{ tenant: 'plant-a', role: 'plant' }, { tenant: 'plant-b', role: 'plant' }, { tenant: 'builder', role: 'builder' }];
    const body = (extra: object) => ({ id: 'mills', preset: engine.params.name, members, guards: { minPlants: 2, minRecords: 10 }, ...extra });
    for (const threshold of [1, 0, 2.5, '2', null]) await call('POST', '/v1/tenants/builder/federations', alice, body({ threshold }), 400, 'CLOUD_ERR_VALIDATION');
    await call('POST', '/v1/tenants/builder/federations', alice, body({ threshold: 4 }), 400, 'CLOUD_ERR_VALIDATION');
    const created = (await call('POST', '/v1/tenants/builder/federations', alice, body({ threshold: 2 }), 201)).json();
    assert.equal(created.threshold, 2);
    assert.deepEqual(created.members, [{ tenant: 'plant-a', role: 'plant', point: 1 }, { tenant: 'plant-b', role: 'plant', point: 2 }, { tenant: 'builder', role: 'builder', point: 3 }]);
    const additive = (await call('POST', '/v1/tenants/builder/federations', alice, body({ id: 'additive' }), 201)).json();
    assert.equal(additive.threshold, 3);
    assert.deepEqual(additive.members[0], { tenant: 'plant-a', role: 'plant' });
    const view = (await call('GET', '/v1/tenants/plant-a/federations/mills', gw, undefined, 200)).json();
    assert.deepEqual([view.round, view.threshold, view.members[0].point, view.members[0].dealKey], ['pk', 2, 1, undefined]);

    // Rounds out of order and malformed messages.
    await call('POST', '/v1/tenants/plant-a/federations/mills/ceremony/kex', { ...gw, ...binary }, Buffer.alloc(32, 1), 409, 'CLOUD_ERR_STATE');
    await call('POST', '/v1/tenants/plant-a/federations/mills/ceremony/deal', { ...gw, ...binary }, Buffer.alloc(32, 1), 409, 'CLOUD_ERR_STATE');
    await call('POST', '/v1/tenants/plant-a/federations/mills/ceremony/nope', { ...gw, ...binary }, Buffer.alloc(32, 1), 400, 'CLOUD_ERR_VALIDATION');
    await call('POST', '/v1/tenants/plant-a/federations/additive/ceremony/combine', { ...gw, ...binary }, Buffer.alloc(32, 1), 409, 'CLOUD_ERR_STATE');
    await call('GET', '/v1/tenants/plant-a/federations/mills/deal', gw, undefined, 409, 'CLOUD_ERR_STATE');
    await call('GET', '/v1/tenants/plant-a/federations/additive/deal', gw, undefined, 409, 'CLOUD_ERR_STATE');
    await call('GET', '/v1/tenants/plant-c/federations/mills/deal', gw, undefined, 403, 'CLOUD_ERR_ACCESS_DENIED');

    // A reveal share's attempt is a positive integer (the job does not exist: the schema answers first).
    await call('POST', '/v1/tenants/plant-a/jobs/job-x/reveal-shares?attempt=0', { ...gw, ...binary }, Buffer.alloc(8), 400, 'CLOUD_ERR_VALIDATION');
    await call('POST', '/v1/tenants/plant-a/jobs/job-x/reveal-shares?attempt=x', { ...gw, ...binary }, Buffer.alloc(8), 400, 'CLOUD_ERR_VALIDATION');
    await call('POST', '/v1/tenants/plant-a/jobs/job-x/reveal-shares?attempt=1', { ...gw, ...binary }, Buffer.alloc(8), 404);
  } finally {
    await t.close();
    engine[Symbol.dispose]();
    rmSync(dir, { recursive: true, force: true });
  }
});
