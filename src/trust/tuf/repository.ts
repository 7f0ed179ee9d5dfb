/**
 * TUF repository, publisher side, built on `@tufjs/models` (there is no TUF
 * publisher tool for Node): root, targets, snapshot and timestamp metadata
 * with expiries, one delegated targets role per fleet (so one fleet's key
 * cannot sign another fleet's models), and model artifacts with custom
 * metadata (model id, version, lineage digest). Consistent snapshots: every
 * metadata file is written under its version, every target under its hash, so
 * clients never see a half-published state.
 *
 * Layout written under `dir`:
 * ```
 * metadata/1.root.json  metadata/root.json  metadata/timestamp.json
 * metadata/<v>.snapshot.json  metadata/<v>.targets.json  metadata/<v>.fleet-<id>.json
 * targets/fleets/<id>/<model>/<sha256>.v<version>
 * ```
 * Edge gateways consume it with the `tuf-js` Updater (DESIGN §7).
 *
 * The files are the repository's state: {@link TufRepository.open} restores versions, fleets and
 * targets from them (the caller keeps the signing keys, e.g. with {@link exportTufKey}), so a
 * restarted publisher continues every version where it stopped and never re-publishes an older one.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Key, MetaFile, Metadata, Root, Signature, Snapshot, TargetFile, Targets, Timestamp } from '@tufjs/models';
import { assertBytes, assertIndex, assertString } from '../assert.ts';
import { TrustError, TrustErrorCode } from '../errors.ts';

const SPEC_VERSION = '1.0.31';
const DAY = 86_400_000;

/** An Ed25519 key that signs TUF metadata. */
export interface TufSigningKey {
  /** TUF key id: hex SHA-256 of the canonical JSON of the public key. */
  readonly keyId: string;
  /** The public key as TUF metadata lists it. */
  readonly key: Key;
  /** Signs canonical-JSON bytes. */
  sign(bytes: Buffer): Signature;
}

/** Lifetimes of each role's metadata, in milliseconds. */
export interface TufExpiries {
  readonly root: number;
  readonly targets: number;
  readonly snapshot: number;
  readonly timestamp: number;
}

/**
 * Defaults: root a year, targets (and fleets) 90 days, snapshot a week, timestamp a day.
 *
 * @example
 * ```ts
 * await TufRepository.create({ dir, keys, expiries: { ...DEFAULT_EXPIRIES, timestamp: 6 * 3600_000 } });
 * ```
 */
export const DEFAULT_EXPIRIES: TufExpiries = Object.freeze({ root: 365 * DAY, targets: 90 * DAY, snapshot: 7 * DAY, timestamp: DAY });

/** Options of {@link TufRepository.create}. */
export interface TufRepositoryOptions {
  /** Output directory (served over HTTP as is). */
  readonly dir: string;
  /** One key per top-level role (threshold 1 each). */
  readonly keys: { readonly root: TufSigningKey; readonly targets: TufSigningKey; readonly snapshot: TufSigningKey; readonly timestamp: TufSigningKey };
  readonly expiries?: Partial<TufExpiries>;
  /** Clock for expiries; `() => new Date()` by default. */
  readonly clock?: () => Date;
}

/** Options of {@link TufRepository.open}. */
export interface TufOpenOptions extends TufRepositoryOptions {
  /** The signing keys of each fleet's delegated role, by fleet id (every fleet the repository delegates to). */
  readonly fleetKeys: Readonly<Record<string, readonly TufSigningKey[]>>;
}

/** A model artifact to publish. */
export interface ModelArtifact {
  /** Model identifier (letters, digits, `._-`). */
  readonly modelId: string;
  /** Model version, a positive integer; must increase per model. */
  readonly version: number;
  /** Lower-case hex SHA-256 of the model's lineage record (DESIGN §7 registry). */
  readonly lineageDigest: string;
  /** The artifact bytes. */
  readonly bytes: Uint8Array;
}

/** Custom metadata attached to every model target (`TargetFile.custom`). */
export interface ModelTargetCustom {
  readonly modelId: string;
  readonly version: number;
  readonly lineageDigest: string;
  readonly fleet: string;
}

