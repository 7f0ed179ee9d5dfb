/**
 * Key custody: a plant's secret key share at rest (DESIGN.md §3; issue 6).
 *
 * One file holds the key holder's additive share sᵢ ({@link PartySecret}), its threshold share
 * when the federation is t-of-n ({@link ShamirShare}), and the short-lived secrets a ceremony
 * needs between two steps (the relinearization round-1 ephemeral uᵢ, a Shamir deal seed),
 * encrypted with AES-256-GCM under a key derived from a passphrase or a key file by argon2id
 * (RFC 9106; `@noble/hashes`, audited, no native code).
 *
 * File layout, little-endian (the first 52 bytes are the header, authenticated as GCM's AAD):
 *
 * | offset | size | field |
 * |-------:|-----:|---|
 * | 0 | 4 | magic `HKC1` |
 * | 4 | 1 | format version, 1 |
 * | 5 | 1 | KDF, 1 = argon2id v1.3 |
 * | 6 | 2 | reserved, 0 |
 * | 8 | 4 | argon2 memory m in KiB |
 * | 12 | 4 | argon2 iterations t |
 * | 16 | 4 | argon2 parallelism p |
 * | 20 | 16 | salt (random per file) |
 * | 36 | 12 | GCM nonce (random per write) |
 * | 48 | 4 | ciphertext length c |
 * | 52 | c | ciphertext |
 * | 52 + c | 16 | GCM tag |
 *
 * The plaintext is `u32` entry count, then per entry `u16` name length, the UTF-8 name, `u32`
 * value length and the value: `secret` (`PartySecretCodec`), `threshold` (`ShamirShareCodec`),
 * and `eph:<name>` for ceremony secrets. The wire encodings bind them to the parameter set.
 *
 * Guarantees (tested in `test/edge/custody.test.ts`):
 * - KDF parameters are read from the header and checked against {@link CUSTODY_KDF_MIN} and
 *   {@link CUSTODY_KDF_MAX} *before* any derivation: a weakened or inflated header is refused
 *   (`EDGE_ERR_CUSTODY_KDF`); a wrong passphrase or key file and any altered byte give
 *   `EDGE_ERR_CUSTODY_UNLOCK`; a truncated or foreign file `EDGE_ERR_CUSTODY_FORMAT`.
 * - Writes are atomic: a temporary file in the same directory (mode 0600) is written and
 *   fsynced, renamed over the file (or hard-linked, on create, so an existing file is never
 *   replaced), and the directory is fsynced. A crash leaves the old or the new file, never a mix.
 * - Secrets never leave the process: nothing here returns the secret as bytes; every plaintext
 *   buffer (encodings, the derived key, the passphrase's bytes) is zeroed after use, and
 *   {@link KeyCustody.close} wipes the share. (A passphrase passed as a JS string cannot be
 *   zeroed; prefer a key file where the process must not hold one.)
 * @module
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { argon2idAsync } from '@noble/hashes/argon2.js';
import type { SealEngine } from '../he/backend/seal.ts';
import { HeError } from '../he/errors.ts';
import { PartySecret } from '../he/mhe/secret.ts';
import type { ShamirShare } from '../he/mhe/threshold.ts';
import { PartySecretCodec, ShamirShareCodec } from '../he/wire.ts';
import { aObject, aString, describe } from './assert.ts';
import { EDGE_ERR, EdgeError, EdgeRangeError, EdgeTypeError } from './errors.ts';

/** argon2id cost parameters, as stored in a custody file's header. */
export interface KdfParams {
  /** Memory in KiB (argon2 `m`). */
  readonly memoryKiB: number;
  /** Passes over memory (argon2 `t`). */
  readonly iterations: number;
  /** Lanes (argon2 `p`). */
  readonly parallelism: number;
}

/**
 * Default for new custody files: RFC 9106 §4's second recommended option (64 MiB, 3 passes,
 * 1 lane; about 2 s in `@noble/hashes` on one core of the 2-core reference machine).
 * @example
 * ```ts
 * await KeyCustody.create(path, engine, unlock, { kdf: CUSTODY_KDF_DEFAULT });
 * ```
 */
