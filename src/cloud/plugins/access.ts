/**
 * Authentication and authorization of every route, declared by the route and
 * wired here (through fastify's `onRoute` hook, so no route can forget it):
 *
 * - a route's `config.access` is either `{ public: true }` or
 *   `{ action, tenant, principals? }`; a route with neither, or with an
 *   action the policy of src/trust does not know, fails at registration;
 * - authentication (route `onRequest`): a bearer JWT makes a **person**
 *   principal (src/cloud/tokens.ts); with no `Authorization` header, a TLS
 *   client certificate that chains to the local CA and is the current
 *   certificate of an active gateway makes a **gateway** principal
 *   (`gw.<tenant>.<gateway>`); neither is 401;
 * - authorization (same hook, before the body is read): the principal's
 *   stored roles in the route's tenant, checked by the casbin policy; a
 *   denial is 403 and is recorded as an `access_denied` event in the audit log.
 * @module
 */
import type { TLSSocket } from 'node:tls';
import type { FastifyRequest, RouteOptions } from 'fastify';
import { ACTIONS, accessDeniedEvent, type Action } from '../../trust/access/policy.ts';
import type { CloudContext } from '../context.ts';
import { CLOUD_ERR, CloudError } from '../errors.ts';
import { verifyGatewayCertificate } from '../pki.ts';
import { isAllowed } from '../roles.ts';
import { createTokenVerifier } from '../tokens.ts';
import { globalPlugin } from './global.ts';
import { gatewaySubject, type Principal, type PrincipalKind } from '../principal.ts';

/**
 * What a route declares in `config.access`.
 *
 * - `{ public: true }`: no authentication (health, metrics, the OpenAPI
 *   document, the token endpoint, enrolment with its one-time token).
 * - `{ action, tenant, principals? }`: the caller must hold, in the tenant,
 *   a role that grants `action`. `tenant` names the path parameter that holds
 *   the resource's tenant (or is a function of the request, run before the
 *   body is parsed). `principals` limits the kinds of caller (default both).
 * @example
 * ```ts
 * config: { access: { action: 'data.ingest', tenant: 'tenant', principals: ['gateway'] } }
 * ```
 */
export type RouteAccess =
  | { readonly public: true }
  | {
      readonly action: Action;
      readonly tenant: string | ((request: FastifyRequest) => unknown);
      readonly principals?: readonly PrincipalKind[];
    };

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route; required on every route (see RouteAccess). */
    access?: RouteAccess;
  }
  interface FastifyRequest {
    /** The authenticated caller; `null` on public routes. */
    principal: Principal | null;
  }
}

const TENANT = /^[a-z0-9][a-z0-9-]{0,47}$/;

function checkDeclaration(route: RouteOptions): void {
  const where = `${String(route.method)} ${route.url}`;
  const access = route.config?.access;
  const bad = (reason: string) => new CloudError(CLOUD_ERR.CONFIG, `cannot register route ${where}: ${reason}`, { hint: 'see docs/cloud.md, "Adding a route"' });
  if (!access) throw bad('config.access is missing (declare { public: true } or { action, tenant })');
  if ('public' in access) {
    if (access.public !== true) throw bad('config.access.public must be true');
    return;
  }
  if (!ACTIONS.includes(access.action)) throw bad(`unknown action ${JSON.stringify(access.action)}`);
  if (typeof access.tenant === 'string' && !route.url.includes(`:${access.tenant}`)) throw bad(`tenant parameter :${access.tenant} is not in the path`);
  if (typeof access.tenant !== 'string' && typeof access.tenant !== 'function') throw bad('config.access.tenant must be a path parameter name or a function');
  if (access.principals && (access.principals.length === 0 || access.principals.some((k) => k !== 'person' && k !== 'gateway'))) {
    throw bad("config.access.principals must list 'person' and/or 'gateway'");
  }
}

