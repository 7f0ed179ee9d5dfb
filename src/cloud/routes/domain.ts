/**
 * The cloud's domain routes: federations and their key ceremony, datasets and
 * batch ingestion, jobs, approvals and reveals, on the framework-free
 * services (federation.ts, lake.ts, jobs.ts). Binary bodies are
 * `application/octet-stream`.
 *
 * | route | access |
 * |---|---|
 * | `POST /v1/tenants/{t}/federations` | `dataset.define` (the machine builder; it becomes the receiver) |
 * | `GET /v1/tenants/{t}/federations/{f}` | `key.ceremony.join` (a member) |
 * | `POST /v1/tenants/{t}/federations/{f}/ceremony/{round}` | `key.ceremony.join` (the member's gateway, or the builder) |
 * | `GET /v1/tenants/{t}/federations/{f}/material/{what}` | `key.ceremony.join` |
 * | `GET /v1/tenants/{t}/federations/{f}/deal` | `key.ceremony.join` (t-of-n: the sealed shares dealt to the caller's tenant) |
 * | `PUT /v1/tenants/{t}/federations/{f}/receiver-key` | `key.ceremony.join` (the receiver only) |
 * | `POST /v1/tenants/{t}/datasets` | `dataset.define` |
 * | `POST /v1/tenants/{t}/datasets/{d}/batches` | `data.ingest` (the plant's gateway) |
 * | `POST /v1/tenants/{t}/inference-summaries` | `inference.report` (the plant's gateway): counts for the log |
 * | `POST /v1/tenants/{t}/activations` | `model.activate` (the plant's gateway): its models' activation history for the log |
 * | `POST /v1/tenants/{t}/withdrawal` | `data.policy.edit` (the plant's admin): delete all of the plant's batches |
 * | `POST /v1/tenants/{t}/jobs` | `job.submit` |
 * | `GET /v1/tenants/{t}/jobs/{j}`, `…/plan` | `log.read` (the receiver or a key holder) |
 * | `POST /v1/tenants/{t}/jobs/{j}/cancel` | `job.submit` (the receiver who submitted it) |
 * | `POST /v1/tenants/{t}/jobs/{j}/approvals` | `job.approve` (the plant's admin) |
 * | `GET /v1/tenants/{t}/jobs/{j}/reveal-request`, `…/aggregate` | `decryption.share` (a key holder) |
 * | `POST /v1/tenants/{t}/jobs/{j}/reveal-shares` | `decryption.share` |
 * | `GET /v1/tenants/{t}/jobs/{j}/result` | `job.submit` (the receiver only) |
 * @module
 */
import { Type, type Static } from '@sinclair/typebox';
import type { SealEngine } from '../../he/backend/seal.ts';
import { errorResponses } from '../../wire/common.ts';
import {
  CeremonyParams, CreateDatasetRequest, CreateFederationRequest, Dataset, DatasetParams, Federation, FederationParams, IngestAnswer, InferenceSummaryBody, ActivationsBody,
  Job, JobParams, MaterialParams, RevealRequest, ShareAccepted, SubmitJobRequest,
} from '../../wire/domain.ts';
import { ComputeError, ComputeErrorCode } from '../../compute/errors.ts';
import { HeError, HeErrorCode } from '../../he/errors.ts';
import type { CloudContext, CloudRoutes } from '../context.ts';
import { CLOUD_ERR, CloudError } from '../errors.ts';
import type { FederationRecord, Federations } from '../federation.ts';
import type { JobRecord, Jobs } from '../jobs.ts';
import type { BatchDeletion, Lake } from '../lake.ts';

/** The services the domain routes serve. */
export interface DomainServices {
  readonly federations: Federations;
  readonly lake: Lake;
  readonly jobs: Jobs;
  readonly engine: (preset: string) => Promise<SealEngine>;
  /** Called after a job is submitted (the embedded runner starts it). */
  readonly onSubmitted?: (jobId: string) => void;
  /** Called with a gateway's inference summary (the service logs it); returns the payload hash logged. */
  readonly onInferenceSummary?: (tenant: string, actor: string, summary: Static<typeof InferenceSummaryBody>) => Promise<string>;
  /** Called with a gateway's activation history entries of a model (the service logs each entry once); returns how many were new. */
  readonly onActivations?: (tenant: string, actor: string, body: Static<typeof ActivationsBody>) => Promise<number>;
  /** Called with the batches a withdrawal deleted (the service logs them). */
  readonly onDeleted?: (deletions: readonly BatchDeletion[]) => Promise<void>;
}

