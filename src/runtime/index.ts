/**
 * `src/runtime`: the model runtime at the edge — loading a verified artifact (JSON or ONNX) into
 * one `predict` interface, output controls (input envelope, out-of-distribution abstention,
 * deterministic fallback, clamping, counts), drift detection (PSI, KS) over rolling windows, the
 * local model slot (shadow run, activation, health check, rollback, persisted history), and the
 * audit summaries for the transparency log. See docs/runtime.md.
 * @module
 */
export * from './errors.ts';
export * from './load.ts';
export * from './controls.ts';
export * from './drift.ts';
export * from './activation.ts';
export * from './audit.ts';
export * from './delivery.ts';
export * from './publish.ts';
