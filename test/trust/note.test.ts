/**
 * C2SP signed notes and tlog-checkpoints: the published Go reference vector
 * (golang.org/x/mod/sumdb/note, "PeterNeumann"), round trips, a bad-input
 * matrix, and key rotation with overlap.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  generateNoteSigner,
  noteKeyId,
  noteSignerFromSeed,
  parseSignerKey,
  parseVerifierKey,
} from '../../src/trust/note/keys.ts';
import { parseNote, signNote, verifyNote } from '../../src/trust/note/note.ts';
import { formatCheckpoint, openCheckpoint, parseCheckpoint, signCheckpoint } from '../../src/trust/note/checkpoint.ts';
import { KeyRing } from '../../src/trust/note/key-ring.ts';
import { TrustError } from '../../src/trust/errors.ts';

// golang.org/x/mod/sumdb/note note_test.go / package documentation.
const GO_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const GO_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_NOTE = `${GO_TEXT}\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;

test('Go reference vector: keys parse, key id matches, signing reproduces the note byte for byte', () => {
  const v = parseVerifierKey(GO_VKEY);
  const s = parseSignerKey(GO_SKEY);
  assert.equal(v.name, 'PeterNeumann');
  assert.equal(v.keyId, 0xc74f20a3);
  assert.deepEqual(s.publicKey, v.publicKey);
  assert.equal(s.verifier().toString(), GO_VKEY);
  assert.equal(s.toSignerKey(), GO_SKEY);
  // Independent key id: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key)[:4].
  const id = createHash('sha256').update('PeterNeumann').update(Buffer.from([0x0a, 0x01])).update(v.publicKey).digest().readUInt32BE(0);
  assert.equal(noteKeyId('PeterNeumann', v.publicKey), id);
  assert.equal(signNote(GO_TEXT, [s]), GO_NOTE); // Ed25519 is deterministic
  const opened = verifyNote(GO_NOTE, [v]);
  assert.equal(opened.text, GO_TEXT);
  assert.equal(opened.verified.length, 1);
});

test('verifyNote: unknown keys ignored, bad signatures and malformed notes refused', () => {
  const v = parseVerifierKey(GO_VKEY);
  const other = generateNoteSigner('someone.else');
  // An extra signature by an unknown key is ignored.
  const cosigned = signNote(GO_TEXT, [parseSignerKey(GO_SKEY), other]);
  assert.equal(verifyNote(cosigned, [v]).verified.length, 1);
  // Only unknown keys: refused.
  assert.throws(() => verifyNote(GO_NOTE, [other.verifier()]), { code: 'TRUST_ERR_NOTE_INVALID' });
  // Text changed: the known key's signature fails.
  assert.throws(() => verifyNote(GO_NOTE.replace('answer', 'Answer'), [v]), { code: 'TRUST_ERR_NOTE_INVALID' });
  // Same name, different key: a different key id, so not "known".
  const impostor = generateNoteSigner('PeterNeumann');
  assert.throws(() => verifyNote(signNote(GO_TEXT, [impostor]), [v]), { code: 'TRUST_ERR_NOTE_INVALID' });
  const malformed = [
    GO_TEXT, // no signatures
    GO_NOTE.replace('\u2014', '-'), // not an em dash
    GO_NOTE.slice(0, -1), // no final newline
    GO_NOTE.replace('x08go', 'x08go '), // extra space
    GO_NOTE.replace('=\n', '\n'), // non-canonical base64
    `a\rb\n\n${GO_NOTE.split('\n\n')[1]}`, // control character
    `\n\n${GO_NOTE.split('\n\n')[1]}`, // empty text line only
    GO_NOTE.replace('PeterNeumann x', 'Peter+Neumann x'), // bad key name
    `${GO_TEXT}\n\u2014 PeterNeumann AAAA\n`, // signature too short
    `${GO_TEXT}\n${'\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n'.repeat(101)}`,
  ];
  for (const m of malformed) assert.throws(() => verifyNote(m, [v]), { code: 'TRUST_ERR_NOTE_INVALID' }, JSON.stringify(m.slice(0, 40)));
  // Two signatures by the same key.
  const dup = GO_NOTE + GO_NOTE.split('\n\n')[1];
  assert.throws(() => verifyNote(dup, [v]), { code: 'TRUST_ERR_NOTE_INVALID' });
  assert.throws(() => verifyNote(42 as unknown as string, [v]), TypeError);
  assert.throws(() => signNote('no newline', [other]), { code: 'TRUST_ERR_NOTE_INVALID' });
  assert.throws(() => signNote('x\n', []), { code: 'TRUST_ERR_KEY_INVALID' });
  assert.equal(parseNote(cosigned).signatures.length, 2);
});

test('key text encodings: bad-input matrix', () => {
  const bad = [
    'PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', // wrong id
    'PeterNeumann+c74f20a3+AhRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T', // wrong type/length
    'PeterNeumann+c74f20a3', // missing key
    'Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', // space in name
    'PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', // upper-case hex
  ];
  for (const k of bad) assert.throws(() => parseVerifierKey(k), { code: 'TRUST_ERR_KEY_INVALID' }, k);
  assert.throws(() => parseSignerKey(GO_VKEY), { code: 'TRUST_ERR_KEY_INVALID' });
  assert.throws(() => parseSignerKey(GO_SKEY.replace('c74f20a3', '00000000')), { code: 'TRUST_ERR_KEY_INVALID' });
  assert.throws(() => noteSignerFromSeed('x', new Uint8Array(31)), RangeError);
  assert.throws(() => generateNoteSigner(''), TypeError);
  assert.throws(() => generateNoteSigner('a+b'), { code: 'TRUST_ERR_KEY_INVALID' });
  const s = generateNoteSigner('log.example');
  assert.equal(parseSignerKey(s.toSignerKey()).verifier().toString(), s.verifier().toString());
});

test('checkpoints: format, parse, sign, open; strict parsing', () => {
  const signer = noteSignerFromSeed('log.hedge.example/test', new Uint8Array(32).fill(7));
  const root = createHash('sha256').update('root').digest();
  const cp = { origin: 'log.hedge.example/test', size: 123456, root: new Uint8Array(root), extensions: ['ext one'] };
  const body = formatCheckpoint(cp);
  assert.equal(body, `log.hedge.example/test\n123456\n${root.toString('base64')}\next one\n`);
  assert.deepEqual({ ...parseCheckpoint(body) }, { ...cp });
  const note = signCheckpoint(cp, [signer]);
  const opened = openCheckpoint(note, [signer.verifier()], 'log.hedge.example/test');
  assert.equal(opened.size, 123456);
  assert.throws(() => openCheckpoint(note, [signer.verifier()], 'other.log'), { code: 'TRUST_ERR_CHECKPOINT_INVALID' });
  const b64 = root.toString('base64');
  const badBodies = [
    `o\n007\n${b64}\n`, // leading zeros
    `o\n-1\n${b64}\n`,
    `o\n1\n${b64.slice(0, -1)}\n`, // bad base64
    `o\n1\n${Buffer.alloc(31).toString('base64')}\n`, // 31-byte root
    `o\n1\n${b64}`, // no newline
    `o\n1\n`, // no root
    `o o\n1\n${b64}\n`, // space in origin
    `o\n1\n${b64}\n\n`, // empty extension
    `o\n99999999999999999999\n${b64}\n`, // beyond 2^53
  ];
  for (const b of badBodies) assert.throws(() => parseCheckpoint(b), { code: 'TRUST_ERR_CHECKPOINT_INVALID' }, JSON.stringify(b));
  assert.throws(() => formatCheckpoint({ ...cp, root: new Uint8Array(31) }), RangeError);
  assert.throws(() => formatCheckpoint({ ...cp, extensions: ['a\nb'] }), { code: 'TRUST_ERR_CHECKPOINT_INVALID' });
});

test('key rotation with overlap: both keys sign during the overlap, then only the new one', () => {
  const origin = 'log.hedge.example/rot';
  const oldKey = generateNoteSigner(origin);
  const newKey = generateNoteSigner(origin);
  assert.notEqual(oldKey.keyId, newKey.keyId);
  const t0 = new Date('2025-01-01T00:00:00Z');
  const ring = new KeyRing([{ signer: oldKey, notBefore: t0 }]);
  const day = 86_400_000;
  const rotateAt = new Date(t0.getTime() + 10 * day);
  ring.rotate(newKey, { at: rotateAt, overlapMs: 7 * day });
  const cp = { origin, size: 1, root: new Uint8Array(32), extensions: [] };
  const at = (days: number): Date => new Date(t0.getTime() + days * day);
  assert.deepEqual(ring.signersAt(at(5)).map((s) => s.keyId), [oldKey.keyId]);
  assert.deepEqual(new Set(ring.signersAt(at(12)).map((s) => s.keyId)), new Set([oldKey.keyId, newKey.keyId]));
  assert.deepEqual(ring.signersAt(at(17)).map((s) => s.keyId), [newKey.keyId]);
  const during = signCheckpoint(cp, ring.signersAt(at(12)));
  const after = signCheckpoint(cp, ring.signersAt(at(17)));
  // A relying party that knows only the old key still verifies during the overlap, not after.
  openCheckpoint(during, [oldKey.verifier()], origin);
  openCheckpoint(during, [newKey.verifier()], origin);
  assert.throws(() => openCheckpoint(after, [oldKey.verifier()], origin), { code: 'TRUST_ERR_NOTE_INVALID' });
  openCheckpoint(after, [newKey.verifier()], origin);
  assert.equal(ring.verifiers().length, 2);
  assert.throws(() => ring.signersAt(new Date(t0.getTime() - 1)), { code: 'TRUST_ERR_KEY_INVALID' });
  assert.throws(() => ring.add({ signer: newKey, notBefore: t0 }), { code: 'TRUST_ERR_KEY_INVALID' });
  assert.throws(() => ring.rotate(generateNoteSigner(origin), { at: t0, overlapMs: -1 }), RangeError);
  assert.ok(new TrustError('TRUST_ERR_KEY_INVALID', 'x') instanceof Error);
});
