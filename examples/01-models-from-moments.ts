/**
 * Example 01 — models from moments.
 *
 * hedge never shows the cloud a record. What a quorum of key holders reveals for a training job is
 * a handful of exact aggregates — counts, sums, the Gram matrix XᵀX, Xᵀy, per-class moments —
 * and everything the machine builder gets is fitted from those. This walkthrough shows that half
 * in plaintext: the same integers the encrypted path (BGV) reveals are computed here directly from
 * the rows, so every number printed is the number the encrypted job would produce.
 *
 * Run: node examples/01-models-from-moments.ts   (on the pinned Node: npx node …)
 */
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import {
  combineMoments, computeMoments, createSchema, evaluateDiscriminant, evaluateMahalanobis, evaluateRidge,
  fitDiscriminant, fitMahalanobis, fitPca, fitRidge, modelFromArtifact, modelToArtifact, modelToOnnx,
  momentsFromJSON, momentsToJSON, predictRidge, quantiseDataset, ridgeCoefficients, type ArtifactMeta,
} from '../src/models/index.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const say = (s = ''): void => console.log(s);

// ─── 1. Three plants and their data ──────────────────────────────────────────────────────────
// The AI4I 2020 predictive-maintenance data: 10,000 milling records. We pretend that each product
// type (L, M, H) is made in a different customer plant. Each plant keeps its rows; only
// encrypted aggregates ever leave it.
const lines = readFileSync(path.resolve(repoRoot, '../shared/data/ai4i2020.csv'), 'utf8').trim().split(/\r?\n/).slice(1);
const records = lines.map((l) => {
  const f = l.split(',');
  return { plant: f[2], air: +f[3], process: +f[4], rpm: +f[5], torque: +f[6], wear: +f[7], failed: f[8] === '1' };
});
say('1. Plants:');
for (const p of ['L', 'M', 'H']) say(`   plant ${p}: ${records.filter((r) => r.plant === p).length} records`);

// ─── 2. A schema everyone agrees on ──────────────────────────────────────────────────────────
// Why: homomorphic encryption (BGV) computes exactly on integers. So every value is first mapped
// into [-1, 1] with a public range, x' = (2x − hi − lo)/(hi − lo), and then rounded to a fixed
// step, q = round(x'·2^14). The ranges are part of the dataset's contract; the edge rejects
// values outside them (a cheap defence against poisoned data).
const features = [
  { name: 'air_temperature', lo: 295, hi: 305, unit: 'K' },
  { name: 'process_temperature', lo: 305, hi: 315, unit: 'K' },
  { name: 'rotational_speed', lo: 1100, hi: 2900, unit: 'rpm' },
  { name: 'tool_wear', lo: 0, hi: 260, unit: 'min' },
];
const torqueSchema = createSchema({ features, label: { kind: 'continuous', name: 'torque', lo: 0, hi: 80, unit: 'Nm' } });
say(`\n2. Schema: ${torqueSchema.features.map((f) => `${f.name} [${f.lo}, ${f.hi}]`).join(', ')}; scale ${torqueSchema.scale}`);

// ─── 3. Each plant's moments, then the pooled moments ────────────────────────────────────────
// Why: moments add up. Each plant's (encrypted) contribution is summed by the cloud; what is
// revealed is only the pooled total. Here we compute each plant's moments in plaintext and add
// them — the encrypted path yields exactly these integers.
const regRow = (r: (typeof records)[number]) => [r.air, r.process, r.rpm, r.wear];
const perPlant = ['L', 'M', 'H'].map((p) => {
  const mine = records.filter((r) => r.plant === p);
  return computeMoments(torqueSchema, quantiseDataset(torqueSchema, mine.map(regRow), mine.map((r) => r.torque)));
});
const pooled = perPlant.reduce(combineMoments);
say(`\n3. Pooled moments: count ${pooled.count}, Σq(speed) = ${pooled.sum[2]}, Σq(speed)² = ${pooled.gram[2][2]}`);
// The moments travel as JSON with every integer as a decimal string, so nothing is rounded.
const wire = JSON.stringify(momentsToJSON(pooled));
say(`   on the wire: ${wire.length} bytes of JSON — the whole dataset, as far as training is concerned`);
const revealed = momentsFromJSON(JSON.parse(wire));

// ─── 4. Ridge regression: torque from speed, temperatures and wear ───────────────────────────
// Why ridge: the temperatures are strongly correlated, and a small penalty keeps coefficients
// stable. λ is picked by generalized cross-validation, which needs only the eigenvalues of the
// standardised XᵀX and Xᵀy — both in the moments. No row is touched.
const ridge = fitRidge(torqueSchema, revealed);
const { weights, intercept } = ridgeCoefficients(ridge);
say(`\n4. Ridge: λ = ${ridge.lambda.toFixed(3)} (GCV), in-sample R² from moments = ${ridge.metrics.r2.toFixed(4)}`);
features.forEach((f, j) => say(`   ${f.name.padEnd(20)} ${weights[j].toExponential(3)} Nm per ${f.unit}`));
say(`   intercept            ${intercept.toFixed(3)} Nm`);
// Checked at a plant, on its own rows (this is what a plant's shadow check would do):
const plantL = records.filter((r) => r.plant === 'L');
say(`   plant L checks it on its rows: R² = ${evaluateRidge(ridge, plantL.map(regRow), plantL.map((r) => r.torque)).r2.toFixed(4)}`);

