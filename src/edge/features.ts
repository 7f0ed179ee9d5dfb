/**
 * Feature windows (DESIGN.md §5): per machine, tumbling windows over the shared numeric signals
 * turn samples into records — one feature vector per window per machine, with mean, standard
 * deviation, minimum, maximum, RMS and least-squares slope of every signal, and the window's label.
 *
 * Windows are either `count` windows (every `size` samples of a machine) or `time` windows
 * (`[origin + k·d, origin + (k+1)·d)`, aligned so that all machines and gateways cut at the same
 * instants).
 *
 * **Gaps.** A window never spans a gap: a record always describes an uninterrupted stretch of
 * data. A gap marker at time `t` says data of that machine may be missing since its previous
 * event, so the machine's open window is closed early and discarded, and for time windows the
 * rest of the window containing `t` is discarded too. With `maxGapMs`, a silence longer than that
 * between two samples of a machine counts as a gap at the later sample. Every discarded window
 * and sample is counted ({@link WindowCounters}), so a loss is visible, never hidden. Discarding
 * (rather than emitting a flagged short window) keeps every record's statistics comparable: a
 * mean or slope over a window with a hole in it is biased in a way no downstream model can see.
 *
 * Deterministic: the same events in the same order give the same records, bit for bit. No I/O.
 * @module
 */
import { aArray, aFinite, aInteger, aObject, aString, describe } from './assert.ts';
import { EdgeRangeError } from './errors.ts';
import type { SharedEvent } from './sample.ts';

/**
 * The statistics computed per signal, in the order they appear in a record.
 * @example
 * ```ts
 * new FeatureWindows({ window: { kind: 'count', size: 10 }, signals: ['x'], stats: ['mean', 'slope'] });
 * ```
 */
export const STATS = ['mean', 'std', 'min', 'max', 'rms', 'slope'] as const;

/** One of the {@link STATS}. */
export type Stat = (typeof STATS)[number];

/** How windows are cut. */
export type WindowSpec =
  | { readonly kind: 'count'; readonly size: number }
  | {
    readonly kind: 'time';
    readonly durationMs: number;
    /** Windows start at `originMs + k·durationMs` (default 0, the Unix epoch). */
    readonly originMs?: number;
    /** A time window with fewer samples is discarded (default 2, the fewest a slope needs). */
    readonly minSamples?: number;
  };

/** Options of {@link FeatureWindows}. */
export interface FeatureWindowOptions {
  readonly window: WindowSpec;
  /** The signals to summarise, in record order; every sample must carry all of them. */
  readonly signals: readonly string[];
  /** The statistics, in any order; a record follows {@link STATS} order. Default: all. */
  readonly stats?: readonly Stat[];
  /** A silence longer than this between two samples of a machine is a gap (default: none). */
  readonly maxGapMs?: number;
  /**
   * The label classes in order of precedence; when given every sample must carry one of them and a
   * window's label is the first class in this list that any of its samples has (e.g.
   * `['failure', 'ok']`: one failing sample makes a failure window). `DataPolicy.label.classes`
   * gives this order.
   */
  readonly labelClasses?: readonly string[];
}

/** One window of one machine, summarised. */
export interface FeatureRecord {
  /** The machine's pseudonym. */
  readonly machine: string;
  /** Time windows: the window's start (inclusive); count windows: the first sample's time. */
  readonly start: number;
  /** Time windows: the window's end (exclusive); count windows: the last sample's time. */
  readonly end: number;
  /** Samples in the window. */
  readonly count: number;
  /** Feature values, aligned with {@link FeatureWindows.names}. */
  readonly values: readonly number[];
  readonly label?: string;
}

/** What the windows did so far. */
export interface WindowCounters {
  /** Samples accepted into windows. */
  samples: number;
  /** Records emitted. */
  records: number;
  /** Gaps seen (markers and silences longer than `maxGapMs`). */
  gaps: number;
  /** Windows discarded: interrupted by a gap, too few samples (time windows), or still open at `flush()`. */
  discardedWindows: { gap: number; tooFew: number; flush: number };
  /** Samples that went into no record (those of discarded windows). */
  discardedSamples: number;
  /** Samples dropped because they were older than the machine's previous event. */
  outOfOrder: number;
}

