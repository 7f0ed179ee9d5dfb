/**
 * The one registry of error codes for `src/runtime` (the model runtime at the edge). Every failure
 * a caller can meet carries a stable `code` from this list; `docs/runtime.md` ("Errors") says what
 * each means and how to fix it. Messages read `cannot <op>: <reason>` and keep `{ cause }`.
 *
 * Argument checks at public entries throw {@link RuntimeTypeError} (wrong type) or
 * {@link RuntimeRangeError} (wrong size or range), naming the argument, as `src/models` does.
 * @module
 */

/**
 * Stable error codes of `src/runtime`.
 * @example
 * ```ts
 * if (e instanceof RuntimeError && e.code === RUNTIME_ERR.DOWNGRADE) { … }
 * ```
 */
export const RUNTIME_ERR = {
  /** An argument has the wrong type (thrown as `TypeError`). */
  INVALID_ARGUMENT: 'RUNTIME_ERR_INVALID_ARGUMENT',
  /** An argument has the wrong size, shape or range (thrown as `RangeError`). */
  OUT_OF_RANGE: 'RUNTIME_ERR_OUT_OF_RANGE',
  /** A model artifact (JSON or ONNX) is malformed, tampered with, or fails validation. */
  INVALID_ARTIFACT: 'RUNTIME_ERR_INVALID_ARTIFACT',
  /** The artifact's format version (JSON `formatVersion`, ONNX producer/IR/opset) is not one this runtime reads. */
  UNSUPPORTED_VERSION: 'RUNTIME_ERR_UNSUPPORTED_VERSION',
  /** The artifact's bytes, id or version differ from what the verified delivery said they are. */
  DIGEST_MISMATCH: 'RUNTIME_ERR_DIGEST_MISMATCH',
  /** Model, training moments, drift reference, controls or record disagree (features, scale, family, id). */
  MISMATCH: 'RUNTIME_ERR_MISMATCH',
  /** A drift reference (or its JSON) is malformed or of an unsupported version. */
  INVALID_REFERENCE: 'RUNTIME_ERR_INVALID_REFERENCE',
  /** A candidate is not newer than the active version and no admin asked for a rollback. */
  DOWNGRADE: 'RUNTIME_ERR_DOWNGRADE',
  /** A candidate's shadow run did not meet the activation policy (too few records, disagreement, abstentions, errors). */
  SHADOW_CHECK: 'RUNTIME_ERR_SHADOW_CHECK',
  /** A model failed its health check (it was rolled back), or a version that failed one was staged again. */
  HEALTH_CHECK: 'RUNTIME_ERR_HEALTH_CHECK',
  /** There is no active model (nothing activated yet, or the first activation was rolled back), or nothing to roll back to. */
  NO_ACTIVE_MODEL: 'RUNTIME_ERR_NO_ACTIVE_MODEL',
  /** The activation history file is unreadable, corrupt, for another model, or could not be written. */
  HISTORY: 'RUNTIME_ERR_HISTORY',
  /** TUF refused the update (expired or rolled-back metadata, bad signatures, a target that does not match its hash) or the repository is unreachable. */
  DELIVERY: 'RUNTIME_ERR_DELIVERY',
  /** The local inference endpoint got a request it cannot answer (unknown route, malformed body) or failed inside. */
  ENDPOINT: 'RUNTIME_ERR_ENDPOINT',
} as const;

/** One of the {@link RUNTIME_ERR} codes. */
export type RuntimeErrorCode = (typeof RUNTIME_ERR)[keyof typeof RUNTIME_ERR];

/**
 * The error thrown for every domain failure in `src/runtime` (argument checks are
 * {@link RuntimeTypeError} / {@link RuntimeRangeError}, which carry a code too).
 * @example
 * ```ts
 * try { await loadModel(bytes, { expect }); }
 * catch (e) { if (e instanceof RuntimeError && e.code === RUNTIME_ERR.DIGEST_MISMATCH) { … } }
 * ```
 */
export class RuntimeError extends Error {
  /** Stable code, one of {@link RUNTIME_ERR}. */
  readonly code: RuntimeErrorCode;

  /**
   * @param code - stable code
   * @param message - `cannot <op>: <reason>`
   * @param options - `{ cause }` of the underlying failure
   */
  constructor(code: RuntimeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RuntimeError';
    this.code = code;
  }
}

/**
 * A `TypeError` with a stable code (an argument of the wrong type).
 * @example
 * ```ts
 * assert.throws(() => createDriftMonitor(reference, { window: '100' as never }), RuntimeTypeError);
 * ```
 */
export class RuntimeTypeError extends TypeError {
  readonly code: RuntimeErrorCode = RUNTIME_ERR.INVALID_ARGUMENT;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RuntimeTypeError';
  }
}

/**
 * A `RangeError` with a stable code (an argument of the wrong size or range).
 * @example
 * ```ts
 * assert.throws(() => createDriftMonitor(reference, { window: 0 }), RuntimeRangeError);
 * ```
 */
export class RuntimeRangeError extends RangeError {
  readonly code: RuntimeErrorCode = RUNTIME_ERR.OUT_OF_RANGE;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RuntimeRangeError';
  }
}
