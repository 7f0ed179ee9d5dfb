/**
 * The Sparkplug B connector: a **host application** (Eclipse Sparkplug 3.0.0, §5 and §7) on an
 * MQTT broker, written on `mqtt` and `sparkplug-payload` (not `sparkplug-client`, which publishes
 * its Will at QoS 0 and never increments `bdSeq`). It turns the metrics of edge nodes and devices
 * into {@link RawSample}s and every loss into a {@link RawGap}.
 *
 * - **Machines.** Each edge node (`<group>/<node>`) and each device (`<group>/<node>/<device>`)
 *   is a machine unless `machineId` maps it otherwise; a metric's name is its signal name.
 * - **Births and aliases.** NBIRTH and DBIRTH declare every metric with its name, type, current
 *   value and optional alias; NDATA / DDATA may name metrics by alias only. The host keeps each
 *   metric's last value (Sparkplug reports by exception) and emits one sample per message and
 *   distinct metric timestamp with every numeric metric of that machine. Booleans become 0 / 1,
 *   a null metric NaN; strings, bytes, data sets, templates and `Node Control/*`, `Device
 *   Control/*`, `Properties/*`, `bdSeq` are not signals. Historical metrics (`is_historical`,
 *   store-and-forward) are counted and not delivered (see docs/edge.md).
 * - **Sequence numbers.** Every NBIRTH resets the node's `seq`; each later NDATA, DBIRTH, DDATA
 *   and DDEATH must carry the previous `seq` + 1 (mod 256). A jump marks a gap for the node and
 *   all its devices and asks for a rebirth.
 * - **Rebirth.** Data of an unknown node or device, an unknown alias, a sequence jump or an
 *   undecodable payload publish an NCMD `Node Control/Rebirth = true` to the node (at most one
 *   per node per `rebirthIntervalMs` until its NBIRTH arrives).
 * - **Deaths.** An NDEATH whose `bdSeq` matches the node's NBIRTH takes the node and its devices
 *   offline and marks gaps; an NDEATH with another `bdSeq` is stale (from an earlier session) and
 *   is ignored. A DDEATH takes one device offline and marks its gap.
 * - **STATE (3.0.0).** The host's MQTT Will is `spBv1.0/STATE/<hostId>` =
 *   `{"online":false,"timestamp":T}` (QoS 1, retained); after subscribing it publishes
 *   `{"online":true,"timestamp":T}` with the same `T`, and on `stop()` the offline message. On a
 *   broker reconnect it starts again with a new `T`, and it marks gaps for every machine (data
 *   may have passed while it was away). If it sees its own STATE go offline while connected, it
 *   publishes online again.
 * @module
 */
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { get as getSparkplug } from 'sparkplug-payload';
import { aArray, aFunction, aInteger, aObject, aString, describe } from '../assert.ts';
import { EDGE_ERR, EdgeError, EdgeRangeError } from '../errors.ts';
import { EventSink, type ErrorHandler, type EventHandler, type SinkCounters } from './sink.ts';

const NAMESPACE = 'spBv1.0';
const codec = getSparkplug(NAMESPACE)!;
type Payload = ReturnType<typeof codec.decodePayload>;
type Metric = NonNullable<Payload['metrics']>[number];

/** The Sparkplug identity of a machine's messages. */
export interface SparkplugIds {
  readonly group: string;
  readonly node: string;
  /** Absent for the edge node's own metrics. */
  readonly device?: string;
}

/** Options of {@link SparkplugHost}. */
export interface SparkplugHostOptions {
  /** The broker, e.g. `mqtt://127.0.0.1:1883` or `mqtts://broker:8883`. */
  readonly brokerUrl: string;
  /** This host application's id (the STATE topic `spBv1.0/STATE/<hostId>`); no `/`, `+` or `#`. */
  readonly hostId: string;
  /** Group ids to follow (default: every group). */
  readonly groups?: readonly string[];
  /** Machine id of a node's or device's metrics (default `group/node` and `group/node/device`). */
  readonly machineId?: (ids: SparkplugIds) => string;
  /** Least time between two rebirth requests to one node, ms (default 5000). */
  readonly rebirthIntervalMs?: number;
  /** Further MQTT options (credentials, TLS); `clientId`, `clean` and `will` are the host's own. */
  readonly mqtt?: Omit<IClientOptions, 'clientId' | 'clean' | 'will'>;
  /** Time to wait for the first broker connection, ms (default 10 000). */
  readonly connectTimeoutMs?: number;
  /** Receives every sample and gap (should not throw; see `sink.ts`). */
  readonly onEvent: EventHandler;
  /** Receives failures met while running (undecodable payloads, publish failures); the host keeps going. */
  readonly onError?: ErrorHandler;
}

