/**
 * The plant's data policy (DESIGN.md §2, §3; issue 6): a YAML file owned by the plant admin that
 * decides what may leave the plant, and the pure function that applies it to connector events.
 *
 * - Every signal has a classification (`public < internal < confidential < secret`); only signals
 *   marked `share: true` leave, and none above the policy's `maxClassification` may be so marked.
 *   Signals the policy does not name never leave (default deny).
 * - Machine ids are replaced by a keyed HMAC-SHA256 pseudonym; the key stays in the plant (a key
 *   file next to the policy, or passed in by the gateway) and is never logged or serialised.
 * - Shared values outside the policy's range are clamped or the sample is rejected, per signal,
 *   and every such event is counted; so are NaN / ±∞ values and missing signals.
 * - A label mapping turns a raw value (e.g. a failure flag) into a class name.
 * - `minBatchSize` bounds how few records a batch that leaves may hold.
 *
 * The format is documented, with an example, in `docs/edge.md`. Everything here is pure except
 * {@link loadPolicy} and {@link loadPseudonymKey}, which read one file each.
 * @module
 */
import { createHmac } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { inspect } from 'node:util';
import { LineCounter, parseDocument } from 'yaml';
import { yamlLocator } from './yaml.ts';
import { aArray, aInteger, aObject, aString, describe } from './assert.ts';
import { EDGE_ERR, EdgeError, EdgeTypeError } from './errors.ts';
import { assertRawEvent, type RawEvent, type SharedEvent } from './sample.ts';

/**
 * Classifications, from least to most sensitive.
 * @example
 * ```ts
 * CLASSIFICATIONS.indexOf('secret'); // 3
 * ```
 */
export const CLASSIFICATIONS = ['public', 'internal', 'confidential', 'secret'] as const;

/** One of the {@link CLASSIFICATIONS}. */
export type Classification = (typeof CLASSIFICATIONS)[number];

/** What happens to a shared value outside the policy's range: clamp it into the range, or reject the sample. */
export type OutOfRangeAction = 'clamp' | 'reject';

/** The policy for one signal. */
export interface SignalPolicy {
  readonly name: string;
  readonly classification: Classification;
  /** Whether the signal's values may leave the plant (as features). */
  readonly share: boolean;
  /** The accepted range, required for shared signals. */
  readonly range?: { readonly lo: number; readonly hi: number };
  /** What to do with a shared value outside `range`; `reject` unless the policy says `clamp`. */
  readonly outOfRange: OutOfRangeAction;
  readonly unit?: string;
  /** The admin's own note, shown by `explainPolicy`. */
  readonly description?: string;
}

/** One label class: the raw value a connector delivers and the class name that may leave. */
export interface LabelClass {
  readonly raw: number;
  readonly name: string;
}

/** The label mapping: which signal carries the label and its classes, in order of precedence. */
export interface LabelPolicy {
  readonly signal: string;
  /** Raw value → class name. Within a window the first class in this list that occurs wins. */
  readonly classes: readonly LabelClass[];
}

/** A validated, frozen data policy (make one with {@link parsePolicy}, {@link loadPolicy} or {@link validatePolicy}). */
export interface DataPolicy {
  readonly version: 1;
  /** The most sensitive classification a shared signal may have. */
  readonly maxClassification: Classification;
  /** The fewest records a batch that leaves the plant may hold. */
  readonly minBatchSize: number;
  /** Where the pseudonymisation key lives; without it the gateway passes the key in. */
  readonly machineIds?: { readonly keyFile: string };
  /** The declared signals, in file order. */
  readonly signals: readonly SignalPolicy[];
  readonly label?: LabelPolicy;
}

/** Counts of what {@link applyPolicy} did; per-signal counts are keyed by signal name. */
export interface PolicyCounters {
  /** Samples received. */
  samplesIn: number;
  /** Samples that leave (after the policy). */
  samplesOut: number;
  /** Samples rejected, for any of the reasons below (a sample can have several). */
  samplesRejected: number;
  /** Gap markers passed on. */
  gaps: number;
  /** Values clamped into range (only counted for samples that leave). */
  clamped: Record<string, number>;
  /** Samples rejected because this signal was out of range and its policy says `reject`. */
  outOfRange: Record<string, number>;
  /** Samples rejected because this shared or label signal was NaN or ±∞. */
  nonFinite: Record<string, number>;
  /** Samples rejected because this shared or label signal was absent. */
  missing: Record<string, number>;
  /** Samples rejected because the label's raw value has no class. */
  unmappedLabel: number;
  /** Values removed because the signal is declared but not shareable. */
  withheld: Record<string, number>;
  /** Values removed because the policy does not declare the signal (default deny). */
  undeclared: Record<string, number>;
}

