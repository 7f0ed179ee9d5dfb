/**
 * The cloud's HTTP app factory: `buildApp(options)` returns a fastify
 * instance with every plugin and route registered, not listening (tests use
 * `app.inject()`; `startCloud` in server.ts listens with HTTPS).
 *
 * Order matters and is fixed here: logging and request ids (fastify options),
 * errors, access (authentication + authorization of every route), the
 * OpenAPI generator, metrics, then the routes: operations (health, readiness,
 * OpenAPI document) and the feature plugins of {@link CLOUD_ROUTES} plus any
 * given in `options.routes`.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import type { DestinationStream, LevelWithSilent } from 'pino';
import { Registry } from 'prom-client';
import type { SqlClient } from '../trust/storage/sql.ts';
import type { AuditLog, CloudContext, CloudRoutes, TypeBoxTypeProvider } from './context.ts';
import { migrateCloud } from './db.ts';
import { CLOUD_ERR, CloudError } from './errors.ts';
import type { LocalCa } from './pki.ts';
import { accessPlugin } from './plugins/access.ts';
import { errorsPlugin, sendError } from './plugins/errors.ts';
import { healthPlugin, type Lifecycle, type ReadinessProbe } from './plugins/health.ts';
import { metricsPlugin } from './plugins/metrics.ts';
import { openApiRoute, registerOpenApi } from './plugins/openapi.ts';
import { useTypeBoxValidation } from './plugins/validation.ts';
import { authRoutes } from './routes/auth.ts';
import { enrolmentRoutes } from './routes/enrolment.ts';
import { roleRoutes } from './routes/roles.ts';
import type { PeopleAuthConfig } from './tokens.ts';

/**
 * The feature route plugins, in registration order. A new domain part adds
 * its plugin here (see docs/cloud.md, "Adding a route").
 * @example
 * ```ts
 * export const CLOUD_ROUTES = [authRoutes, enrolmentRoutes, roleRoutes, federationRoutes];
 * ```
 */
export const CLOUD_ROUTES: readonly CloudRoutes[] = Object.freeze([authRoutes, enrolmentRoutes, roleRoutes]);

/** The version the OpenAPI document states. */
export const API_VERSION = '0.1.0';

/** Options of {@link buildApp}. */
export interface BuildAppOptions {
  /** The database (see `openCloudDb`); `buildApp` brings its schema up to date. */
  readonly db: SqlClient;
  /** The local CA (see `createCa` / `importCa`). */
  readonly ca: LocalCa;
  /** How people authenticate: the local issuer or an OIDC issuer. */
  readonly people: PeopleAuthConfig;
  /** Where denied accesses are recorded (the transparency log in production). */
  readonly audit: AuditLog;
  /** Extra readiness probes by name (the database probe is built in). */
  readonly readiness?: Readonly<Record<string, ReadinessProbe>>;
  /** Extra route plugins, registered after {@link CLOUD_ROUTES}. */
  readonly routes?: readonly CloudRoutes[];
  /** Logging: `false` for none; else pino level (default `info`) and stream (default stdout). */
  readonly logger?: false | { readonly level?: LevelWithSilent; readonly stream?: DestinationStream };
  /** The clock (default the system clock). */
  readonly now?: () => Date;
  /** Largest accepted request body in bytes (default 1 MiB). */
  readonly bodyLimit?: number;
  /** Validity of gateway certificates issued at enrolment, in days (default 365). */
  readonly gatewayCertificateDays?: number;
  /** TLS server certificate and key (PEM); when given, the app serves HTTPS and asks clients for certificates. */
  readonly tls?: { readonly certificatePem: string; readonly privateKeyPem: string };
}

/** The app `buildApp` returns. */
export type CloudApp = FastifyInstance & { readonly cloud: CloudContext };

/**
 * Paths in log records that are redacted: credentials in headers and any
 * secret-named field of a logged object.
 * @example
 * ```ts
 * pino({ redact: { paths: [...REDACTED_LOG_PATHS], censor: '[redacted]' } });
 * ```
 */
export const REDACTED_LOG_PATHS: readonly string[] = Object.freeze([
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.token',
  '*.accessToken',
  '*.privateKeyPem',
]);

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

