/**
 * `hedge edge start`: one gateway process (DESIGN.md §2; docs/edge.md, "hedge edge start").
 *
 * ```
 * connectors ──▶ applyPolicy ──▶ [FeatureWindows] ──▶ Gateway (record buffer → sealed batches) ──▶ Outbox ──▶ Uploader ──HttpSink──▶ cloud
 *                                                         ▲ collective public key                          │
 * KeyHolder ◀── poll: ceremony rounds, approved jobs' reveal requests ◀──────── CloudClient (mTLS) ◀────────┘
 * ```
 *
 * The gateway polls the cloud (`cloud.pollMs`): while its federation's key ceremony waits for this
 * plant's share of a round, the key holder makes it and the gateway posts it; once the ceremony is
 * ready, the gateways of the configured datasets open under the collective public key and the
 * connectors start. A seal timer seals due batches and kicks the uploader. The key holder answers a
 * job's reveal only for jobs the plant admin approved locally ({@link RunningEdge.approveJob},
 * recorded by `KeyHolder.approve` for the plan's digest) and only as its policy allows; the cloud
 * asks for the reveal only after the admin's approval through its own route too. With a `models`
 * section, the model runtime (`inference.ts`) checks for verified versions from the start and
 * answers the live records.
 * @module
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash, timingSafeEqual } from 'node:crypto';
import fastify, { type FastifyInstance } from 'fastify';
import path from 'node:path';
import type { JobPlan } from '../compute/plan.ts';
import { decodePartial } from '../compute/partial.ts';
import { SealEngine } from '../he/backend/seal.ts';
import { sumRevealInput } from '../he/mhe/sum-input.ts';
import { preset } from '../he/params.ts';
import { PublicKeyCodec } from '../he/wire.ts';
import type { PublicKey } from '../he/backend/seal.ts';
import { CloudCallError, CloudClient, type CeremonyRoundName, type FederationView } from './cloud-client.ts';
import { ceremonyTurn, keyHolderFederation, revealAsk } from './ceremony.ts';
import type { EdgeConfig } from './config.ts';
import { OpcuaConnector } from './connectors/opcua.ts';
import { CsvReplay } from './connectors/replay.ts';
import { SparkplugHost } from './connectors/sparkplug.ts';
import { EDGE_ERR, EdgeError, EdgeTypeError } from './errors.ts';
import { FeatureWindows, type FeatureRecord, type Stat } from './features.ts';
import { Gateway, type GatewayMetrics } from './gateway.ts';
import { EdgeModels, type ModelsMetrics } from './inference.ts';
import { jobPlanDigest, KeyHolder, type Approval, type LogEntry } from './keyholder.ts';
import { Witness } from '../trust/witness.ts';
import { parseVerifierKey } from '../trust/note/keys.ts';
import { Outbox } from './outbox.ts';
import { applyPolicy, emptyCounters, loadPolicy, loadPseudonymKey, mergeCounters, type DataPolicy, type PolicyCounters, type PseudonymKey } from './policy.ts';
import type { RawEvent, SharedEvent } from './sample.ts';
import { HttpSink } from './sinks/http.ts';
import { Uploader, type UploaderMetrics } from './uploader.ts';

/** What the running gateway reports as it works (for the log). */
export type EdgeServiceEvent =
  | { readonly kind: 'ceremony'; readonly round: CeremonyRoundName; readonly status: 'accepted' | 'duplicate' }
  | { readonly kind: 'ready'; readonly datasets: readonly string[] }
  | { readonly kind: 'receiver'; readonly hash: string }
  | { readonly kind: 'reveal'; readonly jobId: string }
  | { readonly kind: 'refusal'; readonly jobId: string; readonly code: string; readonly message: string }
  | { readonly kind: 'model'; readonly modelId: string; readonly version: number }
  | { readonly kind: 'drift'; readonly modelId: string; readonly features: readonly string[] }
  | { readonly kind: 'error'; readonly error: Error };

/** Options of {@link startEdge}. */
export interface StartEdgeOptions {
  /** Called for everything worth logging (default: nothing). */
  readonly onEvent?: (event: EdgeServiceEvent) => void;
}

