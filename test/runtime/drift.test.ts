import { test } from 'node:test';
import assert from 'node:assert/strict';
import { anomalySchema, anoMoments, procRows, rng, shuffled } from './fixtures.ts';
import {
  createDriftMonitor, driftReferenceFromJSON, driftReferenceToJSON, ksGaussian, ksTwoSample, normalCdf,
  referenceFromMoments, referenceFromSample, RUNTIME_ERR, RuntimeError, type DriftReference,
} from '../../src/runtime/index.ts';
import { chiSquareCdf } from '../../src/models/chi-square.ts';
import { createSchema } from '../../src/models/schema.ts';

const isCode = (code: string) => (e: unknown) => e instanceof RuntimeError && e.code === code;
const oneFeature = createSchema({ features: [{ name: 'x', lo: 0, hi: 100 }] });

/** Brute-force two-sample KS: the largest gap of the two empirical CDFs over every sample point. */
function bruteKs(a: number[], b: number[]): number {
  const cdf = (s: number[], x: number): number => s.filter((v) => v <= x).length / s.length;
  return Math.max(...[...a, ...b].map((x) => Math.abs(cdf(a, x) - cdf(b, x))));
}

test('normal CDF (erfc fit, 1.2e-7) matches published values and the chi-square CDF of src/models', () => {
  assert.ok(Math.abs(normalCdf(0) - 0.5) < 2e-7);
  assert.ok(Math.abs(normalCdf(1.959963984540054) - 0.975) < 2e-7);
  assert.ok(Math.abs(normalCdf(-1) - 0.15865525393145707) < 2e-7);
  for (const z of [-4, -2.5, -0.3, 0.7, 1.6, 3.2]) {
    const viaChi = 0.5 * (1 + Math.sign(z) * chiSquareCdf(z * z, 1)); // Φ(z) = ½(1 + sign z · P(χ²₁ ≤ z²))
    assert.ok(Math.abs(normalCdf(z) - viaChi) < 2e-7, `z = ${z}`);
  }
});

test('KS statistics: a hand example, ties, and brute force on integer data', () => {
  assert.ok(Math.abs(ksTwoSample([1, 2, 3], [2, 3, 4]) - 1 / 3) < 1e-15);
  assert.equal(ksTwoSample([1, 1, 1], [1, 1]), 0, 'identical with ties');
  assert.equal(ksTwoSample([1, 2], [3, 4]), 1);
  const r = rng(7);
  for (let t = 0; t < 20; t++) {
    const a = Array.from({ length: 40 + t }, () => Math.floor(r() * 12)).sort((x, y) => x - y);
    const b = Array.from({ length: 55 }, () => Math.floor(r() * 10) + 2).sort((x, y) => x - y);
    assert.ok(Math.abs(ksTwoSample(a, b) - bruteKs(a, b)) < 1e-12);
  }
  assert.ok(Math.abs(ksGaussian([0], 0, 1) - 0.5) < 2e-7);
  // One-sample against N(0, 1), brute force at both one-sided limits with Φ from the chi-square CDF.
  const s = Array.from({ length: 200 }, () => Math.round((r() * 6 - 3) * 4) / 4).sort((x, y) => x - y);
  const phi = (z: number): number => 0.5 * (1 + Math.sign(z) * chiSquareCdf(z * z, 1));
  const want = Math.max(...s.map((x) => Math.max(Math.abs(phi(x) - s.filter((v) => v < x).length / 200), Math.abs(s.filter((v) => v <= x).length / 200 - phi(x)))));
  assert.ok(Math.abs(ksGaussian(s, 0, 1) - want) < 1e-6);
});

