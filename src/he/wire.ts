/**
 * Versioned byte encodings of everything the multiparty protocols send: every
 * public share type, and SEAL's own objects (collective public key,
 * relinearization keys, Galois keys, ciphertexts) in an envelope. Reference
 * polynomials (crps) are never sent: every party re-derives them from the
 * public seed.
 *
 * Every encoding is bound to one parameter set and starts with a fixed
 * 20-byte header, little-endian throughout:
 *
 * | offset | size | field                                                    |
 * |-------:|-----:|----------------------------------------------------------|
 * |      0 |    4 | magic `HDG1` (ASCII)                                      |
 * |      4 |    1 | format version, {@link WIRE_VERSION}                      |
 * |      5 |    1 | type tag, {@link WireTag}                                 |
 * |      6 |    2 | reserved, 0                                               |
 * |      8 |    8 | parameter fingerprint, {@link paramsFingerprint}          |
 * |     16 |    4 | payload length in bytes (the header excluded)             |
 * |     20 |    … | payload                                                   |
 *
 * A polynomial is `u8 k` then k·n residues as u64, prime by prime (the
 * {@link Poly} order), each below its prime. Payloads:
 *
 * - public-key share: p₀ (k = K, the key level);
 * - relinearization round-1 share: h₀[0…L−1] then h₁[0…L−1] (each k = K);
 * - relinearization round-2 share: b[0…L−1] (each k = K);
 * - Galois-key share: `u32` Galois element (odd, in [3, 2N)), then h[0…L−1] (each k = K);
 * - decryption share: h (1 ≤ k ≤ L);
 * - public-key-switch share: h₀, h₁ (same k, 1 ≤ k ≤ L);
 * - Shamir share: `u16` evaluation point (≥ 1), then the value (k = K);
 * - party secret sᵢ and the relinearization round-1 ephemeral uᵢ: one
 *   polynomial (k = K). These two are secrets, never sent: they exist only so
 *   that key custody (`src/edge/custody.ts`) can encrypt them at rest;
 * - SEAL objects: SEAL's own serialization, compression none, exactly the
 *   payload length; loaded back through SEAL, which validates it again.
 *
 * Decoders check every size against the parameters before they allocate and
 * never keep a view into the input. Every decoding failure is an
 * {@link HeError} with code `HE_ERR_DECODE`, message
 * `cannot decode <type>: <reason>` (SEAL's own rejection kept as `cause`).
 */
import { createHash } from 'node:crypto';
import { SealEngine, type Ciphertext, type GaloisKeys, type Poly, type PublicKey, type RelinKeys, type SealObject } from './backend/seal.ts';
import { HeError, HeErrorCode, assertBytes, assertInt } from './errors.ts';
import type { GaloisKeyShare } from './mhe/galois-key-gen.ts';
import type { DecryptionShare } from './mhe/key-switch.ts';
import type { PublicKeyShare } from './mhe/public-key-gen.ts';
import type { PublicKeySwitchShare } from './mhe/public-key-switch.ts';
import type { RelinKeyEphemeral, RelinKeyShare1, RelinKeyShare2 } from './mhe/relin-key-gen.ts';
import { PartySecret } from './mhe/secret.ts';
import type { SumDecryptShare } from './mhe/sum-decrypt.ts';
import type { SumKeySwitchShare } from './mhe/sum-key-switch.ts';
import type { ShamirShare } from './mhe/threshold.ts';

/**
 * The magic at offset 0 of every encoding, as ASCII.
 *
 * @example
 * ```ts
 * new TextDecoder().decode(bytes.subarray(0, 4)) === WIRE_MAGIC;
 * ```
 */
export const WIRE_MAGIC = 'HDG1';
const MAGIC_BYTES = new TextEncoder().encode(WIRE_MAGIC);
/**
 * The format version this module writes and reads (header byte 4); bytes of
 * any other version are rejected with `HE_ERR_DECODE`.
 *
 * @example
 * ```ts
 * bytes[4] === WIRE_VERSION;
 * ```
 */
export const WIRE_VERSION = 1;

/**
 * Bytes of the fixed header in front of every payload.
 *
 * @example
 * ```ts
 * const payload = bytes.subarray(WIRE_HEADER_BYTES);
 * ```
 */
export const WIRE_HEADER_BYTES = 20;

/**
 * Type tags (header byte 5). Stable: never renumber, only add.
 *
 * @example
 * ```ts
 * bytes[5] === WireTag.decryptionShare; // 5
 * ```
 */
