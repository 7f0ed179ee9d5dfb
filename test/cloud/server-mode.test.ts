/**
 * Server mode of `hedge cloud start` (issue 5), with real processes on a PostgreSQL database of its
 * own: the cloud runs with `--workers queue`, two `hedge worker` processes share its lake folder,
 * and a job goes through the API end to end — its aggregation dispatched to the queue as
 * partitions, the cloud SIGKILLed while the workers compute them and restarted (it re-sends the
 * same partition tasks and reuses the finished ones), approvals, reveal shares, the result. The
 * builder's moments equal the plaintext moments, both workers took part, and a second job cancelled
 * while it runs leaves no partition waiting for a worker. `/readyz` reports the queue. Server mode
 * without a PostgreSQL server is refused at start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withPostgresDatabase } from '../trust/_postgres.ts';
import { call, enrolGateways, federationOverHttps, kill, login, ok, revealOverHttps, SIGNALS_SCHEMA, startServer, startWorker, stopAll, writeUsers, type Identity, type Server } from './_https.ts';
import { AGGREGATE_QUEUE, openQueue, partitionWorkers } from '../../src/cloud/queue.ts';
import { CloudError } from '../../src/cloud/errors.ts';
import { startHedgeCloud } from '../../src/cloud/service.ts';
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
const PRESET = 'TEST_INSECURE_BGV_2048';
const BATCHES_PER_PLANT = 6;
const ROWS = 1000;
const GUARDS = { minPlants: 3, minRecords: 1000 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface JobView { state: string; progress: { done: number; total: number }; error?: string }

test('hedge cloud start --workers queue: two hedge worker processes compute a job through the API, across a SIGKILL of the cloud', { timeout: 240_000 }, async (t) => {
  await withPostgresDatabase(t, async (databaseUrl) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hedge-server-mode-'));
    const dataDir = path.join(dir, 'data');
    const lake = path.join(dir, 'lake');
    const users = path.join(dir, 'users.json');
    writeUsers(users, PLANTS, PASSWORD);
    const engine = await SealEngine.create(preset(PRESET, { allowInsecure: true }));
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    // One batch per partition, so that a job is many tasks and both workers get some.
    const serverMode = ['--allow-insecure-params', '--database-url', databaseUrl, '--workers', 'queue', '--lake', lake, '--partition-batches', '1'];
    let server: Server = await startServer(dataDir, port, users, serverMode);
    const workers: ChildProcess[] = [];
    const boss = await openQueue(databaseUrl);
    try {
      workers.push(await startWorker(databaseUrl, lake, 'w1'), await startWorker(databaseUrl, lake, 'w2'));
      const ca = readFileSync(path.join(dataDir, 'ca.pem'), 'utf8');
      const ready = (await ok(call(server.url, { ca }, 'GET', '/readyz'))).json<{ checks: Record<string, string> }>();
      assert.equal(ready.checks.queue, 'ok', 'readiness reports the queue');
      assert.equal(ready.checks.database, 'ok');
      const as = async (user: string): Promise<Identity> => login(server.url, ca, user, PASSWORD);
      let alice = await as('alice');
      const gateways = await enrolGateways(server.url, ca, PLANTS, (p) => as(`admin-${p}`));
      const holder = (tenant: string): Identity => (tenant === 'builder' ? alice : gateways.get(tenant)!);

      // Federation, ceremony, receiver key, dataset, uploads — as in every deployment.
      const setUp = await federationOverHttps(server.url, engine, PLANTS, holder, GUARDS);
      const { secrets } = setUp;
      using builderSk = setUp.builderSk;
      const { features } = SIGNALS_SCHEMA;
      using pk = PublicKeyCodec.fromBytes(engine, (await ok(call(server.url, holder('plant-a'), 'GET', '/v1/tenants/plant-a/federations/mills/material/public-key'))).body);
      const schema = createSchema(SIGNALS_SCHEMA);
      const xs: number[][] = [];
      const ys: number[] = [];
      for (const [k, p] of PLANTS.entries()) {
        for (let b = 0; b < BATCHES_PER_PLANT; b++) {
          const rows = Array.from({ length: ROWS }, (_, i) => features.map((_, j) => ((i * (j + 5) + k * 31 + b * 7) % 1000) / 10));
          const data = quantiseDataset(schema, rows, rows.map((r) => (r[0] + r[2]) / 2));
          xs.push(...[...data.x].map((r) => [...r]));
          ys.push(...data.y!);
          const { bytes } = sealBatch(engine, pk, schema, data, 0, ROWS, { dataset: 'mills', plant: p, batchId: `${p}-${b}`, from: '2026-04-01T00:00:00Z', to: '2026-04-01T01:00:00Z' });
          await ok(call(server.url, gateways.get(p)!, 'POST', `/v1/tenants/${p}/datasets/mills/batches`, bytes), 201);
        }
      }
      const total = PLANTS.length * BATCHES_PER_PLANT;

      // The job; the cloud dies while the workers compute its partitions.
      const spec = { features: features.map((f) => f.name), label: true };
      await ok(call(server.url, alice, 'POST', '/v1/tenants/builder/jobs', { id: 'job-1', federation: 'mills', dataset: 'mills', spec }), 201);
      const view = async (job: string): Promise<JobView> => (await ok(call(server.url, alice, 'GET', `/v1/tenants/builder/jobs/${job}`))).json<JobView>();
      let seen: JobView = await view('job-1');
      for (let i = 0; i < 600 && !(seen.state === 'running' && seen.progress.done > 0); i++) {
        await sleep(20);
        seen = await view('job-1');
      }
      assert.equal(seen.state, 'running', `the job runs on the workers: ${JSON.stringify(seen)}`);
      assert.ok(seen.progress.done > 0 && seen.progress.done < total, `progress comes from finished partitions: ${JSON.stringify(seen.progress)}`);
      await kill(server);
      server = await startServer(dataDir, port, users, serverMode);
      alice = await as('alice');
      for (let i = 0; i < 600 && !['computed', 'failed'].includes((seen = await view('job-1')).state); i++) await sleep(50);
      assert.equal(seen.state, 'computed', JSON.stringify(seen));
      assert.deepEqual(seen.progress, { done: total, total });

      // The restart re-sent the same tasks (ids from job and partition): one per partition, each
      // computed by one of the two workers, and both took part.
      const tasks = await boss.findJobs<{ partition: number }>(AGGREGATE_QUEUE, { data: { jobId: 'job-1' } });
      assert.deepEqual(tasks.map((x) => x.data.partition).sort((a, b) => a - b), Array.from({ length: total }, (_, p) => p), 'one task per partition across the restart');
      const who = await partitionWorkers(boss, 'job-1', total);
      assert.ok(who.every((w) => w === 'w1' || w === 'w2'), `partitions computed by ${who.join(', ')}`);
      assert.ok(who.includes('w1') && who.includes('w2'), `both workers took part: ${who.join(', ')}`);

      // Approvals, reveal shares from every key holder, the result for the builder only.
      for (const p of PLANTS) await ok(call(server.url, await as(`admin-${p}`), 'POST', `/v1/tenants/${p}/jobs/job-1/approvals`));
      await revealOverHttps(server.url, engine, 'job-1', 'mills', secrets, holder, GUARDS);
      using switched = CiphertextCodec.fromBytes(engine, (await ok(call(server.url, alice, 'GET', '/v1/tenants/builder/jobs/job-1/result'))).body);
      const plan = (await ok(call(server.url, alice, 'GET', '/v1/tenants/builder/jobs/job-1/plan'))).json<JobPlan>();
      assert.deepEqual(receiveMoments(engine, schema, plan, switched, builderSk), computeMoments(schema, { x: xs, y: ys }));

      // Cancel while it runs: the cloud stops waiting and no partition is left for a worker.
      await ok(call(server.url, alice, 'POST', '/v1/tenants/builder/jobs', { id: 'job-2', federation: 'mills', dataset: 'mills', spec }), 201);
      for (let i = 0; i < 600 && (seen = await view('job-2')).state === 'queued'; i++) await sleep(20);
      assert.equal(seen.state, 'running', JSON.stringify(seen));
      await ok(call(server.url, alice, 'POST', '/v1/tenants/builder/jobs/job-2/cancel'));
      for (let i = 0; i < 200 && (seen = await view('job-2')).state === 'running'; i++) await sleep(50);
      assert.equal(seen.state, 'cancelled', JSON.stringify(seen));
      const states = await Promise.all(Array.from({ length: total }, (_, p) => partitionState(boss, 'job-2', p)));
      assert.ok(states.every((s) => s === 'cancelled' || s === 'completed'), `partitions after cancel: ${states.join(', ')}`);
      assert.ok(states.includes('cancelled'), `unfinished partitions were cancelled: ${states.join(', ')}`);
    } finally {
      await kill(server);
      await stopAll(workers);
      await boss.stop({ graceful: false, close: true });
      engine[Symbol.dispose]();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('server mode without a PostgreSQL server, or an unknown workers mode, is refused before anything starts', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hedge-server-mode-'));
  try {
    const dataDir = path.join(dir, 'data');
    const config = (hint: boolean) => (e: unknown): boolean => e instanceof CloudError && e.code === 'CLOUD_ERR_CONFIG' && (e.hint !== undefined) === hint;
    await assert.rejects(startHedgeCloud({ dataDir, port: 0, databaseUrl: null, workers: 'queue' }), config(true));
    await assert.rejects(startHedgeCloud({ dataDir, port: 0, databaseUrl: null, workers: 'threads' as 'queue' }), config(false));
    await assert.rejects(startHedgeCloud({ dataDir, port: 0, databaseUrl: null, partitionBatches: 0 }), config(false));
    assert.equal(existsSync(dataDir), false, 'nothing was created');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A partition task's state in the queue (`none` if it was never sent). */
async function partitionState(boss: Awaited<ReturnType<typeof openQueue>>, jobId: string, partition: number): Promise<string> {
  const rows = await boss.findJobs<{ jobId: string; partition: number }>(AGGREGATE_QUEUE, { data: { jobId, partition } });
  return rows[0]?.state ?? 'none';
}
