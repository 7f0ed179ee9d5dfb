/**
 * Pure-JS helpers on RNS polynomials: samplers, conversion of signed integers
 * into residues, constants, and the ring automorphism X → X^g. Ring products
 * are done by the SEAL engine; this module never multiplies two polynomials.
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import type { Poly } from './backend/seal.ts';

/** What ring helpers need to know: the degree and the key-level primes. */
export interface RingShape {
  readonly n: number;
  readonly moduli: readonly bigint[];
}

const TWO32 = 2 ** 32;

/**
 * Writes small signed integers (|v| < 2^31) as residues mod each of the first
 * `k` primes, coefficient form.
 */
export function smallToRns(ring: RingShape, values: Int32Array, k: number): Poly {
  const { n, moduli } = ring;
  if (values.length !== n) throw new RangeError(`values must have ${n} coefficients, got ${values.length}`);
  const data = new BigUint64Array(k * n);
  const words = new Uint32Array(data.buffer);
  for (let j = 0; j < k; j++) {
    const q = moduli[j];
    const qlo = Number(q & 0xffffffffn);
    const qhi = Number(q >> 32n);
    const base = 2 * j * n;
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (v >= 0) {
        words[base + 2 * i] = v;
      } else {
        let lo = qlo + v;
        let hi = qhi;
        if (lo < 0) {
          lo += TWO32;
          hi -= 1;
        }
        words[base + 2 * i] = lo;
        words[base + 2 * i + 1] = hi;
      }
    }
  }
  return { k, data };
}

/** Writes arbitrary signed integers as residues mod each of the first `k` primes, coefficient form. */
export function bigToRns(ring: RingShape, values: readonly bigint[], k: number): Poly {
  const { n, moduli } = ring;
  if (values.length !== n) throw new RangeError(`values must have ${n} coefficients, got ${values.length}`);
  const data = new BigUint64Array(k * n);
  for (let j = 0; j < k; j++) {
    const q = moduli[j];
    for (let i = 0; i < n; i++) {
      const r = values[i] % q;
      data[j * n + i] = r < 0n ? r + q : r;
    }
  }
  return { k, data };
}

/**
 * Reconstructs centred integer coefficients from the residues of a
 * coefficient-form polynomial (CRT over its `k` primes); tests use it to read
 * noise and plaintexts exactly.
 */
export function rnsToBig(ring: RingShape, p: Poly): bigint[] {
  const { n, moduli } = ring;
  const qs = moduli.slice(0, p.k);
  const Q = qs.reduce((a, b) => a * b, 1n);
  const coef = qs.map((q) => {
    const qHat = Q / q;
    return qHat * modInverse(qHat % q, q);
  });
  const out: bigint[] = new Array(n);
  for (let i = 0; i < n; i++) {
    let x = 0n;
    for (let j = 0; j < p.k; j++) x += p.data[j * n + i] * coef[j];
    x %= Q;
    out[i] = x > Q / 2n ? x - Q : x;
  }
  return out;
}

/** a^{-1} mod m (m prime or a coprime to m). */
export function modInverse(a: bigint, m: bigint): bigint {
  let [r0, r1] = [((a % m) + m) % m, m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw new RangeError('value is not invertible');
  return ((s0 % m) + m) % m;
}

/**
 * The constant polynomial with residue `perPrime[j]` on prime j (in NTT form a
 * constant is the same value at every evaluation point).
 */
export function constantNtt(ring: RingShape, perPrime: readonly bigint[]): Poly {
  const { n } = ring;
  const k = perPrime.length;
  const data = new BigUint64Array(k * n);
  for (let j = 0; j < k; j++) data.fill(perPrime[j], j * n, (j + 1) * n);
  return { k, data };
}

/** The constant `c` (a signed integer) at `k` primes, NTT form. */
export function scalarNtt(ring: RingShape, c: bigint, k: number): Poly {
  return constantNtt(ring, ring.moduli.slice(0, k).map((q) => ((c % q) + q) % q));
}

/** Uniform ternary coefficients in {−1, 0, 1} (secret keys, ephemeral keys). */
export function sampleTernary(n: number): Int32Array {
  const out = new Int32Array(n);
  const bytes = randomBytes(n);
  for (let i = 0; i < n; i++) {
    // Rejection sampling keeps the three values exactly equiprobable.
    let b = bytes[i];
    while (b >= 255) b = randomBytes(1)[0];
    out[i] = (b % 3) - 1;
  }
  return out;
}

/**
 * Centred binomial noise with 21 + 21 coin flips per coefficient: variance
 * 10.5 (σ ≈ 3.24, SEAL's σ = 3.2), bounded by 21.
 */
export function sampleNoise(n: number): Int32Array {
  const out = new Int32Array(n);
  const bytes = randomBytes(n * 6);
  for (let i = 0; i < n; i++) {
    const o = i * 6;
    const plus = POPCOUNT[bytes[o]] + POPCOUNT[bytes[o + 1]] + POPCOUNT[bytes[o + 2] & 0x1f];
    const minus = POPCOUNT[bytes[o + 3]] + POPCOUNT[bytes[o + 4]] + POPCOUNT[bytes[o + 5] & 0x1f];
    out[i] = plus - minus;
  }
  return out;
}

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, b) => {
  let c = 0;
  for (let x = b; x; x >>= 1) c += x & 1;
  return c;
});

