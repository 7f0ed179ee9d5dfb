/**
 * Wire encodings: every type goes through one generic round trip (length as
 * declared, decode → encode byte-identical, the decoded value equal to the
 * original), then through a bad-input matrix — random byte strings, random
 * payloads behind valid headers, truncations, extensions and targeted
 * single-byte corruptions (header fields, prime counts, Galois elements,
 * Shamir points, residues pushed to ≥ q, SEAL's own header and parms_id) —
 * each of which must give an HeError with code HE_ERR_DECODE, never a crash,
 * a hang or silent acceptance. Random choices come from a fixed seed, so a
 * failure replays.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHash } from 'node:crypto';
import { SealEngine, type SealKind, type SealObject } from '../../src/he/backend/seal.ts';
import { HeError, HeErrorCode } from '../../src/he/errors.ts';
import { preset } from '../../src/he/params.ts';
import { planFlooding } from '../../src/he/mhe/flooding.ts';
import { GaloisKeyProtocol } from '../../src/he/mhe/galois-key-gen.ts';
import { KeySwitchProtocol } from '../../src/he/mhe/key-switch.ts';
import { PublicKeyProtocol } from '../../src/he/mhe/public-key-gen.ts';
import { PublicKeySwitchProtocol } from '../../src/he/mhe/public-key-switch.ts';
import { RelinKeyProtocol } from '../../src/he/mhe/relin-key-gen.ts';
import { PartySecret } from '../../src/he/mhe/secret.ts';
import { sumRevealInput } from '../../src/he/mhe/sum-input.ts';
import { SumDecryptProtocol } from '../../src/he/mhe/sum-decrypt.ts';
import { SumKeySwitchProtocol } from '../../src/he/mhe/sum-key-switch.ts';
import { ThresholdProtocol } from '../../src/he/mhe/threshold.ts';
import {
  CiphertextCodec, DecryptionShareCodec, GaloisKeyShareCodec, GaloisKeysCodec, PublicKeyCodec, PublicKeyShareCodec,
  PartySecretCodec, PublicKeySwitchShareCodec, RelinKeyEphemeralCodec, RelinKeyShare1Codec, SumDecryptShareCodec, SumKeySwitchShareCodec, RelinKeyShare2Codec, RelinKeysCodec, ShamirShareCodec,
  WIRE_HEADER_BYTES, WIRE_MAGIC, WIRE_VERSION, WireTag, paramsFingerprint, peekWireType, type WireCodec,
} from '../../src/he/wire.ts';

const RANDOM_PER_TYPE = 1000;
const MUTATIONS_PER_TYPE = 1000;
const SEAL_KEY_OVERHEAD = 113; // bytes of a serialized SEAL ciphertext / public key before its residues

let engine: SealEngine;
const disposables: Disposable[] = [];

/** Seeded randomness: AES-CTR bytes and integers below a bound. */
function rng(label: string) {
  const cipher = createCipheriv('aes-256-ctr', createHash('sha256').update(`wire-test/${label}`).digest(), Buffer.alloc(16));
  const bytes = (n: number): Uint8Array => new Uint8Array(cipher.update(Buffer.alloc(n)));
  const int = (below: number): number => {
    const b = bytes(6);
    return Math.floor(((b[0] * 2 ** 40 + b[1] * 2 ** 32 + b[2] * 2 ** 24 + b[3] * 2 ** 16 + b[4] * 2 ** 8 + b[5]) / 2 ** 48) * below);
  };
  return { bytes, int };
}

/** Where a case's bytes may be corrupted, besides the envelope header. */
interface Targets {
  /** Offsets of residue words' top bytes (any value ≥ 0x10 there makes the residue ≥ q, since every q < 2^60). */
  residueTops: number[];
  /** Single-byte corruptions that must be rejected: [offset, new value]. */
  structural: (readonly [number, number])[];
  /** SEAL types: offset of SEAL's header in the bytes. */
  seal?: number;
}

interface Case<T> {
  name: string;
  codec: WireCodec<T>;
  value: () => T;
  equal: (a: T, b: T) => void;
  targets: (bytes: Uint8Array) => Targets;
  dispose?: (v: T) => void;
}

const cases: Case<never>[] = [];

