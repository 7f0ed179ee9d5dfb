/**
 * `npm run bench -- training [--json]`: encrypted training (src/compute), BGV_AGG_8192.
 *
 * - gram_records_per_s: Gram matrix accumulation (d features, no label, full
 *   8192-record batches) on 1 and 2 worker threads: the marginal rate between
 *   the first and the last finished batch, i.e. without worker start-up and the
 *   one relinearization per job (reported as gram_job_overhead_s).
 * - encrypt_1m_x32_s: 1,000,000 synthetic records × 32 features + a continuous
 *   label from 10 plants, encrypted under the collective key into batch files
 *   on disk (one thread).
 * - train_1m_x32_s: from those files to a ridge model: plan, aggregate on 2
 *   threads (batches streamed from disk), reveal by public-key switch to the
 *   machine builder through all 11 key holders (10 plants + builder, flooded),
 *   decrypt, fit. Split into aggregate_s / reveal_s / fit_s. The key holders
 *   work in parallel on their own machines, so reveal_s is the critical path
 *   (input preparation + the slowest share + combine and decrypt);
 *   *_one_machine_s has all 11 shares made one after another here.
 * - plaintext_train_1m_x32_s: the same records' moments accumulated in float64
 *   (exact: every partial sum stays below 2^53) and the same fit; the ratio.
 * - peak_rss_mb: the process's peak resident set (worker threads included).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { SuiteResult } from './run.ts';
import { federation } from '../test/he/fixture.ts';
import { RelinKeysCodec } from '../src/he/wire.ts';
import { sealBatch, type BatchRef } from '../src/compute/batch.ts';
import { planJob } from '../src/compute/plan.ts';
import { aggregateJob } from '../src/compute/aggregate.ts';
import { combineForReceiver, makeRevealShare, receiveMoments, revealFlooding } from '../src/compute/reveal.ts';
import { sumRevealInput } from '../src/he/mhe/sum-input.ts';
import { ShareLedger } from '../src/he/mhe/ledger.ts';
import { createSchema, type DatasetSchema, type QuantisedDataset } from '../src/models/schema.ts';
import { fitRidge } from '../src/models/ridge.ts';
import type { Moments } from '../src/models/moments.ts';

const Q = 2 ** 14;

/** xorshift32: deterministic synthetic data, the same for the encrypted and the plaintext run. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 2 ** 32;
  };
}

function schemaOf(d: number, label: boolean): DatasetSchema {
  const features = Array.from({ length: d }, (_, j) => ({ name: `f${j}`, lo: -1, hi: 1 }));
  return createSchema(label ? { features, label: { kind: 'continuous', name: 'y', lo: -1, hi: 1 } } : { features });
}

/** Quantised records of one batch: x uniform, y a fixed linear function plus noise. */
function records(d: number, count: number, seed: number, weights?: readonly number[]): QuantisedDataset {
  const rnd = prng(seed);
  const x: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < count; i++) {
    const row = Array.from({ length: d }, () => Math.round((rnd() * 2 - 1) * Q));
    x.push(row);
    if (weights !== undefined) {
      let v = (rnd() * 2 - 1) * 0.05 * Q;
      for (let j = 0; j < d; j++) v += weights[j] * row[j];
      y.push(Math.max(-Q, Math.min(Q, Math.round(v))));
    }
  }
  return weights === undefined ? { x } : { x, y };
}

const day = (i: number): { from: string; to: string } => {
  const t = Date.UTC(2026, 0, 1) + i * 3_600_000;
  return { from: new Date(t).toISOString(), to: new Date(t + 3_599_000).toISOString() };
};

