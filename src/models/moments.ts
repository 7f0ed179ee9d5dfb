/**
 * Moments: the exact sufficient statistics the encrypted path reveals (DESIGN.md §6), and the
 * plaintext computation of the same from quantised rows.
 *
 * All sums are over the quantised integers `q = round(x'·scale)` of {@link quantiseDataset}, kept
 * as `bigint` so nothing is rounded: the BGV path computes them exactly, and so does
 * {@link computeMoments}. They combine by addition ({@link combineMoments}), so per-plant or
 * per-worker partial moments pool associatively. {@link momentsToJSON} / {@link momentsFromJSON}
 * are the documented JSON codec (every bigint as a decimal string).
 * @module
 */
import { aArray, aBigint, aInteger, aObject, aString } from './assert.ts';
import { MODELS_ERR, ModelsError, ModelsRangeError } from './errors.ts';
import { MAX_SCALE, type DatasetSchema, type QuantisedDataset } from './schema.ts';

/** Count, sums and Gram matrix of the records of one class. */
export interface ClassMoments {
  /** Number of records of this class. */
  readonly count: bigint;
  /** `sum[j] = Σ q_j` over the class's records. */
  readonly sum: readonly bigint[];
  /** `gram[j][k] = Σ q_j q_k` over the class's records (full symmetric d×d). */
  readonly gram: readonly (readonly bigint[])[];
}

/** Label moments: continuous (`Σy`, `Σy²`, `Σ x_j y`) or per-class moments for a categorical label. */
export type LabelMoments =
  | {
      readonly kind: 'continuous';
      /** `Σ q_y` */
      readonly sum: bigint;
      /** `Σ q_y²` */
      readonly sumSq: bigint;
      /** `cross[j] = Σ q_j q_y` */
      readonly cross: readonly bigint[];
    }
  | {
      readonly kind: 'categorical';
      /** Class names, in the order of `perClass` (the schema's order). */
      readonly classes: readonly string[];
      /** One entry per class; they add up to the pooled count, sum and gram. */
      readonly perClass: readonly ClassMoments[];
    };

/**
 * Exact sufficient statistics of a dataset, as revealed by a quorum. All sums are over
 * integer-quantised values (`q = round(x'·scale)`, `x' ∈ [-1, 1]` pre-scaled by schema ranges),
 * as `bigint`.
 */
export interface Moments {
  /** Feature names, the order of columns (must equal the schema's). */
  readonly features: readonly string[];
  /** Fixed-point quantisation: pre-scaled value = integer / scale. */
  readonly scale: number;
  /** Number of records. */
  readonly count: bigint;
  /** `sum[j] = Σ q_j` */
  readonly sum: readonly bigint[];
  /** `gram[j][k] = Σ q_j q_k` (full symmetric d×d). */
  readonly gram: readonly (readonly bigint[])[];
  /** Label moments, when the dataset has a label. */
  readonly label?: LabelMoments;
}

/** JSON form of {@link ClassMoments}: every bigint as a decimal string. */
export interface ClassMomentsJSON {
  count: string;
  sum: string[];
  gram: string[][];
}

/** JSON form of {@link Moments} (format `hedge.moments`, version 1): bigints as decimal strings. */
export interface MomentsJSON {
  format: 'hedge.moments';
  version: 1;
  features: string[];
  scale: number;
  count: string;
  sum: string[];
  gram: string[][];
  label?:
    | { kind: 'continuous'; sum: string; sumSq: string; cross: string[] }
    | { kind: 'categorical'; classes: string[]; perClass: ClassMomentsJSON[] };
}

/**
 * Computes the moments of quantised rows exactly, as the encrypted path does.
 *
 * Products are accumulated in float64 in chunks short enough that every partial sum stays below
 * 2^53 (so exact) and flushed into bigints.
 *
 * @param schema - the dataset schema (names, scale and label kind are taken from it)
 * @param data - quantised rows and labels from {@link quantiseDataset}; labels are required when
 *   the schema has a label and `withLabel` is not false
 * @param options - `withLabel: false` computes feature moments only
 * @returns the moments
 * @throws RangeError if a row has the wrong width or a value is not an integer in [-scale, scale],
 *   or a class index is out of range
 * @throws ModelsError `MODELS_ERR_MISMATCH` if the schema has a label but no labels are given
 * @example
 * ```ts
 * const moments = computeMoments(schema, quantiseDataset(schema, rows, labels));
 * ```
 */
