/**
 * Verified delivery over HTTPS from a repository whose server certificate comes from a private CA
 * (the cloud's): with `tls.ca` the gateway gets and verifies the model, and a second check finds
 * nothing newer (tuf-js walks root versions until a 404, which must reach it as its own error);
 * without the CA (the global fetch's public roots) or with another CA the TLS handshake fails and
 * delivery refuses with its typed error; a client certificate is presented when given; a bad `tls`
 * option is a TypeError.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import os from 'node:os';
import path from 'node:path';
import { createCa, issueServerCertificate } from '../../src/cloud/pki.ts';
import { generateTufKey, TufRepository } from '../../src/trust/tuf/repository.ts';
import { ModelDelivery } from '../../src/runtime/delivery.ts';
import { RuntimeError, RuntimeTypeError } from '../../src/runtime/errors.ts';
import { fitRidge, lineageDigest } from '../../src/models/index.ts';
import { jsonBytes, metaFor, regMoments, regressionSchema } from './fixtures.ts';

const isDelivery = (e: unknown): boolean => e instanceof RuntimeError && e.code === 'RUNTIME_ERR_DELIVERY';

test('delivery over HTTPS with a private CA: verified with the CA, refused without it', async () => {
  const base = mkdtempSync(path.join(os.tmpdir(), 'hedge-delivery-https-'));
  const repoDir = path.join(base, 'repo');
  const repo = await TufRepository.create({ dir: repoDir, keys: { root: generateTufKey(), targets: generateTufKey(), snapshot: generateTufKey(), timestamp: generateTufKey() } });
  await repo.addFleet('plant-a', [generateTufKey()]);
  const meta = metaFor('torque', 1);
  const bytes = jsonBytes(fitRidge(regressionSchema, regMoments), meta);
  await repo.publishModel('plant-a', { modelId: 'torque', version: 1, lineageDigest: lineageDigest(meta.lineage).replace(/^sha256:/, ''), bytes });

  const ca = await createCa({ name: 'hedge test cloud' });
  const other = await createCa({ name: 'someone else' });
  const serverCert = await issueServerCertificate(ca, { names: ['localhost', '127.0.0.1'] });
  const clientCert = await issueServerCertificate(ca, { names: ['gateway.test'] });
  const clients: (string | undefined)[] = [];
  const server: Server = createServer({ cert: serverCert.certificatePem, key: serverCert.privateKeyPem, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const peer = (req.socket as TLSSocket).getPeerCertificate();
    clients.push(peer?.subjectaltname);
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'https://x').pathname).replace(/^\/tuf\//, '');
    readFile(path.join(repoDir, path.normalize(rel))).then((b) => res.writeHead(200, { 'content-length': b.length }).end(b), () => res.writeHead(404).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/tuf`;
  const open = (name: string, tls?: { ca: string; cert?: string; key?: string }) =>
    ModelDelivery.open({ fleet: 'plant-a', trustedRoot: repo.trustedRoot(), stateDir: path.join(base, name), source: { kind: 'http', url, ...(tls === undefined ? {} : { tls }) } });
  try {
    const gw = await open('gw', { ca: ca.certificatePem, cert: clientCert.certificatePem, key: clientCert.privateKeyPem });
    const got = await gw.newerThan('torque', 0);
    assert.ok(got);
    assert.equal(got.version, 1);
    assert.deepEqual(got.bytes, bytes);
    assert.equal(await gw.newerThan('torque', 1), null, 'nothing newer; the root walk ended at a 404');
    assert.ok(clients.length > 0 && clients.every((c) => c?.includes('gateway.test')), `the client certificate was presented: ${JSON.stringify(clients)}`);

    await assert.rejects((await open('no-ca')).newerThan('torque', 0), isDelivery, 'the public roots do not trust the private CA');
    await assert.rejects((await open('other-ca', { ca: other.certificatePem })).newerThan('torque', 0), isDelivery, 'another CA is not the cloud\'s');
    await assert.rejects(open('bad', { ca: 42 as unknown as string }), RuntimeTypeError);
    await assert.rejects(ModelDelivery.open({ fleet: 'plant-a', trustedRoot: repo.trustedRoot(), stateDir: path.join(base, 'http'), source: { kind: 'http', url: url.replace('https:', 'http:'), tls: { ca: ca.certificatePem } } }), RuntimeTypeError);
  } finally {
    await new Promise((r) => server.close(r));
    rmSync(base, { recursive: true, force: true });
  }
});
