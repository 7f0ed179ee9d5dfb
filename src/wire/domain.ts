/**
 * Schemas of the cloud's domain routes (src/cloud/routes/domain.ts):
 * federations and their ceremony, datasets and batch ingestion, jobs,
 * approvals and reveals. Binary payloads (shares, keys, batches, results) are
 * `application/octet-stream` bodies and answers, not JSON.
 * @module
 */
import { Type } from '@sinclair/typebox';
import { TenantId } from './common.ts';

/** A resource id of the domain (federation, dataset, job). */
export const ResourceId = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$', description: 'federation, dataset or job id', examples: ['ai4i'] });

/** `{tenant, federation}` path parameters. */
export const FederationParams = Type.Object({ tenant: TenantId, federation: ResourceId }, { additionalProperties: false });

/** Body of `POST /v1/tenants/{tenant}/federations` (the caller's tenant becomes the receiver). */
export const CreateFederationRequest = Type.Object({
  id: ResourceId,
  preset: Type.String({ minLength: 1, maxLength: 64, description: 'parameter preset, e.g. BGV_AGG_8192' }),
  members: Type.Array(Type.Object({ tenant: TenantId, role: Type.Union([Type.Literal('plant'), Type.Literal('builder')]) }, { additionalProperties: false }), { minItems: 2, maxItems: 256 }),
  guards: Type.Object({ minPlants: Type.Integer({ minimum: 1 }), minRecords: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
  threshold: Type.Optional(Type.Integer({ minimum: 2, maximum: 256, description: 't of a t-of-n federation: how many key holders a reveal needs (default: every member, additive n-of-n)' })),
}, { additionalProperties: false });

/** A federation as the API shows it. */
export const Federation = Type.Object({
  id: ResourceId,
  preset: Type.String(),
  members: Type.Array(Type.Object({
    tenant: TenantId, role: Type.String(),
    point: Type.Optional(Type.Integer({ description: 't-of-n: the member\'s public evaluation point (its 1-based index)' })),
    dealKey: Type.Optional(Type.String({ description: 't-of-n: the member\'s X25519 key-agreement public key (hex), once registered in round kex' })),
  })),
  threshold: Type.Integer({ description: 'how many key holders a reveal needs (t; every member for an additive federation)' }),
  receiver: TenantId,
  guards: Type.Object({ minPlants: Type.Integer(), minRecords: Type.Integer() }),
  seed: Type.String({ description: 'public seed of the common reference polynomials, hex' }),
  round: Type.String({ description: 'ceremony round: pk, rlk1, rlk2, (t-of-n:) kex, deal, combine, then ready' }),
  missing: Type.Array(TenantId, { description: 'key holders whose share for the current round has not arrived' }),
});

/** `{tenant, federation, round}`. */
export const CeremonyParams = Type.Object({
  tenant: TenantId, federation: ResourceId,
  round: Type.Union([Type.Literal('pk'), Type.Literal('rlk1'), Type.Literal('rlk2'), Type.Literal('kex'), Type.Literal('deal'), Type.Literal('combine')]),
}, { additionalProperties: false });

/** `{tenant, federation, what}`. */
export const MaterialParams = Type.Object({
  tenant: TenantId, federation: ResourceId,
  what: Type.Union([Type.Literal('public-key'), Type.Literal('relin-round1'), Type.Literal('relin-keys'), Type.Literal('receiver-key')]),
}, { additionalProperties: false });

/** What a share submission answers. */
export const ShareAccepted = Type.Object({ status: Type.Union([Type.Literal('accepted'), Type.Literal('duplicate')]), round: Type.String() });

/** Body of `POST /v1/tenants/{tenant}/datasets`. */
export const CreateDatasetRequest = Type.Object({
  id: ResourceId,
  federation: ResourceId,
  schema: Type.Unknown({ description: 'dataset schema: { features: [{ name, lo, hi, unit? }], label?, scale? } (src/models/schema.ts)' }),
  retentionDays: Type.Integer({ minimum: 1, maximum: 36500 }),
}, { additionalProperties: false });

/** A dataset as the API shows it. */
export const Dataset = Type.Object({ id: ResourceId, owner: TenantId, federation: ResourceId, params: Type.String(), schema: Type.Unknown(), retentionDays: Type.Integer() });

/** `{tenant, dataset}`. */
export const DatasetParams = Type.Object({ tenant: TenantId, dataset: ResourceId }, { additionalProperties: false });

/** What ingestion answers (201 stored, 200 duplicate). */
export const IngestAnswer = Type.Object({
  status: Type.Union([Type.Literal('stored'), Type.Literal('duplicate')]),
  batchId: Type.String(), contentHash: Type.String(), records: Type.Integer(),
});

/** Body of `POST /v1/tenants/{tenant}/jobs`. */
export const SubmitJobRequest = Type.Object({
  id: Type.Optional(ResourceId),
  federation: ResourceId,
  dataset: ResourceId,
  spec: Type.Object({
    features: Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { minItems: 1, maxItems: 256 }),
    label: Type.Boolean(),
    plants: Type.Optional(Type.Array(TenantId, { maxItems: 256 })),
    from: Type.Optional(Type.String({ format: 'date-time' })),
    to: Type.Optional(Type.String({ format: 'date-time' })),
  }, { additionalProperties: false }),
}, { additionalProperties: false });

/** `{tenant, job}`. */
export const JobParams = Type.Object({ tenant: TenantId, job: ResourceId }, { additionalProperties: false });

/** A job as the API shows it (its plan pins the batches by hash). */
export const Job = Type.Object({
  id: ResourceId, federation: ResourceId, dataset: ResourceId, requestedBy: Type.String(),
  state: Type.String({ description: 'queued, running, computed, revealing, revealed, failed, cancelled or expired' }),
  progress: Type.Object({ done: Type.Integer(), total: Type.Integer() }),
  plants: Type.Array(TenantId), records: Type.Integer(), statistics: Type.Integer(),
  approvals: Type.Array(TenantId), shares: Type.Array(TenantId), deadline: Type.String(), error: Type.Optional(Type.String()),
  activeSet: Type.Optional(Type.Array(TenantId, { description: 't-of-n: the key holders asked for this reveal attempt (shares lists those of them that answered)' })),
  attempt: Type.Optional(Type.Integer({ description: 't-of-n: the reveal attempt (a new active set after a member missed its deadline)' })),
});

/** What a key holder reads before making its reveal share (the aggregate and receiver key are fetched as bytes). */
export const RevealRequest = Type.Object({
  jobId: ResourceId,
  plan: Type.Unknown({ description: 'the job plan (src/compute/plan.ts JobPlan)' }),
  receiverKeyHash: Type.String({ description: 'SHA-256 of the receiver key the reveal is switched to' }),
  parties: Type.Integer(),
  activeSet: Type.Optional(Type.Array(Type.Object({ tenant: TenantId, point: Type.Integer() }), { description: 't-of-n: the t key holders of this attempt and their points; only they make shares' })),
  attempt: Type.Optional(Type.Integer()),
  attemptDeadline: Type.Optional(Type.String({ description: 't-of-n: when the cloud picks a new active set if a member has not answered' })),
});

const Count = Type.Integer({ minimum: 0 });

/** Body of `POST /v1/tenants/{tenant}/inference-summaries`: a gateway's counts for one model and period (no values). */
export const InferenceSummaryBody = Type.Object({
  modelId: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' }),
  modelVersion: Type.Integer({ minimum: 1 }),
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  records: Count, served: Count, clamped: Count, abstained: Count, fallback: Count, unanswered: Count,
  reasons: Type.Record(Type.String({ pattern: '^[a-z_]{1,32}$' }), Count),
  drift: Type.Union([Type.Null(), Type.Object({
    records: Count, checks: Count, alarmsRaised: Count,
    featuresInAlarm: Type.Array(Type.String({ maxLength: 128 }), { maxItems: 256 }),
  }, { additionalProperties: false })]),
}, { additionalProperties: false });

/** Body of `POST /v1/tenants/{tenant}/activations`: a model's activation history entries at a gateway (src/runtime/activation.ts). */
export const ActivationsBody = Type.Object({
  modelId: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' }),
  entries: Type.Array(Type.Object({
    seq: Type.Integer({ minimum: 1 }),
    time: Type.String({ format: 'date-time' }),
    action: Type.Union([Type.Literal('activate'), Type.Literal('rollback')]),
    version: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]),
    sha256: Type.Union([Type.String({ pattern: '^[0-9a-f]{64}$' }), Type.Null()]),
    previousVersion: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]),
    automatic: Type.Boolean(),
    actor: Type.String({ minLength: 1, maxLength: 128 }),
    reason: Type.String({ maxLength: 1024 }),
  }, { additionalProperties: false }), { minItems: 1, maxItems: 1000 }),
}, { additionalProperties: false });
