/**
 * The ONNX `ModelProto` wire format, encoded with protobufjs from the schema below (internal
 * module).
 *
 * The schema is the subset of `onnx/onnx.proto3` (ONNX IR, https://github.com/onnx/onnx, MIT
 * licence) that hedge writes: model, graph, node, attribute, tensor, value info, type, shape,
 * opset import and string entries, with the field numbers of the ONNX specification. Fields not
 * listed are never written; a reader ignores nothing of ours.
 * @module
 */
import protobuf from 'protobufjs';

/** ONNX IR version written (IR 8 goes with opset 17). */
export const ONNX_IR_VERSION = 8;
/** ONNX default-domain opset written: 17 (ReduceSumSquare still takes `axes` as an attribute). */
export const ONNX_OPSET = 17;

/** `TensorProto.DataType` values used here. */
export const ONNX_DTYPE = { FLOAT: 1, INT64: 7, BOOL: 9, DOUBLE: 11 } as const;
/** `AttributeProto.AttributeType` values used here. */
export const ONNX_ATTR = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 } as const;

const ONNX_PROTO = `
syntax = "proto3";
package onnx;

message AttributeProto {
  string name = 1;
  float f = 2;
  int64 i = 3;
  bytes s = 4;
  repeated float floats = 7;
  repeated int64 ints = 8;
  int32 type = 20;
}

message ValueInfoProto {
  string name = 1;
  TypeProto type = 2;
  string doc_string = 3;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  string name = 3;
  string op_type = 4;
  repeated AttributeProto attribute = 5;
  string doc_string = 6;
  string domain = 7;
}

message ModelProto {
  int64 ir_version = 1;
  string producer_name = 2;
  string producer_version = 3;
  string domain = 4;
  int64 model_version = 5;
  string doc_string = 6;
  GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
  repeated StringStringEntryProto metadata_props = 14;
}

message StringStringEntryProto {
  string key = 1;
  string value = 2;
}

message GraphProto {
  repeated NodeProto node = 1;
  string name = 2;
  repeated TensorProto initializer = 5;
  string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
}

message TensorProto {
  repeated int64 dims = 1;
  int32 data_type = 2;
  string name = 8;
  bytes raw_data = 9;
  string doc_string = 12;
}

message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
  }
  repeated Dimension dim = 1;
}

message TypeProto {
  message Tensor {
    int32 elem_type = 1;
    TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
}

message OperatorSetIdProto {
  string domain = 1;
  int64 version = 2;
}
`;

let modelType: protobuf.Type | undefined;

/** The protobufjs type of `onnx.ModelProto`, parsed once. */
export function modelProtoType(): protobuf.Type {
  modelType ??= protobuf.parse(ONNX_PROTO, { keepCase: true }).root.lookupType('onnx.ModelProto');
  return modelType;
}

/** Encodes a plain ModelProto object (field names as in the schema) to bytes. */
export function encodeModelProto(model: Record<string, unknown>): Uint8Array {
  const type = modelProtoType();
  const problem = type.verify(model);
  if (problem) throw new Error(`cannot encode ONNX model: ${problem}`);
  return type.encode(type.fromObject(model)).finish();
}

/** Decodes bytes into a plain ModelProto object (int64 as numbers, bytes as Uint8Array). */
export function decodeModelProto(bytes: Uint8Array): Record<string, unknown> {
  const type = modelProtoType();
  return type.toObject(type.decode(bytes), { longs: Number, defaults: false }) as Record<string, unknown>;
}
