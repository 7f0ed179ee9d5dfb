/**
 * The one registry of error codes for `src/models`. Every failure a caller can meet carries a
 * stable `code` from this list; the table in `docs/errors.md` (section "models") says what each
 * means and how to fix it. Messages read `cannot <op>: <reason>`.
 *
 * Argument checks at public entries throw plain `TypeError` (wrong type) or `RangeError` (wrong
 * size or range) naming the argument, as `noble-*` does; those too carry a `code`.
 * @module
 */

/** Stable error codes of `src/models`. */
export const MODELS_ERR = {
  /** An argument has the wrong type (thrown as `TypeError`). */
  INVALID_ARGUMENT: 'MODELS_ERR_INVALID_ARGUMENT',
  /** An argument has the wrong size, shape or range (thrown as `RangeError`). */
  OUT_OF_RANGE: 'MODELS_ERR_OUT_OF_RANGE',
  /** A value is NaN or infinite where a finite number is required. */
  NOT_FINITE: 'MODELS_ERR_NOT_FINITE',
  /** Schema, moments, model or rows disagree (feature names, scale, classes, label kind). */
  MISMATCH: 'MODELS_ERR_MISMATCH',
  /** Too few records (overall or in one class) for the requested fit. */
  TOO_FEW_RECORDS: 'MODELS_ERR_TOO_FEW_RECORDS',
  /** A class has no records. */
  EMPTY_CLASS: 'MODELS_ERR_EMPTY_CLASS',
  /** A feature has zero variance, so it cannot be standardised. */
  CONSTANT_FEATURE: 'MODELS_ERR_CONSTANT_FEATURE',
  /** A covariance or Gram matrix is singular or not positive definite. */
  SINGULAR: 'MODELS_ERR_SINGULAR',
  /** Moments are internally inconsistent (e.g. a negative variance): not what rows would give. */
  INVALID_MOMENTS: 'MODELS_ERR_INVALID_MOMENTS',
  /** A JSON artifact or codec input is malformed or of an unsupported version. */
  INVALID_ARTIFACT: 'MODELS_ERR_INVALID_ARTIFACT',
} as const;

/** One of the {@link MODELS_ERR} codes. */
export type ModelsErrorCode = (typeof MODELS_ERR)[keyof typeof MODELS_ERR];

/**
 * The error thrown for every domain failure in `src/models` (not for argument type/size checks,
 * which are `TypeError` / `RangeError` with a `code`).
 * @example
 * ```ts
 * try { fitRidge(schema, moments); }
 * catch (e) { if (e instanceof ModelsError && e.code === MODELS_ERR.CONSTANT_FEATURE) { … } }
 * ```
 */
export class ModelsError extends Error {
  /** Stable code, one of {@link MODELS_ERR}. */
  readonly code: ModelsErrorCode;

  /**
   * @param code - stable code
   * @param message - `cannot <op>: <reason>`
   * @param options - `{ cause }` of the underlying failure, kept for the caller
   */
  constructor(code: ModelsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ModelsError';
    this.code = code;
  }
}

/**
 * A `TypeError` with a stable code (wrong type of an argument).
 * @example
 * ```ts
 * assert.throws(() => predictRidge(model, 'rows' as never), TypeError);
 * ```
 */
export class ModelsTypeError extends TypeError {
  readonly code: ModelsErrorCode = MODELS_ERR.INVALID_ARGUMENT;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ModelsTypeError';
  }
}

/**
 * A `RangeError` with a stable code (wrong size or range of an argument; `MODELS_ERR_NOT_FINITE`
 * for NaN / ∞).
 * @example
 * ```ts
 * assert.throws(() => predictRidge(model, [[1, 2]]), RangeError);
 * ```
 */
export class ModelsRangeError extends RangeError {
  readonly code: ModelsErrorCode;
  constructor(message: string, options?: { cause?: unknown; code?: ModelsErrorCode }) {
    super(message, options);
    this.name = 'ModelsRangeError';
    this.code = options?.code ?? MODELS_ERR.OUT_OF_RANGE;
  }
}
