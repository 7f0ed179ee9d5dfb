/**
 * The gateway's data path (DESIGN.md §2, §5; issue 6): records in, sealed batches in the outbox.
 *
 * ```
 * SharedSample / FeatureRecord ──add──▶ record buffer ──lease──▶ quantised rows ──sealBatch──▶ outbox ──▶ uploader
 *   (after the policy / windows)        (DurableBuffer)           (schema order)   (collective key)
 * ```
 *
 * - **Mapping.** A record's values are taken by the dataset schema's feature names: a shared
 *   sample's signal names, or a feature record's `<signal>.<stat>` names. What the schema does not
 *   name is left out; what it names must be produced by the source (checked at
 *   {@link Gateway.open}: `EDGE_ERR_SCHEMA_MISMATCH`). A categorical label is the record's class
 *   name; a continuous label is the value named like the schema's label.
 * - **Validation.** Each record is quantised when it is added, by the same code as the plaintext
 *   reference (`quantiseDataset`): a record with a value outside the schema range, a NaN, a
 *   missing value, a label outside the classes or a bad time is refused and counted, never
 *   stored, never a crash. Malformed input (not an array, not a record of the source's kind) is a
 *   typed error and nothing is stored.
 * - **Batching.** A batch holds at most `batchSize` records (≤ the parameter set's slots, ≥ the
 *   policy's `minBatchSize`). A full batch is sealed as soon as the records are there; a partial
 *   one when its oldest record has waited `maxWaitMs` (or on `seal({ force: true })`), and never
 *   below `minBatchSize`.
 * - **Crash safety.** Records are leased from the record buffer, sealed under the next batch id of
 *   the outbox, stored in the outbox (one durable transaction that takes the sequence number), and
 *   only then acked. A crash before the outbox commit leaves the records in the buffer and the
 *   sequence number untaken: the restarted gateway seals them again under the same batch id (the
 *   first bytes never left the process). A crash after it leaves the records unacked: the
 *   restarted gateway acks them at {@link Gateway.open} (the outbox knows which it consumed), so
 *   they are never sealed twice.
 *
 * Sealing is synchronous (SEAL runs on the calling thread); at BGV_AGG_8192 a full batch of 16
 * features takes a fraction of a second (`npm run bench -- edge`).
 * @module
 */
import { sealBatch } from '../compute/batch.ts';
import { columnLayout } from '../compute/layout.ts';
import type { PublicKey, SealEngine } from '../he/backend/seal.ts';
import { quantiseDataset, type DatasetSchema } from '../models/schema.ts';
import { aArray, aFunction, aInteger, aObject, aString, describe } from './assert.ts';
import { DurableBuffer, type DropEvent, type WhenFull } from './buffer.ts';
import { EDGE_ERR, EdgeError, EdgeRangeError, EdgeTypeError } from './errors.ts';
import type { FeatureRecord } from './features.ts';
import type { Outbox } from './outbox.ts';
import { assertMinBatch, type DataPolicy } from './policy.ts';
import type { SharedEvent } from './sample.ts';

/** Where the gateway's records come from: shared samples (one record each) or feature windows. */
export type GatewaySource =
  | { readonly kind: 'samples' }
  /** `names`: the windows' feature names (`FeatureWindows.names`). */
  | { readonly kind: 'windows'; readonly names: readonly string[] };

/** What {@link Gateway.add} accepts: the policy's output (gaps are skipped) or feature records. */
export type GatewayInput = SharedEvent | FeatureRecord;

/** Options of {@link Gateway.open}. */
export interface GatewayOptions {
  /** The record buffer's SQLite file (created if absent). */
  readonly recordsPath: string;
  /** The most records the buffer holds (default 1 000 000) and what to do when it is full (default `refuse`). */
  readonly maxRecords?: number;
  readonly whenFull?: WhenFull;
  readonly onDrop?: (event: DropEvent) => void;
  /** Where sealed batches go; may be shared by the gateways of several datasets. */
  readonly outbox: Outbox;
  /** A BGV engine of the federation's parameter set, and the federation's collective public key. */
  readonly engine: SealEngine;
  readonly publicKey: PublicKey;
  readonly schema: DatasetSchema;
  /** The dataset id and the plant's id in the cloud (the tenant that uploads). */
  readonly dataset: string;
  readonly plant: string;
  /** The plant's data policy: its `minBatchSize`, and (samples) the shared signals and their ranges. */
  readonly policy: DataPolicy;
  readonly source: GatewaySource;
  /** Records per batch (default: the parameter set's slots). */
  readonly batchSize?: number;
  /** A partial batch is sealed once its oldest record waited this long (default one hour). */
  readonly maxWaitMs?: number;
  /** Clock in ms (default `Date.now`). */
  readonly now?: () => number;
}

