/**
 * Collective Galois (rotation) keys (Mouchet et al., PETS 2021, §4.1
 * "RotKeyGen"; Lattigo `multiparty.GaloisKeyGenProtocol`). For Galois element
 * g the key switches from σ_g(s) = s(X^g) to s; with reference polynomials aⱼ
 * party i publishes, for every gadget row j,
 *   hᵢⱼ = −aⱼ·sᵢ + wⱼ·σ_g(sᵢ) + eᵢⱼ ,
 * and key j is (Σᵢ hᵢⱼ, aⱼ). σ_g is applied in the NTT domain, where it is a
 * permutation of the evaluation points (mhe/automorphism.ts).
 */
import type { GaloisKeys, Poly, SealEngine } from '../backend/seal.ts';
import { HeError, HeErrorCode } from '../errors.ts';
import { sampleUniform, wipe } from '../ring.ts';
import { automorphismNtt } from './automorphism.ts';
import { gadgetRows } from './gadget.ts';
import { errorTerm } from './noise.ts';
import type { PartySecret } from './secret.ts';
import { assertShares } from './shares.ts';

/** Reference polynomials for one Galois element. */
export interface GaloisKeyCrp {
  readonly galoisElement: number;
  readonly a: readonly Poly[];
}

/** A share (or aggregate) for one Galois element. */
export interface GaloisKeyShare {
  readonly galoisElement: number;
  readonly h: readonly Poly[];
}

/** The collective Galois key protocol. */
export class GaloisKeyProtocol {
  readonly #engine: SealEngine;
  constructor(engine: SealEngine) {
    this.#engine = engine;
  }

  /**
   * The Galois elements a full slot sum needs: rotations by 1, 2, 4, … within
   * a row, plus (BGV) the column swap.
   */
  slotSumElements(): number[] {
    const e = this.#engine;
    const rowSlots = e.n / 2;
    const steps: number[] = [];
    for (let s = 1; s < rowSlots; s *= 2) steps.push(s);
    if (e.params.scheme === 'bgv') steps.push(0);
    return steps.map((s) => e.galoisElementOfStep(s));
  }

  /** Expands the public seed into the reference polynomials of element `galoisElement`. */
  sampleCrp(seed: Uint8Array, galoisElement: number): GaloisKeyCrp {
    const e = this.#engine;
    this.#checkElement(galoisElement);
    return { galoisElement, a: sampleUniform(e, seed, `galois-key/${galoisElement}`, e.dataPrimes, e.moduli.length) };
  }

  /** Party i's share for the element of `crp`. */
  genShare(secret: PartySecret, crp: GaloisKeyCrp): GaloisKeyShare {
    const e = this.#engine;
    const k = e.moduli.length;
    const s = secret.poly(k);
    const sigmaS = automorphismNtt(e, s, crp.galoisElement);
    const w = gadgetRows(e, sigmaS);
    wipe(sigmaS);
    const h = e.combine([{ polys: w }, errorTerm(e, e.dataPrimes, k), { polys: crp.a, times: s, negate: true }]);
    for (const row of w) wipe(row);
    return { galoisElement: crp.galoisElement, h };
  }

  /** Sums shares for one element. */
  aggregateShares(shares: readonly GaloisKeyShare[]): GaloisKeyShare {
    assertShares(shares, 'Galois-key shares');
    const g = shares[0].galoisElement;
    if (shares.some((s) => s.galoisElement !== g)) throw new HeError(HeErrorCode.PROTOCOL, 'cannot aggregate Galois-key shares: different Galois elements');
    return { galoisElement: g, h: this.#engine.sum(shares.map((s) => s.h)) };
  }

  /** SEAL GaloisKeys holding every aggregated element. */
  genGaloisKeys(keys: readonly { aggregate: GaloisKeyShare; crp: GaloisKeyCrp }[]): GaloisKeys {
    const rows = new Map<number, (readonly [Poly, Poly])[]>();
    for (const { aggregate, crp } of keys) {
      if (aggregate.galoisElement !== crp.galoisElement) throw new HeError(HeErrorCode.PROTOCOL, 'cannot generate Galois keys: share and reference for different elements');
      rows.set((crp.galoisElement - 1) / 2, aggregate.h.map((h, j) => [h, crp.a[j]] as const));
    }
    return this.#engine.kswitchKeysFromRows('galoisKeys', rows);
  }

  #checkElement(g: number): void {
    const m = 2 * this.#engine.n;
    if (!Number.isInteger(g) || g < 3 || g >= m || g % 2 === 0) throw new RangeError(`galoisElement must be an odd integer in [3, ${m}), got ${g}`);
  }
}
