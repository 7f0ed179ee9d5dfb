/**
 * The cloud's domain API end to end over `inject()`: a federation's key ceremony from the plants'
 * gateways (client certificates) and the builder (bearer token), dataset definition, encrypted
 * uploads (20 gateways at once, each batch sent twice: stored once), a job, plant approvals, reveal
 * shares from every key holder, and the result — only the
 * builder can fetch it, and it decrypts to the plaintext moments. Cross-tenant calls are refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { enrolGateway, makeApp, presentCertificatesFromHeader, withCertificate } from './_fixtures.ts';
import { FileBlobStore } from '../../src/cloud/blobs.ts';
import { Federations } from '../../src/cloud/federation.ts';
import { Jobs } from '../../src/cloud/jobs.ts';
import { Lake } from '../../src/cloud/lake.ts';
import { domainRoutes } from '../../src/cloud/routes/domain.ts';
import { openSql } from '../../src/trust/storage/sql.ts';
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
import { createSchema, quantiseDataset, type QuantisedDataset } from '../../src/models/schema.ts';

const PLANTS = ['plant-a', 'plant-b', 'plant-c'];
const SCHEMA = { features: [{ name: 'speed', lo: 0, hi: 3000 }, { name: 'torque', lo: 0, hi: 80 }], label: { kind: 'continuous', name: 'wear', lo: 0, hi: 260 } };
const binary = { 'content-type': 'application/octet-stream' };

test('domain API: ceremony, uploads, job, approvals, reveal, result for the builder only', async () => {
  const engine = await SealEngine.create(preset('TEST_INSECURE_BGV_2048', { allowInsecure: true }));
  const engineOf = async (name: string): Promise<SealEngine> => {
    if (name !== engine.params.name) throw new RangeError(`unknown preset ${name}`);
    return engine;
  };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hedge-domain-'));
  const db = await openSql({ databaseUrl: null });
  const blobs = await FileBlobStore.open(dir);
  const lake = await Lake.open({ sql: db, blobs });
  const federations = await Federations.open({ sql: db, blobs, engine: engineOf });
  const jobs = await Jobs.open({ sql: db, blobs, lake, federations, engine: engineOf });
  const summaries: { tenant: string; actor: string; records: number }[] = [];
  const t = await makeApp({
    db, routes: [domainRoutes({
      federations, lake, jobs, engine: engineOf,
      onInferenceSummary: async (tenant, actor, s) => { summaries.push({ tenant, actor, records: s.records }); return 'ab'.repeat(32); },
    })],
  });
  presentCertificatesFromHeader(t.app);
  try {
    await t.grant('alice', 'machine_builder', 'builder');
    const alice = await t.bearer('alice');
    const gateways = new Map<string, Record<string, string>>();
    for (const p of PLANTS) {
      await t.grant(`admin-${p}`, 'plant_admin', p);
      gateways.set(p, withCertificate((await enrolGateway(t, p, 'gw-1')).certificate));
    }
    const as = (tenant: string): Record<string, string> => (tenant === 'builder' ? alice : gateways.get(tenant)!);
    const call = async (method: 'GET' | 'POST' | 'PUT', url: string, headers: Record<string, string>, payload?: unknown, status = 200) => {
      const res = await t.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as never }) });
      assert.equal(res.statusCode, status, `${method} ${url}: ${res.body.slice(0, 300)}`);
      return res;
    };

    // Federation and ceremony.
    const members = [...PLANTS.map((tenant) => ({ tenant, role: 'plant' })), { tenant: 'builder', role: 'builder' }];
    const fed = (await call('POST', '/v1/tenants/builder/federations', alice, { id: 'mills', preset: engine.params.name, members, guards: { minPlants: 3, minRecords: 100 } }, 201)).json();
    assert.equal(fed.receiver, 'builder');
    const seed = Buffer.from(fed.seed, 'hex');
    const secrets = new Map(members.map((m) => [m.tenant, PartySecret.generate(engine)]));
    const pkp = new PublicKeyProtocol(engine);
    const crp = pkp.sampleCrp(seed);
    for (const m of members) await call('POST', `/v1/tenants/${m.tenant}/federations/mills/ceremony/pk`, { ...as(m.tenant), ...binary }, Buffer.from(PublicKeyShareCodec.toBytes(engine, pkp.genShare(secrets.get(m.tenant)!, crp))));
    const rkp = new RelinKeyProtocol(engine);
    const rcrp = rkp.sampleCrp(seed);
    const r1 = new Map(members.map((m) => [m.tenant, rkp.genShareRound1(secrets.get(m.tenant)!, rcrp)]));
    for (const m of members) await call('POST', `/v1/tenants/${m.tenant}/federations/mills/ceremony/rlk1`, { ...as(m.tenant), ...binary }, Buffer.from(RelinKeyShare1Codec.toBytes(engine, r1.get(m.tenant)!.public)));
    const agg1 = RelinKeyShare1Codec.fromBytes(engine, (await call('GET', '/v1/tenants/plant-a/federations/mills/material/relin-round1', as('plant-a'))).rawPayload);
    for (const m of members) await call('POST', `/v1/tenants/${m.tenant}/federations/mills/ceremony/rlk2`, { ...as(m.tenant), ...binary }, Buffer.from(RelinKeyShare2Codec.toBytes(engine, rkp.genShareRound2(secrets.get(m.tenant)!, r1.get(m.tenant)!.secret, agg1))));
    assert.equal((await call('GET', '/v1/tenants/plant-b/federations/mills', as('plant-b'))).json().round, 'ready');
    using builderSk = engine.generateSecretKey();
    using builderPk = engine.publicKeyFor(builderSk);
    await call('PUT', '/v1/tenants/builder/federations/mills/receiver-key', { ...alice, ...binary }, Buffer.from(PublicKeyCodec.toBytes(engine, builderPk)));

    // Dataset and uploads from the gateways.
    await call('POST', '/v1/tenants/builder/datasets', alice, { id: 'mills', federation: 'mills', schema: SCHEMA, retentionDays: 365 }, 201);
    await call('POST', '/v1/tenants/builder/datasets', alice, { id: 'bad', federation: 'mills', schema: { features: [] }, retentionDays: 365 }, 400);
    using pk = PublicKeyCodec.fromBytes(engine, (await call('GET', '/v1/tenants/plant-c/federations/mills/material/public-key', as('plant-c'))).rawPayload);
    const schema = createSchema(SCHEMA);
    const data: QuantisedDataset[] = [];
    for (const [k, p] of PLANTS.entries()) {
      const rows = Array.from({ length: 150 }, (_, i) => [(i * 29 + k) % 3000, (i * 7 + k) % 80]);
      const d = quantiseDataset(schema, rows, rows.map((r) => (r[0] / 20 + r[1]) % 260));
      data.push(d);
      const { bytes } = sealBatch(engine, pk, schema, d, 0, 150, { dataset: 'mills', plant: p, batchId: `${p}-1`, from: '2026-03-01T00:00:00Z', to: '2026-03-01T01:00:00Z' });
      const url = `/v1/tenants/${p}/datasets/mills/batches`;
      assert.equal((await call('POST', url, { ...as(p), ...binary }, Buffer.from(bytes), 201)).json().status, 'stored');
      assert.equal((await call('POST', url, { ...as(p), ...binary }, Buffer.from(bytes), 200)).json().status, 'duplicate');
      if (k === 0) {
        await call('POST', '/v1/tenants/plant-b/datasets/mills/batches', { ...as('plant-a'), ...binary }, Buffer.from(bytes), 403);
        await call('POST', url, { ...as(p), ...binary }, Buffer.from('not a batch'), 422);
        await call('POST', url, { ...alice, ...binary }, Buffer.from(bytes), 403);
      }
    }

    // The job, approvals, reveal.
    const job = (await call('POST', '/v1/tenants/builder/jobs', alice, { id: 'job-1', federation: 'mills', dataset: 'mills', spec: { features: ['speed', 'torque'], label: true } }, 201)).json();
    assert.equal(job.records, 450);
    await jobs.runQueued();
    for (const p of PLANTS) {
      await call('POST', `/v1/tenants/${p}/jobs/job-1/approvals`, await t.bearer(`admin-${p}`), undefined, 200);
    }
    await call('POST', '/v1/tenants/builder/jobs/job-1/approvals', alice, undefined, 403);
    assert.equal((await call('GET', '/v1/tenants/builder/jobs/job-1', alice)).json().state, 'revealing');
    for (const m of members) {
      const req = (await call('GET', `/v1/tenants/${m.tenant}/jobs/job-1/reveal-request`, as(m.tenant))).json() as { plan: JobPlan; parties: number };
      const accs = decodePartial(engine, (await call('GET', `/v1/tenants/${m.tenant}/jobs/job-1/aggregate`, as(m.tenant))).rawPayload, req.plan.aggregation.stats.length);
      using receiver = PublicKeyCodec.fromBytes(engine, (await call('GET', `/v1/tenants/${m.tenant}/federations/mills/material/receiver-key`, as(m.tenant))).rawPayload);
      const input = sumRevealInput(engine, accs);
      const share = makeRevealShare(engine, secrets.get(m.tenant)!, { jobId: 'job-1', plan: req.plan, input, receiver, parties: req.parties }, { minPlants: 3, minRecords: 100 }, new ShareLedger());
      for (const ct of accs) ct[Symbol.dispose]();
      await call('POST', `/v1/tenants/${m.tenant}/jobs/job-1/reveal-shares`, { ...as(m.tenant), ...binary }, Buffer.from(share));
    }
    await call('GET', '/v1/tenants/plant-a/jobs/job-1/result', await t.bearer('admin-plant-a'), undefined, 403);
    const result = (await call('GET', '/v1/tenants/builder/jobs/job-1/result', alice)).rawPayload;
    using switched = CiphertextCodec.fromBytes(engine, result);
    const plan = (await jobs.get('job-1')).plan;
    assert.deepEqual(receiveMoments(engine, schema, plan, switched, builderSk), computeMoments(schema, { x: data.flatMap((d) => d.x), y: data.flatMap((d) => d.y!) }));

    // 20 gateways upload at once (each batch twice, concurrently): every batch is stored exactly once.
    const many = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
      const plant = PLANTS[i % 3];
      const headers = withCertificate((await enrolGateway(t, plant, `gw-x${i}`)).certificate);
      const rows = Array.from({ length: 20 }, (_, r) => [(r * 31 + i) % 3000, (r + i) % 80]);
      const d = quantiseDataset(schema, rows, rows.map(() => 1));
      const { bytes } = sealBatch(engine, pk, schema, d, 0, 20, { dataset: 'mills', plant, batchId: `${plant}-x${i}`, from: '2026-03-02T00:00:00Z', to: '2026-03-02T01:00:00Z' });
      return { plant, headers, bytes };
    }));
    const answers = await Promise.all(many.flatMap(({ plant, headers, bytes }) => [0, 1].map(() =>
      t.app.inject({ method: 'POST', url: `/v1/tenants/${plant}/datasets/mills/batches`, headers: { ...headers, ...binary }, payload: Buffer.from(bytes) }))));
    assert.deepEqual(answers.map((a) => a.statusCode).sort(), [...Array(20).fill(200), ...Array(20).fill(201)]);
    assert.equal((await lake.batches('mills')).length, 3 + 20);

    // The builder cancels a job it submitted; a finished one cannot be cancelled.
    await call('POST', '/v1/tenants/builder/jobs', alice, { id: 'job-2', federation: 'mills', dataset: 'mills', spec: { features: ['speed'], label: false } }, 201);
    assert.equal((await call('POST', '/v1/tenants/builder/jobs/job-2/cancel', alice)).json().state, 'cancelled');
    await call('POST', '/v1/tenants/builder/jobs/job-1/cancel', alice, undefined, 409);
    await call('POST', '/v1/tenants/plant-a/jobs/job-2/cancel', await t.bearer('admin-plant-a'), undefined, 403);

    // A gateway reports an inference summary (counts only) for the log; a person cannot.
    const summary = {
      modelId: 'ai4i-failure', modelVersion: 1, from: '2026-03-01T00:00:00.000Z', to: '2026-03-01T01:00:00.000Z',
      records: 60, served: 58, clamped: 0, abstained: 2, fallback: 2, unanswered: 0,
      reasons: { not_finite: 0, out_of_range: 1, out_of_distribution: 1, low_confidence: 0, model_error: 0 }, drift: null,
    };
    assert.equal((await call('POST', '/v1/tenants/plant-a/inference-summaries', as('plant-a'), summary, 201)).json().payloadHash, 'ab'.repeat(32));
    await call('POST', '/v1/tenants/plant-a/inference-summaries', as('plant-a'), { ...summary, to: '2026-02-01T00:00:00.000Z' }, 400);
    await call('POST', '/v1/tenants/plant-a/inference-summaries', as('plant-a'), { ...summary, values: [1, 2] }, 400);
    await call('POST', '/v1/tenants/plant-a/inference-summaries', alice, summary, 403);
    assert.deepEqual(summaries, [{ tenant: 'plant-a', actor: 'gw.plant-a.gw-1', records: 60 }]);

    // A plant withdraws all of its data at once.
    const before = (await lake.batches('mills')).length;
    const withdrawn = (await call('POST', '/v1/tenants/plant-c/withdrawal', await t.bearer('admin-plant-c'))).json() as { batches: number; records: number };
    assert.ok(withdrawn.batches > 0);
    assert.equal((await lake.batches('mills', 'plant-c')).length, 0);
    assert.equal((await lake.batches('mills')).length, before - withdrawn.batches);
    await call('POST', '/v1/tenants/plant-c/withdrawal', alice, undefined, 403);

    // Every domain route is in the OpenAPI document.
    const doc = (await call('GET', '/openapi.json', {})).json() as { paths: Record<string, unknown> };
    for (const p of ['/v1/tenants/{tenant}/datasets/{dataset}/batches', '/v1/tenants/{tenant}/jobs/{job}/reveal-shares', '/v1/tenants/{tenant}/federations/{federation}/ceremony/{round}']) assert.ok(doc.paths[p], p);
  } finally {
    await t.close();
    engine[Symbol.dispose]();
    rmSync(dir, { recursive: true, force: true });
  }
});
