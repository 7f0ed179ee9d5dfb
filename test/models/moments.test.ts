import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classificationSchema, failureLabel, loadAi4i, processRow, regressionRow, regressionSchema } from './fixtures/ai4i.ts';
import { combineMoments, computeMoments, momentsFromJSON, momentsToJSON, validateMoments, type Moments } from '../../src/models/moments.ts';
import { createSchema, DEFAULT_SCALE, prescaleRow, quantiseDataset, quantiseValue, unscaleValue } from '../../src/models/schema.ts';
import { MODELS_ERR, ModelsError } from '../../src/models/errors.ts';

const records = loadAi4i();
const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

test('schema: pre-scaling maps [lo, hi] onto [-1, 1] and quantisation follows the documented rule', () => {
  const s = createSchema({ features: [{ name: 'a', lo: 10, hi: 30 }] });
  assert.equal(s.scale, DEFAULT_SCALE);
  assert.deepEqual(prescaleRow(s, [10]), [-1]);
  assert.deepEqual(prescaleRow(s, [30]), [1]);
  assert.deepEqual(prescaleRow(s, [20]), [0]);
  assert.equal(unscaleValue(10, 30, 0.5), 25);
  assert.equal(quantiseValue(0.5, 2 ** 14), 8192);
  assert.equal(quantiseValue(-0.5 / 2 ** 14, 2 ** 14), -0, 'ties toward +∞ (Math.round)');
  const { x } = quantiseDataset(s, [[10], [30], [25]]);
  assert.deepEqual(x, [[-16384], [16384], [8192]]);
  // Independent recomputation of every quantised AI4I value.
  const q = quantiseDataset(regressionSchema, records.map(regressionRow), records.map((r) => r.torque));
  records.forEach((r, i) => {
    regressionRow(r).forEach((v, j) => {
      const f = regressionSchema.features[j];
      assert.equal(q.x[i][j], Math.round(((2 * v - f.hi - f.lo) / (f.hi - f.lo)) * 16384));
    });
  });
});

test('schema: bad literals and values give typed errors', () => {
  assert.throws(() => createSchema(null), TypeError);
  assert.throws(() => createSchema({ features: [] }), RangeError);
  assert.throws(() => createSchema({ features: [{ name: 'a', lo: 1, hi: 1 }] }), RangeError);
  assert.throws(() => createSchema({ features: [{ name: 'a', lo: 0, hi: Number.NaN }] }), code(MODELS_ERR.NOT_FINITE));
  assert.throws(() => createSchema({ features: [{ name: 'a', lo: 0, hi: 1 }, { name: 'a', lo: 0, hi: 1 }] }), RangeError);
  assert.throws(() => createSchema({ features: [{ name: 'a', lo: 0, hi: 1 }], scale: 0.5 }), RangeError);
  assert.throws(() => createSchema({ features: [{ name: 'a', lo: 0, hi: 1 }], scale: 2 ** 30 }), RangeError);
  assert.throws(() => createSchema({ features: [{ name: 'a', lo: 0, hi: 1 }], label: { kind: 'categorical', name: 'c', classes: ['x'] } }), RangeError);
  assert.throws(() => createSchema({ features: [{ name: 'a', lo: 0, hi: 1 }], label: { kind: 'ordinal', name: 'c' } }), RangeError);
  assert.throws(() => createSchema({ features: [{ name: 7, lo: 0, hi: 1 }] }), TypeError);
  const s = createSchema({ features: [{ name: 'a', lo: 0, hi: 1 }], label: { kind: 'categorical', name: 'c', classes: ['x', 'y'] } });
  assert.throws(() => quantiseDataset(s, [[1.5]]), code(MODELS_ERR.OUT_OF_RANGE));
  assert.throws(() => quantiseDataset(s, [[Number.NaN]]), code(MODELS_ERR.NOT_FINITE));
  assert.throws(() => quantiseDataset(s, [[0.5, 0.5]]), RangeError);
  assert.throws(() => quantiseDataset(s, [[0.5]], ['z']), code(MODELS_ERR.MISMATCH));
  assert.throws(() => quantiseDataset(s, [[0.5]], ['x', 'y']), RangeError);
  assert.throws(() => quantiseValue(1.0001, 16384), RangeError);
});

/** Naive BigInt moments, written apart from the library's chunked accumulator. */
function naiveMoments(x: readonly (readonly number[])[], y: readonly number[]) {
  const d = x[0].length;
  const sum = new Array<bigint>(d).fill(0n);
  const gram = Array.from({ length: d }, () => new Array<bigint>(d).fill(0n));
  let sy = 0n;
  let syy = 0n;
  const cross = new Array<bigint>(d).fill(0n);
  x.forEach((r, i) => {
    const b = r.map(BigInt);
    const yi = BigInt(y[i]);
    sy += yi;
    syy += yi * yi;
    for (let j = 0; j < d; j++) {
      sum[j] += b[j];
      cross[j] += b[j] * yi;
      for (let k = 0; k < d; k++) gram[j][k] += b[j] * b[k];
    }
  });
  return { count: BigInt(x.length), sum, gram, sy, syy, cross };
}

