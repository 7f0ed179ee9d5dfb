/**
 * Public-key switch: re-encrypt a ciphertext under s = Σ sᵢ to a receiver's own
 * public key (p₀, p₁) without decrypting it (Mouchet et al., PETS 2021, §4.2
 * "PubKeySwitch"; Lattigo `multiparty.PublicKeySwitchProtocol`). Party i sends
 *   h₀ᵢ = sᵢ·c₁ + uᵢ·p₀ + e₀ᵢ   (e₀ᵢ flooding),   h₁ᵢ = uᵢ·p₁ + e₁ᵢ
 * with fresh ternary uᵢ; (c₀ + Σh₀ᵢ, Σh₁ᵢ) decrypts under the receiver's secret
 * key with SEAL's ordinary Decryptor. Whoever combines the shares learns
 * nothing. Errors are multiples of t in BGV.
 */
import type { Ciphertext, Poly, PublicKey, SealEngine } from '../backend/seal.ts';
import { HeError, HeErrorCode } from '../errors.ts';
import type { FloodingPlan } from './flooding.ts';
import { errorTerm, floodingTerm, sampleTernaryNtt } from './noise.ts';
import type { PartySecret } from './secret.ts';
import { assertShares } from './shares.ts';
import { wipe } from '../ring.ts';

/** A public-key-switch share (h₀ᵢ, h₁ᵢ) or an aggregate. */
export interface PublicKeySwitchShare {
  readonly h0: Poly;
  readonly h1: Poly;
}

/** The public-key switch protocol. */
export class PublicKeySwitchProtocol {
  readonly #engine: SealEngine;
  constructor(engine: SealEngine) {
    this.#engine = engine;
  }

  /**
   * Party i's share re-encrypting `ct` to `receiver`. `flooding` null is for
   * tests only.
   *
   * @throws {HeError} `HE_ERR_PROTOCOL` for a ciphertext that is not of size 2.
   */
  genShare(secret: PartySecret, ct: Ciphertext, receiver: PublicKey, flooding: FloodingPlan | null): PublicKeySwitchShare {
    const e = this.#engine;
    const { polys, meta } = e.ciphertextPolys(ct);
    if (polys.length !== 2) throw new HeError(HeErrorCode.PROTOCOL, `cannot make a key-switch share: ciphertext has ${polys.length} polynomials, relinearize it first`);
    const k = meta.k;
    const [p0, p1] = e.publicKeyPolys(receiver).map((p) => e.truncate(p, k));
    const u = sampleTernaryNtt(e, k);
    const e0 = flooding === null ? errorTerm(e, 1, k) : floodingTerm(e, 1, k, flooding.floodBits);
    const [h0] = e.combine([{ polys: [polys[1]], times: secret.poly(k) }, { polys: [p0], times: u }, e0]);
    const [h1] = e.combine([{ polys: [p1], times: u }, errorTerm(e, 1, k)]);
    wipe(u);
    return { h0, h1 };
  }

  /** Sums shares. */
  aggregateShares(shares: readonly PublicKeySwitchShare[]): PublicKeySwitchShare {
    assertShares(shares, 'public-key-switch shares');
    const [h0, h1] = this.#engine.sum(shares.map((s) => [s.h0, s.h1]));
    return { h0, h1 };
  }

  /** The re-encrypted ciphertext (c₀ + Σh₀ᵢ, Σh₁ᵢ), same level, scale and correction factor as `ct`. */
  keySwitch(ct: Ciphertext, aggregate: PublicKeySwitchShare): Ciphertext {
    const e = this.#engine;
    const { polys, meta } = e.ciphertextPolys(ct);
    if (aggregate.h0.k !== meta.k) throw new HeError(HeErrorCode.MISMATCH, 'cannot combine key-switch shares: shares and ciphertext at different levels');
    const [c0] = e.add2([polys[0]], [aggregate.h0]);
    return e.ciphertextFromPolys([c0, aggregate.h1], meta);
  }
}