/** What {@link applyPolicy} returns: the events that leave, in input order, and the counters. */
export interface PolicyOutcome {
  readonly events: SharedEvent[];
  readonly counters: PolicyCounters;
}

const KEY_MIN_BYTES = 32;
const PSEUDONYM_CONTEXT = 'hedge/machine-id/v1\n';
const SIGNAL_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/** HMAC-SHA256 under a key; set by {@link PseudonymKey}'s static block so the bytes stay private to this module. */
let macOf: (key: PseudonymKey, message: string) => Buffer;

/**
 * The plant's pseudonymisation key: at least 32 bytes, held in a private field, never printed,
 * serialised or logged (`inspect` and `JSON.stringify` show `[redacted]`). Wipe it with
 * {@link PseudonymKey.destroy} when the gateway stops.
 *
 * @example
 * ```ts
 * const key = PseudonymKey.fromBytes(crypto.getRandomValues(new Uint8Array(32)));
 * pseudonymise(key, 'mill-3'); // 'm-…'
 * key.destroy();
 * ```
 */
export class PseudonymKey {
  #bytes: Buffer | null;

  static {
    macOf = (key, message) => {
      if (key.#bytes === null) throw new EdgeError(EDGE_ERR.KEY_DESTROYED, 'cannot pseudonymise: the key was destroyed');
      return createHmac('sha256', key.#bytes).update(message, 'utf8').digest();
    };
  }

  private constructor(bytes: Buffer) {
    this.#bytes = bytes;
  }

  /**
   * Makes a key from raw bytes (copied; wipe your own copy).
   * @throws EdgeTypeError if `bytes` is not a `Uint8Array`
   * @throws EdgeError `EDGE_ERR_KEY` if it holds fewer than 32 bytes
   * @example
   * ```ts
   * const key = PseudonymKey.fromBytes(randomBytes(32));
   * ```
   */
  static fromBytes(bytes: Uint8Array): PseudonymKey {
    if (!(bytes instanceof Uint8Array)) throw new EdgeTypeError(`cannot create pseudonym key: bytes must be a Uint8Array, got ${describe(bytes)}`);
    if (bytes.length < KEY_MIN_BYTES) {
      throw new EdgeError(EDGE_ERR.KEY, `cannot create pseudonym key: it must hold at least ${KEY_MIN_BYTES} bytes, got ${bytes.length}`);
    }
    return new PseudonymKey(Buffer.from(bytes));
  }

  /**
   * Overwrites the key bytes with zeros; later use throws `EDGE_ERR_KEY_DESTROYED`. Idempotent.
   * @example
   * ```ts
   * key.destroy();
   * ```
   */
  destroy(): void {
    this.#bytes?.fill(0);
    this.#bytes = null;
  }

  /** Never the key: `"[redacted]"`. */
  toJSON(): string {
    return '[redacted]';
  }

  /** Never the key. */
  toString(): string {
    return 'PseudonymKey([redacted])';
  }

  /** Never the key (what `console.log` and `util.inspect` print). */
  [inspect.custom](): string {
    return 'PseudonymKey([redacted])';
  }
}

/**
 * The pseudonym of a machine: HMAC-SHA256 under the plant's key of `hedge/machine-id/v1\n` and
 * the id, truncated to 128 bits and written as `m-` and four groups of 8 hex digits. The same key
 * and id always give the same pseudonym; without the key the id cannot be recovered or tested.
 * The grouping keeps pseudonyms acceptable as identifiers to the transparency log, which refuses
 * long unbroken alphanumeric runs as likely key material.
 *
 * @throws EdgeTypeError if `key` is not a {@link PseudonymKey} or `machineId` not a string
 * @throws EdgeRangeError if `machineId` is empty
 * @throws EdgeError `EDGE_ERR_KEY_DESTROYED` if the key was destroyed
 * @example
 * ```ts
 * pseudonymise(key, 'mill-3'); // e.g. 'm-3f1c2a9b-07d4e5f6-a1b2c3d4-e5f60718'
 * ```
 */
export function pseudonymise(key: PseudonymKey, machineId: string): string {
  if (!(key instanceof PseudonymKey)) throw new EdgeTypeError(`cannot pseudonymise: key must be a PseudonymKey, got ${describe(key)}`);
  aString('pseudonymise', 'machineId', machineId);
  const hex = macOf(key, PSEUDONYM_CONTEXT + machineId).subarray(0, 16).toString('hex');
  return `m-${hex.slice(0, 8)}-${hex.slice(8, 16)}-${hex.slice(16, 24)}-${hex.slice(24, 32)}`;
}

/**
 * Reads the pseudonymisation key from a file holding it as hex (at least 64 hex digits, i.e.
 * 32 bytes; surrounding whitespace ignored), e.g. made with `openssl rand -hex 32 > key`. On POSIX
 * systems a file that group or others may access is refused (`chmod 600` it).
 *
 * @param path - the key file; `policy.machineIds.keyFile` as {@link loadPolicy} resolved it
 * @throws EdgeTypeError if `path` is not a string
 * @throws EdgeError `EDGE_ERR_KEY_PERMISSIONS` if group or others can access the file
 * @throws EdgeError `EDGE_ERR_KEY` if it cannot be read or is not ≥ 32 bytes of hex
 * @example
 * ```ts
 * const policy = await loadPolicy('/etc/hedge/policy.yaml');
 * const key = await loadPseudonymKey(policy.machineIds!.keyFile);
 * ```
 */
export async function loadPseudonymKey(path: string): Promise<PseudonymKey> {
  const op = 'load pseudonym key';
  aString(op, 'path', path);
  let text: Buffer;
  try {
    await using handle = await open(path, 'r');
    const stat = await handle.stat();
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
      throw new EdgeError(
        EDGE_ERR.KEY_PERMISSIONS,
        `cannot ${op}: ${path} is accessible to group or others (mode ${(stat.mode & 0o777).toString(8)}); run chmod 600 on it`,
      );
    }
    text = await handle.readFile();
  } catch (e) {
    if (e instanceof EdgeError) throw e;
    throw new EdgeError(EDGE_ERR.KEY, `cannot ${op}: ${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`, { cause: e });
  }
  const hex = text.toString('latin1').trim();
  text.fill(0);
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex) || hex.length < 2 * KEY_MIN_BYTES) {
    throw new EdgeError(EDGE_ERR.KEY, `cannot ${op}: ${path} must hold the key as at least ${2 * KEY_MIN_BYTES} hex digits`);
  }
  const bytes = Buffer.from(hex, 'hex');
  try {
    return PseudonymKey.fromBytes(bytes);
  } finally {
    bytes.fill(0);
  }
}

