/**
 * `hedge demo`: the whole story in one process, on embedded defaults (README walkthrough).
 *
 * Three plants — the product types L, M and H of the AI4I 2020 data, each a plant with its own
 * machines — and a machine builder form a federation. In order:
 *  1. key ceremony: every key holder draws its secret share; the collective public and
 *     relinearization keys are made from public shares (src/he);
 *  2. each plant replays its machines' history, applies its data policy (shareable signals only,
 *     machine ids pseudonymised, ranges enforced; src/edge); its gateway keeps the records in a
 *     durable buffer, seals batches under the collective key into a durable outbox, and its
 *     uploader sends them to the cloud's lake (idempotent, content-addressed);
 *  3. the cloud plans two jobs — the failure classifier (per-class moments) and the anomaly
 *     detector (pooled moments, label not revealed) — checks the guards and computes on
 *     ciphertexts on worker threads (src/compute);
 *  4. each plant's admin approves the reveal; every key holder re-checks the guards and makes one
 *     flooded share, re-encrypted to the machine builder's key; the cloud combines shares it
 *     cannot read; the builder decrypts the sums and fits the models (src/models);
 *  5. the builder signs and publishes the models through TUF, one delegated fleet per plant
 *     (src/trust); each gateway fetches them with the tuf-js Updater over HTTP, verifies, loads,
 *     activates them under output controls and runs them on live records its OPC UA connector reads
 *     from the plant's simulated milling machines (a real node-opcua server; src/edge, src/runtime);
 *  6. every step is in the transparency log; the demo ends by verifying a signed checkpoint and
 *     the inclusion of every entry.
 * What is still simulated: the parties talk through function calls in this process rather than
 * the cloud's HTTPS API (`hedge cloud start` serves that API; test/cloud/service.test.ts drives the
 * same story over it), and the history is replayed from the CSV file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SealEngine } from '../he/backend/seal.ts';
import { preset } from '../he/params.ts';
import { PartySecret } from '../he/mhe/secret.ts';
import { PublicKeyProtocol } from '../he/mhe/public-key-gen.ts';
import { RelinKeyProtocol } from '../he/mhe/relin-key-gen.ts';
import { ShareLedger } from '../he/mhe/ledger.ts';
import { sumRevealInput } from '../he/mhe/sum-input.ts';
import { RelinKeysCodec } from '../he/wire.ts';
import { aggregateJob, combineForReceiver, makeRevealShare, planJob, receiveMoments, type BatchRef, type JobPlan } from '../compute/index.ts';
import {
  computeMoments, createSchema, evaluateDiscriminant, evaluateMahalanobis, fitDiscriminant, fitMahalanobis, modelToArtifact,
  quantiseDataset, type DatasetSchema, type Model, type Moments,
} from '../models/index.ts';
import { applyPolicy, parsePolicy, PseudonymKey } from '../edge/policy.ts';
import type { RawSample, SharedSample } from '../edge/sample.ts';
import { Gateway } from '../edge/gateway.ts';
import { Outbox } from '../edge/outbox.ts';
import { Uploader } from '../edge/uploader.ts';
import { LakeSink } from '../edge/sinks/lake.ts';
import { OpcuaConnector } from '../edge/connectors/opcua.ts';
import { MILLING_SIGNALS, MillingMachineSim, type MillingRow } from '../edge/sim/milling-machine.ts';
import { FileBlobStore } from '../cloud/blobs.ts';
import { Lake } from '../cloud/lake.ts';
import {
  auditEntry, generateNoteSigner, generateTufKey, hashPayload, KeyRing, openSql, TransparencyLog, TufRepository, type LogEvent,
} from '../trust/index.ts';
import { createControls, inferenceSummaryEvent, loadModel, ModelDelivery, ModelSlots, summariseInference } from '../runtime/index.ts';

const PLANTS = ['L', 'M', 'H'] as const;
const BUILDER = 'builder';
const GUARDS = { minPlants: 3, minRecords: 1000 };
const ORIGIN = 'hedge.demo/log';
const FEATURES = [
  { name: 'air_temperature', lo: 295, hi: 305, unit: 'K', column: 'Air temperature [K]' },
  { name: 'process_temperature', lo: 305, hi: 315, unit: 'K', column: 'Process temperature [K]' },
  { name: 'rotational_speed', lo: 1100, hi: 2900, unit: 'rpm', column: 'Rotational speed [rpm]' },
  { name: 'torque', lo: 0, hi: 80, unit: 'Nm', column: 'Torque [Nm]' },
  { name: 'tool_wear', lo: 0, hi: 260, unit: 'min', column: 'Tool wear [min]' },
] as const;

/** The data policy every demo plant uses (the plant admin's YAML file in a real gateway). */
export const DEMO_POLICY = `version: 1
minBatchSize: 64
signals:
${FEATURES.map((f) => `  ${f.name}:
    classification: internal
    share: true
    unit: ${f.unit}
    range: { lo: ${f.lo}, hi: ${f.hi} }
    outOfRange: clamp`).join('\n')}
  machine_failure:
    classification: internal
    share: false
label:
  signal: machine_failure
  classes:
    - { raw: 1, name: failure }
    - { raw: 0, name: ok }
`;

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Where to keep the lake, the log, the TUF repository and the gateways' files; a temporary folder (removed) by default. */
  readonly dir?: string;
  /** Progress lines (one per step). */
  readonly log?: (line: string) => void;
  /** Worker threads of the cloud's jobs (default 2). */
  readonly threads?: number;
  /** The AI4I 2020 CSV (default `../shared/data/ai4i2020.csv` beside the repository). */
  readonly dataFile?: string;
}

