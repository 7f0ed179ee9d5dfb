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
 * restarts re-sends the same tasks and pg-boss keeps one of each (finished ones
 * are not computed again); a worker that dies mid-task stops its heartbeat, and
 * 10 s later another worker retries the task.
 *
 * `hedge cloud start --workers queue` runs its jobs through {@link queueAggregator}
 * (src/cloud/service.ts); `hedge worker` runs {@link startAggregationWorker}.
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
import { JOB_REQUEUED, type JobAggregator } from './jobs.ts';

/** The pg-boss queue of aggregation partitions. */
export const AGGREGATE_QUEUE = 'hedge-aggregate';

/** Default batches per partition. */
export const DEFAULT_PARTITION_BATCHES = 8;
/** Most partitions a job is split into. */
export const MAX_PARTITIONS = 64;
/**
 * A worker refreshes its claim on a partition every half of this; a partition whose claim goes
 * stale (its worker died) is retried by another, and a worker whose partition was cancelled is
 * told (the task's signal aborts) at its next refresh.
 */
const HEARTBEAT_SECONDS = 10;

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
 * @throws the connection's error when PostgreSQL cannot be reached or pg-boss cannot migrate its schema
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

/**
 * How many partitions a job of `batches` batches is split into: one per `batchesPerPartition`
 * (default 8), at least 1 and at most {@link MAX_PARTITIONS} (and never more than there are batches).
 *
 * @throws {RangeError} when `batches` is not a non-negative integer or `batchesPerPartition` not a positive one
 * @example
 * ```ts
 * partitionCount(24);    // 3
 * partitionCount(24, 1); // 24
 * ```
 */
export function partitionCount(batches: number, batchesPerPartition = DEFAULT_PARTITION_BATCHES): number {
  if (!Number.isInteger(batches) || batches < 0) throw new RangeError(`batches must be a non-negative integer, got ${String(batches)}`);
  if (!Number.isInteger(batchesPerPartition) || batchesPerPartition < 1) throw new RangeError(`batchesPerPartition must be a positive integer, got ${String(batchesPerPartition)}`);
  return Math.max(1, Math.min(MAX_PARTITIONS, Math.ceil(batches / batchesPerPartition), batches));
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
  /** Number of partitions (default: {@link partitionCount} of the plan's batches). */
  readonly partitions?: number;
  readonly allowInsecure?: boolean;
  readonly pollMs?: number;
  /**
   * Stops waiting: the promise rejects with `COMPUTE_ERR_CANCELLED` and the unfinished partitions
   * are cancelled — unless `leaveQueued(signal.reason)` is true (a coordinator stopping for a
   * restart), when they stay queued for the next run to re-send and reuse.
   */
  readonly signal?: AbortSignal;
  readonly leaveQueued?: (reason: unknown) => boolean;
  /** Batches done (those of finished partitions) and the plan's total. */
  readonly onProgress?: (done: number, total: number) => void;
}

/**
 * Queues a job's partitions, waits for the workers, and merges their partial
 * aggregates into one ciphertext per statistic (owned by the caller).
 *
 * Sending is idempotent: a partition already queued, running or finished under its id is kept
 * (a finished one is not computed again), and one cancelled by an earlier stop is resumed.
 *
 * @throws {ComputeError} `COMPUTE_ERR_WORKER` when a partition failed after its retries (or was
 *   cancelled by someone else); `COMPUTE_ERR_CANCELLED` when `signal` aborts (unfinished
 *   partitions are cancelled unless `leaveQueued` says to keep them).
 * @example
 * ```ts
 * const accumulators = await aggregateDistributed(engine, plan, { boss, blobs, jobId, relinKeys });
 * ```
 */
