/**
 * Shared fixtures of the cloud tests: an app on in-process PGlite (or a given
 * database) with a local CA, the local token issuer, a recording audit log and
 * a movable clock; tokens for people; CSRs for gateways; and, for `inject()`
 * (which has no TLS), a hook that presents a client certificate the way a TLS
 * socket would — the real TLS path is covered by server.test.ts.
 */
import { webcrypto } from 'node:crypto';
import { x509 } from '../../src/cloud/x509.ts';
import { buildApp, type BuildAppOptions, type CloudApp } from '../../src/cloud/app.ts';
import { createCa, type LocalCa } from '../../src/cloud/pki.ts';
import { grantRole } from '../../src/cloud/roles.ts';
import { createIssuerKey, issueLocalToken, type LocalIssuerConfig } from '../../src/cloud/tokens.ts';
import type { Role } from '../../src/trust/access/policy.ts';
import type { LogEvent } from '../../src/trust/events.ts';
import { openSql, type SqlClient } from '../../src/trust/storage/sql.ts';

export const ISSUER = 'https://hedge.test';
export const AUDIENCE = 'hedge';

/** A test app and its handles. */
export interface TestApp {
  app: CloudApp;
  db: SqlClient;
  ca: LocalCa;
  people: LocalIssuerConfig;
  audit: LogEvent[];
  clock: { now: Date };
  /** A bearer header for `subject`. */
  bearer(subject: string): Promise<{ authorization: string }>;
  /** Grants `role` in `tenant` to `subject`. */
  grant(subject: string, role: Role, tenant: string): Promise<void>;
  close(): Promise<void>;
}

/** Builds an app for tests; `db` defaults to a fresh in-memory PGlite. */
export async function makeApp(options: Partial<BuildAppOptions> & { db?: SqlClient } = {}): Promise<TestApp> {
  const db = options.db ?? (await openSql({ databaseUrl: null }));
  const ca = await createCa({ name: 'hedge test CA' });
  const people: LocalIssuerConfig = { kind: 'local', issuer: ISSUER, audience: AUDIENCE, key: await createIssuerKey() };
  const audit: LogEvent[] = [];
  const clock = { now: new Date() };
  const app = await buildApp({
    people,
    audit: { append: async (events) => void audit.push(...events) },
    now: () => clock.now,
    logger: false,
    ...options,
    db,
    ca,
  });
  return {
    app,
    db,
    ca,
    people,
    audit,
    clock,
    bearer: async (subject) => ({ authorization: `Bearer ${(await issueLocalToken(people, subject, clock.now)).token}` }),
    grant: async (subject, role, tenant) => void (await grantRole(db, { subject, role, tenant, grantedBy: 'test' })),
    close: async () => {
      await app.close();
      await db.close();
    },
  };
}

/** A P-256 key pair and a PEM CSR for it (subject as given; the cloud ignores it). */
export async function gatewayKey(subject = 'CN=whatever'): Promise<{ keys: webcrypto.CryptoKeyPair; csr: string; publicKey: string; privateKeyPem: string }> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: subject, keys: keys as unknown as Parameters<typeof x509.Pkcs10CertificateRequestGenerator.create>[0]["keys"], signingAlgorithm: alg });
  const spki = await webcrypto.subtle.exportKey('spki', keys.publicKey);
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return {
    keys,
    csr: csr.toString('pem'),
    publicKey: x509.PemConverter.encode(spki, 'PUBLIC KEY'),
    privateKeyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'),
  };
}

/**
 * Lets `inject()` requests carry a client certificate: the header
 * `x-test-peer-certificate` (PEM, base64url) becomes the socket's peer
 * certificate, `x-test-peer-authorized: 0` marks it not chained (as TLS does
 * for an unknown CA). Only this test helper adds it; the app has no such seam.
 */
export function presentCertificatesFromHeader(app: CloudApp): void {
  app.addHook('onRequest', async (request) => {
    const header = request.headers['x-test-peer-certificate'];
    if (typeof header !== 'string') return;
    const pem = Buffer.from(header, 'base64url').toString('utf8');
    const raw = Buffer.from(x509.PemConverter.decodeFirst(pem));
    const socket = request.raw.socket as unknown as Record<string, unknown>;
    socket.getPeerCertificate = () => ({ raw });
    socket.authorized = request.headers['x-test-peer-authorized'] !== '0';
  });
}

/** The headers that present `certificatePem` through {@link presentCertificatesFromHeader}. */
export function withCertificate(certificatePem: string, authorized = true): Record<string, string> {
  return { 'x-test-peer-certificate': Buffer.from(certificatePem).toString('base64url'), ...(authorized ? {} : { 'x-test-peer-authorized': '0' }) };
}

/** Enrols `gateway` of `tenant` through the API (admin `admin` must hold plant_admin there) and returns its certificate. */
export async function enrolGateway(t: TestApp, tenant: string, gateway: string, admin = `admin-${tenant}`): Promise<{ certificate: string; caCertificate: string; privateKeyPem: string; serial: string }> {
  const created = await t.app.inject({ method: 'POST', url: `/v1/tenants/${tenant}/enrolments`, headers: await t.bearer(admin), payload: { gateway } });
  if (created.statusCode !== 201) throw new Error(`enrolment token: ${created.statusCode} ${created.body}`);
  const key = await gatewayKey();
  const enrolled = await t.app.inject({ method: 'POST', url: '/v1/enrol', payload: { token: created.json().token, csr: key.csr } });
  if (enrolled.statusCode !== 201) throw new Error(`enrol: ${enrolled.statusCode} ${enrolled.body}`);
  const body = enrolled.json();
  return { certificate: body.certificate, caCertificate: body.caCertificate, privateKeyPem: key.privateKeyPem, serial: body.serial };
}
