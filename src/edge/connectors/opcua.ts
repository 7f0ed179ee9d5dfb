/**
 * The OPC UA connector: a node-opcua client that subscribes to configured variables of each
 * machine and turns their data changes into {@link RawSample}s, marking every loss as a
 * {@link RawGap}.
 *
 * - **Metadata.** At start it reads each node's `EURange` and `EngineeringUnits` properties
 *   (mandatory on AnalogItemType, OPC UA Part 8 §5.3.2) so that a dataset schema's ranges and the
 *   policy's `explain` can come from the server ({@link OpcuaConnector.signals}).
 * - **Samples.** OPC UA reports changes only, so the connector holds each signal's last value
 *   and emits one sample per machine and distinct source timestamp, holding every signal of the
 *   machine, once each has been seen. A value with a Bad status becomes NaN (the data policy
 *   counts and rejects it). A change no newer than the machine's last sample (a value the server
 *   sends again after a reconnect) updates the held value but makes no sample.
 * - **Gaps.** A lost connection, a subscription recreated on a new session, and a monitored
 *   item whose queue overflowed (the Overflow bit, Part 4 §7.38) each mark a gap for the
 *   machines concerned (see `sink.ts` for how gaps are stamped). The client reconnects for ever,
 *   with backoff, and recreates the session and subscription if the server lost them.
 * - **Security.** `security: 'sign-and-encrypt'` opens a SignAndEncrypt channel with the
 *   Basic256Sha256 policy and the client's own certificate, created on first use in the PKI
 *   directory the caller gives ({@link opcuaClientCertificate}). The server's certificate must
 *   be trusted ({@link trustOpcuaServerCertificate}) unless `trustUnknownServer` is set; the
 *   server must in turn trust the client's. Sessions are anonymous.
 * @module
 */
import {
  AttributeIds, ClientMonitoredItemGroup, ClientSubscription, DataType, makeBrowsePath, MessageSecurityMode,
  OPCUACertificateManager, OPCUAClient, resolveNodeId, SecurityPolicy, StatusCodes, TimestampsToReturn,
  type ClientSession, type DataValue,
} from 'node-opcua';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { aArray, aInteger, aObject, aString, describe } from '../assert.ts';
import { EDGE_ERR, EdgeError, EdgeRangeError, EdgeTypeError } from '../errors.ts';
import { EventSink, type ErrorHandler, type EventHandler, type SinkCounters } from './sink.ts';

/** One variable to subscribe to: the signal name it becomes and its node id (`ns=1;s=mill-1.Torque`). */
export interface OpcuaSignalConfig {
  readonly name: string;
  readonly nodeId: string;
}

/** The variables of one machine. */
export interface OpcuaMachineConfig {
  readonly machineId: string;
  readonly signals: readonly OpcuaSignalConfig[];
}

/** Options of {@link OpcuaConnector}. */
export interface OpcuaConnectorOptions {
  /** The server, e.g. `opc.tcp://10.0.3.7:4840`. */
  readonly endpointUrl: string;
  readonly machines: readonly OpcuaMachineConfig[];
  /** Directory of the client's PKI (own certificate and key, trusted and rejected server certificates); created if missing. */
  readonly pkiDir: string;
  /** `none` (default) or `sign-and-encrypt` (Basic256Sha256). */
  readonly security?: 'none' | 'sign-and-encrypt';
  /** Accept a server certificate that is not in the trust list (default false). */
  readonly trustUnknownServer?: boolean;
  /** Requested sampling interval of each monitored item, ms (default 100). */
  readonly samplingIntervalMs?: number;
  /** Requested publishing interval of the subscription, ms (default 250). */
  readonly publishingIntervalMs?: number;
  /** Values the server queues per item between publishes (default 100); beyond it the oldest are lost and a gap is marked. */
  readonly queueSize?: number;
  /** Connection attempts at start before {@link OpcuaConnector.start} fails (default 3). Later reconnects never give up. */
  readonly connectAttempts?: number;
  /** Backoff between (re)connection attempts, ms (default 250 … 5000). */
  readonly reconnectDelayMs?: { readonly initial: number; readonly max: number };
  /** Receives every sample and gap (should not throw; see `sink.ts`). */
  readonly onEvent: EventHandler;
  /** Receives failures met while running (the connector keeps going). */
  readonly onError?: ErrorHandler;
}

