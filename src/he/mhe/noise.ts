/**
 * Error terms for the multiparty protocols, as {@link PolyTerm}s that
 * `SealEngine.combine` transforms to NTT form in the same pass as the rest of
 * a share. In BGV every error term is multiplied by the plaintext modulus t
 * (SEAL's own BGV keys carry t·e: with plain e every slot decrypts wrong while
 * the noise budget looks fine), and flooding noise is a multiple of t too, so
 * it vanishes modulo t and a revealed BGV result stays exact.
 */
import type { Poly, PolyTerm, SealEngine } from '../backend/seal.ts';
import { bigToRns, sampleFlooding, sampleNoise, sampleTernary, scalarNtt, smallToRns } from '../ring.ts';

function term(engine: SealEngine, polys: Poly[], k: number): PolyTerm {
  return engine.params.scheme === 'bgv'
    ? { polys, coefficientForm: true, times: scalarNtt(engine, engine.plainModulus, k) }
    : { polys, coefficientForm: true };
}

/** `count` fresh key-generation errors (σ ≈ 3.2, times t in BGV) at `k` primes. */
export function errorTerm(engine: SealEngine, count: number, k: number): PolyTerm {
  return term(engine, Array.from({ length: count }, () => smallToRns(engine, sampleNoise(engine.n), k)), k);
}

/** `count` flooding polynomials, uniform in [−2^bits, 2^bits) (times t in BGV), at `k` primes. */
export function floodingTerm(engine: SealEngine, count: number, k: number, bits: number): PolyTerm {
  return term(engine, Array.from({ length: count }, () => bigToRns(engine, sampleFlooding(engine.n, bits), k)), k);
}

/** A fresh ternary ephemeral secret in NTT form, `k` primes. */
export function sampleTernaryNtt(engine: SealEngine, k: number): Poly {
  return engine.toNtt([smallToRns(engine, sampleTernary(engine.n), k)])[0];
}
