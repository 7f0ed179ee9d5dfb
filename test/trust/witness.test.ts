/**
 * Witnesses and the log's own refusal to sign two histories: a database owner
 * rewrites history (disabling the append-only triggers) and every witness,
 * whatever size it last saw, refuses the new checkpoint.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { openSql, type SqlClient } from '../../src/trust/storage/sql.ts';
import { TransparencyLog } from '../../src/trust/log/transparency-log.ts';
import { Witness } from '../../src/trust/witness.ts';
import { KeyRing } from '../../src/trust/note/key-ring.ts';
import { generateNoteSigner } from '../../src/trust/note/keys.ts';
import { signCheckpoint, openCheckpoint } from '../../src/trust/note/checkpoint.ts';
import { auditConsistency, auditEntry } from '../../src/trust/auditor.ts';
import { EVENT_KINDS } from '../../src/trust/events.ts';
import { sampleEvent } from './_fixtures.ts';
import { withPostgresDatabase } from './_postgres.ts';

const ORIGIN = 'log.hedge.example/witness-test';
const events = (from: number, n: number, tag = ''): ReturnType<typeof sampleEvent>[] =>
  Array.from({ length: n }, (_, i) => sampleEvent(EVENT_KINDS[(from + i) % EVENT_KINDS.length], from + i, new TextEncoder().encode(`${tag}${from + i}`)));

/** What an operator with database-owner rights would do: cut the log at `keep` and drop signed checkpoints. */
async function truncateHistory(sql: SqlClient, keep: number, dropCheckpoints: boolean): Promise<void> {
  await sql.transaction(async (tx) => {
    for (const t of ['trust_log', 'trust_log_entry', 'trust_log_node', 'trust_checkpoint']) await tx.query(`ALTER TABLE ${t} DISABLE TRIGGER USER`);
    await tx.query('DELETE FROM trust_log_entry WHERE idx >= $1', [keep]);
    await tx.query('DELETE FROM trust_log_node WHERE (idx + 1) * (1::bigint << level) > $1', [keep]);
    if (dropCheckpoints) await tx.query('DELETE FROM trust_checkpoint');
    await tx.query('UPDATE trust_log SET size = $1', [keep]);
    for (const t of ['trust_log', 'trust_log_entry', 'trust_log_node', 'trust_checkpoint']) await tx.query(`ALTER TABLE ${t} ENABLE TRIGGER USER`);
  });
}

async function rewriteScenario(sql: SqlClient): Promise<void> {
  const key = generateNoteSigner(ORIGIN);
  const keys = new KeyRing([{ signer: key, notBefore: new Date(0) }]);
  const log = await TransparencyLog.open({ sql, origin: ORIGIN, keys });
  const verifiers = [key.verifier()];
  const witnesses: Witness[] = [];
  const seen: string[] = [];
  // Honest phase: witnesses join at different sizes; each follows every new checkpoint.
  let n = 0;
  for (const batch of [3, 7, 10, 5, 8]) {
    await log.append(events(n, batch));
    n += batch;
    const note = await log.signCheckpoint();
    seen.push(note);
    witnesses.push(new Witness({ origin: ORIGIN, verifiers }));
    for (const w of witnesses) assert.equal((await w.follow(log)).size, n);
  }
  // A witness restored from a saved state (an edge gateway after a restart).
  witnesses.push(new Witness({ origin: ORIGIN, verifiers, state: seen[1] }));
  await witnesses[witnesses.length - 1].follow(log);
  witnesses.push(new Witness({ origin: ORIGIN, verifiers, state: seen[0] })); // stays at size 3
  const before = witnesses.map((w) => w.state);

  // Auditor: an entry and the log's growth verify from notes and proofs alone.
  const proof = await log.inclusionProof(4, n);
  auditEntry({ checkpoint: seen[seen.length - 1], entry: await log.entry(4), index: 4, proof: proof.proof }, verifiers, ORIGIN);
  const sizeOf = (note: string): number => openCheckpoint(note, verifiers).size;
  auditConsistency(seen[1], seen[4], await log.getConsistencyProof(sizeOf(seen[1]), sizeOf(seen[4])), verifiers, ORIGIN);
  const entry5 = await log.entry(5);
  assert.throws(() => auditEntry({ checkpoint: seen[4], entry: entry5, index: 4, proof: proof.proof }, verifiers, ORIGIN), {
    code: 'TRUST_ERR_PROOF_INVALID',
  });

  // The attacker keeps the first 2 entries, drops the rest and the signed checkpoints, writes another history.
  await truncateHistory(sql, 2, true);
  const forged = await TransparencyLog.open({ sql, origin: ORIGIN, keys });
  await forged.append(events(2, n + 5 - 2, 'forged '));
  const forgedNote = await forged.signCheckpoint(); // the log's own memory of checkpoints was erased too
  assert.equal(openCheckpoint(forgedNote, verifiers).size, n + 5);
  for (const [i, w] of witnesses.entries()) {
    await assert.rejects(w.follow(forged), { code: 'TRUST_ERR_INCONSISTENT' }, `witness ${i} (size ${w.checkpoint?.size}) must notice`);
    assert.equal(w.state, before[i], 'a refusing witness keeps its state');
  }
}

