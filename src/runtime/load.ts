/**
 * Loading a verified model artifact into one inference interface.
 *
 * Two artifact kinds come out of `src/models` and run here under the same interface and the same
 * output controls:
 *
 * - the JSON artifact (`hedge.model`, `formatVersion` 1), predicted with the `predict…` function
 *   of its family in float64;
 * - the ONNX model written by `modelToOnnx` (IR 8, opset 17, producer `hedge-models 1`), run by
 *   onnxruntime-node; identity, schema and standardisation come from its `metadata_props` and
 *   initializers.
 *
 * Delivery (TUF) verifies the bytes; `loadModel` re-checks them against what delivery said they are
 * (`expect.sha256`, `expect.modelId`, `expect.modelVersion`) before parsing, then validates the
 * format, version and content and refuses anything else with a typed {@link RuntimeError}.
 * @module
 */
import type { Moments } from '../models/moments.ts';
import { createHash } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import { ARTIFACT_FORMAT, ARTIFACT_VERSION, type ModelFamily } from '../models/artifact.ts';
import { predictDiscriminant } from '../models/discriminant.ts';
import { predictMahalanobis } from '../models/mahalanobis.ts';
import { modelFromArtifact, type Model } from '../models/model.ts';
import { ONNX_PRODUCER_VERSION } from '../models/onnx/export.ts';
import { decodeModelProto, ONNX_IR_VERSION, ONNX_OPSET } from '../models/onnx/model-proto.ts';
import { predictPca } from '../models/pca.ts';
import { predictRidge } from '../models/ridge.ts';
import { createSchema, type DatasetSchema } from '../models/schema.ts';
import type { Standardisation } from '../models/summary.ts';
import { aInteger, aObject, aRecord, aString, describe } from './assert.ts';
import { RUNTIME_ERR, RuntimeError, RuntimeTypeError } from './errors.ts';

/** What a model answers for one record, by output kind. */
export type Prediction =
  /** Ridge: the label in label units. */
  | { readonly kind: 'value'; readonly value: number }
  /** Discriminant: the class, its index (schema order) and the posteriors. */
  | { readonly kind: 'class'; readonly label: string; readonly index: number; readonly probabilities: readonly number[] }
  /** Mahalanobis (`scores.d2`) and PCA (`scores.t2`, `scores.spe`): the decision and its scores. */
  | { readonly kind: 'anomaly'; readonly anomaly: boolean; readonly scores: Readonly<Record<string, number>> };

/** The output kind of a family: `value` (ridge), `class` (discriminant), `anomaly` (mahalanobis, pca). */
export type OutputKind = Prediction['kind'];

/** A model ready to predict, from either artifact kind. */
export interface LoadedModel {
  readonly modelId: string;
  readonly modelVersion: number;
  readonly family: ModelFamily;
  readonly output: OutputKind;
  /** Class names (discriminant only). */
  readonly classes?: readonly string[];
  /** Which artifact it came from. */
  readonly source: 'json' | 'onnx';
  readonly schema: DatasetSchema;
  /** Mean and sd of the pre-scaled training features (from the artifact / the ONNX initializers). */
  readonly standardisation: Standardisation;
  /** `sha256:<hex>` of the model's lineage, as in the artifact / ONNX metadata. */
  readonly lineageDigest: string;
  /** Lower-case hex SHA-256 of the exact bytes loaded (what TUF lists as the target hash). */
  readonly sha256: string;
  /** The training moments shipped inside a JSON artifact (the reference of output controls and drift), when the builder included them. */
  readonly reference?: Moments;
  /**
   * Predicts one raw record (schema order). Values must be finite: the output controls
   * (`src/runtime/controls.ts`) check the envelope before a model ever sees a record.
   */
  predict(record: readonly number[]): Promise<Prediction>;
  /** Releases native resources (the ONNX session); the model must not be used afterwards. */
  close(): Promise<void>;
}

/** What verified delivery says the artifact is; every given field must match. */
export interface ExpectedArtifact {
  /** Lower-case hex SHA-256 of the bytes (the TUF target hash). */
  readonly sha256?: string;
  readonly modelId?: string;
  readonly modelVersion?: number;
}

/** Options of {@link loadModel}. */
export interface LoadOptions {
  /** Checked before anything else is done with the bytes. */
  readonly expect?: ExpectedArtifact;
}

