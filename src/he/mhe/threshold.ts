/**
 * t-of-n threshold keys by Shamir sharing of the additive shares (Mouchet et
 * al., PETS 2021, §5; Lattigo `multiparty.Thresholdizer` and `Combiner`).
 *
 * Setup: party i draws Pᵢ(X) = sᵢ + Σ_{k=1}^{t−1} a_{ik}·X^k with uniform ring
 * elements a_{ik} and sends Pᵢ(xⱼ) to party j over a private channel; party j's
 * threshold share is tskⱼ = Σᵢ Pᵢ(xⱼ). Evaluation points xⱼ are public,
 * distinct and non-zero.
 * Use: for an active set A of t parties, party j uses
 *   λⱼ·tskⱼ,  λⱼ = Π_{k∈A, k≠j} x_k / (x_k − xⱼ)  (mod every prime),
 * as its additive share in any protocol: Σ_{j∈A} λⱼ·tskⱼ = Σᵢ Pᵢ(0) = s.
 * Fewer than t threshold shares are uniformly distributed and reveal nothing.
 */
import { randomBytes } from 'node:crypto';
import type { Poly, SealEngine } from '../backend/seal.ts';
import { HeError, HeErrorCode, assertBytes, assertInt } from '../errors.ts';
import { constantNtt, modInverse, sampleUniform, wipe } from '../ring.ts';
import { PartySecret } from './secret.ts';
import { assertShares } from './shares.ts';

/** A Shamir polynomial's coefficients (the constant term is the party's secret). Secret: never sent. */
export interface ShamirPolynomial {
  readonly threshold: number;
  readonly coefficients: readonly Poly[];
}

/** Pᵢ(xⱼ): sent privately from party i to party j. */
export interface ShamirShare {
  readonly point: number;
  readonly value: Poly;
}

/** The threshold protocol: generation of threshold shares and their combination. */
export class ThresholdProtocol {
  readonly #engine: SealEngine;
  constructor(engine: SealEngine) {
    this.#engine = engine;
  }

  /**
   * Draws Pᵢ with Pᵢ(0) = sᵢ and threshold t. The coefficients a_{ik} are
   * expanded from `seed` (32 fresh random bytes unless given): a key holder
   * that keeps the seed secret (in key custody) re-derives the same polynomial
   * after a restart, so a retried deal sends the same Pᵢ(xⱼ) — never values of
   * two different polynomials, which could not be combined.
   *
   * @throws {RangeError} when `seed` is not 32 bytes.
   * @example
   * ```ts
   * const poly = threshold.genShamirPolynomial(secret, 2);
   * const toParty3 = threshold.genShamirShare(poly, 3);
   * ```
   */
  genShamirPolynomial(secret: PartySecret, threshold: number, seed: Uint8Array = randomBytes(32)): ShamirPolynomial {
    assertInt(threshold, 'threshold', 1, 64);
    assertBytes(seed, 'seed');
    if (seed.length !== 32) throw new RangeError(`seed must be 32 bytes, got ${seed.length}`);
    const e = this.#engine;
    const k = e.moduli.length;
    const random = sampleUniform(e, seed, 'shamir', threshold - 1, k);
    return { threshold, coefficients: [{ k, data: secret.poly(k).data.slice() }, ...random] };
  }

  /** Pᵢ(x) for the evaluation point x of a receiving party. */
  genShamirShare(poly: ShamirPolynomial, point: number): ShamirShare {
    assertInt(point, 'point', 1, 0xffff);
    const e = this.#engine;
    const k = e.moduli.length;
    // Horner: ((c_{t−1}·x + c_{t−2})·x + …)·x + c₀, with x as a constant polynomial.
    const x = constantNtt(e, e.moduli.map((q) => BigInt(point) % q));
    const cs = poly.coefficients;
    let acc: Poly = { k, data: cs[cs.length - 1].data.slice() };
    for (let i = cs.length - 2; i >= 0; i--) acc = e.add2(e.mul([acc], x), [cs[i]])[0];
    return { point, value: acc };
  }

  /** tskⱼ = Σᵢ Pᵢ(xⱼ), from the shares every party sent to j. */
  aggregateShares(shares: readonly ShamirShare[]): ShamirShare {
    assertShares(shares, 'Shamir shares');
    const point = shares[0].point;
    if (shares.some((s) => s.point !== point)) throw new HeError(HeErrorCode.PROTOCOL, 'cannot aggregate Shamir shares: they are for different points');
    return { point, value: this.#engine.sum(shares.map((s) => [s.value]))[0] };
  }

  /**
   * Party j's additive share λⱼ·tskⱼ for the active set `points` (t distinct
   * evaluation points, j's own among them).
   *
   * @throws {HeError} `HE_ERR_PROTOCOL` when j is not in the set or points repeat.
   */
  genAdditiveShare(thresholdShare: ShamirShare, points: readonly number[]): PartySecret {
    const e = this.#engine;
    const lambda = this.lagrangeCoefficient(thresholdShare.point, points);
    const [share] = e.mul([thresholdShare.value], constantNtt(e, lambda));
    return new PartySecret(e, share);
  }

  /**
   * λⱼ = Π_{k∈A, k≠j} x_k / (x_k − xⱼ) modulo each prime of the key level: party j's Lagrange
   * coefficient for the active set `points`. Public. Two active sets that give j the same λⱼ make
   * its additive share λⱼ·tskⱼ the same secret — a key holder keys its single-use shares by it.
   *
   * @throws {HeError} `HE_ERR_PROTOCOL` when j is not in the set or points repeat.
   * @example
   * ```ts
   * const lambda = threshold.lagrangeCoefficient(1, [1, 3]); // 3/2 mod each prime
   * ```
   */
  lagrangeCoefficient(j: number, points: readonly number[]): bigint[] {
    const e = this.#engine;
    if (new Set(points).size !== points.length) throw new HeError(HeErrorCode.PROTOCOL, 'cannot combine threshold shares: repeated evaluation points');
    if (!points.includes(j)) throw new HeError(HeErrorCode.PROTOCOL, `cannot combine threshold shares: party ${j} is not in the active set`);
    for (const p of points) assertInt(p, 'points[]', 1, 0xffff);
    return e.moduli.map((q) => {
      let num = 1n;
      let den = 1n;
      for (const p of points) {
        if (p === j) continue;
        num = (num * BigInt(p)) % q;
        den = (den * ((BigInt(p - j) % q) + q)) % q;
      }
      return (num * modInverse(den, q)) % q;
    });
  }

  /** Zeroes a Shamir polynomial once its shares are sent. */
  wipePolynomial(poly: ShamirPolynomial): void {
    for (const c of poly.coefficients) wipe(c);
  }
}