interface FleetState {
  readonly keys: TufSigningKey[];
  version: number;
  readonly targets: Map<string, TargetFile>;
  readonly latest: Map<string, number>;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function tufError(op: string, reason: string): TrustError {
  return new TrustError(TrustErrorCode.TUF, `cannot ${op}: ${reason}`);
}

/**
 * A fresh Ed25519 key for TUF metadata.
 *
 * @throws never
 * @example
 * ```ts
 * const keys = { root: generateTufKey(), targets: generateTufKey(), snapshot: generateTufKey(), timestamp: generateTufKey() };
 * ```
 */
export function generateTufKey(): TufSigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(12);
  return tufKeyFrom(privateKey, Buffer.from(raw).toString('hex'));
}

/** Private keys of the signing keys this module made, for {@link exportTufKey}. */
const PRIVATE = new WeakMap<TufSigningKey, KeyObject>();

/**
 * The private key of a signing key as PKCS #8 PEM, to keep it (e.g. a 0600 file) and bring it
 * back with {@link importTufKey}.
 *
 * @throws {TypeError} when `key` was not made by {@link generateTufKey} or {@link importTufKey}
 * @example
 * ```ts
 * await writeFile('root.key', exportTufKey(keys.root), { mode: 0o600 });
 * ```
 */
