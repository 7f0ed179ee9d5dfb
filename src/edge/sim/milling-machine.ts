/**
 * A simulated milling machine: a real node-opcua **server** whose variables advance through rows of
 * the AI4I 2020 predictive-maintenance data, one row per tick. The OPC UA connector's tests and
 * `hedge demo` talk to it exactly as they would to a machine's controller.
 *
 * Address space, per machine `<id>` (namespace 1): an object `<id>` organised under Objects,
 * holding five AnalogItemType variables (Double, with EURange and EngineeringUnits) and a Boolean:
 *
 * | signal | node id | unit | EURange |
 * |---|---|---|---|
 * | air_temperature | `ns=1;s=<id>.AirTemperature` | K | [295, 305] |
 * | process_temperature | `ns=1;s=<id>.ProcessTemperature` | K | [305, 315] |
 * | rotational_speed | `ns=1;s=<id>.RotationalSpeed` | rpm | [1100, 2900] |
 * | torque | `ns=1;s=<id>.Torque` | Nm | [0, 80] |
 * | tool_wear | `ns=1;s=<id>.ToolWear` | min | [0, 260] |
 * | machine_failure | `ns=1;s=<id>.MachineFailure` | — (Boolean) | — |
 *
 * At each tick every variable of a machine gets the next row's value with one shared source
 * timestamp, so a subscriber sees one consistent instant per row. Rows wrap around at the end.
 * @module
 */
import {
  DataType, makeEUInformation, MessageSecurityMode, OPCUACertificateManager, OPCUAServer, SecurityPolicy,
  type UAVariable,
} from 'node-opcua';
import path from 'node:path';
import { aArray, aInteger, aObject, aString, describe } from '../assert.ts';
import { EDGE_ERR, EdgeError, EdgeRangeError } from '../errors.ts';
import { ai4iLayout, CsvReplay } from '../connectors/replay.ts';

/** One row of the simulation: a value per signal of {@link MILLING_SIGNALS}. */
export type MillingRow = Readonly<Record<MillingSignal, number>>;

/** The simulated signals, named as in `AI4I_COLUMNS` (src/edge/connectors/replay.ts). */
export type MillingSignal = 'air_temperature' | 'process_temperature' | 'rotational_speed' | 'torque' | 'tool_wear' | 'machine_failure';

/** How each signal appears in the address space. */
export interface MillingSignalSpec {
  readonly signal: MillingSignal;
  readonly browseName: string;
  /** Unit symbol (EngineeringUnits display name), absent for the Boolean flag. */
  readonly unit?: string;
  /** EURange, absent for the Boolean flag. */
  readonly range?: { readonly lo: number; readonly hi: number };
}

/**
 * The simulator's variables, in address-space order.
 * @example
 * ```ts
 * const torque = MILLING_SIGNALS.find((s) => s.signal === 'torque'); // { browseName: 'Torque', unit: 'Nm', range: { lo: 0, hi: 80 } }
 * ```
 */
export const MILLING_SIGNALS: readonly MillingSignalSpec[] = Object.freeze([
  { signal: 'air_temperature', browseName: 'AirTemperature', unit: 'K', range: { lo: 295, hi: 305 } },
  { signal: 'process_temperature', browseName: 'ProcessTemperature', unit: 'K', range: { lo: 305, hi: 315 } },
  { signal: 'rotational_speed', browseName: 'RotationalSpeed', unit: 'rpm', range: { lo: 1100, hi: 2900 } },
  { signal: 'torque', browseName: 'Torque', unit: 'Nm', range: { lo: 0, hi: 80 } },
  { signal: 'tool_wear', browseName: 'ToolWear', unit: 'min', range: { lo: 0, hi: 260 } },
  { signal: 'machine_failure', browseName: 'MachineFailure' },
] as const);

/** UNECE codes (the OPC UA EngineeringUnits convention) of the simulator's units. */
const UNITS: Readonly<Record<string, [string, string]>> = {
  K: ['KEL', 'kelvin'], rpm: ['RPM', 'revolutions per minute'], Nm: ['NU', 'newton metre'], min: ['MIN', 'minute'],
};

/** Options of {@link MillingMachineSim.start}. */
export interface MillingMachineOptions {
  /** The rows to play (at least one), e.g. from {@link readAi4iRows}. */
  readonly rows: readonly MillingRow[];
  /** Machine ids, one object each (default `['mill-1']`); machine `k` starts at row `k · ⌊rows / machines⌋`. */
  readonly machines?: readonly string[];
  /** Directory of the server's PKI (its own certificate, trusted and rejected client certificates); created if missing. */
  readonly pkiDir: string;
  /** Interface to listen on (default `127.0.0.1`). */
  readonly host?: string;
  /** TCP port; 0 (default) picks a free one (see {@link MillingMachineSim.port}). */
  readonly port?: number;
  /** Milliseconds between rows (default 1000, at least 5). */
  readonly intervalMs?: number;
  /** Row the first machine starts at (default 0). */
  readonly startRow?: number;
  /** Endpoints offered: `none`, `sign-and-encrypt` (Basic256Sha256), or `both` (default `none`). */
  readonly security?: 'none' | 'sign-and-encrypt' | 'both';
  /** Accept any client certificate (demo only; default false: trust them with {@link MillingMachineSim.trustClientCertificate}). */
  readonly acceptUnknownClients?: boolean;
}