export function computeMoments(schema: DatasetSchema, data: QuantisedDataset, options: { withLabel?: boolean } = {}): Moments {
  const op = 'compute moments';
  aObject(op, 'data', data);
  aArray(op, 'data.x', data.x);
  const d = schema.features.length;
  const scale = schema.scale;
  const withLabel = options.withLabel !== false && schema.label !== undefined;
  const y = data.y;
  if (withLabel) {
    if (y === undefined) throw new ModelsError(MODELS_ERR.MISMATCH, `cannot ${op}: the schema has a label but data.y is missing`);
    aArray(op, 'data.y', y, data.x.length);
  }
  const groups = withLabel && schema.label?.kind === 'categorical' ? schema.label.classes.length : 1;
  const continuous = withLabel && schema.label?.kind === 'continuous';
  const acc = Array.from({ length: groups }, () => new Accumulator(d, continuous));
  const chunk = Math.max(1, Math.floor(2 ** 53 / (scale * scale)));
  for (let i = 0; i < data.x.length; i++) {
    const row = data.x[i];
    aArray(op, `data.x[${i}]`, row, d);
    for (let j = 0; j < d; j++) checkQuantised(op, `data.x[${i}][${j}]`, row[j], scale);
    let g = 0;
    let yi = 0;
    if (groups > 1) {
      g = y![i];
      aInteger(op, `data.y[${i}]`, g, 0, groups - 1);
    } else if (continuous) {
      yi = y![i];
      checkQuantised(op, `data.y[${i}]`, yi, scale);
    }
    acc[g].add(row, yi, chunk);
  }
  const parts = acc.map((a) => a.finish());
  const pooled = parts.reduce((a, b) => addClass(a, b));
  const base = { features: Object.freeze(schema.features.map((f) => f.name)), scale, count: pooled.count, sum: pooled.sum, gram: pooled.gram };
  if (!withLabel) return Object.freeze(base);
  if (schema.label!.kind === 'continuous') {
    const l = parts[0];
    return Object.freeze({ ...base, label: Object.freeze({ kind: 'continuous' as const, sum: l.ySum, sumSq: l.ySq, cross: l.cross }) });
  }
  const perClass = Object.freeze(parts.map((p) => Object.freeze({ count: p.count, sum: p.sum, gram: p.gram })));
  return Object.freeze({ ...base, label: Object.freeze({ kind: 'categorical' as const, classes: schema.label!.classes, perClass }) });
}

function checkQuantised(op: string, name: string, v: unknown, scale: number): void {
  aInteger(op, name, v, -scale, scale);
}

interface Partial {
  count: bigint;
  sum: bigint[];
  gram: bigint[][];
  ySum: bigint;
  ySq: bigint;
  cross: bigint[];
}

/** Exact accumulation: float64 partial sums, flushed to bigint before they can exceed 2^53. */
class Accumulator {
  private readonly d: number;
  private readonly withY: boolean;
  private pending = 0;
  private readonly fSum: Float64Array;
  private readonly fGram: Float64Array;
  private readonly fCross: Float64Array;
  private fY = 0;
  private fYY = 0;
  private readonly total: Partial;

  constructor(d: number, withY: boolean) {
    this.d = d;
    this.withY = withY;
    this.fSum = new Float64Array(d);
    this.fGram = new Float64Array(d * d);
    this.fCross = new Float64Array(d);
    this.total = {
      count: 0n,
      sum: new Array<bigint>(d).fill(0n),
      gram: Array.from({ length: d }, () => new Array<bigint>(d).fill(0n)),
      ySum: 0n,
      ySq: 0n,
      cross: new Array<bigint>(d).fill(0n),
    };
  }

  add(row: readonly number[], y: number, chunk: number): void {
    const d = this.d;
    for (let j = 0; j < d; j++) {
      const a = row[j];
      this.fSum[j] += a;
      for (let k = j; k < d; k++) this.fGram[j * d + k] += a * row[k];
      if (this.withY) this.fCross[j] += a * y;
    }
    if (this.withY) {
      this.fY += y;
      this.fYY += y * y;
    }
    if (++this.pending >= chunk) this.flush();
  }

  private flush(): void {
    const d = this.d;
    const t = this.total;
    t.count += BigInt(this.pending);
    for (let j = 0; j < d; j++) {
      t.sum[j] += BigInt(this.fSum[j]);
      t.cross[j] += BigInt(this.fCross[j]);
      for (let k = j; k < d; k++) t.gram[j][k] += BigInt(this.fGram[j * d + k]);
    }
    t.ySum += BigInt(this.fY);
    t.ySq += BigInt(this.fYY);
    this.fSum.fill(0);
    this.fGram.fill(0);
    this.fCross.fill(0);
    this.fY = 0;
    this.fYY = 0;
    this.pending = 0;
  }

