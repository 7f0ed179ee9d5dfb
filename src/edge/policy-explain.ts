/**
 * What a data policy lets leave the plant, and why: the structured answer and its text rendering
 * behind `hedge edge policy explain`. Given the signals the connectors actually report (names,
 * units, EU ranges), it also lists signals the policy does not declare (they never leave) and
 * flags disagreements between the policy and the source. Pure functions.
 * @module
 */
import { aArray, aFinite, aObject, aString } from './assert.ts';
import { EdgeRangeError } from './errors.ts';
import type { Classification, DataPolicy, OutOfRangeAction } from './policy.ts';

/** A signal as a connector reports it (e.g. an OPC UA AnalogItem with its EURange). */
export interface SourceSignal {
  readonly name: string;
  readonly unit?: string;
  readonly lo?: number;
  readonly hi?: number;
}

/** The signals the connectors report: the optional second argument of {@link explainPolicy}. */
export interface SourceSchema {
  readonly signals: readonly SourceSignal[];
}

/**
 * Why a signal does or does not leave:
 * - `shared`: declared `share: true`; its values leave as features;
 * - `label-only`: not shared, but its raw value is mapped to a class name that leaves as the label;
 * - `not-shareable`: declared `share: false`;
 * - `undeclared`: reported by a connector but not in the policy (default deny).
 */
export type LeaveReason = 'shared' | 'label-only' | 'not-shareable' | 'undeclared';

/** One signal in an explanation. */
export interface ExplainedSignal {
  readonly name: string;
  /** What of it leaves: its values as `features`, its mapped class as the `label`; empty = nothing. */
  readonly leavesAs: readonly ('features' | 'label')[];
  readonly reason: LeaveReason;
  /** Absent for undeclared signals. */
  readonly classification?: Classification;
  readonly range?: { readonly lo: number; readonly hi: number };
  /** For shared signals: what happens to values outside `range`. */
  readonly outOfRange?: OutOfRangeAction;
  readonly unit?: string;
  readonly description?: string;
  /** What the connectors report for it, when a source schema was given and names it. */
  readonly source?: SourceSignal;
  /** Disagreements and remarks (policy vs. source), in plain words. */
  readonly notes: readonly string[];
}

/** The full explanation. */
export interface PolicyExplanation {
  readonly machineIds: { readonly leavesAs: 'pseudonym'; readonly method: 'HMAC-SHA256, 128 bits'; readonly key: string };
  readonly maxClassification: Classification;
  readonly minBatchSize: number;
  /** Declared signals in policy order, then undeclared source signals in source order. */
  readonly signals: readonly ExplainedSignal[];
  readonly label?: { readonly signal: string; readonly classes: readonly { readonly raw: number; readonly name: string }[] };
  /** Names of the signals whose values leave as features. */
  readonly leaving: readonly string[];
  /** Names of the signals whose values do not leave (a label-only signal is listed here: its raw value stays). */
  readonly staying: readonly string[];
}

/**
 * Explains exactly which signals would leave the plant under `policy` and which would not, and why.
 *
 * @param policy - a validated policy
 * @param source - optional: what the connectors report, to list undeclared signals and check
 *   units and ranges against the source
 * @throws EdgeTypeError / EdgeRangeError if `source` is malformed or names a signal twice
 * @example
 * ```ts
 * const e = explainPolicy(policy, { signals: [{ name: 'torque', unit: 'Nm', lo: 0, hi: 100 }, { name: 'badge' }] });
 * e.leaving;  // ['torque']
 * console.log(renderExplanation(e));
 * ```
 */
