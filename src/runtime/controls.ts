/**
 * Output controls: the envelope a model may answer in, abstention with a deterministic fallback
 * outside it, output clamping, and a count of every decision (DESIGN.md §7).
 *
 * The **input envelope** comes from what the model was trained on:
 *
 * - the schema ranges: feature `j` must lie in `[lo_j − m·w_j, hi_j + m·w_j]` (`w_j = hi_j − lo_j`,
 *   `m = rangeMargin`, default 0: exactly the ranges the edge enforced on training data);
 * - the training moments: with `x'` the pre-scaled record, `μ` the training mean and
 *   `S = C / (n − 1)` the training covariance (both exact from the moments, centred in bigint),
 *   the squared Mahalanobis distance `d² = (x' − μ)ᵀ S⁻¹ (x' − μ)` must not exceed `χ²_d(1 − α)`
 *   (default α = 0.001; chi-square quantile of `src/models`). Under normality a fraction α of
 *   in-distribution records fall outside; real data are rarely normal, so measure it.
 *
 * Outside the envelope (or a non-finite value, or a classifier less confident than
 * `minConfidence`, or a model that throws) the model **abstains**: its output is never returned,
 * and the configured deterministic **fallback** rule answers — a constant, or a threshold on one
 * raw feature — or, with rule `none`, nobody does and the answer is `null`. Every decision is
 * explicit (`source`, `abstained`, `reasons`) and counted. A `value` (ridge) answer is **clamped**
 * to a range (default: the label's schema range), and that is counted too.
 * @module
 */
import { validateMoments, type Moments } from '../models/moments.ts';
import { chiSquareQuantile } from '../models/chi-square.ts';
import { inverseFactor } from '../models/linalg.ts';
import { prescaleValue } from '../models/schema.ts';
import { summariseGroup } from '../models/summary.ts';
import { aNumber, aObject, aOpen, aRecord, aString } from './assert.ts';
import { RUNTIME_ERR, RuntimeError } from './errors.ts';
import type { LoadedModel, Prediction } from './load.ts';

/** Why a model abstained. */
export type AbstainReason = 'not_finite' | 'out_of_range' | 'out_of_distribution' | 'low_confidence' | 'model_error';

/**
 * All abstention reasons, in the order they are checked.
 * @example
 * ```ts
 * for (const r of ABSTAIN_REASONS) console.log(r, counts.reasons[r]);
 * ```
 */
export const ABSTAIN_REASONS: readonly AbstainReason[] = Object.freeze(['not_finite', 'out_of_range', 'out_of_distribution', 'low_confidence', 'model_error']);

/** An answer: a value (ridge), a class name (discriminant) or an anomaly flag (mahalanobis, pca). */
export type Answer = number | string | boolean;

/** The deterministic rule that answers when the model abstains. */
export type FallbackRule =
  /** Always the same answer. */
  | { readonly rule: 'constant'; readonly output: Answer }
  /** `atOrAbove` when raw feature `feature` ≥ `threshold`, else `below`; no answer if that feature is not finite. */
  | { readonly rule: 'threshold'; readonly feature: string; readonly threshold: number; readonly below: Answer; readonly atOrAbove: Answer }
  /** No fallback: an abstention answers `null`. */
  | { readonly rule: 'none' };

/** Configuration of {@link createControls}. */
export interface ControlsConfig {
  /** What answers when the model abstains (required: there is no implicit default). */
  readonly fallback: FallbackRule;
  /** Tolerance outside each schema range, as a fraction of its width, in [0, 1]; default 0. */
  readonly rangeMargin?: number;
  /** Out-of-distribution false-alarm rate α ∈ (0, 1) of the Mahalanobis gate; default 0.001. */
  readonly oodAlpha?: number;
  /** Classifiers only: abstain when the largest posterior is below this, in [0, 1]; default 0. */
  readonly minConfidence?: number;
  /** Value models only: clamp answers to `[lo, hi]`; default the label's schema range. */
  readonly clamp?: { readonly lo: number; readonly hi: number };
}

