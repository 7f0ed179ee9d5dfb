/**
 * Key custody: round trips (passphrase and key file, threshold share and ceremony secrets),
 * the secret never in the clear on disk, and refusals — wrong passphrase or key file,
 * truncated, extended or altered files, weak or inflated KDF parameters, loose permissions,
 * another parameter set, an existing file, use after close — each a typed error.
 * KDF at the floor (CUSTODY_KDF_MIN) to keep the file fast.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { engineFor } from '../he/fixture.ts';
import type { SealEngine } from '../../src/he/backend/seal.ts';
import { ThresholdProtocol } from '../../src/he/mhe/threshold.ts';
import { PartySecretCodec } from '../../src/he/wire.ts';
import { CUSTODY_KDF_DEFAULT, CUSTODY_KDF_MAX, CUSTODY_KDF_MIN, KeyCustody } from '../../src/edge/custody.ts';
import { EdgeError, EdgeRangeError, EdgeTypeError } from '../../src/edge/errors.ts';

const PASS = { passphrase: 'correct horse battery staple' };
const KDF = CUSTODY_KDF_MIN;
const isCode = (code: string) => (e: unknown): boolean => e instanceof EdgeError && e.code === code;

let engine: SealEngine;
let dir: string;
let n = 0;
const fresh = (): string => join(dir, `c${++n}.hkc`);

before(async () => {
  engine = await engineFor('TEST_INSECURE_BGV_2048');
  dir = mkdtempSync(join(tmpdir(), 'hedge-custody-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('a passphrase custody round-trips the secret, the threshold share and ceremony secrets; the secret is never in the clear on disk', async () => {
  const path = fresh();
  const c = await KeyCustody.create(path, engine, PASS, { kdf: KDF });
  const s = c.secret.poly().data.slice();
  const th = new ThresholdProtocol(engine);
  const tsk = th.genShamirShare(th.genShamirPolynomial(c.secret, 2), 3);
  c.setThresholdShare(tsk);
  c.putEphemeral('relin:cer-1', new Uint8Array([1, 2, 3]));
  c.putEphemeral('shamir:cer-1', new Uint8Array(32).fill(7));
  c.deleteEphemeral('shamir:cer-1');
  assert.equal(c.kdf.memoryKiB, KDF.memoryKiB);
  assert.equal(JSON.stringify({ c }), '{"c":"[KeyCustody]"}');
  c.close();
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left behind');
  // The secret's encoding does not occur in the file (any 64-byte window of it).
  const file = readFileSync(path);
  const plain = await (async () => {
    using opened = await KeyCustody.open(path, engine, PASS);
    return PartySecretCodec.toBytes(engine, opened.secret);
  })();
  for (let at = 20; at + 64 <= plain.length; at += 4096) assert.equal(file.indexOf(plain.subarray(at, at + 64)), -1);

  using back = await KeyCustody.open(path, engine, PASS);
  assert.deepEqual(back.secret.poly().data, s);
  assert.deepEqual(back.thresholdShare, tsk);
  assert.deepEqual(back.getEphemeral('relin:cer-1'), new Uint8Array([1, 2, 3]));
  assert.equal(back.getEphemeral('shamir:cer-1'), undefined);
  // Secrets are wiped on close; later use is a typed error.
  const poly = back.secret.poly();
  back.close();
  assert.ok(poly.data.every((x) => x === 0n), 'the share was zeroed');
  assert.throws(() => back.secret, isCode('EDGE_ERR_CUSTODY_CLOSED'));
  assert.throws(() => back.putEphemeral('x', new Uint8Array(1)), isCode('EDGE_ERR_CUSTODY_CLOSED'));
});

test('a key-file custody round-trips; a wrong, short or loosely readable key file is refused', async () => {
  const key = join(dir, 'custody.key');
  writeFileSync(key, randomBytes(32), { mode: 0o600 });
  const path = fresh();
  const c = await KeyCustody.create(path, engine, { keyFile: key }, { kdf: KDF });
  const s = c.secret.poly().data.slice();
  c.close();
  using back = await KeyCustody.open(path, engine, { keyFile: key });
  assert.deepEqual(back.secret.poly().data, s);

  const other = join(dir, 'other.key');
  writeFileSync(other, randomBytes(32), { mode: 0o600 });
  await assert.rejects(KeyCustody.open(path, engine, { keyFile: other }), isCode('EDGE_ERR_CUSTODY_UNLOCK'));
  const short = join(dir, 'short.key');
  writeFileSync(short, randomBytes(31), { mode: 0o600 });
  await assert.rejects(KeyCustody.open(path, engine, { keyFile: short }), isCode('EDGE_ERR_CUSTODY_KEY_FILE'));
  await assert.rejects(KeyCustody.open(path, engine, { keyFile: join(dir, 'missing.key') }), isCode('EDGE_ERR_CUSTODY_KEY_FILE'));
  chmodSync(other, 0o644);
  await assert.rejects(KeyCustody.open(path, engine, { keyFile: other }), isCode('EDGE_ERR_CUSTODY_PERMISSIONS'));
  chmodSync(path, 0o640);
  await assert.rejects(KeyCustody.open(path, engine, { keyFile: key }), isCode('EDGE_ERR_CUSTODY_PERMISSIONS'));
  chmodSync(path, 0o600);
});

test('wrong passphrase, altered bytes, truncation and extension are refused with typed errors', async () => {
  const path = fresh();
  (await KeyCustody.create(path, engine, PASS, { kdf: KDF })).close();
  const good = readFileSync(path);
  await assert.rejects(KeyCustody.open(path, engine, { passphrase: 'correct horse battery stapler' }), isCode('EDGE_ERR_CUSTODY_UNLOCK'));
  const write = (bytes: Uint8Array): string => {
    const p = fresh();
    writeFileSync(p, bytes, { mode: 0o600 });
    return p;
  };
  const flip = (at: number): string => {
    const b = Buffer.from(good);
    b[at] ^= 0x01;
    return write(b);
  };
  // Ciphertext, tag, salt, nonce: authentication fails.
  for (const at of [60, good.length - 1, 25, 40]) await assert.rejects(KeyCustody.open(flip(at), engine, PASS), isCode('EDGE_ERR_CUSTODY_UNLOCK'), `byte ${at}`);
  // Structure: refused before any derivation.
  await assert.rejects(KeyCustody.open(write(good.subarray(0, good.length - 1)), engine, PASS), isCode('EDGE_ERR_CUSTODY_FORMAT'));
  await assert.rejects(KeyCustody.open(write(good.subarray(0, 30)), engine, PASS), isCode('EDGE_ERR_CUSTODY_FORMAT'));
  await assert.rejects(KeyCustody.open(write(Buffer.concat([good, Buffer.alloc(1)])), engine, PASS), isCode('EDGE_ERR_CUSTODY_FORMAT'));
  await assert.rejects(KeyCustody.open(flip(0), engine, PASS), isCode('EDGE_ERR_CUSTODY_FORMAT'));
  await assert.rejects(KeyCustody.open(flip(4), engine, PASS), isCode('EDGE_ERR_CUSTODY_FORMAT'));
  await assert.rejects(KeyCustody.open(flip(5), engine, PASS), isCode('EDGE_ERR_CUSTODY_FORMAT'));
  await assert.rejects(KeyCustody.open(flip(6), engine, PASS), isCode('EDGE_ERR_CUSTODY_FORMAT'));
  await assert.rejects(KeyCustody.open(write(new Uint8Array(0)), engine, PASS), isCode('EDGE_ERR_CUSTODY_FORMAT'));
  await assert.rejects(KeyCustody.open(join(dir, 'missing.hkc'), engine, PASS), isCode('EDGE_ERR_CUSTODY_IO'));
  // A file of another parameter set: authentic, but its secret does not decode here.
  const ckks = await engineFor('TEST_INSECURE_CKKS_2048');
  const foreign = fresh();
  (await KeyCustody.create(foreign, ckks, PASS, { kdf: KDF })).close();
  await assert.rejects(KeyCustody.open(foreign, engine, PASS), isCode('EDGE_ERR_CUSTODY_FORMAT'));
});

test('weak or inflated KDF parameters are refused, on create and in a file header', async () => {
  const weak = [{ ...KDF, memoryKiB: KDF.memoryKiB - 1 }, { ...KDF, iterations: 1 }, { ...KDF, parallelism: 0 }];
  for (const kdf of weak) await assert.rejects(KeyCustody.create(fresh(), engine, PASS, { kdf }), isCode('EDGE_ERR_CUSTODY_KDF'));
  const big = [{ ...KDF, memoryKiB: CUSTODY_KDF_MAX.memoryKiB + 1 }, { ...KDF, iterations: CUSTODY_KDF_MAX.iterations + 1 }, { ...KDF, parallelism: 5 }];
  for (const kdf of big) await assert.rejects(KeyCustody.create(fresh(), engine, PASS, { kdf }), isCode('EDGE_ERR_CUSTODY_KDF'));
  await assert.rejects(KeyCustody.create(fresh(), engine, PASS, { kdf: { ...KDF, iterations: 2.5 } }), EdgeTypeError);
  assert.ok(CUSTODY_KDF_DEFAULT.memoryKiB >= CUSTODY_KDF_MIN.memoryKiB && CUSTODY_KDF_DEFAULT.iterations >= CUSTODY_KDF_MIN.iterations);

  const path = fresh();
  (await KeyCustody.create(path, engine, PASS, { kdf: KDF })).close();
  const good = readFileSync(path);
  for (const [offset, value] of [[8, 1024], [12, 1], [16, 0], [8, 0xffffffff], [12, 1000]] as const) {
    const b = Buffer.from(good);
    b.writeUInt32LE(value, offset);
    const p = fresh();
    writeFileSync(p, b, { mode: 0o600 });
    const started = performance.now();
    await assert.rejects(KeyCustody.open(p, engine, PASS), isCode('EDGE_ERR_CUSTODY_KDF'), `header ${offset} = ${value}`);
    assert.ok(performance.now() - started < 200, 'refused before deriving');
  }
  // Within bounds but different from what the key was derived with: the header is authenticated.
  const b = Buffer.from(good);
  b.writeUInt32LE(KDF.iterations + 1, 12);
  const p = fresh();
  writeFileSync(p, b, { mode: 0o600 });
  await assert.rejects(KeyCustody.open(p, engine, PASS), isCode('EDGE_ERR_CUSTODY_UNLOCK'));
});

test('create never overwrites; updates replace the file atomically; bad arguments are typed errors', async () => {
  const path = fresh();
  const c = await KeyCustody.create(path, engine, PASS, { kdf: KDF });
  await assert.rejects(KeyCustody.create(path, engine, PASS, { kdf: KDF }), isCode('EDGE_ERR_CUSTODY_EXISTS'));
  const before = statSync(path).ino;
  c.putEphemeral('relin:x', new Uint8Array(8));
  assert.notEqual(statSync(path).ino, before, 'a new file renamed over the old one');
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
  assert.throws(() => c.putEphemeral('bad name!', new Uint8Array(1)), EdgeRangeError);
  assert.throws(() => c.putEphemeral('ok', 'bytes' as never), EdgeTypeError);
  assert.throws(() => c.setThresholdShare({ point: 0, value: c.secret.poly() }), EdgeRangeError);
  const th = new ThresholdProtocol(engine);
  c.setThresholdShare(th.genShamirShare(th.genShamirPolynomial(c.secret, 2), 1));
  assert.throws(() => c.setThresholdShare(th.genShamirShare(th.genShamirPolynomial(c.secret, 2), 1)), isCode('EDGE_ERR_CEREMONY'));
  c.close();
  await assert.rejects(KeyCustody.create(fresh(), engine, { passphrase: 'too short' }, { kdf: KDF }), EdgeRangeError);
  await assert.rejects(KeyCustody.create(fresh(), engine, { passphrase: 'long enough pass', keyFile: 'x' } as never, { kdf: KDF }), EdgeTypeError);
  await assert.rejects(KeyCustody.create(fresh(), engine, null as never, { kdf: KDF }), EdgeTypeError);
  await assert.rejects(KeyCustody.create(join(dir, 'no-such-dir', 'c.hkc'), engine, PASS, { kdf: KDF }), isCode('EDGE_ERR_CUSTODY_IO'));
  await assert.rejects(KeyCustody.open('', engine, PASS), EdgeRangeError);
});
