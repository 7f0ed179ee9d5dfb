/**
 * `hedge cloud start` as a process, over real HTTPS with gateway client certificates: the whole
 * flow (enrolment, key ceremony, uploads, a job, approvals, reveal, result) with the server
 * SIGKILLed during ingestion and again during the job. After each restart nothing is lost or
 * counted twice: re-sent batches are acknowledged once, the job runs again and completes, and the
 * builder's result decrypts to the plaintext moments.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { call, enrolGateways, federationOverHttps, kill, login as loginAt, ok, revealOverHttps, startServer, SIGNALS_SCHEMA, writeUsers, type Identity } from './_https.ts';
import { SealEngine } from '../../src/he/backend/seal.ts';
import { preset } from '../../src/he/params.ts';
import { CiphertextCodec, PublicKeyCodec } from '../../src/he/wire.ts';
import { sealBatch } from '../../src/compute/batch.ts';
import { receiveMoments } from '../../src/compute/reveal.ts';
import type { JobPlan } from '../../src/compute/plan.ts';
import { computeMoments } from '../../src/models/moments.ts';
import { createSchema, quantiseDataset } from '../../src/models/schema.ts';

const PLANTS = ['plant-a', 'plant-b', 'plant-c'];
const PASSWORD = 'correct horse battery staple';

test('hedge cloud start survives SIGKILL during ingestion and during a job', { timeout: 240_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hedge-service-'));
  const dataDir = path.join(dir, 'data');
  const users = path.join(dir, 'users.json');
  writeUsers(users, PLANTS, PASSWORD);
  const engine = await SealEngine.create(preset('BGV_AGG_8192'));
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  let server = await startServer(dataDir, port, users);
  try {
    const ca = readFileSync(path.join(dataDir, 'ca.pem'), 'utf8');
    const login = (username: string): Promise<Identity> => loginAt(server.url, ca, username, PASSWORD);
    let alice = await login('alice');
    const gateways = await enrolGateways(server.url, ca, PLANTS, (p) => login(`admin-${p}`));
    const as = (tenant: string): Identity => (tenant === 'builder' ? alice : gateways.get(tenant)!);

    // The key ceremony, from the key holders; the builder's receiver key and dataset.
    const setUp = await federationOverHttps(server.url, engine, PLANTS, as, { minPlants: 3, minRecords: 1000 });
    const { secrets } = setUp;
    using builderSk = setUp.builderSk;
    const { features } = SIGNALS_SCHEMA;

    // Encrypted batches; the server dies in the middle of the uploads.
    using pk = PublicKeyCodec.fromBytes(engine, (await ok(call(server.url, as('plant-b'), 'GET', '/v1/tenants/plant-b/federations/mills/material/public-key'))).body);
    const schema = createSchema(SIGNALS_SCHEMA);
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
    await revealOverHttps(server.url, engine, 'job-1', 'mills', secrets, as, { minPlants: 3, minRecords: 1000 });
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
