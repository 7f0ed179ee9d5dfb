/**
 * Release end to end: a model fitted from a revealed job is registered (three versions), aliased,
 * and released through the TUF repository of src/trust to fleets (one per plant); each plant's
 * gateway, with `ModelDelivery` (the tuf-js Updater over HTTP, what gateways run), gets exactly
 * the versions released to its fleet, and loads them with the digest TUF vouched for. Deployment
 * records say which version went where, when, by whom, under which target and hash. Versions only
 * go forward: an older version is refused with `CLOUD_ERR_ROLLBACK_REFUSED` — from the records
 * before anything is published, and from the TUF publisher when it was published outside them —
 * and a retry publishes nothing twice. The timestamp refresh keeps gateways accepting a quiet
 * repository (an expired timestamp is refused as a freeze). PGlite and a PostgreSQL server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testCloud } from './_federation.ts';
import { trainedModel, uploadMills } from './_models.ts';
import { onBothDatabases } from '../trust/_postgres.ts';
import { CloudError } from '../../src/cloud/errors.ts';
import { Registry } from '../../src/cloud/registry.ts';
import { Release, type ReleaseAudit } from '../../src/cloud/release.ts';
import { loadModel, ModelDelivery, RuntimeError } from '../../src/runtime/index.ts';
import { serveFolder } from '../../src/runtime/delivery.ts';
import { checkEvent } from '../../src/trust/events.ts';
import { TrustError } from '../../src/trust/errors.ts';
import { openSql, type SqlClient } from '../../src/trust/storage/sql.ts';
import { generateTufKey, TufRepository } from '../../src/trust/tuf/repository.ts';

const code = (c: string) => (e: unknown): boolean => e instanceof CloudError && e.code === c;
const typeError = (e: unknown): boolean => e instanceof TypeError;
const DAY = 86_400_000;

async function exercise(sql: SqlClient): Promise<void> {
  const c = await testCloud(sql);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hedge-release-'));
  const tufNow = { value: new Date() };
  const repo = await TufRepository.create({
    dir: path.join(dir, 'tuf'), clock: () => tufNow.value,
    keys: { root: generateTufKey(), targets: generateTufKey(), snapshot: generateTufKey(), timestamp: generateTufKey() },
  });
  const server = await serveFolder(repo.dir);
  let gateways = 0;
  /** A plant's gateway: provisioned with the trusted root, its own TUF state. */
  const gateway = (fleet: string): Promise<ModelDelivery> =>
    ModelDelivery.open({ fleet, trustedRoot: repo.trustedRoot(), stateDir: path.join(dir, 'gateways', `${fleet}-${gateways++}`), source: { kind: 'http', url: server.url } });
  try {
    await uploadMills(c);
    const { model } = await trainedModel(c, c.jobs, 'job-1');
    const registry = await Registry.open({ sql, blobs: c.blobs, lake: c.lake, jobs: c.jobs });
    for (const accuracy of [0.9, 0.92, 0.95]) await registry.register({ modelId: 'mills-fail', jobId: 'job-1', model, evaluation: { accuracy }, by: 'ana', tenant: 'builder' });
    await registry.setAlias('mills-fail', 'production', 1, 'ana', 'builder');
    const audit: ReleaseAudit[] = [];
    const release = await Release.open({ sql, registry, repo, audit: async (e) => { audit.push(e); } });
    for (const p of ['plant-a', 'plant-b', 'plant-c']) await release.addFleet(p, [generateTufKey()]);
    await assert.rejects(release.addFleet('plant-a', [generateTufKey()]), code('CLOUD_ERR_CONFLICT'));
    await assert.rejects(release.addFleet('../x', [generateTufKey()]), typeError);
    assert.deepEqual(release.fleets(), ['plant-a', 'plant-b', 'plant-c']);

    // Production (v1) to plants a and b, then v2 to plant a only.
    const prod = await registry.resolve('mills-fail', 'production');
    const first = await release.release({ modelId: 'mills-fail', version: prod.version, fleets: ['plant-a', 'plant-b'], by: 'ana', tenant: 'builder' });
    assert.deepEqual(first.map((d) => [d.fleet, d.version, d.target]), [['plant-a', 1, 'fleets/plant-a/mills-fail/v1'], ['plant-b', 1, 'fleets/plant-b/mills-fail/v1']]);
    assert.deepEqual({ sha256: first[0].sha256, length: first[0].length, lineageDigest: first[0].lineageDigest, releasedBy: first[0].releasedBy, tenant: first[0].tenant },
      { sha256: prod.artifact.sha256, length: prod.artifact.length, lineageDigest: prod.lineageDigest, releasedBy: 'ana', tenant: 'builder' });
    await registry.setAlias('mills-fail', 'production', 2, 'ana', 'builder');
    await release.release({ modelId: 'mills-fail', version: 2, fleets: ['plant-a'], by: 'bo', tenant: 'builder' });

    // Each gateway gets exactly what its fleet was given, verified by TUF.
    const gwA = await gateway('plant-a');
    const gwB = await gateway('plant-b');
    const gwC = await gateway('plant-c');
    const a = await gwA.newerThan('mills-fail', 0);
    assert.equal(a?.version, 2);
    assert.equal((await gwA.newerThan('mills-fail', 1))?.version, 2);
    assert.equal(await gwA.newerThan('mills-fail', 2), null);
    const b = await gwB.newerThan('mills-fail', 0);
    assert.equal(b?.version, 1);
    assert.equal(await gwB.newerThan('mills-fail', 1), null);
    assert.equal(await gwC.newerThan('mills-fail', 0), null);
    assert.deepEqual(a!.bytes, await registry.artifact('mills-fail', 2));
    assert.equal(`sha256:${b!.lineageDigest}`, prod.lineageDigest);
    const loaded = await loadModel(a!.bytes, { expect: { sha256: a!.sha256, modelId: 'mills-fail', modelVersion: 2 } });
    await loaded.close();

    // Never backwards: refused from the records, and nothing of a multi-fleet release is published.
    const fleetVersions = { ...repo.versions.fleets };
    await assert.rejects(release.release({ modelId: 'mills-fail', version: 1, fleets: ['plant-a'], by: 'ana', tenant: 'builder' }), code('CLOUD_ERR_ROLLBACK_REFUSED'));
    await assert.rejects(release.release({ modelId: 'mills-fail', version: 1, fleets: ['plant-c', 'plant-a'], by: 'ana', tenant: 'builder' }), code('CLOUD_ERR_ROLLBACK_REFUSED'));
    assert.deepEqual(await release.deployments({ fleet: 'plant-c' }), []);
    assert.deepEqual(repo.versions.fleets, fleetVersions);
    // A retry answers the existing record and publishes nothing.
    const auditBefore = audit.length;
    const again = await release.release({ modelId: 'mills-fail', version: 2, fleets: ['plant-a'], by: 'ana', tenant: 'builder' });
    assert.equal(again[0].releasedBy, 'bo');
    assert.equal(audit.length, auditBefore);
    assert.deepEqual(repo.versions.fleets, fleetVersions);
    // Published behind the records' back: the TUF publisher refuses, surfaced with the same code.
    await repo.publishModel('plant-c', { modelId: 'mills-fail', version: 3, lineageDigest: prod.lineageDigest.slice(7), bytes: await registry.artifact('mills-fail', 3) });
    await assert.rejects(release.release({ modelId: 'mills-fail', version: 2, fleets: ['plant-c'], by: 'ana', tenant: 'builder' }),
      (e: unknown) => code('CLOUD_ERR_ROLLBACK_REFUSED')(e) && (e as Error).cause instanceof TrustError);

    // Other refusals, and a bad-input matrix.
    await assert.rejects(release.release({ modelId: 'mills-fail', version: 3, fleets: ['plant-z'], by: 'ana', tenant: 'builder' }), code('CLOUD_ERR_NOT_FOUND'));
    await assert.rejects(release.release({ modelId: 'mills-fail', version: 3, fleets: ['plant-a'], by: 'mallory', tenant: 'plant-a' }), code('CLOUD_ERR_ACCESS_DENIED'));
    await assert.rejects(release.release({ modelId: 'mills-fail', version: 9, fleets: ['plant-a'], by: 'ana', tenant: 'builder' }), code('CLOUD_ERR_NOT_FOUND'));
    await assert.rejects(release.release({ modelId: 'nothing', version: 1, fleets: ['plant-a'], by: 'ana', tenant: 'builder' }), code('CLOUD_ERR_NOT_FOUND'));
    const good = { modelId: 'mills-fail', version: 3, fleets: ['plant-a'], by: 'ana', tenant: 'builder' };
    for (const bad of [
      { ...good, modelId: '' }, { ...good, modelId: 5 }, { ...good, version: 0 }, { ...good, version: 1.5 }, { ...good, version: '3' },
      { ...good, fleets: [] }, { ...good, fleets: 'plant-a' }, { ...good, fleets: ['plant-a', 'plant-a'] }, { ...good, fleets: ['a/b'] },
      { ...good, by: '' }, { ...good, by: 'ana smith' }, { ...good, tenant: undefined }, null,
    ]) {
      await assert.rejects(release.release(bad as unknown as typeof good), typeError, JSON.stringify(bad));
    }

    // v3 forward to a and b; plant-b's existing gateway moves from 1 to 3.
    await release.release({ modelId: 'mills-fail', version: 3, fleets: ['plant-a', 'plant-b'], by: 'ana', tenant: 'builder' });
    assert.equal((await gwB.newerThan('mills-fail', 1))?.version, 3);
    assert.equal((await gwA.newerThan('mills-fail', 2))?.version, 3);

    // The records, queryable.
    assert.deepEqual((await release.deployments({ fleet: 'plant-a' })).map((d) => d.version), [1, 2, 3]);
    assert.deepEqual((await release.deployments({ fleet: 'plant-b' })).map((d) => d.version), [1, 3]);
    assert.deepEqual((await release.deployments({ modelId: 'mills-fail' })).length, 5);
    assert.deepEqual(await release.deployments({ modelId: 'other' }), []);
    assert.equal((await release.current('plant-b', 'mills-fail'))?.version, 3);
    assert.equal(await release.current('plant-c', 'mills-fail'), undefined);

    // Every deployment is a valid `deployment` log event.
    assert.deepEqual(audit.map((e) => [e.details.fleet, e.details.version]), [['plant-a', 1], ['plant-b', 1], ['plant-a', 2], ['plant-a', 3], ['plant-b', 3]]);
    for (const e of audit) assert.equal(checkEvent({ ...e, time: new Date().toISOString() }).kind, 'deployment');

    // Timestamp refresh: a timestamp signed two days ago has expired (a freeze, to the gateway);
    // the periodic refresh signs a fresh one and delivery works again.
    tufNow.value = new Date(Date.now() - 2 * DAY);
    const stale = await release.refreshTimestamp();
    await assert.rejects((await gateway('plant-a')).newerThan('mills-fail', 0), (e: unknown) => e instanceof RuntimeError && /Expired/i.test(e.message));
    tufNow.value = new Date();
    assert.equal(await release.refreshTimestamp(), stale + 1);
    assert.equal((await (await gateway('plant-a')).newerThan('mills-fail', 0))?.version, 3);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
    c.close();
  }
}

onBothDatabases('release through TUF to fleets, delivered to gateways,', exercise);

test('Release.open refuses what is not a TUF repository', async () => {
  const sql = await openSql({ databaseUrl: null });
  try {
    const registry = {} as Registry;
    await assert.rejects(Release.open({ sql, registry, repo: {} as TufRepository }), typeError);
  } finally {
    await sql.close();
  }
});
