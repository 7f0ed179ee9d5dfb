/**
 * Principal component analysis from moments, as a model and as an anomaly detector (Jolliffe,
 * Principal Component Analysis, 2nd ed.; Jackson & Mudholkar, Technometrics 21(3), 1979; Box,
 * Ann. Math. Statist. 25(2), 1954).
 *
 * With standardised features `z` (population sd) and their sample covariance `S = C / (n − 1)`
 * (`n/(n − 1)` times the correlation matrix of the features), `S = V diag(λ) Vᵀ`, eigenvalues
 * descending. Keeping `k`
 * components `V_k`:
 *
 * ```
 * scores  t   = zᵀ V_k
 * T²          = Σ_{i≤k} t_i² / λ_i                  threshold χ²_k(1 − α)  (large-n limit)
 * SPE (Q)     = ‖z − V_k t‖²                         threshold g·χ²_h(1 − α)  (Box):
 *               θ₁ = Σ_{i>k} λ_i, θ₂ = Σ_{i>k} λ_i², g = θ₂/θ₁, h = θ₁²/θ₂
 * ```
 *
 * A record is flagged when either exceeds its threshold. `k < d` always (with `k = d` PCA is the
 * Mahalanobis detector). Eigenvector signs are fixed (largest-magnitude component positive).
 * @module
 */
import { aInRange, aInteger, aObject, aRows } from './assert.ts';
import { MODELS_ERR, ModelsError, ModelsRangeError } from './errors.ts';
import { chiSquareQuantile } from './chi-square.ts';
import { SINGULAR_RCOND, rowTimes, symmetricEigen } from './linalg.ts';
import type { Moments } from './moments.ts';
import type { DatasetSchema } from './schema.ts';
import { checkMomentsForSchema, standardisationOf, standardiseRows, standardiseScatter, summariseGroup } from './summary.ts';
import {
  buildArtifact, finiteMatrix, finiteVector, invalidIfThrows, readArtifact,
  type ArtifactMeta, type ModelArtifact, type ModelBase,
} from './artifact.ts';

/** Options of {@link fitPca}. */
export interface PcaOptions {
  /** Number of components `k`, 1 ≤ k < d. Default: the fewest explaining `varianceToExplain`. */
  readonly components?: number;
  /** Fraction of variance the kept components must explain, in (0, 1]; default 0.9 (k capped at d − 1). */
  readonly varianceToExplain?: number;
  /** Nominal false-alarm rate α ∈ (0, 1) of each threshold; default 0.01. */
  readonly alpha?: number;
}

/** A fitted PCA model. */
export interface PcaModel extends ModelBase {
  readonly family: 'pca';
  /** `V_k`: `components[j][c]` is the loading of feature j on component c (d×k). */
  readonly components: readonly (readonly number[])[];
  /** All d eigenvalues of the standardised covariance, descending. */
  readonly eigenvalues: readonly number[];
  readonly alpha: number;
  readonly t2Threshold: number;
  readonly speThreshold: number;
}

/** Output of {@link predictPca}. */
export interface PcaPrediction {
  /** Component scores, one row per record, k columns. */
  readonly scores: number[][];
  /** Hotelling's T² per record. */
  readonly t2: number[];
  /** Squared prediction error (Q) per record. */
  readonly spe: number[];
  /** `t2 > t2Threshold || spe > speThreshold`. */
  readonly anomaly: boolean[];
}

/**
 * Fits PCA from moments (a label, if present, is ignored).
 *
 * @param schema - dataset schema
 * @param moments - moments matching the schema's features
 * @param options - number of components or variance to explain; α
 * @returns the model; `metrics` holds `count`, `components`, `explainedVariance` (fraction),
 *   `t2Threshold`, `speThreshold`
 * @throws ModelsError `MODELS_ERR_TOO_FEW_RECORDS` (n ≤ d), `MODELS_ERR_CONSTANT_FEATURE`,
 *   `MODELS_ERR_SINGULAR` (a kept component, or all discarded ones, have zero variance), `MODELS_ERR_MISMATCH`,
 *   `MODELS_ERR_INVALID_MOMENTS`
 * @throws RangeError for options out of range (k ∉ [1, d − 1], fractions ∉ (0, 1])
 * @example
 * ```ts
 * const pca = fitPca(schema, moments, { components: 2 });
 * ```
 */