/** Figures of a running gateway. */
export interface EdgeMetrics {
  /** The federation's ceremony round as last seen (`ready` once done), or `unknown` before the cloud answered. */
  readonly round: string;
  /** Whether the key holder knows the federation's registered receiver. */
  readonly receiverKnown: boolean;
  readonly policy: PolicyCounters;
  readonly gateways: Readonly<Record<string, GatewayMetrics>>;
  readonly uploader: UploaderMetrics;
  /** Jobs whose reveal share this gateway posted in this run, and those its key holder refused. */
  readonly revealed: readonly string[];
  readonly refused: readonly string[];
  /** The model runtime's figures, when models are configured. */
  readonly models?: ModelsMetrics;
}

/** A running gateway. */
export interface RunningEdge {
  /** Resolves once the ceremony is ready, the gateways are open and the connectors started. */
  readonly ready: Promise<void>;
  /** The plant admin's local endpoint, when configured (`admin` in the config). */
  readonly adminUrl: string | undefined;
  /**
   * The plan of a job as the cloud shows it, and its digest, for the plant admin to review.
   * @throws CloudCallError (`EDGE_ERR_CLOUD`)
   */
  reviewJob(jobId: string): Promise<{ readonly plan: JobPlan; readonly planDigest: string }>;
  /**
   * The plant admin's local approval of a job's plan (`KeyHolder.approve`): the key holder makes
   * the job's reveal share only for the approved digest.
   * @throws EdgeError `EDGE_ERR_CEREMONY` (approved before for another plan), `EDGE_ERR_KEYHOLDER_CLOSED`
   *   (the key holder is not open yet: the cloud has not been reached)
   */
  approveJob(approval: { readonly jobId: string; readonly planDigest: string; readonly approvedBy: string }): Approval;
  /** Waits until file replays are read, seals what they left (partial batches of at least `minBatchSize` too) and the outbox is uploaded. */
  flush(): Promise<void>;
  metrics(): EdgeMetrics;
  /**
   * Sends each model's activation history since the last report, and its inference summary since
   * the last report (counts, abstentions, drift alarms; no values), to the cloud's transparency
   * log; returns how many summaries were sent. Runs every
   * {@link SUMMARY_INTERVAL_MS} and at stop; a failure is an `error` event, and the counts go into
   * the next period's summary only if the cloud took none of them.
   */
  reportInference(): Promise<number>;
  /** The gateway's hash-chained local log: shares, refusals, approvals, batches sent, cloud checkpoints checked. */
  localLog(): readonly LogEntry[];
  /**
   * Checks the cloud's latest checkpoint against the last accepted one now (it also runs every
   * {@link LOG_FOLLOW_INTERVAL_MS} while polling); an inconsistent log is an `error` event and a
   * `checkpoint` entry with `consistent: false`.
   */
  checkCloudLog(): Promise<void>;
  /** Stops connectors, the timers and the uploader, then closes the gateways, the outbox and the key holder. */
  stop(): Promise<void>;
}

/** How often a running gateway checks the cloud's latest checkpoint against the last one it accepted. */
export const LOG_FOLLOW_INTERVAL_MS = 10_000;

/** How often a running gateway reports its inference summaries. */
export const SUMMARY_INTERVAL_MS = 5 * 60_000;

