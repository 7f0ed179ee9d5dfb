/**
 * OpenLineage for the cloud's jobs (DESIGN §7 registry): one RunEvent per job
 * transition — `START` when the job starts computing, then exactly one of
 * `COMPLETE` (revealed), `FAIL` (failed) or `ABORT` (cancelled or expired after
 * it started) — and an `OTHER` event for the same run when a model version
 * trained on its result is registered (the run's output). Events follow the
 * OpenLineage 2-0-2 schema (`../shared/schemas/openlineage-2-0-2.json`); there
 * is no JavaScript client, so the JSON is built here.
 *
 * What an event says, and why it is safe (see docs/cloud.md, "Registry, lineage and release"):
 * - the job: namespace, name `<federation>.<dataset>.moments`, and the hedge job id, feature
 *   names and whether the label was used (the job's own definition);
 * - the input (the lake dataset): the plants in the selection, the total number of batches and
 *   records, and a digest of the sorted batch hashes (the dataset version). Every job passed its
 *   federation's guards before it exists, so these totals cover at least `minPlants` plants and
 *   `minRecords` records, and the receiver learns the same total from the revealed count anyway;
 * - never: a value, a per-plant record or batch count (a plant's production volume, which no
 *   guard protects), a batch hash or id (they would give per-plant batch counts), or any moment.
 *
 * Events are stored (one `START` and one terminal event per run, however often a job is
 * observed — a restart re-runs a job under the same run id) and handed to an optional `emit`
 * sink (an OpenLineage HTTP endpoint, a file); a sink failure never fails the job: the event
 * stays pending and {@link JobLineage.deliverPending} sends it again.
 */
import { createHash } from 'node:crypto';
import type { SqlClient } from '../trust/storage/sql.ts';
import { CLOUD_ERR, CloudError } from './errors.ts';
import type { JobAudit, JobRecord } from './jobs.ts';

/** The `schemaURL` of every event: the RunEvent definition of OpenLineage 2-0-2. */
export const OPENLINEAGE_SCHEMA_URL = 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent';

/** Where hedge's own facets are defined (`docs/openlineage/hedge-facets-1.json`, `$id` of that file). */
export const HEDGE_FACETS_SCHEMA = 'https://hedge.invalid/openlineage/hedge-facets-1.json';

const FACET_URLS = {
  jobType: 'https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet',
  errorMessage: 'https://openlineage.io/spec/facets/1-0-0/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet',
  version: 'https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet',
  hedgeJob: `${HEDGE_FACETS_SCHEMA}#/$defs/HedgeJobRunFacet`,
  hedgeSelection: `${HEDGE_FACETS_SCHEMA}#/$defs/HedgeSelectionInputDatasetFacet`,
  hedgeModel: `${HEDGE_FACETS_SCHEMA}#/$defs/HedgeModelDatasetFacet`,
} as const;

/** A run's transition, as OpenLineage names it. */
export type RunEventType = 'START' | 'RUNNING' | 'COMPLETE' | 'ABORT' | 'FAIL' | 'OTHER';

/** The fields every facet carries. */
export interface Facet {
  readonly _producer: string;
  readonly _schemaURL: string;
  readonly [field: string]: unknown;
}

/** An OpenLineage dataset reference with facets. */
export interface LineageDataset {
  readonly namespace: string;
  readonly name: string;
  readonly facets?: Readonly<Record<string, Facet>>;
  readonly inputFacets?: Readonly<Record<string, Facet>>;
  readonly outputFacets?: Readonly<Record<string, Facet>>;
}

/** An OpenLineage 2-0-2 RunEvent. */
export interface RunEvent {
  readonly eventType: RunEventType;
  readonly eventTime: string;
  readonly run: { readonly runId: string; readonly facets?: Readonly<Record<string, Facet>> };
  readonly job: { readonly namespace: string; readonly name: string; readonly facets?: Readonly<Record<string, Facet>> };
  readonly inputs: readonly LineageDataset[];
  readonly outputs: readonly LineageDataset[];
  readonly producer: string;
  readonly schemaURL: string;
}

/** A registered model version, as the `OTHER` event reports it (the run's output). */
export interface LineageModelOutput {
  readonly modelId: string;
  readonly version: number;
  readonly family: string;
  /** Hex SHA-256 of the artifact bytes. */
  readonly artifactSha256: string;
  /** `sha256:<hex>` of the artifact's lineage. */
  readonly lineageDigest: string;
}