/** What the host has seen. */
export interface SparkplugCounters extends SinkCounters {
  /** Sparkplug messages received (STATE of other hosts not counted). */
  messages: number;
  births: number;
  deaths: number;
  /** NDEATHs whose bdSeq did not match the node's birth (ignored). */
  staleDeaths: number;
  /** Messages whose `seq` was not the previous one + 1 (mod 256). */
  sequenceGaps: number;
  /** Data metrics naming an alias the birth did not declare. */
  unknownAliases: number;
  /** Messages of a node or device with no birth seen. */
  unborn: number;
  /** Payloads that failed to decode or broke the specification. */
  decodeErrors: number;
  /** Metrics flagged historical (store and forward), not delivered. */
  historical: number;
  /** Metrics whose type is not numeric or Boolean, not delivered. */
  nonNumeric: number;
  rebirthRequests: number;
  /** Broker connections lost. */
  connectionLosses: number;
}

interface Scope {
  readonly machineId: string;
  /** alias → metric name. */
  readonly aliases: Map<number, string>;
  /** metric name → last value, numeric metrics only. */
  readonly held: Map<string, number>;
}

interface NodeState extends Scope {
  readonly group: string;
  readonly node: string;
  online: boolean;
  bdSeq: number | undefined;
  seq: number;
  readonly devices: Map<string, Scope & { online: boolean }>;
}

/**
 * A Sparkplug B host application (see the module documentation for what it guarantees).
 * @example
 * ```ts
 * const host = new SparkplugHost({
 *   brokerUrl: 'mqtt://127.0.0.1:1883', hostId: 'hedge-plant-a', groups: ['line-4'],
 *   onEvent: (event) => buffer.append([event]),
 *   onError: (error) => log.warn(error.message),
 * });
 * await host.start();
 * …
 * await host.stop();
 * ```
 */
