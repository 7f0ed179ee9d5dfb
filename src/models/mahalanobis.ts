/**
 * Mahalanobis anomaly detector from moments (Mahalanobis 1936; for the chi-square threshold see
 * e.g. Johnson & Wichern, Applied Multivariate Statistical Analysis, §4.4).
 *
 * With standardised features `z = (x' − μ) / sd` and the sample covariance of `z`,
 * `S = C / (n − 1)` (C the exact centred scatter), the score of a record is
 *
 * ```
 * d²(z) = zᵀ S⁻¹ z = ‖zᵀ A‖²,   S⁻¹ = A Aᵀ  (A from the Cholesky factor of S)
 * ```
 *
 * Under multivariate normality `d²` follows a chi-square law with `d` degrees of freedom, so the
 * threshold `χ²_d(1 − α)` flags a fraction α of normal records. Real data are rarely normal: the
 * measured flag rate on training rows is reported by {@link evaluateMahalanobis}.
 * @module
 */
import { aArray, aInRange, aObject, aRows } from './assert.ts';
import { MODELS_ERR, ModelsError } from './errors.ts';
import { chiSquareQuantile } from './chi-square.ts';
import { dot, inverseFactor, rowTimes } from './linalg.ts';
import { rocAuc } from './metrics.ts';
import type { Moments } from './moments.ts';
import type { DatasetSchema } from './schema.ts';
import { checkMomentsForSchema, standardisationOf, standardiseRows, standardiseScatter, summariseGroup } from './summary.ts';
import {
  buildArtifact, finiteMatrix, finiteVector, invalidIfThrows, readArtifact,
  type ArtifactMeta, type ModelArtifact, type ModelBase,
} from './artifact.ts';

/** Options of {@link fitMahalanobis}. */
export interface MahalanobisOptions {
  /** Nominal false-alarm rate α ∈ (0, 1); the threshold is `χ²_d(1 − α)`. Default 0.01. */
  readonly alpha?: number;
}

/** A fitted Mahalanobis detector. */
export interface MahalanobisModel extends ModelBase {
  readonly family: 'mahalanobis';
  /** `A` (d×d, upper triangular) with `S⁻¹ = A Aᵀ` in standardised coordinates. */
  readonly factor: readonly (readonly number[])[];
  readonly alpha: number;
  /** `χ²_d(1 − α)`. */
  readonly threshold: number;
}

/** Scores and decisions of {@link predictMahalanobis}. */
export interface MahalanobisPrediction {
  /** Squared Mahalanobis distance `d²` per record. */
  readonly score: number[];
  /** `score > threshold`. */
  readonly anomaly: boolean[];
}

/**
 * Fits a Mahalanobis detector from moments (a label, if present, is ignored).
 *
 * @param schema - dataset schema
 * @param moments - moments matching the schema's features
 * @param options - `alpha`
 * @returns the model; `metrics` holds `count`, `threshold`, `logDetCovariance`
 * @throws ModelsError `MODELS_ERR_TOO_FEW_RECORDS` (n ≤ d), `MODELS_ERR_CONSTANT_FEATURE`,
 *   `MODELS_ERR_SINGULAR` (collinear features), `MODELS_ERR_MISMATCH`, `MODELS_ERR_INVALID_MOMENTS`
 * @throws RangeError if `alpha` is not in (0, 1)
 * @example
 * ```ts
 * const detector = fitMahalanobis(schema, moments, { alpha: 0.001 });
 * ```
 */
export function fitMahalanobis(schema: DatasetSchema, moments: Moments, options: MahalanobisOptions = {}): MahalanobisModel {
  const op = 'fit mahalanobis detector';
  aObject(op, 'options', options);
  const alpha = options.alpha ?? 0.01;
  aInRange(op, 'options.alpha', alpha, 0, 1, true);
  checkMomentsForSchema(op, schema, moments, 'none');
  const names = schema.features.map((f) => f.name);
  const d = names.length;
  const all = summariseGroup(moments.count, moments.sum, moments.gram, moments.scale);
  if (all.count <= d) throw new ModelsError(MODELS_ERR.TOO_FEW_RECORDS, `cannot ${op}: need more than ${d} records, got ${all.count}`);
  const st = standardisationOf(op, all, names);
  const cov = standardiseScatter(all.scatter, st.sd).map((r) => r.map((v) => v / (all.count - 1)));
  const { factor, logDet } = inverseFactor(cov, op, 'the covariance');
  const threshold = chiSquareQuantile(1 - alpha, d);
  return Object.freeze({
    family: 'mahalanobis' as const,
    schema,
    standardisation: Object.freeze({ mean: Object.freeze([...st.mean]), sd: Object.freeze([...st.sd]) }),
    factor: Object.freeze(factor.map((r) => Object.freeze(r))),
    alpha,
    threshold,
    metrics: Object.freeze({ count: all.count, threshold, logDetCovariance: logDet }),
  });
}

