/**
 * The durable log on both engines (PGlite in process, a PostgreSQL server):
 * roots and proofs are compared with an independent in-memory computation;
 * the tables are append-only; a reopened log continues where it stopped.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { openSql, type SqlClient } from '../../src/trust/storage/sql.ts';
import { MerkleStore } from '../../src/trust/log/merkle-store.ts';
import { hashLeaf, rootOfLeafHashes, emptyRoot } from '../../src/trust/merkle/hash.ts';
import { verifyInclusion, verifyConsistency } from '../../src/trust/merkle/verify.ts';
import { TrustError } from '../../src/trust/errors.ts';
import { withPostgresDatabase } from './_postgres.ts';

const entry = (i: number): Uint8Array => new TextEncoder().encode(`entry ${i}`);

async function exerciseStore(sql: SqlClient): Promise<void> {
  const store = await MerkleStore.open(sql, 'test.log/a');
  assert.equal(store.size, 0);
  assert.deepEqual(store.root, emptyRoot());
  // Batches of uneven sizes, so that frontiers merge across batch boundaries.
  const all: Uint8Array[] = [];
  for (const n of [1, 2, 5, 1, 13, 8, 3]) {
    const batch = Array.from({ length: n }, (_, i) => entry(all.length + i));
    const r = await store.append(batch);
    assert.equal(r.first, all.length);
    all.push(...batch);
    assert.equal(r.size, all.length);
    assert.deepEqual(r.root, rootOfLeafHashes(all.map(hashLeaf)), `root after ${all.length}`);
  }
  const leafHashes = all.map(hashLeaf);
  const n = all.length;
  for (let size = 1; size <= n; size++) {
    const root = rootOfLeafHashes(leafHashes.slice(0, size));
    assert.deepEqual(await store.rootAt(size), root);
    for (let i = 0; i < size; i += 3) {
      verifyInclusion(i, size, leafHashes[i], await store.inclusionProof(i, size), root);
    }
    for (let m = 1; m <= size; m += 4) {
      verifyConsistency(m, size, await store.consistencyProof(m, size), rootOfLeafHashes(leafHashes.slice(0, m)), root);
    }
  }
  assert.deepEqual(await store.entries(3, 6), all.slice(3, 6));
  await assert.rejects(store.inclusionProof(n, n), { code: 'TRUST_ERR_OUT_OF_RANGE' });
  await assert.rejects(store.inclusionProof(0, n + 1), { code: 'TRUST_ERR_OUT_OF_RANGE' });
  await assert.rejects(store.consistencyProof(0, n), { code: 'TRUST_ERR_OUT_OF_RANGE' });
  await assert.rejects(store.entry(n), { code: 'TRUST_ERR_OUT_OF_RANGE' });
  await assert.rejects(store.append([]), RangeError);
  await assert.rejects(store.append(['x' as unknown as Uint8Array]), TypeError);

  // Append-only: the database itself refuses to change history.
  await assert.rejects(sql.query("UPDATE trust_log_entry SET data = '\\x00'::bytea WHERE idx = 0"), (e: unknown) => e instanceof TrustError && /append-only/.test(e.message));
  await assert.rejects(sql.query('DELETE FROM trust_log_node'), /append-only/);
  await assert.rejects(sql.query('UPDATE trust_log SET size = 1'), /only grow/);

  // A second handle (another process) sees the same tree and appends after it.
  const other = await MerkleStore.open(sql, 'test.log/a');
  assert.equal(other.size, n);
  await other.append([entry(n)]);
  const r = await store.append([entry(n + 1)]); // stale in-memory frontier: must reload
  assert.equal(r.first, n + 1);
  assert.deepEqual(r.root, rootOfLeafHashes([...all, entry(n), entry(n + 1)].map(hashLeaf)));
  // Logs are separate per origin.
  const b = await MerkleStore.open(sql, 'test.log/b');
  assert.equal(b.size, 0);
}

test('MerkleStore on PGlite matches an independent computation', async () => {
  const sql = await openSql({ databaseUrl: null });
  assert.equal(sql.engine, 'pglite');
  try {
    await exerciseStore(sql);
  } finally {
    await sql.close();
  }
});

test('MerkleStore on a PostgreSQL server matches an independent computation', async (t: TestContext) => {
  await withPostgresDatabase(t, async (url) => {
    const sql = await openSql({ databaseUrl: url });
    assert.equal(sql.engine, 'postgres');
    try {
      await exerciseStore(sql);
    } finally {
      await sql.close();
    }
  });
});

test('concurrent appends from two connections to one PostgreSQL log serialise', async (t: TestContext) => {
  await withPostgresDatabase(t, async (url) => {
    const [s1, s2] = [await openSql({ databaseUrl: url }), await openSql({ databaseUrl: url })];
    try {
      const a = await MerkleStore.open(s1, 'test.log/c');
      const b = await MerkleStore.open(s2, 'test.log/c');
      await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).append([entry(i)])));
      await a.refresh();
      assert.equal(a.size, 10);
      const stored = await a.entries(0, 10);
      assert.deepEqual(a.root, rootOfLeafHashes(stored.map(hashLeaf)));
      assert.deepEqual(new Set(stored.map((e) => new TextDecoder().decode(e))), new Set(Array.from({ length: 10 }, (_, i) => `entry ${i}`)));
    } finally {
      await s1.close();
      await s2.close();
    }
  });
});

test('a PGlite log on disk survives close and reopen', async () => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const dir = mkdtempSync(path.join(tmpdir(), 'hedge-trust-'));
  try {
    const sql1 = await openSql({ databaseUrl: null, dataDir: dir });
    const s1 = await MerkleStore.open(sql1, 'test.log/disk');
    await s1.append([entry(0), entry(1), entry(2)]);
    const root = s1.root;
    await sql1.close();
    const sql2 = await openSql({ databaseUrl: null, dataDir: dir });
    const s2 = await MerkleStore.open(sql2, 'test.log/disk');
    assert.equal(s2.size, 3);
    assert.deepEqual(s2.root, root);
    await s2.append([entry(3)]);
    assert.deepEqual(s2.root, rootOfLeafHashes([0, 1, 2, 3].map((i) => hashLeaf(entry(i)))));
    await sql2.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('openSql reports an unreachable server as TRUST_ERR_STORAGE', async () => {
  await assert.rejects(openSql({ databaseUrl: 'postgres://postgres@127.0.0.1:1/none' }), { code: 'TRUST_ERR_STORAGE' });
});
