/**
 * Slot sums revealed from constant coefficients (sum-decrypt.ts,
 * sum-key-switch.ts): exact against an independent BigInt computation, equal
 * to the ideal key without flooding, only the sums reach the receiver, and too
 * few shares give noise.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { federation, phase, type Federation } from './fixture.ts';
import type { Ciphertext } from '../../src/he/backend/seal.ts';
import { planFlooding } from '../../src/he/mhe/flooding.ts';
import { estimateNoiseBits } from '../../src/he/noise-estimate.ts';
import { sumRevealInput } from '../../src/he/mhe/sum-input.ts';
import { SumDecryptProtocol } from '../../src/he/mhe/sum-decrypt.ts';
import { SumKeySwitchProtocol, decryptSlotSums } from '../../src/he/mhe/sum-key-switch.ts';
import { ThresholdProtocol } from '../../src/he/mhe/threshold.ts';
import { HeError } from '../../src/he/errors.ts';
import { SumDecryptShareCodec, SumKeySwitchShareCodec } from '../../src/he/wire.ts';

const BATCHES = 3;
const q14 = (): number => Math.round((Math.random() * 2 - 1) * 2 ** 14);

describe('sum reveal (constant coefficient)', () => {
  let f: Federation;
  let cts: Ciphertext[];
  let expected: bigint[];

  before(async () => {
    f = await federation('TEST_INSECURE_BGV_2048', 3, { relin: true });
    const e = f.engine;
    // Three batches of two columns a, b with padding: Σ a·b, Σ a·a, Σ a, Σ b.
    const records = [e.n, e.n - 17, 100];
    let ab = 0n, aa = 0n, sa = 0n, sb = 0n;
    let accAb: Ciphertext | undefined, accAa: Ciphertext | undefined, accA: Ciphertext | undefined, accB: Ciphertext | undefined;
    const addTo = (acc: Ciphertext | undefined, x: Ciphertext): Ciphertext => {
      if (acc === undefined) return x;
      e.addInPlace(acc, x);
      x[Symbol.dispose]();
      return acc;
    };
    for (let b = 0; b < BATCHES; b++) {
      const a = new BigInt64Array(e.n), c = new BigInt64Array(e.n);
      for (let i = 0; i < records[b]; i++) {
        a[i] = BigInt(q14());
        c[i] = BigInt(q14());
        ab += a[i] * c[i]; aa += a[i] * a[i]; sa += a[i]; sb += c[i];
      }
      using pa = e.encodeIntegers(a);
      using pc = e.encodeIntegers(c);
      const ca = e.encrypt(pa, f.pk);
      const cc = e.encrypt(pc, f.pk);
      accAb = addTo(accAb, e.multiply(ca, cc));
      accAa = addTo(accAa, e.multiply(ca, ca));
      accA = addTo(accA, ca);
      accB = addTo(accB, cc);
    }
    cts = [e.relinearize(accAb!, f.rk!), e.relinearize(accAa!, f.rk!), accA!, accB!];
    accAb![Symbol.dispose]();
    accAa![Symbol.dispose]();
    expected = [ab, aa, sa, sb];
  });

  const plan = () => planFlooding(f.engine, {
    k: f.engine.dataPrimes,
    noiseBits: estimateNoiseBits(f.engine.params, f.engine.plainModulus, { parties: 3, kind: 'products', terms: BATCHES * f.engine.n, slotSum: false }),
    parties: 3,
  });

  test('without flooding, the revealed constant terms are the ideal key\'s, and the sums are exact', () => {
    const e = f.engine;
    const input = sumRevealInput(e, cts);
    const p = new SumDecryptProtocol(e);
    const sums = p.revealSums(input, p.aggregateShares(f.parties.map((s) => p.genShare(s, input, null))));
    assert.deepEqual(sums, expected);
    // Independently: the ideal key's constant coefficient, times N, and SEAL's own slot decoding.
    const t = e.plainModulus;
    for (const [r, ct] of cts.entries()) {
      const m0 = ((phase(e, ct, f.idealPoly)[0] % t) + t) % t;
      let viaCoeff = (m0 * BigInt(e.n)) % t;
      if (viaCoeff > t / 2n) viaCoeff -= t;
      using pt = e.decrypt(ct, f.ideal);
      const viaSlots = e.decodeIntegers(pt).reduce((a, v) => a + v, 0n);
      assert.equal(viaCoeff, expected[r]);
      assert.equal(viaSlots, expected[r]);
    }
  });

  test('with flooding, collective decryption of the sums is exact', () => {
    const e = f.engine;
    const input = sumRevealInput(e, cts);
    const p = new SumDecryptProtocol(e);
    const flood = plan();
    assert.ok(flood.statisticalBits >= 30);
    const shares = f.parties.map((s) => SumDecryptShareCodec.fromBytes(e, SumDecryptShareCodec.toBytes(e, p.genShare(s, input, flood))));
    assert.deepEqual(p.revealSums(input, p.aggregateShares(shares)), expected);
  });

  test('n − 1 shares give noise, not the sums', () => {
    const e = f.engine;
    const input = sumRevealInput(e, cts);
    const p = new SumDecryptProtocol(e);
    const flood = plan();
    for (let missing = 0; missing < 3; missing++) {
      const some = f.parties.filter((_, i) => i !== missing).map((s) => p.genShare(s, input, flood));
      const sums = p.revealSums(input, p.aggregateShares(some));
      for (const [r, v] of sums.entries()) assert.notEqual(v, expected[r]);
      // Noise spreads over the whole of Z_t: the sums are nowhere near the true ones.
      assert.ok(sums.some((v, r) => (v - expected[r] < 0n ? expected[r] - v : v - expected[r]) > 2n ** 40n));
    }
  });

  test('the public-key switch gives the receiver the sums and nothing else', () => {
    const e = f.engine;
    const input = sumRevealInput(e, cts);
    const p = new SumKeySwitchProtocol(e);
    using receiverSk = e.generateSecretKey();
    using receiverPk = e.publicKeyFor(receiverSk);
    const flood = plan();
    const shares = f.parties.map((s) => SumKeySwitchShareCodec.fromBytes(e, SumKeySwitchShareCodec.toBytes(e, p.genShare(s, input, receiverPk, flood))));
    using switched = p.keySwitch(input, p.aggregateShares(shares));
    assert.deepEqual(decryptSlotSums(e, switched, receiverSk, input.count), expected);
    // Every other coefficient of the receiver's plaintext is zero: no slot value, no other coefficient.
    using pt = e.decrypt(switched, receiverSk);
    const coeffs = e.plaintextCoefficients(pt);
    for (let i = input.count; i < coeffs.length; i++) assert.equal(coeffs[i], 0n, `coefficient ${i}`);
    // The collective (ideal) key does not decrypt the receiver's ciphertext.
    assert.notDeepEqual(decryptSlotSums(e, switched, f.ideal, input.count), expected);
  });

  test('2-of-3 threshold shares reveal the sums; one share does not', () => {
    const e = f.engine;
    const th = new ThresholdProtocol(e);
    const polys = f.parties.map((s) => th.genShamirPolynomial(s, 2));
    const tsk = [1, 2, 3].map((x) => th.aggregateShares(polys.map((poly) => th.genShamirShare(poly, x))));
    const input = sumRevealInput(e, cts);
    const p = new SumDecryptProtocol(e);
    const flood = plan();
    for (const set of [[1, 2], [1, 3], [2, 3]]) {
      const shares = set.map((x) => p.genShare(th.genAdditiveShare(tsk[x - 1], set), input, flood));
      assert.deepEqual(p.revealSums(input, p.aggregateShares(shares)), expected, `set ${set}`);
    }
    const alone = p.revealSums(input, p.genShare(th.genAdditiveShare(tsk[0], [1, 2]), input, flood));
    for (const [r, v] of alone.entries()) assert.notEqual(v, expected[r]);
  });

  test('bad inputs are refused with typed errors', () => {
    const e = f.engine;
    const isCode = (code: string) => (x: unknown): boolean => x instanceof HeError && x.code === code;
    assert.throws(() => sumRevealInput(e, []), isCode('HE_ERR_PROTOCOL'));
    using size3 = e.multiply(cts[2], cts[3]);
    assert.throws(() => sumRevealInput(e, [size3]), isCode('HE_ERR_PROTOCOL'));
    using lower = e.modSwitch(cts[2]);
    assert.throws(() => sumRevealInput(e, [cts[2], lower]), isCode('HE_ERR_MISMATCH'));
    const p = new SumDecryptProtocol(e);
    const one = sumRevealInput(e, [cts[2]]);
    const two = sumRevealInput(e, cts.slice(2));
    assert.throws(() => p.revealSums(two, p.genShare(f.parties[0], one, null)), isCode('HE_ERR_MISMATCH'));
    assert.throws(() => p.aggregateShares([p.genShare(f.parties[0], one, null), p.genShare(f.parties[1], two, null)]), isCode('HE_ERR_MISMATCH'));
    assert.throws(() => SumDecryptShareCodec.fromBytes(e, new Uint8Array(40)), isCode('HE_ERR_DECODE'));
  });
});
