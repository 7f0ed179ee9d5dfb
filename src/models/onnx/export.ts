/**
 * ONNX export of every model family. Each graph takes the raw features, `features` (float64,
 * [N, d], schema order), applies the same pre-scaling and standardisation as `predict…`, and
 * computes the family's outputs in float64, so onnxruntime reproduces `predict…` to round-off:
 *
 * | family | outputs |
 * |---|---|
 * | ridge | `prediction` [N] (label units) |
 * | discriminant | `label` int64 [N] (class index), `probabilities` [N, K], `scores` [N, K] (δ_k) |
 * | mahalanobis | `score` [N] (d²), `anomaly` bool [N] |
 * | pca | `scores` [N, k], `t2` [N], `spe` [N], `anomaly` bool [N] |
 *
 * `metadata_props` carry `hedge.model_id`, `hedge.model_version`, `hedge.lineage_digest`,
 * `hedge.family`, `hedge.schema` (JSON) and, for classifiers, `hedge.classes` (JSON).
 * @module
 */
import { checkMeta, lineageDigest, type ArtifactMeta } from '../artifact.ts';
import type { DiscriminantModel } from '../discriminant.ts';
import type { MahalanobisModel } from '../mahalanobis.ts';
import type { PcaModel } from '../pca.ts';
import type { RidgeModel } from '../ridge.ts';
import { MODELS_ERR, ModelsError } from '../errors.ts';
import { OnnxGraphBuilder, buildOnnxModel, type OnnxValue } from './graph.ts';

/** Version string written as the ONNX `producer_version`. */
export const ONNX_PRODUCER_VERSION = 'hedge-models 1';

type AnyModel = RidgeModel | DiscriminantModel | MahalanobisModel | PcaModel;

/**
 * Exports a fitted model as an ONNX model (bytes of a `ModelProto`, IR 8, opset 17, float64).
 *
 * @param model - a model of any family
 * @param meta - model id, version and lineage (its digest goes into `metadata_props`)
 * @returns the serialised ONNX model, ready for `InferenceSession.create(bytes)`
 * @throws TypeError / RangeError if `meta` is malformed
 * @throws ModelsError `MODELS_ERR_MISMATCH` for an unknown family
 * @example
 * ```ts
 * import * as ort from 'onnxruntime-node';
 * const session = await ort.InferenceSession.create(modelToOnnx(model, meta));
 * const out = await session.run({ features: new ort.Tensor('float64', Float64Array.from(rows.flat()), [rows.length, d]) });
 * ```
 */
export function modelToOnnx(model: AnyModel, meta: ArtifactMeta): Uint8Array {
  checkMeta('export onnx', meta);
  const b = new OnnxGraphBuilder();
  const d = model.schema.features.length;
  const input: OnnxValue = { name: 'features', type: 'double', shape: ['N', d], doc: `raw features: ${model.schema.features.map((f) => f.name).join(', ')}` };
  const z = b.standardise('features', model.schema, model.standardisation);
  let outputs: OnnxValue[];
  const extra: Record<string, string> = {};
  switch (model.family) {
    case 'ridge':
      outputs = ridgeGraph(b, z, model);
      break;
    case 'discriminant':
      outputs = discriminantGraph(b, z, model);
      extra['hedge.classes'] = JSON.stringify(model.classes);
      break;
    case 'mahalanobis':
      outputs = mahalanobisGraph(b, z, model);
      break;
    case 'pca':
      outputs = pcaGraph(b, z, model);
      break;
    default:
      throw new ModelsError(MODELS_ERR.MISMATCH, `cannot export onnx: unknown family ${String((model as { family?: unknown }).family)}`);
  }
  return buildOnnxModel(b, {
    graphName: `${model.family}_${meta.modelId}`,
    doc: `hedge ${model.family} model ${meta.modelId} v${meta.modelVersion}`,
    inputs: [input],
    outputs,
    modelVersion: meta.modelVersion,
    metadata: {
      'hedge.model_id': meta.modelId,
      'hedge.model_version': String(meta.modelVersion),
      'hedge.lineage_digest': lineageDigest(meta.lineage),
      'hedge.family': model.family,
      'hedge.schema': JSON.stringify(model.schema),
      ...extra,
    },
  }, ONNX_PRODUCER_VERSION);
}

function ridgeGraph(b: OnnxGraphBuilder, z: string, m: RidgeModel): OnnxValue[] {
  const label = m.schema.label;
  if (label?.kind !== 'continuous') throw new ModelsError(MODELS_ERR.MISMATCH, 'cannot export onnx: ridge model without a continuous label');
  const d = m.coefficients.length;
  const lin = b.node('MatMul', [z, b.double('coefficients', [d, 1], m.coefficients)]);
  const yp = b.node('Add', [lin, b.double('intercept', [1], [m.intercept])]);
  const scaled = b.node('Mul', [yp, b.double('label_half_range', [1], [(label.hi - label.lo) / 2])]);
  const y = b.node('Add', [scaled, b.double('label_mid', [1], [(label.hi + label.lo) / 2])]);
  b.node('Reshape', [y, b.int64('flat', [-1])], {}, 'prediction');
  return [{ name: 'prediction', type: 'double', shape: ['N'], doc: `${label.name} in label units` }];
}

