/**
 * OpenLineage run events of the cloud's jobs, validated against the official schema
 * (`../shared/schemas/openlineage-2-0-2.json`, JSON Schema 2020-12) with ajv, and hedge's own
 * facets against docs/openlineage/hedge-facets-1.json. A job wired through the `audit` callback
 * emits START when it starts and COMPLETE when revealed; registering a model from it adds an
 * OTHER event whose output is the model version; a failing job emits FAIL with its error, a job
 * cancelled after it started ABORT, one cancelled in the queue nothing. Re-observing never
 * emits twice; a failing sink leaves events pending until delivered. The events name no batch
 * hash or id and no per-plant count. Negative checks: an event missing a required field, with a
 * malformed run id or an unknown event type, or a hedge facet with an extra field, fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import { testCloud } from './_federation.ts';
import { approveAndReveal, trainedModel, uploadMills } from './_models.ts';
import { onBothDatabases } from '../trust/_postgres.ts';
import { Jobs } from '../../src/cloud/jobs.ts';
import { batchSetDigest, JobLineage, jobRunEvent, OPENLINEAGE_SCHEMA_URL, runIdOf, type RunEvent } from '../../src/cloud/lineage.ts';
import { Registry } from '../../src/cloud/registry.ts';
import { openSql, type SqlClient } from '../../src/trust/storage/sql.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const officialSchema = JSON.parse(readFileSync(path.resolve(repoRoot, '../shared/schemas/openlineage-2-0-2.json'), 'utf8')) as { $schema: string; $id: string };
const hedgeFacets = JSON.parse(readFileSync(path.resolve(repoRoot, 'docs/openlineage/hedge-facets-1.json'), 'utf8')) as { $id: string };

assert.equal(officialSchema.$schema, 'https://json-schema.org/draft/2020-12/schema');
const ajv = new Ajv2020({ strict: false, allErrors: true });
// ajv-formats is CommonJS: its default import is `module.exports`, whose `default` is the plugin.
ajvFormats.default(ajv);
ajv.addSchema(officialSchema);
ajv.addSchema(hedgeFacets);
const validateAny = ajv.getSchema(officialSchema.$id)!;
const validateRunEvent = ajv.getSchema(`${officialSchema.$id}#/$defs/RunEvent`)!;
const facetValidator = (name: string) => ajv.getSchema(`${hedgeFacets.$id}#/$defs/${name}`)!;

/** Validates against the whole schema (oneOf RunEvent / DatasetEvent / JobEvent) and RunEvent alone, and hedge's facets. */
function assertValid(event: unknown): void {
  assert.ok(validateAny(event), `OpenLineage.json: ${JSON.stringify(validateAny.errors)}`);
  assert.ok(validateRunEvent(event), `RunEvent: ${JSON.stringify(validateRunEvent.errors)}`);
  const e = event as RunEvent;
  assert.equal(e.schemaURL, OPENLINEAGE_SCHEMA_URL);
  const check = (name: string, facet: unknown): void => {
    const v = facetValidator(name);
    assert.ok(v(facet), `${name}: ${JSON.stringify(v.errors)}`);
  };
  check('HedgeJobRunFacet', e.run.facets!.hedge_job);
  for (const i of e.inputs) check('HedgeSelectionInputDatasetFacet', i.inputFacets!.hedge_selection);
  for (const o of e.outputs) if (o.facets?.hedge_model !== undefined) check('HedgeModelDatasetFacet', o.facets.hedge_model);
  const jobType = e.job.facets!.jobType;
  assert.ok(typeof jobType.processingType === 'string' && typeof jobType.integration === 'string', 'JobTypeJobFacet requires processingType and integration');
  if (e.eventType === 'FAIL') {
    const m = e.run.facets!.errorMessage;
    assert.ok(typeof m.message === 'string' && typeof m.programmingLanguage === 'string', 'ErrorMessageRunFacet requires message and programmingLanguage');
  }
}

/** Nothing in an event identifies a batch or counts one plant's data. */
function assertReveals(event: RunEvent, job: { plan: { batches: readonly { contentHash: string; batchId: string }[] } }): void {
  const text = JSON.stringify(event);
  for (const b of job.plan.batches) {
    assert.ok(!text.includes(b.contentHash), 'no batch hash');
    assert.ok(!text.includes(b.batchId), 'no batch id');
  }
  for (const n of [300, 400, 500]) assert.ok(!new RegExp(`[^0-9]${n}[^0-9]`).test(text), `no per-plant count (${n})`);
}

