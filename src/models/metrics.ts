/**
 * Model metrics on rows: R², RMSE, ROC AUC, accuracy and the confusion matrix.
 * @module
 */
import { aArray, aVector } from './assert.ts';
import { MODELS_ERR, ModelsError, ModelsRangeError } from './errors.ts';

/**
 * Coefficient of determination `R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)²`.
 * @param actual - observed values
 * @param predicted - predictions, same length
 * @throws RangeError if lengths differ, are empty or values are not finite
 * @throws ModelsError `MODELS_ERR_CONSTANT_FEATURE` if `actual` does not vary
 * @example
 * ```ts
 * rSquared([1, 2, 3], [1.1, 1.9, 3.0]);
 * ```
 */
export function rSquared(actual: readonly number[], predicted: readonly number[]): number {
  const op = 'compute R²';
  aVector(op, 'actual', actual);
  aVector(op, 'predicted', predicted, actual.length);
  if (actual.length === 0) throw new ModelsRangeError(`cannot ${op}: actual must not be empty`);
  const mean = actual.reduce((a, b) => a + b, 0) / actual.length;
  let ssRes = 0;
  let ssTot = 0;
  for (let i = 0; i < actual.length; i++) {
    ssRes += (actual[i] - predicted[i]) ** 2;
    ssTot += (actual[i] - mean) ** 2;
  }
  if (ssTot === 0) throw new ModelsError(MODELS_ERR.CONSTANT_FEATURE, `cannot ${op}: actual values do not vary`);
  return 1 - ssRes / ssTot;
}

/**
 * Root mean squared error.
 * @throws RangeError if lengths differ, are empty or values are not finite
 * @example
 * ```ts
 * rootMeanSquaredError([1, 2], [1, 4]); // √2
 * ```
 */
export function rootMeanSquaredError(actual: readonly number[], predicted: readonly number[]): number {
  const op = 'compute RMSE';
  aVector(op, 'actual', actual);
  aVector(op, 'predicted', predicted, actual.length);
  if (actual.length === 0) throw new ModelsRangeError(`cannot ${op}: actual must not be empty`);
  let s = 0;
  for (let i = 0; i < actual.length; i++) s += (actual[i] - predicted[i]) ** 2;
  return Math.sqrt(s / actual.length);
}

/**
 * Area under the ROC curve: the probability that a random positive scores higher than a random
 * negative, ties counting one half (Mann–Whitney U with mid-ranks).
 * @param scores - higher means "more positive"
 * @param positive - true for positives, same length
 * @throws RangeError if lengths differ or scores are not finite
 * @throws ModelsError `MODELS_ERR_EMPTY_CLASS` if there are no positives or no negatives
 * @example
 * ```ts
 * rocAuc([0.1, 0.9, 0.4], [false, true, false]); // 1
 * ```
 */
export function rocAuc(scores: readonly number[], positive: readonly boolean[]): number {
  const op = 'compute AUC';
  aVector(op, 'scores', scores);
  aArray(op, 'positive', positive, scores.length);
  const order = scores.map((_, i) => i).sort((i, j) => scores[i] - scores[j]);
  let rankSumPos = 0;
  let nPos = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && scores[order[j + 1]] === scores[order[i]]) j++;
    const midRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (positive[order[k]] === true) {
        rankSumPos += midRank;
        nPos++;
      }
    }
    i = j + 1;
  }
  const nNeg = scores.length - nPos;
  if (nPos === 0 || nNeg === 0) throw new ModelsError(MODELS_ERR.EMPTY_CLASS, `cannot ${op}: need both positives and negatives, got ${nPos} and ${nNeg}`);
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/**
 * Fraction of equal entries.
 * @throws RangeError if lengths differ or are zero
 * @example
 * ```ts
 * accuracy(['a', 'b'], ['a', 'a']); // 0.5
 * ```
 */
export function accuracy<T>(actual: readonly T[], predicted: readonly T[]): number {
  const op = 'compute accuracy';
  aArray(op, 'actual', actual);
  aArray(op, 'predicted', predicted, actual.length);
  if (actual.length === 0) throw new ModelsRangeError(`cannot ${op}: actual must not be empty`);
  let same = 0;
  for (let i = 0; i < actual.length; i++) if (actual[i] === predicted[i]) same++;
  return same / actual.length;
}

/**
 * Confusion matrix `m[actual][predicted]` over class indices `0 … classes−1`.
 * @throws RangeError if lengths differ or an index is out of range
 * @example
 * ```ts
 * confusionMatrix([0, 1, 1], [0, 1, 0], 2); // [[1, 0], [1, 1]]
 * ```
 */
export function confusionMatrix(actual: readonly number[], predicted: readonly number[], classes: number): number[][] {
  const op = 'compute confusion matrix';
  aArray(op, 'actual', actual);
  aArray(op, 'predicted', predicted, actual.length);
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const p = predicted[i];
    if (!Number.isInteger(a) || a < 0 || a >= classes || !Number.isInteger(p) || p < 0 || p >= classes) {
      throw new ModelsRangeError(`cannot ${op}: class index out of range at ${i}`);
    }
    m[a][p]++;
  }
  return m;
}