/** Records refused by {@link Gateway.add}, by reason (a record is counted once, under its first reason). */
export interface RejectCounters {
  /** A schema feature or the continuous label is missing from the record. */
  missing: number;
  /** A value is NaN or ±∞. */
  nonFinite: number;
  /** A value lies outside its schema range. */
  outOfRange: number;
  /** No label, or a class the schema does not know. */
  label: number;
  /** A time outside what an ISO 8601 instant can hold, or an end before the start. */
  time: number;
}

/** What a gateway did since it was opened, and where its records are. */
export interface GatewayMetrics {
  /** Records stored in the record buffer by {@link Gateway.add} since the gateway was opened. */
  readonly added: number;
  /** Records stored since the record buffer file was created (sealed or waiting): the rows ingested. */
  readonly storedTotal: number;
  readonly rejected: Readonly<RejectCounters>;
  /** Gap markers skipped by {@link Gateway.add}. */
  readonly gaps: number;
  /** Batches and records sealed into the outbox. */
  readonly sealedBatches: number;
  readonly sealedRecords: number;
  /** Records waiting in the record buffer, and when the oldest was added (ms, or null). */
  readonly waitingRecords: number;
  readonly oldestWaitingAt: number | null;
  /** Records the buffer dropped (`drop-oldest`) since its file was created. */
  readonly droppedRecords: number;
  /** Seal passes that stopped because the outbox was full. */
  readonly outboxFull: number;
}

/** A sealed batch, as {@link Gateway.seal} reports it. */
export interface SealedBatch {
  readonly batchId: string;
  readonly seq: number;
  readonly records: number;
  readonly bytes: number;
  readonly contentHash: string;
}

/** One row of the record buffer: quantised values in schema order, the label, the time span. */
interface StoredRow {
  readonly t0: number;
  readonly t1: number;
  readonly x: Int32Array;
  readonly y?: number;
}

/** The largest time an ISO 8601 instant can hold (ECMAScript's time value range). */
const MAX_TIME = 8.64e15;

/**
 * Turns records into encrypted batches in the outbox, crash-safely (see the module description).
 *
 * @example
 * ```ts
 * using outbox = Outbox.open({ path: 'outbox.db' });
 * using gw = Gateway.open({ recordsPath: 'records.db', outbox, engine, publicKey, schema, dataset: 'ai4i', plant: 'plant-a',
 *   policy, source: { kind: 'samples' } });
 * gw.add(applyPolicy(policy, key, rawEvents).events);
 * gw.seal();            // full batches (and partial ones that waited maxWaitMs) → outbox
 * uploader.kick();
 * ```
 */
export class Gateway {
  readonly #buffer: DurableBuffer<StoredRow>;
  readonly #outbox: Outbox;
  readonly #engine: SealEngine;
  readonly #pk: PublicKey;
  readonly #schema: DatasetSchema;
  readonly #dataset: string;
  readonly #plant: string;
  readonly #policy: DataPolicy;
  readonly #source: GatewaySource;
  /** Per schema feature: its index in a feature record's values (windows source). */
  readonly #featureIndex: readonly number[];
  /** Continuous label: its index in a feature record's values (windows source), else -1. */
  readonly #labelIndex: number;
  readonly #batchSize: number;
  readonly #maxWaitMs: number;
  readonly #batchBytes: number;
  readonly #now: () => number;
  #added = 0;
  #gaps = 0;
  #sealedBatches = 0;
  #sealedRecords = 0;
  #outboxFull = 0;
  #closed = false;
  readonly #rejected: RejectCounters = { missing: 0, nonFinite: 0, outOfRange: 0, label: 0, time: 0 };