async function exercise(sql: SqlClient): Promise<void> {
  const c = await testCloud(sql);
  try {
    await uploadMills(c);
    const sink: RunEvent[] = [];
    let sinkDown = false;
    const lineage = await JobLineage.open({
      sql, namespace: 'hedge.test-cloud', now: () => c.now.value,
      emit: async (e) => {
        if (sinkDown) throw new Error('lineage endpoint unreachable');
        sink.push(e);
      },
    });
    // The cloud's wiring: the jobs' audit callback feeds the lineage.
    const jobs: Jobs = await Jobs.open({
      sql, blobs: c.blobs, lake: c.lake, federations: c.federations, engine: async () => c.engine, now: () => c.now.value, threads: 1,
      audit: async (e) => { await lineage.onJobAudit(e, (id) => jobs.get(id)); },
    });

    // A job from start to a registered model: START, COMPLETE, OTHER — one run id.
    const { job, model } = await trainedModel(c, jobs, 'job-1');
    const registry = await Registry.open({ sql, blobs: c.blobs, lake: c.lake, jobs, lineage, now: () => c.now.value });
    const v1 = await registry.register({ modelId: 'mills-fail', jobId: 'job-1', model, by: 'ana', tenant: 'builder' });
    const events = await lineage.events('job-1');
    assert.deepEqual(events.map((e) => e.eventType), ['START', 'COMPLETE', 'OTHER']);
    assert.deepEqual(sink.map((e) => e.eventType), ['START', 'COMPLETE', 'OTHER']);
    for (const e of events) {
      assertValid(e);
      assertReveals(e, job);
      assert.equal(e.run.runId, runIdOf('job-1'));
      assert.deepEqual(e.job, { namespace: 'hedge.test-cloud', name: 'mills.mills.moments', facets: e.job.facets });
      assert.equal(e.inputs.length, 1);
      assert.equal(e.inputs[0].name, 'mills');
      assert.deepEqual(e.inputs[0].facets!.version.datasetVersion, batchSetDigest(job.plan.batches.map((b) => b.contentHash)));
      const sel = e.inputs[0].inputFacets!.hedge_selection;
      assert.deepEqual([sel.plants, sel.batches, sel.records], [['plant-a', 'plant-b', 'plant-c'], 7, 1200]);
    }
    assert.match(events[0].run.runId, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.deepEqual(events[0].outputs, []);
    assert.equal(events[1].outputs[0].name, 'mills.moments');
    const out = events[2].outputs[0];
    assert.equal(out.name, 'models.mills-fail');
    assert.equal(out.facets!.version.datasetVersion, '1');
    assert.deepEqual(
      { ...out.facets!.hedge_model, _producer: undefined, _schemaURL: undefined },
      { modelId: 'mills-fail', version: 1, family: 'discriminant', artifactSha256: v1.artifact.sha256, lineageDigest: v1.lineageDigest, _producer: undefined, _schemaURL: undefined },
    );
    // Observing again (or a retried registration) emits nothing new.
    assert.deepEqual(await lineage.observe(await jobs.get('job-1')), []);
    await registry.register({ modelId: 'mills-fail', jobId: 'job-1', model, by: 'ana', tenant: 'builder' });
    assert.equal((await lineage.events('job-1')).length, 3);

    // A job that fails (a batch's bytes vanished from the lake) ends with FAIL and its error.
    await jobs.submit({ id: 'job-fail', federation: 'mills', dataset: 'mills', spec: { features: ['speed'], label: false }, requestedBy: 'builder' });
    const lost = (await jobs.get('job-fail')).plan.batches[0];
    const kept = await c.lake.load(lost);
    await c.blobs.delete(lost.contentHash);
    assert.equal((await jobs.run('job-fail')).state, 'failed');
    await c.blobs.put(kept);
    const failed = await lineage.events('job-fail');
    assert.deepEqual(failed.map((e) => e.eventType), ['START', 'FAIL']);
    for (const e of failed) assertValid(e);
    assert.equal(failed[1].run.facets!.errorMessage.message, (await jobs.get('job-fail')).error);

    // Cancelled after it started: ABORT. Cancelled in the queue: it never ran, so no run at all.
    await jobs.submit({ id: 'job-cancel', federation: 'mills', dataset: 'mills', spec: { features: ['torque'], label: false }, requestedBy: 'builder' });
    await jobs.cancel('job-cancel');
    assert.deepEqual(await lineage.observe(await jobs.get('job-cancel')), []);
    await jobs.submit({ id: 'job-abort', federation: 'mills', dataset: 'mills', spec: { features: ['torque'], label: false }, requestedBy: 'builder' });
    assert.equal((await jobs.run('job-abort')).state, 'computed');
    await jobs.cancel('job-abort');
    const aborted = await lineage.observe(await jobs.get('job-abort'));
    assert.deepEqual(aborted.map((e) => e.eventType), ['ABORT']);
    assertValid(aborted[0]);

    // The sink goes down: events are kept and delivered later, oldest first.
    sinkDown = true;
    await jobs.submit({ id: 'job-late', federation: 'mills', dataset: 'mills', spec: { features: ['speed'], label: false }, requestedBy: 'builder' });
    await jobs.run('job-late');
    const before = sink.length;
    assert.equal((await lineage.events('job-late')).length, 1, 'stored although the sink failed');
    assert.equal(await lineage.deliverPending(), 0);
    sinkDown = false;
    assert.equal(await lineage.deliverPending(), 1);
    assert.deepEqual(sink.slice(before).map((e) => [e.eventType, e.run.runId]), [['START', runIdOf('job-late')]]);
    assert.equal(await lineage.deliverPending(), 0);
    await approveAndReveal(c, jobs, 'job-late');
    assert.deepEqual((await lineage.events('job-late')).map((e) => e.eventType), ['START', 'COMPLETE']);
  } finally {
    c.close();
  }
}

onBothDatabases('OpenLineage run events of jobs, valid against the official schema,', exercise);

/** A valid event built from a hand-made job record (no database), to break in the negative checks. */
function sampleEvent(eventType: 'START' | 'FAIL' = 'START'): RunEvent {
  const batches = [0, 1, 2].map((i) => ({ plant: `plant-${i}`, batchId: `b-${i}`, contentHash: String(i).repeat(64), recordCount: 100 }));
  const job = {
    id: 'job-x', federation: 'fed', dataset: 'ds', requestedBy: 'builder', state: eventType === 'FAIL' ? 'failed' : 'running', progress: { done: 0, total: 3 },
    plan: { spec: { features: ['a'], label: false }, batches, excluded: [], plants: ['plant-2', 'plant-0', 'plant-1'], records: 300 },
    approvals: [], shares: [], deadline: new Date(0).toISOString(), error: 'cannot run: boom',
  } as unknown as Parameters<typeof jobRunEvent>[0];
  return jobRunEvent(job, eventType, { time: new Date('2026-01-01T00:00:00Z') });
}

test('OpenLineage: events missing what the schema requires fail validation', () => {
  const good = sampleEvent();
  assertValid(good);
  assertValid(sampleEvent('FAIL'));
  assert.deepEqual(good.inputs[0].inputFacets!.hedge_selection.plants, ['plant-0', 'plant-1', 'plant-2']);
  const broken: [string, (e: Record<string, any>) => void][] = [
    ['no eventTime', (e) => delete e.eventTime],
    ['no producer', (e) => delete e.producer],
    ['no schemaURL', (e) => delete e.schemaURL],
    ['no run', (e) => delete e.run],
    ['no job', (e) => delete e.job],
    ['no run.runId', (e) => delete e.run.runId],
    ['runId not a UUID', (e) => { e.run.runId = 'job-x'; }],
    ['no job.namespace', (e) => delete e.job.namespace],
    ['no job.name', (e) => delete e.job.name],
    ['no input name', (e) => delete e.inputs[0].name],
    ['unknown eventType', (e) => { e.eventType = 'DONE'; }],
    ['eventTime not a date-time', (e) => { e.eventTime = 'yesterday'; }],
    ['producer not a URI', (e) => { e.producer = 'hedge cloud'; }],
    ['facet without _producer', (e) => delete e.run.facets.hedge_job._producer],
    ['dataset facet without _schemaURL', (e) => delete e.inputs[0].facets.version._schemaURL],
  ];
  for (const [name, mutate] of broken) {
    const e = structuredClone(good) as Record<string, any>;
    mutate(e);
    assert.equal(validateRunEvent(e), false, `${name} must fail RunEvent`);
    // Without `run` the object is a valid JobEvent (the schema's oneOf), so only RunEvent refuses it.
    if (name !== 'no run') assert.equal(validateAny(e), false, `${name} must fail OpenLineage.json`);
  }
  // hedge's facets admit nothing beyond their fields: per-plant counts or hashes cannot slip in.
  const selection = { ...good.inputs[0].inputFacets!.hedge_selection, perPlantRecords: { 'plant-0': 100 } };
  assert.equal(facetValidator('HedgeSelectionInputDatasetFacet')(selection), false);
  const job = { ...good.run.facets!.hedge_job, batchHashes: ['00'] };
  assert.equal(facetValidator('HedgeJobRunFacet')(job), false);
});

test('OpenLineage: bad arguments are typed errors', async () => {
  const job = { id: 'j', federation: 'f', dataset: 'd', plan: { spec: { features: [], label: false }, batches: [], plants: [], records: 0 } } as unknown as Parameters<typeof jobRunEvent>[0];
  assert.throws(() => jobRunEvent(job, 'START', { time: new Date(), namespace: 'has space' }), TypeError);
  assert.throws(() => jobRunEvent(job, 'START', { time: new Date(), producer: 'not a uri' }), TypeError);
  assert.throws(() => jobRunEvent(job, 'OTHER', { time: new Date() }), TypeError);
  assert.throws(() => runIdOf(''), TypeError);
  assert.equal(runIdOf('a'), runIdOf('a'));
  assert.notEqual(runIdOf('a'), runIdOf('b'));
  const sql = await openSql({ databaseUrl: null });
  try {
    await assert.rejects(JobLineage.open({ sql, namespace: '' }), TypeError);
    await assert.rejects(JobLineage.open({ sql, producer: '::' }), TypeError);
    const lineage = await JobLineage.open({ sql });
    assert.equal(await lineage.deliverPending(), 0, 'no sink, nothing to deliver');
  } finally {
    await sql.close();
  }
});

