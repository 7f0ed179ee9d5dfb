/**
 * Releasing registered model versions to fleets (DESIGN §7): the artifact of a registry version
 * is signed and published through the TUF repository of src/trust — one delegated targets role
 * per fleet, a fleet being a plant tenant — and every publication is a deployment record: which
 * version went to which fleet, when, by whom, under which TUF target path and SHA-256.
 *
 * Versions only go forward: publishing a version below the one a fleet already has is refused
 * with `CLOUD_ERR_ROLLBACK_REFUSED` (the records say so before TUF is touched; should the TUF
 * publisher still refuse, the same code surfaces with its error as the cause). Releasing a version
 * a fleet already has is answered with its existing record (a retry publishes nothing twice). A
 * release to several fleets is checked for every fleet before any is published.
 *
 * Publications and timestamp refreshes are serialised in this process (the TUF repository keeps
 * its state in memory and writes its files in place). Each deployment is reported through
 * `audit` as a transparency-log `deployment` event (src/trust/events.ts).
 */
import { checkEvent, type LogEvent } from '../trust/events.ts';
import { TrustError } from '../trust/errors.ts';
import type { SqlClient } from '../trust/storage/sql.ts';
import type { TufRepository, TufSigningKey } from '../trust/tuf/repository.ts';
import { CLOUD_ERR, CloudError } from './errors.ts';
import type { Registry } from './registry.ts';

const DDL = [
  `CREATE TABLE IF NOT EXISTS cloud_deployment (
    fleet text NOT NULL,
    model text NOT NULL,
    version integer NOT NULL CHECK (version > 0),
    target text NOT NULL,
    sha256 text NOT NULL,
    length bigint NOT NULL,
    lineage_digest text NOT NULL,
    released_by text NOT NULL,
    tenant text NOT NULL,
    released_at timestamptz NOT NULL,
    PRIMARY KEY (fleet, model, version)
  )`,
  'CREATE INDEX IF NOT EXISTS cloud_deployment_model ON cloud_deployment (model, version)',
];

/** Fleet ids are TUF role names (`fleet-<id>`, src/trust/tuf/repository.ts). */
const FLEET = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** One version published to one fleet. */
export interface DeploymentRecord {
  readonly fleet: string;
  readonly modelId: string;
  readonly version: number;
  /** TUF target path, `fleets/<fleet>/<model>/v<version>`. */
  readonly target: string;
  /** Hex SHA-256 of the artifact, as the fleet's signed targets metadata lists it. */
  readonly sha256: string;
  readonly length: number;
  /** `sha256:<hex>` lineage digest of the version. */
  readonly lineageDigest: string;
  readonly releasedBy: string;
  /** The tenant that released it (the model's owner). */
  readonly tenant: string;
  readonly releasedAt: string;
}

/**
 * A deployment for the transparency log: a `deployment` event without its time (add `time` and
 * it is a {@link LogEvent}); subject `model:<id>`, payload hash the artifact's SHA-256.
 */
export type ReleaseAudit = Omit<LogEvent, 'time' | 'kind' | 'details'> & {
  readonly kind: 'deployment';
  readonly details: { readonly model: string; readonly version: number; readonly fleet: string };
};

/** Options of {@link Release.open}. */
export interface ReleaseOptions {
  readonly sql: SqlClient;
  readonly registry: Pick<Registry, 'version' | 'artifact'>;
  /** The TUF repository gateways fetch from (src/trust/tuf/repository.ts). */
  readonly repo: TufRepository;
  readonly now?: () => Date;
  readonly audit?: (e: ReleaseAudit) => Promise<void>;
}

interface Row {
  fleet: string;
  model: string;
  version: number;
  target: string;
  sha256: string;
  length: number | string;
  lineage_digest: string;
  released_by: string;
  tenant: string;
  released_at: Date | string;
}

const recordOf = (r: Row): DeploymentRecord => Object.freeze({
  fleet: r.fleet, modelId: r.model, version: Number(r.version), target: r.target, sha256: r.sha256, length: Number(r.length),
  lineageDigest: r.lineage_digest, releasedBy: r.released_by, tenant: r.tenant, releasedAt: new Date(r.released_at).toISOString(),
});