/** A subscribed signal with what the server says about it. */
export interface OpcuaSignalInfo {
  readonly machineId: string;
  readonly name: string;
  readonly nodeId: string;
  /** EngineeringUnits display name (e.g. `Nm`), when the node has the property. */
  readonly unit?: string;
  /** EURange low and high, when the node has the property. */
  readonly lo?: number;
  readonly hi?: number;
}

/** What the connector has seen. */
export interface OpcuaCounters extends SinkCounters {
  /** Data changes received. */
  changes: number;
  /** Values with a Bad status (delivered as NaN). */
  badValues: number;
  /** Values of a type that is not a number or Boolean (delivered as NaN). */
  nonNumeric: number;
  /** Changes no newer than the machine's last sample (held, no sample made). */
  stale: number;
  /** Monitored-item queue overflows reported by the server. */
  overflows: number;
  connectionLosses: number;
  reconnections: number;
  /** Subscriptions recreated by the client on a new session. */
  subscriptionsRecreated: number;
}

const APPLICATION_NAME = 'hedge-edge';
const CERTIFICATE_FILE = 'own/certs/hedge_edge_certificate.pem';

/**
 * Returns the client's certificate (DER), creating the PKI and a self-signed certificate (10
 * years, application URI `urn:<host>:hedge-edge`) on first use, so that a plant admin can have it
 * trusted by the OPC UA server before the connector first connects with SignAndEncrypt.
 *
 * @throws EdgeTypeError / EdgeRangeError if `pkiDir` is not a non-empty string
 * @throws EdgeError `EDGE_ERR_CONNECTOR` if the PKI cannot be created or read
 * @example
 * ```ts
 * const der = await opcuaClientCertificate('/var/lib/hedge/opcua-pki');
 * writeFileSync('hedge-edge.der', der); // → the server admin's trust list
 * ```
 */
export async function opcuaClientCertificate(pkiDir: string): Promise<Buffer> {
  aString('read OPC UA client certificate', 'pkiDir', pkiDir);
  const manager = await openClientPki(pkiDir, false);
  try {
    return readCertificateDer(manager);
  } finally {
    await manager.dispose();
  }
}

/**
 * Adds an OPC UA server's certificate (DER) to the client's trust list in `pkiDir`, as a plant
 * admin does once per server before connecting with SignAndEncrypt.
 *
 * @throws EdgeTypeError if `pkiDir` is not a string or `certificate` not a Buffer
 * @throws EdgeError `EDGE_ERR_CONNECTOR` if the bytes are not an X.509 certificate or the PKI cannot store it
 * @example
 * ```ts
 * await trustOpcuaServerCertificate('/var/lib/hedge/opcua-pki', readFileSync('mill-controller.der'));
 * ```
 */
export async function trustOpcuaServerCertificate(pkiDir: string, certificate: Buffer): Promise<void> {
  const op = 'trust OPC UA server certificate';
  aString(op, 'pkiDir', pkiDir);
  if (!Buffer.isBuffer(certificate)) throw new EdgeTypeError(`cannot ${op}: certificate must be a Buffer, got ${describe(certificate)}`);
  try {
    new X509Certificate(certificate);
  } catch (cause) {
    throw new EdgeError(EDGE_ERR.CONNECTOR, `cannot ${op}: the bytes are not a DER X.509 certificate`, { cause });
  }
  const manager = await openClientPki(pkiDir, false);
  try {
    await manager.trustCertificate(certificate);
  } catch (cause) {
    throw new EdgeError(EDGE_ERR.CONNECTOR, `cannot ${op}: the PKI in ${pkiDir} refused it`, { cause });
  } finally {
    await manager.dispose();
  }
}

/**
 * An OPC UA client connector (see the module documentation for what it guarantees).
 * @example
 * ```ts
 * const connector = new OpcuaConnector({
 *   endpointUrl: 'opc.tcp://10.0.3.7:4840', pkiDir: '/var/lib/hedge/opcua-pki', security: 'sign-and-encrypt',
 *   machines: [{ machineId: 'mill-1', signals: [{ name: 'torque', nodeId: 'ns=1;s=mill-1.Torque' }] }],
 *   onEvent: (event) => buffer.append([event]),
 *   onError: (error) => log.warn(error.message),
 * });
 * await connector.start();
 * console.log(connector.signals()); // [{ machineId: 'mill-1', name: 'torque', unit: 'Nm', lo: 0, hi: 80, … }]
 * …
 * await connector.stop();
 * ```
 */
