/**
 * Public-key switch of slot sums: the constant coefficients of the
 * accumulated ciphertexts re-encrypted to a receiver's own public key (the
 * machine builder's by default), packed one per coefficient into a single
 * ciphertext. The combiner (the cloud) learns nothing; the receiver decrypts
 * with its SEAL secret key and learns the sums and nothing else.
 *
 * PubKeySwitch (Mouchet et al., PETS 2021, §4.2) applied to the LWE samples
 * of coefficient 0 (see sum-input.ts): with the receiver's key (p₀, p₁), party i
 * sends
 *   h₀ᵢ = Vᵢ + uᵢ·p₀ + t·e₀ᵢ,   h₁ᵢ = uᵢ·p₁ + t·e₁ᵢ,
 * where Vᵢ has Vᵢ[r] = (c₁⁽ʳ⁾·sᵢ)[0] + t·Fᵢ⁽ʳ⁾ (flooding) in its first `count`
 * coefficients and zeros elsewhere, and uᵢ is a fresh ternary polynomial. With
 * B[r] = c₀⁽ʳ⁾[0], the ciphertext (B + Σh₀ᵢ, Σh₁ᵢ) decrypts under the receiver's
 * key to m₀⁽ʳ⁾ in coefficient r (the rest of the plaintext is zero mod t).
 */
import type { Ciphertext, Poly, PublicKey, SealEngine, SecretKey } from '../backend/seal.ts';
import { HeError, HeErrorCode } from '../errors.ts';
import { sampleFlooding, wipe } from '../ring.ts';
import type { FloodingPlan } from './flooding.ts';
import { errorTerm, sampleTernaryNtt } from './noise.ts';
import type { PartySecret } from './secret.ts';
import { assertShares } from './shares.ts';
import { addResidues, residuesAsPoly, secretConstantTerms, slotSumsFromConstants, timesT, type SumRevealInput } from './sum-input.ts';

/** A sum-key-switch share (h₀ᵢ, h₁ᵢ), or an aggregate. */
export interface SumKeySwitchShare {
  readonly h0: Poly;
  readonly h1: Poly;
}

/** The public-key switch of slot sums. */
export class SumKeySwitchProtocol {
  readonly #engine: SealEngine;
  constructor(engine: SealEngine) {
    this.#engine = engine;
  }

  /**
   * Party i's share re-encrypting the sums of `input` to `receiver`.
   * `flooding` null is for tests only.
   *
   * @example
   * ```ts
   * const share = protocol.genShare(secret, input, builderPk, plan);
   * ```
   */
  genShare(secret: PartySecret, input: SumRevealInput, receiver: PublicKey, flooding: FloodingPlan | null): SumKeySwitchShare {
    const e = this.#engine;
    const k = input.meta.k;
    const own = secretConstantTerms(e, input, secret);
    const flooded = flooding === null ? own : addResidues(e, own, timesT(e, sampleFlooding(input.count, flooding.floodBits), k));
    const v = residuesAsPoly(e, flooded);
    own.data.fill(0n);
    flooded.data.fill(0n);
    const [p0, p1] = e.publicKeyPolys(receiver).map((p) => e.truncate(p, k));
    const u = sampleTernaryNtt(e, k);
    const [h0] = e.combine([{ polys: [v], coefficientForm: true }, { polys: [p0], times: u }, errorTerm(e, 1, k)]);
    const [h1] = e.combine([{ polys: [p1], times: u }, errorTerm(e, 1, k)]);
    wipe(u);
    wipe(v);
    return { h0, h1 };
  }

  /** Sums shares. */
  aggregateShares(shares: readonly SumKeySwitchShare[]): SumKeySwitchShare {
    assertShares(shares, 'sum-key-switch shares');
    const [h0, h1] = this.#engine.sum(shares.map((s) => [s.h0, s.h1]));
    return { h0, h1 };
  }

  /**
   * The receiver's ciphertext (B + Σh₀ᵢ, Σh₁ᵢ): coefficient r of its plaintext
   * is result r's constant coefficient.
   *
   * @throws {HeError} `HE_ERR_MISMATCH` when the aggregate is at another level.
   */
  keySwitch(input: SumRevealInput, aggregate: SumKeySwitchShare): Ciphertext {
    const e = this.#engine;
    const { meta } = input;
    if (aggregate.h0.k !== meta.k || aggregate.h1.k !== meta.k) throw new HeError(HeErrorCode.MISMATCH, 'cannot combine sum-key-switch shares: shares and input at different levels');
    const [c0] = e.combine([{ polys: [residuesAsPoly(e, input.b)], coefficientForm: true }, { polys: [aggregate.h0] }]);
    return e.ciphertextFromPolys([c0, aggregate.h1], meta);
  }
}

/**
 * The receiver's side: decrypts a switched ciphertext with its own secret key
 * and returns the first `count` slot sums, exact in (−t/2, t/2].
 *
 * @throws {RangeError} when `count` is not in [1, N].
 * @example
 * ```ts
 * const sums = decryptSlotSums(engine, switched, builderSecretKey, input.count);
 * ```
 */
export function decryptSlotSums(engine: SealEngine, switched: Ciphertext, receiverKey: SecretKey, count: number): bigint[] {
  if (!Number.isInteger(count) || count < 1 || count > engine.n) throw new RangeError(`count must be an integer in [1, ${engine.n}], got ${count}`);
  using pt = engine.decrypt(switched, receiverKey);
  const coeffs = engine.plaintextCoefficients(pt);
  const m0 = Array.from({ length: count }, (_, r) => (r < coeffs.length ? coeffs[r] : 0n));
  // SEAL's decryptor already removed the correction factor.
  return slotSumsFromConstants(engine, m0, 1n);
}
