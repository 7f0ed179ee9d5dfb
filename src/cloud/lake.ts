/**
 * The encrypted data lake (DESIGN §9): datasets and their batches. Batch bytes
 * are content-addressed blobs on the file system (blobs.ts); their metadata is
 * in SQL (PGlite in-process, or PostgreSQL).
 *
 * Ingestion is idempotent: a batch is identified by (dataset, plant, batch id);
 * the same bytes sent again are acknowledged and never counted twice, other
 * bytes under the same id are refused. A batch is validated before it is
 * accepted — bounded size, the uploading plant, the dataset's parameter set and
 * column layout, every ciphertext decoded — and the blob is written (and
 * fsynced) before its metadata row, so a crash leaves at worst an unreferenced
 * blob, never a row without its bytes.
 *
 * Retention: each dataset keeps batches for its retention period; expired
 * batches are deleted (blob and row) and the deletion recorded, so models
 * trained on them keep a lineage that says so. A plant can withdraw all of its
 * data at once.
 */
import type { SealEngine } from '../he/backend/seal.ts';
import { batchHash, openBatch, readBatchMeta, type BatchRef } from '../compute/batch.ts';
import { ComputeError } from '../compute/errors.ts';
import { columnLayout } from '../compute/layout.ts';
import { createSchema, type DatasetSchema } from '../models/schema.ts';
import type { SqlClient, SqlQueryable } from '../trust/storage/sql.ts';
import type { FileBlobStore } from './blobs.ts';
import { CLOUD_ERR, CloudError } from './errors.ts';

const DDL = [
  `CREATE TABLE IF NOT EXISTS cloud_dataset (
    id text PRIMARY KEY,
    owner text NOT NULL,
    federation text NOT NULL,
    params text NOT NULL,
    schema jsonb NOT NULL,
    retention_days integer NOT NULL CHECK (retention_days > 0),
    created_at timestamptz NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS cloud_batch (
    dataset text NOT NULL REFERENCES cloud_dataset (id),
    plant text NOT NULL,
    batch_id text NOT NULL,
    content_hash text NOT NULL,
    records integer NOT NULL,
    columns integer NOT NULL,
    params text NOT NULL,
    t_from timestamptz NOT NULL,
    t_to timestamptz NOT NULL,
    bytes bigint NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (dataset, plant, batch_id)
  )`,
  `CREATE INDEX IF NOT EXISTS cloud_batch_plant ON cloud_batch (plant)`,
  `CREATE TABLE IF NOT EXISTS cloud_batch_deletion (
    dataset text NOT NULL,
    plant text NOT NULL,
    batch_id text NOT NULL,
    content_hash text NOT NULL,
    records integer NOT NULL,
    reason text NOT NULL CHECK (reason IN ('retention', 'withdrawal')),
    deleted_at timestamptz NOT NULL
  )`,
  `CREATE INDEX IF NOT EXISTS cloud_batch_deletion_hash ON cloud_batch_deletion (content_hash)`,
];

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** A dataset as registered. */
export interface DatasetRecord {
  readonly id: string;
  /** The tenant (machine builder) that owns it. */
  readonly owner: string;
  /** The federation whose key holders' plants upload into it. */
  readonly federation: string;
  /** Parameter preset its batches are encrypted under. */
  readonly params: string;
  readonly schema: DatasetSchema;
  readonly retentionDays: number;
}

/** What ingestion answers. */
export interface IngestResult {
  /** `stored` the first time, `duplicate` when the same bytes came before (nothing changed). */
  readonly status: 'stored' | 'duplicate';
  readonly ref: BatchRef;
}

/** A batch that was deleted, and why. */
export interface BatchDeletion {
  readonly dataset: string;
  readonly plant: string;
  readonly batchId: string;
  readonly contentHash: string;
  readonly records: number;
  readonly reason: 'retention' | 'withdrawal';
  readonly deletedAt: string;
}

interface BatchRow {
  dataset: string;
  plant: string;
  batch_id: string;
  content_hash: string;
  records: number;
  columns: number;
  params: string;
  t_from: Date | string;
  t_to: Date | string;
}

const iso = (v: Date | string): string => new Date(v).toISOString();

