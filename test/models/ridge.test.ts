import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Matrix, SingularValueDecomposition, solve } from 'ml-matrix';
import { loadAi4i, PLANTS, regressionRow, regressionSchema as schema } from './fixtures/ai4i.ts';
import { columnMeans, centredScatter, gaussSolve, relDiff } from './fixtures/reference.ts';
import { computeMoments, combineMoments } from '../../src/models/moments.ts';
import { createSchema, quantiseDataset } from '../../src/models/schema.ts';
import { evaluateRidge, fitRidge, predictRidge, ridgeCoefficients } from '../../src/models/ridge.ts';
import { rSquared } from '../../src/models/metrics.ts';
import { MODELS_ERR, ModelsError } from '../../src/models/errors.ts';

const records = loadAi4i();
const rows = records.map(regressionRow);
const torque = records.map((r) => r.torque);
const quantised = quantiseDataset(schema, rows, torque);
const plantMoments = PLANTS.map((p) => {
  const idx = records.map((r, i) => (r.plant === p ? i : -1)).filter((i) => i >= 0);
  return computeMoments(schema, { x: idx.map((i) => quantised.x[i]), y: idx.map((i) => quantised.y![i]) });
});
const moments = plantMoments.reduce(combineMoments);
const model = fitRidge(schema, moments);

test('ridge: pooled moments of three plants (L, M, H) equal the moments of all rows', () => {
  assert.deepEqual(moments, computeMoments(schema, quantised));
  assert.equal(moments.count, 10000n);
});

test('ridge: fit from moments equals a direct fit on the same quantised rows (float64 round-off)', () => {
  // Direct: dequantise the rows, standardise two-pass, form ZᵀZ with ml-matrix, solve.
  const s = schema.scale;
  const xq = quantised.x.map((r) => r.map((q) => q / s));
  const yq = quantised.y!.map((q) => q / s);
  const n = xq.length;
  const mean = columnMeans(xq);
  const sd = centredScatter(xq, mean).map((r, j) => Math.sqrt(r[j] / n));
  const z = new Matrix(xq.map((r) => r.map((v, j) => (v - mean[j]) / sd[j])));
  const yMean = yq.reduce((a, b) => a + b, 0) / n;
  const yc = Matrix.columnVector(yq.map((v) => v - yMean));
  const ztz = z.transpose().mmul(z);
  const lambda = model.lambda;
  const beta = solve(ztz.clone().add(Matrix.eye(4).mul(lambda)), z.transpose().mmul(yc)).to1DArray();
  beta.forEach((b, j) => assert.ok(relDiff(model.coefficients[j], b) < 1e-9, `β[${j}] ${model.coefficients[j]} vs ${b}`));
  assert.ok(relDiff(model.intercept, yMean) < 1e-12);
  model.standardisation.sd.forEach((v, j) => assert.ok(relDiff(v, sd[j]) < 1e-12));

  // GCV from the rows via the SVD of Z (hat-matrix trace), independent of the moments path.
  const svd = new SingularValueDecomposition(z, { autoTranspose: true });
  const u = svd.leftSingularVectors;
  const sv = svd.diagonal;
  const uty = u.transpose().mmul(yc).to1DArray();
  const yy = yc.to1DArray().reduce((a, v) => a + v * v, 0);
  const gcv = (l: number): number => {
    let rss = yy;
    let df = 0;
    sv.forEach((sigma, i) => {
      const h = (sigma * sigma) / (sigma * sigma + l);
      rss += (h * h - 2 * h) * uty[i] * uty[i];
      df += h;
    });
    return (n * rss) / (n - 1 - df) ** 2;
  };
  assert.ok(relDiff(model.metrics.gcv, gcv(lambda)) < 1e-9, 'GCV value from moments equals GCV from rows');
  for (const f of [0.5, 0.9, 0.99, 1.01, 1.1, 2]) assert.ok(gcv(lambda) <= gcv(lambda * f) * (1 + 1e-12), `GCV(λ) ≤ GCV(${f}·λ)`);
  // The in-sample R² reported from the moments equals R² of the predictions on these rows.
  const pred = z.mmul(Matrix.columnVector(beta)).to1DArray().map((v) => v + yMean);
  assert.ok(Math.abs(model.metrics.r2 - rSquared(yq, pred)) < 1e-12);
});

