/**
 * Ridge regression from moments, with λ chosen by generalized cross-validation (GCV) from the
 * moments alone.
 *
 * With the features standardised (`z = (x' − μ) / sd`, population sd) and the label centred, the
 * fit minimises `Σ (y' − ȳ' − zᵀβ)² + λ‖β‖²` (intercept unpenalised):
 *
 * ```
 * R = ZᵀZ (= n × correlation),  r = Zᵀ(y' − ȳ'),  R = V diag(e) Vᵀ,  c = Vᵀ r
 * β(λ)    = V diag(1 / (e + λ)) c
 * RSS(λ)  = Syy − Σ c_i² (e_i + 2λ) / (e_i + λ)²
 * df(λ)   = Σ e_i / (e_i + λ)
 * GCV(λ)  = n · RSS(λ) / (n − 1 − df(λ))²
 * ```
 *
 * (Golub, Heath & Wahba, "Generalized cross-validation as a method for choosing a good ridge
 * parameter", Technometrics 21(2), 1979; Hastie, Tibshirani & Friedman, ESL §3.4.1 and §7.10.)
 * Everything on the right-hand side follows from count, sums, Gram, Σy, Σy² and Σxy, so λ is
 * chosen without a single row. λ is searched on a log grid `λ/n ∈ [1e-8, 1e2]` (101 points) and
 * refined by golden-section search between the best point's neighbours.
 * @module
 */
import { aRows, aVector, aFinite, aObject } from './assert.ts';
import { MODELS_ERR, ModelsError, ModelsRangeError } from './errors.ts';
import { symmetricEigen, SINGULAR_RCOND, dot } from './linalg.ts';
import { rSquared, rootMeanSquaredError } from './metrics.ts';
import type { Moments } from './moments.ts';
import type { DatasetSchema } from './schema.ts';
import { unscaleValue } from './schema.ts';
import { checkMomentsForSchema, standardisationOf, standardiseRows, standardiseScatter, summariseGroup } from './summary.ts';
import {
  buildArtifact, finiteVector, invalidIfThrows, readArtifact,
  type ArtifactMeta, type ModelArtifact, type ModelBase,
} from './artifact.ts';

/** Options of {@link fitRidge}. */
export interface RidgeOptions {
  /** A fixed λ ≥ 0 (standardised units, see the module comment); omitted: chosen by GCV. */
  readonly lambda?: number;
}

/** A fitted ridge regression (plain, frozen data; JSON via {@link ridgeToArtifact}). */
export interface RidgeModel extends ModelBase {
  readonly family: 'ridge';
  /** `β`, one per feature, on standardised features, in pre-scaled label units. */
  readonly coefficients: readonly number[];
  /** `ȳ'`, the mean pre-scaled label. */
  readonly intercept: number;
  readonly lambda: number;
  readonly lambdaSelection: 'gcv' | 'fixed';
}

/**
 * Fits ridge regression from moments.
 *
 * @param schema - dataset schema with a continuous label
 * @param moments - moments with continuous label moments, matching the schema
 * @param options - `lambda` to fix λ; default GCV
 * @returns the model; `metrics` holds `count`, `lambda`, `effectiveDf`, `gcv`, in-sample `r2`
 *   and `rmse` (label units) — all from the moments
 * @throws ModelsError `MODELS_ERR_MISMATCH` (schema/moments disagree), `MODELS_ERR_TOO_FEW_RECORDS`
 *   (n ≤ d + 1), `MODELS_ERR_CONSTANT_FEATURE` (a feature or the label does not vary),
 *   `MODELS_ERR_SINGULAR` (λ = 0 with collinear features), `MODELS_ERR_INVALID_MOMENTS`
 * @throws RangeError if `options.lambda` is negative or not finite
 * @example
 * ```ts
 * const model = fitRidge(schema, moments);
 * const yhat = predictRidge(model, [[298.1, 308.6, 1551, 0]]);
 * ```
 */