/**
 * Parses and validates a policy from YAML text. Errors name the path of the bad field and its line,
 * e.g. `cannot load policy: signals.torque.range.lo must be a number, got string (policy.yaml line 9)`.
 *
 * @param text - the YAML (one document, YAML 1.2 core schema: `yes` is a string, not `true`)
 * @param options.source - the file name for messages (default `policy`)
 * @param options.baseDir - folder against which a relative `machineIds.keyFile` is resolved
 * @returns the frozen policy
 * @throws EdgeTypeError if `text` is not a string
 * @throws EdgeError `EDGE_ERR_POLICY_SYNTAX` if the YAML is not well-formed (duplicate keys included)
 * @throws EdgeError `EDGE_ERR_POLICY_INVALID` if a field is missing, unknown or wrong
 * @example
 * ```ts
 * const policy = parsePolicy(readFileSync('policy.yaml', 'utf8'), { source: 'policy.yaml', baseDir: '.' });
 * ```
 */
export function parsePolicy(text: string, options: { source?: string; baseDir?: string } = {}): DataPolicy {
  const op = 'load policy';
  if (typeof text !== 'string') throw new EdgeTypeError(`cannot ${op}: text must be a string, got ${describe(text)}`);
  aObject(op, 'options', options);
  const source = options.source ?? 'policy';
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const syntax = doc.errors[0];
  if (syntax !== undefined) {
    const pos = lineCounter.linePos(syntax.pos[0]);
    const where = ` (${source} line ${pos.line}, column ${pos.col})`;
    throw new EdgeError(EDGE_ERR.POLICY_SYNTAX, `cannot ${op}: ${syntax.message}${where}`, { cause: syntax });
  }
  let literal: unknown;
  try {
    literal = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new EdgeError(EDGE_ERR.POLICY_SYNTAX, `cannot ${op}: ${(e as Error).message} (${source})`, { cause: e });
  }
  const locate = yamlLocator(doc, lineCounter, source);
  return check(literal, locate, options.baseDir);
}