export const WireTag = Object.freeze({
  publicKeyShare: 1,
  relinKeyShare1: 2,
  relinKeyShare2: 3,
  galoisKeyShare: 4,
  decryptionShare: 5,
  publicKeySwitchShare: 6,
  shamirShare: 7,
  sumDecryptShare: 8,
  sumKeySwitchShare: 9,
  publicKey: 16,
  relinKeys: 17,
  galoisKeys: 18,
  ciphertext: 19,
  partySecret: 32,
  relinKeyEphemeral: 33,
} as const);

/**
 * Name of a wire type, a key of {@link WireTag}.
 *
 * @example
 * ```ts
 * const type: WireType = peekWireType(bytes);
 * ```
 */
export type WireType = keyof typeof WireTag;

/**
 * Encoder and decoder of one wire type, bound to a parameter set through the
 * engine. Each codec is a frozen object exported below.
 *
 * @example
 * ```ts
 * function send<T>(codec: WireCodec<T>, value: T): Uint8Array { return codec.toBytes(engine, value); }
 * ```
 */
export interface WireCodec<T> {
  /** The type's name, a key of {@link WireTag}. */
  readonly type: WireType;
  /** The header's type tag. */
  readonly tag: number;
  /**
   * Encodes `value` for `engine`'s parameter set.
   *
   * @throws {TypeError} when `engine` is not a SealEngine or `value` has the wrong shape.
   * @throws {RangeError} when a polynomial has the wrong number of primes or coefficients, or a residue is not below its prime.
   */
  toBytes(engine: SealEngine, value: T): Uint8Array;
  /**
   * Decodes bytes written by {@link WireCodec.toBytes} under the same parameter set.
   *
   * @throws {TypeError} when `engine` is not a SealEngine or `bytes` not a Uint8Array.
   * @throws {HeError} `HE_ERR_DECODE` for anything else that is wrong with the bytes.
   */
  fromBytes(engine: SealEngine, bytes: Uint8Array): T;
}

const TAG_NAMES = new Map<number, WireType>(Object.entries(WireTag).map(([name, tag]) => [tag, name as WireType]));

const LABELS: Readonly<Record<WireType, string>> = {
  publicKeyShare: 'public-key share',
  relinKeyShare1: 'relinearization round-1 share',
  relinKeyShare2: 'relinearization round-2 share',
  galoisKeyShare: 'Galois-key share',
  decryptionShare: 'decryption share',
  publicKeySwitchShare: 'public-key-switch share',
  shamirShare: 'Shamir share',
  sumDecryptShare: 'sum-decryption share',
  sumKeySwitchShare: 'sum-key-switch share',
  publicKey: 'public key',
  relinKeys: 'relinearization keys',
  galoisKeys: 'Galois keys',
  ciphertext: 'ciphertext',
  partySecret: 'party secret',
  relinKeyEphemeral: 'relinearization ephemeral secret',
};

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

function decodeError(type: WireType, reason: string, cause?: unknown): HeError {
  return new HeError(HeErrorCode.DECODE, `cannot decode ${LABELS[type]}: ${reason}`, cause === undefined ? undefined : { cause });
}

function assertEngine(engine: unknown): asserts engine is SealEngine {
  if (!(engine instanceof SealEngine)) throw new TypeError('engine must be a SealEngine');
}

const fingerprints = new WeakMap<SealEngine, Uint8Array>();

/**
 * The 8-byte parameter fingerprint in every header: the first 8 bytes of
 * SHA-256 over a domain label, the parameter set's name, the scheme, N, the
 * key-level primes q₀…q_{L−1}, P and the plaintext modulus (0 for CKKS), so
 * bytes written under another parameter set are rejected before their payload
 * is read.
 *
 * @throws {TypeError} when `engine` is not a SealEngine.
 * @example
 * ```ts
 * const fp = paramsFingerprint(engine); // 8 bytes, a fresh copy
 * ```
 */
export function paramsFingerprint(engine: SealEngine): Uint8Array {
  assertEngine(engine);
  let fp = fingerprints.get(engine);
  if (fp === undefined) {
    const { params, moduli } = engine;
    const fixed = new DataView(new ArrayBuffer(8 * (moduli.length + 3)));
    fixed.setBigUint64(0, BigInt(params.n), true);
    fixed.setBigUint64(8, BigInt(moduli.length), true);
    moduli.forEach((q, i) => fixed.setBigUint64(16 + 8 * i, q, true));
    fixed.setBigUint64(16 + 8 * moduli.length, engine.plainModulus, true);
    const digest = createHash('sha256')
      .update('hedge/wire/params/v1\0').update(params.name).update('\0').update(params.scheme).update('\0')
      .update(new Uint8Array(fixed.buffer))
      .digest();
    fp = new Uint8Array(digest.subarray(0, 8));
    fingerprints.set(engine, fp);
  }
  return fp.slice();
}