async function gramRates(): Promise<{ rates: Record<string, number>; overhead: Record<string, number> }> {
  const f = await federation('BGV_AGG_8192', 3, { relin: true });
  const e = f.engine;
  const relinKeys = RelinKeysCodec.toBytes(e, f.rk!);
  const rates: Record<string, number> = {};
  const overhead: Record<string, number> = {};
  for (const threads of [1, 2]) {
    for (const d of [8, 16, 32]) {
      const schema = schemaOf(d, false);
      const n = threads === 1 ? 5 : 8;
      const blobs = new Map<string, Uint8Array>();
      const refs: BatchRef[] = [];
      for (let b = 0; b < n; b++) {
        const { ref, bytes } = sealBatch(e, f.pk, schema, records(d, e.n, 100 + b), 0, e.n, { dataset: 'bench', plant: `p${b % 3}`, batchId: `b${b}`, ...day(b) });
        refs.push(ref);
        blobs.set(ref.contentHash, bytes);
      }
      const plan = planJob(e, schema, { features: schema.features.map((x) => x.name), label: false }, refs, { minPlants: 1, minRecords: 1 });
      const stamps: number[] = [];
      const start = performance.now();
      const accs = await aggregateJob(e, plan, { threads, relinKeys, load: async (ref) => blobs.get(ref.contentHash)!, onProgress: () => stamps.push(performance.now()) });
      const total = (performance.now() - start) / 1000;
      for (const ct of accs) ct[Symbol.dispose]();
      const marginal = (stamps[stamps.length - 1] - stamps[0]) / 1000;
      const rate = ((n - 1) * e.n) / marginal;
      rates[`d${d}_t${threads}`] = Math.round(rate);
      overhead[`d${d}_t${threads}`] = Number((total - (n * e.n) / rate).toFixed(2));
    }
  }
  return { rates, overhead };
}

