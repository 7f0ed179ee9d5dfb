/**
 * The access matrix over the API: every non-public route × every role (and a
 * gateway, by client certificate, and an authenticated nobody) × own and
 * foreign tenant, against an expected table written out by hand here. Allowed
 * means neither 401 nor 403; denied means 403 `CLOUD_ERR_ACCESS_DENIED` and
 * exactly one `access_denied` event in the audit log. The table must name
 * every route the OpenAPI document lists as secured.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import type { CloudRoutes } from '../../src/cloud/context.ts';
import { decodeEvent, encodeEvent } from '../../src/trust/events.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileBlobStore } from '../../src/cloud/blobs.ts';
import { Federations } from '../../src/cloud/federation.ts';
import { Jobs } from '../../src/cloud/jobs.ts';
import { Lake } from '../../src/cloud/lake.ts';
import { domainRoutes } from '../../src/cloud/routes/domain.ts';
import { logRoutes } from '../../src/cloud/routes/log.ts';
import { modelRoutes } from '../../src/cloud/routes/models.ts';
import { viewRoutes } from '../../src/cloud/routes/views.ts';
import { JobLineage } from '../../src/cloud/lineage.ts';
import { Registry } from '../../src/cloud/registry.ts';
import { Release } from '../../src/cloud/release.ts';
import { generateTufKey, TufRepository } from '../../src/trust/tuf/repository.ts';
import { TransparencyLog } from '../../src/trust/log/transparency-log.ts';
import { KeyRing } from '../../src/trust/note/key-ring.ts';
import { generateNoteSigner } from '../../src/trust/note/keys.ts';
import { SealEngine } from '../../src/he/backend/seal.ts';
import { preset } from '../../src/he/params.ts';
import { enrolGateway, makeApp, presentCertificatesFromHeader, withCertificate, type TestApp } from './_fixtures.ts';

// x = allowed in the tenant where the caller holds its role.
// Columns: plant admin, machine builder, cloud operator, auditor, edge gateway (certificate), nobody.
const EXPECTED = `
route                                                      PA MB CO AU EG NO
POST   /v1/tenants/:tenant/enrolments                      x  .  .  .  .  .
GET    /v1/tenants/:tenant/gateways                        x  x  .  x  x  .
GET    /v1/tenants/:tenant/gateways/:gateway               x  x  .  x  x  .
DELETE /v1/tenants/:tenant/gateways/:gateway               x  .  .  .  .  .
GET    /v1/tenants/:tenant/roles                           x  .  .  .  .  .
PUT    /v1/tenants/:tenant/roles/:role/:subject            x  .  .  .  .  .
DELETE /v1/tenants/:tenant/roles/:role/:subject            x  .  .  .  .  .
GET    /v1/tenants/:tenant/test/gateway-only               .  .  .  .  x  .
POST   /v1/tenants/:tenant/federations                     .  x  .  .  .  .
GET    /v1/tenants/:tenant/federations/:federation         .  x  .  .  x  .
POST   /v1/tenants/:tenant/federations/:federation/ceremony/:round .  x  .  .  x  .
GET    /v1/tenants/:tenant/federations/:federation/material/:what .  x  .  .  x  .
GET    /v1/tenants/:tenant/federations/:federation/deal    .  x  .  .  x  .
PUT    /v1/tenants/:tenant/federations/:federation/receiver-key .  x  .  .  .  .
POST   /v1/tenants/:tenant/datasets                        .  x  .  .  .  .
POST   /v1/tenants/:tenant/datasets/:dataset/batches       .  .  .  .  x  .
POST   /v1/tenants/:tenant/withdrawal                      x  .  .  .  .  .
POST   /v1/tenants/:tenant/inference-summaries             .  .  .  .  x  .
POST   /v1/tenants/:tenant/activations                     .  .  .  .  x  .
POST   /v1/tenants/:tenant/jobs                            .  x  .  .  .  .
GET    /v1/tenants/:tenant/jobs/:job                       x  x  .  x  x  .
GET    /v1/tenants/:tenant/jobs/:job/plan                  x  x  .  x  x  .
POST   /v1/tenants/:tenant/jobs/:job/cancel                .  x  .  .  .  .
POST   /v1/tenants/:tenant/jobs/:job/approvals             x  .  .  .  .  .
GET    /v1/tenants/:tenant/jobs/:job/reveal-request        .  x  .  .  x  .
GET    /v1/tenants/:tenant/jobs/:job/aggregate             .  x  .  .  x  .
POST   /v1/tenants/:tenant/jobs/:job/reveal-shares         .  x  .  .  x  .
GET    /v1/tenants/:tenant/jobs/:job/result                .  x  .  .  .  .
POST   /v1/tenants/:tenant/models/:model/versions          .  x  .  .  .  .
GET    /v1/tenants/:tenant/models                          x  x  .  x  x  .
GET    /v1/tenants/:tenant/models/:model/versions          x  x  .  x  x  .
GET    /v1/tenants/:tenant/models/:model/versions/:version x  x  .  x  x  .
GET    /v1/tenants/:tenant/models/:model/aliases           x  x  .  x  x  .
PUT    /v1/tenants/:tenant/models/:model/aliases/:alias    .  x  .  .  .  .
POST   /v1/tenants/:tenant/models/:model/releases          .  x  .  .  .  .
GET    /v1/tenants/:tenant/deployments                     x  x  .  x  x  .
GET    /v1/tenants/:tenant/jobs/:job/lineage               x  x  .  x  x  .
GET    /v1/tenants/:tenant/log/entries/:index              x  x  .  x  x  .
GET    /v1/tenants/:tenant/me                              x  x  .  x  .  .
GET    /v1/tenants/:tenant/federations                     x  x  .  x  .  .
GET    /v1/tenants/:tenant/datasets                        x  x  .  x  .  .
GET    /v1/tenants/:tenant/jobs                            x  x  .  x  .  .
GET    /v1/tenants/:tenant/shares                          x  x  .  x  .  .
GET    /v1/tenants/:tenant/outbound                        x  x  .  x  .  .
GET    /v1/tenants/:tenant/ingest                          x  x  .  x  .  .
GET    /v1/tenants/:tenant/log/entries                     x  x  .  x  .  .
GET    /v1/tenants/:tenant/models/:model/inference         x  x  .  x  .  .
GET    /tuf/targets/fleets/:fleet/:model/:file             x  .  .  .  x  .
`;
const COLUMNS = ['PA', 'MB', 'CO', 'AU', 'EG', 'NO'] as const;
const PUBLIC = [
  'GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /openapi.json', 'POST /v1/auth/token', 'POST /v1/enrol',
  'GET /v1/log/checkpoint', 'GET /v1/log/consistency', 'GET /tuf/metadata/:file',
];

/** A route a domain part would add: gateways only, action log.read (which people hold too). */
const gatewayOnly: CloudRoutes = async (app) => {
  app.get(
    '/v1/tenants/:tenant/test/gateway-only',
    {
      schema: { params: Type.Object({ tenant: Type.String() }), response: { 200: Type.Object({ gateway: Type.String() }) } },
      config: { access: { action: 'log.read', tenant: 'tenant', principals: ['gateway'] } },
    },
    async (request) => ({ gateway: request.principal!.subject }),
  );
};

