/**
 * SIGKILL the gateway 20 times while it ingests, encrypts and uploads (a child process on the
 * pinned Node, uploading over HTTP to a real lake on PGlite), then let it finish: the records the
 * lake counts (Σ recordCount over its batches) equal the rows ingested, the lake never saw a batch
 * id with two contents (no 409), and — decrypted with the ideal key — its batches hold every
 * ingested row exactly once, in order; a job over the lake, revealed by the key holders, gives the
 * moments (record count, sums, Gram matrices per class) of exactly the ingested rows.
 *
 * Kill points: a third of the rounds at a random time, a third just after the child starts
 * sealing a batch (inside the encryption or the outbox commit), a third while an upload is in
 * flight. HEDGE_CRASH_SEED replays a run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DATASET, SCHEMA, expectedRecord, lakeRecords, rawRow, serveLake, testLake } from './_gateway.ts';
import { computeFederation } from '../compute/fixture.ts';
import { planJob } from '../../src/compute/plan.ts';
import { aggregateJob } from '../../src/compute/aggregate.ts';
import { decryptMoments, makeRevealShare } from '../../src/compute/reveal.ts';
import { sumRevealInput } from '../../src/he/mhe/sum-input.ts';
import { ShareLedger } from '../../src/he/mhe/ledger.ts';
import { computeMoments } from '../../src/models/moments.ts';
import { quantiseDataset } from '../../src/models/schema.ts';
import { PublicKeyCodec } from '../../src/he/wire.ts';
import { DurableBuffer } from '../../src/edge/buffer.ts';
import { rng } from '../_rng.ts';
import { Outbox } from '../../src/edge/outbox.ts';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'gateway-crash-child.ts');
const ROUNDS = 20;

type Trigger = { after: 'start'; ms: number } | { after: 'E' | 'P'; ms: number };

/** Runs the child; kills it at the trigger (unless mode is finish). Returns its complete lines. */
function runChild(dir: string, url: string, mode: 'run' | 'finish', trigger?: Trigger): Promise<{ lines: string[]; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir, url, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let armed = false;
    const kill = (ms: number): void => {
      if (armed) return;
      armed = true;
      setTimeout(() => child.kill('SIGKILL'), ms);
    };
    const guard = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (trigger === undefined) return;
      if (trigger.after === 'start' && out.includes('ready\n')) kill(trigger.ms);
      if (trigger.after !== 'start' && out.includes(`\n${trigger.after}`)) kill(trigger.ms);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
    child.on('error', reject);
    child.on('close', (exitCode, signal) => {
      clearTimeout(guard);
      if (mode === 'run' && signal !== 'SIGKILL') return reject(new Error(`the child ended by itself (code ${exitCode}): ${err}`));
      if (mode === 'finish' && exitCode !== 0) return reject(new Error(`the finishing child failed (code ${exitCode}, ${signal}): ${err}`));
      resolve({ lines: out.split('\n').slice(0, -1), killed: signal === 'SIGKILL' });
    });
  });
}

