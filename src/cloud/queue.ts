/**
 * Server mode of the cloud's jobs (DESIGN §9): aggregation split into
 * partitions of batches, queued with pg-boss on PostgreSQL and computed by
 * `hedge worker` processes — on this machine or others that share the lake's
 * folder. Each worker aggregates its partition on its own threads and stores
 * a partial aggregate (src/compute/partial.ts) in the lake; the coordinator
 * merges the partials. Addition is associative, so any number of workers, and
 * any assignment of partitions to them, gives the single-process result.
 *
 * Partition tasks have ids derived from (job, partition), so a coordinator that
 * restarts re-sends the same tasks and pg-boss keeps one of each; a worker that
 * dies mid-task leaves the task to expire and be retried by another.
 */
import { createHash } from 'node:crypto';
import { PgBoss } from 'pg-boss';
import { SealEngine, type Ciphertext } from '../he/backend/seal.ts';
import { preset } from '../he/params.ts';
import { aggregateJob } from '../compute/aggregate.ts';
import { mergeAccumulators } from '../compute/accumulate.ts';
import type { BatchRef } from '../compute/batch.ts';
import { ComputeError, ComputeErrorCode } from '../compute/errors.ts';
import { decodePartial, encodePartial } from '../compute/partial.ts';
import type { AggregationPlan, JobPlan } from '../compute/plan.ts';
import type { FileBlobStore } from './blobs.ts';

/** The pg-boss queue of aggregation partitions. */
export const AGGREGATE_QUEUE = 'hedge-aggregate';

/** One partition of a job, as queued. */
export interface PartitionTask {
  readonly jobId: string;
  readonly partition: number;
  /** Parameter preset name (workers build their engine from it). */
  readonly preset: string;
  readonly allowInsecure: boolean;
  /** Lake hash of the relinearization keys' wire bytes. */
  readonly relinKeys: string;
  readonly aggregation: AggregationPlan;
  readonly batches: readonly BatchRef[];
}

/** What a worker returns for a partition. */
export interface PartitionResult {
  /** Lake hash of the partial aggregate. */
  readonly partial: string;
  readonly worker: string;
  readonly batches: number;
}

/**
 * Connects to PostgreSQL and makes sure the queue exists.
 *
 * @example
 * ```ts
 * const boss = await openQueue(process.env.DATABASE_URL!);
 * ```
 */
export async function openQueue(connectionString: string): Promise<PgBoss> {
  const boss = new PgBoss({ connectionString, application_name: 'hedge' });
  boss.on('error', () => {}); // surfaced through the failing calls; a stray pool error must not crash the process
  await boss.start();
  if ((await boss.getQueue(AGGREGATE_QUEUE)) === null) {
    await boss.createQueue(AGGREGATE_QUEUE, { retryLimit: 2, expireInSeconds: 15 * 60 });
  }
  return boss;
}