export const CUSTODY_KDF_DEFAULT: KdfParams = Object.freeze({ memoryKiB: 65_536, iterations: 3, parallelism: 1 });

/**
 * The floor: OWASP's minimum for argon2id (19 MiB, 2 passes, 1 lane). Weaker parameters are
 * refused on create and in a file's header.
 * @example
 * ```ts
 * await KeyCustody.create(path, engine, unlock, { kdf: CUSTODY_KDF_MIN }); // fastest accepted
 * ```
 */
export const CUSTODY_KDF_MIN: KdfParams = Object.freeze({ memoryKiB: 19_456, iterations: 2, parallelism: 1 });

/**
 * The ceiling, so that an altered header cannot make `open` allocate or spin without bound
 * (the header is authenticated only once the key is derived): 1 GiB, 16 passes, 4 lanes.
 * @example
 * ```ts
 * CUSTODY_KDF_MAX.memoryKiB === 1_048_576;
 * ```
 */
export const CUSTODY_KDF_MAX: KdfParams = Object.freeze({ memoryKiB: 1_048_576, iterations: 16, parallelism: 4 });

/**
 * How a custody file is unlocked: a passphrase (at least 12 characters on create, NFC-normalised)
 * or a key file (32 to 4096 bytes of any content, mode 0600 or stricter, e.g.
 * `openssl rand -out custody.key 32; chmod 600 custody.key`).
 */
export type CustodyUnlock = { readonly passphrase: string } | { readonly keyFile: string };

/** Options of {@link KeyCustody.create}. */
export interface CustodyCreateOptions {
  /** argon2id parameters (default {@link CUSTODY_KDF_DEFAULT}); must lie within the floor and ceiling. */
  readonly kdf?: KdfParams;
}

const MAGIC = Buffer.from('HKC1', 'ascii');
const VERSION = 1;
const KDF_ARGON2ID = 1;
const HEADER = 52;
const TAG = 16;
const SALT = 16;
const NONCE = 12;
const KEY_BYTES = 32;
const MAX_FILE = 256 * 2 ** 20;
const MIN_PASSPHRASE = 12;
const NAME_RE = /^[A-Za-z0-9._:-]{1,200}$/;
const EPH = 'eph:';

/**
 * The custody of one key holder's secrets, unlocked. Holds the derived key (to re-encrypt on
 * every change) until {@link KeyCustody.close}, which wipes it and every secret.
 *
 * @example
 * ```ts
 * const custody = await KeyCustody.create('/var/lib/hedge/custody.hkc', engine, { keyFile: '/etc/hedge/custody.key' });
 * custody.close();
 * using again = await KeyCustody.open('/var/lib/hedge/custody.hkc', engine, { keyFile: '/etc/hedge/custody.key' });
 * const share = publicKeyProtocol.genShare(again.secret, crp);
 * ```
 */
export class KeyCustody {
  readonly #path: string;
  readonly #engine: SealEngine;
  readonly #kdf: KdfParams;
  readonly #salt: Buffer;
  readonly #key: Buffer;
  #secret: PartySecret;
  #threshold: ShamirShare | undefined;
  readonly #ephemeral = new Map<string, Uint8Array>();
  #closed = false;

  private constructor(path: string, engine: SealEngine, kdf: KdfParams, salt: Buffer, key: Buffer, secret: PartySecret) {
    this.#path = path;
    this.#engine = engine;
    this.#kdf = kdf;
    this.#salt = salt;
    this.#key = key;
    this.#secret = secret;
  }

