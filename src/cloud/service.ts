/**
 * `hedge cloud start` in code: the HTTPS service (server.ts) with the domain
 * services (lake, federations, jobs) on its database, the transparency log as
 * the audit sink of everything they do, and the job runner: worker threads in
 * this process (embedded, the default) or, in server mode (`workers: 'queue'`,
 * on a PostgreSQL server), partitions on a pg-boss queue computed by
 * `hedge worker` processes that share the lake folder (queue.ts). Jobs a crash
 * left running are run again at start (server mode re-sends the same partition
 * tasks, so finished partitions are reused);
 * at shutdown running jobs finish or go back to the queue. Expired batches are
 * deleted hourly (retention) and every deletion is logged.
 */
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SealEngine } from '../he/backend/seal.ts';
import { preset } from '../he/params.ts';
import { generateNoteSigner, parseSignerKey, type NoteSigner } from '../trust/note/keys.ts';
import { KeyRing } from '../trust/note/key-ring.ts';
import { TransparencyLog } from '../trust/log/transparency-log.ts';
import { hashPayload, type LogEvent } from '../trust/events.ts';
import { activationEvent } from '../runtime/audit.ts';
import type { HistoryEntry } from '../runtime/activation.ts';
import type { SqlClient } from '../trust/storage/sql.ts';
import { FileBlobStore } from './blobs.ts';
import { CLOUD_ERR, CloudError } from './errors.ts';
import { Federations, type CeremonyAudit } from './federation.ts';
import { Jobs, type JobAudit } from './jobs.ts';
import { openQueue, queueAggregator, queueProbe } from './queue.ts';
import { Lake, type BatchDeletion } from './lake.ts';
import { JobLineage } from './lineage.ts';
import { openLineageHttpSink, type LineageHttpOptions } from './lineage-http.ts';
import { Registry } from './registry.ts';
import { Release } from './release.ts';
import { domainRoutes } from './routes/domain.ts';
import { logRoutes } from './routes/log.ts';
import { consoleRoutes } from './routes/console.ts';
import { viewRoutes } from './routes/views.ts';
import { modelRoutes } from './routes/models.ts';
import { openCloudTuf } from './tuf.ts';
import { startCloud, type RunningCloud, type StartCloudOptions } from './server.ts';

/** The transparency log's origin line. */
export const CLOUD_LOG_ORIGIN = 'hedge.cloud/log';

/** Options of {@link startHedgeCloud}. */
export interface HedgeCloudOptions extends Omit<StartCloudOptions, 'audit' | 'onShutdown'> {
  /** The lake's blob folder (default `<dataDir>/lake`); share it with `hedge worker` processes. */
  readonly lakeDir?: string;
  /** Worker threads per job (default 2; embedded mode). */
  readonly threads?: number;
  /** t-of-n: how long a reveal attempt's active set has before a new one is chosen (default an hour; `Jobs.open`'s `revealAttemptMs`). */
  readonly revealAttemptMs?: number;
  /**
   * Where jobs are aggregated: `'embedded'` (default), on `threads` worker threads in this
   * process; `'queue'` (server mode), as partitions on a pg-boss queue in the PostgreSQL database
   * (`databaseUrl` / `DATABASE_URL`, required), computed by `hedge worker` processes that share
   * the lake folder (`lakeDir`). `/readyz` then reports the queue.
   */
  readonly workers?: 'embedded' | 'queue';
  /** Server mode: batches per queued partition (default 8; a job has at most 64 partitions). */
  readonly partitionBatches?: number;
  /** Parameter presets this cloud serves; `TEST_INSECURE_*` only when allowed (tests). */
  readonly allowInsecure?: boolean;
  /**
   * An OpenLineage backend that receives every job's run events (src/cloud/lineage-http.ts);
   * events it misses stay pending and are re-sent every minute. Without it they are only stored.
   */
  readonly openLineage?: LineageHttpOptions;
}

