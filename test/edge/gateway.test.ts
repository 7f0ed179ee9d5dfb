/**
 * The gateway's data path with real components: raw samples → policy → gateway (record buffer,
 * quantisation, batches, sealBatch under the collective key) → outbox → uploader → LakeSink → a
 * lake on PGlite; the lake's batches decrypted with the ideal key hold exactly the ingested rows,
 * in order. Also: partial batches after maxWaitMs and never below minBatchSize, feature-record
 * mapping and refusals (counted, never a crash), typed errors for misconfiguration and bad input,
 * recovery of a crash between storing a batch and acking its records.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DATASET, PLANT, SCHEMA, SCHEMA_LITERAL, expectedRecord, lakeRecords, rawRow, testFederation, testLake } from './_gateway.ts';
import { POLICY_YAML } from './_fixtures.ts';
import { Gateway, type GatewayOptions } from '../../src/edge/gateway.ts';
import { Outbox } from '../../src/edge/outbox.ts';
import { Uploader } from '../../src/edge/uploader.ts';
import { LakeSink } from '../../src/edge/sinks/lake.ts';
import { DurableBuffer } from '../../src/edge/buffer.ts';
import { EDGE_ERR, EdgeError, EdgeRangeError, EdgeTypeError } from '../../src/edge/errors.ts';
import { FeatureWindows, type FeatureRecord } from '../../src/edge/features.ts';
import { applyPolicy, parsePolicy, PseudonymKey } from '../../src/edge/policy.ts';
import { createSchema } from '../../src/models/schema.ts';
import { readBatchMeta } from '../../src/compute/batch.ts';

const policy = parsePolicy(POLICY_YAML);
const key = PseudonymKey.fromBytes(Buffer.alloc(32, 9));
const code = (c: string) => (e: unknown): boolean => (e instanceof EdgeError || e instanceof EdgeTypeError || e instanceof EdgeRangeError) && e.code === c;

function tempDir(t: { after: (f: () => void) => void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hedge-gateway-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('gateway: samples → policy → batches of at most N → outbox → lake; decrypted, the lake holds every row once, in order', async (t) => {
  const f = await testFederation();
  const dir = tempDir(t);
  const lake = await testLake(f.engine);
  t.after(() => lake.close());
  using outbox = Outbox.open({ path: path.join(dir, 'outbox.db') });
  using gw = Gateway.open({
    recordsPath: path.join(dir, 'records.db'), outbox, engine: f.engine, publicKey: f.pk, schema: SCHEMA,
    dataset: DATASET, plant: PLANT, policy, source: { kind: 'samples' }, batchSize: 128,
  });
  const rows = Array.from({ length: 300 }, (_, r) => rawRow(r));
  const { events, counters } = applyPolicy(policy, key, [...rows.slice(0, 150), { kind: 'gap', machineId: 'mill-1', t: rows[150].t, reason: 'test' }, ...rows.slice(150)]);
  assert.equal(counters.samplesOut, 300);
  assert.deepEqual(gw.add(events), { stored: 300, rejected: 0 });
  assert.equal(gw.metrics().gaps, 1, 'the gap is skipped, counted');

  const sealed = gw.seal();
  assert.deepEqual(sealed.map((b) => [b.seq, b.records]), [[1, 128], [2, 128]], 'full batches only; 44 wait');
  assert.equal(gw.seal({ force: true }).length, 0, 'never below minBatchSize (64), even forced');
  gw.add(applyPolicy(policy, key, Array.from({ length: 30 }, (_, i) => rawRow(300 + i))).events);
  const last = gw.seal({ force: true });
  assert.deepEqual(last.map((b) => [b.seq, b.records]), [[3, 74]]);
  assert.match(sealed[0].batchId, /^[0-9a-f]{12}-0000000001$/);
  assert.equal(sealed[1].batchId.slice(0, 12), sealed[0].batchId.slice(0, 12), 'one tag per stream');
  const m = gw.metrics();
  assert.deepEqual([m.storedTotal, m.sealedRecords, m.waitingRecords, m.sealedBatches], [330, 330, 0, 3]);
  const head = outbox.head(DATASET, PLANT)!;
  const meta = readBatchMeta(head.bytes);
  assert.deepEqual([meta.batchId, meta.plant, meta.dataset, meta.recordCount, meta.from, meta.to],
    [sealed[0].batchId, PLANT, DATASET, 128, new Date(rows[0].t).toISOString(), new Date(rows[127].t).toISOString()]);

  const uploaded: number[] = [];
  const uploader = new Uploader({ outbox, sink: new LakeSink({ lake: lake.lake, engine: f.engine }), onUploaded: (e) => uploaded.push(e.batch.seq) });
  uploader.start();
  await uploader.idle();
  await uploader.stop();
  assert.deepEqual(uploaded, [1, 2, 3], 'in sequence order');
  const um = uploader.metrics();
  assert.deepEqual([um.backlogBatches, um.backlogBytes, um.sentBatches, um.duplicates, um.retries, um.parkedBatches], [0, 0, 3, 0, 0, 0]);
  assert.ok(um.sentBytes > 0 && um.lastSuccessAt !== null);
  const refs = await lake.lake.batches(DATASET);
  assert.equal(refs.reduce((s, r) => s + r.recordCount, 0), 330);
  assert.deepEqual(await lakeRecords(lake.lake, f.engine, f.ideal), Array.from({ length: 330 }, (_, r) => expectedRecord(r)));
});

test('gateway: a partial batch leaves once its oldest record waited maxWaitMs; batch ids go on after a restart', async (t) => {
  const f = await testFederation();
  const dir = tempDir(t);
  const clock = { now: 1_000_000 };
  const options = (outbox: Outbox): GatewayOptions => ({
    recordsPath: path.join(dir, 'records.db'), outbox, engine: f.engine, publicKey: f.pk, schema: SCHEMA,
    dataset: DATASET, plant: PLANT, policy, source: { kind: 'samples' }, batchSize: 200, maxWaitMs: 60_000, now: () => clock.now,
  });
  let first: string;
  {
    using outbox = Outbox.open({ path: path.join(dir, 'outbox.db') });
    using gw = Gateway.open(options(outbox));
    gw.add(applyPolicy(policy, key, Array.from({ length: 100 }, (_, r) => rawRow(r))).events);
    assert.equal(gw.seal().length, 0);
    clock.now += 59_999;
    assert.equal(gw.seal().length, 0);
    clock.now += 1;
    const [b] = gw.seal();
    assert.equal(b.records, 100);
    first = b.batchId;
  }
  using outbox = Outbox.open({ path: path.join(dir, 'outbox.db') });
  using gw = Gateway.open(options(outbox));
  gw.add(applyPolicy(policy, key, Array.from({ length: 200 }, (_, r) => rawRow(100 + r))).events);
  const [b] = gw.seal();
  assert.equal(b.seq, 2);
  assert.equal(b.batchId, `${first.slice(0, 12)}-0000000002`);
  assert.deepEqual(outbox.queues(), [{ dataset: DATASET, plant: PLANT }]);
  assert.equal(outbox.metrics().backlogBatches, 2);
});

test('gateway: feature records map by name; records that do not fit the schema are refused and counted, never a crash', async (t) => {
  const f = await testFederation();
  const dir = tempDir(t);
  const windows = new FeatureWindows({ window: { kind: 'count', size: 2 }, signals: ['air_temperature', 'torque'], stats: ['mean', 'max'], labelClasses: ['failure', 'ok'] });
  const schema = createSchema({
    features: [{ name: 'torque.max', lo: 0, hi: 80 }, { name: 'air_temperature.mean', lo: 290, hi: 310 }],
    label: { kind: 'categorical', name: 'machine_failure', classes: ['ok', 'failure'] },
  });
  using outbox = Outbox.open({ path: path.join(dir, 'outbox.db') });
  using gw = Gateway.open({
    recordsPath: path.join(dir, 'records.db'), outbox, engine: f.engine, publicKey: f.pk, schema,
    dataset: DATASET, plant: PLANT, policy, source: { kind: 'windows', names: windows.names }, batchSize: 64,
  });
  const records = applyPolicy(policy, key, Array.from({ length: 128 }, (_, r) => ({ ...rawRow(r), machineId: 'mill-1' }))).events.flatMap((e) => windows.push(e));
  assert.equal(records.length, 64);
  const good = records[0];
  const bad: FeatureRecord[] = [
    { ...good, values: [good.values[0], good.values[1], 90, good.values[3]] },        // torque.mean 90: not a schema feature, left out
    { ...good, values: [Number.NaN, good.values[1], good.values[2], good.values[3]] }, // air_temperature.mean NaN
    { ...good, values: [good.values[0], good.values[1], good.values[2], 81] },        // torque.max 81 > 80
    { ...good, values: good.values.slice(0, 3) },                                    // torque.max missing
    { ...good, label: 'broken' },
    { ...good, start: 10, end: 5 },
  ];
  const out = gw.add([...records, ...bad, { kind: 'gap', machine: good.machine, t: 0, reason: 'x' }]);
  assert.deepEqual(out, { stored: 65, rejected: 5 }, 'torque.mean is not in the schema: 90 there is left out, not refused');
  assert.deepEqual(gw.metrics().rejected, { missing: 1, nonFinite: 1, outOfRange: 1, label: 1, time: 1 });
  assert.equal(gw.seal().length, 1);

  assert.throws(() => gw.add('records' as never), code(EDGE_ERR.INVALID_ARGUMENT));
  assert.throws(() => gw.add([null as never]), code(EDGE_ERR.INVALID_ARGUMENT));
  assert.throws(() => gw.add([{ kind: 'sample', machine: 'm', t: 1, values: {} } as never]), code(EDGE_ERR.INVALID_ARGUMENT), 'a sample to a windows gateway');
  assert.throws(() => gw.add([{ ...good, values: 'x' } as never]), code(EDGE_ERR.INVALID_ARGUMENT));
  assert.equal(gw.metrics().waitingRecords, 1, 'nothing of a call that threw was stored');
});

test('gateway: typed errors for a schema the source cannot fill, bad options, a foreign record buffer', async (t) => {
  const f = await testFederation();
  const dir = tempDir(t);
  using outbox = Outbox.open({ path: path.join(dir, 'outbox.db') });
  const base: GatewayOptions = {
    recordsPath: path.join(dir, 'records.db'), outbox, engine: f.engine, publicKey: f.pk, schema: SCHEMA,
    dataset: DATASET, plant: PLANT, policy, source: { kind: 'samples' }, batchSize: 64,
  };
  const open = (o: Partial<GatewayOptions>): Gateway => Gateway.open({ ...base, ...o });
  const withFeatures = (features: { name: string; lo: number; hi: number }[]) => createSchema({ ...SCHEMA_LITERAL, features });
  assert.throws(() => open({ schema: withFeatures([{ name: 'spindle_current', lo: 0, hi: 10 }]) }), code(EDGE_ERR.SCHEMA_MISMATCH), 'not shared by the policy');
  assert.throws(() => open({ schema: withFeatures([{ name: 'operator_badge', lo: 0, hi: 1e6 }]) }), code(EDGE_ERR.SCHEMA_MISMATCH), 'declared, not shareable');
  assert.throws(() => open({ schema: withFeatures([{ name: 'torque', lo: 10, hi: 80 }]) }), code(EDGE_ERR.SCHEMA_MISMATCH), 'the policy lets 3 Nm leave');
  assert.throws(() => open({ schema: createSchema({ features: SCHEMA_LITERAL.features, label: { kind: 'categorical', name: 'state', classes: ['good', 'bad'] } }) }), code(EDGE_ERR.SCHEMA_MISMATCH));
  assert.throws(() => open({ schema: createSchema({ features: SCHEMA_LITERAL.features, label: { kind: 'continuous', name: 'wear', lo: 0, hi: 1 } }) }), code(EDGE_ERR.SCHEMA_MISMATCH));
  assert.throws(() => open({ source: { kind: 'windows', names: ['torque.mean'] } }), code(EDGE_ERR.SCHEMA_MISMATCH));
  assert.throws(() => open({ batchSize: 63 }), code(EDGE_ERR.OUT_OF_RANGE), 'below minBatchSize');
  assert.throws(() => open({ batchSize: 4096 }), code(EDGE_ERR.OUT_OF_RANGE), 'above the slots');
  assert.throws(() => open({ source: { kind: 'files' } as never }), code(EDGE_ERR.OUT_OF_RANGE));
  assert.throws(() => open({ dataset: '' }), code(EDGE_ERR.OUT_OF_RANGE));
  assert.throws(() => open({ publicKey: undefined as never }), code(EDGE_ERR.INVALID_ARGUMENT));
  assert.throws(() => Gateway.open(null as never), code(EDGE_ERR.INVALID_ARGUMENT));

  {
    using gw = open({});
    gw.add(applyPolicy(policy, key, Array.from({ length: 64 }, (_, r) => rawRow(r))).events);
    assert.equal(gw.seal().length, 1);
  }
  // The outbox's batches consumed record 64 of records.db; another record file cannot be the same stream.
  assert.throws(() => open({ recordsPath: path.join(dir, 'other.db') }), code(EDGE_ERR.OUTBOX_MISMATCH));
  using gw = open({});
  gw.close();
  assert.throws(() => gw.add([]), code(EDGE_ERR.BUFFER_CLOSED));
});

test('gateway: a crash after the outbox stored a batch but before its records were acked: reopening acks them, nothing is sealed twice', async (t) => {
  const f = await testFederation();
  const dir = tempDir(t);
  const recordsPath = path.join(dir, 'records.db');
  using outbox = Outbox.open({ path: path.join(dir, 'outbox.db') });
  const options: GatewayOptions = {
    recordsPath, outbox, engine: f.engine, publicKey: f.pk, schema: SCHEMA, dataset: DATASET, plant: PLANT, policy, source: { kind: 'samples' }, batchSize: 64,
  };
  {
    using gw = Gateway.open(options);
    gw.add(applyPolicy(policy, key, Array.from({ length: 100 }, (_, r) => rawRow(r))).events);
  }
  // Replay the first half of a seal by hand: the batch goes into the outbox, the process dies before the ack.
  {
    using buffer = DurableBuffer.open({ path: recordsPath, maxEntries: 1_000_000, whenFull: 'refuse' });
    const leased = buffer.lease(64);
    const { seq } = outbox.next(DATASET, PLANT);
    outbox.put({ dataset: DATASET, plant: PLANT, seq, contentHash: 'f'.repeat(64), records: 64, bytes: new Uint8Array(8), consumedThrough: leased[63].id });
  }
  using gw = Gateway.open(options);
  assert.equal(gw.metrics().waitingRecords, 36, 'the 64 records of the stored batch were acked at open');
  gw.add(applyPolicy(policy, key, Array.from({ length: 28 }, (_, r) => rawRow(100 + r))).events);
  const [b] = gw.seal();
  assert.deepEqual([b.seq, b.records], [2, 64]);
});
