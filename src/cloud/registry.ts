/**
 * The model registry (DESIGN §7): model versions per model id, aliases, metrics, the artifact
 * bytes and the exact lineage of every version.
 *
 * A version is registered from a revealed job by the job's receiver (the machine builder, who
 * fitted the model from the revealed moments). The registry — not the caller — assigns the
 * version number (1, 2, … per model id) and writes the lineage from the job's pinned plan: the
 * job, the federation and dataset, the plants, the batch hashes, the record total, the features
 * and label, and the code version. It then writes the src/models JSON artifact (format
 * `hedge.model`, with that version and lineage and its `lineageDigest`), and optionally the ONNX
 * export, into the lake's content-addressed blob store. Registering the same model from the same
 * job again answers the existing version (a retry never makes a second one).
 *
 * Lineage stays true after the fact: when a batch a version was trained on is deleted later
 * (retention or a plant's withdrawal, {@link Lake.deletionsOf}), the version's `lineageStatus`
 * says which, when and why; the pinned lineage and its digest never change.
 *
 * Aliases (`production`, `staging`, …) point at a version; every move is recorded with who moved
 * it and from which version. Each registration and alias move is reported through `audit` as a
 * transparency-log `release` event (src/trust/events.ts).
 */
import type { Moments } from '../models/moments.ts';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { canonicalJson, modelFromArtifact, modelToArtifact, modelToOnnx, type ArtifactMeta, type Lineage, type Model } from '../models/index.ts';
import { checkEvent, type LogEvent } from '../trust/events.ts';
import { TrustError } from '../trust/errors.ts';
import type { SqlClient } from '../trust/storage/sql.ts';
import type { FileBlobStore } from './blobs.ts';
import { CLOUD_ERR, CloudError } from './errors.ts';
import type { JobRecord } from './jobs.ts';
import type { BatchDeletion, Lake } from './lake.ts';
import type { JobLineage } from './lineage.ts';

const DDL = [
  `CREATE TABLE IF NOT EXISTS cloud_model (
    id text PRIMARY KEY,
    owner text NOT NULL,
    created_at timestamptz NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS cloud_model_version (
    model text NOT NULL REFERENCES cloud_model (id),
    version integer NOT NULL CHECK (version > 0),
    job text NOT NULL,
    family text NOT NULL,
    content_key text NOT NULL,
    artifact text NOT NULL,
    artifact_bytes bigint NOT NULL,
    onnx text,
    onnx_bytes bigint,
    metrics jsonb NOT NULL,
    evaluation jsonb,
    lineage jsonb NOT NULL,
    lineage_digest text NOT NULL,
    registered_by text NOT NULL,
    registered_at timestamptz NOT NULL,
    PRIMARY KEY (model, version),
    UNIQUE (model, content_key)
  )`,
  `CREATE TABLE IF NOT EXISTS cloud_model_alias (
    model text NOT NULL REFERENCES cloud_model (id),
    alias text NOT NULL,
    version integer NOT NULL,
    moved_by text NOT NULL,
    moved_at timestamptz NOT NULL,
    PRIMARY KEY (model, alias)
  )`,
  `CREATE TABLE IF NOT EXISTS cloud_model_alias_move (
    seq bigserial PRIMARY KEY,
    model text NOT NULL,
    alias text NOT NULL,
    from_version integer,
    to_version integer NOT NULL,
    moved_by text NOT NULL,
    moved_at timestamptz NOT NULL
  )`,
];

/** Model ids are TUF target path parts (src/trust/tuf/repository.ts). */
const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const ALIAS = /^[a-z][a-z0-9_-]{0,31}$/;
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** The lineage the registry pins in every artifact (covered by its `lineageDigest`). */
export interface RegistryLineage extends Lineage {
  readonly jobId: string;
  readonly federation: string;
  readonly dataset: string;
  /** Plants whose batches went in, sorted. */
  readonly plants: readonly string[];
  /** Content hashes of the job's pinned batches, in plan order. */
  readonly batchHashes: readonly string[];
  readonly records: number;
  readonly features: readonly string[];
  readonly label: boolean;
  /** `hedge@<package version>` that registered it. */
  readonly code: string;
}

/** Whether the batches of a version's lineage still exist. */
export interface LineageStatus {
  /** True while no batch of the lineage has been deleted. */
  readonly intact: boolean;
  /** The lineage's batches deleted since, with why and when. */
  readonly deleted: readonly BatchDeletion[];
}

