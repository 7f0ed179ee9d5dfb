/**
 * Running a job's aggregation on worker threads (one SEAL engine each). The
 * main thread loads batch bytes (from the lake, a file, anywhere) and hands
 * them to the workers, at most two in flight per worker so memory stays
 * bounded however many batches a job has; each worker accumulates its share
 * and returns one relinearized partial aggregate; the main thread adds the
 * partials. Addition is associative, so the result does not depend on the
 * number of threads or on which worker got which batch.
 */
import { Worker } from 'node:worker_threads';
import type { Ciphertext, SealEngine } from '../he/backend/seal.ts';
import { CiphertextCodec } from '../he/wire.ts';
import { mergeAccumulators } from './accumulate.ts';
import type { BatchRef } from './batch.ts';
import { ComputeError, ComputeErrorCode } from './errors.ts';
import type { JobPlan } from './plan.ts';
import type { WorkerInit, WorkerReply, WorkerRequest } from './worker.ts';

const IN_FLIGHT_PER_WORKER = 2;

/** How to run an aggregation. */
export interface AggregateOptions {
  /** Worker threads (default 1); never more than there are batches. */
  readonly threads?: number;
  /** The collective relinearization keys, as wire bytes (RelinKeysCodec). */
  readonly relinKeys: Uint8Array;
  /** Loads a batch's container bytes. */
  readonly load: (ref: BatchRef) => Promise<Uint8Array>;
  /** Cancels the job: workers stop, the promise rejects with `COMPUTE_ERR_CANCELLED`. */
  readonly signal?: AbortSignal;
  /** Called after each batch with the number done and the total. */
  readonly onProgress?: (done: number, total: number) => void;
}

/**
 * Aggregates a planned job: one relinearized ciphertext per statistic, in
 * `plan.aggregation.stats` order, owned by the caller.
 *
 * @throws {ComputeError} `COMPUTE_ERR_BATCH` for a batch that differs from its
 *   pin or does not decode, `COMPUTE_ERR_CANCELLED` when `signal` aborts,
 *   `COMPUTE_ERR_WORKER` when a worker fails.
 * @example
 * ```ts
 * const accumulators = await aggregateJob(engine, plan, { threads: 2, relinKeys, load: (ref) => lake.read(ref.contentHash) });
 * ```
 */
export async function aggregateJob(engine: SealEngine, plan: Pick<JobPlan, 'batches' | 'aggregation'>, options: AggregateOptions): Promise<Ciphertext[]> {
  const batches = plan.batches;
  const total = batches.length;
  const threads = Math.min(options.threads ?? 1, total);
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be a positive integer, got ${String(options.threads)}`);
  if (options.signal?.aborted) throw cancelled();
  const init: WorkerInit = { params: engine.params, relinKeys: options.relinKeys, plan: plan.aggregation };
  const workers = Array.from({ length: threads }, () => new Worker(new URL('./worker.ts', import.meta.url), { workerData: init }));
  const parts: ArrayBuffer[][] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let next = 0;
      let done = 0;
      let finished = 0;
      let failed = false;
      const inFlight = workers.map(() => 0);
      const stop = (err: Error): void => {
        if (failed) return;
        failed = true;
        reject(err);
      };
      const onAbort = (): void => stop(cancelled());
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const send = (w: number, msg: WorkerRequest, transfer: ArrayBuffer[] = []): void => workers[w].postMessage(msg, transfer);
      const pump = (w: number): void => {
        while (!failed && inFlight[w] < IN_FLIGHT_PER_WORKER && next < total) {
          const id = next++;
          const ref = batches[id];
          inFlight[w]++;
          options.load(ref).then(
            (bytes) => {
              if (failed) return;
              if (!(bytes instanceof Uint8Array)) throw new TypeError(`load(${ref.batchId}) must resolve to a Uint8Array`);
              // A copy is transferred: the loader's buffer stays the loader's.
              const own = bytes.slice().buffer;
              send(w, { type: 'batch', id, hash: ref.contentHash, bytes: own }, [own]);
            },
          ).catch((cause: unknown) => stop(new ComputeError(ComputeErrorCode.BATCH, `cannot load batch ${ref.batchId} of ${ref.plant}`, { cause })));
        }
      };
      const finishAll = (): void => workers.forEach((_, w) => send(w, { type: 'finish' }));
      workers.forEach((worker, w) => {
        worker.on('message', (reply: WorkerReply) => {
          switch (reply.type) {
            case 'ready':
              pump(w);
              return;
            case 'done':
              inFlight[w]--;
              done++;
              options.onProgress?.(done, total);
              if (done === total) finishAll();
              else pump(w);
              return;
            case 'result':
              parts[w] = [...reply.parts];
              if (++finished === threads) {
                options.signal?.removeEventListener('abort', onAbort);
                resolve();
              }
              return;
            case 'error':
              stop(new ComputeError(reply.code === ComputeErrorCode.BATCH ? ComputeErrorCode.BATCH : ComputeErrorCode.WORKER, `cannot aggregate: worker ${w}: ${reply.message}`));
          }
        });
        worker.on('error', (cause) => stop(new ComputeError(ComputeErrorCode.WORKER, `cannot aggregate: worker ${w} crashed`, { cause })));
        worker.on('exit', (code) => {
          if (finished < threads) stop(new ComputeError(ComputeErrorCode.WORKER, `cannot aggregate: worker ${w} exited with code ${code}`));
        });
      });
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  let result: Ciphertext[] | undefined;
  try {
    for (const list of parts) {
      if (list.length === 0) continue;
      const cts = list.map((buf) => CiphertextCodec.fromBytes(engine, new Uint8Array(buf)));
      if (result === undefined) result = cts;
      else {
        mergeAccumulators(engine, result, cts);
        for (const ct of cts) ct[Symbol.dispose]();
      }
    }
  } catch (e) {
    for (const ct of result ?? []) ct[Symbol.dispose]();
    throw e;
  }
  if (result === undefined) throw new ComputeError(ComputeErrorCode.WORKER, 'cannot aggregate: no worker returned a result');
  return result;
}

function cancelled(): ComputeError {
  return new ComputeError(ComputeErrorCode.CANCELLED, 'cannot aggregate: the job was cancelled');
}
