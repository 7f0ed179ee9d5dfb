/**
 * Schemas of the cloud's model routes (src/cloud/routes/models.ts): the registry (versions with
 * metrics and lineage, aliases), release to fleets and deployments, a job's OpenLineage events,
 * and the transparency log's checkpoint and proofs (src/cloud/routes/log.ts). Proof hashes and
 * entries are base64.
 * @module
 */
import { Type } from '@sinclair/typebox';
import { TenantId, Timestamp } from './common.ts';
import { ResourceId } from './domain.ts';

/** A model id (a TUF target path part). */
export const ModelId = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$', description: 'model id', examples: ['mills-fail'] });

/** An alias name. */
export const AliasName = Type.String({ pattern: '^[a-z][a-z0-9_-]{0,31}$', description: 'alias, e.g. production', examples: ['production'] });

/** `{tenant, model}`. */
export const ModelParams = Type.Object({ tenant: TenantId, model: ModelId }, { additionalProperties: false });

/** `{tenant, model, version}`. */
export const VersionParams = Type.Object({ tenant: TenantId, model: ModelId, version: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) }, { additionalProperties: false });

/** `{tenant, model, alias}`. */
export const AliasParams = Type.Object({ tenant: TenantId, model: ModelId, alias: AliasName }, { additionalProperties: false });

const Metrics = Type.Record(Type.String(), Type.Number());

/** Body of `POST /v1/tenants/{tenant}/models/{model}/versions`: a fitted model as its JSON artifact. */
export const RegisterVersionRequest = Type.Object({
  jobId: ResourceId,
  artifact: Type.Unknown({ description: 'the model as a `hedge.model` JSON artifact (src/models/artifact.ts); the registry rewrites its version and lineage' }),
  evaluation: Type.Optional(Metrics),
  onnx: Type.Optional(Type.Boolean({ description: 'also store the ONNX export' })),
}, { additionalProperties: false });

const Blob = Type.Object({ sha256: Type.String(), length: Type.Integer() });

/** A deleted batch of a version's lineage. */
export const BatchDeletionView = Type.Object({
  dataset: ResourceId, plant: TenantId, batchId: Type.String(), contentHash: Type.String(), records: Type.Integer(),
  reason: Type.String({ description: 'retention or withdrawal' }), deletedAt: Timestamp,
});

/** A registered model version. */
export const ModelVersionView = Type.Object({
  modelId: ModelId, version: Type.Integer(), owner: TenantId, family: Type.String(), jobId: ResourceId,
  metrics: Metrics, evaluation: Type.Optional(Metrics), artifact: Blob, onnx: Type.Optional(Blob),
  lineage: Type.Object({
    jobId: Type.String(), federation: Type.String(), dataset: Type.String(), plants: Type.Array(Type.String()),
    batchHashes: Type.Array(Type.String()), records: Type.Integer(), features: Type.Array(Type.String()), label: Type.Boolean(), code: Type.String(),
  }),
  lineageDigest: Type.String(),
  lineageStatus: Type.Object({ intact: Type.Boolean(), deleted: Type.Array(BatchDeletionView) }),
  registeredBy: Type.String(), registeredAt: Timestamp,
});

/** A model as the list shows it. */
export const ModelSummary = Type.Object({
  modelId: ModelId, owner: TenantId, latest: Type.Integer(), aliases: Type.Record(Type.String(), Type.Integer()),
});

/** Body of `PUT /v1/tenants/{tenant}/models/{model}/aliases/{alias}`. */
export const MoveAliasRequest = Type.Object({ version: Type.Integer({ minimum: 1 }) }, { additionalProperties: false });

/** Where an alias points. */
export const AliasView = Type.Object({ modelId: ModelId, alias: AliasName, version: Type.Integer(), movedBy: Type.String(), movedAt: Timestamp });

/** A model's aliases and every move of them. */
export const AliasesView = Type.Object({
  aliases: Type.Array(AliasView),
  history: Type.Array(Type.Object({ modelId: ModelId, alias: AliasName, from: Type.Union([Type.Integer(), Type.Null()]), to: Type.Integer(), movedBy: Type.String(), movedAt: Timestamp })),
});

/** Body of `POST /v1/tenants/{tenant}/models/{model}/releases`: a version, or an alias to resolve, to fleets. */
export const ReleaseRequest = Type.Object({
  version: Type.Optional(Type.Integer({ minimum: 1 })),
  alias: Type.Optional(AliasName),
  fleets: Type.Array(TenantId, { minItems: 1, maxItems: 256, uniqueItems: true, description: 'plant tenants of the version\'s federation' }),
}, { additionalProperties: false });

/** One version published to one fleet. */
export const DeploymentView = Type.Object({
  fleet: TenantId, modelId: ModelId, version: Type.Integer(), target: Type.String(), sha256: Type.String(), length: Type.Integer(),
  lineageDigest: Type.String(), releasedBy: Type.String(), tenant: TenantId, releasedAt: Timestamp,
});

/** Query of `GET /v1/tenants/{tenant}/deployments`. */
export const DeploymentsQuery = Type.Object({ model: Type.Optional(ModelId), fleet: Type.Optional(TenantId) }, { additionalProperties: false });

/** `GET /v1/log/checkpoint`: the log's latest signed checkpoint (C2SP signed note). */
export const CheckpointView = Type.Object({
  origin: Type.String(), size: Type.Integer(), checkpoint: Type.String({ description: 'signed note' }),
  verifierKey: Type.String({ description: 'the log\'s note verifier key (pin it; do not trust it from the same answer)' }),
});

/** Query of `GET /v1/log/consistency`. */
export const ConsistencyQuery = Type.Object({ from: Type.Integer({ minimum: 1 }), to: Type.Integer({ minimum: 1 }) }, { additionalProperties: false });

/** A consistency proof (base64 hashes). */
export const ConsistencyView = Type.Object({ from: Type.Integer(), to: Type.Integer(), proof: Type.Array(Type.String()) });

/** `{tenant, index}`. */
export const EntryParams = Type.Object({ tenant: TenantId, index: Type.Integer({ minimum: 0 }) }, { additionalProperties: false });

/** Query of the entry route: the tree size the proof is for (default: the latest checkpoint's). */
export const EntryQuery = Type.Object({ size: Type.Optional(Type.Integer({ minimum: 1 })) }, { additionalProperties: false });

/** A log entry of the caller's tenant with its inclusion proof. */
export const EntryView = Type.Object({
  index: Type.Integer(), size: Type.Integer(), entry: Type.String({ description: 'the entry bytes, base64' }),
  event: Type.Unknown({ description: 'the entry decoded (src/trust/events.ts LogEvent)' }), proof: Type.Array(Type.String()),
});