const ONNX_OUTPUTS: Record<ModelFamily, readonly string[]> = {
  ridge: ['prediction'],
  discriminant: ['label', 'probabilities', 'scores'],
  mahalanobis: ['score', 'anomaly'],
  pca: ['scores', 't2', 'spe', 'anomaly'],
};

const OUTPUT_OF: Record<ModelFamily, OutputKind> = { ridge: 'value', discriminant: 'class', mahalanobis: 'anomaly', pca: 'anomaly' };

/**
 * Loads a model artifact: the JSON artifact of `src/models` (bytes or text starting with `{`) or
 * the ONNX model `modelToOnnx` wrote (bytes).
 *
 * @param artifact - the artifact's bytes as delivered (or the JSON text)
 * @param options - `expect`: the SHA-256, id and version verified delivery vouches for
 * @returns the loaded model
 * @throws RuntimeTypeError if `artifact` is neither bytes nor a string
 * @throws RuntimeError `RUNTIME_ERR_DIGEST_MISMATCH` if the bytes, id or version differ from `expect`;
 *   `RUNTIME_ERR_UNSUPPORTED_VERSION` for another JSON `formatVersion` or ONNX producer / IR / opset;
 *   `RUNTIME_ERR_INVALID_ARTIFACT` if it is malformed or fails validation (the `src/models` error is
 *   kept as `cause`)
 * @example
 * ```ts
 * const model = await loadModel(await readFile('ai4i-torque-v4.json'), { expect: { sha256, modelVersion: 4 } });
 * const p = await model.predict([298.1, 308.6, 1551, 0]); // { kind: 'value', value: 41.7… }
 * ```
 */
export async function loadModel(artifact: Uint8Array | string, options: LoadOptions = {}): Promise<LoadedModel> {
  const op = 'load model';
  if (typeof artifact !== 'string' && !(artifact instanceof Uint8Array)) {
    throw new RuntimeTypeError(`cannot ${op}: artifact must be bytes or a string, got ${describe(artifact)}`);
  }
  aObject(op, 'options', options);
  const expect = options.expect ?? {};
  aObject(op, 'options.expect', expect);
  if (expect.sha256 !== undefined) aString(op, 'options.expect.sha256', expect.sha256);
  if (expect.modelId !== undefined) aString(op, 'options.expect.modelId', expect.modelId);
  if (expect.modelVersion !== undefined) aInteger(op, 'options.expect.modelVersion', expect.modelVersion, 1);
  const bytes = typeof artifact === 'string' ? new TextEncoder().encode(artifact) : artifact;
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (expect.sha256 !== undefined && expect.sha256.toLowerCase() !== sha256) {
    throw new RuntimeError(RUNTIME_ERR.DIGEST_MISMATCH, `cannot ${op}: SHA-256 ${sha256} differs from the verified ${expect.sha256}; the artifact was altered after verification`);
  }
  const model = isJson(bytes) ? loadJson(bytes, sha256) : await loadOnnx(bytes, sha256);
  try {
    if (expect.modelId !== undefined && expect.modelId !== model.modelId) {
      throw new RuntimeError(RUNTIME_ERR.DIGEST_MISMATCH, `cannot ${op}: the artifact is model '${model.modelId}', delivery said '${expect.modelId}'`);
    }
    if (expect.modelVersion !== undefined && expect.modelVersion !== model.modelVersion) {
      throw new RuntimeError(RUNTIME_ERR.DIGEST_MISMATCH, `cannot ${op}: the artifact is version ${model.modelVersion}, delivery said ${expect.modelVersion}`);
    }
  } catch (e) {
    await model.close();
    throw e;
  }
  return model;
}

function isJson(bytes: Uint8Array): boolean {
  for (const b of bytes) {
    if (b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d) continue;
    return b === 0x7b; // '{' — an ONNX ModelProto starts with a protobuf tag (0x08 for ir_version)
  }
  return false;
}

