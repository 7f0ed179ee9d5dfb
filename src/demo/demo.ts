/**
 * `hedge demo`: the whole story through the real services, on embedded defaults, in one process
 * (README walkthrough; issue 8).
 *
 * The parties and how they talk:
 * - **the cloud**: `startHedgeCloud` (what `hedge cloud start` runs) on a local HTTPS port, with its
 *   embedded PGlite database, blob lake, transparency log, job runner and TUF repository;
 * - **three plants**: the AI4I 2020 rows of product type L, M and H, one plant each. Each plant's
 *   admin enrols a gateway (a client certificate from the cloud's CA, over a one-time token) and
 *   runs `startEdge` (what `hedge edge start` runs) with a config written like an admin would;
 * - **the machine builder**: a person with a bearer token, and one of the four key holders;
 * - **an auditor**: a person with read access to the log, verifying it on the client.
 *
 * The story, in order:
 *  1. key ceremony: the builder creates the federation (BGV_AGG_8192); every gateway's key holder
 *     and the builder send public shares of a collective key whose secret exists nowhere;
 *  2. ingest: each gateway replays its plant's history through the CSV connector, applies the data
 *     policy, encrypts batches under the collective key and uploads them over mTLS;
 *  3. the cloud computes two jobs on ciphertexts — per-class moments for the failure classifier,
 *     pooled moments for the anomaly detector;
 *  4. each plant's admin approves each job twice: in the cloud, and locally at the gateway's admin
 *     endpoint (the key holder answers only plans its admin approved); every key holder sends one
 *     flooded share re-encrypted to the builder; the builder decrypts moments, never records;
 *  5. the builder fits both models; beside them, the demo (as referee, not as any party) computes the
 *     same moments from the plaintext rows and fits the same models;
 *  6. the builder registers both versions and releases them through TUF to the three fleets; each
 *     gateway fetches them over HTTPS from the cloud's /tuf, verifies and activates them;
 *  7. live: each plant's milling machines start behind a real OPC UA server (`MillingMachineSim`);
 *     the admin points the gateway at them (a restart with the live config: the models resume
 *     from the verified artifacts it kept); the models answer every live record; each gateway
 *     reports its inference counts (no values) to the log;
 *  8. the auditor verifies the log: the checkpoint's signature, its consistency with a checkpoint
 *     verified during the run, and the inclusion of every entry; each gateway has checked the
 *     cloud's checkpoints for consistency too, against the log key it pinned (its local log).
 * @module
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { SealEngine } from '../he/backend/seal.ts';
import { preset } from '../he/params.ts';
import type { JobPlan } from '../compute/plan.ts';
import {
  computeMoments, createSchema, evaluateDiscriminant, evaluateMahalanobis, fitDiscriminant, fitMahalanobis, quantiseDataset,
  type Model, type Moments,
} from '../models/index.ts';
import { startHedgeCloud, type HedgeCloud } from '../cloud/service.ts';
import { setLocalUser } from '../cloud/users.ts';
import { grantRole } from '../cloud/roles.ts';
import { loadEdgeConfig } from '../edge/config.ts';
import { startEdge, type EdgeServiceEvent, type RunningEdge } from '../edge/service.ts';
import { MillingMachineSim, type MillingRow } from '../edge/sim/milling-machine.ts';
import { parseSignerKey } from '../trust/note/keys.ts';
import type { Role } from '../trust/access/policy.ts';
import { Api, until } from './api.ts';
import { auditLog, fetchCheckpoint, type LogAudit } from './audit.ts';
import { Builder, type Deployment, type JobView } from './builder.ts';
import { DEMO_MODELS, FEATURES, provisionPlant, SCHEMA_LITERAL, type Plant } from './plant.ts';

export { DEMO_POLICY } from './plant.ts';

const PRESET = 'BGV_AGG_8192';
const FEDERATION = 'ai4i';
const DATASET = 'ai4i';
const BUILDER = 'builder';
const PLANT_TYPES = ['L', 'M', 'H'] as const;
const GUARDS = { minPlants: 3, minRecords: 1000 };
/** Live records each model answers at each plant before the demo moves on. */
const LIVE_RECORDS = 60;
const MACHINES = ['mill-1', 'mill-2', 'mill-3', 'mill-4'];
const JOBS = [
  { id: 'failure-classifier', model: 'ai4i-failure', label: true },
  { id: 'anomaly-detector', model: 'ai4i-anomaly', label: false },
] as const;