/** The input envelope derived from the schema and the training moments. */
export interface Envelope {
  /** Accepted raw range per feature (schema range widened by the margin). */
  readonly lo: readonly number[];
  readonly hi: readonly number[];
  /** Training mean of the pre-scaled features. */
  readonly mean: readonly number[];
  /** `A` with `S⁻¹ = A Aᵀ` (pre-scaled coordinates), so `d² = ‖(x' − μ)ᵀ A‖²`. */
  readonly factor: readonly (readonly number[])[];
  /** `χ²_d(1 − α)`. */
  readonly threshold: number;
  readonly alpha: number;
  /** Number of training records the moments summarise. */
  readonly count: number;
}

/** One controlled decision. `answer` is what may be published; nothing else is. */
export interface Decision {
  /** Who answered: the model, the fallback rule, or nobody (`answer` is `null`). */
  readonly source: 'model' | 'fallback' | 'none';
  readonly abstained: boolean;
  /** Why the model abstained (empty when it answered). */
  readonly reasons: readonly AbstainReason[];
  /** The model's answer was clamped to the configured range. */
  readonly clamped: boolean;
  readonly answer: Answer | null;
  /** The model's raw prediction (before clamping) when it answered. */
  readonly prediction?: Prediction;
  /** Squared Mahalanobis distance of the input to the training data (NaN for non-finite input). */
  readonly distance: number;
}

/** Decision counts; `abstained = fallback + unanswered`, `records = served + abstained`. */
export interface DecisionCounts {
  readonly records: number;
  /** Answered by the model (clamped ones included). */
  readonly served: number;
  readonly clamped: number;
  readonly abstained: number;
  /** Abstentions the fallback rule answered. */
  readonly fallback: number;
  /** Abstentions nobody answered. */
  readonly unanswered: number;
  /** Abstentions per reason (a decision can have several reasons). */
  readonly reasons: Readonly<Record<AbstainReason, number>>;
}

/** A model under output controls. */
export interface ControlledModel {
  readonly model: LoadedModel;
  readonly envelope: Envelope;
  /** The decision for a record, not counted (shadow runs and health checks use it). */
  evaluate(record: readonly number[]): Promise<Decision>;
  /** The decision for a live record, counted. */
  predict(record: readonly number[]): Promise<Decision>;
  /** A snapshot of the counts since creation or the last {@link ControlledModel.takeCounts}. */
  counts(): DecisionCounts;
  /** Returns the counts and starts counting from zero (for periodic audit summaries). */
  takeCounts(): DecisionCounts;
}

/**
 * Derives the input envelope from the schema and the training moments.
 *
 * @param model - the loaded model (its schema ranges and standardisation)
 * @param moments - the model's training moments (features in schema order)
 * @param options - `rangeMargin`, `oodAlpha` as in {@link ControlsConfig}
 * @returns the envelope
 * @throws RuntimeError `RUNTIME_ERR_INVALID_REFERENCE` if the moments are inconsistent or their
 *   covariance is singular; `RUNTIME_ERR_MISMATCH` if their features or scale differ from the
 *   model's, or their mean / sd differ from the model's standardisation (moments of another model)
 * @throws RuntimeRangeError for an option out of range
 * @example
 * ```ts
 * const envelope = createEnvelope(model, momentsFromJSON(referenceJson.moments), { oodAlpha: 0.001 });
 * ```
 */
