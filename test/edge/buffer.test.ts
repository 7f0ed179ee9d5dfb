import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { serialize } from 'node:v8';
import { DurableBuffer, type DropEvent } from '../../src/edge/buffer.ts';
import { EDGE_ERR } from '../../src/edge/errors.ts';

const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'hedge-buffer-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('buffer: append, lease, ack and reopen; ids ascend and are never reused', (t) => {
  const file = path.join(tempDir(t), 'b.db');
  let now = 1_000;
  const open = () => DurableBuffer.open<{ n: number }>({ path: file, maxEntries: 100, whenFull: 'refuse', now: () => now });
  const b = open();
  assert.deepEqual(b.append([{ n: 1 }, { n: 2 }, { n: 3 }]), [1, 2, 3]);
  assert.deepEqual(b.append([]), []);
  const first = b.lease(2, 500);
  assert.deepEqual(first.map((e) => [e.id, e.value.n, e.appendedAt]), [[1, 1, 1_000], [2, 2, 1_000]]);
  assert.deepEqual(b.lease(5, 500).map((e) => e.id), [3], 'leased entries are not handed out twice');
  assert.deepEqual(b.lease(5, 500), []);
  assert.deepEqual(b.peek(10).map((e) => e.id), [1, 2, 3], 'peek sees leased entries too');
  b.release([2, 77]);
  assert.deepEqual(b.lease(5, 500).map((e) => e.id), [2], 'a released lease is handed out again');
  now += 500;
  assert.deepEqual(b.lease(5, 500).map((e) => e.id), [1, 2, 3], 'expired leases are handed out again');
  assert.equal(b.ack([1, 2]), 2);
  assert.equal(b.ack([1, 2, 2]), 0, 'ack is idempotent');
  now += 1_000;
  assert.deepEqual(b.metrics(), {
    entries: 1, bytes: serialize({ n: 3 }).length, leased: 0, oldestAppendedAt: 1_000,
    appendedTotal: 3, ackedTotal: 2, droppedTotal: 0, maxEntries: 100, maxBytes: 2 ** 30,
  });
  b.close();
  b.close();
  const again = open();
  assert.deepEqual(again.peek(10).map((e) => [e.id, e.value.n]), [[3, 3]], 'what was not acked survives a reopen');
  assert.equal(again.metrics().appendedTotal, 3);
  again.ack([3]);
  assert.deepEqual(again.append([{ n: 4 }]), [4], 'ids are not reused after everything was acked');
  assert.equal(again.ack([3]), 0, 'an id acked before the reopen is still known');
  again.close();
});

test('buffer: an ack naming an id never issued is refused and acks nothing', (t) => {
  using b = DurableBuffer.open({ path: path.join(tempDir(t), 'b.db'), maxEntries: 10, whenFull: 'refuse' });
  b.append(['a', 'b']);
  assert.throws(() => b.ack([1, 3]), (e: unknown) => code(EDGE_ERR.BUFFER_UNKNOWN_ID)(e) && /id 3 was never issued \(the highest is 2\)/.test((e as Error).message));
  assert.equal(b.metrics().entries, 2, 'the transaction rolled back: id 1 is still stored');
  for (const ids of [[0], [1.5], ['1'], 'x', [-1]]) assert.throws(() => b.ack(ids as never), (e: unknown) => e instanceof TypeError || e instanceof RangeError);
});

test('buffer: full with policy refuse throws EDGE_ERR_BUFFER_FULL and stores nothing', (t) => {
  using b = DurableBuffer.open({ path: path.join(tempDir(t), 'b.db'), maxEntries: 3, maxBytes: 1_000, whenFull: 'refuse' });
  b.append([1, 2]);
  const before = b.metrics();
  assert.throws(() => b.append([3, 4]), (e: unknown) => code(EDGE_ERR.BUFFER_FULL)(e) && /2 of 3 entries/.test((e as Error).message));
  assert.deepEqual(b.metrics(), before);
  assert.deepEqual(b.peek(10).map((e) => e.value), [1, 2]);
  b.append([3]);
  b.ack([1]);
  b.append([4]);
  // The byte bound is enforced too.
  assert.throws(() => b.append(['x'.repeat(990)]), code(EDGE_ERR.BUFFER_FULL));
  // A batch that could never fit, or an entry over maxEntryBytes, is a RangeError whatever the policy.
  assert.throws(() => b.append([1, 2, 3, 4]), RangeError);
  assert.throws(() => b.append(['x'.repeat(2_000)]), RangeError);
});

test('buffer: full with policy drop-oldest drops, counts and reports the oldest entries in the same transaction', (t) => {
  const drops: DropEvent[] = [];
  using b = DurableBuffer.open<number>({ path: path.join(tempDir(t), 'b.db'), maxEntries: 4, whenFull: 'drop-oldest', onDrop: (d) => drops.push(d) });
  b.append([1, 2, 3]);
  b.lease(1);
  const bytesPerEntry = b.metrics().bytes / 3;
  assert.deepEqual(b.append([4, 5, 6]), [4, 5, 6]);
  assert.deepEqual(drops, [{ count: 2, bytes: 2 * bytesPerEntry, firstId: 1, lastId: 2, droppedTotal: 2 }]);
  assert.deepEqual(b.peek(10).map((e) => e.value), [3, 4, 5, 6]);
  assert.equal(b.metrics().droppedTotal, 2);
  assert.equal(b.metrics().leased, 0, 'the lease of a dropped entry ends with it');
  assert.equal(b.ack([1]), 0, 'acking a dropped id is a no-op');
  // A throwing onDrop cannot undo a committed append: it becomes a warning.
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  using c = DurableBuffer.open<number>({ path: path.join(tempDir(t), 'c.db'), maxEntries: 1, whenFull: 'drop-oldest', onDrop: () => { throw new Error('log is down'); } });
  c.append([1]);
  assert.deepEqual(c.append([2]), [2]);
  assert.deepEqual(c.peek(5).map((e) => e.value), [2]);
  return new Promise<void>((resolve) => setImmediate(() => {
    assert.ok(warnings.some((w) => w.includes('onDrop threw (log is down)')), warnings.join());
    resolve();
  }));
});

