/**
 * Ed25519 keys for C2SP signed notes (node:crypto). A key has a name (for a
 * log: its origin) and a 32-bit key id, the first four bytes of
 * `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ publicKey)` (C2SP signed-note "Ed25519").
 * Text encodings follow golang.org/x/mod/sumdb/note:
 * verifier `<name>+<hex id>+<base64(0x01 ‖ public key)>`,
 * signer `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 ‖ seed)>`.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { assertBytes, assertString } from '../assert.ts';
import { concatBytes, fromBase64, toBase64 } from '../bytes.ts';
import { TrustError, TrustErrorCode } from '../errors.ts';
import { sha256 } from '../merkle/hash.ts';

/**
 * Signature type byte of Ed25519 in C2SP signed notes.
 *
 * @example
 * ```ts
 * raw[0] === ED25519_TYPE; // first byte of a verifier key's base64 part
 * ```
 */
export const ED25519_TYPE = 0x01;

/** A public key that can check note signatures. */
export interface NoteVerifier {
  /** Key name, as it appears on signature lines. */
  readonly name: string;
  /** 32-bit key id (unsigned). */
  readonly keyId: number;
  /** Raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** Whether `signature` is a valid signature of `message` by this key. */
  verify(message: Uint8Array, signature: Uint8Array): boolean;
  /** The verifier key text `<name>+<hex id>+<base64>`. */
  toString(): string;
}

/** A private key that signs notes; carries its public half. */
export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  readonly publicKey: Uint8Array;
  /** The Ed25519 signature of `message`. */
  sign(message: Uint8Array): Uint8Array;
  /** The public half, for relying parties. */
  verifier(): NoteVerifier;
  /** The signer key text `PRIVATE+KEY+…` — a secret: store it like one. */
  toSignerKey(): string;
}

// SPKI / PKCS#8 DER prefixes of Ed25519 keys (RFC 8410), followed by the raw 32 bytes.
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * Throws unless `name` is a valid note key name: non-empty, no Unicode white
 * space, no `+` (C2SP signed-note).
 *
 * @throws {TypeError} not a non-empty string
 * @throws {TrustError} `TRUST_ERR_KEY_INVALID` for a forbidden character
 * @example
 * ```ts
 * assertKeyName('log.hedge.example/prod');
 * ```
 */
export function assertKeyName(name: unknown): asserts name is string {
  assertString(name, 'name');
  if (/[\s+]/u.test(name) || /[\p{Cc}\p{Zs}]/u.test(name)) {
    throw new TrustError(TrustErrorCode.KEY_INVALID, `cannot use key name ${JSON.stringify(name)}: it must not contain spaces or '+'`);
  }
}

/**
 * The C2SP key id of an Ed25519 key: the first four bytes of
 * `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ publicKey)`, big-endian.
 *
 * @throws {TypeError} wrong argument types
 * @throws {TrustError} `TRUST_ERR_KEY_INVALID` for a bad name
 * @example
 * ```ts
 * const id = noteKeyId('example.com/log', publicKey);
 * ```
 */
export function noteKeyId(name: string, publicKey: Uint8Array): number {
  assertKeyName(name);
  assertBytes(publicKey, 'publicKey', 32);
  const digest = sha256(new TextEncoder().encode(name), new Uint8Array([0x0a, ED25519_TYPE]), publicKey);
  return new DataView(digest.buffer).getUint32(0, false);
}

const hex8 = (id: number): string => id.toString(16).padStart(8, '0');

function makeVerifier(name: string, publicKey: Uint8Array): NoteVerifier {
  const key: KeyObject = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
  const keyId = noteKeyId(name, publicKey);
  const pub = new Uint8Array(publicKey);
  return Object.freeze({
    name,
    keyId,
    publicKey: pub,
    verify: (message: Uint8Array, signature: Uint8Array): boolean => signature.length === 64 && verify(null, message, key, signature),
    toString: (): string => `${name}+${hex8(keyId)}+${toBase64(concatBytes(new Uint8Array([ED25519_TYPE]), pub))}`,
  });
}

function makeSigner(name: string, seed: Uint8Array): NoteSigner {
  const priv = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' });
  const publicKey = new Uint8Array(spki.subarray(SPKI_PREFIX.length));
  const v = makeVerifier(name, publicKey);
  const seedCopy = new Uint8Array(seed);
  return Object.freeze({
    name,
    keyId: v.keyId,
    publicKey: v.publicKey,
    sign: (message: Uint8Array): Uint8Array => new Uint8Array(sign(null, message, priv)),
    verifier: (): NoteVerifier => v,
    toSignerKey: (): string =>
      `PRIVATE+KEY+${name}+${hex8(v.keyId)}+${toBase64(concatBytes(new Uint8Array([ED25519_TYPE]), seedCopy))}`,
  });
}

/**
 * Generates a fresh Ed25519 note signer named `name`.
 *
 * @throws {TypeError} `name` is not a string
 * @throws {TrustError} `TRUST_ERR_KEY_INVALID` for a bad name
 * @example
 * ```ts
 * const signer = generateNoteSigner('log.hedge.example');
 * const vkey = signer.verifier().toString(); // give this to witnesses
 * ```
 */
