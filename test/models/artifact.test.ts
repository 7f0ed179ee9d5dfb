import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { fittedCases, meta } from './fixtures/fitted.ts';
import { canonicalJson, lineageDigest } from '../../src/models/artifact.ts';
import { modelFromArtifact, modelToArtifact, type Model } from '../../src/models/model.ts';
import { predictRidge } from '../../src/models/ridge.ts';
import { predictDiscriminant } from '../../src/models/discriminant.ts';
import { predictMahalanobis } from '../../src/models/mahalanobis.ts';
import { predictPca } from '../../src/models/pca.ts';
import { MODELS_ERR } from '../../src/models/errors.ts';

const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

function predictAny(model: Model, rows: number[][]): unknown {
  switch (model.family) {
    case 'ridge': return predictRidge(model, rows);
    case 'discriminant': return predictDiscriminant(model, rows);
    case 'mahalanobis': return predictMahalanobis(model, rows);
    case 'pca': return predictPca(model, rows);
  }
}

test('lineage digest is SHA-256 of canonical JSON, independent of key order', () => {
  assert.equal(canonicalJson({ b: [1, { d: 'x', c: null }], a: true }), '{"a":true,"b":[1,{"c":null,"d":"x"}]}');
  const expected = `sha256:${createHash('sha256').update(canonicalJson(meta.lineage)).digest('hex')}`;
  assert.equal(lineageDigest(meta.lineage), expected);
  const reordered = { codeVersion: 'hedge 0.1.0', batchHashes: meta.lineage.batchHashes, plants: meta.lineage.plants, jobId: 'job-0001' };
  assert.equal(lineageDigest(reordered), expected);
  assert.notEqual(lineageDigest({ ...meta.lineage, jobId: 'job-0002' }), expected);
});

for (const { name, model, rows } of fittedCases) {
  test(`${name}: the JSON artifact round-trips to a model that predicts the same`, () => {
    const text = JSON.stringify(modelToArtifact(model, { ...meta, evaluation: { holdoutScore: 0.5 } }));
    const json = JSON.parse(text);
    assert.equal(json.format, 'hedge.model');
    assert.equal(json.formatVersion, 1);
    assert.equal(json.family, model.family);
    assert.equal(json.quantisation.scale, 16384);
    assert.equal(json.lineageDigest, lineageDigest(meta.lineage));
    assert.deepEqual(json.evaluation, { holdoutScore: 0.5 });
    assert.deepEqual(json.schema, JSON.parse(JSON.stringify(model.schema)));
    const back = modelFromArtifact(json);
    assert.deepEqual(back.meta.lineage, meta.lineage);
    assert.equal(back.meta.modelVersion, 3);
    assert.deepEqual(back.model, JSON.parse(JSON.stringify(model)), 'all parameters survive exactly');
    assert.deepEqual(predictAny(back.model, rows.slice(0, 200)), predictAny(model, rows.slice(0, 200)));
  });
}

test('artifacts: tampering and malformed input give MODELS_ERR_INVALID_ARTIFACT', () => {
  const { model } = fittedCases[1];
  const good = JSON.parse(JSON.stringify(modelToArtifact(model, meta)));
  const mutate = (f: (a: Record<string, any>) => void) => {
    const a = structuredClone(good);
    f(a);
    return a;
  };
  const bad = [
    null, 'text', mutate((a) => { a.format = 'onnx'; }), mutate((a) => { a.formatVersion = 2; }),
    mutate((a) => { a.family = 'forest'; }), mutate((a) => { a.lineage.plants.push('plant-X'); }),
    mutate((a) => { a.parameters.weights[0].pop(); }), mutate((a) => { a.parameters.priors = [0, 1]; }),
    mutate((a) => { a.standardisation.sd[0] = -1; }), mutate((a) => { a.parameters.biases[0] = 'NaN'; }),
    mutate((a) => { a.schema.features[0].hi = a.schema.features[0].lo; }), mutate((a) => { a.quantisation.scale = 2; }),
    mutate((a) => { a.parameters.classes = ['a', 'b']; }), mutate((a) => { a.metrics.count = 'many'; }),
    mutate((a) => { a.modelVersion = 0; }), mutate((a) => { a.parameters.kind = 'cubic'; }),
  ];
  bad.forEach((a, i) => assert.throws(() => modelFromArtifact(a), code(MODELS_ERR.INVALID_ARTIFACT), `case ${i}`));
  assert.throws(() => modelToArtifact(model, { ...meta, modelVersion: 1.5 }), RangeError);
  assert.throws(() => modelToArtifact(model, { ...meta, lineage: { ...meta.lineage, plants: 'L' as never } }), TypeError);
  assert.throws(() => modelToArtifact(model, { ...meta, evaluation: { auc: Number.NaN } }), RangeError);
});

test('artifact: training moments ship inside it, round-trip exactly, and must match the model', async () => {
  const { createSchema: cs, quantiseDataset: qd } = await import('../../src/models/schema.ts');
  const { computeMoments: cm } = await import('../../src/models/moments.ts');
  const { fitMahalanobis } = await import('../../src/models/mahalanobis.ts');
  const { modelToArtifact, modelFromArtifact } = await import('../../src/models/model.ts');
  const schema = cs({ features: [{ name: 'a', lo: 0, hi: 1 }, { name: 'b', lo: 0, hi: 1 }] });
  const moments = cm(schema, qd(schema, Array.from({ length: 50 }, (_, i) => [(i % 10) / 10, ((i * 7) % 10) / 10])));
  const model = fitMahalanobis(schema, moments);
  const meta = { modelId: 'm', modelVersion: 1, lineage: { jobId: 'j', plants: ['p'], batchHashes: ['h'] }, reference: moments };
  const json = JSON.parse(JSON.stringify(modelToArtifact(model, meta)));
  assert.deepEqual(modelFromArtifact(json).meta.reference, moments);
  const other = cm(cs({ features: [{ name: 'a', lo: 0, hi: 1 }] }), qd(cs({ features: [{ name: 'a', lo: 0, hi: 1 }] }), [[0.5], [0.2]]));
  assert.throws(() => modelToArtifact(model, { ...meta, reference: other }), (e: unknown) => (e as { code?: string }).code === 'MODELS_ERR_MISMATCH');
  json.reference.count = '-1';
  assert.throws(() => modelFromArtifact(json), (e: unknown) => (e as { code?: string }).code === 'MODELS_ERR_INVALID_ARTIFACT');
});
