/**
 * Stable error codes of `src/trust`. Every failure the trust layer detects in
 * data (a proof, a note, a checkpoint, a stored log) is a {@link TrustError}
 * carrying one of these codes; `docs/errors.md` (section "trust") explains each.
 * Programming mistakes at a public boundary stay `TypeError` / `RangeError`.
 *
 * @example
 * ```ts
 * if (e instanceof TrustError && e.code === TrustErrorCode.INCONSISTENT) alarm(e);
 * ```
 */
export const TrustErrorCode = {
  /** An inclusion or consistency proof does not verify. */
  PROOF_INVALID: 'TRUST_ERR_PROOF_INVALID',
  /** A signed note is malformed or carries no valid signature from a trusted key. */
  NOTE_INVALID: 'TRUST_ERR_NOTE_INVALID',
  /** A checkpoint body is malformed (origin, size, root hash or extension lines). */
  CHECKPOINT_INVALID: 'TRUST_ERR_CHECKPOINT_INVALID',
  /** A new checkpoint is not consistent with one already seen: history was rewritten or forked. */
  INCONSISTENT: 'TRUST_ERR_INCONSISTENT',
  /** A key is malformed, unknown, retired, or its name/id does not match. */
  KEY_INVALID: 'TRUST_ERR_KEY_INVALID',
  /** An event does not fit the catalogue (unknown kind, field or a value that could carry plaintext). */
  EVENT_INVALID: 'TRUST_ERR_EVENT_INVALID',
  /** The storage (PGlite or PostgreSQL) failed or holds data that contradicts the log. */
  STORAGE: 'TRUST_ERR_STORAGE',
  /** A log index or tree size is beyond the current log. */
  OUT_OF_RANGE: 'TRUST_ERR_OUT_OF_RANGE',
  /** A TUF repository operation was asked for something that is not there or not allowed. */
  TUF: 'TRUST_ERR_TUF',
  /** The access policy denies the request (deny by default). */
  ACCESS_DENIED: 'TRUST_ERR_ACCESS_DENIED',
} as const;

/** One of the {@link TrustErrorCode} values. */
export type TrustErrorCode = (typeof TrustErrorCode)[keyof typeof TrustErrorCode];

/**
 * The error type of `src/trust`. Messages read `cannot <op>: <reason>`; the
 * underlying failure, if any, is kept as `cause`.
 *
 * @example
 * ```ts
 * try { verifyInclusion(index, size, leafHash, proof, root); }
 * catch (e) { if (e instanceof TrustError && e.code === TrustErrorCode.PROOF_INVALID) reject(); }
 * ```
 */
export class TrustError extends Error {
  /** The stable code, one of {@link TrustErrorCode}. */
  readonly code: TrustErrorCode;
  /**
   * @param code - stable code from {@link TrustErrorCode}
   * @param message - `cannot <op>: <reason>`
   * @param options - `{ cause }` of the failure, kept for diagnosis
   * @throws never
   * @example
   * ```ts
   * throw new TrustError(TrustErrorCode.PROOF_INVALID, 'cannot verify inclusion: root mismatch');
   * ```
   */
  constructor(code: TrustErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TrustError';
    this.code = code;
  }
}