  finish(): Partial {
    this.flush();
    const g = this.total.gram;
    for (let j = 0; j < this.d; j++) for (let k = 0; k < j; k++) g[j][k] = g[k][j];
    return this.total;
  }
}

function addClass(a: Partial, b: Partial): Partial {
  return {
    count: a.count + b.count,
    sum: a.sum.map((v, j) => v + b.sum[j]),
    gram: a.gram.map((r, j) => r.map((v, k) => v + b.gram[j][k])),
    ySum: a.ySum + b.ySum,
    ySq: a.ySq + b.ySq,
    cross: a.cross.map((v, j) => v + b.cross[j]),
  };
}

const addVec = (a: readonly bigint[], b: readonly bigint[]): bigint[] => a.map((v, j) => v + b[j]);
const addMat = (a: readonly (readonly bigint[])[], b: readonly (readonly bigint[])[]): bigint[][] => a.map((r, j) => addVec(r, b[j]));

/**
 * Adds two sets of moments over disjoint records (plants, batches, workers). Associative and
 * commutative, so any split of the records pools to the same result.
 *
 * @param a - moments of one part
 * @param b - moments of another part, same features, scale and label kind/classes
 * @returns the moments of the union of both parts
 * @throws ModelsError `MODELS_ERR_MISMATCH` if features, scale or label differ;
 *   `MODELS_ERR_INVALID_MOMENTS` if either is malformed
 * @example
 * ```ts
 * const pooled = [plantL, plantM, plantH].reduce(combineMoments);
 * ```
 */
export function combineMoments(a: Moments, b: Moments): Moments {
  const op = 'combine moments';
  checkMomentsShape(op, 'a', a);
  checkMomentsShape(op, 'b', b);
  if (a.scale !== b.scale || a.features.length !== b.features.length || a.features.some((f, j) => f !== b.features[j])) {
    throw new ModelsError(MODELS_ERR.MISMATCH, `cannot ${op}: features or scale differ`);
  }
  const base = { features: a.features, scale: a.scale, count: a.count + b.count, sum: addVec(a.sum, b.sum), gram: addMat(a.gram, b.gram) };
  const la = a.label;
  const lb = b.label;
  if (!la && !lb) return Object.freeze(base);
  if (!la || !lb || la.kind !== lb.kind) throw new ModelsError(MODELS_ERR.MISMATCH, `cannot ${op}: label moments differ in kind`);
  if (la.kind === 'continuous' && lb.kind === 'continuous') {
    return Object.freeze({ ...base, label: { kind: 'continuous' as const, sum: la.sum + lb.sum, sumSq: la.sumSq + lb.sumSq, cross: addVec(la.cross, lb.cross) } });
  }
  if (la.kind === 'categorical' && lb.kind === 'categorical') {
    if (la.classes.length !== lb.classes.length || la.classes.some((c, k) => c !== lb.classes[k])) {
      throw new ModelsError(MODELS_ERR.MISMATCH, `cannot ${op}: classes differ`);
    }
    const perClass = la.perClass.map((p, k) => {
      const q = lb.perClass[k];
      return { count: p.count + q.count, sum: addVec(p.sum, q.sum), gram: addMat(p.gram, q.gram) };
    });
    return Object.freeze({ ...base, label: { kind: 'categorical' as const, classes: la.classes, perClass } });
  }
  throw new ModelsError(MODELS_ERR.MISMATCH, `cannot ${op}: label moments differ in kind`);
}

/**
 * Checks that moments are well-formed and could have come from quantised rows: shapes, symmetry,
 * `|Σq| ≤ n·scale`, Cauchy–Schwarz on the diagonal (`n·Σq² ≥ (Σq)²`), and per-class moments that
 * add up to the pooled ones.
 *
 * @param moments - the moments to check
 * @throws TypeError / RangeError for wrong types or shapes
 * @throws ModelsError `MODELS_ERR_INVALID_MOMENTS` if they are inconsistent
 * @example
 * ```ts
 * validateMoments(momentsFromJSON(json));
 * ```
 */
