/**
 * Planning a moments job (DESIGN §6): which batches (by pinned hash), which
 * products and sums, the guards checked before any share is asked for, and
 * how the revealed slot sums become {@link Moments}.
 *
 * A job selects features, optionally the dataset's label, plants and a time
 * range. The plan is plain JSON-able data so that worker threads and worker
 * processes get the same plan and compute the same partial aggregates.
 */
import type { SealEngine } from '../he/backend/seal.ts';
import { HeError, HeErrorCode } from '../he/errors.ts';
import { estimateNoiseBits } from '../he/noise-estimate.ts';
import { exactnessBound } from '../he/packing.ts';
import { validateMoments, type ClassMoments, type Moments } from '../models/moments.ts';
import type { DatasetSchema } from '../models/schema.ts';
import type { BatchRef } from './batch.ts';
import { ComputeError, ComputeErrorCode } from './errors.ts';
import { columnIndex, columnLayout } from './layout.ts';

/** What a job asks for. */
export interface JobSpec {
  /** Feature names (a subset of the schema's, in the order the moments will have). */
  readonly features: readonly string[];
  /** Whether to compute the label's moments (Xᵀy or per-class moments). */
  readonly label: boolean;
  /** Plants to include; all plants when absent. */
  readonly plants?: readonly string[];
  /** Time range: only batches lying entirely inside [from, to] are used. */
  readonly from?: string;
  readonly to?: string;
}

/** Minimums a result must meet before anyone is asked for a share. */
export interface Guards {
  readonly minPlants: number;
  readonly minRecords: number;
}

/** One accumulated statistic: Σ slots of operand a, or of a·b. */
export type Stat = readonly [a: number] | readonly [a: number, b: number];

/** The part of a plan workers need: how to form operands from columns, and what to accumulate. */
export interface AggregationPlan {
  /** Columns per batch. */
  readonly columns: number;
  /** Each operand is the sum of these columns of a batch. */
  readonly operands: readonly (readonly number[])[];
  /** The statistics, in reveal order. */
  readonly stats: readonly Stat[];
}

/** A planned job. */
export interface JobPlan {
  readonly spec: JobSpec;
  /** The pinned inputs, sorted by plant then batch id. */
  readonly batches: readonly BatchRef[];
  /** Batches that overlap the time range only partly, left out. */
  readonly excluded: readonly { readonly batchId: string; readonly plant: string; readonly reason: string }[];
  readonly plants: readonly string[];
  readonly records: number;
  readonly aggregation: AggregationPlan;
  /** How sums map back to moments. */
  readonly shape: MomentsShape;
}

/** Where each statistic lands in the moments. */
export type MomentsShape =
  | { readonly kind: 'plain'; readonly d: number; readonly labelled: boolean; readonly pooledClasses: number }
  | { readonly kind: 'per-class'; readonly d: number; readonly classes: readonly string[] };

/**
 * Plans a job over the batches available for a dataset.
 *
 * @throws {ComputeError} `COMPUTE_ERR_SELECTION` for unknown or repeated
 *   features, a label the schema lacks, or a bad time range;
 *   `COMPUTE_ERR_GUARD` when fewer plants or records than `guards` remain.
 * @throws {HeError} `HE_ERR_EXACTNESS` when the records exceed the exactness
 *   bound (split the job by time range or plants).
 * @example
 * ```ts
 * const plan = planJob(engine, schema, { features: ['torque', 'speed'], label: true }, refs, { minPlants: 3, minRecords: 1000 });
 * ```
 */