function polyTargets(count: number, extra: number, k: number, prefix: readonly (readonly [number, number])[] = []): (bytes: Uint8Array) => Targets {
  return () => {
    const n = engine.n;
    const structural = [...prefix];
    const step = 1 + 8 * k * n;
    const residueTops: number[] = [];
    for (let p = 0; p < count; p++) {
      const at = WIRE_HEADER_BYTES + extra + p * step;
      structural.push([at, k === 1 ? 2 : k - 1], [at, 0], [at, 255], [at, k + 1]);
      for (let w = 0; w < k * n; w += 97) residueTops.push(at + 1 + 8 * w + 7);
      residueTops.push(at + 1 + 8 * (k * n - 1) + 7);
    }
    return { residueTops, structural };
  };
}

/** Residue top bytes inside a serialized SEAL ciphertext / public key starting at `at`. */
function sealKeyResidues(bytes: Uint8Array, at: number, out: number[]): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const size = Number(view.getBigUint64(at + 8, true));
  const words = (size - SEAL_KEY_OVERHEAD) / 8;
  for (let w = 0; w < words; w += 101) out.push(at + SEAL_KEY_OVERHEAD + 8 * w + 7);
  return at + size;
}

function sealTargets(kind: 'single' | 'kswitch'): (bytes: Uint8Array) => Targets {
  return (bytes) => {
    const s = WIRE_HEADER_BYTES;
    const structural: (readonly [number, number])[] = [];
    // SEAL magic, header size, compression mode, size field, and the parms_id (no other parameter set has it).
    for (const o of [0, 1, 2]) structural.push([s + o, bytes[s + o] ^ 0x01]);
    structural.push([s + 5, 1], [s + 5, 2], [s + 8, bytes[s + 8] ^ 0x08], [s + 12, 1]);
    for (let o = 16; o < 48; o++) structural.push([s + o, bytes[s + o] ^ 0x80]);
    const residueTops: number[] = [];
    if (kind === 'single') {
      sealKeyResidues(bytes, s, residueTops);
    } else {
      const view = new DataView(bytes.buffer, bytes.byteOffset);
      const rows = Number(view.getBigUint64(s + 48, true));
      let at = s + 56;
      for (let r = 0; r < rows; r++) {
        const count = Number(view.getBigUint64(at, true));
        at += 8;
        for (let i = 0; i < count; i++) at = sealKeyResidues(bytes, at, residueTops);
      }
      assert.equal(at, bytes.length, 'walked the whole KSwitchKeys layout');
    }
    return { residueTops, structural, seal: s };
  };
}

function sameSeal<K extends SealKind>(a: SealObject<K>, b: SealObject<K>): void {
  assert.deepEqual(engine.save(a), engine.save(b));
}

