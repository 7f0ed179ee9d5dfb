/**
 * Training jobs in the cloud (DESIGN §6, §9): submit, run on ciphertexts,
 * approvals by the plants whose data a job uses, the reveal, and the result
 * kept for its receiver only.
 *
 * States: `queued` → `running` → `computed` → `revealing` (once every plant in
 * the plan approved and the aggregate exists) → `revealed`; or `failed`,
 * `cancelled`, `expired` (the reveal deadline passed before every share came).
 * A job's plan pins its batches by hash, so running it again — after a crash,
 * a restart re-queues `running` jobs — gives the same aggregate. The reveal
 * is the public-key switch of the slot sums to the receiver's registered key
 * (src/compute/reveal.ts): the cloud combines shares it cannot read, and only
 * the receiver can fetch (and decrypt) the result. For an additive (n-of-n)
 * federation every key holder's share is needed. For a t-of-n federation the
 * cloud fixes an **active set** of t key holders per reveal attempt — the
 * receiver first, then the plants in the order their admins approved — and
 * combines when all of them answered; a member of the set that has not
 * answered by the attempt's deadline (`revealAttemptMs`) is left out of every
 * later attempt, and a new attempt takes the first t of the remaining
 * approvers (docs/protocol.md, "Reveals with t of n").
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Ciphertext, SealEngine } from '../he/backend/seal.ts';
import { sumRevealInput } from '../he/mhe/sum-input.ts';
import { CiphertextCodec, SumKeySwitchShareCodec } from '../he/wire.ts';
import { aggregateJob } from '../compute/aggregate.ts';
import { ComputeError, ComputeErrorCode } from '../compute/errors.ts';
import { decodePartial, encodePartial } from '../compute/partial.ts';
import { planJob, type JobPlan, type JobSpec } from '../compute/plan.ts';
import { combineForReceiver } from '../compute/reveal.ts';
import type { SqlClient } from '../trust/storage/sql.ts';
import type { FileBlobStore } from './blobs.ts';
import { CLOUD_ERR, CloudError } from './errors.ts';
import type { Federations } from './federation.ts';
import type { Lake } from './lake.ts';

const DDL = [
  `CREATE TABLE IF NOT EXISTS cloud_job (
    id text PRIMARY KEY,
    federation text NOT NULL,
    dataset text NOT NULL,
    requested_by text NOT NULL,
    plan jsonb NOT NULL,
    state text NOT NULL,
    done integer NOT NULL DEFAULT 0,
    total integer NOT NULL,
    aggregate text,
    receiver_key text NOT NULL,
    result text,
    error text,
    deadline timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS cloud_job_approval (
    job text NOT NULL REFERENCES cloud_job (id),
    plant text NOT NULL,
    approved_by text NOT NULL,
    approved_at timestamptz NOT NULL,
    PRIMARY KEY (job, plant)
  )`,
  `CREATE TABLE IF NOT EXISTS cloud_reveal_share (
    job text NOT NULL REFERENCES cloud_job (id),
    member text NOT NULL,
    share text NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (job, member)
  )`,
  // t-of-n: each reveal attempt's active set, and the shares made for it.
  `CREATE TABLE IF NOT EXISTS cloud_reveal_attempt (
    job text NOT NULL REFERENCES cloud_job (id),
    attempt integer NOT NULL,
    members jsonb NOT NULL,
    opened_at timestamptz NOT NULL,
    deadline timestamptz NOT NULL,
    PRIMARY KEY (job, attempt)
  )`,
  `CREATE TABLE IF NOT EXISTS cloud_threshold_share (
    job text NOT NULL REFERENCES cloud_job (id),
    attempt integer NOT NULL,
    member text NOT NULL,
    share text NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (job, attempt, member)
  )`,
];

/** A job's state. */
export type JobState = 'queued' | 'running' | 'computed' | 'revealing' | 'revealed' | 'failed' | 'cancelled' | 'expired';

/** A job as the API shows it. */
export interface JobRecord {
  readonly id: string;
  readonly federation: string;
  readonly dataset: string;
  readonly requestedBy: string;
  readonly state: JobState;
  readonly progress: { readonly done: number; readonly total: number };
  readonly plan: JobPlan;
  /** Plants whose data the job uses and who approved its reveal so far. */
  readonly approvals: readonly string[];
  /** Key holders whose reveal share arrived (t-of-n: for the current attempt). */
  readonly shares: readonly string[];
  readonly deadline: string;
  readonly error?: string;
  /** t-of-n: the key holders asked in the current reveal attempt. */
  readonly activeSet?: readonly string[];
  /** t-of-n: the current reveal attempt (1, 2, …). */
  readonly attempt?: number;
}