function checkOptions(o: BuildAppOptions): void {
  const bad = (reason: string) => new CloudError(CLOUD_ERR.CONFIG, `cannot build app: ${reason}`);
  if (!o || typeof o !== 'object') throw bad('options must be an object');
  if (typeof o.db?.query !== 'function' || typeof o.db.transaction !== 'function') throw bad('db must be an SqlClient (openCloudDb)');
  if (!o.ca?.certificate || !o.ca.privateKey) throw bad('ca must be a LocalCa (createCa / importCa)');
  if (typeof o.audit?.append !== 'function') throw bad('audit must have append(events)');
  const days = o.gatewayCertificateDays ?? 365;
  if (!Number.isInteger(days) || days < 1 || days > 3650) throw bad('gatewayCertificateDays must be an integer in [1, 3650]');
  const limit = o.bodyLimit ?? 1 << 20;
  if (!Number.isInteger(limit) || limit < 1024) throw bad('bodyLimit must be an integer ≥ 1024');
  for (const [name, probe] of Object.entries(o.readiness ?? {})) if (typeof probe !== 'function') throw bad(`readiness probe ${name} is not a function`);
}

/**
 * Builds the cloud app (not listening).
 *
 * @throws {CloudError} `CLOUD_ERR_CONFIG` for invalid options, people-auth configuration or a route without a valid `config.access`
 * @throws {TrustError} `TRUST_ERR_STORAGE` when the database cannot be migrated
 * @example
 * ```ts
 * const app = await buildApp({ db: await openCloudDb(), ca: await createCa(), people: { kind: 'local', issuer, audience: 'hedge', key: await createIssuerKey() }, audit: log });
 * const res = await app.inject({ method: 'GET', url: '/healthz' });
 * ```
 */
export async function buildApp(options: BuildAppOptions): Promise<CloudApp> {
  checkOptions(options);
  await migrateCloud(options.db);
  const ctx: CloudContext = Object.freeze({
    db: options.db,
    ca: options.ca,
    people: options.people,
    audit: options.audit,
    now: options.now ?? (() => new Date()),
    gatewayCertificateDays: options.gatewayCertificateDays ?? 365,
  });
  const log = options.logger ?? {};
  const app = Fastify({
    logger:
      log === false
        ? false
        : {
            level: log.level ?? 'info',
            ...(log.stream ? { stream: log.stream } : {}),
            redact: { paths: [...REDACTED_LOG_PATHS], censor: '[redacted]' },
            serializers: {
              req: (req: { method: string; url: string; headers: Record<string, unknown>; ip?: string }) => ({
                method: req.method,
                url: req.url,
                remoteAddress: req.ip,
                headers: req.headers,
              }),
            },
          },
    genReqId: requestId,
    bodyLimit: options.bodyLimit ?? 1 << 20,
    exposeHeadRoutes: false,
    return503OnClosing: false,
    ...(options.tls
      ? { https: { key: options.tls.privateKeyPem, cert: options.tls.certificatePem, ca: options.ca.certificatePem, requestCert: true, rejectUnauthorized: false } }
      : {}),
  }) as unknown as FastifyInstance;

  const lifecycle: Lifecycle = { closing: false };
  app.decorate('cloud', ctx);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (lifecycle.closing) {
      reply.header('connection', 'close');
      return sendError(reply, CLOUD_ERR.NOT_READY, 'cannot serve request: the server is shutting down', 'retry against another instance or after restart');
    }
  });
  app.addHook('preClose', async () => {
    lifecycle.closing = true;
  });

  // Hooks that act on routes (onRoute, onResponse) come before the first route.
  useTypeBoxValidation(app);
  app.removeContentTypeParser('text/plain'); // JSON only: anything else is 415
  await app.register(errorsPlugin);
  await app.register(accessPlugin, { ctx });
  await registerOpenApi(app, API_VERSION);
  await app.register(metricsPlugin, { registry: new Registry() });
  await app.register(healthPlugin, { ctx, probes: options.readiness ?? {}, lifecycle });
  openApiRoute(app);
  for (const routes of [...CLOUD_ROUTES, ...(options.routes ?? [])]) {
    await app.register(async (scope) => routes(scope.withTypeProvider<TypeBoxTypeProvider>(), ctx));
  }
  return app as CloudApp;
}