/**
 * Reads the AI4I 2020 file (its six process columns) as simulation rows.
 * @throws EdgeError `EDGE_ERR_REPLAY_FORMAT` if the file cannot be read or a row is malformed
 * @example
 * ```ts
 * const rows = await readAi4iRows('../shared/data/ai4i2020.csv'); // 10,000 rows
 * ```
 */
export async function readAi4iRows(file: string): Promise<MillingRow[]> {
  const rows: MillingRow[] = [];
  for await (const event of new CsvReplay({ path: file, layout: ai4iLayout() }).events()) {
    if (event.kind === 'sample') rows.push(event.values as MillingRow);
  }
  return rows;
}

/**
 * A running simulated milling machine (one OPC UA server, one object per machine).
 * @example
 * ```ts
 * const sim = await MillingMachineSim.start({ rows: await readAi4iRows(csv), pkiDir: '/tmp/sim-pki', intervalMs: 100 });
 * console.log(sim.endpointUrl);                 // opc.tcp://127.0.0.1:41234
 * console.log(sim.nodeId('mill-1', 'torque'));  // ns=1;s=mill-1.Torque
 * await sim.stop();
 * ```
 */
export class MillingMachineSim {
  readonly #server: OPCUAServer;
  readonly #certificates: OPCUACertificateManager;
  readonly #machines: readonly { id: string; variables: UAVariable[]; row: number }[];
  readonly #rows: readonly MillingRow[];
  #timer: NodeJS.Timeout | undefined;
  #ticks = 0;
  #stopped = false;

  private constructor(server: OPCUAServer, certificates: OPCUACertificateManager, machines: { id: string; variables: UAVariable[]; row: number }[], rows: readonly MillingRow[]) {
    this.#server = server;
    this.#certificates = certificates;
    this.#machines = machines;
    this.#rows = rows;
  }

  /**
   * Starts the server, publishes the first row of every machine, and advances a row every `intervalMs`.
   * @throws EdgeTypeError / EdgeRangeError on a bad option (a row lacking a signal, an empty machine id, …)
   * @throws EdgeError `EDGE_ERR_CONNECTOR` if the server cannot start (port in use, PKI directory not writable)
   */
  static async start(options: MillingMachineOptions): Promise<MillingMachineSim> {
    const op = 'start milling machine simulator';
    aObject(op, 'options', options);
    aArray(op, 'options.rows', options.rows);
    if (options.rows.length === 0) throw new EdgeRangeError(`cannot ${op}: options.rows must not be empty`);
    options.rows.forEach((row, i) => {
      aObject(op, `options.rows[${i}]`, row);
      for (const { signal } of MILLING_SIGNALS) {
        if (typeof row[signal] !== 'number') throw new EdgeRangeError(`cannot ${op}: options.rows[${i}].${signal} must be a number, got ${describe(row[signal])}`);
      }
    });
    const machines = options.machines ?? ['mill-1'];
    aArray(op, 'options.machines', machines);
    if (machines.length === 0) throw new EdgeRangeError(`cannot ${op}: options.machines must not be empty`);
    machines.forEach((m, i) => aString(op, `options.machines[${i}]`, m));
    if (new Set(machines).size !== machines.length) throw new EdgeRangeError(`cannot ${op}: options.machines holds a machine twice`);
    aString(op, 'options.pkiDir', options.pkiDir);
    const host = options.host ?? '127.0.0.1';
    aString(op, 'options.host', host);
    const port = options.port ?? 0;
    aInteger(op, 'options.port', port, 0, 65_535);
    const intervalMs = options.intervalMs ?? 1000;
    aInteger(op, 'options.intervalMs', intervalMs, 5);
    const startRow = options.startRow ?? 0;
    aInteger(op, 'options.startRow', startRow, 0);
    const security = options.security ?? 'none';
    if (security !== 'none' && security !== 'sign-and-encrypt' && security !== 'both') {
      throw new EdgeRangeError(`cannot ${op}: options.security must be 'none', 'sign-and-encrypt' or 'both', got ${describe(security)}`);
    }

    const certificates = new OPCUACertificateManager({
      rootFolder: path.resolve(options.pkiDir),
      automaticallyAcceptUnknownCertificate: options.acceptUnknownClients === true,
    });
    const modes: MessageSecurityMode[] = [];
    const policies: SecurityPolicy[] = [];
    if (security !== 'sign-and-encrypt') { modes.push(MessageSecurityMode.None); policies.push(SecurityPolicy.None); }
    if (security !== 'none') { modes.push(MessageSecurityMode.SignAndEncrypt); policies.push(SecurityPolicy.Basic256Sha256); }
    let server: OPCUAServer | undefined;
    try {
      await certificates.initialize();
      server = new OPCUAServer({
        port, hostname: host, alternateHostname: [], serverCertificateManager: certificates,
        securityModes: modes, securityPolicies: policies, allowAnonymous: true,
        buildInfo: { productName: 'hedge milling machine simulator', manufacturerName: 'hedge' },
      });
      await server.initialize();
      const addressSpace = server.engine.addressSpace!;
      const namespace = addressSpace.getOwnNamespace();
      const span = Math.floor(options.rows.length / machines.length);
      const sims = machines.map((id, k) => {
        const object = namespace.addObject({ organizedBy: addressSpace.rootFolder.objects, browseName: id, nodeId: `s=${id}` });
        const variables = MILLING_SIGNALS.map((spec) => {
          const nodeId = `s=${id}.${spec.browseName}`;
          if (spec.range === undefined) {
            return namespace.addVariable({ componentOf: object, browseName: spec.browseName, nodeId, dataType: DataType.Boolean, minimumSamplingInterval: 0 });
          }
          const [code, long] = UNITS[spec.unit!];
          return namespace.addAnalogDataItem({
            componentOf: object, browseName: spec.browseName, nodeId, dataType: DataType.Double, minimumSamplingInterval: 0,
            engineeringUnitsRange: { low: spec.range.lo, high: spec.range.hi },
            engineeringUnits: makeEUInformation(code, spec.unit!, long),
          });
        });
        return { id, variables, row: (startRow + k * span) % options.rows.length };
      });
      const sim = new MillingMachineSim(server, certificates, sims, options.rows);
      sim.#publish();
      await server.start();
      sim.#timer = setInterval(() => sim.#advance(), intervalMs);
      return sim;
    } catch (cause) {
      await server?.shutdown(0).catch(() => {});
      await certificates.dispose().catch(() => {});
      throw new EdgeError(EDGE_ERR.CONNECTOR, `cannot ${op}: ${(cause as Error)?.message ?? cause}`, { cause });
    }
  }

