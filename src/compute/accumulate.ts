/**
 * Accumulating a job's statistics over batches (DESIGN §6). Per batch, each
 * product statistic costs one ciphertext multiplication and one addition:
 * products stay size 3 and are added as they are; relinearization happens
 * once per accumulator in {@link Accumulator.finish}, never per batch. Partial
 * accumulators add associatively ({@link mergeAccumulators}), so any split of
 * the batches over threads or machines gives the same result.
 */
import type { Ciphertext, RelinKeys, SealEngine } from '../he/backend/seal.ts';
import { ComputeError, ComputeErrorCode } from './errors.ts';
import type { AggregationPlan } from './plan.ts';

/** Running sums of one job's statistics over the batches given so far. */
export class Accumulator implements Disposable {
  readonly #engine: SealEngine;
  readonly #plan: AggregationPlan;
  #acc: (Ciphertext | undefined)[];
  #scratch: Ciphertext | undefined;
  #batches = 0;

  constructor(engine: SealEngine, plan: AggregationPlan) {
    this.#engine = engine;
    this.#plan = plan;
    this.#acc = plan.stats.map(() => undefined);
  }

  /** Number of batches added. */
  get batches(): number {
    return this.#batches;
  }

  /**
   * Adds one batch's columns (not consumed; the caller disposes them).
   *
   * @throws {ComputeError} `COMPUTE_ERR_BATCH` when the column count is not the plan's.
   */
  add(columns: readonly Ciphertext[]): void {
    const e = this.#engine;
    const plan = this.#plan;
    if (columns.length !== plan.columns) throw new ComputeError(ComputeErrorCode.BATCH, `cannot accumulate batch: ${columns.length} columns, the plan has ${plan.columns}`);
    const made: Ciphertext[] = [];
    try {
      const operands = plan.operands.map((cols) => {
        if (cols.length === 1) return columns[cols[0]];
        const sum = e.add(columns[cols[0]], columns[cols[1]]);
        made.push(sum);
        for (const c of cols.slice(2)) e.addInPlace(sum, columns[c]);
        return sum;
      });
      plan.stats.forEach((stat, i) => {
        const acc = this.#acc[i];
        if (stat.length === 1) {
          const x = operands[stat[0]];
          if (acc === undefined) this.#acc[i] = e.copy(x);
          else e.addInPlace(acc, x);
          return;
        }
        if (acc === undefined) this.#acc[i] = e.multiply(operands[stat[0]], operands[stat[1]]);
        else e.multiplyAccumulate(acc, operands[stat[0]], operands[stat[1]], (this.#scratch ??= e.copy(operands[stat[0]])));
      });
    } finally {
      for (const m of made) m[Symbol.dispose]();
    }
    this.#batches++;
  }

  /**
   * The accumulated statistics, products relinearized (size 2), in plan order.
   * The accumulator is empty afterwards; the caller owns the ciphertexts.
   *
   * @throws {ComputeError} `COMPUTE_ERR_BATCH` when no batch was added.
   */
  finish(rk: RelinKeys): Ciphertext[] {
    const e = this.#engine;
    if (this.#batches === 0) throw new ComputeError(ComputeErrorCode.BATCH, 'cannot finish accumulation: no batch was added');
    this.#scratch?.[Symbol.dispose]();
    this.#scratch = undefined;
    const out: Ciphertext[] = [];
    try {
      for (const [i, acc] of this.#acc.entries()) {
        if (e.shape(acc!).size === 2) {
          out.push(acc!);
        } else {
          out.push(e.relinearize(acc!, rk));
          acc![Symbol.dispose]();
        }
        this.#acc[i] = undefined;
      }
    } catch (err) {
      for (const ct of out) ct[Symbol.dispose]();
      throw err;
    }
    return out;
  }

  [Symbol.dispose](): void {
    this.#scratch?.[Symbol.dispose]();
    this.#scratch = undefined;
    for (const ct of this.#acc) ct?.[Symbol.dispose]();
    this.#acc = this.#acc.map(() => undefined);
  }
}

/**
 * Adds finished partial results into `total`, element-wise, in place.
 *
 * @throws {ComputeError} `COMPUTE_ERR_WORKER` when the lists differ in length.
 */
export function mergeAccumulators(engine: SealEngine, total: readonly Ciphertext[], part: readonly Ciphertext[]): void {
  if (total.length !== part.length) throw new ComputeError(ComputeErrorCode.WORKER, `cannot merge partial aggregates: ${part.length} statistics, expected ${total.length}`);
  for (let i = 0; i < total.length; i++) engine.addInPlace(total[i], part[i]);
}
