/**
 * The cloud's jobs end to end, in process: plants upload encrypted batches to the lake, the
 * builder submits a job (guards checked), the cloud aggregates, every plant whose data is used
 * approves, every key holder sends a reveal share re-encrypted to the builder's registered key,
 * and only the builder can fetch and decrypt the result — the plaintext moments exactly. Also:
 * restart re-queues a running job, cancel, the reveal deadline, refusals with codes.
 */
import assert from 'node:assert/strict';
import { testCloud, MEMBERS, type TestCloud } from './_federation.ts';
import { onBothDatabases } from '../trust/_postgres.ts';
import { CloudError } from '../../src/cloud/errors.ts';
import type { SqlClient } from '../../src/trust/storage/sql.ts';
import { sealBatch } from '../../src/compute/batch.ts';
import { decodePartial } from '../../src/compute/partial.ts';
import { makeRevealShare, receiveMoments } from '../../src/compute/reveal.ts';
import { ComputeError } from '../../src/compute/errors.ts';
import { sumRevealInput } from '../../src/he/mhe/sum-input.ts';
import { ShareLedger } from '../../src/he/mhe/ledger.ts';
import { CiphertextCodec, PublicKeyCodec } from '../../src/he/wire.ts';
import { computeMoments } from '../../src/models/moments.ts';
import { quantiseDataset, type QuantisedDataset } from '../../src/models/schema.ts';

const code = (c: string) => (e: unknown): boolean => (e instanceof CloudError || e instanceof ComputeError) && e.code === c;
const SCHEMA = {
  features: [{ name: 'speed', lo: 0, hi: 3000 }, { name: 'torque', lo: 0, hi: 80 }],
  label: { kind: 'categorical', name: 'state', classes: ['ok', 'fail'] },
};

async function upload(c: TestCloud): Promise<QuantisedDataset[]> {
  const dataset = await c.lake.createDataset({ id: 'mills', owner: 'builder', federation: 'mills', params: c.engine.params.name, schema: SCHEMA, retentionDays: 365 });
  const all: QuantisedDataset[] = [];
  for (const [k, plant] of ['plant-a', 'plant-b', 'plant-c'].entries()) {
    const rows = Array.from({ length: 300 + 100 * k }, (_, i) => [(i * 41 + k * 7) % 3000, (i * 17 + k) % 80]);
    const data = quantiseDataset(dataset.schema, rows, rows.map((r) => (r[1] > 70 ? 'fail' : 'ok')));
    all.push(data);
    for (let at = 0, b = 0; at < rows.length; at += 200, b++) {
      const { bytes } = sealBatch(c.engine, c.collectivePk, dataset.schema, data, at, Math.min(200, rows.length - at), {
        dataset: 'mills', plant, batchId: `${plant}-${b}`, from: '2026-01-0' + (b + 1) + 'T00:00:00Z', to: '2026-01-0' + (b + 1) + 'T23:00:00Z',
      });
      assert.equal((await c.lake.ingest({ dataset: 'mills', plant, bytes, engine: c.engine })).status, 'stored');
    }
  }
  return all;
}

/** Each key holder checks the request and makes its share, as a gateway would. */
async function shareAll(c: TestCloud, jobId: string, members = MEMBERS.map((m) => m.tenant)): Promise<void> {
  for (const member of members) {
    const req = await c.jobs.revealRequest(jobId, member);
    const accs = decodePartial(c.engine, req.aggregate, req.plan.aggregation.stats.length);
    using receiver = PublicKeyCodec.fromBytes(c.engine, req.receiverKey);
    const input = sumRevealInput(c.engine, accs);
    const share = makeRevealShare(c.engine, c.secrets.get(member)!, { jobId, plan: req.plan, input, receiver, parties: req.parties }, { minPlants: 3, minRecords: 100 }, new ShareLedger());
    for (const ct of accs) ct[Symbol.dispose]();
    await c.jobs.submitRevealShare(jobId, member, share);
  }
}

