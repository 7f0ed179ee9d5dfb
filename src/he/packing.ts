/**
 * Packing records into ciphertexts (DESIGN §5): column-major batches, one
 * ciphertext per column, one record per slot. The values are integers the
 * caller quantised to the preset's fixed-point step (src/models/schema.ts
 * pre-scales into [−1, 1] with the schema's public ranges and rounds to
 * ±2^quantBits), so encrypted sums equal plaintext sums of the same integers
 * exactly. Padding slots are zero and never counted: the batch carries its
 * record count.
 *
 * Exactness bound: with values in [−2^b, 2^b] (b = quantBits) a sum of M
 * products of two values is at most M·2^{2b} in magnitude; it cannot wrap
 * modulo t while M·2^{2b} ≤ (t − 1)/2. {@link exactnessBound} gives that M and
 * {@link assertExact} enforces it before a reveal.
 */
import { createHash } from 'node:crypto';
import type { Ciphertext, PublicKey, SealEngine } from './backend/seal.ts';
import { HeError, HeErrorCode, assertInt } from './errors.ts';
import type { HeParams } from './params.ts';

/**
 * The largest number of records per reveal for which no sum of `degree`-fold
 * products (1: sums, 2: Gram entries) can wrap modulo t.
 */
export function exactnessBound(params: HeParams, t: bigint, degree: 1 | 2 = 2): number {
  if (params.scheme !== 'bgv') throw new HeError(HeErrorCode.MISMATCH, 'cannot bound exactness: only BGV is exact');
  const maxTerm = 1n << BigInt(params.quantBits * degree);
  const m = (t - 1n) / 2n / maxTerm;
  return Number(m > BigInt(Number.MAX_SAFE_INTEGER) ? BigInt(Number.MAX_SAFE_INTEGER) : m);
}

/**
 * Refuses a reveal over more records than {@link exactnessBound} allows.
 *
 * @throws {HeError} `HE_ERR_EXACTNESS`.
 */
export function assertExact(params: HeParams, t: bigint, records: number, degree: 1 | 2 = 2): void {
  const bound = exactnessBound(params, t, degree);
  if (records > bound) {
    throw new HeError(HeErrorCode.EXACTNESS, `cannot reveal a sum over ${records} records: sums could wrap modulo t beyond ${bound} records; split the job`);
  }
}

/** An encrypted column-major batch. */
export interface EncryptedBatch {
  /** Number of real records (slots 0 … recordCount−1); the rest is zero padding. */
  readonly recordCount: number;
  /** One ciphertext per feature (and the label, if any, as the last column). */
  readonly columns: readonly Ciphertext[];
  /** SHA-256 over the record count and every column's serialized bytes, hex. */
  readonly contentHash: string;
}

/**
 * Encrypts quantised records column-major under the collective public key.
 * `columns[f][r]` is feature f of record r, already quantised.
 *
 * @throws {HeError} `HE_ERR_ENCODE` when columns differ in length, exceed the
 *   slot count, or hold values beyond ±2^quantBits.
 * @example
 * ```ts
 * const batch = encryptBatch(engine, pk, [Int32Array.of(1, -2), Int32Array.of(3, 4)]);
 * batch.recordCount; // 2
 * ```
 */
export function encryptBatch(engine: SealEngine, pk: PublicKey, columns: readonly Int32Array[]): EncryptedBatch {
  const params = engine.params;
  if (params.scheme !== 'bgv') throw new HeError(HeErrorCode.MISMATCH, 'cannot pack a fixed-point batch: not a BGV context');
  if (!Array.isArray(columns) || columns.length === 0) throw new TypeError('columns must be a non-empty array of Int32Array');
  const recordCount = columns[0].length;
  assertInt(recordCount, 'records', 1, params.slots);
  const limit = 2 ** params.quantBits;
  const cts: Ciphertext[] = [];
  const hash = createHash('sha256').update(`hedge-batch/v1/${params.name}/${recordCount}/${columns.length}\n`);
  using enc = engine.encryptor(pk);
  try {
    for (const col of columns) {
      if (!(col instanceof Int32Array)) throw new TypeError('every column must be an Int32Array');
      if (col.length !== recordCount) throw new HeError(HeErrorCode.ENCODE, 'cannot pack batch: columns differ in length');
      const values = new BigInt64Array(params.slots);
      for (let i = 0; i < recordCount; i++) {
        const v = col[i];
        if (v > limit || v < -limit) throw new HeError(HeErrorCode.ENCODE, `cannot pack batch: value ${v} beyond ±2^${params.quantBits}`);
        values[i] = BigInt(v);
      }
      using pt = engine.encodeIntegers(values);
      const ct = enc.encrypt(pt);
      cts.push(ct);
      hash.update(engine.save(ct));
    }
  } catch (e) {
    for (const ct of cts) ct[Symbol.dispose]();
    throw e;
  }
  return { recordCount, columns: cts, contentHash: hash.digest('hex') };
}
