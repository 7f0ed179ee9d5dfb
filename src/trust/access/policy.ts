/**
 * Access control: role-based with tenant scope, one casbin model ("RBAC with
 * domains", domain = tenant), deny by default. A subject holds a role in a
 * tenant; a role grants a fixed set of actions; a request is allowed only when
 * the subject holds, in the request's tenant, a role that grants the action.
 *
 * The role → action table {@link PERMISSIONS} is the one policy definition;
 * `docs/trust.md` prints it as the access matrix.
 */
import { newEnforcer, newModelFromString, StringAdapter, type Enforcer } from 'casbin';
import { assertArray, assertString } from '../assert.ts';
import { TrustError, TrustErrorCode } from '../errors.ts';
import type { LogEvent } from '../events.ts';
import { checkEvent, hashPayload } from '../events.ts';

/**
 * The roles of DESIGN §1 plus the gateway as a principal.
 *
 * @example
 * ```ts
 * for (const role of ROLES) console.log(role, PERMISSIONS[role]);
 * ```
 */
export const ROLES = ['plant_admin', 'machine_builder', 'cloud_operator', 'auditor', 'edge_gateway'] as const;
/** One of {@link ROLES}. */
export type Role = (typeof ROLES)[number];

/**
 * Every action the services check.
 *
 * @example
 * ```ts
 * if (!ACTIONS.includes(name as Action)) reply400();
 * ```
 */
export const ACTIONS = [
  'log.read',
  'audit.evidence',
  'data.policy.edit',
  'data.ingest',
  'ciphertext.store',
  'dataset.define',
  'job.submit',
  'job.approve',
  'job.run',
  'key.ceremony.run',
  'key.ceremony.join',
  'decryption.share',
  'model.publish',
  'model.deploy',
  'model.activate',
  'model.rollback',
  'inference.report',
  'access.assign',
] as const;
/** One of {@link ACTIONS}. */
export type Action = (typeof ACTIONS)[number];

/**
 * What each role may do inside a tenant where it holds the role. Everything
 * else is denied.
 *
 * @example
 * ```ts
 * PERMISSIONS.auditor; // ['log.read', 'audit.evidence']
 * ```
 */
export const PERMISSIONS: Readonly<Record<Role, readonly Action[]>> = Object.freeze({
  plant_admin: ['log.read', 'audit.evidence', 'data.policy.edit', 'job.approve', 'model.activate', 'model.rollback', 'access.assign'],
  machine_builder: ['log.read', 'dataset.define', 'job.submit', 'key.ceremony.join', 'decryption.share', 'model.publish', 'model.deploy'],
  cloud_operator: ['ciphertext.store', 'job.run', 'key.ceremony.run'],
  auditor: ['log.read', 'audit.evidence'],
  edge_gateway: ['log.read', 'data.ingest', 'key.ceremony.join', 'decryption.share', 'model.activate', 'inference.report'],
});

/** A subject holding a role in a tenant. */
export interface RoleAssignment {
  readonly subject: string;
  readonly role: Role;
  readonly tenant: string;
}

const MODEL = `
[request_definition]
r = sub, dom, act

[policy_definition]
p = sub, act

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub, r.dom) && r.act == p.act
`;

// Roles live in their own namespace so that no subject id can be a role name
// (casbin treats g(x, x, dom) as true).
const ROLE_PREFIX = 'role:';
const ID = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;

function checkId(value: unknown, name: string): asserts value is string {
  assertString(value, name);
  if (!ID.test(value)) throw new TypeError(`${name} must match ${ID}, got ${JSON.stringify(value)}`);
}

function checkAssignment(a: RoleAssignment): void {
  checkId(a.subject, 'subject');
  checkId(a.tenant, 'tenant');
  if (!ROLES.includes(a.role)) throw new TypeError(`role must be one of ${ROLES.join(', ')}, got ${JSON.stringify(a.role)}`);
}

/**
 * Tenant-scoped RBAC over casbin. Create with {@link createAccessControl}.
 *
 * @example
 * ```ts
 * const ac = await createAccessControl([{ subject: 'alice', role: 'plant_admin', tenant: 'plant-a' }]);
 * await ac.can('alice', 'plant-a', 'job.approve'); // true
 * await ac.can('alice', 'plant-b', 'job.approve'); // false
 * ```
 */
export class AccessControl {
  readonly #enforcer: Enforcer;

  /** @internal use {@link createAccessControl} */
  constructor(enforcer: Enforcer) {
    this.#enforcer = enforcer;
  }

