/**
 * People's authentication: the local issuer (token endpoint, password
 * checks, token verification: expiry, audience, issuer, signature, algorithm)
 * and an OIDC issuer served from a local JWKS endpoint.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose';
import { CLOUD_ERR, CloudError } from '../../src/cloud/errors.ts';
import { createIssuerKey, createTokenVerifier, exportIssuerKey, importIssuerKey, issueLocalToken } from '../../src/cloud/tokens.ts';
import { setLocalUser, verifyLocalUser } from '../../src/cloud/users.ts';
import { AUDIENCE, ISSUER, makeApp, type TestApp } from './_fixtures.ts';

let t: TestApp;
before(async () => {
  t = await makeApp();
  await setLocalUser(t.db, { username: 'alice', password: 'correct horse battery' });
  await t.grant('alice', 'plant_admin', 'plant-a');
});
after(() => t.close());

const rolesUrl = '/v1/tenants/plant-a/roles';

test('a local user trades name and password for a token that works on the API', async () => {
  const res = await t.app.inject({ method: 'POST', url: '/v1/auth/token', payload: { username: 'alice', password: 'correct horse battery' } });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json();
  assert.equal(body.tokenType, 'Bearer');
  assert.ok(Date.parse(body.expiresAt) > Date.now());
  const api = await t.app.inject({ method: 'GET', url: rolesUrl, headers: { authorization: `Bearer ${body.accessToken}` } });
  assert.equal(api.statusCode, 200, api.body);
  assert.ok(api.json().items.some((r: { subject: string }) => r.subject === 'alice'));
});

test('wrong password, unknown user: the same 401 BAD_CREDENTIALS', async () => {
  for (const payload of [{ username: 'alice', password: 'wrong horse battery' }, { username: 'bob', password: 'correct horse battery' }]) {
    const res = await t.app.inject({ method: 'POST', url: '/v1/auth/token', payload });
    assert.equal(res.statusCode, 401);
    assert.deepEqual(res.json(), { code: CLOUD_ERR.BAD_CREDENTIALS, message: 'cannot issue token: wrong user name or password' });
  }
  await assert.rejects(verifyLocalUser(t.db, 'alice', ''), (e: unknown) => (e as CloudError).code === CLOUD_ERR.BAD_CREDENTIALS);
});

test('setLocalUser checks its arguments and replaces a password', async () => {
  await assert.rejects(setLocalUser(t.db, { username: 'Bad Name', password: 'correct horse battery' }), TypeError);
  await assert.rejects(setLocalUser(t.db, { username: 'gw.plant-a.x', password: 'correct horse battery' }), TypeError);
  await assert.rejects(setLocalUser(t.db, { username: 'carol', password: 'short' }), RangeError);
  await setLocalUser(t.db, { username: 'carol', password: 'first password 1' });
  await setLocalUser(t.db, { username: 'carol', password: 'second password 2' });
  await verifyLocalUser(t.db, 'carol', 'second password 2');
  await assert.rejects(verifyLocalUser(t.db, 'carol', 'first password 1'), CloudError);
});

test('local tokens: expired, not yet valid, wrong audience, issuer, key or algorithm are 401 TOKEN_INVALID', async () => {
  const other = await createIssuerKey();
  const now = t.clock.now;
  const sign = (claims: { iss?: string; aud?: string; sub?: string; exp?: number; nbf?: number }, key = t.people.key.privateKey) => {
    const jwt = new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).setIssuedAt();
    if (claims.iss !== undefined) jwt.setIssuer(claims.iss);
    if (claims.aud !== undefined) jwt.setAudience(claims.aud);
    if (claims.sub !== undefined) jwt.setSubject(claims.sub);
    if (claims.exp !== undefined) jwt.setExpirationTime(claims.exp);
    if (claims.nbf !== undefined) jwt.setNotBefore(claims.nbf);
    return jwt.sign(key);
  };
  const s = Math.floor(now.getTime() / 1000);
  const good = { iss: ISSUER, aud: AUDIENCE, sub: 'alice', exp: s + 600 };
  assert.equal((await t.app.inject({ method: 'GET', url: rolesUrl, headers: { authorization: `Bearer ${await sign(good)}` } })).statusCode, 200);
  const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(good)).toString('base64url')}.sig`;
  const bad: [string, string][] = [
    ['expired', await sign({ ...good, exp: s - 120 })],
    ['not yet valid', await sign({ ...good, nbf: s + 600 })],
    ['no expiry', await sign({ iss: ISSUER, aud: AUDIENCE, sub: 'alice' })],
    ['audience', await sign({ ...good, aud: 'other' })],
    ['issuer', await sign({ ...good, iss: 'https://evil.test' })],
    ['other key', await sign(good, other.privateKey)],
    ['alg none', none],
    ['no subject', await sign({ iss: ISSUER, aud: AUDIENCE, exp: s + 600 })],
    ['gateway-shaped subject', await sign({ ...good, sub: 'gw.plant-a.gw-1' })],
    ['subject with spaces', await sign({ ...good, sub: 'alice smith' })],
  ];
  for (const [name, token] of bad) {
    const res = await t.app.inject({ method: 'GET', url: rolesUrl, headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.statusCode, 401, `${name}: ${res.body}`);
    assert.equal(res.json().code, CLOUD_ERR.TOKEN_INVALID, name);
  }
  // The app's clock decides expiry: move it past the token's lifetime.
  const token = (await issueLocalToken(t.people, 'alice', now)).token;
  t.clock.now = new Date(now.getTime() + 2 * 3600_000);
  try {
    const res = await t.app.inject({ method: 'GET', url: rolesUrl, headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.statusCode, 401);
    assert.match(res.json().message, /expired/);
  } finally {
    t.clock.now = now;
  }
});

test('the issuer key survives export and import', async () => {
  const key = await createIssuerKey();
  const jwk = await exportIssuerKey(key);
  const again = await importIssuerKey(jwk);
  const config = { kind: 'local' as const, issuer: ISSUER, audience: AUDIENCE, key: again };
  const verify = createTokenVerifier({ ...config, key });
  assert.equal(await verify((await issueLocalToken(config, 'zoe')).token), 'zoe');
  for (const bad of [{}, { kty: 'EC', crv: 'P-384', d: 'x' }, { kty: 'EC', crv: 'P-256' }, { ...jwk, d: 'AAAA' }]) {
    await assert.rejects(importIssuerKey(bad as JWK), (e: unknown) => (e as CloudError).code === CLOUD_ERR.PKI, JSON.stringify(bad));
  }
});

test('OIDC: tokens verified against the issuer JWKS, audience and issuer; subject from the configured claim', async () => {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  let fetched = 0;
  const server: Server = createServer((req, res) => {
    fetched++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const oidc = await makeApp({ people: { kind: 'oidc', issuer, audience: 'hedge-api', jwksUrl: `${issuer}/jwks`, subjectClaim: 'email' } });
  try {
    await oidc.grant('pat@plant-a.example', 'auditor', 'plant-a');
    const sign = (claims: Record<string, unknown>, aud = 'hedge-api', iss = issuer) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(iss).setAudience(aud).setSubject('auth0|123').setIssuedAt().setExpirationTime('5m').sign(privateKey);
    const call = async (token: string) => oidc.app.inject({ method: 'GET', url: '/v1/tenants/plant-a/gateways', headers: { authorization: `Bearer ${token}` } });
    assert.equal((await call(await sign({ email: 'pat@plant-a.example' }))).statusCode, 200);
    assert.ok(fetched >= 1, 'the JWKS was fetched');
    assert.equal((await call(await sign({ email: 'pat@plant-a.example' }, 'other'))).statusCode, 401);
    assert.equal((await call(await sign({ email: 'pat@plant-a.example' }, 'hedge-api', 'https://evil.test'))).statusCode, 401);
    assert.equal((await call(await sign({}))).json().code, CLOUD_ERR.TOKEN_INVALID, 'no email claim');
    assert.equal((await call(await sign({ email: 'sam@plant-a.example' }))).statusCode, 403, 'verified but holds no role');
    const local = (await issueLocalToken(t.people, 'pat@plant-a.example')).token;
    assert.equal((await call(local)).statusCode, 401, 'a local-issuer token means nothing under OIDC');
    const token = await oidc.app.inject({ method: 'POST', url: '/v1/auth/token', payload: { username: 'alice', password: 'correct horse battery' } });
    assert.equal(token.statusCode, 404, 'no local token endpoint under OIDC');
  } finally {
    await oidc.close();
    server.close();
  }
});

test('createTokenVerifier refuses malformed configurations', () => {
  for (const config of [
    { kind: 'local', issuer: ISSUER, audience: AUDIENCE },
    { kind: 'local', issuer: ISSUER, audience: AUDIENCE, key: t.people.key, tokenTtlSeconds: 5 },
    { kind: 'oidc', issuer: ISSUER, audience: AUDIENCE, jwksUrl: 'ftp://x/jwks' },
    { kind: 'oidc', issuer: ISSUER, audience: '', jwksUrl: 'https://x/jwks' },
    { kind: 'oidc', issuer: ISSUER, audience: AUDIENCE, jwksUrl: 'https://x/jwks', algorithms: ['none'] },
  ]) {
    assert.throws(() => createTokenVerifier(config as Parameters<typeof createTokenVerifier>[0]), (e: unknown) => (e as CloudError).code === CLOUD_ERR.CONFIG, JSON.stringify(config, (k, v) => (k === 'key' ? '…' : v)));
  }
});