export function createEnvelope(model: LoadedModel, moments: Moments, options: { rangeMargin?: number; oodAlpha?: number } = {}): Envelope {
  const op = 'create envelope';
  aObject(op, 'options', options);
  const margin = options.rangeMargin ?? 0;
  aNumber(op, 'rangeMargin', margin, 0, 1);
  const alpha = options.oodAlpha ?? 0.001;
  aOpen(op, 'oodAlpha', alpha, 0, 1);
  try {
    validateMoments(moments);
  } catch (e) {
    throw new RuntimeError(RUNTIME_ERR.INVALID_REFERENCE, `cannot ${op}: training moments are invalid: ${(e as Error).message}`, { cause: e });
  }
  const names = model.schema.features.map((f) => f.name);
  if (moments.features.length !== names.length || moments.features.some((f, j) => f !== names[j]) || moments.scale !== model.schema.scale) {
    throw new RuntimeError(RUNTIME_ERR.MISMATCH, `cannot ${op}: moments over [${moments.features.join(', ')}] at scale ${moments.scale} are not for model ${model.modelId} v${model.modelVersion} ([${names.join(', ')}], scale ${model.schema.scale})`);
  }
  const d = names.length;
  const all = summariseGroup(moments.count, moments.sum, moments.gram, moments.scale);
  const near = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
  for (let j = 0; j < d; j++) {
    const sd = Math.sqrt(all.scatter[j][j] / all.count);
    if (!near(all.mean[j], model.standardisation.mean[j]) || !near(sd, model.standardisation.sd[j])) {
      throw new RuntimeError(RUNTIME_ERR.MISMATCH, `cannot ${op}: the moments' mean / sd of '${names[j]}' differ from model ${model.modelId} v${model.modelVersion}'s standardisation; they are not its training moments`);
    }
  }
  if (all.count <= d) throw new RuntimeError(RUNTIME_ERR.INVALID_REFERENCE, `cannot ${op}: need more than ${d} training records, got ${all.count}`);
  let factor: number[][];
  try {
    factor = inverseFactor(all.scatter.map((r) => r.map((v) => v / (all.count - 1))), op, 'the training covariance').factor;
  } catch (e) {
    throw new RuntimeError(RUNTIME_ERR.INVALID_REFERENCE, `cannot ${op}: ${(e as Error).message}`, { cause: e });
  }
  const f = model.schema.features;
  return Object.freeze({
    lo: Object.freeze(f.map((s) => s.lo - margin * (s.hi - s.lo))),
    hi: Object.freeze(f.map((s) => s.hi + margin * (s.hi - s.lo))),
    mean: Object.freeze([...all.mean]),
    factor: Object.freeze(factor.map((r) => Object.freeze(r))),
    threshold: chiSquareQuantile(1 - alpha, d),
    alpha,
    count: all.count,
  });
}

/**
 * Squared Mahalanobis distance of a raw record to the training data of an envelope.
 * @param envelope - from {@link createEnvelope}
 * @param schema - the model's schema (for pre-scaling)
 * @param record - raw values, schema order, finite
 * @returns `d²` (NaN if a value is not finite)
 * @throws never for a record of the right width (callers check)
 * @example
 * ```ts
 * envelopeDistance(envelope, model.schema, [298.1, 308.6, 1551, 42.8, 0]); // ≈ 1.9
 * ```
 */
export function envelopeDistance(envelope: Envelope, schema: LoadedModel['schema'], record: readonly number[]): number {
  const d = envelope.mean.length;
  const u = new Array<number>(d);
  for (let j = 0; j < d; j++) {
    const s = schema.features[j];
    u[j] = prescaleValue(s.lo, s.hi, record[j]) - envelope.mean[j];
  }
  let d2 = 0;
  for (let c = 0; c < d; c++) {
    let t = 0;
    for (let i = 0; i <= c; i++) t += u[i] * envelope.factor[i][c]; // A is upper triangular
    d2 += t * t;
  }
  return d2;
}