/**
 * Reads the header's type without decoding the payload, so a receiver can
 * dispatch to the right codec.
 *
 * @throws {TypeError} when `bytes` is not a Uint8Array.
 * @throws {HeError} `HE_ERR_DECODE` for a short header, wrong magic, version or an unknown tag.
 * @example
 * ```ts
 * if (peekWireType(bytes) === 'decryptionShare') share = DecryptionShareCodec.fromBytes(engine, bytes);
 * ```
 */
export function peekWireType(bytes: Uint8Array): WireType {
  assertBytes(bytes, 'bytes');
  const fail = (reason: string): never => {
    throw new HeError(HeErrorCode.DECODE, `cannot decode wire header: ${reason}`);
  };
  if (bytes.length < WIRE_HEADER_BYTES) fail(`${bytes.length} bytes, the header alone has ${WIRE_HEADER_BYTES}`);
  if (!MAGIC_BYTES.every((b, i) => bytes[i] === b)) fail('bad magic');
  if (bytes[4] !== WIRE_VERSION) fail(`format version ${bytes[4]}, expected ${WIRE_VERSION}`);
  return TAG_NAMES.get(bytes[5]) ?? fail(`unknown type tag ${bytes[5]}`);
}

// ------------------------------------------------------------------ framing

function writeFrame(engine: SealEngine, type: WireType, payloadLength: number, fill: (out: Uint8Array, view: DataView, at: number) => void): Uint8Array {
  const out = new Uint8Array(WIRE_HEADER_BYTES + payloadLength);
  const view = new DataView(out.buffer);
  out.set(MAGIC_BYTES, 0);
  view.setUint8(4, WIRE_VERSION);
  view.setUint8(5, WireTag[type]);
  view.setUint16(6, 0, true);
  out.set(paramsFingerprint(engine), 8);
  view.setUint32(16, payloadLength, true);
  fill(out, view, WIRE_HEADER_BYTES);
  return out;
}

