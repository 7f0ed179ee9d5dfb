/**
 * From exact moments to float64 summaries: means, centred scatter matrices and the
 * standardisation every family uses (internal module, exported for tests and the example).
 *
 * Centring is done in bigint before any rounding: with `n` records, sums `S` and Gram `G` over
 * quantised integers, the centred scatter of the pre-scaled values is
 *
 * ```
 * C[j][k] = Σ (x'_j − μ_j)(x'_k − μ_k) = (n·G[j][k] − S[j]·S[k]) / (n · scale²)
 * ```
 *
 * where the numerator is an exact integer, so the only rounding is one conversion and one
 * division: no cancellation, however large `n` is.
 * @module
 */
import { MODELS_ERR, ModelsError } from './errors.ts';
import { validateMoments, type Moments } from './moments.ts';
import type { DatasetSchema } from './schema.ts';

/** Standardisation of pre-scaled features: `z_j = (x'_j − mean_j) / sd_j` (population sd). */
export interface Standardisation {
  readonly mean: readonly number[];
  readonly sd: readonly number[];
}

/** Float64 summary of one group of records (all, or one class), in pre-scaled units. */
export interface GroupSummary {
  readonly count: number;
  readonly mean: number[];
  /** Centred scatter `Σ (x' − μ)(x' − μ)ᵀ`. */
  readonly scatter: number[][];
}

const ratio = (num: bigint, den: bigint): number => Number(num) / Number(den);

/**
 * Mean and centred scatter of a group from its exact moments (centred in bigint, then converted).
 * @throws never for validated moments (callers run {@link checkMomentsForSchema} first)
 * @example
 * ```ts
 * const all = summariseGroup(m.count, m.sum, m.gram, m.scale); // all.mean, all.scatter
 * ```
 */
export function summariseGroup(count: bigint, sum: readonly bigint[], gram: readonly (readonly bigint[])[], scale: number): GroupSummary {
  const s = BigInt(scale);
  const d = sum.length;
  const den = count * s * s;
  return {
    count: Number(count),
    mean: sum.map((v) => ratio(v, count * s)),
    scatter: Array.from({ length: d }, (_, j) => Array.from({ length: d }, (_, k) => ratio(count * gram[j][k] - sum[j] * sum[k], den))),
  };
}

/**
 * Checks that moments match the schema (names, scale, label kind and classes) and are
 * consistent; the common first step of every fit.
 * @throws ModelsError `MODELS_ERR_MISMATCH` if they do not match, `MODELS_ERR_INVALID_MOMENTS` if
 *   inconsistent; TypeError / RangeError if malformed
 */
export function checkMomentsForSchema(op: string, schema: DatasetSchema, moments: Moments, label: 'continuous' | 'categorical' | 'none'): void {
  validateMoments(moments);
  const names = schema.features.map((f) => f.name);
  if (moments.features.length !== names.length || moments.features.some((f, j) => f !== names[j])) {
    throw new ModelsError(MODELS_ERR.MISMATCH, `cannot ${op}: moments features [${moments.features.join(', ')}] differ from schema features [${names.join(', ')}]`);
  }
  if (moments.scale !== schema.scale) {
    throw new ModelsError(MODELS_ERR.MISMATCH, `cannot ${op}: moments scale ${moments.scale} differs from schema scale ${schema.scale}`);
  }
  if (label === 'none') return;
  if (schema.label?.kind !== label) throw new ModelsError(MODELS_ERR.MISMATCH, `cannot ${op}: the schema needs a ${label} label`);
  if (moments.label?.kind !== label) throw new ModelsError(MODELS_ERR.MISMATCH, `cannot ${op}: the moments carry no ${label} label moments`);
  if (label === 'categorical' && schema.label.kind === 'categorical' && moments.label.kind === 'categorical') {
    const a = schema.label.classes;
    const b = moments.label.classes;
    if (a.length !== b.length || a.some((c, k) => c !== b[k])) {
      throw new ModelsError(MODELS_ERR.MISMATCH, `cannot ${op}: moments classes [${b.join(', ')}] differ from schema classes [${a.join(', ')}]`);
    }
  }
}

/**
 * Standardisation from a group summary: mean and population sd (`sqrt(C_jj / n)`).
 * @throws ModelsError `MODELS_ERR_TOO_FEW_RECORDS` with fewer than 2 records,
 *   `MODELS_ERR_CONSTANT_FEATURE` if a feature does not vary
 */
export function standardisationOf(op: string, group: GroupSummary, names: readonly string[]): Standardisation {
  if (group.count < 2) throw new ModelsError(MODELS_ERR.TOO_FEW_RECORDS, `cannot ${op}: need at least 2 records, got ${group.count}`);
  const sd = group.scatter.map((r, j) => Math.sqrt(r[j] / group.count));
  sd.forEach((v, j) => {
    if (!(v > 0)) throw new ModelsError(MODELS_ERR.CONSTANT_FEATURE, `cannot ${op}: feature '${names[j]}' has zero variance, so it cannot be standardised; drop it`);
  });
  return { mean: group.mean, sd };
}

/** A scatter matrix in standardised coordinates: `C[j][k] / (sd_j sd_k)`. */
export function standardiseScatter(scatter: readonly (readonly number[])[], sd: readonly number[]): number[][] {
  return scatter.map((r, j) => r.map((v, k) => v / (sd[j] * sd[k])));
}

/**
 * Standardises raw rows: pre-scale with the schema ranges, then `(x' − mean) / sd` — the input
 * stage every family (and its ONNX graph) applies.
 * @throws never; callers validate the rows
 * @example
 * ```ts
 * const z = standardiseRows(model.schema, model.standardisation, rows);
 * ```
 */
export function standardiseRows(schema: DatasetSchema, st: Standardisation, rows: readonly (readonly number[])[]): number[][] {
  const d = schema.features.length;
  const a = schema.features.map((f) => 2 / (f.hi - f.lo));
  const c = schema.features.map((f) => -(f.hi + f.lo) / (f.hi - f.lo));
  return rows.map((row) => {
    const z = new Array<number>(d);
    for (let j = 0; j < d; j++) z[j] = (row[j] * a[j] + c[j] - st.mean[j]) / st.sd[j];
    return z;
  });
}