test('PSI and KS of a check equal a hand computation on the window', () => {
  // Reference sample 0..99: 10 equal-frequency bins with edges 10, 20, …, 90.
  const reference = referenceFromSample(oneFeature, Array.from({ length: 100 }, (_, i) => [i]), { bins: 10 });
  assert.deepEqual(reference.features[0].edges, [10, 20, 30, 40, 50, 60, 70, 80, 90]);
  assert.deepEqual(reference.features[0].probabilities, new Array(10).fill(0.1));
  const monitor = createDriftMonitor(reference, { window: 20, checkEvery: 10, psiEpsilon: 1e-4 });
  // 30 records: the first 10 (values 0..9) leave the window; the last 20 are 50..69 repeated once each.
  const stream = [...Array.from({ length: 10 }, (_, i) => i), ...Array.from({ length: 20 }, (_, i) => 50 + i)];
  let report;
  for (const v of stream) report = monitor.update([v]) ?? report;
  // Last check at record 30 (window 11..30 = values 50..69): bins 5 and 6 hold 10 each, others 0.
  const q = [0, 0, 0, 0, 0, 0.5, 0.5, 0, 0, 0].map((x) => Math.max(x, 1e-4));
  const psi = q.reduce((s, qb) => s + (qb - 0.1) * Math.log(qb / 0.1), 0);
  const f = report!.features[0];
  assert.equal(report!.checks, 2);
  assert.equal(f.n, 20);
  assert.ok(Math.abs(f.psi - psi) < 1e-12, `${f.psi} vs ${psi}`);
  assert.ok(Math.abs(f.ks - 0.5) < 1e-12, 'F_ref(49) = 0.5, F_window(49) = 0');
  assert.ok(Math.abs(f.ksCritical - Math.sqrt(-Math.log(0.0005) / 2) * Math.sqrt(120 / 2000)) < 1e-12);
  assert.equal(f.alarm, true);
  assert.deepEqual(report!.alarms, ['x']);
  assert.equal(report!.alarmsRaised, 1);
});

test('the incremental window equals a from-scratch computation on the last W records (AI4I, with non-finite values)', () => {
  const reference = referenceFromSample(anomalySchema, procRows.slice(0, 3000));
  const rows = procRows.slice(3000, 4800).map((r, i) => (i % 37 === 0 ? [r[0], Number.NaN, ...r.slice(2)] : r));
  const rolling = createDriftMonitor(reference, { window: 500, checkEvery: 100 });
  for (const r of rows) rolling.update(r);
  const fresh = createDriftMonitor(reference, { window: 500, checkEvery: 500 });
  let last;
  for (const r of rows.slice(-500)) last = fresh.update(r) ?? last;
  const a = rolling.report().features;
  const b = last!.features;
  assert.equal(a[1].n, 500 - rows.slice(-500).filter((r) => Number.isNaN(r[1])).length);
  a.forEach((f, j) => {
    assert.equal(f.n, b[j].n);
    assert.ok(Math.abs(f.psi - b[j].psi) < 1e-12);
    assert.equal(f.ks, b[j].ks);
    // And against brute force on the window's values.
    const w = rows.slice(-500).map((r) => r[j]).filter(Number.isFinite);
    const ks = reference.features[j].ks;
    assert.ok(ks.kind === 'sample' && Math.abs(f.ks - bruteKs(w, [...ks.values])) < 1e-12);
  });
});

test('the Gaussian reference from moments has the training mean / sd in raw units and equal-probability bins', () => {
  const reference = referenceFromMoments(anomalySchema, anoMoments, { bins: 8 });
  assert.equal(reference.kind, 'gaussian');
  assert.equal(reference.count, 10000);
  const f = anomalySchema.features;
  reference.features.forEach((ref, j) => {
    // Quantised values in raw units, as the moments hold them.
    const xs = procRows.map((r) => {
      const q = Math.round(((2 * r[j] - f[j].hi - f[j].lo) / (f[j].hi - f[j].lo)) * anomalySchema.scale) / anomalySchema.scale;
      return (q * (f[j].hi - f[j].lo) + f[j].hi + f[j].lo) / 2;
    });
    const mean = xs.reduce((s, v) => s + v, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((s, v) => s + (v - mean) ** 2, 0) / (xs.length - 1));
    const ks = ref.ks as { mean: number; sd: number };
    assert.ok(Math.abs(ks.mean - mean) < 1e-9 * Math.abs(mean));
    assert.ok(Math.abs(ks.sd - sd) < 1e-9 * sd);
    assert.equal(ref.edges.length, 7);
    ref.edges.forEach((e, b) => assert.ok(Math.abs(normalCdf((e - mean) / sd) - (b + 1) / 8) < 1e-9));
  });
});

