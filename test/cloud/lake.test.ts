/**
 * The encrypted lake: idempotent, validated ingestion (20 concurrent uploads of one batch store it
 * once), conflicts and rejections with codes, retention and withdrawal with recorded deletions,
 * and a job over the lake's batches — on PGlite and on a PostgreSQL server.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { computeFederation, fillLake } from '../compute/fixture.ts';
import { onBothDatabases } from '../trust/_postgres.ts';
import { FileBlobStore } from '../../src/cloud/blobs.ts';
import { Lake } from '../../src/cloud/lake.ts';
import { CloudError } from '../../src/cloud/errors.ts';
import type { SqlClient } from '../../src/trust/storage/sql.ts';
import { sealBatch } from '../../src/compute/batch.ts';
import { planJob } from '../../src/compute/plan.ts';
import { aggregateJob } from '../../src/compute/aggregate.ts';
import { decryptMoments, makeRevealShare } from '../../src/compute/reveal.ts';
import { sumRevealInput } from '../../src/he/mhe/sum-input.ts';
import { ShareLedger } from '../../src/he/mhe/ledger.ts';
import { computeMoments } from '../../src/models/moments.ts';
import { quantiseDataset, type QuantisedDataset } from '../../src/models/schema.ts';

const code = (c: string) => (e: unknown): boolean => e instanceof CloudError && e.code === c;
const SCHEMA = { features: [{ name: 'speed', lo: 0, hi: 3000 }, { name: 'torque', lo: 0, hi: 80 }], label: { kind: 'continuous', name: 'wear', lo: 0, hi: 260 } };

async function exercise(sql: SqlClient): Promise<void> {
  const f = await computeFederation(3);
  const e = f.engine;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hedge-lake-'));
  let now = new Date('2026-06-01T00:00:00Z');
  try {
    const blobs = await FileBlobStore.open(dir);
    const lake = await Lake.open({ sql, blobs, now: () => now });
    const dataset = await lake.createDataset({ id: 'mills', owner: 'builder', federation: 'mills', params: e.params.name, schema: SCHEMA, retentionDays: 30 });
    assert.equal((await lake.createDataset({ id: 'mills', owner: 'builder', federation: 'mills', params: e.params.name, schema: SCHEMA, retentionDays: 30 })).id, 'mills', 'same definition: no-op');
    await assert.rejects(lake.createDataset({ id: 'mills', owner: 'builder', federation: 'mills', params: e.params.name, schema: SCHEMA, retentionDays: 31 }), code('CLOUD_ERR_CONFLICT'));

    const plants = new Map<string, QuantisedDataset>(['p1', 'p2', 'p3'].map((p, k) => {
      const rows = Array.from({ length: 700 }, (_, i) => [(i * 37 + k) % 3000, (i * 13 + k) % 80]);
      return [p, quantiseDataset(dataset.schema, rows, rows.map((r) => (r[0] / 20 + r[1]) % 260))];
    }));
    const local = fillLake(f, dataset.schema, plants, 300, 'mills');
    for (const ref of local.refs) {
      assert.equal((await lake.ingest({ dataset: 'mills', plant: ref.plant, bytes: local.blobs.get(ref.contentHash)!, engine: e })).status, 'stored');
    }
    // Re-sent: acknowledged, not counted twice — also when 20 arrive at once.
    const first = local.refs[0];
    const again = await Promise.all(Array.from({ length: 20 }, () => lake.ingest({ dataset: 'mills', plant: first.plant, bytes: local.blobs.get(first.contentHash)!, engine: e })));
    assert.ok(again.every((r) => r.status === 'duplicate' && r.ref.contentHash === first.contentHash));
    assert.equal((await lake.batches('mills')).length, local.refs.length);

    // The same id with other bytes (fresh encryption of the same records) is a conflict.
    const resealed = sealBatch(e, f.pk, dataset.schema, plants.get('p1')!, 0, 300, { dataset: 'mills', plant: 'p1', batchId: 'p1-0', from: first.from, to: first.to });
    await assert.rejects(lake.ingest({ dataset: 'mills', plant: 'p1', bytes: resealed.bytes, engine: e }), code('CLOUD_ERR_CONFLICT'));
    // Rejections: another plant's batch, truncated bytes, a corrupted ciphertext, an oversized body, an unknown dataset.
    const fresh = sealBatch(e, f.pk, dataset.schema, plants.get('p2')!, 0, 10, { dataset: 'mills', plant: 'p2', batchId: 'p2-new', from: first.from, to: first.to });
    await assert.rejects(lake.ingest({ dataset: 'mills', plant: 'p1', bytes: fresh.bytes, engine: e }), code('CLOUD_ERR_BATCH_REJECTED'));
    await assert.rejects(lake.ingest({ dataset: 'mills', plant: 'p2', bytes: fresh.bytes.subarray(0, 1000), engine: e }), code('CLOUD_ERR_BATCH_REJECTED'));
    const corrupt = fresh.bytes.slice();
    corrupt[corrupt.length - 1] = 0xff; // the top byte of the last residue: above every prime
    await assert.rejects(lake.ingest({ dataset: 'mills', plant: 'p2', bytes: corrupt, engine: e }), code('CLOUD_ERR_BATCH_REJECTED'));
    await assert.rejects(lake.ingest({ dataset: 'mills', plant: 'p2', bytes: new Uint8Array(Lake.maxBatchBytes(e, dataset) + 1), engine: e }), code('CLOUD_ERR_BODY_TOO_LARGE'));
    await assert.rejects(lake.ingest({ dataset: 'nope', plant: 'p2', bytes: fresh.bytes, engine: e }), code('CLOUD_ERR_NOT_FOUND'));
    assert.equal((await lake.batches('mills')).length, local.refs.length, 'nothing half-written');

    // A job over the lake gives the plaintext moments.
    const refs = await lake.batches('mills');
    const plan = planJob(e, dataset.schema, { features: ['speed', 'torque'], label: true }, refs, { minPlants: 3, minRecords: 100 });
    const accs = await aggregateJob(e, plan, { relinKeys: f.relinKeys, load: (r) => lake.load(r) });
    const input = sumRevealInput(e, accs);
    const request = { jobId: 'lake-job', plan, input, receiver: null, parties: 3 };
    const all = [...plants.values()];
    assert.deepEqual(decryptMoments(e, dataset.schema, plan, input, f.parties.map((s) => makeRevealShare(e, s, request, { minPlants: 3, minRecords: 100 }, new ShareLedger()))),
      computeMoments(dataset.schema, { x: all.flatMap((d) => d.x), y: all.flatMap((d) => d.y!) }));
    for (const ct of accs) ct[Symbol.dispose]();

    // Retention: the batches' records are from 2026-01-01…; 30 days after the newest, all expire.
    now = new Date('2026-01-15T00:00:00Z');
    assert.deepEqual(await lake.expire(), [], 'nothing expires early');
    now = new Date('2026-03-01T00:00:00Z');
    const p3 = await lake.withdraw('p3');
    assert.ok(p3.length > 0 && p3.every((d) => d.plant === 'p3' && d.reason === 'withdrawal'));
    assert.equal((await lake.batches('mills', 'p3')).length, 0);
    const expired = await lake.expire();
    assert.equal(expired.length + p3.length, local.refs.length);
    assert.equal((await lake.batches('mills')).length, 0);
    for (const d of [...expired, ...p3]) assert.equal(await blobs.has(d.contentHash), false, 'the blob is gone with its row');
    assert.deepEqual((await lake.deletionsOf(plan.batches.map((b) => b.contentHash))).map((d) => d.contentHash).sort(), plan.batches.map((b) => b.contentHash).sort());
    await assert.rejects(lake.load(first), code('CLOUD_ERR_NOT_FOUND'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

onBothDatabases('lake', exercise);
