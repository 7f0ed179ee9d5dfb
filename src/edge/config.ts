/**
 * The configuration file of `hedge edge start` (docs/edge.md, "hedge edge start"): one YAML
 * document naming the cloud and the gateway's credentials, the plant's data policy, the key
 * holder, the connectors and the datasets. Relative paths are resolved against the file's folder.
 * Errors name the bad field's path and line, as the data policy's do; unknown fields are refused.
 * @module
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { yamlLocator } from './yaml.ts';
import { createSchema, type DatasetSchema } from '../models/schema.ts';
import { describe } from './assert.ts';
import { ai4iLayout, type CsvLayout } from './connectors/replay.ts';
import { EDGE_ERR, EdgeError, EdgeTypeError } from './errors.ts';
import type { WindowSpec } from './features.ts';
import type { ModelsConfig } from './inference.ts';
import type { ControlsConfig } from '../runtime/controls.ts';

/** A CSV replay connector: the AI4I 2020 layout, or a layout literal (`CsvLayout`). */
export interface CsvConnectorConfig {
  readonly kind: 'csv';
  readonly path: string;
  readonly layout: CsvLayout;
  readonly onBadRow: 'throw' | 'skip';
}

/** An OPC UA connector (`OpcuaConnector` options, without the callbacks). */
export interface OpcuaConnectorConfig {
  readonly kind: 'opcua';
  readonly endpointUrl: string;
  readonly pkiDir: string;
  readonly security: 'none' | 'sign-and-encrypt';
  readonly trustUnknownServer: boolean;
  readonly machines: readonly { readonly machineId: string; readonly signals: readonly { readonly name: string; readonly nodeId: string }[] }[];
}

/** A Sparkplug B host application (`SparkplugHost` options, without the callbacks). */
export interface SparkplugConnectorConfig {
  readonly kind: 'sparkplug';
  readonly brokerUrl: string;
  readonly hostId: string;
  readonly groups?: readonly string[];
}

/** One connector of the gateway. */
export type ConnectorConfig = CsvConnectorConfig | OpcuaConnectorConfig | SparkplugConnectorConfig;

/** Where a dataset's records come from: shared samples, or feature windows over them. */
export type RecordSourceConfig =
  | { readonly kind: 'samples' }
  | { readonly kind: 'windows'; readonly window: WindowSpec; readonly signals: readonly string[]; readonly stats?: readonly string[]; readonly maxGapMs?: number };

/** One dataset the gateway uploads into. */
export interface DatasetConfig {
  readonly id: string;
  /** The dataset schema agreed with the machine builder (the JSON file, validated). */
  readonly schema: DatasetSchema;
  readonly source: RecordSourceConfig;
  /** Records per batch (default: the parameter set's slots) and the longest a partial batch waits (ms). */
  readonly batchSize?: number;
  readonly maxWaitMs?: number;
}

/** The loaded, validated configuration (paths absolute, TLS material read). */
export interface EdgeConfig {
  /** The plant's tenant id in the cloud. */
  readonly tenant: string;
  /** The federation whose key this gateway holds a share of, and whose datasets it feeds. */
  readonly federation: string;
  /** Local state: outbox, record buffers, key holder (`<stateDir>/keyholder`). */
  readonly stateDir: string;
  readonly cloud: {
    readonly url: string;
    /** PEM texts: the cloud's CA, and the gateway's client certificate and key from enrolment. */
    readonly ca: string;
    readonly cert: string;
    readonly key: string;
    /** How often the gateway asks the cloud about the ceremony and approved jobs (ms, default 2000). */
    readonly pollMs: number;
  };
  /** The data policy file. */
  readonly policy: string;
  /** The pseudonymisation key file (default: the policy's `machineIds.keyFile`). */
  readonly pseudonymKey?: string;
  readonly keyHolder: {
    readonly unlock: { readonly passphrase: string } | { readonly keyFile: string };
    readonly policy: { readonly minPlants: number; readonly minRecords: number; readonly maxRevealsPerDay: number };
    /** SHA-256 (hex) of the receiver key the plant expects, learned out of band; absent: the one the cloud names. */
    readonly receiverKeyHash?: string;
  };
  readonly connectors: readonly ConnectorConfig[];
  readonly datasets: readonly DatasetConfig[];
  /** How often records are sealed and the uploader kicked (ms, default 1000). */
  readonly sealIntervalMs: number;
  /** Accept `TEST_INSECURE_*` parameter sets from the cloud (tests only; default false). */
  readonly allowInsecureParams: boolean;
  /** The models the gateway runs on its live records (absent: none). */
  readonly models?: ModelsConfig;
  /**
   * The plant admin's local endpoint (absent: none): review a job's plan and approve its reveal at
   * this gateway (`hedge edge approve`). Listens on `host` (default 127.0.0.1); callers present
   * the bearer token read from `tokenFile` (at least 32 characters).
   */
  readonly admin?: { readonly host: string; readonly port: number; readonly token: string };
}

