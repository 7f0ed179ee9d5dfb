/**
 * Drift detection: the population stability index (PSI) and the Kolmogorov–Smirnov statistic per
 * feature, between a rolling window of live records and a reference, with thresholds and alarms.
 *
 * **The reference.** The training path only reveals moments, so no one holds a training sample.
 * Two references, with the same shape (per feature: PSI bins with their probabilities, and a
 * distribution for KS):
 *
 * - `gaussian`, from the training moments ({@link referenceFromMoments}): per feature the normal
 *   law with the training mean and sd (exact from the moments, in raw units); `bins` bins of equal
 *   probability under it (edges `μ + σ·Φ⁻¹(b/B)`), and KS against its CDF `Φ((x − μ)/σ)`
 *   (one-sample). Built wherever the moments are (the cloud), shipped beside the model; no
 *   plaintext record is needed. It detects shifts of location and scale, but a feature that is
 *   not normal differs from it even without drift (AI4I tool wear is near uniform), so its
 *   baseline PSI / KS is not zero: measure the baseline and set thresholds above it, or use
 *   the sample reference.
 * - `sample`, from a plaintext reference sample at the edge ({@link referenceFromSample}), e.g.
 *   the plant's own records from a period it trusts: per feature, equal-frequency bins (edges at
 *   the sample's quantiles, repeated edges merged, so discrete features keep non-empty bins) and a
 *   sketch of at most `sketchSize` order statistics (the whole sample when smaller) for a
 *   two-sample KS. It holds plaintext values: it stays in the plant and is never logged.
 *
 * **Statistics**, over the last `window` records (records with a non-finite value skip that
 * feature):
 *
 * ```
 * PSI = Σ_b (q_b − p_b) · ln(q_b / p_b),   q_b = window fraction in bin b, p_b = reference fraction,
 *                                          both floored at ε (default 1e-4) so an empty bin is finite
 * KS  = sup_x |F_window(x) − F_ref(x)|      (ties handled: both one-sided limits at every jump)
 * KS critical value at level α: c(α)·√((n + m)/(n·m)), c(α) = √(−ln(α/2)/2)   (m = ∞ for gaussian)
 * ```
 *
 * (Asymptotic Kolmogorov distribution; e.g. Knuth TAOCP 2 §3.3.1, NIST/SEMATECH e-Handbook
 * §1.3.5.16. PSI: Yurdakul, "Statistical properties of population stability index", 2018; the
 * rule of thumb is < 0.1 stable, 0.1–0.25 moderate, > 0.25 significant.) Under no drift
 * `E[PSI] ≈ (B − 1)/n`.
 *
 * A feature is in **alarm** when `PSI > psiThreshold` or `KS > critical(ksAlpha)`. Statistics are
 * checked every `checkEvery` records once the window is full; `alarmsRaised` counts alarms that
 * start (a feature going from quiet to alarm).
 *
 * **Cost.** An update is O(d·(log B + log W)) plus a memmove of each feature's sorted window: bin
 * counts and a sorted copy of each feature's window are kept incrementally (`bench/runtime.ts`:
 * about 4 µs per 5-feature update at W = 1000, checks amortised in). A check is O(d·(B + W + m)).
 * @module
 */
import { validateMoments, type Moments } from '../models/moments.ts';
import type { DatasetSchema } from '../models/schema.ts';
import { summariseGroup } from '../models/summary.ts';
import { aInteger, aNumber, aObject, aOpen, aRecord } from './assert.ts';
import { RUNTIME_ERR, RuntimeError, RuntimeRangeError, RuntimeTypeError } from './errors.ts';

/**
 * Drift reference JSON format name.
 * @example
 * ```ts
 * json.format === DRIFT_REFERENCE_FORMAT; // 'hedge.drift-reference'
 * ```
 */
export const DRIFT_REFERENCE_FORMAT = 'hedge.drift-reference';
/**
 * Drift reference JSON format version written and read here.
 * @example
 * ```ts
 * json.formatVersion === DRIFT_REFERENCE_VERSION; // 1
 * ```
 */
