/**
 * `src/compute`: exact moments on ciphertexts (DESIGN §6) — batch containers
 * pinned by hash, job planning with guards, accumulation on worker threads
 * with one relinearization per job, and the reveal through src/he's
 * sum-reveal protocols. See docs/compute.md.
 * @module
 */
export * from './errors.ts';
export * from './layout.ts';
export * from './batch.ts';
export * from './plan.ts';
export { Accumulator, mergeAccumulators } from './accumulate.ts';
export * from './aggregate.ts';
export * from './partial.ts';
export * from './reveal.ts';