export function generateNoteSigner(name: string): NoteSigner {
  assertKeyName(name);
  const { privateKey } = generateKeyPairSync('ed25519');
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  const seed = new Uint8Array(der.subarray(PKCS8_PREFIX.length));
  try {
    return makeSigner(name, seed);
  } finally {
    seed.fill(0);
    der.fill(0);
  }
}

/**
 * A note signer from a 32-byte Ed25519 seed (deterministic; tests and key import).
 *
 * @throws {TypeError} wrong argument types
 * @throws {RangeError} the seed is not 32 bytes
 * @throws {TrustError} `TRUST_ERR_KEY_INVALID` for a bad name
 * @example
 * ```ts
 * const signer = noteSignerFromSeed('log.example', new Uint8Array(32));
 * ```
 */
export function noteSignerFromSeed(name: string, seed: Uint8Array): NoteSigner {
  assertKeyName(name);
  assertBytes(seed, 'seed', 32);
  return makeSigner(name, seed);
}

/**
 * A note verifier from a raw Ed25519 public key.
 *
 * @throws {TypeError} wrong argument types
 * @throws {RangeError} the key is not 32 bytes
 * @throws {TrustError} `TRUST_ERR_KEY_INVALID` for a bad name or a key node:crypto refuses
 * @example
 * ```ts
 * const v = noteVerifierFromPublicKey('log.example', publicKey);
 * ```
 */
export function noteVerifierFromPublicKey(name: string, publicKey: Uint8Array): NoteVerifier {
  assertKeyName(name);
  assertBytes(publicKey, 'publicKey', 32);
  try {
    return makeVerifier(name, publicKey);
  } catch (e) {
    throw new TrustError(TrustErrorCode.KEY_INVALID, 'cannot load verifier key: not an Ed25519 public key', { cause: e });
  }
}

/** Splits on the first `n - 1` '+' (the base64 key at the end may itself contain '+'). */
function splitFields(text: string, n: number): string[] | undefined {
  const out: string[] = [];
  let rest = text;
  for (let i = 0; i < n - 1; i++) {
    const at = rest.indexOf('+');
    if (at < 0) return undefined;
    out.push(rest.slice(0, at));
    rest = rest.slice(at + 1);
  }
  out.push(rest);
  return out;
}

function keyInvalid(what: string, reason: string): TrustError {
  return new TrustError(TrustErrorCode.KEY_INVALID, `cannot parse ${what}: ${reason}`);
}

/**
 * Parses a verifier key `<name>+<hex id>+<base64(0x01 ‖ key)>` and checks that
 * the id matches the name and key.
 *
 * @throws {TypeError} `vkey` is not a string
 * @throws {TrustError} `TRUST_ERR_KEY_INVALID` when malformed, of another type, or the id does not match
 * @example
 * ```ts
 * const v = parseVerifierKey('log.example+1a2b3c4d+AT…');
 * ```
 */
export function parseVerifierKey(vkey: string): NoteVerifier {
  assertString(vkey, 'vkey');
  const parts = splitFields(vkey, 3);
  if (parts === undefined) throw keyInvalid('verifier key', 'expected <name>+<id>+<key>');
  const [name, idHex, b64] = parts;
  assertKeyName(name);
  const raw = fromBase64(b64);
  if (!/^[0-9a-f]{8}$/.test(idHex) || raw === undefined) throw keyInvalid('verifier key', 'bad key id or base64');
  if (raw.length !== 33 || raw[0] !== ED25519_TYPE) throw keyInvalid('verifier key', 'not an Ed25519 key');
  const v = noteVerifierFromPublicKey(name, raw.subarray(1));
  if (hex8(v.keyId) !== idHex) throw keyInvalid('verifier key', 'key id does not match name and key');
  return v;
}

/**
 * Parses a signer key `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 ‖ seed)>`.
 *
 * @throws {TypeError} `skey` is not a string
 * @throws {TrustError} `TRUST_ERR_KEY_INVALID` when malformed or the id does not match
 * @example
 * ```ts
 * const signer = parseSignerKey(process.env.HEDGE_LOG_KEY!);
 * ```
 */
export function parseSignerKey(skey: string): NoteSigner {
  assertString(skey, 'skey');
  const parts = splitFields(skey, 5);
  if (parts === undefined || parts[0] !== 'PRIVATE' || parts[1] !== 'KEY') throw keyInvalid('signer key', 'expected PRIVATE+KEY+<name>+<id>+<key>');
  const [, , name, idHex, b64] = parts;
  assertKeyName(name);
  const raw = fromBase64(b64);
  if (!/^[0-9a-f]{8}$/.test(idHex) || raw === undefined) throw keyInvalid('signer key', 'bad key id or base64');
  if (raw.length !== 33 || raw[0] !== ED25519_TYPE) throw keyInvalid('signer key', 'not an Ed25519 key');
  const seed = raw.subarray(1);
  try {
    const s = makeSigner(name, seed);
    if (hex8(s.keyId) !== idHex) throw keyInvalid('signer key', 'key id does not match name and key');
    return s;
  } finally {
    raw.fill(0);
  }
}
