/**
 * Wire schemas of plant enrolment: an admin makes a one-time token for a
 * gateway of a tenant, the gateway trades it (with a CSR or a public key) for
 * a client certificate from the cloud's local CA, and admins list and revoke
 * the tenant's gateways.
 * @module
 */
import { Type, type Static } from '@sinclair/typebox';
import { GatewayId, ObjectId, TenantId, Timestamp } from './common.ts';

/**
 * Lifetime of an enrolment token when the request names none: one day.
 * @example
 * ```ts
 * const ttl = body.ttlSeconds ?? ENROLMENT_TTL_DEFAULT_S;
 * ```
 */
export const ENROLMENT_TTL_DEFAULT_S = 24 * 3600;

/**
 * Body of `POST /v1/tenants/{tenant}/enrolments`.
 * @example
 * ```ts
 * { gateway: 'gw-1', ttlSeconds: 3600 }
 * ```
 */
export const CreateEnrolmentRequest = Type.Object(
  {
    gateway: GatewayId,
    ttlSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 7 * 24 * 3600, default: ENROLMENT_TTL_DEFAULT_S, description: 'how long the token stays usable' })),
  },
  { additionalProperties: false },
);
/** A {@link CreateEnrolmentRequest} value. */
export type CreateEnrolmentRequest = Static<typeof CreateEnrolmentRequest>;

/**
 * Answer of `POST /v1/tenants/{tenant}/enrolments`: the one-time token (shown
 * once, stored only as a hash) and the SHA-256 of the CA certificate, which
 * the gateway pins when it first connects.
 * @example
 * ```ts
 * { id: 'enr_…', tenant: 'plant-a', gateway: 'gw-1', token: 'hedge-enrol-…', expiresAt: '…', caFingerprint: 'ab12…' }
 * ```
 */
export const CreateEnrolmentResponse = Type.Object(
  {
    id: ObjectId,
    tenant: TenantId,
    gateway: GatewayId,
    token: Type.String(),
    expiresAt: Timestamp,
    caFingerprint: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'SHA-256 of the CA certificate (DER), hex' }),
  },
  { additionalProperties: false },
);
/** A {@link CreateEnrolmentResponse} value. */
export type CreateEnrolmentResponse = Static<typeof CreateEnrolmentResponse>;

/**
 * Body of `POST /v1/enrol`: the token and either a PKCS#10 CSR (PEM, proves
 * possession of the key) or an SPKI public key (PEM); ECDSA P-256 only.
 * @example
 * ```ts
 * { token, csr: csrPem }
 * ```
 */
export const EnrolRequest = Type.Union([
  Type.Object({ token: Type.String({ pattern: '^hedge-enrol-[A-Za-z0-9_-]{43}$' }), csr: Type.String({ minLength: 1, maxLength: 16384 }) }, { additionalProperties: false }),
  Type.Object({ token: Type.String({ pattern: '^hedge-enrol-[A-Za-z0-9_-]{43}$' }), publicKey: Type.String({ minLength: 1, maxLength: 16384 }) }, { additionalProperties: false }),
]);
/** An {@link EnrolRequest} value. */
export type EnrolRequest = Static<typeof EnrolRequest>;

/**
 * Answer of `POST /v1/enrol`: the gateway's client certificate and the CA
 * certificate (PEM) it verifies the server with.
 * @example
 * ```ts
 * https.request({ cert: res.certificate, key, ca: res.caCertificate, … });
 * ```
 */
export const EnrolResponse = Type.Object(
  {
    tenant: TenantId,
    gateway: GatewayId,
    serial: Type.String({ pattern: '^[0-9a-f]+$' }),
    certificate: Type.String(),
    caCertificate: Type.String(),
    notAfter: Timestamp,
  },
  { additionalProperties: false },
);
/** An {@link EnrolResponse} value. */
export type EnrolResponse = Static<typeof EnrolResponse>;

/**
 * Path of `/v1/tenants/{tenant}/gateways/{gateway}`.
 * @example
 * ```ts
 * schema: { params: GatewayParams }
 * ```
 */
export const GatewayParams = Type.Object({ tenant: TenantId, gateway: GatewayId }, { additionalProperties: false });
/** A {@link GatewayParams} value. */
export type GatewayParams = Static<typeof GatewayParams>;

/**
 * An enrolled gateway: its current certificate and whether it was revoked.
 * @example
 * ```ts
 * { tenant: 'plant-a', gateway: 'gw-1', status: 'active', serial: '…', enrolledAt: '…', notAfter: '…' }
 * ```
 */
export const Gateway = Type.Object(
  {
    tenant: TenantId,
    gateway: GatewayId,
    status: Type.Union([Type.Literal('active'), Type.Literal('revoked')]),
    serial: Type.String(),
    enrolledAt: Timestamp,
    notAfter: Timestamp,
    revokedAt: Type.Optional(Timestamp),
  },
  { additionalProperties: false },
);
/** A {@link Gateway} value. */
export type Gateway = Static<typeof Gateway>;
