/**
 * `npm run bench -- he [--json]`: the multiparty HE core.
 *
 * - encrypt_slots_per_s: BGV_AGG_8192, public-key encryption under the
 *   collective key, one thread, beside SEAL with its own single key (same run).
 * - collective_keygen_s: 5 parties, CKKS_16384, public key + relinearization
 *   key (two rounds) + the Galois keys of a full slot sum, every party's work
 *   done in this one thread, aggregation and SEAL loading included.
 * - collective_decrypt_ms: one party's flooded decryption share of one
 *   BGV_AGG_8192 ciphertext.
 * - flooding_bits / reveal_mismatches: a revealed BGV sum of 1,000,000 products
 *   (3 parties): statistical flooding over the estimated noise bound and over
 *   the noise measured through the ideal key, and the slots that differ from a
 *   BigInt reference.
 */
import type { SuiteResult } from './run.ts';
import { federation, phase, maxBits, randomInts } from '../test/he/fixture.ts';
import { PartySecret } from '../src/he/mhe/secret.ts';
import { PublicKeyProtocol } from '../src/he/mhe/public-key-gen.ts';
import { RelinKeyProtocol } from '../src/he/mhe/relin-key-gen.ts';
import { GaloisKeyProtocol } from '../src/he/mhe/galois-key-gen.ts';
import { KeySwitchProtocol } from '../src/he/mhe/key-switch.ts';
import { planFlooding } from '../src/he/mhe/flooding.ts';
import { estimateNoiseBits } from '../src/he/noise-estimate.ts';
import { SealEngine, type Ciphertext } from '../src/he/backend/seal.ts';
import { preset } from '../src/he/params.ts';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function encryptRate(): Promise<Record<string, number>> {
  const f = await federation('BGV_AGG_8192', 3);
  const e = f.engine;
  using pt = e.encodeIntegers(randomInts(e.n, 1 << 14));
  using sk = e.generateSecretKey();
  using single = e.publicKeyFor(sk);
  const rate = (pk: typeof single): number => {
    using enc = e.encryptor(pk);
    for (let i = 0; i < 5; i++) enc.encrypt(pt)[Symbol.dispose]();
    const count = 150;
    const t0 = performance.now();
    for (let i = 0; i < count; i++) enc.encrypt(pt)[Symbol.dispose]();
    return (count * e.n) / ((performance.now() - t0) / 1000);
  };
  // Interleave to share machine noise fairly.
  const collective = [rate(f.pk), rate(f.pk)];
  const seal = [rate(single), rate(single)];
  collective.push(rate(f.pk));
  seal.push(rate(single));
  const c = median(collective);
  const s = median(seal);
  return { encrypt_slots_per_s: Math.round(c), seal_single_key_encrypt_slots_per_s: Math.round(s), encrypt_ratio_to_seal: Number((c / s).toFixed(3)) };
}

async function keygen(): Promise<number> {
  const e = await SealEngine.create(preset('CKKS_16384'));
  const parties = Array.from({ length: 5 }, () => PartySecret.generate(e));
  const seed = new Uint8Array(32).fill(1);
  const t0 = performance.now();
  const pkp = new PublicKeyProtocol(e);
  const crp = pkp.sampleCrp(seed);
  using pk = pkp.genPublicKey(pkp.aggregateShares(parties.map((p) => pkp.genShare(p, crp))), crp);
  const rkp = new RelinKeyProtocol(e);
  const rcrp = rkp.sampleCrp(seed);
  const r1 = parties.map((p) => rkp.genShareRound1(p, rcrp));
  const a1 = rkp.aggregateShares1(r1.map((r) => r.public));
  using rk = rkp.genRelinKey(a1, rkp.aggregateShares2(parties.map((p, i) => rkp.genShareRound2(p, r1[i].secret, a1))));
  const gkp = new GaloisKeyProtocol(e);
  using gk = gkp.genGaloisKeys(gkp.slotSumElements().map((g) => {
    const c = gkp.sampleCrp(seed, g);
    return { crp: c, aggregate: gkp.aggregateShares(parties.map((p) => gkp.genShare(p, c))) };
  }));
  const seconds = (performance.now() - t0) / 1000;
  e[Symbol.dispose]();
  return seconds;
}

