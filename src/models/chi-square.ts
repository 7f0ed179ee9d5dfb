/**
 * The chi-square distribution: CDF and quantile, for anomaly thresholds.
 *
 * The CDF is the regularised lower incomplete gamma function `P(k/2, x/2)`, computed by its series
 * for `x < a + 1` and by Lentz's continued fraction for the upper tail otherwise (Press et al.,
 * Numerical Recipes, 3rd ed., §6.2); `ln Γ` by the Lanczos approximation (g = 7, n = 9). The
 * quantile starts from the Wilson–Hilferty approximation and is refined by safeguarded Newton
 * steps (bisection whenever a step leaves the bracket), to about 1e-12 relative (1e-9 for p within
 * 1e-6 of 1, where float64 `p` itself holds no more).
 * @module
 */
import { aInRange } from './assert.ts';

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** `ln Γ(x)` for `x > 0` (Lanczos, g = 7; reflection below 0.5). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0];
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i] / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Regularised lower incomplete gamma `P(a, x)`. */
function gammaP(a: number, x: number): number {
  if (x <= 0) return 0;
  const lnPre = a * Math.log(x) - x - logGamma(a);
  if (x < a + 1) {
    let sum = 1 / a;
    let term = sum;
    for (let n = 1; n < 10000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-17) break;
    }
    return sum * Math.exp(lnPre);
  }
  // Continued fraction for Q(a, x) (modified Lentz).
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-17) break;
  }
  return 1 - Math.exp(lnPre) * h;
}

/**
 * Chi-square CDF `P(X ≤ x)` for `df` degrees of freedom.
 * @param x - the point, `x ≥ 0` (negative gives 0)
 * @param df - degrees of freedom, `df > 0` (need not be an integer)
 * @throws RangeError if `df` is not a positive finite number or `x` is not finite
 * @example
 * ```ts
 * chiSquareCdf(3.841458820694124, 1); // 0.95
 * ```
 */
export function chiSquareCdf(x: number, df: number): number {
  aInRange('compute chi-square cdf', 'df', df, 0, Number.MAX_VALUE, true);
  aInRange('compute chi-square cdf', 'x', x, -Number.MAX_VALUE, Number.MAX_VALUE);
  return gammaP(df / 2, Math.max(0, x) / 2);
}

/**
 * Chi-square quantile: the `x` with `P(X ≤ x) = p` for `df` degrees of freedom.
 * @param p - probability in (0, 1)
 * @param df - degrees of freedom, `df > 0`
 * @throws RangeError if `p` is not in (0, 1) or `df` is not positive
 * @example
 * ```ts
 * chiSquareQuantile(0.99, 5); // 15.086272469388989
 * ```
 */
export function chiSquareQuantile(p: number, df: number): number {
  aInRange('compute chi-square quantile', 'p', p, 0, 1, true);
  aInRange('compute chi-square quantile', 'df', df, 0, Number.MAX_VALUE, true);
  const a = df / 2;
  // Wilson–Hilferty start, with a normal quantile from a rational approximation (good to ~1e-3,
  // which is all a Newton start needs).
  const z = normalQuantileRough(p);
  const h = 2 / (9 * df);
  let x = Math.max(1e-8, df * (1 - h + z * Math.sqrt(h)) ** 3);
  let lo = 0;
  let hi = Number.POSITIVE_INFINITY;
  for (let it = 0; it < 1000; it++) {
    const f = gammaP(a, x / 2) - p;
    if (f < 0) lo = x;
    else hi = x;
    // Density of chi-square at x.
    const pdf = Math.exp((a - 1) * Math.log(x / 2) - x / 2 - logGamma(a)) / 2;
    let next = pdf > 0 ? x - f / pdf : Number.NaN;
    if (!(next > lo && next < hi)) next = Number.isFinite(hi) ? (lo + hi) / 2 : Math.max(2 * x, 1);
    if (Math.abs(next - x) <= 1e-15 * x) return next;
    x = next;
  }
  return x;
}

/** Acklam-style rough normal quantile (|error| < 1.2e-9), only used as a starting point. */
function normalQuantileRough(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const q = Math.min(p, 1 - p);
  if (q > 0.02425) {
    const u = p - 0.5;
    const r = u * u;
    return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * u) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  const r = Math.sqrt(-2 * Math.log(q));
  const x = (((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) * r + c[5]) / ((((d[0] * r + d[1]) * r + d[2]) * r + d[3]) * r + 1);
  return p < 0.5 ? x : -x;
}
