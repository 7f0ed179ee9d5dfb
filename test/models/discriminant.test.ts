import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Matrix, inverse, determinant as mlDeterminant } from 'ml-matrix';
import { classificationSchema as schema, failureLabel, loadAi4i, PLANTS, processRow } from './fixtures/ai4i.ts';
import { centredScatter, columnMeans, determinant, gaussInverse, pairwiseAuc, relDiff } from './fixtures/reference.ts';
import { combineMoments, computeMoments } from '../../src/models/moments.ts';
import { createSchema, quantiseDataset } from '../../src/models/schema.ts';
import { evaluateDiscriminant, fitDiscriminant, predictDiscriminant, type DiscriminantModel } from '../../src/models/discriminant.ts';
import { MODELS_ERR } from '../../src/models/errors.ts';

const records = loadAi4i();
const rows = records.map(processRow);
const labels = records.map(failureLabel);
const quantised = quantiseDataset(schema, rows, labels);
const moments = PLANTS.map((p) => {
  const idx = records.map((r, i) => (r.plant === p ? i : -1)).filter((i) => i >= 0);
  return computeMoments(schema, { x: idx.map((i) => quantised.x[i]), y: idx.map((i) => quantised.y![i]) });
}).reduce(combineMoments);
const lda = fitDiscriminant(schema, moments);
const qda = fitDiscriminant(schema, moments, { kind: 'quadratic' });

/** Class means and covariances of given rows, two-pass, with class indices. */
function classStats(x: readonly (readonly number[])[], y: readonly number[], k: number) {
  const mine = x.filter((_, i) => y[i] === k);
  const mean = columnMeans(mine);
  return { n: mine.length, mean, scatter: centredScatter(mine, mean) };
}

/**
 * Reference discriminant scores in the units of `x` (no standardisation: the decision is affine
 * invariant), using the given inverse and determinant routines.
 */
function referenceScores(
  x: readonly (readonly number[])[], y: readonly number[], kind: 'linear' | 'quadratic',
  inv: (a: number[][]) => number[][], det: (a: number[][]) => number,
): number[][] {
  const n = x.length;
  const stats = [0, 1].map((k) => classStats(x, y, k));
  const d = x[0].length;
  const pooled = Array.from({ length: d }, (_, j) => Array.from({ length: d }, (_, l) => (stats[0].scatter[j][l] + stats[1].scatter[j][l]) / (n - 2)));
  const covs = stats.map((s) => (kind === 'linear' ? pooled : s.scatter.map((r) => r.map((v) => v / (s.n - 1)))));
  const invs = covs.map(inv);
  const logDets = covs.map((c) => Math.log(det(c)));
  return x.map((r) => stats.map((s, k) => {
    const diff = r.map((v, j) => v - s.mean[j]);
    let q = 0;
    for (let j = 0; j < d; j++) for (let l = 0; l < d; l++) q += diff[j] * invs[k][j][l] * diff[l];
    return -0.5 * q - (kind === 'quadratic' ? 0.5 * logDets[k] : 0) + Math.log(s.n / n);
  }));
}

const posterior1 = (s: number[]): number => 1 / (1 + Math.exp(s[0] - s[1]));

for (const [name, model] of [['LDA', lda], ['QDA', qda]] as const) {
  const kind = model.kind;

  test(`${name}: fit from moments equals a direct fit on the same quantised rows`, () => {
    const xq = quantised.x.map((r) => r.map((q) => q / schema.scale));
    const ref = referenceScores(xq, quantised.y!, kind, (a) => inverse(new Matrix(a)).to2DArray(), (a) => mlDeterminant(new Matrix(a)));
    // Evaluate our model on the dequantised rows mapped back to raw units, so both see the same inputs.
    const raw = xq.map((r) => r.map((v, j) => (v * (schema.features[j].hi - schema.features[j].lo) + schema.features[j].hi + schema.features[j].lo) / 2));
    const p = predictDiscriminant(model, raw).probabilities;
    let worst = 0;
    ref.forEach((s, i) => { worst = Math.max(worst, Math.abs(p[i][1] - posterior1(s))); });
    assert.ok(worst < 1e-9, `posterior differs by ${worst}`);
  });

  test(`${name}: against an independent float64 fit on unquantised values`, () => {
    const y = records.map((r) => (r.failure ? 1 : 0));
    const ref = referenceScores(rows, y, kind, gaussInverse, determinant);
    const refClass = ref.map((s) => (s[1] > s[0] ? 1 : 0));
    const ours = predictDiscriminant(model, rows);
    const same = ours.index.filter((k, i) => k === refClass[i]).length / rows.length;
    assert.ok(same >= 0.999, `identical decisions on ${same}`);
    const refAuc = pairwiseAuc(ref.map(posterior1), y.map((v) => v === 1));
    const refAcc = refClass.filter((k, i) => k === y[i]).length / y.length;
    const ev = evaluateDiscriminant(model, rows, labels);
    assert.ok(Math.abs(ev.auc! - refAuc) < 5e-4, `AUC ${ev.auc} vs ${refAuc}`);
    assert.ok(Math.abs(ev.accuracy - refAcc) < 5e-4, `accuracy ${ev.accuracy} vs ${refAcc}`);
    assert.ok(ev.auc! > 0.85, 'failures are separable from process variables');
    assert.equal(ev.confusion.flat().reduce((a, b) => a + b, 0), rows.length);
  });
}