/** Checks the header against `type` and the engine; returns the payload length (= bytes after the header). */
function readFrame(engine: SealEngine, type: WireType, bytes: Uint8Array, maxPayload: number): number {
  const fail = (reason: string): never => {
    throw decodeError(type, reason);
  };
  if (bytes.length < WIRE_HEADER_BYTES) fail(`${bytes.length} bytes, the header alone has ${WIRE_HEADER_BYTES}`);
  if (!MAGIC_BYTES.every((b, i) => bytes[i] === b)) fail('bad magic');
  if (bytes[4] !== WIRE_VERSION) fail(`format version ${bytes[4]}, expected ${WIRE_VERSION}`);
  if (bytes[5] !== WireTag[type]) fail(`type tag ${bytes[5]} (${TAG_NAMES.get(bytes[5]) ?? 'unknown'}), expected ${WireTag[type]}`);
  if (bytes[6] !== 0 || bytes[7] !== 0) fail('reserved bytes are not zero');
  const fp = paramsFingerprint(engine);
  for (let i = 0; i < 8; i++) if (bytes[8 + i] !== fp[i]) fail(`written for another parameter set (expected ${engine.params.name})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, WIRE_HEADER_BYTES);
  const declared = view.getUint32(16, true);
  if (declared > maxPayload) fail(`payload length ${declared} exceeds ${maxPayload}, the most ${engine.params.name} allows`);
  if (declared !== bytes.length - WIRE_HEADER_BYTES) fail(`payload length ${declared} declared, ${bytes.length - WIRE_HEADER_BYTES} present`);
  return declared;
}

// -------------------------------------------------------------- polynomials

/** Wire bytes of one polynomial with k primes. */
function polyBytes(engine: SealEngine, k: number): number {
  return 1 + 8 * k * engine.n;
}

/** Checks a polynomial argument before encoding. */
function checkPoly(engine: SealEngine, p: unknown, name: string, minK: number, maxK: number): Poly {
  if (p === null || typeof p !== 'object') throw new TypeError(`${name} must be a polynomial`);
  const { k, data } = p as Partial<Poly>;
  if (!(data instanceof BigUint64Array)) throw new TypeError(`${name}.data must be a BigUint64Array`);
  if (typeof k !== 'number' || !Number.isInteger(k)) throw new TypeError(`${name}.k must be an integer`);
  if (k < minK || k > maxK) throw new RangeError(minK === maxK ? `${name} must have ${minK} primes, got ${k}` : `${name} must have ${minK} to ${maxK} primes, got ${k}`);
  const n = engine.n;
  if (data.length !== k * n) throw new RangeError(`${name} must have ${k * n} residues, got ${data.length}`);
  for (let j = 0; j < k; j++) {
    const q = engine.moduli[j];
    for (let i = j * n, end = (j + 1) * n; i < end; i++) {
      if (data[i] >= q) throw new RangeError(`${name} has residue ${i} not below its prime`);
    }
  }
  return { k, data };
}

/** Writes `p` at `at`; returns the offset after it. */
function writePoly(out: Uint8Array, view: DataView, at: number, p: Poly): number {
  out[at] = p.k;
  const start = at + 1;
  if (LITTLE_ENDIAN) {
    out.set(new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength), start);
  } else {
    for (let i = 0; i < p.data.length; i++) view.setBigUint64(start + 8 * i, p.data[i], true);
  }
  return start + p.data.byteLength;
}

/**
 * Reads the k-prime polynomial at `at` (its k byte and length already checked
 * by the caller) into a fresh array and checks every residue against its prime.
 */
function readPoly(engine: SealEngine, type: WireType, bytes: Uint8Array, at: number, k: number, index: number): Poly {
  const n = engine.n;
  const start = at + 1;
  const data = new BigUint64Array(k * n);
  if (LITTLE_ENDIAN) {
    new Uint8Array(data.buffer).set(bytes.subarray(start, start + 8 * k * n));
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset + start, 8 * k * n);
    for (let i = 0; i < data.length; i++) data[i] = view.getBigUint64(8 * i, true);
  }
  for (let j = 0; j < k; j++) {
    const q = engine.moduli[j];
    for (let i = j * n, end = (j + 1) * n; i < end; i++) {
      if (data[i] >= q) throw decodeError(type, `polynomial ${index}, prime ${j}, coefficient ${i - j * n} is not below its prime`);
    }
  }
  return { k, data };
}

/**
 * A codec for a payload of a fixed-size prefix (`extra` bytes) and `count`
 * polynomials that share one prime count k, in [minK, maxK].
 */
function polyCodec<T>(spec: {
  type: WireType;
  extra: number;
  count: (engine: SealEngine) => number;
  kRange: (engine: SealEngine) => readonly [number, number];
  split: (engine: SealEngine, value: T) => { prefix?: (view: DataView, at: number) => void; polys: readonly Poly[] };
  join: (engine: SealEngine, prefix: DataView, polys: Poly[]) => T;
  checkPrefix?: (engine: SealEngine, prefix: DataView) => string | undefined;
}): WireCodec<T> {
  const { type, extra } = spec;
  return Object.freeze({
    type,
    tag: WireTag[type],
    toBytes(engine: SealEngine, value: T): Uint8Array {
      assertEngine(engine);
      if (value === null || typeof value !== 'object') throw new TypeError(`value must be a ${LABELS[type]}`);
      const { prefix, polys } = spec.split(engine, value);
      const [minK, maxK] = spec.kRange(engine);
      const count = spec.count(engine);
      if (polys.length !== count) throw new RangeError(`a ${LABELS[type]} must have ${count} polynomials, got ${polys.length}`);
      const checked = polys.map((p, i) => checkPoly(engine, p, `polynomial ${i}`, minK, maxK));
      if (checked.some((p) => p.k !== checked[0].k)) throw new RangeError(`the polynomials of a ${LABELS[type]} must all have the same number of primes`);
      const k = checked[0].k;
      return writeFrame(engine, type, extra + count * polyBytes(engine, k), (out, view, at) => {
        prefix?.(view, at);
        let pos = at + extra;
        for (const p of checked) pos = writePoly(out, view, pos, p);
      });
    },
    fromBytes(engine: SealEngine, bytes: Uint8Array): T {
      assertEngine(engine);
      assertBytes(bytes, 'bytes');
      const [minK, maxK] = spec.kRange(engine);
      const count = spec.count(engine);
      const length = readFrame(engine, type, bytes, extra + count * polyBytes(engine, maxK));
      const at = WIRE_HEADER_BYTES;
      if (length < extra + 1) throw decodeError(type, `payload of ${length} bytes is too short`);
      const prefix = new DataView(bytes.buffer, bytes.byteOffset + at, extra);
      const bad = spec.checkPrefix?.(engine, prefix);
      if (bad !== undefined) throw decodeError(type, bad);
      const k = bytes[at + extra];
      if (k < minK || k > maxK) throw decodeError(type, `polynomial 0 has ${k} primes, expected ${minK === maxK ? minK : `${minK} to ${maxK}`}`);
      const expected = extra + count * polyBytes(engine, k);
      if (length !== expected) throw decodeError(type, `payload of ${length} bytes, ${count} polynomials with ${k} primes take ${expected}`);
      // Sizes are checked; now every polynomial's prime count, then allocate and range-check.
      const step = polyBytes(engine, k);
      for (let i = 1; i < count; i++) {
        const ki = bytes[at + extra + i * step];
        if (ki !== k) throw decodeError(type, `polynomial ${i} has ${ki} primes, polynomial 0 has ${k}`);
      }
      const polys: Poly[] = [];
      for (let i = 0; i < count; i++) polys.push(readPoly(engine, type, bytes, at + extra + i * step, k, i));
      return spec.join(engine, prefix, polys);
    },
  });
}

const keyLevel = (engine: SealEngine): readonly [number, number] => [engine.moduli.length, engine.moduli.length];
const dataLevels = (engine: SealEngine): readonly [number, number] => [1, engine.dataPrimes];

function arrayOf(value: unknown, name: string): readonly Poly[] {
  if (!Array.isArray(value)) throw new TypeError(`${name} must be an array of polynomials`);
  return value as readonly Poly[];
}

function galoisElementError(engine: SealEngine, g: number): string | undefined {
  const m = 2 * engine.n;
  return g >= 3 && g < m && g % 2 === 1 ? undefined : `Galois element ${g} is not an odd integer in [3, ${m})`;
}

/**
 * {@link PublicKeyShare}: p₀ at the key level.
 *
 * @example
 * ```ts
 * const bytes = PublicKeyShareCodec.toBytes(engine, share);
 * const back = PublicKeyShareCodec.fromBytes(engine, bytes);
 * ```
 */
export const PublicKeyShareCodec: WireCodec<PublicKeyShare> = polyCodec<PublicKeyShare>({
  type: 'publicKeyShare',
  extra: 0,
  count: () => 1,
  kRange: keyLevel,
  split: (_e, v) => ({ polys: [v.p0] }),
  join: (_e, _p, [p0]) => ({ p0 }),
});

/**
 * {@link RelinKeyShare1}: h₀ then h₁, L key-level polynomials each.
 *
 * @example
 * ```ts
 * const bytes = RelinKeyShare1Codec.toBytes(engine, round1.public);
 * ```
 */
export const RelinKeyShare1Codec: WireCodec<RelinKeyShare1> = polyCodec<RelinKeyShare1>({
  type: 'relinKeyShare1',
  extra: 0,
  count: (e) => 2 * e.dataPrimes,
  kRange: keyLevel,
  split: (e, v) => {
    const h0 = arrayOf(v.h0, 'h0');
    const h1 = arrayOf(v.h1, 'h1');
    if (h0.length !== e.dataPrimes || h1.length !== e.dataPrimes) throw new RangeError(`h0 and h1 must have ${e.dataPrimes} polynomials each`);
    return { polys: [...h0, ...h1] };
  },
  join: (e, _p, polys) => ({ h0: polys.slice(0, e.dataPrimes), h1: polys.slice(e.dataPrimes) }),
});

/**
 * {@link RelinKeyShare2}: b, L key-level polynomials.
 *
 * @example
 * ```ts
 * const share = RelinKeyShare2Codec.fromBytes(engine, bytes);
 * ```
 */
export const RelinKeyShare2Codec: WireCodec<RelinKeyShare2> = polyCodec<RelinKeyShare2>({
  type: 'relinKeyShare2',
  extra: 0,
  count: (e) => e.dataPrimes,
  kRange: keyLevel,
  split: (_e, v) => ({ polys: arrayOf(v.b, 'b') }),
  join: (_e, _p, b) => ({ b }),
});

/**
 * {@link GaloisKeyShare}: u32 Galois element, then h, L key-level polynomials.
 *
 * @example
 * ```ts
 * const bytes = GaloisKeyShareCodec.toBytes(engine, share);
 * ```
 */
export const GaloisKeyShareCodec: WireCodec<GaloisKeyShare> = polyCodec<GaloisKeyShare>({
  type: 'galoisKeyShare',
  extra: 4,
  count: (e) => e.dataPrimes,
  kRange: keyLevel,
  split: (e, v) => {
    const g = v.galoisElement;
    if (typeof g !== 'number' || !Number.isInteger(g)) throw new TypeError('galoisElement must be an integer');
    const bad = galoisElementError(e, g);
    if (bad !== undefined) throw new RangeError(`galoisElement: ${bad}`);
    return { prefix: (view, at) => view.setUint32(at, g, true), polys: arrayOf(v.h, 'h') };
  },
  checkPrefix: (e, p) => galoisElementError(e, p.getUint32(0, true)),
  join: (_e, p, h) => ({ galoisElement: p.getUint32(0, true), h }),
});

/**
 * {@link DecryptionShare}: h with 1 ≤ k ≤ L primes (the ciphertext's level).
 *
 * @example
 * ```ts
 * const bytes = DecryptionShareCodec.toBytes(engine, keySwitch.genShare(secret, ct, plan));
 * ```
 */
export const DecryptionShareCodec: WireCodec<DecryptionShare> = polyCodec<DecryptionShare>({
  type: 'decryptionShare',
  extra: 0,
  count: () => 1,
  kRange: dataLevels,
  split: (_e, v) => ({ polys: [v.h] }),
  join: (_e, _p, [h]) => ({ h }),
});

/**
 * {@link PublicKeySwitchShare}: h₀, h₁ with the same 1 ≤ k ≤ L primes.
 *
 * @example
 * ```ts
 * const share = PublicKeySwitchShareCodec.fromBytes(engine, bytes);
 * ```
 */
export const PublicKeySwitchShareCodec: WireCodec<PublicKeySwitchShare> = polyCodec<PublicKeySwitchShare>({
  type: 'publicKeySwitchShare',
  extra: 0,
  count: () => 2,
  kRange: dataLevels,
  split: (_e, v) => ({ polys: [v.h0, v.h1] }),
  join: (_e, _p, [h0, h1]) => ({ h0, h1 }),
});

/**
 * {@link ShamirShare}: u16 evaluation point (≥ 1), then the key-level value.
 * A Shamir share is secret: encrypt it to its receiver before it leaves the party.
 *
 * @example
 * ```ts
 * const bytes = ShamirShareCodec.toBytes(engine, threshold.genShamirShare(poly, 3));
 * ```
 */
export const ShamirShareCodec: WireCodec<ShamirShare> = polyCodec<ShamirShare>({
  type: 'shamirShare',
  extra: 2,
  count: () => 1,
  kRange: keyLevel,
  split: (_e, v) => {
    const x = v.point;
    if (typeof x !== 'number' || !Number.isInteger(x)) throw new TypeError('point must be an integer');
    if (x < 1 || x > 0xffff) throw new RangeError(`point must be in [1, 65535], got ${x}`);
    return { prefix: (view, at) => view.setUint16(at, x, true), polys: [v.value] };
  },
  checkPrefix: (_e, p) => (p.getUint16(0, true) === 0 ? 'evaluation point 0 (it would reveal the secret)' : undefined),
  join: (_e, p, [value]) => ({ point: p.getUint16(0, true), value }),
});

/**
 * {@link SumDecryptShare}: u32 result count (1 ≤ count ≤ N), u8 prime count
 * (1 ≤ k ≤ L), then k·count little-endian u64 residues, prime-major, each below
 * its prime.
 *
 * @example
 * ```ts
 * const bytes = SumDecryptShareCodec.toBytes(engine, sumDecrypt.genShare(secret, input, plan));
 * ```
 */
export const SumDecryptShareCodec: WireCodec<SumDecryptShare> = Object.freeze({
  type: 'sumDecryptShare' as const,
  tag: WireTag.sumDecryptShare,
  toBytes(engine: SealEngine, value: SumDecryptShare): Uint8Array {
    assertEngine(engine);
    if (value === null || typeof value !== 'object' || value.v === null || typeof value.v !== 'object') throw new TypeError('value must be a sum-decryption share');
    const { k, count, data } = value.v;
    assertInt(k, 'v.k', 1, engine.dataPrimes);
    assertInt(count, 'v.count', 1, engine.n);
    if (!(data instanceof BigUint64Array)) throw new TypeError('v.data must be a BigUint64Array');
    if (data.length !== k * count) throw new RangeError(`v.data must have ${k * count} residues, got ${data.length}`);
    for (let j = 0; j < k; j++) {
      const q = engine.moduli[j];
      for (let r = j * count; r < (j + 1) * count; r++) if (data[r] >= q) throw new RangeError(`v.data has residue ${r} not below its prime`);
    }
    return writeFrame(engine, 'sumDecryptShare', 5 + 8 * k * count, (out, view, at) => {
      view.setUint32(at, count, true);
      view.setUint8(at + 4, k);
      for (let i = 0; i < data.length; i++) view.setBigUint64(at + 5 + 8 * i, data[i], true);
    });
  },
  fromBytes(engine: SealEngine, bytes: Uint8Array): SumDecryptShare {
    assertEngine(engine);
    assertBytes(bytes, 'bytes');
    const type = 'sumDecryptShare';
    const length = readFrame(engine, type, bytes, 5 + 8 * engine.dataPrimes * engine.n);
    if (length < 5) throw decodeError(type, `payload of ${length} bytes is too short`);
    const view = new DataView(bytes.buffer, bytes.byteOffset + WIRE_HEADER_BYTES, length);
    const count = view.getUint32(0, true);
    const k = view.getUint8(4);
    if (count < 1 || count > engine.n) throw decodeError(type, `result count ${count} is not in [1, ${engine.n}]`);
    if (k < 1 || k > engine.dataPrimes) throw decodeError(type, `${k} primes, expected 1 to ${engine.dataPrimes}`);
    if (length !== 5 + 8 * k * count) throw decodeError(type, `payload of ${length} bytes, ${count} results at ${k} primes take ${5 + 8 * k * count}`);
    const data = new BigUint64Array(k * count);
    for (let j = 0; j < k; j++) {
      const q = engine.moduli[j];
      for (let r = j * count; r < (j + 1) * count; r++) {
        const x = view.getBigUint64(5 + 8 * r, true);
        if (x >= q) throw decodeError(type, `result ${r - j * count}, prime ${j} is not below its prime`);
        data[r] = x;
      }
    }
    return { v: { k, count, data } };
  },
});

/**
 * {@link SumKeySwitchShare}: h₀, h₁ with the same 1 ≤ k ≤ L primes.
 *
 * @example
 * ```ts
 * const bytes = SumKeySwitchShareCodec.toBytes(engine, sumKeySwitch.genShare(secret, input, builderPk, plan));
 * ```
 */
export const SumKeySwitchShareCodec: WireCodec<SumKeySwitchShare> = polyCodec<SumKeySwitchShare>({
  type: 'sumKeySwitchShare',
  extra: 0,
  count: () => 2,
  kRange: dataLevels,
  split: (_e, v) => ({ polys: [v.h0, v.h1] }),
  join: (_e, _p, [h0, h1]) => ({ h0, h1 }),
});

/**
 * {@link PartySecret}: sᵢ, one key-level polynomial. **Secret, never sent**:
 * this encoding exists for key custody, which encrypts it at rest
 * (`src/edge/custody.ts`). The encoded bytes hold the secret in the clear —
 * zero them (`bytes.fill(0)`) once encrypted; the decoded share owns a copy
 * (wipe it with `PartySecret.wipe`).
 *
 * @example
 * ```ts
 * const bytes = PartySecretCodec.toBytes(engine, secret);
 * try { sealed = encryptAtRest(bytes); } finally { bytes.fill(0); }
 * ```
 */
export const PartySecretCodec: WireCodec<PartySecret> = polyCodec<PartySecret>({
  type: 'partySecret',
  extra: 0,
  count: () => 1,
  kRange: keyLevel,
  split: (_e, v) => {
    if (!(v instanceof PartySecret)) throw new TypeError('value must be a PartySecret');
    return { polys: [v.poly()] };
  },
  join: (e, _p, [s]) => new PartySecret(e, s),
});

/**
 * {@link RelinKeyEphemeral}: the round-1 ephemeral uᵢ, one key-level
 * polynomial. **Secret, never sent**: key custody keeps it encrypted between
 * the two rounds of the relinearization-key ceremony. Zero the bytes after use.
 *
 * @example
 * ```ts
 * const bytes = RelinKeyEphemeralCodec.toBytes(engine, round1.secret);
 * ```
 */
export const RelinKeyEphemeralCodec: WireCodec<RelinKeyEphemeral> = polyCodec<RelinKeyEphemeral>({
  type: 'relinKeyEphemeral',
  extra: 0,
  count: () => 1,
  kRange: keyLevel,
  split: (_e, v) => ({ polys: [v.u] }),
  join: (_e, _p, [u]) => ({ u }),
});

// ------------------------------------------------------------ SEAL objects

const SEAL_MAGIC = 0xa15e;
const SEAL_HEADER = 16;
/** SEAL's fixed bytes per serialized key-level public key, besides its residues (see layout.ts). */
const SEAL_KEY_OVERHEAD = 113;

/** The largest SEAL payload a kind may have under the engine's parameters (a bound checked before SEAL allocates). */
function sealMaxBytes(engine: SealEngine, kind: SealWireKind): number {
  const { n } = engine;
  const K = engine.moduli.length;
  const L = engine.dataPrimes;
  const keyBytes = SEAL_KEY_OVERHEAD + 2 * K * n * 8;
  switch (kind) {
    case 'publicKey': return keyBytes;
    case 'ciphertext': return SEAL_KEY_OVERHEAD + 16 * L * n * 8; // SEAL_CIPHERTEXT_SIZE_MAX = 16
    case 'relinKeys': return 56 + 8 + L * keyBytes;
    // One row per odd element below 2N (N rows), each empty or L keys; capped by the u32 length field.
    case 'galoisKeys': return Math.min(0xffffffff, 56 + n * 8 + (n - 1) * L * keyBytes);
  }
}

type SealWireKind = 'publicKey' | 'relinKeys' | 'galoisKeys' | 'ciphertext';

function sealCodec<K extends SealWireKind>(kind: K): WireCodec<SealObject<K>> {
  const type: WireType = kind;
  return Object.freeze({
    type,
    tag: WireTag[type],
    toBytes(engine: SealEngine, value: SealObject<K>): Uint8Array {
      assertEngine(engine);
      if (value === null || typeof value !== 'object' || (value as { kind?: unknown }).kind !== kind) throw new TypeError(`value must be a SEAL ${kind}`);
      const bytes = engine.save(value);
      return writeFrame(engine, type, bytes.length, (out, _view, at) => out.set(bytes, at));
    },
    fromBytes(engine: SealEngine, bytes: Uint8Array): SealObject<K> {
      assertEngine(engine);
      assertBytes(bytes, 'bytes');
      const length = readFrame(engine, type, bytes, sealMaxBytes(engine, kind));
      if (length < SEAL_HEADER) throw decodeError(type, `payload of ${length} bytes is shorter than SEAL's header`);
      const payload = bytes.subarray(WIRE_HEADER_BYTES);
      const view = new DataView(payload.buffer, payload.byteOffset, SEAL_HEADER);
      if (view.getUint16(0, true) !== SEAL_MAGIC || view.getUint8(2) !== SEAL_HEADER) throw decodeError(type, 'payload is not a SEAL object');
      if (view.getUint8(5) !== 0) throw decodeError(type, 'SEAL object is compressed (expected compression none)');
      if (view.getBigUint64(8, true) !== BigInt(length)) throw decodeError(type, `SEAL object declares ${view.getBigUint64(8, true)} bytes, the payload has ${length}`);
      try {
        return engine.load(kind, payload);
      } catch (cause) {
        if (cause instanceof HeError) throw decodeError(type, 'SEAL rejects the object', cause);
        throw cause;
      }
    },
  });
}

