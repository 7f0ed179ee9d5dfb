/**
 * Collective public key generation (Mouchet et al., PETS 2021, §4.1 "EncKeyGen";
 * Lattigo `multiparty.PublicKeyGenProtocol`).
 *
 * With a common reference polynomial a, party i publishes
 *   p₀,ᵢ = −a·sᵢ + eᵢ          (eᵢ scaled by t in BGV),
 * and the collective key is (Σ p₀,ᵢ, a) = (−a·s + e, a) for s = Σ sᵢ: an
 * ordinary SEAL public key of the secret nobody holds.
 */
import type { Poly, PublicKey, SealEngine } from '../backend/seal.ts';
import { sampleUniform } from '../ring.ts';
import { errorTerm } from './noise.ts';
import type { PartySecret } from './secret.ts';
import { assertShares } from './shares.ts';

/** The common reference polynomial a (key level, NTT form). */
export interface PublicKeyCrp {
  readonly a: Poly;
}

/** A party's public-key share p₀,ᵢ (or the aggregate of several). */
export interface PublicKeyShare {
  readonly p0: Poly;
}

/** The collective public key protocol. */
export class PublicKeyProtocol {
  readonly #engine: SealEngine;
  constructor(engine: SealEngine) {
    this.#engine = engine;
  }

  /**
   * Expands the public seed into the reference polynomial a; every party must
   * use the same seed.
   *
   * @example
   * ```ts
   * const crp = protocol.sampleCrp(seed);
   * ```
   */
  sampleCrp(seed: Uint8Array): PublicKeyCrp {
    const k = this.#engine.moduli.length;
    return { a: sampleUniform(this.#engine, seed, 'public-key', 1, k)[0] };
  }

  /** Party i's share −a·sᵢ + eᵢ. */
  genShare(secret: PartySecret, crp: PublicKeyCrp): PublicKeyShare {
    const e = this.#engine;
    const k = e.moduli.length;
    return { p0: e.combine([errorTerm(e, 1, k), { polys: [crp.a], times: secret.poly(k), negate: true }])[0] };
  }

  /**
   * Sums shares (associative: partial aggregates can be aggregated again).
   *
   * @throws {HeError} `HE_ERR_PROTOCOL` on an empty list or shares at different levels.
   */
  aggregateShares(shares: readonly PublicKeyShare[]): PublicKeyShare {
    assertShares(shares, 'public-key shares');
    return { p0: this.#engine.sum(shares.map((s) => [s.p0]))[0] };
  }

  /** The collective public key (Σ p₀,ᵢ, a), loaded (and validated) by SEAL. */
  genPublicKey(aggregate: PublicKeyShare, crp: PublicKeyCrp): PublicKey {
    return this.#engine.publicKeyFromPolys(aggregate.p0, crp.a);
  }
}
