/**
 * The encrypted batch as stored in the lake and handed to workers: a
 * self-describing container whose SHA-256 pins it. A job lists the hashes of
 * its batches; a worker refuses bytes whose hash differs, so the same job run
 * twice reads the same ciphertexts and gives the same answer.
 *
 * Layout (little-endian):
 *   "HDB1" | u32 header length | header (UTF-8 JSON, {@link BatchMeta})
 *   | u32 column count | per column: u32 length | ciphertext wire bytes (src/he/wire.ts)
 */
import { createHash } from 'node:crypto';
import type { Ciphertext, PublicKey, SealEngine } from '../he/backend/seal.ts';
import { encryptBatch } from '../he/packing.ts';
import { CiphertextCodec } from '../he/wire.ts';
import type { DatasetSchema, QuantisedDataset } from '../models/schema.ts';
import { ComputeError, ComputeErrorCode } from './errors.ts';
import { columnLayout, packColumns } from './layout.ts';

const MAGIC = [0x48, 0x44, 0x42, 0x31]; // "HDB1"
const MAX_HEADER_BYTES = 64 * 1024;
const MAX_COLUMNS = 4096;

/** What a batch says about itself (the container's header). */
export interface BatchMeta {
  readonly format: 'hedge.batch';
  readonly version: 1;
  /** Parameter set name (the ciphertexts carry its fingerprint too). */
  readonly params: string;
  readonly dataset: string;
  /** Pseudonymous plant id. */
  readonly plant: string;
  /** Unique per plant and dataset; ingestion is idempotent by it. */
  readonly batchId: string;
  /** Time range of the batch's records, ISO 8601 instants, from ≤ to. */
  readonly from: string;
  readonly to: string;
  /** Real records in slots 0 … recordCount − 1; the rest is zero padding. */
  readonly recordCount: number;
  /** Number of ciphertext columns ({@link columnLayout} of the dataset's schema). */
  readonly columns: number;
}

/** A batch's header plus the SHA-256 of its container, what the lake indexes and jobs pin. */
export interface BatchRef extends BatchMeta {
  readonly contentHash: string;
}

/** The hex SHA-256 of batch bytes. */
export function batchHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Encrypts records `[start, start + count)` of a quantised dataset under the
 * collective public key into a batch container.
 *
 * @throws {ComputeError} `COMPUTE_ERR_BATCH` for a bad time range or record count.
 * @throws {HeError} `HE_ERR_ENCODE` for values beyond ±2^quantBits.
 * @example
 * ```ts
 * const { ref, bytes } = sealBatch(engine, pk, schema, data, 0, 8192, { dataset: 'ai4i', plant: 'p1', batchId: 'b1', from, to });
 * ```
 */
export function sealBatch(
  engine: SealEngine, pk: PublicKey, schema: DatasetSchema, data: QuantisedDataset, start: number, count: number,
  id: { dataset: string; plant: string; batchId: string; from: string; to: string },
): { ref: BatchRef; bytes: Uint8Array } {
  if (!Number.isInteger(count) || count < 1 || count > engine.params.slots) throw new ComputeError(ComputeErrorCode.BATCH, `cannot seal batch: ${count} records, a batch holds 1 to ${engine.params.slots}`);
  if (!Number.isInteger(start) || start < 0 || start + count > data.x.length) throw new ComputeError(ComputeErrorCode.BATCH, `cannot seal batch: records [${start}, ${start + count}) are not in the dataset`);
  const meta: BatchMeta = {
    format: 'hedge.batch', version: 1, params: engine.params.name,
    dataset: id.dataset, plant: id.plant, batchId: id.batchId, from: id.from, to: id.to,
    recordCount: count, columns: columnLayout(schema).length,
  };
  checkMeta(meta);
  const batch = encryptBatch(engine, pk, packColumns(schema, data, start, count));
  try {
    const bytes = writeContainer(meta, batch.columns.map((ct) => CiphertextCodec.toBytes(engine, ct)));
    return { ref: { ...meta, contentHash: batchHash(bytes) }, bytes };
  } finally {
    for (const ct of batch.columns) ct[Symbol.dispose]();
  }
}