test('gateway: SIGKILL 20 times during encryption and upload — the lake counts exactly the rows ingested, none twice', { timeout: 120_000 }, async (t) => {
  const seed = Number(process.env.HEDGE_CRASH_SEED ?? Date.now() % 2 ** 31);
  t.diagnostic(`seed ${seed}`);
  const rand = rng(seed);
  const f = await computeFederation(3);
  const lake = await testLake(f.engine);
  t.after(() => lake.close());
  const front = await serveLake(lake.lake, f.engine);
  t.after(() => front.close());
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hedge-gateway-crash-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'pk.bin'), PublicKeyCodec.toBytes(f.engine, f.pk));

  const hit = { sealing: 0, uploading: 0, elsewhere: 0 };
  let acknowledged = 0; // the highest row count an `A` line reported
  for (let run = 0; run < ROUNDS; run++) {
    const kind = run % 3;
    const trigger: Trigger = kind === 0 ? { after: 'start', ms: Math.floor(rand() * 400) } : { after: kind === 1 ? 'E' : 'P', ms: Math.floor(rand() * 8) };
    const { lines } = await runChild(dir, front.url, 'run', trigger);
    for (const l of lines) if (l.startsWith('A ')) acknowledged = Math.max(acknowledged, Number(l.slice(2)));
    const lastE = lines.lastIndexOf('E');
    const lastS = lines.findLastIndex((l) => l.startsWith('S '));
    const lastP = lines.lastIndexOf('P');
    const lastR = lines.findLastIndex((l) => l.startsWith('R '));
    if (lastE > lastS && lines.slice(lastE).every((l) => !l.startsWith('A '))) hit.sealing++;
    else if (lastP > lastR) hit.uploading++;
    else hit.elsewhere++;
  }
  const { lines } = await runChild(dir, front.url, 'finish');
  const done = lines.find((l) => l.startsWith('DONE '));
  assert.ok(done !== undefined, `the finishing child reported: ${lines.slice(-5).join(' | ')}`);
  const ingested = Number(done.slice(5));
  t.diagnostic(`${ingested} rows ingested, kills: ${JSON.stringify(hit)}, answers: ${['201', '200'].map((s) => `${s}×${front.statuses.filter((x) => String(x) === s).length}`).join(' ')}`);
  assert.ok(ingested >= acknowledged, 'every acknowledged row is counted');

  // Independent checks of the gateway's files, and of the lake.
  {
    using buffer = DurableBuffer.open({ path: path.join(dir, 'records.db'), maxEntries: 1_000_000, whenFull: 'refuse' });
    assert.deepEqual([buffer.metrics().appendedTotal, buffer.metrics().entries], [ingested, 0]);
    using outbox = Outbox.open({ path: path.join(dir, 'outbox.db') });
    const m = outbox.metrics();
    assert.deepEqual([m.backlogBatches, m.parkedBatches], [0, 0]);
  }
  assert.ok(!front.statuses.some((s) => s === 409 || s === 422), `the lake never refused a batch: ${front.statuses.filter((s) => s >= 400).join(', ')}`);
  const refs = await lake.lake.batches(DATASET);
  assert.equal(refs.reduce((s, r) => s + r.recordCount, 0), ingested, 'Σ recordCount in the lake = rows ingested');
  assert.equal(new Set(refs.map((r) => r.contentHash)).size, refs.length);
  assert.deepEqual(await lakeRecords(lake.lake, f.engine, f.ideal), Array.from({ length: ingested }, (_, r) => expectedRecord(r)), 'every row once, in order');

  // A job over the lake, revealed by the three key holders, gives the moments of exactly the ingested rows.
  const guards = { minPlants: 1, minRecords: 1 };
  const plan = planJob(f.engine, SCHEMA, { features: SCHEMA.features.map((x) => x.name), label: true }, refs, guards);
  const accs = await aggregateJob(f.engine, plan, { relinKeys: f.relinKeys, load: (r) => lake.lake.load(r) });
  const input = sumRevealInput(f.engine, accs);
  const request = { jobId: 'crash-job', plan, input, receiver: null, parties: 3 };
  const moments = decryptMoments(f.engine, SCHEMA, plan, input, f.parties.map((s) => makeRevealShare(f.engine, s, request, guards, new ShareLedger())));
  for (const ct of accs) ct[Symbol.dispose]();
  const rows = Array.from({ length: ingested }, (_, r) => rawRow(r).values);
  assert.equal(moments.count, BigInt(ingested), 'the revealed record count = rows ingested');
  assert.deepEqual(moments, computeMoments(SCHEMA, quantiseDataset(SCHEMA, rows.map((v) => [v.air_temperature, v.torque]), rows.map((v) => (v.machine_failure ? 'failure' : 'ok')))));
  assert.ok(hit.sealing + hit.uploading >= ROUNDS / 3, 'the kills hit encryption and upload, so the test is not vacuous');
});