async function reveal(): Promise<Record<string, number>> {
  const parties = 3;
  const f = await federation('BGV_AGG_8192', parties, { relin: true, galois: true });
  const e = f.engine;
  const products = 1_000_000;
  const batches = Math.ceil(products / e.n);
  let expected = 0n;
  let acc: Ciphertext | undefined;
  let remaining = products;
  for (let b = 0; b < batches; b++) {
    const used = Math.min(e.n, remaining);
    remaining -= used;
    const x = randomInts(e.n, 1 << 14);
    const y = randomInts(e.n, 1 << 14);
    for (let i = used; i < e.n; i++) {
      x[i] = 0n;
      y[i] = 0n;
    }
    for (let i = 0; i < used; i++) expected += x[i] * y[i];
    using cx = e.encrypt(e.encodeIntegers(x), f.pk);
    using cy = e.encrypt(e.encodeIntegers(y), f.pk);
    const p = e.multiply(cx, cy); // accumulate size-3 products, relinearize once
    if (acc === undefined) acc = p;
    else {
      e.addInPlace(acc, p);
      p[Symbol.dispose]();
    }
  }
  let total = e.relinearize(acc!, f.rk!);
  acc![Symbol.dispose]();
  for (let step = 1; step < e.n / 2; step *= 2) {
    using r = e.rotate(total, step, f.gk!);
    e.addInPlace(total, r);
  }
  {
    using c = e.rotate(total, 0, f.gk!);
    e.addInPlace(total, c);
  }
  const logT = Math.log2(Number(e.plainModulus));
  const estimated = estimateNoiseBits(e.params, e.plainModulus, { parties, kind: 'products', terms: batches, slotSum: true });
  const measured = maxBits(phase(e, total, f.idealPoly));
  const plan = planFlooding(e, { k: e.dataPrimes, noiseBits: estimated, parties });
  const ks = new KeySwitchProtocol(e);
  const times: number[] = [];
  const shares = f.parties.map((p) => {
    const t0 = performance.now();
    const s = ks.genShare(p, total, plan);
    times.push(performance.now() - t0);
    return s;
  });
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    ks.genShare(f.parties[0], total, plan);
    times.push(performance.now() - t0);
  }
  using switched = ks.keySwitch(total, ks.aggregateShares(shares));
  using pt = ks.decrypt(switched);
  const got = e.decodeIntegers(pt);
  const t = e.plainModulus;
  const want = (((expected % t) + t) % t) > t / 2n ? (((expected % t) + t) % t) - t : ((expected % t) + t) % t;
  const mismatches = got.filter((v) => v !== want).length;
  total[Symbol.dispose]();
  return {
    flooding_bits: Number(plan.statisticalBits.toFixed(1)),
    flooding_bits_over_measured_noise: Number((plan.floodBits - (measured - logT)).toFixed(1)),
    noise_bits_estimated: Number(estimated.toFixed(1)),
    noise_bits_measured: measured,
    reveal_mismatches: mismatches,
    revealed_products: products,
    collective_decrypt_ms: Number(median(times).toFixed(2)),
  };
}

/** Runs the suite. */
export async function run(): Promise<SuiteResult> {
  const enc = await encryptRate();
  const rev = await reveal();
  const keygenSeconds = await keygen();
  return {
    params: { bgv: 'BGV_AGG_8192', ckks: 'CKKS_16384', keygen_parties: 5, reveal_parties: 3, threads: 1 },
    metrics: {
      ...enc,
      collective_keygen_s: Number(keygenSeconds.toFixed(2)),
      collective_decrypt_ms: rev.collective_decrypt_ms,
      flooding_bits: rev.flooding_bits,
      flooding_bits_over_measured_noise: rev.flooding_bits_over_measured_noise,
      noise_bits_estimated: rev.noise_bits_estimated,
      noise_bits_measured: rev.noise_bits_measured,
      reveal_mismatches: rev.reveal_mismatches,
      revealed_products: rev.revealed_products,
    },
  };
}