export const DRIFT_REFERENCE_VERSION = 1;

/** The reference of one feature. */
export interface FeatureReference {
  readonly name: string;
  /** Interior bin edges, strictly increasing: bins `(−∞, e₀), [e₀, e₁), …, [e_last, ∞)`. */
  readonly edges: readonly number[];
  /** Reference probability of each bin (`edges.length + 1` values, each > 0, summing to 1). */
  readonly probabilities: readonly number[];
  /** What KS compares against: a normal law (raw units) or sorted sample values. */
  readonly ks: { readonly kind: 'gaussian'; readonly mean: number; readonly sd: number } | { readonly kind: 'sample'; readonly values: readonly number[] };
}

/** A drift reference for all features of a model, in schema order. */
export interface DriftReference {
  readonly kind: 'gaussian' | 'sample';
  /** Records the reference summarises (training count, or sample size). */
  readonly count: number;
  readonly features: readonly FeatureReference[];
}

/** Configuration of {@link createDriftMonitor}. */
export interface DriftConfig {
  /** Rolling window length in records; default 1000. */
  readonly window?: number;
  /** Check every this many records once the window is full; default 100. */
  readonly checkEvery?: number;
  /** PSI alarm threshold; default 0.25. */
  readonly psiThreshold?: number;
  /** KS test level α ∈ (0, 1) per feature and check; default 0.001. */
  readonly ksAlpha?: number;
  /** Floor of bin fractions in PSI, in (0, 0.1); default 1e-4. */
  readonly psiEpsilon?: number;
}

/** Statistics of one feature in one check. */
export interface FeatureDrift {
  readonly name: string;
  /** Finite values of this feature in the window. */
  readonly n: number;
  readonly psi: number;
  readonly ks: number;
  readonly ksCritical: number;
  readonly alarm: boolean;
}

/** The drift report: statistics only, never a raw value. */
export interface DriftReport {
  /** Records seen since the monitor started. */
  readonly records: number;
  readonly window: number;
  readonly checks: number;
  /** Alarms started since the monitor started. */
  readonly alarmsRaised: number;
  /** Names of the features in alarm at the last check. */
  readonly alarms: readonly string[];
  readonly features: readonly FeatureDrift[];
}

/** A rolling drift monitor. */
export interface DriftMonitor {
  readonly reference: DriftReference;
  /** Adds one record (reference feature order); returns the report when this record triggered a check. */
  update(record: readonly number[]): DriftReport | undefined;
  /** Computes the statistics on the current window now (also when not full; does not change alarms). */
  report(): DriftReport;
}

/**
 * The Gaussian reference from training moments (no plaintext needed).
 *
 * @param schema - the model's schema (ranges for raw units, feature names)
 * @param moments - its training moments
 * @param options - `bins`: equal-probability bins per feature, 2–100, default 10
 * @returns the reference
 * @throws RuntimeError `RUNTIME_ERR_INVALID_REFERENCE` if the moments are inconsistent, have a
 *   constant feature or fewer than 2 records; `RUNTIME_ERR_MISMATCH` if they are not over the
 *   schema's features and scale
 * @example
 * ```ts
 * const reference = referenceFromMoments(model.schema, moments, { bins: 10 });
 * ```
 */