/** A stable UUID for (job, partition): re-sending the same task is a no-op. */
function taskId(jobId: string, partition: number): string {
  const h = createHash('sha256').update(`hedge/partition/v1\n${jobId}\n${partition}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Options of {@link aggregateDistributed}. */
export interface DistributedOptions {
  readonly boss: PgBoss;
  readonly blobs: FileBlobStore;
  readonly jobId: string;
  /** Lake hash of the relinearization keys' wire bytes. */
  readonly relinKeys: string;
  /** Number of partitions (default: one per 8 batches, at most 64). */
  readonly partitions?: number;
  readonly allowInsecure?: boolean;
  readonly pollMs?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (done: number, total: number) => void;
}

/**
 * Queues a job's partitions, waits for the workers, and merges their partial
 * aggregates into one ciphertext per statistic (owned by the caller).
 *
 * @throws {ComputeError} `COMPUTE_ERR_WORKER` when a partition failed after its retries;
 *   `COMPUTE_ERR_CANCELLED` when `signal` aborts (queued partitions are cancelled).
 * @example
 * ```ts
 * const accumulators = await aggregateDistributed(engine, plan, { boss, blobs, jobId, relinKeys });
 * ```
 */
export async function aggregateDistributed(engine: SealEngine, plan: JobPlan, options: DistributedOptions): Promise<Ciphertext[]> {
  const { boss, blobs, jobId } = options;
  const n = plan.batches.length;
  const parts = Math.max(1, Math.min(options.partitions ?? Math.min(64, Math.ceil(n / 8)), n));
  const ids: string[] = [];
  for (let p = 0; p < parts; p++) {
    const batches = plan.batches.filter((_, i) => i % parts === p);
    const task: PartitionTask = {
      jobId, partition: p, preset: engine.params.name, allowInsecure: options.allowInsecure ?? false,
      relinKeys: options.relinKeys, aggregation: plan.aggregation, batches,
    };
    const id = taskId(jobId, p);
    await boss.send(AGGREGATE_QUEUE, task as unknown as object, { id });
    ids.push(id);
  }
  const results = new Map<string, PartitionResult>();
  const pollMs = options.pollMs ?? 250;
  while (results.size < parts) {
    if (options.signal?.aborted) {
      await boss.cancel(AGGREGATE_QUEUE, ids.filter((id) => !results.has(id)));
      throw new ComputeError(ComputeErrorCode.CANCELLED, `cannot aggregate job ${jobId}: the job was cancelled`);
    }
    for (const id of ids) {
      if (results.has(id)) continue;
      const job = await boss.getJobById<PartitionTask>(AGGREGATE_QUEUE, id);
      if (job === null) throw new ComputeError(ComputeErrorCode.WORKER, `cannot aggregate job ${jobId}: partition task ${id} vanished from the queue`);
      if (job.state === 'completed') {
        results.set(id, job.output as PartitionResult);
        options.onProgress?.(results.size, parts);
      } else if (job.state === 'failed' || job.state === 'cancelled') {
        const why = (job.output as { message?: string } | null)?.message ?? job.state;
        throw new ComputeError(ComputeErrorCode.WORKER, `cannot aggregate job ${jobId}: partition ${job.data.partition} ${job.state}: ${why}`);
      }
    }
    if (results.size < parts) await new Promise((r) => setTimeout(r, pollMs));
  }
  let total: Ciphertext[] | undefined;
  try {
    for (const id of ids) {
      const partial = decodePartial(engine, await blobs.get(results.get(id)!.partial), plan.aggregation.stats.length);
      if (total === undefined) total = partial;
      else {
        mergeAccumulators(engine, total, partial);
        for (const ct of partial) ct[Symbol.dispose]();
      }
    }
  } catch (e) {
    for (const ct of total ?? []) ct[Symbol.dispose]();
    throw e;
  }
  return total!;
}

/** Which workers computed which partitions, for operators (and tests). */
export async function partitionWorkers(boss: PgBoss, jobId: string, parts: number): Promise<string[]> {
  const out: string[] = [];
  for (let p = 0; p < parts; p++) {
    const job = await boss.getJobById(AGGREGATE_QUEUE, taskId(jobId, p));
    out.push((job?.output as PartitionResult | undefined)?.worker ?? '');
  }
  return out;
}

/** Options of {@link startAggregationWorker}. */
export interface WorkerOptions {
  readonly boss: PgBoss;
  readonly blobs: FileBlobStore;
  /** Threads per partition (default 1). */
  readonly threads?: number;
  /** This worker's name in task results and logs. */
  readonly workerId: string;
}

/**
 * Takes partition tasks from the queue until stopped: loads the partition's
 * batches from the lake, aggregates them, stores the partial aggregate.
 *
 * @example
 * ```ts
 * const worker = await startAggregationWorker({ boss, blobs, workerId: os.hostname() });
 * process.on('SIGTERM', () => worker.stop());
 * ```
 */
export async function startAggregationWorker(options: WorkerOptions): Promise<{ stop: () => Promise<void> }> {
  const { boss, blobs, workerId } = options;
  const engines = new Map<string, Promise<SealEngine>>();
  const engineFor = (name: string, allowInsecure: boolean): Promise<SealEngine> => {
    const key = `${name}/${allowInsecure}`;
    let e = engines.get(key);
    if (e === undefined) {
      e = SealEngine.create(preset(name, { allowInsecure }));
      engines.set(key, e);
    }
    return e;
  };
  const id = await boss.work<PartitionTask, PartitionResult>(AGGREGATE_QUEUE, { batchSize: 1, pollingIntervalSeconds: 0.5 }, async ([job]) => {
    const task = job.data;
    const engine = await engineFor(task.preset, task.allowInsecure);
    const accumulators = await aggregateJob(engine, { batches: task.batches, aggregation: task.aggregation }, {
      threads: options.threads ?? 1, relinKeys: await blobs.get(task.relinKeys), load: (ref) => blobs.get(ref.contentHash), signal: job.signal,
    });
    try {
      const partial = await blobs.put(encodePartial(engine, accumulators));
      return { partial, worker: workerId, batches: task.batches.length };
    } finally {
      for (const ct of accumulators) ct[Symbol.dispose]();
    }
  });
  return {
    stop: async () => {
      await boss.offWork(AGGREGATE_QUEUE, { id, wait: true });
      for (const e of engines.values()) (await e)[Symbol.dispose]();
    },
  };
}
