/**
 * Test helper: from a {@link testCloud} to a fitted model, as the parties would do it — plants
 * upload encrypted batches, the builder submits a job, the cloud aggregates, the plants approve,
 * every key holder sends its reveal share, and the builder decrypts the moments and fits a model.
 * Exports only.
 */
import assert from 'node:assert/strict';
import { sealBatch } from '../../src/compute/batch.ts';
import { decodePartial } from '../../src/compute/partial.ts';
import { makeRevealShare, receiveMoments } from '../../src/compute/reveal.ts';
import type { Jobs, JobRecord } from '../../src/cloud/jobs.ts';
import { sumRevealInput } from '../../src/he/mhe/sum-input.ts';
import { ShareLedger } from '../../src/he/mhe/ledger.ts';
import { CiphertextCodec, PublicKeyCodec } from '../../src/he/wire.ts';
import { createSchema, fitDiscriminant, fitMahalanobis, quantiseDataset, type Model, type Moments } from '../../src/models/index.ts';
import { MEMBERS, type TestCloud } from './_federation.ts';

export const PLANTS = ['plant-a', 'plant-b', 'plant-c'] as const;
export const SCHEMA = {
  features: [{ name: 'speed', lo: 0, hi: 3000 }, { name: 'torque', lo: 0, hi: 80 }],
  label: { kind: 'categorical', name: 'state', classes: ['ok', 'fail'] },
};

/** Creates dataset `mills` and uploads 300/400/500 records of plants a/b/c in batches of 200. */
export async function uploadMills(c: TestCloud): Promise<void> {
  const dataset = await c.lake.createDataset({ id: 'mills', owner: 'builder', federation: 'mills', params: c.engine.params.name, schema: SCHEMA, retentionDays: 365 });
  for (const [k, plant] of PLANTS.entries()) {
    const rows = Array.from({ length: 300 + 100 * k }, (_, i) => [(i * 41 + k * 7) % 3000, (i * 17 + k) % 80]);
    const data = quantiseDataset(dataset.schema, rows, rows.map((r) => (r[1] > 70 ? 'fail' : 'ok')));
    for (let at = 0, b = 0; at < rows.length; at += 200, b++) {
      const { bytes } = sealBatch(c.engine, c.collectivePk, dataset.schema, data, at, Math.min(200, rows.length - at), {
        dataset: 'mills', plant, batchId: `${plant}-${b}`, from: `2026-01-0${b + 1}T00:00:00Z`, to: `2026-01-0${b + 1}T23:00:00Z`,
      });
      await c.lake.ingest({ dataset: 'mills', plant, bytes, engine: c.engine });
    }
  }
}

/** Approves a computed job for every plant and sends every key holder's reveal share. */
export async function approveAndReveal(c: TestCloud, jobs: Jobs, jobId: string): Promise<JobRecord> {
  for (const p of PLANTS) await jobs.approve(jobId, p, `admin@${p}`);
  for (const { tenant } of MEMBERS) {
    const req = await jobs.revealRequest(jobId, tenant);
    const accs = decodePartial(c.engine, req.aggregate, req.plan.aggregation.stats.length);
    using receiver = PublicKeyCodec.fromBytes(c.engine, req.receiverKey);
    const input = sumRevealInput(c.engine, accs);
    const share = makeRevealShare(c.engine, c.secrets.get(tenant)!, { jobId, plan: req.plan, input, receiver, parties: req.parties }, { minPlants: 3, minRecords: 100 }, new ShareLedger());
    for (const ct of accs) ct[Symbol.dispose]();
    await jobs.submitRevealShare(jobId, tenant, share);
  }
  const job = await jobs.get(jobId);
  assert.equal(job.state, 'revealed');
  return job;
}

/** The builder's side: fetches and decrypts the revealed moments of a job. */
export async function revealedMoments(c: TestCloud, jobs: Jobs, jobId: string): Promise<Moments> {
  const job = await jobs.get(jobId);
  const dataset = await c.lake.dataset(job.dataset);
  using switched = CiphertextCodec.fromBytes(c.engine, await jobs.result(jobId, 'builder'));
  return receiveMoments(c.engine, dataset.schema, job.plan, switched, c.builderSk);
}

/**
 * Runs a job over `mills` end to end and fits a model from its moments: a discriminant when the
 * job uses the label, a Mahalanobis detector when it does not.
 */
export async function trainedModel(c: TestCloud, jobs: Jobs, jobId: string, label = true): Promise<{ job: JobRecord; model: Model; moments: Moments }> {
  await jobs.submit({ id: jobId, federation: 'mills', dataset: 'mills', spec: { features: ['speed', 'torque'], label }, requestedBy: 'builder' });
  await jobs.run(jobId);
  const job = await approveAndReveal(c, jobs, jobId);
  const moments = await revealedMoments(c, jobs, jobId);
  const dataset = await c.lake.dataset('mills');
  const model = label
    ? fitDiscriminant(dataset.schema, moments, { priors: 'uniform' })
    : fitMahalanobis(createSchema({ features: dataset.schema.features.map((f) => ({ ...f })) }), moments, { alpha: 0.01 });
  return { job, model, moments };
}