// ─── 5. Classifying machine failures (LDA and QDA) ───────────────────────────────────────────
// Why per-class moments: a discriminant classifier needs, per class, a count, a mean and a
// covariance — again sums and Gram matrices, one set per class.
const procRow = (r: (typeof records)[number]) => [r.air, r.process, r.rpm, r.torque, r.wear];
const allFeatures = [...features.slice(0, 3), { name: 'torque', lo: 0, hi: 80, unit: 'Nm' }, features[3]];
const failSchema = createSchema({ features: allFeatures, label: { kind: 'categorical', name: 'machine_failure', classes: ['ok', 'failure'] } });
const failMoments = computeMoments(failSchema, quantiseDataset(failSchema, records.map(procRow), records.map((r) => (r.failed ? 'failure' : 'ok'))));
const rows = records.map(procRow);
const truth = records.map((r) => (r.failed ? 'failure' : 'ok'));
for (const kind of ['linear', 'quadratic'] as const) {
  const model = fitDiscriminant(failSchema, failMoments, { kind, priors: 'uniform' });
  const ev = evaluateDiscriminant(model, rows, truth);
  say(`\n5. ${kind === 'linear' ? 'LDA' : 'QDA'} (uniform priors): accuracy ${ev.accuracy.toFixed(4)}, AUC ${ev.auc!.toFixed(4)}, failures caught ${ev.confusion[1][1]} of ${ev.confusion[1][0] + ev.confusion[1][1]}`);
}

// ─── 6. Anomaly detection: Mahalanobis distance and PCA ──────────────────────────────────────
// Why: most plants have few labelled failures. An unsupervised detector learns what normal
// operation looks like — a mean and a covariance — and flags records far from it. The threshold
// is a chi-square quantile: under normality a fraction α of normal records would exceed it.
const anomalySchema = createSchema({ features: allFeatures });
const anomalyMoments = computeMoments(anomalySchema, quantiseDataset(anomalySchema, rows));
const detector = fitMahalanobis(anomalySchema, anomalyMoments, { alpha: 0.01 });
const ev = evaluateMahalanobis(detector, rows, records.map((r) => r.failed));
say(`\n6. Mahalanobis: threshold χ²₅(0.99) = ${detector.threshold.toFixed(3)}, flagged ${(100 * ev.flaggedRate).toFixed(2)} %, AUC vs failures ${ev.auc!.toFixed(4)}`);
const pca = fitPca(anomalySchema, anomalyMoments, { varianceToExplain: 0.9 });
say(`   PCA: ${pca.metrics.components} components explain ${(100 * pca.metrics.explainedVariance).toFixed(1)} % of the variance`);

// ─── 7. The artifact: what the registry stores and signs ─────────────────────────────────────
// Why: a model is only trustworthy with its lineage — which job, which plants, which batches (by
// hash). The artifact is versioned JSON and carries a digest of that lineage.
const meta: ArtifactMeta = {
  modelId: 'ai4i-torque',
  modelVersion: 1,
  lineage: { jobId: 'job-example-01', plants: ['plant-L', 'plant-M', 'plant-H'], batchHashes: ['sha256:…L', 'sha256:…M', 'sha256:…H'] },
};
const artifact = JSON.stringify(modelToArtifact(ridge, meta));
const { model: restored } = modelFromArtifact(JSON.parse(artifact));
if (restored.family !== 'ridge') throw new Error('expected the ridge model back');
say(`\n7. Artifact: ${artifact.length} bytes, lineage ${JSON.parse(artifact).lineageDigest.slice(0, 23)}…`);

// ─── 8. ONNX: the same model at the edge ─────────────────────────────────────────────────────
// Why: the edge runs models offline with a standard runtime. The export computes in float64 —
// pre-scaling, standardising, the model — so onnxruntime reproduces predict() to round-off.
const session = await ort.InferenceSession.create(modelToOnnx(restored, meta));
const sample = plantL.slice(0, 5).map(regRow);
const out = await session.run({ features: new ort.Tensor('float64', Float64Array.from(sample.flat()), [sample.length, 4]) });
const onnx = Array.from(out.prediction.data as Float64Array);
const ours = predictRidge(restored, sample);
const worst = Math.max(...onnx.map((v, i) => Math.abs(v - ours[i])));
say(`\n8. ONNX (onnxruntime-node): ${onnx.map((v) => v.toFixed(2)).join(', ')} Nm; largest difference to predict() ${worst.toExponential(1)}`);
if (!(worst < 1e-6)) throw new Error('ONNX and predict() disagree');