export async function aggregateDistributed(engine: SealEngine, plan: JobPlan, options: DistributedOptions): Promise<Ciphertext[]> {
  const { boss, blobs, jobId } = options;
  const n = plan.batches.length;
  const parts = Math.max(1, Math.min(options.partitions ?? partitionCount(n), n));
  const ids: string[] = [];
  for (let p = 0; p < parts; p++) {
    const batches = plan.batches.filter((_, i) => i % parts === p);
    const task: PartitionTask = {
      jobId, partition: p, preset: engine.params.name, allowInsecure: options.allowInsecure ?? false,
      relinKeys: options.relinKeys, aggregation: plan.aggregation, batches,
    };
    const id = taskId(jobId, p);
    await boss.send(AGGREGATE_QUEUE, task as unknown as object, { id, heartbeatSeconds: HEARTBEAT_SECONDS });
    ids.push(id);
  }
  // A task this job cancelled in an earlier run (a stop for a restart) is wanted again.
  await boss.resume(AGGREGATE_QUEUE, ids);
  const results = new Map<string, PartitionResult>();
  let done = 0;
  const pollMs = options.pollMs ?? 250;
  while (results.size < parts) {
    if (options.signal?.aborted) {
      if (options.leaveQueued?.(options.signal.reason) !== true) await boss.cancel(AGGREGATE_QUEUE, ids.filter((id) => !results.has(id)));
      throw new ComputeError(ComputeErrorCode.CANCELLED, `cannot aggregate job ${jobId}: the job was cancelled`);
    }
    for (const id of ids) {
      if (results.has(id)) continue;
      const job = await boss.getJobById<PartitionTask>(AGGREGATE_QUEUE, id);
      if (job === null) throw new ComputeError(ComputeErrorCode.WORKER, `cannot aggregate job ${jobId}: partition task ${id} vanished from the queue`);
      if (job.state === 'completed') {
        const result = job.output as PartitionResult;
        results.set(id, result);
        done += result.batches;
        options.onProgress?.(done, n);
      } else if (job.state === 'failed' || job.state === 'cancelled') {
        const why = (job.output as { message?: string } | null)?.message ?? job.state;
        throw new ComputeError(ComputeErrorCode.WORKER, `cannot aggregate job ${jobId}: partition ${job.data.partition} ${job.state}: ${why}`);
      }
    }
    if (results.size < parts) await sleep(pollMs, options.signal);
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

/**
 * Which workers computed which partitions of a job (`''` for one not finished), for operators
 * (and tests).
 *
 * @throws the queue's error when PostgreSQL cannot be reached
 * @example
 * ```ts
 * const who = await partitionWorkers(boss, 'job-1', partitionCount(plan.batches.length)); // ['w1', 'w2', 'w1']
 * ```
 */
export async function partitionWorkers(boss: PgBoss, jobId: string, parts: number): Promise<string[]> {
  const out: string[] = [];
  for (let p = 0; p < parts; p++) {
    const job = await boss.getJobById(AGGREGATE_QUEUE, taskId(jobId, p));
    out.push((job?.output as PartitionResult | undefined)?.worker ?? '');
  }
  return out;
}

/** Options of {@link queueAggregator}. */
export interface QueueAggregatorOptions {
  readonly boss: PgBoss;
  /** The lake's blob store, the folder `hedge worker` processes share. */
  readonly blobs: FileBlobStore;
  /** Batches per partition (default {@link DEFAULT_PARTITION_BATCHES}). */
  readonly partitionBatches?: number;
  /** Let workers build `TEST_INSECURE_*` engines (tests). */
  readonly allowInsecure?: boolean;
  /** How often the coordinator looks at its partitions (default 250 ms). */
  readonly pollMs?: number;
}

/**
 * Server mode's {@link JobAggregator} for `Jobs`: a job's batches go to the queue as partitions
 * (ids derived from job and partition), `hedge worker` processes compute them, the partials are
 * merged here. Progress counts the batches of finished partitions. A cancelled job cancels its
 * unfinished partitions; a job handed back at shutdown ({@link JOB_REQUEUED}) leaves them queued,
 * and the next start re-sends the same tasks and reuses what the workers finished.
 *
 * @throws {RangeError} when `partitionBatches` is not a positive integer
 * @example
 * ```ts
 * const boss = await openQueue(databaseUrl);
 * const jobs = await Jobs.open({ sql, blobs, lake, federations, engine, aggregator: queueAggregator({ boss, blobs }) });
 * ```
 */
export function queueAggregator(options: QueueAggregatorOptions): JobAggregator {
  const per = options.partitionBatches ?? DEFAULT_PARTITION_BATCHES;
  partitionCount(0, per);
  return async (engine, request) => {
    // The federation's keys are in the lake already (content-addressed): this finds their hash.
    const relinKeys = await options.blobs.put(request.relinKeys);
    return aggregateDistributed(engine, request.plan, {
      boss: options.boss, blobs: options.blobs, jobId: request.jobId, relinKeys,
      partitions: partitionCount(request.plan.batches.length, per),
      allowInsecure: options.allowInsecure ?? false, pollMs: options.pollMs ?? 250,
      signal: request.signal, leaveQueued: (reason) => reason === JOB_REQUEUED, onProgress: request.onProgress,
    });
  };
}

/**
 * A readiness probe for `/readyz`: the queue's database answers and the partition queue exists.
 *
 * @throws never itself; the probe it returns rejects when PostgreSQL cannot be reached (`/readyz` shows `failed`)
 * @example
 * ```ts
 * startCloud({ …, app: { readiness: { queue: queueProbe(boss) } } });
 * ```
 */
export function queueProbe(boss: PgBoss): () => Promise<boolean> {
  return async () => (await boss.getQueue(AGGREGATE_QUEUE)) !== null;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
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
 * batches from the lake, aggregates them, stores the partial aggregate. A task
 * cancelled while it runs (its job was cancelled) is abandoned: pg-boss aborts
 * its signal and the aggregation stops.
 *
 * @throws the queue's error when pg-boss cannot register the worker
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