/**
 * SEAL public key (the collective public key) in an envelope. The decoded key
 * is a SEAL object: dispose it.
 *
 * @example
 * ```ts
 * using pk = PublicKeyCodec.fromBytes(engine, PublicKeyCodec.toBytes(engine, collectivePk));
 * ```
 */
export const PublicKeyCodec: WireCodec<PublicKey> = sealCodec('publicKey');

/**
 * SEAL relinearization keys in an envelope (dispose the decoded keys).
 *
 * @example
 * ```ts
 * using rk = RelinKeysCodec.fromBytes(engine, bytes);
 * ```
 */
export const RelinKeysCodec: WireCodec<RelinKeys> = sealCodec('relinKeys');

/**
 * SEAL Galois keys in an envelope (dispose the decoded keys).
 *
 * @example
 * ```ts
 * using gk = GaloisKeysCodec.fromBytes(engine, bytes);
 * ```
 */
export const GaloisKeysCodec: WireCodec<GaloisKeys> = sealCodec('galoisKeys');

/**
 * SEAL ciphertext in an envelope (dispose the decoded ciphertext).
 *
 * @example
 * ```ts
 * const bytes = CiphertextCodec.toBytes(engine, ct);
 * using back = CiphertextCodec.fromBytes(engine, bytes);
 * ```
 */
export const CiphertextCodec: WireCodec<Ciphertext> = sealCodec('ciphertext');
