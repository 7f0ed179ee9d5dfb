/**
 * Titled argument checks for the public entries of `src/edge` (internal module). Each names the
 * operation and the argument: a wrong type is an {@link EdgeTypeError}, a wrong size or range an
 * {@link EdgeRangeError}.
 * @module
 */
import { EdgeRangeError, EdgeTypeError } from './errors.ts';

/** Throws unless `value` is a plain object (not null, not an array). */
export function aObject(op: string, name: string, value: unknown): asserts value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new EdgeTypeError(`cannot ${op}: ${name} must be an object, got ${describe(value)}`);
  }
}

/** Throws unless `value` is a finite number. */
export function aFinite(op: string, name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number') throw new EdgeTypeError(`cannot ${op}: ${name} must be a number, got ${describe(value)}`);
  if (!Number.isFinite(value)) throw new EdgeRangeError(`cannot ${op}: ${name} must be finite, got ${value}`);
}

/** Throws unless `value` is an integer in [min, max]. */
export function aInteger(op: string, name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): asserts value is number {
  if (typeof value !== 'number') throw new EdgeTypeError(`cannot ${op}: ${name} must be an integer, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new EdgeRangeError(`cannot ${op}: ${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
}

/** Throws unless `value` is a non-empty string. */
export function aString(op: string, name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string') throw new EdgeTypeError(`cannot ${op}: ${name} must be a string, got ${describe(value)}`);
  if (value.length === 0) throw new EdgeRangeError(`cannot ${op}: ${name} must not be empty`);
}

/** Throws unless `value` is an array. */
export function aArray(op: string, name: string, value: unknown): asserts value is readonly unknown[] {
  if (!Array.isArray(value)) throw new EdgeTypeError(`cannot ${op}: ${name} must be an array, got ${describe(value)}`);
}

/** Throws unless `value` is a function. */
export function aFunction(op: string, name: string, value: unknown): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') throw new EdgeTypeError(`cannot ${op}: ${name} must be a function, got ${describe(value)}`);
}

/** A short description of a value's type for error messages (never its content). */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}
