/**
 * The events that flow through the edge gateway: what connectors produce (raw, inside the plant)
 * and what the data policy lets through (shared, pseudonymised). Connectors turn every reading
 * into numbers (a boolean flag becomes 0 / 1) and assemble one {@link RawSample} per machine and
 * instant; when they lose data (a reconnect, a Sparkplug sequence gap) they emit a {@link RawGap}
 * so that the loss is marked, never hidden.
 * @module
 */
import { aFinite, aObject, aString, describe } from './assert.ts';
import { EdgeRangeError, EdgeTypeError } from './errors.ts';

/** One reading of a machine's signals at one instant, as a connector produced it (never leaves the plant). */
export interface RawSample {
  readonly kind: 'sample';
  /** The machine's own identifier in the plant (pseudonymised before anything leaves). */
  readonly machineId: string;
  /** Time of the reading, milliseconds since the Unix epoch. */
  readonly t: number;
  /** Signal name → value. */
  readonly values: Readonly<Record<string, number>>;
}

/** A marker that a connector lost data of a machine at time `t` (reconnect, sequence gap, …). */
export interface RawGap {
  readonly kind: 'gap';
  readonly machineId: string;
  readonly t: number;
  /** Why, for the plant's own logs, e.g. `opcua: subscription recreated`. */
  readonly reason: string;
}

/** What a connector emits. */
export type RawEvent = RawSample | RawGap;

/** A sample after the data policy: pseudonymised machine, only shareable signals, values in range. */
export interface SharedSample {
  readonly kind: 'sample';
  /** The machine's pseudonym (see `pseudonymise` in `policy.ts`). */
  readonly machine: string;
  readonly t: number;
  /** Shareable signal name → value, clamped into the policy's range where the policy says so. */
  readonly values: Readonly<Record<string, number>>;
  /** The class name the policy's label mapping gave this sample's raw label value, when the policy has a label. */
  readonly label?: string;
}

/** A gap marker after the data policy (machine pseudonymised). */
export interface SharedGap {
  readonly kind: 'gap';
  readonly machine: string;
  readonly t: number;
  readonly reason: string;
}

/** What the data policy emits and the feature windows consume. */
export type SharedEvent = SharedSample | SharedGap;

/**
 * Checks the shape of a connector event: `kind`, a non-empty `machineId`, a finite `t`, and for a
 * sample an object of `values` whose entries are numbers (NaN and ±∞ are allowed here: the data
 * policy counts and rejects them, since a sensor can deliver them).
 *
 * @param op - the operation, for the message (`cannot <op>: …`)
 * @param name - the argument's name, for the message
 * @throws EdgeTypeError if a field has the wrong type
 * @throws EdgeRangeError if `kind` is unknown, `machineId` empty or `t` not finite
 * @example
 * ```ts
 * assertRawEvent('apply policy', 'events[0]', { kind: 'sample', machineId: 'mill-3', t: Date.now(), values: { torque: 40 } });
 * ```
 */
export function assertRawEvent(op: string, name: string, value: unknown): asserts value is RawEvent {
  aObject(op, name, value);
  aString(op, `${name}.machineId`, value.machineId);
  aFinite(op, `${name}.t`, value.t);
  if (value.kind === 'gap') {
    aString(op, `${name}.reason`, value.reason);
  } else if (value.kind === 'sample') {
    aObject(op, `${name}.values`, value.values);
    for (const [signal, v] of Object.entries(value.values)) {
      if (typeof v !== 'number') throw new EdgeTypeError(`cannot ${op}: ${name}.values.${signal} must be a number, got ${describe(v)}`);
    }
  } else {
    throw new EdgeRangeError(`cannot ${op}: ${name}.kind must be 'sample' or 'gap', got ${typeof value.kind === 'string' ? `'${value.kind}'` : describe(value.kind)}`);
  }
}
