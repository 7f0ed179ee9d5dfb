/**
 * Encrypted moments jobs: revealed moments equal an independent plaintext
 * computation on the same quantised values, for every label kind and any
 * number of threads; guards, pins, cancellation and the noise bound.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { computeFederation, fillLake, slice, type ComputeFixture } from './fixture.ts';
import { phase, maxBits } from '../he/fixture.ts';
import { createSchema, quantiseDataset, type DatasetSchema, type QuantisedDataset } from '../../src/models/schema.ts';
import { computeMoments, type Moments } from '../../src/models/moments.ts';
import { planJob, jobNoiseBits, type JobPlan } from '../../src/compute/plan.ts';
import { aggregateJob } from '../../src/compute/aggregate.ts';
import { combineForReceiver, decryptMoments, makeRevealShare, receiveMoments } from '../../src/compute/reveal.ts';
import { openBatch, readBatchMeta } from '../../src/compute/batch.ts';
import { ComputeError } from '../../src/compute/errors.ts';
import { sumRevealInput } from '../../src/he/mhe/sum-input.ts';
import { ShareLedger } from '../../src/he/mhe/ledger.ts';
import { HeError } from '../../src/he/errors.ts';
import type { SealEngine } from '../../src/he/backend/seal.ts';

const isCode = (code: string) => (e: unknown): boolean => (e instanceof ComputeError || e instanceof HeError) && e.code === code;
const GUARDS = { minPlants: 3, minRecords: 100 };
const FEATURES = [
  { name: 'speed', lo: 1000, hi: 3000 },
  { name: 'torque', lo: 0, hi: 80 },
  { name: 'temp', lo: 290, hi: 320 },
];

function rows(n: number, seed: number): number[][] {
  let s = seed;
  const rnd = (): number => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  return Array.from({ length: n }, () => FEATURES.map((f) => f.lo + (f.hi - f.lo) * rnd()));
}

/** Three plants of different sizes (batches padded differently). */
function plantsOf(schema: DatasetSchema, labels: (r: number[], i: number) => number | string | undefined): Map<string, QuantisedDataset> {
  const out = new Map<string, QuantisedDataset>();
  [['p1', 2500], ['p2', 1200], ['p3', 700]].forEach(([plant, n], k) => {
    const r = rows(n as number, 7 + k);
    const y = schema.label === undefined ? undefined : r.map((row, i) => labels(row, i)!);
    out.set(plant as string, quantiseDataset(schema, r, y));
  });
  return out;
}

function pooled(plants: Map<string, QuantisedDataset>): QuantisedDataset {
  const all = [...plants.values()];
  return { x: all.flatMap((d) => d.x), ...(all[0].y === undefined ? {} : { y: all.flatMap((d) => d.y!) }) };
}

/** Aggregates, switches to a receiver key through three key holders, and returns the moments. */
async function runEncrypted(f: ComputeFixture, schema: DatasetSchema, plan: JobPlan, load: (ref: import('../../src/compute/batch.ts').BatchRef) => Promise<Uint8Array>, threads: number): Promise<Moments> {
  const e = f.engine;
  const accs = await aggregateJob(e, plan, { threads, relinKeys: f.relinKeys, load });
  const input = sumRevealInput(e, accs);
  using receiverSk = e.generateSecretKey();
  using receiverPk = e.publicKeyFor(receiverSk);
  const request = { jobId: 'job-1', plan, input, receiver: receiverPk, parties: f.parties.length };
  const shares = f.parties.map((s) => makeRevealShare(e, s, request, GUARDS, new ShareLedger()));
  using switched = combineForReceiver(e, input, shares);
  for (const ct of accs) ct[Symbol.dispose]();
  return receiveMoments(e, schema, plan, switched, receiverSk);
}