/** Options of {@link runDemo} and {@link startDemo}. */
export interface DemoOptions {
  /** Where the cloud's data dir and the plants' folders go; a temporary folder (removed at stop) by default. */
  readonly dir?: string;
  /** Progress lines (one per step). */
  readonly log?: (line: string) => void;
  /** Worker threads of the cloud's jobs (default 2). */
  readonly threads?: number;
  /** The AI4I 2020 CSV (default `../shared/data/ai4i2020.csv` beside the repository). */
  readonly dataFile?: string;
  /** The cloud's port (default 0: a free one). */
  readonly port?: number;
}

/** A person of the demo and the password it logs in with (printed by `hedge demo --keep`). */
export interface DemoUser {
  readonly username: string;
  readonly password: string;
  readonly roles: readonly { readonly role: Role; readonly tenant: string }[];
}

/** What the demo reports at the end (`hedge demo --json` prints it). */
export interface DemoSummary {
  readonly data: { readonly file: string; readonly rows: number; readonly note: string };
  readonly federation: { readonly id: string; readonly preset: string; readonly keyHolders: readonly string[]; readonly quorum: string; readonly guards: typeof GUARDS };
  readonly cloud: { readonly url: string };
  readonly plants: readonly {
    readonly plant: string; readonly productType: string; readonly rows: number; readonly shared: number; readonly rejected: number;
    readonly batches: number; readonly ciphertextBytes: number; readonly signalsShared: readonly string[];
  }[];
  readonly jobs: readonly { readonly job: string; readonly records: number; readonly plants: number; readonly batches: number; readonly statistics: number; readonly approvals: readonly string[]; readonly shares: readonly string[] }[];
  readonly models: readonly {
    readonly model: string; readonly family: string; readonly version: number;
    /** The revealed moments equal the moments of the plaintext rows, exactly. */
    readonly momentsEqualPlaintext: boolean;
    /** The model fitted from ciphertexts is the plaintext-trained one (same JSON). */
    readonly identical: boolean;
    readonly encrypted: Readonly<Record<string, number>>; readonly plaintext: Readonly<Record<string, number>>;
  }[];
  readonly deployments: readonly {
    readonly plant: string; readonly model: string; readonly version: number; readonly sha256: string; readonly activated: boolean;
    /** Live records the model answered (from the gateway's inference summary in the log). */
    readonly records: number; readonly abstained: number;
  }[];
  readonly live: readonly { readonly plant: string; readonly endpoint: string; readonly machines: number; readonly samples: number }[];
  /** What each party saw. */
  readonly saw: {
    readonly cloud: { readonly batches: number; readonly ciphertextBytes: number; readonly records: number; readonly jobPlans: number; readonly revealShares: number; readonly values: 0; readonly text: string };
    readonly builder: { readonly revealedSums: number; readonly models: number; readonly records: 0; readonly text: string };
    readonly plants: Readonly<Record<string, { readonly ownRecords: number; readonly approvedPlans: number; readonly modelsReceived: number; readonly otherPlantsRecords: 0; readonly text: string }>>;
    readonly auditor: { readonly entries: number; readonly text: string };
  };
  readonly log: {
    readonly entries: number; readonly checkpointSize: number; readonly consistentWith: number | null; readonly verified: boolean; readonly kinds: Readonly<Record<string, number>>;
    /** Each gateway's own checks of the cloud's checkpoints (its local log): how many, the largest size, all consistent. */
    readonly witnessed: Readonly<Record<string, { readonly checks: number; readonly size: number; readonly consistent: boolean }>>;
  };
  readonly seconds: Readonly<Record<string, number>>;
}

/** A demo left running (`hedge demo --keep`). */
export interface RunningDemo {
  readonly summary: DemoSummary;
  readonly url: string;
  readonly consoleUrl: string;
  readonly users: readonly DemoUser[];
  /** Stops the gateways, the simulated machines and the cloud (and removes a temporary folder). */
  stop(): Promise<void>;
}

interface CsvRow { readonly line: string; readonly type: string; readonly x: number[]; readonly label: 'ok' | 'failure'; readonly sim: MillingRow }