function stream(reference: DriftReference, rows: number[][], config = { window: 500, checkEvery: 25 }): { firstAlarm: Map<string, number>; raised: number } {
  const monitor = createDriftMonitor(reference, config);
  const firstAlarm = new Map<string, number>();
  let raised = 0;
  rows.forEach((r, i) => {
    const report = monitor.update(r);
    if (!report) return;
    for (const name of report.alarms) if (!firstAlarm.has(name)) firstAlarm.set(name, i);
    raised = report.alarmsRaised;
  });
  return { firstAlarm, raised };
}

test('in-distribution records raise no alarm; injected drift raises one on the drifted feature within the window', () => {
  const rows = shuffled(procRows, 42);
  const reference = referenceFromSample(anomalySchema, rows.slice(0, 4000));
  const live = rows.slice(4000);
  assert.equal(stream(reference, live).raised, 0, 'no alarm on shuffled in-distribution data');
  const t0 = 3000;
  const drifted = live.map((r, i) => (i >= t0 ? [r[0] + 1.5, ...r.slice(1)] : r)); // +1.5 K air temperature (≈ 0.75 sd)
  const { firstAlarm } = stream(reference, drifted);
  const at = firstAlarm.get('air_temperature');
  assert.ok(at !== undefined && at >= t0 && at < t0 + 500, `alarm at ${at}, drift from ${t0}, window 500`);
  assert.deepEqual([...firstAlarm.keys()], ['air_temperature'], 'only the drifted feature');
});

test('real drift: AI4I in recorded order drifts in air and process temperature against its first 2000 records', () => {
  const reference = referenceFromSample(anomalySchema, procRows.slice(0, 2000));
  const { firstAlarm } = stream(reference, procRows.slice(2000), { window: 1000, checkEvery: 100 });
  assert.ok(firstAlarm.has('air_temperature'));
  assert.ok(firstAlarm.has('process_temperature'));
});

test('references round-trip through JSON; malformed references and configs are refused', () => {
  for (const ref of [referenceFromMoments(anomalySchema, anoMoments), referenceFromSample(anomalySchema, procRows.slice(0, 500), { sketchSize: 100 })]) {
    const json = JSON.parse(JSON.stringify(driftReferenceToJSON(ref)));
    assert.deepEqual(driftReferenceFromJSON(json), ref);
  }
  const good = driftReferenceToJSON(referenceFromSample(oneFeature, Array.from({ length: 100 }, (_, i) => [i]))) as Record<string, unknown>;
  const feature = (good.features as Record<string, unknown>[])[0];
  const bad: unknown[] = [
    null, [], { ...good, format: 'x' }, { ...good, formatVersion: 2 }, { ...good, kind: 'other' }, { ...good, count: 1 },
    { ...good, features: [] }, { ...good, features: [{ ...feature, edges: [3, 2] }] }, { ...good, features: [{ ...feature, probabilities: [1] }] },
    { ...good, features: [{ ...feature, probabilities: new Array(10).fill(0.2) }] }, { ...good, features: [{ ...feature, ks: { kind: 'gaussian', mean: 0, sd: 1 } }] },
    { ...good, features: [feature, feature] }, { ...good, features: [{ ...feature, ks: { kind: 'sample', values: [2, 1] } }] },
  ];
  bad.forEach((b, i) => assert.throws(() => driftReferenceFromJSON(b), isCode(RUNTIME_ERR.INVALID_REFERENCE), `case ${i}`));
  const ref = driftReferenceFromJSON(good);
  assert.throws(() => createDriftMonitor(ref, { window: 5 }), RangeError);
  assert.throws(() => createDriftMonitor(ref, { window: 100, checkEvery: 101 }), RangeError);
  assert.throws(() => createDriftMonitor(ref, { ksAlpha: 0 }), RangeError);
  assert.throws(() => createDriftMonitor(ref, { window: '100' as never }), TypeError);
  assert.throws(() => createDriftMonitor(ref).update([1, 2]), RangeError);
  assert.throws(() => referenceFromSample(oneFeature, [[1], [2]]), RangeError);
  assert.throws(() => referenceFromSample(oneFeature, Array.from({ length: 20 }, () => [Number.NaN])), RangeError);
  assert.throws(() => referenceFromMoments(oneFeature, anoMoments), isCode(RUNTIME_ERR.MISMATCH));
});
