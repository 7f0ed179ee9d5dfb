/**
 * The console's in-browser log verification (web/verify.js, WebCrypto) against the server's
 * (src/trust): a log of 1…40 entries, every checkpoint's signature, every entry's inclusion proof
 * and every consistency proof between sizes verify; a flipped bit, another key, a wrong index or
 * a wrong root are refused.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TransparencyLog } from '../../src/trust/log/transparency-log.ts';
import { KeyRing } from '../../src/trust/note/key-ring.ts';
import { generateNoteSigner } from '../../src/trust/note/keys.ts';
import { openSql } from '../../src/trust/storage/sql.ts';
import { readFileSync } from 'node:fs';
import { EVENT_KINDS, hashPayload, type LogEvent } from '../../src/trust/events.ts';

interface Verify {
  verifyCheckpoint(note: string, key: string, origin: string): Promise<{ origin: string; size: number; root: Uint8Array }>;
  verifyInclusion(index: number, size: number, entry: Uint8Array, proof: Uint8Array[], root: Uint8Array): Promise<void>;
  verifyConsistency(size1: number, size2: number, proof: Uint8Array[], root1: Uint8Array, root2: Uint8Array): Promise<void>;
  parseVerifierKey(text: string): Promise<{ name: string; keyId: number }>;
}

const ORIGIN = 'hedge.test/console-log';
const web = pathToFileURL(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web/verify.js')).href;
let v: Verify;
let log: TransparencyLog;
let key: string;
const notes = new Map<number, string>();

const event = (i: number): LogEvent => ({
  kind: 'ingest', time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), actor: 'gw.plant-a.gw-1', tenant: 'plant-a',
  subject: `batch/b-${i}`, payloadHash: hashPayload(new TextEncoder().encode(`batch ${i}`)), details: { dataset: 'mills', records: i },
});

before(async () => {
  v = (await import(web)) as Verify;
  const signer = generateNoteSigner(ORIGIN);
  key = signer.verifier().toString();
  log = await TransparencyLog.open({ sql: await openSql({ databaseUrl: null }), origin: ORIGIN, keys: new KeyRing([{ signer, notBefore: new Date(0) }]) });
  for (let i = 0; i < 40; i++) {
    await log.append([event(i)]);
    notes.set(i + 1, await log.signCheckpoint());
  }
});

test('the verifier key parses, and its key id is checked', async () => {
  const k = await v.parseVerifierKey(key);
  assert.equal(k.name, ORIGIN);
  const [, name, id, b64] = /^([^+]+)\+([0-9a-f]{8})\+(.+)$/.exec(key)!;
  const wrongId = `${name}+${((parseInt(id!, 16) ^ 1) >>> 0).toString(16).padStart(8, '0')}+${b64}`;
  await assert.rejects(v.parseVerifierKey(wrongId), /key id/);
  await assert.rejects(v.parseVerifierKey('not a key'), /cannot parse/);
});

test('every checkpoint verifies; another key, another origin and a changed note do not', async () => {
  for (const [size, note] of notes) {
    const cp = await v.verifyCheckpoint(note, key, ORIGIN);
    assert.equal(cp.size, size);
  }
  const note = notes.get(7)!;
  const other = generateNoteSigner(ORIGIN).verifier().toString();
  await assert.rejects(v.verifyCheckpoint(note, other, ORIGIN), /no signature by the pinned key/);
  await assert.rejects(v.verifyCheckpoint(note, key, 'hedge.test/other'), /origin/);
  await assert.rejects(v.verifyCheckpoint(note.replace('\n7\n', '\n8\n'), key, ORIGIN), /does not verify/);
});

test('every entry\'s inclusion proof verifies at every size; a changed entry or index does not', async () => {
  for (const size of [1, 2, 3, 5, 8, 13, 16, 17, 31, 40]) {
    const { root } = await v.verifyCheckpoint(notes.get(size)!, key, ORIGIN);
    for (let i = 0; i < size; i++) {
      const { proof } = await log.inclusionProof(i, size);
      await v.verifyInclusion(i, size, await log.entry(i), proof, root);
    }
  }
  const { root } = await v.verifyCheckpoint(notes.get(13)!, key, ORIGIN);
  const { proof } = await log.inclusionProof(5, 13);
  const entry = await log.entry(5);
  const changed = entry.slice();
  changed[10] ^= 1;
  await assert.rejects(v.verifyInclusion(5, 13, changed, proof, root), /another root/);
  await assert.rejects(v.verifyInclusion(4, 13, entry, proof, root), /another root|proof/);
  await assert.rejects(v.verifyInclusion(13, 13, entry, proof, root), /out of range/);
});

test('consistency proofs between any two sizes verify; swapped roots do not', async () => {
  for (const a of [1, 2, 3, 4, 6, 7, 8, 15, 16, 21]) {
    for (const b of [a, a + 1, 16, 17, 33, 40]) {
      if (b < a) continue;
      const older = await v.verifyCheckpoint(notes.get(a)!, key, ORIGIN);
      const newer = await v.verifyCheckpoint(notes.get(b)!, key, ORIGIN);
      await v.verifyConsistency(a, b, a === b ? [] : await log.getConsistencyProof(a, b), older.root, newer.root);
    }
  }
  const r7 = (await v.verifyCheckpoint(notes.get(7)!, key, ORIGIN)).root;
  const r20 = (await v.verifyCheckpoint(notes.get(20)!, key, ORIGIN)).root;
  const proof = await log.getConsistencyProof(7, 20);
  await assert.rejects(v.verifyConsistency(7, 20, proof, r20, r7), /cannot verify consistency/);
  await assert.rejects(v.verifyConsistency(7, 20, proof.slice(1), r7, r20), /cannot verify consistency/);
});

test('the auditor page\'s kind filter lists the log\'s event kinds', () => {
  const page = readFileSync(fileURLToPath(new URL('../../web/pages/auditor.js', import.meta.url)), 'utf8');
  const kinds = /const KINDS = (\[[^\]]*\]);/.exec(page)?.[1];
  assert.deepEqual(JSON.parse(kinds!.replaceAll("'", '"')), [...EVENT_KINDS]);
});