export function planJob(engine: SealEngine, schema: DatasetSchema, spec: JobSpec, available: readonly BatchRef[], guards: Guards): JobPlan {
  const op = 'plan job';
  const fail = (reason: string): never => {
    throw new ComputeError(ComputeErrorCode.SELECTION, `cannot ${op}: ${reason}`);
  };
  if (spec === null || typeof spec !== 'object') throw new TypeError('spec must be a job spec object');
  if (!Array.isArray(spec.features) || spec.features.length === 0) fail('select at least one feature');
  const names = schema.features.map((f) => f.name);
  const selected = spec.features.map((name) => {
    const i = names.indexOf(name);
    if (i < 0) fail(`unknown feature '${String(name)}' (the dataset has ${names.join(', ')})`);
    return i;
  });
  if (new Set(selected).size !== selected.length) fail('a feature is selected twice');
  if (typeof spec.label !== 'boolean') throw new TypeError('spec.label must be a boolean');
  if (spec.label && schema.label === undefined) fail('the dataset has no label');
  if (!Number.isInteger(guards?.minPlants) || guards.minPlants < 1 || !Number.isInteger(guards.minRecords) || guards.minRecords < 1) {
    throw new RangeError('guards.minPlants and guards.minRecords must be positive integers');
  }
  const params = engine.params;
  if (params.scheme !== 'bgv') fail(`moments are exact only under BGV, ${params.name} is ${params.scheme}`);
  const quantBits = params.scheme === 'bgv' ? params.quantBits : 0;
  if (schema.scale !== 2 ** quantBits) fail(`the dataset's scale ${schema.scale} differs from the parameter set's 2^${quantBits}`);
  const from = spec.from === undefined ? -Infinity : Date.parse(spec.from);
  const to = spec.to === undefined ? Infinity : Date.parse(spec.to);
  if (Number.isNaN(from) || Number.isNaN(to) || from > to) fail(`time range ${String(spec.from)} … ${String(spec.to)} is not two ISO 8601 instants in order`);
  const plantFilter = spec.plants === undefined ? undefined : new Set(spec.plants);

  const columns = columnLayout(schema).length;
  const batches: BatchRef[] = [];
  const excluded: { batchId: string; plant: string; reason: string }[] = [];
  for (const b of available) {
    if (b.params !== engine.params.name || b.columns !== columns) {
      throw new ComputeError(ComputeErrorCode.BATCH, `cannot ${op}: batch ${b.batchId} of ${b.plant} has ${b.columns} columns under ${b.params}, the dataset needs ${columns} under ${engine.params.name}`);
    }
    if (plantFilter !== undefined && !plantFilter.has(b.plant)) continue;
    const bFrom = Date.parse(b.from);
    const bTo = Date.parse(b.to);
    if (bTo < from || bFrom > to) continue;
    if (bFrom < from || bTo > to) {
      excluded.push({ batchId: b.batchId, plant: b.plant, reason: 'overlaps the time range only partly' });
      continue;
    }
    batches.push(b);
  }
  batches.sort((a, b) => (a.plant === b.plant ? cmp(a.batchId, b.batchId) : cmp(a.plant, b.plant)));
  const plants = [...new Set(batches.map((b) => b.plant))].sort(cmp);
  const records = batches.reduce((a, b) => a + b.recordCount, 0);
  if (plants.length < guards.minPlants || records < guards.minRecords) {
    throw new ComputeError(ComputeErrorCode.GUARD, `cannot ${op}: the selection has ${plants.length} plants and ${records} records, the federation requires at least ${guards.minPlants} plants and ${guards.minRecords} records`);
  }
  const { aggregation, shape } = statistics(schema, selected, spec.label, columns);
  const bound = exactnessBound(engine.params, engine.plainModulus, aggregation.stats.some((s) => s.length === 2) ? 2 : 1);
  if (records > bound) {
    throw new HeError(HeErrorCode.EXACTNESS, `cannot ${op}: ${records} records exceed the exactness bound of ${bound} per reveal; split the job by time range or plants`);
  }
  return deepFreeze({ spec: { ...spec }, batches, excluded, plants, records, aggregation, shape });
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function statistics(schema: DatasetSchema, selected: readonly number[], label: boolean, columns: number): { aggregation: AggregationPlan; shape: MomentsShape } {
  const d = selected.length;
  const stats: Stat[] = [];
  const gramAndSums = (ops: readonly number[]): void => {
    for (const a of ops) stats.push([a]);
    for (let i = 0; i < ops.length; i++) for (let j = i; j < ops.length; j++) stats.push([ops[i], ops[j]]);
  };
  const sl = schema.label;
  if (sl?.kind === 'categorical') {
    const classes = sl.classes;
    if (label) {
      // Per class: operands [δ_c, x·δ_c …]; stats: Σδ_c, Σ x·δ_c, Σ (x·δ_c)(x'·δ_c).
      const operands: number[][] = [];
      for (let cls = 0; cls < classes.length; cls++) {
        const base = operands.length;
        operands.push([columnIndex(schema, { kind: 'indicator', cls })]);
        for (const feature of selected) operands.push([columnIndex(schema, { kind: 'masked', feature, cls })]);
        stats.push([base]);
        gramAndSums(selected.map((_, i) => base + 1 + i));
      }
      return { aggregation: { columns, operands, stats }, shape: { kind: 'per-class', d, classes } };
    }
    const operands = selected.map((feature) => classes.map((_, cls) => columnIndex(schema, { kind: 'masked', feature, cls })));
    gramAndSums(operands.map((_, i) => i));
    return { aggregation: { columns, operands, stats }, shape: { kind: 'plain', d, labelled: false, pooledClasses: classes.length } };
  }
  const operands: number[][] = selected.map((feature) => [columnIndex(schema, { kind: 'feature', feature })]);
  if (label) operands.push([columnIndex(schema, { kind: 'label' })]);
  gramAndSums(operands.map((_, i) => i));
  return { aggregation: { columns, operands, stats }, shape: { kind: 'plain', d, labelled: label, pooledClasses: 1 } };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * log₂ of the noise bound of the job's accumulated ciphertexts (before flooding), for
 * {@link planFlooding}: products (or sums) of fresh ciphertexts, one term per
 * batch; pooling C class blocks multiplies the fresh noise by √C.
 *
 * @example
 * ```ts
 * const plan = planFlooding(engine, { k: engine.dataPrimes, noiseBits: jobNoiseBits(engine, job, 3), parties: 3 });
 * ```
 */
export function jobNoiseBits(engine: SealEngine, plan: JobPlan, parties: number): number {
  const products = plan.aggregation.stats.some((s) => s.length === 2);
  const pooled = plan.shape.kind === 'plain' ? plan.shape.pooledClasses : 1;
  const terms = plan.batches.length * (products ? pooled * pooled : pooled);
  return estimateNoiseBits(engine.params, engine.plainModulus, { parties, kind: products ? 'products' : 'sum', terms: Math.max(1, terms), slotSum: false });
}

/**
 * Assembles exact moments from the revealed slot sums (in
 * `plan.aggregation.stats` order).
 *
 * @throws {ComputeError} `COMPUTE_ERR_REVEAL` when the sums are not the
 *   moments of any dataset of `plan.records` records (a share was missing or
 *   wrong, or a plant's batch carried a malformed class indicator).
 * @throws {RangeError} when the number of sums differs from the plan's.
 */
export function momentsFromSums(schema: DatasetSchema, plan: JobPlan, sums: readonly bigint[]): Moments {
  const { stats } = plan.aggregation;
  if (!Array.isArray(sums) || sums.length !== stats.length) throw new RangeError(`sums must have ${stats.length} entries, got ${Array.isArray(sums) ? sums.length : typeof sums}`);
  let at = 0;
  const next = (): bigint => sums[at++];
  const block = (d: number): { sum: bigint[]; gram: bigint[][] } => {
    const sum = Array.from({ length: d }, next);
    const gram = Array.from({ length: d }, () => new Array<bigint>(d).fill(0n));
    for (let i = 0; i < d; i++) for (let j = i; j < d; j++) gram[i][j] = gram[j][i] = next();
    return { sum, gram };
  };
  const features = [...plan.spec.features];
  const count = BigInt(plan.records);
  const { shape } = plan;
  if (shape.kind === 'per-class') {
    const perClass: ClassMoments[] = shape.classes.map(() => {
      const c = next();
      return { count: c, ...block(shape.d) };
    });
    const sum = features.map((_, i) => perClass.reduce((a, c) => a + c.sum[i], 0n));
    const gram = features.map((_, i) => features.map((_, j) => perClass.reduce((a, c) => a + c.gram[i][j], 0n)));
    return checked({ features, scale: schema.scale, count, sum, gram, label: { kind: 'categorical', classes: [...shape.classes], perClass } });
  }
  const all = block(shape.labelled ? shape.d + 1 : shape.d);
  const d = shape.d;
  const sum = all.sum.slice(0, d);
  const gram = all.gram.slice(0, d).map((row) => row.slice(0, d));
  if (!shape.labelled) return checked({ features, scale: schema.scale, count, sum, gram });
  return checked({
    features, scale: schema.scale, count, sum, gram,
    label: { kind: 'continuous', sum: all.sum[d], sumSq: all.gram[d][d], cross: all.gram.slice(0, d).map((row) => row[d]) },
  });
}

function checked(moments: Moments): Moments {
  try {
    validateMoments(moments);
  } catch (cause) {
    throw new ComputeError(ComputeErrorCode.REVEAL, 'cannot assemble moments: the revealed sums are not the moments of any dataset of this size (a share missing or wrong, or a malformed batch)', { cause });
  }
  return moments;
}
