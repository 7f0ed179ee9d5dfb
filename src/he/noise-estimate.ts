/**
 * A bound on ciphertext noise for the circuits hedge reveals, so that key
 * holders can size their flooding without any secret (see mhe/flooding.ts).
 *
 * The model tracks the standard deviation σ_v of the coefficients of
 * v = [c₀ + c₁·s]_Q (message included) under the central-limit heuristic, for
 * a collective key of `parties` ternary shares (so s has variance 2n/3 per
 * coefficient) and error σ = 3.24:
 * - fresh BGV: σ_v² = t²/12 + t²σ²(1 + (4/3)·N·n)   (m uniform mod t in
 *   coefficient form; e_pk·u and e₂·s terms);
 * - product of two ciphertexts: σ = √N·σ₁·σ₂, plus 1.5 bits for what the
 *   heuristic leaves out (relinearization, cross terms; calibrated in tests);
 * - a sum of M terms: σ·√M;
 * - a full slot sum is the trace Σ_g σ_g(v) over the whole Galois group, and
 *   every automorphism fixes the constant coefficient: coefficient 0 grows
 *   N-fold (measured: +13 bits at N = 8192), so the bound is multiplied by N;
 * and bounds ‖v‖∞ by 7σ_v (a 7σ Gaussian tail over N coefficients fails with
 * probability below 2^−25 per ciphertext). Tests compare it with the noise
 * measured through the ideal key and require estimate ≥ measurement.
 */
import type { HeParams } from './params.ts';
import { HeError, HeErrorCode } from './errors.ts';

const SIGMA = 3.24;
const TAIL_BITS = Math.log2(7);
const PRODUCT_SLACK_BITS = 1.5;

/** The circuit whose output is revealed. */
export interface RevealCircuit {
  /** Number of key holders whose shares make up the collective key. */
  readonly parties: number;
  /** `sum`: M fresh ciphertexts added; `products`: M products of two fresh ciphertexts added. */
  readonly kind: 'sum' | 'products';
  /** M, the number of terms accumulated (per slot). */
  readonly terms: number;
  /** Whether the result was slot-summed (rotate-and-add over all slots). */
  readonly slotSum: boolean;
}

/**
 * log₂ of a bound on ‖c₀ + c₁·s − m‖∞ for the circuit (BGV: the t·e part, with
 * the message's own size folded in).
 *
 * @throws {HeError} `HE_ERR_PARAMS` for CKKS products (not modelled: measure them).
 * @example
 * ```ts
 * const bits = estimateNoiseBits(params, t, { parties: 3, kind: 'products', terms: 1_000_000, slotSum: true });
 * ```
 */
export function estimateNoiseBits(params: HeParams, t: bigint, circuit: RevealCircuit): number {
  const { parties, kind, terms, slotSum } = circuit;
  if (!Number.isInteger(parties) || parties < 1) throw new RangeError(`parties must be a positive integer, got ${parties}`);
  if (!Number.isInteger(terms) || terms < 1) throw new RangeError(`terms must be a positive integer, got ${terms}`);
  const n = params.n;
  const freshErrVar = SIGMA ** 2 * (1 + (4 / 3) * n * parties);
  let log2Sigma: number;
  if (params.scheme === 'bgv') {
    const log2T = Math.log2(Number(t));
    const fresh = log2T + 0.5 * Math.log2(1 / 12 + freshErrVar);
    log2Sigma = kind === 'sum' ? fresh : 0.5 * Math.log2(n) + 2 * fresh + PRODUCT_SLACK_BITS;
  } else {
    if (kind === 'products') throw new HeError(HeErrorCode.PARAMS, 'cannot estimate noise of CKKS products: not modelled, measure it with the ideal key');
    log2Sigma = 0.5 * Math.log2(freshErrVar + n / 12); // encoding rounding adds ~N/12
  }
  log2Sigma += 0.5 * Math.log2(terms);
  if (slotSum) log2Sigma += Math.log2(n);
  return log2Sigma + TAIL_BITS;
}
