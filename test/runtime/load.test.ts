import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cases, jsonBytes, metaFor, onnxBytes } from './fixtures.ts';
import { loadModel, RUNTIME_ERR, RuntimeError, RuntimeTypeError, type Prediction } from '../../src/runtime/index.ts';
import { predictRidge } from '../../src/models/ridge.ts';
import { predictDiscriminant } from '../../src/models/discriminant.ts';
import { predictMahalanobis } from '../../src/models/mahalanobis.ts';
import { predictPca } from '../../src/models/pca.ts';
import { lineageDigest } from '../../src/models/artifact.ts';
import { decodeModelProto, encodeModelProto } from '../../src/models/onnx/model-proto.ts';
import type { Model } from '../../src/models/model.ts';

const meta = metaFor('ai4i-test', 4);
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const isCode = (code: string) => (e: unknown) => e instanceof RuntimeError && e.code === code && /^cannot /.test(e.message);

/** What predict… of src/models says for row i, as a Prediction. */
function expected(model: Model, row: number[]): Prediction {
  switch (model.family) {
    case 'ridge': return { kind: 'value', value: predictRidge(model, [row])[0] };
    case 'discriminant': {
      const p = predictDiscriminant(model, [row]);
      return { kind: 'class', label: p.labels[0], index: p.index[0], probabilities: p.probabilities[0] };
    }
    case 'mahalanobis': {
      const p = predictMahalanobis(model, [row]);
      return { kind: 'anomaly', anomaly: p.anomaly[0], scores: { d2: p.score[0] } };
    }
    case 'pca': {
      const p = predictPca(model, [row]);
      return { kind: 'anomaly', anomaly: p.anomaly[0], scores: { t2: p.t2[0], spe: p.spe[0] } };
    }
  }
}

function assertClose(got: Prediction, want: Prediction, tol: number, what: string): void {
  assert.equal(got.kind, want.kind, what);
  const nums = (p: Prediction): number[] => p.kind === 'value' ? [p.value] : p.kind === 'class' ? [p.index, ...p.probabilities] : [Number(p.anomaly), ...Object.values(p.scores)];
  const g = nums(got);
  const w = nums(want);
  assert.equal(g.length, w.length, what);
  g.forEach((v, i) => assert.ok(Math.abs(v - w[i]) <= tol * Math.max(1, Math.abs(w[i])), `${what}[${i}]: ${v} vs ${w[i]}`));
  if (got.kind === 'class' && want.kind === 'class') assert.equal(got.label, want.label);
}

for (const c of cases) {
  test(`${c.name}: JSON and ONNX artifacts load into one interface and predict as src/models does`, async () => {
    const json = jsonBytes(c.model, meta);
    const onnx = onnxBytes(c.model, meta);
    const a = await loadModel(json, { expect: { sha256: sha(json), modelId: 'ai4i-test', modelVersion: 4 } });
    const b = await loadModel(onnx, { expect: { sha256: sha(onnx), modelId: 'ai4i-test', modelVersion: 4 } });
    try {
      for (const m of [a, b]) {
        assert.equal(m.modelId, 'ai4i-test');
        assert.equal(m.modelVersion, 4);
        assert.equal(m.family, c.model.family);
        assert.equal(m.lineageDigest, lineageDigest(meta.lineage));
        assert.deepEqual(m.schema, c.model.schema);
      }
      assert.equal(a.source, 'json');
      assert.equal(b.source, 'onnx');
      assert.equal(a.sha256, sha(json));
      assert.deepEqual(b.standardisation, a.standardisation, 'ONNX initializers carry the same standardisation');
      assert.deepEqual(b.classes, a.classes);
      for (let i = 0; i < c.rows.length; i += 97) {
        const want = expected(c.model, c.rows[i]);
        assert.deepEqual(await a.predict(c.rows[i]), want, `json row ${i}`);
        assertClose(await b.predict(c.rows[i]), want, 1e-6, `onnx row ${i}`);
      }
      await assert.rejects(a.predict([1, 2]), RangeError);
      await assert.rejects(b.predict('x' as never), RuntimeTypeError);
    } finally {
      await a.close();
      await b.close();
    }
  });
}