async function trainMillion(): Promise<Record<string, number>> {
  const d = 32;
  const plants = 10;
  const perPlant = 100_000;
  const f = await federation('BGV_AGG_8192', plants + 1, { relin: true });
  const e = f.engine;
  const relinKeys = RelinKeysCodec.toBytes(e, f.rk!);
  const schema = schemaOf(d, true);
  const wr = prng(7);
  const weights = Array.from({ length: d }, () => (wr() * 2 - 1) / d);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hedge-bench-'));
  try {
    // Encrypt: each plant's records in full batches, written to disk.
    const refs: BatchRef[] = [];
    const files = new Map<string, string>();
    const seeds: { seed: number; count: number }[] = [];
    let t = performance.now();
    for (let p = 0; p < plants; p++) {
      for (let start = 0, b = 0; start < perPlant; start += e.n, b++) {
        const count = Math.min(e.n, perPlant - start);
        const seed = 1000 * (p + 1) + b;
        seeds.push({ seed, count });
        const { ref, bytes } = sealBatch(e, f.pk, schema, records(d, count, seed, weights), 0, count, { dataset: 'bench', plant: `plant-${p}`, batchId: `b${b}`, ...day(b) });
        const file = path.join(dir, ref.contentHash);
        writeFileSync(file, bytes);
        files.set(ref.contentHash, file);
        refs.push(ref);
      }
    }
    const encrypt = (performance.now() - t) / 1000;
    // The lake is written long before a job runs: flush the 1.7 GB just written, or the job
    // would be measured against the kernel's write-back.
    execFileSync('sync');

    // Train: aggregate from disk, reveal to the builder, fit.
    t = performance.now();
    const plan = planJob(e, schema, { features: schema.features.map((x) => x.name), label: true }, refs, { minPlants: 3, minRecords: 1000 });
    const accs = await aggregateJob(e, plan, { threads: 2, relinKeys, load: (ref) => readFile(files.get(ref.contentHash)!) });
    const aggregate = (performance.now() - t) / 1000;
    // Reveal. The cloud prepares the input and combines; each key holder makes its share on its
    // own machine, so the critical path has one share in it; all shares are made here in turn.
    let t2 = performance.now();
    const input = sumRevealInput(e, accs);
    const prepare = (performance.now() - t2) / 1000;
    using builderSk = e.generateSecretKey();
    using builderPk = e.publicKeyFor(builderSk);
    const request = { jobId: 'bench', plan, input, receiver: builderPk, parties: f.parties.length };
    const shareTimes: number[] = [];
    const shares = f.parties.map((s) => {
      const t3 = performance.now();
      const bytes = makeRevealShare(e, s, request, { minPlants: 3, minRecords: 1000 }, new ShareLedger());
      shareTimes.push((performance.now() - t3) / 1000);
      return bytes;
    });
    t2 = performance.now();
    using switched = combineForReceiver(e, input, shares);
    const moments = receiveMoments(e, schema, plan, switched, builderSk);
    for (const ct of accs) ct[Symbol.dispose]();
    const combine = (performance.now() - t2) / 1000;
    const reveal = prepare + Math.max(...shareTimes) + combine;
    const revealOneMachine = prepare + shareTimes.reduce((a, b) => a + b, 0) + combine;
    t2 = performance.now();
    const model = fitRidge(schema, moments);
    const fit = (performance.now() - t2) / 1000;
    const train = aggregate + reveal + fit;
    const flooding = revealFlooding(e, plan, input, f.parties.length);

    // Plaintext: the same records, moments in float64, the same fit.
    t = performance.now();
    const plain = plaintextMoments(schema, seeds.map(({ seed, count }) => () => records(d, count, seed, weights)));
    const plainModel = fitRidge(schema, plain);
    const plaintext = (performance.now() - t) / 1000;
    const same = equalMoments(plain, moments);
    const maxCoefDiff = Math.max(...model.coefficients.map((c, i) => Math.abs(c - plainModel.coefficients[i])));
    return {
      batches: refs.length, records: plan.records, encrypt_1m_x32_s: round(encrypt), train_1m_x32_s: round(train), aggregate_s: round(aggregate),
      reveal_s: round(reveal), reveal_share_s: round(Math.max(...shareTimes)), fit_s: round(fit),
      train_1m_x32_one_machine_s: round(aggregate + revealOneMachine + fit), reveal_one_machine_s: round(revealOneMachine), plaintext_train_1m_x32_s: round(plaintext), ratio_to_plaintext: round(train / plaintext),
      moments_equal_plaintext: same ? 1 : 0, max_coefficient_difference: maxCoefDiff, flooding_statistical_bits: round(flooding.statisticalBits),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Moments accumulated in float64: exact, every partial sum stays far below 2^53 (1 M · 2^28 < 2^49). */
function plaintextMoments(schema: DatasetSchema, batches: readonly (() => QuantisedDataset)[]): Moments {
  const d = schema.features.length;
  const w = d + 1;
  const sum = new Float64Array(w);
  const gram = new Float64Array(w * w);
  let count = 0;
  for (const make of batches) {
    const { x, y } = make();
    const row = new Float64Array(w);
    for (let i = 0; i < x.length; i++) {
      for (let j = 0; j < d; j++) row[j] = x[i][j];
      row[d] = y![i];
      for (let a = 0; a < w; a++) {
        const v = row[a];
        sum[a] += v;
        for (let b = a; b < w; b++) gram[a * w + b] += v * row[b];
      }
    }
    count += x.length;
  }
  const big = (v: number): bigint => BigInt(v);
  const g = (a: number, b: number): bigint => big(a <= b ? gram[a * w + b] : gram[b * w + a]);
  const idx = Array.from({ length: d }, (_, j) => j);
  return {
    features: schema.features.map((f) => f.name), scale: schema.scale, count: big(count),
    sum: idx.map((j) => big(sum[j])), gram: idx.map((a) => idx.map((b) => g(a, b))),
    label: { kind: 'continuous', sum: big(sum[d]), sumSq: g(d, d), cross: idx.map((j) => g(j, d)) },
  };
}

function equalMoments(a: Moments, b: Moments): boolean {
  const s = (m: Moments): string => JSON.stringify(m, (_, v) => (typeof v === 'bigint' ? v.toString() : v));
  return s(a) === s(b);
}

const round = (x: number): number => Number(x.toFixed(2));

export async function run(): Promise<SuiteResult> {
  const { rates, overhead } = await gramRates();
  const million = await trainMillion();
  const peak = process.resourceUsage().maxRSS / 1024;
  return {
    params: { preset: 'BGV_AGG_8192', batch_records: 8192, parties_gram: 3, parties_train: 11, train_threads: 2 },
    metrics: { gram_records_per_s: rates, gram_job_overhead_s: overhead, ...million, peak_rss_mb: Math.round(peak) },
  };
}