export class SparkplugHost {
  readonly #options: SparkplugHostOptions & { rebirthIntervalMs: number; connectTimeoutMs: number; groups: readonly string[] | undefined };
  readonly #sink: EventSink;
  readonly #nodes = new Map<string, NodeState>();
  /** Time of the last rebirth request per node (`group/node`), until its NBIRTH arrives. */
  readonly #rebirthAt = new Map<string, number>();
  readonly #counters = {
    messages: 0, births: 0, deaths: 0, staleDeaths: 0, sequenceGaps: 0, unknownAliases: 0, unborn: 0,
    decodeErrors: 0, historical: 0, nonNumeric: 0, rebirthRequests: 0, connectionLosses: 0,
  };
  readonly #stateTopic: string;
  #client: MqttClient | undefined;
  #state: 'new' | 'running' | 'stopped' = 'new';
  /** The timestamp of this connection's STATE birth and Will. */
  #stateTimestamp = 0;

  /** @throws EdgeTypeError / EdgeRangeError on a bad option (names it) */
  constructor(options: SparkplugHostOptions) {
    const op = 'create Sparkplug host';
    aObject(op, 'options', options);
    aString(op, 'options.brokerUrl', options.brokerUrl);
    if (!/^(mqtts?|wss?|tcp|tls):\/\/[^/]+/.test(options.brokerUrl)) throw new EdgeRangeError(`cannot ${op}: options.brokerUrl must be mqtt://host[:port] (or mqtts, ws, wss), got '${options.brokerUrl.slice(0, 80)}'`);
    aTopicLevel(op, 'options.hostId', options.hostId);
    if (options.groups !== undefined) {
      aArray(op, 'options.groups', options.groups);
      if (options.groups.length === 0) throw new EdgeRangeError(`cannot ${op}: options.groups must not be empty (leave it out for every group)`);
      options.groups.forEach((g, i) => aTopicLevel(op, `options.groups[${i}]`, g));
    }
    if (options.machineId !== undefined) aFunction(op, 'options.machineId', options.machineId);
    const rebirthIntervalMs = options.rebirthIntervalMs ?? 5000;
    aInteger(op, 'options.rebirthIntervalMs', rebirthIntervalMs, 0);
    const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    aInteger(op, 'options.connectTimeoutMs', connectTimeoutMs, 1);
    if (options.mqtt !== undefined) aObject(op, 'options.mqtt', options.mqtt);
    this.#sink = new EventSink('sparkplug', options.onEvent, options.onError);
    this.#options = { ...options, rebirthIntervalMs, connectTimeoutMs, groups: options.groups };
    this.#stateTopic = `${NAMESPACE}/STATE/${options.hostId}`;
  }

  /**
   * Connects to the broker (Will = STATE offline), subscribes to the groups' topics and publishes
   * STATE online. Resolves when the host is online.
   * @throws EdgeError `EDGE_ERR_CONNECTOR` if the broker cannot be reached within `connectTimeoutMs` or refuses the subscription, or the host was started before
   */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new EdgeError(EDGE_ERR.CONNECTOR, `cannot start Sparkplug host: it is ${this.#state}`);
    this.#state = 'running';
    const o = this.#options;
    this.#stateTimestamp = Date.now();
    const client = connect(o.brokerUrl, {
      reconnectPeriod: 1000, connectTimeout: o.connectTimeoutMs, ...o.mqtt,
      clientId: `${o.hostId}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
      clean: true,
      will: this.#will(),
    });
    this.#client = client;
    const topics = o.groups === undefined ? [`${NAMESPACE}/#`] : o.groups.map((g) => `${NAMESPACE}/${g}/#`);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no connection within ${o.connectTimeoutMs} ms`)), o.connectTimeoutMs);
        client.once('connect', () => { clearTimeout(timer); resolve(); });
      });
      await client.subscribeAsync([...topics, this.#stateTopic], { qos: 1 });
      await this.#publishState(true);
    } catch (cause) {
      this.#state = 'stopped';
      this.#client = undefined;
      await client.endAsync(true).catch(() => {});
      throw new EdgeError(EDGE_ERR.CONNECTOR, `cannot start Sparkplug host: ${o.brokerUrl}: ${(cause as Error)?.message ?? cause}`, { cause });
    }
    client.on('message', (topic, payload) => this.#onMessage(topic, payload));
    client.on('close', () => {
      if (this.#state !== 'running') return;
      this.#counters.connectionLosses++;
      this.#sink.lossAll('broker connection lost');
    });
    client.on('reconnect', () => {
      // A new connection, a new STATE timestamp: the Will the client sends must carry it (3.0.0 §7.3).
      this.#stateTimestamp = Date.now();
      client.options.will = this.#will();
    });
    client.on('connect', () => {
      this.#publishState(true).catch((cause) => this.#report(new EdgeError(EDGE_ERR.CONNECTOR, 'cannot publish Sparkplug STATE online after a reconnect', { cause })));
    });
    client.on('error', (cause) => this.#report(new EdgeError(EDGE_ERR.CONNECTOR, `cannot stay connected to ${o.brokerUrl}: ${cause.message}`, { cause })));
  }

  /** Publishes STATE offline (same timestamp as the online one) and disconnects. Idempotent. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    const client = this.#client;
    this.#client = undefined;
    if (client === undefined) return;
    if (client.connected) await this.#publishState(false, client).catch(() => {});
    await client.endAsync().catch(() => {});
  }

  /** `await using host = …` stops it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /** A copy of the counters. */
  counters(): SparkplugCounters {
    return { ...this.#sink.counters(), ...this.#counters };
  }

  #will(): NonNullable<IClientOptions['will']> {
    return { topic: this.#stateTopic, payload: Buffer.from(stateJson(false, this.#stateTimestamp)), qos: 1, retain: true };
  }

  async #publishState(online: boolean, client = this.#client): Promise<void> {
    await client?.publishAsync(this.#stateTopic, stateJson(online, this.#stateTimestamp), { qos: 1, retain: true });
  }

  #onMessage(topic: string, payload: Buffer): void {
    if (this.#state !== 'running') return;
    const levels = topic.split('/');
    if (levels[0] !== NAMESPACE) return;
    if (levels[1] === 'STATE') {
      if (topic === this.#stateTopic) this.#onOwnState(payload);
      return;
    }
    this.#counters.messages++;
    const [, group, type, node, device] = levels;
    if (levels.length < 4 || levels.length > 5 || !group || !node || (levels.length === 5 && !device)) {
      this.#decodeError(undefined, `topic '${topic.slice(0, 120)}' is not spBv1.0/<group>/<type>/<node>[/<device>]`);
      return;
    }
    if (type === 'NCMD' || type === 'DCMD') return;
    const key = `${group}/${node}`;
    let decoded: Payload;
    try {
      decoded = codec.decodePayload(payload);
    } catch (cause) {
      this.#decodeError({ group, node }, `${type} of ${key} is not a Sparkplug B payload`, cause);
      return;
    }
    try {
      switch (type) {
        case 'NBIRTH': this.#nbirth(group, node, decoded); break;
        case 'NDEATH': this.#ndeath(key, decoded); break;
        case 'NDATA': this.#data(group, node, undefined, decoded); break;
        case 'DBIRTH': this.#dbirth(group, node, device, decoded); break;
        case 'DDATA': this.#data(group, node, device, decoded); break;
        case 'DDEATH': this.#ddeath(group, node, device, decoded); break;
        default: this.#decodeError({ group, node }, `unknown message type '${String(type).slice(0, 20)}' from ${key}`);
      }
    } catch (cause) {
      if (!(cause instanceof EdgeError)) throw cause;
      this.#decodeError({ group, node }, cause.message, cause.cause);
    }
  }

  #nbirth(group: string, node: string, p: Payload): void {
    const seq = seqOf(p, 'NBIRTH');
    const bdSeq = p.metrics?.find((m) => m.name === 'bdSeq');
    if (bdSeq === undefined || toNumber(bdSeq.value) === undefined) throw decodeError(`NBIRTH of ${group}/${node} has no bdSeq metric`);
    this.#counters.births++;
    const key = `${group}/${node}`;
    const previous = this.#nodes.get(key);
    if (previous?.online && !this.#rebirthAt.has(key)) {
      // A new session without a death in between (or a birth nobody asked for): data may be lost.
      this.#lossNode(previous, 'NBIRTH without NDEATH');
    }
    const state: NodeState = {
      group, node, machineId: this.#machineId({ group, node }), aliases: new Map(), held: new Map(),
      online: true, bdSeq: toNumber(bdSeq.value), seq, devices: previous?.devices ?? new Map(),
    };
    this.#rebirthAt.delete(key);
    // An NBIRTH invalidates every device birth of the node (3.0.0 §7.6): devices must rebirth.
    for (const d of state.devices.values()) { d.online = false; d.aliases.clear(); }
    this.#nodes.set(key, state);
    this.#sink.track(state.machineId);
    this.#apply(state, state, p, true);
  }

  #ndeath(key: string, p: Payload): void {
    this.#counters.deaths++;
    const state = this.#nodes.get(key);
    const bdSeq = toNumber(p.metrics?.find((m) => m.name === 'bdSeq')?.value);
    if (state === undefined || !state.online || bdSeq !== state.bdSeq) {
      this.#counters.staleDeaths++;
      return;
    }
    state.online = false;
    this.#lossNode(state, 'NDEATH');
  }

  #dbirth(group: string, node: string, device: string, p: Payload): void {
    const state = this.#bornNode(group, node, device, p);
    if (state === undefined) return;
    this.#counters.births++;
    let scope = state.devices.get(device);
    if (scope === undefined) {
      scope = { machineId: this.#machineId({ group, node, device }), aliases: new Map(), held: new Map(), online: true };
      state.devices.set(device, scope);
    }
    scope.online = true;
    scope.aliases.clear();
    scope.held.clear();
    this.#sink.track(scope.machineId);
    this.#apply(state, scope, p, true);
  }

  #ddeath(group: string, node: string, device: string, p: Payload): void {
    const state = this.#bornNode(group, node, device, p);
    if (state === undefined) return;
    this.#counters.deaths++;
    const scope = state.devices.get(device);
    if (scope === undefined || !scope.online) return;
    scope.online = false;
    this.#sink.loss(scope.machineId, 'DDEATH');
  }

  #data(group: string, node: string, device: string | undefined, p: Payload): void {
    const state = this.#bornNode(group, node, device, p);
    if (state === undefined) return;
    if (device === undefined) {
      this.#apply(state, state, p, false);
      return;
    }
    const scope = state.devices.get(device);
    if (scope === undefined || !scope.online) {
      this.#counters.unborn++;
      this.#sink.loss(scope?.machineId ?? this.#machineId({ group, node, device }), `DDATA of ${group}/${node}/${device} before its DBIRTH`);
      this.#rebirth(group, node);
      return;
    }
    this.#apply(state, scope, p, false);
  }

  /** The node of a non-birth message, once its seq is checked; undefined (and a rebirth asked) if the node is not born. */
  #bornNode(group: string, node: string, device: string | undefined, p: Payload): NodeState | undefined {
    const key = `${group}/${node}`;
    const state = this.#nodes.get(key);
    const seq = seqOf(p, 'message');
    if (state === undefined || !state.online) {
      this.#counters.unborn++;
      const machineId = device === undefined ? this.#machineId({ group, node }) : this.#machineId({ group, node, device });
      this.#sink.loss(machineId, `data of ${key} before its NBIRTH`);
      this.#rebirth(group, node);
      return undefined;
    }
    const expected = (state.seq + 1) % 256;
    state.seq = seq;
    if (seq !== expected) {
      this.#counters.sequenceGaps++;
      this.#lossNode(state, `sequence gap (expected seq ${expected}, got ${seq})`);
      this.#rebirth(group, node);
    }
    return state;
  }

  /** Reads a birth's or data message's metrics into a scope and emits its samples. */
  #apply(state: NodeState, scope: Scope, p: Payload, birth: boolean): void {
    const fallbackT = toNumber(p.timestamp) ?? Date.now();
    const changes: { t: number; name: string; value: number }[] = [];
    let unknownAlias = false;
    for (const m of p.metrics ?? []) {
      const alias = toNumber(m.alias);
      let name = m.name ?? undefined;
      if (birth) {
        if (!name) throw decodeError(`a ${scope === state ? 'NBIRTH' : 'DBIRTH'} metric of ${scope.machineId} has no name`);
        if (alias !== undefined) scope.aliases.set(alias, name);
      } else if (!name) {
        name = alias === undefined ? undefined : scope.aliases.get(alias);
        if (name === undefined) {
          this.#counters.unknownAliases++;
          unknownAlias = true;
          continue;
        }
      }
      if (!isSignal(name)) continue;
      if (m.isHistorical) { this.#counters.historical++; continue; }
      const value = m.value === null || m.isNull ? Number.NaN : metricNumber(m);
      if (value === undefined) { this.#counters.nonNumeric++; continue; }
      changes.push({ t: toNumber(m.timestamp) ?? fallbackT, name, value });
    }
    if (unknownAlias) {
      this.#sink.loss(scope.machineId, 'a metric with an unknown alias');
      this.#rebirth(state.group, state.node);
    }
    changes.sort((a, b) => a.t - b.t);
    for (let i = 0; i < changes.length;) {
      const t = changes[i].t;
      for (; i < changes.length && changes[i].t === t; i++) scope.held.set(changes[i].name, changes[i].value);
      this.#sink.sample(scope.machineId, t, Object.fromEntries(scope.held));
    }
  }

  #lossNode(state: NodeState, reason: string): void {
    this.#sink.loss(state.machineId, reason);
    for (const d of state.devices.values()) this.#sink.loss(d.machineId, reason);
  }

  /** Publishes NCMD `Node Control/Rebirth = true` (3.0.0 §6.4.16), at most once per node per `rebirthIntervalMs`. */
  #rebirth(group: string, node: string): void {
    const key = `${group}/${node}`;
    const now = Date.now();
    const last = this.#rebirthAt.get(key);
    if (last !== undefined && now - last < this.#options.rebirthIntervalMs) return;
    this.#rebirthAt.set(key, now);
    this.#counters.rebirthRequests++;
    const payload = codec.encodePayload({ timestamp: now, metrics: [{ name: 'Node Control/Rebirth', type: 'Boolean', value: true }] });
    this.#client?.publishAsync(`${NAMESPACE}/${group}/NCMD/${node}`, Buffer.from(payload), { qos: 0 })
      .catch((cause) => this.#report(new EdgeError(EDGE_ERR.CONNECTOR, `cannot publish a rebirth request to ${key}`, { cause })));
  }

  #onOwnState(payload: Buffer): void {
    let online: unknown;
    try { online = (JSON.parse(payload.toString('utf8')) as { online?: unknown }).online; } catch { return; }
    // Another session's Will (or a stale retained message) says we are offline while we are not (3.0.0 §7.3).
    if (online === false && this.#client?.connected) {
      this.#publishState(true).catch((cause) => this.#report(new EdgeError(EDGE_ERR.CONNECTOR, 'cannot republish Sparkplug STATE online', { cause })));
    }
  }

  #decodeError(ids: { group: string; node: string } | undefined, reason: string, cause?: unknown): void {
    this.#counters.decodeErrors++;
    this.#report(new EdgeError(EDGE_ERR.SPARKPLUG_DECODE, `cannot read Sparkplug message: ${reason}`, { cause }));
    if (ids === undefined) return;
    const state = this.#nodes.get(`${ids.group}/${ids.node}`);
    if (state !== undefined) this.#lossNode(state, 'undecodable message');
    this.#rebirth(ids.group, ids.node);
  }

  #machineId(ids: SparkplugIds): string {
    const f = this.#options.machineId;
    if (f === undefined) return ids.device === undefined ? `${ids.group}/${ids.node}` : `${ids.group}/${ids.node}/${ids.device}`;
    const id = f(ids);
    aString('map Sparkplug machine id', 'machineId(ids)', id);
    return id;
  }

  #report(error: EdgeError): void {
    try { this.#options.onError?.(error); } catch { /* a failing error handler must not stop the host */ }
  }
}

