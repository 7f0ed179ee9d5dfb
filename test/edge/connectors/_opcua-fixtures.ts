/** Shared inputs of the OPC UA connector tests. Exports only. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OpcuaMachineConfig } from '../../../src/edge/connectors/opcua.ts';
import { MILLING_SIGNALS, readAi4iRows, type MillingMachineSim, type MillingRow } from '../../../src/edge/sim/milling-machine.ts';

export const AI4I_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../shared/data/ai4i2020.csv');

let rows: Promise<MillingRow[]> | undefined;
/** The first 300 AI4I rows (read once per test file). */
export function someRows(): Promise<MillingRow[]> {
  rows ??= readAi4iRows(AI4I_PATH).then((all) => all.slice(0, 300));
  return rows;
}

/** The connector configuration for every signal of the simulator's machines. */
export function machinesOf(sim: MillingMachineSim, ids: readonly string[]): OpcuaMachineConfig[] {
  return ids.map((machineId) => ({ machineId, signals: MILLING_SIGNALS.map((s) => ({ name: s.signal, nodeId: sim.nodeId(machineId, s.signal) })) }));
}

/** The index of the row whose six values equal the sample's, or -1. */
export function rowIndexOf(rows: readonly MillingRow[], values: Readonly<Record<string, number>>): number {
  return rows.findIndex((r) => MILLING_SIGNALS.every((s) => r[s.signal] === values[s.signal]));
}