test('LDA: weights are the pooled-covariance solve, priors follow the option', () => {
  assert.ok(relDiff(lda.priors[1], 339 / 10000) < 1e-12);
  const uniform = fitDiscriminant(schema, moments, { priors: 'uniform' });
  assert.deepEqual(uniform.priors, [0.5, 0.5]);
  assert.ok(uniform.kind === 'linear' && lda.kind === 'linear');
  assert.deepEqual(uniform.weights, lda.weights, 'priors only move the biases');
  const custom = fitDiscriminant(schema, moments, { priors: [3, 1] });
  assert.deepEqual(custom.priors, [0.75, 0.25]);
  const ev = evaluateDiscriminant(uniform, rows, labels);
  assert.ok(ev.confusion[1][1] > evaluateDiscriminant(lda, rows, labels).confusion[1][1], 'uniform priors catch more failures');
  const reg = fitDiscriminant(schema, moments, { kind: 'quadratic', regularisation: 1 }) as DiscriminantModel;
  assert.equal(reg.kind, 'quadratic');
});

test('discriminant: bad input gives typed errors', () => {
  const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;
  assert.throws(() => fitDiscriminant(schema, moments, { kind: 'cubic' as never }), RangeError);
  assert.throws(() => fitDiscriminant(schema, moments, { priors: [1] }), RangeError);
  assert.throws(() => fitDiscriminant(schema, moments, { priors: [1, -1] }), RangeError);
  assert.throws(() => fitDiscriminant(schema, moments, { kind: 'quadratic', regularisation: 2 }), RangeError);
  assert.throws(() => predictDiscriminant(lda, [[1, 2]]), RangeError);
  assert.throws(() => predictDiscriminant(lda, [[1, 2, 3, 4, Number.POSITIVE_INFINITY]]), code(MODELS_ERR.NOT_FINITE));
  assert.throws(() => evaluateDiscriminant(lda, [rows[0]], ['broken']), code(MODELS_ERR.MISMATCH));
  const small = createSchema({
    features: [{ name: 'a', lo: 0, hi: 1 }, { name: 'b', lo: 0, hi: 1 }],
    label: { kind: 'categorical', name: 'c', classes: ['x', 'y', 'z'] },
  });
  const fit = (x: number[][], y: string[], opts = {}) => fitDiscriminant(small, computeMoments(small, quantiseDataset(small, x, y)), opts);
  const x = [[0.1, 0.3], [0.2, 0.1], [0.3, 0.4], [0.8, 0.9], [0.7, 0.6], [0.9, 0.8]];
  assert.throws(() => fit(x, ['x', 'x', 'x', 'y', 'y', 'y']), code(MODELS_ERR.EMPTY_CLASS));
  const x7 = [...x, [0.5, 0.5]];
  assert.throws(() => fit(x7, ['x', 'x', 'x', 'y', 'y', 'y', 'z'], { kind: 'quadratic' }), code(MODELS_ERR.TOO_FEW_RECORDS));
  assert.throws(() => fit(x7, ['x', 'x', 'y', 'y', 'y', 'z', 'z'], { kind: 'quadratic' }), code(MODELS_ERR.SINGULAR), 'two points in 2-D');
  assert.doesNotThrow(() => fit(x7, ['x', 'x', 'x', 'y', 'y', 'y', 'z']), 'LDA pools the covariance');
  assert.throws(() => fit([[0.1, 0.1], [0.2, 0.2], [0.3, 0.3], [0.6, 0.6], [0.7, 0.7], [0.9, 0.9]], ['x', 'x', 'z', 'y', 'y', 'z']), code(MODELS_ERR.SINGULAR));
  assert.throws(() => fit(x, ['x', 'x', 'w', 'y', 'y', 'y']), code(MODELS_ERR.MISMATCH));
  // Regression moments handed to a classifier.
  const unlabelled = computeMoments(schema, quantised, { withLabel: false });
  assert.throws(() => fitDiscriminant(schema, unlabelled), code(MODELS_ERR.MISMATCH));
});
