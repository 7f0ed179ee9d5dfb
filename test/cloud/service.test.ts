/**
 * `hedge cloud start` as a process, over real HTTPS with gateway client certificates: the whole
 * flow (enrolment, key ceremony, uploads, a job, approvals, reveal, result) with the server
 * SIGKILLed during ingestion and again during the job. After each restart nothing is lost or
 * counted twice: re-sent batches are acknowledged once, the job runs again and completes, and the
 * builder's result decrypts to the plaintext moments.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gatewayKey } from './_fixtures.ts';
import { SealEngine } from '../../src/he/backend/seal.ts';
import { preset } from '../../src/he/params.ts';
import { PartySecret } from '../../src/he/mhe/secret.ts';
import { PublicKeyProtocol } from '../../src/he/mhe/public-key-gen.ts';
import { RelinKeyProtocol } from '../../src/he/mhe/relin-key-gen.ts';
import { ShareLedger } from '../../src/he/mhe/ledger.ts';
import { sumRevealInput } from '../../src/he/mhe/sum-input.ts';
import { CiphertextCodec, PublicKeyCodec, PublicKeyShareCodec, RelinKeyShare1Codec, RelinKeyShare2Codec } from '../../src/he/wire.ts';
import { sealBatch } from '../../src/compute/batch.ts';
import { decodePartial } from '../../src/compute/partial.ts';
import { makeRevealShare, receiveMoments } from '../../src/compute/reveal.ts';
import type { JobPlan } from '../../src/compute/plan.ts';
import { computeMoments } from '../../src/models/moments.ts';
import { createSchema, quantiseDataset } from '../../src/models/schema.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PLANTS = ['plant-a', 'plant-b', 'plant-c'];
const PASSWORD = 'correct horse battery staple';

interface Server { child: ChildProcess; url: string }
interface Answer { status: number; body: Buffer; json<T = Record<string, unknown>>(): T }
interface Identity { ca: string; token?: string; cert?: string; key?: string }

function startServer(dataDir: string, port: number, users: string): Promise<Server> {
  const child = spawn(process.execPath, ['bin/hedge.js', 'cloud', 'start', '--data-dir', dataDir, '--port', String(port), '--bootstrap', users, '--threads', '1'], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
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

function kill(s: Server): Promise<void> {
  return new Promise((resolve) => {
    if (s.child.exitCode !== null || s.child.signalCode !== null) return resolve();
    s.child.once('exit', () => resolve());
    s.child.kill('SIGKILL');
  });
}

function call(base: string, who: Identity, method: string, url: string, body?: unknown): Promise<Answer> {
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

async function ok(p: Promise<Answer>, ...status: number[]): Promise<Answer> {
  const a = await p;
  assert.ok((status.length ? status : [200]).includes(a.status), `HTTP ${a.status}: ${a.body.toString().slice(0, 300)}`);
  return a;
}

test('hedge cloud start survives SIGKILL during ingestion and during a job', { timeout: 240_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hedge-service-'));
  const dataDir = path.join(dir, 'data');
  const users = path.join(dir, 'users.json');
  writeFileSync(users, JSON.stringify([
    { username: 'alice', password: PASSWORD, roles: [{ role: 'machine_builder', tenant: 'builder' }] },
    ...PLANTS.map((p) => ({ username: `admin-${p}`, password: PASSWORD, roles: [{ role: 'plant_admin', tenant: p }] })),
  ]));
  const engine = await SealEngine.create(preset('BGV_AGG_8192'));
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  let server = await startServer(dataDir, port, users);
  try {
    const ca = (await import('node:fs')).readFileSync(path.join(dataDir, 'ca.pem'), 'utf8');
    const login = async (username: string): Promise<Identity> => ({ ca, token: (await ok(call(server.url, { ca }, 'POST', '/v1/auth/token', { username, password: PASSWORD }))).json<{ accessToken: string }>().accessToken });
    let alice = await login('alice');
    const gateways = new Map<string, Identity>();
    for (const p of PLANTS) {
      const admin = await login(`admin-${p}`);
      const { token } = (await ok(call(server.url, admin, 'POST', `/v1/tenants/${p}/enrolments`, { gateway: 'gw-1' }), 201)).json<{ token: string }>();
      const key = await gatewayKey();
      const { certificate } = (await ok(call(server.url, { ca }, 'POST', '/v1/enrol', { token, csr: key.csr }), 201)).json<{ certificate: string }>();
      gateways.set(p, { ca, cert: certificate, key: key.privateKeyPem });
    }
    const as = (tenant: string): Identity => (tenant === 'builder' ? alice : gateways.get(tenant)!);

    // The key ceremony, from the key holders.
    const members = [...PLANTS.map((tenant) => ({ tenant, role: 'plant' })), { tenant: 'builder', role: 'builder' }];
    const fed = (await ok(call(server.url, alice, 'POST', '/v1/tenants/builder/federations', { id: 'mills', preset: engine.params.name, members, guards: { minPlants: 3, minRecords: 1000 } }), 201)).json<{ seed: string }>();
    const seed = Buffer.from(fed.seed, 'hex');
    const secrets = new Map(members.map((m) => [m.tenant, PartySecret.generate(engine)]));
    const pkp = new PublicKeyProtocol(engine);
    const crp = pkp.sampleCrp(seed);
    for (const m of members) await ok(call(server.url, as(m.tenant), 'POST', `/v1/tenants/${m.tenant}/federations/mills/ceremony/pk`, PublicKeyShareCodec.toBytes(engine, pkp.genShare(secrets.get(m.tenant)!, crp))));
    const rkp = new RelinKeyProtocol(engine);
    const rcrp = rkp.sampleCrp(seed);
    const r1 = new Map(members.map((m) => [m.tenant, rkp.genShareRound1(secrets.get(m.tenant)!, rcrp)]));
    for (const m of members) await ok(call(server.url, as(m.tenant), 'POST', `/v1/tenants/${m.tenant}/federations/mills/ceremony/rlk1`, RelinKeyShare1Codec.toBytes(engine, r1.get(m.tenant)!.public)));
    const agg1 = RelinKeyShare1Codec.fromBytes(engine, (await ok(call(server.url, as('plant-a'), 'GET', '/v1/tenants/plant-a/federations/mills/material/relin-round1'))).body);
    for (const m of members) await ok(call(server.url, as(m.tenant), 'POST', `/v1/tenants/${m.tenant}/federations/mills/ceremony/rlk2`, RelinKeyShare2Codec.toBytes(engine, rkp.genShareRound2(secrets.get(m.tenant)!, r1.get(m.tenant)!.secret, agg1))));
    using builderSk = engine.generateSecretKey();
    using builderPk = engine.publicKeyFor(builderSk);
    await ok(call(server.url, alice, 'PUT', '/v1/tenants/builder/federations/mills/receiver-key', PublicKeyCodec.toBytes(engine, builderPk)));
    const features = Array.from({ length: 6 }, (_, j) => ({ name: `s${j}`, lo: 0, hi: 100 }));
    const schemaLiteral = { features, label: { kind: 'continuous', name: 'y', lo: 0, hi: 100 } };
    await ok(call(server.url, alice, 'POST', '/v1/tenants/builder/datasets', { id: 'mills', federation: 'mills', schema: schemaLiteral, retentionDays: 365 }), 201);

    // Encrypted batches; the server dies in the middle of the uploads.
    using pk = PublicKeyCodec.fromBytes(engine, (await ok(call(server.url, as('plant-b'), 'GET', '/v1/tenants/plant-b/federations/mills/material/public-key'))).body);
    const schema = createSchema(schemaLiteral);
    const uploads: { plant: string; bytes: Uint8Array }[] = [];
    const xs: number[][][] = [];
    const ys: number[][] = [];
    for (const [k, p] of PLANTS.entries()) {
      for (let b = 0; b < 4; b++) {
        const rows = Array.from({ length: 1500 }, (_, i) => features.map((_, j) => ((i * (j + 5) + k * 31 + b * 7) % 1000) / 10));
        const data = quantiseDataset(schema, rows, rows.map((r) => (r[0] + r[2]) / 2));
        xs.push([...data.x].map((r) => [...r]));
        ys.push([...data.y!]);
        uploads.push({ plant: p, bytes: sealBatch(engine, pk, schema, data, 0, 1500, { dataset: 'mills', plant: p, batchId: `${p}-${b}`, from: '2026-04-01T00:00:00Z', to: '2026-04-01T01:00:00Z' }).bytes });
      }
    }
    const upload = (u: { plant: string; bytes: Uint8Array }) => call(server.url, gateways.get(u.plant)!, 'POST', `/v1/tenants/${u.plant}/datasets/mills/batches`, u.bytes);
    const firstTry = uploads.map((u, i) => new Promise((r) => setTimeout(r, i * 40)).then(() => upload(u)).catch(() => undefined));
    await new Promise((r) => setTimeout(r, 200));
    await kill(server);
    const before = await Promise.all(firstTry);
    server = await startServer(dataDir, port, users);
    for (const [i, u] of uploads.entries()) { // the gateways resend everything — acknowledged or not
      const a = await ok(upload(u), 200, 201);
      if (before[i]?.status === 201) assert.equal(a.status, 200, `batch ${i} was stored before the crash: a resend is a duplicate`);
    }
    assert.ok(before.some((a) => a === undefined || a.status !== 201), 'the crash interrupted the uploads');

    // The job; the server dies while it runs.
    alice = await login('alice');
    const job = (await ok(call(server.url, alice, 'POST', '/v1/tenants/builder/jobs', { id: 'job-1', federation: 'mills', dataset: 'mills', spec: { features: features.map((f) => f.name), label: true } }), 201)).json<{ records: number }>();
    assert.equal(job.records, 12 * 1500, 'every batch counted exactly once');
    const state = async (): Promise<string> => (await ok(call(server.url, alice, 'GET', '/v1/tenants/builder/jobs/job-1'))).json<{ state: string }>().state;
    for (let i = 0; i < 200 && (await state()) === 'queued'; i++) await new Promise((r) => setTimeout(r, 25));
    await kill(server);
    server = await startServer(dataDir, port, users);
    alice = await login('alice');
    for (let i = 0; i < 400 && (await state()) !== 'computed'; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await state(), 'computed');
    for (const p of PLANTS) await ok(call(server.url, await login(`admin-${p}`), 'POST', `/v1/tenants/${p}/jobs/job-1/approvals`));
    for (const m of members) {
      const who = as(m.tenant);
      const req = (await ok(call(server.url, who, 'GET', `/v1/tenants/${m.tenant}/jobs/job-1/reveal-request`))).json<{ plan: JobPlan; parties: number }>();
      const accs = decodePartial(engine, (await ok(call(server.url, who, 'GET', `/v1/tenants/${m.tenant}/jobs/job-1/aggregate`))).body, req.plan.aggregation.stats.length);
      using receiver = PublicKeyCodec.fromBytes(engine, (await ok(call(server.url, who, 'GET', `/v1/tenants/${m.tenant}/federations/mills/material/receiver-key`))).body);
      const share = makeRevealShare(engine, secrets.get(m.tenant)!, { jobId: 'job-1', plan: req.plan, input: sumRevealInput(engine, accs), receiver, parties: req.parties }, { minPlants: 3, minRecords: 1000 }, new ShareLedger());
      for (const ct of accs) ct[Symbol.dispose]();
      await ok(call(server.url, who, 'POST', `/v1/tenants/${m.tenant}/jobs/job-1/reveal-shares`, share));
    }
    const result = (await ok(call(server.url, alice, 'GET', '/v1/tenants/builder/jobs/job-1/result'))).body;
    using switched = CiphertextCodec.fromBytes(engine, result);
    await ok(call(server.url, as('plant-a'), 'GET', '/v1/tenants/plant-a/jobs/job-1/reveal-request'), 409);
    await ok(call(server.url, await login('admin-plant-a'), 'GET', '/v1/tenants/plant-a/jobs/job-1/result'), 403);
    const plan = (await ok(call(server.url, alice, 'GET', '/v1/tenants/builder/jobs/job-1/plan'))).json<JobPlan>();
    const moments = receiveMoments(engine, schema, plan, switched, builderSk);
    assert.deepEqual(moments, computeMoments(schema, { x: xs.flat(), y: ys.flat() }));
  } finally {
    await kill(server);
    engine[Symbol.dispose]();
    rmSync(dir, { recursive: true, force: true });
  }
});
