/**
 * Titled argument checks for the public entries of `src/runtime` (internal module). Each names the
 * operation and the argument: a wrong type is a {@link RuntimeTypeError}, a wrong size or range a
 * {@link RuntimeRangeError}.
 * @module
 */
import { RuntimeRangeError, RuntimeTypeError } from './errors.ts';

/** Throws unless `value` is a plain object (not null, not an array). */
export function aObject(op: string, name: string, value: unknown): asserts value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RuntimeTypeError(`cannot ${op}: ${name} must be an object, got ${describe(value)}`);
  }
}

/** Throws unless `value` is a finite number, within `[lo, hi]` when given. */
export function aNumber(op: string, name: string, value: unknown, lo = -Number.MAX_VALUE, hi = Number.MAX_VALUE): asserts value is number {
  if (typeof value !== 'number') throw new RuntimeTypeError(`cannot ${op}: ${name} must be a number, got ${describe(value)}`);
  if (!Number.isFinite(value) || value < lo || value > hi) {
    throw new RuntimeRangeError(`cannot ${op}: ${name} must be a finite number in [${lo}, ${hi}], got ${value}`);
  }
}

/** Throws unless `value` is a number in the open interval `(lo, hi)`. */
export function aOpen(op: string, name: string, value: unknown, lo: number, hi: number): asserts value is number {
  if (typeof value !== 'number') throw new RuntimeTypeError(`cannot ${op}: ${name} must be a number, got ${describe(value)}`);
  if (!(value > lo && value < hi)) throw new RuntimeRangeError(`cannot ${op}: ${name} must lie in (${lo}, ${hi}), got ${value}`);
}

/** Throws unless `value` is an integer in `[min, max]`. */
export function aInteger(op: string, name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): asserts value is number {
  if (typeof value !== 'number') throw new RuntimeTypeError(`cannot ${op}: ${name} must be an integer, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RuntimeRangeError(`cannot ${op}: ${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
}

/** Throws unless `value` is a non-empty string. */
export function aString(op: string, name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string') throw new RuntimeTypeError(`cannot ${op}: ${name} must be a string, got ${describe(value)}`);
  if (value.length === 0) throw new RuntimeRangeError(`cannot ${op}: ${name} must not be empty`);
}

/**
 * Throws unless `value` is a record of `width` numbers (an array or a Float64Array). NaN and ±∞
 * are allowed: a sensor can send them, and the output controls turn them into an abstention.
 */
export function aRecord(op: string, name: string, value: unknown, width: number): asserts value is readonly number[] {
  if (!Array.isArray(value) && !(value instanceof Float64Array)) {
    throw new RuntimeTypeError(`cannot ${op}: ${name} must be an array of numbers, got ${describe(value)}`);
  }
  if (value.length !== width) throw new RuntimeRangeError(`cannot ${op}: ${name} must have ${width} values, got ${value.length}`);
  for (let j = 0; j < width; j++) {
    if (typeof value[j] !== 'number') throw new RuntimeTypeError(`cannot ${op}: ${name}[${j}] must be a number, got ${describe(value[j])}`);
  }
}

/** A short description of a value's type for messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'bytes';
  return typeof value;
}