/**
 * Reads and validates a policy file; a relative `machineIds.keyFile` is resolved against the
 * policy file's folder.
 *
 * @throws EdgeTypeError if `path` is not a string
 * @throws EdgeError `EDGE_ERR_POLICY_SYNTAX` / `EDGE_ERR_POLICY_INVALID` as {@link parsePolicy},
 *   `EDGE_ERR_POLICY_INVALID` also if the file cannot be read
 * @example
 * ```ts
 * const policy = await loadPolicy('/etc/hedge/policy.yaml');
 * ```
 */
export async function loadPolicy(path: string): Promise<DataPolicy> {
  aString('load policy', 'path', path);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new EdgeError(EDGE_ERR.POLICY_INVALID, `cannot load policy: ${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`, { cause: e });
  }
  return parsePolicy(text, { source: path, baseDir: dirname(resolve(path)) });
}

/**
 * Validates a policy literal (e.g. parsed JSON, or YAML parsed elsewhere). Errors name the path
 * of the bad field, as {@link parsePolicy}'s do, without a line.
 *
 * @returns the frozen policy
 * @throws EdgeError `EDGE_ERR_POLICY_INVALID` if a field is missing, unknown or wrong
 * @example
 * ```ts
 * const policy = validatePolicy({
 *   version: 1, minBatchSize: 64,
 *   signals: { torque: { classification: 'internal', share: true, range: { lo: 0, hi: 80 }, outOfRange: 'clamp' } },
 * });
 * ```
 */
export function validatePolicy(literal: unknown): DataPolicy {
  return check(literal, () => '', undefined);
}

/**
 * Applies the policy to connector events: pseudonymises machine ids, keeps only shareable signals,
 * clamps or rejects out-of-range values, rejects samples with a NaN / ±∞ or missing shared or
 * label value, maps the label, passes gap markers on, and counts all of it. Pure: the same inputs
 * give the same outputs.
 *
 * @param events - what connectors produced, in order
 * @returns the events that leave, in input order, and the counters for this call (add them up
 *   with {@link mergeCounters})
 * @throws EdgeTypeError / EdgeRangeError if an argument or event is malformed (the message names
 *   `events[i]`); nothing is returned for a call that throws
 * @throws EdgeError `EDGE_ERR_KEY_DESTROYED` if the key was destroyed
 * @example
 * ```ts
 * const { events, counters } = applyPolicy(policy, key, [
 *   { kind: 'sample', machineId: 'mill-3', t: 1_700_000_000_000, values: { torque: 91, machine_failure: 0 } },
 * ]);
 * // events[0].values.torque === 80 (clamped), counters.clamped.torque === 1
 * ```
 */
