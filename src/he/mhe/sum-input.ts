/**
 * Slot sums from constant coefficients: the public input of the sum-reveal
 * protocols (sum-decrypt.ts, sum-key-switch.ts).
 *
 * In BGV with batching, t ≡ 1 (mod 2N) and the N slots of a plaintext m are
 * its evaluations at the primitive 2N-th roots of unity ζ^{2j+1} mod t. Summing
 * them, Σ_j ζ^{(2j+1)·i} = 0 for every power 0 < i < N, so
 *
 *   Σ slots(m) = N · m₀ (mod t),
 *
 * where m₀ is the constant coefficient. A job therefore never needs the
 * rotate-and-add slot sum (log₂ N key switches per result, Galois keys, and a
 * trace that multiplies the noise of coefficient 0 by N): it reveals only m₀
 * of each accumulated ciphertext, and nothing else of the plaintext. For a
 * size-2 ciphertext (c₀, c₁) under s = Σ sᵢ, m₀ + t·e₀ = c₀[0] + (c₁·s)[0], and
 * (c₁·sᵢ)[0] is one scalar each party computes from its share; together the
 * scalars of all parties are an LWE decryption of coefficient 0.
 *
 * This file derives the public part (c₀[0] per result, the c₁ polynomials),
 * computes a party's secret constant terms, and decodes the final sums.
 */
import type { Ciphertext, CiphertextMeta, Poly, SealEngine } from '../backend/seal.ts';
import { HeError, HeErrorCode } from '../errors.ts';
import { modInverse } from '../ring.ts';
import type { PartySecret } from './secret.ts';

/**
 * Residues of `count` scalars at `k` primes, prime-major:
 * `data[j·count + r]` is scalar r modulo prime j.
 */
export interface Residues {
  readonly k: number;
  readonly count: number;
  readonly data: BigUint64Array;
}

/** The public input of a sum reveal: everything a key holder needs besides its secret. */
export interface SumRevealInput {
  /** Number of results (accumulated ciphertexts), 1 ≤ count ≤ N. */
  readonly count: number;
  /** Level and metadata shared by every input ciphertext. */
  readonly meta: CiphertextMeta;
  /** c₀[0] of every ciphertext. */
  readonly b: Residues;
  /** c₁ of every ciphertext, NTT form. */
  readonly c1: readonly Poly[];
}

/**
 * The public input of revealing the slot sums of `cts` (relinearized, size 2,
 * all at one level).
 *
 * @throws {HeError} `HE_ERR_MISMATCH` for CKKS or ciphertexts at different
 *   levels; `HE_ERR_PROTOCOL` for a ciphertext of size other than 2, no
 *   ciphertexts, or more than N of them.
 * @example
 * ```ts
 * const input = sumRevealInput(engine, [gramEntry, sumEntry]);
 * ```
 */
export function sumRevealInput(engine: SealEngine, cts: readonly Ciphertext[]): SumRevealInput {
  if (engine.params.scheme !== 'bgv') throw new HeError(HeErrorCode.MISMATCH, 'cannot reveal slot sums: only BGV sums are exact');
  if (!Array.isArray(cts) || cts.length === 0 || cts.length > engine.n) {
    throw new HeError(HeErrorCode.PROTOCOL, `cannot reveal slot sums: expected 1 to ${engine.n} ciphertexts, got ${Array.isArray(cts) ? cts.length : typeof cts}`);
  }
  const count = cts.length;
  let meta: CiphertextMeta | undefined;
  const c0s: Poly[] = [];
  const c1: Poly[] = [];
  for (const [r, ct] of cts.entries()) {
    const { polys, meta: m } = engine.ciphertextPolys(ct);
    if (polys.length !== 2) throw new HeError(HeErrorCode.PROTOCOL, `cannot reveal slot sums: ciphertext ${r} has ${polys.length} polynomials, relinearize it first`);
    if (meta === undefined) meta = m;
    else if (m.k !== meta.k || m.correction !== meta.correction) throw new HeError(HeErrorCode.MISMATCH, `cannot reveal slot sums: ciphertext ${r} is at another level than ciphertext 0`);
    c0s.push(polys[0]);
    c1.push(polys[1]);
  }
  return Object.freeze({ count, meta: meta!, b: constantTerms(engine, c0s), c1: Object.freeze(c1) });
}

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/**
 * Coefficient 0 of each NTT-form polynomial, as residues: the inverse NTT at
 * index 0 is N⁻¹·Σⱼ âⱼ (every evaluation point's power 0 is 1, whatever the
 * order of the points), so no transform is needed — a sum of the N values,
 * exact in float64 over their 32-bit halves (each half-sum < 2^45).
 */
