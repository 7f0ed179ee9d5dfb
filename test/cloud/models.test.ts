/**
 * The model routes over `inject()` (and one real HTTP listener for the TUF repository): a builder
 * registers versions from a JSON artifact upload, lists them with metrics and lineage, moves an
 * alias forward and back, releases to plants' fleets (an older version is refused, so is a tenant
 * outside the federation), and reads deployments and the job's OpenLineage events. A plant sees
 * the models trained on its data and its own deployments; an uninvolved tenant sees nothing. After
 * a plant withdraws its data, the versions say which batches are gone. A gateway's `ModelDelivery`
 * fetches the released version from the cloud's `/tuf` routes. Bad input is a 4xx with a code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { enrolGateway, makeApp, presentCertificatesFromHeader, withCertificate } from './_fixtures.ts';
import { testCloud } from './_federation.ts';
import { trainedModel, uploadMills } from './_models.ts';
import { JobLineage } from '../../src/cloud/lineage.ts';
import { Registry } from '../../src/cloud/registry.ts';
import { Release } from '../../src/cloud/release.ts';
import { modelRoutes } from '../../src/cloud/routes/models.ts';
import { modelToArtifact } from '../../src/models/index.ts';
import { ModelDelivery } from '../../src/runtime/index.ts';
import { openSql } from '../../src/trust/storage/sql.ts';
import { generateTufKey, TufRepository } from '../../src/trust/tuf/repository.ts';

test('model routes: register, list, alias, release, deployments, lineage, TUF delivery', { timeout: 120_000 }, async () => {
  const sql = await openSql({ databaseUrl: null });
  const c = await testCloud(sql);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hedge-models-'));
  await uploadMills(c);
  const { model, job } = await trainedModel(c, c.jobs, 'job-1');
  const lineage = await JobLineage.open({ sql });
  const registry = await Registry.open({ sql, blobs: c.blobs, lake: c.lake, jobs: c.jobs, lineage });
  const repo = await TufRepository.create({ dir: path.join(dir, 'tuf'), keys: { root: generateTufKey(), targets: generateTufKey(), snapshot: generateTufKey(), timestamp: generateTufKey() } });
  const release = await Release.open({ sql, registry, repo });
  const t = await makeApp({ db: sql, routes: [modelRoutes({ registry, lineage, release, federations: c.federations, jobs: c.jobs, tufDir: repo.dir, fleetKey: async () => generateTufKey() })] });
  presentCertificatesFromHeader(t.app);
  try {
    await t.grant('alice', 'machine_builder', 'builder');
    await t.grant('admin-a', 'plant_admin', 'plant-a');
    await t.grant('zed', 'auditor', 'plant-z');
    const alice = await t.bearer('alice');
    const adminA = await t.bearer('admin-a');
    const zed = await t.bearer('zed');
    const call = async (method: 'GET' | 'POST' | 'PUT', url: string, headers: Record<string, string>, payload?: object, status = 200) => {
      const res = await t.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload }) });
      assert.equal(res.statusCode, status, `${method} ${url}: ${res.body.slice(0, 300)}`);
      return res.json();
    };
    const artifact = modelToArtifact(model, { modelId: 'anything', modelVersion: 1, lineage: { jobId: 'job-1', plants: [], batchHashes: [] } });
    const base = '/v1/tenants/builder/models/mills-fail';

    // Register: the registry assigns versions and writes the lineage from the job.
    const v1 = await call('POST', `${base}/versions`, alice, { jobId: 'job-1', artifact }, 201);
    assert.equal(v1.version, 1);
    assert.deepEqual(v1.lineage.plants, ['plant-a', 'plant-b', 'plant-c']);
    assert.equal(v1.lineage.batchHashes.length, job.plan.batches.length);
    assert.ok(Object.keys(v1.metrics).length > 0);
    assert.equal((await call('POST', `${base}/versions`, alice, { jobId: 'job-1', artifact }, 201)).version, 1, 'a retry makes no second version');
    const v2 = await call('POST', `${base}/versions`, alice, { jobId: 'job-1', artifact, evaluation: { accuracy: 0.93 } }, 201);
    assert.equal(v2.version, 2);
    assert.deepEqual(v2.evaluation, { accuracy: 0.93 });
    assert.equal((await call('POST', `${base}/versions`, alice, { jobId: 'job-1', artifact: { format: 'hedge.model', junk: true } }, 422)).code, 'CLOUD_ERR_MODEL_REJECTED');
    assert.equal((await call('POST', `${base}/versions`, alice, { jobId: 'job-404', artifact }, 404)).code, 'CLOUD_ERR_NOT_FOUND');
    assert.equal((await call('POST', `${base}/versions`, alice, { jobId: 'job-1' }, 400)).code, 'CLOUD_ERR_VALIDATION');
    assert.equal((await call('POST', '/v1/tenants/builder/models/..%2Fx/versions', alice, { jobId: 'job-1', artifact }, 400)).code, 'CLOUD_ERR_VALIDATION');

    // Lists: the owner and a plant whose data went in see it; an uninvolved tenant does not.
    assert.deepEqual(await call('GET', '/v1/tenants/builder/models', alice), [{ modelId: 'mills-fail', owner: 'builder', latest: 2, aliases: {} }]);
    assert.equal((await call('GET', '/v1/tenants/plant-a/models', adminA)).length, 1);
    assert.deepEqual(await call('GET', '/v1/tenants/plant-z/models', zed), []);
    assert.equal((await call('GET', '/v1/tenants/plant-z/models/mills-fail/versions', zed, undefined, 404)).code, 'CLOUD_ERR_NOT_FOUND');
    assert.equal((await call('GET', `${base}/versions`, alice)).length, 2);
    assert.equal((await call('GET', `${base}/versions/2`, alice)).lineageDigest, v2.lineageDigest);
    await call('GET', `${base}/versions/3`, alice, undefined, 404);

    // Aliases: forward, and back (an admin's rollback of the alias).
    await call('PUT', `${base}/aliases/production`, alice, { version: 1 });
    await call('PUT', `${base}/aliases/production`, alice, { version: 2 });
    assert.equal((await call('PUT', `${base}/aliases/production`, alice, { version: 1 })).version, 1);
    await call('PUT', `${base}/aliases/production`, alice, { version: 7 }, 404);
    const aliases = await call('GET', `${base}/aliases`, alice);
    assert.deepEqual(aliases.history.map((m: { from: number | null; to: number }) => [m.from, m.to]), [[null, 1], [1, 2], [2, 1]]);
    await call('PUT', '/v1/tenants/plant-a/models/mills-fail/aliases/production', adminA, { version: 2 }, 403);

    // Release: the alias to two plants, then v2 to one; going back is refused.
    const first = await call('POST', `${base}/releases`, alice, { alias: 'production', fleets: ['plant-a', 'plant-b'] }, 201);
    assert.deepEqual(first.map((d: { fleet: string; version: number }) => [d.fleet, d.version]), [['plant-a', 1], ['plant-b', 1]]);
    await call('POST', `${base}/releases`, alice, { version: 2, fleets: ['plant-a'] }, 201);
    assert.equal((await call('POST', `${base}/releases`, alice, { version: 1, fleets: ['plant-a'] }, 409)).code, 'CLOUD_ERR_ROLLBACK_REFUSED');
    assert.equal((await call('POST', `${base}/releases`, alice, { version: 2, fleets: ['plant-z'] }, 404)).code, 'CLOUD_ERR_NOT_FOUND');
    assert.equal((await call('POST', `${base}/releases`, alice, { version: 2, alias: 'production', fleets: ['plant-a'] }, 400)).code, 'CLOUD_ERR_VALIDATION');
    await call('POST', `${base}/releases`, alice, { version: 2, fleets: ['plant-a', 'plant-a'] }, 400);
    await call('POST', '/v1/tenants/plant-a/models/mills-fail/releases', adminA, { version: 2, fleets: ['plant-a'] }, 403);

    // Deployments: a plant sees its fleet's, the builder what it released.
    assert.deepEqual((await call('GET', '/v1/tenants/plant-a/deployments', adminA)).map((d: { version: number }) => d.version), [1, 2]);
    assert.equal((await call('GET', '/v1/tenants/builder/deployments', alice)).length, 3);
    assert.equal((await call('GET', '/v1/tenants/builder/deployments?fleet=plant-b', alice)).length, 1);
    assert.deepEqual(await call('GET', '/v1/tenants/plant-z/deployments', zed), []);

    // OpenLineage events of the job: START, COMPLETE, and one OTHER per registered version.
    const events = await call('GET', '/v1/tenants/builder/jobs/job-1/lineage', alice);
    assert.deepEqual(events.map((e: { eventType: string }) => e.eventType), ['START', 'COMPLETE', 'OTHER', 'OTHER']);
    assert.equal((await call('GET', '/v1/tenants/plant-a/jobs/job-1/lineage', adminA)).length, 4);
    await call('GET', '/v1/tenants/plant-z/jobs/job-1/lineage', zed, undefined, 404);

    // A plant withdraws its data: the versions say which of their batches are gone.
    await c.lake.withdraw('plant-c');
    const after = await call('GET', `${base}/versions/1`, alice);
    assert.equal(after.lineageStatus.intact, false);
    assert.ok(after.lineageStatus.deleted.length > 0 && after.lineageStatus.deleted.every((d: { plant: string; reason: string }) => d.plant === 'plant-c' && d.reason === 'withdrawal'));
    assert.equal(after.lineageDigest, v1.lineageDigest, 'the pinned lineage never changes');

    // The TUF repository, read-only and public; a gateway fetches its fleet's newest version.
    assert.equal((await t.app.inject({ method: 'GET', url: '/tuf/metadata/timestamp.json' })).statusCode, 200);
    for (const url of ['/tuf/metadata/..%2F..%2Fetc%2Fpasswd', '/tuf/metadata/secret.key', '/tuf/targets/fleets/plant-a/mills-fail/..', '/tuf/metadata/9.root.json']) {
      const res = await t.app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 404, url);
      assert.match(res.json().code, /^CLOUD_ERR_(ROUTE_)?NOT_FOUND$/);
    }
    // Targets (artifacts, with pooled training moments) only for the fleet's own plant: its gateways and admins.
    await t.grant('admin-plant-a', 'plant_admin', 'plant-a');
    await t.grant('admin-plant-b', 'plant_admin', 'plant-b');
    const gwA = (await enrolGateway(t, 'plant-a', 'gw-1')).certificate;
    const gwB = (await enrolGateway(t, 'plant-b', 'gw-1')).certificate;
    const [file] = readdirSync(path.join(repo.dir, 'targets', 'fleets', 'plant-a', 'mills-fail'));
    const target = `/tuf/targets/fleets/plant-a/mills-fail/${file}`;
    const status = async (headers: Record<string, string>): Promise<number> => (await t.app.inject({ method: 'GET', url: target, headers })).statusCode;
    assert.equal(await status({}), 401, 'no identity');
    assert.equal(await status(withCertificate(gwB)), 403, 'another plant\'s gateway');
    assert.equal(await status(await t.bearer('admin-plant-b')), 403, 'another plant\'s admin');
    assert.equal(await status(await t.bearer('alice')), 403, 'the builder reads its artifacts from the registry, not its fleets\' targets');
    assert.equal(await status(withCertificate(gwA)), 200);
    assert.equal(await status(await t.bearer('admin-plant-a')), 200, 'the plant admin, for a mirror');
    // The metadata stays public; delivery verifies a fleet's versions (here from the repository folder as a mirror).
    const mirror = repo.dir;
    const delivery = await ModelDelivery.open({ fleet: 'plant-a', trustedRoot: repo.trustedRoot(), stateDir: path.join(dir, 'gw-a'), source: { kind: 'mirror', dir: mirror } });
    const got = await delivery.newerThan('mills-fail', 0);
    assert.equal(got?.version, 2);
    assert.equal(got?.lineageDigest, v2.lineageDigest.replace(/^sha256:/, ''));
    const b = await ModelDelivery.open({ fleet: 'plant-b', trustedRoot: repo.trustedRoot(), stateDir: path.join(dir, 'gw-b'), source: { kind: 'mirror', dir: mirror } });
    assert.equal((await b.newerThan('mills-fail', 0))?.version, 1);
  } finally {
    await t.close();
    c.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
