/**
 * Plant enrolment: a plant admin creates a one-time token for one gateway of
 * a tenant; the gateway redeems it with a CSR (or a public key) and receives
 * a client certificate from the local CA. Tokens are stored only as SHA-256
 * hashes, expire, and are used at most once (a conditional update, so two
 * concurrent redemptions cannot both win). A bad CSR does not use up the
 * token. Enrolling a gateway again replaces its certificate: the older one is
 * no longer accepted. Revoking a gateway refuses its certificate and
 * withdraws its `edge_gateway` role.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import type { SqlQueryable } from '../trust/storage/sql.ts';
import type { Gateway } from '../wire/enrolment.ts';
import type { CloudContext } from './context.ts';
import { CLOUD_ERR, CloudError } from './errors.ts';
import { gatewaySubject } from './principal.ts';
import { gatewayPublicKey, issueGatewayCertificate } from './pki.ts';
import { grantRole, revokeRole } from './roles.ts';

/** A created enrolment, with its token (returned once, never stored). */
export interface CreatedEnrolment {
  readonly id: string;
  readonly tenant: string;
  readonly gateway: string;
  readonly token: string;
  readonly expiresAt: Date;
}

/** What a redeemed enrolment gives the gateway. */
export interface RedeemedEnrolment {
  readonly tenant: string;
  readonly gateway: string;
  readonly serial: string;
  readonly certificatePem: string;
  readonly notAfter: Date;
}

interface GatewayRow {
  tenant: string;
  gateway: string;
  serial: string;
  enrolled_at: Date | string;
  not_after: Date | string;
  revoked_at: Date | string | null;
}

function tokenHash(token: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(token).digest());
}

function toGateway(r: GatewayRow): Gateway {
  const out: Gateway = {
    tenant: r.tenant,
    gateway: r.gateway,
    status: r.revoked_at === null ? 'active' : 'revoked',
    serial: r.serial,
    enrolledAt: new Date(r.enrolled_at).toISOString(),
    notAfter: new Date(r.not_after).toISOString(),
  };
  if (r.revoked_at !== null) out.revokedAt = new Date(r.revoked_at).toISOString();
  return out;
}

/**
 * Creates a one-time enrolment token for `gateway` of `tenant`.
 *
 * @throws {TrustError} `TRUST_ERR_STORAGE` when the database fails
 * @example
 * ```ts
 * const { token } = await createEnrolment(ctx, { tenant: 'plant-a', gateway: 'gw-1', ttlSeconds: 3600, createdBy: 'alice' });
 * ```
 */
export async function createEnrolment(ctx: CloudContext, e: { tenant: string; gateway: string; ttlSeconds: number; createdBy: string }): Promise<CreatedEnrolment> {
  const now = ctx.now();
  const id = `enr_${randomBytes(12).toString('hex')}`;
  const token = `hedge-enrol-${randomBytes(32).toString('base64url')}`;
  const expiresAt = new Date(now.getTime() + e.ttlSeconds * 1000);
  await ctx.db.query(
    'INSERT INTO cloud_enrolment (id, tenant, gateway, token_hash, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    [id, e.tenant, e.gateway, tokenHash(token), e.createdBy, now, expiresAt],
  );
  return { id, tenant: e.tenant, gateway: e.gateway, token, expiresAt };
}

/**
 * Redeems a token: checks the key, uses the token up, issues the certificate,
 * records the gateway and grants it `edge_gateway` in its tenant — all or
 * nothing.
 *
 * @throws {CloudError} `CLOUD_ERR_CSR_INVALID` (token kept) or `CLOUD_ERR_ENROLMENT_TOKEN_INVALID`
 * @throws {TrustError} `TRUST_ERR_STORAGE` when the database fails
 * @example
 * ```ts
 * const { certificatePem } = await redeemEnrolment(ctx, { token, csr });
 * ```
 */
