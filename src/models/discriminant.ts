/**
 * Linear and quadratic discriminant analysis from per-class moments (Hastie, Tibshirani &
 * Friedman, ESL §4.3; Friedman, "Regularized discriminant analysis", JASA 84(405), 1989).
 *
 * Features are standardised with the pooled mean and sd (`z = (x' − μ) / sd`). With class means
 * `m_k`, counts `n_k`, priors `π_k` and centred class scatters `C_k` (all exact from the moments):
 *
 * ```
 * linear:     Σ = Σ_k C_k / (n − K)                          (pooled within-class covariance)
 *             δ_k(z) = zᵀ Σ⁻¹ m_k − ½ m_kᵀ Σ⁻¹ m_k + log π_k
 * quadratic:  Σ_k = (1 − α) C_k / (n_k − 1) + α Σ             (α = regularisation, default 0)
 *             δ_k(z) = −½ (z − m_k)ᵀ Σ_k⁻¹ (z − m_k) − ½ log|Σ_k| + log π_k
 * ```
 *
 * The class is `argmax_k δ_k`, posteriors are `softmax(δ)`. For the quadratic form the model stores
 * `A_k` with `Σ_k⁻¹ = A_k A_kᵀ` (from Cholesky), so `δ_k = −½ ‖zᵀA_k − m_kᵀA_k‖² + c_k`.
 * @module
 */
import { aArray, aInRange, aObject, aRows } from './assert.ts';
import { MODELS_ERR, ModelsError, ModelsRangeError } from './errors.ts';
import { cholesky, dot, inverseFactor, rowTimes, solveSpd } from './linalg.ts';
import { accuracy, confusionMatrix, rocAuc } from './metrics.ts';
import type { Moments } from './moments.ts';
import type { DatasetSchema } from './schema.ts';
import { checkMomentsForSchema, standardisationOf, standardiseRows, standardiseScatter, summariseGroup } from './summary.ts';
import {
  buildArtifact, finiteMatrix, finiteVector, invalidIfThrows, readArtifact,
  type ArtifactMeta, type ModelArtifact, type ModelBase,
} from './artifact.ts';

/** Options of {@link fitDiscriminant}. */
export interface DiscriminantOptions {
  /** `'linear'` (LDA, default) or `'quadratic'` (QDA, per-class covariance). */
  readonly kind?: 'linear' | 'quadratic';
  /** Class priors: `'empirical'` (`n_k / n`, default), `'uniform'`, or one positive number per class (normalised). */
  readonly priors?: 'empirical' | 'uniform' | readonly number[];
  /** QDA only: shrinkage α ∈ [0, 1] of each class covariance toward the pooled one. */
  readonly regularisation?: number;
}

interface DiscriminantCommon extends ModelBase {
  readonly family: 'discriminant';
  readonly classes: readonly string[];
  readonly priors: readonly number[];
}

/** LDA: `δ_k(z) = weights[k] · z + biases[k]`. */
export interface LinearDiscriminantModel extends DiscriminantCommon {
  readonly kind: 'linear';
  readonly weights: readonly (readonly number[])[];
  readonly biases: readonly number[];
}

/** QDA: `δ_k(z) = −½ ‖(z − means[k])ᵀ factors[k]‖² + constants[k]`. */
export interface QuadraticDiscriminantModel extends DiscriminantCommon {
  readonly kind: 'quadratic';
  /** Class means in standardised coordinates. */
  readonly means: readonly (readonly number[])[];
  /** `A_k` (d×d, upper triangular) with `Σ_k⁻¹ = A_k A_kᵀ`. */
  readonly factors: readonly (readonly (readonly number[])[])[];
  /** `log π_k − ½ log|Σ_k|`. */
  readonly constants: readonly number[];
  readonly regularisation: number;
}

/** A fitted discriminant classifier. */
export type DiscriminantModel = LinearDiscriminantModel | QuadraticDiscriminantModel;

/** Predictions of {@link predictDiscriminant}. */
export interface DiscriminantPrediction {
  /** Class names. */
  readonly labels: string[];
  /** Class indices (schema order). */
  readonly index: number[];
  /** Posterior probabilities, one row per record, one column per class. */
  readonly probabilities: number[][];
}

