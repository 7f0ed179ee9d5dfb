/**
 * AI4I 2020 models of every family with their training moments and artifacts (JSON and ONNX),
 * for the runtime tests. Exports only.
 */
import { anomalySchema, classificationSchema, failureLabel, loadAi4i, processRow, regressionRow, regressionSchema, type Ai4iRecord } from '../models/fixtures/ai4i.ts';
import { computeMoments, type Moments } from '../../src/models/moments.ts';
import { quantiseDataset } from '../../src/models/schema.ts';
import { fitRidge } from '../../src/models/ridge.ts';
import { fitDiscriminant } from '../../src/models/discriminant.ts';
import { fitMahalanobis } from '../../src/models/mahalanobis.ts';
import { fitPca } from '../../src/models/pca.ts';
import { modelToArtifact, type Model } from '../../src/models/model.ts';
import { modelToOnnx } from '../../src/models/onnx/export.ts';
import type { ArtifactMeta } from '../../src/models/artifact.ts';
import type { FallbackRule } from '../../src/runtime/controls.ts';
import { rng } from '../_rng.ts';

export { anomalySchema, classificationSchema, regressionSchema, processRow, regressionRow, rng };
export const records: readonly Ai4iRecord[] = loadAi4i();
export const regRows = records.map(regressionRow);
export const procRows = records.map(processRow);

export const regMoments: Moments = computeMoments(regressionSchema, quantiseDataset(regressionSchema, regRows, records.map((r) => r.torque)));
export const clsMoments: Moments = computeMoments(classificationSchema, quantiseDataset(classificationSchema, procRows, records.map(failureLabel)));
export const anoMoments: Moments = computeMoments(anomalySchema, quantiseDataset(anomalySchema, procRows));

export function metaFor(modelId: string, modelVersion: number): ArtifactMeta {
  return { modelId, modelVersion, lineage: { jobId: `job-${modelVersion}`, plants: ['plant-L', 'plant-M', 'plant-H'], batchHashes: ['sha256:1f0e'] } };
}

/** One case per family: the model, its moments, its rows and a fallback rule of its output kind. */
export interface FamilyCase {
  readonly name: string;
  readonly model: Model;
  readonly moments: Moments;
  readonly rows: number[][];
  readonly fallback: FallbackRule;
}

export const cases: readonly FamilyCase[] = [
  { name: 'ridge', model: fitRidge(regressionSchema, regMoments), moments: regMoments, rows: regRows, fallback: { rule: 'constant', output: 40 } },
  { name: 'lda', model: fitDiscriminant(classificationSchema, clsMoments), moments: clsMoments, rows: procRows, fallback: { rule: 'threshold', feature: 'torque', threshold: 60, below: 'ok', atOrAbove: 'failure' } },
  { name: 'qda', model: fitDiscriminant(classificationSchema, clsMoments, { kind: 'quadratic' }), moments: clsMoments, rows: procRows, fallback: { rule: 'constant', output: 'ok' } },
  { name: 'mahalanobis', model: fitMahalanobis(anomalySchema, anoMoments), moments: anoMoments, rows: procRows, fallback: { rule: 'constant', output: true } },
  { name: 'pca', model: fitPca(anomalySchema, anoMoments, { components: 3 }), moments: anoMoments, rows: procRows, fallback: { rule: 'constant', output: true } },
];

/** The JSON artifact bytes of a model. */
export function jsonBytes(model: Model, meta: ArtifactMeta): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(modelToArtifact(model, meta)));
}

/** The ONNX bytes of a model. */
export function onnxBytes(model: Model, meta: ArtifactMeta): Uint8Array {
  return modelToOnnx(model, meta);
}

/** A seeded shuffle of a copy. */
export function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const r = rng(seed);
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