export function referenceFromMoments(schema: DatasetSchema, moments: Moments, options: { bins?: number } = {}): DriftReference {
  const op = 'build drift reference from moments';
  aObject(op, 'options', options);
  const bins = options.bins ?? 10;
  aInteger(op, 'options.bins', bins, 2, 100);
  try {
    validateMoments(moments);
  } catch (e) {
    throw new RuntimeError(RUNTIME_ERR.INVALID_REFERENCE, `cannot ${op}: ${(e as Error).message}`, { cause: e });
  }
  const names = schema.features.map((f) => f.name);
  if (moments.features.length !== names.length || moments.features.some((f, j) => f !== names[j]) || moments.scale !== schema.scale) {
    throw new RuntimeError(RUNTIME_ERR.MISMATCH, `cannot ${op}: moments over [${moments.features.join(', ')}] are not over the schema's [${names.join(', ')}] at scale ${schema.scale}`);
  }
  const all = summariseGroup(moments.count, moments.sum, moments.gram, moments.scale);
  if (all.count < 2) throw new RuntimeError(RUNTIME_ERR.INVALID_REFERENCE, `cannot ${op}: need at least 2 training records, got ${all.count}`);
  const z = Array.from({ length: bins - 1 }, (_, b) => normalQuantile((b + 1) / bins));
  const features = schema.features.map((f, j) => {
    const half = (f.hi - f.lo) / 2;
    const mean = all.mean[j] * half + (f.hi + f.lo) / 2;
    const sd = Math.sqrt(all.scatter[j][j] / (all.count - 1)) * half;
    if (!(sd > 0)) throw new RuntimeError(RUNTIME_ERR.INVALID_REFERENCE, `cannot ${op}: feature '${f.name}' does not vary in the training moments`);
    return Object.freeze({
      name: f.name,
      edges: Object.freeze(z.map((q) => mean + sd * q)),
      probabilities: Object.freeze(new Array<number>(bins).fill(1 / bins)),
      ks: Object.freeze({ kind: 'gaussian' as const, mean, sd }),
    });
  });
  return Object.freeze({ kind: 'gaussian' as const, count: all.count, features: Object.freeze(features) });
}

/**
 * The empirical reference from a plaintext reference sample (at the edge; it holds plaintext
 * values and stays in the plant).
 *
 * @param schema - the model's schema (feature names)
 * @param rows - raw reference records (schema order), all values finite, at least `bins` rows
 * @param options - `bins` (equal-frequency bins, 2–100, default 10); `sketchSize` (order
 *   statistics kept for KS, 10–100000, default 1000)
 * @returns the reference
 * @throws RuntimeTypeError / RuntimeRangeError if rows are malformed, not finite or too few
 * @example
 * ```ts
 * const reference = referenceFromSample(model.schema, firstWeekRecords);
 * ```
 */
export function referenceFromSample(
  schema: DatasetSchema,
  rows: readonly (readonly number[])[],
  options: { bins?: number; sketchSize?: number } = {},
): DriftReference {
  const op = 'build drift reference from a sample';
  aObject(op, 'options', options);
  const bins = options.bins ?? 10;
  aInteger(op, 'options.bins', bins, 2, 100);
  const sketchSize = options.sketchSize ?? 1000;
  aInteger(op, 'options.sketchSize', sketchSize, 10, 100_000);
  if (!Array.isArray(rows)) throw new RuntimeTypeError(`cannot ${op}: rows must be an array`);
  if (rows.length < bins) throw new RuntimeRangeError(`cannot ${op}: need at least ${bins} rows, got ${rows.length}`);
  const d = schema.features.length;
  rows.forEach((r, i) => {
    aRecord(op, `rows[${i}]`, r, d);
    for (let j = 0; j < d; j++) if (!Number.isFinite(r[j])) throw new RuntimeRangeError(`cannot ${op}: rows[${i}][${j}] is not finite`);
  });
  const n = rows.length;
  const features = schema.features.map((f, j) => {
    const sorted = Float64Array.from(rows, (r) => r[j]).sort();
    const edges: number[] = [];
    for (let b = 1; b < bins; b++) {
      const e = sorted[Math.floor((b * n) / bins)];
      if (e > sorted[0] && (edges.length === 0 || e > edges[edges.length - 1])) edges.push(e);
    }
    const counts = new Array<number>(edges.length + 1).fill(0);
    for (const v of sorted) counts[binIndex(edges, v)] += 1;
    const m = Math.min(n, sketchSize);
    const values = m === n ? Array.from(sorted) : Array.from({ length: m }, (_, i) => sorted[Math.round(((i + 0.5) * n) / m - 0.5)]);
    return Object.freeze({
      name: f.name,
      edges: Object.freeze(edges),
      probabilities: Object.freeze(counts.map((c) => c / n)),
      ks: Object.freeze({ kind: 'sample' as const, values: Object.freeze(values) }),
    });
  });
  return Object.freeze({ kind: 'sample' as const, count: n, features: Object.freeze(features) });
}

