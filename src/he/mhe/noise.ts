/**
 * Error terms for the multiparty protocols, in NTT form. In BGV every error
 * term is multiplied by the plaintext modulus t (SEAL's own BGV keys carry t·e:
 * with plain e every slot decrypts wrong while the noise budget looks fine),
 * and flooding noise is a multiple of t too, so it vanishes modulo t and a
 * revealed BGV result stays exact.
 */
import type { Poly, SealEngine } from '../backend/seal.ts';
import { bigToRns, sampleFlooding, sampleNoise, sampleTernary, scalarNtt, smallToRns } from '../ring.ts';

/** The factor error terms carry: t for BGV, 1 for CKKS. */
function errorScale(engine: SealEngine): bigint {
  return engine.params.scheme === 'bgv' ? engine.plainModulus : 1n;
}

function scaled(engine: SealEngine, polys: Poly[], k: number): Poly[] {
  const f = errorScale(engine);
  return f === 1n ? polys : engine.mul(polys, scalarNtt(engine, f, k));
}

/** `count` fresh key-generation error polynomials (σ ≈ 3.2, scaled by t in BGV), NTT form, `k` primes. */
export function sampleErrorNtt(engine: SealEngine, count: number, k: number): Poly[] {
  const coeff: Poly[] = [];
  for (let i = 0; i < count; i++) coeff.push(smallToRns(engine, sampleNoise(engine.n), k));
  return scaled(engine, engine.toNtt(coeff), k);
}

/** `count` flooding polynomials, uniform in [−2^bits, 2^bits] (times t in BGV), NTT form, `k` primes. */
export function sampleFloodingNtt(engine: SealEngine, count: number, k: number, bits: number): Poly[] {
  const coeff: Poly[] = [];
  for (let i = 0; i < count; i++) coeff.push(bigToRns(engine, sampleFlooding(engine.n, bits), k));
  return scaled(engine, engine.toNtt(coeff), k);
}

/** A fresh ternary ephemeral secret in NTT form, `k` primes. */
export function sampleTernaryNtt(engine: SealEngine, k: number): Poly {
  return engine.toNtt([smallToRns(engine, sampleTernary(engine.n), k)])[0];
}
