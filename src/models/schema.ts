/**
 * Dataset schema, pre-scaling and fixed-point quantisation (DESIGN.md §5).
 *
 * Every feature has a public range `[lo, hi]` agreed between the machine builder and the plants.
 * A raw value `x` is pre-scaled into [-1, 1] and then quantised to the dataset's fixed-point step:
 *
 * ```
 * x' = (2·x − hi − lo) / (hi − lo)        (evaluated in exactly this order, float64)
 * q  = Math.round(x' · scale)             (ties toward +∞, as JavaScript's Math.round)
 * ```
 *
 * so `|q| ≤ scale` and the real pre-scaled value a quantised integer stands for is `q / scale`.
 * The edge quantises before encrypting and the plaintext reference quantises the same way, so the
 * moments of both are equal, not merely close. Pure functions, no I/O.
 * @module
 */
import { aArray, aFinite, aInteger, aObject, aString } from './assert.ts';
import { MODELS_ERR, ModelsError, ModelsRangeError } from './errors.ts';

/** The default quantisation: 2^14 steps per unit of the pre-scaled value (DESIGN.md §4). */
export const DEFAULT_SCALE = 2 ** 14;

/** The largest accepted quantisation scale (2^24), so that `q²` stays far inside float64's 2^53. */
export const MAX_SCALE = 2 ** 24;

/** One feature: a name and the public range its raw values lie in. */
export interface FeatureSpec {
  readonly name: string;
  readonly lo: number;
  readonly hi: number;
  readonly unit?: string;
}

/** The label of a dataset: a continuous target with a range, or a categorical one with classes. */
export type LabelSpec =
  | { readonly kind: 'continuous'; readonly name: string; readonly lo: number; readonly hi: number; readonly unit?: string }
  | { readonly kind: 'categorical'; readonly name: string; readonly classes: readonly string[] };

/** A validated, frozen dataset schema (make one with {@link createSchema}). */
export interface DatasetSchema {
  readonly features: readonly FeatureSpec[];
  readonly label?: LabelSpec;
  /** Quantisation steps per unit of the pre-scaled value: `q = round(x' · scale)`. */
  readonly scale: number;
}

/** A dataset after quantisation: integer feature rows and, when the schema has a label, labels. */
export interface QuantisedDataset {
  /** `x[i][j] = round(x'_ij · scale)`, integers with `|x[i][j]| ≤ scale`. */
  readonly x: readonly (readonly number[])[];
  /** Continuous label: quantised integers as for features; categorical: class indices. */
  readonly y?: readonly number[];
}

/**
 * Validates a schema literal (e.g. parsed JSON) and returns it frozen.
 *
 * @param literal - `{ features: [{ name, lo, hi, unit? }], label?, scale? }`; scale defaults to
 *   {@link DEFAULT_SCALE}
 * @returns the frozen schema
 * @throws TypeError if a field has the wrong type
 * @throws RangeError if a range is empty (`lo >= hi`), not finite, the scale is not an integer in
 *   [1, 2^24], there are no features, or names / classes repeat
 * @example
 * ```ts
 * const schema = createSchema({
 *   features: [{ name: 'speed', lo: 1000, hi: 3000, unit: 'rpm' }],
 *   label: { kind: 'continuous', name: 'torque', lo: 0, hi: 80, unit: 'Nm' },
 * });
 * ```
 */