/** t-of-n: a key holder of a reveal attempt's active set and its evaluation point. */
export interface ActiveMember {
  readonly tenant: string;
  readonly point: number;
}

/** What a key holder needs to make its reveal share. */
export interface RevealRequestMaterial {
  readonly jobId: string;
  readonly plan: JobPlan;
  /** The aggregate (src/compute/partial.ts bytes): the ciphertexts whose slot sums are revealed. */
  readonly aggregate: Uint8Array;
  /** The receiver's registered public key (check its hash against the one the federation logged). */
  readonly receiverKey: Uint8Array;
  readonly receiverKeyHash: string;
  /** How many shares are combined: n, or t for a t-of-n federation (each key holder floods for them). */
  readonly parties: number;
  /** t-of-n: the current attempt's active set; only these key holders make shares, with these points. */
  readonly activeSet?: readonly ActiveMember[];
  readonly attempt?: number;
  /** t-of-n: when a new active set is chosen if a member of this one has not answered (ISO 8601). */
  readonly attemptDeadline?: string;
}

/** An event for the transparency log: a job's state change, or a reveal share received (its hash). */
export type JobAudit = { readonly job: string; readonly dataset: string; readonly actor: string; readonly tenant: string } & (
  | { readonly state: 'submitted' | 'approved' | 'started' | 'completed' | 'failed' }
  | { readonly share: string }
);

interface Row {
  id: string;
  federation: string;
  dataset: string;
  requested_by: string;
  plan: unknown;
  state: JobState;
  done: number;
  total: number;
  aggregate: string | null;
  receiver_key: string;
  result: string | null;
  error: string | null;
  deadline: Date | string;
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/**
 * The abort reason an aggregation's signal carries at a graceful shutdown: the job goes back to
 * the queue instead of being cancelled, so work done for it elsewhere (queued partitions) may be
 * kept for the next run.
 */
export const JOB_REQUEUED: unique symbol = Symbol('hedge.job.requeued');
const REQUEUE = JOB_REQUEUED;

/** What {@link JobAggregator} is asked to compute. */
export interface AggregationRequest {
  readonly jobId: string;
  readonly plan: JobPlan;
  /** The federation's relinearization keys (wire bytes). */
  readonly relinKeys: Uint8Array;
  /** Aborts when the job is cancelled, or with reason {@link JOB_REQUEUED} at a graceful shutdown. */
  readonly signal: AbortSignal;
  /** Batches done so far, of `plan.batches.length`. */
  readonly onProgress: (done: number, total: number) => void;
}

/**
 * Computes a job's aggregate: one relinearized ciphertext per statistic, in
 * `plan.aggregation.stats` order, owned by the caller. It rejects with `COMPUTE_ERR_CANCELLED`
 * once `request.signal` aborts.
 *
 * @example
 * ```ts
 * const embedded: JobAggregator = (engine, r) => aggregateJob(engine, r.plan, { threads: 2, relinKeys: r.relinKeys, load, signal: r.signal, onProgress: r.onProgress });
 * ```
 */
export type JobAggregator = (engine: SealEngine, request: AggregationRequest) => Promise<Ciphertext[]>;
const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Options of {@link Jobs.open}. */
export interface JobsOptions {
  readonly sql: SqlClient;
  readonly blobs: FileBlobStore;
  readonly lake: Lake;
  readonly federations: Federations;
  readonly engine: (preset: string) => Promise<SealEngine>;
  /** Worker threads per job (embedded mode); default 1. */
  readonly threads?: number;
  /**
   * How jobs are aggregated: by default worker threads in this process (`threads` of them);
   * server mode gives `queueAggregator` of queue.ts (partitions for `hedge worker` processes).
   */
  readonly aggregator?: JobAggregator;
  /** How long key holders have for their shares after the reveal opens (default 7 days). */
  readonly revealWindowMs?: number;
  /**
   * t-of-n: how long the active set of a reveal attempt has to answer before the cloud chooses a
   * new one from the remaining approvers (default 1 hour).
   */
  readonly revealAttemptMs?: number;
  readonly now?: () => Date;
  readonly audit?: (e: JobAudit) => Promise<void>;
}

/** The cloud's jobs. */
export class Jobs {
  readonly #o: JobsOptions;
  readonly #now: () => Date;
  readonly #audit: (e: JobAudit) => Promise<void>;
  readonly #running = new Map<string, AbortController>();
  /** Set by {@link Jobs.drain}: no queued job starts any more. */
  #draining = false;

  private constructor(o: JobsOptions) {
    this.#o = o;
    this.#now = o.now ?? (() => new Date());
    this.#audit = o.audit ?? (async () => {});
  }