/**
 * Fits a linear or quadratic discriminant classifier from moments with per-class moments.
 *
 * @param schema - dataset schema with a categorical label
 * @param moments - moments with categorical label moments, matching the schema
 * @param options - kind, priors, QDA regularisation
 * @returns the model; `metrics` holds `count` and `count_<class>` (from the moments)
 * @throws ModelsError `MODELS_ERR_EMPTY_CLASS` (a class has no records),
 *   `MODELS_ERR_TOO_FEW_RECORDS` (QDA class with < 2 records, or n ≤ K),
 *   `MODELS_ERR_CONSTANT_FEATURE`, `MODELS_ERR_SINGULAR` (a covariance is singular),
 *   `MODELS_ERR_MISMATCH`, `MODELS_ERR_INVALID_MOMENTS`
 * @throws TypeError / RangeError for bad options (unknown kind, priors of the wrong length,
 *   non-positive priors, regularisation outside [0, 1])
 * @example
 * ```ts
 * const lda = fitDiscriminant(schema, moments);
 * const qda = fitDiscriminant(schema, moments, { kind: 'quadratic', priors: 'uniform' });
 * ```
 */
export function fitDiscriminant(schema: DatasetSchema, moments: Moments, options: DiscriminantOptions = {}): DiscriminantModel {
  const op = 'fit discriminant';
  aObject(op, 'options', options);
  const kind = options.kind ?? 'linear';
  if (kind !== 'linear' && kind !== 'quadratic') throw new ModelsRangeError(`cannot ${op}: options.kind must be 'linear' or 'quadratic'`);
  const alpha = options.regularisation ?? 0;
  aInRange(op, 'options.regularisation', alpha, 0, 1);
  checkMomentsForSchema(op, schema, moments, 'categorical');
  const label = moments.label;
  if (label?.kind !== 'categorical') throw new ModelsError(MODELS_ERR.MISMATCH, `cannot ${op}: categorical label moments are needed`);
  const names = schema.features.map((f) => f.name);
  const classes = label.classes;
  const K = classes.length;
  const d = names.length;
  const priors = resolvePriors(op, options.priors as DiscriminantOptions['priors'], label.perClass.map((p) => Number(p.count)), classes);

  const all = summariseGroup(moments.count, moments.sum, moments.gram, moments.scale);
  const st = standardisationOf(op, all, names);
  const groups = label.perClass.map((p, k) => {
    if (p.count === 0n) throw new ModelsError(MODELS_ERR.EMPTY_CLASS, `cannot ${op}: class '${classes[k]}' has no records`);
    return summariseGroup(p.count, p.sum, p.gram, moments.scale);
  });
  const n = all.count;
  if (n <= K) throw new ModelsError(MODELS_ERR.TOO_FEW_RECORDS, `cannot ${op}: need more than ${K} records, got ${n}`);
  const means = groups.map((g) => g.mean.map((v, j) => (v - st.mean[j]) / st.sd[j]));
  const scatters = groups.map((g) => standardiseScatter(g.scatter, st.sd));
  const pooled = Array.from({ length: d }, (_, j) => Array.from({ length: d }, (_, k) => scatters.reduce((a, s) => a + s[j][k], 0) / (n - K)));
  const counts = Object.fromEntries(classes.map((c, k) => [`count_${c}`, groups[k].count]));
  const metrics = Object.freeze({ count: n, ...counts });
  const standardisation = Object.freeze({ mean: Object.freeze([...st.mean]), sd: Object.freeze([...st.sd]) });
  const common = { family: 'discriminant' as const, schema, standardisation, classes: Object.freeze([...classes]), priors: Object.freeze(priors), metrics };

  if (kind === 'linear') {
    cholesky(pooled, op, 'the pooled within-class covariance');
    const weights = means.map((m) => solveSpd(pooled, m, op, 'the pooled within-class covariance'));
    const biases = means.map((m, k) => -0.5 * dot(m, weights[k]) + Math.log(priors[k]));
    return Object.freeze({ ...common, kind: 'linear' as const, weights: Object.freeze(weights.map((w) => Object.freeze(w))), biases: Object.freeze(biases) });
  }
  const factors: number[][][] = [];
  const constants: number[] = [];
  groups.forEach((g, k) => {
    if (g.count < 2 && alpha < 1) throw new ModelsError(MODELS_ERR.TOO_FEW_RECORDS, `cannot ${op}: class '${classes[k]}' needs at least 2 records for its own covariance, got ${g.count}`);
    const cov = scatters[k].map((r, j) => r.map((v, i) => (alpha < 1 ? ((1 - alpha) * v) / (g.count - 1) : 0) + alpha * pooled[j][i]));
    const { factor, logDet } = inverseFactor(cov, op, `the covariance of class '${classes[k]}'`);
    factors.push(factor);
    constants.push(Math.log(priors[k]) - 0.5 * logDet);
  });
  return Object.freeze({
    ...common,
    kind: 'quadratic' as const,
    means: Object.freeze(means.map((m) => Object.freeze(m))),
    factors: Object.freeze(factors),
    constants: Object.freeze(constants),
    regularisation: alpha,
  });
}

