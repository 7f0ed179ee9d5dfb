/**
 * Role assignments, stored: who holds which role (src/trust ROLES) in which
 * tenant. The access check of every request reads the caller's roles in the
 * request's tenant from here and asks the casbin policy of
 * `src/trust/access/policy.ts`, so a grant or a revocation takes effect on the
 * next request, in every process sharing the database.
 * @module
 */
import { ROLES, createAccessControl, type Role } from '../trust/access/policy.ts';
import type { SqlQueryable } from '../trust/storage/sql.ts';

/** A stored role assignment. */
export interface StoredRole {
  readonly subject: string;
  readonly role: Role;
  readonly tenant: string;
  readonly grantedBy: string;
  readonly grantedAt: Date;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;

function check(a: { subject: string; role: string; tenant: string }): void {
  if (typeof a.subject !== 'string' || !ID.test(a.subject)) throw new TypeError(`subject must match ${ID}`);
  if (typeof a.tenant !== 'string' || !ID.test(a.tenant)) throw new TypeError(`tenant must match ${ID}`);
  if (!ROLES.includes(a.role as Role)) throw new TypeError(`role must be one of ${ROLES.join(', ')}`);
}

/**
 * Grants `role` to `subject` in `tenant` (no-op when held already). Returns
 * whether it was new.
 *
 * @throws {TypeError} a malformed subject, tenant or role
 * @throws {TrustError} `TRUST_ERR_STORAGE` when the database refuses
 * @example
 * ```ts
 * await grantRole(db, { subject: 'alice', role: 'plant_admin', tenant: 'plant-a', grantedBy: 'setup' });
 * ```
 */
export async function grantRole(db: SqlQueryable, a: { subject: string; role: Role; tenant: string; grantedBy: string; now?: Date }): Promise<boolean> {
  check(a);
  const rows = await db.query(
    `INSERT INTO cloud_role (subject, role, tenant, granted_by, granted_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT DO NOTHING RETURNING subject`,
    [a.subject, a.role, a.tenant, a.grantedBy, a.now ?? new Date()],
  );
  return rows.length > 0;
}

/**
 * Withdraws `role` from `subject` in `tenant`. Returns whether it was held.
 *
 * @throws {TypeError} a malformed subject, tenant or role
 * @throws {TrustError} `TRUST_ERR_STORAGE` when the database refuses
 * @example
 * ```ts
 * await revokeRole(db, { subject: 'bob', role: 'auditor', tenant: 'plant-a' });
 * ```
 */
export async function revokeRole(db: SqlQueryable, a: { subject: string; role: Role; tenant: string }): Promise<boolean> {
  check(a);
  const rows = await db.query('DELETE FROM cloud_role WHERE subject = $1 AND role = $2 AND tenant = $3 RETURNING subject', [a.subject, a.role, a.tenant]);
  return rows.length > 0;
}

/**
 * One stored assignment, or `undefined` when not held.
 *
 * @throws {TrustError} `TRUST_ERR_STORAGE` when the database fails
 * @example
 * ```ts
 * const held = await getRole(db, { subject: 'alice', role: 'plant_admin', tenant: 'plant-a' });
 * ```
 */
export async function getRole(db: SqlQueryable, a: { subject: string; role: Role; tenant: string }): Promise<StoredRole | undefined> {
  const rows = await db.query<RoleRow>('SELECT subject, role, tenant, granted_by, granted_at FROM cloud_role WHERE subject = $1 AND role = $2 AND tenant = $3', [a.subject, a.role, a.tenant]);
  return rows.map(fromRow)[0];
}

/**
 * Whether `subject` may do `action` in `tenant`: its stored roles in that
 * tenant, checked by the casbin policy of src/trust. Malformed input is denied.
 *
 * @throws {TrustError} `TRUST_ERR_STORAGE` when the database fails
 * @example
 * ```ts
 * if (!(await isAllowed(db, 'alice', 'plant-a', 'job.approve'))) deny();
 * ```
 */
export async function isAllowed(db: SqlQueryable, subject: string, tenant: string, action: string): Promise<boolean> {
  if (typeof subject !== 'string' || !ID.test(subject) || typeof tenant !== 'string' || !ID.test(tenant)) return false;
  const rows = await db.query<{ role: string }>('SELECT role FROM cloud_role WHERE subject = $1 AND tenant = $2', [subject, tenant]);
  const roles = rows.map((r) => r.role).filter((r): r is Role => ROLES.includes(r as Role));
  if (roles.length === 0) return false;
  const ac = await createAccessControl(roles.map((role) => ({ subject, role, tenant })));
  return ac.can(subject, tenant, action);
}

/**
 * One page of a tenant's role assignments, ordered by subject then role.
 *
 * @param after - the `(subject, role)` of the last assignment of the previous page
 * @throws {TrustError} `TRUST_ERR_STORAGE` when the database fails
 * @example
 * ```ts
 * const page = await listRoles(db, 'plant-a', 100);
 * ```
 */
export async function listRoles(db: SqlQueryable, tenant: string, limit: number, after?: readonly [string, string]): Promise<StoredRole[]> {
  const rows = await db.query<RoleRow>(
    `SELECT subject, role, tenant, granted_by, granted_at FROM cloud_role
     WHERE tenant = $1 AND ($2::text IS NULL OR (subject, role) > ($2::text, $3::text))
     ORDER BY subject, role LIMIT $4`,
    [tenant, after?.[0] ?? null, after?.[1] ?? null, limit],
  );
  return rows.map(fromRow);
}

interface RoleRow {
  subject: string;
  role: Role;
  tenant: string;
  granted_by: string;
  granted_at: Date | string;
}

function fromRow(r: RoleRow): StoredRole {
  return { subject: r.subject, role: r.role, tenant: r.tenant, grantedBy: r.granted_by, grantedAt: new Date(r.granted_at) };
}
