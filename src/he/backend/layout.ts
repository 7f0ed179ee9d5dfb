/**
 * SEAL 4.1 serialization layout (compression "none"), read and written byte for
 * byte so the multiparty layer can reach the polynomials SEAL's API hides.
 * Little-endian throughout; the layout is guarded by the header's magic and
 * version, and everything written here is loaded back through SEAL, which
 * validates it again.
 *
 * Ciphertext / PublicKey: header (16) · parms_id (32) · ntt u8 · size u64 · N u64
 * · K u64 · scale f64 · correction u64 · inner header (16) · count u64 · data u64[count]
 * ordered polynomial → RNS prime → coefficient.
 * Plaintext / SecretKey: header · parms_id · coeff count u64 · scale f64 · inner
 * header · count u64 · data.
 * KSwitchKeys (Relin/Galois): header · parms_id · rows u64 · per row: count u64
 * then that many complete PublicKey objects.
 */
import { HeError, HeErrorCode } from '../errors.ts';

const MAGIC = 0xa15e;
const HEADER = 16;
const VERSION_MAJOR = 4;
const VERSION_MINOR = 1;

/** The polynomials of a ciphertext or public key, plus its metadata. */
export interface CiphertextLayout {
  parmsId: Uint8Array;
  ntt: boolean;
  /** Number of polynomials. */
  size: number;
  n: number;
  /** Number of RNS primes. */
  k: number;
  scale: number;
  correction: bigint;
  /** size·k·n coefficients, polynomial → prime → coefficient. */
  data: BigUint64Array;
}

/** A plaintext or secret key. */
export interface PlaintextLayout {
  parmsId: Uint8Array;
  scale: number;
  data: BigUint64Array;
}

function layoutError(what: string, reason: string): HeError {
  return new HeError(HeErrorCode.LAYOUT, `cannot read SEAL ${what}: ${reason}`);
}

function checkHeader(bytes: Uint8Array, at: number, what: string): number {
  if (bytes.length < at + HEADER) throw layoutError(what, 'truncated header');
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, HEADER);
  if (view.getUint16(0, true) !== MAGIC) throw layoutError(what, 'bad magic');
  if (view.getUint8(2) !== HEADER) throw layoutError(what, 'unexpected header size');
  if (view.getUint8(3) !== VERSION_MAJOR || view.getUint8(4) !== VERSION_MINOR) {
    throw layoutError(what, `serialization version ${view.getUint8(3)}.${view.getUint8(4)}, expected ${VERSION_MAJOR}.${VERSION_MINOR}`);
  }
  if (view.getUint8(5) !== 0) throw layoutError(what, 'compressed data (expected compression none)');
  const total = Number(view.getBigUint64(8, true));
  if (total < HEADER || at + total > bytes.length) throw layoutError(what, 'size field out of range');
  return total;
}

function writeHeader(view: DataView, at: number, total: number): void {
  view.setUint16(at, MAGIC, true);
  view.setUint8(at + 2, HEADER);
  view.setUint8(at + 3, VERSION_MAJOR);
  view.setUint8(at + 4, VERSION_MINOR);
  view.setUint8(at + 5, 0);
  view.setUint16(at + 6, 0, true);
  view.setBigUint64(at + 8, BigInt(total), true);
}

function copyU64(bytes: Uint8Array, at: number, count: number): BigUint64Array {
  const out = new BigUint64Array(count);
  new Uint8Array(out.buffer).set(bytes.subarray(at, at + count * 8));
  return out;
}

/** Byte length of a serialized ciphertext with `count` coefficients. */
function ciphertextBytes(count: number): number {
  return 113 + count * 8;
}

/**
 * Parses a SEAL Ciphertext or PublicKey starting at `at`.
 *
 * @throws {HeError} `HE_ERR_LAYOUT` when the bytes are not a SEAL 4.1 uncompressed ciphertext.
 */
export function readCiphertext(bytes: Uint8Array, at = 0, what = 'ciphertext'): CiphertextLayout & { end: number } {
  const total = checkHeader(bytes, at, what);
  if (total < 113) throw layoutError(what, 'too short');
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, total);
  const ntt = view.getUint8(48) !== 0;
  const size = Number(view.getBigUint64(49, true));
  const n = Number(view.getBigUint64(57, true));
  const k = Number(view.getBigUint64(65, true));
  const scale = view.getFloat64(73, true);
  const correction = view.getBigUint64(81, true);
  checkHeader(bytes, at + 89, what);
  const count = Number(view.getBigUint64(105, true));
  if (count !== size * n * k || total !== ciphertextBytes(count)) throw layoutError(what, 'inconsistent sizes');
  return { parmsId: bytes.slice(at + 16, at + 48), ntt, size, n, k, scale, correction, data: copyU64(bytes, at + 113, count), end: at + total };
}

