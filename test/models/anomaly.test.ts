import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Matrix, inverse } from 'ml-matrix';
import { anomalySchema as schema, loadAi4i, PLANTS, processRow } from './fixtures/ai4i.ts';
import { centredScatter, columnMeans, gaussInverse, jacobiEigen, pairwiseAuc, relDiff } from './fixtures/reference.ts';
import { combineMoments, computeMoments } from '../../src/models/moments.ts';
import { createSchema, quantiseDataset, unscaleValue } from '../../src/models/schema.ts';
import { evaluateMahalanobis, fitMahalanobis, predictMahalanobis } from '../../src/models/mahalanobis.ts';
import { fitPca, predictPca } from '../../src/models/pca.ts';
import { chiSquareQuantile } from '../../src/models/chi-square.ts';
import { MODELS_ERR } from '../../src/models/errors.ts';

const records = loadAi4i();
const rows = records.map(processRow);
const failed = records.map((r) => r.failure);
const quantised = quantiseDataset(schema, rows);
const moments = PLANTS.map((p) => computeMoments(schema, { x: quantised.x.filter((_, i) => records[i].plant === p) })).reduce(combineMoments);
const detector = fitMahalanobis(schema, moments, { alpha: 0.01 });
const pca = fitPca(schema, moments, { components: 3 });
const dequantisedRaw = quantised.x.map((r) => r.map((q, j) => unscaleValue(schema.features[j].lo, schema.features[j].hi, q / schema.scale)));

/** d² of rows under the sample mean and covariance of `fitRows`, with a given inverse routine. */
function referenceD2(fitRows: readonly (readonly number[])[], rowsToScore: readonly (readonly number[])[], inv: (a: number[][]) => number[][]): number[] {
  const mean = columnMeans(fitRows);
  const cov = centredScatter(fitRows, mean).map((r) => r.map((v) => v / (fitRows.length - 1)));
  const ci = inv(cov);
  return rowsToScore.map((r) => {
    const diff = r.map((v, j) => v - mean[j]);
    return diff.reduce((a, dj, j) => a + dj * diff.reduce((b, dl, l) => b + ci[j][l] * dl, 0), 0);
  });
}

test('mahalanobis: fit from moments equals a direct fit on the same quantised rows', () => {
  const xq = quantised.x.map((r) => r.map((q) => q / schema.scale));
  const ref = referenceD2(xq, xq, (a) => inverse(new Matrix(a)).to2DArray());
  const ours = predictMahalanobis(detector, dequantisedRaw).score;
  ours.forEach((s, i) => assert.ok(relDiff(s, ref[i], 1e-6) < 1e-8, `row ${i}: ${s} vs ${ref[i]}`));
  assert.equal(detector.threshold, chiSquareQuantile(0.99, 5));
});

test('mahalanobis: against an independent float64 fit on unquantised values', () => {
  const ref = referenceD2(rows, rows, gaussInverse);
  const ours = predictMahalanobis(detector, rows);
  const refFlag = ref.map((s) => s > 15.086272469388989); // χ²₅(0.99), published tables
  const same = ours.anomaly.filter((a, i) => a === refFlag[i]).length / rows.length;
  assert.ok(same >= 0.999, `identical decisions on ${same}`);
  const refAuc = pairwiseAuc(ref, failed);
  const ev = evaluateMahalanobis(detector, rows, failed);
  assert.ok(Math.abs(ev.auc! - refAuc) < 5e-4, `AUC ${ev.auc} vs ${refAuc}`);
  assert.ok(ev.auc! > 0.8, 'failures are unusual operating points');
  // The process variables are not Gaussian (tool wear is uniform), so the measured flag rate
  // is near, not at, α: report-level check only.
  assert.ok(ev.flaggedRate > 0.001 && ev.flaggedRate < 0.05, `flag rate ${ev.flaggedRate}`);
});