  /**
   * Creates a custody file holding a freshly sampled secret share sᵢ (sampled here, so that it
   * exists nowhere else). Refuses to replace an existing file.
   *
   * @throws EdgeTypeError / EdgeRangeError for a malformed argument or a passphrase under 12 characters
   * @throws EdgeError `EDGE_ERR_CUSTODY_KDF` (parameters outside floor and ceiling),
   *   `EDGE_ERR_CUSTODY_EXISTS`, `EDGE_ERR_CUSTODY_IO`, `EDGE_ERR_CUSTODY_KEY_FILE`,
   *   `EDGE_ERR_CUSTODY_PERMISSIONS` (key file readable by others)
   * @example
   * ```ts
   * const custody = await KeyCustody.create('custody.hkc', engine, { passphrase: 'correct horse battery staple' });
   * ```
   */
  static async create(path: string, engine: SealEngine, unlock: CustodyUnlock, options: CustodyCreateOptions = {}): Promise<KeyCustody> {
    const op = 'create key custody';
    aString(op, 'path', path);
    const asked: KdfParams = options?.kdf ?? CUSTODY_KDF_DEFAULT;
    checkKdf(op, asked);
    const kdf: KdfParams = Object.freeze({ memoryKiB: asked.memoryKiB, iterations: asked.iterations, parallelism: asked.parallelism });
    if (exists(path)) throw new EdgeError(EDGE_ERR.CUSTODY_EXISTS, `cannot ${op}: ${path} exists; an existing secret share is never overwritten`);
    const salt = randomBytes(SALT);
    const key = await deriveKey(op, unlock, salt, kdf, true);
    const custody = new KeyCustody(path, engine, kdf, salt, key, PartySecret.generate(engine));
    try {
      custody.#persist(op, true);
    } catch (e) {
      custody.close();
      throw e;
    }
    return custody;
  }