test('buffer: one owner at a time; closed buffers refuse use', (t) => {
  const file = path.join(tempDir(t), 'b.db');
  const a = DurableBuffer.open({ path: file, maxEntries: 10, whenFull: 'refuse' });
  assert.throws(() => DurableBuffer.open({ path: file, maxEntries: 10, whenFull: 'refuse' }), code(EDGE_ERR.BUFFER_LOCKED));
  a.close();
  for (const use of [() => a.append([1]), () => a.lease(1), () => a.peek(1), () => a.ack([1]), () => a.release([1]), () => a.metrics()]) {
    assert.throws(use, code(EDGE_ERR.BUFFER_CLOSED));
  }
  const b = DurableBuffer.open({ path: file, maxEntries: 10, whenFull: 'refuse' });
  b.close();
});

test('buffer: the default codec keeps NaN and ±∞; a failing codec gives typed errors', (t) => {
  const dir = tempDir(t);
  using b = DurableBuffer.open({ path: path.join(dir, 'b.db'), maxEntries: 10, whenFull: 'refuse' });
  const sample = { kind: 'sample', machineId: 'mill-3', t: 1, values: { a: Number.NaN, b: -Infinity, c: 0.1 } };
  b.append([sample]);
  assert.deepEqual(b.peek(1)[0].value, sample);

  let corrupt = false;
  using c = DurableBuffer.open<string>({
    path: path.join(dir, 'c.db'), maxEntries: 10, whenFull: 'refuse',
    codec: {
      encode: (s) => (s === 'not bytes' ? ('x' as never) : new TextEncoder().encode(s)),
      decode: (bytes) => {
        if (corrupt) throw new Error('bad bytes');
        return new TextDecoder().decode(bytes);
      },
    },
  });
  c.append(['ok']);
  assert.throws(() => c.append(['not bytes']), TypeError);
  corrupt = true;
  assert.throws(() => c.lease(1), (e: unknown) => code(EDGE_ERR.BUFFER_DECODE)(e) && /entry 1/.test((e as Error).message) && (e as Error).cause instanceof Error);
  corrupt = false;
  assert.deepEqual(c.lease(1).map((e) => e.value), ['ok'], 'a failed decode leased nothing');
});

test('buffer: files that are not buffers, and bad options, give typed errors', (t) => {
  const dir = tempDir(t);
  const junk = path.join(dir, 'junk.db');
  writeFileSync(junk, 'this is not a database, just some text that is long enough to be read as a header …'.repeat(20));
  assert.throws(() => DurableBuffer.open({ path: junk, maxEntries: 1, whenFull: 'refuse' }), code(EDGE_ERR.BUFFER_STORAGE));
  const future = path.join(dir, 'future.db');
  const db = new DatabaseSync(future);
  db.exec('PRAGMA user_version = 7');
  db.close();
  assert.throws(() => DurableBuffer.open({ path: future, maxEntries: 1, whenFull: 'refuse' }), (e: unknown) => code(EDGE_ERR.BUFFER_STORAGE)(e) && /schema version 7/.test((e as Error).message));
  assert.throws(() => DurableBuffer.open({ path: path.join(dir, 'no/such/dir/b.db'), maxEntries: 1, whenFull: 'refuse' }), code(EDGE_ERR.BUFFER_STORAGE));
  const file = path.join(dir, 'b.db');
  const bad: unknown[] = [
    null, { path: '', maxEntries: 1, whenFull: 'refuse' }, { path: file, maxEntries: 0, whenFull: 'refuse' }, { path: file, maxEntries: 1 },
    { path: file, maxEntries: 1, whenFull: 'block' }, { path: file, maxEntries: 1, whenFull: 'refuse', maxBytes: 0 },
    { path: file, maxEntries: 1, whenFull: 'refuse', onDrop: 'log' }, { path: file, maxEntries: 1, whenFull: 'refuse', codec: { encode: () => 1 } },
    { path: file, maxEntries: 1, whenFull: 'refuse', now: 5 },
  ];
  for (const o of bad) {
    assert.throws(() => DurableBuffer.open(o as never), (e: unknown) => (e instanceof TypeError || e instanceof RangeError) && /^cannot open buffer/.test((e as Error).message), JSON.stringify(o));
  }
  using b = DurableBuffer.open({ path: file, maxEntries: 1, whenFull: 'refuse' });
  assert.throws(() => b.append('x' as never), TypeError);
  assert.throws(() => b.lease(0), RangeError);
  assert.throws(() => b.lease(1, 0), RangeError);
  assert.throws(() => b.peek(-1), RangeError);
});
