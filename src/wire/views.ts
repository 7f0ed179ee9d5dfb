/**
 * Schemas of the console's read-only views (src/cloud/routes/views.ts): who the caller is in a
 * tenant, the tenant's federations, datasets, jobs, reveal shares, what left a plant, ingest
 * volume over time, the tenant's transparency-log entries and a model's inference summaries.
 * Each answers for the tenant in the path only; counts that would give away one plant's
 * production volume to anyone but that plant are withheld (see docs/console.md, "What each
 * role sees").
 * @module
 */
import { Type } from '@sinclair/typebox';
import { EVENT_KINDS } from '../trust/events.ts';
import { TenantId, Timestamp } from './common.ts';
import { ResourceId } from './domain.ts';
import { ModelId } from './models.ts';

/** `{tenant}`. */
export const TenantParams = Type.Object({ tenant: TenantId }, { additionalProperties: false });

/** `GET /v1/tenants/{tenant}/me`: the caller and the roles it holds in the tenant. */
export const MeView = Type.Object({
  subject: Type.String(), tenant: TenantId, roles: Type.Array(Type.String()),
}, { additionalProperties: false });

/** A federation the tenant is a member of. */
export const FederationSummary = Type.Object({
  id: ResourceId, preset: Type.String(), receiver: TenantId,
  members: Type.Array(Type.Object({ tenant: TenantId, role: Type.String() })),
  guards: Type.Object({ minPlants: Type.Integer(), minRecords: Type.Integer() }),
  threshold: Type.Integer({ description: 'key holders whose reveal shares are combined: t of a t-of-n federation, n of an additive one' }),
  round: Type.String({ description: 'ceremony round: pk, rlk1, rlk2 (kex, deal, combine for t-of-n) or ready' }),
  missing: Type.Array(TenantId, { description: 'key holders whose share for the current round has not arrived' }),
}, { additionalProperties: false });

/** Batch totals: batches, records, bytes and when they arrived. */
export const Volume = Type.Object({
  batches: Type.Integer(), records: Type.Integer(), bytes: Type.Integer(),
  first: Type.Union([Timestamp, Type.Null()]), last: Type.Union([Timestamp, Type.Null()]),
}, { additionalProperties: false });

/** A dataset of a federation the tenant is a member of. */
export const DatasetSummary = Type.Object({
  id: ResourceId, federation: ResourceId, owner: TenantId, features: Type.Array(Type.String()), label: Type.Union([Type.String(), Type.Null()]),
  retentionDays: Type.Integer(),
  plants: Type.Integer({ description: 'plants that uploaded batches' }),
  total: Type.Union([Volume, Type.Null()], { description: 'all plants together, for the dataset\'s owner; null for others, or while fewer plants than the federation\'s minPlants contributed' }),
  own: Type.Union([Volume, Type.Null()], { description: 'the batches the tenant itself uploaded (a plant); null for a tenant that uploads none' }),
}, { additionalProperties: false });

/** A job the tenant may see (it submitted it, its plant's data is in it, or it holds a key of the federation). */
export const JobSummary = Type.Object({
  id: ResourceId, federation: ResourceId, dataset: ResourceId, requestedBy: TenantId, state: Type.String(),
  progress: Type.Object({ done: Type.Integer(), total: Type.Integer() }),
  plants: Type.Array(TenantId), records: Type.Integer(), features: Type.Array(Type.String()), label: Type.Boolean(),
  approvals: Type.Array(TenantId), shares: Type.Array(TenantId, { description: 'key holders whose reveal share arrived (t-of-n: for the current attempt)' }),
  parties: Type.Integer({ description: 'reveal shares needed: n, or t of a t-of-n federation' }),
  activeSet: Type.Optional(Type.Array(TenantId, { description: 't-of-n: the key holders asked in the current reveal attempt' })),
  deadline: Timestamp, createdAt: Timestamp, updatedAt: Timestamp, error: Type.Optional(Type.String()),
  awaitingApproval: Type.Boolean({ description: 'the tenant is a plant of the job that has not approved it, and the job can still be approved' }),
}, { additionalProperties: false });