function readAi4i(file: string): { header: string; rows: CsvRow[] } {
  const lines = readFileSync(file, 'utf8').trim().split(/\r?\n/);
  const header = lines[0].split(',');
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`cannot read ${file}: column '${name}' is missing`);
    return i;
  };
  const type = col('Type');
  const failure = col('Machine failure');
  const cols = FEATURES.map((f) => col(f.column));
  return {
    header: lines[0],
    rows: lines.slice(1).map((line) => {
      const f = line.split(',');
      const x = cols.map((c) => Number(f[c]));
      const failed = Number(f[failure]);
      const sim = Object.fromEntries([...FEATURES.map((s, j) => [s.name, x[j]]), ['machine_failure', failed]]) as MillingRow;
      return { line, type: f[type], x, label: failed === 1 ? 'failure' : 'ok', sim };
    }),
  };
}

const seconds = (t: number): number => Number(((performance.now() - t) / 1000).toFixed(2));
const round4 = (x: number): number => Number(x.toFixed(4));
const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;

/**
 * Runs the demo, stops everything, and returns its summary.
 *
 * @throws Error when a step fails (the message says which); a failed verification is an error, never a summary.
 * @example
 * ```ts
 * const summary = await runDemo({ log: console.error });
 * summary.log.verified; // true
 * ```
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoSummary> {
  const running = await startDemo(options);
  await running.stop();
  return running.summary;
}

/**
 * Runs the demo and leaves the cloud, the gateways and the simulated machines running.
 *
 * @throws Error when a step fails (everything started is stopped first)
 * @example
 * ```ts
 * const demo = await startDemo({ log: console.error });
 * console.log(demo.consoleUrl, demo.users);
 * process.once('SIGINT', () => void demo.stop());
 * ```
 */