function discriminantGraph(b: OnnxGraphBuilder, z: string, m: DiscriminantModel): OnnxValue[] {
  const K = m.classes.length;
  const d = m.schema.features.length;
  if (m.kind === 'linear') {
    const wt = Array.from({ length: d }, (_, j) => m.weights.map((w) => w[j])).flat();
    const lin = b.node('MatMul', [z, b.double('weights', [d, K], wt)]);
    b.node('Add', [lin, b.double('biases', [K], m.biases)], {}, 'scores');
  } else {
    // ‖zᵀA_k − m_kᵀA_k‖² for all k at once: Z·[A_1 … A_K] − [m_1ᵀA_1 … m_KᵀA_K], reshaped [N, K, d].
    const all: number[] = [];
    for (let j = 0; j < d; j++) for (let k = 0; k < K; k++) for (let c = 0; c < d; c++) all.push(m.factors[k][j][c]);
    const offsets: number[] = [];
    for (let k = 0; k < K; k++) {
      for (let c = 0; c < d; c++) offsets.push(m.means[k].reduce((a, mj, j) => a + mj * m.factors[k][j][c], 0));
    }
    const t = b.node('MatMul', [z, b.double('factors', [d, K * d], all)]);
    const diff = b.node('Sub', [t, b.double('factor_offsets', [K * d], offsets)]);
    const cube = b.node('Reshape', [diff, b.int64('per_class', [-1, K, d])]);
    const q = b.node('ReduceSumSquare', [cube], { axes: { ints: [2] }, keepdims: { int: 0 } });
    const half = b.node('Mul', [q, b.double('minus_half', [1], [-0.5])]);
    b.node('Add', [half, b.double('constants', [K], m.constants)], {}, 'scores');
  }
  b.node('Softmax', ['scores'], { axis: { int: 1 } }, 'probabilities');
  b.node('ArgMax', ['scores'], { axis: { int: 1 }, keepdims: { int: 0 } }, 'label');
  return [
    { name: 'label', type: 'int64', shape: ['N'], doc: `class index into ${JSON.stringify(m.classes)}` },
    { name: 'probabilities', type: 'double', shape: ['N', K] },
    { name: 'scores', type: 'double', shape: ['N', K], doc: 'discriminant functions δ_k' },
  ];
}

function mahalanobisGraph(b: OnnxGraphBuilder, z: string, m: MahalanobisModel): OnnxValue[] {
  const d = m.factor.length;
  const t = b.node('MatMul', [z, b.double('factor', [d, d], m.factor.flat())]);
  b.node('ReduceSumSquare', [t], { axes: { ints: [1] }, keepdims: { int: 0 } }, 'score');
  b.node('Greater', ['score', b.double('threshold', [1], [m.threshold])], {}, 'anomaly');
  return [
    { name: 'score', type: 'double', shape: ['N'], doc: 'squared Mahalanobis distance' },
    { name: 'anomaly', type: 'bool', shape: ['N'] },
  ];
}

function pcaGraph(b: OnnxGraphBuilder, z: string, m: PcaModel): OnnxValue[] {
  const d = m.components.length;
  const k = m.components[0].length;
  b.node('MatMul', [z, b.double('components', [d, k], m.components.flat())], {}, 'scores');
  const whitened = b.node('Div', ['scores', b.double('component_sd', [k], m.eigenvalues.slice(0, k).map(Math.sqrt))]);
  b.node('ReduceSumSquare', [whitened], { axes: { ints: [1] }, keepdims: { int: 0 } }, 't2');
  const vt = Array.from({ length: k }, (_, c) => m.components.map((r) => r[c])).flat();
  const back = b.node('MatMul', ['scores', b.double('components_t', [k, d], vt)]);
  const resid = b.node('Sub', [z, back]);
  b.node('ReduceSumSquare', [resid], { axes: { ints: [1] }, keepdims: { int: 0 } }, 'spe');
  const a = b.node('Greater', ['t2', b.double('t2_threshold', [1], [m.t2Threshold])]);
  const c = b.node('Greater', ['spe', b.double('spe_threshold', [1], [m.speThreshold])]);
  b.node('Or', [a, c], {}, 'anomaly');
  return [
    { name: 'scores', type: 'double', shape: ['N', k] },
    { name: 't2', type: 'double', shape: ['N'], doc: "Hotelling's T²" },
    { name: 'spe', type: 'double', shape: ['N'], doc: 'squared prediction error (Q)' },
    { name: 'anomaly', type: 'bool', shape: ['N'] },
  ];
}