export function createSchema(literal: unknown): DatasetSchema {
  const op = 'create schema';
  aObject(op, 'schema', literal);
  const { features, label } = literal;
  const scale = literal.scale ?? DEFAULT_SCALE;
  aInteger(op, 'schema.scale', scale, 1, MAX_SCALE);
  aArray(op, 'schema.features', features);
  if (features.length === 0) throw new ModelsRangeError(`cannot ${op}: schema.features must not be empty`);
  const names = new Set<string>();
  const specs = features.map((f, i) => {
    const spec = rangeSpec(op, `schema.features[${i}]`, f);
    if (names.has(spec.name)) throw new ModelsRangeError(`cannot ${op}: feature name '${spec.name}' repeats`);
    names.add(spec.name);
    return Object.freeze(spec);
  });
  let labelSpec: LabelSpec | undefined;
  if (label !== undefined) {
    aObject(op, 'schema.label', label);
    if (label.kind === 'continuous') {
      labelSpec = Object.freeze({ kind: 'continuous' as const, ...rangeSpec(op, 'schema.label', label) });
    } else if (label.kind === 'categorical') {
      aString(op, 'schema.label.name', label.name);
      aArray(op, 'schema.label.classes', label.classes);
      if (label.classes.length < 2) throw new ModelsRangeError(`cannot ${op}: schema.label.classes must name at least 2 classes`);
      label.classes.forEach((c, i) => aString(op, `schema.label.classes[${i}]`, c));
      if (new Set(label.classes).size !== label.classes.length) throw new ModelsRangeError(`cannot ${op}: schema.label.classes repeat`);
      labelSpec = Object.freeze({ kind: 'categorical' as const, name: label.name, classes: Object.freeze([...label.classes] as string[]) });
    } else {
      throw new ModelsRangeError(`cannot ${op}: schema.label.kind must be 'continuous' or 'categorical'`);
    }
  }
  const schema: DatasetSchema = labelSpec
    ? { features: Object.freeze(specs), label: labelSpec, scale }
    : { features: Object.freeze(specs), scale };
  return Object.freeze(schema);
}

function rangeSpec(op: string, name: string, value: unknown): { name: string; lo: number; hi: number; unit?: string } {
  aObject(op, name, value);
  aString(op, `${name}.name`, value.name);
  aFinite(op, `${name}.lo`, value.lo);
  aFinite(op, `${name}.hi`, value.hi);
  if (!(value.lo < value.hi)) throw new ModelsRangeError(`cannot ${op}: ${name} needs lo < hi, got [${value.lo}, ${value.hi}]`);
  if (value.unit !== undefined) aString(op, `${name}.unit`, value.unit);
  const spec: { name: string; lo: number; hi: number; unit?: string } = { name: value.name, lo: value.lo, hi: value.hi };
  if (value.unit !== undefined) spec.unit = value.unit as string;
  return spec;
}

/**
 * Pre-scales one raw value into [-1, 1] with its range: `x' = (2x − hi − lo) / (hi − lo)`.
 * No range check: inference may extrapolate; {@link quantiseValue} checks.
 * @throws never for finite input (callers validate)
 * @example
 * ```ts
 * prescaleValue(0, 80, 40); // 0
 * ```
 */
export function prescaleValue(lo: number, hi: number, x: number): number {
  return (2 * x - hi - lo) / (hi - lo);
}

/**
 * Maps a pre-scaled value back to raw units: `x = (x'·(hi − lo) + hi + lo) / 2`.
 * @throws never
 * @example
 * ```ts
 * unscaleValue(0, 80, 0.5); // 60
 * ```
 */
export function unscaleValue(lo: number, hi: number, xp: number): number {
  return (xp * (hi - lo) + hi + lo) / 2;
}

/**
 * Quantises one pre-scaled value: `q = Math.round(x' · scale)`.
 * @param xp - the pre-scaled value, must lie in [-1, 1]
 * @param scale - quantisation steps per unit
 * @throws RangeError (`MODELS_ERR_OUT_OF_RANGE`) if `xp` lies outside [-1, 1] or is not finite
 * @example
 * ```ts
 * quantiseValue(0.5, 2 ** 14); // 8192
 * ```
 */
export function quantiseValue(xp: number, scale: number): number {
  if (!(xp >= -1 && xp <= 1)) {
    throw new ModelsRangeError(`cannot quantise: pre-scaled value ${xp} lies outside [-1, 1]; the raw value is outside the schema range`);
  }
  return Math.round(xp * scale);
}