/** A bad value as a message shows it: numbers and short strings as they are, anything else by its type. */
const shown = (v: unknown): string => (typeof v === 'number' || (typeof v === 'string' && v.length <= 64) ? JSON.stringify(v) : describe(v));

type Locate = (p: readonly (string | number)[]) => string;
type Obj = Record<string, unknown>;

class Reader {
  readonly #locate: Locate;
  readonly #base: string;
  constructor(locate: Locate, base: string) {
    this.#locate = locate;
    this.#base = base;
  }
  fail(p: readonly (string | number)[], what: string): never {
    throw new EdgeError(EDGE_ERR.CONFIG_INVALID, `cannot load gateway config: ${p.length ? p.join('.') : 'the document'} ${what}${this.#locate(p)}`);
  }
  obj(p: readonly (string | number)[], v: unknown, keys: readonly string[], required: readonly string[]): Obj {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.fail(p, `must be a mapping, got ${describe(v)}`);
    const o = v as Obj;
    for (const k of Object.keys(o)) if (!keys.includes(k)) this.fail([...p, k], `is not a known field (expected one of ${keys.join(', ')})`);
    for (const k of required) if (o[k] === undefined) this.fail([...p, k], 'is required');
    return o;
  }
  str(p: readonly (string | number)[], v: unknown): string {
    if (typeof v !== 'string' || v.length === 0) this.fail(p, `must be a non-empty string, got ${describe(v)}`);
    return v as string;
  }
  id(p: readonly (string | number)[], v: unknown): string {
    const s = this.str(p, v);
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(s)) this.fail(p, `must be an id ([A-Za-z0-9][A-Za-z0-9._-]{0,127}), got ${JSON.stringify(s)}`);
    return s;
  }
  int(p: readonly (string | number)[], v: unknown, lo: number, hi: number): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) this.fail(p, `must be an integer in [${lo}, ${hi}], got ${shown(v)}`);
    return v as number;
  }
  bool(p: readonly (string | number)[], v: unknown): boolean {
    if (typeof v !== 'boolean') this.fail(p, `must be true or false, got ${describe(v)}`);
    return v as boolean;
  }
  list(p: readonly (string | number)[], v: unknown, min = 1): unknown[] {
    if (!Array.isArray(v) || v.length < min) this.fail(p, `must be a list of at least ${min}, got ${describe(v)}`);
    return v as unknown[];
  }
  oneOf<T extends string>(p: readonly (string | number)[], v: unknown, options: readonly T[]): T {
    if (!options.includes(v as T)) this.fail(p, `must be one of ${options.join(', ')}, got ${shown(v)}`);
    return v as T;
  }
  file(p: readonly (string | number)[], v: unknown): string {
    return path.resolve(this.#base, this.str(p, v));
  }
  text(p: readonly (string | number)[], v: unknown): string {
    const f = this.file(p, v);
    try {
      return readFileSync(f, 'utf8');
    } catch (e) {
      return this.fail(p, `names a file that cannot be read: ${f} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }
}

const AI4I_LAYOUT_KEYS = ['machineId', 'startMs', 'stepMs'] as const;

function connector(r: Reader, p: (string | number)[], v: unknown): ConnectorConfig {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) r.fail(p, `must be a mapping, got ${describe(v)}`);
  const kind = r.oneOf([...p, 'kind'], (v as Obj).kind, ['csv', 'opcua', 'sparkplug']);
  if (kind === 'csv') {
    const o = r.obj(p, v, ['kind', 'path', 'layout', 'onBadRow', ...AI4I_LAYOUT_KEYS], ['path', 'layout']);
    let layout: CsvLayout;
    if (o.layout === 'ai4i') {
      const machineId = o.machineId === undefined ? 'mill-1' : r.str([...p, 'machineId'], o.machineId);
      const startMs = o.startMs === undefined ? Date.UTC(2020, 0, 1) : r.int([...p, 'startMs'], o.startMs, 0, 8.64e15);
      const stepMs = o.stepMs === undefined ? 1000 : r.int([...p, 'stepMs'], o.stepMs, 1, 8.64e7);
      layout = ai4iLayout({ machineId, startMs, stepMs });
    } else {
      for (const k of AI4I_LAYOUT_KEYS) if (o[k] !== undefined) r.fail([...p, k], 'is for layout: ai4i only');
      layout = r.obj([...p, 'layout'], o.layout, ['columns', 'machine', 'time'], ['columns', 'machine', 'time']) as unknown as CsvLayout;
    }
    return { kind, path: r.file([...p, 'path'], o.path), layout, onBadRow: o.onBadRow === undefined ? 'throw' : r.oneOf([...p, 'onBadRow'], o.onBadRow, ['throw', 'skip']) };
  }
  if (kind === 'opcua') {
    const o = r.obj(p, v, ['kind', 'endpointUrl', 'pkiDir', 'security', 'trustUnknownServer', 'machines'], ['endpointUrl', 'pkiDir', 'machines']);
    const machines = r.list([...p, 'machines'], o.machines).map((m, i) => {
      const mp = [...p, 'machines', i];
      const mo = r.obj(mp, m, ['machineId', 'signals'], ['machineId', 'signals']);
      return {
        machineId: r.str([...mp, 'machineId'], mo.machineId),
        signals: r.list([...mp, 'signals'], mo.signals).map((s, j) => {
          const so = r.obj([...mp, 'signals', j], s, ['name', 'nodeId'], ['name', 'nodeId']);
          return { name: r.str([...mp, 'signals', j, 'name'], so.name), nodeId: r.str([...mp, 'signals', j, 'nodeId'], so.nodeId) };
        }),
      };
    });
    return {
      kind, endpointUrl: r.str([...p, 'endpointUrl'], o.endpointUrl), pkiDir: r.file([...p, 'pkiDir'], o.pkiDir),
      security: o.security === undefined ? 'none' : r.oneOf([...p, 'security'], o.security, ['none', 'sign-and-encrypt']),
      trustUnknownServer: o.trustUnknownServer === undefined ? false : r.bool([...p, 'trustUnknownServer'], o.trustUnknownServer), machines,
    };
  }
  const o = r.obj(p, v, ['kind', 'brokerUrl', 'hostId', 'groups'], ['brokerUrl', 'hostId']);
  return {
    kind, brokerUrl: r.str([...p, 'brokerUrl'], o.brokerUrl), hostId: r.str([...p, 'hostId'], o.hostId),
    ...(o.groups === undefined ? {} : { groups: r.list([...p, 'groups'], o.groups).map((g, i) => r.str([...p, 'groups', i], g)) }),
  };
}

function dataset(r: Reader, p: (string | number)[], v: unknown): DatasetConfig {
  const o = r.obj(p, v, ['id', 'schema', 'source', 'batchSize', 'maxWaitMs'], ['id', 'schema']);
  const schemaText = r.text([...p, 'schema'], o.schema);
  let schema: DatasetSchema;
  try {
    schema = createSchema(JSON.parse(schemaText));
  } catch (e) {
    return r.fail([...p, 'schema'], `is not a dataset schema: ${(e as Error).message}`);
  }
  let source: RecordSourceConfig = { kind: 'samples' };
  if (o.source !== undefined && o.source !== 'samples') {
    const sp = [...p, 'source'];
    const so = r.obj(sp, o.source, ['kind', 'window', 'signals', 'stats', 'maxGapMs'], ['kind', 'window', 'signals']);
    r.oneOf([...sp, 'kind'], so.kind, ['windows']);
    source = {
      kind: 'windows', window: r.obj([...sp, 'window'], so.window, ['kind', 'size', 'durationMs', 'originMs', 'minSamples'], ['kind']) as unknown as WindowSpec,
      signals: r.list([...sp, 'signals'], so.signals).map((s, i) => r.str([...sp, 'signals', i], s)),
      ...(so.stats === undefined ? {} : { stats: r.list([...sp, 'stats'], so.stats).map((s, i) => r.str([...sp, 'stats', i], s)) }),
      ...(so.maxGapMs === undefined ? {} : { maxGapMs: r.int([...sp, 'maxGapMs'], so.maxGapMs, 1, 8.64e9) }),
    };
  }
  return {
    id: r.id([...p, 'id'], o.id), schema, source,
    ...(o.batchSize === undefined ? {} : { batchSize: r.int([...p, 'batchSize'], o.batchSize, 1, 1 << 20) }),
    ...(o.maxWaitMs === undefined ? {} : { maxWaitMs: r.int([...p, 'maxWaitMs'], o.maxWaitMs, 0, 8.64e9) }),
  };
}

function models(r: Reader, v: unknown): ModelsConfig {
  const p = ['models'];
  const o = r.obj(p, v, ['fleet', 'trustedRoot', 'repository', 'mirror', 'checkMs', 'mqtt', 'endpoint', 'run'], ['fleet', 'trustedRoot', 'run']);
  if ((o.repository === undefined) === (o.mirror === undefined)) r.fail(p, 'must name exactly one of repository (the TUF repository URL), mirror (a folder)');
  let source: ModelsConfig['source'];
  if (o.repository !== undefined) {
    const url = r.str([...p, 'repository'], o.repository);
    if (!/^https?:\/\/[^/]+/.test(url)) r.fail([...p, 'repository'], `must be an http(s) URL, got ${JSON.stringify(url)}`);
    source = { kind: 'http', url };
  } else source = { kind: 'mirror', dir: r.file([...p, 'mirror'], o.mirror) };
  let mqtt: ModelsConfig['mqtt'];
  if (o.mqtt !== undefined) {
    const m = r.obj([...p, 'mqtt'], o.mqtt, ['url', 'prefix'], ['url', 'prefix']);
    mqtt = { url: r.str([...p, 'mqtt', 'url'], m.url), prefix: r.str([...p, 'mqtt', 'prefix'], m.prefix) };
  }
  let endpoint: ModelsConfig['endpoint'];
  if (o.endpoint !== undefined) {
    const e = r.obj([...p, 'endpoint'], o.endpoint, ['host', 'port'], ['port']);
    endpoint = { host: e.host === undefined ? '127.0.0.1' : r.str([...p, 'endpoint', 'host'], e.host), port: r.int([...p, 'endpoint', 'port'], e.port, 0, 65535) };
  }
  const run = r.list([...p, 'run'], o.run).map((x, i) => {
    const rp = [...p, 'run', i];
    const m = r.obj(rp, x, ['id', 'moments', 'fallback', 'rangeMargin', 'oodAlpha', 'minConfidence', 'clamp'], ['id', 'fallback']);
    const fallback = r.obj([...rp, 'fallback'], m.fallback, ['rule', 'output', 'feature', 'threshold', 'below', 'atOrAbove'], ['rule']);
    r.oneOf([...rp, 'fallback', 'rule'], fallback.rule, ['constant', 'threshold', 'none']);
    const num = (k: string): Record<string, number> => {
      if (m[k] === undefined) return {};
      if (typeof m[k] !== 'number' || !Number.isFinite(m[k])) r.fail([...rp, k], `must be a number, got ${shown(m[k])}`);
      return { [k]: m[k] as number };
    };
    const controls = {
      fallback, ...num('rangeMargin'), ...num('oodAlpha'), ...num('minConfidence'),
      ...(m.clamp === undefined ? {} : { clamp: r.obj([...rp, 'clamp'], m.clamp, ['lo', 'hi'], ['lo', 'hi']) }),
    } as unknown as ControlsConfig;
    return { id: r.id([...rp, 'id'], m.id), ...(m.moments === undefined ? {} : { moments: r.file([...rp, 'moments'], m.moments) }), controls };
  });
  return {
    fleet: r.id([...p, 'fleet'], o.fleet), trustedRoot: r.text([...p, 'trustedRoot'], o.trustedRoot), source,
    checkMs: o.checkMs === undefined ? 60_000 : r.int([...p, 'checkMs'], o.checkMs, 100, 86_400_000),
    ...(mqtt === undefined ? {} : { mqtt }), ...(endpoint === undefined ? {} : { endpoint }), run,
  };
}

function check(literal: unknown, r: Reader, env: NodeJS.ProcessEnv): EdgeConfig {
  const top = r.obj([], literal, ['version', 'tenant', 'federation', 'stateDir', 'cloud', 'policy', 'pseudonymKey', 'keyHolder', 'connectors', 'datasets', 'sealIntervalMs', 'allowInsecureParams', 'models', 'admin'],
    ['version', 'tenant', 'federation', 'stateDir', 'cloud', 'policy', 'keyHolder', 'connectors', 'datasets']);
  if (top.version !== 1) r.fail(['version'], `must be 1, got ${shown(top.version)}`);
  const c = r.obj(['cloud'], top.cloud, ['url', 'ca', 'cert', 'key', 'pollMs'], ['url', 'ca', 'cert', 'key']);
  const url = r.str(['cloud', 'url'], c.url);
  if (!/^https:\/\/[^/]+/.test(url)) r.fail(['cloud', 'url'], `must be an https:// URL, got ${JSON.stringify(url)}`);
  const k = r.obj(['keyHolder'], top.keyHolder, ['custody', 'policy', 'receiverKeyHash'], ['custody', 'policy']);
  const cu = r.obj(['keyHolder', 'custody'], k.custody, ['passphraseEnv', 'keyFile'], []);
  let unlock: EdgeConfig['keyHolder']['unlock'];
  if ((cu.passphraseEnv === undefined) === (cu.keyFile === undefined)) r.fail(['keyHolder', 'custody'], 'must name exactly one of passphraseEnv, keyFile');
  if (cu.keyFile !== undefined) unlock = { keyFile: r.file(['keyHolder', 'custody', 'keyFile'], cu.keyFile) };
  else {
    const name = r.str(['keyHolder', 'custody', 'passphraseEnv'], cu.passphraseEnv);
    const passphrase = env[name];
    if (passphrase === undefined || passphrase === '') r.fail(['keyHolder', 'custody', 'passphraseEnv'], `names the environment variable ${name}, which is not set`);
    unlock = { passphrase: passphrase! };
  }
  const kp = r.obj(['keyHolder', 'policy'], k.policy, ['minPlants', 'minRecords', 'maxRevealsPerDay'], ['minPlants', 'minRecords', 'maxRevealsPerDay']);
  let receiverKeyHash: string | undefined;
  if (k.receiverKeyHash !== undefined) {
    receiverKeyHash = r.str(['keyHolder', 'receiverKeyHash'], k.receiverKeyHash);
    if (!/^[0-9a-f]{64}$/.test(receiverKeyHash)) r.fail(['keyHolder', 'receiverKeyHash'], 'must be 64 lower-case hex digits (SHA-256 of the receiver key)');
  }
  const datasets = r.list(['datasets'], top.datasets).map((d, i) => dataset(r, ['datasets', i], d));
  const ids = datasets.map((d) => d.id);
  ids.forEach((id, i) => { if (ids.indexOf(id) !== i) r.fail(['datasets', i, 'id'], `repeats dataset ${id}`); });
  return Object.freeze({
    tenant: r.id(['tenant'], top.tenant),
    federation: r.id(['federation'], top.federation),
    stateDir: r.file(['stateDir'], top.stateDir),
    cloud: Object.freeze({
      url: url.replace(/\/+$/, ''), ca: r.text(['cloud', 'ca'], c.ca), cert: r.text(['cloud', 'cert'], c.cert), key: r.text(['cloud', 'key'], c.key),
      pollMs: c.pollMs === undefined ? 2000 : r.int(['cloud', 'pollMs'], c.pollMs, 10, 3_600_000),
    }),
    policy: r.file(['policy'], top.policy),
    ...(top.pseudonymKey === undefined ? {} : { pseudonymKey: r.file(['pseudonymKey'], top.pseudonymKey) }),
    keyHolder: Object.freeze({
      unlock,
      policy: Object.freeze({
        minPlants: r.int(['keyHolder', 'policy', 'minPlants'], kp.minPlants, 1, 1 << 16),
        minRecords: r.int(['keyHolder', 'policy', 'minRecords'], kp.minRecords, 1, Number.MAX_SAFE_INTEGER),
        maxRevealsPerDay: r.int(['keyHolder', 'policy', 'maxRevealsPerDay'], kp.maxRevealsPerDay, 1, 1 << 16),
      }),
      ...(receiverKeyHash === undefined ? {} : { receiverKeyHash }),
    }),
    connectors: r.list(['connectors'], top.connectors).map((x, i) => connector(r, ['connectors', i], x)),
    datasets,
    sealIntervalMs: top.sealIntervalMs === undefined ? 1000 : r.int(['sealIntervalMs'], top.sealIntervalMs, 10, 3_600_000),
    allowInsecureParams: top.allowInsecureParams === undefined ? false : r.bool(['allowInsecureParams'], top.allowInsecureParams),
    ...(top.models === undefined ? {} : { models: models(r, top.models) }),
    ...(top.admin === undefined ? {} : { admin: admin(r, top.admin) }),
  });
}

function admin(r: Reader, v: unknown): EdgeConfig['admin'] {
  const o = r.obj(['admin'], v, ['host', 'port', 'tokenFile'], ['tokenFile']);
  const token = r.text(['admin', 'tokenFile'], o.tokenFile).trim();
  if (token.length < 32) r.fail(['admin', 'tokenFile'], 'must hold a token of at least 32 characters (e.g. openssl rand -hex 32)');
  return Object.freeze({
    host: o.host === undefined ? '127.0.0.1' : r.str(['admin', 'host'], o.host),
    port: o.port === undefined ? 0 : r.int(['admin', 'port'], o.port, 0, 65_535),
    token,
  });
}

/**
 * Parses and validates a gateway configuration from YAML text; files it names (CA, certificate,
 * key, dataset schemas) are read, relative paths resolved against `baseDir`.
 *
 * @param options.source - the file name for messages (default `config`)
 * @param options.env - where `keyHolder.custody.passphraseEnv` is looked up (default `process.env`)
 * @throws EdgeTypeError if `text` is not a string
 * @throws EdgeError `EDGE_ERR_CONFIG_SYNTAX` (not well-formed YAML), `EDGE_ERR_CONFIG_INVALID`
 *   (a field missing, unknown or wrong, or a named file unreadable; the message names path and line)
 * @example
 * ```ts
 * const config = parseEdgeConfig(readFileSync('gateway.yaml', 'utf8'), { source: 'gateway.yaml', baseDir: '/etc/hedge' });
 * ```
 */
export function parseEdgeConfig(text: string, options: { source?: string; baseDir?: string; env?: NodeJS.ProcessEnv } = {}): EdgeConfig {
  if (typeof text !== 'string') throw new EdgeTypeError(`cannot load gateway config: text must be a string, got ${describe(text)}`);
  const source = options.source ?? 'config';
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const syntax = doc.errors[0];
  if (syntax !== undefined) {
    const pos = lineCounter.linePos(syntax.pos[0]);
    throw new EdgeError(EDGE_ERR.CONFIG_SYNTAX, `cannot load gateway config: ${syntax.message} (${source} line ${pos.line}, column ${pos.col})`, { cause: syntax });
  }
  let literal: unknown;
  try {
    literal = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new EdgeError(EDGE_ERR.CONFIG_SYNTAX, `cannot load gateway config: ${(e as Error).message} (${source})`, { cause: e });
  }
  const locate: Locate = yamlLocator(doc, lineCounter, source);
  return check(literal, new Reader(locate, options.baseDir ?? process.cwd()), options.env ?? process.env);
}

/**
 * Reads and validates a gateway configuration file (relative paths against its folder).
 *
 * @throws EdgeError `EDGE_ERR_CONFIG_SYNTAX`, `EDGE_ERR_CONFIG_INVALID` (also when the file cannot be read)
 * @example
 * ```ts
 * const config = await loadEdgeConfig('/etc/hedge/gateway.yaml');
 * ```
 */
export async function loadEdgeConfig(file: string, options: { env?: NodeJS.ProcessEnv } = {}): Promise<EdgeConfig> {
  if (typeof file !== 'string') throw new EdgeTypeError(`cannot load gateway config: file must be a string, got ${describe(file)}`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new EdgeError(EDGE_ERR.CONFIG_INVALID, `cannot load gateway config: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
  }
  return parseEdgeConfig(text, { source: path.basename(file), baseDir: path.dirname(path.resolve(file)), ...options });
}