  /**
   * Whether `subject` may do `action` in `tenant`. Anything not granted —
   * unknown subject, tenant, or action included — is `false`.
   *
   * @throws never (malformed input is simply denied)
   * @example
   * ```ts
   * if (!(await ac.can(user, tenant, 'job.submit'))) reply403();
   * ```
   */
  async can(subject: string, tenant: string, action: string): Promise<boolean> {
    if (typeof subject !== 'string' || !ID.test(subject) || typeof tenant !== 'string' || !ID.test(tenant)) return false;
    if (!ACTIONS.includes(action as Action)) return false;
    return this.#enforcer.enforce(subject, tenant, action);
  }

  /**
   * Like {@link can} but throws when denied.
   *
   * @throws {TrustError} `TRUST_ERR_ACCESS_DENIED` when not allowed
   * @example
   * ```ts
   * await ac.enforce(user, tenant, 'model.deploy');
   * ```
   */
  async enforce(subject: string, tenant: string, action: string): Promise<void> {
    if (!(await this.can(subject, tenant, action))) {
      throw new TrustError(TrustErrorCode.ACCESS_DENIED, `cannot ${action} in tenant ${JSON.stringify(tenant)}: not granted to ${JSON.stringify(subject)}`);
    }
  }

  /**
   * Grants `role` to `subject` in `tenant`.
   *
   * @throws {TypeError} malformed subject, tenant or role
   * @example
   * ```ts
   * await ac.assign({ subject: 'gw-a', role: 'edge_gateway', tenant: 'plant-a' });
   * ```
   */
  async assign(a: RoleAssignment): Promise<void> {
    checkAssignment(a);
    await this.#enforcer.addGroupingPolicy(a.subject, ROLE_PREFIX + a.role, a.tenant);
  }

  /**
   * Withdraws `role` from `subject` in `tenant` (no-op when not held).
   *
   * @throws {TypeError} malformed subject, tenant or role
   * @example
   * ```ts
   * await ac.revoke({ subject: 'bob', role: 'auditor', tenant: 'plant-a' });
   * ```
   */
  async revoke(a: RoleAssignment): Promise<void> {
    checkAssignment(a);
    await this.#enforcer.removeGroupingPolicy(a.subject, ROLE_PREFIX + a.role, a.tenant);
  }

  /**
   * The roles `subject` holds in `tenant`.
   *
   * @throws never
   * @example
   * ```ts
   * await ac.rolesOf('alice', 'plant-a'); // ['plant_admin']
   * ```
   */
  async rolesOf(subject: string, tenant: string): Promise<Role[]> {
    const roles = await this.#enforcer.getRolesForUser(subject, tenant);
    return roles.filter((r) => r.startsWith(ROLE_PREFIX)).map((r) => r.slice(ROLE_PREFIX.length) as Role);
  }
}

/**
 * Builds the access control from role assignments.
 *
 * @throws {TypeError} a malformed assignment
 * @example
 * ```ts
 * const ac = await createAccessControl([
 *   { subject: 'alice', role: 'plant_admin', tenant: 'plant-a' },
 *   { subject: 'gw-a', role: 'edge_gateway', tenant: 'plant-a' },
 * ]);
 * ```
 */
export async function createAccessControl(assignments: readonly RoleAssignment[] = []): Promise<AccessControl> {
  assertArray(assignments, 'assignments');
  assignments.forEach(checkAssignment);
  const lines: string[] = [];
  for (const role of ROLES) for (const action of PERMISSIONS[role]) lines.push(`p, ${ROLE_PREFIX}${role}, ${action}`);
  for (const a of assignments) lines.push(`g, ${a.subject}, ${ROLE_PREFIX}${a.role}, ${a.tenant}`);
  const enforcer = await newEnforcer(newModelFromString(MODEL), new StringAdapter(lines.join('\n')));
  return new AccessControl(enforcer);
}

/**
 * The `access_denied` log event for a refused request (the log records every
 * denial). The request description is hashed, never stored.
 *
 * @throws {TrustError} `TRUST_ERR_EVENT_INVALID` when an id cannot be logged
 * @example
 * ```ts
 * await log.append([accessDeniedEvent({ subject, tenant, action, resource: 'job-17', request: body })]);
 * ```
 */
export function accessDeniedEvent(denial: { subject: string; tenant: string; action: string; resource: string; request: Uint8Array; time?: Date }): LogEvent {
  return checkEvent({
    kind: 'access_denied',
    time: (denial.time ?? new Date()).toISOString(),
    actor: denial.subject,
    tenant: denial.tenant,
    subject: denial.resource,
    payloadHash: hashPayload(denial.request),
    details: { action: denial.action, resource: denial.resource },
  });
}
