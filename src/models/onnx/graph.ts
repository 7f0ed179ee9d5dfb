/**
 * A small builder for ONNX graphs in float64 (internal module): constants become initializers,
 * nodes get generated output names, and the shared input stage — pre-scaling with the schema
 * ranges and standardising — is written once for every family.
 * @module
 */
import type { DatasetSchema } from '../schema.ts';
import type { Standardisation } from '../summary.ts';
import { ONNX_ATTR, ONNX_DTYPE, ONNX_IR_VERSION, ONNX_OPSET, encodeModelProto } from './model-proto.ts';

/** An attribute value: an integer, a float (written as float32 by ONNX), or a list of integers. */
export type OnnxAttribute = { int: number } | { float: number } | { ints: readonly number[] };

/** A graph input or output: name, element type and shape (a string is a symbolic dimension). */
export interface OnnxValue {
  readonly name: string;
  readonly type: 'double' | 'int64' | 'bool';
  readonly shape: readonly (number | string)[];
  readonly doc?: string;
}

/** Collects nodes and initializers of one graph. */
export class OnnxGraphBuilder {
  readonly nodes: Record<string, unknown>[] = [];
  readonly initializers: Record<string, unknown>[] = [];
  private counter = 0;

  /** Adds a float64 constant of the given shape (row-major values) and returns its name. */
  double(name: string, dims: readonly number[], values: readonly number[]): string {
    const bytes = new Uint8Array(values.length * 8);
    const view = new DataView(bytes.buffer);
    values.forEach((v, i) => view.setFloat64(i * 8, v, true));
    this.initializers.push({ name, dims: [...dims], data_type: ONNX_DTYPE.DOUBLE, raw_data: bytes });
    return name;
  }

  /** Adds an int64 constant (e.g. a shape for Reshape) and returns its name. */
  int64(name: string, values: readonly number[]): string {
    const bytes = new Uint8Array(values.length * 8);
    const view = new DataView(bytes.buffer);
    values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
    this.initializers.push({ name, dims: [values.length], data_type: ONNX_DTYPE.INT64, raw_data: bytes });
    return name;
  }

  /** Adds a node and returns the name of its (single) output. */
  node(opType: string, inputs: readonly string[], attributes: Record<string, OnnxAttribute> = {}, output?: string): string {
    const out = output ?? `${opType.toLowerCase()}_${this.counter++}`;
    const attribute = Object.entries(attributes).map(([name, a]) => {
      if ('int' in a) return { name, type: ONNX_ATTR.INT, i: a.int };
      if ('float' in a) return { name, type: ONNX_ATTR.FLOAT, f: a.float };
      return { name, type: ONNX_ATTR.INTS, ints: [...a.ints] };
    });
    this.nodes.push({ op_type: opType, name: `${opType}_${this.nodes.length}`, input: [...inputs], output: [out], attribute });
    return out;
  }

  /**
   * The shared input stage: `x' = x · (2/(hi − lo)) + (−(hi + lo)/(hi − lo))`, then
   * `z = (x' − mean) / sd`. Returns the name of `z` ([N, d], float64).
   */
  standardise(input: string, schema: DatasetSchema, st: Standardisation): string {
    const d = schema.features.length;
    const a = schema.features.map((f) => 2 / (f.hi - f.lo));
    const c = schema.features.map((f) => -(f.hi + f.lo) / (f.hi - f.lo));
    const scaled = this.node('Mul', [input, this.double('prescale_factor', [d], a)]);
    const shifted = this.node('Add', [scaled, this.double('prescale_offset', [d], c)], {}, 'prescaled');
    const centred = this.node('Sub', [shifted, this.double('standardise_mean', [d], st.mean)]);
    return this.node('Div', [centred, this.double('standardise_sd', [d], st.sd)], {}, 'standardised');
  }
}

/** Everything one exported model needs besides the graph. */
export interface OnnxModelSpec {
  readonly graphName: string;
  readonly doc: string;
  readonly inputs: readonly OnnxValue[];
  readonly outputs: readonly OnnxValue[];
  readonly modelVersion: number;
  readonly metadata: Readonly<Record<string, string>>;
}

const ELEM = { double: ONNX_DTYPE.DOUBLE, int64: ONNX_DTYPE.INT64, bool: ONNX_DTYPE.BOOL } as const;

function valueInfo(v: OnnxValue): Record<string, unknown> {
  const dim = v.shape.map((s) => (typeof s === 'string' ? { dim_param: s } : { dim_value: s }));
  const info: Record<string, unknown> = { name: v.name, type: { tensor_type: { elem_type: ELEM[v.type], shape: { dim } } } };
  if (v.doc) info.doc_string = v.doc;
  return info;
}

/** Serialises a finished graph as an ONNX ModelProto (IR 8, opset 17). */
export function buildOnnxModel(builder: OnnxGraphBuilder, spec: OnnxModelSpec, producerVersion: string): Uint8Array {
  return encodeModelProto({
    ir_version: ONNX_IR_VERSION,
    producer_name: 'hedge',
    producer_version: producerVersion,
    domain: 'hedge.models',
    model_version: spec.modelVersion,
    doc_string: spec.doc,
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    metadata_props: Object.entries(spec.metadata).map(([key, value]) => ({ key, value })),
    graph: {
      name: spec.graphName,
      node: builder.nodes,
      initializer: builder.initializers,
      input: spec.inputs.map(valueInfo),
      output: spec.outputs.map(valueInfo),
    },
  });
}
