/**
 * Test helper: the cloud as a process (`hedge cloud start`), `hedge worker` processes, and an
 * HTTPS client with a trusted CA and an optional bearer token or gateway client certificate; the
 * steps every end-to-end story repeats (users, login, gateway enrolment, federation and ceremony,
 * reveal). Exports only.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A `hedge cloud start` child process and its URL. */
export interface Server { child: ChildProcess; url: string }
/** An HTTPS answer. */
export interface Answer { status: number; body: Buffer; json<T = Record<string, unknown>>(): T }
/** Who calls: the CA to trust, and a bearer token or a client certificate. */
export interface Identity { ca: string; token?: string; cert?: string; key?: string }

/** Starts `hedge cloud start` on `port` with a bootstrap users file (and `extra` options); resolves once it listens. */
export function startServer(dataDir: string, port: number, users: string, extra: readonly string[] = []): Promise<Server> {
  const child = spawn(process.execPath, ['bin/hedge.js', 'cloud', 'start', '--data-dir', dataDir, '--port', String(port), '--bootstrap', users, '--threads', '1', ...extra], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on (https:\/\/[^\s]+)/.exec(err);
      if (m) resolve({ child, url: m[1] });
    });
    child.on('exit', (code, signal) => reject(new Error(`cloud exited (${code ?? signal}): ${err}`)));
  });
}

/** Starts `hedge worker` on the queue at `databaseUrl` and the lake folder `lake`; resolves once it is ready. */
export function startWorker(databaseUrl: string, lake: string, id: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['bin/hedge.js', 'worker', '--database-url', databaseUrl, '--lake', lake, '--id', id], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes(`worker ${id} ready`)) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`worker ${id} exited with ${code}: ${err}`)));
  });
}

/** Stops child processes with SIGTERM and waits for them to exit. */
export async function stopAll(children: readonly ChildProcess[]): Promise<void> {
  await Promise.all(children.map((c) => new Promise((r) => {
    if (c.exitCode !== null || c.signalCode !== null) return r(null);
    c.once('exit', r);
    c.kill('SIGTERM');
  })));
}

/**
 * Writes a `--bootstrap` users file: `alice`, machine builder of `builder`, `admin-<plant>`, plant
 * admin of each plant, and the `extra` users (one role each), all with `password`.
 */
export function writeUsers(file: string, plants: readonly string[], password: string, extra: readonly { username: string; role: string; tenant: string }[] = []): void {
  writeFileSync(file, JSON.stringify([
    { username: 'alice', password, roles: [{ role: 'machine_builder', tenant: 'builder' }] },
    ...plants.map((p) => ({ username: `admin-${p}`, password, roles: [{ role: 'plant_admin', tenant: p }] })),
    ...extra.map(({ username, role, tenant }) => ({ username, password, roles: [{ role, tenant }] })),
  ]));
}

/** Logs a local user in at the cloud's token endpoint: an identity with its bearer token. */
export async function login(base: string, ca: string, username: string, password: string): Promise<Identity> {
  return { ca, token: (await ok(call(base, { ca }, 'POST', '/v1/auth/token', { username, password }))).json<{ accessToken: string }>().accessToken };
}

/** Enrols gateway `gw-1` of each plant through the API (its admin makes the token): their client-certificate identities. */
export async function enrolGateways(base: string, ca: string, plants: readonly string[], admin: (plant: string) => Promise<Identity>): Promise<Map<string, Identity>> {
  const { gatewayKey } = await import('./_fixtures.ts');
  const gateways = new Map<string, Identity>();
  for (const p of plants) {
    const { token } = (await ok(call(base, await admin(p), 'POST', `/v1/tenants/${p}/enrolments`, { gateway: 'gw-1' }), 201)).json<{ token: string }>();
    const key = await gatewayKey();
    const { certificate } = (await ok(call(base, { ca }, 'POST', '/v1/enrol', { token, csr: key.csr }), 201)).json<{ certificate: string }>();
    gateways.set(p, { ca, cert: certificate, key: key.privateKeyPem });
  }
  return gateways;
}

/** SIGKILLs the server and waits for it to exit. */
export function kill(s: Server): Promise<void> {
  return new Promise((resolve) => {
    if (s.child.exitCode !== null || s.child.signalCode !== null) return resolve();
    s.child.once('exit', () => resolve());
    s.child.kill('SIGKILL');
  });
}

