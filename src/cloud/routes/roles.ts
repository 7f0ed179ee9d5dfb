/**
 * Role assignment routes for people (gateways get `edge_gateway` by enrolling):
 *
 * | route | access |
 * |---|---|
 * | `GET /v1/tenants/{tenant}/roles` | `access.assign` |
 * | `PUT /v1/tenants/{tenant}/roles/{role}/{subject}` | `access.assign` |
 * | `DELETE /v1/tenants/{tenant}/roles/{role}/{subject}` | `access.assign` |
 * @module
 */
import { Type } from '@sinclair/typebox';
import { RoleAssignmentRecord, RoleParams } from '../../wire/auth.ts';
import { PAGE_LIMIT_DEFAULT, Page, PageQuery, TenantId, errorResponses } from '../../wire/common.ts';
import type { CloudRoutes } from '../context.ts';
import { CLOUD_ERR, CloudError } from '../errors.ts';
import { decodeCursor, encodeCursor } from '../page.ts';
import { getRole, grantRole, listRoles, revokeRole, type StoredRole } from '../roles.ts';

function toRecord(r: StoredRole) {
  return { subject: r.subject, role: r.role, tenant: r.tenant, grantedBy: r.grantedBy, grantedAt: r.grantedAt.toISOString() };
}

/**
 * The role routes.
 * @example
 * ```ts
 * await roleRoutes(app, ctx);
 * ```
 */
export const roleRoutes: CloudRoutes = async (app, ctx) => {
  const access = { action: 'access.assign', tenant: 'tenant', principals: ['person'] } as const;

  app.get(
    '/v1/tenants/:tenant/roles',
    {
      schema: {
        tags: ['roles'],
        summary: "List the tenant's role assignments (people and gateways)",
        params: Type.Object({ tenant: TenantId }, { additionalProperties: false }),
        querystring: PageQuery,
        response: { 200: Page(RoleAssignmentRecord), ...errorResponses(400, 401, 403) },
      },
      config: { access },
    },
    async (request) => {
      const { limit = PAGE_LIMIT_DEFAULT, after } = request.query;
      const key = after === undefined ? undefined : (decodeCursor(after, 2) as [string, string]);
      const items = (await listRoles(ctx.db, request.params.tenant, limit, key)).map(toRecord);
      const last = items.at(-1);
      return last && items.length === limit ? { items, next: encodeCursor([last.subject, last.role]) } : { items };
    },
  );

  app.put(
    '/v1/tenants/:tenant/roles/:role/:subject',
    {
      schema: {
        tags: ['roles'],
        summary: 'Grant a role in the tenant to a person',
        params: RoleParams,
        response: { 200: RoleAssignmentRecord, 201: RoleAssignmentRecord, ...errorResponses(400, 401, 403) },
      },
      config: { access },
    },
    async (request, reply) => {
      const { tenant, role, subject } = request.params;
      const created = await grantRole(ctx.db, { subject, role, tenant, grantedBy: request.principal!.subject, now: ctx.now() });
      const stored = await getRole(ctx.db, { subject, role, tenant });
      if (!stored) throw new CloudError(CLOUD_ERR.INTERNAL, 'cannot grant role: the assignment vanished');
      return reply.code(created ? 201 : 200).send(toRecord(stored));
    },
  );

  app.delete(
    '/v1/tenants/:tenant/roles/:role/:subject',
    {
      schema: {
        tags: ['roles'],
        summary: 'Withdraw a role in the tenant from a person',
        params: RoleParams,
        response: { 204: Type.Null({ description: 'withdrawn' }), ...errorResponses(400, 401, 403, 404) },
      },
      config: { access },
    },
    async (request, reply) => {
      const { tenant, role, subject } = request.params;
      if (!(await revokeRole(ctx.db, { subject, role, tenant }))) {
        throw new CloudError(CLOUD_ERR.NOT_FOUND, `cannot withdraw role: ${JSON.stringify(subject)} does not hold ${role} in ${JSON.stringify(tenant)}`);
      }
      return reply.code(204).send(null);
    },
  );
};
