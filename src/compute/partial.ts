/**
 * A partial aggregate as bytes, for workers on other machines: the relinearized
 * accumulators of one share of a job's batches, in plan order. Partials add
 * associatively ({@link mergeAccumulators}), so a coordinator merges whatever
 * partition of the batches the workers computed and gets the single-process
 * result.
 *
 * Layout (little-endian): "HDP1" | u32 statistic count | per statistic: u32
 * length | ciphertext wire bytes (src/he/wire.ts, parameter fingerprint included).
 */
import type { Ciphertext, SealEngine } from '../he/backend/seal.ts';
import { CiphertextCodec } from '../he/wire.ts';
import { ComputeError, ComputeErrorCode } from './errors.ts';

const MAGIC = [0x48, 0x44, 0x50, 0x31]; // "HDP1"

/**
 * Encodes finished accumulators.
 *
 * @example
 * ```ts
 * const bytes = encodePartial(engine, await aggregateJob(engine, subPlan, options));
 * ```
 */
export function encodePartial(engine: SealEngine, accumulators: readonly Ciphertext[]): Uint8Array {
  const parts = accumulators.map((ct) => CiphertextCodec.toBytes(engine, ct));
  const out = new Uint8Array(8 + parts.reduce((a, p) => a + 4 + p.length, 0));
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint32(4, parts.length, true);
  let at = 8;
  for (const p of parts) {
    view.setUint32(at, p.length, true);
    out.set(p, at + 4);
    at += 4 + p.length;
  }
  return out;
}

/**
 * Decodes a partial aggregate of `expected` statistics (the caller disposes the ciphertexts).
 *
 * @throws {ComputeError} `COMPUTE_ERR_WORKER` for malformed bytes, another statistic count, or a
 *   ciphertext that does not decode under the engine's parameters.
 */
export function decodePartial(engine: SealEngine, bytes: Uint8Array, expected: number): Ciphertext[] {
  const fail = (reason: string, cause?: unknown): never => {
    throw new ComputeError(ComputeErrorCode.WORKER, `cannot read partial aggregate: ${reason}`, cause === undefined ? undefined : { cause });
  };
  if (!(bytes instanceof Uint8Array) || bytes.length < 8 || !MAGIC.every((b, i) => bytes[i] === b)) fail('not a hedge partial aggregate');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const count = view.getUint32(4, true);
  if (count !== expected) fail(`${count} statistics, the plan has ${expected}`);
  const out: Ciphertext[] = [];
  try {
    let at = 8;
    for (let i = 0; i < count; i++) {
      if (at + 4 > bytes.length) fail(`statistic ${i} is truncated`);
      const length = view.getUint32(at, true);
      if (at + 4 + length > bytes.length) fail(`statistic ${i} is truncated`);
      out.push(CiphertextCodec.fromBytes(engine, bytes.subarray(at + 4, at + 4 + length)));
      at += 4 + length;
    }
    if (at !== bytes.length) fail(`${bytes.length - at} trailing bytes`);
  } catch (e) {
    for (const ct of out) ct[Symbol.dispose]();
    if (e instanceof ComputeError) throw e;
    return fail('a statistic does not decode', e);
  }
  return out;
}