/**
 * Uniform integers in [−2^bits, 2^bits) (noise flooding): bits + 1 random bits
 * read as an unsigned integer, shifted by −2^bits — exactly uniform, no modulo
 * bias. Exact BigInt arithmetic: widths above 2^53 lose no low bits.
 */
export function sampleFlooding(n: number, bits: number): bigint[] {
  if (!Number.isInteger(bits) || bits < 1 || bits > 190) throw new RangeError(`bits must be an integer in [1, 190], got ${bits}`);
  const words = Math.ceil((bits + 1) / 64);
  const bytes = randomBytes(n * words * 8);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const width = bits + 1;
  const offset = 1n << BigInt(bits);
  const out: bigint[] = new Array(n);
  for (let i = 0; i < n; i++) {
    let x = view.getBigUint64(i * words * 8, true);
    for (let w = 1; w < words; w++) x |= view.getBigUint64((i * words + w) * 8, true) << BigInt(64 * w);
    out[i] = BigInt.asUintN(width, x) - offset;
  }
  return out;
}

/**
 * Deterministic uniform polynomials from a public seed (the common reference
 * string): AES-256-CTR keyed by SHA-256(seed ‖ label) as the stream, 64-bit
 * words masked to each prime's bit length and rejection-sampled below it.
 * Uniform in NTT form is uniform in coefficient form, so the polynomials are
 * used directly as NTT values.
 */
export function sampleUniform(ring: RingShape, seed: Uint8Array, label: string, count: number, k: number): Poly[] {
  const { n, moduli } = ring;
  const key = createHash('sha256').update(seed).update('\x00hedge-crp\x00').update(label).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const chunkWords = 1 << 15;
  const zeros = Buffer.alloc(chunkWords * 8);
  let words = new Uint32Array(0);
  let pos = 0;
  const out: Poly[] = [];
  for (let c = 0; c < count; c++) {
    const data = new BigUint64Array(k * n);
    const dst = new Uint32Array(data.buffer);
    for (let j = 0; j < k; j++) {
      // 64-bit words as (lo, hi) 32-bit halves; q < 2^61, so q's high half is exact in a Number.
      const q = moduli[j];
      const qlo = Number(q & 0xffffffffn);
      const qhi = Number(q >> 32n);
      const bits = q.toString(2).length;
      const hiMask = bits > 32 ? 2 ** (bits - 32) - 1 : 0;
      const loMask = bits >= 32 ? 0xffffffff : 2 ** bits - 1;
      for (let i = 0; i < n; i++) {
        for (;;) {
          if (pos === words.length) {
            const bytes = cipher.update(zeros);
            words = new Uint32Array(bytes.buffer, bytes.byteOffset, chunkWords * 2);
            pos = 0;
          }
          const lo = (words[pos] & loMask) >>> 0;
          const hi = words[pos + 1] & hiMask;
          pos += 2;
          if (hi < qhi || (hi === qhi && lo < qlo)) {
            dst[2 * (j * n + i)] = lo;
            dst[2 * (j * n + i) + 1] = hi;
            break;
          }
        }
      }
    }
    out.push({ k, data });
  }
  return out;
}

/**
 * The automorphism X → X^g on a coefficient-form polynomial (g odd, mod 2N):
 * coefficient i moves to i·g mod 2N, negated when it lands at or above N
 * (X^N = −1).
 */
export function automorphism(ring: RingShape, p: Poly, g: number): Poly {
  const { n, moduli } = ring;
  const m = 2 * n;
  const data = new BigUint64Array(p.k * n);
  for (let i = 0; i < n; i++) {
    const e = Number((BigInt(i) * BigInt(g)) % BigInt(m));
    const to = e < n ? e : e - n;
    const negate = e >= n;
    for (let j = 0; j < p.k; j++) {
      const v = p.data[j * n + i];
      data[j * n + to] = negate && v !== 0n ? moduli[j] - v : v;
    }
  }
  return { k: p.k, data };
}

/** Overwrites a polynomial's residues with zeros (wiping secrets). */
export function wipe(p: Poly): void {
  p.data.fill(0n);
}
