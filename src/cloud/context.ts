/**
 * What every route plugin of the cloud is given: the fastify instance typed
 * for TypeBox schemas, and the shared services (database, CA, clock, token
 * issuer, audit log). Domain parts (federation, lake, jobs, reveals) add their
 * own plugins of type {@link CloudRoutes}; see docs/cloud.md "Adding a route".
 * @module
 */
import type { Static, TSchema } from '@sinclair/typebox';
import type { FastifyBaseLogger, FastifyInstance, FastifyTypeProvider, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { LogEvent } from '../trust/events.ts';
import type { SqlClient } from '../trust/storage/sql.ts';
import type { LocalCa } from './pki.ts';
import type { PeopleAuthConfig } from './tokens.ts';

/**
 * Lets fastify type `request.params/query/body` and the reply from the
 * TypeBox schemas of a route (what `@fastify/type-provider-typebox` does, in
 * three lines).
 * @example
 * ```ts
 * const typed = app.withTypeProvider<TypeBoxTypeProvider>();
 * ```
 */
export interface TypeBoxTypeProvider extends FastifyTypeProvider {
  validator: this['schema'] extends TSchema ? Static<this['schema']> : unknown;
  serializer: this['schema'] extends TSchema ? Static<this['schema']> : unknown;
}

/** The fastify instance route plugins receive. */
export type CloudInstance = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

/**
 * Where denied accesses (and, later, the domain's events) are recorded. The
 * transparency log (`TransparencyLog` of src/trust) fits as is.
 * @example
 * ```ts
 * const audit: AuditLog = { append: async (events) => { for (const e of events) console.log(e); } };
 * ```
 */
export interface AuditLog {
  /**
   * Records events in order.
   * @throws whatever the log throws; the caller logs it and carries on with its answer
   */
  append(events: readonly LogEvent[]): Promise<unknown>;
}

/** The shared services of the cloud, built once by `buildApp`. */
export interface CloudContext {
  /** The database (migrated). */
  readonly db: SqlClient;
  /** The local CA that issues gateway certificates. */
  readonly ca: LocalCa;
  /** How people authenticate. */
  readonly people: PeopleAuthConfig;
  /** The audit sink for denied accesses. */
  readonly audit: AuditLog;
  /** The clock (tests move it). */
  readonly now: () => Date;
  /** Validity of gateway certificates issued at enrolment, in days. */
  readonly gatewayCertificateDays: number;
}

/**
 * A route plugin: registers a feature's routes on `app`, each with its
 * schema (from src/wire) and `config.access`.
 * @example
 * ```ts
 * export const jobRoutes: CloudRoutes = async (app, ctx) => {
 *   app.post('/v1/tenants/:tenant/jobs', { schema, config: { access: { action: 'job.submit', tenant: 'tenant' } } }, handler);
 * };
 * ```
 */
export type CloudRoutes = (app: CloudInstance, ctx: CloudContext) => Promise<void>;
