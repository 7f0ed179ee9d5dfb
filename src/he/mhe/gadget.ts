/**
 * SEAL's key-switching gadget: with one special prime P, key row j carries
 * wⱼ·x where wⱼ ≡ P (mod qⱼ) and ≡ 0 modulo every other prime (P included).
 */
import type { Poly, SealEngine } from '../backend/seal.ts';
import { constantNtt } from '../ring.ts';

/**
 * wⱼ·x for every data row j, from one product P·x: row j keeps RNS component j
 * of P·x and is zero elsewhere.
 */
export function gadgetRows(engine: SealEngine, x: Poly): Poly[] {
  const { n, moduli } = engine;
  const special = moduli[moduli.length - 1];
  const [px] = engine.mul([x], constantNtt(engine, moduli.map((q) => special % q)));
  return Array.from({ length: engine.dataPrimes }, (_, j) => {
    const data = new BigUint64Array(x.k * n);
    data.set(px.data.subarray(j * n, (j + 1) * n), j * n);
    return { k: x.k, data };
  });
}
