/**
 * Wire schemas of people's authentication with the cloud's local token
 * issuer (`POST /v1/auth/token`) and of role assignments
 * (`/v1/tenants/{tenant}/roles`).
 * @module
 */
import { Type, type Static } from '@sinclair/typebox';
import { Subject, TenantId, Timestamp } from './common.ts';

/**
 * Local user name: lower-case letters, digits and `._-`, at most 64; not
 * starting with `gw.` (reserved for gateways).
 * @example
 * ```ts
 * Type.Object({ username: Username });
 * ```
 */
export const Username = Type.String({ pattern: '^(?!gw\\.)[a-z0-9][a-z0-9._-]{0,63}$', examples: ['alice'] });
/** A {@link Username} value. */
export type Username = Static<typeof Username>;

/**
 * Body of `POST /v1/auth/token`: a local user's name and password.
 * @example
 * ```ts
 * { username: 'alice', password: 'correct horse battery staple' }
 * ```
 */
export const TokenRequest = Type.Object(
  { username: Username, password: Type.String({ minLength: 1, maxLength: 1024 }) },
  { additionalProperties: false },
);
/** A {@link TokenRequest} value. */
export type TokenRequest = Static<typeof TokenRequest>;

/**
 * Answer of `POST /v1/auth/token`: a bearer JWT (ES256) for the API.
 * @example
 * ```ts
 * fetch(url, { headers: { authorization: `Bearer ${res.accessToken}` } });
 * ```
 */
export const TokenResponse = Type.Object(
  {
    accessToken: Type.String(),
    tokenType: Type.Literal('Bearer'),
    expiresAt: Timestamp,
  },
  { additionalProperties: false },
);
/** A {@link TokenResponse} value. */
export type TokenResponse = Static<typeof TokenResponse>;

/**
 * The roles a person can be given through the API. `edge_gateway` is absent
 * on purpose: a gateway gets its role only by enrolling.
 * @example
 * ```ts
 * Type.Object({ role: PersonRole });
 * ```
 */
export const PersonRole = Type.Union([
  Type.Literal('plant_admin'),
  Type.Literal('machine_builder'),
  Type.Literal('cloud_operator'),
  Type.Literal('auditor'),
]);
/** A {@link PersonRole} value. */
export type PersonRole = Static<typeof PersonRole>;

/**
 * Path of `PUT|DELETE /v1/tenants/{tenant}/roles/{role}/{subject}`.
 * @example
 * ```ts
 * schema: { params: RoleParams }
 * ```
 */
export const RoleParams = Type.Object({ tenant: TenantId, role: PersonRole, subject: Subject }, { additionalProperties: false });
/** A {@link RoleParams} value. */
export type RoleParams = Static<typeof RoleParams>;

/**
 * One role held by a subject in a tenant (gateways included, as `gw.<tenant>.<gateway>`).
 * @example
 * ```ts
 * { subject: 'alice', role: 'plant_admin', tenant: 'plant-a', grantedBy: 'root', grantedAt: '2025-01-01T00:00:00.000Z' }
 * ```
 */
export const RoleAssignmentRecord = Type.Object(
  {
    subject: Type.String(),
    role: Type.String(),
    tenant: TenantId,
    grantedBy: Type.String(),
    grantedAt: Timestamp,
  },
  { additionalProperties: false },
);
/** A {@link RoleAssignmentRecord} value. */
export type RoleAssignmentRecord = Static<typeof RoleAssignmentRecord>;