export function fitPca(schema: DatasetSchema, moments: Moments, options: PcaOptions = {}): PcaModel {
  const op = 'fit pca';
  aObject(op, 'options', options);
  const alpha = options.alpha ?? 0.01;
  aInRange(op, 'options.alpha', alpha, 0, 1, true);
  const share = options.varianceToExplain ?? 0.9;
  aInRange(op, 'options.varianceToExplain', share, 0, 1);
  if (share === 0) throw new ModelsRangeError(`cannot ${op}: options.varianceToExplain must be > 0`);
  checkMomentsForSchema(op, schema, moments, 'none');
  const names = schema.features.map((f) => f.name);
  const d = names.length;
  if (d < 2) throw new ModelsRangeError(`cannot ${op}: PCA needs at least 2 features, got ${d}`);
  if (options.components !== undefined) aInteger(op, 'options.components', options.components, 1, d - 1);
  const all = summariseGroup(moments.count, moments.sum, moments.gram, moments.scale);
  if (all.count <= d) throw new ModelsError(MODELS_ERR.TOO_FEW_RECORDS, `cannot ${op}: need more than ${d} records, got ${all.count}`);
  const st = standardisationOf(op, all, names);
  const cov = standardiseScatter(all.scatter, st.sd).map((r) => r.map((v) => v / (all.count - 1)));
  const eig = symmetricEigen(cov);
  const values = eig.values.map((v) => Math.max(v, 0));
  const total = values.reduce((a, b) => a + b, 0);
  let k = options.components ?? 0;
  if (k === 0) {
    let acc = 0;
    while (k < d - 1 && acc < share * total) acc += values[k++];
  }
  if (!(values[k - 1] > values[0] * SINGULAR_RCOND)) {
    throw new ModelsError(MODELS_ERR.SINGULAR, `cannot ${op}: component ${k} has (numerically) zero variance; keep fewer components`);
  }
  const rest = values.slice(k);
  const theta1 = rest.reduce((a, b) => a + b, 0);
  const theta2 = rest.reduce((a, b) => a + b * b, 0);
  if (!(theta1 > values[0] * SINGULAR_RCOND)) {
    throw new ModelsError(MODELS_ERR.SINGULAR, `cannot ${op}: the components after ${k} carry no variance (collinear features), so SPE is undefined; drop redundant features`);
  }
  const t2Threshold = chiSquareQuantile(1 - alpha, k);
  const speThreshold = (theta2 / theta1) * chiSquareQuantile(1 - alpha, (theta1 * theta1) / theta2);
  const explained = values.slice(0, k).reduce((a, b) => a + b, 0) / total;
  return Object.freeze({
    family: 'pca' as const,
    schema,
    standardisation: Object.freeze({ mean: Object.freeze([...st.mean]), sd: Object.freeze([...st.sd]) }),
    components: Object.freeze(eig.vectors.map((r) => Object.freeze(r.slice(0, k)))),
    eigenvalues: Object.freeze(values),
    alpha,
    t2Threshold,
    speThreshold,
    metrics: Object.freeze({ count: all.count, components: k, explainedVariance: explained, t2Threshold, speThreshold }),
  });
}

/**
 * Projects raw feature rows and scores them.
 * @param model - a fitted PCA model
 * @param rows - raw feature rows (schema order)
 * @returns scores, T², SPE and the anomaly decision per row
 * @throws TypeError / RangeError if rows are malformed or hold NaN/∞
 * @example
 * ```ts
 * predictPca(pca, rows).scores;
 * ```
 */
export function predictPca(model: PcaModel, rows: readonly (readonly number[])[]): PcaPrediction {
  aRows('predict pca', 'rows', rows, model.schema.features.length);
  const k = model.components[0].length;
  const scores: number[][] = [];
  const t2: number[] = [];
  const spe: number[] = [];
  const anomaly: boolean[] = [];
  for (const z of standardiseRows(model.schema, model.standardisation, rows)) {
    const t = rowTimes(z, model.components);
    let a = 0;
    for (let c = 0; c < k; c++) a += (t[c] * t[c]) / model.eigenvalues[c];
    let q = 0;
    for (let j = 0; j < z.length; j++) {
      let back = 0;
      for (let c = 0; c < k; c++) back += model.components[j][c] * t[c];
      q += (z[j] - back) ** 2;
    }
    scores.push(t);
    t2.push(a);
    spe.push(q);
    anomaly.push(a > model.t2Threshold || q > model.speThreshold);
  }
  return { scores, t2, spe, anomaly };
}

/**
 * Writes the versioned JSON artifact; parameters: `components`, `eigenvalues`, `alpha`,
 * `t2Threshold`, `speThreshold`.
 * @throws TypeError / RangeError if `meta` is malformed
 * @example
 * ```ts
 * pcaToArtifact(pca, { modelId: 'process-pca', modelVersion: 1, lineage });
 * ```
 */
export function pcaToArtifact(model: PcaModel, meta: ArtifactMeta): ModelArtifact {
  const { components, eigenvalues, alpha, t2Threshold, speThreshold } = model;
  return buildArtifact(model, { components, eigenvalues, alpha, t2Threshold, speThreshold }, meta);
}

/**
 * Reads a PCA artifact back into a model (and its meta).
 * @throws ModelsError `MODELS_ERR_INVALID_ARTIFACT` if anything is malformed
 * @example
 * ```ts
 * const { model } = pcaFromArtifact(JSON.parse(json));
 * ```
 */
export function pcaFromArtifact(json: unknown): { model: PcaModel; meta: ArtifactMeta } {
  const op = 'read pca artifact';
  const parts = readArtifact(json, 'pca');
  return invalidIfThrows(op, () => {
    const p = parts.parameters;
    const d = parts.schema.features.length;
    const eigenvalues = finiteVector(op, 'parameters.eigenvalues', p.eigenvalues, d);
    const k = Array.isArray(p.components) && Array.isArray(p.components[0]) ? (p.components[0] as unknown[]).length : 0;
    if (k < 1 || k >= d) throw new ModelsError(MODELS_ERR.INVALID_ARTIFACT, `cannot ${op}: parameters.components must be d×k with 1 ≤ k < d`);
    if (eigenvalues.slice(0, k).some((v) => !(v > 0))) throw new ModelsError(MODELS_ERR.INVALID_ARTIFACT, `cannot ${op}: kept eigenvalues must be positive`);
    const [alpha, t2Threshold, speThreshold] = finiteVector(op, 'parameters.alpha/thresholds', [p.alpha, p.t2Threshold, p.speThreshold], 3);
    const model: PcaModel = Object.freeze({
      family: 'pca' as const, schema: parts.schema, standardisation: parts.standardisation,
      components: finiteMatrix(op, 'parameters.components', p.components, d, k), eigenvalues,
      alpha, t2Threshold, speThreshold, metrics: parts.metrics,
    });
    return { model, meta: parts.meta };
  });
}