export function applyPolicy(policy: DataPolicy, key: PseudonymKey, events: readonly RawEvent[]): PolicyOutcome {
  const op = 'apply policy';
  aPolicy(op, policy);
  if (!(key instanceof PseudonymKey)) throw new EdgeTypeError(`cannot ${op}: key must be a PseudonymKey, got ${describe(key)}`);
  aArray(op, 'events', events);
  events.forEach((e, i) => assertRawEvent(op, `events[${i}]`, e));

  const counters = emptyCounters();
  const declared = new Set(policy.signals.map((s) => s.name));
  const label = policy.label;
  // A shared label signal's absence or NaN is already counted with the shared values.
  const labelShared = label !== undefined && policy.signals.some((s) => s.name === label.signal && s.share);
  const pseudonyms = new Map<string, string>();
  const machineOf = (id: string): string => {
    let p = pseudonyms.get(id);
    if (p === undefined) pseudonyms.set(id, (p = pseudonymise(key, id)));
    return p;
  };
  const out: SharedEvent[] = [];
  for (const event of events) {
    if (event.kind === 'gap') {
      counters.gaps++;
      out.push(Object.freeze({ kind: 'gap', machine: machineOf(event.machineId), t: event.t, reason: event.reason }));
      continue;
    }
    counters.samplesIn++;
    const raw = event.values;
    const values: Record<string, number> = {};
    const clamped: string[] = [];
    let rejected = false;
    for (const s of policy.signals) {
      const present = Object.hasOwn(raw, s.name);
      if (!s.share) {
        if (present) bump(counters.withheld, s.name);
        continue;
      }
      if (!present) {
        bump(counters.missing, s.name);
        rejected = true;
        continue;
      }
      let v = raw[s.name];
      if (!Number.isFinite(v)) {
        bump(counters.nonFinite, s.name);
        rejected = true;
        continue;
      }
      const { lo, hi } = s.range!;
      if (v < lo || v > hi) {
        if (s.outOfRange === 'reject') {
          bump(counters.outOfRange, s.name);
          rejected = true;
          continue;
        }
        v = v < lo ? lo : hi;
        clamped.push(s.name);
      }
      values[s.name] = v;
    }
    for (const name of Object.keys(raw)) if (!declared.has(name)) bump(counters.undeclared, name);
    let className: string | undefined;
    if (label !== undefined) {
      const v = raw[label.signal];
      if (!Object.hasOwn(raw, label.signal)) {
        if (!labelShared) bump(counters.missing, label.signal);
        rejected = true;
      } else if (!Number.isFinite(v)) {
        if (!labelShared) bump(counters.nonFinite, label.signal);
        rejected = true;
      } else {
        className = label.classes.find((c) => c.raw === v)?.name;
        if (className === undefined) {
          counters.unmappedLabel++;
          rejected = true;
        }
      }
    }
    if (rejected) {
      counters.samplesRejected++;
      continue;
    }
    for (const name of clamped) bump(counters.clamped, name);
    counters.samplesOut++;
    const shared = className === undefined
      ? { kind: 'sample' as const, machine: machineOf(event.machineId), t: event.t, values: Object.freeze(values) }
      : { kind: 'sample' as const, machine: machineOf(event.machineId), t: event.t, values: Object.freeze(values), label: className };
    out.push(Object.freeze(shared));
  }
  return { events: out, counters };
}

/**
 * Fresh counters, all zero.
 * @example
 * ```ts
 * let total = emptyCounters();
 * ```
 */
export function emptyCounters(): PolicyCounters {
  return {
    samplesIn: 0, samplesOut: 0, samplesRejected: 0, gaps: 0,
    clamped: bag(), outOfRange: bag(), nonFinite: bag(), missing: bag(),
    unmappedLabel: 0, withheld: bag(), undeclared: bag(),
  };
}

/**
 * The sum of two sets of counters (a new object; the inputs are not changed).
 * @throws EdgeTypeError if either argument is not an object
 * @example
 * ```ts
 * total = mergeCounters(total, applyPolicy(policy, key, events).counters);
 * ```
 */
export function mergeCounters(a: PolicyCounters, b: PolicyCounters): PolicyCounters {
  aObject('merge counters', 'a', a);
  aObject('merge counters', 'b', b);
  const sum = emptyCounters();
  for (const k of ['samplesIn', 'samplesOut', 'samplesRejected', 'gaps', 'unmappedLabel'] as const) sum[k] = a[k] + b[k];
  for (const k of ['clamped', 'outOfRange', 'nonFinite', 'missing', 'withheld', 'undeclared'] as const) {
    for (const src of [a[k], b[k]]) for (const [name, n] of Object.entries(src)) sum[k][name] = (sum[k][name] ?? 0) + n;
  }
  return sum;
}

/**
 * Refuses a batch smaller than the policy's `minBatchSize`; the uploader calls it before a batch
 * leaves the plant.
 *
 * @param records - how many records the batch holds
 * @throws EdgeRangeError if `records` is not a non-negative integer
 * @throws EdgeError `EDGE_ERR_BATCH_TOO_SMALL` if `records < policy.minBatchSize`
 * @example
 * ```ts
 * assertMinBatch(policy, batch.length); // throws below the minimum
 * ```
 */
