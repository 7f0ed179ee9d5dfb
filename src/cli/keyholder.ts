/**
 * The machine builder as a key holder, from the command line (the plants' key holders run inside
 * their gateways, `hedge edge start`):
 *
 * - `hedge federation join <id> --keys <dir>`: creates the builder's key custody on first use,
 *   answers the key ceremony's rounds until the collective keys exist, and registers the
 *   receiver key that results are switched to (its secret stays in the custody file);
 * - `hedge job reveal <job> --keys <dir> --schema <file>`: approves the job's plan as the
 *   builder, makes the builder's reveal share, waits for the plants' shares and opens the result
 *   into the job's moments (a JSON file);
 * - `hedge model register <model> --job <job> --moments <file> --schema <file> --family …`: fits
 *   the model from those moments and registers it as the model's next version.
 *
 * Custody is unlocked with `--key-file` (32+ random bytes, mode 0600) or the passphrase in
 * `$HEDGE_CUSTODY_PASSPHRASE`.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { CLOUD_ERR, CloudError } from '../cloud/errors.ts';
import { SealEngine } from '../he/backend/seal.ts';
import { preset } from '../he/params.ts';
import { sumRevealInput } from '../he/mhe/sum-input.ts';
import { decodePartial } from '../compute/partial.ts';
import { ceremonyTurn, keyHolderFederation, revealAsk } from '../edge/ceremony.ts';
import { CloudCallError, CloudClient as KeyHolderClient, type FederationView } from '../edge/cloud-client.ts';
import type { CustodyUnlock } from '../edge/custody.ts';
import { jobPlanDigest, KeyHolder } from '../edge/keyholder.ts';
import {
  createSchema, fitDiscriminant, fitMahalanobis, fitPca, fitRidge, modelToArtifact, momentsFromJSON, momentsToJSON,
  type DatasetSchema, type Model, type Moments,
} from '../models/index.ts';
import { connect, connection, print, withConnection, type ConnectionOptions } from './client.ts';

/** Options of the key-holder commands. */
interface KeyOptions extends ConnectionOptions {
  readonly keys: string;
  readonly keyFile?: string;
  readonly allowInsecureParams?: boolean;
  readonly timeout: number;
  readonly json?: boolean;
}

const seconds = (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new CloudError(CLOUD_ERR.VALIDATION, `cannot read --timeout: expected a positive number of seconds, got ${JSON.stringify(v)}`);
  return n;
};

function withKeys(cmd: Command): Command {
  return withConnection(cmd)
    .requiredOption('--keys <dir>', 'the builder\'s key holder folder (custody, ledger, log); created on first use')
    .option('--key-file <file>', 'unlocks custody (else the passphrase in $HEDGE_CUSTODY_PASSPHRASE)')
    .option('--allow-insecure-params', 'accept TEST_INSECURE_* parameter presets (tests only)')
    .option('--timeout <s>', 'give up waiting after this many seconds', seconds, 3600)
    .option('--json', 'print the outcome as JSON on stdout');
}

function unlockOf(opts: KeyOptions): CustodyUnlock {
  if (opts.keyFile !== undefined) return { keyFile: path.resolve(opts.keyFile) };
  const passphrase = process.env.HEDGE_CUSTODY_PASSPHRASE;
  if (passphrase === undefined) throw new CloudError(CLOUD_ERR.VALIDATION, 'cannot unlock key custody: no --key-file and no $HEDGE_CUSTODY_PASSPHRASE', { hint: 'set HEDGE_CUSTODY_PASSPHRASE (12+ characters) or pass --key-file' });
  return { passphrase };
}

/**
 * The key holder's client (bearer token), the federation — `federationOf` names it, given the
 * client — and a SEAL engine of its preset.
 */
async function keyHolderContext(opts: KeyOptions, federationOf: (cloud: KeyHolderClient) => Promise<string>): Promise<{ cloud: KeyHolderClient; federation: FederationView; engine: SealEngine }> {
  const c = await connection(opts);
  const cloud = new KeyHolderClient({ url: c.url, tenant: c.tenant, tls: { ca: c.ca }, token: c.token! });
  const federationId = await federationOf(cloud);
  const federation = await cloud.federation(federationId);
  if (!federation.members.some((m) => m.tenant === c.tenant)) {
    throw new CloudError(CLOUD_ERR.VALIDATION, `cannot act as key holder of ${federationId}: tenant ${c.tenant} is not a member`, { hint: 'pass --tenant: the machine builder\'s tenant' });
  }
  const engine = await SealEngine.create(preset(federation.preset, { allowInsecure: opts.allowInsecureParams === true }));
  return { cloud, federation, engine };
}

