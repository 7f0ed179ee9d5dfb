/**
 * The local CA: PEM round trip, key/certificate match, server certificate
 * names, gateway certificate checks (issuer, signature, validity, usage,
 * identity) against node's own X.509 parser as an independent reader.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { CLOUD_ERR, CloudError } from '../../src/cloud/errors.ts';
import { createCa, exportCa, gatewayPublicKey, gatewayUri, importCa, issueGatewayCertificate, issueServerCertificate, verifyGatewayCertificate } from '../../src/cloud/pki.ts';
import { gatewayKey } from './_fixtures.ts';

const isCode = (code: string) => (e: unknown) => e instanceof CloudError && e.code === code;

test('a CA survives export and import; a foreign key or a non-CA certificate is refused', async () => {
  const ca = await createCa({ name: 'plant test CA' });
  const pem = await exportCa(ca);
  const again = await importCa(pem);
  assert.equal(again.fingerprint, ca.fingerprint);
  const node = new X509Certificate(pem.certificatePem);
  assert.equal(node.ca, true);
  assert.equal(node.subject, 'CN=plant test CA');
  assert.equal(node.fingerprint256.replaceAll(':', '').toLowerCase(), ca.fingerprint);
  const other = await exportCa(await createCa());
  await assert.rejects(importCa({ certificatePem: pem.certificatePem, privateKeyPem: other.privateKeyPem }), isCode(CLOUD_ERR.PKI));
  await assert.rejects(importCa({ certificatePem: 'junk', privateKeyPem: pem.privateKeyPem }), isCode(CLOUD_ERR.PKI));
  await assert.rejects(importCa({ certificatePem: pem.certificatePem, privateKeyPem: 'junk' }), isCode(CLOUD_ERR.PKI));
  const server = await issueServerCertificate(ca);
  await assert.rejects(importCa({ certificatePem: server.certificatePem, privateKeyPem: server.privateKeyPem }), isCode(CLOUD_ERR.PKI));
  await assert.rejects(createCa({ validityDays: 0 }), RangeError);
  await assert.rejects(createCa({ name: 'a,b' }), TypeError);
});

test('the server certificate names localhost, loopback and the configured names, for server auth', async () => {
  const ca = await createCa();
  const { certificatePem } = await issueServerCertificate(ca, { names: ['cloud.example.com', '10.0.0.7'] });
  const cert = new X509Certificate(certificatePem);
  assert.ok(cert.verify(new X509Certificate(ca.certificatePem).publicKey));
  assert.equal(cert.ca, false);
  for (const name of ['localhost', 'cloud.example.com']) assert.equal(cert.checkHost(name), name);
  for (const ip of ['127.0.0.1', '10.0.0.7']) assert.equal(cert.checkIP(ip), ip);
  assert.equal(cert.checkHost('evil.example.com'), undefined);
  assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  await assert.rejects(issueServerCertificate(ca, { names: ['bad name!'] }), TypeError);
});

test('a gateway certificate carries its identity and verifies only under its CA, in its validity', async () => {
  const ca = await createCa();
  const { csr } = await gatewayKey();
  const now = new Date('2030-06-01T00:00:00Z');
  const issued = await issueGatewayCertificate(ca, { tenant: 'plant-a', gateway: 'gw-1', publicKey: await gatewayPublicKey({ csr }), validityDays: 30, now });
  const node = new X509Certificate(issued.certificatePem);
  assert.equal(node.subjectAltName, `URI:${gatewayUri('plant-a', 'gw-1')}`);
  assert.deepEqual(node.keyUsage, ['1.3.6.1.5.5.7.3.2']);
  assert.equal(node.serialNumber.toLowerCase(), issued.serial);
  assert.deepEqual(await verifyGatewayCertificate(ca, issued.certificatePem, now), { tenant: 'plant-a', gateway: 'gw-1', serial: issued.serial });
  assert.deepEqual(await verifyGatewayCertificate(ca, new Uint8Array(node.raw), now), { tenant: 'plant-a', gateway: 'gw-1', serial: issued.serial }, 'DER too');

  const invalid = isCode(CLOUD_ERR.CERTIFICATE_INVALID);
  await assert.rejects(verifyGatewayCertificate(ca, issued.certificatePem, new Date('2030-08-01T00:00:00Z')), invalid, 'expired');
  await assert.rejects(verifyGatewayCertificate(ca, issued.certificatePem, new Date('2030-05-01T00:00:00Z')), invalid, 'not yet valid');
  await assert.rejects(verifyGatewayCertificate(await createCa(), issued.certificatePem, now), invalid, 'another CA');
  const sameName = await createCa({ name: 'hedge cloud CA' });
  await assert.rejects(verifyGatewayCertificate(sameName, issued.certificatePem, now), invalid, 'another CA with the same name');
  const server = await issueServerCertificate(ca);
  await assert.rejects(verifyGatewayCertificate(ca, server.certificatePem), invalid, 'server certificate as client');
  await assert.rejects(verifyGatewayCertificate(ca, ca.certificatePem), invalid, 'the CA itself');
  await assert.rejects(verifyGatewayCertificate(ca, new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01])), invalid, 'garbage DER');
  assert.throws(() => gatewayUri('Plant A', 'gw-1'), TypeError);
  await assert.rejects(issueGatewayCertificate(ca, { tenant: 'plant-a', gateway: 'gw:1', publicKey: await gatewayPublicKey({ csr }) }), TypeError);
});