function constantTerms(engine: SealEngine, polys: readonly Poly[]): Residues {
  const n = engine.n;
  const count = polys.length;
  const k = count === 0 ? 0 : polys[0].k;
  const data = new BigUint64Array(k * count);
  const nInv = engine.moduli.slice(0, k).map((q) => modInverse(BigInt(n), q));
  for (let r = 0; r < count; r++) {
    const p = polys[r];
    const words = new Uint32Array(p.data.buffer, p.data.byteOffset, p.data.length * 2);
    const [low, high] = LITTLE_ENDIAN ? [0, 1] : [1, 0];
    for (let j = 0; j < k; j++) {
      let lo = 0;
      let hi = 0;
      for (let i = 2 * j * n, end = 2 * (j + 1) * n; i < end; i += 2) {
        lo += words[i + low];
        hi += words[i + high];
      }
      const q = engine.moduli[j];
      data[j * count + r] = (((BigInt(hi) << 32n) + BigInt(lo)) % q * nInv[j]) % q;
    }
  }
  return { k, count, data };
}

/**
 * Party i's secret constant terms (c₁⁽ʳ⁾·sᵢ)[0] for every result r. They are
 * never sent as they are: a share adds flooding (or, without flooding in
 * tests, is only ever combined locally).
 */
export function secretConstantTerms(engine: SealEngine, input: SumRevealInput, secret: PartySecret): Residues {
  const products = engine.mul(input.c1, secret.poly(input.meta.k));
  const out = constantTerms(engine, products);
  for (const p of products) p.data.fill(0n);
  return out;
}

/** Residues of t·x for signed integers x (flooding as a multiple of t). */
export function timesT(engine: SealEngine, values: readonly bigint[], k: number): Residues {
  const t = engine.plainModulus;
  const count = values.length;
  const data = new BigUint64Array(k * count);
  for (let j = 0; j < k; j++) {
    const q = engine.moduli[j];
    for (let r = 0; r < count; r++) {
      const v = (t * values[r]) % q;
      data[j * count + r] = v < 0n ? v + q : v;
    }
  }
  return { k, count, data };
}

/** a + b residue-wise (same k and count, checked by the caller). */
export function addResidues(engine: SealEngine, a: Residues, b: Residues): Residues {
  const data = new BigUint64Array(a.data.length);
  for (let j = 0; j < a.k; j++) {
    const q = engine.moduli[j];
    for (let r = j * a.count, end = (j + 1) * a.count; r < end; r++) {
      const s = a.data[r] + b.data[r];
      data[r] = s >= q ? s - q : s;
    }
  }
  return { k: a.k, count: a.count, data };
}

/**
 * The coefficient-form polynomial with `values` in its first coefficients
 * (zero elsewhere), at the residues' level.
 */
export function residuesAsPoly(engine: SealEngine, values: Residues): Poly {
  const n = engine.n;
  const data = new BigUint64Array(values.k * n);
  for (let j = 0; j < values.k; j++) data.set(values.data.subarray(j * values.count, (j + 1) * values.count), j * n);
  return { k: values.k, data };
}

/**
 * Turns plaintext constant coefficients m₀ (mod t, before the correction
 * factor) into slot sums: N·corr⁻¹·m₀ mod t, centred in (−t/2, t/2].
 */
export function slotSumsFromConstants(engine: SealEngine, m0: readonly bigint[], correction: bigint): bigint[] {
  const t = engine.plainModulus;
  const factor = (BigInt(engine.n) * modInverse(correction, t)) % t;
  return m0.map((m) => {
    const s = (((m % t) + t) * factor) % t;
    return s > t / 2n ? s - t : s;
  });
}

/**
 * Decodes b + Σ shares: CRT to a centred integer modulo Q (m₀ + t·e₀),
 * reduce modulo t, then {@link slotSumsFromConstants}.
 */
export function slotSumsFromResidues(engine: SealEngine, total: Residues, correction: bigint): bigint[] {
  const { k, count } = total;
  const moduli = engine.moduli.slice(0, k);
  const Q = moduli.reduce((a, q) => a * q, 1n);
  const crt = moduli.map((q) => {
    const qHat = Q / q;
    return qHat * modInverse(qHat % q, q);
  });
  const m0: bigint[] = new Array(count);
  for (let r = 0; r < count; r++) {
    let x = 0n;
    for (let j = 0; j < k; j++) x += total.data[j * count + r] * crt[j];
    x %= Q;
    m0[r] = x > Q / 2n ? x - Q : x;
  }
  return slotSumsFromConstants(engine, m0, correction);
}