const BINARY_LIMIT = 256 * 1024 * 1024;
const Bytes = Type.Unknown({ description: 'application/octet-stream' });
const MATERIAL = { 'public-key': 'publicKey', 'relin-round1': 'relinRound1', 'relin-keys': 'relinKeys', 'receiver-key': 'receiverKey' } as const;

/** HTTP status of the domain errors the services throw (their codes go to the client as they are). */
const COMPUTE_STATUS: Readonly<Record<string, number>> = {
  [ComputeErrorCode.SELECTION]: 400, [ComputeErrorCode.GUARD]: 422, [ComputeErrorCode.BATCH]: 422,
  [ComputeErrorCode.REVEAL]: 409, [ComputeErrorCode.CANCELLED]: 409, [ComputeErrorCode.WORKER]: 503,
};
const HE_STATUS: Readonly<Record<string, number>> = { [HeErrorCode.EXACTNESS]: 422, [HeErrorCode.FLOODING_BUDGET]: 422, [HeErrorCode.DECODE]: 400 };

function bytesOf(body: unknown): Uint8Array {
  if (!(body instanceof Uint8Array) || body.length === 0) throw new CloudError(CLOUD_ERR.MALFORMED_BODY, 'cannot read body: expected application/octet-stream bytes');
  return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
}

function jobView(j: JobRecord): Static<typeof Job> {
  return {
    id: j.id, federation: j.federation, dataset: j.dataset, requestedBy: j.requestedBy, state: j.state, progress: j.progress,
    plants: [...j.plan.plants], records: j.plan.records, statistics: j.plan.aggregation.stats.length,
    approvals: [...j.approvals], shares: [...j.shares], deadline: j.deadline, ...(j.error === undefined ? {} : { error: j.error }),
    ...(j.activeSet === undefined ? {} : { activeSet: [...j.activeSet], attempt: j.attempt }),
  };
}

/**
 * The domain route plugin over `services`, or over the services a factory builds on the app's
 * context (its database) when the app starts.
 *
 * @example
 * ```ts
 * const app = await buildApp({ ...options, routes: [domainRoutes({ federations, lake, jobs, engine })] });
 * ```
 */
