import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DurableBuffer } from '../../src/edge/buffer.ts';
import { rng } from '../_rng.ts';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'buffer-crash-child.ts');
const ROUNDS = 20;

/** Runs the child on `file` and SIGKILLs it `delayMs` after it is ready; returns the complete lines it printed. */
function runAndKill(file: string, run: number, delayMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, file, String(run)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    // The delay counts from the child's `ready` (its buffer is open), so a slow start under load
    // does not turn kills into kills before the loop.
    let timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      const wasReady = out.includes('ready\n');
      out += d;
      if (!wasReady && out.includes('ready\n')) {
        clearTimeout(timer);
        timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
    child.on('error', reject);
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`the child ended by itself (code ${exitCode}): ${err}`));
      else resolve(out.split('\n').slice(0, -1)); // the text after the last newline is a torn line
    });
  });
}

test('buffer: SIGKILL at random points loses no acknowledged entry and duplicates none', { timeout: 60_000 }, async (t) => {
  const seed = Number(process.env.HEDGE_CRASH_SEED ?? Date.now() % 2 ** 31);
  t.diagnostic(`seed ${seed}`);
  const rand = rng(seed);
  const dir = mkdtempSync(path.join(tmpdir(), 'hedge-crash-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'buffer.db');

  const appended = new Map<number, string>(); // acknowledged appends: id → key
  const acked = new Set<number>(); // ids whose ack returned
  const leased = new Set<number>(); // ids ever handed to the uploader
  const delivered = new Map<number, string>(); // what the uploader received, deduplicated by id
  const idOfKey = new Map<string, number>(); // every key ever seen, with its id
  const see = (id: number, key: string) => {
    const known = idOfKey.get(key);
    assert.ok(known === undefined || known === id, `key ${key} stored under ids ${known} and ${id}: a duplicate`);
    idOfKey.set(key, id);
  };
  let mid = 0;
  for (let run = 0; run < ROUNDS; run++) {
    // From 40 ms (often still starting up or opening) to 400 ms (deep in the loop).
    const lines = await runAndKill(file, run, 5 + Math.floor(rand() * 200));
    if (lines.some((l) => l.startsWith('A '))) mid++;
    for (const line of lines) {
      const [tag, ...items] = line.split(' ');
      if (tag === 'A' || tag === 'U') {
        for (const item of items) {
          const [id, key] = [Number(item.split('=')[0]), item.split('=')[1]];
          see(id, key);
          if (tag === 'A') appended.set(id, key);
          else {
            leased.add(id);
            assert.ok(!acked.has(id), `id ${id} was handed out again after its ack returned`);
            delivered.set(id, key);
          }
        }
      } else if (tag === 'K') {
        for (const id of items) acked.add(Number(id));
      }
    }
    // Inspect the file as the restarted gateway would.
    const buffer = DurableBuffer.open<string>({ path: file, maxEntries: 1_000_000, whenFull: 'refuse' });
    try {
      const stored = buffer.peek(1_000_000);
      const storedIds = new Set(stored.map((e) => e.id));
      assert.equal(new Set(stored.map((e) => e.value)).size, stored.length, 'no key is stored twice');
      for (const e of stored) {
        see(e.id, e.value);
        assert.ok(!acked.has(e.id), `id ${e.id} is back after its ack returned`);
      }
      for (const [id, key] of appended) {
        if (acked.has(id) || leased.has(id)) continue; // an ack may have committed before the kill
        assert.ok(storedIds.has(id), `acknowledged append ${id}=${key} was lost (run ${run})`);
      }
      const m = buffer.metrics();
      assert.equal(m.entries, stored.length, 'the entry counter matches the table');
      assert.equal(m.appendedTotal - m.ackedTotal, m.entries, 'appended − acked = stored');
    } finally {
      buffer.close();
    }
  }

  // Drain what is left, as the uploader would after the last restart.
  const buffer = DurableBuffer.open<string>({ path: file, maxEntries: 1_000_000, whenFull: 'refuse' });
  for (const e of buffer.lease(1_000_000)) delivered.set(e.id, e.value);
  buffer.ack([...delivered.keys()]);
  assert.equal(buffer.metrics().entries, 0);
  buffer.close();
  for (const [id, key] of appended) assert.equal(delivered.get(id), key, `acknowledged append ${id}=${key} never reached the uploader`);
  assert.equal(new Set(delivered.values()).size, delivered.size, 'every key reached the uploader under one id only');
  t.diagnostic(`${appended.size} acknowledged appends, ${acked.size} acks, ${mid} of ${ROUNDS} kills inside the loop`);
  assert.ok(mid >= ROUNDS / 2 && appended.size >= 100, 'most kills hit a running loop, so the test is not vacuous');
});
