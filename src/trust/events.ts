/**
 * The catalogue of events the transparency log records. Every event names an
 * actor, a tenant, a subject and the SHA-256 of its payload — never the payload
 * itself. Fields are typed narrowly (identifiers, hashes, counts, enumerations)
 * so that no secret and no plaintext value can be written into the log:
 * identifiers that look like key material (long unbroken alphanumeric runs)
 * are refused, and unknown fields are refused.
 *
 * Caveat: a hash of a low-entropy payload can be guessed; hash whole
 * ciphertext batches, job definitions and artifacts, not single values.
 *
 * Encoding: canonical JSON (sorted keys, no spaces), UTF-8; that byte string is
 * the log entry whose leaf hash goes into the Merkle tree.
 */
import { createHash } from 'node:crypto';
import { assertBytes } from './assert.ts';
import { TrustError, TrustErrorCode } from './errors.ts';

/**
 * The kinds of event the log accepts.
 *
 * @example
 * ```ts
 * EVENT_KINDS.includes('release'); // true
 * ```
 */
export const EVENT_KINDS = [
  'key_ceremony',
  'ingest',
  'job',
  'decryption_share',
  'release',
  'deployment',
  'activation',
  'inference_summary',
  'access_denied',
  'deletion',
] as const;

/** One of {@link EVENT_KINDS}. */
export type EventKind = (typeof EVENT_KINDS)[number];

type FieldType = 'id' | 'hash' | 'count' | readonly string[];

/** Per kind: the detail fields allowed and their types (all required). */
const DETAILS: Record<EventKind, Record<string, FieldType>> = {
  key_ceremony: { ceremony: 'id', step: ['start', 'public_share', 'combine', 'complete', 'abort'] },
  ingest: { dataset: 'id', records: 'count' },
  job: { dataset: 'id', state: ['submitted', 'approved', 'refused', 'started', 'completed', 'failed'] },
  decryption_share: { round: 'id', ciphertext: 'hash' },
  release: { model: 'id', version: 'count' },
  deployment: { model: 'id', version: 'count', fleet: 'id' },
  activation: { model: 'id', version: 'count', action: ['activate', 'rollback', 'deactivate'] },
  inference_summary: { model: 'id', version: 'count', inferences: 'count', abstained: 'count' },
  access_denied: { action: 'id', resource: 'id' },
  deletion: { dataset: 'id', records: 'count', reason: ['retention', 'withdrawal'] },
};

/** Detail values: identifiers, hex hashes or counts, per kind. */
export type EventDetails = Readonly<Record<string, string | number>>;