export function exportTufKey(key: TufSigningKey): string {
  const privateKey = PRIVATE.get(key);
  if (privateKey === undefined) throw new TypeError('key must be a TufSigningKey made by generateTufKey or importTufKey');
  return privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

/**
 * A signing key from the PKCS #8 PEM that {@link exportTufKey} wrote.
 *
 * @throws {TypeError} when `pem` is not an Ed25519 private key
 * @example
 * ```ts
 * const root = importTufKey(await readFile('root.key', 'utf8'));
 * ```
 */
export function importTufKey(pem: string): TufSigningKey {
  assertString(pem, 'pem');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (cause) {
    throw new TypeError('pem must be a PKCS #8 private key', { cause });
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new TypeError('pem must be an Ed25519 private key');
  const raw = createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(12);
  return tufKeyFrom(privateKey, Buffer.from(raw).toString('hex'));
}

function tufKeyFrom(privateKey: KeyObject, publicHex: string): TufSigningKey {
  // Canonical JSON (sorted keys, no spaces) of the public key, as TUF defines key ids.
  const canonical = `{"keytype":"ed25519","keyval":{"public":"${publicHex}"},"scheme":"ed25519"}`;
  const keyId = createHash('sha256').update(canonical).digest('hex');
  const key = new Key({ keyID: keyId, keyType: 'ed25519', scheme: 'ed25519', keyVal: { public: publicHex } });
  const signing: TufSigningKey = Object.freeze({
    keyId,
    key,
    sign: (bytes: Buffer): Signature => new Signature({ keyID: keyId, sig: sign(null, bytes, privateKey).toString('hex') }),
  });
  PRIVATE.set(signing, privateKey);
  return signing;
}

/** TUF wants `YYYY-MM-DDTHH:MM:SSZ` (no fractional seconds). */
function expiresAt(now: Date, lifetime: number): string {
  return new Date(now.getTime() + lifetime).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const fleetRole = (fleet: string): string => `fleet-${fleet}`;

function assertOptions(options: TufRepositoryOptions): void {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  assertString(options.dir, 'dir');
  for (const role of ['root', 'targets', 'snapshot', 'timestamp'] as const) {
    if (typeof options.keys?.[role]?.sign !== 'function') throw new TypeError(`keys.${role} must be a TufSigningKey`);
  }
}

/**
 * A TUF repository that publishes signed models per fleet.
 *
 * @example
 * ```ts
 * const repo = await TufRepository.create({ dir, keys });
 * await repo.addFleet('press-line', [fleetKey]);
 * const target = await repo.publishModel('press-line', { modelId: 'ridge', version: 1, lineageDigest, bytes });
 * // gateways: new Updater({ metadataDir, metadataBaseUrl: `${url}/metadata`, targetBaseUrl: `${url}/targets`, … })
 * ```
 */
export class TufRepository {
  readonly dir: string;
  readonly #keys: TufRepositoryOptions['keys'];
  readonly #expiries: TufExpiries;
  #clock: () => Date;
  readonly #root: Metadata<Root>;
  #targetsVersion = 0;
  #snapshotVersion = 0;
  #timestampVersion = 0;
  readonly #fleets = new Map<string, FleetState>();
  readonly #thresholds = new Map<string, number>();
  #snapshotMeta: MetaFile | undefined;

  private constructor(options: TufRepositoryOptions, root?: Metadata<Root>) {
    this.dir = options.dir;
    this.#keys = options.keys;
    this.#expiries = { ...DEFAULT_EXPIRIES, ...options.expiries };
    this.#clock = options.clock ?? (() => new Date());
    if (root !== undefined) {
      this.#root = root;
      return;
    }
    const { root: rootKey, targets, snapshot, timestamp } = options.keys;
    const signed = new Root({
      version: 1,
      specVersion: SPEC_VERSION,
      expires: expiresAt(this.#clock(), this.#expiries.root),
      consistentSnapshot: true,
    });
    // Root's constructor fills the four roles with empty key lists; assign ours.
    for (const [name, k] of Object.entries({ root: rootKey, targets, snapshot, timestamp })) signed.addKey(k.key, name);
    this.#root = new Metadata(signed);
    this.#root.sign((b) => rootKey.sign(b));
  }

  /**
   * Creates the repository: root v1, empty targets, snapshot and timestamp, written to `dir`.
   *
   * @throws {TypeError} malformed options
   * @throws {Error} file-system errors writing `dir`
   * @example
   * ```ts
   * const repo = await TufRepository.create({ dir: '/srv/tuf', keys });
   * ```
   */
  static async create(options: TufRepositoryOptions): Promise<TufRepository> {
    assertOptions(options);
    const repo = new TufRepository(options);
    await mkdir(path.join(repo.dir, 'metadata'), { recursive: true });
    await mkdir(path.join(repo.dir, 'targets'), { recursive: true });
    const rootJson = repo.trustedRoot();
    await writeFile(path.join(repo.dir, 'metadata', '1.root.json'), rootJson);
    await writeFile(path.join(repo.dir, 'metadata', 'root.json'), rootJson);
    await repo.#publish({ targets: true, fleets: [] });
    return repo;
  }

  /**
   * Opens a repository that {@link TufRepository.create} wrote to `dir`: restores the current
   * versions of every role, the fleets (their delegations and thresholds) and their targets from
   * the metadata files, and signs from now on with the keys given. The next publication continues
   * every version (clients that saw the old state accept the new one) and a model version not above
   * the one published before is still refused.
   *
   * @throws {TypeError} malformed options
   * @throws {TrustError} `TRUST_ERR_TUF` when `dir` holds no repository, its metadata is malformed,
   *   a key does not match the one the metadata lists for its role, or a fleet's keys are missing
   * @example
   * ```ts
   * const repo = await TufRepository.open({ dir: '/srv/tuf', keys, fleetKeys: { 'plant-a': [plantAKey] } });
   * ```
   */
  static async open(options: TufOpenOptions): Promise<TufRepository> {
    assertOptions(options);
    if (typeof options.fleetKeys !== 'object' || options.fleetKeys === null) throw new TypeError('fleetKeys must be a record of fleet id to TufSigningKeys');
    const meta = path.join(options.dir, 'metadata');
    const read = async (name: string): Promise<Buffer> => {
      try {
        return await readFile(path.join(meta, name));
      } catch (cause) {
        throw new TrustError(TrustErrorCode.TUF, `cannot open TUF repository: ${(cause as NodeJS.ErrnoException).code === 'ENOENT' ? `no ${name} in ${meta}` : `cannot read ${name}`}`, { cause });
      }
    };
    const parse = <T extends Root | Targets | Snapshot>(kind: 'root' | 'targets' | 'snapshot', name: string, bytes: Buffer): Metadata<T> => {
      try {
        return Metadata.fromJSON(kind as never, JSON.parse(bytes.toString('utf8'))) as unknown as Metadata<T>;
      } catch (cause) {
        throw new TrustError(TrustErrorCode.TUF, `cannot open TUF repository: ${name} is not ${kind} metadata`, { cause });
      }
    };
    const root = parse<Root>('root', 'root.json', await read('root.json'));
    for (const role of ['root', 'targets', 'snapshot', 'timestamp'] as const) {
      if (!root.signed.roles[role]?.keyIDs.includes(options.keys[role].keyId)) throw tufError('open TUF repository', `keys.${role} is not the ${role} key of root.json`);
    }
    // The newest version of each role, from the versioned file names.
    const newest = new Map<string, number>();
    for (const name of await readdir(meta)) {
      const m = /^(\d+)\.(.+)\.json$/.exec(name);
      if (m !== null && Number(m[1]) > (newest.get(m[2]) ?? 0)) newest.set(m[2], Number(m[1]));
    }
    const repo = new TufRepository(options, root);
    for (const role of ['targets', 'snapshot', 'timestamp']) if (!newest.has(role)) throw tufError('open TUF repository', `no ${role} metadata in ${meta}`);
    repo.#targetsVersion = newest.get('targets')!;
    repo.#snapshotVersion = newest.get('snapshot')!;
    repo.#timestampVersion = newest.get('timestamp')!;
    const topName = `${repo.#targetsVersion}.targets.json`;
    const top = parse<Targets>('targets', topName, await read(topName));
    for (const role of Object.values(top.signed.delegations?.roles ?? {})) {
      const fleet = role.name.replace(/^fleet-/, '');
      const keys = options.fleetKeys[fleet];
      if (!Array.isArray(keys) || keys.some((k) => typeof k?.sign !== 'function')) throw tufError('open TUF repository', `no signing keys given for fleet ${fleet}`);
      const ids = new Set(keys.map((k) => k.keyId));
      if (ids.size !== role.keyIDs.length || role.keyIDs.some((id) => !ids.has(id))) throw tufError('open TUF repository', `the keys given for fleet ${fleet} are not the ones its delegation lists`);
      const version = newest.get(role.name) ?? 0;
      const state: FleetState = { keys: [...keys], version, targets: new Map(), latest: new Map() };
      if (version > 0) {
        const name = `${version}.${role.name}.json`;
        for (const [target, file] of Object.entries(parse<Targets>('targets', name, await read(name)).signed.targets)) {
          state.targets.set(target, file);
          const custom = file.unrecognizedFields.custom as Partial<ModelTargetCustom> | undefined;
          if (typeof custom?.modelId === 'string' && typeof custom.version === 'number') state.latest.set(custom.modelId, Math.max(custom.version, state.latest.get(custom.modelId) ?? 0));
        }
      }
      repo.#fleets.set(fleet, state);
      repo.#thresholds.set(fleet, role.threshold);
    }
    const snapshotBytes = await read(`${repo.#snapshotVersion}.snapshot.json`);
    parse<Snapshot>('snapshot', `${repo.#snapshotVersion}.snapshot.json`, snapshotBytes);
    repo.#snapshotMeta = new MetaFile({ version: repo.#snapshotVersion, length: snapshotBytes.length, hashes: { sha256: createHash('sha256').update(snapshotBytes).digest('hex') } });
    return repo;
  }

  /**
   * The root metadata a client must be provisioned with (its `metadataDir/root.json`).
   *
   * @throws never
   * @example
   * ```ts
   * writeFileSync(path.join(gatewayMetadataDir, 'root.json'), repo.trustedRoot());
   * ```
   */
  trustedRoot(): string {
    return JSON.stringify(this.#root.toJSON());
  }

  /** Current versions, for operators and tests. */
  get versions(): { targets: number; snapshot: number; timestamp: number; fleets: Record<string, number> } {
    return {
      targets: this.#targetsVersion,
      snapshot: this.#snapshotVersion,
      timestamp: this.#timestampVersion,
      fleets: Object.fromEntries([...this.#fleets].map(([id, f]) => [id, f.version])),
    };
  }

  /**
   * Replaces the clock (e.g. to re-sign with fresh expiries after a pause).
   *
   * @throws {TypeError} not a function
   * @example
   * ```ts
   * repo.setClock(() => new Date());
   * ```
   */
  setClock(clock: () => Date): void {
    if (typeof clock !== 'function') throw new TypeError('clock must be a function');
    this.#clock = clock;
  }

  /**
   * Delegates `fleets/<fleet>/…` to a new targets role `fleet-<fleet>` signed by `keys`.
   *
   * @throws {TypeError} malformed id or keys
   * @throws {TrustError} `TRUST_ERR_TUF` when the fleet exists
   * @example
   * ```ts
   * await repo.addFleet('press-line', [generateTufKey()]);
   * ```
   */
  async addFleet(fleet: string, keys: readonly TufSigningKey[], threshold = 1): Promise<void> {
    assertString(fleet, 'fleet');
    if (!ID.test(fleet)) throw new TypeError(`fleet must match ${ID}`);
    if (!Array.isArray(keys) || keys.length === 0 || keys.some((k) => typeof k?.sign !== 'function')) throw new TypeError('keys must be TufSigningKeys');
    assertIndex(threshold, 'threshold');
    if (threshold < 1 || threshold > keys.length) throw new RangeError(`threshold must be in [1, ${keys.length}]`);
    if (this.#fleets.has(fleet)) throw tufError('add fleet', `fleet ${fleet} exists`);
    this.#fleets.set(fleet, { keys: [...keys], version: 0, targets: new Map(), latest: new Map() });
    this.#thresholds.set(fleet, threshold);
    await this.#publish({ targets: true, fleets: [fleet] });
  }


  /**
   * Publishes a model artifact to a fleet: writes the target under its hash
   * and re-signs the fleet role, snapshot and timestamp. Returns the target path.
   *
   * @throws {TypeError} / {RangeError} malformed artifact
   * @throws {TrustError} `TRUST_ERR_TUF` for an unknown fleet or a version not above the model's latest
   * @example
   * ```ts
   * const target = await repo.publishModel('press-line', { modelId: 'ridge', version: 2, lineageDigest, bytes });
   * ```
   */
  async publishModel(fleet: string, artifact: ModelArtifact): Promise<string> {
    const state = this.#fleets.get(fleet);
    if (!state) throw tufError('publish model', `unknown fleet ${JSON.stringify(fleet)}`);
    const { modelId, version, lineageDigest, bytes } = artifact;
    if (typeof modelId !== 'string' || !ID.test(modelId)) throw new TypeError(`modelId must match ${ID}`);
    assertIndex(version, 'version');
    if (version < 1) throw new RangeError('version must be ≥ 1');
    if (typeof lineageDigest !== 'string' || !/^[0-9a-f]{64}$/.test(lineageDigest)) throw new TypeError('lineageDigest must be a lower-case hex SHA-256');
    assertBytes(bytes, 'bytes');
    const latest = state.latest.get(modelId) ?? 0;
    if (version <= latest) throw tufError('publish model', `${modelId} version ${version} is not above the published ${latest}`);
    const targetPath = `fleets/${fleet}/${modelId}/v${version}`;
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const custom: ModelTargetCustom = { modelId, version, lineageDigest, fleet };
    const file = new TargetFile({ path: targetPath, length: bytes.length, hashes: { sha256 }, unrecognizedFields: { custom: { ...custom } } });
    const dir = path.join(this.dir, 'targets', 'fleets', fleet, modelId);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, `${sha256}.v${version}`), bytes);
    state.targets.set(targetPath, file);
    state.latest.set(modelId, version);
    await this.#publish({ targets: false, fleets: [fleet] });
    return targetPath;
  }

  /**
   * Re-signs only the timestamp (fresh expiry, same snapshot): run it more
   * often than the timestamp lifetime so clients can tell freshness from a freeze.
   *
   * @throws {Error} file-system errors
   * @example
   * ```ts
   * setInterval(() => repo.refreshTimestamp(), 6 * 3600_000);
   * ```
   */
  async refreshTimestamp(): Promise<void> {
    await this.#writeTimestamp();
  }

  async #publish(changed: { targets: boolean; fleets: string[] }): Promise<void> {
    const now = this.#clock();
    const meta = path.join(this.dir, 'metadata');
    for (const fleet of changed.fleets) {
      const state = this.#fleets.get(fleet) as FleetState;
      state.version++;
      const md = new Metadata(
        new Targets({ version: state.version, specVersion: SPEC_VERSION, expires: expiresAt(now, this.#expiries.targets), targets: Object.fromEntries(state.targets) }),
      );
      for (const k of state.keys) md.sign((b) => k.sign(b));
      await writeFile(path.join(meta, `${state.version}.${fleetRole(fleet)}.json`), JSON.stringify(md.toJSON()));
    }
    if (changed.targets) {
      this.#targetsVersion++;
      // Delegations are built from JSON: @tufjs/models does not export DelegatedRole / Delegations.
      const keys: Record<string, unknown> = {};
      const roles: unknown[] = [];
      for (const [fleet, state] of this.#fleets) {
        for (const k of state.keys) keys[k.keyId] = k.key.toJSON();
        roles.push({
          name: fleetRole(fleet),
          keyids: state.keys.map((k) => k.keyId),
          threshold: this.#thresholds.get(fleet) ?? 1,
          terminating: true,
          paths: [`fleets/${fleet}/*/*`],
        });
      }
      const md = new Metadata(
        Targets.fromJSON({
          _type: 'targets',
          spec_version: SPEC_VERSION,
          version: this.#targetsVersion,
          expires: expiresAt(now, this.#expiries.targets),
          targets: {},
          delegations: { keys, roles },
        } as Parameters<typeof Targets.fromJSON>[0]),
      );
      md.sign((b) => this.#keys.targets.sign(b));
      await writeFile(path.join(meta, `${this.#targetsVersion}.targets.json`), JSON.stringify(md.toJSON()));
    }
    this.#snapshotVersion++;
    const snapshotMeta: Record<string, MetaFile> = { 'targets.json': new MetaFile({ version: this.#targetsVersion }) };
    for (const [fleet, state] of this.#fleets) snapshotMeta[`${fleetRole(fleet)}.json`] = new MetaFile({ version: state.version });
    const snapshot = new Metadata(
      new Snapshot({ version: this.#snapshotVersion, specVersion: SPEC_VERSION, expires: expiresAt(now, this.#expiries.snapshot), meta: snapshotMeta }),
    );
    snapshot.sign((b) => this.#keys.snapshot.sign(b));
    const snapshotBytes = Buffer.from(JSON.stringify(snapshot.toJSON()));
    await writeFile(path.join(meta, `${this.#snapshotVersion}.snapshot.json`), snapshotBytes);
    this.#snapshotMeta = new MetaFile({
      version: this.#snapshotVersion,
      length: snapshotBytes.length,
      hashes: { sha256: createHash('sha256').update(snapshotBytes).digest('hex') },
    });
    await this.#writeTimestamp();
  }

  async #writeTimestamp(): Promise<void> {
    this.#timestampVersion++;
    const md = new Metadata(
      new Timestamp({
        version: this.#timestampVersion,
        specVersion: SPEC_VERSION,
        expires: expiresAt(this.#clock(), this.#expiries.timestamp),
        snapshotMeta: this.#snapshotMeta,
      }),
    );
    md.sign((b) => this.#keys.timestamp.sign(b));
    const json = JSON.stringify(md.toJSON());
    await writeFile(path.join(this.dir, 'metadata', 'timestamp.json'), json);
    await writeFile(path.join(this.dir, 'metadata', `${this.#timestampVersion}.timestamp.json`), json);
  }
}