function refOf(r: BatchRow): BatchRef {
  return {
    format: 'hedge.batch', version: 1, params: r.params, dataset: r.dataset, plant: r.plant, batchId: r.batch_id,
    from: iso(r.t_from), to: iso(r.t_to), recordCount: Number(r.records), columns: Number(r.columns), contentHash: r.content_hash,
  };
}

/** The lake: datasets, batches, retention. */
export class Lake {
  readonly #sql: SqlClient;
  readonly #blobs: FileBlobStore;
  readonly #now: () => Date;

  private constructor(sql: SqlClient, blobs: FileBlobStore, now: () => Date) {
    this.#sql = sql;
    this.#blobs = blobs;
    this.#now = now;
  }

  /**
   * Opens the lake on a database (creating its tables) and a blob store.
   *
   * @example
   * ```ts
   * const lake = await Lake.open({ sql: await openSql(), blobs: await FileBlobStore.open(dir) });
   * ```
   */
  static async open(options: { sql: SqlClient; blobs: FileBlobStore; now?: () => Date }): Promise<Lake> {
    await options.sql.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock(hashtext('hedge.cloud.lake'))");
      for (const s of DDL) await tx.query(s);
    });
    return new Lake(options.sql, options.blobs, options.now ?? (() => new Date()));
  }

  /**
   * Registers a dataset; registering the same definition again is a no-op.
   *
   * @throws {CloudError} `CLOUD_ERR_CONFLICT` when the id exists with another definition
   * @throws {TypeError|RangeError} for a malformed schema (src/models' checks) or id
   * @example
   * ```ts
   * await lake.createDataset({ id: 'ai4i', owner: 'builder', federation: 'ai4i', params: 'BGV_AGG_8192', schema, retentionDays: 365 });
   * ```
   */
  async createDataset(def: { id: string; owner: string; federation: string; params: string; schema: unknown; retentionDays: number }): Promise<DatasetRecord> {
    if (typeof def?.id !== 'string' || !ID.test(def.id)) throw new TypeError('dataset id must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}');
    if (typeof def.owner !== 'string' || !ID.test(def.owner)) throw new TypeError('owner must be a tenant id');
    if (typeof def.federation !== 'string' || !ID.test(def.federation)) throw new TypeError('federation must be a federation id');
    if (typeof def.params !== 'string' || def.params.length === 0) throw new TypeError('params must name a parameter preset');
    if (!Number.isInteger(def.retentionDays) || def.retentionDays < 1 || def.retentionDays > 36_500) throw new RangeError('retentionDays must be an integer in [1, 36500]');
    const schema = createSchema(def.schema);
    const record: DatasetRecord = Object.freeze({ id: def.id, owner: def.owner, federation: def.federation, params: def.params, schema, retentionDays: def.retentionDays });
    const existing = await this.dataset(def.id).catch(() => undefined);
    if (existing !== undefined) {
      if (JSON.stringify(existing) !== JSON.stringify(record)) throw new CloudError(CLOUD_ERR.CONFLICT, `cannot create dataset ${def.id}: it exists with another definition`);
      return existing;
    }
    await this.#sql.query(
      'INSERT INTO cloud_dataset (id, owner, federation, params, schema, retention_days, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING',
      [record.id, record.owner, record.federation, record.params, JSON.stringify(schema), record.retentionDays, this.#now()],
    );
    return this.dataset(def.id);
  }

  /**
   * A registered dataset.
   *
   * @throws {CloudError} `CLOUD_ERR_NOT_FOUND`
   */
  async dataset(id: string): Promise<DatasetRecord> {
    const rows = await this.#sql.query<{ id: string; owner: string; federation: string; params: string; schema: unknown; retention_days: number }>('SELECT id, owner, federation, params, schema, retention_days FROM cloud_dataset WHERE id = $1', [id]);
    if (rows.length === 0) throw new CloudError(CLOUD_ERR.NOT_FOUND, `cannot read dataset: no dataset ${JSON.stringify(id)}`);
    const r = rows[0];
    const schema = createSchema(typeof r.schema === 'string' ? JSON.parse(r.schema) : r.schema);
    return Object.freeze({ id: r.id, owner: r.owner, federation: r.federation, params: r.params, schema, retentionDays: Number(r.retention_days) });
  }

  /**
   * The largest batch a dataset accepts: its column count of fresh ciphertexts, plus the header.
   */
  static maxBatchBytes(engine: SealEngine, dataset: DatasetRecord): number {
    const columns = columnLayout(dataset.schema).length;
    const ciphertext = 20 + 113 + 2 * engine.dataPrimes * engine.n * 8;
    return 12 + 64 * 1024 + columns * (4 + ciphertext);
  }

  /**
   * Ingests one batch uploaded by `plant` (the authenticated tenant).
   *
   * @throws {CloudError} `CLOUD_ERR_BODY_TOO_LARGE` above {@link Lake.maxBatchBytes};
   *   `CLOUD_ERR_BATCH_REJECTED` for a malformed batch, another dataset, plant, parameter set or
   *   column layout; `CLOUD_ERR_CONFLICT` for a known batch id with other bytes;
   *   `CLOUD_ERR_NOT_FOUND` for an unknown dataset
   * @example
   * ```ts
   * const { status, ref } = await lake.ingest({ dataset: 'ai4i', plant: 'plant-L', bytes, engine });
   * ```
   */
  async ingest(input: { dataset: string; plant: string; bytes: Uint8Array; engine: SealEngine }): Promise<IngestResult> {
    const { plant, bytes, engine } = input;
    const op = `ingest batch into ${input.dataset}`;
    const dataset = await this.dataset(input.dataset);
    if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
    const max = Lake.maxBatchBytes(engine, dataset);
    if (bytes.length > max) throw new CloudError(CLOUD_ERR.BODY_TOO_LARGE, `cannot ${op}: ${bytes.length} bytes, a batch of this dataset has at most ${max}`);
    const reject = (reason: string, cause?: unknown): never => {
      throw new CloudError(CLOUD_ERR.BATCH_REJECTED, `cannot ${op}: ${reason}`, cause === undefined ? undefined : { cause });
    };
    let meta;
    try {
      meta = readBatchMeta(bytes);
    } catch (e) {
      return reject(e instanceof ComputeError ? e.message : 'not a hedge batch', e);
    }
    if (meta.dataset !== dataset.id) reject(`the batch is for dataset ${JSON.stringify(meta.dataset)}`);
    if (meta.plant !== plant) reject(`the batch names plant ${JSON.stringify(meta.plant)}, the upload comes from ${JSON.stringify(plant)}`);
    if (meta.params !== dataset.params || engine.params.name !== dataset.params) reject(`the batch is encrypted under ${meta.params}, the dataset uses ${dataset.params}`);
    const columns = columnLayout(dataset.schema).length;
    if (meta.columns !== columns) reject(`the batch has ${meta.columns} columns, the dataset's layout has ${columns}`);
    if (!ID.test(meta.batchId)) reject('the batch id must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}');
    const contentHash = batchHash(bytes);
    const known = await this.#row(this.#sql, dataset.id, plant, meta.batchId);
    if (known !== undefined) return this.#repeat(op, known, contentHash);
    try {
      const { columns: cts } = openBatch(engine, bytes, contentHash);
      for (const ct of cts) ct[Symbol.dispose]();
    } catch (e) {
      return reject(e instanceof ComputeError ? e.message : 'a ciphertext does not decode', e);
    }
    await this.#blobs.put(bytes);
    const inserted = await this.#sql.query(
      `INSERT INTO cloud_batch (dataset, plant, batch_id, content_hash, records, columns, params, t_from, t_to, bytes, received_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (dataset, plant, batch_id) DO NOTHING RETURNING batch_id`,
      [dataset.id, plant, meta.batchId, contentHash, meta.recordCount, meta.columns, meta.params, meta.from, meta.to, bytes.length, this.#now()],
    );
    if (inserted.length === 0) {
      // Another upload of the same id won the race.
      return this.#repeat(op, (await this.#row(this.#sql, dataset.id, plant, meta.batchId))!, contentHash);
    }
    return { status: 'stored', ref: { ...meta, contentHash } };
  }

  #repeat(op: string, known: BatchRow, contentHash: string): IngestResult {
    if (known.content_hash !== contentHash) {
      throw new CloudError(CLOUD_ERR.CONFLICT, `cannot ${op}: batch ${known.batch_id} of ${known.plant} was received before with other content`, {
        hint: 'a batch id names one batch forever; give new data a new id',
      });
    }
    return { status: 'duplicate', ref: refOf(known) };
  }

  async #row(q: SqlQueryable, dataset: string, plant: string, batchId: string): Promise<BatchRow | undefined> {
    const rows = await q.query<BatchRow>('SELECT * FROM cloud_batch WHERE dataset = $1 AND plant = $2 AND batch_id = $3', [dataset, plant, batchId]);
    return rows[0];
  }

  /** The batches of a dataset (optionally of one plant), ordered by plant then id. */
  async batches(dataset: string, plant?: string): Promise<BatchRef[]> {
    const rows = plant === undefined
      ? await this.#sql.query<BatchRow>('SELECT * FROM cloud_batch WHERE dataset = $1 ORDER BY plant, batch_id', [dataset])
      : await this.#sql.query<BatchRow>('SELECT * FROM cloud_batch WHERE dataset = $1 AND plant = $2 ORDER BY plant, batch_id', [dataset, plant]);
    return rows.map(refOf);
  }

  /** A batch's bytes (what a job's `load` reads). */
  load(ref: Pick<BatchRef, 'contentHash'>): Promise<Uint8Array> {
    return this.#blobs.get(ref.contentHash);
  }

  /**
   * Deletes the batches whose records are older than their dataset's retention period (blob and
   * row) and records each deletion.
   *
   * @example
   * ```ts
   * const deleted = await lake.expire(); // run daily
   * ```
   */
  async expire(): Promise<BatchDeletion[]> {
    const now = this.#now();
    const rows = await this.#sql.query<BatchRow>(
      `SELECT b.* FROM cloud_batch b JOIN cloud_dataset d ON d.id = b.dataset
       WHERE b.t_to < $1::timestamptz - make_interval(days => d.retention_days)`, [now],
    );
    return this.#delete(rows, 'retention', now);
  }

  /**
   * Deletes every batch a plant uploaded, in every dataset, and records each deletion.
   *
   * @example
   * ```ts
   * await lake.withdraw('plant-M');
   * ```
   */
  async withdraw(plant: string): Promise<BatchDeletion[]> {
    const rows = await this.#sql.query<BatchRow>('SELECT * FROM cloud_batch WHERE plant = $1', [plant]);
    return this.#delete(rows, 'withdrawal', this.#now());
  }

  async #delete(rows: readonly BatchRow[], reason: 'retention' | 'withdrawal', now: Date): Promise<BatchDeletion[]> {
    const out: BatchDeletion[] = [];
    for (const r of rows) {
      await this.#sql.transaction(async (tx) => {
        await tx.query('DELETE FROM cloud_batch WHERE dataset = $1 AND plant = $2 AND batch_id = $3', [r.dataset, r.plant, r.batch_id]);
        await tx.query(
          'INSERT INTO cloud_batch_deletion (dataset, plant, batch_id, content_hash, records, reason, deleted_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
          [r.dataset, r.plant, r.batch_id, r.content_hash, r.records, reason, now],
        );
      });
      // The row goes first: a crash here leaves an unreferenced blob, never a row without bytes.
      const stillUsed = await this.#sql.query('SELECT 1 FROM cloud_batch WHERE content_hash = $1 LIMIT 1', [r.content_hash]);
      if (stillUsed.length === 0) await this.#blobs.delete(r.content_hash);
      out.push({ dataset: r.dataset, plant: r.plant, batchId: r.batch_id, contentHash: r.content_hash, records: Number(r.records), reason, deletedAt: now.toISOString() });
    }
    return out;
  }

  /**
   * Which of these batch hashes were deleted, and why (for the lineage of models trained on them).
   */
  async deletionsOf(contentHashes: readonly string[]): Promise<BatchDeletion[]> {
    if (contentHashes.length === 0) return [];
    const rows = await this.#sql.query<{ dataset: string; plant: string; batch_id: string; content_hash: string; records: number; reason: 'retention' | 'withdrawal'; deleted_at: Date | string }>(
      'SELECT * FROM cloud_batch_deletion WHERE content_hash = ANY($1::text[]) ORDER BY deleted_at, batch_id', [contentHashes],
    );
    return rows.map((r) => ({ dataset: r.dataset, plant: r.plant, batchId: r.batch_id, contentHash: r.content_hash, records: Number(r.records), reason: r.reason, deletedAt: iso(r.deleted_at) }));
  }
}
