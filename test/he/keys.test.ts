/**
 * BGV keys carry noise scaled by t: checked on SEAL's own keys and on the
 * collective keys (pk₀ + pk₁·s and k₀ + k₁·s − wⱼ·s′ are multiples of t in
 * every coefficient). With plain e every slot decrypts wrong while SEAL's noise
 * budget looks healthy, so this is tested directly. Also: the noise estimate
 * bounds the measured noise.
 */
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { federation, phase, maxBits, randomInts, type Federation } from './fixture.ts';
import { rnsToBig, constantNtt, automorphism } from '../../src/he/ring.ts';
import { estimateNoiseBits } from '../../src/he/noise-estimate.ts';
import type { Poly, SealEngine } from '../../src/he/backend/seal.ts';
import type { Ciphertext } from '../../src/he/backend/seal.ts';

function allMultiplesOf(values: readonly bigint[], t: bigint): boolean {
  return values.every((v) => v % t === 0n);
}

/** k₀ + k₁·s − wⱼ·target for every row j, coefficient form, centred. */
function keyResiduals(e: SealEngine, rows: [Poly, Poly][], s: Poly, target: Poly): bigint[][] {
  const special = e.moduli[e.moduli.length - 1];
  return rows.map(([k0, k1], j) => {
    const w = constantNtt(e, e.moduli.map((q, i) => (i === j ? special % q : 0n)));
    const [k1s] = e.mul([k1], s);
    const [wt] = e.mul([target], w);
    const [v] = e.add2(e.add2([k0], [k1s]), [wt], true);
    return rnsToBig(e, e.fromNtt([v])[0]);
  });
}

describe('BGV keys carry t·e', () => {
  let f: Federation;
  before(async () => {
    f = await federation('TEST_INSECURE_BGV_2048', 3, { relin: true, galois: true });
  });

  test("SEAL's own BGV public and relinearization keys are multiples of t", () => {
    const e = f.engine;
    using sk = e.generateSecretKey();
    using pk = e.publicKeyFor(sk);
    using rk = e.relinKeysFor(sk);
    const s = e.secretKeyPoly(sk);
    const [p0, p1] = e.publicKeyPolys(pk);
    const [v] = e.add2([p0], e.mul([p1], s));
    assert.ok(allMultiplesOf(rnsToBig(e, e.fromNtt([v])[0]), e.plainModulus));
    const [s2] = e.mul([s], s);
    for (const r of keyResiduals(e, e.kswitchKeyRows(rk).get(0)!, s, s2)) assert.ok(allMultiplesOf(r, e.plainModulus));
  });

  test('collective public, relinearization and Galois keys are multiples of t under Σ sᵢ', () => {
    const e = f.engine;
    const s = f.idealPoly;
    const [p0, p1] = e.publicKeyPolys(f.pk);
    const [v] = e.add2([p0], e.mul([p1], s));
    const residual = rnsToBig(e, e.fromNtt([v])[0]);
    assert.ok(allMultiplesOf(residual, e.plainModulus));
    assert.ok(residual.some((x) => x !== 0n), 'the key carries noise');
    const [s2] = e.mul([s], s);
    for (const r of keyResiduals(e, e.kswitchKeyRows(f.rk!).get(0)!, s, s2)) assert.ok(allMultiplesOf(r, e.plainModulus));
    const [sCoeff] = e.fromNtt([s]);
    for (const [row, keys] of e.kswitchKeyRows(f.gk!)) {
      const g = 2 * row + 1;
      const [target] = e.toNtt([automorphism(e, sCoeff, g)]);
      for (const r of keyResiduals(e, keys, s, target)) assert.ok(allMultiplesOf(r, e.plainModulus), `Galois element ${g}`);
    }
  });
});

describe('noise estimate bounds the measured noise', () => {
  for (const parties of [3, 10]) {
    test(`BGV, ${parties} parties: fresh, sums, products and slot sums`, async () => {
      const f = await federation('TEST_INSECURE_BGV_2048', parties, { relin: true, galois: true });
      const e = f.engine;
      const t = e.plainModulus;
      const fresh = (): Ciphertext => e.encrypt(e.encodeIntegers(randomInts(e.n, 1 << 14)), f.pk);
      const measured = (ct: Ciphertext): number => maxBits(phase(e, ct, f.idealPoly));
      using c1 = fresh();
      const est1 = estimateNoiseBits(e.params, t, { parties, kind: 'sum', terms: 1, slotSum: false });
      assert.ok(measured(c1) <= est1, `fresh: measured ${measured(c1)} ≤ estimate ${est1.toFixed(1)}`);
      let acc: Ciphertext | undefined;
      const M = 16;
      for (let i = 0; i < M; i++) {
        using a = fresh();
        using b = fresh();
        using p3 = e.multiply(a, b);
        using p = e.relinearize(p3, f.rk!);
        if (acc === undefined) acc = e.add(p, p);
        else e.addInPlace(acc, p);
      }
      const estP = estimateNoiseBits(e.params, t, { parties, kind: 'products', terms: 2 * M, slotSum: false });
      assert.ok(measured(acc!) <= estP, `products: measured ${measured(acc!)} ≤ estimate ${estP.toFixed(1)}`);
      assert.ok(estP - measured(acc!) < 12, 'the estimate is not vacuous');
      for (let step = 1; step < e.n / 2; step *= 2) {
        using r = e.rotate(acc!, step, f.gk!);
        e.addInPlace(acc!, r);
      }
      using col = e.rotate(acc!, 0, f.gk!);
      e.addInPlace(acc!, col);
      const estS = estimateNoiseBits(e.params, t, { parties, kind: 'products', terms: 2 * M, slotSum: true });
      assert.ok(measured(acc!) <= estS, `slot sum: measured ${measured(acc!)} ≤ estimate ${estS.toFixed(1)}`);
      acc![Symbol.dispose]();
    });
  }
});
