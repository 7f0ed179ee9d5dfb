/**
 * Dense float64 linear algebra for the model fits (internal module): symmetric eigendecomposition
 * and Cholesky factorisation through ml-matrix, with the singularity checks the fits need.
 * @module
 */
import { CholeskyDecomposition, EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { MODELS_ERR, ModelsError } from './errors.ts';

/** Smallest accepted ratio of the smallest to the largest eigenvalue before a matrix is "singular". */
export const SINGULAR_RCOND = 1e-12;

/** Eigenvalues in descending order and the matching unit eigenvectors (as columns). */
export interface SymmetricEigen {
  readonly values: number[];
  /** `vectors[i][c]`: component i of eigenvector c. Each column's largest-magnitude entry is positive. */
  readonly vectors: number[][];
}

/**
 * Eigendecomposition of a symmetric matrix, sorted by descending eigenvalue, with a deterministic
 * sign per eigenvector (its largest-magnitude component positive) so that results are comparable.
 */
export function symmetricEigen(a: readonly (readonly number[])[]): SymmetricEigen {
  const evd = new EigenvalueDecomposition(new Matrix(a.map((r) => [...r])), { assumeSymmetric: true });
  const values = evd.realEigenvalues;
  const v = evd.eigenvectorMatrix.to2DArray();
  const order = values.map((_, i) => i).sort((i, j) => values[j] - values[i]);
  const d = a.length;
  const vectors = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  order.forEach((src, c) => {
    let big = 0;
    for (let i = 0; i < d; i++) if (Math.abs(v[i][src]) > Math.abs(v[big][src])) big = i;
    const sign = v[big][src] < 0 ? -1 : 1;
    for (let i = 0; i < d; i++) vectors[i][c] = sign * v[i][src];
  });
  return { values: order.map((i) => values[i]), vectors };
}

/**
 * Cholesky factor `L` (lower, `A = L Lᵀ`) of a symmetric positive definite matrix.
 * @throws ModelsError `MODELS_ERR_SINGULAR` if `A` is not positive definite or is numerically
 *   singular (smallest / largest pivot² below {@link SINGULAR_RCOND})
 */
export function cholesky(a: readonly (readonly number[])[], op: string, what: string): number[][] {
  const chol = new CholeskyDecomposition(new Matrix(a.map((r) => [...r])));
  const singular = (): never => {
    throw new ModelsError(MODELS_ERR.SINGULAR, `cannot ${op}: ${what} is singular or not positive definite (a feature is a linear combination of others, or there are too few records)`);
  };
  if (!chol.isPositiveDefinite()) singular();
  const l = chol.lowerTriangularMatrix.to2DArray();
  const diag = l.map((r, i) => r[i] * r[i]);
  const max = Math.max(...diag);
  const min = Math.min(...diag);
  if (!(min > 0) || min / max < SINGULAR_RCOND) singular();
  return l;
}

/** Inverse of a lower-triangular matrix. */
export function invertLower(l: readonly (readonly number[])[]): number[][] {
  const d = l.length;
  const inv = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  for (let c = 0; c < d; c++) {
    inv[c][c] = 1 / l[c][c];
    for (let i = c + 1; i < d; i++) {
      let s = 0;
      for (let k = c; k < i; k++) s += l[i][k] * inv[k][c];
      inv[i][c] = -s / l[i][i];
    }
  }
  return inv;
}

/**
 * A "whitening" factor `W` of the inverse of an SPD matrix `A`: `A⁻¹ = W Wᵀ`, with `W = L⁻ᵀ`
 * (upper triangular), so that `vᵀ A⁻¹ v = ‖vᵀ W‖²`. Also returns `log det A`.
 * @throws ModelsError `MODELS_ERR_SINGULAR` as {@link cholesky}
 */
export function inverseFactor(a: readonly (readonly number[])[], op: string, what: string): { factor: number[][]; logDet: number } {
  const l = cholesky(a, op, what);
  const li = invertLower(l);
  const d = a.length;
  const factor = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => li[j][i]));
  let logDet = 0;
  for (let i = 0; i < d; i++) logDet += 2 * Math.log(l[i][i]);
  return { factor, logDet };
}

/** Solves `A x = b` for SPD `A` by Cholesky. @throws ModelsError `MODELS_ERR_SINGULAR` */
export function solveSpd(a: readonly (readonly number[])[], b: readonly number[], op: string, what: string): number[] {
  const l = cholesky(a, op, what);
  const d = b.length;
  const y = new Array<number>(d);
  for (let i = 0; i < d; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i][k] * y[k];
    y[i] = s / l[i][i];
  }
  const x = new Array<number>(d);
  for (let i = d - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < d; k++) s -= l[k][i] * x[k];
    x[i] = s / l[i][i];
  }
  return x;
}

/** `row · M` for a row vector and a matrix given as rows. */
export function rowTimes(v: readonly number[], m: readonly (readonly number[])[]): number[] {
  const cols = m[0]?.length ?? 0;
  const out = new Array<number>(cols).fill(0);
  for (let i = 0; i < v.length; i++) {
    const vi = v[i];
    const mi = m[i];
    for (let c = 0; c < cols; c++) out[c] += vi * mi[c];
  }
  return out;
}

/** Dot product. */
export function dot(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