/** Opens (creating on first use) the builder's key holder; with `receiver`, able to make reveal shares. */
async function openKeyHolder(opts: KeyOptions, engine: SealEngine, tenant: string, f: FederationView, receiver?: Uint8Array): Promise<KeyHolder> {
  const unlock = unlockOf(opts);
  if (!existsSync(path.join(opts.keys, 'custody.hkc'))) await KeyHolder.init(opts.keys, engine, unlock);
  return KeyHolder.open({
    dir: opts.keys, engine, unlock,
    policy: { minPlants: f.guards.minPlants, minRecords: f.guards.minRecords, maxRevealsPerDay: 100 },
    federation: { ...keyHolderFederation(f, tenant), ...(receiver === undefined ? {} : { receiver }) },
  });
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A status line on stderr: redrawn in place on a terminal, one line per change otherwise. */
function statusLine(): (line: string) => void {
  const tty = process.stderr.isTTY === true;
  let last = '';
  return (line) => {
    if (line === last) return;
    last = line;
    process.stderr.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
  };
}

/**
 * `hedge federation join`: the builder's turn in every ceremony round, then its receiver key.
 *
 * @throws {CloudError} when the tenant is not a member or the wait times out; the key holder's
 *   and the cloud's errors
 */
async function joinFederation(id: string, opts: KeyOptions): Promise<{ federation: string; round: string; receiverKeyHash?: string }> {
  const { cloud, federation, engine } = await keyHolderContext(opts, async () => id);
  const show = statusLine();
  let receiverKeyHash: string | undefined;
  try {
    using kh = await openKeyHolder(opts, engine, cloud.tenant, federation);
    const until = Date.now() + opts.timeout * 1000;
    let f = federation;
    while (f.round !== 'ready') {
      const turn = await ceremonyTurn(kh, cloud, f);
      show(turn ? `ceremony ${f.id}: sent ${turn.round} share (${turn.status})` : `ceremony ${f.id}: round ${f.round}, waiting for ${f.missing.join(', ')}`);
      if (Date.now() > until) throw new CloudError(CLOUD_ERR.STATE, `cannot finish the ceremony of ${id}: still in round ${f.round} after ${opts.timeout} s, waiting for ${f.missing.join(', ')}`, { hint: 'run the command again: every round answered so far is kept' });
      if (!turn) await sleep(1000);
      f = await cloud.federation(id);
    }
    show(`ceremony ${f.id}: keys ready`);
    if (f.receiver === cloud.tenant) {
      const mine = kh.receiverKey();
      let registered: Uint8Array | undefined;
      try {
        registered = await cloud.material(id, 'receiver-key');
      } catch (e) {
        if (!(e instanceof CloudCallError && e.status === 409)) throw e;
      }
      if (registered === undefined) await cloud.putReceiverKey(id, mine);
      else if (sha256(registered) !== sha256(mine)) {
        throw new CloudError(CLOUD_ERR.CONFLICT, `cannot register the receiver key of ${id}: the cloud holds another one (SHA-256 ${sha256(registered)})`, { hint: 'results are switched to the registered key; use the key holder folder that registered it' });
      }
      receiverKeyHash = sha256(mine);
    }
    if (process.stderr.isTTY) process.stderr.write('\n');
    return { federation: id, round: 'ready', ...(receiverKeyHash === undefined ? {} : { receiverKeyHash }) };
  } finally {
    engine[Symbol.dispose]();
  }
}

async function readSchema(file: string): Promise<DatasetSchema> {
  try {
    return createSchema(JSON.parse(await readFile(file, 'utf8')));
  } catch (cause) {
    throw new CloudError(CLOUD_ERR.VALIDATION, `cannot read schema ${file}: ${(cause as Error).message}`, { cause, hint: 'the JSON schema file the dataset was defined with (hedge dataset create --schema)' });
  }
}

/**
 * `hedge job reveal`: the builder approves the job's plan, makes its share, waits for the result
 * and opens it.
 *
 * @throws {CloudError} on a job that failed or a wait that timed out; the key holder's errors
 *   (a refused share says why)
 */
async function revealJob(jobId: string, opts: KeyOptions & { schema: string; out: string }): Promise<{ job: string; records: number; features: readonly string[]; out: string }> {
  const schema = await readSchema(opts.schema);
  const { cloud, federation, engine } = await keyHolderContext(opts, async (client) => (await client.job(jobId)).federation);
  const show = statusLine();
  try {
    let receiver: Uint8Array;
    {
      using kh = await openKeyHolder(opts, engine, cloud.tenant, federation);
      receiver = await cloud.material(federation.id, 'receiver-key');
      if (federation.receiver === cloud.tenant && sha256(receiver) !== sha256(kh.receiverKey())) {
        throw new CloudError(CLOUD_ERR.CONFLICT, `cannot reveal job ${jobId}: the federation's registered receiver key is not this key holder's`, { hint: 'use the key holder folder that ran hedge federation join' });
      }
    }
    using kh = await openKeyHolder(opts, engine, cloud.tenant, federation, receiver);
    const plan = await cloud.plan(jobId);
    if (kh.approval(jobId) === undefined) kh.approve({ jobId, planDigest: jobPlanDigest(plan), approvedBy: `builder:${cloud.tenant}` });
    const until = Date.now() + opts.timeout * 1000;
    // Additive: one share per job; t-of-n: one per attempt whose active set holds this key holder.
    let shared: string | undefined;
    for (;;) {
      const job = await cloud.job(jobId);
      if (job.state === 'failed' || job.state === 'cancelled' || job.state === 'expired') throw new CloudError(CLOUD_ERR.STATE, `cannot reveal job ${jobId}: it ${job.state}`);
      if (job.state === 'revealed') break;
      const attemptKey = String(job.attempt ?? 'job');
      const asked = job.activeSet === undefined || job.activeSet.includes(cloud.tenant);
      if (job.state === 'revealing' && asked && shared !== attemptKey && !job.shares.includes(cloud.tenant)) {
        const request = await cloud.revealRequest(jobId);
        if (request.receiverKeyHash !== sha256(receiver)) throw new CloudError(CLOUD_ERR.CONFLICT, `cannot reveal job ${jobId}: the request's receiver key is not the federation's registered one`);
        const ask = revealAsk(request, cloud.tenant);
        if (ask !== undefined) {
          const accs = decodePartial(engine, await cloud.aggregate(jobId), request.plan.aggregation.stats.length);
          try {
            await cloud.postRevealShare(jobId, kh.revealShare({ jobId, plan: request.plan, input: sumRevealInput(engine, accs), receiver, ...ask.share }), ask.attempt);
          } finally {
            for (const ct of accs) ct[Symbol.dispose]();
          }
          shared = String(request.attempt ?? 'job');
        }
      }
      show(`job ${jobId} ${job.state}: approvals ${job.approvals.length}/${job.plants.length}, shares ${job.shares.length + (shared === attemptKey && !job.shares.includes(cloud.tenant) ? 1 : 0)}/${job.activeSet?.length ?? federation.members.length}`);
      if (Date.now() > until) throw new CloudError(CLOUD_ERR.STATE, `cannot reveal job ${jobId}: still ${job.state} after ${opts.timeout} s`, { hint: 'plant admins approve with hedge approve; run this again to keep waiting' });
      await sleep(1000);
    }
    if (federation.receiver !== cloud.tenant) throw new CloudError(CLOUD_ERR.STATE, `cannot open job ${jobId}: its result is for ${federation.receiver}`);
    const moments = kh.openResult(schema, plan, await cloud.result(jobId));
    await writeFile(opts.out, `${JSON.stringify(momentsToJSON(moments), null, 2)}\n`, { mode: 0o600 });
    show(`job ${jobId} revealed: ${moments.count} records, moments in ${opts.out}`);
    if (process.stderr.isTTY) process.stderr.write('\n');
    return { job: jobId, records: Number(moments.count), features: moments.features, out: opts.out };
  } finally {
    engine[Symbol.dispose]();
  }
}

const FAMILIES = ['lda', 'qda', 'mahalanobis', 'ridge', 'pca'] as const;

/** Fits a model of `family` from the moments. */
function fit(family: (typeof FAMILIES)[number], schema: DatasetSchema, moments: Moments): Model {
  switch (family) {
    case 'lda': return fitDiscriminant(schema, moments, { kind: 'linear', priors: 'uniform' });
    case 'qda': return fitDiscriminant(schema, moments, { kind: 'quadratic', priors: 'uniform' });
    case 'mahalanobis': return fitMahalanobis(schema, moments);
    case 'ridge': return fitRidge(schema, moments);
    case 'pca': return fitPca(schema, moments);
  }
}

/**
 * Registers `hedge federation join`, `hedge job reveal` and `hedge model register` on the
 * `federation`, `job` and `model` commands (register those first).
 *
 * @throws {Error} when one of the three parent commands is missing
 * @example
 * ```ts
 * registerKeyHolderCommands(program); // hedge federation join mills --keys ./builder-keys
 * ```
 */
export function registerKeyHolderCommands(program: Command): void {
  const parent = (name: string): Command => {
    const c = program.commands.find((x) => x.name() === name);
    if (c === undefined) throw new Error(`register the ${name} command before the key holder's`);
    return c;
  };
  withKeys(parent('federation').command('join <id>'))
    .description('as the machine builder: answer the key ceremony with your key share, then register your receiver key')
    .action(async (id: string, opts: KeyOptions) => {
      print(opts.json, await joinFederation(id, opts), (r) => `federation ${r.federation}: keys ready${r.receiverKeyHash ? `; receiver key ${r.receiverKeyHash.slice(0, 16)}… registered` : ''}`);
    });
  withKeys(parent('job').command('reveal <job>'))
    .description('as the machine builder: approve and share the reveal of a job, wait for the plants, and open the result into moments')
    .requiredOption('--schema <file>', 'the dataset\'s schema (the file given to hedge dataset create)')
    .option('--out <file>', 'where the moments go (JSON)', 'moments.json')
    .action(async (id: string, opts: KeyOptions & { schema: string; out: string }) => {
      print(opts.json, await revealJob(id, opts), (r) => `job ${r.job} revealed to you: moments of ${r.records} records over ${r.features.join(', ')} in ${r.out}`);
    });
  withConnection(parent('model').command('register <model>'))
    .description('fit a model from a revealed job\'s moments and register it as the model\'s next version')
    .requiredOption('--job <id>', 'the revealed job the moments came from')
    .requiredOption('--moments <file>', 'the moments (hedge job reveal --out)')
    .requiredOption('--schema <file>', 'the dataset\'s schema')
    .requiredOption('--family <name>', `one of ${FAMILIES.join(', ')}`)
    .option('--json', 'print the registered version as JSON')
    .action(async (modelId: string, opts: ConnectionOptions & { job: string; moments: string; schema: string; family: string; json?: boolean }) => {
      if (!(FAMILIES as readonly string[]).includes(opts.family)) throw new CloudError(CLOUD_ERR.VALIDATION, `cannot register ${modelId}: --family must be one of ${FAMILIES.join(', ')}, got ${JSON.stringify(opts.family)}`);
      const schema = await readSchema(opts.schema);
      let moments: Moments;
      try {
        moments = momentsFromJSON(JSON.parse(await readFile(opts.moments, 'utf8')));
      } catch (cause) {
        throw new CloudError(CLOUD_ERR.VALIDATION, `cannot read moments ${opts.moments}: ${(cause as Error).message}`, { cause, hint: 'the file hedge job reveal wrote' });
      }
      const model = fit(opts.family as (typeof FAMILIES)[number], schema, moments);
      // The registry sets the version and pins the lineage from the job's plan (`Registry.register`),
      // whatever the uploaded artifact says; the artifact carries the model and its moments.
      const artifact = modelToArtifact(model, { modelId, modelVersion: 1, lineage: { jobId: opts.job, plants: [], batchHashes: [] }, reference: moments });
      const { client, tenant } = await connect(opts);
      const v = await client.call<{ modelId: string; version: number; family: string; metrics: Record<string, number> }>('POST', `/v1/tenants/${tenant}/models/${encodeURIComponent(modelId)}/versions`, { jobId: opts.job, artifact });
      print(opts.json, v, (x) => `registered ${x.modelId} v${x.version} (${x.family}): ${Object.entries(x.metrics).map(([k, m]) => `${k}=${Number(m.toPrecision(4))}`).join(' ')}`);
    });
}
