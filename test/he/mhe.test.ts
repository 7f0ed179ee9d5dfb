/**
 * Multiparty protocols against the ideal key Σ sᵢ, for BGV and CKKS, 3, 5 and
 * 10 parties: collective keys, decryption (bit for bit without flooding; exact
 * or within the stated bound with it), public-key switch, and the negatives.
 */
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { federation, randomInts, type Federation } from './fixture.ts';
import { KeySwitchProtocol } from '../../src/he/mhe/key-switch.ts';
import { PublicKeySwitchProtocol } from '../../src/he/mhe/public-key-switch.ts';
import { planFlooding } from '../../src/he/mhe/flooding.ts';
import { GaloisKeyProtocol } from '../../src/he/mhe/galois-key-gen.ts';
import { estimateNoiseBits } from '../../src/he/noise-estimate.ts';
import type { Ciphertext } from '../../src/he/backend/seal.ts';

const bytesEqual = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

for (const parties of [3, 5, 10]) {
  describe(`BGV, ${parties} parties`, () => {
    let f: Federation;
    before(async () => {
      f = await federation('TEST_INSECURE_BGV_2048', parties, { relin: true, galois: true });
    });

    test('collective public key encrypts for the ideal key', () => {
      const { engine: e } = f;
      const vals = randomInts(e.n, 1 << 14);
      using ct = e.encrypt(e.encodeIntegers(vals), f.pk);
      using pt = e.decrypt(ct, f.ideal);
      assert.deepEqual(e.decodeIntegers(pt), vals);
    });

    test('collective decryption without flooding equals the ideal key bit for bit', () => {
      const { engine: e } = f;
      using ct = e.encrypt(e.encodeIntegers(randomInts(e.n, 1000)), f.pk);
      const ks = new KeySwitchProtocol(e);
      using switched = ks.keySwitch(ct, ks.aggregateShares(f.parties.map((p) => ks.genShare(p, ct, null))));
      using a = ks.decrypt(switched);
      using b = e.decrypt(ct, f.ideal);
      assert.ok(bytesEqual(e.save(a), e.save(b)));
    });

    test('products, relinearization, rotations and a slot sum decrypt exactly with flooding', () => {
      const { engine: e } = f;
      const t = e.plainModulus;
      const x = randomInts(e.n, 1 << 14);
      const y = randomInts(e.n, 1 << 14);
      using cx = e.encrypt(e.encodeIntegers(x), f.pk);
      using cy = e.encrypt(e.encodeIntegers(y), f.pk);
      using prod3 = e.multiply(cx, cy);
      using prod = e.relinearize(prod3, f.rk!);
      let acc: Ciphertext = e.add(prod, cx); // x·y + x
      const gkp = new GaloisKeyProtocol(e);
      for (let step = 1; step < e.n / 2; step *= 2) {
        using r = e.rotate(acc, step, f.gk!);
        const next = e.add(acc, r);
        acc[Symbol.dispose]();
        acc = next;
      }
      using col = e.rotate(acc, 0, f.gk!);
      using total = e.add(acc, col);
      acc[Symbol.dispose]();
      assert.equal(gkp.slotSumElements().length, Math.log2(e.n / 2) + 1);
      let expected = 0n;
      for (let i = 0; i < e.n; i++) expected += x[i] * y[i] + x[i];
      const ks = new KeySwitchProtocol(e);
      const noiseBits = estimateNoiseBits(e.params, t, { parties, kind: 'products', terms: 2, slotSum: true });
      const plan = planFlooding(e, { k: e.dataPrimes, noiseBits, parties });
      assert.ok(plan.statisticalBits >= 30);
      using switched = ks.keySwitch(total, ks.aggregateShares(f.parties.map((p) => ks.genShare(p, total, plan))));
      using pt = ks.decrypt(switched);
      const got = e.decodeIntegers(pt);
      assert.ok(got.every((v) => v === expected), `every slot holds Σ(x·y + x) = ${expected}`);
    });

    test('public-key switch re-encrypts to a receiver key exactly', () => {
      const { engine: e } = f;
      const vals = randomInts(e.n, 1 << 20);
      using ct = e.encrypt(e.encodeIntegers(vals), f.pk);
      using receiver = e.generateSecretKey();
      using rpk = e.publicKeyFor(receiver);
      const pks = new PublicKeySwitchProtocol(e);
      const plan = planFlooding(e, { k: e.dataPrimes, noiseBits: estimateNoiseBits(e.params, e.plainModulus, { parties, kind: 'sum', terms: 1, slotSum: false }), parties });
      using out = pks.keySwitch(ct, pks.aggregateShares(f.parties.map((p) => pks.genShare(p, ct, rpk, plan))));
      using pt = e.decrypt(out, receiver);
      assert.deepEqual(e.decodeIntegers(pt), vals);
      // The ideal key no longer decrypts the switched ciphertext.
      using wrong = e.decrypt(out, f.ideal);
      const w = e.decodeIntegers(wrong);
      assert.ok(w.filter((v, i) => v === vals[i]).length < 8);
    });

    test('n − 1 decryption shares give noise, not data', () => {
      const { engine: e } = f;
      const vals = randomInts(e.n, 100);
      using ct = e.encrypt(e.encodeIntegers(vals), f.pk);
      const ks = new KeySwitchProtocol(e);
      for (let missing = 0; missing < parties; missing++) {
        const subset = f.parties.filter((_, i) => i !== missing);
        using switched = ks.keySwitch(ct, ks.aggregateShares(subset.map((p) => ks.genShare(p, ct, null))));
        using pt = ks.decrypt(switched);
        const got = e.decodeIntegers(pt);
        const hits = got.filter((v, i) => v === vals[i]).length;
        // A random slot matches with probability ~1/t (t ≈ 2^50).
        assert.ok(hits < 4, `without party ${missing}: ${hits} of ${e.n} slots match`);
      }
    });
  });

  describe(`CKKS, ${parties} parties`, () => {
    let f: Federation;
    before(async () => {
      f = await federation('TEST_INSECURE_CKKS_2048', parties, { relin: true, galois: true });
    });
    const scale = 2 ** 40;
    const reals = (n: number): Float64Array => Float64Array.from({ length: n }, () => Math.random() * 2 - 1);

    test('collective decryption without flooding equals the ideal key bit for bit', () => {
      const { engine: e } = f;
      using ct = e.encrypt(e.encodeReals(reals(e.n / 2), scale), f.pk);
      const ks = new KeySwitchProtocol(e);
      using switched = ks.keySwitch(ct, ks.aggregateShares(f.parties.map((p) => ks.genShare(p, ct, null))));
      using a = ks.decrypt(switched);
      using b = e.decrypt(ct, f.ideal);
      assert.ok(bytesEqual(e.save(a), e.save(b)));
    });

    test('product, relinearization and rotation are correct', () => {
      const { engine: e } = f;
      const x = reals(e.n / 2);
      const y = reals(e.n / 2);
      using cx = e.encrypt(e.encodeReals(x, scale), f.pk);
      using cy = e.encrypt(e.encodeReals(y, scale), f.pk);
      using p3 = e.multiply(cx, cy);
      using p = e.relinearize(p3, f.rk!);
      using r = e.rotate(p, 1, f.gk!);
      using pt = e.decrypt(r, f.ideal);
      const got = e.decodeReals(pt);
      const slots = e.n / 2;
      for (let i = 0; i < slots; i++) assert.ok(Math.abs(got[i] - x[(i + 1) % slots] * y[(i + 1) % slots]) < 1e-6);
    });

    test('flooded collective decryption and public-key switch stay within the stated precision', () => {
      const { engine: e } = f;
      const x = reals(e.n / 2);
      using ct = e.encrypt(e.encodeReals(x, scale), f.pk);
      const noiseBits = estimateNoiseBits(e.params, 0n, { parties, kind: 'sum', terms: 1, slotSum: false });
      const plan = planFlooding(e, { k: e.dataPrimes, noiseBits, parties });
      assert.ok(plan.precisionBits !== undefined);
      // Error bound: parties·2^floodBits per coefficient; in slots at most √N·that (canonical embedding, 7σ-ish), over Δ.
      const bound = (parties * 2 ** plan.floodBits * Math.sqrt(e.n) * 2) / scale;
      const ks = new KeySwitchProtocol(e);
      using switched = ks.keySwitch(ct, ks.aggregateShares(f.parties.map((p) => ks.genShare(p, ct, plan))));
      using pt = ks.decrypt(switched);
      const got = e.decodeReals(pt);
      let maxErr = 0;
      for (let i = 0; i < x.length; i++) maxErr = Math.max(maxErr, Math.abs(got[i] - x[i]));
      assert.ok(maxErr < bound, `error ${maxErr} within ${bound}`);
      assert.ok(maxErr > 0);
      using receiver = e.generateSecretKey();
      using rpk = e.publicKeyFor(receiver);
      const pks = new PublicKeySwitchProtocol(e);
      using out = pks.keySwitch(ct, pks.aggregateShares(f.parties.map((p) => pks.genShare(p, ct, rpk, plan))));
      using pt2 = e.decrypt(out, receiver);
      const got2 = e.decodeReals(pt2);
      for (let i = 0; i < x.length; i++) assert.ok(Math.abs(got2[i] - x[i]) < bound);
    });

    test('n − 1 decryption shares give noise, not data', () => {
      const { engine: e } = f;
      const x = reals(e.n / 2);
      using ct = e.encrypt(e.encodeReals(x, scale), f.pk);
      const ks = new KeySwitchProtocol(e);
      using switched = ks.keySwitch(ct, ks.aggregateShares(f.parties.slice(1).map((p) => ks.genShare(p, ct, null))));
      using pt = ks.decrypt(switched);
      const got = e.decodeReals(pt);
      const close = Array.from(got.subarray(0, x.length)).filter((v, i) => Math.abs(v - x[i]) < 0.01).length;
      assert.ok(close < x.length / 50, `${close} of ${x.length} slots close to the data`);
    });
  });
}