before(async () => {
  engine = await SealEngine.create(preset('TEST_INSECURE_BGV_2048', { allowInsecure: true }));
  disposables.push(engine);
  const e = engine;
  const K = e.moduli.length;
  const L = e.dataPrimes;
  const parties = [PartySecret.generate(e), PartySecret.generate(e)];
  const seed = new Uint8Array(32).fill(9);

  const pkp = new PublicKeyProtocol(e);
  const pkCrp = pkp.sampleCrp(seed);
  const pkShares = parties.map((p) => pkp.genShare(p, pkCrp));
  const pk = pkp.genPublicKey(pkp.aggregateShares(pkShares), pkCrp);

  const rkp = new RelinKeyProtocol(e);
  const rkCrp = rkp.sampleCrp(seed);
  const r1 = parties.map((p) => rkp.genShareRound1(p, rkCrp));
  const agg1 = rkp.aggregateShares1(r1.map((r) => r.public));
  const r2 = parties.map((p, i) => rkp.genShareRound2(p, r1[i].secret, agg1));
  const rk = rkp.genRelinKey(agg1, rkp.aggregateShares2(r2));

  const gkp = new GaloisKeyProtocol(e);
  const elements = [e.galoisElementOfStep(1), e.galoisElementOfStep(0)];
  const gks = elements.map((g) => {
    const crp = gkp.sampleCrp(seed, g);
    return { crp, aggregate: gkp.aggregateShares(parties.map((p) => gkp.genShare(p, crp))) };
  });
  const gShare = gkp.genShare(parties[0], gks[0].crp);
  const gk = gkp.genGaloisKeys(gks);

  const ct3 = e.encrypt(e.encodeIntegers(BigInt64Array.from({ length: e.n }, (_, i) => BigInt(i - 1000))), pk);
  const ct2 = e.modSwitch(ct3);
  const ct1 = e.modSwitch(ct2);
  const ks = new KeySwitchProtocol(e);
  const plan = planFlooding(e, { k: 3, noiseBits: 70, parties: 2 });
  const dec = [ct1, ct2, ct3].map((ct) => ks.genShare(parties[0], ct, plan));
  const pks = new PublicKeySwitchProtocol(e);
  const receiver = e.generateSecretKey();
  const receiverPk = e.publicKeyFor(receiver);
  const pksShares = [ct1, ct3].map((ct) => pks.genShare(parties[1], ct, receiverPk, null));
  const sumInput = sumRevealInput(e, [ct3, ct3, ct3]);
  const sumDec = new SumDecryptProtocol(e).genShare(parties[0], sumInput, plan);
  const sumPks = new SumKeySwitchProtocol(e).genShare(parties[1], sumInput, receiverPk, plan);
  const th = new ThresholdProtocol(e);
  const shamir = th.genShamirShare(th.genShamirPolynomial(parties[0], 2), 3);
  disposables.push(pk, rk, gk, ct3, ct2, ct1, receiver, receiverPk);

  const add = <T>(c: Case<T>): void => {
    cases.push(c as unknown as Case<never>);
  };
  const deep = <T>(a: T, b: T): void => assert.deepEqual(a, b);
  add({ name: 'public-key share', codec: PublicKeyShareCodec, value: () => pkShares[0], equal: deep, targets: polyTargets(1, 0, K) });
  add({ name: 'relin round-1 share', codec: RelinKeyShare1Codec, value: () => r1[0].public, equal: deep, targets: polyTargets(2 * L, 0, K) });
  add({ name: 'relin round-1 aggregate', codec: RelinKeyShare1Codec, value: () => agg1, equal: deep, targets: polyTargets(2 * L, 0, K) });
  add({ name: 'relin round-2 share', codec: RelinKeyShare2Codec, value: () => r2[1], equal: deep, targets: polyTargets(L, 0, K) });
  const g = gShare.galoisElement;
  add({
    name: 'Galois-key share', codec: GaloisKeyShareCodec, value: () => gShare, equal: deep,
    // Even, or ≥ 2N through a high byte.
    targets: polyTargets(L, 4, K, [[20, (g & 0xff) ^ 1], [21, 0x10], [22, 1], [23, 0x80]]),
  });
  dec.forEach((d, i) => add({ name: `decryption share, k = ${i + 1}`, codec: DecryptionShareCodec, value: () => d, equal: deep, targets: polyTargets(1, 0, i + 1) }));
  pksShares.forEach((s, i) => add({ name: `public-key-switch share, k = ${i === 0 ? 1 : 3}`, codec: PublicKeySwitchShareCodec, value: () => s, equal: deep, targets: polyTargets(2, 0, i === 0 ? 1 : 3) }));
  add({
    name: 'sum-decryption share', codec: SumDecryptShareCodec, value: () => sumDec, equal: deep,
    targets: () => {
      const at = WIRE_HEADER_BYTES;
      const words = sumDec.v.data.length;
      return {
        residueTops: Array.from({ length: words }, (_, w) => at + 5 + 8 * w + 7),
        structural: [[at, 0], [at, 4], [at + 3, 1], [at + 4, 0], [at + 4, 4], [at + 4, 2]],
      };
    },
  });
  add({ name: 'sum-key-switch share', codec: SumKeySwitchShareCodec, value: () => sumPks, equal: deep, targets: polyTargets(2, 0, 3) });
  const sameSecret = (a: PartySecret, b: PartySecret): void => assert.deepEqual(a.poly(), b.poly());
  add({ name: 'party secret', codec: PartySecretCodec, value: () => parties[0], equal: sameSecret, targets: polyTargets(1, 0, K) });
  const ephemeral = rkp.genShareRound1(parties[1], rkCrp).secret;
  add({ name: 'relinearization ephemeral secret', codec: RelinKeyEphemeralCodec, value: () => ephemeral, equal: deep, targets: polyTargets(1, 0, K) });
  add({ name: 'Shamir share', codec: ShamirShareCodec, value: () => shamir, equal: deep, targets: polyTargets(1, 2, K, [[20, 0]]) });
  const dispose = (v: Disposable): void => v[Symbol.dispose]();
  add({ name: 'public key', codec: PublicKeyCodec, value: () => pk, equal: sameSeal, targets: sealTargets('single'), dispose });
  add({ name: 'relinearization keys', codec: RelinKeysCodec, value: () => rk, equal: sameSeal, targets: sealTargets('kswitch'), dispose });
  add({ name: 'Galois keys', codec: GaloisKeysCodec, value: () => gk, equal: sameSeal, targets: sealTargets('kswitch'), dispose });
  add({ name: 'ciphertext', codec: CiphertextCodec, value: () => ct3, equal: sameSeal, targets: sealTargets('single'), dispose });
  add({ name: 'ciphertext, k = 1', codec: CiphertextCodec, value: () => ct1, equal: sameSeal, targets: sealTargets('single'), dispose });
});

