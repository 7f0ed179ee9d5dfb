/**
 * File replay: historic data from a CSV file becomes the same {@link RawEvent}s a live connector
 * emits, so a plant can feed recorded data through the buffer, the policy and the feature windows.
 *
 * A {@link CsvLayout} maps columns to signals and says where each row's machine and time come
 * from; {@link ai4iLayout} is the layout of the AI4I 2020 predictive-maintenance file (which has
 * no timestamps: rows get evenly spaced times). A malformed row either stops the replay with
 * `EDGE_ERR_REPLAY_FORMAT` (default) or, with `onBadRow: 'skip'`, is counted and marked as a gap
 * of its machine — a skipped row is lost data, never hidden.
 * @module
 */
import { createReadStream } from 'node:fs';
import { aFinite, aObject, aString, describe } from '../assert.ts';
import { EDGE_ERR, EdgeError, EdgeRangeError, EdgeTypeError } from '../errors.ts';
import type { RawEvent } from '../sample.ts';
import { CsvReader, type CsvRecord } from './csv.ts';
import { EventSink } from './sink.ts';

/** Where a row's time comes from. */
export type CsvTime =
  /** A column holding ISO 8601 instants, or milliseconds / seconds since the Unix epoch. */
  | { readonly column: string; readonly format: 'iso' | 'epoch-ms' | 'epoch-s' }
  /** No time column: data row `i` (from 0) is at `startMs + i · stepMs`. */
  | { readonly startMs: number; readonly stepMs: number };

/** How the columns of a CSV file become raw samples. */
export interface CsvLayout {
  /** Signal name → column header. A cell must hold a number or `true` / `false` (→ 1 / 0). */
  readonly columns: Readonly<Record<string, string>>;
  /** One machine for the whole file, or a column holding each row's machine id. */
  readonly machine: { readonly id: string } | { readonly column: string };
  readonly time: CsvTime;
}

/** Options of {@link CsvReplay}. */
export interface CsvReplayOptions {
  /** The CSV file (UTF-8, a header row first). */
  readonly path: string;
  readonly layout: CsvLayout;
  /** What a malformed row does: stop with `EDGE_ERR_REPLAY_FORMAT` (default) or be skipped, counted and marked as a gap. */
  readonly onBadRow?: 'throw' | 'skip';
  /** Stops the replay: the iterator then throws the stream's `AbortError`. */
  readonly signal?: AbortSignal;
}

/** What a replay has read so far. */
export interface CsvReplayCounters {
  /** Data rows read (the header not counted). */
  rows: number;
  samples: number;
  gaps: number;
  /** Rows skipped as malformed (`onBadRow: 'skip'`). */
  badRows: number;
}

/**
 * The AI4I 2020 columns hedge uses, by signal name (the layout {@link ai4iLayout} builds on).
 * @example
 * ```ts
 * const layout: CsvLayout = { columns: AI4I_COLUMNS, machine: { column: 'Type' }, time: { startMs: 0, stepMs: 1000 } };
 * ```
 */
export const AI4I_COLUMNS: Readonly<Record<string, string>> = Object.freeze({
  air_temperature: 'Air temperature [K]',
  process_temperature: 'Process temperature [K]',
  rotational_speed: 'Rotational speed [rpm]',
  torque: 'Torque [Nm]',
  tool_wear: 'Tool wear [min]',
  machine_failure: 'Machine failure',
});

/**
 * The layout of the AI4I 2020 file (`UDI,Product ID,Type,Air temperature [K],…`): its six process
 * columns under hedge's signal names ({@link AI4I_COLUMNS}), one machine, rows `stepMs` apart.
 *
 * @param options - `machineId` (default `mill-1`), `startMs` (default 2020-01-01T00:00:00Z), `stepMs` (default 1000)
 * @throws EdgeTypeError / EdgeRangeError on a bad option
 * @example
 * ```ts
 * const replay = new CsvReplay({ path: 'ai4i2020.csv', layout: ai4iLayout({ machineId: 'mill-7', stepMs: 60_000 }) });
 * ```
 */
export function ai4iLayout(options: { machineId?: string; startMs?: number; stepMs?: number } = {}): CsvLayout {
  const op = 'make AI4I layout';
  aObject(op, 'options', options);
  const layout: CsvLayout = {
    columns: AI4I_COLUMNS,
    machine: { id: options.machineId ?? 'mill-1' },
    time: { startMs: options.startMs ?? Date.UTC(2020, 0, 1), stepMs: options.stepMs ?? 1000 },
  };
  assertLayout(op, 'layout', layout);
  return layout;
}