/** What the demo reports at the end (`hedge demo --json` prints it). */
export interface DemoSummary {
  readonly federation: { readonly preset: string; readonly keyHolders: readonly string[]; readonly quorum: string };
  readonly plants: readonly {
    readonly plant: string; readonly rows: number; readonly shared: number; readonly rejected: number; readonly clamped: number;
    readonly batches: number; readonly ciphertextBytes: number; readonly signalsKept: readonly string[];
  }[];
  readonly jobs: readonly { readonly job: string; readonly records: number; readonly plants: number; readonly statistics: number; readonly computeSeconds: number }[];
  readonly models: readonly {
    readonly model: string; readonly family: string;
    readonly encrypted: Readonly<Record<string, number>>; readonly plaintext: Readonly<Record<string, number>>; readonly identical: boolean;
  }[];
  readonly deployments: readonly {
    readonly plant: string; readonly model: string; readonly version: number; readonly sha256: string;
    readonly records: number; readonly served: number; readonly abstained: number;
  }[];
  /** What each party saw, in words. */
  readonly saw: Readonly<Record<string, string>>;
  readonly log: { readonly entries: number; readonly checkpointSize: number; readonly verified: boolean };
  readonly seconds: Readonly<Record<string, number>>;
}

interface Row {
  readonly plant: string;
  readonly machine: string;
  readonly t: number;
  readonly values: Record<string, number>;
}

function readRows(file: string): Row[] {
  const lines = readFileSync(file, 'utf8').trim().split(/\r?\n/);
  const header = lines[0].split(',');
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`cannot read ${file}: column '${name}' is missing`);
    return i;
  };
  const type = col('Type');
  const product = col('Product ID');
  const udi = col('UDI');
  const failure = col('Machine failure');
  const cols = FEATURES.map((f) => col(f.column));
  const t0 = Date.UTC(2026, 10, 1);
  return lines.slice(1).map((line) => {
    const f = line.split(',');
    const values: Record<string, number> = { machine_failure: Number(f[failure]) };
    FEATURES.forEach((spec, j) => { values[spec.name] = Number(f[cols[j]]); });
    return { plant: f[type], machine: f[product], t: t0 + Number(f[udi]) * 60_000, values };
  });
}