/** One HTTPS request (JSON or binary body). */
export function call(base: string, who: Identity, method: string, url: string, body?: unknown): Promise<Answer> {
  const binary = body instanceof Uint8Array;
  const payload = body === undefined ? undefined : binary ? Buffer.from(body as Uint8Array) : Buffer.from(JSON.stringify(body));
  const headers: Record<string, string> = {};
  if (payload !== undefined) headers['content-type'] = binary ? 'application/octet-stream' : 'application/json';
  if (who.token) headers.authorization = `Bearer ${who.token}`;
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`${base}${url}`, { method, headers, ca: who.ca, cert: who.cert, key: who.key, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const b = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, body: b, json: <T>() => JSON.parse(b.toString()) as T });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** Awaits an answer and asserts its status (default 200). */
export async function ok(p: Promise<Answer>, ...status: number[]): Promise<Answer> {
  const a = await p;
  assert.ok((status.length ? status : [200]).includes(a.status), `HTTP ${a.status}: ${a.body.toString().slice(0, 300)}`);
  return a;
}


/**
 * Runs a federation's key ceremony over HTTPS: each member computes its public shares locally and
 * posts them as its own identity. Returns the members' secrets and the collective public key.
 */
export async function ceremonyOverHttps(
  base: string, engine: import('../../src/he/backend/seal.ts').SealEngine, federation: string, seedHex: string,
  members: readonly string[], as: (tenant: string) => Identity, options: { readonly waitForOthers?: boolean } = {},
): Promise<{ secrets: Map<string, import('../../src/he/mhe/secret.ts').PartySecret>; publicKey: Uint8Array }> {
  const { PartySecret } = await import('../../src/he/mhe/secret.ts');
  const { PublicKeyProtocol } = await import('../../src/he/mhe/public-key-gen.ts');
  const { RelinKeyProtocol } = await import('../../src/he/mhe/relin-key-gen.ts');
  const { PublicKeyShareCodec, RelinKeyShare1Codec, RelinKeyShare2Codec } = await import('../../src/he/wire.ts');
  const seed = Buffer.from(seedHex, 'hex');
  const secrets = new Map(members.map((m) => [m, PartySecret.generate(engine)]));
  const url = (m: string, rest: string): string => `/v1/tenants/${m}/federations/${federation}/${rest}`;
  // With other key holders answering on their own (a CLI, a gateway): wait for the cloud to open each round.
  const reach = async (round: string): Promise<void> => {
    while (options.waitForOthers === true) {
      const f = (await ok(call(base, as(members[0]), 'GET', `/v1/tenants/${members[0]}/federations/${federation}`))).json<{ round: string }>();
      if (['pk', 'rlk1', 'rlk2', 'ready'].indexOf(f.round) >= ['pk', 'rlk1', 'rlk2', 'ready'].indexOf(round)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const pkp = new PublicKeyProtocol(engine);
  const crp = pkp.sampleCrp(seed);
  for (const m of members) await ok(call(base, as(m), 'POST', url(m, 'ceremony/pk'), PublicKeyShareCodec.toBytes(engine, pkp.genShare(secrets.get(m)!, crp))));
  const rkp = new RelinKeyProtocol(engine);
  const rcrp = rkp.sampleCrp(seed);
  const r1 = new Map(members.map((m) => [m, rkp.genShareRound1(secrets.get(m)!, rcrp)]));
  await reach('rlk1');
  for (const m of members) await ok(call(base, as(m), 'POST', url(m, 'ceremony/rlk1'), RelinKeyShare1Codec.toBytes(engine, r1.get(m)!.public)));
  await reach('rlk2');
  const agg1 = RelinKeyShare1Codec.fromBytes(engine, (await ok(call(base, as(members[0]), 'GET', url(members[0], 'material/relin-round1')))).body);
  for (const m of members) await ok(call(base, as(m), 'POST', url(m, 'ceremony/rlk2'), RelinKeyShare2Codec.toBytes(engine, rkp.genShareRound2(secrets.get(m)!, r1.get(m)!.secret, agg1))));
  await reach('ready');
  return { secrets, publicKey: (await ok(call(base, as(members[0]), 'GET', url(members[0], 'material/public-key')))).body };
}

/** The dataset of the cloud process stories: six signals `s0`…`s5` in [0, 100] and a continuous label `y` in [0, 100]. */
export const SIGNALS_SCHEMA = {
  features: Array.from({ length: 6 }, (_, j) => ({ name: `s${j}`, lo: 0, hi: 100 })),
  label: { kind: 'continuous', name: 'y', lo: 0, hi: 100 },
};

/**
 * Sets up federation `mills` over HTTPS as every deployment does: the builder (`as('builder')`)
 * creates it for `plants` and itself with `guards`, every member runs the key ceremony, the builder
 * registers a fresh receiver key and creates dataset `mills` of {@link SIGNALS_SCHEMA} (kept 365
 * days). Returns the members' secrets and the builder's secret key (the caller disposes it).
 */
export async function federationOverHttps(
  base: string, engine: import('../../src/he/backend/seal.ts').SealEngine, plants: readonly string[], as: (tenant: string) => Identity,
  guards: { minPlants: number; minRecords: number },
): Promise<{ secrets: Map<string, import('../../src/he/mhe/secret.ts').PartySecret>; builderSk: import('../../src/he/backend/seal.ts').SecretKey }> {
  const { PublicKeyCodec } = await import('../../src/he/wire.ts');
  const builder = as('builder');
  const members = [...plants.map((tenant) => ({ tenant, role: 'plant' })), { tenant: 'builder', role: 'builder' }];
  const fed = (await ok(call(base, builder, 'POST', '/v1/tenants/builder/federations', { id: 'mills', preset: engine.params.name, members, guards }), 201)).json<{ seed: string }>();
  const { secrets } = await ceremonyOverHttps(base, engine, 'mills', fed.seed, members.map((m) => m.tenant), as);
  const builderSk = engine.generateSecretKey();
  try {
    using builderPk = engine.publicKeyFor(builderSk);
    await ok(call(base, builder, 'PUT', '/v1/tenants/builder/federations/mills/receiver-key', PublicKeyCodec.toBytes(engine, builderPk)));
    await ok(call(base, builder, 'POST', '/v1/tenants/builder/datasets', { id: 'mills', federation: 'mills', schema: SIGNALS_SCHEMA, retentionDays: 365 }), 201);
    return { secrets, builderSk };
  } catch (e) {
    builderSk[Symbol.dispose]();
    throw e;
  }
}

/**
 * Makes and posts every member's reveal share of a job over HTTPS, as key holders do.
 */
export async function revealOverHttps(
  base: string, engine: import('../../src/he/backend/seal.ts').SealEngine, job: string, federation: string,
  secrets: ReadonlyMap<string, import('../../src/he/mhe/secret.ts').PartySecret>, as: (tenant: string) => Identity, guards: { minPlants: number; minRecords: number },
): Promise<void> {
  const { decodePartial } = await import('../../src/compute/partial.ts');
  const { makeRevealShare } = await import('../../src/compute/reveal.ts');
  const { sumRevealInput } = await import('../../src/he/mhe/sum-input.ts');
  const { ShareLedger } = await import('../../src/he/mhe/ledger.ts');
  const { PublicKeyCodec } = await import('../../src/he/wire.ts');
  for (const [m, secret] of secrets) {
    const who = as(m);
    const req = (await ok(call(base, who, 'GET', `/v1/tenants/${m}/jobs/${job}/reveal-request`))).json<{ plan: import('../../src/compute/plan.ts').JobPlan; parties: number }>();
    const accs = decodePartial(engine, (await ok(call(base, who, 'GET', `/v1/tenants/${m}/jobs/${job}/aggregate`))).body, req.plan.aggregation.stats.length);
    using receiver = PublicKeyCodec.fromBytes(engine, (await ok(call(base, who, 'GET', `/v1/tenants/${m}/federations/${federation}/material/receiver-key`))).body);
    const share = makeRevealShare(engine, secret, { jobId: job, plan: req.plan, input: sumRevealInput(engine, accs), receiver, parties: req.parties }, guards, new ShareLedger());
    for (const ct of accs) ct[Symbol.dispose]();
    await ok(call(base, who, 'POST', `/v1/tenants/${m}/jobs/${job}/reveal-shares`, share));
  }
}
