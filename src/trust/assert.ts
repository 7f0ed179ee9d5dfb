/**
 * Titled asserts for the public boundary of `src/trust` (noble style): a wrong
 * type is a `TypeError`, a wrong size or range a `RangeError`, each naming the
 * argument.
 */

/**
 * Throws unless `value` is a `Uint8Array` (of `length` bytes when given).
 *
 * @throws {TypeError} not a `Uint8Array`
 * @throws {RangeError} wrong length
 * @example
 * ```ts
 * assertBytes(root, 'root', 32);
 * ```
 */
export function assertBytes(value: unknown, name: string, length?: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array, got ${describe(value)}`);
  if (length !== undefined && value.length !== length) {
    throw new RangeError(`${name} must be ${length} bytes, got ${value.length}`);
  }
}

/**
 * Throws unless `value` is a non-negative safe integer (a log index or tree size).
 *
 * @throws {TypeError} not an integer
 * @throws {RangeError} negative or beyond `Number.MAX_SAFE_INTEGER`
 * @example
 * ```ts
 * assertIndex(size, 'size');
 * ```
 */
export function assertIndex(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(`${name} must be an integer, got ${describe(value)}`);
  if (value < 0 || value > Number.MAX_SAFE_INTEGER) throw new RangeError(`${name} must be a non-negative safe integer, got ${value}`);
}

/**
 * Throws a `TypeError` naming `name` unless `value` is a non-empty string.
 *
 * @throws {TypeError} not a non-empty string
 * @example
 * ```ts
 * assertString(origin, 'origin');
 * ```
 */
export function assertString(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`${name} must be a non-empty string, got ${describe(value)}`);
}

/**
 * Throws a `TypeError` naming `name` unless `value` is an array.
 *
 * @throws {TypeError} not an array
 * @example
 * ```ts
 * assertArray(proof, 'proof');
 * ```
 */
export function assertArray(value: unknown, name: string): asserts value is unknown[] {
  if (!Array.isArray(value)) throw new TypeError(`${name} must be an array, got ${describe(value)}`);
}

/**
 * A short name for the type of `value`, for error messages.
 *
 * @throws never
 * @example
 * ```ts
 * describe(new Uint8Array(1)); // 'Uint8Array'
 * ```
 */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}