export function explainPolicy(policy: DataPolicy, source?: SourceSchema): PolicyExplanation {
  const op = 'explain policy';
  aObject(op, 'policy', policy);
  const reported = source === undefined ? undefined : checkSource(op, source);
  const label = policy.label;
  const signals: ExplainedSignal[] = policy.signals.map((s) => {
    const isLabel = label?.signal === s.name;
    const leavesAs: ('features' | 'label')[] = [];
    if (s.share) leavesAs.push('features');
    if (isLabel) leavesAs.push('label');
    const reason: LeaveReason = s.share ? 'shared' : isLabel ? 'label-only' : 'not-shareable';
    const notes: string[] = [];
    const src = reported?.get(s.name);
    if (reported !== undefined && src === undefined) notes.push('no connector reports this signal, so nothing of it can leave');
    if (src !== undefined && s.share) {
      if (s.unit !== undefined && src.unit !== undefined && s.unit !== src.unit) {
        notes.push(`the policy's unit ${s.unit} differs from the source's unit ${src.unit}`);
      }
      if (s.range && src.lo !== undefined && src.hi !== undefined && (s.range.lo < src.lo || s.range.hi > src.hi)) {
        notes.push(`the policy's range [${s.range.lo}, ${s.range.hi}] reaches beyond the source's EU range [${src.lo}, ${src.hi}]`);
      }
    }
    const e: { -readonly [K in keyof ExplainedSignal]: ExplainedSignal[K] } = { name: s.name, leavesAs, reason, classification: s.classification, notes };
    if (s.range) e.range = s.range;
    if (s.share) e.outOfRange = s.outOfRange;
    if (s.unit !== undefined) e.unit = s.unit;
    if (s.description !== undefined) e.description = s.description;
    if (src !== undefined) e.source = src;
    return Object.freeze(e);
  });
  const declared = new Set(policy.signals.map((s) => s.name));
  for (const src of reported?.values() ?? []) {
    if (declared.has(src.name)) continue;
    signals.push(Object.freeze({ name: src.name, leavesAs: [], reason: 'undeclared', source: src, notes: [] }));
  }
  const explanation: { -readonly [K in keyof PolicyExplanation]: PolicyExplanation[K] } = {
    machineIds: {
      leavesAs: 'pseudonym',
      method: 'HMAC-SHA256, 128 bits',
      key: policy.machineIds ? `key file ${policy.machineIds.keyFile} (stays in the plant)` : 'passed in by the gateway (stays in the plant)',
    },
    maxClassification: policy.maxClassification,
    minBatchSize: policy.minBatchSize,
    signals: Object.freeze(signals),
    leaving: signals.filter((s) => s.leavesAs.includes('features')).map((s) => s.name),
    staying: signals.filter((s) => !s.leavesAs.includes('features')).map((s) => s.name),
  };
  if (label) explanation.label = { signal: label.signal, classes: label.classes };
  return Object.freeze(explanation);
}

/**
 * Renders an explanation as text for a terminal: what leaves, what stays, and why.
 *
 * @throws EdgeTypeError if `explanation` is not an object
 * @example
 * ```ts
 * process.stdout.write(renderExplanation(explainPolicy(policy)));
 * ```
 */
export function renderExplanation(explanation: PolicyExplanation): string {
  aObject('render explanation', 'explanation', explanation);
  const e = explanation;
  const lines: string[] = [];
  lines.push(`machine ids: leave only as pseudonyms (${e.machineIds.method}); key: ${e.machineIds.key}`);
  lines.push(`batches: at least ${e.minBatchSize} records; no signal above ${e.maxClassification} may be shared`);
  lines.push('', 'LEAVES');
  const leaving = e.signals.filter((s) => s.leavesAs.length > 0);
  if (leaving.length === 0) lines.push('  (nothing)');
  for (const s of leaving) {
    if (s.reason === 'shared') {
      const unit = s.unit === undefined ? '' : ` ${s.unit}`;
      const action = s.outOfRange === 'clamp' ? 'clamped into' : 'sample rejected outside';
      lines.push(`  ${s.name} [${s.classification}]: values as features, ${action} [${s.range!.lo}, ${s.range!.hi}]${unit}`);
      if (s.leavesAs.includes('label')) lines.push(`    and as the label: ${classList(e)}`);
    } else {
      lines.push(`  ${s.name} [${s.classification}]: only the label class (${classList(e)}); raw values stay`);
    }
    pushDetails(lines, s);
  }
  lines.push('', 'STAYS');
  const staying = e.signals.filter((s) => s.leavesAs.length === 0);
  if (staying.length === 0) lines.push('  (nothing)');
  for (const s of staying) {
    lines.push(s.reason === 'undeclared'
      ? `  ${s.name}: not declared in the policy (undeclared signals never leave)`
      : `  ${s.name} [${s.classification}]: share is false`);
    pushDetails(lines, s);
  }
  return `${lines.join('\n')}\n`;
}

function classList(e: PolicyExplanation): string {
  return e.label!.classes.map((c) => `${c.raw} → ${c.name}`).join(', ');
}

function pushDetails(lines: string[], s: ExplainedSignal): void {
  if (s.description !== undefined) lines.push(`    ${s.description}`);
  for (const note of s.notes) lines.push(`    note: ${note}`);
}

function checkSource(op: string, source: SourceSchema): Map<string, SourceSignal> {
  aObject(op, 'source', source);
  aArray(op, 'source.signals', source.signals);
  const map = new Map<string, SourceSignal>();
  source.signals.forEach((s, i) => {
    const name = `source.signals[${i}]`;
    aObject(op, name, s);
    aString(op, `${name}.name`, s.name);
    if (s.unit !== undefined) aString(op, `${name}.unit`, s.unit);
    if (s.lo !== undefined) aFinite(op, `${name}.lo`, s.lo);
    if (s.hi !== undefined) aFinite(op, `${name}.hi`, s.hi);
    if ((s.lo === undefined) !== (s.hi === undefined) || (s.lo !== undefined && !(s.lo < s.hi!))) {
      throw new EdgeRangeError(`cannot ${op}: ${name} needs both lo and hi with lo < hi, or neither`);
    }
    if (map.has(s.name)) throw new EdgeRangeError(`cannot ${op}: source names the signal '${s.name}' twice`);
    map.set(s.name, Object.freeze({ ...s }));
  });
  return map;
}
