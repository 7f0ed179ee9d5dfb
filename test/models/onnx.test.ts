import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { fittedCases, meta } from './fixtures/fitted.ts';
import { decodeModelProto, ONNX_OPSET } from '../../src/models/onnx/model-proto.ts';
import { modelToOnnx } from '../../src/models/onnx/export.ts';
import { lineageDigest } from '../../src/models/artifact.ts';
import { predictRidge } from '../../src/models/ridge.ts';
import { predictDiscriminant } from '../../src/models/discriminant.ts';
import { predictMahalanobis } from '../../src/models/mahalanobis.ts';
import { predictPca } from '../../src/models/pca.ts';
import type { Model } from '../../src/models/model.ts';

/** Runs an exported model in onnxruntime-node on raw rows. */
async function runOnnx(bytes: Uint8Array, rows: number[][]): Promise<ort.InferenceSession.OnnxValueMapType> {
  const session = await ort.InferenceSession.create(bytes);
  assert.deepEqual(session.inputNames, ['features']);
  const features = new ort.Tensor('float64', Float64Array.from(rows.flat()), [rows.length, rows[0].length]);
  return session.run({ features });
}

const TOL = 1e-6;
const close = (a: number, b: number) => Math.abs(a - b) <= TOL * Math.max(1, Math.abs(b));
const asNumbers = (t: ort.Tensor): number[] => Array.from(t.data as Float64Array);

/** What `predict…` gives, flattened to the ONNX output names. */
function expected(model: Model, rows: number[][]): Record<string, number[] | boolean[]> {
  switch (model.family) {
    case 'ridge': return { prediction: predictRidge(model, rows) };
    case 'discriminant': {
      const p = predictDiscriminant(model, rows);
      return { label: p.index, probabilities: p.probabilities.flat() };
    }
    case 'mahalanobis': {
      const p = predictMahalanobis(model, rows);
      return { score: p.score, anomaly: p.anomaly };
    }
    case 'pca': {
      const p = predictPca(model, rows);
      return { scores: p.scores.flat(), t2: p.t2, spe: p.spe, anomaly: p.anomaly };
    }
  }
}

for (const { name, model, rows } of fittedCases) {
  test(`${name}: ONNX predictions in onnxruntime-node match predict within 1e-6`, async () => {
    const out = await runOnnx(modelToOnnx(model, meta), rows);
    for (const [key, want] of Object.entries(expected(model, rows))) {
      const got = out[key];
      assert.ok(got, `output ${key}`);
      if (got.type === 'bool') {
        assert.deepEqual(Array.from(got.data as Uint8Array, (v) => v === 1), want, `${key}: decisions`);
      } else if (got.type === 'int64') {
        assert.deepEqual(Array.from(got.data as BigInt64Array, Number), want);
      } else {
        const g = asNumbers(got);
        assert.equal(g.length, want.length);
        const bad = g.findIndex((v, i) => !close(v, want[i] as number));
        assert.equal(bad, -1, `${key}[${bad}]: ${g[bad]} vs ${want[bad]}`);
      }
    }
  });
}

test('ONNX metadata carries model id, version and lineage digest', () => {
  const { model } = fittedCases[1];
  const proto = decodeModelProto(modelToOnnx(model, meta));
  assert.equal(proto.ir_version, 8);
  assert.equal(proto.model_version, 3);
  assert.deepEqual(proto.opset_import, [{ version: ONNX_OPSET }]);
  const props = Object.fromEntries((proto.metadata_props as { key: string; value: string }[]).map((p) => [p.key, p.value]));
  assert.equal(props['hedge.model_id'], 'ai4i-test');
  assert.equal(props['hedge.model_version'], '3');
  assert.equal(props['hedge.lineage_digest'], lineageDigest(meta.lineage));
  assert.equal(props['hedge.family'], 'discriminant');
  assert.deepEqual(JSON.parse(props['hedge.classes']), ['ok', 'failure']);
  assert.deepEqual(JSON.parse(props['hedge.schema']).features.map((f: { name: string }) => f.name), model.schema.features.map((f) => f.name));
});

test('ONNX export rejects malformed meta', () => {
  const { model } = fittedCases[0];
  assert.throws(() => modelToOnnx(model, { ...meta, modelId: '' }), RangeError);
  assert.throws(() => modelToOnnx(model, { ...meta, lineage: undefined as never }), TypeError);
});
