/**
 * Shared HTTP wire pieces of the cloud API, as TypeBox schemas: written once,
 * they are the JSON Schema fastify validates with, the OpenAPI document's
 * schemas, and (through `Static<typeof X>`) the TypeScript types of the
 * edge, the cloud and the CLI.
 * @module
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';

/**
 * A tenant (a plant or a machine builder): lower-case letters, digits and
 * hyphens, starting with a letter or digit, at most 48 characters.
 * @example
 * ```ts
 * Type.Object({ tenant: TenantId });
 * ```
 */
export const TenantId = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,47}$', description: 'tenant id (plant or machine builder)', examples: ['plant-a'] });
/** A {@link TenantId} value. */
export type TenantId = Static<typeof TenantId>;

/**
 * A gateway's name inside its tenant: same alphabet as {@link TenantId}.
 * @example
 * ```ts
 * Type.Object({ gateway: GatewayId });
 * ```
 */
export const GatewayId = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,47}$', description: 'gateway id, unique within its tenant', examples: ['gw-1'] });
/** A {@link GatewayId} value. */
export type GatewayId = Static<typeof GatewayId>;

/**
 * A person's subject: a local user name, or the subject claim of an OIDC
 * token. Letters, digits and `._@-`, at most 128; the prefix `gw.` is
 * reserved for gateways.
 * @example
 * ```ts
 * Type.Object({ subject: Subject });
 * ```
 */
export const Subject = Type.String({ pattern: '^(?![gG][wW]\\.)[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$', description: 'a person (user name or OIDC subject)', examples: ['alice'] });
/** A {@link Subject} value. */
export type Subject = Static<typeof Subject>;

/**
 * A server-made opaque identifier (enrolments, and the domain objects to come).
 * @example
 * ```ts
 * Type.Object({ id: ObjectId });
 * ```
 */
export const ObjectId = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'opaque identifier', examples: ['enr_4f1c2a9b'] });
/** An {@link ObjectId} value. */
export type ObjectId = Static<typeof ObjectId>;

/**
 * An instant as ISO 8601 UTC with milliseconds.
 * @example
 * ```ts
 * Type.Object({ expiresAt: Timestamp });
 * ```
 */
export const Timestamp = Type.String({ format: 'date-time', description: 'ISO 8601 UTC instant', examples: ['2025-01-01T00:00:00.000Z'] });
/** A {@link Timestamp} value. */
export type Timestamp = Static<typeof Timestamp>;

/**
 * Every error answer: a stable code (docs/errors.md, section "cloud"), a
 * message `cannot <op>: <reason>` and, where useful, how to fix it.
 * @example
 * ```ts
 * { code: 'CLOUD_ERR_ACCESS_DENIED', message: 'cannot job.submit in tenant "plant-b": not granted' }
 * ```
 */
export const ErrorBody = Type.Object(
  {
    code: Type.String({ pattern: '^CLOUD_ERR_[A-Z_]+$' }),
    message: Type.String(),
    hint: Type.Optional(Type.String()),
  },
  { additionalProperties: false, description: 'error answer' },
);
/** An {@link ErrorBody} value. */
export type ErrorBody = Static<typeof ErrorBody>;

/**
 * The response schemas of the given error statuses, all {@link ErrorBody}, to
 * spread into a route's `response`.
 * @throws never
 * @example
 * ```ts
 * schema: { response: { 200: Gateway, ...errorResponses(400, 401, 403, 404) } }
 * ```
 */
export function errorResponses(...statuses: number[]): Record<number, typeof ErrorBody> {
  return Object.fromEntries(statuses.map((s) => [s, ErrorBody]));
}

/**
 * Items per page when a list query names no `limit`.
 * @example
 * ```ts
 * const limit = query.limit ?? PAGE_LIMIT_DEFAULT;
 * ```
 */
export const PAGE_LIMIT_DEFAULT = 100;

/**
 * Query of a paginated list: at most `limit` items after the opaque `after`
 * cursor (the `next` of the previous page).
 * @example
 * ```ts
 * schema: { querystring: PageQuery }
 * ```
 */
export const PageQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: PAGE_LIMIT_DEFAULT })),
    after: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,256}$', description: 'cursor: the `next` of the previous page' })),
  },
  { additionalProperties: false },
);
/** A {@link PageQuery} value. */
export type PageQuery = Static<typeof PageQuery>;

/**
 * A page of `item`s; `next` is present when more items follow.
 * @throws never
 * @example
 * ```ts
 * const GatewayPage = Page(Gateway);
 * ```
 */
export function Page<T extends TSchema>(item: T) {
  return Type.Object({ items: Type.Array(item), next: Type.Optional(Type.String()) }, { additionalProperties: false });
}
