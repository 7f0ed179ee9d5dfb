/**
 * Stable error codes of `src/compute`; `docs/errors.md` (section "compute")
 * says what each means and how to fix it. Messages read `cannot <op>: <reason>`.
 */
export const ComputeErrorCode = {
  /** A job names an unknown feature, an empty selection, or a label the dataset lacks. */
  SELECTION: 'COMPUTE_ERR_SELECTION',
  /** The selection has fewer plants or records than the federation's guard requires. */
  GUARD: 'COMPUTE_ERR_GUARD',
  /** Batch bytes are malformed, for another dataset or layout, or differ from the pinned hash. */
  BATCH: 'COMPUTE_ERR_BATCH',
  /** Revealed sums are not the moments of any dataset: a share was missing or wrong, or a batch malformed. */
  REVEAL: 'COMPUTE_ERR_REVEAL',
  /** A job was cancelled before it finished. */
  CANCELLED: 'COMPUTE_ERR_CANCELLED',
  /** A worker thread failed; the cause is kept. */
  WORKER: 'COMPUTE_ERR_WORKER',
} as const;

/** One of the {@link ComputeErrorCode} values. */
export type ComputeErrorCode = (typeof ComputeErrorCode)[keyof typeof ComputeErrorCode];

/**
 * The error type of `src/compute`.
 *
 * @example
 * ```ts
 * try { planJob(dataset, spec, batches, guards); } catch (e) { if (e instanceof ComputeError && e.code === ComputeErrorCode.GUARD) … }
 * ```
 */
export class ComputeError extends Error {
  readonly code: ComputeErrorCode;
  constructor(code: ComputeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ComputeError';
    this.code = code;
  }
}
