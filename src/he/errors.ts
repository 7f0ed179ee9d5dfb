/**
 * Stable error codes of `src/he`. Every error thrown by the HE core is an
 * {@link HeError} carrying one of these codes; `docs/errors.md` explains each.
 */
export const HeErrorCode = {
  /** node-seal could not be loaded (the runtime lacks WebAssembly exception handling). */
  SEAL_LOAD: 'HE_ERR_SEAL_LOAD',
  /** SEAL itself rejected an operation; the SEAL message is kept as `cause`. */
  SEAL: 'HE_ERR_SEAL',
  /** A parameter literal is invalid or not 128-bit secure. */
  PARAMS: 'HE_ERR_PARAMS',
  /** A TEST_INSECURE_* parameter set was asked for outside tests. */
  INSECURE_PARAMS: 'HE_ERR_INSECURE_PARAMS',
  /** Bytes could not be decoded: wrong magic, version, kind, size or content. */
  DECODE: 'HE_ERR_DECODE',
  /** SEAL's serialization layout is not the one this code was written against. */
  LAYOUT: 'HE_ERR_LAYOUT',
  /** Objects from different parameter sets or levels were combined. */
  MISMATCH: 'HE_ERR_MISMATCH',
  /** A value cannot be encoded (out of range, too many values). */
  ENCODE: 'HE_ERR_ENCODE',
  /** A reveal would exceed the exactness bound: a sum could wrap modulo t. */
  EXACTNESS: 'HE_ERR_EXACTNESS',
  /** The ciphertext's noise budget cannot carry the required flooding noise. */
  FLOODING_BUDGET: 'HE_ERR_FLOODING_BUDGET',
  /** A protocol step got the wrong number or kind of shares. */
  PROTOCOL: 'HE_ERR_PROTOCOL',
  /** A secret was used after it was wiped. */
  WIPED: 'HE_ERR_WIPED',
} as const;

/** One of the {@link HeErrorCode} values. */
export type HeErrorCode = (typeof HeErrorCode)[keyof typeof HeErrorCode];

/**
 * The error type of `src/he`. Messages read `cannot <op>: <reason>`.
 *
 * @example
 * ```ts
 * try { createParams(literal); } catch (e) { if (e instanceof HeError && e.code === HeErrorCode.PARAMS) … }
 * ```
 */
export class HeError extends Error {
  readonly code: HeErrorCode;
  constructor(code: HeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HeError';
    this.code = code;
  }
}

/** Throws a `TypeError` naming `name` unless `value` is a `Uint8Array`. */
export function assertBytes(value: unknown, name: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array, got ${describe(value)}`);
}

/** Throws unless `value` is an integer in [min, max] (`TypeError` for a non-integer, `RangeError` out of range). */
export function assertInt(value: unknown, name: string, min: number, max: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(`${name} must be an integer, got ${describe(value)}`);
  if (value < min || value > max) throw new RangeError(`${name} must be in [${min}, ${max}], got ${value}`);
}

/** Throws a `TypeError` naming `name` unless `value` is a non-empty string. */
export function assertString(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`${name} must be a non-empty string, got ${describe(value)}`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}
