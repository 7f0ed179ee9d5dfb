/**
 * The one place where connectors hand events to the gateway: an {@link EventSink} delivers
 * {@link RawSample}s to the caller's `onEvent` and turns every loss a connector reports into a
 * {@link RawGap} stamped so that the feature windows discard exactly the window with the hole.
 *
 * Stamping rule. A gap at `t` says "data of this machine since its previous event may be missing"
 * (src/edge/features.ts). The sink stamps a gap with the time of the machine's last delivered
 * sample, so the window that holds the hole is discarded and samples after the loss start a new
 * one; for a machine with no sample yet the gap waits and is delivered just before its first
 * sample, stamped with that sample's time. Several losses in a row with no sample between them
 * make one gap (the first reason is kept). If `onEvent` throws, the event is lost too: the sink
 * reports `EDGE_ERR_CONNECTOR_DELIVERY` to `onError` and marks a gap before the next sample.
 * @module
 */
import { aFunction } from '../assert.ts';
import { EDGE_ERR, EdgeError } from '../errors.ts';
import type { RawEvent } from '../sample.ts';

/** Counters every connector reports (its own counters extend these). */
export interface SinkCounters {
  /** Samples delivered to `onEvent`. */
  samples: number;
  /** Gap markers delivered to `onEvent`. */
  gaps: number;
  /** Events `onEvent` refused by throwing (each one lost, and marked by a gap). */
  deliveryFailures: number;
}

/** Receives the connector's events. It should not throw; see {@link EventSink}. */
export type EventHandler = (event: RawEvent) => void;

/** Receives failures a connector meets while it runs (it keeps running); always an `EdgeError`. */
export type ErrorHandler = (error: EdgeError) => void;

interface MachineMark {
  /** Time of the machine's last delivered sample. */
  lastT: number | undefined;
  /** Reason of a loss not yet delivered as a gap. */
  pending: string | undefined;
  /** The last delivered event was a gap (a second loss before a sample adds nothing). */
  gapDelivered: boolean;
}

/**
 * Gap-aware delivery of raw events to a callback, shared by the connectors.
 * @example
 * ```ts
 * const sink = new EventSink('opcua', (e) => buffer.append([e]), (err) => log.warn(err));
 * sink.sample('mill-1', Date.now(), { torque: 41.2 });
 * sink.loss('mill-1', 'opcua: connection lost');   // → { kind: 'gap', machineId: 'mill-1', t: <that sample's t>, … }
 * ```
 */
export class EventSink {
  readonly #source: string;
  readonly #onEvent: EventHandler;
  readonly #onError: ErrorHandler;
  readonly #machines = new Map<string, MachineMark>();
  readonly #counters: SinkCounters = { samples: 0, gaps: 0, deliveryFailures: 0 };

  /**
   * @param source - the connector's name, prefixed to gap reasons and error messages
   * @param onEvent - receives every sample and gap
   * @param onError - receives delivery failures (default: ignore; the counters still show them)
   * @throws EdgeTypeError if a callback is not a function
   */
  constructor(source: string, onEvent: EventHandler, onError?: ErrorHandler) {
    aFunction('create event sink', 'onEvent', onEvent);
    if (onError !== undefined) aFunction('create event sink', 'onError', onError);
    this.#source = source;
    this.#onEvent = onEvent;
    this.#onError = onError ?? (() => {});
  }

  /**
   * Delivers one sample, preceded by the machine's pending gap if there is one. Never throws: a
   * throwing `onEvent` is reported to `onError` and marked as a loss.
   * @returns whether the sample was delivered
   */
  sample(machineId: string, t: number, values: Readonly<Record<string, number>>): boolean {
    const mark = this.#mark(machineId);
    if (mark.pending !== undefined && !this.#deliverGap(machineId, mark, mark.lastT ?? t)) {
      return false;
    }
    if (!this.#deliver({ kind: 'sample', machineId, t, values })) {
      mark.pending = `${this.#source}: a sample could not be delivered`;
      return false;
    }
    this.#counters.samples++;
    mark.lastT = Math.max(t, mark.lastT ?? t);
    mark.gapDelivered = false;
    return true;
  }

  /**
   * Reports that data of a machine may have been lost now. Delivered at once, stamped with the
   * machine's last sample time; for a machine with no sample yet, delivered before its first one.
   * Never throws (see {@link sample}).
   * @param reason - without the source prefix, e.g. `connection lost`
   */
  loss(machineId: string, reason: string): void {
    const mark = this.#mark(machineId);
    if (mark.gapDelivered) return;
    mark.pending ??= `${this.#source}: ${reason}`;
    if (mark.lastT !== undefined) this.#deliverGap(machineId, mark, mark.lastT);
  }

  /** {@link loss} for every machine the sink has seen or been told about. */
  lossAll(reason: string): void {
    for (const machineId of this.#machines.keys()) this.loss(machineId, reason);
  }

  /** Makes a machine known (so that {@link lossAll} covers it before its first sample). */
  track(machineId: string): void {
    this.#mark(machineId);
  }

  /** A copy of the counters. */
  counters(): SinkCounters {
    return { ...this.#counters };
  }

  #mark(machineId: string): MachineMark {
    let mark = this.#machines.get(machineId);
    if (mark === undefined) {
      mark = { lastT: undefined, pending: undefined, gapDelivered: false };
      this.#machines.set(machineId, mark);
    }
    return mark;
  }

  #deliverGap(machineId: string, mark: MachineMark, t: number): boolean {
    if (!this.#deliver({ kind: 'gap', machineId, t, reason: mark.pending ?? `${this.#source}: data lost` })) return false;
    this.#counters.gaps++;
    mark.pending = undefined;
    mark.gapDelivered = true;
    return true;
  }

  #deliver(event: RawEvent): boolean {
    try {
      this.#onEvent(event);
      return true;
    } catch (cause) {
      this.#counters.deliveryFailures++;
      const error = new EdgeError(EDGE_ERR.CONNECTOR_DELIVERY,
        `cannot deliver ${this.#source} ${event.kind} of ${event.machineId}: onEvent threw`, { cause });
      try { this.#onError(error); } catch { /* a failing error handler must not stop the connector */ }
      return false;
    }
  }
}
