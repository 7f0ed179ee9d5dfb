/**
 * The versioned JSON artifact every model family writes and reads (format `hedge.model`,
 * version 1). One envelope for all families:
 *
 * ```
 * { format: 'hedge.model', formatVersion: 1, family, modelId, modelVersion,
 *   schema,                       // features with ranges [lo, hi], label, scale
 *   scaling, quantisation,        // the exact rules, restated so the artifact stands alone
 *   standardisation,              // mean and sd of the pre-scaled features
 *   parameters, metrics,          // family-specific
 *   lineage, lineageDigest }      // what went in (job, plants, batch hashes) and its SHA-256
 * ```
 *
 * `lineageDigest` is `sha256:` + hex SHA-256 of the canonical JSON of `lineage` (object keys
 * sorted, no whitespace); the same digest goes into the ONNX `metadata_props`.
 * @module
 */
import { createHash } from 'node:crypto';
import { aArray, aFinite, aInteger, aObject, aString } from './assert.ts';
import { MODELS_ERR, ModelsError } from './errors.ts';
import { createSchema, type DatasetSchema } from './schema.ts';
import { momentsFromJSON, momentsToJSON, validateMoments, type Moments, type MomentsJSON } from './moments.ts';
import type { Standardisation } from './summary.ts';

/** Artifact format name. */
export const ARTIFACT_FORMAT = 'hedge.model';
/** Artifact format version written by this code (and the only one it reads). */
export const ARTIFACT_VERSION = 1;

/** The model families. */
export type ModelFamily = 'ridge' | 'discriminant' | 'mahalanobis' | 'pca';

/** What went into a model: the job, the plants and the exact batches (by content hash). */
export interface Lineage {
  readonly jobId: string;
  readonly plants: readonly string[];
  readonly batchHashes: readonly string[];
  /** Anything else JSON-serialisable the registry wants to pin (code version, time range, …). */
  readonly [extra: string]: unknown;
}

/** Identity and lineage of one model version, passed in by the caller (registry / job). */
export interface ArtifactMeta {
  readonly modelId: string;
  /** Positive integer, also the ONNX `model_version`. */
  readonly modelVersion: number;
  readonly lineage: Lineage;
  /** Metrics measured on rows (e.g. a holdout at a plant), stored beside the training metrics. */
  readonly evaluation?: Readonly<Record<string, number>>;
  /**
   * The training moments (over the model's features), shipped inside the artifact so that the edge
   * checks inputs (out-of-distribution) and drift against them. They are pooled aggregates of all
   * plants' data: ship them only where every receiving plant may see them.
   */
  readonly reference?: Moments;
}

/** Fields every model of every family has. */
export interface ModelBase {
  readonly family: ModelFamily;
  readonly schema: DatasetSchema;
  readonly standardisation: Standardisation;
  /** Training metrics computed from the moments alone. */
  readonly metrics: Readonly<Record<string, number>>;
}

/** The JSON artifact (see the module comment). */
export interface ModelArtifact {
  format: typeof ARTIFACT_FORMAT;
  formatVersion: typeof ARTIFACT_VERSION;
  family: ModelFamily;
  modelId: string;
  modelVersion: number;
  schema: DatasetSchema;
  scaling: { rule: string };
  quantisation: { scale: number; rule: string };
  standardisation: { mean: number[]; sd: number[] };
  parameters: Record<string, unknown>;
  metrics: Record<string, number>;
  evaluation?: Record<string, number>;
  /** The training moments ({@link ArtifactMeta.reference}), in the documented JSON codec. */
  reference?: MomentsJSON;
  lineage: Lineage;
  lineageDigest: string;
}

const SCALING_RULE = "x' = (2·x − hi − lo) / (hi − lo), per feature range [lo, hi] of the schema";
const QUANTISATION_RULE = "q = Math.round(x' · scale); the training moments are sums over q";

/**
 * Canonical JSON: object keys sorted by code unit, no whitespace, arrays in order. Used for
 * digests, so equal content always gives equal bytes.
 * @throws TypeError for values JSON cannot represent (bigint, function, non-finite numbers)
 * @example
 * ```ts
 * canonicalJson({ b: 1, a: [2, 3] }); // '{"a":[2,3],"b":1}'
 * ```
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`cannot write canonical JSON: ${value} is not finite`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  throw new TypeError(`cannot write canonical JSON: unsupported ${typeof value}`);
}

/**
 * Digest of a lineage: `sha256:` + hex SHA-256 of its canonical JSON.
 * @throws TypeError if the lineage is malformed or not JSON-serialisable
 * @example
 * ```ts
 * lineageDigest({ jobId: 'job-1', plants: ['L'], batchHashes: ['ab…'] });
 * ```
 */
