/**
 * A simulated federation for tests: n parties with secret shares, the
 * collective keys, and the ideal secret key Σ sᵢ that no real party holds.
 */
import { SealEngine, type GaloisKeys, type Poly, type PublicKey, type RelinKeys, type SecretKey, type Ciphertext } from '../../src/he/backend/seal.ts';
import { preset } from '../../src/he/params.ts';
import { PartySecret } from '../../src/he/mhe/secret.ts';
import { PublicKeyProtocol } from '../../src/he/mhe/public-key-gen.ts';
import { RelinKeyProtocol } from '../../src/he/mhe/relin-key-gen.ts';
import { GaloisKeyProtocol } from '../../src/he/mhe/galois-key-gen.ts';
import { rnsToBig } from '../../src/he/ring.ts';

const engines = new Map<string, Promise<SealEngine>>();

/** One engine per preset per test process. */
export function engineFor(name: string): Promise<SealEngine> {
  let p = engines.get(name);
  if (p === undefined) {
    p = SealEngine.create(preset(name, { allowInsecure: true }));
    engines.set(name, p);
  }
  return p;
}

export interface Federation {
  engine: SealEngine;
  parties: PartySecret[];
  seed: Uint8Array;
  pk: PublicKey;
  rk?: RelinKeys;
  gk?: GaloisKeys;
  idealPoly: Poly;
  ideal: SecretKey;
}

/** Runs the key ceremony among `n` parties. */
export async function federation(name: string, n: number, opts: { relin?: boolean; galois?: boolean } = {}): Promise<Federation> {
  const engine = await engineFor(name);
  const parties = Array.from({ length: n }, () => PartySecret.generate(engine));
  const seed = new Uint8Array(32).map((_, i) => (i * 31 + n) & 0xff);
  const pkp = new PublicKeyProtocol(engine);
  const crp = pkp.sampleCrp(seed);
  const pk = pkp.genPublicKey(pkp.aggregateShares(parties.map((p) => pkp.genShare(p, crp))), crp);
  let rk: RelinKeys | undefined;
  if (opts.relin) {
    const rkp = new RelinKeyProtocol(engine);
    const rcrp = rkp.sampleCrp(seed);
    const r1 = parties.map((p) => rkp.genShareRound1(p, rcrp));
    const a1 = rkp.aggregateShares1(r1.map((r) => r.public));
    rk = rkp.genRelinKey(a1, rkp.aggregateShares2(parties.map((p, i) => rkp.genShareRound2(p, r1[i].secret, a1))));
  }
  let gk: GaloisKeys | undefined;
  if (opts.galois) {
    const gkp = new GaloisKeyProtocol(engine);
    gk = gkp.genGaloisKeys(gkp.slotSumElements().map((g) => {
      const c = gkp.sampleCrp(seed, g);
      return { crp: c, aggregate: gkp.aggregateShares(parties.map((p) => gkp.genShare(p, c))) };
    }));
  }
  const idealPoly = engine.sum(parties.map((p) => [p.poly()]))[0];
  return { engine, parties, seed, pk, rk, gk, idealPoly, ideal: engine.secretKeyFromPoly(idealPoly) };
}

/** c₀ + c₁·s (+ c₂·s² …) in coefficient form, centred: the message plus noise. */
export function phase(engine: SealEngine, ct: Ciphertext, s: Poly): bigint[] {
  const { polys, meta } = engine.ciphertextPolys(ct);
  const sk = engine.truncate(s, meta.k);
  let acc = polys[polys.length - 1];
  for (let i = polys.length - 2; i >= 0; i--) acc = engine.add2(engine.mul([acc], sk), [polys[i]])[0];
  return rnsToBig(engine, engine.fromNtt([acc])[0]);
}

/** log₂ of the largest |coefficient|. */
export function maxBits(values: readonly bigint[]): number {
  let m = 0n;
  for (const v of values) {
    const a = v < 0n ? -v : v;
    if (a > m) m = a;
  }
  return m === 0n ? 0 : m.toString(2).length;
}

/** Random signed integers in [−bound, bound]. */
export function randomInts(count: number, bound: number): BigInt64Array {
  return BigInt64Array.from({ length: count }, () => BigInt(Math.floor(Math.random() * (2 * bound + 1)) - bound));
}

/** x mod t, centred. */
export function centred(x: bigint, t: bigint): bigint {
  const r = ((x % t) + t) % t;
  return r > t / 2n ? r - t : r;
}