  /**
   * Opens the job registry; jobs a crash left `running` are queued again.
   *
   * @example
   * ```ts
   * const jobs = await Jobs.open({ sql, blobs, lake, federations, engine });
   * ```
   */
  static async open(options: JobsOptions): Promise<Jobs> {
    await options.sql.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock(hashtext('hedge.cloud.jobs'))");
      for (const s of DDL) await tx.query(s);
      await tx.query("UPDATE cloud_job SET state = 'queued', done = 0 WHERE state = 'running'");
    });
    return new Jobs(options);
  }

  /**
   * Submits a job: plans it over the dataset's current batches (guards and exactness checked here,
   * before any share could be asked for) and queues it.
   *
   * @throws {ComputeError} `COMPUTE_ERR_GUARD` / `COMPUTE_ERR_SELECTION`; HeError
   *   `HE_ERR_EXACTNESS`; {@link CloudError} `CLOUD_ERR_STATE` when the federation's ceremony or
   *   receiver key is not done, `CLOUD_ERR_CONFLICT` for a job id in use
   * @example
   * ```ts
   * const job = await jobs.submit({ federation: 'ai4i', dataset: 'ai4i', spec: { features, label: true }, requestedBy: 'builder' });
   * ```
   */
  async submit(input: { id?: string; federation: string; dataset: string; spec: JobSpec; requestedBy: string }): Promise<JobRecord> {
    const id = input.id ?? randomUUID();
    if (!JOB_ID.test(id)) throw new TypeError('job id must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}');
    const fed = await this.#o.federations.get(input.federation);
    if (fed.round !== 'ready') throw new CloudError(CLOUD_ERR.STATE, `cannot submit job: federation ${fed.id}'s key ceremony is at round ${fed.round}`);
    if (input.requestedBy !== fed.receiver) throw new CloudError(CLOUD_ERR.ACCESS_DENIED, `cannot submit job: only the federation's receiver ${fed.receiver} submits jobs`);
    const receiverKey = sha256(await this.#o.federations.material(fed.id, 'receiverKey'));
    const dataset = await this.#o.lake.dataset(input.dataset);
    if (dataset.federation !== fed.id || dataset.params !== fed.preset) throw new CloudError(CLOUD_ERR.STATE, `cannot submit job: dataset ${dataset.id} belongs to federation ${dataset.federation}, not ${fed.id}`);
    const engine = await this.#o.engine(fed.preset);
    const plan = planJob(engine, dataset.schema, input.spec, await this.#o.lake.batches(dataset.id), fed.guards);
    const now = this.#now();
    const rows = await this.#o.sql.query(
      `INSERT INTO cloud_job (id, federation, dataset, requested_by, plan, state, total, receiver_key, deadline, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, 'queued', $6, $7, $8, $9, $9) ON CONFLICT (id) DO NOTHING RETURNING id`,
      [id, fed.id, dataset.id, input.requestedBy, JSON.stringify(plan), plan.batches.length, receiverKey, new Date(now.getTime() + (this.#o.revealWindowMs ?? 7 * 86_400_000)), now],
    );
    if (rows.length === 0) throw new CloudError(CLOUD_ERR.CONFLICT, `cannot submit job: job id ${id} is in use`);
    await this.#audit({ job: id, dataset: dataset.id, actor: input.requestedBy, tenant: fed.receiver, state: 'submitted' });
    return this.get(id);
  }

  /**
   * A job.
   *
   * @throws {CloudError} `CLOUD_ERR_NOT_FOUND`
   */
  async get(id: string): Promise<JobRecord> {
    let r = await this.#row(id);
    // t-of-n: any read of a revealing job moves a reveal whose attempt ran out on (no timer needed).
    if (r.state === 'revealing') {
      await this.#refreshAttempt(id);
      r = await this.#row(id);
    }
    const approvals = (await this.#o.sql.query<{ plant: string }>('SELECT plant FROM cloud_job_approval WHERE job = $1 ORDER BY plant', [id])).map((x) => x.plant);
    const current = await this.#attempt(id);
    const shares = current === undefined
      ? (await this.#o.sql.query<{ member: string }>('SELECT member FROM cloud_reveal_share WHERE job = $1 ORDER BY member', [id])).map((x) => x.member)
      : current.answered;
    return Object.freeze({
      id: r.id, federation: r.federation, dataset: r.dataset, requestedBy: r.requested_by, state: r.state,
      progress: { done: Number(r.done), total: Number(r.total) }, plan: planOf(r), approvals, shares,
      deadline: new Date(r.deadline).toISOString(), ...(r.error === null ? {} : { error: r.error }),
      ...(current === undefined ? {} : { activeSet: current.members, attempt: current.attempt }),
    });
  }

  async #row(id: string): Promise<Row> {
    const rows = await this.#o.sql.query<Row>('SELECT * FROM cloud_job WHERE id = $1', [id]);
    if (rows.length === 0) throw new CloudError(CLOUD_ERR.NOT_FOUND, `cannot read job: no job ${JSON.stringify(id)}`);
    return rows[0];
  }

  async #set(id: string, fields: Partial<Pick<Row, 'state' | 'done' | 'aggregate' | 'result' | 'error'>>, onlyFrom?: readonly JobState[]): Promise<boolean> {
    const keys = Object.keys(fields) as (keyof typeof fields)[];
    const sets = keys.map((k, i) => `${k} = $${i + 2}`).join(', ');
    const guard = onlyFrom === undefined ? '' : ` AND state = ANY($${keys.length + 3}::text[])`;
    const params: unknown[] = [id, ...keys.map((k) => fields[k]), this.#now()];
    if (onlyFrom !== undefined) params.push(onlyFrom);
    const rows = await this.#o.sql.query(`UPDATE cloud_job SET ${sets}, updated_at = $${keys.length + 2} WHERE id = $1${guard} RETURNING id`, params);
    return rows.length > 0;
  }

  /**
   * Runs every queued job, one after another, with the configured aggregator (embedded: worker
   * threads in this process; server mode: partitions for `hedge worker` processes). Returns the
   * ids it ran.
   */
  async runQueued(): Promise<string[]> {
    const ran: string[] = [];
    for (;;) {
      if (this.#draining) return ran;
      const next = await this.#o.sql.query<{ id: string }>("SELECT id FROM cloud_job WHERE state = 'queued' ORDER BY created_at, id LIMIT 1");
      if (next.length === 0) return ran;
      try {
        await this.run(next[0].id);
        ran.push(next[0].id);
      } catch (e) {
        // Cancelled between the query and the run: go on with the next one.
        if (!(e instanceof CloudError && e.code === CLOUD_ERR.STATE)) throw e;
      }
    }
  }

  /**
   * Runs one queued job: aggregates its pinned batches and stores the aggregate. A failure is
   * recorded on the job (state `failed`, the error's message), not thrown; a cancel that comes
   * before the aggregate is stored wins (state `cancelled`).
   *
   * @throws {CloudError} `CLOUD_ERR_STATE` when the job is not queued (or already running here)
   * @example
   * ```ts
   * const job = await jobs.run('job-1'); // job.state: 'computed' (or 'revealing' once approved), 'failed', 'cancelled'
   * ```
   */
  async run(id: string): Promise<JobRecord> {
    if (this.#running.has(id)) throw new CloudError(CLOUD_ERR.STATE, `cannot run job ${id}: it is running`);
    // Registered before the state turns `running`, so that a cancel which sees `running` reaches it.
    const abort = new AbortController();
    this.#running.set(id, abort);
    try {
      if (!(await this.#set(id, { state: 'running', done: 0 }, ['queued']))) throw new CloudError(CLOUD_ERR.STATE, `cannot run job ${id}: it is ${(await this.#row(id)).state}`);
    } catch (e) {
      this.#running.delete(id);
      throw e;
    }
    let started: { dataset: string; receiver: string } | undefined;
    try {
      const job = await this.get(id);
      const fed = await this.#o.federations.get(job.federation);
      started = { dataset: job.dataset, receiver: fed.receiver };
      await this.#audit({ job: id, dataset: job.dataset, actor: 'cloud', tenant: fed.receiver, state: 'started' });
      const engine = await this.#o.engine(fed.preset);
      const relinKeys = await this.#o.federations.material(fed.id, 'relinKeys');
      const onProgress = (done: number): void => void this.#o.sql.query("UPDATE cloud_job SET done = $2 WHERE id = $1 AND state = 'running'", [id, done]).catch(() => {});
      const accumulators = this.#o.aggregator !== undefined
        ? await this.#o.aggregator(engine, { jobId: id, plan: job.plan, relinKeys, signal: abort.signal, onProgress })
        : await aggregateJob(engine, job.plan, { threads: this.#o.threads ?? 1, relinKeys, load: (ref) => this.#o.lake.load(ref), signal: abort.signal, onProgress });
      let aggregate: string;
      try {
        aggregate = await this.#o.blobs.put(encodePartial(engine, accumulators));
      } finally {
        for (const ct of accumulators) ct[Symbol.dispose]();
      }
      // A cancel that came while the last partial was merged still wins.
      if (abort.signal.aborted) throw new ComputeError(ComputeErrorCode.CANCELLED, `cannot aggregate job ${id}: the job was cancelled`);
      await this.#set(id, { state: 'computed', done: job.plan.batches.length, aggregate }, ['running']);
      await this.#maybeOpenReveal(id);
    } catch (e) {
      if (abort.signal.reason === REQUEUE) {
        await this.#set(id, { state: 'queued', done: 0 }, ['running']);
      } else {
        const cancelled = abort.signal.aborted;
        await this.#set(id, { state: cancelled ? 'cancelled' : 'failed', error: e instanceof Error ? e.message : String(e) }, ['running']);
        if (!cancelled && started !== undefined) await this.#audit({ job: id, dataset: started.dataset, actor: 'cloud', tenant: started.receiver, state: 'failed' });
      }
    } finally {
      this.#running.delete(id);
    }
    return this.get(id);
  }

  /**
   * For a graceful shutdown: lets running aggregations finish until `signal` aborts, then stops
   * them and puts them back in the queue (the next start runs them again, with the same result).
   * From then on `runQueued` starts no job.
   *
   * @example
   * ```ts
   * startCloud({ …, onShutdown: [(signal) => jobs.drain(signal)] });
   * ```
   */
  async drain(signal: AbortSignal): Promise<void> {
    this.#draining = true; // a job handed back below must not be picked up again by runQueued
    const running = (): Promise<unknown>[] => [...this.#running.values()].map((a) => new Promise((r) => a.signal.addEventListener('abort', r, { once: true })));
    while (this.#running.size > 0 && !signal.aborted) {
      await Promise.race([new Promise((r) => setTimeout(r, 100)), new Promise((r) => signal.addEventListener('abort', r, { once: true }))]);
    }
    const waits = running();
    for (const a of this.#running.values()) a.abort(REQUEUE);
    await Promise.all(waits);
    while (this.#running.size > 0) await new Promise((r) => setTimeout(r, 20));
  }

  /**
   * Cancels a job that has not been revealed; a running aggregation stops.
   *
   * @throws {CloudError} `CLOUD_ERR_STATE` for a finished job
   */
  async cancel(id: string): Promise<JobRecord> {
    this.#running.get(id)?.abort();
    if (!(await this.#set(id, { state: 'cancelled' }, ['queued', 'computed', 'revealing']))) {
      const state = (await this.#row(id)).state;
      if (state !== 'running' && state !== 'cancelled') throw new CloudError(CLOUD_ERR.STATE, `cannot cancel job ${id}: it is ${state}`);
    }
    return this.get(id);
  }

  /**
   * A plant admin approves the reveal of a job that uses the plant's data.
   *
   * @throws {CloudError} `CLOUD_ERR_ACCESS_DENIED` for a plant whose data the job does not use;
   *   `CLOUD_ERR_STATE` for a finished job
   */
  async approve(id: string, plant: string, by: string): Promise<JobRecord> {
    const job = await this.get(id);
    if (!job.plan.plants.includes(plant)) throw new CloudError(CLOUD_ERR.ACCESS_DENIED, `cannot approve job ${id}: it does not use data of ${plant}`);
    if (['revealed', 'failed', 'cancelled', 'expired'].includes(job.state)) throw new CloudError(CLOUD_ERR.STATE, `cannot approve job ${id}: it is ${job.state}`);
    const rows = await this.#o.sql.query('INSERT INTO cloud_job_approval (job, plant, approved_by, approved_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING plant', [id, plant, by, this.#now()]);
    if (rows.length > 0) await this.#audit({ job: id, dataset: job.dataset, actor: by, tenant: plant, state: 'approved' });
    await this.#maybeOpenReveal(id); // t-of-n: a new approver may let a stalled reveal open a new attempt
    return this.get(id);
  }

  async #maybeOpenReveal(id: string): Promise<void> {
    const job = await this.get(id);
    if (job.state === 'computed' && job.plan.plants.every((p) => job.approvals.includes(p))) await this.#set(id, { state: 'revealing' }, ['computed']);
    await this.#refreshAttempt(id);
  }

  /** t-of-n: the current reveal attempt (its active set, deadline and who answered), or undefined. */
  async #attempt(id: string): Promise<{ attempt: number; members: string[]; deadline: Date; answered: string[] } | undefined> {
    const rows = await this.#o.sql.query<{ attempt: number; members: unknown; deadline: Date | string }>('SELECT attempt, members, deadline FROM cloud_reveal_attempt WHERE job = $1 ORDER BY attempt DESC LIMIT 1', [id]);
    if (rows.length === 0) return undefined;
    const attempt = Number(rows[0].attempt);
    const answered = (await this.#o.sql.query<{ member: string }>('SELECT member FROM cloud_threshold_share WHERE job = $1 AND attempt = $2 ORDER BY member', [id, attempt])).map((x) => x.member);
    return { attempt, members: jsonOf<string[]>(rows[0].members), deadline: new Date(rows[0].deadline), answered };
  }

  /**
   * t-of-n: opens the first reveal attempt once the job is revealing, and a new one when the
   * current attempt's deadline passed with members of its active set missing. Those members are
   * left out of every later attempt (so a key holder meets at most n − t + 1 active sets per job);
   * the new set is the first t of the remaining approvers (the receiver, then the plants in the
   * order their admins approved). With fewer than t left, nothing opens: the job waits for more
   * approvals or expires at its deadline.
   */
  async #refreshAttempt(id: string): Promise<void> {
    const r = await this.#row(id);
    if (r.state !== 'revealing') return;
    const fed = await this.#o.federations.get(r.federation);
    const t = fed.threshold;
    if (t >= fed.members.length) return;
    const approvals = (await this.#o.sql.query<{ plant: string }>('SELECT plant FROM cloud_job_approval WHERE job = $1 ORDER BY approved_at, plant', [id])).map((a) => a.plant);
    const order = [fed.receiver, ...approvals.filter((p) => p !== fed.receiver && fed.members.some((m) => m.tenant === p))];
    const now = this.#now();
    const windowMs = this.#o.revealAttemptMs ?? 3_600_000;
    await this.#o.sql.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`hedge.cloud.reveal/${id}`]);
      const attempts = await tx.query<{ attempt: number; members: unknown; deadline: Date | string }>('SELECT attempt, members, deadline FROM cloud_reveal_attempt WHERE job = $1 ORDER BY attempt', [id]);
      const answered = await tx.query<{ attempt: number; member: string }>('SELECT attempt, member FROM cloud_threshold_share WHERE job = $1', [id]);
      const did = (attempt: number, m: string): boolean => answered.some((a) => Number(a.attempt) === attempt && a.member === m);
      const last = attempts.at(-1);
      if (last !== undefined) {
        const members = jsonOf<string[]>(last.members);
        if (members.every((m) => did(Number(last.attempt), m)) || now <= new Date(last.deadline)) return;
      }
      const excluded = new Set<string>();
      for (const a of attempts) for (const m of jsonOf<string[]>(a.members)) if (!did(Number(a.attempt), m)) excluded.add(m);
      const eligible = order.filter((m) => !excluded.has(m));
      if (eligible.length < t) return;
      await tx.query(
        'INSERT INTO cloud_reveal_attempt (job, attempt, members, opened_at, deadline) VALUES ($1, $2, $3, $4, $5)',
        [id, (last === undefined ? 0 : Number(last.attempt)) + 1, JSON.stringify(eligible.slice(0, t)), now, new Date(now.getTime() + windowMs)],
      );
    });
  }

  /**
   * What a key holder needs for its reveal share (only while the job is `revealing`).
   *
   * @throws {CloudError} `CLOUD_ERR_STATE` before every plant approved or after the reveal;
   *   `CLOUD_ERR_ACCESS_DENIED` for a tenant that holds no key of the federation
   */
  async revealRequest(id: string, member: string): Promise<RevealRequestMaterial> {
    const r = await this.#row(id);
    const fed = await this.#o.federations.get(r.federation);
    if (!fed.members.some((m) => m.tenant === member)) throw new CloudError(CLOUD_ERR.ACCESS_DENIED, `cannot read reveal request of job ${id}: ${member} holds no key of ${fed.id}`);
    if (r.state !== 'revealing') throw new CloudError(CLOUD_ERR.STATE, `cannot read reveal request of job ${id}: it is ${r.state}`);
    const base = {
      jobId: id, plan: planOf(r), aggregate: await this.#o.blobs.get(r.aggregate!), receiverKey: await this.#o.blobs.get(r.receiver_key),
      receiverKeyHash: r.receiver_key,
    };
    if (fed.threshold >= fed.members.length) return { ...base, parties: fed.members.length };
    await this.#refreshAttempt(id);
    const current = await this.#attempt(id);
    // Past its deadline, the current attempt stays open while no new one can be chosen: a late answer still completes it.
    if (current === undefined) throw new CloudError(CLOUD_ERR.STATE, `cannot read reveal request of job ${id}: fewer than t = ${fed.threshold} key holders approved`);
    const points = new Map(fed.members.map((m) => [m.tenant, m.point!]));
    return {
      ...base, parties: fed.threshold, attempt: current.attempt, attemptDeadline: current.deadline.toISOString(),
      activeSet: current.members.map((tenant) => ({ tenant, point: points.get(tenant)! })),
    };
  }

  /**
   * A key holder's reveal share (sum-key-switch share wire bytes). When every key holder's share
   * is in, they are combined into the receiver's ciphertext and the job is `revealed`.
   *
   * t-of-n: the share names its `attempt`; it is accepted only from a member of that attempt's
   * active set while it is the current one, and the job is revealed when all t of them answered.
   *
   * @throws {CloudError} `CLOUD_ERR_STATE` when the job is not `revealing` (or its deadline
   *   passed: it becomes `expired`), or (t-of-n) for a past attempt or a member outside its active
   *   set; `CLOUD_ERR_CONFLICT` for a second, different share; `CLOUD_ERR_VALIDATION` for bytes
   *   that are not a share, or a t-of-n share without its attempt; `CLOUD_ERR_ACCESS_DENIED` for an outsider
   * @example
   * ```ts
   * await jobs.submitRevealShare('job-1', 'plant-a', share, request.attempt);
   * ```
   */
  async submitRevealShare(id: string, member: string, bytes: Uint8Array, attempt?: number): Promise<JobRecord> {
    const op = `accept reveal share for job ${id}`;
    const r = await this.#row(id);
    const fed = await this.#o.federations.get(r.federation);
    if (!fed.members.some((m) => m.tenant === member)) throw new CloudError(CLOUD_ERR.ACCESS_DENIED, `cannot ${op}: ${member} holds no key of ${fed.id}`);
    if (fed.threshold < fed.members.length) return this.#submitThresholdShare(op, r, fed.preset, member, bytes, attempt);
    const hash = sha256(bytes);
    const previous = await this.#o.sql.query<{ share: string }>('SELECT share FROM cloud_reveal_share WHERE job = $1 AND member = $2', [id, member]);
    if (previous.length > 0) {
      if (previous[0].share !== hash) throw new CloudError(CLOUD_ERR.CONFLICT, `cannot ${op}: ${member} sent another share before (shares are single-use)`);
      return this.get(id);
    }
    if (r.state === 'revealing' && this.#now() > new Date(r.deadline)) {
      await this.#set(id, { state: 'expired' }, ['revealing']);
      throw new CloudError(CLOUD_ERR.STATE, `cannot ${op}: the reveal deadline passed`);
    }
    if (r.state !== 'revealing') throw new CloudError(CLOUD_ERR.STATE, `cannot ${op}: the job is ${r.state}`);
    const engine = await this.#o.engine(fed.preset);
    try {
      SumKeySwitchShareCodec.fromBytes(engine, bytes);
    } catch (cause) {
      throw new CloudError(CLOUD_ERR.VALIDATION, `cannot ${op}: not a reveal share of ${fed.preset}`, { cause });
    }
    await this.#o.blobs.put(bytes);
    await this.#o.sql.query('INSERT INTO cloud_reveal_share (job, member, share, received_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [id, member, hash, this.#now()]);
    await this.#audit({ job: id, dataset: r.dataset, actor: member, tenant: member, share: hash });
    await this.#maybeCombine(id, engine);
    return this.get(id);
  }

  async #submitThresholdShare(op: string, r: Row, preset: string, member: string, bytes: Uint8Array, attempt: number | undefined): Promise<JobRecord> {
    const id = r.id;
    if (attempt === undefined || !Number.isInteger(attempt) || attempt < 1) throw new CloudError(CLOUD_ERR.VALIDATION, `cannot ${op}: a t-of-n reveal share names its attempt (?attempt=, from the reveal request)`);
    const hash = sha256(bytes);
    const previous = await this.#o.sql.query<{ share: string }>('SELECT share FROM cloud_threshold_share WHERE job = $1 AND attempt = $2 AND member = $3', [id, attempt, member]);
    if (previous.length > 0) {
      if (previous[0].share !== hash) throw new CloudError(CLOUD_ERR.CONFLICT, `cannot ${op}: ${member} sent another share for attempt ${attempt} before (shares are single-use)`);
      return this.get(id);
    }
    if (r.state === 'revealing' && this.#now() > new Date(r.deadline)) {
      await this.#set(id, { state: 'expired' }, ['revealing']);
      throw new CloudError(CLOUD_ERR.STATE, `cannot ${op}: the reveal deadline passed`);
    }
    if (r.state !== 'revealing') throw new CloudError(CLOUD_ERR.STATE, `cannot ${op}: the job is ${r.state}`);
    await this.#refreshAttempt(id);
    const current = await this.#attempt(id);
    if (current === undefined || current.attempt !== attempt) throw new CloudError(CLOUD_ERR.STATE, `cannot ${op}: attempt ${attempt} is over; the reveal is at attempt ${current?.attempt ?? 'none'} (read the reveal request again)`);
    if (!current.members.includes(member)) throw new CloudError(CLOUD_ERR.STATE, `cannot ${op}: ${member} is not in the active set of attempt ${attempt}`);
    const engine = await this.#o.engine(preset);
    try {
      SumKeySwitchShareCodec.fromBytes(engine, bytes);
    } catch (cause) {
      throw new CloudError(CLOUD_ERR.VALIDATION, `cannot ${op}: not a reveal share of ${preset}`, { cause });
    }
    await this.#o.blobs.put(bytes);
    await this.#o.sql.query('INSERT INTO cloud_threshold_share (job, attempt, member, share, received_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING', [id, attempt, member, hash, this.#now()]);
    await this.#audit({ job: id, dataset: r.dataset, actor: member, tenant: member, share: hash });
    await this.#maybeCombine(id, engine);
    return this.get(id);
  }

  async #maybeCombine(id: string, engine: SealEngine): Promise<void> {
    // Read outside the transaction: PGlite has one connection, which the transaction holds.
    const fed = await this.#o.federations.get((await this.#row(id)).federation);
    let completed: Row | undefined;
    await this.#o.sql.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`hedge.cloud.reveal/${id}`]);
      const r = (await tx.query<Row>('SELECT * FROM cloud_job WHERE id = $1', [id]))[0];
      if (r.state !== 'revealing') return;
      let shares: { member: string; share: string }[];
      if (fed.threshold < fed.members.length) {
        // t-of-n: the shares of the current attempt, once every member of its active set answered.
        const last = await tx.query<{ attempt: number; members: unknown }>('SELECT attempt, members FROM cloud_reveal_attempt WHERE job = $1 ORDER BY attempt DESC LIMIT 1', [id]);
        if (last.length === 0) return;
        shares = await tx.query<{ member: string; share: string }>('SELECT member, share FROM cloud_threshold_share WHERE job = $1 AND attempt = $2 ORDER BY member', [id, last[0].attempt]);
        if (shares.length < jsonOf<string[]>(last[0].members).length) return;
      } else {
        shares = await tx.query<{ member: string; share: string }>('SELECT member, share FROM cloud_reveal_share WHERE job = $1 ORDER BY member', [id]);
        if (shares.length < fed.members.length) return;
      }
      const plan = planOf(r);
      const accumulators = decodePartial(engine, await this.#o.blobs.get(r.aggregate!), plan.aggregation.stats.length);
      try {
        const input = sumRevealInput(engine, accumulators);
        using switched = combineForReceiver(engine, input, await Promise.all(shares.map((s) => this.#o.blobs.get(s.share))));
        const result = await this.#o.blobs.put(CiphertextCodec.toBytes(engine, switched));
        await tx.query("UPDATE cloud_job SET state = 'revealed', result = $2, updated_at = $3 WHERE id = $1", [id, result, this.#now()]);
        completed = r;
      } finally {
        for (const ct of accumulators) ct[Symbol.dispose]();
      }
    });
    if (completed !== undefined) await this.#audit({ job: id, dataset: completed.dataset, actor: 'cloud', tenant: fed.receiver, state: 'completed' });
  }

  /**
   * The revealed result — a ciphertext under the receiver's own key, whose plaintext coefficients
   * are the job's slot sums (`receiveMoments` turns it into moments) — for the receiver only.
   *
   * @throws {CloudError} `CLOUD_ERR_ACCESS_DENIED` for anyone but the federation's receiver;
   *   `CLOUD_ERR_STATE` before the reveal
   */
  async result(id: string, tenant: string): Promise<Uint8Array> {
    const r = await this.#row(id);
    const fed = await this.#o.federations.get(r.federation);
    if (tenant !== fed.receiver) throw new CloudError(CLOUD_ERR.ACCESS_DENIED, `cannot read result of job ${id}: it is for ${fed.receiver} only`);
    if (r.state !== 'revealed') throw new CloudError(CLOUD_ERR.STATE, `cannot read result of job ${id}: it is ${r.state}`);
    return this.#o.blobs.get(r.result!);
  }
}

function jsonOf<T>(v: unknown): T {
  return (typeof v === 'string' ? JSON.parse(v) : v) as T;
}

function planOf(r: Row): JobPlan {
  return (typeof r.plan === 'string' ? JSON.parse(r.plan) : r.plan) as JobPlan;
}

