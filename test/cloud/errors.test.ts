/**
 * The error contract: every bad request is a 4xx with a registry code and the
 * `{ code, message, hint? }` body; an internal failure is a 500 that leaks
 * nothing; a route that does not declare its access cannot be registered.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildApp } from '../../src/cloud/app.ts';
import type { CloudRoutes } from '../../src/cloud/context.ts';
import { CLOUD_ERR, CLOUD_ERR_STATUS, CloudError } from '../../src/cloud/errors.ts';
import { makeApp, type TestApp } from './_fixtures.ts';

const SECRET = 'postgres://admin:hunter2@db.internal/x';

const failing: CloudRoutes = async (app) => {
  app.get('/v1/test/crash', { config: { access: { public: true } } }, async () => {
    throw new Error(`connection to ${SECRET} refused`);
  });
  app.get('/v1/test/crash-typed', { config: { access: { public: true } } }, async () => {
    throw new TypeError(`cannot read ${SECRET}`);
  });
};

let t: TestApp;
before(async () => {
  t = await makeApp({ routes: [failing], bodyLimit: 4096 });
  await t.grant('admin', 'plant_admin', 'plant-a');
});
after(() => t.close());

const ERROR_KEYS = ['code', 'hint', 'message'];

function assertError(res: { statusCode: number; json(): Record<string, unknown>; headers: Record<string, unknown> }, status: number, code: string, where: string): void {
  assert.equal(res.statusCode, status, where);
  const body = res.json();
  assert.equal(body.code, code, where);
  assert.equal(CLOUD_ERR_STATUS[code as keyof typeof CLOUD_ERR_STATUS], status, `${code} has status ${status} in the registry`);
  assert.equal(typeof body.message, 'string');
  assert.match(body.message as string, /^cannot /, where);
  assert.ok(Object.keys(body).every((k) => ERROR_KEYS.includes(k)), `${where}: only ${ERROR_KEYS}`);
  assert.ok(typeof res.headers['x-request-id'] === 'string', 'every answer has a request id');
}

test('bad bodies: validation, malformed JSON, wrong media type, too large — each its own 4xx code', async () => {
  const h = { ...(await t.bearer('admin')) };
  const url = '/v1/tenants/plant-a/enrolments';
  const cases: [string, object, number, string][] = [
    ['missing field', { payload: {} }, 400, CLOUD_ERR.VALIDATION],
    ['unknown field', { payload: { gateway: 'gw-1', admin: true } }, 400, CLOUD_ERR.VALIDATION],
    ['bad pattern', { payload: { gateway: 'GW 1' } }, 400, CLOUD_ERR.VALIDATION],
    ['wrong type', { payload: { gateway: 42 } }, 400, CLOUD_ERR.VALIDATION],
    ['out of range', { payload: { gateway: 'gw-1', ttlSeconds: 5 } }, 400, CLOUD_ERR.VALIDATION],
    ['array body', { payload: '[]', headers: { 'content-type': 'application/json' } }, 400, CLOUD_ERR.VALIDATION],
    ['null body', { payload: 'null', headers: { 'content-type': 'application/json' } }, 400, CLOUD_ERR.VALIDATION],
    ['malformed JSON', { payload: '{"gateway":', headers: { 'content-type': 'application/json' } }, 400, CLOUD_ERR.MALFORMED_BODY],
    ['empty JSON', { payload: '', headers: { 'content-type': 'application/json' } }, 400, CLOUD_ERR.MALFORMED_BODY],
    ['proto pollution', { payload: '{"__proto__":{"x":1},"gateway":"gw-1"}', headers: { 'content-type': 'application/json' } }, 400, CLOUD_ERR.MALFORMED_BODY],
    ['text body', { payload: 'gateway=gw-1', headers: { 'content-type': 'text/plain' } }, 415, CLOUD_ERR.UNSUPPORTED_MEDIA_TYPE],
    ['form body', { payload: 'gateway=gw-1', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 415, CLOUD_ERR.UNSUPPORTED_MEDIA_TYPE],
    ['too large', { payload: JSON.stringify({ gateway: 'x'.repeat(8000) }), headers: { 'content-type': 'application/json' } }, 413, CLOUD_ERR.BODY_TOO_LARGE],
  ];
  for (const [name, req, status, code] of cases) {
    const r = req as { payload: unknown; headers?: Record<string, string> };
    const res = await t.app.inject({ method: 'POST', url, payload: r.payload as string, headers: { ...h, ...r.headers } });
    assertError(res, status, code, name);
  }
});

test('bad queries and params are 400 with a code', async () => {
  const h = await t.bearer('admin');
  for (const q of ['limit=0', 'limit=501', 'limit=abc', 'after=%25%25', 'after=bm90LWpzb24', 'limit=10&extra=1']) {
    assertError(await t.app.inject({ method: 'GET', url: `/v1/tenants/plant-a/gateways?${q}`, headers: h }), 400, CLOUD_ERR.VALIDATION, q);
  }
  assertError(await t.app.inject({ method: 'PUT', url: '/v1/tenants/plant-a/roles/edge_gateway/bob', headers: h }), 400, CLOUD_ERR.VALIDATION, 'edge_gateway is not grantable');
  assertError(await t.app.inject({ method: 'PUT', url: '/v1/tenants/plant-a/roles/auditor/gw.plant-a.gw-1', headers: h }), 400, CLOUD_ERR.VALIDATION, 'gw. subjects are reserved');
  assertError(await t.app.inject({ method: 'GET', url: '/v1/tenants/plant-a/gateways/Bad_Id', headers: h }), 400, CLOUD_ERR.VALIDATION, 'gateway id');
});

test('unknown routes and methods are 404; unknown resources are 404 with their own code', async () => {
  assertError(await t.app.inject({ method: 'GET', url: '/v2/anything?x=1' }), 404, CLOUD_ERR.ROUTE_NOT_FOUND, 'path');
  assertError(await t.app.inject({ method: 'PATCH', url: '/healthz' }), 404, CLOUD_ERR.ROUTE_NOT_FOUND, 'method');
  const res = await t.app.inject({ method: 'GET', url: `/${'x'.repeat(5000)}` });
  assertError(res, 404, CLOUD_ERR.ROUTE_NOT_FOUND, 'long path');
  assert.ok(res.body.length < 600, 'the echo of the path is bounded');
  assertError(await t.app.inject({ method: 'GET', url: '/v1/tenants/plant-a/gateways/gw-none', headers: await t.bearer('admin') }), 404, CLOUD_ERR.NOT_FOUND, 'gateway');
});

test('credentials: none is 401 UNAUTHENTICATED, a malformed header 401 TOKEN_INVALID', async () => {
  const url = '/v1/tenants/plant-a/roles';
  const none = await t.app.inject({ method: 'GET', url });
  assertError(none, 401, CLOUD_ERR.UNAUTHENTICATED, 'none');
  for (const authorization of ['Basic YWxpY2U6cHc=', 'Bearer', 'Bearer a.b', 'bearer x.y.z', 'Bearer x.y.z extra', `Bearer ${'a'.repeat(10)}`]) {
    assertError(await t.app.inject({ method: 'GET', url, headers: { authorization } }), 401, CLOUD_ERR.TOKEN_INVALID, authorization);
  }
  assertError(await t.app.inject({ method: 'GET', url, headers: { authorization: 'Bearer x.y.z' } }), 401, CLOUD_ERR.TOKEN_INVALID, 'garbage JWT');
});

test('authentication comes before validation: an anonymous bad request learns nothing about the schema', async () => {
  const res = await t.app.inject({ method: 'POST', url: '/v1/tenants/plant-a/enrolments', payload: { nope: 1 } });
  assertError(res, 401, CLOUD_ERR.UNAUTHENTICATED, 'anonymous');
});

test('an internal failure is a 500 that leaks nothing, with the request id to quote', async () => {
  for (const url of ['/v1/test/crash', '/v1/test/crash-typed']) {
    const res = await t.app.inject({ method: 'GET', url, headers: { 'x-request-id': 'req-42' } });
    assertError(res, 500, CLOUD_ERR.INTERNAL, url);
    assert.ok(!res.body.includes('hunter2') && !res.body.includes('postgres') && !res.body.includes('at '), res.body);
    assert.equal(res.json().hint, 'quote request id req-42');
    assert.equal(res.headers['x-request-id'], 'req-42');
  }
});

test('fuzzed requests never produce a 5xx', async () => {
  const h = await t.bearer('admin');
  const urls = ['/v1/enrol', '/v1/auth/token', '/v1/tenants/plant-a/enrolments', '/v1/tenants/plant-a/roles/auditor/x', '/v1/tenants/plant-a/gateways/gw-1'];
  const bodies = ['{}', '[]', '"x"', '1', 'true', '{"token":1}', '{"token":"hedge-enrol-' + 'A'.repeat(43) + '","csr":"x"}', '{"username":"a","password":""}', '\u0000', '{"a":'.repeat(200)];
  let n = 0;
  for (const url of urls) {
    for (const method of ['GET', 'POST', 'PUT', 'DELETE']) {
      for (const payload of bodies) {
        const res = await t.app.inject({ method: method as 'GET', url, payload: method === 'GET' ? undefined : payload, headers: { ...h, 'content-type': 'application/json' } });
        assert.ok(res.statusCode < 500, `${method} ${url} ${payload.slice(0, 40)} → ${res.statusCode} ${res.body}`);
        assert.match(res.statusCode >= 400 ? res.json().code : 'CLOUD_ERR_OK', /^CLOUD_ERR_/);
        n++;
      }
    }
  }
  assert.equal(n, urls.length * 4 * bodies.length);
});

test('a route must declare its access; an unknown action or missing tenant parameter is refused at registration', async () => {
  const cases: [string, CloudRoutes][] = [
    ['no access', async (app) => void app.get('/v1/x', async () => ({}))],
    ['unknown action', async (app) => void app.get('/v1/tenants/:tenant/x', { config: { access: { action: 'drop.all' as 'log.read', tenant: 'tenant' } } }, async () => ({}))],
    ['tenant param absent', async (app) => void app.get('/v1/x', { config: { access: { action: 'log.read', tenant: 'tenant' } } }, async () => ({}))],
    ['empty principals', async (app) => void app.get('/v1/tenants/:tenant/x', { config: { access: { action: 'log.read', tenant: 'tenant', principals: [] } } }, async () => ({}))],
  ];
  for (const [name, routes] of cases) {
    await assert.rejects(
      async () => {
        const app = await buildApp({ db: t.db, ca: t.ca, people: t.people, audit: { append: async () => {} }, logger: false, routes: [routes] });
        await app.ready();
      },
      (e: unknown) => e instanceof CloudError && e.code === CLOUD_ERR.CONFIG,
      name,
    );
  }
});

test('buildApp checks its options', async () => {
  const base = { db: t.db, ca: t.ca, people: t.people, audit: { append: async () => {} }, logger: false as const };
  const bad: object[] = [
    { ...base, db: {} },
    { ...base, ca: {} },
    { ...base, audit: {} },
    { ...base, gatewayCertificateDays: 0 },
    { ...base, bodyLimit: 10 },
    { ...base, readiness: { x: 1 } },
    { ...base, people: { kind: 'local', issuer: '', audience: 'a', key: t.people.key } },
    { ...base, people: { kind: 'oidc', issuer: 'https://i', audience: 'a', jwksUrl: 'not a url' } },
    { ...base, people: { kind: 'oidc', issuer: 'https://i', audience: 'a', jwksUrl: 'https://i/jwks', algorithms: ['HS256'] } },
    { ...base, people: { kind: 'saml', issuer: 'https://i', audience: 'a' } },
  ];
  for (const options of bad) {
    await assert.rejects(
      async () => (await buildApp(options as Parameters<typeof buildApp>[0])).ready(),
      (e: unknown) => e instanceof CloudError && e.code === CLOUD_ERR.CONFIG,
      JSON.stringify(options, (k, v) => (k === 'db' || k === 'ca' || k === 'key' ? '…' : v)),
    );
  }
});

test('every registry code has a status, and the docs table lists every code', async () => {
  const { readFile } = await import('node:fs/promises');
  const docs = await readFile(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  for (const code of Object.values(CLOUD_ERR)) {
    assert.ok(CLOUD_ERR_STATUS[code] >= 400, code);
    assert.ok(docs.includes(`\`${code}\``), `docs/errors.md lists ${code}`);
  }
});