function writeContainer(meta: BatchMeta, columns: readonly Uint8Array[]): Uint8Array {
  const header = new TextEncoder().encode(JSON.stringify(meta));
  const total = 4 + 4 + header.length + 4 + columns.reduce((a, c) => a + 4 + c.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint32(4, header.length, true);
  out.set(header, 8);
  let at = 8 + header.length;
  view.setUint32(at, columns.length, true);
  at += 4;
  for (const c of columns) {
    view.setUint32(at, c.length, true);
    out.set(c, at + 4);
    at += 4 + c.length;
  }
  return out;
}

/**
 * Reads a batch container's header without decoding the ciphertexts (for the
 * lake's ingestion checks).
 *
 * @throws {ComputeError} `COMPUTE_ERR_BATCH` for anything malformed.
 */
export function readBatchMeta(bytes: Uint8Array): BatchMeta {
  return parseContainer(bytes).meta;
}

function parseContainer(bytes: Uint8Array): { meta: BatchMeta; columns: Uint8Array[] } {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
  const fail = (reason: string): never => {
    throw new ComputeError(ComputeErrorCode.BATCH, `cannot read batch: ${reason}`);
  };
  if (bytes.length < 12 || !MAGIC.every((b, i) => bytes[i] === b)) fail('not a hedge batch (bad magic)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const headerLength = view.getUint32(4, true);
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength + 4 > bytes.length) fail(`header length ${headerLength} out of range`);
  let meta: unknown;
  try {
    meta = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (cause) {
    throw new ComputeError(ComputeErrorCode.BATCH, 'cannot read batch: the header is not UTF-8 JSON', { cause });
  }
  checkMeta(meta);
  let at = 8 + headerLength;
  const count = view.getUint32(at, true);
  at += 4;
  if (count !== meta.columns) fail(`${count} columns, the header declares ${meta.columns}`);
  const columns: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    if (at + 4 > bytes.length) fail(`column ${i} is truncated`);
    const length = view.getUint32(at, true);
    if (at + 4 + length > bytes.length) fail(`column ${i} is truncated`);
    columns.push(bytes.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  if (at !== bytes.length) fail(`${bytes.length - at} trailing bytes`);
  return { meta, columns };
}

function checkMeta(meta: unknown): asserts meta is BatchMeta {
  const fail = (reason: string): never => {
    throw new ComputeError(ComputeErrorCode.BATCH, `cannot read batch: ${reason}`);
  };
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) return fail('the header is not an object');
  const m = meta as Record<string, unknown>;
  if (m.format !== 'hedge.batch' || m.version !== 1) fail(`format ${String(m.format)} version ${String(m.version)}, expected hedge.batch version 1`);
  for (const key of ['params', 'dataset', 'plant', 'batchId', 'from', 'to'] as const) {
    const v = m[key];
    if (typeof v !== 'string' || v.length === 0 || v.length > 256) fail(`header.${key} must be a non-empty string of at most 256 characters`);
  }
  const from = Date.parse(m.from as string);
  const to = Date.parse(m.to as string);
  if (!Number.isFinite(from) || !Number.isFinite(to) || from > to) fail(`header.from/to must be ISO 8601 instants with from ≤ to, got ${String(m.from)} / ${String(m.to)}`);
  if (!Number.isInteger(m.recordCount) || (m.recordCount as number) < 1) fail('header.recordCount must be a positive integer');
  if (!Number.isInteger(m.columns) || (m.columns as number) < 1 || (m.columns as number) > MAX_COLUMNS) fail(`header.columns must be an integer in [1, ${MAX_COLUMNS}]`);
}

/**
 * Opens batch bytes for computation: checks the pinned hash, the header
 * against the engine, and decodes every column (each checked for the
 * parameter set, size 2 and the first data level).
 *
 * @throws {ComputeError} `COMPUTE_ERR_BATCH` when the hash differs from
 *   `pinnedHash`, the header is malformed or for other parameters, or a column
 *   does not decode.
 * @example
 * ```ts
 * const { meta, columns } = openBatch(engine, bytes, ref.contentHash);
 * ```
 */
export function openBatch(engine: SealEngine, bytes: Uint8Array, pinnedHash: string): { meta: BatchMeta; columns: Ciphertext[] } {
  const hash = batchHash(bytes);
  if (hash !== pinnedHash) throw new ComputeError(ComputeErrorCode.BATCH, `cannot open batch: its SHA-256 ${hash.slice(0, 16)}… differs from the pinned ${String(pinnedHash).slice(0, 16)}…`);
  const { meta, columns } = parseContainer(bytes);
  if (meta.params !== engine.params.name) throw new ComputeError(ComputeErrorCode.BATCH, `cannot open batch ${meta.batchId}: encrypted under ${meta.params}, not ${engine.params.name}`);
  if (meta.recordCount > engine.params.slots) throw new ComputeError(ComputeErrorCode.BATCH, `cannot open batch ${meta.batchId}: ${meta.recordCount} records exceed ${engine.params.slots} slots`);
  const cts: Ciphertext[] = [];
  try {
    for (const [i, c] of columns.entries()) {
      const ct = CiphertextCodec.fromBytes(engine, c);
      cts.push(ct);
      const { size, k } = engine.shape(ct);
      if (size !== 2 || k !== engine.dataPrimes) throw new ComputeError(ComputeErrorCode.BATCH, `cannot open batch ${meta.batchId}: column ${i} has size ${size} at ${k} primes, expected a fresh ciphertext`);
    }
  } catch (e) {
    for (const ct of cts) ct[Symbol.dispose]();
    if (e instanceof ComputeError) throw e;
    throw new ComputeError(ComputeErrorCode.BATCH, `cannot open batch ${meta.batchId}: a column does not decode`, { cause: e });
  }
  return { meta, columns: cts };
}
