/**
 * Which columns an encrypted batch carries (DESIGN §5, §6). Records are
 * column-major, one record per slot, one ciphertext per column:
 * - no label: the features x₁ … x_d;
 * - continuous label y: x₁ … x_d, y;
 * - categorical label with classes c₁ … c_C: one block per class,
 *   [δ_c, x₁·δ_c, …, x_d·δ_c] with δ_c = 1 when the record is of class c.
 *   Since δ_c² = δ_c, products of masked columns of one block give that class's
 *   Gram matrix, and the block sums give its count and sums, with no product of
 *   degree three. Summing the blocks' masked columns gives the pooled features
 *   (each slot has one class), so a job without the label costs no more than
 *   on an unlabelled dataset.
 * The plaintext values are the quantised integers of src/models' schema, so
 * every slot is within ±scale and padding slots are zero.
 */
import type { DatasetSchema, QuantisedDataset } from '../models/schema.ts';
import { ComputeError, ComputeErrorCode } from './errors.ts';

/** One column of a batch. */
export type ColumnRole =
  | { readonly kind: 'feature'; readonly feature: number }
  | { readonly kind: 'label' }
  | { readonly kind: 'indicator'; readonly cls: number }
  | { readonly kind: 'masked'; readonly feature: number; readonly cls: number };

/**
 * The columns of a dataset's batches, in order.
 *
 * @example
 * ```ts
 * columnLayout(schema).length; // d (no label), d + 1 (continuous), C·(d + 1) (categorical)
 * ```
 */
export function columnLayout(schema: DatasetSchema): readonly ColumnRole[] {
  const d = schema.features.length;
  const roles: ColumnRole[] = [];
  const label = schema.label;
  if (label?.kind === 'categorical') {
    for (let cls = 0; cls < label.classes.length; cls++) {
      roles.push({ kind: 'indicator', cls });
      for (let feature = 0; feature < d; feature++) roles.push({ kind: 'masked', feature, cls });
    }
  } else {
    for (let feature = 0; feature < d; feature++) roles.push({ kind: 'feature', feature });
    if (label?.kind === 'continuous') roles.push({ kind: 'label' });
  }
  return Object.freeze(roles.map((r) => Object.freeze(r)));
}

/** Index of a column in {@link columnLayout}. */
export function columnIndex(schema: DatasetSchema, role: ColumnRole): number {
  const d = schema.features.length;
  switch (role.kind) {
    case 'feature': return role.feature;
    case 'label': return d;
    case 'indicator': return role.cls * (d + 1);
    case 'masked': return role.cls * (d + 1) + 1 + role.feature;
  }
}

/**
 * The plaintext columns of records `[start, start + count)` of a quantised
 * dataset, in {@link columnLayout} order.
 *
 * @throws {ComputeError} `COMPUTE_ERR_SELECTION` when the dataset lacks labels the schema needs.
 * @example
 * ```ts
 * const columns = packColumns(schema, quantiseDataset(schema, rows, labels), 0, 8192);
 * ```
 */
export function packColumns(schema: DatasetSchema, data: QuantisedDataset, start: number, count: number): Int32Array[] {
  const layout = columnLayout(schema);
  const label = schema.label;
  if (label !== undefined && data.y === undefined) throw new ComputeError(ComputeErrorCode.SELECTION, `cannot pack records: the schema has label '${label.name}' but the records have none`);
  const cols = layout.map(() => new Int32Array(count));
  const d = schema.features.length;
  for (let i = 0; i < count; i++) {
    const x = data.x[start + i];
    if (label?.kind === 'categorical') {
      const base = data.y![start + i] * (d + 1);
      cols[base][i] = 1;
      for (let j = 0; j < d; j++) cols[base + 1 + j][i] = x[j];
    } else {
      for (let j = 0; j < d; j++) cols[j][i] = x[j];
      if (label?.kind === 'continuous') cols[d][i] = data.y![start + i];
    }
  }
  return cols;
}
