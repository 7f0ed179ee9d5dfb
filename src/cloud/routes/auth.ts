/**
 * `POST /v1/auth/token`: a local user trades name and password for a bearer
 * token signed by the cloud's local issuer. Registered only when people
 * authenticate with the local issuer (with OIDC, tokens come from the issuer).
 * @module
 */
import { errorResponses } from '../../wire/common.ts';
import { TokenRequest, TokenResponse } from '../../wire/auth.ts';
import type { CloudRoutes } from '../context.ts';
import { issueLocalToken } from '../tokens.ts';
import { verifyLocalUser } from '../users.ts';

/**
 * The local token endpoint.
 * @example
 * ```ts
 * await authRoutes(app, ctx);
 * ```
 */
export const authRoutes: CloudRoutes = async (app, ctx) => {
  const people = ctx.people;
  if (people.kind !== 'local') return;
  app.post(
    '/v1/auth/token',
    {
      schema: {
        tags: ['auth'],
        summary: 'Get a bearer token for a local user',
        body: TokenRequest,
        response: { 200: TokenResponse, ...errorResponses(400, 401) },
      },
      config: { access: { public: true } },
    },
    async (request) => {
      await verifyLocalUser(ctx.db, request.body.username, request.body.password);
      const { token, expiresAt } = await issueLocalToken(people, request.body.username, ctx.now());
      return { accessToken: token, tokenType: 'Bearer' as const, expiresAt: expiresAt.toISOString() };
    },
  );
};
