/**
 * Titled argument checks for the public entries of `src/models` (internal module). Each names the
 * operation and the argument: a wrong type is a `TypeError`, a wrong size, range or a non-finite
 * value a `RangeError`, both with a stable code.
 * @module
 */
import { MODELS_ERR, ModelsRangeError, ModelsTypeError } from './errors.ts';

/** Throws unless `value` is a plain object (not null, not an array). */
export function aObject(op: string, name: string, value: unknown): asserts value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ModelsTypeError(`cannot ${op}: ${name} must be an object, got ${describe(value)}`);
  }
}

/** Throws unless `value` is a finite number. */
export function aFinite(op: string, name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number') throw new ModelsTypeError(`cannot ${op}: ${name} must be a number, got ${describe(value)}`);
  if (!Number.isFinite(value)) {
    throw new ModelsRangeError(`cannot ${op}: ${name} must be finite, got ${value}`, { code: MODELS_ERR.NOT_FINITE });
  }
}

/** Throws unless `value` is an integer in [min, max]. */
export function aInteger(op: string, name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): asserts value is number {
  if (typeof value !== 'number') throw new ModelsTypeError(`cannot ${op}: ${name} must be an integer, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ModelsRangeError(`cannot ${op}: ${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
}

/** Throws unless `value` is a number in the open or closed interval given. */
export function aInRange(op: string, name: string, value: unknown, lo: number, hi: number, open = false): asserts value is number {
  aFinite(op, name, value);
  const ok = open ? value > lo && value < hi : value >= lo && value <= hi;
  if (!ok) {
    const range = open ? `(${lo}, ${hi})` : `[${lo}, ${hi}]`;
    throw new ModelsRangeError(`cannot ${op}: ${name} must lie in ${range}, got ${value}`);
  }
}

/** Throws unless `value` is a non-empty string. */
export function aString(op: string, name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string') throw new ModelsTypeError(`cannot ${op}: ${name} must be a string, got ${describe(value)}`);
  if (value.length === 0) throw new ModelsRangeError(`cannot ${op}: ${name} must not be empty`);
}

/** Throws unless `value` is a bigint. */
export function aBigint(op: string, name: string, value: unknown): asserts value is bigint {
  if (typeof value !== 'bigint') throw new ModelsTypeError(`cannot ${op}: ${name} must be a bigint, got ${describe(value)}`);
}

/** Throws unless `value` is an array, of exactly `length` elements when given. */
export function aArray(op: string, name: string, value: unknown, length?: number): asserts value is readonly unknown[] {
  if (!Array.isArray(value)) throw new ModelsTypeError(`cannot ${op}: ${name} must be an array, got ${describe(value)}`);
  if (length !== undefined && value.length !== length) {
    throw new ModelsRangeError(`cannot ${op}: ${name} must have length ${length}, got ${value.length}`);
  }
}

/** Throws unless `value` is an array of `length` (when given) finite numbers. */
export function aVector(op: string, name: string, value: unknown, length?: number): asserts value is readonly number[] {
  aArray(op, name, value, length);
  for (let i = 0; i < value.length; i++) aFinite(op, `${name}[${i}]`, value[i]);
}

/**
 * Throws unless `value` is a non-empty array of rows, each an array of `width` finite numbers.
 * Used for every `rows` argument of `predict`-like functions.
 */
export function aRows(op: string, name: string, value: unknown, width: number, allowEmpty = false): asserts value is readonly (readonly number[])[] {
  aArray(op, name, value);
  if (!allowEmpty && value.length === 0) throw new ModelsRangeError(`cannot ${op}: ${name} must not be empty`);
  for (let i = 0; i < value.length; i++) {
    const row = value[i];
    if (!Array.isArray(row) && !(row instanceof Float64Array)) {
      throw new ModelsTypeError(`cannot ${op}: ${name}[${i}] must be an array, got ${describe(row)}`);
    }
    if (row.length !== width) throw new ModelsRangeError(`cannot ${op}: ${name}[${i}] must have ${width} values, got ${row.length}`);
    for (let j = 0; j < width; j++) {
      const v: unknown = row[j];
      if (typeof v !== 'number') throw new ModelsTypeError(`cannot ${op}: ${name}[${i}][${j}] must be a number, got ${describe(v)}`);
      if (!Number.isFinite(v)) {
        throw new ModelsRangeError(`cannot ${op}: ${name}[${i}][${j}] must be finite, got ${v}`, { code: MODELS_ERR.NOT_FINITE });
      }
    }
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