/**
 * The JSON form of a reference (format `hedge.drift-reference`, version 1).
 * @throws never for a reference from this module
 * @example
 * ```ts
 * await writeFile('ai4i-torque-v4.drift.json', JSON.stringify(driftReferenceToJSON(reference)));
 * ```
 */
export function driftReferenceToJSON(reference: DriftReference): Record<string, unknown> {
  return { format: DRIFT_REFERENCE_FORMAT, formatVersion: DRIFT_REFERENCE_VERSION, ...JSON.parse(JSON.stringify(reference)) as object };
}

/**
 * Reads and validates a reference from its JSON form.
 * @throws RuntimeError `RUNTIME_ERR_INVALID_REFERENCE` if the format, version or any field is wrong
 *   (edges not strictly increasing, probabilities not positive or not summing to 1, sd ≤ 0, …)
 * @example
 * ```ts
 * const reference = driftReferenceFromJSON(JSON.parse(await readFile(path, 'utf8')));
 * ```
 */
export function driftReferenceFromJSON(json: unknown): DriftReference {
  const op = 'read drift reference';
  const bad = (reason: string): RuntimeError => new RuntimeError(RUNTIME_ERR.INVALID_REFERENCE, `cannot ${op}: ${reason}`);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad('not an object');
  const a = json as Record<string, unknown>;
  if (a.format !== DRIFT_REFERENCE_FORMAT) throw bad(`format must be '${DRIFT_REFERENCE_FORMAT}'`);
  if (a.formatVersion !== DRIFT_REFERENCE_VERSION) throw bad(`unsupported formatVersion ${JSON.stringify(a.formatVersion)}`);
  if (a.kind !== 'gaussian' && a.kind !== 'sample') throw bad("kind must be 'gaussian' or 'sample'");
  const kind = a.kind;
  if (typeof a.count !== 'number' || !Number.isSafeInteger(a.count) || a.count < 2) throw bad('count must be an integer ≥ 2');
  if (!Array.isArray(a.features) || a.features.length === 0) throw bad('features must be a non-empty array');
  const finite = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x));
  const names = new Set<string>();
  const features = a.features.map((f: unknown, j: number): FeatureReference => {
    if (typeof f !== 'object' || f === null) throw bad(`features[${j}] must be an object`);
    const { name, edges, probabilities, ks } = f as Record<string, unknown>;
    if (typeof name !== 'string' || name === '' || names.has(name)) throw bad(`features[${j}].name must be a unique non-empty string`);
    names.add(name);
    if (!finite(edges) || edges.some((e, i) => i > 0 && !(e > edges[i - 1]))) throw bad(`features[${j}].edges must be strictly increasing finite numbers`);
    if (!finite(probabilities) || probabilities.length !== edges.length + 1 || probabilities.some((p) => !(p > 0))) {
      throw bad(`features[${j}].probabilities must be ${edges.length + 1} positive numbers`);
    }
    if (Math.abs(probabilities.reduce((s, p) => s + p, 0) - 1) > 1e-9) throw bad(`features[${j}].probabilities must sum to 1`);
    if (typeof ks !== 'object' || ks === null) throw bad(`features[${j}].ks must be an object`);
    const k = ks as Record<string, unknown>;
    let ksRef: FeatureReference['ks'];
    if (kind === 'gaussian' && k.kind === 'gaussian' && finite([k.mean, k.sd]) && (k.sd as number) > 0) {
      ksRef = Object.freeze({ kind: 'gaussian', mean: k.mean as number, sd: k.sd as number });
    } else if (kind === 'sample' && k.kind === 'sample' && finite(k.values) && k.values.length > 0 && k.values.every((v, i, all) => i === 0 || v >= all[i - 1])) {
      ksRef = Object.freeze({ kind: 'sample', values: Object.freeze([...k.values]) });
    } else {
      throw bad(`features[${j}].ks must be a ${kind} reference (gaussian: finite mean, sd > 0; sample: sorted finite values)`);
    }
    return Object.freeze({ name, edges: Object.freeze([...edges]), probabilities: Object.freeze([...probabilities]), ks: ksRef });
  });
  return Object.freeze({ kind, count: a.count, features: Object.freeze(features) });
}

