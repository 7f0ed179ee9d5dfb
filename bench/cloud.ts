/**
 * `npm run bench -- cloud [--json]`: the cloud service as a process (`hedge cloud start`, PGlite,
 * HTTPS with gateway client certificates), BGV_AGG_8192.
 *
 * - ingest_batches_per_s / ingest_mb_per_s: 64 full batches (8192 records × 3 features + label,
 *   4 ciphertexts, ~1.6 MB each) uploaded by 8 gateways at once (8 concurrent clients); each batch
 *   is validated (every ciphertext decoded), written and fsynced before it is acknowledged.
 * - job_overhead_s: a job on a tiny dataset (one 100-record batch per plant, 2 features), end to
 *   end over HTTPS: submit, aggregate, three plant approvals, four key holders' reveal shares,
 *   result, decryption by the builder.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SuiteResult } from './run.ts';
import { call, ceremonyOverHttps, kill, ok, revealOverHttps, startServer, type Identity } from '../test/cloud/_https.ts';
import { gatewayKey } from '../test/cloud/_fixtures.ts';
import { SealEngine } from '../src/he/backend/seal.ts';
import { preset } from '../src/he/params.ts';
import { CiphertextCodec, PublicKeyCodec } from '../src/he/wire.ts';
import { sealBatch } from '../src/compute/batch.ts';
import { receiveMoments } from '../src/compute/reveal.ts';
import type { JobPlan } from '../src/compute/plan.ts';
import { createSchema, quantiseDataset } from '../src/models/schema.ts';

const PLANTS = ['plant-a', 'plant-b', 'plant-c'];
const PASSWORD = 'correct horse battery staple';

export async function run(): Promise<SuiteResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hedge-bench-cloud-'));
  const dataDir = path.join(dir, 'data');
  const users = path.join(dir, 'users.json');
  writeFileSync(users, JSON.stringify([
    { username: 'alice', password: PASSWORD, roles: [{ role: 'machine_builder', tenant: 'builder' }] },
    ...PLANTS.map((p) => ({ username: `admin-${p}`, password: PASSWORD, roles: [{ role: 'plant_admin', tenant: p }] })),
  ]));
  const engine = await SealEngine.create(preset('BGV_AGG_8192'));
  const server = await startServer(dataDir, 20_000 + Math.floor(Math.random() * 20_000), users);
  try {
    const ca = readFileSync(path.join(dataDir, 'ca.pem'), 'utf8');
    const login = async (username: string): Promise<Identity> => ({ ca, token: (await ok(call(server.url, { ca }, 'POST', '/v1/auth/token', { username, password: PASSWORD }))).json<{ accessToken: string }>().accessToken });
    const alice = await login('alice');
    // 8 gateways: 3 + 3 + 2 across the plants; gateway 1 of each plant is its key holder.
    const gateways: { plant: string; id: Identity }[] = [];
    for (const [i, p] of [...PLANTS, ...PLANTS, 'plant-a', 'plant-b'].entries()) {
      const admin = await login(`admin-${p}`);
      const { token } = (await ok(call(server.url, admin, 'POST', `/v1/tenants/${p}/enrolments`, { gateway: `gw-${i}` }), 201)).json<{ token: string }>();
      const key = await gatewayKey();
      const { certificate } = (await ok(call(server.url, { ca }, 'POST', '/v1/enrol', { token, csr: key.csr }), 201)).json<{ certificate: string }>();
      gateways.push({ plant: p, id: { ca, cert: certificate, key: key.privateKeyPem } });
    }
    const as = (tenant: string): Identity => (tenant === 'builder' ? alice : gateways.find((g) => g.plant === tenant)!.id);
    const members = [...PLANTS.map((tenant) => ({ tenant, role: 'plant' })), { tenant: 'builder', role: 'builder' }];
    const fed = (await ok(call(server.url, alice, 'POST', '/v1/tenants/builder/federations', { id: 'bench', preset: engine.params.name, members, guards: { minPlants: 3, minRecords: 100 } }), 201)).json<{ seed: string }>();
    const { secrets, publicKey } = await ceremonyOverHttps(server.url, engine, 'bench', fed.seed, members.map((m) => m.tenant), as);
    using builderSk = engine.generateSecretKey();
    using builderPk = engine.publicKeyFor(builderSk);
    await ok(call(server.url, alice, 'PUT', '/v1/tenants/builder/federations/bench/receiver-key', PublicKeyCodec.toBytes(engine, builderPk)));
    using pk = PublicKeyCodec.fromBytes(engine, publicKey);

    // Ingestion: 64 full batches, 8 clients.
    const big = { features: [0, 1, 2].map((j) => ({ name: `f${j}`, lo: 0, hi: 1 })), label: { kind: 'continuous', name: 'y', lo: 0, hi: 1 } };
    await ok(call(server.url, alice, 'POST', '/v1/tenants/builder/datasets', { id: 'big', federation: 'bench', schema: big, retentionDays: 30 }), 201);
    const bigSchema = createSchema(big);
    const rows = Array.from({ length: engine.n }, (_, i) => [((i * 7) % 1000) / 1000, ((i * 13) % 1000) / 1000, ((i * 17) % 1000) / 1000]);
    const data = quantiseDataset(bigSchema, rows, rows.map((r) => r[0]));
    const batches = Array.from({ length: 64 }, (_, b) => {
      const g = gateways[b % gateways.length];
      const { bytes } = sealBatch(engine, pk, bigSchema, data, 0, engine.n, { dataset: 'big', plant: g.plant, batchId: `b-${b}`, from: '2026-05-01T00:00:00Z', to: '2026-05-01T01:00:00Z' });
      return { g, bytes };
    });
    const totalBytes = batches.reduce((a, b) => a + b.bytes.length, 0);
    let next = 0;
    const t0 = performance.now();
    await Promise.all(gateways.map(async () => {
      while (next < batches.length) {
        const { g, bytes } = batches[next++];
        await ok(call(server.url, g.id, 'POST', `/v1/tenants/${g.plant}/datasets/big/batches`, bytes), 201);
      }
    }));
    const ingestS = (performance.now() - t0) / 1000;

    // A job on a tiny dataset, end to end.
    const tiny = { features: [{ name: 'a', lo: 0, hi: 1 }, { name: 'b', lo: 0, hi: 1 }] };
    await ok(call(server.url, alice, 'POST', '/v1/tenants/builder/datasets', { id: 'tiny', federation: 'bench', schema: tiny, retentionDays: 30 }), 201);
    const tinySchema = createSchema(tiny);
    for (const p of PLANTS) {
      const d = quantiseDataset(tinySchema, Array.from({ length: 100 }, (_, i) => [i / 100, (i * 3 % 100) / 100]));
      await ok(call(server.url, as(p), 'POST', `/v1/tenants/${p}/datasets/tiny/batches`, sealBatch(engine, pk, tinySchema, d, 0, 100, { dataset: 'tiny', plant: p, batchId: 't-1', from: '2026-05-01T00:00:00Z', to: '2026-05-01T01:00:00Z' }).bytes), 201);
    }
    const t1 = performance.now();
    await ok(call(server.url, alice, 'POST', '/v1/tenants/builder/jobs', { id: 'tiny-job', federation: 'bench', dataset: 'tiny', spec: { features: ['a', 'b'], label: false } }), 201);
    const state = async (): Promise<string> => (await ok(call(server.url, alice, 'GET', '/v1/tenants/builder/jobs/tiny-job'))).json<{ state: string }>().state;
    while ((await state()) !== 'computed') await new Promise((r) => setTimeout(r, 20));
    for (const p of PLANTS) await ok(call(server.url, await login(`admin-${p}`), 'POST', `/v1/tenants/${p}/jobs/tiny-job/approvals`));
    await revealOverHttps(server.url, engine, 'tiny-job', 'bench', secrets, as, { minPlants: 3, minRecords: 100 });
    using switched = CiphertextCodec.fromBytes(engine, (await ok(call(server.url, alice, 'GET', '/v1/tenants/builder/jobs/tiny-job/result'))).body);
    const plan = (await ok(call(server.url, alice, 'GET', '/v1/tenants/builder/jobs/tiny-job/plan'))).json<JobPlan>();
    const moments = receiveMoments(engine, tinySchema, plan, switched, builderSk);
    const jobS = (performance.now() - t1) / 1000;
    if (moments.count !== 300n) throw new Error(`the tiny job revealed ${moments.count} records, expected 300`);

    return {
      params: { preset: engine.params.name, batches: batches.length, batch_bytes: Math.round(totalBytes / batches.length), clients: gateways.length, database: 'pglite', transport: 'https + mTLS' },
      metrics: {
        ingest_batches_per_s: Number((batches.length / ingestS).toFixed(1)),
        ingest_mb_per_s: Number((totalBytes / 1e6 / ingestS).toFixed(1)),
        ingest_records_per_s: Math.round((batches.length * engine.n) / ingestS),
        job_overhead_s: Number(jobS.toFixed(2)),
      },
    };
  } finally {
    await kill(server);
    engine[Symbol.dispose]();
    rmSync(dir, { recursive: true, force: true });
  }
}