/** A running hedge cloud. */
export interface HedgeCloud extends RunningCloud {
  readonly lake: Lake;
  readonly federations: Federations;
  readonly jobs: Jobs;
  readonly log: TransparencyLog;
  readonly registry: Registry;
  readonly lineage: JobLineage;
  readonly release: Release;
}

/** How often lineage events a backend missed are sent again. */
const LINEAGE_RESEND_MS = 60_000;

/** How often the TUF timestamp is re-signed (its lifetime is a day). */
const TUF_TIMESTAMP_REFRESH_MS = 6 * 3600_000;

async function loadOrCreateLogSigner(dataDir: string): Promise<NoteSigner> {
  const file = path.join(dataDir, 'log-signer.key');
  try {
    const info = await stat(file);
    if ((info.mode & 0o077) !== 0) throw new CloudError(CLOUD_ERR.CONFIG, `cannot start cloud: ${file} is readable by others (chmod 600)`);
    return parseSignerKey((await readFile(file, 'utf8')).trim());
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    const signer = generateNoteSigner(CLOUD_LOG_ORIGIN);
    await writeFile(file, `${signer.toSignerKey()}\n`, { mode: 0o600, flag: 'wx' });
    await chmod(file, 0o600);
    return signer;
  }
}

/**
 * Starts the cloud with its domain services.
 *
 * @throws {CloudError} `CLOUD_ERR_CONFIG` for `workers: 'queue'` without a PostgreSQL server, an
 *   unknown `workers` mode or a bad `partitionBatches`, a secret file readable by others, or any
 *   option {@link startCloud} refuses; `CLOUD_ERR_PKI` for mismatched key files
 * @throws the connection's error when the queue's PostgreSQL cannot be reached (server mode)
 * @example
 * ```ts
 * const cloud = await startHedgeCloud({ dataDir: '/var/lib/hedge', port: 8443 });
 * process.once('SIGTERM', () => void cloud.close());
 * // server mode: partitions for `hedge worker --database-url … --lake /srv/hedge/lake`
 * const server = await startHedgeCloud({ dataDir: '/var/lib/hedge', databaseUrl: 'postgres://hedge@db/hedge', lakeDir: '/srv/hedge/lake', workers: 'queue' });
 * ```
 */
