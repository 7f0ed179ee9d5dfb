/**
 * Enrolment and gateway routes:
 *
 * | route | access |
 * |---|---|
 * | `POST /v1/tenants/{tenant}/enrolments` | `access.assign` (plant admin) |
 * | `POST /v1/enrol` | public: the one-time token is the credential |
 * | `GET /v1/tenants/{tenant}/gateways` | `log.read` |
 * | `GET /v1/tenants/{tenant}/gateways/{gateway}` | `log.read` |
 * | `DELETE /v1/tenants/{tenant}/gateways/{gateway}` | `access.assign` |
 * @module
 */
import { Type } from '@sinclair/typebox';
import { PAGE_LIMIT_DEFAULT, Page, PageQuery, TenantId, errorResponses } from '../../wire/common.ts';
import { ENROLMENT_TTL_DEFAULT_S, CreateEnrolmentRequest, CreateEnrolmentResponse, EnrolRequest, EnrolResponse, Gateway, GatewayParams } from '../../wire/enrolment.ts';
import type { CloudRoutes } from '../context.ts';
import { createEnrolment, getGateway, listGateways, redeemEnrolment, revokeGateway } from '../enrolment.ts';
import { decodeCursor, encodeCursor } from '../page.ts';

const TenantParams = Type.Object({ tenant: TenantId }, { additionalProperties: false });

/**
 * The enrolment and gateway routes.
 * @example
 * ```ts
 * await enrolmentRoutes(app, ctx);
 * ```
 */
export const enrolmentRoutes: CloudRoutes = async (app, ctx) => {
  app.post(
    '/v1/tenants/:tenant/enrolments',
    {
      schema: {
        tags: ['enrolment'],
        summary: 'Create a one-time enrolment token for a gateway of the tenant',
        params: TenantParams,
        body: CreateEnrolmentRequest,
        response: { 201: CreateEnrolmentResponse, ...errorResponses(400, 401, 403) },
      },
      config: { access: { action: 'access.assign', tenant: 'tenant', principals: ['person'] } },
    },
    async (request, reply) => {
      const e = await createEnrolment(ctx, {
        tenant: request.params.tenant,
        gateway: request.body.gateway,
        ttlSeconds: request.body.ttlSeconds ?? ENROLMENT_TTL_DEFAULT_S,
        createdBy: request.principal!.subject,
      });
      return reply.code(201).send({ ...e, expiresAt: e.expiresAt.toISOString(), caFingerprint: ctx.ca.fingerprint });
    },
  );

  app.post(
    '/v1/enrol',
    {
      schema: {
        tags: ['enrolment'],
        summary: 'Trade an enrolment token and a CSR (or public key) for a gateway client certificate',
        body: EnrolRequest,
        response: { 201: EnrolResponse, ...errorResponses(400, 401) },
      },
      config: { access: { public: true } },
    },
    async (request, reply) => {
      const r = await redeemEnrolment(ctx, request.body);
      return reply.code(201).send({
        tenant: r.tenant,
        gateway: r.gateway,
        serial: r.serial,
        certificate: r.certificatePem,
        caCertificate: ctx.ca.certificatePem,
        notAfter: r.notAfter.toISOString(),
      });
    },
  );

  app.get(
    '/v1/tenants/:tenant/gateways',
    {
      schema: {
        tags: ['enrolment'],
        summary: "List the tenant's gateways",
        params: TenantParams,
        querystring: PageQuery,
        response: { 200: Page(Gateway), ...errorResponses(400, 401, 403) },
      },
      config: { access: { action: 'log.read', tenant: 'tenant' } },
    },
    async (request) => {
      const { limit = PAGE_LIMIT_DEFAULT, after } = request.query;
      const items = await listGateways(ctx.db, request.params.tenant, limit, after === undefined ? undefined : decodeCursor(after, 1)[0]);
      return items.length === limit ? { items, next: encodeCursor([items.at(-1)!.gateway]) } : { items };
    },
  );

  app.get(
    '/v1/tenants/:tenant/gateways/:gateway',
    {
      schema: {
        tags: ['enrolment'],
        summary: 'Read one gateway',
        params: GatewayParams,
        response: { 200: Gateway, ...errorResponses(400, 401, 403, 404) },
      },
      config: { access: { action: 'log.read', tenant: 'tenant' } },
    },
    async (request) => getGateway(ctx.db, request.params.tenant, request.params.gateway),
  );

  app.delete(
    '/v1/tenants/:tenant/gateways/:gateway',
    {
      schema: {
        tags: ['enrolment'],
        summary: 'Revoke a gateway: its certificate is refused and its role withdrawn',
        params: GatewayParams,
        response: { 200: Gateway, ...errorResponses(400, 401, 403, 404) },
      },
      config: { access: { action: 'access.assign', tenant: 'tenant', principals: ['person'] } },
    },
    async (request) => revokeGateway(ctx, request.params.tenant, request.params.gateway),
  );
};