export function fitRidge(schema: DatasetSchema, moments: Moments, options: RidgeOptions = {}): RidgeModel {
  const op = 'fit ridge regression';
  aObject(op, 'options', options);
  if (options.lambda !== undefined) {
    aFinite(op, 'options.lambda', options.lambda);
    if (options.lambda < 0) throw new ModelsRangeError(`cannot ${op}: options.lambda must be ≥ 0, got ${options.lambda}`);
  }
  checkMomentsForSchema(op, schema, moments, 'continuous');
  const label = moments.label;
  if (label?.kind !== 'continuous' || schema.label?.kind !== 'continuous') throw new ModelsError(MODELS_ERR.MISMATCH, `cannot ${op}: a continuous label is needed`);
  const names = schema.features.map((f) => f.name);
  const d = names.length;
  const all = summariseGroup(moments.count, moments.sum, moments.gram, moments.scale);
  const n = all.count;
  if (n <= d + 1) throw new ModelsError(MODELS_ERR.TOO_FEW_RECORDS, `cannot ${op}: need more than ${d + 1} records for ${d} features, got ${n}`);
  const st = standardisationOf(op, all, names);

  // Label moments, centred exactly in bigint.
  const N = moments.count;
  const s = BigInt(moments.scale);
  const yMean = Number(label.sum) / Number(N * s);
  const syy = Number(N * label.sumSq - label.sum * label.sum) / Number(N * s * s);
  if (!(syy > 0)) throw new ModelsError(MODELS_ERR.CONSTANT_FEATURE, `cannot ${op}: the label '${schema.label.name}' does not vary`);
  const r = moments.sum.map((sj, j) => Number(N * label.cross[j] - sj * label.sum) / Number(N * s * s) / st.sd[j]);

  const gram = standardiseScatter(all.scatter, st.sd);
  const eig = symmetricEigen(gram);
  const e = eig.values.map((v) => Math.max(v, 0));
  const c = new Array<number>(d).fill(0);
  for (let i = 0; i < d; i++) c[i] = dot(eig.vectors.map((row) => row[i]), r);

  const path = ridgePath(e, c, syy, n);
  let lambda: number;
  if (options.lambda !== undefined) {
    lambda = options.lambda;
    if (lambda === 0 && !(e[d - 1] > e[0] * SINGULAR_RCOND)) {
      throw new ModelsError(MODELS_ERR.SINGULAR, `cannot ${op}: XᵀX is singular (collinear features) and λ = 0; use λ > 0 or GCV`);
    }
  } else {
    lambda = chooseLambdaGcv(path, n);
  }
  const beta = new Array<number>(d).fill(0);
  for (let i = 0; i < d; i++) {
    const w = c[i] / (e[i] + lambda);
    for (let j = 0; j < d; j++) beta[j] += eig.vectors[j][i] * w;
  }
  const rss = Math.max(0, path.rss(lambda));
  const hy = (schema.label.hi - schema.label.lo) / 2;
  const metrics = {
    count: n,
    lambda,
    effectiveDf: path.df(lambda),
    gcv: path.gcv(lambda),
    r2: 1 - rss / syy,
    rmse: Math.sqrt(rss / n) * hy,
  };
  return Object.freeze({
    family: 'ridge' as const,
    schema,
    standardisation: Object.freeze({ mean: Object.freeze([...st.mean]), sd: Object.freeze([...st.sd]) }),
    coefficients: Object.freeze(beta),
    intercept: yMean,
    lambda,
    lambdaSelection: options.lambda === undefined ? ('gcv' as const) : ('fixed' as const),
    metrics: Object.freeze(metrics),
  });
}

interface RidgePath {
  rss(lambda: number): number;
  df(lambda: number): number;
  gcv(lambda: number): number;
}

