/**
 * The cloud's model routes: the registry (src/cloud/registry.ts), the OpenLineage events of a job
 * (src/cloud/lineage.ts), release to fleets through TUF (src/cloud/release.ts), and the TUF
 * repository itself, read-only, for gateways' `ModelDelivery` (src/runtime/delivery.ts).
 *
 * A model is visible in a tenant that owns it (the machine builder that registered it) or whose
 * plant's batches went into one of its versions; anyone else gets a 404. A fleet is a plant
 * tenant: a release goes only to plants of the version's federation, and the fleet's delegated
 * TUF role is added on its first release. TUF metadata is signed and public by design, and the
 * targets are only fetched by paths the signed metadata lists, so `/tuf/…` is public.
 *
 * | route | access |
 * |---|---|
 * | `POST /v1/tenants/{t}/models/{m}/versions` | `model.publish` (the job's receiver) |
 * | `GET /v1/tenants/{t}/models`, `…/{m}/versions`, `…/versions/{v}`, `…/{m}/aliases` | `log.read` |
 * | `PUT /v1/tenants/{t}/models/{m}/aliases/{alias}` | `model.publish` (the owner) |
 * | `POST /v1/tenants/{t}/models/{m}/releases` | `model.deploy` (the owner) |
 * | `GET /v1/tenants/{t}/deployments` | `log.read` (a plant's fleet, or what the tenant released) |
 * | `GET /v1/tenants/{t}/jobs/{j}/lineage` | `log.read` (the receiver or a member) |
 * | `GET /tuf/metadata/{file}`, `GET /tuf/targets/fleets/{fleet}/{model}/{file}` | public |
 * @module
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { modelFromArtifact, ModelsError } from '../../models/index.ts';
import type { TufSigningKey } from '../../trust/tuf/repository.ts';
import { errorResponses, TenantId } from '../../wire/common.ts';
import { JobParams } from '../../wire/domain.ts';
import {
  AliasesView, AliasParams, AliasView, DeploymentsQuery, DeploymentView, ModelParams, ModelSummary, ModelVersionView, MoveAliasRequest,
  RegisterVersionRequest, ReleaseRequest, VersionParams,
} from '../../wire/models.ts';
import type { CloudContext, CloudRoutes } from '../context.ts';
import { CLOUD_ERR, CloudError } from '../errors.ts';
import type { Federations } from '../federation.ts';
import type { JobRecord } from '../jobs.ts';
import type { JobLineage } from '../lineage.ts';
import type { ModelVersion, Registry } from '../registry.ts';
import type { Release } from '../release.ts';

/** The services the model routes serve. */
export interface ModelServices {
  readonly registry: Registry;
  readonly lineage: Pick<JobLineage, 'events'>;
  readonly release: Release;
  readonly federations: Pick<Federations, 'get'>;
  readonly jobs: { get(id: string): Promise<JobRecord> };
  /** The TUF repository's folder (`metadata/`, `targets/`), served under `/tuf`. */
  readonly tufDir: string;
  /** The signing key of a fleet's delegated role (kept by the caller; made on a fleet's first release). */
  readonly fleetKey: (fleet: string) => Promise<TufSigningKey>;
}

const person = ['person'] as const;
const TUF_METADATA = /^(?:\d+\.)?(?:root|targets|snapshot|timestamp|fleet-[A-Za-z0-9][A-Za-z0-9._-]{0,63})\.json$/;
const TUF_TARGET = /^[0-9a-f]{64}\.v\d{1,10}$/;
const TUF_PART = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const visible = (versions: readonly ModelVersion[], tenant: string): boolean =>
  versions.some((v) => v.owner === tenant || v.lineage.plants.includes(tenant));

