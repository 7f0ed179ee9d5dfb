/**
 * The one registry of error codes for `src/edge`. Every failure a caller can meet carries a stable
 * `code` from this list; `docs/edge.md` ("Errors") says what each means and how to fix it.
 * Messages read `cannot <op>: <reason>` and keep `{ cause }`.
 *
 * Argument checks at public entries throw {@link EdgeTypeError} (wrong type) or
 * {@link EdgeRangeError} (wrong size or range), naming the argument, as `noble-*` does; domain
 * failures throw {@link EdgeError}.
 * @module
 */

/**
 * Stable error codes of `src/edge`.
 * @example
 * ```ts
 * if ((e as EdgeError).code === EDGE_ERR.BUFFER_FULL) { … }
 * ```
 */
export const EDGE_ERR = {
  /** An argument has the wrong type (thrown as `TypeError`). */
  INVALID_ARGUMENT: 'EDGE_ERR_INVALID_ARGUMENT',
  /** An argument has the wrong size, shape or range (thrown as `RangeError`). */
  OUT_OF_RANGE: 'EDGE_ERR_OUT_OF_RANGE',
  /** The policy file is not well-formed YAML (or holds more than one document). */
  POLICY_SYNTAX: 'EDGE_ERR_POLICY_SYNTAX',
  /** The policy is well-formed YAML but a field is missing, unknown or has a bad value; the message names its path. */
  POLICY_INVALID: 'EDGE_ERR_POLICY_INVALID',
  /** The pseudonymisation key is missing, unreadable, malformed or shorter than 32 bytes. */
  KEY: 'EDGE_ERR_KEY',
  /** The pseudonymisation key file can be read by other users (mode must be 0600 or stricter). */
  KEY_PERMISSIONS: 'EDGE_ERR_KEY_PERMISSIONS',
  /** The pseudonymisation key was used after `PseudonymKey.destroy()`. */
  KEY_DESTROYED: 'EDGE_ERR_KEY_DESTROYED',
  /** A batch holds fewer records than the policy's `minBatchSize`. */
  BATCH_TOO_SMALL: 'EDGE_ERR_BATCH_TOO_SMALL',
  /** The durable buffer is full and its policy is `refuse`; nothing of the append was stored. */
  BUFFER_FULL: 'EDGE_ERR_BUFFER_FULL',
  /** The buffer file is held by another process or connection (one owner per buffer). */
  BUFFER_LOCKED: 'EDGE_ERR_BUFFER_LOCKED',
  /** SQLite failed to open, read or commit the buffer (disk full, corrupt file, wrong schema); `cause` has SQLite's error. */
  BUFFER_STORAGE: 'EDGE_ERR_BUFFER_STORAGE',
  /** The buffer was used after `close()`. */
  BUFFER_CLOSED: 'EDGE_ERR_BUFFER_CLOSED',
  /** An ack named an id the buffer never issued. */
  BUFFER_UNKNOWN_ID: 'EDGE_ERR_BUFFER_UNKNOWN_ID',
  /** A stored entry could not be decoded by the buffer's codec. */
  BUFFER_DECODE: 'EDGE_ERR_BUFFER_DECODE',
} as const;

/** One of the {@link EDGE_ERR} codes. */
export type EdgeErrorCode = (typeof EDGE_ERR)[keyof typeof EDGE_ERR];

/**
 * The error thrown for every domain failure in `src/edge` (argument checks throw
 * {@link EdgeTypeError} / {@link EdgeRangeError}).
 * @example
 * ```ts
 * try { buffer.append([sample]); }
 * catch (e) { if (e instanceof EdgeError && e.code === EDGE_ERR.BUFFER_FULL) { … back off … } }
 * ```
 */
export class EdgeError extends Error {
  /** Stable code, one of {@link EDGE_ERR}. */
  readonly code: EdgeErrorCode;

  /**
   * @param code - stable code
   * @param message - `cannot <op>: <reason>`
   * @param options - `{ cause }` of the underlying failure, kept for the caller
   */
  constructor(code: EdgeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EdgeError';
    this.code = code;
  }
}

/**
 * A `TypeError` with the stable code `EDGE_ERR_INVALID_ARGUMENT` (wrong type of an argument).
 * @example
 * ```ts
 * assert.throws(() => applyPolicy(policy, key, 'events' as never), EdgeTypeError);
 * ```
 */
export class EdgeTypeError extends TypeError {
  readonly code: EdgeErrorCode = EDGE_ERR.INVALID_ARGUMENT;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EdgeTypeError';
  }
}

/**
 * A `RangeError` with the stable code `EDGE_ERR_OUT_OF_RANGE` (wrong size or range of an argument).
 * @example
 * ```ts
 * assert.throws(() => new FeatureWindows({ window: { kind: 'count', size: 0 }, signals: ['a'] }), EdgeRangeError);
 * ```
 */
export class EdgeRangeError extends RangeError {
  readonly code: EdgeErrorCode = EDGE_ERR.OUT_OF_RANGE;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EdgeRangeError';
  }
}
