/**
 * The store-and-forward uploader with real components: a lake on PGlite behind a small HTTP front
 * that speaks the HttpSink contract. The cloud goes down for a while: the backlog grows (batches,
 * bytes), survives a restart of the gateway, and drains when the cloud is back, with a lost answer
 * deduplicated by the lake — decrypted, the lake holds every row once. Refused and conflicting
 * batches are parked and the stream goes on. Backoff arithmetic, the HTTP status contract, the
 * lake sink's error mapping, and typed errors for bad options.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DATASET, PLANT, SCHEMA, TOKEN, expectedRecord, lakeRecords, rawRow, serveLake, testFederation, testLake } from './_gateway.ts';
import { POLICY_YAML } from './_fixtures.ts';
import { Gateway } from '../../src/edge/gateway.ts';
import { Outbox } from '../../src/edge/outbox.ts';
import { Uploader, type UploadFailure } from '../../src/edge/uploader.ts';
import { HttpSink } from '../../src/edge/sinks/http.ts';
import { LakeSink } from '../../src/edge/sinks/lake.ts';
import { EDGE_ERR, EdgeError, EdgeRangeError, EdgeTypeError } from '../../src/edge/errors.ts';
import { applyPolicy, parsePolicy, PseudonymKey } from '../../src/edge/policy.ts';
import { sealBatch } from '../../src/compute/batch.ts';
import { quantiseDataset } from '../../src/models/schema.ts';
import type { Federation } from '../he/fixture.ts';

const policy = parsePolicy(POLICY_YAML);
const key = PseudonymKey.fromBytes(Buffer.alloc(32, 9));
const code = (c: string) => (e: unknown): boolean => (e instanceof EdgeError || e instanceof EdgeTypeError || e instanceof EdgeRangeError) && e.code === c;

function tempDir(t: { after: (f: () => void) => void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hedge-uploader-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function openGateway(dir: string, f: Federation, outbox: Outbox): Gateway {
  return Gateway.open({
    recordsPath: path.join(dir, 'records.db'), outbox, engine: f.engine, publicKey: f.pk, schema: SCHEMA,
    dataset: DATASET, plant: PLANT, policy, source: { kind: 'samples' }, batchSize: 64,
  });
}

const ingest = (gw: Gateway, from: number, count: number): void => {
  gw.add(applyPolicy(policy, key, Array.from({ length: count }, (_, i) => rawRow(from + i))).events);
};

test('uploader: the cloud down for a while — the backlog grows and survives a restart, then drains; nothing lost, nothing twice', async (t) => {
  const f = await testFederation();
  const dir = tempDir(t);
  const lake = await testLake(f.engine);
  t.after(() => lake.close());
  const front = await serveLake(lake.lake, f.engine);
  t.after(() => front.close());
  await front.down();

  let outbox = Outbox.open({ path: path.join(dir, 'outbox.db') });
  let gw = openGateway(dir, f, outbox);
  const sink = new HttpSink({ url: front.url, token: TOKEN, timeoutMs: 5000 });
  const failures: UploadFailure[] = [];
  let uploader = new Uploader({ outbox, sink, backoff: { initialMs: 20, maxMs: 100 }, onError: (e) => failures.push(e) });
  uploader.start();
  ingest(gw, 0, 5 * 64);
  assert.equal(gw.seal().length, 5);
  uploader.kick();
  await until(() => uploader.metrics().retries >= 4, 'four failed attempts');
  let m = uploader.metrics();
  assert.equal(m.backlogBatches, 5);
  assert.ok(m.backlogBytes > 5 * 60_000, `${m.backlogBytes} bytes waiting`);
  assert.equal(m.lastSuccessAt, null);
  assert.equal(m.lastError?.code, EDGE_ERR.UPLOAD);
  assert.ok(failures.every((x) => x.action === 'retry' && x.batch.seq === 1), 'the head of the stream is retried, in order');
  assert.match(failures[0].error.message, /ECONNREFUSED/);
  const before = m.backlogBytes;
  ingest(gw, 320, 2 * 64);
  gw.seal();
  assert.equal(uploader.metrics().backlogBatches, 7, 'the backlog grows while the cloud is down');
  assert.ok(uploader.metrics().backlogBytes > before);

  // The gateway restarts while the cloud is still down: the backlog is on disk.
  await uploader.stop();
  gw.close();
  outbox.close();
  outbox = Outbox.open({ path: path.join(dir, 'outbox.db') });
  gw = openGateway(dir, f, outbox);
  t.after(() => { gw.close(); outbox.close(); });
  const reopened = outbox.metrics();
  assert.deepEqual([reopened.backlogBatches, reopened.sentBatches, reopened.retries >= 4], [7, 0, true]);
  const uploaded: number[] = [];
  uploader = new Uploader({ outbox, sink, backoff: { initialMs: 20, maxMs: 100 }, onUploaded: (e) => uploaded.push(e.batch.seq) });
  uploader.start();
  await new Promise((r) => setTimeout(r, 100));

  // The cloud comes back; its first answer is lost after the batch was stored.
  front.dropAnswers = 1;
  await front.up();
  await uploader.idle();
  await uploader.stop();
  m = uploader.metrics();
  assert.deepEqual([m.backlogBatches, m.backlogBytes, m.sentBatches, m.duplicates, m.parkedBatches], [0, 0, 7, 1, 0]);
  assert.deepEqual(uploaded, [1, 2, 3, 4, 5, 6, 7], 'in order');
  assert.deepEqual(front.statuses, [0, 200, 201, 201, 201, 201, 201, 201], 'the lost answer, its retry answered duplicate, then the rest');
  const refs = await lake.lake.batches(DATASET);
  assert.equal(refs.length, 7);
  assert.equal(refs.reduce((s, r) => s + r.recordCount, 0), 448);
  assert.deepEqual(await lakeRecords(lake.lake, f.engine, f.ideal), Array.from({ length: 448 }, (_, r) => expectedRecord(r)));
});

test('uploader: a refused batch and a conflicting one are parked with the reason; the stream goes on', async (t) => {
  const f = await testFederation();
  const dir = tempDir(t);
  const lake = await testLake(f.engine);
  t.after(() => lake.close());
  const front = await serveLake(lake.lake, f.engine);
  t.after(() => front.close());
  using outbox = Outbox.open({ path: path.join(dir, 'outbox.db') });
  using gw = openGateway(dir, f, outbox);

  // seq 1: bytes that are not a batch (a bug or corruption; the lake refuses them).
  outbox.put({ dataset: DATASET, plant: PLANT, seq: 1, contentHash: '0'.repeat(64), records: 64, bytes: new Uint8Array(100).fill(7), consumedThrough: 0 });
  // seq 2: the cloud already holds other bytes under its id (as if an outbox had been copied and both sealed).
  const { batchId } = outbox.next(DATASET, PLANT);
  const rows = Array.from({ length: 64 }, (_, r) => rawRow(r).values);
  const data = quantiseDataset(SCHEMA, rows.map((v) => [v.air_temperature, v.torque]), rows.map((v) => (v.machine_failure ? 'failure' : 'ok')));
  const other = sealBatch(f.engine, f.pk, SCHEMA, data, 0, 64, { dataset: DATASET, plant: PLANT, batchId, from: '2026-01-01T00:00:00Z', to: '2026-01-01T00:01:03Z' });
  assert.equal((await lake.lake.ingest({ dataset: DATASET, plant: PLANT, bytes: other.bytes, engine: f.engine })).status, 'stored');
  ingest(gw, 0, 128);
  assert.deepEqual(gw.seal().map((b) => b.seq), [2, 3]);

  const failures: UploadFailure[] = [];
  const uploader = new Uploader({ outbox, sink: new HttpSink({ url: front.url, token: TOKEN }), onError: (e) => failures.push(e) });
  uploader.start();
  await uploader.idle();
  await uploader.stop();
  assert.deepEqual(failures.map((x) => [x.batch.seq, x.action, x.error.code]), [[1, 'parked', EDGE_ERR.UPLOAD_REJECTED], [2, 'parked', EDGE_ERR.UPLOAD_CONFLICT]]);
  assert.match(failures[0].error.message, /answered 422: CLOUD_ERR_BATCH_REJECTED/);
  const parked = outbox.parked();
  assert.deepEqual(parked.map((p) => [p.seq, p.code]), [[1, EDGE_ERR.UPLOAD_REJECTED], [2, EDGE_ERR.UPLOAD_CONFLICT]]);
  const m = uploader.metrics();
  assert.deepEqual([m.backlogBatches, m.parkedBatches, m.sentBatches, m.retries], [0, 2, 1, 0]);
  assert.equal((await lake.lake.batches(DATASET)).length, 2, 'the earlier batch under the conflicting id, and seq 3');
});

test('uploader: exponential backoff with equal jitter, per stream; stop() aborts the attempt in flight', async (t) => {
  const dir = tempDir(t);
  using outbox = Outbox.open({ path: path.join(dir, 'outbox.db') });
  outbox.put({ dataset: 'd1', plant: PLANT, seq: 1, contentHash: 'a'.repeat(64), records: 1, bytes: new Uint8Array(10), consumedThrough: 0 });
  // Nothing listens on this port: every attempt is refused at once.
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  for (const [random, expected] of [[() => 0, [10, 20, 40, 50, 50]], [() => 0.5, [15, 30, 60, 75, 75]]] as const) {
    const delays: number[] = [];
    const uploader = new Uploader({ outbox, sink: new HttpSink({ url: `http://127.0.0.1:${port}` }), backoff: { initialMs: 20, maxMs: 100 }, random, onError: (e) => delays.push(e.delayMs) });
    uploader.start();
    await until(() => delays.length >= 5, 'five failures');
    await uploader.stop();
    assert.deepEqual(delays.slice(0, 5), expected);
  }

  // An attempt in flight when stop() is called is aborted and not counted as a failure.
  const hanging = createServer(() => {});
  await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r));
  t.after(() => { hanging.closeAllConnections(); hanging.close(); });
  const retries = outbox.metrics().retries;
  const errors: UploadFailure[] = [];
  const uploader = new Uploader({ outbox, sink: new HttpSink({ url: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}` }), onError: (e) => errors.push(e) });
  uploader.start();
  await new Promise((r) => setTimeout(r, 100));
  await uploader.stop();
  assert.deepEqual([errors.length, outbox.metrics().retries, outbox.metrics().backlogBatches], [0, retries, 1]);
});

test('http sink: the status contract, timeouts, a token provider; typed errors for bad options', async (t) => {
  let status = 201;
  const seen: { url?: string; auth?: string; type?: string; length?: number }[] = [];
  const server = createServer(async (req, res) => {
    let length = 0;
    for await (const c of req) length += (c as Buffer).length;
    seen.push({ url: req.url, auth: req.headers.authorization, type: req.headers['content-type'], length });
    if (status === -1) return; // never answers
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'CLOUD_ERR_X', message: 'because' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => { server.closeAllConnections(); server.close(); });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/base/`;
  let tokens = 0;
  const sink = new HttpSink({ url, token: () => `t${++tokens}`, timeoutMs: 200 });
  const bytes = new Uint8Array(1000);
  assert.equal(await sink.upload('mills x', PLANT, bytes), 'stored');
  assert.deepEqual(seen[0], { url: `/base/v1/tenants/${PLANT}/datasets/mills%20x/batches`, auth: 'Bearer t1', type: 'application/octet-stream', length: 1000 });
  status = 200;
  assert.equal(await sink.upload(DATASET, PLANT, bytes), 'duplicate');
  const expect: [number, string][] = [
    [409, EDGE_ERR.UPLOAD_CONFLICT], [400, EDGE_ERR.UPLOAD_REJECTED], [413, EDGE_ERR.UPLOAD_REJECTED], [422, EDGE_ERR.UPLOAD_REJECTED],
    [401, EDGE_ERR.UPLOAD], [403, EDGE_ERR.UPLOAD], [404, EDGE_ERR.UPLOAD], [408, EDGE_ERR.UPLOAD], [429, EDGE_ERR.UPLOAD],
    [500, EDGE_ERR.UPLOAD], [503, EDGE_ERR.UPLOAD], [302, EDGE_ERR.UPLOAD],
  ];
  for (const [s, c] of expect) {
    status = s;
    await assert.rejects(sink.upload(DATASET, PLANT, bytes), (e: unknown) => code(c)(e) && (e as Error).message.includes(`answered ${s}: CLOUD_ERR_X because`), `status ${s}`);
  }
  status = -1;
  await assert.rejects(sink.upload(DATASET, PLANT, bytes), (e: unknown) => code(EDGE_ERR.UPLOAD)(e) && /within 200 ms/.test((e as Error).message));
  const failing = new HttpSink({ url, token: () => { throw new Error('no refresh token'); } });
  await assert.rejects(failing.upload(DATASET, PLANT, bytes), code(EDGE_ERR.UPLOAD));

  assert.throws(() => new HttpSink({ url: 'not a url' }), code(EDGE_ERR.OUT_OF_RANGE));
  assert.throws(() => new HttpSink({ url: 'ftp://cloud.example' }), code(EDGE_ERR.OUT_OF_RANGE));
  assert.throws(() => new HttpSink({ url: 'http://cloud.example', tls: { ca: 'x' } }), code(EDGE_ERR.OUT_OF_RANGE), 'TLS options need https');
  assert.throws(() => new HttpSink({ url: 'https://cloud.example', token: 42 as never }), code(EDGE_ERR.INVALID_ARGUMENT));
  assert.throws(() => new HttpSink({ url: 'https://cloud.example', timeoutMs: 0 }), code(EDGE_ERR.OUT_OF_RANGE));
  assert.throws(() => new HttpSink(undefined as never), code(EDGE_ERR.INVALID_ARGUMENT));
});

test('lake sink and uploader: lake errors mapped by code; typed errors for bad options', async (t) => {
  const f = await testFederation();
  const dir = tempDir(t);
  const lake = await testLake(f.engine);
  t.after(() => lake.close());
  const sink = new LakeSink({ lake: lake.lake, engine: f.engine });
  await assert.rejects(sink.upload('no-such-dataset', PLANT, new Uint8Array(10)), code(EDGE_ERR.UPLOAD), 'an unknown dataset may be created later: retried');
  await assert.rejects(sink.upload(DATASET, PLANT, new Uint8Array(100).fill(1)), code(EDGE_ERR.UPLOAD_REJECTED));
  assert.throws(() => new LakeSink({ lake: {} as never, engine: f.engine }), code(EDGE_ERR.INVALID_ARGUMENT));

  using outbox = Outbox.open({ path: path.join(dir, 'outbox.db') });
  assert.throws(() => new Uploader({ outbox, sink: {} as never }), code(EDGE_ERR.INVALID_ARGUMENT));
  assert.throws(() => new Uploader({ outbox, sink, backoff: { initialMs: 0 } }), code(EDGE_ERR.OUT_OF_RANGE));
  assert.throws(() => new Uploader({ outbox, sink, backoff: { initialMs: 100, maxMs: 10 } }), code(EDGE_ERR.OUT_OF_RANGE));
  assert.throws(() => new Uploader({ outbox, sink, random: 0.5 as never }), code(EDGE_ERR.INVALID_ARGUMENT));
  assert.throws(() => outbox.put({ dataset: DATASET, plant: PLANT, seq: 2, contentHash: 'a', records: 1, bytes: new Uint8Array(1), consumedThrough: 0 }), code(EDGE_ERR.OUTBOX_MISMATCH), 'out of sequence');
  assert.throws(() => outbox.put({ dataset: DATASET, plant: PLANT, seq: 1, contentHash: 'a', records: 1, bytes: 'x' as never, consumedThrough: 0 }), code(EDGE_ERR.INVALID_ARGUMENT));
  assert.throws(() => Outbox.open({ path: path.join(dir, 'outbox.db') }), code(EDGE_ERR.OUTBOX_LOCKED), 'one owner');
  outbox.close();
  assert.throws(() => outbox.metrics(), code(EDGE_ERR.OUTBOX_CLOSED));
});