/** The six statistics of one signal over one window. */
export interface SignalStats {
  readonly mean: number;
  /** Population standard deviation (divides by n). */
  readonly std: number;
  readonly min: number;
  readonly max: number;
  /** Root mean square, √(Σx²/n). */
  readonly rms: number;
  /** Least-squares slope of the values against time, in value units per second (0 if all times are equal). */
  readonly slope: number;
}

/**
 * The statistics of one signal over one window: two passes in float64, in sample order.
 *
 * @param times - sample times in ms (non-decreasing is not required)
 * @param values - the signal's values, as many as `times`
 * @throws EdgeTypeError if an argument is not an array of numbers
 * @throws EdgeRangeError if the arrays are empty, differ in length, or hold NaN / ±∞
 * @example
 * ```ts
 * windowStats([0, 1000, 2000], [1, 2, 3]); // { mean: 2, std: 0.816…, min: 1, max: 3, rms: 2.16…, slope: 1 }
 * ```
 */
export function windowStats(times: readonly number[], values: readonly number[]): SignalStats {
  const op = 'compute window statistics';
  aArray(op, 'times', times);
  aArray(op, 'values', values);
  if (values.length === 0) throw new EdgeRangeError(`cannot ${op}: values must not be empty`);
  if (times.length !== values.length) throw new EdgeRangeError(`cannot ${op}: times has ${times.length} entries, values ${values.length}`);
  for (let i = 0; i < values.length; i++) {
    aFinite(op, `times[${i}]`, times[i]);
    aFinite(op, `values[${i}]`, values[i]);
  }
  return stats(times, values);
}

function stats(times: readonly number[], values: readonly number[]): SignalStats {
  const n = values.length;
  const t0 = times[0];
  let sum = 0;
  let sumSq = 0;
  let tSum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = values[i];
    sum += x;
    sumSq += x * x;
    tSum += (times[i] - t0) / 1000;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  const mean = sum / n;
  const tMean = tSum / n;
  let ss = 0;
  let sxy = 0;
  let stt = 0;
  for (let i = 0; i < n; i++) {
    const dx = values[i] - mean;
    const dt = (times[i] - t0) / 1000 - tMean;
    ss += dx * dx;
    sxy += dt * dx;
    stt += dt * dt;
  }
  return { mean, std: Math.sqrt(ss / n), min, max, rms: Math.sqrt(sumSq / n), slope: stt === 0 ? 0 : sxy / stt };
}

interface MachineState {
  /** Time of the machine's last accepted event. */
  lastT: number;
  /** Open window: its index (time windows) and samples. */
  k: number;
  times: number[];
  rows: number[][];
  labels: string[];
  /** Time windows: the index of a window a gap cut into; its later samples are discarded. */
  taintedK: number | null;
}

/**
 * Per-machine tumbling windows that turn shared samples into {@link FeatureRecord}s.
 *
 * @example
 * ```ts
 * const w = new FeatureWindows({ window: { kind: 'count', size: 60 }, signals: ['torque', 'speed'], labelClasses: ['failure', 'ok'] });
 * for (const event of applyPolicy(policy, key, raw).events) for (const record of w.push(event)) send(record);
 * w.names; // ['torque.mean', 'torque.std', …, 'speed.slope']
 * ```
 */
export class FeatureWindows {
  /** Feature names, `<signal>.<stat>`, in record order. */
  readonly names: readonly string[];
  readonly #window: WindowSpec;
  readonly #signals: readonly string[];
  readonly #stats: readonly Stat[];
  readonly #maxGapMs: number | undefined;
  readonly #labels: readonly string[] | undefined;
  readonly #minSamples: number;
  readonly #machines = new Map<string, MachineState>();
  readonly #counters: WindowCounters = { samples: 0, records: 0, gaps: 0, discardedWindows: { gap: 0, tooFew: 0, flush: 0 }, discardedSamples: 0, outOfOrder: 0 };