/** A stored blob (artifact or ONNX export). */
export interface StoredBlob {
  /** Hex SHA-256 of the bytes (their name in the blob store). */
  readonly sha256: string;
  readonly length: number;
}

/** A registered model version. */
export interface ModelVersion {
  readonly modelId: string;
  readonly version: number;
  /** The tenant that owns the model id (the first to register it). */
  readonly owner: string;
  readonly family: Model['family'];
  readonly jobId: string;
  /** Training metrics, computed from the moments. */
  readonly metrics: Readonly<Record<string, number>>;
  /** Metrics measured on rows (e.g. a plant's holdout), when given. */
  readonly evaluation?: Readonly<Record<string, number>>;
  readonly artifact: StoredBlob;
  readonly onnx?: StoredBlob;
  readonly lineage: RegistryLineage;
  /** `sha256:<hex>` of the lineage's canonical JSON (as in the artifact). */
  readonly lineageDigest: string;
  readonly lineageStatus: LineageStatus;
  readonly registeredBy: string;
  readonly registeredAt: string;
}

/** Where an alias points now. */
export interface AliasRecord {
  readonly modelId: string;
  readonly alias: string;
  readonly version: number;
  readonly movedBy: string;
  readonly movedAt: string;
}

/** One move of an alias (`from` is null when the alias was created). */
export interface AliasMove {
  readonly modelId: string;
  readonly alias: string;
  readonly from: number | null;
  readonly to: number;
  readonly movedBy: string;
  readonly movedAt: string;
}

/**
 * A registry change for the transparency log: a `release` event without its time (add
 * `time` and it is a {@link LogEvent}). Subject `model:<id>` for a registration,
 * `model:<id>@<alias>` for an alias move; the payload hash is the artifact's SHA-256.
 */
export type RegistryAudit = Omit<LogEvent, 'time' | 'kind' | 'details'> & {
  readonly kind: 'release';
  readonly details: { readonly model: string; readonly version: number };
};

/** Options of {@link Registry.open}. */
export interface RegistryOptions {
  readonly sql: SqlClient;
  /** The lake's blob store (artifacts are stored beside the batches, by hash). */
  readonly blobs: FileBlobStore;
  /** For the lineage status (which batches were deleted since). */
  readonly lake: Pick<Lake, 'deletionsOf'>;
  /** For the job a version is registered from. */
  readonly jobs: { get(id: string): Promise<JobRecord> };
  /** When given, each registration is reported as an OpenLineage `OTHER` event of the job's run. */
  readonly lineage?: Pick<JobLineage, 'modelRegistered'>;
  /** Recorded in every lineage; `hedge@<package.json version>` by default. */
  readonly codeVersion?: string;
  readonly now?: () => Date;
  readonly audit?: (e: RegistryAudit) => Promise<void>;
}

interface VersionRow {
  model: string;
  version: number;
  job: string;
  family: Model['family'];
  artifact: string;
  artifact_bytes: number | string;
  onnx: string | null;
  onnx_bytes: number | string | null;
  metrics: unknown;
  evaluation: unknown;
  lineage: unknown;
  lineage_digest: string;
  registered_by: string;
  registered_at: Date | string;
  owner: string;
}

const json = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;
const iso = (v: Date | string): string => new Date(v).toISOString();

/** The model registry. */
export class Registry {
  readonly #o: RegistryOptions;
  readonly #now: () => Date;
  readonly #audit: (e: RegistryAudit) => Promise<void>;
  readonly #code: string;

  private constructor(o: RegistryOptions, code: string) {
    this.#o = o;
    this.#now = o.now ?? (() => new Date());
    this.#audit = o.audit ?? (async () => {});
    this.#code = code;
  }