/**
 * Puts a loaded model under output controls.
 *
 * @param model - the loaded model
 * @param moments - its training moments (the envelope's reference)
 * @param config - fallback rule (required), `rangeMargin`, `oodAlpha`, `minConfidence`, `clamp`
 * @returns the controlled model
 * @throws RuntimeError `RUNTIME_ERR_MISMATCH` if the fallback's answers are not of the model's
 *   output kind (a number for ridge, a class name for discriminant, a boolean for anomaly models),
 *   its feature is unknown, or `clamp` / `minConfidence` is given for a model it does not apply to;
 *   as {@link createEnvelope} for the moments
 * @throws RuntimeTypeError / RuntimeRangeError for a malformed config
 * @example
 * ```ts
 * const controlled = createControls(model, moments, {
 *   fallback: { rule: 'threshold', feature: 'torque', threshold: 60, below: 'ok', atOrAbove: 'failure' },
 *   minConfidence: 0.6,
 * });
 * const decision = await controlled.predict(record); // decision.answer, decision.source
 * ```
 */
export function createControls(model: LoadedModel, moments: Moments, config: ControlsConfig): ControlledModel {
  const op = 'create output controls';
  aObject(op, 'config', config);
  const envelope = createEnvelope(model, moments, { rangeMargin: config.rangeMargin, oodAlpha: config.oodAlpha });
  const fallback = checkFallback(op, model, config.fallback);
  const minConfidence = config.minConfidence ?? 0;
  aNumber(op, 'config.minConfidence', minConfidence, 0, 1);
  if (config.minConfidence !== undefined && model.output !== 'class') {
    throw new RuntimeError(RUNTIME_ERR.MISMATCH, `cannot ${op}: minConfidence applies to classifiers, not to a ${model.family} model`);
  }
  let clamp: { lo: number; hi: number } | undefined;
  if (config.clamp !== undefined) {
    if (model.output !== 'value') throw new RuntimeError(RUNTIME_ERR.MISMATCH, `cannot ${op}: clamp applies to value models, not to a ${model.family} model`);
    aObject(op, 'config.clamp', config.clamp);
    aNumber(op, 'config.clamp.lo', config.clamp.lo);
    aNumber(op, 'config.clamp.hi', config.clamp.hi, config.clamp.lo);
    clamp = { lo: config.clamp.lo, hi: config.clamp.hi };
  } else if (model.output === 'value' && model.schema.label?.kind === 'continuous') {
    clamp = { lo: model.schema.label.lo, hi: model.schema.label.hi };
  }

  const d = model.schema.features.length;
  const schema = model.schema;
  const evaluate = async (record: readonly number[]): Promise<Decision> => {
    aRecord('evaluate record', 'record', record, d);
    const reasons: AbstainReason[] = [];
    let finite = true;
    let inRange = true;
    for (let j = 0; j < d; j++) {
      const v = record[j];
      if (!Number.isFinite(v)) finite = false;
      else if (v < envelope.lo[j] || v > envelope.hi[j]) inRange = false;
    }
    if (!finite) reasons.push('not_finite');
    if (!inRange) reasons.push('out_of_range');
    const distance = finite ? envelopeDistance(envelope, schema, record) : Number.NaN;
    if (finite && !(distance <= envelope.threshold)) reasons.push('out_of_distribution');
    if (reasons.length > 0) return abstain(reasons, record, distance);
    let prediction: Prediction;
    try {
      prediction = await model.predict(record);
    } catch {
      return abstain(['model_error'], record, distance);
    }
    switch (prediction.kind) {
      case 'value': {
        const v = prediction.value;
        if (!Number.isFinite(v)) return abstain(['model_error'], record, distance);
        const answer = clamp ? Math.min(clamp.hi, Math.max(clamp.lo, v)) : v;
        return { source: 'model', abstained: false, reasons: [], clamped: answer !== v, answer, prediction, distance };
      }
      case 'class': {
        let best = 0;
        for (const p of prediction.probabilities) best = Math.max(best, p);
        if (!(best >= minConfidence)) return abstain(['low_confidence'], record, distance);
        return { source: 'model', abstained: false, reasons: [], clamped: false, answer: prediction.label, prediction, distance };
      }
      case 'anomaly':
        return { source: 'model', abstained: false, reasons: [], clamped: false, answer: prediction.anomaly, prediction, distance };
    }
  };
  const abstain = (reasons: AbstainReason[], record: readonly number[], distance: number): Decision => {
    const answer = fallback(record);
    return { source: answer === null ? 'none' : 'fallback', abstained: true, reasons, clamped: false, answer, distance };
  };

  let counts = emptyCounts();
  return Object.freeze({
    model,
    envelope,
    evaluate,
    predict: async (record: readonly number[]) => {
      const decision = await evaluate(record);
      counts = countDecision(counts, decision);
      return decision;
    },
    counts: () => counts,
    takeCounts: () => {
      const out = counts;
      counts = emptyCounts();
      return out;
    },
  });
}