/** A reveal share the tenant's key holder sent. */
export const ShareView = Type.Object({
  job: ResourceId, dataset: ResourceId, federation: ResourceId, sha256: Type.String(), receivedAt: Timestamp,
  attempt: Type.Optional(Type.Integer({ description: 't-of-n: the reveal attempt the share was for' })),
}, { additionalProperties: false });

/** A batch a plant uploaded (metadata only). */
export const BatchView = Type.Object({
  dataset: ResourceId, batchId: Type.String(), records: Type.Integer(), bytes: Type.Integer(),
  from: Timestamp, to: Timestamp, receivedAt: Timestamp, contentHash: Type.String(),
}, { additionalProperties: false });

/** `GET /v1/tenants/{tenant}/outbound`: what left the plant. */
export const OutboundView = Type.Object({
  datasets: Type.Array(Type.Object({ dataset: ResourceId, federation: ResourceId, owner: TenantId, volume: Volume }, { additionalProperties: false })),
  recent: Type.Array(BatchView, { description: 'the latest 50 batches' }),
  deletions: Type.Array(Type.Object({
    dataset: ResourceId, batchId: Type.String(), records: Type.Integer(), reason: Type.String(), deletedAt: Timestamp,
  }, { additionalProperties: false })),
}, { additionalProperties: false });

/** Query of `GET /v1/tenants/{tenant}/ingest`. */
export const IngestQuery = Type.Object({ days: Type.Integer({ minimum: 1, maximum: 366, default: 30 }) }, { additionalProperties: false });

/** A daily series; `null` where a day's value is withheld. */
const Series = Type.Array(Type.Union([Type.Integer(), Type.Null()]));

/** `GET /v1/tenants/{tenant}/ingest`: records and bytes received per UTC day. */
export const IngestView = Type.Object({
  days: Type.Array(Type.String({ description: 'YYYY-MM-DD (UTC), oldest first' })),
  own: Type.Array(Type.Object({ dataset: ResourceId, records: Series, bytes: Series }, { additionalProperties: false }), { description: 'what the tenant (a plant) uploaded' }),
  owned: Type.Array(Type.Object({ dataset: ResourceId, records: Series, bytes: Series }, { additionalProperties: false }), {
    description: 'all plants together into datasets the tenant owns; a day on which fewer plants than the federation\'s minPlants uploaded is null (withheld)',
  }),
}, { additionalProperties: false });

/** Query of `GET /v1/tenants/{tenant}/log/entries`. */
export const LogEntriesQuery = Type.Object({
  before: Type.Optional(Type.Integer({ minimum: 0, description: 'entries below this index (default: the latest checkpoint\'s size)' })),
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
  kind: Type.Optional(Type.Union(EVENT_KINDS.map((k) => Type.Literal(k)))),
}, { additionalProperties: false });

/** A page of the tenant's log entries, newest first. */
export const LogEntriesView = Type.Object({
  size: Type.Integer({ description: 'the tree size the page was read against (the latest checkpoint\'s unless `before` is given)' }),
  entries: Type.Array(Type.Object({ index: Type.Integer(), event: Type.Unknown({ description: 'src/trust/events.ts LogEvent' }) }, { additionalProperties: false })),
  next: Type.Optional(Type.Integer({ description: '`before` of the next (older) page' })),
}, { additionalProperties: false });

/** `{tenant, model}`. */
export const ModelInferenceParams = Type.Object({ tenant: TenantId, model: ModelId }, { additionalProperties: false });

/** `GET /v1/tenants/{tenant}/models/{model}/inference`: inference summaries per UTC day, from the log. */
export const InferenceView = Type.Object({
  scope: Type.Union([Type.Literal('fleet'), Type.Literal('plant')], { description: 'fleet: every plant reporting (the model\'s owner); plant: the tenant\'s own gateways' }),
  days: Type.Array(Type.String()),
  inferences: Series, abstained: Series,
}, { additionalProperties: false });
