/**
 * t-of-n: every subset of size t decrypts bit-identically to the ideal key;
 * every subset of size t − 1 gives noise.
 */
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { federation, randomInts, type Federation } from './fixture.ts';
import { ThresholdProtocol, type ShamirShare } from '../../src/he/mhe/threshold.ts';
import { KeySwitchProtocol } from '../../src/he/mhe/key-switch.ts';
import { HeError } from '../../src/he/errors.ts';

function subsets<T>(items: readonly T[], size: number): T[][] {
  if (size === 0) return [[]];
  if (items.length < size) return [];
  const [first, ...rest] = items;
  return [...subsets(rest, size - 1).map((s) => [first, ...s]), ...subsets(rest, size)];
}

for (const [t, n] of [[2, 3], [3, 5]] as const) {
  describe(`threshold ${t}-of-${n}`, () => {
    let f: Federation;
    let tsk: ShamirShare[];
    const points = Array.from({ length: n }, (_, i) => i + 1);
    before(async () => {
      f = await federation('TEST_INSECURE_BGV_2048', n);
      const th = new ThresholdProtocol(f.engine);
      const polys = f.parties.map((p) => th.genShamirPolynomial(p, t));
      // Party j aggregates what every party i sent it: Pᵢ(xⱼ).
      tsk = points.map((x) => th.aggregateShares(polys.map((P) => th.genShamirShare(P, x))));
      polys.forEach((P) => th.wipePolynomial(P));
    });

    test('every subset of size t decrypts like the ideal key', () => {
      const e = f.engine;
      const th = new ThresholdProtocol(e);
      const ks = new KeySwitchProtocol(e);
      using ct = e.encrypt(e.encodeIntegers(randomInts(e.n, 1 << 14)), f.pk);
      using ideal = e.decrypt(ct, f.ideal);
      const want = Buffer.from(e.save(ideal));
      for (const set of subsets(points, t)) {
        const shares = set.map((x) => th.genAdditiveShare(tsk[x - 1], set));
        using sw = ks.keySwitch(ct, ks.aggregateShares(shares.map((s) => ks.genShare(s, ct, null))));
        using pt = ks.decrypt(sw);
        assert.equal(Buffer.compare(Buffer.from(e.save(pt)), want), 0, `subset ${set}`);
      }
    });

    test('every subset of size t − 1 gives noise', () => {
      const e = f.engine;
      const th = new ThresholdProtocol(e);
      const ks = new KeySwitchProtocol(e);
      const vals = randomInts(e.n, 100);
      using ct = e.encrypt(e.encodeIntegers(vals), f.pk);
      for (const set of subsets(points, t - 1)) {
        const shares = set.map((x) => th.genAdditiveShare(tsk[x - 1], set));
        using sw = ks.keySwitch(ct, ks.aggregateShares(shares.map((s) => ks.genShare(s, ct, null))));
        using pt = ks.decrypt(sw);
        const hits = e.decodeIntegers(pt).filter((v, i) => v === vals[i]).length;
        assert.ok(hits < 4, `subset ${set}: ${hits} slots match`);
      }
    });

    test('a seeded Shamir polynomial is re-derived identically (a retried deal sends the same values)', () => {
      const th = new ThresholdProtocol(f.engine);
      const seed = new Uint8Array(32).fill(5);
      const a = th.genShamirShare(th.genShamirPolynomial(f.parties[0], t, seed), 2);
      const b = th.genShamirShare(th.genShamirPolynomial(f.parties[0], t, seed.slice()), 2);
      assert.deepEqual(a, b);
      const c = th.genShamirShare(th.genShamirPolynomial(f.parties[0], t, new Uint8Array(32).fill(6)), 2);
      assert.notDeepEqual(a.value.data, c.value.data);
      assert.throws(() => th.genShamirPolynomial(f.parties[0], t, new Uint8Array(16)), RangeError);
      assert.throws(() => th.genShamirPolynomial(f.parties[0], t, 'seed' as never), TypeError);
    });

    test('a party outside the active set, or repeated points, are refused', () => {
      const th = new ThresholdProtocol(f.engine);
      assert.throws(() => th.genAdditiveShare(tsk[0], [2, 3]), (e: unknown) => e instanceof HeError && e.code === 'HE_ERR_PROTOCOL');
      assert.throws(() => th.genAdditiveShare(tsk[0], [1, 1]), (e: unknown) => e instanceof HeError && e.code === 'HE_ERR_PROTOCOL');
    });
  });
}
