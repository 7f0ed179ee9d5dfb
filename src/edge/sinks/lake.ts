/**
 * A {@link BatchSink} over an in-process lake (`src/cloud/lake.ts`'s `Lake`), for `hedge demo` and
 * tests: the gateway and the cloud in one process, no network. `src/edge` never imports
 * `src/cloud` (DESIGN.md §10), so the lake is taken by its shape ({@link LakeLike}) and its
 * errors by their stable `code`.
 * @module
 */
import type { SealEngine } from '../../he/backend/seal.ts';
import { aFunction, aObject } from '../assert.ts';
import { EDGE_ERR, EdgeError } from '../errors.ts';
import type { BatchSink } from '../uploader.ts';

/** What the sink needs of a lake: `Lake.ingest`. */
export interface LakeLike {
  ingest(input: { dataset: string; plant: string; bytes: Uint8Array; engine: SealEngine }): Promise<{ status: 'stored' | 'duplicate' }>;
}

/** Lake error codes that refuse a batch for good (the rest may pass: a missing dataset, storage). */
const REJECTED = new Set(['CLOUD_ERR_BATCH_REJECTED', 'CLOUD_ERR_BODY_TOO_LARGE', 'CLOUD_ERR_VALIDATION']);

/**
 * Uploads into a lake in the same process, as the plant's tenant `plant`.
 *
 * @example
 * ```ts
 * const uploader = new Uploader({ outbox, sink: new LakeSink({ lake, engine }) });
 * ```
 */
export class LakeSink implements BatchSink {
  readonly #lake: LakeLike;
  readonly #engine: SealEngine;

  /**
   * @throws EdgeTypeError if `lake` has no `ingest` or `engine` is not an object
   * @example
   * ```ts
   * new LakeSink({ lake: await Lake.open({ sql, blobs }), engine });
   * ```
   */
  constructor(options: { lake: LakeLike; engine: SealEngine }) {
    const op = 'create lake sink';
    aObject(op, 'options', options);
    aObject(op, 'options.lake', options.lake);
    aFunction(op, 'options.lake.ingest', options.lake.ingest);
    aObject(op, 'options.engine', options.engine);
    this.#lake = options.lake;
    this.#engine = options.engine;
  }

  /**
   * Ingests the batch; `CLOUD_ERR_CONFLICT` becomes `EDGE_ERR_UPLOAD_CONFLICT`, a rejected batch
   * `EDGE_ERR_UPLOAD_REJECTED`, anything else `EDGE_ERR_UPLOAD` (retried).
   * @throws EdgeError as above, with the lake's error as `cause`
   * @example
   * ```ts
   * await sink.upload('ai4i', 'plant-a', bytes); // 'stored' | 'duplicate'
   * ```
   */
  async upload(dataset: string, plant: string, bytes: Uint8Array): Promise<'stored' | 'duplicate'> {
    const op = `cannot upload batch to ${dataset}`;
    try {
      return (await this.#lake.ingest({ dataset, plant, bytes, engine: this.#engine })).status;
    } catch (e) {
      const code = (e as { code?: unknown })?.code;
      const reason = `${op}: ${(e as Error)?.message ?? String(e)}`;
      if (code === 'CLOUD_ERR_CONFLICT') throw new EdgeError(EDGE_ERR.UPLOAD_CONFLICT, reason, { cause: e });
      if (typeof code === 'string' && REJECTED.has(code)) throw new EdgeError(EDGE_ERR.UPLOAD_REJECTED, reason, { cause: e });
      throw new EdgeError(EDGE_ERR.UPLOAD, reason, { cause: e });
    }
  }
}