interface DatasetRuntime {
  readonly id: string;
  readonly gateway: Gateway;
  readonly windows?: FeatureWindows;
  /** Machines seen since the start (a time window open before a restart must not be emitted half). */
  readonly seen: Set<string>;
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/**
 * Starts a gateway from its configuration (see {@link loadEdgeConfig}). Returns at once, with the
 * outbox open and its backlog uploading; the rest comes up as the cloud answers (`ready`).
 *
 * @throws EdgeError `EDGE_ERR_POLICY_*`, `EDGE_ERR_KEY*` (policy or pseudonym key), `EDGE_ERR_CONFIG_INVALID`
 *   (no pseudonym key named), `EDGE_ERR_OUTBOX_*`
 * @example
 * ```ts
 * const edge = await startEdge(await loadEdgeConfig('/etc/hedge/gateway.yaml'), { onEvent: console.log });
 * await edge.ready;
 * const { plan, planDigest } = await edge.reviewJob('job-1');      // the plant admin reads the plan…
 * edge.approveJob({ jobId: 'job-1', planDigest, approvedBy: 'admin@plant-a' });
 * ```
 */
export async function startEdge(config: EdgeConfig, options: StartEdgeOptions = {}): Promise<RunningEdge> {
  if (config === null || typeof config !== 'object') throw new EdgeTypeError('cannot start edge: config must be a loaded EdgeConfig');
  const emit = (e: EdgeServiceEvent): void => {
    try {
      options.onEvent?.(e);
    } catch { /* a logger's failure is not the gateway's */ }
  };
  const policy: DataPolicy = await loadPolicy(config.policy);
  const keyFile = config.pseudonymKey ?? policy.machineIds?.keyFile;
  if (keyFile === undefined) throw new EdgeError(EDGE_ERR.CONFIG_INVALID, 'cannot start edge: neither pseudonymKey nor the policy\'s machineIds.keyFile names the pseudonymisation key');
  const key: PseudonymKey = await loadPseudonymKey(keyFile);
  mkdirSync(config.stateDir, { recursive: true, mode: 0o700 });
  const tls = { ca: config.cloud.ca, cert: config.cloud.cert, key: config.cloud.key };
  const cloud = new CloudClient({ url: config.cloud.url, tenant: config.tenant, tls });
  const outbox = Outbox.open({ path: path.join(config.stateDir, 'outbox.db') });
  // Batches the cloud acknowledged, for the local log (kept until the key holder, which owns the log, is open).
  const sentBatches: Record<string, string | number>[] = [];
  const uploader = new Uploader({
    outbox, sink: new HttpSink({ url: config.cloud.url, tls }),
    onUploaded: ({ batch, status, bytes }) => {
      sentBatches.push({ dataset: batch.dataset, batchId: batch.batchId, contentHash: batch.contentHash, records: batch.records, bytes, status });
    },
    onError: ({ error, action }) => { if (action === 'parked') emit({ kind: 'error', error }); },
  });
  uploader.start();
  let models: EdgeModels | undefined;
  try {
    if (config.models !== undefined) {
      // The cloud's own repository (its /tuf) is reached with the cloud's CA and this gateway's certificate.
      const src = config.models.source;
      const fromCloud = src.kind === 'http' && new URL(src.url).origin === new URL(config.cloud.url).origin;
      const modelsConfig = fromCloud ? { ...config.models, source: { ...src, tls } } : config.models;
      models = await EdgeModels.open(modelsConfig, config.stateDir, (e) => emit(e.kind === 'activated' ? { kind: 'model', modelId: e.modelId, version: e.version } : e));
    }
  } catch (e) {
    await uploader.stop();
    outbox.close();
    key.destroy();
    throw e;
  }
  let modelTimer: NodeJS.Timeout | undefined;
  let summaryTimer: NodeJS.Timeout | undefined;
  let checking: Promise<void> = Promise.resolve();
  const reportInference = async (): Promise<number> => {
    if (models === undefined) return 0;
    for (const { modelId, entries } of models.takeHistory()) {
      try {
        await cloud.reportActivations(modelId, entries);
      } catch (e) {
        emit({ kind: 'error', error: e as Error });
      }
    }
    let sent = 0;
    for (const summary of models.takeSummaries()) {
      try {
        await cloud.reportInference(summary);
        sent++;
      } catch (e) {
        emit({ kind: 'error', error: e as Error });
      }
    }
    return sent;
  };
  const checkModels = (): void => {
    checking = models!.check().finally(() => {
      if (!stopped) modelTimer = setTimeout(checkModels, config.models!.checkMs);
    });
  };

  const khDir = path.join(config.stateDir, 'keyholder');
  let engine: SealEngine | undefined;
  let publicKey: PublicKey | undefined;
  let keyHolder: KeyHolder | undefined;
  let receiverHash: string | undefined;
  let receiverBytes: Uint8Array | undefined;
  let fed: FederationView | undefined;
  let counters = emptyCounters();
  const datasets: DatasetRuntime[] = [];
  const connectors: { stop(): Promise<void> }[] = [];
  const replays: Promise<void>[] = [];
  const aborts = new AbortController();
  const revealed = new Set<string>();
  const refused = new Set<string>();
  /** Jobs this gateway has nothing more to do for (revealed, or its additive share posted). */
  const finished = new Set<string>();
  let stopped = false;
  let pollTimer: NodeJS.Timeout | undefined;
  let sealTimer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> = Promise.resolve();
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => { markReady = resolve; });

