/**
 * Server mode: a job's aggregation split into partitions on the pg-boss queue (real PostgreSQL,
 * a database of its own) and computed by two `hedge worker` processes sharing the lake folder
 * gives exactly the single-process result, and both workers take part. Stopping a distributed
 * aggregation: a cancel cancels its partitions, a stop for a restart leaves them queued, and a
 * re-send brings cancelled ones back.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { computeFederation, fillLake } from '../compute/fixture.ts';
import { startWorker, stopAll } from './_https.ts';
import { withPostgresDatabase } from '../trust/_postgres.ts';
import { FileBlobStore } from '../../src/cloud/blobs.ts';
import { AGGREGATE_QUEUE, aggregateDistributed, openQueue, partitionWorkers } from '../../src/cloud/queue.ts';
import { JOB_REQUEUED } from '../../src/cloud/jobs.ts';
import { ComputeError } from '../../src/compute/errors.ts';
import type { BatchRef } from '../../src/compute/batch.ts';
import type { JobPlan } from '../../src/compute/plan.ts';
import { SealEngine } from '../../src/he/backend/seal.ts';
import { preset } from '../../src/he/params.ts';
import { aggregateJob } from '../../src/compute/aggregate.ts';
import { planJob } from '../../src/compute/plan.ts';
import { decryptMoments, makeRevealShare } from '../../src/compute/reveal.ts';
import { sumRevealInput } from '../../src/he/mhe/sum-input.ts';
import { ShareLedger } from '../../src/he/mhe/ledger.ts';
import { createSchema, quantiseDataset, type QuantisedDataset } from '../../src/models/schema.ts';
import { computeMoments } from '../../src/models/moments.ts';
import type { Ciphertext } from '../../src/he/backend/seal.ts';

const GUARDS = { minPlants: 3, minRecords: 100 };

test('two hedge worker processes compute the single-process aggregate', async (t: TestContext) => {
  await withPostgresDatabase(t, async (url) => {
    const f = await computeFederation(3, 'BGV_AGG_8192');
    const e = f.engine;
    const features = Array.from({ length: 8 }, (_, j) => ({ name: `s${j}`, lo: 0, hi: 100 }));
    const schema = createSchema({ features, label: { kind: 'continuous', name: 'y', lo: 0, hi: 100 } });
    const plants = new Map<string, QuantisedDataset>(['a', 'b', 'c'].map((p, k) => {
      const rows = Array.from({ length: 4000 }, (_, i) => features.map((_, j) => ((i * (j + 3) + k * 17) % 1000) / 10));
      return [p, quantiseDataset(schema, rows, rows.map((r) => (r[0] + r[1]) / 2))];
    }));
    const lake = fillLake(f, schema, plants, 500);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hedge-lake-'));
    const workers: ChildProcess[] = [];
    const accs: Ciphertext[][] = [];
    try {
      const blobs = await FileBlobStore.open(dir);
      for (const ref of lake.refs) assert.equal(await blobs.put(lake.blobs.get(ref.contentHash)!), ref.contentHash, 'the lake is addressed by the batch hash');
      const relinKeys = await blobs.put(f.relinKeys);
      workers.push(await startWorker(url, dir, 'w1'), await startWorker(url, dir, 'w2'));
      const boss = await openQueue(url);
      try {
        const plan = planJob(e, schema, { features: features.map((x) => x.name), label: true }, lake.refs, GUARDS);
        assert.equal(plan.batches.length, 24);
        accs.push(await aggregateDistributed(e, plan, { boss, blobs, jobId: 'job-distributed', relinKeys, partitions: 8, allowInsecure: false, pollMs: 100 }));
        const who = await partitionWorkers(boss, 'job-distributed', 8);
        assert.ok(who.every((w) => w === 'w1' || w === 'w2'), `partitions computed by ${who.join(', ')}`);
        assert.ok(who.includes('w1') && who.includes('w2'), `both workers took part: ${who.join(', ')}`);
        // Re-sending the same job's partitions is idempotent: the stored results are reused.
        accs.push(await aggregateDistributed(e, plan, { boss, blobs, jobId: 'job-distributed', relinKeys, partitions: 8, pollMs: 100 }));
        accs.push(await aggregateJob(e, plan, { relinKeys: f.relinKeys, load: lake.load }));
        const reveal = (cts: Ciphertext[], jobId: string) => {
          const input = sumRevealInput(e, cts);
          const request = { jobId, plan, input, receiver: null, parties: 3 };
          return decryptMoments(e, schema, plan, input, f.parties.map((s) => makeRevealShare(e, s, request, GUARDS, new ShareLedger())));
        };
        const expected = computeMoments(schema, { x: [...plants.values()].flatMap((d) => d.x), y: [...plants.values()].flatMap((d) => d.y!) });
        assert.deepEqual(reveal(accs[0], 'distributed'), expected);
        assert.deepEqual(reveal(accs[1], 'distributed-again'), expected);
        assert.deepEqual(reveal(accs[2], 'single'), expected);
      } finally {
        await boss.stop({ graceful: false, close: true });
      }
    } finally {
      await stopAll(workers);
      for (const list of accs) for (const ct of list) ct[Symbol.dispose]();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('a cancelled aggregation cancels its partitions; one stopped for a restart leaves them queued; a re-send resumes them', async (t: TestContext) => {
  await withPostgresDatabase(t, async (url) => {
    const boss = await openQueue(url);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hedge-lake-'));
    using engine = await SealEngine.create(preset('TEST_INSECURE_BGV_2048', { allowInsecure: true }));
    try {
      const blobs = await FileBlobStore.open(dir);
      // No worker runs: the tasks only wait in the queue, so their states show what a stop did.
      const plan = { batches: Array.from({ length: 4 }, (_, i) => ({ batchId: `b${i}`, contentHash: String(i).repeat(64) }) as unknown as BatchRef), aggregation: { stats: [] } } as unknown as JobPlan;
      const states = async (): Promise<string[]> => (await boss.findJobs(AGGREGATE_QUEUE, { data: { jobId: 'job-stop' } })).map((j) => j.state).sort();
      const stopped = async (reason?: unknown): Promise<void> => {
        const ac = new AbortController();
        ac.abort(reason);
        await assert.rejects(
          aggregateDistributed(engine, plan, { boss, blobs, jobId: 'job-stop', relinKeys: '0'.repeat(64), partitions: 2, pollMs: 20, signal: ac.signal, leaveQueued: (r) => r === JOB_REQUEUED }),
          (e: unknown) => e instanceof ComputeError && e.code === 'COMPUTE_ERR_CANCELLED',
        );
      };
      await stopped(JOB_REQUEUED);
      assert.deepEqual(await states(), ['created', 'created'], 'a stop for a restart leaves the partitions for the workers');
      await stopped();
      assert.deepEqual(await states(), ['cancelled', 'cancelled'], 'a cancel cancels them');
      await stopped(JOB_REQUEUED);
      assert.deepEqual(await states(), ['created', 'created'], 'sending the same tasks again resumes them');
    } finally {
      await boss.stop({ graceful: false, close: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