  private constructor(options: GatewayOptions, buffer: DurableBuffer<StoredRow>, batchSize: number) {
    this.#buffer = buffer;
    this.#outbox = options.outbox;
    this.#engine = options.engine;
    this.#pk = options.publicKey;
    this.#schema = options.schema;
    this.#dataset = options.dataset;
    this.#plant = options.plant;
    this.#policy = options.policy;
    this.#source = options.source;
    this.#batchSize = batchSize;
    this.#maxWaitMs = options.maxWaitMs ?? 3_600_000;
    this.#now = options.now ?? Date.now;
    const names = options.source.kind === 'windows' ? options.source.names : [];
    this.#featureIndex = options.schema.features.map((f) => names.indexOf(f.name));
    this.#labelIndex = options.schema.label?.kind === 'continuous' ? names.indexOf(options.schema.label.name) : -1;
    const e = options.engine;
    this.#batchBytes = 64 * 1024 + columnLayout(options.schema).length * (4 + 256 + 2 * e.dataPrimes * e.n * 8);
  }

  /**
   * Opens the gateway of one (dataset, plant): checks that the source's records fit the schema,
   * opens the record buffer, and finishes what a crash interrupted (acks the records of batches
   * the outbox already holds).
   *
   * @throws EdgeTypeError / EdgeRangeError if an option is malformed (`batchSize` outside
   *   [`policy.minBatchSize`, slots], a non-BGV engine)
   * @throws EdgeError `EDGE_ERR_SCHEMA_MISMATCH` if a schema feature or label is not produced by
   *   the source, a shared signal's policy range reaches beyond the schema's, or the schema's scale
   *   exceeds the parameter set's quantisation; `EDGE_ERR_OUTBOX_MISMATCH` if the record buffer
   *   is not the one the outbox's batches came from; the buffer's and outbox's storage errors
   * @example
   * ```ts
   * const gw = Gateway.open({ recordsPath, outbox, engine, publicKey, schema, dataset: 'ai4i', plant: 'plant-a', policy,
   *   source: { kind: 'windows', names: windows.names }, batchSize: 4096, maxWaitMs: 600_000 });
   * ```
   */
  static open(options: GatewayOptions): Gateway {
    const op = 'open gateway';
    aObject(op, 'options', options);
    aString(op, 'options.recordsPath', options.recordsPath);
    aString(op, 'options.dataset', options.dataset);
    aString(op, 'options.plant', options.plant);
    aObject(op, 'options.outbox', options.outbox);
    aObject(op, 'options.engine', options.engine);
    aObject(op, 'options.publicKey', options.publicKey);
    aObject(op, 'options.schema', options.schema);
    aObject(op, 'options.policy', options.policy);
    aObject(op, 'options.source', options.source);
    if (options.maxWaitMs !== undefined) aInteger(op, 'options.maxWaitMs', options.maxWaitMs, 0);
    if (options.now !== undefined) aFunction(op, 'options.now', options.now);
    const params = options.engine.params;
    if (params?.scheme !== 'bgv') throw new EdgeRangeError(`cannot ${op}: options.engine must be a BGV engine, got ${describe(params?.scheme)}`);
    const minBatch = options.policy.minBatchSize;
    const batchSize = options.batchSize ?? params.slots;
    aInteger(op, 'options.batchSize', batchSize, Math.max(1, minBatch), params.slots);
    checkSource(op, options);
    const buffer = DurableBuffer.open<StoredRow>({
      path: options.recordsPath,
      maxEntries: options.maxRecords ?? 1_000_000,
      whenFull: options.whenFull ?? 'refuse',
      ...(options.onDrop === undefined ? {} : { onDrop: options.onDrop }),
      ...(options.now === undefined ? {} : { now: options.now }),
    });
    try {
      const gateway = new Gateway(options, buffer, batchSize);
      gateway.#recover();
      return gateway;
    } catch (e) {
      buffer.close();
      throw e;
    }
  }