/** A concrete request for each route in `tenant` (valid input, so an allowed call is not a 400). */
function requestFor(route: string, tenant: string): { method: string; url: string; payload?: object } {
  const [method, path] = route.split(/\s+/) as [string, string];
  const url = path
    .replace(':tenant', tenant)
    .replace(':fleet', tenant)
    .replace(':file', 'absent.json')
    .replace(':gateway', 'gw-absent')
    .replace(':role', 'auditor')
    .replace(':subject', method === 'PUT' ? 'carol' : 'nobody-holds-this')
    .replace(':federation', 'fed-absent')
    .replace(':round', 'pk')
    .replace(':what', 'public-key')
    .replace(':dataset', 'ds-absent')
    .replace(':job', 'job-absent')
    .replace(':model', 'model-absent')
    .replace(':version', '1')
    .replace(':alias', 'production')
    .replace(':index', '0');
  const payloads: Record<string, object> = {
    'POST /v1/tenants/:tenant/enrolments': { gateway: 'gw-new' },
    'POST /v1/tenants/:tenant/federations': {
      id: `fed-${tenant}`, preset: 'TEST_INSECURE_BGV_2048', members: [{ tenant, role: 'builder' }, { tenant: 'plant-z', role: 'plant' }], guards: { minPlants: 1, minRecords: 1 },
    },
    'POST /v1/tenants/:tenant/datasets': { id: 'ds-new', federation: 'fed-absent', schema: { features: [{ name: 'a', lo: 0, hi: 1 }] }, retentionDays: 1 },
    'POST /v1/tenants/:tenant/jobs': { federation: 'fed-absent', dataset: 'ds-absent', spec: { features: ['a'], label: false } },
    'POST /v1/tenants/:tenant/models/:model/versions': { jobId: 'job-absent', artifact: { format: 'hedge.model' } },
    'PUT /v1/tenants/:tenant/models/:model/aliases/:alias': { version: 1 },
    'POST /v1/tenants/:tenant/models/:model/releases': { version: 1, fleets: ['plant-a'] },
  };
  const payload = payloads[`${method} ${path}`];
  return payload ? { method, url, payload } : { method, url };
}

