/**
 * The real thing over HTTPS: startCloud with its CA and server certificate,
 * a person logging in with a password, a gateway enrolling with a CSR and then
 * calling with its client certificate (node:https, verifying the server with
 * the CA it pinned), certificates from elsewhere refused, graceful shutdown
 * draining an in-flight request, and a restart on the same data directory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import type { CloudRoutes } from '../../src/cloud/context.ts';
import { CLOUD_ERR, CloudError } from '../../src/cloud/errors.ts';
import { createCa, exportCa, gatewayPublicKey, issueGatewayCertificate } from '../../src/cloud/pki.ts';
import { grantRole } from '../../src/cloud/roles.ts';
import { startCloud, type RunningCloud } from '../../src/cloud/server.ts';
import { setLocalUser } from '../../src/cloud/users.ts';
import type { LogEvent } from '../../src/trust/events.ts';
import { gatewayKey } from './_fixtures.ts';

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

function call(cloud: RunningCloud, method: string, path: string, options: { body?: object; token?: string; cert?: string; key?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: cloud.port,
        path,
        method,
        ca: cloud.caCertificatePem,
        agent: false,
        ...(options.cert ? { cert: options.cert, key: options.key } : {}),
        headers: {
          ...(payload ? { 'content-type': 'application/json' } : {}),
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : {} });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

let release: () => void = () => {};
const slow: CloudRoutes = async (app) => {
  app.get(
    '/v1/test/slow',
    { schema: { response: { 200: Type.Object({ done: Type.Boolean() }) } }, config: { access: { public: true } } },
    async () => {
      await new Promise<void>((r) => (release = r));
      return { done: true };
    },
  );
};

async function start(dataDir: string, audit: LogEvent[], onShutdown: ((s: AbortSignal) => Promise<void>)[] = [], shutdownTimeoutMs = 5000): Promise<RunningCloud> {
  return startCloud({
    dataDir,
    port: 0,
    databaseUrl: null,
    people: { kind: 'local', issuer: 'https://hedge.test', audience: 'hedge' },
    audit: { append: async (events) => void audit.push(...events) },
    onShutdown,
    shutdownTimeoutMs,
    app: { logger: false, routes: [slow] },
  });
}

test('HTTPS: login, enrolment with a CSR, gateway calls with its client certificate, shutdown, restart', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'hedge-cloud-'));
  const audit: LogEvent[] = [];
  let hookSignal: AbortSignal | undefined;
  let cloud = await start(dataDir, audit, [async (signal) => void (hookSignal = signal)]);
  try {
    assert.equal((await stat(join(dataDir, 'ca.key.pem'))).mode & 0o777, 0o600);
    assert.equal((await stat(join(dataDir, 'issuer.jwk'))).mode & 0o777, 0o600);
    await setLocalUser(cloud.app.cloud.db, { username: 'alice', password: 'correct horse battery' });
    await grantRole(cloud.app.cloud.db, { subject: 'alice', role: 'plant_admin', tenant: 'plant-a', grantedBy: 'test' });

    const login = await call(cloud, 'POST', '/v1/auth/token', { body: { username: 'alice', password: 'correct horse battery' } });
    assert.equal(login.status, 200);
    const token = login.body.accessToken as string;

    const created = await call(cloud, 'POST', '/v1/tenants/plant-a/enrolments', { token, body: { gateway: 'gw-1' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    // The gateway pins the CA it was told about out of band.
    const caDer = new X509Certificate(cloud.caCertificatePem).raw;
    assert.equal(created.body.caFingerprint, createHash('sha256').update(caDer).digest('hex'));

    const key = await gatewayKey();
    const enrolled = await call(cloud, 'POST', '/v1/enrol', { body: { token: created.body.token, csr: key.csr } });
    assert.equal(enrolled.status, 201, JSON.stringify(enrolled.body));
    const cert = enrolled.body.certificate as string;

    const self = await call(cloud, 'GET', '/v1/tenants/plant-a/gateways/gw-1', { cert, key: key.privateKeyPem });
    assert.equal(self.status, 200, JSON.stringify(self.body));
    assert.equal(self.body.status, 'active');

    const anonymous = await call(cloud, 'GET', '/v1/tenants/plant-a/gateways/gw-1');
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.code, CLOUD_ERR.UNAUTHENTICATED);

    const foreign = await call(cloud, 'GET', '/v1/tenants/plant-b/gateways/gw-1', { cert, key: key.privateKeyPem });
    assert.equal(foreign.status, 403);
    assert.equal(audit.at(-1)?.actor, 'gw.plant-a.gw-1');

    // The same identity signed by another CA: the TLS layer does not chain it, the app refuses it.
    const rogueCa = await createCa({ name: 'hedge cloud CA' });
    const rogue = await issueGatewayCertificate(rogueCa, { tenant: 'plant-a', gateway: 'gw-1', publicKey: await gatewayPublicKey({ csr: key.csr }) });
    const forged = await call(cloud, 'GET', '/v1/tenants/plant-a/gateways/gw-1', { cert: rogue.certificatePem, key: key.privateKeyPem });
    assert.equal(forged.status, 401);
    assert.equal(forged.body.code, CLOUD_ERR.CERTIFICATE_INVALID);

    // Graceful shutdown: an in-flight request finishes, hooks run, new connections are refused.
    const inFlight = call(cloud, 'GET', '/v1/test/slow');
    await new Promise((r) => setTimeout(r, 200));
    const closed = cloud.close();
    await new Promise((r) => setTimeout(r, 100));
    release();
    assert.deepEqual((await inFlight).body, { done: true });
    await closed;
    assert.ok(hookSignal && !hookSignal.aborted, 'the shutdown hook ran and was not cut off');
    await assert.rejects(call(cloud, 'GET', '/healthz'), /ECONNREFUSED/);
    await cloud.close(); // twice is harmless

    // Restart on the same directory: same CA, the gateway's certificate and a person's token still work.
    cloud = await start(dataDir, audit);
    assert.equal(createHash('sha256').update(new X509Certificate(cloud.caCertificatePem).raw).digest('hex'), created.body.caFingerprint);
    assert.equal((await call(cloud, 'GET', '/v1/tenants/plant-a/gateways/gw-1', { cert, key: key.privateKeyPem })).status, 200);
    assert.equal((await call(cloud, 'GET', '/v1/tenants/plant-a/roles', { token })).status, 200);
  } finally {
    await cloud.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('shutdown cuts off a hook that does not finish in time', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'hedge-cloud-'));
  let aborted = false;
  const cloud = await start(dataDir, [], [(signal) => new Promise<void>((r) => signal.addEventListener('abort', () => ((aborted = true), r())))], 300);
  try {
    const t0 = Date.now();
    await cloud.close();
    assert.ok(aborted, 'the hook saw the abort');
    assert.ok(Date.now() - t0 < 5000);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('startCloud refuses a readable CA key, a mismatched key, and bad options', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'hedge-cloud-'));
  try {
    const cloud = await start(dataDir, []);
    await cloud.close();
    await chmod(join(dataDir, 'ca.key.pem'), 0o644);
    await assert.rejects(start(dataDir, []), (e: unknown) => e instanceof CloudError && e.code === CLOUD_ERR.CONFIG);
    await chmod(join(dataDir, 'ca.key.pem'), 0o600);
    await rm(join(dataDir, 'ca.key.pem'));
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dataDir, 'ca.key.pem'), (await exportCa(await createCa())).privateKeyPem, { mode: 0o600 });
    await assert.rejects(start(dataDir, []), (e: unknown) => e instanceof CloudError && e.code === CLOUD_ERR.PKI);
    await assert.rejects(startCloud({ dataDir: '', audit: { append: async () => {} } }), (e: unknown) => (e as CloudError).code === CLOUD_ERR.CONFIG);
    await assert.rejects(startCloud({ dataDir, port: 70000, audit: { append: async () => {} } }), (e: unknown) => (e as CloudError).code === CLOUD_ERR.CONFIG);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