  const openKeyHolder = async (receiver?: Uint8Array): Promise<void> => {
    keyHolder?.close();
    keyHolder = undefined;
    keyHolder = await KeyHolder.open({
      dir: khDir, engine: engine!, unlock: config.keyHolder.unlock, policy: config.keyHolder.policy,
      // t-of-n: parties = t, this plant's evaluation point, and n (docs/edge.md, "t-of-n federations").
      federation: { ...keyHolderFederation(fed!, config.tenant), ...(receiver === undefined ? {} : { receiver }) },
    });
  };

  /** Connector events through the policy (and windows) into every dataset's gateway. */
  const deliver = (events: readonly RawEvent[]): void => {
    const out = applyPolicy(policy, key, events);
    counters = mergeCounters(counters, out.counters);
    if (models !== undefined) for (const e of out.events) if (e.kind === 'sample') models.infer(e.machine, e.t, e.values);
    for (const d of datasets) {
      if (d.windows === undefined) {
        d.gateway.add(out.events);
        continue;
      }
      const records: FeatureRecord[] = [];
      for (const e of out.events) {
        if (e.kind === 'sample' && !d.seen.has(e.machine)) {
          d.seen.add(e.machine);
          records.push(...d.windows.push({ kind: 'gap', machine: e.machine, t: e.t, reason: 'gateway started' } satisfies SharedEvent));
        }
        records.push(...d.windows.push(e));
      }
      if (records.length > 0) d.gateway.add(records);
      if (models !== undefined) {
        const names = d.windows.names;
        for (const r of records) models.infer(r.machine, r.end, Object.fromEntries(names.map((n, j) => [n, r.values[j]])));
      }
    }
  };

  const startConnectors = async (): Promise<void> => {
    const onError = (error: Error): void => emit({ kind: 'error', error });
    for (const c of config.connectors) {
      if (c.kind === 'csv') {
        const replay = new CsvReplay({ path: c.path, layout: c.layout, onBadRow: c.onBadRow, signal: aborts.signal });
        replays.push((async () => {
          let chunk: RawEvent[] = [];
          try {
            for await (const e of replay.events()) {
              chunk.push(e);
              if (chunk.length >= 256) {
                deliver(chunk);
                chunk = [];
              }
            }
            if (chunk.length > 0) deliver(chunk);
          } catch (e) {
            if (!aborts.signal.aborted) onError(e as Error);
          }
        })());
      } else if (c.kind === 'opcua') {
        const connector = new OpcuaConnector({ endpointUrl: c.endpointUrl, pkiDir: c.pkiDir, security: c.security, trustUnknownServer: c.trustUnknownServer, machines: c.machines, onEvent: (e) => deliver([e]), onError });
        await connector.start();
        connectors.push(connector);
      } else {
        const host = new SparkplugHost({ brokerUrl: c.brokerUrl, hostId: c.hostId, ...(c.groups === undefined ? {} : { groups: c.groups }), onEvent: (e) => deliver([e]), onError });
        await host.start();
        connectors.push(host);
      }
    }
  };

  const openGateways = async (): Promise<void> => {
    publicKey = PublicKeyCodec.fromBytes(engine!, await cloud.material(config.federation, 'public-key'));
    for (const d of config.datasets) {
      const source = d.source.kind === 'samples'
        ? { kind: 'samples' as const }
        : undefined;
      let windows: FeatureWindows | undefined;
      if (d.source.kind === 'windows') {
        windows = new FeatureWindows({
          window: d.source.window, signals: d.source.signals,
          ...(d.source.stats === undefined ? {} : { stats: d.source.stats as readonly Stat[] }),
          ...(d.source.maxGapMs === undefined ? {} : { maxGapMs: d.source.maxGapMs }),
          ...(policy.label === undefined ? {} : { labelClasses: policy.label.classes.map((c) => c.name) }),
        });
      }
      const gateway = Gateway.open({
        recordsPath: path.join(config.stateDir, `${d.id}.records.db`), outbox, engine: engine!, publicKey, schema: d.schema,
        dataset: d.id, plant: config.tenant, policy, source: source ?? { kind: 'windows', names: windows!.names },
        ...(d.batchSize === undefined ? {} : { batchSize: d.batchSize }),
        ...(d.maxWaitMs === undefined ? {} : { maxWaitMs: d.maxWaitMs }),
      });
      datasets.push({ id: d.id, gateway, ...(windows === undefined ? {} : { windows }), seen: new Set() });
    }
    sealTimer = setInterval(() => seal(false), config.sealIntervalMs);
    await checking; // the first model check, so that live records meet the models delivered so far
    await startConnectors();
    emit({ kind: 'ready', datasets: datasets.map((d) => d.id) });
    markReady();
  };