/**
 * Starts a rolling drift monitor over a reference.
 *
 * @param reference - from {@link referenceFromMoments}, {@link referenceFromSample} or
 *   {@link driftReferenceFromJSON}
 * @param config - window, check interval, thresholds (see {@link DriftConfig})
 * @returns the monitor
 * @throws RuntimeTypeError / RuntimeRangeError for a malformed config (`checkEvery` must not exceed
 *   `window`)
 * @example
 * ```ts
 * const drift = createDriftMonitor(reference, { window: 1000, checkEvery: 100 });
 * const report = drift.update(record);
 * if (report?.alarms.length) alert(report.alarms);
 * ```
 */
export function createDriftMonitor(reference: DriftReference, config: DriftConfig = {}): DriftMonitor {
  const op = 'create drift monitor';
  aObject(op, 'config', config);
  const window = config.window ?? 1000;
  aInteger(op, 'config.window', window, 10, 10_000_000);
  const checkEvery = config.checkEvery ?? Math.max(1, Math.floor(window / 10));
  aInteger(op, 'config.checkEvery', checkEvery, 1, window);
  const psiThreshold = config.psiThreshold ?? 0.25;
  aNumber(op, 'config.psiThreshold', psiThreshold, Number.MIN_VALUE);
  const ksAlpha = config.ksAlpha ?? 0.001;
  aOpen(op, 'config.ksAlpha', ksAlpha, 0, 1);
  const eps = config.psiEpsilon ?? 1e-4;
  aOpen(op, 'config.psiEpsilon', eps, 0, 0.1);
  const cAlpha = Math.sqrt(-Math.log(ksAlpha / 2) / 2);
  const d = reference.features.length;
  const states = reference.features.map((f) => ({
    ref: f,
    edges: Float64Array.from(f.edges),
    counts: new Int32Array(f.edges.length + 1),
    ring: new Float64Array(window),
    sorted: new Float64Array(window),
    n: 0,
    refValues: f.ks.kind === 'sample' ? Float64Array.from(f.ks.values) : undefined,
    alarm: false,
  }));
  let records = 0;
  let checks = 0;
  let alarmsRaised = 0;
  let alarms: readonly string[] = Object.freeze([]);

  const stats = (): FeatureDrift[] => states.map((s) => {
    const n = s.n;
    if (n === 0) return { name: s.ref.name, n, psi: Number.NaN, ks: Number.NaN, ksCritical: Number.NaN, alarm: false };
    let psi = 0;
    for (let b = 0; b < s.counts.length; b++) {
      const q = Math.max(s.counts[b] / n, eps);
      const p = Math.max(s.ref.probabilities[b], eps);
      psi += (q - p) * Math.log(q / p);
    }
    const w = s.sorted.subarray(0, n);
    const ks = s.refValues ? ksTwoSample(w, s.refValues) : ksGaussian(w, (s.ref.ks as { mean: number }).mean, (s.ref.ks as { sd: number }).sd);
    const m = s.refValues?.length ?? Number.POSITIVE_INFINITY;
    const ksCritical = cAlpha * Math.sqrt(Number.isFinite(m) ? (n + m) / (n * m) : 1 / n);
    return { name: s.ref.name, n, psi, ks, ksCritical, alarm: psi > psiThreshold || ks > ksCritical };
  });
  const snapshot = (features: FeatureDrift[], active: readonly string[]): DriftReport => Object.freeze({
    records, window, checks, alarmsRaised, alarms: active, features: Object.freeze(features.map((f) => Object.freeze(f))),
  });

  return Object.freeze({
    reference,
    update(record: readonly number[]): DriftReport | undefined {
      aRecord('update drift monitor', 'record', record, d);
      const slot = records % window;
      const full = records >= window;
      for (let j = 0; j < d; j++) {
        const s = states[j];
        if (full) {
          const old = s.ring[slot];
          if (Number.isFinite(old)) {
            s.counts[binIndex(s.edges, old)] -= 1;
            const i = lowerBound(s.sorted, s.n, old);
            s.sorted.copyWithin(i, i + 1, s.n);
            s.n -= 1;
          }
        }
        const v = record[j];
        s.ring[slot] = v;
        if (Number.isFinite(v)) {
          s.counts[binIndex(s.edges, v)] += 1;
          const i = lowerBound(s.sorted, s.n, v);
          s.sorted.copyWithin(i + 1, i, s.n);
          s.sorted[i] = v;
          s.n += 1;
        }
      }
      records += 1;
      if (records < window || (records - window) % checkEvery !== 0) return undefined;
      checks += 1;
      const features = stats();
      const active: string[] = [];
      features.forEach((f, j) => {
        if (f.alarm) {
          if (!states[j].alarm) alarmsRaised += 1;
          active.push(f.name);
        }
        states[j].alarm = f.alarm;
      });
      alarms = Object.freeze(active);
      return snapshot(features, alarms);
    },
    report(): DriftReport {
      return snapshot(stats(), alarms);
    },
  });
}