export class OpcuaConnector {
  readonly #options: Required<Omit<OpcuaConnectorOptions, 'onError'>> & Pick<OpcuaConnectorOptions, 'onError'>;
  readonly #sink: EventSink;
  readonly #counters = { changes: 0, badValues: 0, nonNumeric: 0, stale: 0, overflows: 0, connectionLosses: 0, reconnections: 0, subscriptionsRecreated: 0 };
  readonly #machines: MachineState[];
  #signals: OpcuaSignalInfo[] = [];
  #state: 'new' | 'starting' | 'running' | 'stopped' = 'new';
  #client: OPCUAClient | undefined;
  #manager: OPCUACertificateManager | undefined;
  #session: ClientSession | undefined;
  #subscription: ClientSubscription | undefined;
  #flushScheduled = false;

  /** @throws EdgeTypeError / EdgeRangeError on a bad option (names it) */
  constructor(options: OpcuaConnectorOptions) {
    const op = 'create OPC UA connector';
    aObject(op, 'options', options);
    aString(op, 'options.endpointUrl', options.endpointUrl);
    if (!/^opc\.tcp:\/\/[^/]+/.test(options.endpointUrl)) throw new EdgeRangeError(`cannot ${op}: options.endpointUrl must start with opc.tcp://host, got '${options.endpointUrl.slice(0, 80)}'`);
    aString(op, 'options.pkiDir', options.pkiDir);
    aArray(op, 'options.machines', options.machines);
    if (options.machines.length === 0) throw new EdgeRangeError(`cannot ${op}: options.machines must not be empty`);
    const seenMachines = new Set<string>();
    options.machines.forEach((m, i) => {
      aObject(op, `options.machines[${i}]`, m);
      aString(op, `options.machines[${i}].machineId`, m.machineId);
      if (seenMachines.has(m.machineId)) throw new EdgeRangeError(`cannot ${op}: machine '${m.machineId}' is configured twice`);
      seenMachines.add(m.machineId);
      aArray(op, `options.machines[${i}].signals`, m.signals);
      if (m.signals.length === 0) throw new EdgeRangeError(`cannot ${op}: options.machines[${i}].signals must not be empty`);
      const seen = new Set<string>();
      m.signals.forEach((s, j) => {
        aObject(op, `options.machines[${i}].signals[${j}]`, s);
        aString(op, `options.machines[${i}].signals[${j}].name`, s.name);
        aString(op, `options.machines[${i}].signals[${j}].nodeId`, s.nodeId);
        try { resolveNodeId(s.nodeId); } catch (cause) {
          throw new EdgeRangeError(`cannot ${op}: options.machines[${i}].signals[${j}].nodeId is not a node id: '${s.nodeId.slice(0, 80)}'`, { cause });
        }
        if (seen.has(s.name)) throw new EdgeRangeError(`cannot ${op}: signal '${s.name}' of machine '${m.machineId}' is configured twice`);
        seen.add(s.name);
      });
    });
    const security = options.security ?? 'none';
    if (security !== 'none' && security !== 'sign-and-encrypt') throw new EdgeRangeError(`cannot ${op}: options.security must be 'none' or 'sign-and-encrypt', got ${describe(security)}`);
    const samplingIntervalMs = options.samplingIntervalMs ?? 100;
    aInteger(op, 'options.samplingIntervalMs', samplingIntervalMs, 0);
    const publishingIntervalMs = options.publishingIntervalMs ?? 250;
    aInteger(op, 'options.publishingIntervalMs', publishingIntervalMs, 10);
    const queueSize = options.queueSize ?? 100;
    aInteger(op, 'options.queueSize', queueSize, 1, 65_535);
    const connectAttempts = options.connectAttempts ?? 3;
    aInteger(op, 'options.connectAttempts', connectAttempts, 1, 1000);
    const reconnectDelayMs = options.reconnectDelayMs ?? { initial: 250, max: 5000 };
    aObject(op, 'options.reconnectDelayMs', reconnectDelayMs);
    aInteger(op, 'options.reconnectDelayMs.initial', reconnectDelayMs.initial, 10);
    aInteger(op, 'options.reconnectDelayMs.max', reconnectDelayMs.max, reconnectDelayMs.initial);
    if (options.trustUnknownServer !== undefined && typeof options.trustUnknownServer !== 'boolean') {
      throw new EdgeTypeError(`cannot ${op}: options.trustUnknownServer must be a boolean, got ${describe(options.trustUnknownServer)}`);
    }
    this.#sink = new EventSink('opcua', options.onEvent, options.onError);
    this.#options = {
      ...options, security, samplingIntervalMs, publishingIntervalMs, queueSize, connectAttempts, reconnectDelayMs,
      trustUnknownServer: options.trustUnknownServer ?? false,
    };
    this.#machines = options.machines.map((m) => {
      this.#sink.track(m.machineId);
      return { machineId: m.machineId, names: m.signals.map((s) => s.name), held: new Array<number | undefined>(m.signals.length), lastT: undefined, pending: [] };
    });
  }

  /**
   * Connects, reads every node's EURange and EngineeringUnits, and subscribes. Resolves once the
   * monitored items exist; samples follow through `onEvent`.
   *
   * @throws EdgeError `EDGE_ERR_CONNECTOR` if the server cannot be reached in `connectAttempts`, refuses the security settings or a certificate, or the connector was started before
   * @throws EdgeError `EDGE_ERR_OPCUA_NODE` if a configured node does not exist or cannot be monitored (the connection is closed again)
   */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new EdgeError(EDGE_ERR.CONNECTOR, `cannot start OPC UA connector: it is ${this.#state === 'starting' ? 'starting' : this.#state === 'running' ? 'running' : 'stopped'}`);
    this.#state = 'starting';
    const o = this.#options;
    try {
      const secure = o.security === 'sign-and-encrypt';
      this.#manager = await openClientPki(o.pkiDir, o.trustUnknownServer);
      const client = OPCUAClient.create({
        applicationName: APPLICATION_NAME,
        applicationUri: applicationUri(),
        clientCertificateManager: this.#manager,
        certificateFile: path.join(this.#manager.rootDir, CERTIFICATE_FILE),
        privateKeyFile: this.#manager.privateKey,
        securityMode: secure ? MessageSecurityMode.SignAndEncrypt : MessageSecurityMode.None,
        securityPolicy: secure ? SecurityPolicy.Basic256Sha256 : SecurityPolicy.None,
        endpointMustExist: false,
        keepSessionAlive: true,
        connectionStrategy: { maxRetry: o.connectAttempts - 1, initialDelay: o.reconnectDelayMs.initial, maxDelay: o.reconnectDelayMs.max },
      });
      this.#client = client;
      client.on('connection_lost', () => {
        this.#counters.connectionLosses++;
        this.#sink.lossAll('connection lost');
      });
      client.on('connection_reestablished', () => { this.#counters.reconnections++; });
      await client.connect(o.endpointUrl);
    } catch (cause) {
      await this.#close();
      this.#state = 'stopped';
      throw new EdgeError(EDGE_ERR.CONNECTOR, `cannot start OPC UA connector: cannot connect to ${o.endpointUrl}: ${(cause as Error)?.message ?? cause}`, { cause });
    }
    try {
      this.#session = await this.#client!.createSession();
      this.#signals = await this.#readMetadata(this.#session);
      await this.#subscribe(this.#session);
      this.#state = 'running';
    } catch (cause) {
      await this.#close();
      this.#state = 'stopped';
      if (cause instanceof EdgeError) throw cause;
      throw new EdgeError(EDGE_ERR.CONNECTOR, `cannot start OPC UA connector: ${(cause as Error)?.message ?? cause}`, { cause });
    }
  }

  /** Unsubscribes, closes the session and disconnects. Idempotent; events already delivered stay delivered. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    await this.#close();
  }

  /** `await using connector = …` stops it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /** The subscribed signals with the units and EU ranges read from the server at start (empty before). */
  signals(): OpcuaSignalInfo[] {
    return this.#signals.map((s) => ({ ...s }));
  }

  /** A copy of the counters. */
  counters(): OpcuaCounters {
    return { ...this.#sink.counters(), ...this.#counters };
  }

  async #readMetadata(session: ClientSession): Promise<OpcuaSignalInfo[]> {
    const configured = this.#options.machines.flatMap((m) => m.signals.map((s) => ({ machineId: m.machineId, name: s.name, nodeId: s.nodeId })));
    const current = await session.read(configured.map((s) => ({ nodeId: s.nodeId, attributeIds: AttributeIds.Value })));
    current.forEach((dv, i) => {
      const code = dv.statusCode;
      if (code === StatusCodes.BadNodeIdUnknown || code === StatusCodes.BadNodeIdInvalid || code === StatusCodes.BadAttributeIdInvalid) {
        const { machineId, name, nodeId } = configured[i];
        throw new EdgeError(EDGE_ERR.OPCUA_NODE, `cannot start OPC UA connector: node ${nodeId} (${machineId}.${name}) cannot be read: ${code.name}`);
      }
    });
    const paths = configured.flatMap((s) => [makeBrowsePath(s.nodeId, '.EURange'), makeBrowsePath(s.nodeId, '.EngineeringUnits')]);
    const targets = await session.translateBrowsePath(paths);
    const props = targets.map((r) => (r.statusCode.isGood() && r.targets && r.targets.length > 0 ? r.targets[0].targetId : null));
    const toRead = props.flatMap((id, k) => (id === null ? [] : [{ k, nodeId: id }]));
    const values = toRead.length === 0 ? [] : await session.read(toRead.map((r) => ({ nodeId: r.nodeId, attributeIds: AttributeIds.Value })));
    const byK = new Map(toRead.map((r, i) => [r.k, values[i]] as const));
    return configured.map((s, i) => {
      const range = byK.get(2 * i)?.value.value as { low?: unknown; high?: unknown } | null | undefined;
      const units = byK.get(2 * i + 1)?.value.value as { displayName?: { text?: unknown } } | null | undefined;
      const info: { -readonly [K in keyof OpcuaSignalInfo]: OpcuaSignalInfo[K] } = { ...s };
      if (typeof units?.displayName?.text === 'string' && units.displayName.text !== '') info.unit = units.displayName.text;
      if (typeof range?.low === 'number' && typeof range.high === 'number') { info.lo = range.low; info.hi = range.high; }
      return info;
    });
  }

  async #subscribe(session: ClientSession): Promise<void> {
    const o = this.#options;
    const subscription = ClientSubscription.create(session, {
      requestedPublishingInterval: o.publishingIntervalMs,
      requestedLifetimeCount: 600,
      requestedMaxKeepAliveCount: 20,
      maxNotificationsPerPublish: 0,
      publishingEnabled: true,
      priority: 1,
    });
    this.#subscription = subscription;
    await new Promise<void>((resolve, reject) => {
      subscription.once('started', () => resolve());
      subscription.once('error', reject);
    });
    subscription.on('subscriptionId_changed', () => {
      this.#counters.subscriptionsRecreated++;
      this.#sink.lossAll('subscription recreated');
    });
    subscription.on('internal_error', (cause: Error) => {
      this.#report(new EdgeError(EDGE_ERR.CONNECTOR, `cannot keep OPC UA subscription: ${cause.message}`, { cause }));
    });
    const items = this.#machines.flatMap((machine, m) => o.machines[m].signals.map((s, k) => ({ machine, k, nodeId: s.nodeId })));
    const group = ClientMonitoredItemGroup.create(subscription, items.map((i) => ({ nodeId: i.nodeId, attributeId: AttributeIds.Value })),
      { samplingInterval: o.samplingIntervalMs, discardOldest: true, queueSize: o.queueSize }, TimestampsToReturn.Both);
    group.on('changed', (_item: unknown, dataValue: DataValue, index: number) => this.#onChange(items[index].machine, items[index].k, dataValue));
    await new Promise<void>((resolve, reject) => {
      group.once('initialized', () => resolve());
      group.once('err', (message: string) => reject(new Error(message)));
    });
    group.monitoredItems.forEach((item, i) => {
      if (!item.statusCode.isGood()) {
        const { machine, k, nodeId } = items[i];
        throw new EdgeError(EDGE_ERR.OPCUA_NODE, `cannot start OPC UA connector: node ${nodeId} (${machine.machineId}.${machine.names[k]}) cannot be monitored: ${item.statusCode.name}`);
      }
    });
  }

  #onChange(machine: MachineState, k: number, dataValue: DataValue): void {
    this.#counters.changes++;
    machine.pending.push({ k, dataValue });
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      // The changes of one publish response arrive in one synchronous loop: flush after it.
      setImmediate(() => this.#flush());
    }
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#state === 'stopped') return;
    for (const machine of this.#machines) {
      if (machine.pending.length === 0) continue;
      const changes = machine.pending.splice(0)
        .map(({ k, dataValue }) => ({ k, dataValue, t: timeOf(dataValue) }))
        .sort((a, b) => a.t - b.t);
      for (let i = 0; i < changes.length;) {
        const t = changes[i].t;
        let overflow = false;
        for (; i < changes.length && changes[i].t === t; i++) {
          const { k, dataValue } = changes[i];
          if (dataValue.statusCode.hasOverflowBit) overflow = true;
          machine.held[k] = this.#numberOf(dataValue);
        }
        if (overflow) {
          this.#counters.overflows++;
          this.#sink.loss(machine.machineId, 'monitored item queue overflow');
        }
        if (machine.lastT !== undefined && t <= machine.lastT) {
          this.#counters.stale++;
          continue;
        }
        if (machine.held.some((v) => v === undefined)) continue;
        const values: Record<string, number> = {};
        machine.names.forEach((name, j) => { values[name] = machine.held[j]!; });
        if (this.#sink.sample(machine.machineId, t, values)) machine.lastT = t;
      }
    }
  }

  #numberOf(dataValue: DataValue): number {
    if (!dataValue.statusCode.isGoodish()) {
      this.#counters.badValues++;
      return Number.NaN;
    }
    const { dataType, value } = dataValue.value;
    if (typeof value === 'number') return value;
    if (typeof value === 'boolean') return value ? 1 : 0;
    if ((dataType === DataType.Int64 || dataType === DataType.UInt64) && Array.isArray(value) && value.length === 2) {
      return value[0] * 2 ** 32 + value[1];
    }
    this.#counters.nonNumeric++;
    return Number.NaN;
  }

  #report(error: EdgeError): void {
    try { this.#options.onError?.(error); } catch { /* a failing error handler must not stop the connector */ }
  }

  async #close(): Promise<void> {
    const errors: unknown[] = [];
    const attempt = async (f: () => Promise<unknown>): Promise<void> => { try { await f(); } catch (e) { errors.push(e); } };
    if (this.#subscription !== undefined) await attempt(() => this.#subscription!.terminate());
    if (this.#session !== undefined) await attempt(() => this.#session!.close());
    if (this.#client !== undefined) await attempt(() => this.#client!.disconnect());
    if (this.#manager !== undefined) await attempt(() => this.#manager!.dispose());
    this.#subscription = undefined;
    this.#session = undefined;
    this.#client = undefined;
    this.#manager = undefined;
  }
}

interface MachineState {
  readonly machineId: string;
  readonly names: readonly string[];
  /** Last value of each signal, in configuration order. */
  readonly held: (number | undefined)[];
  /** Time of the last sample made. */
  lastT: number | undefined;
  /** Changes received since the last flush. */
  pending: { k: number; dataValue: DataValue }[];
}

function timeOf(dataValue: DataValue): number {
  return dataValue.sourceTimestamp?.getTime() ?? dataValue.serverTimestamp?.getTime() ?? Date.now();
}

function applicationUri(): string {
  return `urn:${hostname()}:${APPLICATION_NAME}`;
}

async function openClientPki(pkiDir: string, trustUnknownServer: boolean): Promise<OPCUACertificateManager> {
  const manager = new OPCUACertificateManager({ rootFolder: path.resolve(pkiDir), automaticallyAcceptUnknownCertificate: trustUnknownServer });
  try {
    await manager.initialize();
    const certificateFile = path.join(manager.rootDir, CERTIFICATE_FILE);
    if (!existsSync(certificateFile)) {
      await manager.createSelfSignedCertificate({
        applicationUri: applicationUri(), subject: `/CN=${APPLICATION_NAME}@${hostname()}/O=hedge`, dns: [hostname()],
        startDate: new Date(), validity: 3650, outputFile: certificateFile,
      });
    }
    return manager;
  } catch (cause) {
    await manager.dispose().catch(() => {});
    throw new EdgeError(EDGE_ERR.CONNECTOR, `cannot open OPC UA client PKI in ${pkiDir}: ${(cause as Error)?.message ?? cause}`, { cause });
  }
}

function readCertificateDer(manager: OPCUACertificateManager): Buffer {
  const file = path.join(manager.rootDir, CERTIFICATE_FILE);
  try {
    return Buffer.from(new X509Certificate(readFileSync(file)).raw);
  } catch (cause) {
    throw new EdgeError(EDGE_ERR.CONNECTOR, `cannot read OPC UA client certificate ${file}`, { cause });
  }
}
