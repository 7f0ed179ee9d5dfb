/**
 * A federation with plants holding encrypted batches in memory (a stand-in
 * lake), for the compute tests. Exports only.
 */
import { federation, type Federation } from '../he/fixture.ts';
import { RelinKeysCodec } from '../../src/he/wire.ts';
import { sealBatch, type BatchRef } from '../../src/compute/batch.ts';
import type { DatasetSchema, QuantisedDataset } from '../../src/models/schema.ts';

export interface Lake {
  refs: BatchRef[];
  blobs: Map<string, Uint8Array>;
  load: (ref: BatchRef) => Promise<Uint8Array>;
}

export interface ComputeFixture extends Federation {
  relinKeys: Uint8Array;
}

/** Keys for `n` parties with relinearization keys, at the insecure test size. */
export async function computeFederation(n: number, preset = 'TEST_INSECURE_BGV_2048'): Promise<ComputeFixture> {
  const f = await federation(preset, n, { relin: true });
  return { ...f, relinKeys: RelinKeysCodec.toBytes(f.engine, f.rk!) };
}

/**
 * Encrypts each plant's records into batches of at most `perBatch` records,
 * one day per batch starting 2026-01-01.
 */
export function fillLake(f: ComputeFixture, schema: DatasetSchema, plants: ReadonlyMap<string, QuantisedDataset>, perBatch: number, dataset = 'test'): Lake {
  const refs: BatchRef[] = [];
  const blobs = new Map<string, Uint8Array>();
  for (const [plant, data] of plants) {
    for (let start = 0, i = 0; start < data.x.length; start += perBatch, i++) {
      const count = Math.min(perBatch, data.x.length - start);
      const day = new Date(Date.UTC(2026, 0, 1 + i));
      const { ref, bytes } = sealBatch(f.engine, f.pk, schema, data, start, count, {
        dataset, plant, batchId: `${plant}-${i}`, from: day.toISOString(), to: new Date(day.getTime() + 86_399_000).toISOString(),
      });
      refs.push(ref);
      blobs.set(ref.contentHash, bytes);
    }
  }
  return { refs, blobs, load: async (ref) => blobs.get(ref.contentHash)! };
}

/** Rows of `data` with index in [start, end). */
export function slice(data: QuantisedDataset, start: number, end: number): QuantisedDataset {
  return data.y === undefined ? { x: data.x.slice(start, end) } : { x: data.x.slice(start, end), y: data.y.slice(start, end) };
}