test('a tampered JSON artifact is refused: digest mismatch with the verified hash, lineage digest without', async () => {
  const model = cases[0].model;
  const bytes = jsonBytes(model, meta);
  const artifact = JSON.parse(new TextDecoder().decode(bytes));
  artifact.parameters.coefficients[0] *= 1.5;
  const tampered = new TextEncoder().encode(JSON.stringify(artifact));
  await assert.rejects(loadModel(tampered, { expect: { sha256: sha(bytes) } }), isCode(RUNTIME_ERR.DIGEST_MISMATCH));
  const lineage = JSON.parse(new TextDecoder().decode(bytes));
  lineage.lineage.plants.push('plant-X');
  await assert.rejects(loadModel(JSON.stringify(lineage)), (e: unknown) => isCode(RUNTIME_ERR.INVALID_ARTIFACT)(e) && /lineageDigest/.test((e as Error).message) && (e as Error).cause !== undefined);
});

test('a tampered ONNX model is refused against the verified hash', async () => {
  const bytes = onnxBytes(cases[1].model, meta);
  const tampered = Uint8Array.from(bytes);
  tampered[tampered.length - 20] ^= 1;
  await assert.rejects(loadModel(tampered, { expect: { sha256: sha(bytes) } }), isCode(RUNTIME_ERR.DIGEST_MISMATCH));
});

test('a wrong format version is refused with RUNTIME_ERR_UNSUPPORTED_VERSION (JSON and ONNX)', async () => {
  const artifact = JSON.parse(new TextDecoder().decode(jsonBytes(cases[0].model, meta)));
  artifact.formatVersion = 2;
  await assert.rejects(loadModel(JSON.stringify(artifact)), isCode(RUNTIME_ERR.UNSUPPORTED_VERSION));
  const proto = decodeModelProto(onnxBytes(cases[0].model, meta));
  await assert.rejects(loadModel(encodeModelProto({ ...proto, producer_version: 'hedge-models 2' })), isCode(RUNTIME_ERR.UNSUPPORTED_VERSION));
  await assert.rejects(loadModel(encodeModelProto({ ...proto, opset_import: [{ version: 21 }] })), isCode(RUNTIME_ERR.UNSUPPORTED_VERSION));
});

test('an artifact of another version or model than delivery said is refused', async () => {
  const bytes = jsonBytes(cases[0].model, meta);
  await assert.rejects(loadModel(bytes, { expect: { modelVersion: 5 } }), isCode(RUNTIME_ERR.DIGEST_MISMATCH));
  await assert.rejects(loadModel(onnxBytes(cases[0].model, meta), { expect: { modelId: 'other' } }), isCode(RUNTIME_ERR.DIGEST_MISMATCH));
});

test('malformed artifacts give RUNTIME_ERR_INVALID_ARTIFACT, bad arguments a TypeError / RangeError', async () => {
  const invalid = isCode(RUNTIME_ERR.INVALID_ARTIFACT);
  const artifact = JSON.parse(new TextDecoder().decode(jsonBytes(cases[3].model, meta)));
  const bad: (Uint8Array | string)[] = [
    '{ not json', '[]', '{}', JSON.stringify({ ...artifact, format: 'other' }), JSON.stringify({ ...artifact, family: 'forest' }),
    JSON.stringify({ ...artifact, parameters: { ...artifact.parameters, threshold: -1 } }),
    new Uint8Array([0x08, 0x08, 0xff, 0xff]), new Uint8Array(0), onnxBytes(cases[3].model, meta).subarray(0, 200),
  ];
  for (const b of bad) await assert.rejects(loadModel(b), invalid, typeof b === 'string' ? b.slice(0, 40) : `bytes ${b.length}`);
  const proto = decodeModelProto(onnxBytes(cases[3].model, meta));
  const props = (proto.metadata_props as { key: string; value: string }[]).filter((p) => p.key !== 'hedge.schema');
  await assert.rejects(loadModel(encodeModelProto({ ...proto, metadata_props: props })), invalid);
  await assert.rejects(loadModel(encodeModelProto({ ...proto, producer_name: 'pytorch' })), invalid);
  await assert.rejects(loadModel(42 as never), RuntimeTypeError);
  await assert.rejects(loadModel('{}', { expect: { modelVersion: 0 } }), RangeError);
});