/**
 * Two-sample KS statistic `sup |F_a − F_b|` of two sorted samples (ties handled).
 * @throws never; empty input gives 0
 * @example
 * ```ts
 * ksTwoSample(Float64Array.of(1, 2, 3), Float64Array.of(2, 3, 4)); // 1/3
 * ```
 */
export function ksTwoSample(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  const m = b.length;
  let i = 0;
  let j = 0;
  let dmax = 0;
  while (i < n && j < m) {
    const x = Math.min(a[i], b[j]);
    while (i < n && a[i] === x) i++;
    while (j < m && b[j] === x) j++;
    dmax = Math.max(dmax, Math.abs(i / n - j / m));
  }
  // Once one sample is exhausted its CDF is 1; the other's climbs to 1, so the gap only shrinks.
  return dmax;
}

/**
 * One-sample KS statistic of a sorted sample against the normal law N(mean, sd²), evaluated at
 * both one-sided limits of every jump of the empirical CDF (ties handled).
 * @throws never; empty input gives 0
 * @example
 * ```ts
 * ksGaussian(Float64Array.of(0), 0, 1); // 0.5
 * ```
 */
export function ksGaussian(sorted: ArrayLike<number>, mean: number, sd: number): number {
  const n = sorted.length;
  let dmax = 0;
  let i = 0;
  while (i < n) {
    const x = sorted[i];
    const below = i / n;
    while (i < n && sorted[i] === x) i++;
    const f = normalCdf((x - mean) / sd);
    dmax = Math.max(dmax, Math.abs(f - below), Math.abs(i / n - f));
  }
  return dmax;
}

/**
 * Standard normal CDF `Φ(z)` via the complementary error function (Numerical Recipes' Chebyshev
 * fit of erfc, fractional error < 1.2e-7: ample for KS, whose critical values are ~1e-2).
 * @throws never
 * @example
 * ```ts
 * normalCdf(1.959963984540054); // ≈ 0.975
 * ```
 */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * x);
  const erfc = t * Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
    + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return z >= 0 ? 1 - erfc / 2 : erfc / 2;
}

/** `Φ⁻¹(p)` by bisection on {@link normalCdf} (only used to place a few bin edges). */
function normalQuantile(p: number): number {
  let lo = -40;
  let hi = 40;
  for (let it = 0; it < 200 && hi - lo > 1e-12; it++) {
    const mid = (lo + hi) / 2;
    if (normalCdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Index of the bin holding `v`: the number of edges ≤ v. */
function binIndex(edges: ArrayLike<number>, v: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index in `a[0..n)` with `a[i] ≥ v`. */
function lowerBound(a: Float64Array, n: number, v: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