/** Release of model versions to fleets through TUF. */
export class Release {
  readonly #o: ReleaseOptions;
  readonly #now: () => Date;
  readonly #audit: (e: ReleaseAudit) => Promise<void>;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(o: ReleaseOptions) {
    this.#o = o;
    this.#now = o.now ?? (() => new Date());
    this.#audit = o.audit ?? (async () => {});
  }

  /**
   * Opens the release service (creating its table).
   *
   * @throws {TypeError} when `repo` is not a TUF repository
   * @example
   * ```ts
   * const release = await Release.open({ sql, registry, repo: await TufRepository.create({ dir, keys }), audit });
   * ```
   */
  static async open(options: ReleaseOptions): Promise<Release> {
    if (typeof options?.repo?.publishModel !== 'function') throw new TypeError('repo must be a TufRepository');
    await options.sql.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock(hashtext('hedge.cloud.release'))");
      for (const s of DDL) await tx.query(s);
    });
    return new Release(options);
  }

  /** Runs `fn` after every earlier publication or refresh of this instance has finished. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Adds a fleet: a delegated TUF targets role `fleet-<fleet>` for paths `fleets/<fleet>/…`,
   * signed by the fleet's keys (so one fleet's key cannot sign another's models).
   *
   * @throws {TypeError|RangeError} for a malformed fleet id, keys or threshold
   * @throws {CloudError} `CLOUD_ERR_CONFLICT` when the fleet exists
   * @example
   * ```ts
   * await release.addFleet('plant-a', [generateTufKey()]);
   * ```
   */
  addFleet(fleet: string, keys: readonly TufSigningKey[], threshold = 1): Promise<void> {
    if (typeof fleet !== 'string' || !FLEET.test(fleet)) return Promise.reject(new TypeError(`cannot add fleet: fleet must match ${FLEET}`));
    return this.#serial(async () => {
      if (Object.hasOwn(this.#o.repo.versions.fleets, fleet)) throw new CloudError(CLOUD_ERR.CONFLICT, `cannot add fleet ${fleet}: it exists`);
      await this.#o.repo.addFleet(fleet, keys, threshold);
    });
  }

  /**
   * The fleets the TUF repository delegates to, sorted.
   *
   * @throws never
   * @example
   * ```ts
   * release.fleets(); // ['plant-a', 'plant-b']
   * ```
   */
  fleets(): string[] {
    return Object.keys(this.#o.repo.versions.fleets).sort();
  }

  /**
   * Publishes a registered version to fleets and records each deployment. Every fleet is
   * checked before any is published; a fleet that already has this version gets its existing
   * record back. Returns one record per requested fleet, in the order asked.
   *
   * @throws {TypeError} for a malformed model id, version, fleet list or actor (one the
   *   transparency log could not record included)
   * @throws {CloudError} `CLOUD_ERR_NOT_FOUND` for an unknown version or fleet;
   *   `CLOUD_ERR_ACCESS_DENIED` when the tenant does not own the model;
   *   `CLOUD_ERR_ROLLBACK_REFUSED` when a fleet has a newer version of the model
   * @example
   * ```ts
   * const prod = await registry.resolve('ai4i-failure', 'production');
   * await release.release({ modelId: prod.modelId, version: prod.version, fleets: ['plant-a', 'plant-b'], by: 'ana', tenant: 'builder' });
   * ```
   */
  release(input: { modelId: string; version: number; fleets: readonly string[]; by: string; tenant: string }): Promise<DeploymentRecord[]> {
    const { modelId, version, fleets, by, tenant } = input ?? ({} as typeof input);
    const op = `release ${String(modelId)} version ${String(version)}`;
    if (typeof modelId !== 'string' || modelId.length === 0) return Promise.reject(new TypeError(`cannot ${op}: modelId must be a non-empty string`));
    if (!Number.isSafeInteger(version) || version < 1) return Promise.reject(new TypeError(`cannot ${op}: version must be a positive integer`));
    if (!Array.isArray(fleets) || fleets.length === 0 || fleets.some((f) => typeof f !== 'string' || !FLEET.test(f)) || new Set(fleets).size !== fleets.length) {
      return Promise.reject(new TypeError(`cannot ${op}: fleets must be distinct fleet ids, at least one`));
    }
    if (typeof by !== 'string' || by.length === 0 || typeof tenant !== 'string' || tenant.length === 0) return Promise.reject(new TypeError(`cannot ${op}: by and tenant must be non-empty strings`));
    try {
      // Refused before publishing what the transparency log could not record afterwards.
      for (const fleet of fleets) checkEvent({ kind: 'deployment', time: new Date(0).toISOString(), actor: by, tenant, subject: `model:${modelId}`, payloadHash: '0'.repeat(64), details: { model: modelId, version, fleet } });
    } catch (cause) {
      return Promise.reject(new TypeError(`cannot ${op}: ${(cause as Error).message.replace(/^cannot record event: /, '')}`, { cause }));
    }
    return this.#serial(() => this.#release(op, modelId, version, fleets, by, tenant));
  }

  async #release(op: string, modelId: string, version: number, fleets: readonly string[], by: string, tenant: string): Promise<DeploymentRecord[]> {
    const v = await this.#o.registry.version(modelId, version);
    if (v.owner !== tenant) throw new CloudError(CLOUD_ERR.ACCESS_DENIED, `cannot ${op}: the model belongs to ${v.owner}`);
    const known = this.#o.repo.versions.fleets;
    const plan: { fleet: string; existing?: DeploymentRecord }[] = [];
    for (const fleet of fleets) {
      if (!Object.hasOwn(known, fleet)) throw new CloudError(CLOUD_ERR.NOT_FOUND, `cannot ${op}: no fleet ${fleet}`, { hint: 'add the fleet (its delegated TUF role) first' });
      const current = await this.current(fleet, modelId);
      if (current !== undefined && current.version > version) {
        throw new CloudError(CLOUD_ERR.ROLLBACK_REFUSED, `cannot ${op}: fleet ${fleet} has version ${current.version}`, {
          hint: 'release a newer version; an admin rolls back at the gateway',
        });
      }
      plan.push({ fleet, existing: current?.version === version ? current : undefined });
    }
    const bytes = await this.#o.registry.artifact(modelId, version);
    const out: DeploymentRecord[] = [];
    for (const { fleet, existing } of plan) {
      if (existing !== undefined) {
        out.push(existing);
        continue;
      }
      let target: string;
      try {
        target = await this.#o.repo.publishModel(fleet, { modelId, version, lineageDigest: v.lineageDigest.replace(/^sha256:/, ''), bytes });
      } catch (cause) {
        // Fleet and records were checked above: what the publisher still refuses is a version
        // not above the one its signed metadata lists (published outside these records).
        if (cause instanceof TrustError) throw new CloudError(CLOUD_ERR.ROLLBACK_REFUSED, `cannot ${op}: the TUF repository refuses it for fleet ${fleet}`, { cause });
        throw cause;
      }
      const rows = await this.#o.sql.query<Row>(
        `INSERT INTO cloud_deployment (fleet, model, version, target, sha256, length, lineage_digest, released_by, tenant, released_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *`,
        [fleet, modelId, version, target, v.artifact.sha256, bytes.length, v.lineageDigest, by, tenant, this.#now()],
      );
      const record = recordOf(rows[0]);
      await this.#audit({ kind: 'deployment', actor: by, tenant, subject: `model:${modelId}`, payloadHash: v.artifact.sha256, details: { model: modelId, version, fleet } });
      out.push(record);
    }
    return out;
  }

  /**
   * The newest version of a model released to a fleet, if any.
   *
   * @throws {Error} database errors
   * @example
   * ```ts
   * (await release.current('plant-a', 'ai4i-failure'))?.version; // 2
   * ```
   */
  async current(fleet: string, modelId: string): Promise<DeploymentRecord | undefined> {
    const rows = await this.#o.sql.query<Row>('SELECT * FROM cloud_deployment WHERE fleet = $1 AND model = $2 ORDER BY version DESC LIMIT 1', [fleet, modelId]);
    return rows[0] === undefined ? undefined : recordOf(rows[0]);
  }

  /**
   * Deployment records, optionally of one fleet and/or one model, oldest first.
   *
   * @throws {Error} database errors
   * @example
   * ```ts
   * await release.deployments({ fleet: 'plant-a' }); // what plant-a's gateways were given
   * ```
   */
  async deployments(filter: { fleet?: string; modelId?: string } = {}): Promise<DeploymentRecord[]> {
    const rows = await this.#o.sql.query<Row>(
      `SELECT * FROM cloud_deployment WHERE ($1::text IS NULL OR fleet = $1) AND ($2::text IS NULL OR model = $2)
       ORDER BY released_at, fleet, model, version`,
      [filter.fleet ?? null, filter.modelId ?? null],
    );
    return rows.map(recordOf);
  }

  /**
   * Re-signs the TUF timestamp with a fresh expiry (same snapshot). The server calls it more
   * often than the timestamp lifetime (a day by default), so gateways can tell a quiet
   * repository from a freeze attack. Returns the new timestamp version.
   *
   * @throws {Error} file-system errors writing the repository
   * @example
   * ```ts
   * setInterval(() => void release.refreshTimestamp(), 6 * 3600_000);
   * ```
   */
  refreshTimestamp(): Promise<number> {
    return this.#serial(async () => {
      await this.#o.repo.refreshTimestamp();
      return this.#o.repo.versions.timestamp;
    });
  }
}