/** A little static HTTP server for the TUF repository (what a CDN or the cloud serves). */
async function serve(dir: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const rel = path.normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    readFile(path.join(dir, rel)).then(
      (body) => res.writeHead(200, { 'content-length': body.length }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

/** How many live records each plant's gateway reads from its machines before the demo moves on. */
const LIVE_RECORDS = 60;

/**
 * Plays `rows` on four simulated milling machines behind a real OPC UA server and reads them with
 * the gateway's OPC UA connector, passing each sample (schema order) to `onRecord`, until
 * {@link LIVE_RECORDS} arrived.
 */
async function streamOpcua(pkiDir: string, rows: readonly MillingRow[], onRecord: (row: number[]) => Promise<void>): Promise<{ records: number; machines: number; endpoint: string }> {
  const machines = ['mill-1', 'mill-2', 'mill-3', 'mill-4'];
  const sim = await MillingMachineSim.start({ rows, machines, pkiDir: path.join(pkiDir, 'server'), intervalMs: 60 });
  let records = 0;
  let work: Promise<void> = Promise.resolve();
  let done: () => void = () => {};
  const enough = new Promise<void>((resolve) => { done = resolve; });
  const connector = new OpcuaConnector({
    endpointUrl: sim.endpointUrl, pkiDir: path.join(pkiDir, 'client'), samplingIntervalMs: 0, publishingIntervalMs: 50,
    machines: machines.map((machineId) => ({ machineId, signals: MILLING_SIGNALS.map((x) => ({ name: x.signal, nodeId: sim.nodeId(machineId, x.signal) })) })),
    onEvent: (event) => {
      if (event.kind !== 'sample' || records >= LIVE_RECORDS) return;
      records++;
      const row = FEATURES.map((f) => event.values[f.name]);
      work = work.then(() => onRecord(row));
      if (records >= LIVE_RECORDS) done();
    },
  });
  try {
    await connector.start();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([enough, new Promise((r) => { timer = setTimeout(r, 20_000); })]);
    clearTimeout(timer);
    await work;
    return { records, machines: machines.length, endpoint: sim.endpointUrl };
  } finally {
    await connector.stop();
    await sim.stop();
  }
}

const seconds = (t: number): number => Number(((performance.now() - t) / 1000).toFixed(2));
const sha256 = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');

/**
 * Runs the demo and returns its summary.
 *
 * @throws Error when a step fails (the message says which); a failed verification is an error, never a summary.
 * @example
 * ```ts
 * const summary = await runDemo({ log: console.log });
 * summary.log.verified; // true
 * ```
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoSummary> {
  const say = options.log ?? ((): void => {});
  const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const dataFile = options.dataFile ?? path.resolve(repoRoot, '../shared/data/ai4i2020.csv');
  const dir = options.dir ?? mkdtempSync(path.join(os.tmpdir(), 'hedge-demo-'));
  mkdirSync(dir, { recursive: true });
  const timings: Record<string, number> = {};
  const start = performance.now();
  const sql = await openSql({ databaseUrl: null });
  const logKeys = new KeyRing([{ signer: generateNoteSigner(ORIGIN), notBefore: new Date(0) }]);
  const log = await TransparencyLog.open({ sql, origin: ORIGIN, keys: logKeys });
  const record = async (kind: LogEvent['kind'], actor: string, tenant: string, subject: string, payload: Uint8Array, details: LogEvent['details']): Promise<void> => {
    const event: LogEvent = { kind, time: new Date().toISOString(), actor, tenant, subject, payloadHash: hashPayload(payload), details };
    await log.append([event]);
  };
  let engine: SealEngine | undefined;
  try {
    // ── 1. Key ceremony ──────────────────────────────────────────────────────────────────────
    let t = performance.now();
    engine = await SealEngine.create(preset('BGV_AGG_8192'));
    const e = engine;
    const holders = [...PLANTS.map((p) => `plant-${p}`), BUILDER];
    const secrets = new Map(holders.map((h) => [h, PartySecret.generate(e)]));
    const seed = randomBytes(32);
    const pkp = new PublicKeyProtocol(e);
    const crp = pkp.sampleCrp(seed);
    const pkShares = holders.map((h) => pkp.genShare(secrets.get(h)!, crp));
    for (const h of holders) await record('key_ceremony', `keyholder.${h}`, h, 'ceremony/federation-ai4i', seed, { ceremony: 'federation-ai4i', step: 'public_share' });
    const collectivePk = pkp.genPublicKey(pkp.aggregateShares(pkShares), crp);
    const rkp = new RelinKeyProtocol(e);
    const rcrp = rkp.sampleCrp(seed);
    const round1 = holders.map((h) => rkp.genShareRound1(secrets.get(h)!, rcrp));
    const agg1 = rkp.aggregateShares1(round1.map((r) => r.public));
    const rk = rkp.genRelinKey(agg1, rkp.aggregateShares2(holders.map((h, i) => rkp.genShareRound2(secrets.get(h)!, round1[i].secret, agg1))));
    const relinKeys = RelinKeysCodec.toBytes(e, rk);
    rk[Symbol.dispose]();
    await record('key_ceremony', 'cloud', BUILDER, 'ceremony/federation-ai4i', relinKeys, { ceremony: 'federation-ai4i', step: 'complete' });
    timings.key_ceremony = seconds(t);
    say(`1. Key ceremony: ${holders.join(', ')} hold shares of a key that exists nowhere (${e.params.name}); ${timings.key_ceremony} s`);

    // ── 2. Plants: replay, policy, encrypt, upload ───────────────────────────────────────────
    t = performance.now();
    const schemaLiteral = {
      features: FEATURES.map(({ name, lo, hi, unit }) => ({ name, lo, hi, unit })),
      label: { kind: 'categorical', name: 'machine_failure', classes: ['ok', 'failure'] },
    };
    const schema: DatasetSchema = createSchema(schemaLiteral);
    const rows = readRows(dataFile);
    const policy = parsePolicy(DEMO_POLICY, { source: 'demo-policy.yaml' });
    const lake = await Lake.open({ sql, blobs: await FileBlobStore.open(path.join(dir, 'lake')) });
    await lake.createDataset({ id: 'ai4i', owner: BUILDER, federation: 'ai4i', params: e.params.name, schema: schemaLiteral, retentionDays: 365 });
    const plantsSummary: DemoSummary['plants'][number][] = [];
    const plantRecords = new Map<string, { x: number[][]; labels: string[] }>();
    for (const p of PLANTS) {
      const plant = `plant-${p}`;
      const gatewayDir = path.join(dir, 'gateways', plant);
      mkdirSync(gatewayDir, { recursive: true });
      const key = PseudonymKey.fromBytes(randomBytes(32));
      const raw: RawSample[] = rows.filter((r) => r.plant === p).map((r) => ({ kind: 'sample', machineId: r.machine, t: r.t, values: r.values }));
      const { events: shared, counters } = applyPolicy(policy, key, raw);
      key.destroy();
      const samples = shared.filter((s): s is SharedSample => s.kind === 'sample');
      plantRecords.set(plant, { x: samples.map((s) => FEATURES.map((f) => s.values[f.name])), labels: samples.map((s) => s.label!) });
      // The gateway: a durable record buffer, sealed batches in a durable outbox, an uploader.
      const outbox = Outbox.open({ path: path.join(gatewayDir, 'outbox.db') });
      const gateway = Gateway.open({
        recordsPath: path.join(gatewayDir, 'records.db'), outbox, engine: e, publicKey: collectivePk, schema,
        dataset: 'ai4i', plant, policy, source: { kind: 'samples' },
      });
      const uploader = new Uploader({ outbox, sink: new LakeSink({ lake, engine: e }) });
      try {
        gateway.add(shared);
        const sealed = gateway.seal({ force: true });
        uploader.start();
        await uploader.idle();
        await uploader.stop();
        for (const b of sealed) {
          await record('ingest', `gateway.${plant}`, plant, `batch/${b.batchId}`, new TextEncoder().encode(b.contentHash), { dataset: 'ai4i', records: b.records });
        }
        const bytesOut = sealed.reduce((a, b) => a + b.bytes, 0);
        plantsSummary.push({
          plant, rows: raw.length, shared: counters.samplesOut, rejected: counters.samplesRejected,
          clamped: Object.values(counters.clamped).reduce((a, b) => a + b, 0),
          batches: sealed.length, ciphertextBytes: bytesOut, signalsKept: FEATURES.map((f) => f.name),
        });
        say(`2. ${plant}: ${raw.length} rows replayed, ${counters.samplesOut} records leave as ${sealed.length} encrypted batch(es), ${(bytesOut / 2 ** 20).toFixed(1)} MiB, through its gateway's durable buffer and outbox; machine ids pseudonymised, the failure flag only as a class`);
      } finally {
        gateway.close();
        outbox.close();
      }
    }
    const refs = await lake.batches('ai4i');
    const simRows = new Map(PLANTS.map((p) => [p, rows.filter((r) => r.plant === p).slice(-400).map((r) => r.values as unknown as MillingRow)]));
    timings.ingest = seconds(t);

    // ── 3. Cloud: plan and compute on ciphertexts ───────────────────────────────────────────
    const load = (ref: BatchRef): Promise<Uint8Array> => lake.load(ref);
    const jobs: { id: string; plan: JobPlan; family: 'discriminant' | 'mahalanobis'; seconds: number }[] = [];
    for (const [id, label, family] of [['failure-classifier', true, 'discriminant'], ['anomaly-detector', false, 'mahalanobis']] as const) {
      t = performance.now();
      const plan = planJob(e, schema, { features: FEATURES.map((f) => f.name), label }, refs, GUARDS);
      await record('job', 'cloud', BUILDER, `job/${id}`, new TextEncoder().encode(JSON.stringify(plan.batches.map((b) => b.contentHash))), { dataset: 'ai4i', state: 'submitted' });
      jobs.push({ id, plan, family, seconds: 0 });
    }

    const builderSk = e.generateSecretKey();
    const builderPk = e.publicKeyFor(builderSk);
    const revealed = new Map<string, Moments>();
    for (const job of jobs) {
      t = performance.now();
      await record('job', 'cloud', BUILDER, `job/${job.id}`, new TextEncoder().encode(job.id), { dataset: 'ai4i', state: 'started' });
      const accumulators = await aggregateJob(e, job.plan, { threads: options.threads ?? 2, relinKeys, load });
      job.seconds = seconds(t);
      say(`3. Cloud, ${job.id}: ${job.plan.records} records of ${job.plan.plants.length} plants → ${job.plan.aggregation.stats.length} encrypted sums in ${job.seconds} s, without a key`);

      // ── 4. Approval and reveal to the builder ─────────────────────────────────────────────
      t = performance.now();
      for (const p of PLANTS) await record('job', `admin.plant-${p}`, `plant-${p}`, `job/${job.id}`, new TextEncoder().encode(job.id), { dataset: 'ai4i', state: 'approved' });
      const input = sumRevealInput(e, accumulators);
      const request = { jobId: job.id, plan: job.plan, input, receiver: builderPk, parties: holders.length };
      const shares: Uint8Array[] = [];
      for (const h of holders) {
        const share = makeRevealShare(e, secrets.get(h)!, request, GUARDS, new ShareLedger());
        shares.push(share);
        await record('decryption_share', `keyholder.${h}`, h, `job/${job.id}`, share, { round: job.id, ciphertext: hashPayload(share) });
      }
      using switched = combineForReceiver(e, input, shares);
      revealed.set(job.id, receiveMoments(e, schema, job.plan, switched, builderSk));
      for (const ct of accumulators) ct[Symbol.dispose]();
      await record('job', 'cloud', BUILDER, `job/${job.id}`, new TextEncoder().encode(job.id), { dataset: 'ai4i', state: 'completed' });
      timings[`reveal_${job.id}`] = seconds(t);
      say(`4. Reveal, ${job.id}: 3 plant admins approved; ${shares.length} key holders each sent one flooded share re-encrypted to the builder; the builder decrypted ${input.count} sums`);
    }
    for (const job of jobs) timings[`compute_${job.id}`] = job.seconds;
    builderSk[Symbol.dispose]();

    // ── 5. Models, beside the same models trained on the pooled plaintext ───────────────────
    t = performance.now();
    const allX = PLANTS.flatMap((p) => plantRecords.get(`plant-${p}`)!.x);
    const allLabels = PLANTS.flatMap((p) => plantRecords.get(`plant-${p}`)!.labels);
    const plainMoments = computeMoments(schema, quantiseDataset(schema, allX, allLabels));
    const failureMoments = revealed.get('failure-classifier')!;
    const anomalyMoments = revealed.get('anomaly-detector')!;
    const anomalySchema = createSchema({ features: schema.features.map((f) => ({ ...f })) });
    const classifier = fitDiscriminant(schema, failureMoments, { priors: 'uniform' });
    const detector = fitMahalanobis(anomalySchema, anomalyMoments, { alpha: 0.01 });
    const plainClassifier = fitDiscriminant(schema, plainMoments, { priors: 'uniform' });
    const plainDetector = fitMahalanobis(anomalySchema, computeMoments(anomalySchema, quantiseDataset(anomalySchema, allX)), { alpha: 0.01 });
    const failed = allLabels.map((l) => l === 'failure');
    const evalClassifier = (m: typeof classifier): Record<string, number> => {
      const ev = evaluateDiscriminant(m, allX, allLabels);
      return { accuracy: round4(ev.accuracy), auc: round4(ev.auc ?? Number.NaN), failures_caught: ev.confusion[1][1] };
    };
    const evalDetector = (m: typeof detector): Record<string, number> => {
      const ev = evaluateMahalanobis(m, allX, failed);
      return { flagged_rate: round4(ev.flaggedRate), auc_vs_failures: round4(ev.auc ?? Number.NaN) };
    };
    const modelsSummary = [
      { model: 'ai4i-failure', family: 'discriminant', encrypted: evalClassifier(classifier), plaintext: evalClassifier(plainClassifier), identical: same(classifier, plainClassifier) },
      { model: 'ai4i-anomaly', family: 'mahalanobis', encrypted: evalDetector(detector), plaintext: evalDetector(plainDetector), identical: same(detector, plainDetector) },
    ];
    timings.fit = seconds(t);
    for (const m of modelsSummary) say(`5. ${m.model}: ${JSON.stringify(m.encrypted)}; trained on plaintext: ${JSON.stringify(m.plaintext)}; identical model: ${m.identical}`);

    // ── 6. Release through TUF, delivery, activation and inference at each gateway ─────────
    t = performance.now();
    const tufDir = path.join(dir, 'tuf');
    const repo = await TufRepository.create({ dir: tufDir, keys: { root: generateTufKey(), targets: generateTufKey(), snapshot: generateTufKey(), timestamp: generateTufKey() } });
    const released: { modelId: string; model: Model; moments: Moments; bytes: Uint8Array; lineage: string }[] = [];
    for (const [modelId, model, jobId, moments] of [['ai4i-failure', classifier, 'failure-classifier', failureMoments], ['ai4i-anomaly', detector, 'anomaly-detector', anomalyMoments]] as const) {
      const plan = jobs.find((j) => j.id === jobId)!.plan;
      const artifact = modelToArtifact(model, { modelId, modelVersion: 1, lineage: { jobId, plants: [...plan.plants], batchHashes: plan.batches.map((b) => b.contentHash) } });
      const bytes = new TextEncoder().encode(JSON.stringify(artifact));
      released.push({ modelId, model, moments, bytes, lineage: artifact.lineageDigest.replace(/^sha256:/, '') });
      await record('release', BUILDER, BUILDER, `model/${modelId}`, bytes, { model: modelId, version: 1 });
    }
    const server = await serve(tufDir);
    const deployments: DemoSummary['deployments'][number][] = [];
    try {
      for (const p of PLANTS) {
        const plant = `plant-${p}`;
        await repo.addFleet(plant, [generateTufKey()]);
        const gatewayDir = path.join(dir, 'gateways', plant);
        const targets = [];
        for (const r of released) {
          targets.push({ r, target: await repo.publishModel(plant, { modelId: r.modelId, version: 1, lineageDigest: r.lineage, bytes: r.bytes }) });
          await record('deployment', BUILDER, BUILDER, `model/${r.modelId}`, r.bytes, { model: r.modelId, version: 1, fleet: plant });
        }
        const delivery = await ModelDelivery.open({ fleet: plant, trustedRoot: repo.trustedRoot(), stateDir: path.join(gatewayDir, 'tuf'), source: { kind: 'http', url: server.url } });
        const active: { modelId: string; version: number; sha256: string; loaded: Awaited<ReturnType<typeof loadModel>>; controlled: ReturnType<typeof createControls>; slots: ModelSlots }[] = [];
        for (const { r, target } of targets) {
          const got = await delivery.newerThan(r.modelId, 0);
          if (got === null) throw new Error(`cannot deploy ${r.modelId} to ${plant}: TUF does not list ${target}`);
          const loaded = await loadModel(got.bytes, { expect: { sha256: got.sha256, modelId: r.modelId, modelVersion: got.version } });
          const fallback = r.model.family === 'discriminant' ? { rule: 'constant' as const, output: 'ok' } : { rule: 'constant' as const, output: true };
          const controlled = createControls(loaded, r.moments, { fallback, rangeMargin: 0.05 });
          const slots = await ModelSlots.open({ historyPath: path.join(gatewayDir, `${r.modelId}.history.json`), modelId: r.modelId });
          await slots.stage(controlled);
          const entry = await slots.activate({ actor: `gateway.${plant}`, reason: `TUF target ${target}` });
          await record('activation', `gateway.${plant}`, plant, `model/${r.modelId}`, new TextEncoder().encode(JSON.stringify(entry)), { model: r.modelId, version: 1, action: 'activate' });
          active.push({ modelId: r.modelId, version: got.version, sha256: got.sha256, loaded, controlled, slots });
        }
        // Live data: the plant's milling machines behind a real OPC UA server, read by the gateway's connector.
        const from = new Date();
        const live = await streamOpcua(path.join(gatewayDir, 'opcua'), simRows.get(p)!, async (row) => {
          for (const a of active) await a.slots.predict(row);
        });
        for (const a of active) {
          const counts = a.controlled.takeCounts();
          const summary = summariseInference({ model: a.loaded, counts, from, to: new Date() });
          // The summary (counts only) stays at the gateway; the log records its hash.
          const { event } = inferenceSummaryEvent(summary, { actor: `gateway.${plant}`, tenant: plant });
          await log.append([event]);
          deployments.push({ plant, model: a.modelId, version: a.version, sha256: a.sha256, records: counts.records, served: counts.served, abstained: counts.abstained });
          await a.loaded.close();
        }
        say(`6. ${plant}: verified ${targets.length} models through TUF (tuf-js), activated them, ran them on ${live.records} live records of ${live.machines} machines read over OPC UA (${live.endpoint})`);
      }
    } finally {
      await server.close();
    }
    timings.deliver_and_infer = seconds(t);

    // ── 7. The log, verified ─────────────────────────────────────────────────────────────────
    t = performance.now();
    const checkpoint = await log.signCheckpoint();
    const verifiers = logKeys.verifiers();
    for (let i = 0; i < log.size; i++) {
      const proof = await log.inclusionProof(i);
      auditEntry({ checkpoint, entry: await log.entry(i), index: i, proof: proof.proof }, verifiers, ORIGIN);
    }
    timings.verify_log = seconds(t);
    timings.total = seconds(start);
    say(`7. Transparency log: ${log.size} entries, checkpoint signed, every entry's inclusion verified by the auditor`);

    const cloudBytes = plantsSummary.reduce((a, p) => a + p.ciphertextBytes, 0);
    const sums = jobs.reduce((a, j) => a + j.plan.aggregation.stats.length, 0);
    return {
      federation: { preset: e.params.name, keyHolders: holders, quorum: `${holders.length}-of-${holders.length}` },
      plants: plantsSummary,
      jobs: jobs.map((j) => ({ job: j.id, records: j.plan.records, plants: j.plan.plants.length, statistics: j.plan.aggregation.stats.length, computeSeconds: j.seconds })),
      models: modelsSummary,
      deployments,
      saw: {
        cloud: `${refs.length} ciphertext batches (${(cloudBytes / 2 ** 20).toFixed(1)} MiB), job plans, and ${holders.length * jobs.length} reveal shares it cannot read; no record and no result`,
        builder: `${sums} revealed sums (counts, sums, Gram matrices per class) and the models fitted from them; no record`,
        plants: 'their own records, and the released models; nothing of another plant',
        auditor: `${log.size} log entries (ids, counts and hashes only) and a signed checkpoint`,
      },
      log: { entries: log.size, checkpointSize: log.size, verified: true },
      seconds: timings,
    };
  } finally {
    engine?.[Symbol.dispose]();
    await sql.close();
    if (options.dir === undefined) rmSync(dir, { recursive: true, force: true });
  }
}

function round4(x: number): number {
  return Number(x.toFixed(4));
}

/** Two models are the same when their JSON forms are. */
function same(a: Model, b: Model): boolean {
  return sha256(JSON.stringify(a)) === sha256(JSON.stringify(b));
}
