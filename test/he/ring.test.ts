/** Ring helpers against independent computations. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { engineFor } from './fixture.ts';
import { automorphism, bigToRns, rnsToBig, sampleFlooding, sampleNoise, sampleTernary, sampleUniform, smallToRns } from '../../src/he/ring.ts';
import { automorphismNtt } from '../../src/he/mhe/automorphism.ts';

test('CRS expansion is deterministic per seed and label, below each prime, and uniform-looking', () => {
  const moduli = [(1n << 20n) - 3n, 4294967291n, (1n << 59n) - 55n];
  const ring = { n: 4096, moduli };
  const seed = randomBytes(32);
  const [a] = sampleUniform(ring, seed, 'x', 1, 3);
  const [b] = sampleUniform(ring, seed, 'x', 1, 3);
  const [c] = sampleUniform(ring, seed, 'y', 1, 3);
  assert.deepEqual(a.data, b.data);
  assert.notDeepEqual(a.data, c.data);
  moduli.forEach((q, j) => {
    let mean = 0;
    for (let i = 0; i < ring.n; i++) {
      const v = a.data[j * ring.n + i];
      assert.ok(v < q);
      mean += Number(v) / Number(q) / ring.n;
    }
    assert.ok(Math.abs(mean - 0.5) < 0.03, `prime ${j}: mean ${mean}`);
  });
});

test('samplers stay in their ranges; residues round-trip through the CRT', async () => {
  const e = await engineFor('TEST_INSECURE_BGV_2048');
  const t = sampleTernary(e.n);
  assert.ok(t.every((v) => v >= -1 && v <= 1));
  const noise = sampleNoise(e.n);
  assert.ok(noise.every((v) => Math.abs(v) <= 21));
  const variance = noise.reduce((a, v) => a + v * v, 0) / e.n;
  assert.ok(variance > 9 && variance < 12, `variance ${variance}`);
  const flood = sampleFlooding(e.n, 100);
  assert.ok(flood.every((v) => v >= -(1n << 100n) && v < 1n << 100n));
  assert.ok(flood.some((v) => v < -(1n << 98n)));
  assert.ok(flood.some((v) => v > 1n << 98n));
  assert.deepEqual(rnsToBig(e, smallToRns(e, noise, e.moduli.length)), Array.from(noise, BigInt));
  assert.deepEqual(rnsToBig(e, bigToRns(e, flood, e.moduli.length)), flood);
});

test('the NTT-domain automorphism equals X → X^g in coefficient form on every prime', async () => {
  const e = await engineFor('TEST_INSECURE_BGV_2048');
  const k = e.moduli.length;
  const [p] = sampleUniform(e, randomBytes(32), 'p', 1, k);
  for (const g of [3, 5, 2 * e.n - 1, e.galoisElementOfStep(7)]) {
    const [want] = e.toNtt([automorphism(e, p, g)]);
    const [pNtt] = e.toNtt([p]);
    assert.deepEqual(automorphismNtt(e, pNtt, g).data, want.data, `g = ${g}`);
  }
});
