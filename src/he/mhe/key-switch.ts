/**
 * Collective decryption: a key switch from s = Σ sᵢ to the zero key
 * (Mouchet et al., PETS 2021, §4.2 "KeySwitch" with s′ = 0; Lattigo
 * `multiparty.KeySwitchProtocol`). For a ciphertext (c₀, c₁) at k primes,
 * party i sends
 *   hᵢ = sᵢ·c₁ + eᵢ      (eᵢ flooding, a multiple of t in BGV),
 * and c₀ + Σ hᵢ = m + noise is the plaintext — whoever combines the shares
 * learns it, so prefer the public-key switch when the combiner is not the
 * receiver.
 */
import type { Ciphertext, Plaintext, Poly, SealEngine } from '../backend/seal.ts';
import { HeError, HeErrorCode } from '../errors.ts';
import type { FloodingPlan } from './flooding.ts';
import { floodingTerm } from './noise.ts';
import type { PartySecret } from './secret.ts';
import { assertShares } from './shares.ts';

/** A decryption share hᵢ (or an aggregate). */
export interface DecryptionShare {
  readonly h: Poly;
}

/** Collective decryption. */
export class KeySwitchProtocol {
  readonly #engine: SealEngine;
  constructor(engine: SealEngine) {
    this.#engine = engine;
  }

  /**
   * Party i's decryption share for `ct`. `flooding` is the agreed plan
   * (see {@link planFlooding}); `null` disables flooding and exists only for
   * tests that compare against the ideal key bit for bit.
   *
   * @throws {HeError} `HE_ERR_PROTOCOL` for a ciphertext that is not of size 2.
   */
  genShare(secret: PartySecret, ct: Ciphertext, flooding: FloodingPlan | null): DecryptionShare {
    const e = this.#engine;
    const { polys, meta } = e.ciphertextPolys(ct);
    if (polys.length !== 2) throw new HeError(HeErrorCode.PROTOCOL, `cannot make a decryption share: ciphertext has ${polys.length} polynomials, relinearize it first`);
    const sc1 = { polys: [polys[1]], times: secret.poly(meta.k) };
    const terms = flooding === null ? [sc1] : [sc1, floodingTerm(e, 1, meta.k, flooding.floodBits)];
    return { h: e.combine(terms)[0] };
  }

  /** Sums shares. */
  aggregateShares(shares: readonly DecryptionShare[]): DecryptionShare {
    assertShares(shares, 'decryption shares');
    return { h: this.#engine.sum(shares.map((s) => [s.h]))[0] };
  }

  /**
   * c₀ + Σ hᵢ as a ciphertext under the zero key: (c₀ + Σhᵢ, 0).
   */
  keySwitch(ct: Ciphertext, aggregate: DecryptionShare): Ciphertext {
    const e = this.#engine;
    const { polys, meta } = e.ciphertextPolys(ct);
    if (aggregate.h.k !== meta.k) throw new HeError(HeErrorCode.MISMATCH, 'cannot combine decryption shares: shares and ciphertext at different levels');
    const [c0] = e.add2([polys[0]], [aggregate.h]);
    return e.ciphertextFromPolys([c0, e.zero(meta.k)], meta);
  }

  /** Decrypts the key-switched ciphertext (its c₁ is zero, so the zero key does). */
  decrypt(switched: Ciphertext): Plaintext {
    const e = this.#engine;
    using zeroKey = e.secretKeyFromPoly(e.zero(e.moduli.length));
    return e.decrypt(switched, zeroKey);
  }
}