  const seal = (force: boolean): void => {
    for (const d of datasets) {
      try {
        if (d.gateway.seal({ force }).length > 0) uploader.kick();
      } catch (e) {
        emit({ kind: 'error', error: e as Error });
      }
    }
  };

  /** The key ceremony: this plant's share of the round the cloud waits for. */
  const ceremony = async (f: FederationView): Promise<void> => {
    const turn = await ceremonyTurn(keyHolder!, cloud, f);
    if (turn !== undefined) emit({ kind: 'ceremony', ...turn });
  };

  /** The receiver's key, once the builder registered it: checked against the pin, then the key holder is reopened with it. */
  const learnReceiver = async (): Promise<void> => {
    let bytes: Uint8Array;
    try {
      bytes = await cloud.material(config.federation, 'receiver-key');
    } catch (e) {
      if (e instanceof CloudCallError && e.status === 409) return; // not registered yet
      throw e;
    }
    const hash = sha256(bytes);
    const pinned = config.keyHolder.receiverKeyHash;
    if (pinned !== undefined && pinned !== hash) {
      throw new EdgeError(EDGE_ERR.RECEIVER, `cannot accept the federation's receiver key: its SHA-256 ${hash} is not the pinned ${pinned} (keyHolder.receiverKeyHash)`);
    }
    await openKeyHolder(bytes);
    receiverBytes = bytes;
    receiverHash = hash;
    emit({ kind: 'receiver', hash });
  };

  /** Reveal shares for the jobs the admin approved locally that the cloud now asks for. */
  const reveals = async (): Promise<void> => {
    const kh = keyHolder!;
    const approved = new Set(kh.log().filter((e) => e.kind === 'approval').map((e) => String(e.detail.job)));
    for (const jobId of approved) {
      if (finished.has(jobId) || refused.has(jobId)) continue;
      const job = await cloud.job(jobId);
      // Additive: one share per job. t-of-n: a share per attempt whose active set holds this plant.
      if (job.state === 'revealed' || (job.attempt === undefined && job.shares.includes(config.tenant))) {
        if (job.shares.includes(config.tenant)) revealed.add(jobId);
        finished.add(jobId);
        continue;
      }
      if (job.state === 'failed' || job.state === 'cancelled' || job.state === 'expired') {
        finished.add(jobId);
        continue;
      }
      if (job.state !== 'revealing' || job.shares.includes(config.tenant)) continue;
      if (job.activeSet !== undefined && !job.activeSet.includes(config.tenant)) continue;
      const request = await cloud.revealRequest(jobId);
      const ask = revealAsk(request, config.tenant);
      if (ask === undefined) continue;
      if (receiverHash === undefined || request.receiverKeyHash !== receiverHash) {
        refused.add(jobId);
        emit({ kind: 'refusal', jobId, code: EDGE_ERR.RECEIVER, message: `cannot make a reveal share for job ${jobId}: its receiver key ${request.receiverKeyHash} is not the federation's registered ${receiverHash ?? '(none yet)'}` });
        continue;
      }
      const accs = decodePartial(engine!, await cloud.aggregate(jobId), request.plan.aggregation.stats.length);
      let share: Uint8Array;
      try {
        share = kh.revealShare({ jobId, plan: request.plan, input: sumRevealInput(engine!, accs), receiver: receiverBytes!, ...ask.share });
      } catch (e) {
        if (e instanceof EdgeError && e.code !== EDGE_ERR.KEYHOLDER_STORAGE && e.code !== EDGE_ERR.KEYHOLDER_CLOSED) {
          refused.add(jobId);
          emit({ kind: 'refusal', jobId, code: e.code, message: e.message });
          continue;
        }
        throw e;
      } finally {
        for (const ct of accs) ct[Symbol.dispose]();
      }
      await cloud.postRevealShare(jobId, share, ask.attempt);
      revealed.add(jobId);
      if (ask.attempt === undefined) finished.add(jobId);
      emit({ kind: 'reveal', jobId });
    }
  };