function resolvePriors(op: string, priors: DiscriminantOptions['priors'], counts: number[], classes: readonly string[]): number[] {
  const n = counts.reduce((a, b) => a + b, 0);
  if (priors === undefined || priors === 'empirical') return counts.map((c) => c / n);
  if (priors === 'uniform') return counts.map(() => 1 / counts.length);
  aArray(op, 'options.priors', priors, classes.length);
  priors.forEach((p, k) => aInRange(op, `options.priors[${k}]`, p, 0, Number.MAX_VALUE, true));
  const total = priors.reduce((a, b) => a + b, 0);
  return priors.map((p) => p / total);
}

/** Discriminant scores `δ_k(z)` for standardised rows. */
function discriminantScores(model: DiscriminantModel, z: readonly number[]): number[] {
  if (model.kind === 'linear') return model.weights.map((w, k) => dot(w, z) + model.biases[k]);
  return model.factors.map((a, k) => {
    const diff = z.map((v, j) => v - model.means[k][j]);
    const t = rowTimes(diff, a);
    return -0.5 * dot(t, t) + model.constants[k];
  });
}

/**
 * Classifies raw feature rows.
 * @param model - a fitted discriminant model
 * @param rows - raw feature rows (schema order)
 * @returns class names, indices and posterior probabilities
 * @throws TypeError / RangeError if rows are malformed or hold NaN/∞
 * @example
 * ```ts
 * predictDiscriminant(model, [[298.1, 308.6, 1551, 42.8, 0]]).labels; // ['ok']
 * ```
 */
export function predictDiscriminant(model: DiscriminantModel, rows: readonly (readonly number[])[]): DiscriminantPrediction {
  aRows('predict discriminant', 'rows', rows, model.schema.features.length);
  const labels: string[] = [];
  const index: number[] = [];
  const probabilities: number[][] = [];
  for (const z of standardiseRows(model.schema, model.standardisation, rows)) {
    const s = discriminantScores(model, z);
    let best = 0;
    for (let k = 1; k < s.length; k++) if (s[k] > s[best]) best = k;
    const exp = s.map((v) => Math.exp(v - s[best]));
    const total = exp.reduce((a, b) => a + b, 0);
    labels.push(model.classes[best]);
    index.push(best);
    probabilities.push(exp.map((v) => v / total));
  }
  return { labels, index, probabilities };
}

/**
 * Metrics of a discriminant model on labelled rows: accuracy, the confusion matrix and, for two
 * classes, the ROC AUC of the posterior of the second class.
 * @throws TypeError / RangeError for malformed rows or labels
 * @throws ModelsError `MODELS_ERR_MISMATCH` for an unknown class name, `MODELS_ERR_EMPTY_CLASS`
 *   if (binary) the labels hold only one class
 * @example
 * ```ts
 * evaluateDiscriminant(model, rows, labels).auc;
 * ```
 */