test('ridge: against an independent float64 fit on unquantised values', () => {
  // Raw units, population-sd standardisation, normal equations by Gaussian elimination.
  const n = rows.length;
  const mean = columnMeans(rows);
  const scatter = centredScatter(rows, mean);
  const sd = scatter.map((r, j) => Math.sqrt(r[j] / n));
  const yMean = torque.reduce((a, b) => a + b, 0) / n;
  const corr = scatter.map((r, j) => r.map((v, k) => v / (sd[j] * sd[k])));
  const rhs = mean.map((_, j) => rows.reduce((a, r, i) => a + ((r[j] - mean[j]) / sd[j]) * (torque[i] - yMean), 0));
  const lambda = model.lambda; // λ is unit-free on standardised features (see docs/models.md)
  const beta = gaussSolve(corr.map((r, j) => r.map((v, k) => v + (j === k ? lambda : 0))), rhs);
  const weights = beta.map((b, j) => b / sd[j]);
  const intercept = yMean - weights.reduce((a, w, j) => a + w * mean[j], 0);
  const ours = ridgeCoefficients(model);
  weights.forEach((w, j) => assert.ok(relDiff(ours.weights[j], w) < 1e-3, `weight ${j}: ${ours.weights[j]} vs ${w}`));
  assert.ok(relDiff(ours.intercept, intercept) < 1e-3, `intercept ${ours.intercept} vs ${intercept}`);
  const refPred = rows.map((r) => intercept + r.reduce((a, v, j) => a + v * weights[j], 0));
  const refR2 = 1 - torque.reduce((a, y, i) => a + (y - refPred[i]) ** 2, 0) / torque.reduce((a, y) => a + (y - yMean) ** 2, 0);
  const ourR2 = evaluateRidge(model, rows, torque).r2;
  assert.ok(Math.abs(ourR2 - refR2) < 5e-4, `R² ${ourR2} vs ${refR2}`);
  assert.ok(Math.abs(model.metrics.r2 - refR2) < 5e-4, 'R² from moments');
  assert.ok(ourR2 > 0.7, 'torque is well explained by speed and temperatures');
  // Predictions agree row by row to well below the quantisation step of the label (80 Nm / 2^15).
  const ourPred = predictRidge(model, rows);
  assert.ok(ourPred.every((p, i) => Math.abs(p - refPred[i]) < 0.01));
});

test('ridge: a fixed λ is honoured and λ = 0 is ordinary least squares', () => {
  const ols = fitRidge(schema, moments, { lambda: 0 });
  assert.equal(ols.lambdaSelection, 'fixed');
  assert.equal(ols.lambda, 0);
  const heavy = fitRidge(schema, moments, { lambda: 1e7 });
  assert.ok(Math.hypot(...heavy.coefficients) < Math.hypot(...ols.coefficients) / 100, 'a huge λ shrinks β');
  assert.ok(heavy.metrics.r2 < ols.metrics.r2);
});

test('ridge: bad input gives typed errors', () => {
  const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;
  assert.throws(() => fitRidge(schema, moments, { lambda: -1 }), RangeError);
  assert.throws(() => fitRidge(schema, moments, { lambda: Number.NaN }), code(MODELS_ERR.NOT_FINITE));
  assert.throws(() => fitRidge(schema, null as never), TypeError);
  assert.throws(() => predictRidge(model, [[1, 2, 3]]), RangeError);
  assert.throws(() => predictRidge(model, [[298, 308, Number.NaN, 1]]), code(MODELS_ERR.NOT_FINITE));
  assert.throws(() => predictRidge(model, 'rows' as never), TypeError);
  assert.throws(() => predictRidge(model, []), RangeError);
  // Moments without a label, or of another schema.
  const unlabelled = computeMoments(schema, quantised, { withLabel: false });
  assert.throws(() => fitRidge(schema, unlabelled), code(MODELS_ERR.MISMATCH));
  const other = createSchema({ ...schema, features: schema.features.map((f, j) => (j === 0 ? { ...f, name: 'x' } : f)) });
  assert.throws(() => fitRidge(other, moments), code(MODELS_ERR.MISMATCH));
  // A constant feature, a constant label, too few records, collinear features with λ = 0.
  const small = createSchema({ features: [{ name: 'a', lo: 0, hi: 1 }, { name: 'b', lo: 0, hi: 1 }], label: { kind: 'continuous', name: 'y', lo: 0, hi: 1 } });
  const fit = (x: number[][], y: number[], opts = {}) => fitRidge(small, computeMoments(small, quantiseDataset(small, x, y)), opts);
  assert.throws(() => fit([[0.5, 0.1], [0.5, 0.2], [0.5, 0.3], [0.5, 0.9]], [0.1, 0.2, 0.3, 0.4]), code(MODELS_ERR.CONSTANT_FEATURE));
  assert.throws(() => fit([[0.1, 0.1], [0.2, 0.2], [0.3, 0.7], [0.5, 0.9]], [0.3, 0.3, 0.3, 0.3]), code(MODELS_ERR.CONSTANT_FEATURE));
  assert.throws(() => fit([[0.1, 0.2], [0.2, 0.1], [0.3, 0.3]], [0.1, 0.2, 0.3]), code(MODELS_ERR.TOO_FEW_RECORDS));
  const collinear = [[0.1, 0.1], [0.2, 0.2], [0.3, 0.3], [0.4, 0.4], [0.25, 0.25]]; // b duplicates a
  assert.throws(() => fit(collinear, [0.1, 0.3, 0.2, 0.5, 0.4], { lambda: 0 }), code(MODELS_ERR.SINGULAR));
  assert.doesNotThrow(() => fit(collinear, [0.1, 0.3, 0.2, 0.5, 0.4]), 'GCV ridge copes with collinear features');
  assert.throws(() => fit(collinear, [0.1, 0.3, 0.2, 0.5, 0.4], { lambda: 0 }), ModelsError);
});