/** Options of {@link JobLineage.open} and {@link jobRunEvent}. */
export interface LineageOptions {
  readonly sql: SqlClient;
  /** OpenLineage namespace of jobs and datasets (the cloud's name), default `hedge`. */
  readonly namespace?: string;
  /** URI of the producer, default `urn:hedge:cloud:0.1.0`. */
  readonly producer?: string;
  /** Where events go besides the table (e.g. POST to an OpenLineage endpoint). */
  readonly emit?: (event: RunEvent) => Promise<void>;
  readonly now?: () => Date;
}

const NAMESPACE = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;
const DEFAULT_PRODUCER = 'urn:hedge:cloud:0.1.0';
/** Name-based UUIDs of hedge runs live under this namespace UUID (RFC 9562 §5.5). */
const RUN_ID_NAMESPACE = Buffer.from('4c1f1f0ea2f84bb1a8d6c2f0a6c1e9b3', 'hex');

/**
 * The OpenLineage run id of a hedge job: a name-based UUID (version 5, RFC 9562 §5.5) of the
 * job id, so every event of a job — and a re-run after a restart — has the same run id.
 *
 * @throws {TypeError} when `jobId` is not a non-empty string
 * @example
 * ```ts
 * runIdOf('job-1'); // '…-5…-…' the same on every call
 * ```
 */