  /** Acks the records that batches already in the outbox consumed (a crash between store and ack). */
  #recover(): void {
    const through = this.#outbox.consumedThrough(this.#dataset, this.#plant);
    if (through === 0) return;
    if (this.#buffer.metrics().appendedTotal < through) {
      throw new EdgeError(
        EDGE_ERR.OUTBOX_MISMATCH,
        `cannot open gateway: the outbox's batches of ${this.#dataset}/${this.#plant} consumed records up to id ${through}, but the record buffer issued only ${this.#buffer.metrics().appendedTotal} (another buffer file?)`,
      );
    }
    for (;;) {
      const ids = this.#buffer.peek(1024).map((e) => e.id).filter((id) => id <= through);
      if (ids.length === 0) return;
      this.#buffer.ack(ids);
    }
  }

  /**
   * Maps, validates and quantises records, and stores those that fit the schema in the record
   * buffer in one durable transaction (refused ones are counted in {@link Gateway.metrics}).
   * Gap markers are skipped: the feature windows act on them before records reach here.
   *
   * @returns how many records were stored and refused
   * @throws EdgeTypeError if `inputs` is not an array or an element is not a record of the
   *   source's kind (nothing stored)
   * @throws EdgeError the buffer's `EDGE_ERR_BUFFER_FULL` (policy `refuse`; nothing stored),
   *   `EDGE_ERR_BUFFER_STORAGE`; `EDGE_ERR_BUFFER_CLOSED` after {@link Gateway.close}
   * @example
   * ```ts
   * const { stored, rejected } = gw.add(applyPolicy(policy, key, events).events);
   * ```
   */
  add(inputs: readonly GatewayInput[]): { stored: number; rejected: number } {
    const op = 'add records';
    this.#open(op);
    aArray(op, 'inputs', inputs);
    const rows: StoredRow[] = [];
    let gaps = 0;
    const rejected: RejectCounters = { missing: 0, nonFinite: 0, outOfRange: 0, label: 0, time: 0 };
    inputs.forEach((input, i) => {
      const name = `inputs[${i}]`;
      aObject(op, name, input);
      if (this.#source.kind === 'samples') {
        const sample = input as SharedEvent;
        if (sample.kind === 'gap') {
          gaps++;
          return;
        }
        if (sample.kind !== 'sample') throw new EdgeTypeError(`cannot ${op}: ${name} must be a shared sample or gap (the gateway's source is samples), got ${describe(input)}`);
        aObject(op, `${name}.values`, sample.values);
        const r = this.#row(sample.t, sample.t, (f) => (Object.hasOwn(sample.values, f) ? sample.values[f] : undefined), sample.label);
        if (typeof r === 'string') rejected[r]++;
        else rows.push(r);
      } else {
        if ((input as SharedEvent).kind === 'gap') {
          gaps++;
          return;
        }
        const rec = input as FeatureRecord;
        if (!Array.isArray(rec.values) || (input as SharedEvent).kind !== undefined) {
          throw new EdgeTypeError(`cannot ${op}: ${name} must be a feature record (the gateway's source is windows), got ${describe(input)}`);
        }
        const r = this.#row(rec.start, rec.end, (_, j) => (j < 0 ? undefined : rec.values[j]), rec.label);
        if (typeof r === 'string') rejected[r]++;
        else rows.push(r);
      }
    });
    if (rows.length > 0) this.#buffer.append(rows);
    this.#added += rows.length;
    this.#gaps += gaps;
    let refused = 0;
    for (const k of Object.keys(rejected) as (keyof RejectCounters)[]) {
      this.#rejected[k] += rejected[k];
      refused += rejected[k];
    }
    return { stored: rows.length, rejected: refused };
  }

  /** One record → a stored row, or the reason it is refused. `value(name, j)`: j is the feature's index in a record (windows). */
  #row(t0: unknown, t1: unknown, value: (name: string, j: number) => unknown, label: unknown): StoredRow | keyof RejectCounters {
    if (typeof t0 !== 'number' || typeof t1 !== 'number' || !(Math.abs(t0) <= MAX_TIME) || !(Math.abs(t1) <= MAX_TIME) || t1 < t0) return 'time';
    const schema = this.#schema;
    const raw: number[] = [];
    for (const [j, f] of schema.features.entries()) {
      const v = value(f.name, this.#featureIndex[j]);
      if (v === undefined) return 'missing';
      raw.push(v as number);
    }
    let y: number | string | undefined;
    const sl = schema.label;
    if (sl?.kind === 'categorical') {
      if (typeof label !== 'string' || !sl.classes.includes(label)) return 'label';
      y = label;
    } else if (sl?.kind === 'continuous') {
      y = value(sl.name, this.#labelIndex) as number | undefined;
      if (y === undefined) return 'missing';
      raw.push(y as number);
    }
    for (const v of raw) {
      if (typeof v !== 'number' || !Number.isFinite(v)) return 'nonFinite';
    }
    try {
      const q = quantiseDataset(schema, [raw.slice(0, schema.features.length)], y === undefined ? undefined : [y]);
      const x = Int32Array.from(q.x[0]);
      return q.y === undefined ? { t0, t1, x } : { t0, t1, x, y: q.y[0] };
    } catch {
      // quantiseDataset refuses exactly the values outside their schema range here (types, finiteness and classes are checked above)
      return 'outOfRange';
    }
  }

  /**
   * Seals the batches that are ready into the outbox: every full batch, and a partial one
   * (at least `minBatchSize` records) whose oldest record waited `maxWaitMs` — or any partial one
   * with `force`. Stops early when the outbox is full (counted; the records wait in the buffer).
   *
   * @returns the batches sealed, in order
   * @throws EdgeError `EDGE_ERR_SEAL` if encryption fails (the records stay in the buffer); the
   *   buffer's and outbox's storage errors
   * @example
   * ```ts
   * for (const b of gw.seal()) log.info(`sealed ${b.batchId}: ${b.records} records, ${b.bytes} bytes`);
   * ```
   */
  seal(options: { force?: boolean } = {}): SealedBatch[] {
    const op = 'seal batches';
    this.#open(op);
    aObject(op, 'options', options);
    const out: SealedBatch[] = [];
    for (;;) {
      const m = this.#buffer.metrics();
      if (m.entries < Math.max(1, this.#policy.minBatchSize)) break;
      const waited = m.oldestAppendedAt !== null && this.#now() - m.oldestAppendedAt >= this.#maxWaitMs;
      if (m.entries < this.#batchSize && !waited && options.force !== true) break;
      if (!this.#outbox.hasRoom(this.#batchBytes)) {
        this.#outboxFull++;
        break;
      }
      out.push(this.#sealOne(op));
    }
    return out;
  }

  #sealOne(op: string): SealedBatch {
    const entries = this.#buffer.lease(this.#batchSize);
    try {
      assertMinBatch(this.#policy, entries.length);
      const { seq, batchId } = this.#outbox.next(this.#dataset, this.#plant);
      const rows = entries.map((e) => e.value);
      let t0 = Infinity;
      let t1 = -Infinity;
      for (const r of rows) {
        if (r.t0 < t0) t0 = r.t0;
        if (r.t1 > t1) t1 = r.t1;
      }
      const data = this.#schema.label === undefined
        ? { x: rows.map((r) => Array.from(r.x)) }
        : { x: rows.map((r) => Array.from(r.x)), y: rows.map((r) => r.y as number) };
      let sealed;
      try {
        sealed = sealBatch(this.#engine, this.#pk, this.#schema, data, 0, rows.length, {
          dataset: this.#dataset, plant: this.#plant, batchId, from: new Date(t0).toISOString(), to: new Date(t1).toISOString(),
        });
      } catch (e) {
        throw new EdgeError(EDGE_ERR.SEAL, `cannot ${op}: encrypting batch ${batchId} failed (${(e as Error)?.message ?? String(e)})`, { cause: e });
      }
      const lastId = entries[entries.length - 1].id;
      this.#outbox.put({
        dataset: this.#dataset, plant: this.#plant, seq, contentHash: sealed.ref.contentHash, records: rows.length, bytes: sealed.bytes, consumedThrough: lastId,
      });
      this.#buffer.ack(entries.map((e) => e.id));
      this.#sealedBatches++;
      this.#sealedRecords += rows.length;
      return Object.freeze({ batchId, seq, records: rows.length, bytes: sealed.bytes.length, contentHash: sealed.ref.contentHash });
    } catch (e) {
      this.#buffer.release(entries.map((en) => en.id));
      throw e;
    }
  }

  /**
   * What the gateway did since it was opened, and what waits in its record buffer.
   * @throws EdgeError the buffer's `EDGE_ERR_BUFFER_STORAGE`, `EDGE_ERR_BUFFER_CLOSED`
   * @example
   * ```ts
   * const { waitingRecords, rejected } = gw.metrics();
   * ```
   */
  metrics(): GatewayMetrics {
    const m = this.#buffer.metrics();
    return Object.freeze({
      added: this.#added,
      storedTotal: m.appendedTotal,
      rejected: Object.freeze({ ...this.#rejected }),
      gaps: this.#gaps,
      sealedBatches: this.#sealedBatches,
      sealedRecords: this.#sealedRecords,
      waitingRecords: m.entries,
      oldestWaitingAt: m.oldestAppendedAt,
      droppedRecords: m.droppedTotal,
      outboxFull: this.#outboxFull,
    });
  }

  /**
   * Closes the record buffer (not the outbox, which may be shared). Idempotent.
   * @example
   * ```ts
   * gw.close();
   * ```
   */
  close(): void {
    this.#closed = true;
    this.#buffer.close();
  }

  #open(op: string): void {
    if (this.#closed) throw new EdgeError(EDGE_ERR.BUFFER_CLOSED, `cannot ${op}: the gateway is closed`);
  }

  /** Same as {@link Gateway.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** The checks of {@link Gateway.open} that records of the source can fit the schema. */
function checkSource(op: string, options: GatewayOptions): void {
  const { schema, policy, source, engine } = options;
  const mismatch = (reason: string): never => {
    throw new EdgeError(EDGE_ERR.SCHEMA_MISMATCH, `cannot ${op}: ${reason}`);
  };
  const quantBits = (engine.params as { quantBits?: number }).quantBits;
  if (quantBits !== undefined && schema.scale > 2 ** quantBits) mismatch(`the schema's scale ${schema.scale} exceeds the parameter set's 2^${quantBits}`);
  let produced: Set<string>;
  if (source.kind === 'samples') {
    const shared = new Map(policy.signals.filter((s) => s.share).map((s) => [s.name, s]));
    produced = new Set(shared.keys());
    const ranged = [...schema.features, ...(schema.label?.kind === 'continuous' ? [schema.label] : [])];
    for (const f of ranged) {
      const s = shared.get(f.name);
      if (s === undefined) continue; // reported below
      if (s.range !== undefined && (s.range.lo < f.lo || s.range.hi > f.hi)) {
        mismatch(`the policy lets ${f.name} leave within [${s.range.lo}, ${s.range.hi}], beyond the schema's range [${f.lo}, ${f.hi}]`);
      }
    }
  } else if (source.kind === 'windows') {
    aArray(op, 'options.source.names', source.names);
    source.names.forEach((n, i) => aString(op, `options.source.names[${i}]`, n));
    produced = new Set(source.names);
  } else {
    throw new EdgeRangeError(`cannot ${op}: options.source.kind must be 'samples' or 'windows'`);
  }
  const missing = schema.features.map((f) => f.name).filter((n) => !produced.has(n));
  if (missing.length > 0) mismatch(`the schema's features ${missing.join(', ')} are not produced by the ${source.kind === 'samples' ? "policy's shared signals" : 'feature windows'}`);
  const label = schema.label;
  if (label?.kind === 'continuous' && !produced.has(label.name)) mismatch(`the schema's continuous label ${label.name} is not produced by the source`);
  if (label?.kind === 'categorical') {
    if (policy.label === undefined) mismatch(`the schema has the categorical label ${label.name}, the policy maps no label`);
    const unknown = policy.label!.classes.map((c) => c.name).filter((c) => !label.classes.includes(c));
    if (unknown.length > 0) mismatch(`the policy's label classes ${unknown.join(', ')} are not classes of the schema (${label.classes.join(', ')})`);
  }
}