let t: TestApp;
let gatewayCert: string;

let lakeDir: string;

before(async () => {
  lakeDir = mkdtempSync(path.join(os.tmpdir(), 'hedge-access-'));
  const engine = SealEngine.create(preset('TEST_INSECURE_BGV_2048', { allowInsecure: true }));
  const engineOf = async (name: string): Promise<SealEngine> => {
    if (name !== 'TEST_INSECURE_BGV_2048') throw new RangeError(`unknown preset ${name}`);
    return engine;
  };
  let shared: { blobs: FileBlobStore; lake: Lake; federations: Federations; jobs: Jobs } | undefined;
  const domain = domainRoutes(async (ctx) => {
    const blobs = await FileBlobStore.open(lakeDir);
    const lake = await Lake.open({ sql: ctx.db, blobs });
    const federations = await Federations.open({ sql: ctx.db, blobs, engine: engineOf });
    shared = { blobs, lake, federations, jobs: await Jobs.open({ sql: ctx.db, blobs, lake, federations, engine: engineOf }) };
    return { ...shared, engine: engineOf };
  });
  const models = modelRoutes(async (ctx) => {
    const { blobs, lake, federations, jobs } = shared!;
    const lineage = await JobLineage.open({ sql: ctx.db });
    registry = await Registry.open({ sql: ctx.db, blobs, lake, jobs, lineage });
    const keys = { root: generateTufKey(), targets: generateTufKey(), snapshot: generateTufKey(), timestamp: generateTufKey() };
    const repo = await TufRepository.create({ dir: path.join(lakeDir, 'tuf'), keys });
    const release = await Release.open({ sql: ctx.db, registry, repo });
    return { registry, lineage, release, federations, jobs, tufDir: repo.dir, fleetKey: async () => generateTufKey() };
  });
  let tlog: TransparencyLog | undefined;
  let registry: Registry | undefined;
  const log = logRoutes(async (ctx) => {
    const signer = generateNoteSigner('hedge.test/log');
    tlog = await TransparencyLog.open({ sql: ctx.db, origin: 'hedge.test/log', keys: new KeyRing([{ signer, notBefore: new Date(0) }]) });
    return { log: () => tlog!, verifierKey: signer.verifier().toString() };
  });
  const views = viewRoutes(async () => ({ log: () => tlog!, jobs: shared!.jobs, registry: registry! }));
  t = await makeApp({ routes: [gatewayOnly, domain, models, log, views] });
  presentCertificatesFromHeader(t.app);
  const roles = { PA: 'plant_admin', MB: 'machine_builder', CO: 'cloud_operator', AU: 'auditor' } as const;
  for (const [col, role] of Object.entries(roles)) await t.grant(`user-${col.toLowerCase()}`, role, 'plant-a');
  await t.grant('admin-plant-a', 'plant_admin', 'plant-a');
  gatewayCert = (await enrolGateway(t, 'plant-a', 'gw-1')).certificate;
});
after(async () => {
  await t.close();
  rmSync(lakeDir, { recursive: true, force: true });
});

async function headersFor(col: (typeof COLUMNS)[number]): Promise<Record<string, string>> {
  if (col === 'EG') return withCertificate(gatewayCert);
  if (col === 'NO') return t.bearer('user-nobody');
  return t.bearer(`user-${col.toLowerCase()}`);
}

