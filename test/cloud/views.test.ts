/**
 * The console's views (src/cloud/routes/views.ts) with data in them: a tenant sees its own and
 * nothing of another's — batches, volume, shares, log entries, jobs, federations, models — the
 * builder sees totals only while at least the federation's minPlants plants contributed (a
 * withdrawal below it withholds them), and a model's inference summaries are the fleet's for its
 * owner (days with fewer reporting plants withheld) and the plant's own for a plant.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeApp, type TestApp } from './_fixtures.ts';
import { testCloud, type TestCloud } from './_federation.ts';
import { trainedModel, uploadMills } from './_models.ts';
import { JobLineage } from '../../src/cloud/lineage.ts';
import { Registry } from '../../src/cloud/registry.ts';
import { viewRoutes } from '../../src/cloud/routes/views.ts';
import { hashPayload, type LogEvent } from '../../src/trust/events.ts';
import { TransparencyLog } from '../../src/trust/log/transparency-log.ts';
import { KeyRing } from '../../src/trust/note/key-ring.ts';
import { generateNoteSigner } from '../../src/trust/note/keys.ts';
import { openSql, type SqlClient } from '../../src/trust/storage/sql.ts';

let sql: SqlClient;
let c: TestCloud;
let t: TestApp;
let log: TransparencyLog;

const DAY1 = '2026-02-01';
const DAY2 = '2026-02-02';

const summary = (tenant: string, day: string, inferences: number, abstained: number): LogEvent => ({
  kind: 'inference_summary', time: `${day}T10:00:00.000Z`, actor: `gw.${tenant}.gw-1`, tenant, subject: 'model/mills-fail',
  payloadHash: hashPayload(new TextEncoder().encode(`${tenant}${day}`)), details: { model: 'mills-fail', version: 1, inferences, abstained },
});

before(async () => {
  sql = await openSql({ databaseUrl: null });
  c = await testCloud(sql);
  await uploadMills(c);
  const { job, model } = await trainedModel(c, c.jobs, 'job-1');
  const lineage = await JobLineage.open({ sql });
  const registry = await Registry.open({ sql, blobs: c.blobs, lake: c.lake, jobs: c.jobs, lineage });
  await registry.register({ modelId: 'mills-fail', jobId: job.id, model, by: 'alice', tenant: 'builder' });
  const signer = generateNoteSigner('hedge.test/views');
  log = await TransparencyLog.open({ sql, origin: 'hedge.test/views', keys: new KeyRing([{ signer, notBefore: new Date(0) }]) });
  for (const [i, tenant] of ['plant-a', 'plant-b', 'plant-a', 'builder', 'plant-a'].entries()) {
    await log.append([{ kind: 'job', time: new Date(Date.UTC(2026, 1, 1, 0, i)).toISOString(), actor: `admin-${tenant}`, tenant, subject: 'job/job-1', payloadHash: hashPayload(new TextEncoder().encode(`e${i}`)), details: { dataset: 'mills', state: 'approved' } }]);
  }
  await log.append([summary('plant-a', DAY1, 100, 4), summary('plant-b', DAY1, 200, 2), summary('plant-c', DAY1, 100, 4), summary('plant-a', DAY2, 50, 5)]);
  await log.signCheckpoint();
  t = await makeApp({ db: sql, routes: [viewRoutes({ log: () => log, jobs: c.jobs, registry })] });
  t.clock.now = new Date(`${DAY2}T12:00:00Z`);
  for (const p of ['plant-a', 'plant-b', 'plant-c', 'plant-z']) await t.grant(`admin-${p}`, 'plant_admin', p);
  await t.grant('alice', 'machine_builder', 'builder');
  await t.grant('audra', 'auditor', 'plant-b');
});
after(async () => {
  await t.close();
  c.close();
});

async function get<T = any>(who: string, url: string, status = 200): Promise<T> {
  const res = await t.app.inject({ method: 'GET', url, headers: await t.bearer(who) });
  assert.equal(res.statusCode, status, `${who} GET ${url}: ${res.body.slice(0, 300)}`);
  return res.json() as T;
}

test('me: the caller and its roles in the tenant', async () => {
  assert.deepEqual(await get('admin-plant-a', '/v1/tenants/plant-a/me'), { subject: 'admin-plant-a', tenant: 'plant-a', roles: ['plant_admin'] });
  assert.deepEqual(await get('audra', '/v1/tenants/plant-b/me'), { subject: 'audra', tenant: 'plant-b', roles: ['auditor'] });
});

test('federations: members see theirs, others none', async () => {
  const [f] = await get('admin-plant-a', '/v1/tenants/plant-a/federations');
  assert.equal(f.id, 'mills');
  assert.equal(f.round, 'ready');
  assert.equal(f.threshold, 4);
  assert.deepEqual(f.missing, []);
  assert.deepEqual(await get('admin-plant-z', '/v1/tenants/plant-z/federations'), []);
});

test('what left a plant is that plant\'s alone; the builder sees totals, not per plant', async () => {
  const a = await get('admin-plant-a', '/v1/tenants/plant-a/outbound');
  assert.deepEqual(a.datasets.map((d: { dataset: string; volume: { batches: number; records: number } }) => [d.dataset, d.volume.batches, d.volume.records]), [['mills', 2, 300]]);
  assert.ok(a.recent.every((b: { batchId: string }) => b.batchId.startsWith('plant-a-')));
  assert.equal(a.recent.length, 2);
  const c2 = await get('admin-plant-c', '/v1/tenants/plant-c/outbound');
  assert.equal(c2.datasets[0].volume.records, 500);
  assert.deepEqual((await get('admin-plant-z', '/v1/tenants/plant-z/outbound')).datasets, []);

  const [asPlant] = await get('admin-plant-a', '/v1/tenants/plant-a/datasets');
  assert.equal(asPlant.total, null, 'a plant does not see the other plants\' volume');
  assert.equal(asPlant.own.records, 300);
  const [asBuilder] = await get('alice', '/v1/tenants/builder/datasets');
  assert.deepEqual([asBuilder.plants, asBuilder.total.batches, asBuilder.total.records], [3, 7, 1200]);
  assert.equal(asBuilder.own, null);
  assert.deepEqual(await get('admin-plant-z', '/v1/tenants/plant-z/datasets'), []);

  const ingestA = await get('admin-plant-a', '/v1/tenants/plant-a/ingest?days=2');
  assert.deepEqual(ingestA.days, [DAY1, DAY2]);
  assert.deepEqual(ingestA.own, [{ dataset: 'mills', records: [300, 0], bytes: [ingestA.own[0].bytes[0], 0] }]);
  assert.deepEqual(ingestA.owned, []);
  const ingestB = await get('alice', '/v1/tenants/builder/ingest?days=2');
  assert.deepEqual(ingestB.owned.map((s: { records: unknown }) => s.records), [[1200, 0]]);
  assert.deepEqual(ingestB.own, []);
});

test('jobs: visible to the receiver and the plants in it, with what awaits approval; not to others', async () => {
  await c.jobs.submit({ id: 'job-2', federation: 'mills', dataset: 'mills', spec: { features: ['speed'], label: false }, requestedBy: 'builder' });
  const [j2, j1] = await get('admin-plant-a', '/v1/tenants/plant-a/jobs');
  assert.deepEqual([j1.id, j1.state, j1.awaitingApproval, j1.approvals.length, j1.shares.length, j1.parties], ['job-1', 'revealed', false, 3, 4, 4]);
  assert.deepEqual([j2.id, j2.state, j2.awaitingApproval], ['job-2', 'queued', true]);
  assert.deepEqual(j2.plants, ['plant-a', 'plant-b', 'plant-c']);
  const mine = await get('alice', '/v1/tenants/builder/jobs');
  assert.deepEqual(mine.map((j: { id: string; awaitingApproval: boolean }) => [j.id, j.awaitingApproval]), [['job-2', false], ['job-1', false]]);
  assert.deepEqual(await get('admin-plant-z', '/v1/tenants/plant-z/jobs'), []);
});

test('below the federation\'s minPlants the builder\'s totals are withheld', async () => {
  assert.equal((await c.lake.batches('mills')).length, 7);
  await c.lake.withdraw('plant-c');
  const [asBuilder] = await get('alice', '/v1/tenants/builder/datasets');
  assert.equal(asBuilder.plants, 2);
  assert.equal(asBuilder.total, null);
  assert.deepEqual((await get('alice', '/v1/tenants/builder/ingest?days=2')).owned[0].records, [null, 0]);
  const deletions = (await get('admin-plant-c', '/v1/tenants/plant-c/outbound')).deletions;
  assert.equal(deletions.length, 3);
  assert.ok(deletions.every((d: { reason: string }) => d.reason === 'withdrawal'));
  assert.deepEqual((await get('admin-plant-a', '/v1/tenants/plant-a/outbound')).deletions, []);
});

test('shares: the tenant\'s own key holder\'s only', async () => {
  const a = await get('admin-plant-a', '/v1/tenants/plant-a/shares');
  assert.equal(a.length, 1);
  assert.equal(a[0].job, 'job-1');
  assert.match(a[0].sha256, /^[0-9a-f]{64}$/);
  const b = await get('audra', '/v1/tenants/plant-b/shares');
  assert.equal(b.length, 1);
  assert.notEqual(b[0].sha256, a[0].sha256);
  assert.deepEqual(await get('admin-plant-z', '/v1/tenants/plant-z/shares'), []);
});

test('log entries: the tenant\'s only, newest first, by kind, in pages', async () => {
  const all = await get('admin-plant-a', '/v1/tenants/plant-a/log/entries');
  assert.equal(all.size, log.size);
  assert.ok(all.entries.every((e: { event: LogEvent }) => e.event.tenant === 'plant-a'));
  assert.deepEqual(all.entries.map((e: { index: number }) => e.index), [...all.entries.map((e: { index: number }) => e.index)].sort((x, y) => y - x));
  assert.equal(all.entries.length, 5, '3 job events and 2 inference summaries');
  const jobs = await get('admin-plant-a', '/v1/tenants/plant-a/log/entries?kind=job&limit=2');
  assert.deepEqual(jobs.entries.map((e: { event: LogEvent }) => e.event.kind), ['job', 'job']);
  const rest = await get('admin-plant-a', `/v1/tenants/plant-a/log/entries?kind=job&limit=2&before=${jobs.next}`);
  assert.equal(rest.entries.length, 1);
  assert.equal(rest.next, undefined);
  const b = await get('audra', '/v1/tenants/plant-b/log/entries');
  assert.ok(b.entries.length > 0 && b.entries.every((e: { event: LogEvent }) => e.event.tenant === 'plant-b'));
  assert.deepEqual((await get('admin-plant-z', '/v1/tenants/plant-z/log/entries')).entries, []);
  await get('admin-plant-a', '/v1/tenants/plant-a/log/entries?kind=nonsense', 400);
});

test('inference summaries: the fleet\'s for the owner (thin days withheld), the plant\'s own for a plant, nothing for others', async () => {
  const fleet = await get('alice', '/v1/tenants/builder/models/mills-fail/inference?days=2');
  assert.deepEqual(fleet, { scope: 'fleet', days: [DAY1, DAY2], inferences: [400, null], abstained: [10, null] });
  const a = await get('admin-plant-a', '/v1/tenants/plant-a/models/mills-fail/inference?days=2');
  assert.deepEqual(a, { scope: 'plant', days: [DAY1, DAY2], inferences: [100, 50], abstained: [4, 5] });
  const b = await get('audra', '/v1/tenants/plant-b/models/mills-fail/inference?days=2');
  assert.deepEqual(b.inferences, [200, 0]);
  await get('admin-plant-z', '/v1/tenants/plant-z/models/mills-fail/inference', 404);
  await get('alice', '/v1/tenants/builder/models/no-such-model/inference', 404);
});