  /** The URL clients connect to, e.g. `opc.tcp://127.0.0.1:41234`. */
  get endpointUrl(): string {
    return this.#server.getEndpointUrl();
  }

  /** The TCP port the server listens on (the one chosen when started with port 0). */
  get port(): number {
    return this.#server.endpoints[0].port;
  }

  /** Rows advanced since start (the first row is published at start, before tick 1). */
  get ticks(): number {
    return this.#ticks;
  }

  /**
   * The node id of a machine's signal, as a string for the connector's configuration.
   * @throws EdgeRangeError if the machine or signal is unknown
   */
  nodeId(machineId: string, signal: MillingSignal): string {
    const spec = MILLING_SIGNALS.find((s) => s.signal === signal);
    if (spec === undefined) throw new EdgeRangeError(`cannot name simulator node: unknown signal ${describe(signal)} '${String(signal)}'`);
    if (!this.#machines.some((m) => m.id === machineId)) throw new EdgeRangeError(`cannot name simulator node: unknown machine '${String(machineId)}'`);
    return `ns=1;s=${machineId}.${spec.browseName}`;
  }

  /** The index of the row a machine currently shows. */
  currentRow(machineId: string): number {
    const machine = this.#machines.find((m) => m.id === machineId);
    if (machine === undefined) throw new EdgeRangeError(`cannot read simulator row: unknown machine '${String(machineId)}'`);
    return machine.row;
  }

  /** The server's own certificate (DER), for a client's trust list (`trustOpcuaServerCertificate`). */
  certificate(): Buffer {
    return Buffer.from(this.#server.getCertificate());
  }

  /**
   * Trusts a client's certificate (DER), as a server admin would, so that it may open a
   * SignAndEncrypt channel.
   * @throws EdgeError `EDGE_ERR_CONNECTOR` if the PKI cannot store it
   */
  async trustClientCertificate(certificate: Buffer): Promise<void> {
    try {
      await this.#certificates.trustCertificate(certificate);
    } catch (cause) {
      throw new EdgeError(EDGE_ERR.CONNECTOR, 'cannot trust client certificate: the PKI refused it', { cause });
    }
  }

  /** Stops ticking and shuts the server down at once (clients see the connection drop). Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#server.shutdown(0);
    await this.#certificates.dispose();
  }

  /** `await using sim = await MillingMachineSim.start(…)` stops it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  #advance(): void {
    this.#ticks++;
    for (const machine of this.#machines) machine.row = (machine.row + 1) % this.#rows.length;
    this.#publish();
  }

  #publish(): void {
    const now = new Date();
    for (const machine of this.#machines) {
      const row = this.#rows[machine.row];
      MILLING_SIGNALS.forEach((spec, i) => {
        const value = spec.range === undefined
          ? { dataType: DataType.Boolean, value: row[spec.signal] !== 0 }
          : { dataType: DataType.Double, value: row[spec.signal] };
        machine.variables[i].setValueFromSource(value, undefined, now);
      });
    }
  }
}
