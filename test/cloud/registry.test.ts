/**
 * The model registry on a real flow: a revealed job's moments give a fitted model, which is
 * registered (version numbers assigned by the registry, a retry answers the same version), its
 * artifact and ONNX export stored by hash and read back to the same model, its lineage the job's
 * pinned batches and plants. Aliases move with a recorded history. When a plant withdraws its
 * data and when retention expires the rest, the version's lineage says which batches went and why,
 * while the pinned lineage and digest stay as they were. Refusals carry codes; every audit event
 * is a valid transparency-log `release` event. PGlite and a PostgreSQL server.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { testCloud } from './_federation.ts';
import { trainedModel, uploadMills } from './_models.ts';
import { onBothDatabases } from '../trust/_postgres.ts';
import { CloudError } from '../../src/cloud/errors.ts';
import { Registry, type RegistryAudit } from '../../src/cloud/registry.ts';
import { lineageDigest, modelFromArtifact, fitMahalanobis, createSchema, decodeModelProto, type Model } from '../../src/models/index.ts';
import { checkEvent } from '../../src/trust/events.ts';
import type { SqlClient } from '../../src/trust/storage/sql.ts';

const code = (c: string) => (e: unknown): boolean => e instanceof CloudError && e.code === c;
const typeError = (e: unknown): boolean => e instanceof TypeError;

async function exercise(sql: SqlClient): Promise<void> {
  const c = await testCloud(sql);
  try {
    await uploadMills(c);
    const { job, model, moments } = await trainedModel(c, c.jobs, 'job-1');
    const audit: RegistryAudit[] = [];
    const registry = await Registry.open({ sql, blobs: c.blobs, lake: c.lake, jobs: c.jobs, now: () => c.now.value, audit: async (e) => { audit.push(e); } });

    // Register: version 1, artifact and ONNX stored, lineage from the job's plan.
    const v1 = await registry.register({ modelId: 'mills-fail', jobId: 'job-1', model, onnx: true, by: 'ana', tenant: 'builder' });
    assert.equal(v1.version, 1);
    assert.equal(v1.owner, 'builder');
    assert.equal(v1.family, 'discriminant');
    assert.equal(v1.jobId, 'job-1');
    assert.deepEqual(v1.lineage.batchHashes, job.plan.batches.map((b) => b.contentHash));
    assert.deepEqual(v1.lineage.plants, ['plant-a', 'plant-b', 'plant-c']);
    assert.equal(v1.lineage.records, 1200);
    assert.deepEqual(v1.lineage.features, ['speed', 'torque']);
    assert.equal(v1.lineage.label, true);
    assert.match(v1.lineage.code, /^hedge@\d+\.\d+\.\d+/);
    assert.equal(v1.lineageDigest, lineageDigest(v1.lineage));
    assert.deepEqual(v1.lineageStatus, { intact: true, deleted: [] });
    assert.deepEqual(v1.metrics, model.metrics);
    const bytes = await registry.artifact('mills-fail', 1);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), v1.artifact.sha256);
    assert.equal(bytes.length, v1.artifact.length);
    const read = modelFromArtifact(JSON.parse(new TextDecoder().decode(bytes)));
    assert.deepEqual(read.model, model, 'the stored artifact reads back to the fitted model');
    assert.equal(read.meta.modelVersion, 1);
    assert.deepEqual(read.meta.lineage, v1.lineage);
    const onnx = await registry.onnx('mills-fail', 1);
    assert.equal(onnx.length, v1.onnx!.length);
    const proto = decodeModelProto(onnx) as { model_version?: unknown };
    assert.equal(Number(proto.model_version), 1);

    // A retry answers the same version and changes nothing; other content makes version 2.
    assert.equal((await registry.register({ modelId: 'mills-fail', jobId: 'job-1', model, onnx: true, by: 'ana', tenant: 'builder' })).version, 1);
    const v2 = await registry.register({ modelId: 'mills-fail', jobId: 'job-1', model, evaluation: { accuracy: 0.97 }, by: 'ana', tenant: 'builder' });
    assert.equal(v2.version, 2);
    assert.deepEqual(v2.evaluation, { accuracy: 0.97 });
    assert.equal(v2.onnx, undefined);
    await assert.rejects(registry.onnx('mills-fail', 2), code('CLOUD_ERR_NOT_FOUND'));
    assert.deepEqual((await registry.versions('mills-fail')).map((v) => v.version), [1, 2]);
    assert.deepEqual(await registry.models(), [{ modelId: 'mills-fail', owner: 'builder' }]);
    assert.deepEqual(await registry.models('plant-a'), []);

    // Refusals.
    const anomaly = fitMahalanobis(createSchema({ features: SCHEMA_FEATURES }), moments, { alpha: 0.01 });
    await assert.rejects(registry.register({ modelId: 'mills-fail', jobId: 'job-1', model: anomaly, by: 'ana', tenant: 'builder' }), code('CLOUD_ERR_MODEL_REJECTED'), 'a label-less model from a labelled job');
    await assert.rejects(registry.register({ modelId: 'mills-fail', jobId: 'job-1', model, by: 'mallory', tenant: 'plant-a' }), code('CLOUD_ERR_ACCESS_DENIED'));
    await assert.rejects(registry.register({ modelId: 'mills-fail', jobId: 'no-such-job', model, by: 'ana', tenant: 'builder' }), code('CLOUD_ERR_NOT_FOUND'));
    await c.jobs.submit({ id: 'job-q', federation: 'mills', dataset: 'mills', spec: { features: ['speed', 'torque'], label: true }, requestedBy: 'builder' });
    await assert.rejects(registry.register({ modelId: 'mills-q', jobId: 'job-q', model, by: 'ana', tenant: 'builder' }), code('CLOUD_ERR_STATE'));
    for (const modelId of ['', '../up', 'a'.repeat(65), 'MillsFailureDetectorVersionTwo', 7 as unknown as string]) {
      await assert.rejects(registry.register({ modelId, jobId: 'job-1', model, by: 'ana', tenant: 'builder' }), typeError, `model id ${String(modelId)}`);
    }
    for (const bad of [null, 'model', { family: 'ridge' }, { family: 'nope', schema: model.schema }]) {
      await assert.rejects(registry.register({ modelId: 'mills-x', jobId: 'job-1', model: bad as unknown as Model, by: 'ana', tenant: 'builder' }), (e: unknown) => e instanceof Error && !(e instanceof CloudError), 'a malformed model is a typed error');
    }
    await assert.rejects(registry.version('mills-fail', 3), code('CLOUD_ERR_NOT_FOUND'));
    await assert.rejects(registry.version('mills-fail', Number.NaN), code('CLOUD_ERR_NOT_FOUND'));
    await assert.rejects(registry.versions('nothing'), code('CLOUD_ERR_NOT_FOUND'));
    assert.deepEqual((await registry.versions('mills-fail')).map((v) => v.version), [1, 2], 'refusals changed nothing');

    // Aliases: created, moved, recorded; a no-op move is not a move.
    await registry.setAlias('mills-fail', 'production', 1, 'ana', 'builder');
    await registry.setAlias('mills-fail', 'staging', 2, 'ana', 'builder');
    c.now.value = new Date(c.now.value.getTime() + 60_000);
    const moved = await registry.setAlias('mills-fail', 'production', 2, 'bo', 'builder');
    assert.deepEqual({ version: moved.version, movedBy: moved.movedBy }, { version: 2, movedBy: 'bo' });
    await registry.setAlias('mills-fail', 'production', 2, 'bo', 'builder');
    assert.equal((await registry.resolve('mills-fail', 'production')).version, 2);
    assert.deepEqual((await registry.aliases('mills-fail')).map((a) => [a.alias, a.version]), [['production', 2], ['staging', 2]]);
    assert.deepEqual((await registry.aliasHistory('mills-fail', 'production')).map((m) => [m.from, m.to, m.movedBy]), [[null, 1, 'ana'], [1, 2, 'bo']]);
    assert.equal((await registry.aliasHistory('mills-fail')).length, 3);
    await assert.rejects(registry.setAlias('mills-fail', 'Prod!', 1, 'ana', 'builder'), typeError);
    await assert.rejects(registry.setAlias('mills-fail', 'production', 9, 'ana', 'builder'), code('CLOUD_ERR_NOT_FOUND'));
    await assert.rejects(registry.setAlias('mills-fail', 'production', 1, 'mallory', 'plant-a'), code('CLOUD_ERR_ACCESS_DENIED'));
    await assert.rejects(registry.resolve('mills-fail', 'canary'), code('CLOUD_ERR_NOT_FOUND'));

    // Audit: two registrations, three alias moves, each a valid `release` log event.
    assert.deepEqual(audit.map((e) => [e.subject, e.details.version]), [
      ['model:mills-fail', 1], ['model:mills-fail', 2], ['model:mills-fail@production', 1], ['model:mills-fail@staging', 2], ['model:mills-fail@production', 2],
    ]);
    for (const e of audit) assert.equal(checkEvent({ ...e, time: new Date().toISOString() }).kind, 'release');
    assert.equal(audit[0].payloadHash, v1.artifact.sha256);

    // A plant withdraws its data: the lineage says which batches went; the pinned lineage stays.
    const withdrawn = await c.lake.withdraw('plant-b');
    assert.equal(withdrawn.length, 2);
    const after = await registry.version('mills-fail', 1);
    assert.equal(after.lineageStatus.intact, false);
    assert.deepEqual(after.lineageStatus.deleted.map((d) => [d.plant, d.batchId, d.reason]), [['plant-b', 'plant-b-0', 'withdrawal'], ['plant-b', 'plant-b-1', 'withdrawal']]);
    assert.deepEqual(after.lineage, v1.lineage);
    assert.equal(after.lineageDigest, v1.lineageDigest);
    // Retention expires the rest.
    c.now.value = new Date('2027-03-01T00:00:00Z');
    assert.equal((await c.lake.expire()).length, 5);
    const expired = await registry.version('mills-fail', 2);
    assert.equal(expired.lineageStatus.deleted.length, 7);
    assert.deepEqual([...new Set(expired.lineageStatus.deleted.map((d) => d.reason))].sort(), ['retention', 'withdrawal']);
    assert.deepEqual(await registry.artifact('mills-fail', 1), bytes, 'the artifact outlives the batches it was trained on');
  } finally {
    c.close();
  }
}

const SCHEMA_FEATURES = [{ name: 'speed', lo: 0, hi: 3000 }, { name: 'torque', lo: 0, hi: 80 }];

onBothDatabases('model registry', exercise);