function ridgePath(e: readonly number[], c: readonly number[], syy: number, n: number): RidgePath {
  const rss = (lambda: number): number => {
    let explained = 0;
    for (let i = 0; i < e.length; i++) {
      const den = e[i] + lambda;
      if (den > 0) explained += (c[i] * c[i] * (e[i] + 2 * lambda)) / (den * den);
    }
    return syy - explained;
  };
  const df = (lambda: number): number => e.reduce((a, ei) => a + (ei + lambda > 0 ? ei / (ei + lambda) : 0), 0);
  const gcv = (lambda: number): number => (n * Math.max(rss(lambda), 0)) / (n - 1 - df(lambda)) ** 2;
  return { rss, df, gcv };
}

/** GCV search over `t = log10(λ/n)`: grid on [-8, 2], then golden section around the best point. */
function chooseLambdaGcv(path: RidgePath, n: number): number {
  const T_MIN = -8;
  const T_MAX = 2;
  const STEPS = 100;
  const at = (t: number): number => path.gcv(n * 10 ** t);
  let best = 0;
  let bestValue = Number.POSITIVE_INFINITY;
  for (let i = 0; i <= STEPS; i++) {
    const v = at(T_MIN + ((T_MAX - T_MIN) * i) / STEPS);
    if (v < bestValue) {
      bestValue = v;
      best = i;
    }
  }
  let lo = T_MIN + ((T_MAX - T_MIN) * Math.max(0, best - 1)) / STEPS;
  let hi = T_MIN + ((T_MAX - T_MIN) * Math.min(STEPS, best + 1)) / STEPS;
  const phi = (Math.sqrt(5) - 1) / 2;
  let x1 = hi - phi * (hi - lo);
  let x2 = lo + phi * (hi - lo);
  let f1 = at(x1);
  let f2 = at(x2);
  for (let it = 0; it < 80 && hi - lo > 1e-12; it++) {
    if (f1 <= f2) {
      hi = x2;
      x2 = x1;
      f2 = f1;
      x1 = hi - phi * (hi - lo);
      f1 = at(x1);
    } else {
      lo = x1;
      x1 = x2;
      f1 = f2;
      x2 = lo + phi * (hi - lo);
      f2 = at(x2);
    }
  }
  const t = (lo + hi) / 2;
  return at(t) <= bestValue ? n * 10 ** t : n * 10 ** (T_MIN + ((T_MAX - T_MIN) * best) / STEPS);
}

/**
 * Predicts the label, in raw label units, for raw feature rows.
 * @param model - a fitted ridge model
 * @param rows - raw feature rows (schema order)
 * @returns one prediction per row
 * @throws TypeError / RangeError if rows are not arrays of the right width, or hold NaN/∞
 * @example
 * ```ts
 * predictRidge(model, [[298.1, 308.6, 1551, 0]]); // [≈ 41.7]
 * ```
 */
export function predictRidge(model: RidgeModel, rows: readonly (readonly number[])[]): number[] {
  aRows('predict ridge', 'rows', rows, model.schema.features.length);
  const label = model.schema.label!;
  if (label.kind !== 'continuous') throw new ModelsError(MODELS_ERR.MISMATCH, 'cannot predict ridge: the model schema has no continuous label');
  return standardiseRows(model.schema, model.standardisation, rows).map((z) => unscaleValue(label.lo, label.hi, model.intercept + dot(model.coefficients, z)));
}

/**
 * The model as an affine map on raw units: `y = Σ weights_j · x_j + intercept`.
 * @throws never for a model from {@link fitRidge} or {@link ridgeFromArtifact}
 * @example
 * ```ts
 * const { weights, intercept } = ridgeCoefficients(model); // Nm per rpm, …
 * ```
 */