function versionView(v: ModelVersion): Static<typeof ModelVersionView> {
  return {
    modelId: v.modelId, version: v.version, owner: v.owner, family: v.family, jobId: v.jobId, metrics: { ...v.metrics },
    ...(v.evaluation === undefined ? {} : { evaluation: { ...v.evaluation } }), artifact: { ...v.artifact }, ...(v.onnx === undefined ? {} : { onnx: { ...v.onnx } }),
    lineage: { ...v.lineage, plants: [...v.lineage.plants], batchHashes: [...v.lineage.batchHashes], features: [...v.lineage.features] },
    lineageDigest: v.lineageDigest, lineageStatus: { intact: v.lineageStatus.intact, deleted: v.lineageStatus.deleted.map((d) => ({ ...d })) },
    registeredBy: v.registeredBy, registeredAt: v.registeredAt,
  };
}

/**
 * The model route plugin over `services`, or over the services a factory builds on the app's
 * context when the app starts.
 *
 * @example
 * ```ts
 * const app = await buildApp({ ...options, routes: [domainRoutes(domain), modelRoutes({ registry, lineage, release, federations, jobs, tufDir, fleetKey })] });
 * ```
 */
export function modelRoutes(given: ModelServices | ((ctx: CloudContext) => Promise<ModelServices>)): CloudRoutes {
  return async (app, ctx) => {
    const s = typeof given === 'function' ? await given(ctx) : given;
    const { registry, release } = s;
    app.setErrorHandler((err, _req, reply) => {
      if (err instanceof ModelsError) return reply.code(422).send({ code: CLOUD_ERR.MODEL_REJECTED, message: `cannot register model: ${err.message}` });
      if ((err instanceof TypeError || err instanceof RangeError) && !(err instanceof CloudError)) return reply.code(400).send({ code: CLOUD_ERR.VALIDATION, message: `cannot accept request: ${err.message}` });
      throw err;
    });

    /** The model's versions, when the tenant may see them (else the same 404 as for no model). */
    const versionsIn = async (model: string, tenant: string): Promise<ModelVersion[]> => {
      const versions = await registry.versions(model);
      if (!visible(versions, tenant)) throw new CloudError(CLOUD_ERR.NOT_FOUND, `cannot list model versions: no model ${JSON.stringify(model)}`);
      return versions;
    };

    app.post('/v1/tenants/:tenant/models/:model/versions', {
      bodyLimit: 64 * 1024 * 1024,
      schema: { tags: ['model'], summary: 'Register a model fitted from a revealed job (its JSON artifact) as the next version', params: ModelParams, body: RegisterVersionRequest, response: { 201: ModelVersionView, ...errorResponses(400, 401, 403, 404, 409, 422) } },
      config: { access: { action: 'model.publish', tenant: 'tenant', principals: person } },
    }, async (req, reply) => {
      const { model, meta } = modelFromArtifact(req.body.artifact);
      const v = await registry.register({
        modelId: req.params.model, jobId: req.body.jobId, model, by: req.principal!.subject, tenant: req.params.tenant,
        ...(meta.reference === undefined ? {} : { reference: meta.reference }),
        ...(req.body.evaluation === undefined ? {} : { evaluation: req.body.evaluation }), ...(req.body.onnx === undefined ? {} : { onnx: req.body.onnx }),
      });
      return reply.code(201).send(versionView(v));
    });

    app.get('/v1/tenants/:tenant/models', {
      schema: { tags: ['model'], summary: 'Models the tenant owns or whose training used its plant\'s data', params: Type.Object({ tenant: TenantId }, { additionalProperties: false }), response: { 200: Type.Array(ModelSummary), ...errorResponses(400, 401, 403) } },
      config: { access: { action: 'log.read', tenant: 'tenant' } },
    }, async (req) => {
      const out: Static<typeof ModelSummary>[] = [];
      for (const { modelId, owner } of await registry.models()) {
        const versions = await registry.versions(modelId);
        if (!visible(versions, req.params.tenant)) continue;
        const aliases = Object.fromEntries((await registry.aliases(modelId)).map((a) => [a.alias, a.version]));
        out.push({ modelId, owner, latest: versions.at(-1)!.version, aliases });
      }
      return out;
    });

    app.get('/v1/tenants/:tenant/models/:model/versions', {
      schema: { tags: ['model'], summary: 'A model\'s versions with metrics, lineage and lineage status', params: ModelParams, response: { 200: Type.Array(ModelVersionView), ...errorResponses(400, 401, 403, 404) } },
      config: { access: { action: 'log.read', tenant: 'tenant' } },
    }, async (req) => (await versionsIn(req.params.model, req.params.tenant)).map(versionView));

    app.get('/v1/tenants/:tenant/models/:model/versions/:version', {
      schema: { tags: ['model'], summary: 'One version: metrics, lineage (batch hashes, plants) and which of its batches were deleted since', params: VersionParams, response: { 200: ModelVersionView, ...errorResponses(400, 401, 403, 404) } },
      config: { access: { action: 'log.read', tenant: 'tenant' } },
    }, async (req) => {
      const v = (await versionsIn(req.params.model, req.params.tenant)).find((x) => x.version === req.params.version);
      if (v === undefined) throw new CloudError(CLOUD_ERR.NOT_FOUND, `cannot read model version: no ${JSON.stringify(req.params.model)} version ${req.params.version}`);
      return versionView(v);
    });

    app.get('/v1/tenants/:tenant/models/:model/aliases', {
      schema: { tags: ['model'], summary: 'A model\'s aliases and every move of them', params: ModelParams, response: { 200: AliasesView, ...errorResponses(400, 401, 403, 404) } },
      config: { access: { action: 'log.read', tenant: 'tenant' } },
    }, async (req) => {
      await versionsIn(req.params.model, req.params.tenant);
      return { aliases: (await registry.aliases(req.params.model)).map((a) => ({ ...a })), history: (await registry.aliasHistory(req.params.model)).map((m) => ({ ...m })) };
    });

    app.put('/v1/tenants/:tenant/models/:model/aliases/:alias', {
      schema: { tags: ['model'], summary: 'Point an alias at a version (moving it back is how an admin rolls an alias back)', params: AliasParams, body: MoveAliasRequest, response: { 200: AliasView, ...errorResponses(400, 401, 403, 404) } },
      config: { access: { action: 'model.publish', tenant: 'tenant', principals: person } },
    }, async (req) => ({ ...(await registry.setAlias(req.params.model, req.params.alias, req.body.version, req.principal!.subject, req.params.tenant)) }));

    app.post('/v1/tenants/:tenant/models/:model/releases', {
      schema: { tags: ['model'], summary: 'Sign and publish a version (or the version an alias points at) to plants\' fleets through TUF', params: ModelParams, body: ReleaseRequest, response: { 201: Type.Array(DeploymentView), ...errorResponses(400, 401, 403, 404, 409) } },
      config: { access: { action: 'model.deploy', tenant: 'tenant', principals: person } },
    }, async (req, reply) => {
      const { model, tenant } = req.params;
      const { version: asked, alias, fleets } = req.body;
      if ((asked === undefined) === (alias === undefined)) throw new CloudError(CLOUD_ERR.VALIDATION, 'cannot release: give exactly one of version and alias');
      const v = asked === undefined ? await registry.resolve(model, alias!) : await registry.version(model, asked);
      if (v.owner !== tenant) throw new CloudError(CLOUD_ERR.ACCESS_DENIED, `cannot release ${model}: the model belongs to ${v.owner}`);
      const fed = await s.federations.get(v.lineage.federation);
      const plants = new Set(fed.members.filter((m) => m.role === 'plant').map((m) => m.tenant));
      const outside = fleets.filter((f) => !plants.has(f));
      if (outside.length > 0) throw new CloudError(CLOUD_ERR.NOT_FOUND, `cannot release ${model}: ${outside.join(', ')} ${outside.length === 1 ? 'is not a plant' : 'are not plants'} of federation ${fed.id}`);
      for (const fleet of fleets) {
        if (release.fleets().includes(fleet)) continue;
        try {
          await release.addFleet(fleet, [await s.fleetKey(fleet)]);
        } catch (e) {
          if (!(e instanceof CloudError && e.code === CLOUD_ERR.CONFLICT)) throw e; // a concurrent release added it
        }
      }
      const records = await release.release({ modelId: model, version: v.version, fleets, by: req.principal!.subject, tenant });
      return reply.code(201).send(records.map((r) => ({ ...r })));
    });

    app.get('/v1/tenants/:tenant/deployments', {
      schema: { tags: ['model'], summary: 'Deployments to the tenant\'s fleet, or released by the tenant', params: Type.Object({ tenant: TenantId }, { additionalProperties: false }), querystring: DeploymentsQuery, response: { 200: Type.Array(DeploymentView), ...errorResponses(400, 401, 403) } },
      config: { access: { action: 'log.read', tenant: 'tenant' } },
    }, async (req) => {
      const all = await release.deployments({ ...(req.query.fleet === undefined ? {} : { fleet: req.query.fleet }), ...(req.query.model === undefined ? {} : { modelId: req.query.model }) });
      return all.filter((d) => d.fleet === req.params.tenant || d.tenant === req.params.tenant).map((d) => ({ ...d }));
    });

    app.get('/v1/tenants/:tenant/jobs/:job/lineage', {
      schema: { tags: ['job'], summary: 'The OpenLineage RunEvents of a job (START, COMPLETE/FAIL/ABORT, OTHER per registered model)', params: JobParams, response: { 200: Type.Array(Type.Unknown()), ...errorResponses(400, 401, 403, 404) } },
      config: { access: { action: 'log.read', tenant: 'tenant' } },
    }, async (req) => {
      const j = await s.jobs.get(req.params.job);
      const f = await s.federations.get(j.federation);
      const t = req.params.tenant;
      if (t !== f.receiver && !j.plan.plants.includes(t) && !f.members.some((m) => m.tenant === t)) throw new CloudError(CLOUD_ERR.NOT_FOUND, `cannot read job: no job ${JSON.stringify(req.params.job)}`);
      return s.lineage.events(j.id);
    });

    const serve = async (file: string, type: string, reply: import('fastify').FastifyReply): Promise<unknown> => {
      let body: Buffer;
      try {
        body = await readFile(file);
      } catch {
        throw new CloudError(CLOUD_ERR.NOT_FOUND, `cannot read TUF file: no ${path.basename(file)}`);
      }
      return reply.type(type).header('cache-control', 'no-store').send(body);
    };

    app.get('/tuf/metadata/:file', {
      schema: { tags: ['tuf'], summary: 'TUF metadata (signed, public)', params: Type.Object({ file: Type.String({ maxLength: 96 }) }, { additionalProperties: false }), response: { 200: Type.Unknown(), ...errorResponses(400, 404) } },
      config: { access: { public: true } },
    }, async (req, reply) => {
      if (!TUF_METADATA.test(req.params.file)) throw new CloudError(CLOUD_ERR.NOT_FOUND, `cannot read TUF file: no ${JSON.stringify(req.params.file)}`);
      return serve(path.join(s.tufDir, 'metadata', req.params.file), 'application/json', reply);
    });

    app.get('/tuf/targets/fleets/:fleet/:model/:file', {
      schema: { tags: ['tuf'], summary: 'A TUF target (a model artifact under its hash), verified by the client against the signed metadata; for the fleet\'s own gateways and plant admins', params: Type.Object({ fleet: Type.String({ maxLength: 64 }), model: Type.String({ maxLength: 64 }), file: Type.String({ maxLength: 80 }) }, { additionalProperties: false }), response: { 200: Type.Unknown(), ...errorResponses(400, 401, 403, 404) } },
      // Artifacts carry pooled training moments: only the fleet's plant (its gateways, its admins
      // for a mirror) may read them. The signed metadata stays public: it names hashes only.
      config: { access: { action: 'model.activate', tenant: 'fleet' } },
    }, async (req, reply) => {
      const { fleet, model, file } = req.params;
      if (!TUF_PART.test(fleet) || !TUF_PART.test(model) || !TUF_TARGET.test(file)) throw new CloudError(CLOUD_ERR.NOT_FOUND, `cannot read TUF file: no ${JSON.stringify(file)}`);
      return serve(path.join(s.tufDir, 'targets', 'fleets', fleet, model, file), 'application/octet-stream', reply);
    });
  };
}