function loadJson(bytes: Uint8Array, sha256: string): LoadedModel {
  const op = 'load json model artifact';
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new RuntimeError(RUNTIME_ERR.INVALID_ARTIFACT, `cannot ${op}: not UTF-8 JSON`, { cause: e });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new RuntimeError(RUNTIME_ERR.INVALID_ARTIFACT, `cannot ${op}: not a JSON object`);
  }
  const a = json as Record<string, unknown>;
  if (a.format !== ARTIFACT_FORMAT) {
    throw new RuntimeError(RUNTIME_ERR.INVALID_ARTIFACT, `cannot ${op}: format must be '${ARTIFACT_FORMAT}', got ${JSON.stringify(a.format)}`);
  }
  if (a.formatVersion !== ARTIFACT_VERSION) {
    throw new RuntimeError(RUNTIME_ERR.UNSUPPORTED_VERSION, `cannot ${op}: formatVersion ${JSON.stringify(a.formatVersion)} is not supported (this runtime reads ${ARTIFACT_VERSION}); update the runtime or re-export the model`);
  }
  let read: { model: Model; meta: { modelId: string; modelVersion: number; reference?: Moments } };
  try {
    read = modelFromArtifact(json);
  } catch (e) {
    throw new RuntimeError(RUNTIME_ERR.INVALID_ARTIFACT, `cannot ${op}: ${(e as Error).message}`, { cause: e });
  }
  const { model, meta } = read;
  const predict = jsonPredictor(model);
  const width = model.schema.features.length;
  const loaded: LoadedModel = {
    modelId: meta.modelId,
    modelVersion: meta.modelVersion,
    family: model.family,
    output: OUTPUT_OF[model.family],
    source: 'json',
    schema: model.schema,
    standardisation: model.standardisation,
    lineageDigest: a.lineageDigest as string,
    sha256,
    ...(meta.reference === undefined ? {} : { reference: meta.reference }),
    predict: async (record) => {
      aRecord('predict', 'record', record, width);
      return predict(record);
    },
    close: async () => {},
  };
  if (model.family === 'discriminant') return Object.freeze({ ...loaded, classes: model.classes });
  return Object.freeze(loaded);
}

function jsonPredictor(model: Model): (record: readonly number[]) => Prediction {
  switch (model.family) {
    case 'ridge':
      return (r) => ({ kind: 'value', value: predictRidge(model, [r])[0] });
    case 'discriminant':
      return (r) => {
        const p = predictDiscriminant(model, [r]);
        return { kind: 'class', label: p.labels[0], index: p.index[0], probabilities: p.probabilities[0] };
      };
    case 'mahalanobis':
      return (r) => {
        const p = predictMahalanobis(model, [r]);
        return { kind: 'anomaly', anomaly: p.anomaly[0], scores: { d2: p.score[0] } };
      };
    case 'pca':
      return (r) => {
        const p = predictPca(model, [r]);
        return { kind: 'anomaly', anomaly: p.anomaly[0], scores: { t2: p.t2[0], spe: p.spe[0] } };
      };
  }
}