  const tick = async (): Promise<void> => {
    if (fed === undefined || fed.round !== 'ready' || receiverHash === undefined) fed = await cloud.federation(config.federation);
    if (!fed.members.some((m) => m.tenant === config.tenant && m.role === 'plant')) {
      throw new EdgeError(EDGE_ERR.CONFIG_INVALID, `cannot start edge: ${config.tenant} is not a plant of federation ${config.federation}`);
    }
    if (engine === undefined) engine = await SealEngine.create(preset(fed.preset, { allowInsecure: config.allowInsecureParams }));
    if (keyHolder === undefined) {
      if (!existsSync(path.join(khDir, 'custody.hkc'))) {
        if (existsSync(path.join(khDir, 'ledger.db'))) {
          throw new EdgeError(EDGE_ERR.CUSTODY_IO, `cannot start edge: ${khDir} has a share ledger but no custody file; restore custody.hkc from backup (a new share would not match the ceremony)`);
        }
        await KeyHolder.init(khDir, engine, config.keyHolder.unlock);
      }
      await openKeyHolder();
    }
    logSentBatches();
    await followCloudLog();
    await ceremony(fed);
    if (fed.round === 'ready' && datasets.length === 0) await openGateways();
    if (receiverHash === undefined) await learnReceiver();
    if (receiverHash !== undefined) await reveals();
  };

  /** Moves acknowledged batches into the key holder's hash-chained local log. */
  const logSentBatches = (): void => {
    while (keyHolder !== undefined && sentBatches.length > 0) keyHolder.record('batch', sentBatches.shift()!);
  };

  // The cloud's checkpoints, checked for consistency (DESIGN §8): the log key is pinned on first
  // sight (or by `cloud.logKey`), the last accepted checkpoint kept in the state folder.
  const logKeyFile = path.join(config.stateDir, 'cloud-log.vkey');
  const logStateFile = path.join(config.stateDir, 'cloud-log.checkpoint');
  let witness: Witness | undefined;
  let lastFollowed = 0;
  const followCloudLog = async (): Promise<void> => {
    if (keyHolder === undefined || Date.now() - lastFollowed < LOG_FOLLOW_INTERVAL_MS) return;
    lastFollowed = Date.now();
    const latest = await cloud.checkpoint();
    if (witness === undefined) {
      if (!existsSync(logKeyFile)) writeFileSync(logKeyFile, `${latest.verifierKey}\n`, { mode: 0o600 });
      const vkey = readFileSync(logKeyFile, 'utf8').trim();
      witness = new Witness({ origin: latest.origin, verifiers: [parseVerifierKey(vkey)], ...(existsSync(logStateFile) ? { state: readFileSync(logStateFile, 'utf8') } : {}) });
    }
    const before = witness.checkpoint?.size ?? 0;
    if (latest.size === before) return;
    try {
      const proof = before === 0 ? [] : (await cloud.consistency(before, latest.size)).proof.map((b) => new Uint8Array(Buffer.from(b, 'base64')));
      const accepted = witness.update(latest.checkpoint, proof);
      writeFileSync(logStateFile, witness.state!, { mode: 0o600 });
      keyHolder.record('checkpoint', { size: accepted.size, root: Buffer.from(accepted.root).toString('hex'), consistent: true });
    } catch (e) {
      keyHolder.record('checkpoint', { size: latest.size, consistent: false, code: (e as { code?: string }).code ?? 'unknown' });
      emit({ kind: 'error', error: e as Error });
    }
  };

  const poll = (): void => {
    if (stopped) return;
    ticking = tick().catch((e: unknown) => {
      if (!stopped) emit({ kind: 'error', error: e as Error });
    }).finally(() => {
      if (!stopped) pollTimer = setTimeout(poll, config.cloud.pollMs);
    });
  };
  if (models !== undefined) {
    checkModels();
    summaryTimer = setInterval(() => void reportInference(), SUMMARY_INTERVAL_MS);
    summaryTimer.unref();
  }
  poll();