export function assertMinBatch(policy: DataPolicy, records: number): void {
  aPolicy('check batch size', policy);
  aInteger('check batch size', 'records', records, 0);
  if (records < policy.minBatchSize) {
    throw new EdgeError(EDGE_ERR.BATCH_TOO_SMALL, `cannot send batch: it holds ${records} records, the policy's minBatchSize is ${policy.minBatchSize}`);
  }
}

/**
 * Whether `a` is more sensitive than `b`.
 * @example
 * ```ts
 * moreSensitive('secret', 'confidential'); // true
 * ```
 */
export function moreSensitive(a: Classification, b: Classification): boolean {
  return CLASSIFICATIONS.indexOf(a) > CLASSIFICATIONS.indexOf(b);
}

function bump(counts: Record<string, number>, name: string): void {
  counts[name] = (counts[name] ?? 0) + 1;
}

/** A record without a prototype, so that any connector-supplied name (even `__proto__`) is an ordinary key. */
function bag(): Record<string, number> {
  return Object.create(null) as Record<string, number>;
}

function aPolicy(op: string, policy: unknown): asserts policy is DataPolicy {
  aObject(op, 'policy', policy);
  if (policy.version !== 1 || !Array.isArray(policy.signals) || !Object.isFrozen(policy)) {
    throw new EdgeTypeError(`cannot ${op}: policy must come from parsePolicy, loadPolicy or validatePolicy`);
  }
}

// ---------------------------------------------------------------------------------------------
// Validation. Every failure names the field's path, e.g. `signals.torque.range.lo`.

type Locate = (path: readonly (string | number)[]) => string;