async function loadOnnx(bytes: Uint8Array, sha256: string): Promise<LoadedModel> {
  const op = 'load onnx model';
  const bad = (reason: string, cause?: unknown): RuntimeError =>
    new RuntimeError(RUNTIME_ERR.INVALID_ARTIFACT, `cannot ${op}: ${reason}`, cause === undefined ? undefined : { cause });
  let proto: Record<string, unknown>;
  try {
    proto = decodeModelProto(bytes);
  } catch (e) {
    throw bad('not an ONNX ModelProto (nor a JSON artifact)', e);
  }
  if (proto.producer_name !== 'hedge') throw bad(`producer is ${JSON.stringify(proto.producer_name)}, not hedge; only models exported by src/models run here`);
  if (proto.producer_version !== ONNX_PRODUCER_VERSION || proto.ir_version !== ONNX_IR_VERSION) {
    throw new RuntimeError(RUNTIME_ERR.UNSUPPORTED_VERSION, `cannot ${op}: producer ${JSON.stringify(proto.producer_version)} / IR ${String(proto.ir_version)} is not supported (this runtime reads '${ONNX_PRODUCER_VERSION}', IR ${ONNX_IR_VERSION})`);
  }
  const opsets = (proto.opset_import as { domain?: string; version?: number }[] | undefined) ?? [];
  if (opsets.length !== 1 || (opsets[0].domain ?? '') !== '' || opsets[0].version !== ONNX_OPSET) {
    throw new RuntimeError(RUNTIME_ERR.UNSUPPORTED_VERSION, `cannot ${op}: opset ${JSON.stringify(opsets)} is not supported (this runtime reads ai.onnx ${ONNX_OPSET})`);
  }
  const props = new Map(((proto.metadata_props as { key: string; value: string }[] | undefined) ?? []).map((p) => [p.key, p.value]));
  const prop = (key: string): string => {
    const v = props.get(key);
    if (v === undefined || v === '') throw bad(`metadata ${key} is missing`);
    return v;
  };
  const family = prop('hedge.family') as ModelFamily;
  if (!(family in ONNX_OUTPUTS)) throw bad(`unknown family ${JSON.stringify(family)}`);
  const modelId = prop('hedge.model_id');
  const modelVersion = Number(prop('hedge.model_version'));
  if (!Number.isSafeInteger(modelVersion) || modelVersion < 1 || proto.model_version !== modelVersion) {
    throw bad(`hedge.model_version ${JSON.stringify(props.get('hedge.model_version'))} disagrees with model_version ${String(proto.model_version)}`);
  }
  const lineageDigest = prop('hedge.lineage_digest');
  if (!/^sha256:[0-9a-f]{64}$/.test(lineageDigest)) throw bad('hedge.lineage_digest is not sha256:<hex>');
  let schema: DatasetSchema;
  let classes: string[] | undefined;
  try {
    schema = createSchema(JSON.parse(prop('hedge.schema')));
    if (family === 'discriminant') {
      classes = JSON.parse(prop('hedge.classes')) as string[];
      const label = schema.label;
      if (label?.kind !== 'categorical' || JSON.stringify(label.classes) !== JSON.stringify(classes)) throw new Error('hedge.classes differ from the schema label classes');
    }
  } catch (e) {
    if (e instanceof RuntimeError) throw e;
    throw bad(`metadata does not describe a valid schema: ${(e as Error).message}`, e);
  }
  const d = schema.features.length;
  const graph = proto.graph as { initializer?: { name: string; raw_data?: Uint8Array }[] } | undefined;
  const initializer = (name: string): number[] => {
    const t = graph?.initializer?.find((i) => i.name === name);
    const raw = t?.raw_data;
    if (!raw || raw.length !== 8 * d) throw bad(`initializer ${name} is missing or not ${d} float64 values`);
    const v = Array.from(new Float64Array(new Uint8Array(raw).buffer)); // copy: protobufjs may hand out a Buffer view
    if (v.some((x) => !Number.isFinite(x))) throw bad(`initializer ${name} holds non-finite values`);
    return v;
  };
  const standardisation = Object.freeze({ mean: Object.freeze(initializer('standardise_mean')), sd: Object.freeze(initializer('standardise_sd')) });
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes);
  } catch (e) {
    throw bad(`onnxruntime refused it: ${(e as Error).message}`, e);
  }
  const outputs = ONNX_OUTPUTS[family];
  if (session.inputNames.length !== 1 || session.inputNames[0] !== 'features' || outputs.some((o) => !session.outputNames.includes(o))) {
    await session.release();
    throw bad(`graph inputs [${session.inputNames.join(', ')}] / outputs [${session.outputNames.join(', ')}] are not those of a ${family} model`);
  }
  const read = onnxReader(family, classes);
  const fetches = family === 'discriminant' ? ['label', 'probabilities'] : family === 'pca' ? ['t2', 'spe', 'anomaly'] : [...outputs];
  let released = false;
  const loaded: LoadedModel = {
    modelId, modelVersion, family, output: OUTPUT_OF[family], source: 'onnx', schema, standardisation, lineageDigest, sha256,
    predict: async (record) => {
      aRecord('predict', 'record', record, d);
      const features = new ort.Tensor('float64', Float64Array.from(record), [1, d]);
      return read(await session.run({ features }, fetches));
    },
    close: async () => {
      if (released) return;
      released = true;
      await session.release();
    },
  };
  return Object.freeze(classes ? { ...loaded, classes: Object.freeze(classes) } : loaded);
}

function onnxReader(family: ModelFamily, classes: readonly string[] | undefined): (out: ort.InferenceSession.OnnxValueMapType) => Prediction {
  const num = (t: ort.Tensor): number => Number((t.data as Float64Array | BigInt64Array)[0]);
  switch (family) {
    case 'ridge':
      return (o) => ({ kind: 'value', value: num(o.prediction) });
    case 'discriminant':
      return (o) => {
        const index = num(o.label);
        return { kind: 'class', label: classes![index], index, probabilities: Array.from(o.probabilities.data as Float64Array) };
      };
    case 'mahalanobis':
      return (o) => ({ kind: 'anomaly', anomaly: (o.anomaly.data as Uint8Array)[0] === 1, scores: { d2: num(o.score) } });
    case 'pca':
      return (o) => ({ kind: 'anomaly', anomaly: (o.anomaly.data as Uint8Array)[0] === 1, scores: { t2: num(o.t2), spe: num(o.spe) } });
  }
}
