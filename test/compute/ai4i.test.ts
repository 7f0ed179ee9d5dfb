/**
 * The proof on real data (issue 3): AI4I 2020 split into three plants by product type (L, M, H),
 * encrypted at the plants under a collective key of the three plants and the machine builder
 * (BGV_AGG_8192, secure parameters), pooled and computed on ciphertexts, revealed to the builder by
 * public-key switch with flooding — and the revealed moments equal the plaintext moments of the
 * same quantised values exactly. Models fitted from them therefore equal the plaintext fits, and
 * against independent float64 implementations on unquantised values (test/models/fixtures/
 * reference.ts, no src/models code) coefficients agree within 1e-3 relative, class decisions on
 * ≥ 99.9 % of rows, and R² and AUC to 3 decimals.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { computeFederation, fillLake, type ComputeFixture } from './fixture.ts';
import {
  anomalySchema, classificationSchema, failureLabel, loadAi4i, PLANTS, processRow, regressionRow, regressionSchema, type Ai4iRecord,
} from '../models/fixtures/ai4i.ts';
import { centredScatter, columnMeans, gaussInverse, gaussSolve, pairwiseAuc, relDiff } from '../models/fixtures/reference.ts';
import { quantiseDataset, type DatasetSchema, type QuantisedDataset } from '../../src/models/schema.ts';
import { computeMoments, type Moments } from '../../src/models/moments.ts';
import { evaluateRidge, fitRidge, ridgeCoefficients } from '../../src/models/ridge.ts';
import { evaluateDiscriminant, fitDiscriminant, predictDiscriminant } from '../../src/models/discriminant.ts';
import { fitMahalanobis, predictMahalanobis } from '../../src/models/mahalanobis.ts';
import { planJob } from '../../src/compute/plan.ts';
import { aggregateJob } from '../../src/compute/aggregate.ts';
import { combineForReceiver, makeRevealShare, receiveMoments } from '../../src/compute/reveal.ts';
import { sumRevealInput } from '../../src/he/mhe/sum-input.ts';
import { ShareLedger } from '../../src/he/mhe/ledger.ts';

const GUARDS = { minPlants: 3, minRecords: 1000 };

describe('AI4I 2020 on ciphertexts: three plants, encrypted equals plaintext', () => {
  let f: ComputeFixture;
  const records = loadAi4i();

  /** Each plant's quantised records (the edge's view). */
  const byPlant = (schema: DatasetSchema, row: (r: Ai4iRecord) => number[], label?: (r: Ai4iRecord) => number | string): Map<string, QuantisedDataset> =>
    new Map(PLANTS.map((p) => {
      const mine = records.filter((r) => r.plant === p);
      return [p, quantiseDataset(schema, mine.map(row), label === undefined ? undefined : mine.map(label))];
    }));

  /** Encrypt at the plants, aggregate in the cloud, reveal to the builder (key holder 4). */
  async function encryptedMoments(schema: DatasetSchema, plants: Map<string, QuantisedDataset>, label: boolean): Promise<Moments> {
    const e = f.engine;
    const lake = fillLake(f, schema, plants, e.n, 'ai4i');
    const plan = planJob(e, schema, { features: schema.features.map((x) => x.name), label }, lake.refs, GUARDS);
    assert.equal(plan.records, 10_000);
    assert.deepEqual(plan.plants, ['H', 'L', 'M']);
    const accs = await aggregateJob(e, plan, { threads: 2, relinKeys: f.relinKeys, load: lake.load });
    const input = sumRevealInput(e, accs);
    using builderSk = e.generateSecretKey();
    using builderPk = e.publicKeyFor(builderSk);
    const request = { jobId: `ai4i-${schema.features.length}-${label}`, plan, input, receiver: builderPk, parties: f.parties.length };
    const shares = f.parties.map((s) => makeRevealShare(e, s, request, GUARDS, new ShareLedger()));
    using switched = combineForReceiver(e, input, shares);
    for (const ct of accs) ct[Symbol.dispose]();
    return receiveMoments(e, schema, plan, switched, builderSk);
  }

  before(async () => {
    f = await computeFederation(4, 'BGV_AGG_8192');
  });

  test('regression (torque from temperatures, speed, wear): moments exact, ridge as the independent fit', async () => {
    const schema = regressionSchema;
    const plants = byPlant(schema, regressionRow, (r) => r.torque);
    const moments = await encryptedMoments(schema, plants, true);
    const all = [...plants.values()];
    assert.deepEqual(moments, computeMoments(schema, { x: all.flatMap((d) => d.x), y: all.flatMap((d) => d.y!) }));
    assert.deepEqual(fitRidge(schema, moments), fitRidge(schema, computeMoments(schema, { x: all.flatMap((d) => d.x), y: all.flatMap((d) => d.y!) })));

    // Independent float64 ridge on unquantised rows: standardise, normal equations, Gaussian elimination.
    const model = fitRidge(schema, moments);
    const rows = records.map(regressionRow);
    const y = records.map((r) => r.torque);
    const n = rows.length;
    const mean = columnMeans(rows);
    const scatter = centredScatter(rows, mean);
    const sd = scatter.map((r, j) => Math.sqrt(r[j] / n));
    const yMean = y.reduce((a, b) => a + b, 0) / n;
    const corr = scatter.map((r, j) => r.map((v, k) => v / (sd[j] * sd[k]) + (j === k ? model.lambda : 0)));
    const rhs = mean.map((_, j) => rows.reduce((a, r, i) => a + ((r[j] - mean[j]) / sd[j]) * (y[i] - yMean), 0));
    const weights = gaussSolve(corr, rhs).map((b, j) => b / sd[j]);
    const ours = ridgeCoefficients(model);
    weights.forEach((w, j) => assert.ok(relDiff(ours.weights[j], w) < 1e-3, `weight ${j}: ${ours.weights[j]} vs ${w}`));
    const intercept = yMean - weights.reduce((a, w, j) => a + w * mean[j], 0);
    const pred = rows.map((r) => intercept + r.reduce((a, v, j) => a + v * weights[j], 0));
    const refR2 = 1 - y.reduce((a, v, i) => a + (v - pred[i]) ** 2, 0) / y.reduce((a, v) => a + (v - yMean) ** 2, 0);
    assert.equal(evaluateRidge(model, rows, y).r2.toFixed(3), refR2.toFixed(3));
  });

  test('classification (machine failure, LDA): per-class moments exact, decisions and AUC as the independent fit', async () => {
    const schema = classificationSchema;
    const plants = byPlant(schema, processRow, failureLabel);
    const moments = await encryptedMoments(schema, plants, true);
    const all = [...plants.values()];
    assert.deepEqual(moments, computeMoments(schema, { x: all.flatMap((d) => d.x), y: all.flatMap((d) => d.y!) }));

    // Independent LDA on unquantised rows: class means, pooled covariance, Gauss–Jordan inverse.
    const lda = fitDiscriminant(schema, moments);
    const rows = records.map(processRow);
    const y = records.map((r) => (r.failure ? 1 : 0));
    const n = rows.length;
    const stats = [0, 1].map((k) => {
      const mine = rows.filter((_, i) => y[i] === k);
      const mean = columnMeans(mine);
      return { n: mine.length, mean, scatter: centredScatter(mine, mean) };
    });
    const d = rows[0].length;
    const pooled = Array.from({ length: d }, (_, j) => Array.from({ length: d }, (_, l) => (stats[0].scatter[j][l] + stats[1].scatter[j][l]) / (n - 2)));
    const inv = gaussInverse(pooled);
    const score = (r: number[]): number[] => stats.map((s) => {
      const diff = r.map((v, j) => v - s.mean[j]);
      let q = 0;
      for (let j = 0; j < d; j++) for (let l = 0; l < d; l++) q += diff[j] * inv[j][l] * diff[l];
      return -0.5 * q + Math.log(s.n / n);
    });
    const ref = rows.map(score);
    const refClass = ref.map((s) => (s[1] > s[0] ? 1 : 0));
    const ours = predictDiscriminant(lda, rows);
    const same = ours.index.filter((k, i) => k === refClass[i]).length / n;
    assert.ok(same >= 0.999, `identical decisions on ${same}`);
    const refAuc = pairwiseAuc(ref.map((s) => 1 / (1 + Math.exp(s[0] - s[1]))), y.map((v) => v === 1));
    assert.equal(evaluateDiscriminant(lda, rows, records.map(failureLabel)).auc!.toFixed(3), refAuc.toFixed(3));
  });

  test('anomaly detection (Mahalanobis on the process variables, the label not revealed): moments exact, distances as the independent fit', async () => {
    // The classification dataset without its label: the pooled moments of the class blocks.
    const plants = byPlant(classificationSchema, processRow, failureLabel);
    const moments = await encryptedMoments(classificationSchema, plants, false);
    const all = [...plants.values()];
    const plain = computeMoments(anomalySchema, { x: all.flatMap((d) => d.x) });
    assert.deepEqual(moments, plain);
    const model = fitMahalanobis(anomalySchema, moments);
    assert.deepEqual(model, fitMahalanobis(anomalySchema, plain));
    // Independent: covariance of the unquantised rows (n − 1), its inverse, the distance of each row.
    const rows = records.map(processRow);
    const mean = columnMeans(rows);
    const cov = centredScatter(rows, mean).map((r) => r.map((v) => v / (rows.length - 1)));
    const inv = gaussInverse(cov);
    const d2 = (r: number[]): number => {
      const diff = r.map((v, j) => v - mean[j]);
      return diff.reduce((a, x, j) => a + x * diff.reduce((b, z, l) => b + inv[j][l] * z, 0), 0);
    };
    const ours = predictMahalanobis(model, rows);
    const ref = rows.map(d2);
    const worst = ref.reduce((w, r, i) => Math.max(w, relDiff(ours.score[i], r)), 0);
    assert.ok(worst < 1e-3, `squared distances differ by ${worst} relative`);
    const same = ours.anomaly.filter((a, i) => a === ref[i] > model.threshold).length / rows.length;
    assert.ok(same >= 0.999, `identical decisions on ${same}`);
  });
});