export function lineageDigest(lineage: Lineage): string {
  checkLineage('digest lineage', lineage);
  return `sha256:${createHash('sha256').update(canonicalJson(lineage), 'utf8').digest('hex')}`;
}

function checkLineage(op: string, lineage: unknown): asserts lineage is Lineage {
  aObject(op, 'lineage', lineage);
  aString(op, 'lineage.jobId', lineage.jobId);
  aArray(op, 'lineage.plants', lineage.plants);
  lineage.plants.forEach((p, i) => aString(op, `lineage.plants[${i}]`, p));
  aArray(op, 'lineage.batchHashes', lineage.batchHashes);
  lineage.batchHashes.forEach((h, i) => aString(op, `lineage.batchHashes[${i}]`, h));
}

/**
 * Validates an {@link ArtifactMeta} (model id, positive integer version, lineage).
 * @throws TypeError / RangeError naming the bad field
 */
export function checkMeta(op: string, meta: unknown): asserts meta is ArtifactMeta {
  aObject(op, 'meta', meta);
  aString(op, 'meta.modelId', meta.modelId);
  aInteger(op, 'meta.modelVersion', meta.modelVersion, 1);
  checkLineage(op, meta.lineage);
  canonicalJson(meta.lineage);
  if (meta.evaluation !== undefined) {
    aObject(op, 'meta.evaluation', meta.evaluation);
    for (const [k, v] of Object.entries(meta.evaluation)) aFinite(op, `meta.evaluation.${k}`, v);
  }
}

/** Builds the artifact envelope around family parameters (used by each family's `…ToArtifact`). */
export function buildArtifact(model: ModelBase, parameters: Record<string, unknown>, meta: ArtifactMeta): ModelArtifact {
  checkMeta(`write ${model.family} artifact`, meta);
  // A JSON round trip detaches the artifact from the model's (frozen) arrays.
  const copy = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
  const artifact: ModelArtifact = {
    format: ARTIFACT_FORMAT,
    formatVersion: ARTIFACT_VERSION,
    family: model.family,
    modelId: meta.modelId,
    modelVersion: meta.modelVersion,
    schema: copy(model.schema),
    scaling: { rule: SCALING_RULE },
    quantisation: { scale: model.schema.scale, rule: QUANTISATION_RULE },
    standardisation: { mean: [...model.standardisation.mean], sd: [...model.standardisation.sd] },
    parameters: copy(parameters),
    metrics: { ...model.metrics },
    lineage: copy(meta.lineage),
    lineageDigest: lineageDigest(meta.lineage),
  };
  if (meta.evaluation !== undefined) artifact.evaluation = { ...meta.evaluation };
  if (meta.reference !== undefined) {
    checkReference(`write ${model.family} artifact`, meta.reference, model.schema);
    artifact.reference = momentsToJSON(meta.reference);
  }
  return artifact;
}

/** The reference moments must be over the schema's features, at its scale, and consistent. */
function checkReference(op: string, reference: Moments, schema: DatasetSchema): void {
  validateMoments(reference);
  const names = schema.features.map((f) => f.name);
  if (reference.scale !== schema.scale || reference.features.length !== names.length || reference.features.some((f, j) => f !== names[j])) {
    throw new ModelsError(MODELS_ERR.MISMATCH, `cannot ${op}: the reference moments are over [${reference.features.join(', ')}] at scale ${reference.scale}, the model over [${names.join(', ')}] at ${schema.scale}`);
  }
}

/** What {@link readArtifact} returns: the envelope's parts, validated, for a family to finish. */
export interface ArtifactParts {
  readonly schema: DatasetSchema;
  readonly standardisation: Standardisation;
  readonly parameters: Record<string, unknown>;
  readonly metrics: Readonly<Record<string, number>>;
  readonly meta: ArtifactMeta;
}

