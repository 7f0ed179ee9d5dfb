/**
 * The automorphism σ_g: X → X^g in the NTT domain. An NTT-form polynomial
 * holds a's values at the 2N-th primitive roots ψ^e (e odd); σ_g(a)(ψ^e) =
 * a(ψ^{e·g}), so σ_g only permutes the values. Rather than assume SEAL's
 * bit-reversed ordering, the permutation is derived once per (engine, g) by
 * probing: a random polynomial is transformed with and without σ_g applied in
 * coefficient form (ring.ts#automorphism), and the values are matched.
 */
import { randomBytes } from 'node:crypto';
import type { Poly, SealEngine } from '../backend/seal.ts';
import { HeError, HeErrorCode } from '../errors.ts';
import { automorphism, sampleUniform } from '../ring.ts';

const permutations = new WeakMap<SealEngine, Map<number, Uint32Array>>();

function permutation(engine: SealEngine, g: number): Uint32Array {
  let cache = permutations.get(engine);
  if (cache === undefined) {
    cache = new Map();
    permutations.set(engine, cache);
  }
  let perm = cache.get(g);
  if (perm !== undefined) return perm;
  const n = engine.n;
  // One prime suffices: the permutation is the same for every prime.
  const [probe] = sampleUniform(engine, randomBytes(32), 'automorphism-probe', 1, 1);
  const [before, after] = engine.toNtt([probe, automorphism(engine, probe, g)]);
  const index = new Map<bigint, number>();
  for (let i = 0; i < n; i++) index.set(before.data[i], i);
  perm = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const j = index.get(after.data[i]);
    if (j === undefined || index.size !== n) throw new HeError(HeErrorCode.PROTOCOL, `cannot derive the NTT permutation of Galois element ${g}: probe values collided`);
    perm[i] = j;
  }
  cache.set(g, perm);
  return perm;
}

/**
 * σ_g(p) for an NTT-form polynomial, by permuting its values (no transforms).
 *
 * @example
 * ```ts
 * const rotatedSecret = automorphismNtt(engine, secret.poly(), engine.galoisElementOfStep(1));
 * ```
 */
export function automorphismNtt(engine: SealEngine, p: Poly, g: number): Poly {
  const perm = permutation(engine, g);
  const n = engine.n;
  const src = new Uint32Array(p.data.buffer, p.data.byteOffset, p.data.length * 2);
  const data = new BigUint64Array(p.k * n);
  const dst = new Uint32Array(data.buffer);
  for (let j = 0; j < p.k; j++) {
    const base = 2 * j * n;
    for (let i = 0; i < n; i++) {
      const from = base + 2 * perm[i];
      dst[base + 2 * i] = src[from];
      dst[base + 2 * i + 1] = src[from + 1];
    }
  }
  return { k: p.k, data };
}