test('every witness notices a history rewrite (PGlite)', async () => {
  const sql = await openSql({ databaseUrl: null });
  try {
    await rewriteScenario(sql);
  } finally {
    await sql.close();
  }
});

test('every witness notices a history rewrite (PostgreSQL)', async (t: TestContext) => {
  await withPostgresDatabase(t, async (url) => {
    const sql = await openSql({ databaseUrl: url });
    try {
      await rewriteScenario(sql);
    } finally {
      await sql.close();
    }
  });
});

test('the log refuses to sign a rewritten history it has signed before', async () => {
  const sql = await openSql({ databaseUrl: null });
  try {
    const key = generateNoteSigner(ORIGIN);
    const log = await TransparencyLog.open({ sql, origin: ORIGIN, keys: new KeyRing([{ signer: key, notBefore: new Date(0) }]) });
    await log.append(events(0, 9));
    await log.signCheckpoint();
    assert.equal(await log.signCheckpoint(), await log.getCheckpoint(), 'same size: the same note');
    await truncateHistory(sql, 4, false); // checkpoints kept
    const again = await TransparencyLog.open({ sql, origin: ORIGIN, keys: new KeyRing([{ signer: key, notBefore: new Date(0) }]) });
    await assert.rejects(again.signCheckpoint(), { code: 'TRUST_ERR_INCONSISTENT' }); // shrank
    await again.append(events(4, 8, 'other '));
    await assert.rejects(again.signCheckpoint(), { code: 'TRUST_ERR_INCONSISTENT' }); // grew, but not from the signed tree
  } finally {
    await sql.close();
  }
});

test('witness refuses split views, rollbacks, foreign keys and other logs', async () => {
  const key = generateNoteSigner(ORIGIN);
  const stranger = generateNoteSigner(ORIGIN);
  const sql = await openSql({ databaseUrl: null });
  try {
    const log = await TransparencyLog.open({ sql, origin: ORIGIN, keys: new KeyRing([{ signer: key, notBefore: new Date(0) }]) });
    await log.append(events(0, 6));
    const note6 = await log.signCheckpoint();
    await log.append(events(6, 4));
    const note10 = await log.signCheckpoint();
    const w = new Witness({ origin: ORIGIN, verifiers: [key.verifier()] });
    w.update(note10, []);
    // Same size, another root, correctly signed by the log key: a split view.
    const split = signCheckpoint({ origin: ORIGIN, size: 10, root: new Uint8Array(32).fill(1), extensions: [] }, [key]);
    assert.throws(() => w.update(split, []), { code: 'TRUST_ERR_INCONSISTENT' });
    // Rollback to an older (genuine) checkpoint.
    assert.throws(() => w.update(note6, []), { code: 'TRUST_ERR_INCONSISTENT' });
    // A bigger tree without a valid proof.
    await log.append(events(10, 3));
    const note13 = await log.signCheckpoint();
    assert.throws(() => w.update(note13, []), { code: 'TRUST_ERR_INCONSISTENT' });
    const proof6to13 = await log.getConsistencyProof(6, 13);
    assert.throws(() => w.update(note13, proof6to13), { code: 'TRUST_ERR_INCONSISTENT' });
    assert.equal(w.update(note13, await log.getConsistencyProof(10, 13)).size, 13);
    // Signed by an unknown key with the same name, or for another origin.
    const foreign = signCheckpoint({ origin: ORIGIN, size: 20, root: new Uint8Array(32), extensions: [] }, [stranger]);
    assert.throws(() => w.update(foreign, []), { code: 'TRUST_ERR_NOTE_INVALID' });
    const otherLog = generateNoteSigner('other.log');
    const other = signCheckpoint({ origin: 'other.log', size: 20, root: new Uint8Array(32), extensions: [] }, [otherLog]);
    assert.throws(() => new Witness({ origin: ORIGIN, verifiers: [otherLog.verifier()] }).update(other, []), { code: 'TRUST_ERR_CHECKPOINT_INVALID' });
    // Rotation: a witness that learns the new key follows checkpoints signed by it only.
    assert.equal(w.checkpoint?.size, 13);
    w.trust(stranger.verifier());
    w.distrust(key.keyId);
    assert.throws(() => w.update(note13, []), { code: 'TRUST_ERR_NOTE_INVALID' });
  } finally {
    await sql.close();
  }
});
