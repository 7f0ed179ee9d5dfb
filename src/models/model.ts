/**
 * Any model of any family, and the artifact round trip without knowing the family in advance
 * (what a registry or the edge runtime does with a stored artifact).
 * @module
 */
import { aObject } from './assert.ts';
import type { ArtifactMeta, ModelArtifact } from './artifact.ts';
import { discriminantFromArtifact, discriminantToArtifact, type DiscriminantModel } from './discriminant.ts';
import { MODELS_ERR, ModelsError } from './errors.ts';
import { mahalanobisFromArtifact, mahalanobisToArtifact, type MahalanobisModel } from './mahalanobis.ts';
import { pcaFromArtifact, pcaToArtifact, type PcaModel } from './pca.ts';
import { ridgeFromArtifact, ridgeToArtifact, type RidgeModel } from './ridge.ts';

/** A fitted model of any family (discriminated by `family`). */
export type Model = RidgeModel | DiscriminantModel | MahalanobisModel | PcaModel;

/**
 * Writes the versioned JSON artifact of any model.
 * @throws TypeError / RangeError if `meta` is malformed; ModelsError `MODELS_ERR_MISMATCH` for an
 *   unknown family
 * @example
 * ```ts
 * const text = JSON.stringify(modelToArtifact(model, { modelId, modelVersion: 1, lineage }));
 * ```
 */
export function modelToArtifact(model: Model, meta: ArtifactMeta): ModelArtifact {
  switch (model.family) {
    case 'ridge': return ridgeToArtifact(model, meta);
    case 'discriminant': return discriminantToArtifact(model, meta);
    case 'mahalanobis': return mahalanobisToArtifact(model, meta);
    case 'pca': return pcaToArtifact(model, meta);
    default: throw new ModelsError(MODELS_ERR.MISMATCH, `cannot write artifact: unknown family ${String((model as { family?: unknown }).family)}`);
  }
}

/**
 * Reads an artifact of any family (dispatching on its `family` field).
 * @throws ModelsError `MODELS_ERR_INVALID_ARTIFACT` if it is malformed or of an unknown family
 * @example
 * ```ts
 * const { model, meta } = modelFromArtifact(JSON.parse(text));
 * ```
 */
export function modelFromArtifact(json: unknown): { model: Model; meta: ArtifactMeta } {
  try {
    aObject('read artifact', 'artifact', json);
  } catch (e) {
    throw new ModelsError(MODELS_ERR.INVALID_ARTIFACT, 'cannot read artifact: not an object', { cause: e });
  }
  switch (json.family) {
    case 'ridge': return ridgeFromArtifact(json);
    case 'discriminant': return discriminantFromArtifact(json);
    case 'mahalanobis': return mahalanobisFromArtifact(json);
    case 'pca': return pcaFromArtifact(json);
    default: throw new ModelsError(MODELS_ERR.INVALID_ARTIFACT, `cannot read artifact: unknown family ${String(json.family)}`);
  }
}
