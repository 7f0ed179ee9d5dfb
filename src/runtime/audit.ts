/**
 * Inference audit: what the runtime tells the transparency log (DESIGN.md §8) — counts,
 * abstentions, clamps, fallbacks, drift alarms and activations; never a raw value, a prediction or
 * a drift statistic.
 *
 * Mapping onto the event catalogue of `src/trust/events.ts`:
 *
 * | runtime fact | event kind | details | payload (hashed into `payloadHash`) |
 * |---|---|---|---|
 * | {@link InferenceSummary} of a period | `inference_summary` | `model`, `version`, `inferences` (= records), `abstained` | the whole summary as canonical JSON |
 * | {@link HistoryEntry} (activation, rollback) | `activation` | `model`, `version`, `action` (`activate`, `rollback`, or `deactivate` when a rollback leaves no version) | the entry as canonical JSON |
 *
 * The catalogue's `inference_summary` has no fields for clamped / fallback / unanswered counts or
 * drift alarms, and there is no drift-alarm kind: those are in the payload, whose hash the log
 * commits to, and the payload is kept beside the log by whoever appends the event.
 * @module
 */
import { canonicalJson } from '../models/artifact.ts';
import { checkEvent, hashPayload, type LogEvent } from '../trust/events.ts';
import type { HistoryEntry } from './activation.ts';
import { aObject, aString } from './assert.ts';
import type { DecisionCounts } from './controls.ts';
import type { DriftReport } from './drift.ts';
import { RUNTIME_ERR, RuntimeError, RuntimeRangeError } from './errors.ts';
import type { LoadedModel } from './load.ts';

/** Counts of one period of inference at one gateway: no raw values. */
export interface InferenceSummary extends DecisionCounts {
  readonly modelId: string;
  readonly modelVersion: number;
  /** Period covered (ISO 8601 UTC instants with milliseconds). */
  readonly from: string;
  readonly to: string;
  /** Drift counters since the monitor started, and the features (by name) in alarm at the last check. */
  readonly drift: { readonly records: number; readonly checks: number; readonly alarmsRaised: number; readonly featuresInAlarm: readonly string[] } | null;
}

/**
 * Builds the summary of one period from the decision counts and, optionally, the drift report.
 *
 * @param input - `model`, `counts` (e.g. `controlled.takeCounts()`), `drift` (the last report),
 *   `from` / `to` (the period)
 * @returns the summary (counts and feature names only)
 * @throws RuntimeRangeError if `from` / `to` are not instants or `to` is before `from`
 * @throws RuntimeError `RUNTIME_ERR_MISMATCH` if the counts do not add up
 * @example
 * ```ts
 * const summary = summariseInference({ model: controlled.model, counts: controlled.takeCounts(), drift: drift.report(), from, to: new Date() });
 * ```
 */
export function summariseInference(input: {
  model: Pick<LoadedModel, 'modelId' | 'modelVersion'>;
  counts: DecisionCounts;
  drift?: DriftReport;
  from: Date | string;
  to: Date | string;
}): InferenceSummary {
  const op = 'summarise inference';
  aObject(op, 'input', input);
  const from = isoInstant(op, 'from', input.from);
  const to = isoInstant(op, 'to', input.to);
  if (Date.parse(to) < Date.parse(from)) throw new RuntimeRangeError(`cannot ${op}: the period ends (${to}) before it starts (${from})`);
  const c = input.counts;
  if (c.served + c.abstained !== c.records || c.fallback + c.unanswered !== c.abstained || c.clamped > c.served) {
    throw new RuntimeError(RUNTIME_ERR.MISMATCH, `cannot ${op}: the counts do not add up (records = served + abstained, abstained = fallback + unanswered, clamped ≤ served)`);
  }
  const d = input.drift;
  return Object.freeze({
    modelId: input.model.modelId,
    modelVersion: input.model.modelVersion,
    from,
    to,
    records: c.records,
    served: c.served,
    clamped: c.clamped,
    abstained: c.abstained,
    fallback: c.fallback,
    unanswered: c.unanswered,
    reasons: Object.freeze({ ...c.reasons }),
    drift: d ? Object.freeze({ records: d.records, checks: d.checks, alarmsRaised: d.alarmsRaised, featuresInAlarm: Object.freeze([...d.alarms]) }) : null,
  });
}

/**
 * The `inference_summary` log event of a summary, and the payload whose hash it carries.
 *
 * @param summary - from {@link summariseInference}
 * @param who - `actor` (the gateway id) and `tenant` (the plant)
 * @returns the checked event (time = end of the period, subject = model id) and the payload bytes
 * @throws TrustError `TRUST_ERR_EVENT_INVALID` if actor, tenant or model id are not log identifiers
 * @example
 * ```ts
 * const { event, payload } = inferenceSummaryEvent(summary, { actor: 'gateway.plant-a', tenant: 'plant-a' });
 * await log.append(event); // and store payload beside the log
 * ```
 */
export function inferenceSummaryEvent(summary: InferenceSummary, who: { actor: string; tenant: string }): { event: LogEvent; payload: Uint8Array } {
  aObject('write inference summary event', 'who', who);
  const payload = new TextEncoder().encode(canonicalJson(summary));
  const event = checkEvent({
    kind: 'inference_summary',
    time: summary.to,
    actor: who.actor,
    tenant: who.tenant,
    subject: summary.modelId,
    payloadHash: hashPayload(payload),
    details: { model: summary.modelId, version: summary.modelVersion, inferences: summary.records, abstained: summary.abstained },
  });
  return { event, payload };
}

/**
 * The `activation` log event of a history entry (activation, admin or automatic rollback).
 *
 * @param entry - from `ModelSlots.history()` or the return of `activate` / `rollback`
 * @param who - `modelId`, `actor` (the gateway id; the admin's id is in the payload) and `tenant`
 * @returns the checked event and the payload bytes (the entry as canonical JSON)
 * @throws RuntimeError `RUNTIME_ERR_MISMATCH` for an entry with neither version nor previous version
 * @throws TrustError `TRUST_ERR_EVENT_INVALID` if ids are not log identifiers
 * @example
 * ```ts
 * const entry = await slots.activate({ actor: 'runtime', reason: 'release 5' });
 * const { event } = activationEvent(entry, { modelId: slots.modelId, actor: 'gateway.plant-a', tenant: 'plant-a' });
 * ```
 */
export function activationEvent(entry: HistoryEntry, who: { modelId: string; actor: string; tenant: string }): { event: LogEvent; payload: Uint8Array } {
  const op = 'write activation event';
  aObject(op, 'who', who);
  aString(op, 'who.modelId', who.modelId);
  const version = entry.version ?? entry.previousVersion;
  if (version === null) throw new RuntimeError(RUNTIME_ERR.MISMATCH, `cannot ${op}: entry ${entry.seq} names no version`);
  const action = entry.action === 'activate' ? 'activate' : entry.version === null ? 'deactivate' : 'rollback';
  const payload = new TextEncoder().encode(canonicalJson({ modelId: who.modelId, ...entry }));
  const event = checkEvent({
    kind: 'activation',
    time: entry.time,
    actor: who.actor,
    tenant: who.tenant,
    subject: who.modelId,
    payloadHash: hashPayload(payload),
    details: { model: who.modelId, version, action },
  });
  return { event, payload };
}

function isoInstant(op: string, name: string, value: Date | string): string {
  const t = value instanceof Date ? value.getTime() : typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(t)) throw new RuntimeRangeError(`cannot ${op}: ${name} must be an instant, got ${String(value)}`);
  return new Date(t).toISOString();
}