/**
 * Reads and validates the envelope of an artifact of the given family (e.g. `JSON.parse` output).
 * @throws ModelsError `MODELS_ERR_INVALID_ARTIFACT` if the format, version, family, schema,
 *   standardisation, metrics, lineage or digest is wrong
 */
export function readArtifact(json: unknown, family: ModelFamily): ArtifactParts {
  const op = `read ${family} artifact`;
  return invalidIfThrows(op, () => {
    aObject(op, 'artifact', json);
    const a = json;
    if (a.format !== ARTIFACT_FORMAT) throw new ModelsError(MODELS_ERR.INVALID_ARTIFACT, `cannot ${op}: format must be '${ARTIFACT_FORMAT}', got ${String(a.format)}`);
    if (a.formatVersion !== ARTIFACT_VERSION) throw new ModelsError(MODELS_ERR.INVALID_ARTIFACT, `cannot ${op}: unsupported formatVersion ${String(a.formatVersion)}`);
    if (a.family !== family) throw new ModelsError(MODELS_ERR.INVALID_ARTIFACT, `cannot ${op}: family is '${String(a.family)}'`);
    const schema = createSchema(a.schema);
    aObject(op, 'artifact.quantisation', a.quantisation);
    if (a.quantisation.scale !== schema.scale) throw new ModelsError(MODELS_ERR.INVALID_ARTIFACT, `cannot ${op}: quantisation.scale differs from schema.scale`);
    const d = schema.features.length;
    aObject(op, 'artifact.standardisation', a.standardisation);
    const mean = finiteVector(op, 'standardisation.mean', a.standardisation.mean, d);
    const sd = finiteVector(op, 'standardisation.sd', a.standardisation.sd, d);
    if (sd.some((v) => !(v > 0))) throw new ModelsError(MODELS_ERR.INVALID_ARTIFACT, `cannot ${op}: standardisation.sd must be positive`);
    aObject(op, 'artifact.parameters', a.parameters);
    aObject(op, 'artifact.metrics', a.metrics);
    const metrics: Record<string, number> = {};
    for (const [k, v] of Object.entries(a.metrics)) {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new ModelsError(MODELS_ERR.INVALID_ARTIFACT, `cannot ${op}: metrics.${k} must be a finite number`);
      metrics[k] = v;
    }
    const meta: Record<string, unknown> = { modelId: a.modelId, modelVersion: a.modelVersion, lineage: a.lineage };
    if (a.evaluation !== undefined) meta.evaluation = a.evaluation;
    if (a.reference !== undefined) {
      const reference = momentsFromJSON(a.reference);
      checkReference(op, reference, schema);
      meta.reference = reference;
    }
    checkMeta(op, meta);
    if (a.lineageDigest !== lineageDigest(meta.lineage)) {
      throw new ModelsError(MODELS_ERR.INVALID_ARTIFACT, `cannot ${op}: lineageDigest does not match the lineage`);
    }
    return { schema, standardisation: Object.freeze({ mean, sd }), parameters: a.parameters, metrics: Object.freeze(metrics), meta };
  });
}

/** Runs `fn`, turning argument errors into `MODELS_ERR_INVALID_ARTIFACT` (artifacts are data, not arguments). */
export function invalidIfThrows<T>(op: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ModelsError && e.code === MODELS_ERR.INVALID_ARTIFACT) throw e;
    throw new ModelsError(MODELS_ERR.INVALID_ARTIFACT, `cannot ${op}: ${(e as Error).message}`, { cause: e });
  }
}

/** A vector of `length` finite numbers from artifact data. @throws on anything else */
export function finiteVector(op: string, name: string, v: unknown, length: number): number[] {
  if (!Array.isArray(v) || v.length !== length || v.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
    throw new ModelsError(MODELS_ERR.INVALID_ARTIFACT, `cannot ${op}: ${name} must be ${length} finite numbers`);
  }
  return [...(v as number[])];
}

/** A `rows × cols` matrix of finite numbers from artifact data. @throws on anything else */
export function finiteMatrix(op: string, name: string, v: unknown, rows: number, cols: number): number[][] {
  if (!Array.isArray(v) || v.length !== rows) throw new ModelsError(MODELS_ERR.INVALID_ARTIFACT, `cannot ${op}: ${name} must have ${rows} rows`);
  return v.map((r, i) => finiteVector(op, `${name}[${i}]`, r, cols));
}