export async function startDemo(options: DemoOptions = {}): Promise<RunningDemo> {
  const say = options.log ?? ((): void => {});
  const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const dataFile = options.dataFile ?? path.resolve(repoRoot, '../shared/data/ai4i2020.csv');
  const temporary = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(path.join(os.tmpdir(), 'hedge-demo-'));
  mkdirSync(dir, { recursive: true });
  const timings: Record<string, number> = {};
  const start = performance.now();
  let t = start;
  const phase = (name: string): number => {
    timings[name] = seconds(t);
    t = performance.now();
    return timings[name];
  };

  const plantIds = PLANT_TYPES.map((p) => `plant-${p.toLowerCase()}`);
  const password = (): string => randomBytes(12).toString('base64url');
  const users: DemoUser[] = [
    { username: 'builder-ada', password: password(), roles: [{ role: 'machine_builder', tenant: BUILDER }] },
    ...plantIds.map((p) => ({ username: `admin-${p}`, password: password(), roles: [{ role: 'plant_admin' as const, tenant: p }] })),
    { username: 'auditor-eve', password: password(), roles: [...plantIds, BUILDER, 'cloud'].map((tenant) => ({ role: 'auditor' as const, tenant })) },
  ];

  let cloud: HedgeCloud | undefined;
  let engine: SealEngine | undefined;
  let builder: Builder | undefined;
  const apis: Api[] = [];
  const edges = new Map<string, RunningEdge>();
  const sims: MillingMachineSim[] = [];
  const events: { plant: string; event: EdgeServiceEvent }[] = [];
  const onEvent = (plant: string) => (event: EdgeServiceEvent): void => {
    events.push({ plant, event });
    if (event.kind === 'error' || event.kind === 'refusal') say(`   ! ${plant}: ${event.kind === 'error' ? event.error.message : `${event.code}: ${event.message}`}`);
  };
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.allSettled([...edges.values()].map((e) => e.stop()));
    await Promise.allSettled(sims.map((s) => s.stop()));
    for (const api of apis) api.close();
    builder?.[Symbol.dispose]();
    engine?.[Symbol.dispose]();
    await cloud?.close();
    if (temporary) rmSync(dir, { recursive: true, force: true });
  };

  try {
    // ── 0. The cloud, and the people ──────────────────────────────────────────────────────────
    const { header, rows } = readAi4i(dataFile);
    const cloudDir = path.join(dir, 'cloud');
    cloud = await startHedgeCloud({ dataDir: cloudDir, port: options.port ?? 0, threads: options.threads ?? 2, app: { logger: { level: 'error' } } });
    for (const u of users) {
      await setLocalUser(cloud.app.cloud.db, { username: u.username, password: u.password });
      for (const r of u.roles) await grantRole(cloud.app.cloud.db, { subject: u.username, role: r.role, tenant: r.tenant, grantedBy: 'hedge demo' });
    }
    const url = cloud.url;
    const caFile = path.join(cloudDir, 'ca.pem');
    const ca = readFileSync(caFile, 'utf8');
    // What the cloud's operator publishes out of band: its CA, its TUF root, its log key.
    const tufRoot = readFileSync(path.join(cloudDir, 'tuf', 'metadata', 'root.json'), 'utf8');
    const verifierKey = parseSignerKey(readFileSync(path.join(cloudDir, 'log-signer.key'), 'utf8').trim()).verifier().toString();
    const login = async (name: string): Promise<Api> => {
      const api = new Api(url, { ca });
      apis.push(api);
      return api.login(name, users.find((u) => u.username === name)!.password);
    };
    const auditor = await login('auditor-eve');
    say(`0. Cloud: hedge cloud listening on ${url} (PGlite, blob lake, transparency log, TUF repository); ${phase('cloud_start')} s`);

    // ── 1. Federation, plants' gateways, key ceremony ─────────────────────────────────────────
    engine = await SealEngine.create(preset(PRESET));
    builder = new Builder(BUILDER, await login('builder-ada'), engine);
    const members = [...plantIds.map((tenant) => ({ tenant, role: 'plant' })), { tenant: BUILDER, role: 'builder' }];
    await builder.api.json('POST', `/v1/tenants/${BUILDER}/federations`, { id: FEDERATION, preset: PRESET, members, guards: GUARDS });
    const plants: Plant[] = [];
    const admins = new Map<string, Api>();
    const byType = new Map(PLANT_TYPES.map((p) => [p, rows.filter((r) => r.type === p)]));
    for (const [i, type] of PLANT_TYPES.entries()) {
      const tenant = plantIds[i];
      const admin = await login(`admin-${tenant}`);
      admins.set(tenant, admin);
      const plant = await provisionPlant({
        tenant, type, dir: path.join(dir, tenant), admin, cloudUrl: url, caFile, tufRoot, federation: FEDERATION, dataset: DATASET,
        header, rows: byType.get(type)!.map((r) => r.line), guards: GUARDS,
      });
      plants.push(plant);
      edges.set(tenant, await startEdge(await loadEdgeConfig(plant.historyConfig), { onEvent: onEvent(tenant) }));
    }
    say(`1. Plants: ${plantIds.join(', ')} enrolled a gateway each (client certificate from the cloud's CA) and started it (hedge edge start)`);
    await builder.joinCeremony(FEDERATION);
    const keyHolders = [...plantIds, BUILDER];
    say(`1. Key ceremony: ${keyHolders.join(', ')} each sent public shares; the collective ${PRESET} key exists, its secret nowhere; ${phase('key_ceremony')} s`);

    // ── 2. Ingest: history through the CSV connector, policy, encryption, upload ───────────────
    await builder.registerReceiver(FEDERATION);
    await builder.api.json('POST', `/v1/tenants/${BUILDER}/datasets`, { id: DATASET, federation: FEDERATION, schema: SCHEMA_LITERAL, retentionDays: 365 });
    await Promise.all([...edges.values()].map((e) => e.ready));
    await Promise.all([...edges.values()].map((e) => e.flush()));
    const plantsSummary: DemoSummary['plants'][number][] = [];
    for (const p of plants) {
      const m = edges.get(p.tenant)!.metrics();
      if (m.uploader.backlogBatches !== 0 || m.uploader.parkedBatches !== 0) throw new Error(`cannot run the demo: ${p.tenant} did not upload everything (${JSON.stringify(m.uploader)})`);
      plantsSummary.push({
        plant: p.tenant, productType: p.type, rows: byType.get(p.type as typeof PLANT_TYPES[number])!.length, shared: m.policy.samplesOut, rejected: m.policy.samplesRejected,
        batches: m.uploader.sentBatches, ciphertextBytes: m.uploader.sentBytes, signalsShared: FEATURES.map((f) => f.name),
      });
      say(`2. ${p.tenant}: replayed ${m.policy.samplesIn} rows of type ${p.type} (CSV connector), policy shared ${m.policy.samplesOut}, encrypted ${m.uploader.sentBatches} batch${m.uploader.sentBatches === 1 ? '' : 'es'} (${mib(m.uploader.sentBytes)}), uploaded over mTLS`);
    }
    phase('ingest');
    const firstCheckpoint = await fetchCheckpoint(auditor, verifierKey);

    // ── 3. Jobs on ciphertexts ───────────────────────────────────────────────────────────────
    const features = FEATURES.map((f) => f.name);
    for (const j of JOBS) {
      await builder.api.json('POST', `/v1/tenants/${BUILDER}/jobs`, { id: j.id, federation: FEDERATION, dataset: DATASET, spec: { features, label: j.label } });
    }
    const computed: JobView[] = [];
    for (const j of JOBS) computed.push(await builder.waitJob(j.id, ['computed']));
    for (const j of computed) say(`3. Cloud: job ${j.id} computed on ciphertexts: ${j.records} records of ${j.plants.length} plants, ${j.statistics} encrypted sums`);
    phase('compute');

    // ── 4. Approvals (cloud and gateway), reveal to the builder ─────────────────────────────────
    const approvedPlans = new Map<string, number>();
    for (const j of JOBS) {
      for (const p of plants) {
        await admins.get(p.tenant)!.json('POST', `/v1/tenants/${p.tenant}/jobs/${j.id}/approvals`);
        await approveAtGateway(edges.get(p.tenant)!.adminUrl!, readFileSync(p.adminTokenFile, 'utf8').trim(), j.id, `admin-${p.tenant}`);
        approvedPlans.set(p.tenant, (approvedPlans.get(p.tenant) ?? 0) + 1);
      }
      await builder.waitJob(j.id, ['revealing', 'revealed']);
      await builder.revealShare(j.id, FEDERATION, GUARDS);
    }
    const revealed = new Map<string, { plan: JobPlan; moments: Moments; view: JobView }>();
    const schema = createSchema(SCHEMA_LITERAL);
    const poolSchema = createSchema({ features: SCHEMA_LITERAL.features.map((f) => ({ ...f })) });
    for (const j of JOBS) {
      const view = await builder.waitJob(j.id, ['revealed']);
      revealed.set(j.id, { ...(await builder.moments(j.id, j.label ? schema : poolSchema)), view });
      say(`4. Reveal ${j.id}: 3 plant admins approved in the cloud and at their gateways; ${view.shares.length} key holders sent one flooded share each, re-encrypted to the builder, who decrypted ${view.statistics} sums`);
    }
    phase('approve_and_reveal');

    // ── 5. Models, beside the same models trained on the plaintext rows ───────────────────────
    const allX = rows.map((r) => r.x);
    const allLabels = rows.map((r) => r.label);
    const plainMoments = {
      'failure-classifier': computeMoments(schema, quantiseDataset(schema, allX, allLabels)),
      'anomaly-detector': computeMoments(poolSchema, quantiseDataset(poolSchema, allX)),
    };
    const fit = (jobId: string, m: Moments): Model => (jobId === 'failure-classifier' ? fitDiscriminant(schema, m, { priors: 'uniform' }) : fitMahalanobis(poolSchema, m, { alpha: 0.01 }));
    const failed = allLabels.map((l) => l === 'failure');
    const quality = (m: Model): Record<string, number> => {
      if (m.family === 'discriminant') {
        const ev = evaluateDiscriminant(m, allX, allLabels);
        return { accuracy: round4(ev.accuracy), auc: round4(ev.auc ?? Number.NaN), failures_caught: ev.confusion[1][1], failures: failed.filter(Boolean).length };
      }
      const ev = evaluateMahalanobis(m as Parameters<typeof evaluateMahalanobis>[0], allX, failed);
      return { flagged_rate: round4(ev.flaggedRate), auc_vs_failures: round4(ev.auc ?? Number.NaN) };
    };
    const fitted = JOBS.map((j) => {
      const r = revealed.get(j.id)!;
      const model = fit(j.id, r.moments);
      const plain = fit(j.id, plainMoments[j.id]);
      return { job: j, model, plain, momentsEqual: isDeepStrictEqual(r.moments, plainMoments[j.id]), identical: JSON.stringify(model) === JSON.stringify(plain) };
    });
    for (const f of fitted) say(`5. ${f.job.model}: fitted by the builder from revealed moments; moments equal the plaintext ones: ${f.momentsEqual}; identical to the plaintext-trained model: ${f.identical}`);
    phase('fit');

    // ── 6. Register, release through TUF, gateways verify and activate ─────────────────────────
    const versions = new Map<string, number>();
    const deployments: Deployment[] = [];
    for (const f of fitted) {
      const r = revealed.get(f.job.id)!;
      const version = await builder.register(f.job.model, f.job.id, r.plan, f.model, r.moments);
      versions.set(f.job.model, version);
      deployments.push(...await builder.release(f.job.model, version, plantIds));
    }
    await until('every gateway to activate both models', async () => {
      const all = [...edges.values()].every((e) => DEMO_MODELS.every((m) => e.metrics().models?.models[m.id]?.activeVersion === versions.get(m.id)));
      return all ? true : undefined;
    }, 60_000);
    say(`6. Release: the builder registered ${[...versions].map(([m, v]) => `${m} v${v}`).join(', ')} and released them through TUF to ${plantIds.length} fleets; every gateway fetched them over HTTPS from the cloud's /tuf, verified (tuf-js) and activated them; ${phase('release_and_activate')} s`);

    // ── 7. Live: the plants' machines over OPC UA, answered by the models ─────────────────────
    const live: DemoSummary['live'][number][] = [];
    await Promise.all(plants.map(async (p) => {
      const sim = await MillingMachineSim.start({ rows: byType.get(p.type as typeof PLANT_TYPES[number])!.map((r) => r.sim), machines: MACHINES, pkiDir: path.join(p.dir, 'machines-pki'), intervalMs: 60 });
      sims.push(sim);
      const config = p.liveConfig(sim.endpointUrl, MACHINES, (m, s) => sim.nodeId(m, s));
      await edges.get(p.tenant)!.stop();
      const edge = await startEdge(await loadEdgeConfig(config), { onEvent: onEvent(p.tenant) });
      edges.set(p.tenant, edge);
      await edge.ready;
      await until(`${p.tenant}'s models to answer ${LIVE_RECORDS} live records`, async () => {
        const m = edge.metrics().models!.models;
        return DEMO_MODELS.every((d) => m[d.id].decisions >= LIVE_RECORDS) ? true : undefined;
      }, 60_000, 100);
      await edge.reportInference();
      live.push({ plant: p.tenant, endpoint: sim.endpointUrl, machines: MACHINES.length, samples: edge.metrics().policy.samplesIn });
    }));
    live.sort((a, b) => plantIds.indexOf(a.plant) - plantIds.indexOf(b.plant));
    for (const l of live) say(`7. ${l.plant}: the gateway now reads ${l.machines} milling machines over OPC UA (${l.endpoint}); its models answered every live record (${l.samples} so far) and it reported the counts to the log`);
    phase('live_inference');

    // ── 8. The auditor verifies the log ─────────────────────────────────────────────────────
    const audit: LogAudit = await auditLog(auditor, verifierKey, firstCheckpoint, [BUILDER, ...plantIds, 'cloud']);
    // Each gateway also follows the log (DESIGN §8): its local log keeps every checkpoint it checked.
    const witnessed: Record<string, { checks: number; size: number; consistent: boolean }> = {};
    for (const p of plants) {
      const edge = edges.get(p.tenant)!;
      await edge.checkCloudLog();
      const checks = edge.localLog().filter((e) => e.kind === 'checkpoint');
      witnessed[p.tenant] = { checks: checks.length, size: Math.max(0, ...checks.map((c) => Number(c.detail.size))), consistent: checks.length > 0 && checks.every((c) => c.detail.consistent === true) };
    }
    say(`8. Auditor: checkpoint of ${audit.checkpointSize} entries signed by the published log key, consistent with the one verified at ${audit.consistentWith}, every entry's inclusion verified; each gateway checked the cloud's checkpoints for consistency too (${plantIds.map((p) => `${p} ${witnessed[p].checks}`).join(', ')})`);
    phase('verify_log');
    timings.total = seconds(start);

    // ── Summary ────────────────────────────────────────────────────────────────────────────
    const batches = await cloud.lake.batches(DATASET);
    const cloudBytes = plantsSummary.reduce((a, p) => a + p.ciphertextBytes, 0);
    const shares = audit.kinds.decryption_share ?? 0;
    const sums = [...revealed.values()].reduce((a, r) => a + r.plan.aggregation.stats.length, 0);
    const summaries = audit.events.filter((e) => e.kind === 'inference_summary');
    const deploymentsSummary = deployments.map((d) => {
      const reported = summaries.filter((e) => e.tenant === d.fleet && e.details.model === d.modelId);
      return {
        plant: d.fleet, model: d.modelId, version: d.version, sha256: d.sha256,
        activated: edges.get(d.fleet)!.metrics().models?.models[d.modelId]?.activeVersion === d.version,
        records: reported.reduce((a, e) => a + Number(e.details.inferences), 0), abstained: reported.reduce((a, e) => a + Number(e.details.abstained), 0),
      };
    });
    const sawPlants: Record<string, DemoSummary['saw']['plants'][string]> = {};
    for (const p of plantsSummary) {
      sawPlants[p.plant] = {
        ownRecords: p.shared, approvedPlans: approvedPlans.get(p.plant) ?? 0, modelsReceived: DEMO_MODELS.length, otherPlantsRecords: 0,
        text: `its own ${p.shared} records; the ${approvedPlans.get(p.plant)} job plans it approved (totals only); the ${DEMO_MODELS.length} released models with their pooled training moments; nothing of another plant`,
      };
    }
    const summary: DemoSummary = {
      data: { file: dataFile, rows: rows.length, note: `the full AI4I 2020 data set (${rows.length} rows), split into plants by product type` },
      federation: { id: FEDERATION, preset: PRESET, keyHolders, quorum: `${keyHolders.length}-of-${keyHolders.length}`, guards: GUARDS },
      cloud: { url },
      plants: plantsSummary,
      jobs: JOBS.map((j) => {
        const r = revealed.get(j.id)!;
        return { job: j.id, records: r.plan.records, plants: r.plan.plants.length, batches: r.plan.batches.length, statistics: r.plan.aggregation.stats.length, approvals: [...r.view.approvals], shares: [...r.view.shares] };
      }),
      models: fitted.map((f) => ({
        model: f.job.model, family: f.model.family, version: versions.get(f.job.model)!, momentsEqualPlaintext: f.momentsEqual, identical: f.identical,
        encrypted: quality(f.model), plaintext: quality(f.plain),
      })),
      deployments: deploymentsSummary,
      live,
      saw: {
        cloud: {
          batches: batches.length, ciphertextBytes: cloudBytes, records: batches.reduce((a, b) => a + b.recordCount, 0), jobPlans: JOBS.length, revealShares: shares, values: 0,
          text: `${batches.length} ciphertext batches (${mib(cloudBytes)}) with their record counts, ${JOBS.length} job plans, ${shares} reveal shares and ${JOBS.length} results re-encrypted to the builder; sizes and counts, no value`,
        },
        builder: { revealedSums: sums, models: fitted.length, records: 0, text: `${sums} revealed sums (counts, sums, Gram matrices, per class for the classifier) and the ${fitted.length} models fitted from them; no record` },
        plants: sawPlants,
        auditor: { entries: audit.entries, text: `${audit.entries} log entries (ids, counts and hashes; no value), a signed checkpoint and a consistency proof` },
      },
      log: { entries: audit.entries, checkpointSize: audit.checkpointSize, consistentWith: audit.consistentWith, verified: audit.verified, kinds: audit.kinds, witnessed },
      seconds: timings,
    };
    return { summary, url, consoleUrl: `${url.replace('127.0.0.1', 'localhost')}/console/`, users, stop };
  } catch (e) {
    for (const x of events) if (x.event.kind === 'error') say(`   ! ${x.plant}: ${x.event.error.message}`);
    await stop().catch(() => {});
    throw e;
  }
}

/** The plant admin's local approval at the gateway's admin endpoint (what `hedge edge approve --yes` does). */
async function approveAtGateway(adminUrl: string, token: string, jobId: string, by: string): Promise<void> {
  const call = async (method: string, p: string, body?: unknown): Promise<Record<string, unknown>> => {
    const res = await fetch(`${adminUrl.replace(/\/+$/, '')}${p}`, {
      method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const answer = await res.json() as Record<string, unknown>;
    if (!res.ok) throw new Error(`cannot approve ${jobId} at the gateway: ${String(answer.code)}: ${String(answer.message)}`);
    return answer;
  };
  const plan = await call('GET', `/v1/jobs/${encodeURIComponent(jobId)}`);
  await call('POST', `/v1/jobs/${encodeURIComponent(jobId)}/approval`, { planDigest: plan.planDigest, approvedBy: by });
}