after(() => {
  for (const d of disposables.reverse()) d[Symbol.dispose]();
});

/**
 * The generic round trip every wire type goes through: the header declares the
 * payload length and names the type; decode gives a value equal to the
 * original; encoding that value again is byte-identical. Returns the bytes.
 */
function assertRoundTrip<T>(c: Case<T>): Uint8Array {
  const value = c.value();
  const bytes = c.codec.toBytes(engine, value);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 4)), WIRE_MAGIC);
  assert.equal(bytes[4], WIRE_VERSION);
  assert.equal(bytes[5], c.codec.tag);
  assert.deepEqual(bytes.subarray(8, 16), paramsFingerprint(engine));
  assert.equal(view.getUint32(16, true), bytes.length - WIRE_HEADER_BYTES, 'length as declared');
  assert.equal(peekWireType(bytes), c.codec.type);
  const back = c.codec.fromBytes(engine, bytes);
  try {
    c.equal(back, value);
    assert.deepEqual(c.codec.toBytes(engine, back), bytes, 'decode → encode is byte-identical');
    // The decoded value owns its data: overwriting the input changes nothing.
    const copy = bytes.slice();
    const again = c.codec.fromBytes(engine, copy);
    try {
      copy.fill(0, WIRE_HEADER_BYTES);
      c.equal(again, value);
    } finally {
      c.dispose?.(again);
    }
  } finally {
    c.dispose?.(back);
  }
  return bytes;
}

function assertDecodeError<T>(c: Case<T>, bytes: Uint8Array, what: string): void {
  let value: T | undefined;
  try {
    value = c.codec.fromBytes(engine, bytes);
  } catch (e) {
    if (!(e instanceof HeError) || e.code !== HeErrorCode.DECODE) {
      assert.fail(`${c.name}, ${what}: expected HE_ERR_DECODE, got ${String(e)} ${e instanceof HeError ? e.code : ''}`);
    }
    assert.match(e.message, /^cannot decode [^:]+: ./, `${c.name}, ${what}: message`);
    return;
  }
  c.dispose?.(value);
  assert.fail(`${c.name}, ${what}: bad bytes were accepted`);
}

