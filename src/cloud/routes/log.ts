/**
 * The transparency log for auditors (DESIGN §8): its latest signed checkpoint and consistency
 * proofs are public (a checkpoint is a signed tree head, witnesses and gateways need it without an
 * account), while an entry — an event naming a tenant's actors and subjects — is read with its
 * inclusion proof in its own tenant only, by a holder of `log.read` there (auditor, plant admin,
 * machine builder, gateway). An entry of another tenant is a 404, as if it did not exist.
 *
 * | route | access |
 * |---|---|
 * | `GET /v1/log/checkpoint` | public |
 * | `GET /v1/log/consistency?from=&to=` | public |
 * | `GET /v1/tenants/{t}/log/entries/{index}?size=` | `log.read` (entries of the tenant) |
 * @module
 */
import { TrustError, TrustErrorCode } from '../../trust/errors.ts';
import type { TransparencyLog } from '../../trust/log/transparency-log.ts';
import { errorResponses } from '../../wire/common.ts';
import { CheckpointView, ConsistencyQuery, ConsistencyView, EntryParams, EntryQuery, EntryView } from '../../wire/models.ts';
import type { CloudContext, CloudRoutes } from '../context.ts';
import { CLOUD_ERR, CloudError } from '../errors.ts';

/** What the log routes serve. */
export interface LogServices {
  /** The log (a getter: the cloud opens it while the app starts). */
  readonly log: () => TransparencyLog;
  /** The log's note verifier key (`<name>+<hash>+<key>`), for clients to pin. */
  readonly verifierKey: string;
}

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
const sizeOf = (note: string): number => Number(note.split('\n')[1]);

/**
 * The log route plugin over `services`, or over the services a factory builds on the app's context.
 *
 * @example
 * ```ts
 * const app = await buildApp({ ...options, routes: [logRoutes({ log: () => log, verifierKey: signer.verifier().toString() })] });
 * ```
 */
export function logRoutes(given: LogServices | ((ctx: CloudContext) => Promise<LogServices>)): CloudRoutes {
  return async (app, ctx) => {
    const s = typeof given === 'function' ? await given(ctx) : given;
    app.setErrorHandler((err, _req, reply) => {
      if (err instanceof TrustError) {
        const status = err.code === TrustErrorCode.OUT_OF_RANGE ? 404 : 400;
        return reply.code(status).send({ code: status === 404 ? CLOUD_ERR.NOT_FOUND : CLOUD_ERR.VALIDATION, message: err.message });
      }
      throw err;
    });

    app.get('/v1/log/checkpoint', {
      schema: { tags: ['log'], summary: 'The log\'s latest signed checkpoint (C2SP signed note)', response: { 200: CheckpointView, ...errorResponses(503) } },
      config: { access: { public: true } },
    }, async () => {
      const log = s.log();
      const checkpoint = await log.signCheckpoint();
      return { origin: log.origin, size: sizeOf(checkpoint), checkpoint, verifierKey: s.verifierKey };
    });

    app.get('/v1/log/consistency', {
      schema: { tags: ['log'], summary: 'A consistency proof between two tree sizes (RFC 9162 §2.1.4)', querystring: ConsistencyQuery, response: { 200: ConsistencyView, ...errorResponses(400, 404) } },
      config: { access: { public: true } },
    }, async (req) => {
      const { from, to } = req.query;
      if (from > to) throw new CloudError(CLOUD_ERR.VALIDATION, `cannot prove consistency: from (${from}) is above to (${to})`);
      return { from, to, proof: (await s.log().getConsistencyProof(from, to)).map(b64) };
    });

    app.get('/v1/tenants/:tenant/log/entries/:index', {
      schema: { tags: ['log'], summary: 'An entry of the tenant with its inclusion proof', params: EntryParams, querystring: EntryQuery, response: { 200: EntryView, ...errorResponses(400, 401, 403, 404) } },
      config: { access: { action: 'log.read', tenant: 'tenant' } },
    }, async (req) => {
      const log = s.log();
      const { index, tenant } = req.params;
      const size = req.query.size ?? sizeOf(await log.getCheckpoint());
      if (index >= size) throw new CloudError(CLOUD_ERR.NOT_FOUND, `cannot read log entry: no entry ${index} in a tree of size ${size}`);
      const event = await log.event(index);
      if (event.tenant !== tenant) throw new CloudError(CLOUD_ERR.NOT_FOUND, `cannot read log entry: no entry ${index} of tenant ${tenant}`);
      const entry = await log.entry(index);
      const { proof } = await log.inclusionProof(index, size);
      return { index, size, entry: b64(entry), event, proof: proof.map(b64) };
    });
  };
}
