/**
 * Collective relinearization key, two rounds (Mouchet et al., PETS 2021,
 * §4.1 "RelinKeyGen"; Lattigo `multiparty.RelinearizationKeyGenProtocol`),
 * written in SEAL's gadget: key j switches on RNS component j with
 * wⱼ = (P mod qⱼ on component j, 0 elsewhere), P the special prime.
 *
 * Round 1, with ephemeral ternary uᵢ and reference polynomials aⱼ:
 *   h₀,ᵢⱼ = −uᵢ·aⱼ + wⱼ·sᵢ + e₀ ,  h₁,ᵢⱼ = sᵢ·aⱼ + e₁
 * Round 2, on the aggregates h₀ⱼ = Σ h₀,ᵢⱼ and h₁ⱼ = Σ h₁,ᵢⱼ:
 *   bᵢⱼ = sᵢ·h₀ⱼ + (uᵢ − sᵢ)·h₁ⱼ + e₂
 * Key j is (Σ bᵢⱼ, h₁ⱼ): b + s·h₁ = wⱼ·s² + s·e₀ + u·e₁ + e₂, SEAL's relinearization
 * key for s² (every e scaled by t in BGV).
 */
import type { Poly, RelinKeys, SealEngine } from '../backend/seal.ts';
import { HeError, HeErrorCode } from '../errors.ts';
import { sampleUniform, wipe } from '../ring.ts';
import { gadgetRows } from './gadget.ts';
import { errorTerm, sampleTernaryNtt } from './noise.ts';
import type { PartySecret } from './secret.ts';
import { assertShares } from './shares.ts';

/** Reference polynomials a₀…a_{L−1}. */
export interface RelinKeyCrp {
  readonly a: readonly Poly[];
}

/** Round-1 share (h₀ⱼ, h₁ⱼ) for every gadget row j. */
export interface RelinKeyShare1 {
  readonly h0: readonly Poly[];
  readonly h1: readonly Poly[];
}

/** Round-2 share bⱼ for every gadget row j. */
export interface RelinKeyShare2 {
  readonly b: readonly Poly[];
}

/** The round-1 ephemeral secret uᵢ; keep it for round 2, then it is wiped. */
export interface RelinKeyEphemeral {
  readonly u: Poly;
}

/** The collective relinearization key protocol. */
export class RelinKeyProtocol {
  readonly #engine: SealEngine;
  constructor(engine: SealEngine) {
    this.#engine = engine;
  }

  /** Expands the public seed into one reference polynomial per gadget row. */
  sampleCrp(seed: Uint8Array): RelinKeyCrp {
    const e = this.#engine;
    return { a: sampleUniform(e, seed, 'relin-key', e.dataPrimes, e.moduli.length) };
  }

  /**
   * Round 1: returns the public share and the ephemeral secret uᵢ (never sent).
   *
   * @example
   * ```ts
   * const r1 = protocol.genShareRound1(secret, crp); // send r1.public, keep r1.secret
   * ```
   */
  genShareRound1(secret: PartySecret, crp: RelinKeyCrp): { public: RelinKeyShare1; secret: RelinKeyEphemeral } {
    const e = this.#engine;
    const k = e.moduli.length;
    const L = e.dataPrimes;
    this.#checkCrp(crp);
    const s = secret.poly(k);
    const u = sampleTernaryNtt(e, k);
    const h0 = e.combine([{ polys: gadgetRows(e, s) }, errorTerm(e, L, k), { polys: crp.a, times: u, negate: true }]);
    const h1 = e.combine([{ polys: crp.a, times: s }, errorTerm(e, L, k)]);
    return { public: { h0, h1 }, secret: { u } };
  }

  /** Sums round-1 shares. */
  aggregateShares1(shares: readonly RelinKeyShare1[]): RelinKeyShare1 {
    assertShares(shares, 'relinearization round-1 shares');
    const e = this.#engine;
    return { h0: e.sum(shares.map((x) => x.h0)), h1: e.sum(shares.map((x) => x.h1)) };
  }

  /** Round 2 on the round-1 aggregate; wipes the ephemeral secret. */
  genShareRound2(secret: PartySecret, ephemeral: RelinKeyEphemeral, round1: RelinKeyShare1): RelinKeyShare2 {
    const e = this.#engine;
    const k = e.moduli.length;
    const s = secret.poly(k);
    const uMinusS = e.add2([ephemeral.u], [s], true)[0];
    const b = e.combine([{ polys: round1.h0, times: s }, { polys: round1.h1, times: uMinusS }, errorTerm(e, e.dataPrimes, k)]);
    wipe(uMinusS);
    wipe(ephemeral.u);
    return { b };
  }

  /** Sums round-2 shares. */
  aggregateShares2(shares: readonly RelinKeyShare2[]): RelinKeyShare2 {
    assertShares(shares, 'relinearization round-2 shares');
    return { b: this.#engine.sum(shares.map((x) => x.b)) };
  }

  /** The collective relinearization key (Σ bⱼ, h₁ⱼ) as SEAL RelinKeys. */
  genRelinKey(round1: RelinKeyShare1, round2: RelinKeyShare2): RelinKeys {
    const rows = round2.b.map((b, j) => [b, round1.h1[j]] as const);
    return this.#engine.kswitchKeysFromRows('relinKeys', new Map([[0, rows]]));
  }

  #checkCrp(crp: RelinKeyCrp): void {
    if (crp.a.length !== this.#engine.dataPrimes) throw new HeError(HeErrorCode.PROTOCOL, 'cannot generate relinearization share: wrong number of reference polynomials');
  }
}
