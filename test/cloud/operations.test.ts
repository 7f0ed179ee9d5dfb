/**
 * Operations: the OpenAPI document (valid JSON, OpenAPI 3.1, every route with
 * its schemas, security and error answers), Prometheus metrics, readiness
 * probes, request ids and log redaction.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { makeApp, type TestApp } from './_fixtures.ts';

const ROUTES = [
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
  'GET /openapi.json',
  'POST /v1/auth/token',
  'POST /v1/tenants/{tenant}/enrolments',
  'POST /v1/enrol',
  'GET /v1/tenants/{tenant}/gateways',
  'GET /v1/tenants/{tenant}/gateways/{gateway}',
  'DELETE /v1/tenants/{tenant}/gateways/{gateway}',
  'GET /v1/tenants/{tenant}/roles',
  'PUT /v1/tenants/{tenant}/roles/{role}/{subject}',
  'DELETE /v1/tenants/{tenant}/roles/{role}/{subject}',
];

let t: TestApp;
const lines: string[] = [];
let probeOk = true;
before(async () => {
  const stream = new Writable({ write: (chunk, _enc, cb) => void (lines.push(...chunk.toString().split('\n').filter(Boolean)), cb()) });
  t = await makeApp({
    logger: { level: 'info', stream },
    readiness: {
      blobs: async () => {
        if (!probeOk) throw new Error('disk /var/lib/hedge/blobs full');
      },
    },
  });
  await t.grant('admin', 'plant_admin', 'plant-a');
});
after(() => t.close());

test('the OpenAPI document is valid JSON, OpenAPI 3.1, and holds the routes with schemas, security and errors', async () => {
  const res = await t.app.inject({ method: 'GET', url: '/openapi.json' });
  assert.equal(res.statusCode, 200);
  assert.match(res.headers['content-type'] as string, /application\/json/);
  const doc = JSON.parse(res.body);
  assert.equal(doc.openapi, '3.1.0');
  assert.equal(doc.info.title, 'hedge cloud API');
  assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), ['bearerAuth', 'gatewayCertificate']);
  const ops: string[] = [];
  for (const [path, methods] of Object.entries<Record<string, Record<string, unknown>>>(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      ops.push(`${method.toUpperCase()} ${path}`);
      assert.ok(Array.isArray(op.security), `${method} ${path} states its security`);
      assert.ok(op.responses && Object.keys(op.responses as object).length > 0, `${method} ${path} has responses`);
      if ((op.security as unknown[]).length > 0) {
        assert.match(String(op['x-hedge-action']), /^[a-z.]+$/, `${method} ${path} names its action`);
        for (const status of ['401', '403']) assert.ok((op.responses as Record<string, unknown>)[status], `${method} ${path} documents ${status}`);
      }
    }
  }
  for (const route of ROUTES) assert.ok(ops.includes(route), `the document has ${route}`);
  const enrol = doc.paths['/v1/tenants/{tenant}/enrolments'].post;
  const body = enrol.requestBody.content['application/json'].schema;
  assert.deepEqual(body.required, ['gateway']);
  assert.equal(body.properties.gateway.pattern, '^[a-z0-9][a-z0-9-]{0,47}$');
  assert.deepEqual(enrol.security, [{ bearerAuth: [] }]);
  assert.deepEqual(Object.keys(enrol.responses['400'].content['application/json'].schema.properties).sort(), ['code', 'hint', 'message']);
  const gw = doc.paths['/v1/tenants/{tenant}/gateways/{gateway}'].get;
  assert.deepEqual(gw.security, [{ bearerAuth: [] }, { gatewayCertificate: [] }]);
  assert.deepEqual(gw.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`).sort(), ['path:gateway', 'path:tenant']);
});

test('/metrics counts requests per route and status, with durations, in Prometheus text format', async () => {
  await t.app.inject({ method: 'GET', url: '/healthz' });
  await t.app.inject({ method: 'GET', url: '/healthz' });
  await t.app.inject({ method: 'GET', url: '/no/such/path/123' });
  await t.app.inject({ method: 'GET', url: '/v1/tenants/plant-a/roles' });
  const res = await t.app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(res.statusCode, 200);
  assert.match(res.headers['content-type'] as string, /^text\/plain; version=0\.0\.4/);
  const text = res.body;
  assert.match(text, /^# TYPE hedge_http_requests_total counter$/m);
  assert.match(text, /^hedge_http_requests_total\{method="GET",route="\/healthz",status_code="200"\} [2-9]\d*$/m);
  assert.match(text, /^hedge_http_requests_total\{method="GET",route="unmatched",status_code="404"\} 1$/m);
  assert.match(text, /^hedge_http_requests_total\{method="GET",route="\/v1\/tenants\/:tenant\/roles",status_code="401"\} 1$/m);
  assert.match(text, /^# TYPE hedge_http_request_duration_seconds histogram$/m);
  assert.match(text, /^hedge_http_request_duration_seconds_bucket\{le="0\.005",method="GET",route="\/healthz",status_code="200"\} \d+$/m);
  assert.match(text, /^hedge_http_request_duration_seconds_count\{method="GET",route="\/healthz",status_code="200"\} [2-9]\d*$/m);
  assert.match(text, /^hedge_process_cpu_seconds_total /m);
  assert.ok(!text.includes('/no/such/path'), 'unmatched paths are not labels');
});

test('/readyz runs every probe; a failure is 503 with the probe named but not described', async () => {
  const ok = await t.app.inject({ method: 'GET', url: '/readyz' });
  assert.equal(ok.statusCode, 200);
  assert.deepEqual(ok.json(), { status: 'ready', checks: { database: 'ok', blobs: 'ok' } });
  probeOk = false;
  try {
    const bad = await t.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(bad.statusCode, 503);
    assert.deepEqual(bad.json(), { status: 'not_ready', checks: { database: 'ok', blobs: 'failed' } });
    assert.ok(!bad.body.includes('disk'));
    assert.ok(lines.some((l) => l.includes('disk /var/lib/hedge/blobs full')), 'the cause is in the log');
  } finally {
    probeOk = true;
  }
  assert.deepEqual((await t.app.inject({ method: 'GET', url: '/healthz' })).json(), { status: 'ok' });
});

test('request ids: a well-formed x-request-id is kept, anything else replaced; every log line of a request carries it', async () => {
  const kept = await t.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'trace-abc.1' } });
  assert.equal(kept.headers['x-request-id'], 'trace-abc.1');
  const replaced = await t.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'bad id\nwith newline' } });
  assert.match(replaced.headers['x-request-id'] as string, /^[0-9a-f-]{36}$/);
  const fresh = await t.app.inject({ method: 'GET', url: '/healthz' });
  assert.notEqual(fresh.headers['x-request-id'], replaced.headers['x-request-id']);
  const mine = lines.map((l) => JSON.parse(l)).filter((r) => r.reqId === 'trace-abc.1');
  assert.ok(mine.length >= 2, 'incoming and completed lines');
});

test('logs redact credentials: bearer tokens, passwords and enrolment tokens never appear', async () => {
  const headers = await t.bearer('admin');
  const secretToken = headers.authorization.slice('Bearer '.length);
  await t.app.inject({ method: 'GET', url: '/v1/tenants/plant-a/roles', headers: { ...headers, cookie: 'session=s3cr3t' } });
  await t.app.inject({ method: 'POST', url: '/v1/auth/token', payload: { username: 'admin', password: 'p4ssw0rd-never-logged' } });
  const created = await t.app.inject({ method: 'POST', url: '/v1/tenants/plant-a/enrolments', headers, payload: { gateway: 'gw-log' } });
  await t.app.inject({ method: 'POST', url: '/v1/enrol', payload: { token: created.json().token, csr: 'garbage' } });
  const all = lines.join('\n');
  assert.ok(all.includes('[redacted]'), 'the authorization header was logged redacted');
  for (const secret of [secretToken, 's3cr3t', 'p4ssw0rd-never-logged', created.json().token]) {
    assert.ok(!all.includes(secret), `log holds ${secret.slice(0, 12)}…`);
  }
});