export function runIdOf(jobId: string): string {
  if (typeof jobId !== 'string' || jobId.length === 0) throw new TypeError('jobId must be a non-empty string');
  const h = createHash('sha1').update(RUN_ID_NAMESPACE).update(jobId, 'utf8').digest().subarray(0, 16);
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/**
 * `sha256:` + hex SHA-256 of a job's batch hashes, sorted and joined by newlines: the version of
 * the job's input that the lineage consumer sees instead of the hashes themselves.
 *
 * @throws never
 * @example
 * ```ts
 * batchSetDigest(job.plan.batches.map((b) => b.contentHash));
 * ```
 */
export function batchSetDigest(hashes: readonly string[]): string {
  return `sha256:${createHash('sha256').update([...hashes].sort().join('\n'), 'utf8').digest('hex')}`;
}

const jobName = (job: Pick<JobRecord, 'federation' | 'dataset'>): string => `${job.federation}.${job.dataset}.moments`;

/**
 * The RunEvent of a job transition, built from the job record alone (a pure function; see the
 * module comment for what it reveals). `COMPLETE` names the revealed moments as the output,
 * `OTHER` (with `model`) the registered model version, `FAIL` carries the job's error message.
 *
 * @throws {TypeError} for a malformed namespace or producer, or `OTHER` without a model
 * @example
 * ```ts
 * const event = jobRunEvent(await jobs.get('job-1'), 'START', { time: new Date() });
 * ```
 */
export function jobRunEvent(
  job: JobRecord,
  eventType: Exclude<RunEventType, 'RUNNING'>,
  options: { time: Date; namespace?: string; producer?: string; model?: LineageModelOutput },
): RunEvent {
  const namespace = options.namespace ?? 'hedge';
  const producer = options.producer ?? DEFAULT_PRODUCER;
  if (!NAMESPACE.test(namespace)) throw new TypeError('namespace must match [A-Za-z0-9][A-Za-z0-9._:/-]{0,127}');
  if (!URL.canParse(producer)) throw new TypeError('producer must be a URI');
  if (eventType === 'OTHER' && options.model === undefined) throw new TypeError('an OTHER event reports a registered model: pass options.model');
  const facet = (url: string, fields: Record<string, unknown>): Facet => ({ _producer: producer, _schemaURL: url, ...fields });
  const plan = job.plan;
  const input: LineageDataset = {
    namespace, name: job.dataset,
    facets: { version: facet(FACET_URLS.version, { datasetVersion: batchSetDigest(plan.batches.map((b) => b.contentHash)) }) },
    inputFacets: {
      hedge_selection: facet(FACET_URLS.hedgeSelection, { plants: [...plan.plants].sort(), batches: plan.batches.length, records: plan.records }),
    },
  };
  const outputs: LineageDataset[] = [];
  if (eventType === 'COMPLETE') {
    outputs.push({ namespace, name: `${job.dataset}.moments`, facets: { version: facet(FACET_URLS.version, { datasetVersion: job.id }) } });
  }
  if (eventType === 'OTHER') {
    const m = options.model!;
    outputs.push({
      namespace, name: `models.${m.modelId}`,
      facets: {
        version: facet(FACET_URLS.version, { datasetVersion: String(m.version) }),
        hedge_model: facet(FACET_URLS.hedgeModel, { modelId: m.modelId, version: m.version, family: m.family, artifactSha256: m.artifactSha256, lineageDigest: m.lineageDigest }),
      },
    });
  }
  const runFacets: Record<string, Facet> = {
    hedge_job: facet(FACET_URLS.hedgeJob, { jobId: job.id, federation: job.federation, features: [...plan.spec.features], label: plan.spec.label }),
  };
  if (eventType === 'FAIL') runFacets.errorMessage = facet(FACET_URLS.errorMessage, { message: job.error ?? 'the job failed', programmingLanguage: 'TypeScript' });
  return {
    eventType,
    eventTime: options.time.toISOString(),
    run: { runId: runIdOf(job.id), facets: runFacets },
    job: { namespace, name: jobName(job), facets: { jobType: facet(FACET_URLS.jobType, { processingType: 'BATCH', integration: 'HEDGE', jobType: 'JOB' }) } },
    inputs: [input],
    outputs,
    producer,
    schemaURL: OPENLINEAGE_SCHEMA_URL,
  };
}

const DDL = [
  `CREATE TABLE IF NOT EXISTS cloud_lineage_event (
    job text NOT NULL,
    key text NOT NULL,
    run_id text NOT NULL,
    event_type text NOT NULL,
    event jsonb NOT NULL,
    seq bigserial,
    created_at timestamptz NOT NULL,
    delivered_at timestamptz,
    PRIMARY KEY (job, key)
  )`,
  'CREATE INDEX IF NOT EXISTS cloud_lineage_event_pending ON cloud_lineage_event (seq) WHERE delivered_at IS NULL',
];

/** The terminal event of each final job state; states not listed have none yet. */
const TERMINAL: Partial<Record<JobRecord['state'], 'COMPLETE' | 'FAIL' | 'ABORT'>> = { revealed: 'COMPLETE', failed: 'FAIL', cancelled: 'ABORT', expired: 'ABORT' };
/** States in which the job has started computing (or did, before it ended). */
const STARTED = new Set<JobRecord['state']>(['running', 'computed', 'revealing', 'revealed', 'failed']);

/** The cloud's OpenLineage events: stored, and handed to a sink. */
export class JobLineage {
  readonly #o: LineageOptions;
  readonly #now: () => Date;
  readonly #namespace: string;
  readonly #producer: string;

  private constructor(o: LineageOptions) {
    this.#o = o;
    this.#now = o.now ?? (() => new Date());
    this.#namespace = o.namespace ?? 'hedge';
    this.#producer = o.producer ?? DEFAULT_PRODUCER;
  }

  /**
   * Opens the lineage store (creating its table).
   *
   * @throws {TypeError} for a malformed namespace or producer
   * @example
   * ```ts
   * const lineage = await JobLineage.open({ sql, namespace: 'hedge.example-cloud', emit: (e) => postToMarquez(e) });
   * ```
   */
  static async open(options: LineageOptions): Promise<JobLineage> {
    if (options.namespace !== undefined && !NAMESPACE.test(options.namespace)) throw new TypeError('namespace must match [A-Za-z0-9][A-Za-z0-9._:/-]{0,127}');
    if (options.producer !== undefined && !URL.canParse(options.producer)) throw new TypeError('producer must be a URI');
    await options.sql.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock(hashtext('hedge.cloud.lineage'))");
      for (const s of DDL) await tx.query(s);
    });
    return new JobLineage(options);
  }

  /**
   * Emits whatever events the job's state calls for and that were not emitted before: `START`
   * once the job has started, then its terminal event (`ABORT` only for a job that had started:
   * a job cancelled in the queue never ran, so it has no run). Idempotent; returns the new events.
   *
   * @throws {Error} database errors (a sink failure is not thrown: the event stays pending)
   * @example
   * ```ts
   * await jobs.cancel(id);
   * await lineage.observe(await jobs.get(id));
   * ```
   */
  async observe(job: JobRecord): Promise<RunEvent[]> {
    const out: RunEvent[] = [];
    const started = STARTED.has(job.state) || (await this.#has(job.id, 'start'));
    if (!started) return out;
    const start = await this.#record(job, 'start', jobRunEvent(job, 'START', this.#opts()));
    if (start !== undefined) out.push(start);
    const terminal = TERMINAL[job.state];
    if (terminal !== undefined) {
      const end = await this.#record(job, 'end', jobRunEvent(job, terminal, this.#opts()));
      if (end !== undefined) out.push(end);
    }
    return out;
  }

  /**
   * The adapter for {@link Jobs}' `audit` callback: on `started`, `completed` and `failed` it
   * reads the job (after the job's own write, outside any transaction) and observes it.
   *
   * @throws {Error} database errors
   * @example
   * ```ts
   * const jobs = await Jobs.open({ …, audit: async (e) => { await log(e); await lineage.onJobAudit(e, (id) => jobs.get(id)); } });
   * ```
   */
  async onJobAudit(event: JobAudit, get: (id: string) => Promise<JobRecord>): Promise<RunEvent[]> {
    if (!('state' in event) || !['started', 'completed', 'failed'].includes(event.state)) return [];
    return this.observe(await get(event.job));
  }

  /**
   * Reports a model version registered from a job's result: an `OTHER` event of the job's run
   * whose output is the model version. Once per (model, version).
   *
   * @throws {CloudError} `CLOUD_ERR_STATE` when the job is not revealed
   * @example
   * ```ts
   * await lineage.modelRegistered(job, { modelId: 'ai4i-failure', version: 3, family: 'discriminant', artifactSha256, lineageDigest });
   * ```
   */
  async modelRegistered(job: JobRecord, model: LineageModelOutput): Promise<RunEvent | undefined> {
    if (job.state !== 'revealed') throw new CloudError(CLOUD_ERR.STATE, `cannot report model ${model.modelId} v${model.version}: job ${job.id} is ${job.state}`);
    await this.observe(job);
    return this.#record(job, `model:${model.modelId}:${model.version}`, jobRunEvent(job, 'OTHER', { ...this.#opts(), model }));
  }

  /**
   * The events of a job's run, in the order they were emitted.
   *
   * @throws {Error} database errors
   * @example
   * ```ts
   * (await lineage.events('job-1')).map((e) => e.eventType); // ['START', 'COMPLETE', 'OTHER']
   * ```
   */
  async events(jobId: string): Promise<RunEvent[]> {
    const rows = await this.#o.sql.query<{ event: unknown }>('SELECT event FROM cloud_lineage_event WHERE job = $1 ORDER BY seq', [jobId]);
    return rows.map((r) => parse(r.event));
  }

  /**
   * Sends every event the sink has not accepted yet, oldest first; stops at the first failure.
   * Returns how many were delivered.
   *
   * @throws {Error} database errors (the sink's error is not thrown: the rest stay pending)
   * @example
   * ```ts
   * setInterval(() => void lineage.deliverPending(), 60_000);
   * ```
   */
  async deliverPending(): Promise<number> {
    if (this.#o.emit === undefined) return 0;
    const rows = await this.#o.sql.query<{ job: string; key: string; event: unknown }>('SELECT job, key, event FROM cloud_lineage_event WHERE delivered_at IS NULL ORDER BY seq');
    let n = 0;
    for (const r of rows) {
      if (!(await this.#deliver(r.job, r.key, parse(r.event)))) break;
      n++;
    }
    return n;
  }

  #opts(): { time: Date; namespace: string; producer: string } {
    return { time: this.#now(), namespace: this.#namespace, producer: this.#producer };
  }

  async #has(job: string, key: string): Promise<boolean> {
    return (await this.#o.sql.query('SELECT 1 FROM cloud_lineage_event WHERE job = $1 AND key = $2', [job, key])).length > 0;
  }

  /** Stores the event unless one with this key exists; then hands it to the sink. */
  async #record(job: JobRecord, key: string, event: RunEvent): Promise<RunEvent | undefined> {
    const rows = await this.#o.sql.query(
      `INSERT INTO cloud_lineage_event (job, key, run_id, event_type, event, created_at)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (job, key) DO NOTHING RETURNING key`,
      [job.id, key, event.run.runId, event.eventType, JSON.stringify(event), this.#now()],
    );
    if (rows.length === 0) return undefined;
    await this.#deliver(job.id, key, event);
    return event;
  }

  async #deliver(job: string, key: string, event: RunEvent): Promise<boolean> {
    if (this.#o.emit === undefined) return false;
    try {
      await this.#o.emit(event);
    } catch {
      return false;
    }
    await this.#o.sql.query('UPDATE cloud_lineage_event SET delivered_at = $3 WHERE job = $1 AND key = $2', [job, key, this.#now()]);
    return true;
  }
}

function parse(v: unknown): RunEvent {
  return (typeof v === 'string' ? JSON.parse(v) : v) as RunEvent;
}