test('pca: eigenvalues and components against a Jacobi eigendecomposition of unquantised data', () => {
  const mean = columnMeans(rows);
  const scatter = centredScatter(rows, mean);
  const n = rows.length;
  const corr = scatter.map((r, j) => r.map((v, k) => v / Math.sqrt(scatter[j][j] * scatter[k][k])));
  const ref = jacobiEigen(corr);
  ref.values.forEach((v, i) => assert.ok(relDiff(pca.eigenvalues[i], v) < 1e-3, `λ${i} ${pca.eigenvalues[i]} vs ${v}`));
  for (let c = 0; c < 3; c++) {
    const cos = pca.components.reduce((a, r, j) => a + r[c] * ref.vectors[j][c], 0);
    assert.ok(Math.abs(Math.abs(cos) - 1) < 1e-3, `component ${c} aligned (|cos| = ${Math.abs(cos)})`);
  }
  // Scores on unquantised rows: T² and SPE against the reference decomposition.
  const sd = scatter.map((r, j) => Math.sqrt(r[j] / (n - 1)));
  const p = predictPca(pca, rows.slice(0, 500));
  rows.slice(0, 500).forEach((r, i) => {
    const z = r.map((v, j) => (v - mean[j]) / sd[j]);
    const t = [0, 1, 2].map((c) => z.reduce((a, zj, j) => a + zj * ref.vectors[j][c], 0));
    const t2 = t.reduce((a, tc, c) => a + (tc * tc) / ref.values[c], 0);
    const spe = z.reduce((a, zj, j) => a + (zj - t.reduce((b, tc, c) => b + tc * ref.vectors[j][c], 0)) ** 2, 0);
    assert.ok(Math.abs(p.t2[i] - t2) < 1e-3 * Math.max(1, t2), `T² row ${i}`);
    assert.ok(Math.abs(p.spe[i] - spe) < 1e-3 * Math.max(1, spe), `SPE row ${i}`);
  });
  assert.equal(pca.metrics.components, 3);
  assert.ok(pca.metrics.explainedVariance > 0.9);
});

test('pca: fit from moments equals a direct fit on the same quantised rows; k from variance share', () => {
  const xq = quantised.x.map((r) => r.map((q) => q / schema.scale));
  const mean = columnMeans(xq);
  const scatter = centredScatter(xq, mean);
  const corr = scatter.map((r, j) => r.map((v, k) => v / Math.sqrt(scatter[j][j] * scatter[k][k])));
  const ref = jacobiEigen(corr);
  // The model's z uses the population sd and S = C / (n − 1): S = n/(n − 1) × correlation.
  const n = xq.length;
  ref.values.forEach((v, i) => assert.ok(relDiff(pca.eigenvalues[i], (v * n) / (n - 1)) < 1e-10, `λ${i} ${pca.eigenvalues[i]} vs ${v}`));
  const auto = fitPca(schema, moments, { varianceToExplain: 0.5 });
  assert.equal(auto.metrics.components, 2, '1.91 + 1.84 of 5 is > 50 %');
  assert.equal(fitPca(schema, moments, { varianceToExplain: 1 }).metrics.components, 4, 'k stays below d');
});

test('anomaly detectors: bad input gives typed errors', () => {
  const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;
  assert.throws(() => fitMahalanobis(schema, moments, { alpha: 0 }), RangeError);
  assert.throws(() => fitMahalanobis(schema, moments, { alpha: 1.5 }), RangeError);
  assert.throws(() => fitPca(schema, moments, { components: 5 }), RangeError);
  assert.throws(() => fitPca(schema, moments, { components: 1.5 }), RangeError);
  assert.throws(() => fitPca(schema, moments, { varianceToExplain: 0 }), RangeError);
  assert.throws(() => predictMahalanobis(detector, [[1, 2, 3, 4]]), RangeError);
  assert.throws(() => predictPca(pca, [[1, 2, 3, 4, Number.NaN]]), code(MODELS_ERR.NOT_FINITE));
  assert.throws(() => predictPca(pca, [['1', 2, 3, 4, 5] as never]), TypeError);
  const small = createSchema({ features: [{ name: 'a', lo: 0, hi: 1 }, { name: 'b', lo: 0, hi: 1 }, { name: 'c', lo: 0, hi: 1 }] });
  const m = (x: number[][]) => computeMoments(small, quantiseDataset(small, x));
  const collinear = m([[0.1, 0.1, 0.3], [0.2, 0.2, 0.1], [0.3, 0.3, 0.9], [0.5, 0.5, 0.4], [0.9, 0.9, 0.2]]);
  assert.throws(() => fitMahalanobis(small, collinear), code(MODELS_ERR.SINGULAR));
  assert.throws(() => fitPca(small, collinear, { components: 2 }), code(MODELS_ERR.SINGULAR));
  assert.doesNotThrow(() => fitPca(small, collinear, { components: 1 }));
  assert.throws(() => fitMahalanobis(small, m([[0.1, 0.2, 0.3], [0.2, 0.1, 0.5], [0.4, 0.3, 0.2]])), code(MODELS_ERR.TOO_FEW_RECORDS));
  assert.throws(() => fitMahalanobis(small, m([[0.1, 0.2, 0.3], [0.2, 0.2, 0.5], [0.4, 0.2, 0.2], [0.9, 0.2, 0.1]])), code(MODELS_ERR.CONSTANT_FEATURE));
});