export function validateMoments(moments: Moments): void {
  const op = 'validate moments';
  checkMomentsShape(op, 'moments', moments);
  const bad = (reason: string): never => {
    throw new ModelsError(MODELS_ERR.INVALID_MOMENTS, `cannot ${op}: ${reason}`);
  };
  const checkPart = (name: string, count: bigint, sum: readonly bigint[], gram: readonly (readonly bigint[])[]): void => {
    if (count < 0n) bad(`${name}.count is negative`);
    const s = BigInt(moments.scale);
    for (let j = 0; j < sum.length; j++) {
      const abs = sum[j] < 0n ? -sum[j] : sum[j];
      if (abs > count * s) bad(`${name}.sum[${j}] exceeds count·scale`);
      if (gram[j][j] < 0n || count * gram[j][j] < sum[j] * sum[j]) bad(`${name}.gram[${j}][${j}] is smaller than (Σq)²/n: not the moments of real rows`);
      if (gram[j][j] > count * s * s) bad(`${name}.gram[${j}][${j}] exceeds count·scale²`);
      for (let k = 0; k < j; k++) if (gram[j][k] !== gram[k][j]) bad(`${name}.gram is not symmetric at [${j}][${k}]`);
    }
  };
  checkPart('moments', moments.count, moments.sum, moments.gram);
  const label = moments.label;
  if (label?.kind === 'continuous') {
    if (moments.count * label.sumSq < label.sum * label.sum) bad('label.sumSq is smaller than (Σy)²/n');
  } else if (label?.kind === 'categorical') {
    label.perClass.forEach((p, k) => checkPart(`label.perClass[${k}]`, p.count, p.sum, p.gram));
    const total = label.perClass.reduce((a, p) => a + p.count, 0n);
    if (total !== moments.count) bad('per-class counts do not add up to count');
    for (let j = 0; j < moments.sum.length; j++) {
      if (label.perClass.reduce((a, p) => a + p.sum[j], 0n) !== moments.sum[j]) bad(`per-class sums do not add up to sum[${j}]`);
      for (let k = 0; k < moments.sum.length; k++) {
        if (label.perClass.reduce((a, p) => a + p.gram[j][k], 0n) !== moments.gram[j][k]) bad(`per-class grams do not add up to gram[${j}][${k}]`);
      }
    }
  }
}

function checkMomentsShape(op: string, name: string, m: unknown): asserts m is Moments {
  aObject(op, name, m);
  aArray(op, `${name}.features`, m.features);
  const d = m.features.length;
  if (d === 0) throw new ModelsRangeError(`cannot ${op}: ${name}.features must not be empty`);
  m.features.forEach((f, j) => aString(op, `${name}.features[${j}]`, f));
  aInteger(op, `${name}.scale`, m.scale, 1, MAX_SCALE);
  aBigint(op, `${name}.count`, m.count);
  checkPartShape(op, name, m, d);
  if (m.label === undefined) return;
  aObject(op, `${name}.label`, m.label);
  const l = m.label;
  if (l.kind === 'continuous') {
    aBigint(op, `${name}.label.sum`, l.sum);
    aBigint(op, `${name}.label.sumSq`, l.sumSq);
    aArray(op, `${name}.label.cross`, l.cross, d);
    l.cross.forEach((v, j) => aBigint(op, `${name}.label.cross[${j}]`, v));
  } else if (l.kind === 'categorical') {
    aArray(op, `${name}.label.classes`, l.classes);
    if (l.classes.length < 2) throw new ModelsRangeError(`cannot ${op}: ${name}.label.classes must name at least 2 classes`);
    l.classes.forEach((c, k) => aString(op, `${name}.label.classes[${k}]`, c));
    aArray(op, `${name}.label.perClass`, l.perClass, l.classes.length);
    l.perClass.forEach((p, k) => {
      aObject(op, `${name}.label.perClass[${k}]`, p);
      aBigint(op, `${name}.label.perClass[${k}].count`, p.count);
      checkPartShape(op, `${name}.label.perClass[${k}]`, p, d);
    });
  } else {
    throw new ModelsRangeError(`cannot ${op}: ${name}.label.kind must be 'continuous' or 'categorical'`);
  }
}

function checkPartShape(op: string, name: string, p: Record<string, unknown>, d: number): void {
  aArray(op, `${name}.sum`, p.sum, d);
  p.sum.forEach((v, j) => aBigint(op, `${name}.sum[${j}]`, v));
  aArray(op, `${name}.gram`, p.gram, d);
  p.gram.forEach((row, j) => {
    aArray(op, `${name}.gram[${j}]`, row, d);
    row.forEach((v, k) => aBigint(op, `${name}.gram[${j}][${k}]`, v));
  });
}

/**
 * Encodes moments as JSON-safe data (format `hedge.moments`, version 1; every bigint becomes its
 * decimal string, everything else is kept). `JSON.stringify` of the result is the wire form.
 *
 * @param moments - the moments to encode
 * @returns the JSON form
 * @throws TypeError / RangeError if the moments are malformed
 * @example
 * ```ts
 * const text = JSON.stringify(momentsToJSON(moments));
 * ```
 */