/**
 * Pre-scales a raw feature row with the schema ranges (no range check, no quantisation): the
 * input transform every model applies before standardising.
 * @param schema - the dataset schema
 * @param row - raw values, one per schema feature
 * @returns the pre-scaled row
 * @throws RangeError if the row has the wrong length
 * @example
 * ```ts
 * prescaleRow(schema, [1500, 42.0]);
 * ```
 */
export function prescaleRow(schema: DatasetSchema, row: readonly number[]): number[] {
  const d = schema.features.length;
  if (row.length !== d) throw new ModelsRangeError(`cannot prescale: row must have ${d} values, got ${row.length}`);
  const out = new Array<number>(d);
  for (let j = 0; j < d; j++) {
    const f = schema.features[j];
    out[j] = prescaleValue(f.lo, f.hi, row[j]);
  }
  return out;
}

/**
 * Quantises raw rows (and labels) as the edge does before encryption.
 *
 * @param schema - the dataset schema
 * @param rows - raw feature rows, one value per schema feature, each within its range
 * @param labels - raw continuous labels (numbers within the label range) or class names; required
 *   when and only when a fit needs them (omit for unsupervised use)
 * @returns integer rows and integer labels (quantised value or class index)
 * @throws TypeError if rows or labels have the wrong type
 * @throws RangeError if a row has the wrong length, a value is NaN/infinite
 *   (`MODELS_ERR_NOT_FINITE`) or outside its schema range (`MODELS_ERR_OUT_OF_RANGE`)
 * @throws ModelsError `MODELS_ERR_MISMATCH` if labels are given but the schema has none, or a class
 *   name is unknown
 * @example
 * ```ts
 * const { x, y } = quantiseDataset(schema, [[1500, 42.0]], [40.1]);
 * ```
 */
export function quantiseDataset(
  schema: DatasetSchema,
  rows: readonly (readonly number[])[],
  labels?: readonly (number | string)[],
): QuantisedDataset {
  const op = 'quantise dataset';
  aArray(op, 'rows', rows);
  const d = schema.features.length;
  const x = rows.map((row, i) => {
    aArray(op, `rows[${i}]`, row, d);
    return row.map((v, j) => quantiseChecked(op, `rows[${i}][${j}] (${schema.features[j].name})`, v, schema.features[j], schema.scale));
  });
  if (labels === undefined) return { x };
  aArray(op, 'labels', labels, rows.length);
  const label = schema.label;
  if (!label) throw new ModelsError(MODELS_ERR.MISMATCH, `cannot ${op}: labels given but the schema has no label`);
  let y: number[];
  if (label.kind === 'continuous') {
    y = labels.map((v, i) => quantiseChecked(op, `labels[${i}]`, v, label, schema.scale));
  } else {
    const index = new Map(label.classes.map((c, k) => [c, k]));
    y = labels.map((v, i) => {
      const k = typeof v === 'string' ? index.get(v) : undefined;
      if (k === undefined) throw new ModelsError(MODELS_ERR.MISMATCH, `cannot ${op}: labels[${i}] = ${String(v)} is not one of the classes ${label.classes.join(', ')}`);
      return k;
    });
  }
  return { x, y };
}

function quantiseChecked(op: string, name: string, v: unknown, range: { lo: number; hi: number }, scale: number): number {
  aFinite(op, name, v);
  if (v < range.lo || v > range.hi) {
    throw new ModelsRangeError(`cannot ${op}: ${name} = ${v} lies outside the schema range [${range.lo}, ${range.hi}]`);
  }
  // Clamp guards the last ulp of the division at the range ends; the range check above is the rule.
  const xp = Math.min(1, Math.max(-1, prescaleValue(range.lo, range.hi, v)));
  return quantiseValue(xp, scale);
}