  /**
   * @throws EdgeTypeError if an option has the wrong type
   * @throws EdgeRangeError if a size, duration or count is not a positive integer, or signals,
   *   stats or classes are empty or repeat
   * @example
   * ```ts
   * new FeatureWindows({ window: { kind: 'time', durationMs: 60_000 }, signals: ['torque'], maxGapMs: 5_000 });
   * ```
   */
  constructor(options: FeatureWindowOptions) {
    const op = 'create feature windows';
    aObject(op, 'options', options);
    const w = options.window;
    aObject(op, 'options.window', w);
    if (w.kind === 'count') {
      aInteger(op, 'options.window.size', w.size, 1);
      this.#minSamples = w.size;
    } else if (w.kind === 'time') {
      aInteger(op, 'options.window.durationMs', w.durationMs, 1);
      if (w.originMs !== undefined) aInteger(op, 'options.window.originMs', w.originMs, Number.MIN_SAFE_INTEGER);
      if (w.minSamples !== undefined) aInteger(op, 'options.window.minSamples', w.minSamples, 1);
      this.#minSamples = w.minSamples ?? 2;
    } else {
      throw new EdgeRangeError(`cannot ${op}: options.window.kind must be 'count' or 'time'`);
    }
    this.#window = Object.freeze({ ...w });
    this.#signals = Object.freeze(names(op, 'options.signals', options.signals));
    const stats = options.stats === undefined ? [...STATS] : names(op, 'options.stats', options.stats);
    for (const s of stats) if (!STATS.includes(s as Stat)) throw new EdgeRangeError(`cannot ${op}: options.stats has unknown statistic '${s}' (known: ${STATS.join(', ')})`);
    this.#stats = Object.freeze(STATS.filter((s) => stats.includes(s)));
    if (options.maxGapMs !== undefined) aInteger(op, 'options.maxGapMs', options.maxGapMs, 1);
    this.#maxGapMs = options.maxGapMs;
    this.#labels = options.labelClasses === undefined ? undefined : Object.freeze(names(op, 'options.labelClasses', options.labelClasses));
    this.names = Object.freeze(this.#signals.flatMap((sig) => this.#stats.map((st) => `${sig}.${st}`)));
  }

  /**
   * Feeds one event (a sample or a gap marker) and returns the records it completed (zero or one).
   * A sample older than the machine's previous event is dropped and counted (`outOfOrder`).
   *
   * @throws EdgeTypeError / EdgeRangeError if the event is malformed, lacks a configured signal,
   *   holds NaN / ±∞, or (with `labelClasses`) lacks a known label; the windows are unchanged then
   * @example
   * ```ts
   * const records = windows.push({ kind: 'sample', machine: 'm-…', t: Date.now(), values: { torque: 41.2 }, label: 'ok' });
   * ```
   */
  push(event: SharedEvent): FeatureRecord[] {
    const op = 'push to feature windows';
    aObject(op, 'event', event);
    aString(op, 'event.machine', event.machine);
    aFinite(op, 'event.t', event.t);
    if (event.kind === 'gap') {
      let state = this.#machines.get(event.machine);
      if (state === undefined) {
        state = { lastT: event.t, k: this.#index(event.t), times: [], rows: [], labels: [], taintedK: null };
        this.#machines.set(event.machine, state);
      }
      state.lastT = Math.max(event.t, state.lastT);
      this.#gap(state, state.lastT);
      return [];
    }
    if (event.kind !== 'sample') throw new EdgeRangeError(`cannot ${op}: event.kind must be 'sample' or 'gap'`);
    aObject(op, 'event.values', event.values);
    const row = this.#signals.map((s) => {
      if (!Object.hasOwn(event.values, s)) throw new EdgeRangeError(`cannot ${op}: event.values lacks the signal '${s}'`);
      const v = event.values[s];
      aFinite(op, `event.values.${s}`, v);
      return v;
    });
    if (this.#labels !== undefined && (typeof event.label !== 'string' || !this.#labels.includes(event.label))) {
      throw new EdgeRangeError(`cannot ${op}: event.label must be one of ${this.#labels.join(', ')}, got ${typeof event.label === 'string' ? `'${event.label}'` : describe(event.label)}`);
    }

    const t = event.t;
    let state = this.#machines.get(event.machine);
    if (state === undefined) {
      state = { lastT: t, k: this.#index(t), times: [], rows: [], labels: [], taintedK: null };
      this.#machines.set(event.machine, state);
    } else if (t < state.lastT) {
      this.#counters.outOfOrder++;
      return [];
    } else if (this.#maxGapMs !== undefined && t - state.lastT > this.#maxGapMs) {
      this.#gap(state, t);
    }
    state.lastT = t;
    const out: FeatureRecord[] = [];
    const k = this.#index(t);
    if (this.#window.kind === 'time' && k !== state.k) {
      const closed = this.#close(event.machine, state);
      if (closed) out.push(closed);
      state.k = k;
    }
    if (state.taintedK === k) {
      this.#counters.discardedSamples++;
      return out;
    }
    state.taintedK = null;
    this.#counters.samples++;
    state.times.push(t);
    state.rows.push(row);
    if (this.#labels !== undefined) state.labels.push(event.label!);
    if (this.#window.kind === 'count' && state.times.length === this.#window.size) {
      const closed = this.#close(event.machine, state);
      if (closed) out.push(closed);
    }
    return out;
  }

  /**
   * Closes every time window that ends at or before `t` (for machines that went quiet) and
   * returns their records; windows with fewer than `minSamples` samples are discarded. Count
   * windows are unaffected: they close only when full.
   *
   * @throws EdgeTypeError / EdgeRangeError if `t` is not a finite number
   * @example
   * ```ts
   * setInterval(() => windows.closeUntil(Date.now()).forEach(send), 10_000);
   * ```
   */
  closeUntil(t: number): FeatureRecord[] {
    aFinite('close feature windows', 't', t);
    if (this.#window.kind !== 'time') return [];
    const out: FeatureRecord[] = [];
    for (const [machine, state] of this.#machines) {
      if (state.times.length === 0 || this.#start(state.k + 1) > t) continue;
      const closed = this.#close(machine, state);
      if (closed) out.push(closed);
    }
    return out;
  }

  /**
   * Discards every open window (they are incomplete) and counts them as `flush`; call at the end
   * of a replay or on shutdown, after {@link FeatureWindows.closeUntil} for windows that did end.
   *
   * @returns how many windows were discarded
   * @example
   * ```ts
   * windows.closeUntil(lastTime); windows.flush();
   * ```
   */
  flush(): number {
    let n = 0;
    for (const state of this.#machines.values()) {
      if (state.times.length === 0) continue;
      this.#counters.discardedWindows.flush++;
      this.#discard(state);
      n++;
    }
    return n;
  }

  /**
   * A copy of the counters.
   * @example
   * ```ts
   * const { records, discardedWindows } = windows.counters();
   * ```
   */
  counters(): WindowCounters {
    const c = this.#counters;
    return { ...c, discardedWindows: { ...c.discardedWindows } };
  }

  #index(t: number): number {
    const w = this.#window;
    return w.kind === 'time' ? Math.floor((t - (w.originMs ?? 0)) / w.durationMs) : 0;
  }

  #start(k: number): number {
    const w = this.#window;
    return w.kind === 'time' ? (w.originMs ?? 0) + k * w.durationMs : 0;
  }

  #gap(state: MachineState, t: number): void {
    this.#counters.gaps++;
    if (state.times.length > 0) {
      this.#counters.discardedWindows.gap++;
      this.#discard(state);
    }
    if (this.#window.kind === 'time') {
      state.k = this.#index(t);
      state.taintedK = state.k;
    }
  }

  #discard(state: MachineState): void {
    this.#counters.discardedSamples += state.times.length;
    state.times = [];
    state.rows = [];
    state.labels = [];
  }