export function evaluateDiscriminant(
  model: DiscriminantModel,
  rows: readonly (readonly number[])[],
  labels: readonly string[],
): { accuracy: number; confusion: number[][]; auc?: number } {
  const op = 'evaluate discriminant';
  aArray(op, 'labels', labels, rows.length);
  const actual = labels.map((l, i) => {
    const k = model.classes.indexOf(l);
    if (k < 0) throw new ModelsError(MODELS_ERR.MISMATCH, `cannot ${op}: labels[${i}] = ${String(l)} is not a class of the model`);
    return k;
  });
  const p = predictDiscriminant(model, rows);
  const out: { accuracy: number; confusion: number[][]; auc?: number } = {
    accuracy: accuracy(actual, p.index),
    confusion: confusionMatrix(actual, p.index, model.classes.length),
  };
  if (model.classes.length === 2) out.auc = rocAuc(p.probabilities.map((q) => q[1]), actual.map((a) => a === 1));
  return out;
}

/**
 * Writes the versioned JSON artifact; parameters: `kind`, `classes`, `priors`, and `weights` /
 * `biases` (linear) or `means` / `factors` / `constants` / `regularisation` (quadratic).
 * @throws TypeError / RangeError if `meta` is malformed
 * @example
 * ```ts
 * discriminantToArtifact(model, { modelId: 'failure', modelVersion: 1, lineage });
 * ```
 */
export function discriminantToArtifact(model: DiscriminantModel, meta: ArtifactMeta): ModelArtifact {
  const base = { kind: model.kind, classes: model.classes, priors: model.priors };
  const parameters = model.kind === 'linear'
    ? { ...base, weights: model.weights, biases: model.biases }
    : { ...base, means: model.means, factors: model.factors, constants: model.constants, regularisation: model.regularisation };
  return buildArtifact(model, parameters, meta);
}

/**
 * Reads a discriminant artifact back into a model (and its meta).
 * @throws ModelsError `MODELS_ERR_INVALID_ARTIFACT` if anything is malformed
 * @example
 * ```ts
 * const { model } = discriminantFromArtifact(JSON.parse(json));
 * ```
 */
export function discriminantFromArtifact(json: unknown): { model: DiscriminantModel; meta: ArtifactMeta } {
  const op = 'read discriminant artifact';
  const parts = readArtifact(json, 'discriminant');
  return invalidIfThrows(op, () => {
    const p = parts.parameters;
    const label = parts.schema.label;
    if (label?.kind !== 'categorical') throw new ModelsError(MODELS_ERR.INVALID_ARTIFACT, `cannot ${op}: schema needs a categorical label`);
    const K = label.classes.length;
    const d = parts.schema.features.length;
    if (!Array.isArray(p.classes) || p.classes.length !== K || p.classes.some((c, k) => c !== label.classes[k])) {
      throw new ModelsError(MODELS_ERR.INVALID_ARTIFACT, `cannot ${op}: parameters.classes differ from the schema's`);
    }
    const priors = finiteVector(op, 'parameters.priors', p.priors, K);
    if (priors.some((v) => !(v > 0))) throw new ModelsError(MODELS_ERR.INVALID_ARTIFACT, `cannot ${op}: priors must be positive`);
    const common = {
      family: 'discriminant' as const, schema: parts.schema, standardisation: parts.standardisation,
      classes: label.classes, priors: Object.freeze(priors), metrics: parts.metrics,
    };
    let model: DiscriminantModel;
    if (p.kind === 'linear') {
      model = { ...common, kind: 'linear', weights: finiteMatrix(op, 'parameters.weights', p.weights, K, d), biases: finiteVector(op, 'parameters.biases', p.biases, K) };
    } else if (p.kind === 'quadratic') {
      if (!Array.isArray(p.factors) || p.factors.length !== K) throw new ModelsError(MODELS_ERR.INVALID_ARTIFACT, `cannot ${op}: parameters.factors must have ${K} entries`);
      const [regularisation] = finiteVector(op, 'parameters.regularisation', [p.regularisation], 1);
      model = {
        ...common, kind: 'quadratic',
        means: finiteMatrix(op, 'parameters.means', p.means, K, d),
        factors: p.factors.map((f, k) => finiteMatrix(op, `parameters.factors[${k}]`, f, d, d)),
        constants: finiteVector(op, 'parameters.constants', p.constants, K),
        regularisation,
      };
    } else {
      throw new ModelsError(MODELS_ERR.INVALID_ARTIFACT, `cannot ${op}: parameters.kind must be 'linear' or 'quadratic'`);
    }
    return { model: Object.freeze(model), meta: parts.meta };
  });
}