/**
 * Counts of no decisions.
 * @throws never
 * @example
 * ```ts
 * let counts = emptyCounts();
 * ```
 */
export function emptyCounts(): DecisionCounts {
  return Object.freeze({
    records: 0, served: 0, clamped: 0, abstained: 0, fallback: 0, unanswered: 0,
    reasons: Object.freeze(Object.fromEntries(ABSTAIN_REASONS.map((r) => [r, 0])) as Record<AbstainReason, number>),
  });
}

/**
 * Adds one decision to counts (pure: returns new counts).
 * @throws never
 * @example
 * ```ts
 * counts = countDecision(counts, await controlled.evaluate(record));
 * ```
 */
export function countDecision(counts: DecisionCounts, decision: Decision): DecisionCounts {
  const reasons = { ...counts.reasons };
  for (const r of decision.reasons) reasons[r] += 1;
  return Object.freeze({
    records: counts.records + 1,
    served: counts.served + (decision.abstained ? 0 : 1),
    clamped: counts.clamped + (decision.clamped ? 1 : 0),
    abstained: counts.abstained + (decision.abstained ? 1 : 0),
    fallback: counts.fallback + (decision.source === 'fallback' ? 1 : 0),
    unanswered: counts.unanswered + (decision.source === 'none' ? 1 : 0),
    reasons: Object.freeze(reasons),
  });
}

function checkFallback(op: string, model: LoadedModel, rule: unknown): (record: readonly number[]) => Answer | null {
  aObject(op, 'config.fallback', rule);
  const answer = (name: string, v: unknown): Answer => {
    const ok = model.output === 'value' ? typeof v === 'number' && Number.isFinite(v)
      : model.output === 'class' ? typeof v === 'string' && model.classes!.includes(v)
        : typeof v === 'boolean';
    if (!ok) {
      const want = model.output === 'value' ? 'a finite number' : model.output === 'class' ? `one of the classes ${model.classes!.join(', ')}` : 'a boolean';
      throw new RuntimeError(RUNTIME_ERR.MISMATCH, `cannot ${op}: ${name} must be ${want} for a ${model.family} model, got ${JSON.stringify(v)}`);
    }
    return v as Answer;
  };
  switch (rule.rule) {
    case 'constant': {
      const out = answer('config.fallback.output', rule.output);
      return () => out;
    }
    case 'threshold': {
      aString(op, 'config.fallback.feature', rule.feature);
      const j = model.schema.features.findIndex((f) => f.name === rule.feature);
      if (j < 0) throw new RuntimeError(RUNTIME_ERR.MISMATCH, `cannot ${op}: fallback feature '${rule.feature}' is not a feature of the model`);
      aNumber(op, 'config.fallback.threshold', rule.threshold);
      const t = rule.threshold;
      const below = answer('config.fallback.below', rule.below);
      const above = answer('config.fallback.atOrAbove', rule.atOrAbove);
      return (record) => {
        const v = record[j];
        if (!Number.isFinite(v)) return null;
        return v >= t ? above : below;
      };
    }
    case 'none':
      return () => null;
    default:
      throw new RuntimeError(RUNTIME_ERR.MISMATCH, `cannot ${op}: config.fallback.rule must be 'constant', 'threshold' or 'none', got ${JSON.stringify(rule.rule)}`);
  }
}