async function exercise(sql: SqlClient): Promise<void> {
  const c = await testCloud(sql);
  try {
    const data = await upload(c);
    const spec = { features: ['speed', 'torque'], label: true };
    await assert.rejects(c.jobs.submit({ federation: 'mills', dataset: 'mills', spec, requestedBy: 'plant-a' }), code('CLOUD_ERR_ACCESS_DENIED'));
    await assert.rejects(c.jobs.submit({ federation: 'mills', dataset: 'mills', spec: { ...spec, plants: ['plant-a', 'plant-b'] }, requestedBy: 'builder' }), code('COMPUTE_ERR_GUARD'));
    const job = await c.jobs.submit({ id: 'job-1', federation: 'mills', dataset: 'mills', spec, requestedBy: 'builder' });
    assert.equal(job.state, 'queued');
    assert.deepEqual(job.plan.plants, ['plant-a', 'plant-b', 'plant-c']);
    await assert.rejects(c.jobs.revealRequest('job-1', 'plant-a'), code('CLOUD_ERR_STATE'));

    // Approvals may come before the computation ends; the reveal opens when both are done.
    await c.jobs.approve('job-1', 'plant-a', 'admin@plant-a');
    await assert.rejects(c.jobs.approve('job-1', 'outsider', 'x'), code('CLOUD_ERR_ACCESS_DENIED'));
    assert.deepEqual(await c.jobs.runQueued(), ['job-1']);
    assert.equal((await c.jobs.get('job-1')).state, 'computed');
    await c.jobs.approve('job-1', 'plant-b', 'admin@plant-b');
    await c.jobs.approve('job-1', 'plant-c', 'admin@plant-c');
    const ready = await c.jobs.get('job-1');
    assert.equal(ready.state, 'revealing');
    assert.deepEqual(ready.progress, { done: ready.plan.batches.length, total: ready.plan.batches.length });
    await assert.rejects(c.jobs.revealRequest('job-1', 'outsider'), code('CLOUD_ERR_ACCESS_DENIED'));
    await assert.rejects(c.jobs.submitRevealShare('job-1', 'plant-a', new Uint8Array(64)), code('CLOUD_ERR_VALIDATION'));

    await shareAll(c, 'job-1', ['plant-a', 'plant-b', 'plant-c']);
    await assert.rejects(c.jobs.result('job-1', 'builder'), code('CLOUD_ERR_STATE'), 'three of four shares reveal nothing');
    await shareAll(c, 'job-1', ['builder']);
    assert.equal((await c.jobs.get('job-1')).state, 'revealed');
    await assert.rejects(c.jobs.result('job-1', 'plant-a'), code('CLOUD_ERR_ACCESS_DENIED'));
    const result = await c.jobs.result('job-1', 'builder');
    const dataset = await c.lake.dataset('mills');
    using switched = CiphertextCodec.fromBytes(c.engine, result);
    const moments = receiveMoments(c.engine, dataset.schema, (await c.jobs.get('job-1')).plan, switched, c.builderSk);
    assert.deepEqual(moments, computeMoments(dataset.schema, { x: data.flatMap((d) => d.x), y: data.flatMap((d) => d.y!) }));
    assert.deepEqual(c.audit.filter((a) => 'state' in a).map((a) => ('state' in a ? a.state : '')), ['submitted', 'approved', 'started', 'approved', 'approved', 'completed']);
    assert.equal(c.audit.filter((a) => 'share' in a).length, 4);

    // A crash while running: the next start re-queues the job, and it computes the same aggregate.
    const job2 = await c.jobs.submit({ id: 'job-2', federation: 'mills', dataset: 'mills', spec, requestedBy: 'builder' });
    await sql.query("UPDATE cloud_job SET state = 'running', done = 1 WHERE id = $1", [job2.id]);
    const reopened = await c.reopenJobs();
    assert.equal((await reopened.get('job-2')).state, 'queued');
    await reopened.run('job-2');
    assert.equal((await reopened.get('job-2')).state, 'computed');
    for (const p of ['plant-a', 'plant-b', 'plant-c']) await reopened.approve('job-2', p, `admin@${p}`);
    // The reveal window closes: late shares are refused and the job expires.
    c.now.value = new Date(c.now.value.getTime() + 2 * 86_400_000);
    const req = await reopened.revealRequest('job-2', 'plant-a');
    assert.equal(req.plan.records, 1200);
    await assert.rejects(shareAll(c, 'job-2', ['plant-a']), code('CLOUD_ERR_STATE'));
    assert.equal((await reopened.get('job-2')).state, 'expired');

    const job3 = await c.jobs.submit({ id: 'job-3', federation: 'mills', dataset: 'mills', spec, requestedBy: 'builder' });
    assert.equal((await c.jobs.cancel(job3.id)).state, 'cancelled');
    await assert.rejects(c.jobs.run(job3.id), code('CLOUD_ERR_STATE'));
    await assert.rejects(c.jobs.submit({ id: 'job-3', federation: 'mills', dataset: 'mills', spec, requestedBy: 'builder' }), code('CLOUD_ERR_CONFLICT'));
  } finally {
    c.close();
  }
}

onBothDatabases('cloud jobs', exercise);