export function domainRoutes(given: DomainServices | ((ctx: CloudContext) => Promise<DomainServices>)): CloudRoutes {
  return async (app, ctx) => {
    const services = typeof given === 'function' ? await given(ctx) : given;
    const { federations, lake, jobs } = services;
    app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: BINARY_LIMIT }, (_req, body, done) => done(null, body));
    // Domain errors keep their codes (docs/errors.md); argument errors of the services are 400s.
    // Anything else goes on to the cloud's error handler.
    app.setErrorHandler((err, _req, reply) => {
      if (err instanceof ComputeError) return reply.code(COMPUTE_STATUS[err.code] ?? 400).send({ code: err.code, message: err.message });
      if (err instanceof HeError) return reply.code(HE_STATUS[err.code] ?? 400).send({ code: err.code, message: err.message });
      if ((err instanceof TypeError || err instanceof RangeError) && !(err instanceof CloudError)) return reply.code(400).send({ code: CLOUD_ERR.VALIDATION, message: `cannot accept request: ${err.message}` });
      throw err;
    });
    const person = ['person'] as const;

    const memberOf = async (federation: string, tenant: string) => {
      const f = await federations.get(federation);
      if (!f.members.some((m) => m.tenant === tenant)) throw new CloudError(CLOUD_ERR.NOT_FOUND, `cannot read federation: no federation ${JSON.stringify(federation)} with member ${tenant}`);
      return f;
    };
    /** The federation as the API shows it: t-of-n members with their points and registered key-agreement keys. */
    const federationView = async (f: FederationRecord): Promise<Static<typeof Federation>> => {
      // The round and who is missing from one read (the round may advance between two), and the
      // keys after it: keys are only ever added, so a view in round `deal` lists every member's.
      const { round, missing } = await federations.status(f.id);
      const keys = f.threshold < f.members.length ? await federations.dealKeys(f.id) : new Map<string, string>();
      const members = f.members.map((m) => ({ ...m, ...(keys.has(m.tenant) ? { dealKey: keys.get(m.tenant)! } : {}) }));
      return { ...f, round, members, missing };
    };

    app.post('/v1/tenants/:tenant/federations', {
      schema: { tags: ['federation'], summary: 'Create a federation (the caller\'s tenant receives its results)', params: Type.Object({ tenant: FederationParams.properties.tenant }, { additionalProperties: false }), body: CreateFederationRequest, response: { 201: Federation, ...errorResponses(400, 401, 403, 409) } },
      config: { access: { action: 'dataset.define', tenant: 'tenant', principals: person } },
    }, async (req, reply) => {
      const f = await federations.create({ ...req.body, receiver: req.params.tenant });
      return reply.code(201).send(await federationView(f));
    });

    app.get('/v1/tenants/:tenant/federations/:federation', {
      schema: { tags: ['federation'], summary: 'A federation and its ceremony state', params: FederationParams, response: { 200: Federation, ...errorResponses(400, 401, 403, 404) } },
      config: { access: { action: 'key.ceremony.join', tenant: 'tenant' } },
    }, async (req) => federationView(await memberOf(req.params.federation, req.params.tenant)));

    app.post('/v1/tenants/:tenant/federations/:federation/ceremony/:round', {
      schema: { tags: ['federation'], summary: 'A key holder\'s public share for a ceremony round (bytes)', params: CeremonyParams, response: { 200: ShareAccepted, ...errorResponses(400, 401, 403, 404, 409) } },
      config: { access: { action: 'key.ceremony.join', tenant: 'tenant' } },
    }, async (req) => federations.submitShare(req.params.federation, req.params.tenant, req.params.round, bytesOf(req.body)));

    app.get('/v1/tenants/:tenant/federations/:federation/material/:what', {
      schema: { tags: ['federation'], summary: 'Public key material of the ceremony (bytes)', params: MaterialParams, response: { 200: Bytes, ...errorResponses(400, 401, 403, 404, 409) } },
      config: { access: { action: 'key.ceremony.join', tenant: 'tenant' } },
    }, async (req, reply) => {
      await memberOf(req.params.federation, req.params.tenant);
      return reply.type('application/octet-stream').send(Buffer.from(await federations.material(req.params.federation, MATERIAL[req.params.what])));
    });

    app.get('/v1/tenants/:tenant/federations/:federation/deal', {
      schema: { tags: ['federation'], summary: 't-of-n: the Shamir shares dealt to this key holder, each sealed to its key-agreement key (a deal bundle, bytes)', params: FederationParams, response: { 200: Bytes, ...errorResponses(400, 401, 403, 404, 409) } },
      config: { access: { action: 'key.ceremony.join', tenant: 'tenant' } },
    }, async (req, reply) => {
      await memberOf(req.params.federation, req.params.tenant);
      return reply.type('application/octet-stream').send(Buffer.from(await federations.dealFor(req.params.federation, req.params.tenant)));
    });

    app.put('/v1/tenants/:tenant/federations/:federation/receiver-key', {
      schema: { tags: ['federation'], summary: 'Register the receiver\'s own public key (bytes)', params: FederationParams, response: { 200: Type.Object({ hash: Type.String() }), ...errorResponses(400, 401, 403, 404, 409) } },
      config: { access: { action: 'key.ceremony.join', tenant: 'tenant', principals: person } },
    }, async (req) => ({ hash: await federations.setReceiverKey(req.params.federation, req.params.tenant, bytesOf(req.body)) }));

    app.post('/v1/tenants/:tenant/datasets', {
      schema: { tags: ['dataset'], summary: 'Define a dataset of a federation', params: Type.Object({ tenant: FederationParams.properties.tenant }, { additionalProperties: false }), body: CreateDatasetRequest, response: { 201: Dataset, ...errorResponses(400, 401, 403, 404, 409) } },
      config: { access: { action: 'dataset.define', tenant: 'tenant', principals: person } },
    }, async (req, reply) => {
      const f = await federations.get(req.body.federation);
      if (f.receiver !== req.params.tenant) throw new CloudError(CLOUD_ERR.ACCESS_DENIED, `cannot define dataset: federation ${f.id} belongs to ${f.receiver}`);
      let d;
      try {
        d = await lake.createDataset({ id: req.body.id, owner: req.params.tenant, federation: f.id, params: f.preset, schema: req.body.schema, retentionDays: req.body.retentionDays });
      } catch (e) {
        if (e instanceof TypeError || e instanceof RangeError) throw new CloudError(CLOUD_ERR.VALIDATION, `cannot define dataset: ${e.message}`, { cause: e });
        throw e;
      }
      return reply.code(201).send({ ...d, schema: d.schema });
    });

    app.post('/v1/tenants/:tenant/datasets/:dataset/batches', {
      bodyLimit: BINARY_LIMIT,
      schema: { tags: ['dataset'], summary: 'Upload an encrypted batch (bytes); idempotent by batch id and content', params: DatasetParams, response: { 200: IngestAnswer, 201: IngestAnswer, ...errorResponses(400, 401, 403, 404, 409, 413, 422) } },
      config: { access: { action: 'data.ingest', tenant: 'tenant', principals: ['gateway'] } },
    }, async (req, reply) => {
      const dataset = await lake.dataset(req.params.dataset);
      const fed = await federations.get(dataset.federation);
      if (!fed.members.some((m) => m.tenant === req.params.tenant && m.role === 'plant')) {
        throw new CloudError(CLOUD_ERR.ACCESS_DENIED, `cannot ingest batch: ${req.params.tenant} is not a plant of federation ${fed.id}`);
      }
      const r = await lake.ingest({ dataset: dataset.id, plant: req.params.tenant, bytes: bytesOf(req.body), engine: await services.engine(dataset.params) });
      return reply.code(r.status === 'stored' ? 201 : 200).send({ status: r.status, batchId: r.ref.batchId, contentHash: r.ref.contentHash, records: r.ref.recordCount });
    });

    app.post('/v1/tenants/:tenant/inference-summaries', {
      schema: { tags: ['runtime'], summary: 'A gateway\'s inference summary (counts, abstentions, drift alarms; no values) for the transparency log', params: Type.Object({ tenant: FederationParams.properties.tenant }, { additionalProperties: false }), body: InferenceSummaryBody, response: { 201: Type.Object({ payloadHash: Type.String() }), ...errorResponses(400, 401, 403) } },
      config: { access: { action: 'inference.report', tenant: 'tenant', principals: ['gateway'] } },
    }, async (req, reply) => {
      if (Date.parse(req.body.to) < Date.parse(req.body.from)) throw new CloudError(CLOUD_ERR.VALIDATION, 'cannot accept inference summary: it ends before it starts');
      const payloadHash = await services.onInferenceSummary?.(req.params.tenant, req.principal!.subject, req.body);
      if (payloadHash === undefined) throw new CloudError(CLOUD_ERR.NOT_READY, 'cannot accept inference summary: this cloud keeps no log');
      return reply.code(201).send({ payloadHash });
    });

    app.post('/v1/tenants/:tenant/activations', {
      schema: { tags: ['runtime'], summary: 'A gateway\'s model activation history (activations and rollbacks) for the transparency log; each entry is kept once', params: Type.Object({ tenant: FederationParams.properties.tenant }, { additionalProperties: false }), body: ActivationsBody, response: { 200: Type.Object({ logged: Type.Integer() }), ...errorResponses(400, 401, 403, 503) } },
      config: { access: { action: 'model.activate', tenant: 'tenant', principals: ['gateway'] } },
    }, async (req) => {
      if (services.onActivations === undefined) throw new CloudError(CLOUD_ERR.NOT_READY, 'cannot accept activations: this cloud keeps no log');
      return { logged: await services.onActivations(req.params.tenant, req.principal!.subject, req.body) };
    });

    app.post('/v1/tenants/:tenant/withdrawal', {
      schema: { tags: ['dataset'], summary: 'Withdraw all of the plant\'s data: every batch it uploaded is deleted, and the deletion logged', params: Type.Object({ tenant: FederationParams.properties.tenant }, { additionalProperties: false }), response: { 200: Type.Object({ batches: Type.Integer(), records: Type.Integer() }), ...errorResponses(400, 401, 403) } },
      config: { access: { action: 'data.policy.edit', tenant: 'tenant', principals: person } },
    }, async (req) => {
      const deleted = await lake.withdraw(req.params.tenant);
      await services.onDeleted?.(deleted);
      return { batches: deleted.length, records: deleted.reduce((a, d) => a + d.records, 0) };
    });

    app.post('/v1/tenants/:tenant/jobs', {
      schema: { tags: ['job'], summary: 'Submit a job (guards are checked now)', params: Type.Object({ tenant: FederationParams.properties.tenant }, { additionalProperties: false }), body: SubmitJobRequest, response: { 201: Job, ...errorResponses(400, 401, 403, 404, 409, 422) } },
      config: { access: { action: 'job.submit', tenant: 'tenant', principals: person } },
    }, async (req, reply) => {
      const job = await jobs.submit({ ...req.body, requestedBy: req.params.tenant });
      services.onSubmitted?.(job.id);
      return reply.code(201).send(jobView(job));
    });

    const visibleJob = async (job: string, tenant: string): Promise<JobRecord> => {
      const j = await jobs.get(job);
      const f = await federations.get(j.federation);
      if (tenant !== f.receiver && !j.plan.plants.includes(tenant) && !f.members.some((m) => m.tenant === tenant)) throw new CloudError(CLOUD_ERR.NOT_FOUND, `cannot read job: no job ${JSON.stringify(job)}`);
      return j;
    };

    app.get('/v1/tenants/:tenant/jobs/:job', {
      schema: { tags: ['job'], summary: 'A job: state, progress, approvals, shares', params: JobParams, response: { 200: Job, ...errorResponses(400, 401, 403, 404) } },
      config: { access: { action: 'log.read', tenant: 'tenant' } },
    }, async (req) => jobView(await visibleJob(req.params.job, req.params.tenant)));

    app.get('/v1/tenants/:tenant/jobs/:job/plan', {
      schema: { tags: ['job'], summary: 'A job\'s plan: the pinned batches, plants, records and statistics (no values)', params: JobParams, response: { 200: Type.Unknown(), ...errorResponses(400, 401, 403, 404) } },
      config: { access: { action: 'log.read', tenant: 'tenant' } },
    }, async (req) => (await visibleJob(req.params.job, req.params.tenant)).plan);

    app.post('/v1/tenants/:tenant/jobs/:job/cancel', {
      schema: { tags: ['job'], summary: 'Cancel a job that has not been revealed (a running aggregation stops)', params: JobParams, response: { 200: Job, ...errorResponses(400, 401, 403, 404, 409) } },
      config: { access: { action: 'job.submit', tenant: 'tenant', principals: person } },
    }, async (req) => {
      const j = await jobs.get(req.params.job);
      if (j.requestedBy !== req.params.tenant) throw new CloudError(CLOUD_ERR.NOT_FOUND, `cannot cancel job: no job ${JSON.stringify(req.params.job)}`);
      return jobView(await jobs.cancel(req.params.job));
    });

    app.post('/v1/tenants/:tenant/jobs/:job/approvals', {
      schema: { tags: ['job'], summary: 'The plant admin approves the reveal of a job using the plant\'s data', params: JobParams, response: { 200: Job, ...errorResponses(400, 401, 403, 404, 409) } },
      config: { access: { action: 'job.approve', tenant: 'tenant', principals: person } },
    }, async (req) => jobView(await jobs.approve(req.params.job, req.params.tenant, req.principal!.subject)));

    app.get('/v1/tenants/:tenant/jobs/:job/reveal-request', {
      schema: { tags: ['job'], summary: 'What a key holder needs for its reveal share', params: JobParams, response: { 200: RevealRequest, ...errorResponses(400, 401, 403, 404, 409) } },
      config: { access: { action: 'decryption.share', tenant: 'tenant' } },
    }, async (req) => {
      const r = await jobs.revealRequest(req.params.job, req.params.tenant);
      return {
        jobId: r.jobId, plan: r.plan, receiverKeyHash: r.receiverKeyHash, parties: r.parties,
        ...(r.activeSet === undefined ? {} : { activeSet: r.activeSet.map((m) => ({ ...m })), attempt: r.attempt, attemptDeadline: r.attemptDeadline }),
      };
    });

    app.get('/v1/tenants/:tenant/jobs/:job/aggregate', {
      schema: { tags: ['job'], summary: 'The job\'s encrypted aggregate (bytes) for a key holder', params: JobParams, response: { 200: Bytes, ...errorResponses(400, 401, 403, 404, 409) } },
      config: { access: { action: 'decryption.share', tenant: 'tenant' } },
    }, async (req, reply) => reply.type('application/octet-stream').send(Buffer.from((await jobs.revealRequest(req.params.job, req.params.tenant)).aggregate)));

    app.post('/v1/tenants/:tenant/jobs/:job/reveal-shares', {
      bodyLimit: BINARY_LIMIT,
      schema: {
        tags: ['job'], summary: 'A key holder\'s reveal share (bytes); t-of-n: for the reveal attempt named by ?attempt=', params: JobParams,
        querystring: Type.Object({ attempt: Type.Optional(Type.Integer({ minimum: 1, description: 't-of-n: the attempt of the reveal request the share was made for' })) }, { additionalProperties: false }),
        response: { 200: Job, ...errorResponses(400, 401, 403, 404, 409) },
      },
      config: { access: { action: 'decryption.share', tenant: 'tenant' } },
    }, async (req) => jobView(await jobs.submitRevealShare(req.params.job, req.params.tenant, bytesOf(req.body), req.query.attempt)));

    app.get('/v1/tenants/:tenant/jobs/:job/result', {
      schema: { tags: ['job'], summary: 'The revealed result, a ciphertext under the receiver\'s own key (bytes)', params: JobParams, response: { 200: Bytes, ...errorResponses(400, 401, 403, 404, 409) } },
      config: { access: { action: 'job.submit', tenant: 'tenant', principals: person } },
    }, async (req, reply) => reply.type('application/octet-stream').send(Buffer.from(await jobs.result(req.params.job, req.params.tenant))));
  };
}