  #close(machine: string, state: MachineState): FeatureRecord | null {
    const n = state.times.length;
    if (n === 0) return null;
    if (n < this.#minSamples) {
      this.#counters.discardedWindows.tooFew++;
      this.#discard(state);
      return null;
    }
    const values: number[] = [];
    for (let j = 0; j < this.#signals.length; j++) {
      const s = stats(state.times, state.rows.map((r) => r[j]));
      for (const st of this.#stats) values.push(s[st]);
    }
    const time = this.#window.kind === 'time';
    const record: { -readonly [K in keyof FeatureRecord]: FeatureRecord[K] } = {
      machine,
      start: time ? this.#start(state.k) : state.times[0],
      end: time ? this.#start(state.k + 1) : state.times[n - 1],
      count: n,
      values: Object.freeze(values),
    };
    if (this.#labels !== undefined) record.label = this.#labels.find((c) => state.labels.includes(c));
    state.times = [];
    state.rows = [];
    state.labels = [];
    this.#counters.records++;
    return Object.freeze(record);
  }
}

function names(op: string, name: string, value: unknown): string[] {
  aArray(op, name, value);
  if (value.length === 0) throw new EdgeRangeError(`cannot ${op}: ${name} must not be empty`);
  value.forEach((v, i) => aString(op, `${name}[${i}]`, v));
  if (new Set(value).size !== value.length) throw new EdgeRangeError(`cannot ${op}: ${name} repeats a name`);
  return [...(value as string[])];
}