  let adminServer: FastifyInstance | undefined;
  const running: RunningEdge = {
    ready,
    get adminUrl() {
      return adminUrl;
    },
    async reviewJob(jobId) {
      const plan = await cloud.plan(jobId);
      return { plan, planDigest: jobPlanDigest(plan) };
    },
    approveJob(approval) {
      if (keyHolder === undefined) throw new EdgeError(EDGE_ERR.KEYHOLDER_CLOSED, 'cannot approve job: the key holder is not open yet (the cloud has not been reached)');
      return keyHolder.approve(approval);
    },
    async flush() {
      await Promise.all(replays);
      seal(true);
      await Promise.all([uploader.idle(), models?.idle()]);
    },
    metrics() {
      return {
        round: fed?.round ?? 'unknown', receiverKnown: receiverHash !== undefined, policy: counters,
        gateways: Object.fromEntries(datasets.map((d) => [d.id, d.gateway.metrics()])),
        uploader: uploader.metrics(), revealed: [...revealed], refused: [...refused], ...(models === undefined ? {} : { models: models.metrics() }),
      };
    },
    reportInference,
    localLog() {
      logSentBatches();
      return keyHolder?.log() ?? [];
    },
    async checkCloudLog() {
      lastFollowed = 0;
      await followCloudLog();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(pollTimer);
      clearInterval(sealTimer);
      clearTimeout(modelTimer);
      clearInterval(summaryTimer);
      aborts.abort();
      await adminServer?.close();
      await Promise.allSettled([...replays, ...connectors.map((c) => c.stop())]);
      await Promise.all([ticking, checking]);
      await models?.idle();
      await reportInference();
      await models?.close();
      await uploader.stop();
      logSentBatches();
      for (const d of datasets) d.gateway.close();
      outbox.close();
      keyHolder?.close();
      publicKey?.[Symbol.dispose]();
      engine?.[Symbol.dispose]();
      key.destroy();
    },
  };
  let adminUrl: string | undefined;
  if (config.admin !== undefined) {
    adminServer = adminEndpoint(running, config.admin.token);
    adminUrl = await adminServer.listen({ host: config.admin.host, port: config.admin.port });
  }
  return running;
}

/**
 * The plant admin's local endpoint: `GET /v1/jobs/:job` (the plan's summary and digest, from the
 * cloud) and `POST /v1/jobs/:job/approval` `{ planDigest, approvedBy }` (the key holder's approval).
 * Every request needs `Authorization: Bearer <admin token>`.
 */
function adminEndpoint(edge: RunningEdge, token: string): FastifyInstance {
  const app = fastify({ logger: false, bodyLimit: 16 * 1024 });
  const expected = createHash('sha256').update(token).digest();
  app.addHook('onRequest', async (req, reply) => {
    const h = req.headers.authorization ?? '';
    const given = createHash('sha256').update(h.startsWith('Bearer ') ? h.slice(7) : '').digest();
    if (!timingSafeEqual(given, expected)) return reply.code(401).send({ code: EDGE_ERR.ADMIN_AUTH, message: 'cannot answer: the admin token is missing or wrong' });
  });
  app.setErrorHandler((err: { validation?: unknown; code?: string; message: string; statusCode?: number }, _req, reply) => {
    if (err.validation) return reply.code(400).send({ code: EDGE_ERR.INVALID_ARGUMENT, message: `cannot answer: ${err.message}` });
    if (err instanceof CloudCallError) return reply.code(502).send({ code: err.code, message: err.message });
    if (err instanceof EdgeError) return reply.code(409).send({ code: err.code, message: err.message });
    if ((err.statusCode ?? 500) < 500) return reply.code(err.statusCode!).send({ code: EDGE_ERR.INVALID_ARGUMENT, message: `cannot answer: ${err.message}` });
    return reply.code(500).send({ code: EDGE_ERR.INVALID_ARGUMENT, message: 'cannot answer: internal error' });
  });
  const params = { type: 'object', properties: { job: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' } }, required: ['job'] } as const;
  app.get<{ Params: { job: string } }>('/v1/jobs/:job', { schema: { params } }, async (req) => {
    const { plan, planDigest } = await edge.reviewJob(req.params.job);
    return {
      jobId: req.params.job, planDigest, plants: [...plan.plants], records: plan.records, batches: plan.batches.length,
      features: [...plan.spec.features], label: plan.spec.label, statistics: plan.aggregation.stats.length,
    };
  });
  app.post<{ Params: { job: string }; Body: { planDigest: string; approvedBy: string } }>('/v1/jobs/:job/approval', {
    schema: {
      params,
      body: {
        type: 'object', additionalProperties: false, required: ['planDigest', 'approvedBy'],
        properties: { planDigest: { type: 'string', pattern: '^[0-9a-f]{64}$' }, approvedBy: { type: 'string', minLength: 1, maxLength: 128 } },
      },
    },
  }, async (req) => edge.approveJob({ jobId: req.params.job, planDigest: req.body.planDigest, approvedBy: req.body.approvedBy }));
  return app;
}
