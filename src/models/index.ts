/**
 * `src/models`: model families fitted in float64 from the exact moments a quorum reveals, with
 * prediction, metrics, versioned JSON artifacts and ONNX export. See docs/models.md.
 * @module
 */
export * from './errors.ts';
export * from './schema.ts';
export * from './moments.ts';
export { standardiseRows, summariseGroup, type GroupSummary, type Standardisation } from './summary.ts';
export * from './chi-square.ts';
export * from './metrics.ts';
export * from './artifact.ts';
export * from './ridge.ts';
export * from './discriminant.ts';
export * from './mahalanobis.ts';
export * from './pca.ts';
export * from './model.ts';
export { modelToOnnx, ONNX_PRODUCER_VERSION } from './onnx/export.ts';
export { ONNX_IR_VERSION, ONNX_OPSET, decodeModelProto } from './onnx/model-proto.ts';