export function momentsToJSON(moments: Moments): MomentsJSON {
  checkMomentsShape('encode moments', 'moments', moments);
  const str = (v: bigint): string => v.toString(10);
  const out: MomentsJSON = {
    format: 'hedge.moments',
    version: 1,
    features: [...moments.features],
    scale: moments.scale,
    count: str(moments.count),
    sum: moments.sum.map(str),
    gram: moments.gram.map((r) => r.map(str)),
  };
  const l = moments.label;
  if (l?.kind === 'continuous') out.label = { kind: 'continuous', sum: str(l.sum), sumSq: str(l.sumSq), cross: l.cross.map(str) };
  if (l?.kind === 'categorical') {
    out.label = {
      kind: 'categorical',
      classes: [...l.classes],
      perClass: l.perClass.map((p) => ({ count: str(p.count), sum: p.sum.map(str), gram: p.gram.map((r) => r.map(str)) })),
    };
  }
  return out;
}

/**
 * Decodes and validates the JSON form of {@link momentsToJSON} (e.g. `JSON.parse` output).
 *
 * @param json - the JSON form
 * @returns frozen, validated moments
 * @throws ModelsError `MODELS_ERR_INVALID_ARTIFACT` if the format, version or a decimal string is
 *   wrong; `MODELS_ERR_INVALID_MOMENTS` if the decoded moments are inconsistent
 * @example
 * ```ts
 * const moments = momentsFromJSON(JSON.parse(text));
 * ```
 */
export function momentsFromJSON(json: unknown): Moments {
  const op = 'decode moments';
  const bad = (reason: string): never => {
    throw new ModelsError(MODELS_ERR.INVALID_ARTIFACT, `cannot ${op}: ${reason}`);
  };
  if (typeof json !== 'object' || json === null) return bad('not an object');
  const j = json as Record<string, unknown>;
  if (j.format !== 'hedge.moments') bad(`format must be 'hedge.moments', got ${String(j.format)}`);
  if (j.version !== 1) bad(`unsupported version ${String(j.version)}`);
  const big = (v: unknown, name: string): bigint => {
    if (typeof v !== 'string' || !/^-?(0|[1-9][0-9]*)$/.test(v)) return bad(`${name} must be a decimal integer string`);
    return BigInt(v);
  };
  const vec = (v: unknown, name: string): bigint[] => (Array.isArray(v) ? v.map((x, i) => big(x, `${name}[${i}]`)) : bad(`${name} must be an array`));
  const mat = (v: unknown, name: string): bigint[][] => (Array.isArray(v) ? v.map((r, i) => vec(r, `${name}[${i}]`)) : bad(`${name} must be an array`));
  if (!Array.isArray(j.features)) bad('features must be an array');
  let label: LabelMoments | undefined;
  const l = j.label as Record<string, unknown> | undefined;
  if (l !== undefined) {
    if (typeof l !== 'object' || l === null) bad('label must be an object');
    if (l.kind === 'continuous') label = { kind: 'continuous', sum: big(l.sum, 'label.sum'), sumSq: big(l.sumSq, 'label.sumSq'), cross: vec(l.cross, 'label.cross') };
    else if (l.kind === 'categorical') {
      if (!Array.isArray(l.perClass) || !Array.isArray(l.classes)) bad('label.classes and label.perClass must be arrays');
      const perClass = (l.perClass as unknown[]).map((p, k) => {
        const q = (p ?? {}) as Record<string, unknown>;
        return { count: big(q.count, `label.perClass[${k}].count`), sum: vec(q.sum, `label.perClass[${k}].sum`), gram: mat(q.gram, `label.perClass[${k}].gram`) };
      });
      label = { kind: 'categorical', classes: [...(l.classes as string[])], perClass };
    } else bad(`label.kind must be 'continuous' or 'categorical'`);
  }
  const base = { features: [...(j.features as string[])], scale: j.scale as number, count: big(j.count, 'count'), sum: vec(j.sum, 'sum'), gram: mat(j.gram, 'gram') };
  const moments: Moments = label ? { ...base, label } : base;
  try {
    validateMoments(moments);
  } catch (e) {
    if (e instanceof ModelsError) throw e;
    throw new ModelsError(MODELS_ERR.INVALID_ARTIFACT, `cannot ${op}: ${(e as Error).message}`, { cause: e });
  }
  return Object.freeze(moments);
}