/**
 * Scores raw feature rows.
 * @param model - a fitted detector
 * @param rows - raw feature rows (schema order)
 * @returns `d²` per row and the decision `d² > threshold`
 * @throws TypeError / RangeError if rows are malformed or hold NaN/∞
 * @example
 * ```ts
 * predictMahalanobis(detector, rows).anomaly;
 * ```
 */
export function predictMahalanobis(model: MahalanobisModel, rows: readonly (readonly number[])[]): MahalanobisPrediction {
  aRows('predict mahalanobis', 'rows', rows, model.schema.features.length);
  const score = standardiseRows(model.schema, model.standardisation, rows).map((z) => {
    const t = rowTimes(z, model.factor);
    return dot(t, t);
  });
  return { score, anomaly: score.map((s) => s > model.threshold) };
}

/**
 * Metrics on rows: the fraction flagged and, when ground truth is given, the ROC AUC of `d²`
 * against it.
 * @param positive - optional ground truth (true = a real anomaly / failure)
 * @throws TypeError / RangeError for malformed rows; ModelsError `MODELS_ERR_EMPTY_CLASS` if the
 *   ground truth holds only one class
 * @example
 * ```ts
 * evaluateMahalanobis(detector, rows, failed).auc;
 * ```
 */
export function evaluateMahalanobis(
  model: MahalanobisModel,
  rows: readonly (readonly number[])[],
  positive?: readonly boolean[],
): { flaggedRate: number; auc?: number } {
  const p = predictMahalanobis(model, rows);
  const out: { flaggedRate: number; auc?: number } = { flaggedRate: p.anomaly.filter(Boolean).length / rows.length };
  if (positive !== undefined) {
    aArray('evaluate mahalanobis', 'positive', positive, rows.length);
    out.auc = rocAuc(p.score, positive);
  }
  return out;
}

/**
 * Writes the versioned JSON artifact; parameters: `factor`, `alpha`, `threshold`.
 * @throws TypeError / RangeError if `meta` is malformed
 * @example
 * ```ts
 * mahalanobisToArtifact(detector, { modelId: 'process-anomaly', modelVersion: 1, lineage });
 * ```
 */
export function mahalanobisToArtifact(model: MahalanobisModel, meta: ArtifactMeta): ModelArtifact {
  return buildArtifact(model, { factor: model.factor, alpha: model.alpha, threshold: model.threshold }, meta);
}

/**
 * Reads a Mahalanobis artifact back into a model (and its meta).
 * @throws ModelsError `MODELS_ERR_INVALID_ARTIFACT` if anything is malformed
 * @example
 * ```ts
 * const { model } = mahalanobisFromArtifact(JSON.parse(json));
 * ```
 */
export function mahalanobisFromArtifact(json: unknown): { model: MahalanobisModel; meta: ArtifactMeta } {
  const op = 'read mahalanobis artifact';
  const parts = readArtifact(json, 'mahalanobis');
  return invalidIfThrows(op, () => {
    const p = parts.parameters;
    const d = parts.schema.features.length;
    const [alpha, threshold] = finiteVector(op, 'parameters.alpha/threshold', [p.alpha, p.threshold], 2);
    if (!(alpha > 0 && alpha < 1) || !(threshold > 0)) throw new ModelsError(MODELS_ERR.INVALID_ARTIFACT, `cannot ${op}: alpha must lie in (0, 1) and threshold be positive`);
    const model: MahalanobisModel = Object.freeze({
      family: 'mahalanobis' as const, schema: parts.schema, standardisation: parts.standardisation,
      factor: finiteMatrix(op, 'parameters.factor', p.factor, d, d), alpha, threshold, metrics: parts.metrics,
    });
    return { model, meta: parts.meta };
  });
}