  /**
   * Opens the registry (creating its tables).
   *
   * @throws {TypeError} for a malformed `codeVersion`
   * @example
   * ```ts
   * const registry = await Registry.open({ sql, blobs, lake, jobs, lineage, audit: (e) => log.append([{ ...e, time: new Date().toISOString() }]) });
   * ```
   */
  static async open(options: RegistryOptions): Promise<Registry> {
    let code = options.codeVersion;
    if (code === undefined) {
      const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
      code = `hedge@${pkg.version}`;
    }
    if (typeof code !== 'string' || code.length === 0 || code.length > 128) throw new TypeError('codeVersion must be a non-empty string of at most 128 characters');
    await options.sql.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock(hashtext('hedge.cloud.registry'))");
      for (const s of DDL) await tx.query(s);
    });
    return new Registry(options, code);
  }

  /**
   * Registers a model fitted from a revealed job's moments as the model's next version (or
   * answers the existing version when this model from this job was registered before).
   *
   * @param input.model - the fitted model (a route reads an upload with `modelFromArtifact`)
   * @param input.evaluation - metrics measured on rows, stored beside the training metrics
   * @param input.onnx - also store the ONNX export
   * @param input.by - who registers (a user id), `input.tenant` their tenant
   * @throws {TypeError} for a malformed model id, model, or one the log could not name
   * @throws {CloudError} `CLOUD_ERR_NOT_FOUND` for an unknown job; `CLOUD_ERR_STATE` when the job
   *   is not revealed; `CLOUD_ERR_ACCESS_DENIED` when the tenant is not the job's receiver or the
   *   model id belongs to another tenant; `CLOUD_ERR_MODEL_REJECTED` when the model's features or
   *   label are not the job's
   * @throws {ModelsError} `MODELS_ERR_INVALID_ARTIFACT` when the model does not make a valid artifact
   * @example
   * ```ts
   * const v = await registry.register({ modelId: 'ai4i-failure', jobId: 'job-1', model, onnx: true, by: 'ana', tenant: 'builder' });
   * v.version; // 1, then 2, …
   * ```
   */
  async register(input: {
    modelId: string; jobId: string; model: Model; evaluation?: Readonly<Record<string, number>>; onnx?: boolean; by: string; tenant: string;
    /** The training moments to ship inside the artifact (the edge's reference for output controls and drift). */
    reference?: Moments;
  }): Promise<ModelVersion> {
    const { modelId, jobId, model, tenant, by } = input ?? ({} as typeof input);
    const op = `register model ${String(modelId)}`;
    if (typeof modelId !== 'string' || !MODEL_ID.test(modelId)) throw new TypeError(`cannot ${op}: modelId must match ${MODEL_ID}`);
    if (typeof by !== 'string' || by.length === 0 || typeof tenant !== 'string' || tenant.length === 0) throw new TypeError(`cannot ${op}: by and tenant must be non-empty strings`);
    if (typeof model !== 'object' || model === null || typeof model.schema !== 'object' || model.schema === null) throw new TypeError(`cannot ${op}: model must be a fitted model of src/models`);
    loggable({ kind: 'release', actor: by, tenant, subject: `model:${modelId}`, payloadHash: '0'.repeat(64), details: { model: modelId, version: 1 } }, op);

    // Reads first: PGlite has one connection, held by the transaction below.
    const job = await this.#o.jobs.get(jobId);
    if (job.state !== 'revealed') throw new CloudError(CLOUD_ERR.STATE, `cannot ${op}: job ${jobId} is ${job.state}, a model comes from a revealed job`);
    if (job.requestedBy !== tenant) throw new CloudError(CLOUD_ERR.ACCESS_DENIED, `cannot ${op}: job ${jobId}'s result is ${job.requestedBy}'s`);
    const features = model.schema.features?.map((f) => f.name) ?? [];
    const spec = job.plan.spec;
    if (canonicalJson(features) !== canonicalJson(spec.features) || (model.schema.label !== undefined) !== spec.label) {
      throw new CloudError(CLOUD_ERR.MODEL_REJECTED, `cannot ${op}: the model has features [${features.join(', ')}]${model.schema.label === undefined ? '' : ' and a label'}, job ${jobId} computed [${spec.features.join(', ')}]${spec.label ? ' and the label' : ''}`);
    }
    const lineage: RegistryLineage = {
      jobId, federation: job.federation, dataset: job.dataset, plants: [...job.plan.plants].sort(),
      batchHashes: job.plan.batches.map((b) => b.contentHash), records: job.plan.records,
      features: [...spec.features], label: spec.label, code: this.#code,
    };
    const meta = (version: number): ArtifactMeta => ({
      modelId, modelVersion: version, lineage,
      ...(input.evaluation === undefined ? {} : { evaluation: input.evaluation }), ...(input.reference === undefined ? {} : { reference: input.reference }),
    });
    // Version 1's artifact names the content independent of the number the registry assigns.
    const contentKey = sha256(new TextEncoder().encode(canonicalJson(modelToArtifact(model, meta(1)))));
    const known = await this.#o.sql.query<{ version: number }>('SELECT version FROM cloud_model_version WHERE model = $1 AND content_key = $2', [modelId, contentKey]);
    if (known.length > 0) {
      await this.#assertOwner(op, modelId, tenant);
      return this.version(modelId, Number(known[0].version));
    }

    const created = await this.#o.sql.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`hedge.cloud.registry/${modelId}`]);
      const owner = await tx.query<{ owner: string }>('SELECT owner FROM cloud_model WHERE id = $1', [modelId]);
      if (owner.length > 0 && owner[0].owner !== tenant) throw new CloudError(CLOUD_ERR.ACCESS_DENIED, `cannot ${op}: the model id belongs to ${owner[0].owner}`);
      const again = await tx.query<{ version: number }>('SELECT version FROM cloud_model_version WHERE model = $1 AND content_key = $2', [modelId, contentKey]);
      if (again.length > 0) return { version: Number(again[0].version), fresh: false, artifact: '' };
      const next = Number((await tx.query<{ v: number | null }>('SELECT MAX(version) AS v FROM cloud_model_version WHERE model = $1', [modelId]))[0].v ?? 0) + 1;
      const artifact = modelToArtifact(model, meta(next));
      const bytes = new TextEncoder().encode(JSON.stringify(artifact));
      modelFromArtifact(JSON.parse(new TextDecoder().decode(bytes))); // what the edge will read must read back
      const onnx = input.onnx === true ? modelToOnnx(model, meta(next)) : undefined;
      // Blobs before rows: a rollback leaves at worst an unreferenced blob, never a row without bytes.
      const artifactHash = await this.#o.blobs.put(bytes);
      const onnxHash = onnx === undefined ? null : await this.#o.blobs.put(onnx);
      const now = this.#now();
      await tx.query('INSERT INTO cloud_model (id, owner, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING', [modelId, tenant, now]);
      await tx.query(
        `INSERT INTO cloud_model_version (model, version, job, family, content_key, artifact, artifact_bytes, onnx, onnx_bytes, metrics, evaluation, lineage, lineage_digest, registered_by, registered_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
        [modelId, next, jobId, model.family, contentKey, artifactHash, bytes.length, onnxHash, onnx?.length ?? null,
          JSON.stringify(artifact.metrics), input.evaluation === undefined ? null : JSON.stringify(input.evaluation), JSON.stringify(lineage), artifact.lineageDigest, by, now],
      );
      return { version: next, fresh: true, artifact: artifactHash };
    });
    const record = await this.version(modelId, created.version);
    if (created.fresh) {
      await this.#audit({ kind: 'release', actor: by, tenant, subject: `model:${modelId}`, payloadHash: created.artifact, details: { model: modelId, version: created.version } });
      await this.#o.lineage?.modelRegistered(job, { modelId, version: record.version, family: record.family, artifactSha256: record.artifact.sha256, lineageDigest: record.lineageDigest });
    }
    return record;
  }

  async #assertOwner(op: string, modelId: string, tenant: string): Promise<void> {
    const owner = (await this.#o.sql.query<{ owner: string }>('SELECT owner FROM cloud_model WHERE id = $1', [modelId]))[0]?.owner;
    if (owner === undefined) throw new CloudError(CLOUD_ERR.NOT_FOUND, `cannot ${op}: no model ${JSON.stringify(modelId)}`);
    if (owner !== tenant) throw new CloudError(CLOUD_ERR.ACCESS_DENIED, `cannot ${op}: the model id belongs to ${owner}`);
  }

  /**
   * One version, with its lineage status (batches deleted since).
   *
   * @throws {CloudError} `CLOUD_ERR_NOT_FOUND`
   * @example
   * ```ts
   * const v = await registry.version('ai4i-failure', 2);
   * if (!v.lineageStatus.intact) console.log(v.lineageStatus.deleted.map((d) => d.reason));
   * ```
   */
  async version(modelId: string, version: number): Promise<ModelVersion> {
    const rows = await this.#o.sql.query<VersionRow>(
      'SELECT v.*, m.owner FROM cloud_model_version v JOIN cloud_model m ON m.id = v.model WHERE v.model = $1 AND v.version = $2', [modelId, Number.isInteger(version) ? version : -1],
    );
    if (rows.length === 0) throw new CloudError(CLOUD_ERR.NOT_FOUND, `cannot read model version: no ${JSON.stringify(modelId)} version ${String(version)}`);
    return this.#record(rows[0]);
  }

  /**
   * Every version of a model, oldest first.
   *
   * @throws {CloudError} `CLOUD_ERR_NOT_FOUND` for an unknown model id
   * @example
   * ```ts
   * const versions = await registry.versions('ai4i-failure');
   * ```
   */
  async versions(modelId: string): Promise<ModelVersion[]> {
    const rows = await this.#o.sql.query<VersionRow>(
      'SELECT v.*, m.owner FROM cloud_model_version v JOIN cloud_model m ON m.id = v.model WHERE v.model = $1 ORDER BY v.version', [modelId],
    );
    if (rows.length === 0) throw new CloudError(CLOUD_ERR.NOT_FOUND, `cannot list model versions: no model ${JSON.stringify(modelId)}`);
    return Promise.all(rows.map((r) => this.#record(r)));
  }

  /**
   * The model ids, optionally of one owner, sorted.
   *
   * @throws {Error} database errors
   * @example
   * ```ts
   * await registry.models('builder'); // ['ai4i-anomaly', 'ai4i-failure']
   * ```
   */
  async models(owner?: string): Promise<{ modelId: string; owner: string }[]> {
    const rows = owner === undefined
      ? await this.#o.sql.query<{ id: string; owner: string }>('SELECT id, owner FROM cloud_model ORDER BY id')
      : await this.#o.sql.query<{ id: string; owner: string }>('SELECT id, owner FROM cloud_model WHERE owner = $1 ORDER BY id', [owner]);
    return rows.map((r) => ({ modelId: r.id, owner: r.owner }));
  }

  /**
   * The JSON artifact bytes of a version (what the edge loads).
   *
   * @throws {CloudError} `CLOUD_ERR_NOT_FOUND`
   * @example
   * ```ts
   * const { model } = modelFromArtifact(JSON.parse(new TextDecoder().decode(await registry.artifact('ai4i-failure', 1))));
   * ```
   */
  async artifact(modelId: string, version: number): Promise<Uint8Array> {
    return this.#o.blobs.get((await this.version(modelId, version)).artifact.sha256);
  }

  /**
   * The ONNX export of a version.
   *
   * @throws {CloudError} `CLOUD_ERR_NOT_FOUND` for an unknown version or one registered without ONNX
   * @example
   * ```ts
   * const bytes = await registry.onnx('ai4i-failure', 1);
   * ```
   */
  async onnx(modelId: string, version: number): Promise<Uint8Array> {
    const v = await this.version(modelId, version);
    if (v.onnx === undefined) throw new CloudError(CLOUD_ERR.NOT_FOUND, `cannot read ONNX export: ${modelId} version ${version} was registered without one`);
    return this.#o.blobs.get(v.onnx.sha256);
  }

  /**
   * Points an alias at a version (creating or moving it); the move is recorded and audited.
   * Pointing it where it already points changes nothing.
   *
   * @throws {TypeError} for a malformed alias (`[a-z][a-z0-9_-]{0,31}`)
   * @throws {CloudError} `CLOUD_ERR_NOT_FOUND` for an unknown version; `CLOUD_ERR_ACCESS_DENIED`
   *   for a tenant that does not own the model
   * @example
   * ```ts
   * await registry.setAlias('ai4i-failure', 'production', 2, 'ana', 'builder');
   * ```
   */
  async setAlias(modelId: string, alias: string, version: number, by: string, tenant: string): Promise<AliasRecord> {
    const op = `move alias ${String(alias)} of ${String(modelId)}`;
    if (typeof alias !== 'string' || !ALIAS.test(alias)) throw new TypeError(`cannot ${op}: alias must match ${ALIAS}`);
    if (typeof by !== 'string' || by.length === 0) throw new TypeError(`cannot ${op}: by must be a non-empty string`);
    const target = await this.version(modelId, version);
    if (target.owner !== tenant) throw new CloudError(CLOUD_ERR.ACCESS_DENIED, `cannot ${op}: the model belongs to ${target.owner}`);
    const event: RegistryAudit = { kind: 'release', actor: by, tenant, subject: `model:${modelId}@${alias}`, payloadHash: target.artifact.sha256, details: { model: modelId, version } };
    loggable(event, op);
    const moved = await this.#o.sql.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`hedge.cloud.registry/${modelId}`]);
      const current = (await tx.query<{ version: number }>('SELECT version FROM cloud_model_alias WHERE model = $1 AND alias = $2', [modelId, alias]))[0];
      if (current !== undefined && Number(current.version) === version) return false;
      const now = this.#now();
      await tx.query(
        `INSERT INTO cloud_model_alias (model, alias, version, moved_by, moved_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (model, alias) DO UPDATE SET version = EXCLUDED.version, moved_by = EXCLUDED.moved_by, moved_at = EXCLUDED.moved_at`,
        [modelId, alias, version, by, now],
      );
      await tx.query('INSERT INTO cloud_model_alias_move (model, alias, from_version, to_version, moved_by, moved_at) VALUES ($1, $2, $3, $4, $5, $6)',
        [modelId, alias, current === undefined ? null : Number(current.version), version, by, now]);
      return true;
    });
    if (moved) await this.#audit(event);
    return (await this.aliases(modelId)).find((a) => a.alias === alias)!;
  }

  /**
   * The version an alias points at.
   *
   * @throws {CloudError} `CLOUD_ERR_NOT_FOUND` for an unknown model or alias
   * @example
   * ```ts
   * const prod = await registry.resolve('ai4i-failure', 'production');
   * ```
   */
  async resolve(modelId: string, alias: string): Promise<ModelVersion> {
    const rows = await this.#o.sql.query<{ version: number }>('SELECT version FROM cloud_model_alias WHERE model = $1 AND alias = $2', [modelId, alias]);
    if (rows.length === 0) throw new CloudError(CLOUD_ERR.NOT_FOUND, `cannot resolve alias: ${JSON.stringify(modelId)} has no alias ${JSON.stringify(alias)}`);
    return this.version(modelId, Number(rows[0].version));
  }

  /**
   * A model's aliases, sorted by name.
   *
   * @throws {Error} database errors
   * @example
   * ```ts
   * await registry.aliases('ai4i-failure'); // [{ alias: 'production', version: 2, … }]
   * ```
   */
  async aliases(modelId: string): Promise<AliasRecord[]> {
    const rows = await this.#o.sql.query<{ alias: string; version: number; moved_by: string; moved_at: Date | string }>(
      'SELECT alias, version, moved_by, moved_at FROM cloud_model_alias WHERE model = $1 ORDER BY alias', [modelId],
    );
    return rows.map((r) => ({ modelId, alias: r.alias, version: Number(r.version), movedBy: r.moved_by, movedAt: iso(r.moved_at) }));
  }

  /**
   * Every recorded move of a model's aliases (optionally of one), oldest first.
   *
   * @throws {Error} database errors
   * @example
   * ```ts
   * await registry.aliasHistory('ai4i-failure', 'production'); // [{ from: null, to: 1 }, { from: 1, to: 2 }]
   * ```
   */
  async aliasHistory(modelId: string, alias?: string): Promise<AliasMove[]> {
    const rows = await this.#o.sql.query<{ alias: string; from_version: number | null; to_version: number; moved_by: string; moved_at: Date | string }>(
      `SELECT alias, from_version, to_version, moved_by, moved_at FROM cloud_model_alias_move WHERE model = $1 ${alias === undefined ? '' : 'AND alias = $2'} ORDER BY seq`,
      alias === undefined ? [modelId] : [modelId, alias],
    );
    return rows.map((r) => ({
      modelId, alias: r.alias, from: r.from_version === null ? null : Number(r.from_version), to: Number(r.to_version), movedBy: r.moved_by, movedAt: iso(r.moved_at),
    }));
  }

  async #record(r: VersionRow): Promise<ModelVersion> {
    const lineage = json<RegistryLineage>(r.lineage);
    const deleted = await this.#o.lake.deletionsOf(lineage.batchHashes);
    const evaluation = r.evaluation === null ? undefined : json<Record<string, number>>(r.evaluation);
    return Object.freeze({
      modelId: r.model, version: Number(r.version), owner: r.owner, family: r.family, jobId: r.job,
      metrics: json<Record<string, number>>(r.metrics), ...(evaluation === undefined ? {} : { evaluation }),
      artifact: { sha256: r.artifact, length: Number(r.artifact_bytes) },
      ...(r.onnx === null ? {} : { onnx: { sha256: r.onnx, length: Number(r.onnx_bytes) } }),
      lineage, lineageDigest: r.lineage_digest,
      lineageStatus: { intact: deleted.length === 0, deleted },
      registeredBy: r.registered_by, registeredAt: iso(r.registered_at),
    });
  }
}

/** Refuses, before any change, what the transparency log could not record (e.g. an id that reads as key material). */
function loggable(event: Omit<LogEvent, 'time'>, op: string): void {
  try {
    checkEvent({ ...event, time: new Date(0).toISOString() });
  } catch (e) {
    if (e instanceof TrustError) throw new TypeError(`cannot ${op}: ${e.message.replace(/^cannot record event: /, '')}`, { cause: e });
    throw e;
  }
}