  /**
   * Opens and decrypts a custody file.
   *
   * @throws EdgeTypeError / EdgeRangeError for a malformed argument
   * @throws EdgeError `EDGE_ERR_CUSTODY_IO` (cannot read), `EDGE_ERR_CUSTODY_FORMAT` (not a
   *   custody file, truncated, another parameter set), `EDGE_ERR_CUSTODY_KDF` (header parameters
   *   outside floor and ceiling), `EDGE_ERR_CUSTODY_UNLOCK` (wrong passphrase or key file, or
   *   altered), `EDGE_ERR_CUSTODY_KEY_FILE`, `EDGE_ERR_CUSTODY_PERMISSIONS`
   * @example
   * ```ts
   * using custody = await KeyCustody.open('custody.hkc', engine, { keyFile: 'custody.key' });
   * ```
   */
  static async open(path: string, engine: SealEngine, unlock: CustodyUnlock): Promise<KeyCustody> {
    const op = 'open key custody';
    aString(op, 'path', path);
    checkMode(op, path, 'custody file');
    let file: Buffer;
    try {
      if (statSync(path).size > MAX_FILE) throw new EdgeError(EDGE_ERR.CUSTODY_FORMAT, `cannot ${op}: ${path} is larger than any custody file`);
      file = readFileSync(path);
    } catch (e) {
      if (e instanceof EdgeError) throw e;
      throw new EdgeError(EDGE_ERR.CUSTODY_IO, `cannot ${op}: cannot read ${path} (${(e as Error).message})`, { cause: e });
    }
    const bad = (reason: string): never => {
      throw new EdgeError(EDGE_ERR.CUSTODY_FORMAT, `cannot ${op}: ${path} ${reason}`);
    };
    if (file.length < HEADER + TAG) bad(`has ${file.length} bytes, fewer than a custody file's header and tag`);
    if (!file.subarray(0, 4).equals(MAGIC)) bad('is not a key custody file (bad magic)');
    if (file[4] !== VERSION) bad(`has format version ${file[4]}, this code reads ${VERSION}`);
    if (file[5] !== KDF_ARGON2ID) bad(`names KDF ${file[5]}, this code knows 1 (argon2id)`);
    if (file[6] !== 0 || file[7] !== 0) bad('has non-zero reserved bytes');
    const kdf: KdfParams = Object.freeze({ memoryKiB: file.readUInt32LE(8), iterations: file.readUInt32LE(12), parallelism: file.readUInt32LE(16) });
    checkKdf(op, kdf);
    const length = file.readUInt32LE(48);
    if (length !== file.length - HEADER - TAG) bad(`declares ${length} bytes of ciphertext, ${file.length - HEADER - TAG} are present (truncated or extended)`);
    const salt = Buffer.from(file.subarray(20, 20 + SALT));
    const key = await deriveKey(op, unlock, salt, kdf, false);
    let plain: Buffer | undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, file.subarray(36, 36 + NONCE));
      decipher.setAAD(file.subarray(0, HEADER));
      decipher.setAuthTag(file.subarray(HEADER + length));
      const body = decipher.update(file.subarray(HEADER, HEADER + length));
      try {
        const tail = decipher.final();
        plain = Buffer.concat([body, tail]);
        tail.fill(0);
      } catch (e) {
        throw new EdgeError(EDGE_ERR.CUSTODY_UNLOCK, `cannot ${op}: ${path} does not decrypt: wrong passphrase or key file, or the file was altered`, { cause: e });
      } finally {
        body.fill(0);
      }
      return KeyCustody.#fromPlaintext(op, path, engine, kdf, salt, key, plain);
    } catch (e) {
      key.fill(0);
      throw e;
    } finally {
      plain?.fill(0);
    }
  }

  static #fromPlaintext(op: string, path: string, engine: SealEngine, kdf: KdfParams, salt: Buffer, key: Buffer, plain: Buffer): KeyCustody {
    const entries = parseEntries(plain);
    if (entries === undefined) throw new EdgeError(EDGE_ERR.CUSTODY_FORMAT, `cannot ${op}: ${path} decrypts to a malformed entry list`);
    const decode = <T>(name: string, f: (bytes: Uint8Array) => T): T => {
      try {
        return f(entries.get(name)!);
      } catch (e) {
        const reason = e instanceof HeError ? e.message : String(e);
        throw new EdgeError(EDGE_ERR.CUSTODY_FORMAT, `cannot ${op}: ${path} entry '${name}' does not decode under ${engine.params.name} (${reason})`, { cause: e });
      }
    };
    if (!entries.has('secret')) throw new EdgeError(EDGE_ERR.CUSTODY_FORMAT, `cannot ${op}: ${path} holds no secret share`);
    const secret = decode('secret', (b) => PartySecretCodec.fromBytes(engine, b));
    const custody = new KeyCustody(path, engine, kdf, salt, key, secret);
    try {
      if (entries.has('threshold')) custody.#threshold = decode('threshold', (b) => ShamirShareCodec.fromBytes(engine, b));
      for (const [name, value] of entries) {
        if (name.startsWith(EPH)) custody.#ephemeral.set(name.slice(EPH.length), new Uint8Array(value));
        else if (name !== 'secret' && name !== 'threshold') throw new EdgeError(EDGE_ERR.CUSTODY_FORMAT, `cannot ${op}: ${path} holds an unknown entry '${name}'`);
      }
    } catch (e) {
      custody.close();
      throw e;
    }
    return custody;
  }

  /**
   * The additive secret share sᵢ (stays valid until {@link KeyCustody.close}).
   * @throws EdgeError `EDGE_ERR_CUSTODY_CLOSED`
   * @example
   * ```ts
   * const share = new PublicKeyProtocol(engine).genShare(custody.secret, crp);
   * ```
   */
  get secret(): PartySecret {
    this.#open('use the secret share');
    return this.#secret;
  }

  /**
   * The threshold share tskⱼ (t-of-n federations), or undefined before the threshold ceremony.
   * @throws EdgeError `EDGE_ERR_CUSTODY_CLOSED`
   * @example
   * ```ts
   * const additive = threshold.genAdditiveShare(custody.thresholdShare!, activePoints);
   * ```
   */
  get thresholdShare(): ShamirShare | undefined {
    this.#open('use the threshold share');
    return this.#threshold;
  }

  /**
   * The argon2id parameters of this file.
   * @example
   * ```ts
   * custody.kdf.memoryKiB; // 65536 by default
   * ```
   */
  get kdf(): KdfParams {
    return this.#kdf;
  }

  /**
   * Stores the threshold share (durably, before it returns). The custody keeps its own copy;
   * wipe yours.
   * @throws EdgeRangeError if the share does not encode under this parameter set
   * @throws EdgeError `EDGE_ERR_CEREMONY` if a threshold share is already held,
   *   `EDGE_ERR_CUSTODY_IO`, `EDGE_ERR_CUSTODY_CLOSED`
   * @example
   * ```ts
   * custody.setThresholdShare(threshold.aggregateShares(received));
   * ```
   */
  setThresholdShare(share: ShamirShare): void {
    const op = 'store the threshold share';
    this.#open(op);
    if (this.#threshold !== undefined) throw new EdgeError(EDGE_ERR.CEREMONY, `cannot ${op}: this key holder already holds one`);
    let copy: ShamirShare;
    try {
      const bytes = ShamirShareCodec.toBytes(this.#engine, share);
      copy = ShamirShareCodec.fromBytes(this.#engine, bytes);
      bytes.fill(0);
    } catch (e) {
      throw new EdgeRangeError(`cannot ${op}: share is not a Shamir share under ${this.#engine.params.name} (${(e as Error).message})`, { cause: e });
    }
    this.#threshold = copy;
    try {
      this.#persist(op, false);
    } catch (e) {
      copy.value.data.fill(0n);
      this.#threshold = undefined;
      throw e;
    }
  }

  /**
   * A ceremony secret kept between two steps (a copy: zero it after use), or undefined.
   * @throws EdgeRangeError for a bad name
   * @throws EdgeError `EDGE_ERR_CUSTODY_CLOSED`
   * @example
   * ```ts
   * const u = custody.getEphemeral('relin:ceremony-1');
   * ```
   */
  getEphemeral(name: string): Uint8Array | undefined {
    const op = 'read a ceremony secret';
    this.#open(op);
    checkName(op, name);
    const value = this.#ephemeral.get(name);
    return value === undefined ? undefined : new Uint8Array(value);
  }

  /**
   * Stores (or replaces) a ceremony secret, durably before it returns. The custody copies
   * `bytes`; zero yours.
   * @throws EdgeTypeError / EdgeRangeError for a bad name or value
   * @throws EdgeError `EDGE_ERR_CUSTODY_IO`, `EDGE_ERR_CUSTODY_CLOSED`
   * @example
   * ```ts
   * custody.putEphemeral('relin:ceremony-1', RelinKeyEphemeralCodec.toBytes(engine, round1.secret));
   * ```
   */
  putEphemeral(name: string, bytes: Uint8Array): void {
    const op = 'store a ceremony secret';
    this.#open(op);
    checkName(op, name);
    if (!(bytes instanceof Uint8Array)) throw new EdgeTypeError(`cannot ${op}: bytes must be a Uint8Array, got ${describe(bytes)}`);
    const old = this.#ephemeral.get(name);
    this.#ephemeral.set(name, new Uint8Array(bytes));
    try {
      this.#persist(op, false);
    } catch (e) {
      this.#ephemeral.get(name)!.fill(0);
      if (old === undefined) this.#ephemeral.delete(name);
      else this.#ephemeral.set(name, old);
      throw e;
    }
    old?.fill(0);
  }

  /**
   * Deletes a ceremony secret (durably) and zeroes it; absent names are ignored.
   * @throws EdgeError `EDGE_ERR_CUSTODY_IO`, `EDGE_ERR_CUSTODY_CLOSED`
   * @example
   * ```ts
   * custody.deleteEphemeral('relin:ceremony-1');
   * ```
   */
  deleteEphemeral(name: string): void {
    const op = 'delete a ceremony secret';
    this.#open(op);
    checkName(op, name);
    const old = this.#ephemeral.get(name);
    if (old === undefined) return;
    this.#ephemeral.delete(name);
    try {
      this.#persist(op, false);
    } catch (e) {
      this.#ephemeral.set(name, old);
      throw e;
    }
    old.fill(0);
  }

  /**
   * Wipes the secret share, the threshold share, ceremony secrets and the derived key.
   * Idempotent; later use throws `EDGE_ERR_CUSTODY_CLOSED`.
   * @example
   * ```ts
   * custody.close();
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#secret.wipe();
    this.#threshold?.value.data.fill(0n);
    this.#threshold = undefined;
    for (const v of this.#ephemeral.values()) v.fill(0);
    this.#ephemeral.clear();
    this.#key.fill(0);
  }

  /** Same as {@link KeyCustody.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Never prints secrets. */
  toJSON(): string {
    return '[KeyCustody]';
  }

  #open(op: string): void {
    if (this.#closed) throw new EdgeError(EDGE_ERR.CUSTODY_CLOSED, `cannot ${op}: the key custody is closed`);
  }

  /** Encrypts the current contents under a fresh nonce and replaces the file atomically. */
  #persist(op: string, create: boolean): void {
    const parts: [string, Uint8Array][] = [['secret', PartySecretCodec.toBytes(this.#engine, this.#secret)]];
    if (this.#threshold !== undefined) parts.push(['threshold', ShamirShareCodec.toBytes(this.#engine, this.#threshold)]);
    for (const [name, value] of this.#ephemeral) parts.push([EPH + name, new Uint8Array(value)]);
    const plain = writeEntries(parts);
    for (const [, v] of parts) v.fill(0);
    const header = Buffer.alloc(HEADER);
    MAGIC.copy(header, 0);
    header[4] = VERSION;
    header[5] = KDF_ARGON2ID;
    header.writeUInt32LE(this.#kdf.memoryKiB, 8);
    header.writeUInt32LE(this.#kdf.iterations, 12);
    header.writeUInt32LE(this.#kdf.parallelism, 16);
    this.#salt.copy(header, 20);
    randomBytes(NONCE).copy(header, 36);
    header.writeUInt32LE(plain.length, 48);
    let file: Buffer;
    try {
      const cipher = createCipheriv('aes-256-gcm', this.#key, header.subarray(36, 36 + NONCE));
      cipher.setAAD(header);
      file = Buffer.concat([header, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    } finally {
      plain.fill(0);
    }
    writeAtomic(op, this.#path, file, create);
  }
}

/** Throws `EDGE_ERR_CUSTODY_KDF` unless every parameter lies within floor and ceiling. */
function checkKdf(op: string, kdf: KdfParams): void {
  aObject(op, 'kdf', kdf);
  for (const field of ['memoryKiB', 'iterations', 'parallelism'] as const) {
    const v = kdf[field];
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new EdgeTypeError(`cannot ${op}: kdf.${field} must be an integer, got ${describe(v)}`);
    if (v < CUSTODY_KDF_MIN[field] || v > CUSTODY_KDF_MAX[field]) {
      throw new EdgeError(EDGE_ERR.CUSTODY_KDF, `cannot ${op}: argon2id ${field} ${v} is outside [${CUSTODY_KDF_MIN[field]}, ${CUSTODY_KDF_MAX[field]}] (weak parameters are refused; so are parameters beyond the ceiling)`);
    }
  }
}

/** The passphrase's or key file's bytes → argon2id → 32-byte key (the input bytes are zeroed). */
async function deriveKey(op: string, unlock: CustodyUnlock, salt: Buffer, kdf: KdfParams, creating: boolean): Promise<Buffer> {
  aObject(op, 'unlock', unlock);
  let input: Buffer;
  if ('passphrase' in unlock && !('keyFile' in unlock)) {
    if (typeof unlock.passphrase !== 'string') throw new EdgeTypeError(`cannot ${op}: unlock.passphrase must be a string, got ${describe(unlock.passphrase)}`);
    const normalised = unlock.passphrase.normalize('NFC');
    if (creating && [...normalised].length < MIN_PASSPHRASE) throw new EdgeRangeError(`cannot ${op}: the passphrase must have at least ${MIN_PASSPHRASE} characters`);
    if (normalised.length === 0) throw new EdgeRangeError(`cannot ${op}: the passphrase is empty`);
    input = Buffer.from(normalised, 'utf8');
  } else if ('keyFile' in unlock && !('passphrase' in unlock)) {
    aString(op, 'unlock.keyFile', unlock.keyFile);
    input = readKeyFile(op, unlock.keyFile);
  } else {
    throw new EdgeTypeError(`cannot ${op}: unlock must be { passphrase } or { keyFile }`);
  }
  try {
    const derived = await argon2idAsync(input, salt, {
      t: kdf.iterations, m: kdf.memoryKiB, p: kdf.parallelism, dkLen: KEY_BYTES, personalization: 'hedge/key-custody/v1',
    });
    const key = Buffer.from(derived);
    derived.fill(0);
    return key;
  } finally {
    input.fill(0);
  }
}

function readKeyFile(op: string, path: string): Buffer {
  checkMode(op, path, 'key file');
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new EdgeError(EDGE_ERR.CUSTODY_KEY_FILE, `cannot ${op}: cannot read key file ${path} (${(e as Error).message})`, { cause: e });
  }
  if (bytes.length < 32 || bytes.length > 4096) {
    bytes.fill(0);
    throw new EdgeError(EDGE_ERR.CUSTODY_KEY_FILE, `cannot ${op}: key file ${path} must hold 32 to 4096 bytes`);
  }
  return bytes;
}

/** Refuses a file that group or others may access (a missing file is left to the reader). */
function checkMode(op: string, path: string, what: string): void {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (e) {
    const code = what === 'key file' ? EDGE_ERR.CUSTODY_KEY_FILE : EDGE_ERR.CUSTODY_IO;
    throw new EdgeError(code, `cannot ${op}: cannot read ${what} ${path} (${(e as Error).message})`, { cause: e });
  }
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new EdgeError(EDGE_ERR.CUSTODY_PERMISSIONS, `cannot ${op}: ${what} ${path} has mode ${(mode & 0o777).toString(8)}; group and others must have no access (chmod 600)`);
  }
}

function checkName(op: string, name: unknown): asserts name is string {
  aString(op, 'name', name);
  if (!NAME_RE.test(name)) throw new EdgeRangeError(`cannot ${op}: name must be 1 to 200 of [A-Za-z0-9._:-]`);
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function writeEntries(parts: readonly [string, Uint8Array][]): Buffer {
  const names = parts.map(([n]) => Buffer.from(n, 'utf8'));
  const size = 4 + parts.reduce((s, [, v], i) => s + 2 + names[i].length + 4 + v.length, 0);
  const out = Buffer.alloc(size);
  let at = out.writeUInt32LE(parts.length, 0);
  parts.forEach(([, v], i) => {
    at = out.writeUInt16LE(names[i].length, at);
    at += names[i].copy(out, at);
    at = out.writeUInt32LE(v.length, at);
    out.set(v, at);
    at += v.length;
  });
  return out;
}

/** The entry list, or undefined when malformed (values are views into `plain`). */
function parseEntries(plain: Buffer): Map<string, Uint8Array> | undefined {
  if (plain.length < 4) return undefined;
  const count = plain.readUInt32LE(0);
  const out = new Map<string, Uint8Array>();
  let at = 4;
  for (let i = 0; i < count; i++) {
    if (at + 2 > plain.length) return undefined;
    const nameLength = plain.readUInt16LE(at);
    at += 2;
    if (at + nameLength + 4 > plain.length) return undefined;
    const name = plain.toString('utf8', at, at + nameLength);
    at += nameLength;
    const length = plain.readUInt32LE(at);
    at += 4;
    if (at + length > plain.length || out.has(name)) return undefined;
    out.set(name, plain.subarray(at, at + length));
    at += length;
  }
  return at === plain.length ? out : undefined;
}

/**
 * Writes `bytes` to `path` atomically: a temporary file beside it (mode 0600), fsync, then a
 * rename over `path` (or, when `create`, a hard link that fails if `path` exists), then an fsync
 * of the directory so the new name is durable.
 */
function writeAtomic(op: string, path: string, bytes: Uint8Array, create: boolean): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let linked = false;
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at, bytes.length - at);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (create) {
      try {
        linkSync(tmp, path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new EdgeError(EDGE_ERR.CUSTODY_EXISTS, `cannot ${op}: ${path} exists; an existing secret share is never overwritten`);
        throw e;
      }
      linked = true;
      unlinkSync(tmp);
    } else {
      renameSync(tmp, path);
    }
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch (e) {
    if (!linked) {
      try {
        unlinkSync(tmp);
      } catch {
        // the temporary file may not exist (or was renamed); nothing to clean up
      }
    }
    if (e instanceof EdgeError) throw e;
    throw new EdgeError(EDGE_ERR.CUSTODY_IO, `cannot ${op}: cannot write ${path} (${(e as Error).message})`, { cause: e });
  }
}
