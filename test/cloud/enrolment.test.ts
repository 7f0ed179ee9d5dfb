/**
 * Enrolment end to end through the API (inject): one-time, expiring tokens;
 * CSR or public key; a bad CSR keeps the token; concurrent redemptions have
 * one winner; the certificate authenticates the gateway until it is revoked
 * or replaced; lists page.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { x509 } from '../../src/cloud/x509.ts';
import { CLOUD_ERR } from '../../src/cloud/errors.ts';
import { verifyGatewayCertificate } from '../../src/cloud/pki.ts';
import { enrolGateway, gatewayKey, makeApp, presentCertificatesFromHeader, withCertificate, type TestApp } from './_fixtures.ts';

let t: TestApp;
let admin: Record<string, string>;
before(async () => {
  t = await makeApp();
  presentCertificatesFromHeader(t.app);
  await t.grant('admin-plant-a', 'plant_admin', 'plant-a');
  await t.grant('admin-plant-b', 'plant_admin', 'plant-b');
  admin = await t.bearer('admin-plant-a');
});
after(() => t.close());

async function newToken(gateway: string, ttlSeconds?: number): Promise<{ token: string; expiresAt: string; caFingerprint: string; id: string }> {
  const res = await t.app.inject({ method: 'POST', url: '/v1/tenants/plant-a/enrolments', headers: admin, payload: ttlSeconds === undefined ? { gateway } : { gateway, ttlSeconds } });
  assert.equal(res.statusCode, 201, res.body);
  return res.json();
}

const enrol = (payload: object) => t.app.inject({ method: 'POST', url: '/v1/enrol', payload });
const readSelf = (cert: string, gateway = 'gw-1', tenant = 'plant-a') =>
  t.app.inject({ method: 'GET', url: `/v1/tenants/${tenant}/gateways/${gateway}`, headers: withCertificate(cert) });

test('a token yields a certificate naming tenant and gateway; the token works once', async () => {
  const created = await newToken('gw-1');
  assert.match(created.token, /^hedge-enrol-[A-Za-z0-9_-]{43}$/);
  assert.equal(created.caFingerprint, t.ca.fingerprint);
  const key = await gatewayKey('CN=I am plant-b, O=plant-b');
  const res = await enrol({ token: created.token, csr: key.csr });
  assert.equal(res.statusCode, 201, res.body);
  const body = res.json();
  assert.equal(body.tenant, 'plant-a');
  assert.equal(body.gateway, 'gw-1');
  assert.equal(body.caCertificate, t.ca.certificatePem);
  const id = await verifyGatewayCertificate(t.ca, body.certificate, t.clock.now);
  assert.deepEqual(id, { tenant: 'plant-a', gateway: 'gw-1', serial: body.serial }, 'the CSR subject is ignored');
  const cert = new x509.X509Certificate(body.certificate);
  const spki = new Uint8Array(await webcrypto.subtle.exportKey('spki', key.keys.publicKey));
  assert.deepEqual(new Uint8Array(cert.publicKey.rawData), spki, 'certificate is for the CSR key');

  const again = await enrol({ token: created.token, csr: (await gatewayKey()).csr });
  assert.equal(again.statusCode, 401);
  assert.equal(again.json().code, CLOUD_ERR.ENROLMENT_TOKEN_INVALID);

  const self = await readSelf(body.certificate);
  assert.equal(self.statusCode, 200, self.body);
  assert.equal(self.json().status, 'active');
  assert.equal((await readSelf(body.certificate, 'gw-1', 'plant-b')).statusCode, 403, 'a plant-a gateway has no business in plant-b');
});

test('a public key instead of a CSR works too', async () => {
  const created = await newToken('gw-pk');
  const key = await gatewayKey();
  const res = await enrol({ token: created.token, publicKey: key.publicKey });
  assert.equal(res.statusCode, 201, res.body);
  assert.equal((await readSelf(res.json().certificate, 'gw-pk')).statusCode, 200);
});

test('an expired or unknown token is refused', async () => {
  const created = await newToken('gw-late', 60);
  const now = t.clock.now;
  t.clock.now = new Date(now.getTime() + 61_000);
  try {
    const res = await enrol({ token: created.token, csr: (await gatewayKey()).csr });
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().code, CLOUD_ERR.ENROLMENT_TOKEN_INVALID);
  } finally {
    t.clock.now = now;
  }
  const unknown = await enrol({ token: `hedge-enrol-${'A'.repeat(43)}`, csr: (await gatewayKey()).csr });
  assert.equal(unknown.json().code, CLOUD_ERR.ENROLMENT_TOKEN_INVALID);
});

test('a bad CSR or key is 400 CSR_INVALID and leaves the token usable', async () => {
  const created = await newToken('gw-csr');
  const good = await gatewayKey();
  const p384 = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const p384Csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'CN=x',
    keys: p384 as unknown as Parameters<typeof x509.Pkcs10CertificateRequestGenerator.create>[0]['keys'],
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' },
  });
  const rsa = (await webcrypto.subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const rsaSpki = x509.PemConverter.encode(await webcrypto.subtle.exportKey('spki', rsa.publicKey), 'PUBLIC KEY');
  // Flip a byte inside the signature (the DER's last bytes) so the self-signature fails.
  const der = new Uint8Array(x509.PemConverter.decodeFirst(good.csr));
  der[der.length - 5]! ^= 0x01;
  const tampered = x509.PemConverter.encode(der, 'CERTIFICATE REQUEST');
  const cases: [string, object][] = [
    ['garbage CSR', { csr: 'not a csr' }],
    ['PEM of the wrong thing', { csr: t.ca.certificatePem }],
    ['P-384 CSR', { csr: p384Csr.toString('pem') }],
    ['tampered CSR', { csr: tampered }],
    ['garbage key', { publicKey: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----' }],
    ['RSA key', { publicKey: rsaSpki }],
  ];
  for (const [name, body] of cases) {
    const res = await enrol({ token: created.token, ...body });
    assert.equal(res.statusCode, 400, `${name}: ${res.body}`);
    assert.equal(res.json().code, CLOUD_ERR.CSR_INVALID, name);
  }
  const both = await enrol({ token: created.token, csr: good.csr, publicKey: good.publicKey });
  assert.equal(both.json().code, CLOUD_ERR.VALIDATION, 'CSR and public key together');
  assert.equal((await enrol({ token: created.token, csr: good.csr })).statusCode, 201, 'the token was not used up');
});

test('two concurrent redemptions of one token: exactly one certificate', async () => {
  const created = await newToken('gw-race');
  const results = await Promise.all([1, 2, 3].map(async () => enrol({ token: created.token, csr: (await gatewayKey()).csr })));
  assert.deepEqual(results.map((r) => r.statusCode).sort(), [201, 401, 401]);
});

test('revocation and re-enrolment: a revoked or replaced certificate no longer authenticates', async () => {
  const first = await enrolGateway(t, 'plant-a', 'gw-2');
  assert.equal((await readSelf(first.certificate, 'gw-2')).statusCode, 200);
  const second = await enrolGateway(t, 'plant-a', 'gw-2');
  const replaced = await readSelf(first.certificate, 'gw-2');
  assert.equal(replaced.statusCode, 401);
  assert.equal(replaced.json().code, CLOUD_ERR.CERTIFICATE_INVALID);
  assert.equal((await readSelf(second.certificate, 'gw-2')).statusCode, 200);

  const revoked = await t.app.inject({ method: 'DELETE', url: '/v1/tenants/plant-a/gateways/gw-2', headers: admin });
  assert.equal(revoked.statusCode, 200);
  assert.equal(revoked.json().status, 'revoked');
  assert.ok(revoked.json().revokedAt);
  assert.equal((await readSelf(second.certificate, 'gw-2')).json().code, CLOUD_ERR.CERTIFICATE_INVALID);
  const roles = (await t.app.inject({ method: 'GET', url: '/v1/tenants/plant-a/roles?limit=500', headers: admin })).json();
  assert.ok(!roles.items.some((r: { subject: string }) => r.subject === 'gw.plant-a.gw-2'), 'the edge_gateway role is withdrawn');
  assert.equal((await t.app.inject({ method: 'DELETE', url: '/v1/tenants/plant-a/gateways/gw-2', headers: admin })).statusCode, 200, 'revoking twice is harmless');
  assert.equal((await t.app.inject({ method: 'DELETE', url: '/v1/tenants/plant-a/gateways/gw-404', headers: admin })).statusCode, 404);

  const third = await enrolGateway(t, 'plant-a', 'gw-2');
  assert.equal((await readSelf(third.certificate, 'gw-2')).statusCode, 200, 're-enrolment after revocation restores the gateway');
});

test('a client certificate that does not chain to the CA, or is not a gateway certificate, is 401', async () => {
  const gw = await enrolGateway(t, 'plant-a', 'gw-3');
  const notChained = await t.app.inject({ method: 'GET', url: '/v1/tenants/plant-a/gateways/gw-3', headers: withCertificate(gw.certificate, false) });
  assert.equal(notChained.json().code, CLOUD_ERR.CERTIFICATE_INVALID);
  const caAsClient = await t.app.inject({ method: 'GET', url: '/v1/tenants/plant-a/gateways/gw-3', headers: withCertificate(t.ca.certificatePem) });
  assert.equal(caAsClient.statusCode, 401);
  assert.equal(caAsClient.json().code, CLOUD_ERR.CERTIFICATE_INVALID);
});

test("an admin of plant-b cannot enrol into, list or revoke plant-a's gateways", async () => {
  const b = await t.bearer('admin-plant-b');
  assert.equal((await t.app.inject({ method: 'POST', url: '/v1/tenants/plant-a/enrolments', headers: b, payload: { gateway: 'gw-evil' } })).statusCode, 403);
  assert.equal((await t.app.inject({ method: 'GET', url: '/v1/tenants/plant-a/gateways', headers: b })).statusCode, 403);
  assert.equal((await t.app.inject({ method: 'DELETE', url: '/v1/tenants/plant-a/gateways/gw-1', headers: b })).statusCode, 403);
  const list = (await t.app.inject({ method: 'GET', url: '/v1/tenants/plant-b/gateways', headers: b })).json();
  assert.deepEqual(list.items, [], "plant-b sees none of plant-a's gateways");
});

test('gateway and role lists page with opaque cursors', async () => {
  for (const g of ['gw-p1', 'gw-p2', 'gw-p3', 'gw-p4', 'gw-p5']) await enrolGateway(t, 'plant-a', g);
  const seen: string[] = [];
  let after: string | undefined;
  let pages = 0;
  do {
    const res = await t.app.inject({ method: 'GET', url: `/v1/tenants/plant-a/gateways?limit=2${after ? `&after=${after}` : ''}`, headers: admin });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.ok(body.items.length <= 2);
    seen.push(...body.items.map((g: { gateway: string }) => g.gateway));
    after = body.next;
    pages++;
  } while (after);
  assert.deepEqual(seen, [...seen].sort());
  assert.equal(new Set(seen).size, seen.length, 'no gateway twice');
  for (const g of ['gw-1', 'gw-2', 'gw-p1', 'gw-p5']) assert.ok(seen.includes(g), g);
  assert.ok(pages >= 4);

  const roles: string[] = [];
  after = undefined;
  do {
    const body: { items: { subject: string; role: string }[]; next?: string } = (await t.app.inject({ method: 'GET', url: `/v1/tenants/plant-a/roles?limit=3${after ? `&after=${after}` : ''}`, headers: admin })).json();
    roles.push(...body.items.map((r: { subject: string; role: string }) => `${r.subject}/${r.role}`));
    after = body.next;
  } while (after);
  assert.equal(new Set(roles).size, roles.length);
  assert.ok(roles.includes('admin-plant-a/plant_admin') && roles.includes('gw.plant-a.gw-p3/edge_gateway'));
});

test('granting and withdrawing roles through the API', async () => {
  const put = await t.app.inject({ method: 'PUT', url: '/v1/tenants/plant-a/roles/auditor/fred', headers: admin });
  assert.equal(put.statusCode, 201);
  assert.equal(put.json().grantedBy, 'admin-plant-a');
  assert.equal((await t.app.inject({ method: 'PUT', url: '/v1/tenants/plant-a/roles/auditor/fred', headers: admin })).statusCode, 200, 'idempotent');
  assert.equal((await t.app.inject({ method: 'GET', url: '/v1/tenants/plant-a/gateways', headers: await t.bearer('fred') })).statusCode, 200);
  assert.equal((await t.app.inject({ method: 'DELETE', url: '/v1/tenants/plant-a/roles/auditor/fred', headers: admin })).statusCode, 204);
  assert.equal((await t.app.inject({ method: 'DELETE', url: '/v1/tenants/plant-a/roles/auditor/fred', headers: admin })).statusCode, 404);
});