function header(c: Case<never>, payloadLength: number): Uint8Array {
  const h = new Uint8Array(WIRE_HEADER_BYTES);
  h.set(new TextEncoder().encode(WIRE_MAGIC), 0);
  h[4] = WIRE_VERSION;
  h[5] = c.codec.tag;
  h.set(paramsFingerprint(engine), 8);
  new DataView(h.buffer).setUint32(16, payloadLength, true);
  return h;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

test('every wire type round-trips: length as declared, decode → encode byte-identical', () => {
  assert.ok(cases.length >= 11);
  const types = new Set(cases.map((c) => c.codec.type));
  assert.deepEqual([...types].sort(), Object.keys(WireTag).sort(), 'every tag has a case');
  for (const c of cases) assertRoundTrip(c);
});

test('random byte strings and random payloads behind valid headers are rejected with HE_ERR_DECODE', () => {
  const r = rng('random');
  for (const c of cases) {
    const valid = c.codec.toBytes(engine, c.value());
    const payloadLength = valid.length - WIRE_HEADER_BYTES;
    const keep = WIRE_HEADER_BYTES + (c.targets(valid).seal !== undefined ? 16 : 8);
    for (let i = 0; i < RANDOM_PER_TYPE; i++) {
      let bytes: Uint8Array;
      let what: string;
      switch (i % 4) {
        case 0: // anything, short or long
          bytes = r.bytes(r.int(2) === 0 ? r.int(64) : r.int(payloadLength + 64));
          what = 'random bytes';
          break;
        case 1: { // a valid header with a random payload of random length
          const len = r.int(Math.min(payloadLength, 1 << 16) + 1);
          bytes = concat(header(c, len), r.bytes(len));
          what = `valid header, random ${len}-byte payload`;
          break;
        }
        case 2: // a valid header with a random payload of the right length
          bytes = concat(header(c, payloadLength), r.bytes(payloadLength));
          what = 'valid header, random payload of the right length';
          break;
        default: { // the valid prime count / prefix / SEAL header kept, the rest random
          bytes = concat(valid.subarray(0, keep), r.bytes(payloadLength - (keep - WIRE_HEADER_BYTES)));
          what = 'valid header and prefix, random rest';
        }
      }
      assertDecodeError(c, bytes, `${what} #${i}`);
    }
  }
});

test('truncations, extensions and single-byte corruptions of valid encodings are rejected with HE_ERR_DECODE', () => {
  const r = rng('mutations');
  for (const c of cases) {
    const valid = c.codec.toBytes(engine, c.value());
    const t = c.targets(valid);
    assert.ok(t.residueTops.length > 0 && t.structural.length > 0, `${c.name}: targets found`);
    const counts = new Map<string, number>();
    for (let i = 0; i < MUTATIONS_PER_TYPE; i++) {
      let bytes: Uint8Array;
      let what: string;
      switch (i % 6) {
        case 0: { // truncation anywhere, the header's length left as it was
          bytes = valid.slice(0, r.int(valid.length));
          what = `truncated to ${bytes.length}`;
          break;
        }
        case 1: { // extra bytes, with the header's length left or fixed up
          bytes = concat(valid, r.bytes(1 + r.int(16)));
          if (r.int(2) === 0) new DataView(bytes.buffer).setUint32(16, bytes.length - WIRE_HEADER_BYTES, true);
          what = `extended to ${bytes.length}`;
          break;
        }
        case 2: { // any header byte: magic, version, tag, reserved, fingerprint or length
          const at = r.int(WIRE_HEADER_BYTES);
          bytes = valid.slice();
          bytes[at] = (bytes[at] + 1 + r.int(255)) & 0xff;
          what = `header byte ${at} = ${bytes[at]}`;
          break;
        }
        case 3: // a residue pushed to ≥ its prime
        case 4: {
          const at = t.residueTops[r.int(t.residueTops.length)];
          bytes = valid.slice();
          bytes[at] = 0x10 + r.int(0xf0);
          what = `residue byte ${at} = ${bytes[at]}`;
          break;
        }
        default: { // prime counts, Galois element, Shamir point; SEAL's header and parms_id
          const [at, v] = t.structural[r.int(t.structural.length)];
          bytes = valid.slice();
          if (bytes[at] === v) continue;
          bytes[at] = v;
          what = `structural byte ${at} = ${v}`;
        }
      }
      counts.set(what.split(' ')[0], (counts.get(what.split(' ')[0]) ?? 0) + 1);
      assertDecodeError(c, bytes, `${what} (mutation #${i})`);
    }
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    assert.ok(total >= MUTATIONS_PER_TYPE * 0.95, `${c.name}: ${total} mutations tried`);
  }
});

test('named corruptions give the named reasons', () => {
  const c = cases.find((x) => x.name === 'decryption share, k = 3')!;
  const valid = c.codec.toBytes(engine, c.value());
  const mutate = (f: (b: Uint8Array, v: DataView) => void): Uint8Array => {
    const b = valid.slice();
    f(b, new DataView(b.buffer));
    return b;
  };
  const reason = (bytes: Uint8Array): string => {
    try {
      DecryptionShareCodec.fromBytes(engine, bytes);
    } catch (e) {
      assert.ok(e instanceof HeError && e.code === HeErrorCode.DECODE);
      return e.message;
    }
    return assert.fail('accepted');
  };
  assert.match(reason(mutate((b) => { b[0] = 0x58; })), /^cannot decode decryption share: bad magic$/);
  assert.match(reason(mutate((b) => { b[4] = 2; })), /format version 2, expected 1/);
  assert.match(reason(mutate((b) => { b[5] = WireTag.publicKeyShare; })), /type tag 1 \(publicKeyShare\), expected 5/);
  assert.match(reason(mutate((b) => { b[7] = 1; })), /reserved bytes/);
  assert.match(reason(mutate((b) => { b[15] ^= 1; })), /another parameter set/);
  assert.match(reason(mutate((_b, v) => v.setUint32(16, 0xffffffff, true))), /exceeds/);
  assert.match(reason(mutate((_b, v) => v.setUint32(16, 5, true))), /declared/);
  assert.match(reason(mutate((b) => { b[20] = 4; })), /4 primes, expected 1 to 3/);
  assert.match(reason(mutate((b) => { b[20] = 2; })), /payload of \d+ bytes/);
  assert.match(reason(mutate((b) => { b[WIRE_HEADER_BYTES + 1 + 8 * 5000 + 7] = 0xff; })), /polynomial 0, prime 2, coefficient 904 is not below its prime/);
  // Each codec refuses every other type's bytes.
  for (const a of cases) {
    const bytes = a.codec.toBytes(engine, a.value());
    for (const b of cases) if (b.codec.tag !== a.codec.tag) assertDecodeError(b, bytes, `${a.name} bytes`);
  }
  assert.throws(() => peekWireType(new Uint8Array(3)), (e: unknown) => e instanceof HeError && e.code === HeErrorCode.DECODE);
  assert.throws(() => peekWireType(mutate((b) => { b[5] = 99; })), /unknown type tag 99/);
});

test('wrong argument types are TypeErrors, wrong sizes RangeErrors', () => {
  const bytes = DecryptionShareCodec.toBytes(engine, cases.find((x) => x.name === 'decryption share, k = 1')!.value() as never);
  assert.throws(() => DecryptionShareCodec.fromBytes(engine, [...bytes] as unknown as Uint8Array), TypeError);
  assert.throws(() => DecryptionShareCodec.fromBytes({} as SealEngine, bytes), TypeError);
  assert.throws(() => CiphertextCodec.fromBytes(engine, 'bytes' as unknown as Uint8Array), TypeError);
  assert.throws(() => peekWireType(null as unknown as Uint8Array), TypeError);
  assert.throws(() => paramsFingerprint(null as unknown as SealEngine), TypeError);
  const n = engine.n;
  const K = engine.moduli.length;
  const poly = (k: number) => engine.zero(k);
  assert.throws(() => DecryptionShareCodec.toBytes(engine, null as never), TypeError);
  assert.throws(() => DecryptionShareCodec.toBytes(engine, { h: { k: 1, data: new Uint32Array(n) } } as never), TypeError);
  assert.throws(() => DecryptionShareCodec.toBytes(engine, { h: poly(K) }), RangeError);
  assert.throws(() => DecryptionShareCodec.toBytes(engine, { h: { k: 2, data: new BigUint64Array(n) } }), RangeError);
  const high = poly(1);
  high.data[7] = engine.moduli[0];
  assert.throws(() => DecryptionShareCodec.toBytes(engine, { h: high }), RangeError);
  assert.throws(() => PublicKeySwitchShareCodec.toBytes(engine, { h0: poly(1), h1: poly(2) }), RangeError);
  assert.throws(() => RelinKeyShare2Codec.toBytes(engine, { b: [poly(K)] }), RangeError);
  assert.throws(() => RelinKeyShare1Codec.toBytes(engine, { h0: 'x', h1: [] } as never), TypeError);
  assert.throws(() => GaloisKeyShareCodec.toBytes(engine, { galoisElement: 4, h: [poly(K), poly(K), poly(K)] }), RangeError);
  assert.throws(() => GaloisKeyShareCodec.toBytes(engine, { galoisElement: 3.5, h: [] }), TypeError);
  assert.throws(() => ShamirShareCodec.toBytes(engine, { point: 0, value: poly(K) }), RangeError);
  assert.throws(() => ShamirShareCodec.toBytes(engine, { point: 0x10000, value: poly(K) }), RangeError);
  const ct = cases.find((x) => x.name === 'ciphertext')!.value() as never;
  assert.throws(() => PublicKeyCodec.toBytes(engine, ct), TypeError);
  // A zero decryption share at each level is a valid value (flooding-free shares of public data).
  for (let k = 1; k <= engine.dataPrimes; k++) {
    const back = DecryptionShareCodec.fromBytes(engine, DecryptionShareCodec.toBytes(engine, { h: poly(k) }));
    assert.equal(back.h.k, k);
  }
});