function check(literal: unknown, locate: Locate, baseDir: string | undefined): DataPolicy {
  const fail = (path: readonly (string | number)[], reason: string): never => {
    const name = path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
    throw new EdgeError(EDGE_ERR.POLICY_INVALID, `cannot load policy: ${name === '' ? 'the policy' : name} ${reason}${locate(path)}`);
  };
  const obj = (path: readonly (string | number)[], v: unknown, keys: readonly string[]): Record<string, unknown> => {
    if (v === undefined) fail(path, 'is required');
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, `must be a mapping, got ${yamlType(v)}`);
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!keys.includes(k)) fail([...path, k], `is not a known field (expected one of: ${keys.join(', ')})`);
    return o;
  };
  const str = (path: readonly (string | number)[], v: unknown): string => {
    if (typeof v !== 'string') fail(path, v === undefined ? 'is required' : `must be a string, got ${yamlType(v)}`);
    if ((v as string).length === 0) fail(path, 'must not be empty');
    return v as string;
  };
  const num = (path: readonly (string | number)[], v: unknown): number => {
    if (typeof v !== 'number') fail(path, v === undefined ? 'is required' : `must be a number, got ${yamlType(v)}`);
    if (!Number.isFinite(v)) fail(path, `must be finite, got ${v}`);
    return v as number;
  };
  const oneOf = <T extends string>(path: readonly (string | number)[], v: unknown, options: readonly T[]): T => {
    if (typeof v !== 'string' || !options.includes(v as T)) {
      fail(path, v === undefined ? `is required (one of: ${options.join(', ')})` : `must be one of: ${options.join(', ')}; got ${show(v)}`);
    }
    return v as T;
  };

  const top = obj([], literal, ['version', 'machineIds', 'maxClassification', 'minBatchSize', 'signals', 'label']);
  if (top.version !== 1) fail(['version'], top.version === undefined ? 'is required (1)' : `must be 1, got ${show(top.version)}`);
  const maxClassification = top.maxClassification === undefined ? 'confidential' : oneOf(['maxClassification'], top.maxClassification, CLASSIFICATIONS);
  const minBatchSize = num(['minBatchSize'], top.minBatchSize);
  if (!Number.isInteger(minBatchSize) || minBatchSize < 1) fail(['minBatchSize'], `must be a positive integer, got ${minBatchSize}`);

  let machineIds: { keyFile: string } | undefined;
  if (top.machineIds !== undefined) {
    const m = obj(['machineIds'], top.machineIds, ['keyFile']);
    const keyFile = str(['machineIds', 'keyFile'], m.keyFile);
    machineIds = Object.freeze({ keyFile: baseDir !== undefined && !isAbsolute(keyFile) ? resolve(baseDir, keyFile) : keyFile });
  }

  const signalMap = obj(['signals'], top.signals, Object.keys(top.signals ?? {}));
  const names = Object.keys(signalMap);
  if (names.length === 0) fail(['signals'], 'must declare at least one signal');
  const signals = names.map((name): SignalPolicy => {
    const path = ['signals', name];
    if (!SIGNAL_NAME.test(name)) fail(path, 'is not a valid signal name (a letter, then up to 63 letters, digits, _ or -)');
    const s = obj(path, signalMap[name], ['classification', 'share', 'range', 'outOfRange', 'unit', 'description']);
    const classification = oneOf([...path, 'classification'], s.classification, CLASSIFICATIONS);
    if (typeof s.share !== 'boolean') fail([...path, 'share'], s.share === undefined ? 'is required (true or false)' : `must be true or false, got ${show(s.share)}`);
    const share = s.share as boolean;
    if (share && moreSensitive(classification, maxClassification)) {
      fail([...path, 'share'], `cannot be true for a signal classified ${classification} (maxClassification is ${maxClassification})`);
    }
    let range: { lo: number; hi: number } | undefined;
    if (s.range !== undefined) {
      const r = obj([...path, 'range'], s.range, ['lo', 'hi']);
      const lo = num([...path, 'range', 'lo'], r.lo);
      const hi = num([...path, 'range', 'hi'], r.hi);
      if (!(lo < hi)) fail([...path, 'range'], `needs lo < hi, got lo ${lo}, hi ${hi}`);
      range = Object.freeze({ lo, hi });
    } else if (share) {
      fail([...path, 'range'], 'is required for a shared signal');
    }
    const outOfRange = s.outOfRange === undefined ? 'reject' : oneOf([...path, 'outOfRange'], s.outOfRange, ['clamp', 'reject'] as const);
    const spec: { -readonly [K in keyof SignalPolicy]: SignalPolicy[K] } = { name, classification, share, outOfRange };
    if (range) spec.range = range;
    if (s.unit !== undefined) spec.unit = str([...path, 'unit'], s.unit);
    if (s.description !== undefined) spec.description = str([...path, 'description'], s.description);
    return Object.freeze(spec);
  });

  let label: LabelPolicy | undefined;
  if (top.label !== undefined) {
    const l = obj(['label'], top.label, ['signal', 'classes']);
    const signal = str(['label', 'signal'], l.signal);
    const declared = signals.find((s) => s.name === signal);
    if (!declared) fail(['label', 'signal'], `names '${signal}', which is not declared under signals`);
    if (moreSensitive(declared!.classification, maxClassification)) {
      fail(['label', 'signal'], `names '${signal}', classified ${declared!.classification}, above maxClassification ${maxClassification}`);
    }
    if (!Array.isArray(l.classes)) fail(['label', 'classes'], l.classes === undefined ? 'is required' : `must be a list, got ${yamlType(l.classes)}`);
    const list = l.classes as unknown[];
    if (list.length < 2) fail(['label', 'classes'], `must list at least 2 classes, got ${list.length}`);
    const classes = list.map((c, i) => {
      const o = obj(['label', 'classes', i], c, ['raw', 'name']);
      return Object.freeze({ raw: num(['label', 'classes', i, 'raw'], o.raw), name: str(['label', 'classes', i, 'name'], o.name) });
    });
    classes.forEach((c, i) => {
      if (classes.findIndex((d) => d.raw === c.raw) !== i) fail(['label', 'classes', i, 'raw'], `repeats the raw value ${c.raw}`);
      if (classes.findIndex((d) => d.name === c.name) !== i) fail(['label', 'classes', i, 'name'], `repeats the class name '${c.name}'`);
    });
    label = Object.freeze({ signal, classes: Object.freeze(classes) });
  }

  const policy: { -readonly [K in keyof DataPolicy]: DataPolicy[K] } = { version: 1, maxClassification, minBatchSize, signals: Object.freeze(signals) };
  if (machineIds) policy.machineIds = machineIds;
  if (label) policy.label = label;
  return Object.freeze(policy);
}

function yamlType(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return typeof v;
}

function show(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : typeof v === 'number' || typeof v === 'boolean' ? String(v) : yamlType(v);
}