async function authenticate(request: FastifyRequest, ctx: CloudContext, verifyToken: (t: string) => Promise<string>): Promise<Principal> {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(header);
    if (!match) throw new CloudError(CLOUD_ERR.TOKEN_INVALID, 'cannot authenticate: Authorization must be "Bearer <JWT>"');
    return { kind: 'person', subject: await verifyToken(match[1]!) };
  }
  const socket = request.raw.socket as Partial<TLSSocket>;
  const peer = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : undefined;
  if (!peer?.raw) {
    throw new CloudError(CLOUD_ERR.UNAUTHENTICATED, 'cannot authenticate: no credentials', {
      hint: 'people send Authorization: Bearer <token>; gateways connect with their client certificate',
    });
  }
  if (socket.authorized !== true) {
    throw new CloudError(CLOUD_ERR.CERTIFICATE_INVALID, 'cannot authenticate gateway: the client certificate does not chain to this cloud\'s CA', {
      hint: 'enrol the gateway to get a certificate from this cloud',
    });
  }
  const id = await verifyGatewayCertificate(ctx.ca, new Uint8Array(peer.raw), ctx.now());
  const rows = await ctx.db.query<{ serial: string; revoked_at: Date | null }>('SELECT serial, revoked_at FROM cloud_gateway WHERE tenant = $1 AND gateway = $2', [id.tenant, id.gateway]);
  const row = rows[0];
  if (!row || row.revoked_at !== null || row.serial !== id.serial) {
    throw new CloudError(CLOUD_ERR.CERTIFICATE_INVALID, 'cannot authenticate gateway: the certificate was revoked or replaced', {
      hint: 'ask the plant admin for a new enrolment token',
    });
  }
  return { kind: 'gateway', subject: gatewaySubject(id.tenant, id.gateway), ...id };
}

async function recordDenial(request: FastifyRequest, ctx: CloudContext, principal: Principal, tenant: string, action: Action): Promise<void> {
  const resource = `${request.method.toLowerCase()}:${(request.routeOptions.url ?? '').replace(/^\//, '')}`;
  try {
    await ctx.audit.append([
      accessDeniedEvent({
        subject: principal.subject,
        tenant,
        action,
        resource,
        request: new TextEncoder().encode(`${request.method} ${request.url}`),
        time: ctx.now(),
      }),
    ]);
  } catch (e) {
    request.log.error({ err: e }, 'cannot record access denial in the audit log');
  }
}

/**
 * Checks every route's access declaration and adds its authentication and
 * authorization hook.
 * @example
 * ```ts
 * await app.register(accessPlugin, { ctx });
 * ```
 */
export const accessPlugin = globalPlugin<{ ctx: CloudContext }>('hedge-access', async (app, { ctx }) => {
  const verifyToken = createTokenVerifier(ctx.people, ctx.now);
  app.decorateRequest('principal', null);
  app.addHook('onRoute', (route) => {
    checkDeclaration(route);
    const access = route.config!.access!;
    if ('public' in access) return;
    const kinds = access.principals ?? ['person', 'gateway'];
    const tenantOf = typeof access.tenant === 'string' ? ((name: string) => (r: FastifyRequest) => (r.params as Record<string, unknown>)[name])(access.tenant) : access.tenant;
    const guard = async (request: FastifyRequest): Promise<void> => {
      const principal = await authenticate(request, ctx, verifyToken);
      request.principal = principal;
      const tenant = tenantOf(request);
      if (typeof tenant !== 'string' || !TENANT.test(tenant)) {
        throw new CloudError(CLOUD_ERR.VALIDATION, `cannot ${access.action}: the tenant is not a tenant id`, { hint: `tenant ids match ${TENANT}` });
      }
      const kindOk = kinds.includes(principal.kind);
      if (!kindOk || !(await isAllowed(ctx.db, principal.subject, tenant, access.action))) {
        await recordDenial(request, ctx, principal, tenant, access.action);
        const reason = kindOk ? `not granted to ${JSON.stringify(principal.subject)}` : `only for ${kinds.join(' or ')} callers`;
        throw new CloudError(CLOUD_ERR.ACCESS_DENIED, `cannot ${access.action} in tenant ${JSON.stringify(tenant)}: ${reason}`);
      }
    };
    route.onRequest = [...toArray(route.onRequest), guard];
  });
});

function toArray<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}