/**
 * Replays a CSV file as raw events, in file order, without pacing (as fast as the consumer reads).
 * One replay reads its file once.
 * @example
 * ```ts
 * const replay = new CsvReplay({ path: '../shared/data/ai4i2020.csv', layout: ai4iLayout() });
 * for await (const event of replay.events()) buffer.append([event]);
 * console.log(replay.counters()); // { rows: 10000, samples: 10000, gaps: 0, badRows: 0 }
 * ```
 */
export class CsvReplay {
  readonly #options: CsvReplayOptions;
  readonly #counters = { rows: 0, badRows: 0 };
  #sink: EventSink | undefined;
  #used = false;

  /** @throws EdgeTypeError / EdgeRangeError on a bad option (the file is read by {@link events}) */
  constructor(options: CsvReplayOptions) {
    const op = 'create CSV replay';
    aObject(op, 'options', options);
    aString(op, 'options.path', options.path);
    assertLayout(op, 'options.layout', options.layout);
    if (options.onBadRow !== undefined && options.onBadRow !== 'throw' && options.onBadRow !== 'skip') {
      throw new EdgeRangeError(`cannot ${op}: options.onBadRow must be 'throw' or 'skip', got ${describe(options.onBadRow)}`);
    }
    if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
      throw new EdgeTypeError(`cannot ${op}: options.signal must be an AbortSignal, got ${describe(options.signal)}`);
    }
    this.#options = options;
  }

  /**
   * Reads the file and yields its events: one sample per row, and with `onBadRow: 'skip'` a gap
   * for each skipped row's machine (stamped with that machine's previous sample, see `sink.ts`).
   *
   * @throws EdgeError `EDGE_ERR_REPLAY_FORMAT` if the file cannot be read, lacks a layout column, or (by default) has a malformed row, naming the line
   * @throws EdgeError `EDGE_ERR_CONNECTOR` if called a second time
   */
  async *events(): AsyncGenerator<RawEvent> {
    if (this.#used) throw new EdgeError(EDGE_ERR.CONNECTOR, 'cannot replay CSV: events() was already called on this replay');
    this.#used = true;
    const { path, layout, signal } = this.#options;
    const queue: RawEvent[] = [];
    const sink = new EventSink('replay', (e) => { queue.push(e); });
    this.#sink = sink;
    const reader = new CsvReader(path);
    let plan: RowPlan | undefined;
    const stream = createReadStream(path, { encoding: 'utf8', signal });
    try {
      for await (const chunk of stream as AsyncIterable<string>) {
        for (const record of reader.push(chunk)) {
          if (plan === undefined) plan = planRows(path, layout, record);
          else this.#row(plan, record, sink);
          yield* queue.splice(0);
        }
      }
      for (const record of reader.end()) {
        if (plan === undefined) plan = planRows(path, layout, record);
        else this.#row(plan, record, sink);
        yield* queue.splice(0);
      }
    } catch (cause) {
      if (cause instanceof EdgeError || signal?.aborted) throw cause;
      throw new EdgeError(EDGE_ERR.REPLAY_FORMAT, `cannot replay CSV: cannot read ${path}`, { cause });
    } finally {
      stream.destroy();
    }
    if (plan === undefined) throw new EdgeError(EDGE_ERR.REPLAY_FORMAT, `cannot replay CSV: ${path} is empty (no header row)`);
  }

  /** A copy of the counters. */
  counters(): CsvReplayCounters {
    const sink = this.#sink?.counters();
    return { rows: this.#counters.rows, samples: sink?.samples ?? 0, gaps: sink?.gaps ?? 0, badRows: this.#counters.badRows };
  }

  #row(plan: RowPlan, record: CsvRecord, sink: EventSink): void {
    const index = this.#counters.rows++;
    let machineId: string | undefined;
    try {
      if (record.fields.length !== plan.width) {
        throw plan.error(record, `${record.fields.length} fields where the header has ${plan.width}`);
      }
      machineId = plan.machineId(record);
      const t = plan.time(record, index);
      const values: Record<string, number> = {};
      for (const [signal, col] of plan.columns) values[signal] = plan.number(record, col);
      sink.sample(machineId, t, values);
    } catch (e) {
      if (this.#options.onBadRow !== 'skip') throw e;
      this.#counters.badRows++;
      if (machineId === undefined) sink.lossAll(`malformed row at line ${record.line}`);
      else sink.loss(machineId, `malformed row at line ${record.line}`);
    }
  }
}

interface RowPlan {
  readonly width: number;
  readonly columns: readonly (readonly [string, number])[];
  machineId(record: CsvRecord): string;
  time(record: CsvRecord, index: number): number;
  number(record: CsvRecord, col: number): number;
  error(record: CsvRecord, reason: string): EdgeError;
}

function planRows(path: string, layout: CsvLayout, header: CsvRecord): RowPlan {
  const names = header.fields;
  const col = (name: string, what: string): number => {
    const i = names.indexOf(name);
    if (i < 0) throw new EdgeError(EDGE_ERR.REPLAY_FORMAT, `cannot replay CSV: ${path} has no column '${name}' (${what})`);
    if (names.indexOf(name, i + 1) >= 0) throw new EdgeError(EDGE_ERR.REPLAY_FORMAT, `cannot replay CSV: ${path} has two columns '${name}' (${what})`);
    return i;
  };
  const columns = Object.entries(layout.columns).map(([signal, name]) => [signal, col(name, `signal ${signal}`)] as const);
  const error = (record: CsvRecord, reason: string): EdgeError =>
    new EdgeError(EDGE_ERR.REPLAY_FORMAT, `cannot replay CSV: ${reason} (${path} line ${record.line})`);
  const number = (record: CsvRecord, c: number): number => {
    const text = record.fields[c].trim();
    if (text === 'true') return 1;
    if (text === 'false') return 0;
    const v = Number(text);
    if (text === '' || Number.isNaN(v)) throw error(record, `column '${names[c]}' holds ${text === '' ? 'nothing' : `'${text.slice(0, 40)}'`}, not a number`);
    return v;
  };
  const { machine, time } = layout;
  const machineCol = 'column' in machine ? col(machine.column, 'machine') : -1;
  const machineId = 'id' in machine
    ? () => machine.id
    : (record: CsvRecord): string => {
      const id = record.fields[machineCol].trim();
      if (id === '') throw error(record, `column '${machine.column}' holds no machine id`);
      return id;
    };
  let rowTime: (record: CsvRecord, index: number) => number;
  if ('column' in time) {
    const c = col(time.column, 'time');
    rowTime = (record) => {
      const text = record.fields[c].trim();
      const t = time.format === 'iso' ? Date.parse(text) : Number(text) * (time.format === 'epoch-s' ? 1000 : 1);
      if (text === '' || !Number.isFinite(t)) throw error(record, `column '${time.column}' holds '${text.slice(0, 40)}', not a ${time.format} time`);
      return t;
    };
  } else {
    rowTime = (_record, index) => time.startMs + index * time.stepMs;
  }
  return { width: names.length, columns, machineId, time: rowTime, number, error };
}

function assertLayout(op: string, name: string, layout: unknown): asserts layout is CsvLayout {
  aObject(op, name, layout);
  aObject(op, `${name}.columns`, layout.columns);
  const signals = Object.entries(layout.columns);
  if (signals.length === 0) throw new EdgeRangeError(`cannot ${op}: ${name}.columns must name at least one signal`);
  for (const [signal, column] of signals) {
    aString(op, `${name}.columns (signal name)`, signal);
    aString(op, `${name}.columns.${signal}`, column);
  }
  aObject(op, `${name}.machine`, layout.machine);
  const machine = layout.machine;
  if ('id' in machine) aString(op, `${name}.machine.id`, machine.id);
  else if ('column' in machine) aString(op, `${name}.machine.column`, machine.column);
  else throw new EdgeRangeError(`cannot ${op}: ${name}.machine must have 'id' or 'column'`);
  aObject(op, `${name}.time`, layout.time);
  const time = layout.time;
  if ('column' in time) {
    aString(op, `${name}.time.column`, time.column);
    if (time.format !== 'iso' && time.format !== 'epoch-ms' && time.format !== 'epoch-s') {
      throw new EdgeRangeError(`cannot ${op}: ${name}.time.format must be 'iso', 'epoch-ms' or 'epoch-s', got ${describe(time.format)}`);
    }
  } else {
    aFinite(op, `${name}.time.startMs`, time.startMs);
    aFinite(op, `${name}.time.stepMs`, time.stepMs);
    if ((time.stepMs as number) < 0) throw new EdgeRangeError(`cannot ${op}: ${name}.time.stepMs must not be negative, got ${time.stepMs}`);
  }
}