describe('encrypted moments jobs', () => {
  let f: ComputeFixture;
  let e: SealEngine;
  before(async () => {
    f = await computeFederation(3);
    e = f.engine;
  });

  test('continuous label: moments equal the plaintext moments, with 1 and 2 threads', async () => {
    const schema = createSchema({ features: FEATURES, label: { kind: 'continuous', name: 'wear', lo: 0, hi: 260 } });
    const plants = plantsOf(schema, (r) => Math.min(260, r[0] / 20 + r[1]));
    const lake = fillLake(f, schema, plants, 1000);
    const plan = planJob(e, schema, { features: FEATURES.map((x) => x.name), label: true }, lake.refs, GUARDS);
    assert.equal(plan.records, 4400);
    assert.deepEqual(plan.plants, ['p1', 'p2', 'p3']);
    const expected = computeMoments(schema, pooled(plants));
    assert.deepEqual(await runEncrypted(f, schema, plan, lake.load, 1), expected);
    assert.deepEqual(await runEncrypted(f, schema, plan, lake.load, 2), expected);
  });

  test('categorical label: per-class moments; without the label the pooled moments', async () => {
    const schema = createSchema({ features: FEATURES, label: { kind: 'categorical', name: 'state', classes: ['ok', 'warn', 'fail'] } });
    const plants = plantsOf(schema, (r) => (r[1] > 60 ? 'fail' : r[0] > 2500 ? 'warn' : 'ok'));
    const lake = fillLake(f, schema, plants, 1500);
    const all = pooled(plants);
    const labelled = planJob(e, schema, { features: FEATURES.map((x) => x.name), label: true }, lake.refs, GUARDS);
    assert.deepEqual(await runEncrypted(f, schema, labelled, lake.load, 2), computeMoments(schema, all));
    const unlabelled = planJob(e, schema, { features: FEATURES.map((x) => x.name), label: false }, lake.refs, GUARDS);
    assert.deepEqual(await runEncrypted(f, schema, unlabelled, lake.load, 1), computeMoments(schema, all, { withLabel: false }));
  });

  test('a feature subset, in the job\'s order, is the matching part of the full moments', async () => {
    const schema = createSchema({ features: FEATURES });
    const plants = plantsOf(schema, () => undefined);
    const lake = fillLake(f, schema, plants, 2048);
    const plan = planJob(e, schema, { features: ['temp', 'speed'], label: false }, lake.refs, GUARDS);
    const full = computeMoments(schema, pooled(plants));
    const idx = [2, 0];
    const got = await runEncrypted(f, schema, plan, lake.load, 1);
    assert.deepEqual(got.features, ['temp', 'speed']);
    assert.deepEqual(got.sum, idx.map((i) => full.sum[i]));
    assert.deepEqual(got.gram, idx.map((i) => idx.map((j) => full.gram[i][j])));
    assert.equal(got.count, full.count);
  });

  test('plants and time range select batches; partial overlaps are excluded and reported', () => {
    const schema = createSchema({ features: FEATURES });
    const plants = plantsOf(schema, () => undefined);
    const lake = fillLake(f, schema, plants, 500);
    const plan = planJob(e, schema, { features: ['speed'], label: false, from: '2026-01-02T00:00:00Z', to: '2026-01-03T12:00:00Z' }, lake.refs, { minPlants: 2, minRecords: 1 });
    assert.deepEqual(plan.batches.map((b) => b.batchId), ['p1-1', 'p2-1', 'p3-1']);
    assert.deepEqual(plan.excluded.map((b) => b.batchId).sort(), ['p1-2', 'p2-2']);
    const two = planJob(e, schema, { features: ['speed'], label: false, plants: ['p1', 'p3'] }, lake.refs, { minPlants: 2, minRecords: 1 });
    assert.deepEqual(two.plants, ['p1', 'p3']);
    assert.equal(two.records, 3200);
  });

  test('guards are checked before any share: too few plants or records', () => {
    const schema = createSchema({ features: FEATURES });
    const plants = plantsOf(schema, () => undefined);
    const lake = fillLake(f, schema, plants, 2048);
    const spec = { features: ['speed'], label: false };
    assert.throws(() => planJob(e, schema, spec, lake.refs, { minPlants: 4, minRecords: 1 }), isCode('COMPUTE_ERR_GUARD'));
    assert.throws(() => planJob(e, schema, spec, lake.refs, { minPlants: 1, minRecords: 4401 }), isCode('COMPUTE_ERR_GUARD'));
    assert.throws(() => planJob(e, schema, { ...spec, plants: ['p1', 'p2'] }, lake.refs, GUARDS), isCode('COMPUTE_ERR_GUARD'));
    // A key holder with stricter guards refuses its share even for a planned job.
    const plan = planJob(e, schema, spec, lake.refs, GUARDS);
    const input = { count: 2 } as never;
    assert.throws(() => makeRevealShare(e, f.parties[0], { jobId: 'j', plan, input, receiver: null, parties: 3 }, { minPlants: 3, minRecords: 10_000 }, new ShareLedger()), isCode('COMPUTE_ERR_GUARD'));
    assert.throws(() => planJob(e, schema, { features: ['nope'], label: false }, lake.refs, GUARDS), isCode('COMPUTE_ERR_SELECTION'));
    assert.throws(() => planJob(e, schema, { features: ['speed'], label: true }, lake.refs, GUARDS), isCode('COMPUTE_ERR_SELECTION'));
    assert.throws(() => planJob(e, schema, { features: ['speed', 'speed'], label: false }, lake.refs, GUARDS), isCode('COMPUTE_ERR_SELECTION'));
  });

  test('jobs beyond the exactness bound are refused', () => {
    const schema = createSchema({ features: FEATURES });
    const fake = Array.from({ length: 1100 }, (_, i) => ({
      format: 'hedge.batch' as const, version: 1 as const, params: e.params.name, dataset: 'x', plant: `p${i % 3}`, batchId: `b${i}`,
      from: '2026-01-01T00:00:00Z', to: '2026-01-01T01:00:00Z', recordCount: e.n, columns: 3, contentHash: '0'.repeat(64),
    }));
    assert.throws(() => planJob(e, schema, { features: ['speed'], label: false }, fake, GUARDS), isCode('HE_ERR_EXACTNESS'));
  });

  test('a batch that differs from its pin, or is malformed, is refused', async () => {
    const schema = createSchema({ features: FEATURES });
    const plants = plantsOf(schema, () => undefined);
    const lake = fillLake(f, schema, plants, 2048);
    const plan = planJob(e, schema, { features: ['speed'], label: false }, lake.refs, GUARDS);
    const tampered = async (ref: { contentHash: string }): Promise<Uint8Array> => {
      const b = lake.blobs.get(ref.contentHash)!.slice();
      b[b.length - 100] ^= 1;
      return b;
    };
    await assert.rejects(aggregateJob(e, plan, { relinKeys: f.relinKeys, load: tampered }), isCode('COMPUTE_ERR_BATCH'));
    const bytes = lake.blobs.get(lake.refs[0].contentHash)!;
    assert.throws(() => readBatchMeta(bytes.subarray(0, 10)), isCode('COMPUTE_ERR_BATCH'));
    assert.throws(() => openBatch(e, bytes, 'f'.repeat(64)), isCode('COMPUTE_ERR_BATCH'));
    const badHeader = bytes.slice();
    badHeader[12] ^= 0x20;
    assert.throws(() => readBatchMeta(badHeader), isCode('COMPUTE_ERR_BATCH'));
    await assert.rejects(aggregateJob(e, plan, { relinKeys: f.relinKeys, load: async () => { throw new Error('disk gone'); } }), isCode('COMPUTE_ERR_BATCH'));
  });

  test('cancelling a job rejects it and stops the workers', async () => {
    const schema = createSchema({ features: FEATURES });
    const plants = plantsOf(schema, () => undefined);
    const lake = fillLake(f, schema, plants, 256);
    const plan = planJob(e, schema, { features: FEATURES.map((x) => x.name), label: false }, lake.refs, GUARDS);
    const ac = new AbortController();
    const progress: number[] = [];
    await assert.rejects(aggregateJob(e, plan, {
      threads: 2, relinKeys: f.relinKeys, load: lake.load, signal: ac.signal,
      onProgress: (done) => { progress.push(done); if (done === 3) ac.abort(); },
    }), isCode('COMPUTE_ERR_CANCELLED'));
    assert.ok(progress.length >= 3 && progress.length < plan.batches.length);
  });

  test('collective decryption gives the same moments; the noise bound holds; a retried share is the stored one', async () => {
    const schema = createSchema({ features: FEATURES, label: { kind: 'continuous', name: 'wear', lo: 0, hi: 260 } });
    const plants = plantsOf(schema, (r) => r[1] * 2);
    const lake = fillLake(f, schema, plants, 1100);
    const plan = planJob(e, schema, { features: FEATURES.map((x) => x.name), label: true }, lake.refs, GUARDS);
    const accs = await aggregateJob(e, plan, { relinKeys: f.relinKeys, load: lake.load });
    const bound = jobNoiseBits(e, plan, 3);
    const t = e.plainModulus;
    for (const ct of accs) {
      // c₀ + c₁·s = m + t·e: the measured noise is at most the bound.
      const noise = phase(e, ct, f.idealPoly).map((v) => v - (((v % t) + t) % t));
      assert.ok(maxBits(noise) <= bound, `measured ${maxBits(noise)} bits, bound ${bound.toFixed(1)}`);
    }
    const input = sumRevealInput(e, accs);
    const ledgers = f.parties.map(() => new ShareLedger());
    const request = { jobId: 'job-2', plan, input, receiver: null, parties: 3 };
    const shares = f.parties.map((s, i) => makeRevealShare(e, s, request, GUARDS, ledgers[i]));
    assert.deepEqual(makeRevealShare(e, f.parties[0], request, GUARDS, ledgers[0]), shares[0], 'retry answered from the ledger');
    assert.deepEqual(decryptMoments(e, schema, plan, input, shares), computeMoments(schema, pooled(plants)));
    assert.throws(() => decryptMoments(e, schema, plan, input, shares.slice(0, 0)), isCode('HE_ERR_PROTOCOL'));
    // Two of three shares: noise, which is no dataset's moments.
    assert.throws(() => decryptMoments(e, schema, plan, input, shares.slice(0, 2)), isCode('COMPUTE_ERR_REVEAL'));
    for (const ct of accs) ct[Symbol.dispose]();
  });

  test('padding never reaches the sums: one-record batches', async () => {
    const schema = createSchema({ features: FEATURES });
    const plants = new Map([...plantsOf(schema, () => undefined)].map(([p, d]) => [p, slice(d, 0, 40)]));
    const lake = fillLake(f, schema, plants, 1);
    const plan = planJob(e, schema, { features: FEATURES.map((x) => x.name), label: false }, lake.refs, { minPlants: 3, minRecords: 120 });
    assert.equal(plan.batches.length, 120);
    assert.deepEqual(await runEncrypted(f, schema, plan, lake.load, 2), computeMoments(schema, pooled(plants)));
  });
});