/** Serializes a ciphertext layout (the inverse of {@link readCiphertext}). */
export function writeCiphertext(c: CiphertextLayout): Uint8Array {
  const count = c.size * c.n * c.k;
  if (c.data.length !== count) throw new HeError(HeErrorCode.MISMATCH, 'cannot write ciphertext: data length does not match size·n·k');
  const total = ciphertextBytes(count);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  writeHeader(view, 0, total);
  out.set(c.parmsId, 16);
  view.setUint8(48, c.ntt ? 1 : 0);
  view.setBigUint64(49, BigInt(c.size), true);
  view.setBigUint64(57, BigInt(c.n), true);
  view.setBigUint64(65, BigInt(c.k), true);
  view.setFloat64(73, c.scale, true);
  view.setBigUint64(81, c.correction, true);
  writeHeader(view, 89, total - 89);
  view.setBigUint64(105, BigInt(count), true);
  out.set(new Uint8Array(c.data.buffer, c.data.byteOffset, count * 8), 113);
  return out;
}

/**
 * Parses a SEAL Plaintext or SecretKey.
 *
 * @throws {HeError} `HE_ERR_LAYOUT` on anything but a SEAL 4.1 uncompressed plaintext.
 */
export function readPlaintext(bytes: Uint8Array, what = 'plaintext'): PlaintextLayout {
  const total = checkHeader(bytes, 0, what);
  if (total < 88) throw layoutError(what, 'too short');
  const view = new DataView(bytes.buffer, bytes.byteOffset, total);
  const coeffCount = Number(view.getBigUint64(48, true));
  const scale = view.getFloat64(56, true);
  checkHeader(bytes, 64, what);
  const count = Number(view.getBigUint64(80, true));
  if (count !== coeffCount || total !== 88 + count * 8) throw layoutError(what, 'inconsistent sizes');
  return { parmsId: bytes.slice(16, 48), scale, data: copyU64(bytes, 88, count) };
}

/** Serializes a plaintext layout (the inverse of {@link readPlaintext}). */
export function writePlaintext(p: PlaintextLayout): Uint8Array {
  const count = p.data.length;
  const total = 88 + count * 8;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  writeHeader(view, 0, total);
  out.set(p.parmsId, 16);
  view.setBigUint64(48, BigInt(count), true);
  view.setFloat64(56, p.scale, true);
  writeHeader(view, 64, total - 64);
  view.setBigUint64(80, BigInt(count), true);
  out.set(new Uint8Array(p.data.buffer, p.data.byteOffset, count * 8), 88);
  return out;
}

/** A key-switching key set: rows of PublicKey-shaped ciphertexts (empty rows allowed). */
export interface KSwitchLayout {
  parmsId: Uint8Array;
  rows: CiphertextLayout[][];
}

/**
 * Parses SEAL RelinKeys or GaloisKeys.
 *
 * @throws {HeError} `HE_ERR_LAYOUT` on anything but SEAL 4.1 uncompressed key-switching keys.
 */
export function readKSwitchKeys(bytes: Uint8Array, what = 'key-switching keys'): KSwitchLayout {
  const total = checkHeader(bytes, 0, what);
  const view = new DataView(bytes.buffer, bytes.byteOffset, total);
  const rowCount = Number(view.getBigUint64(48, true));
  if (rowCount > 1 << 16) throw layoutError(what, 'too many rows');
  const rows: CiphertextLayout[][] = [];
  let at = 56;
  for (let r = 0; r < rowCount; r++) {
    if (at + 8 > total) throw layoutError(what, 'truncated row');
    const count = Number(view.getBigUint64(at, true));
    at += 8;
    const row: CiphertextLayout[] = [];
    for (let i = 0; i < count; i++) {
      const key = readCiphertext(bytes, at, what);
      row.push(key);
      at = key.end;
    }
    rows.push(row);
  }
  if (at !== total) throw layoutError(what, 'trailing bytes');
  return { parmsId: bytes.slice(16, 48), rows };
}

/** Serializes key-switching keys (the inverse of {@link readKSwitchKeys}). */
export function writeKSwitchKeys(k: KSwitchLayout): Uint8Array {
  const keys = k.rows.map((row) => row.map(writeCiphertext));
  const total = 56 + keys.reduce((a, row) => a + 8 + row.reduce((b, x) => b + x.length, 0), 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  writeHeader(view, 0, total);
  out.set(k.parmsId, 16);
  view.setBigUint64(48, BigInt(keys.length), true);
  let at = 56;
  for (const row of keys) {
    view.setBigUint64(at, BigInt(row.length), true);
    at += 8;
    for (const key of row) {
      out.set(key, at);
      at += key.length;
    }
  }
  return out;
}