function stateJson(online: boolean, timestamp: number): string {
  return JSON.stringify({ online, timestamp });
}

function aTopicLevel(op: string, name: string, value: unknown): asserts value is string {
  aString(op, name, value);
  if (/[/+#]/.test(value)) throw new EdgeRangeError(`cannot ${op}: ${name} must not contain '/', '+' or '#', got '${value.slice(0, 80)}'`);
}

function decodeError(message: string): EdgeError {
  return new EdgeError(EDGE_ERR.SPARKPLUG_DECODE, message);
}

function seqOf(p: Payload, what: string): number {
  const seq = toNumber(p.seq);
  if (seq === undefined || !Number.isInteger(seq) || seq < 0 || seq > 255) throw decodeError(`${what} has no seq in [0, 255] (got ${describe(p.seq)})`);
  return seq;
}

/** A protobuf integer (a number or a `long` Long) as a number; undefined if absent. */
function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'object' && v !== null && typeof (v as { toNumber?: unknown }).toNumber === 'function') return (v as { toNumber(): number }).toNumber();
  return undefined;
}

function metricNumber(m: Metric): number | undefined {
  switch (m.type) {
    case 'Int8': case 'Int16': case 'Int32': case 'Int64': case 'UInt8': case 'UInt16': case 'UInt32': case 'UInt64':
    case 'Float': case 'Double':
      return toNumber(m.value);
    case 'Boolean':
      return typeof m.value === 'boolean' ? (m.value ? 1 : 0) : undefined;
    default:
      return undefined;
  }
}

function isSignal(name: string): boolean {
  return name !== 'bdSeq' && !name.startsWith('Node Control/') && !name.startsWith('Device Control/') && !name.startsWith('Properties/');
}
