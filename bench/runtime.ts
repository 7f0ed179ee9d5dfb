/**
 * Model runtime benchmark: `npm run bench -- runtime --json`.
 *
 * - `infer_p99_us`: 99th percentile of the time to answer one record with output controls on
 *   (envelope range + Mahalanobis gate, model, confidence / clamp, counting), per model family
 *   loaded from its JSON artifact; `infer_onnx_p99_us` the same for the ONNX export run by
 *   onnxruntime-node (one record per session run); `infer_median_us` for the JSON path.
 * - `drift_update_us`: mean time of one drift-monitor update (5 features, window 1000, a check every
 *   100 records, empirical reference), the checks amortised in; `drift_update_p99_us`; and
 *   `drift_check_us`, the median of one full check (PSI + KS of all features).
 *
 * Data: the 10,000 AI4I 2020 records (../shared/data/ai4i2020.csv), models fitted from their moments.
 * Record counts can be lowered for a quick run: HEDGE_BENCH_RUNTIME_RECORDS.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SuiteResult } from './run.ts';
import { computeMoments, type Moments } from '../src/models/moments.ts';
import { createSchema, quantiseDataset, type DatasetSchema } from '../src/models/schema.ts';
import { fitRidge } from '../src/models/ridge.ts';
import { fitDiscriminant } from '../src/models/discriminant.ts';
import { fitMahalanobis } from '../src/models/mahalanobis.ts';
import { fitPca } from '../src/models/pca.ts';
import { modelToArtifact, type Model } from '../src/models/model.ts';
import { modelToOnnx } from '../src/models/onnx/export.ts';
import { createControls, type FallbackRule } from '../src/runtime/controls.ts';
import { createDriftMonitor, referenceFromSample } from '../src/runtime/drift.ts';
import { loadModel } from '../src/runtime/load.ts';

const RECORDS = Number(process.env.HEDGE_BENCH_RUNTIME_RECORDS ?? 10_000);
const WARMUP = 2000;
const here = path.dirname(fileURLToPath(import.meta.url));

function ai4i(): { rows: number[][]; torque: number[]; failure: string[] } {
  const lines = readFileSync(path.resolve(here, '../../shared/data/ai4i2020.csv'), 'utf8').trim().split(/\r?\n/);
  const header = lines[0].split(',');
  const col = (name: string): number => header.indexOf(name);
  const c = [col('Air temperature [K]'), col('Process temperature [K]'), col('Rotational speed [rpm]'), col('Torque [Nm]'), col('Tool wear [min]')];
  const failure = col('Machine failure');
  const fields = lines.slice(1).map((l) => l.split(','));
  return { rows: fields.map((f) => c.map((i) => Number(f[i]))), torque: fields.map((f) => Number(f[c[3]])), failure: fields.map((f) => (f[failure] === '1' ? 'failure' : 'ok')) };
}

const AIR = { name: 'air_temperature', lo: 295, hi: 305 };
const PROCESS = { name: 'process_temperature', lo: 305, hi: 315 };
const RPM = { name: 'rotational_speed', lo: 1100, hi: 2900 };
const TORQUE = { name: 'torque', lo: 0, hi: 80 };
const WEAR = { name: 'tool_wear', lo: 0, hi: 260 };

const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const round = (x: number): number => Math.round(x * 100) / 100;

async function timeControls(model: Model, moments: Moments, rows: number[][], fallback: FallbackRule, onnx: boolean): Promise<number[]> {
  const meta = { modelId: 'bench', modelVersion: 1, lineage: { jobId: 'bench', plants: ['L', 'M', 'H'], batchHashes: [] } };
  const bytes = onnx ? modelToOnnx(model, meta) : new TextEncoder().encode(JSON.stringify(modelToArtifact(model, meta)));
  const loaded = await loadModel(bytes);
  const controlled = createControls(loaded, moments, { fallback });
  for (let i = 0; i < WARMUP; i++) await controlled.predict(rows[i % rows.length]);
  const times: number[] = [];
  for (let i = 0; i < RECORDS; i++) {
    const row = rows[i % rows.length];
    const t0 = process.hrtime.bigint();
    await controlled.predict(row);
    times.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  await loaded.close();
  return times;
}

/** Runs the suite. */
export async function run(): Promise<SuiteResult> {
  const { rows, torque, failure } = ai4i();
  const regSchema: DatasetSchema = createSchema({ features: [AIR, PROCESS, RPM, WEAR], label: { kind: 'continuous', ...TORQUE } });
  const clsSchema: DatasetSchema = createSchema({ features: [AIR, PROCESS, RPM, TORQUE, WEAR], label: { kind: 'categorical', name: 'failure', classes: ['ok', 'failure'] } });
  const anoSchema: DatasetSchema = createSchema({ features: [AIR, PROCESS, RPM, TORQUE, WEAR] });
  const regRows = rows.map((r) => [r[0], r[1], r[2], r[4]]);
  const regMoments = computeMoments(regSchema, quantiseDataset(regSchema, regRows, torque));
  const clsMoments = computeMoments(clsSchema, quantiseDataset(clsSchema, rows, failure));
  const anoMoments = computeMoments(anoSchema, quantiseDataset(anoSchema, rows));
  const families: [string, Model, Moments, number[][], FallbackRule][] = [
    ['ridge', fitRidge(regSchema, regMoments), regMoments, regRows, { rule: 'constant', output: 40 }],
    ['lda', fitDiscriminant(clsSchema, clsMoments), clsMoments, rows, { rule: 'threshold', feature: 'torque', threshold: 60, below: 'ok', atOrAbove: 'failure' }],
    ['qda', fitDiscriminant(clsSchema, clsMoments, { kind: 'quadratic' }), clsMoments, rows, { rule: 'constant', output: 'ok' }],
    ['mahalanobis', fitMahalanobis(anoSchema, anoMoments), anoMoments, rows, { rule: 'constant', output: true }],
    ['pca', fitPca(anoSchema, anoMoments, { components: 3 }), anoMoments, rows, { rule: 'constant', output: true }],
  ];
  const inferP99: Record<string, number> = {};
  const inferMedian: Record<string, number> = {};
  const onnxP99: Record<string, number> = {};
  for (const [name, model, moments, data, fallback] of families) {
    const t = await timeControls(model, moments, data, fallback, false);
    inferP99[name] = round(percentile(t, 0.99));
    inferMedian[name] = round(percentile(t, 0.5));
    onnxP99[name] = round(percentile(await timeControls(model, moments, data, fallback, true), 0.99));
  }

  const reference = referenceFromSample(anoSchema, rows.slice(0, 5000));
  const monitor = createDriftMonitor(reference, { window: 1000, checkEvery: 100 });
  const updates = Math.max(RECORDS, 5000);
  for (let i = 0; i < WARMUP; i++) monitor.update(rows[5000 + (i % 5000)]);
  const times: number[] = [];
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < updates; i++) {
    const s = process.hrtime.bigint();
    monitor.update(rows[5000 + (i % 5000)]);
    times.push(Number(process.hrtime.bigint() - s) / 1000);
  }
  const total = Number(process.hrtime.bigint() - t0) / 1000;
  const checks: number[] = [];
  for (let i = 0; i < 50; i++) {
    const s = process.hrtime.bigint();
    monitor.report();
    checks.push(Number(process.hrtime.bigint() - s) / 1000);
  }
  return {
    params: { records: RECORDS, warmup: WARMUP, features: 5, ood_alpha: 0.001, drift_window: 1000, drift_check_every: 100, drift_reference: 'sample (5000 records, 10 bins, sketch 1000)' },
    metrics: {
      infer_p99_us: inferP99,
      infer_median_us: inferMedian,
      infer_onnx_p99_us: onnxP99,
      drift_update_us: round(total / updates),
      drift_update_p99_us: round(percentile(times, 0.99)),
      drift_check_us: round(percentile(checks, 0.5)),
    },
  };
}