export function ridgeCoefficients(model: RidgeModel): { weights: number[]; intercept: number } {
  const label = model.schema.label!;
  if (label.kind !== 'continuous') throw new ModelsError(MODELS_ERR.MISMATCH, 'cannot compute ridge coefficients: the model schema has no continuous label');
  const h = (label.hi - label.lo) / 2;
  const m = (label.hi + label.lo) / 2;
  const { mean, sd } = model.standardisation;
  let b = model.intercept;
  const weights = model.schema.features.map((f, j) => {
    const a = 2 / (f.hi - f.lo);
    const c = -(f.hi + f.lo) / (f.hi - f.lo);
    b += (model.coefficients[j] * (c - mean[j])) / sd[j];
    return (h * model.coefficients[j] * a) / sd[j];
  });
  return { weights, intercept: h * b + m };
}

/**
 * Metrics of a ridge model on labelled rows.
 * @param rows - raw feature rows
 * @param labels - raw labels
 * @returns `r2`, `rmse` (label units)
 * @throws TypeError / RangeError for malformed rows or labels
 * @throws ModelsError `MODELS_ERR_CONSTANT_FEATURE` if the labels do not vary
 * @example
 * ```ts
 * evaluateRidge(model, rows, torque).r2;
 * ```
 */
export function evaluateRidge(model: RidgeModel, rows: readonly (readonly number[])[], labels: readonly number[]): { r2: number; rmse: number } {
  aVector('evaluate ridge', 'labels', labels, rows.length);
  const predicted = predictRidge(model, rows);
  return { r2: rSquared(labels, predicted), rmse: rootMeanSquaredError(labels, predicted) };
}

/**
 * Writes the versioned JSON artifact (see `artifact.ts`); parameters: `coefficients`,
 * `intercept`, `lambda`, `lambdaSelection`.
 * @throws TypeError / RangeError if `meta` is malformed
 * @example
 * ```ts
 * const json = JSON.stringify(ridgeToArtifact(model, { modelId: 'torque', modelVersion: 1, lineage }));
 * ```
 */
export function ridgeToArtifact(model: RidgeModel, meta: ArtifactMeta): ModelArtifact {
  return buildArtifact(model, { coefficients: model.coefficients, intercept: model.intercept, lambda: model.lambda, lambdaSelection: model.lambdaSelection }, meta);
}

/**
 * Reads a ridge artifact back into a model (and its meta).
 * @throws ModelsError `MODELS_ERR_INVALID_ARTIFACT` if anything is malformed
 * @example
 * ```ts
 * const { model } = ridgeFromArtifact(JSON.parse(json));
 * ```
 */
export function ridgeFromArtifact(json: unknown): { model: RidgeModel; meta: ArtifactMeta } {
  const op = 'read ridge artifact';
  const parts = readArtifact(json, 'ridge');
  return invalidIfThrows(op, () => {
    const p = parts.parameters;
    const d = parts.schema.features.length;
    if (parts.schema.label?.kind !== 'continuous') throw new ModelsError(MODELS_ERR.INVALID_ARTIFACT, `cannot ${op}: schema needs a continuous label`);
    const coefficients = finiteVector(op, 'parameters.coefficients', p.coefficients, d);
    const [intercept, lambda] = finiteVector(op, 'parameters.intercept/lambda', [p.intercept, p.lambda], 2);
    if (lambda < 0) throw new ModelsError(MODELS_ERR.INVALID_ARTIFACT, `cannot ${op}: lambda must be ≥ 0`);
    if (p.lambdaSelection !== 'gcv' && p.lambdaSelection !== 'fixed') throw new ModelsError(MODELS_ERR.INVALID_ARTIFACT, `cannot ${op}: bad lambdaSelection`);
    const model: RidgeModel = Object.freeze({
      family: 'ridge' as const,
      schema: parts.schema,
      standardisation: parts.standardisation,
      coefficients: Object.freeze(coefficients),
      intercept,
      lambda,
      lambdaSelection: p.lambdaSelection,
      metrics: parts.metrics,
    });
    return { model, meta: parts.meta };
  });
}
