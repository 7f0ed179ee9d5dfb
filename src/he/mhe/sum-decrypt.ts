/**
 * Collective decryption of slot sums: every key holder reveals, for each
 * accumulated ciphertext, one flooded scalar — its part of the constant
 * coefficient — and b + Σ shares decodes to the exact slot sums
 * (sum-input.ts explains why the constant coefficient is enough). It is the
 * key switch to the zero key (Mouchet et al., PETS 2021, §4.2) restricted to
 * coefficient 0, i.e. the distributed decryption of one LWE sample per result:
 * party i sends
 *   vᵢ⁽ʳ⁾ = (c₁⁽ʳ⁾·sᵢ)[0] + t·Fᵢ⁽ʳ⁾     (Fᵢ uniform in [−2^floodBits, 2^floodBits)).
 * Whoever combines the shares learns the sums, and only the sums: no other
 * coefficient of any plaintext is ever decrypted. When the combiner is not the
 * receiver, use sum-key-switch.ts.
 */
import type { SealEngine } from '../backend/seal.ts';
import { HeError, HeErrorCode } from '../errors.ts';
import { sampleFlooding } from '../ring.ts';
import type { FloodingPlan } from './flooding.ts';
import type { PartySecret } from './secret.ts';
import { assertShares } from './shares.ts';
import { addResidues, secretConstantTerms, slotSumsFromResidues, timesT, type Residues, type SumRevealInput } from './sum-input.ts';

/** A sum-decryption share (one flooded scalar per result), or an aggregate. */
export interface SumDecryptShare {
  readonly v: Residues;
}

/** Collective decryption of slot sums. */
export class SumDecryptProtocol {
  readonly #engine: SealEngine;
  constructor(engine: SealEngine) {
    this.#engine = engine;
  }

  /**
   * Party i's share. `flooding` null exists only for tests that compare with
   * the ideal key; a share without flooding leaks the party's secret.
   *
   * @example
   * ```ts
   * const share = protocol.genShare(secret, sumRevealInput(engine, accumulators), plan);
   * ```
   */
  genShare(secret: PartySecret, input: SumRevealInput, flooding: FloodingPlan | null): SumDecryptShare {
    const e = this.#engine;
    const own = secretConstantTerms(e, input, secret);
    if (flooding === null) return { v: own };
    const v = addResidues(e, own, timesT(e, sampleFlooding(input.count, flooding.floodBits), input.meta.k));
    own.data.fill(0n);
    return { v };
  }

  /** Sums shares. */
  aggregateShares(shares: readonly SumDecryptShare[]): SumDecryptShare {
    assertShares(shares, 'sum-decryption shares');
    const [first] = shares;
    let v = first.v;
    for (const s of shares.slice(1)) {
      if (s.v.k !== v.k || s.v.count !== v.count) throw new HeError(HeErrorCode.MISMATCH, 'cannot aggregate sum-decryption shares: they are for different inputs');
      v = addResidues(this.#engine, v, s.v);
    }
    return { v };
  }

  /**
   * The slot sums, exact as integers in (−t/2, t/2].
   *
   * @throws {HeError} `HE_ERR_MISMATCH` when the aggregate is for another input.
   */
  revealSums(input: SumRevealInput, aggregate: SumDecryptShare): bigint[] {
    const { v } = aggregate;
    if (v.k !== input.meta.k || v.count !== input.count) throw new HeError(HeErrorCode.MISMATCH, 'cannot reveal sums: the shares are for another input');
    return slotSumsFromResidues(this.#engine, addResidues(this.#engine, input.b, v), input.meta.correction);
  }
}