export async function redeemEnrolment(ctx: CloudContext, request: { token: string } & ({ csr: string } | { publicKey: string })): Promise<RedeemedEnrolment> {
  const publicKey = await gatewayPublicKey(request);
  const now = ctx.now();
  return ctx.db.transaction(async (tx) => {
    const rows = await tx.query<{ id: string; tenant: string; gateway: string }>(
      'UPDATE cloud_enrolment SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING id, tenant, gateway',
      [tokenHash(request.token), now],
    );
    const e = rows[0];
    if (!e) {
      throw new CloudError(CLOUD_ERR.ENROLMENT_TOKEN_INVALID, 'cannot enrol: the token is unknown, already used or expired', {
        hint: 'ask the plant admin for a new enrolment token',
      });
    }
    const cert = await issueGatewayCertificate(ctx.ca, { tenant: e.tenant, gateway: e.gateway, publicKey, validityDays: ctx.gatewayCertificateDays, now });
    await tx.query(
      `INSERT INTO cloud_gateway (tenant, gateway, serial, enrolment_id, enrolled_at, not_after, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, NULL)
       ON CONFLICT (tenant, gateway) DO UPDATE SET serial = EXCLUDED.serial, enrolment_id = EXCLUDED.enrolment_id,
         enrolled_at = EXCLUDED.enrolled_at, not_after = EXCLUDED.not_after, revoked_at = NULL`,
      [e.tenant, e.gateway, cert.serial, e.id, now, cert.notAfter],
    );
    await grantRole(tx, { subject: gatewaySubject(e.tenant, e.gateway), role: 'edge_gateway', tenant: e.tenant, grantedBy: e.id, now });
    return { tenant: e.tenant, gateway: e.gateway, serial: cert.serial, certificatePem: cert.certificatePem, notAfter: cert.notAfter };
  });
}

/**
 * One page of a tenant's gateways, ordered by gateway id.
 *
 * @throws {TrustError} `TRUST_ERR_STORAGE` when the database fails
 * @example
 * ```ts
 * const gateways = await listGateways(ctx.db, 'plant-a', 100);
 * ```
 */
export async function listGateways(db: SqlQueryable, tenant: string, limit: number, after?: string): Promise<Gateway[]> {
  const rows = await db.query<GatewayRow>(
    `SELECT tenant, gateway, serial, enrolled_at, not_after, revoked_at FROM cloud_gateway
     WHERE tenant = $1 AND ($2::text IS NULL OR gateway > $2::text) ORDER BY gateway LIMIT $3`,
    [tenant, after ?? null, limit],
  );
  return rows.map(toGateway);
}

/**
 * One gateway of a tenant.
 *
 * @throws {CloudError} `CLOUD_ERR_NOT_FOUND` when the tenant has no such gateway
 * @throws {TrustError} `TRUST_ERR_STORAGE` when the database fails
 * @example
 * ```ts
 * const gw = await getGateway(ctx.db, 'plant-a', 'gw-1');
 * ```
 */
export async function getGateway(db: SqlQueryable, tenant: string, gateway: string): Promise<Gateway> {
  const rows = await db.query<GatewayRow>('SELECT tenant, gateway, serial, enrolled_at, not_after, revoked_at FROM cloud_gateway WHERE tenant = $1 AND gateway = $2', [tenant, gateway]);
  if (!rows[0]) {
    throw new CloudError(CLOUD_ERR.NOT_FOUND, `cannot read gateway: tenant ${JSON.stringify(tenant)} has no gateway ${JSON.stringify(gateway)}`);
  }
  return toGateway(rows[0]);
}

/**
 * Revokes a gateway: its certificate is refused from now on and its
 * `edge_gateway` role withdrawn. Revoking twice is harmless.
 *
 * @throws {CloudError} `CLOUD_ERR_NOT_FOUND` when the tenant has no such gateway
 * @throws {TrustError} `TRUST_ERR_STORAGE` when the database fails
 * @example
 * ```ts
 * await revokeGateway(ctx, 'plant-a', 'gw-1');
 * ```
 */
export async function revokeGateway(ctx: CloudContext, tenant: string, gateway: string): Promise<Gateway> {
  const now = ctx.now();
  await ctx.db.transaction(async (tx) => {
    await tx.query('UPDATE cloud_gateway SET revoked_at = $3 WHERE tenant = $1 AND gateway = $2 AND revoked_at IS NULL', [tenant, gateway, now]);
    await revokeRole(tx, { subject: gatewaySubject(tenant, gateway), role: 'edge_gateway', tenant });
  });
  return getGateway(ctx.db, tenant, gateway);
}
