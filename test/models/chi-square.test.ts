import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chiSquareCdf, chiSquareQuantile, logGamma } from '../../src/models/chi-square.ts';

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

test('chi-square quantile matches published values and closed forms', () => {
  // Published table values (e.g. NIST/SEMATECH e-Handbook §1.3.6.7.4), to their printed digits.
  assert.ok(Math.abs(chiSquareQuantile(0.95, 1) - 3.841) < 1e-3);
  assert.ok(Math.abs(chiSquareQuantile(0.99, 5) - 15.086) < 1e-3);
  assert.ok(Math.abs(chiSquareQuantile(0.999, 3) - 16.266) < 1e-3);
  assert.ok(Math.abs(chiSquareQuantile(0.05, 10) - 3.940) < 1e-3);
  assert.ok(Math.abs(chiSquareQuantile(0.9, 100) - 118.498) < 1e-3);
  // df = 2 is exponential: x = −2 ln(1 − p).
  for (const p of [1e-9, 0.01, 0.5, 0.99]) assert.ok(rel(chiSquareQuantile(p, 2), -2 * Math.log1p(-p)) < 1e-12, `p = ${p}`);
  // Far in the upper tail 1 − p itself carries float64 rounding: ~1e-10 relative is all p holds.
  assert.ok(rel(chiSquareQuantile(0.999999, 2), -2 * Math.log1p(-0.999999)) < 1e-9);
  // df = 1: x = z², z the normal quantile of (1 + p)/2; 1.959963984540054 is z(0.975).
  assert.ok(rel(chiSquareQuantile(0.95, 1), 1.959963984540054 ** 2) < 1e-12);
  // Quantile and CDF invert each other across shapes, including non-integer df.
  for (const df of [0.5, 1, 1.7, 3, 5, 12.25, 40, 300]) {
    for (const p of [0.001, 0.1, 0.5, 0.9, 0.99, 0.9999]) {
      const x = chiSquareQuantile(p, df);
      assert.ok(Math.abs(chiSquareCdf(x, df) - p) < 1e-12, `df ${df} p ${p}`);
    }
  }
  assert.ok(rel(logGamma(0.5), 0.5 * Math.log(Math.PI)) < 1e-14);
  assert.ok(rel(logGamma(10), Math.log(362880)) < 1e-14);
});

test('chi-square: bad arguments give RangeError', () => {
  assert.throws(() => chiSquareQuantile(0, 3), RangeError);
  assert.throws(() => chiSquareQuantile(1, 3), RangeError);
  assert.throws(() => chiSquareQuantile(0.5, 0), RangeError);
  assert.throws(() => chiSquareQuantile(Number.NaN, 3), RangeError);
  assert.throws(() => chiSquareQuantile('0.5' as never, 3), TypeError);
  assert.throws(() => chiSquareCdf(1, -1), RangeError);
});