export async function startHedgeCloud(options: HedgeCloudOptions): Promise<HedgeCloud> {
  const workers = options.workers ?? 'embedded';
  if (workers !== 'embedded' && workers !== 'queue') {
    throw new CloudError(CLOUD_ERR.CONFIG, `cannot start cloud: workers must be 'embedded' or 'queue', got ${JSON.stringify(workers)}`);
  }
  const partitionBatches = options.partitionBatches ?? 8;
  if (!Number.isInteger(partitionBatches) || partitionBatches < 1) {
    throw new CloudError(CLOUD_ERR.CONFIG, `cannot start cloud: partitionBatches must be a positive integer, got ${String(options.partitionBatches)}`);
  }
  const databaseUrl = options.databaseUrl === undefined ? process.env.DATABASE_URL : options.databaseUrl;
  if (workers === 'queue' && !databaseUrl) {
    throw new CloudError(CLOUD_ERR.CONFIG, 'cannot start cloud: external workers (workers: queue) need a PostgreSQL server, and the database is the embedded PGlite', {
      hint: 'give --database-url (or DATABASE_URL) a PostgreSQL server that the hedge worker processes reach too, or leave out --workers queue to aggregate in this process',
    });
  }
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const signer = await loadOrCreateLogSigner(options.dataDir);
  const blobs = await FileBlobStore.open(options.lakeDir ?? path.join(options.dataDir, 'lake'));
  // Server mode: the queue lives in the cloud's PostgreSQL database (pg-boss's own schema).
  const boss = workers === 'queue' ? await openQueue(databaseUrl!) : undefined;
  const aggregator = boss === undefined ? undefined : queueAggregator({ boss, blobs, partitionBatches, allowInsecure: options.allowInsecure ?? false });
  const engines = new Map<string, Promise<SealEngine>>();
  const engine = (name: string): Promise<SealEngine> => {
    let e = engines.get(name);
    if (e === undefined) {
      e = SealEngine.create(preset(name, { allowInsecure: options.allowInsecure ?? false }));
      e.catch(() => engines.delete(name));
      engines.set(name, e);
    }
    return e;
  };
  let log: TransparencyLog | undefined;
  const record = async (kind: LogEvent['kind'], actor: string, tenant: string, subject: string, payload: string, details: LogEvent['details']): Promise<void> => {
    await log!.append([{ kind, time: new Date().toISOString(), actor, tenant, subject, payloadHash: hashPayload(new TextEncoder().encode(payload)), details }]);
  };
  // Subject `federation:<id>:<round>`: with '/' separators, "federation/mills/combine" is a 24-character
  // run of [A-Za-z0-9/] and the log refuses it as key-like (src/trust/events.ts).
  const ceremonyAudit = async (a: CeremonyAudit): Promise<void> =>
    record('key_ceremony', a.member === 'cloud' ? 'cloud' : `keyholder.${a.member}`, a.member === 'cloud' ? 'cloud' : a.member, `federation:${a.federation}:${a.round}`, a.hash, { ceremony: a.federation, step: a.step });
  const jobAudit = async (a: JobAudit): Promise<void> => {
    if ('share' in a) await record('decryption_share', `keyholder.${a.actor}`, a.tenant, `job/${a.job}`, a.share, { round: a.job, ciphertext: a.share });
    else await record('job', a.actor, a.tenant, `job/${a.job}`, a.job, { dataset: a.dataset, state: a.state });
    await models?.lineage.onJobAudit(a, (id) => services!.jobs.get(id));
  };
  const tuf = await openCloudTuf(options.dataDir);
  let models: { registry: Registry; lineage: JobLineage; release: Release } | undefined;
  const logDeletions = async (deletions: readonly BatchDeletion[]): Promise<void> => {
    for (const d of deletions) {
      await record('deletion', d.reason === 'retention' ? 'cloud' : `admin.${d.plant}`, d.plant, `batch/${d.batchId}`, d.contentHash, { dataset: d.dataset, records: d.records, reason: d.reason });
    }
  };
  const logInference = async (tenant: string, actor: string, summary: { modelId: string; modelVersion: number; records: number; abstained: number }): Promise<string> => {
    const payload = JSON.stringify(summary);
    await log!.append([{
      kind: 'inference_summary', time: new Date().toISOString(), actor, tenant, subject: `model/${summary.modelId}`,
      payloadHash: hashPayload(new TextEncoder().encode(payload)),
      details: { model: summary.modelId, version: summary.modelVersion, inferences: summary.records, abstained: summary.abstained },
    }]);
    return hashPayload(new TextEncoder().encode(payload));
  };
  let services: { lake: Lake; federations: Federations; jobs: Jobs } | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  const runQueued = (): void => {
    queue = queue.then(() => services!.jobs.runQueued()).catch(() => {});
  };
  const cloud = await startCloud({
    ...options,
    databaseUrl: databaseUrl || null,
    audit: async (db: SqlClient) => {
      log = await TransparencyLog.open({ sql: db, origin: CLOUD_LOG_ORIGIN, keys: new KeyRing([{ signer, notBefore: new Date(0) }]) });
      return log;
    },
    onShutdown: [async (signal) => services?.jobs.drain(signal)],
    app: {
      ...options.app,
      ...(boss === undefined ? {} : { readiness: { ...options.app?.readiness, queue: queueProbe(boss) } }),
      routes: [...(options.app?.routes ?? []), domainRoutes(async (ctx) => {
        const lake = await Lake.open({ sql: ctx.db, blobs });
        const federations = await Federations.open({ sql: ctx.db, blobs, engine, audit: ceremonyAudit });
        const jobs = await Jobs.open({
          sql: ctx.db, blobs, lake, federations, engine, threads: options.threads ?? 2, ...(aggregator === undefined ? {} : { aggregator }), audit: jobAudit,
          ...(options.revealAttemptMs === undefined ? {} : { revealAttemptMs: options.revealAttemptMs }),
        });
        services = { lake, federations, jobs };
        await ctx.db.query(`CREATE TABLE IF NOT EXISTS cloud_activation_report (
          tenant text NOT NULL, model text NOT NULL, seq integer NOT NULL, payload_hash text NOT NULL, received_at timestamptz NOT NULL,
          PRIMARY KEY (tenant, model, seq))`);
        const logActivations = async (tenant: string, actor: string, body: { modelId: string; entries: readonly HistoryEntry[] }): Promise<number> => {
          let logged = 0;
          for (const entry of body.entries) {
            const { event, payload } = activationEvent(entry, { modelId: body.modelId, actor, tenant });
            const fresh = await ctx.db.query('INSERT INTO cloud_activation_report (tenant, model, seq, payload_hash, received_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING seq',
              [tenant, body.modelId, entry.seq, hashPayload(payload), new Date()]);
            if (fresh.length === 0) continue;
            await log!.append([event]);
            logged++;
          }
          return logged;
        };
        return { lake, federations, jobs, engine, onSubmitted: runQueued, onDeleted: logDeletions, onInferenceSummary: logInference, onActivations: logActivations };
      }), modelRoutes(async (ctx) => {
        const { lake, federations, jobs } = services!;
        const appendNow = async (e: Omit<LogEvent, 'time'>): Promise<void> => { await log!.append([{ ...e, time: new Date().toISOString() } as LogEvent]); };
        const lineage = await JobLineage.open({ sql: ctx.db, ...(options.openLineage === undefined ? {} : { emit: openLineageHttpSink(options.openLineage) }) });
        const registry = await Registry.open({ sql: ctx.db, blobs, lake, jobs, lineage, audit: appendNow });
        const release = await Release.open({ sql: ctx.db, registry, repo: tuf.repo, audit: appendNow });
        models = { registry, lineage, release };
        return { registry, lineage, release, federations, jobs, tufDir: tuf.repo.dir, fleetKey: tuf.fleetKey };
      }), logRoutes({ log: () => log!, verifierKey: signer.verifier().toString() }),
        viewRoutes(async () => ({ log: () => log!, jobs: services!.jobs, registry: models!.registry })), consoleRoutes()],
    },
  }).catch(async (e: unknown) => {
    await boss?.stop({ graceful: false, close: true }).catch(() => {});
    throw e;
  });
  runQueued(); // jobs a crash left behind
  // A restart after a long stop would leave an expired timestamp: gateways would see a freeze.
  await models!.release.refreshTimestamp();
  const refresh = setInterval(() => void models!.release.refreshTimestamp().catch((e: unknown) => cloud.app.log.error({ err: e }, 'TUF timestamp refresh failed')), TUF_TIMESTAMP_REFRESH_MS);
  refresh.unref();
  const resend = options.openLineage === undefined ? undefined : setInterval(() => void models!.lineage.deliverPending().catch((e: unknown) => cloud.app.log.warn({ err: e }, 'lineage re-send failed')), LINEAGE_RESEND_MS);
  resend?.unref();
  const close = cloud.close;
  return {
    ...cloud, ...services!, ...models!, log: log!,
    close: async () => {
      clearInterval(refresh);
      clearInterval(resend);
      await close();
      await queue;
      await boss?.stop({ graceful: false, close: true }).catch((e: unknown) => cloud.app.log.error({ err: e }, 'cannot stop the queue'));
      for (const e of engines.values()) (await e.catch(() => undefined))?.[Symbol.dispose]();
    },
  };
}