test('moments: exact against naive bigint sums, continuous and categorical labels', () => {
  const q = quantiseDataset(regressionSchema, records.map(regressionRow), records.map((r) => r.torque));
  const m = computeMoments(regressionSchema, q);
  const ref = naiveMoments(q.x, q.y!);
  assert.equal(m.count, ref.count);
  assert.deepEqual(m.sum, ref.sum);
  assert.deepEqual(m.gram, ref.gram);
  assert.deepEqual(m.label, { kind: 'continuous', sum: ref.sy, sumSq: ref.syy, cross: ref.cross });

  const qc = quantiseDataset(classificationSchema, records.map(processRow), records.map(failureLabel));
  const mc = computeMoments(classificationSchema, qc);
  assert.equal(mc.label?.kind, 'categorical');
  if (mc.label?.kind !== 'categorical') return;
  for (const k of [0, 1]) {
    const xs = qc.x.filter((_, i) => qc.y![i] === k);
    const r = naiveMoments(xs, xs.map(() => 0));
    assert.equal(mc.label.perClass[k].count, r.count);
    assert.deepEqual(mc.label.perClass[k].sum, r.sum);
    assert.deepEqual(mc.label.perClass[k].gram, r.gram);
  }
  assert.equal(mc.label.perClass[1].count, 339n);
  validateMoments(mc);
});

test('moments: exact at the largest scale (chunked accumulation past 2^53)', () => {
  const s = createSchema({ features: [{ name: 'a', lo: -1, hi: 1 }, { name: 'b', lo: -1, hi: 1 }], scale: 2 ** 24 });
  const x = Array.from({ length: 300 }, (_, i) => [i % 2 ? 1 : -1, 1 - i / 299]);
  const q = quantiseDataset(s, x);
  const m = computeMoments(s, q);
  const ref = naiveMoments(q.x, q.x.map(() => 0));
  assert.deepEqual(m.gram, ref.gram);
  assert.ok(m.gram[0][0] > 2n ** 53n, 'the sum is beyond float64 integers and still exact');
});

test('moments: combining is associative and the JSON codec round-trips', () => {
  const q = quantiseDataset(classificationSchema, records.map(processRow), records.map(failureLabel));
  const part = (a: number, b: number) => computeMoments(classificationSchema, { x: q.x.slice(a, b), y: q.y!.slice(a, b) });
  const [p1, p2, p3] = [part(0, 1234), part(1234, 7000), part(7000, 10000)];
  const left = combineMoments(combineMoments(p1, p2), p3);
  const right = combineMoments(p1, combineMoments(p2, p3));
  assert.deepEqual(left, right);
  assert.deepEqual(left, computeMoments(classificationSchema, q));
  const text = JSON.stringify(momentsToJSON(left));
  assert.deepEqual(momentsFromJSON(JSON.parse(text)), left);
  const qr = quantiseDataset(regressionSchema, records.map(regressionRow), records.map((r) => r.torque));
  const mr = computeMoments(regressionSchema, qr);
  assert.deepEqual(momentsFromJSON(JSON.parse(JSON.stringify(momentsToJSON(mr)))), mr);
});

test('moments: malformed or inconsistent moments give typed errors', () => {
  const q = quantiseDataset(classificationSchema, records.slice(0, 50).map(processRow), records.slice(0, 50).map(failureLabel));
  const m = computeMoments(classificationSchema, q);
  const json = momentsToJSON(m);
  assert.throws(() => momentsFromJSON({ ...json, format: 'other' }), code(MODELS_ERR.INVALID_ARTIFACT));
  assert.throws(() => momentsFromJSON({ ...json, version: 2 }), code(MODELS_ERR.INVALID_ARTIFACT));
  assert.throws(() => momentsFromJSON({ ...json, count: '1.5' }), code(MODELS_ERR.INVALID_ARTIFACT));
  assert.throws(() => momentsFromJSON({ ...json, sum: json.sum.slice(1) }), code(MODELS_ERR.INVALID_ARTIFACT));
  assert.throws(() => momentsFromJSON({ ...json, count: '51' }), code(MODELS_ERR.INVALID_MOMENTS), 'per-class counts must add up');
  const gram = json.gram.map((r) => [...r]);
  gram[0][1] = '0';
  assert.throws(() => momentsFromJSON({ ...json, gram }), code(MODELS_ERR.INVALID_MOMENTS), 'gram must be symmetric');
  const bad: Moments = { ...m, label: undefined, gram: m.gram.map((r, j) => r.map((v, k) => (j === k ? 0n : v))) };
  assert.throws(() => validateMoments(bad), code(MODELS_ERR.INVALID_MOMENTS), 'Σq² below (Σq)²/n is impossible');
  assert.throws(() => validateMoments({ ...m, count: 5 } as never), TypeError);
  assert.throws(() => combineMoments(m, { ...m, scale: 8 }), code(MODELS_ERR.MISMATCH));
  assert.throws(() => combineMoments(m, { ...m, label: undefined }), code(MODELS_ERR.MISMATCH));
  assert.throws(() => computeMoments(classificationSchema, { x: q.x }), code(MODELS_ERR.MISMATCH));
  assert.throws(() => computeMoments(classificationSchema, { x: [[1, 2, 3, 4, 5]], y: [2] }), RangeError);
  assert.throws(() => computeMoments(classificationSchema, { x: [[1, 2, 3, 4, 1e9]], y: [0] }), RangeError);
  assert.throws(() => computeMoments(classificationSchema, { x: [[1, 2, 3, 4, 0.5]], y: [0] }), RangeError);
  assert.ok(new ModelsError(MODELS_ERR.SINGULAR, 'cannot x: y', { cause: 1 }).cause === 1);
});