/** One log event. */
export interface LogEvent {
  readonly kind: EventKind;
  /** ISO 8601 UTC instant with milliseconds, e.g. `2025-01-01T00:00:00.000Z`. */
  readonly time: string;
  /** Who acted (user, gateway or service id). */
  readonly actor: string;
  /** The tenant (plant, machine builder) the event belongs to. */
  readonly tenant: string;
  /** What it is about (batch, job, model, key, …). */
  readonly subject: string;
  /** Lower-case hex SHA-256 of the payload (see {@link hashPayload}). */
  readonly payloadHash: string;
  readonly details: EventDetails;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** An unbroken run this long of letters and digits reads as key material or an encoded value. */
const SECRET_LIKE = /[A-Za-z0-9+/=]{24,}/;

function invalid(reason: string): TrustError {
  return new TrustError(TrustErrorCode.EVENT_INVALID, `cannot record event: ${reason}`);
}

function checkId(value: unknown, field: string): void {
  if (typeof value !== 'string' || !ID.test(value)) throw invalid(`${field} must be an identifier ([A-Za-z0-9._:@/-], at most 128)`);
  if (SECRET_LIKE.test(value)) throw invalid(`${field} looks like key material or an encoded value; log its hash instead`);
}

function checkField(value: unknown, type: FieldType, field: string): void {
  if (type === 'id') checkId(value, field);
  else if (type === 'hash') {
    if (typeof value !== 'string' || !HEX64.test(value)) throw invalid(`${field} must be a lower-case hex SHA-256`);
  } else if (type === 'count') {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw invalid(`${field} must be a non-negative integer`);
  } else if (typeof value !== 'string' || !type.includes(value)) {
    throw invalid(`${field} must be one of ${type.join(', ')}`);
  }
}

/**
 * SHA-256 of an event payload, lower-case hex: what the log records instead
 * of the payload.
 *
 * @throws {TypeError} `payload` is not bytes
 * @example
 * ```ts
 * const payloadHash = hashPayload(batchBytes);
 * ```
 */
export function hashPayload(payload: Uint8Array): string {
  assertBytes(payload, 'payload');
  return createHash('sha256').update(payload).digest('hex');
}

/**
 * Checks that `value` is a catalogue event and returns a frozen copy with only
 * the catalogue's fields.
 *
 * @throws {TrustError} `TRUST_ERR_EVENT_INVALID` for an unknown kind or field, a missing field or a bad value
 * @example
 * ```ts
 * const e = checkEvent({ kind: 'release', time, actor, tenant, subject, payloadHash, details: { model: 'm1', version: 3 } });
 * ```
 */
export function checkEvent(value: unknown): LogEvent {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid('event must be an object');
  const e = value as Record<string, unknown>;
  const known = new Set(['kind', 'time', 'actor', 'tenant', 'subject', 'payloadHash', 'details']);
  for (const key of Object.keys(e)) if (!known.has(key)) throw invalid(`unknown field ${JSON.stringify(key)}`);
  if (!EVENT_KINDS.includes(e.kind as EventKind)) throw invalid(`unknown kind ${JSON.stringify(e.kind)}`);
  const kind = e.kind as EventKind;
  if (typeof e.time !== 'string' || !TIME.test(e.time) || new Date(e.time).toISOString() !== e.time) throw invalid('time must be an ISO 8601 UTC instant');
  checkId(e.actor, 'actor');
  checkId(e.tenant, 'tenant');
  checkId(e.subject, 'subject');
  checkField(e.payloadHash, 'hash', 'payloadHash');
  const details = e.details;
  if (details === null || typeof details !== 'object' || Array.isArray(details)) throw invalid('details must be an object');
  const schema = DETAILS[kind];
  const d = details as Record<string, unknown>;
  for (const key of Object.keys(d)) if (!(key in schema)) throw invalid(`unknown ${kind} detail ${JSON.stringify(key)}`);
  const clean: Record<string, string | number> = {};
  for (const [key, type] of Object.entries(schema)) {
    checkField(d[key], type, `details.${key}`);
    clean[key] = d[key] as string | number;
  }
  return Object.freeze({
    kind,
    time: e.time,
    actor: e.actor as string,
    tenant: e.tenant as string,
    subject: e.subject as string,
    payloadHash: e.payloadHash as string,
    details: Object.freeze(clean),
  });
}

function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/**
 * The log entry bytes of an event: canonical JSON with a format version `v: 1`.
 *
 * @throws {TrustError} `TRUST_ERR_EVENT_INVALID` when `event` is not a catalogue event
 * @example
 * ```ts
 * const entry = encodeEvent(event); // then hashLeaf(entry) is its leaf hash
 * ```
 */
export function encodeEvent(event: LogEvent): Uint8Array {
  const e = checkEvent(event);
  return new TextEncoder().encode(canonicalJson({ v: 1, ...e }));
}

/**
 * Decodes and re-checks log entry bytes; the bytes must be exactly the
 * canonical encoding (one event, one spelling).
 *
 * @throws {TypeError} `bytes` is not a `Uint8Array`
 * @throws {TrustError} `TRUST_ERR_EVENT_INVALID` when not a canonical catalogue event
 * @example
 * ```ts
 * const event = decodeEvent(await log.entry(5));
 * ```
 */
export function decodeEvent(bytes: Uint8Array): LogEvent {
  assertBytes(bytes, 'bytes');
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw invalid('entry is not UTF-8 JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || (parsed as { v?: unknown }).v !== 1) throw invalid('entry is not a version 1 event');
  const { v: _v, ...rest } = parsed as Record<string, unknown>;
  const event = checkEvent(rest);
  if (Buffer.compare(Buffer.from(encodeEvent(event)), Buffer.from(bytes)) !== 0) throw invalid('entry is not in canonical form');
  return event;
}