test('every secured route × caller × tenant matches the expected matrix', async () => {
  const rows = EXPECTED.trim().split('\n').slice(1).map((line) => {
    const cells = line.trim().split(/\s+/);
    return { route: `${cells[0]} ${cells[1]}`, allowed: new Set(COLUMNS.filter((_, i) => cells[i + 2] === 'x')) };
  });
  let checked = 0;
  for (const { route, allowed } of rows) {
    for (const col of COLUMNS) {
      for (const tenant of ['plant-a', 'plant-b']) {
        const want = tenant === 'plant-a' && allowed.has(col);
        const before = t.audit.length;
        const res = await t.app.inject({ ...requestFor(route, tenant), headers: await headersFor(col) });
        const where = `${route} as ${col} in ${tenant}: ${res.statusCode} ${res.body}`;
        if (want) {
          assert.ok(res.statusCode !== 401 && res.statusCode !== 403, where);
          assert.ok(res.statusCode < 500, where);
          assert.equal(t.audit.length, before, where);
        } else {
          assert.equal(res.statusCode, 403, where);
          assert.equal(res.json().code, 'CLOUD_ERR_ACCESS_DENIED', where);
          assert.equal(t.audit.length, before + 1, where);
          const event = t.audit.at(-1)!;
          assert.equal(event.kind, 'access_denied');
          assert.equal(event.tenant, tenant);
          assert.match(event.actor, col === 'EG' ? /^gw\.plant-a\.gw-1$/ : /^user-/);
          assert.deepEqual(decodeEvent(encodeEvent(event)), event, 'the event is loggable');
        }
        checked++;
      }
    }
  }
  assert.equal(checked, rows.length * COLUMNS.length * 2);
});

test('the matrix names every secured route of the OpenAPI document, and the public list every other', async () => {
  const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
  const secured: string[] = [];
  const open: string[] = [];
  for (const [path, ops] of Object.entries<Record<string, { security?: unknown[] }>>(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const route = `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`;
      (op.security?.length ? secured : open).push(route);
    }
  }
  const matrix = EXPECTED.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/).slice(0, 2).join(' '));
  assert.deepEqual(secured.sort(), matrix.sort());
  assert.deepEqual(open.sort(), [...PUBLIC].sort());
});

test('public routes answer without credentials', async () => {
  for (const route of ['GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /openapi.json', 'GET /v1/log/checkpoint', 'GET /tuf/metadata/root.json', 'GET /tuf/metadata/1.root.json', 'GET /tuf/metadata/timestamp.json']) {
    const [method, url] = route.split(' ') as [string, string];
    assert.equal((await t.app.inject({ method, url })).statusCode, 200, route);
  }
});

test('a role held in one tenant grants nothing in another, and a revoked role nothing at all', async () => {
  await t.grant('dora', 'plant_admin', 'plant-b');
  const h = await t.bearer('dora');
  assert.equal((await t.app.inject({ method: 'GET', url: '/v1/tenants/plant-b/roles', headers: h })).statusCode, 200);
  assert.equal((await t.app.inject({ method: 'GET', url: '/v1/tenants/plant-a/roles', headers: h })).statusCode, 403);
  const admin = await t.bearer('admin-plant-a');
  await t.grant('erin', 'auditor', 'plant-a');
  const erin = await t.bearer('erin');
  assert.equal((await t.app.inject({ method: 'GET', url: '/v1/tenants/plant-a/gateways', headers: erin })).statusCode, 200);
  assert.equal((await t.app.inject({ method: 'DELETE', url: '/v1/tenants/plant-a/roles/auditor/erin', headers: admin })).statusCode, 204);
  assert.equal((await t.app.inject({ method: 'GET', url: '/v1/tenants/plant-a/gateways', headers: erin })).statusCode, 403, 'revocation applies to the next request');
});

test('a malformed tenant in the path is a 400, never a 500, and is not logged as a denial', async () => {
  const h = await t.bearer('admin-plant-a');
  for (const tenant of ['PLANT-A', 'plant_a', '-x', 'a'.repeat(49), '%00', 'a%20b']) {
    const before = t.audit.length;
    const res = await t.app.inject({ method: 'GET', url: `/v1/tenants/${tenant}/roles`, headers: h });
    assert.equal(res.statusCode, 400, tenant);
    assert.equal(res.json().code, 'CLOUD_ERR_VALIDATION');
    assert.equal(t.audit.length, before);
  }
});

test('a denial is still answered when the audit log fails', async () => {
  const failing = await makeApp({ audit: { append: async () => { throw new Error('log down'); } } });
  try {
    const res = await failing.app.inject({ method: 'GET', url: '/v1/tenants/plant-a/roles', headers: await failing.bearer('mallory') });
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().code, 'CLOUD_ERR_ACCESS_DENIED');
  } finally {
    await failing.close();
  }
});
