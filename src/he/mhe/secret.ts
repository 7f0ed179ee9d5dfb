/**
 * A key holder's secret share sᵢ of the collective key s = Σ sᵢ: a ternary
 * polynomial kept in NTT form at the key level (all primes, the special one
 * included). It never leaves the party; `wipe()` zeroes it.
 */
import { HeError, HeErrorCode } from '../errors.ts';
import type { Poly, SealEngine, SecretKey } from '../backend/seal.ts';
import { sampleTernary, smallToRns, wipe } from '../ring.ts';

/** One party's additive secret share. */
export class PartySecret {
  readonly #engine: SealEngine;
  #s: Poly | undefined;

  /** Wraps a key-level NTT polynomial (use {@link PartySecret.generate} for a fresh one). */
  constructor(engine: SealEngine, s: Poly) {
    if (s.k !== engine.moduli.length || s.data.length !== s.k * engine.n) {
      throw new RangeError(`secret must be a key-level polynomial with ${engine.moduli.length} primes`);
    }
    this.#engine = engine;
    this.#s = s;
  }

  /**
   * Samples a fresh ternary secret share.
   *
   * @example
   * ```ts
   * const secret = PartySecret.generate(engine);
   * ```
   */
  static generate(engine: SealEngine): PartySecret {
    const coeffs = sampleTernary(engine.n);
    const [s] = engine.toNtt([smallToRns(engine, coeffs, engine.moduli.length)]);
    coeffs.fill(0);
    return new PartySecret(engine, s);
  }

  /**
   * The share at `k` primes (a view).
   *
   * @throws {HeError} `HE_ERR_WIPED` after {@link wipe}.
   */
  poly(k: number = this.#engine.moduli.length): Poly {
    if (this.#s === undefined) throw new HeError(HeErrorCode.WIPED, 'cannot use secret share: it was wiped');
    return this.#engine.truncate(this.#s, k);
  }

  /** This share alone as a SEAL secret key (for tests, and for serialising it into key custody). */
  toSecretKey(): SecretKey {
    return this.#engine.secretKeyFromPoly(this.poly());
  }

  /** Zeroes the share; later use throws `HE_ERR_WIPED`. */
  wipe(): void {
    if (this.#s !== undefined) wipe(this.#s);
    this.#s = undefined;
  }
}
