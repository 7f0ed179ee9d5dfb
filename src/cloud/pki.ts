/**
 * The cloud's local certificate authority (ECDSA P-256, SHA-256): it signs the
 * cloud's own HTTPS server certificate and, at enrolment, one client
 * certificate per gateway. A gateway certificate names its tenant and gateway
 * in a URI subject alternative name, `urn:hedge:gateway:<tenant>:<gateway>`
 * (and, for people reading it, `CN=<gateway>, O=<tenant>`); that URI is the
 * gateway's identity to the API.
 *
 * Keys are WebCrypto keys from `node:crypto`; certificates and keys go in and
 * out as PEM (certificates `CERTIFICATE`, private keys PKCS#8 `PRIVATE KEY`).
 * @module
 */
import { createHash, randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import { x509 } from './x509.ts';
import { CLOUD_ERR, CloudError } from './errors.ts';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type EcKeyAlgorithm = webcrypto.EcKeyAlgorithm;

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
const GATEWAY_URI = /^urn:hedge:gateway:([a-z0-9][a-z0-9-]{0,47}):([a-z0-9][a-z0-9-]{0,47})$/;
const NAME_PART = /^[a-z0-9][a-z0-9-]{0,47}$/;

/** A loaded CA: its certificate and signing key. */
export interface LocalCa {
  /** The self-signed CA certificate. */
  readonly certificate: x509.X509Certificate;
  /** The CA's private signing key (non-extractable once imported). */
  readonly privateKey: CryptoKey;
  /** The CA certificate, PEM. */
  readonly certificatePem: string;
  /** Lower-case hex SHA-256 of the CA certificate's DER: what a gateway pins before it enrols. */
  readonly fingerprint: string;
}

/** A certificate with its freshly made private key, both PEM. */
export interface IssuedKeyPair {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
}

/** A gateway certificate issued at enrolment. */
export interface IssuedGatewayCertificate {
  readonly certificatePem: string;
  /** Lower-case hex serial number. */
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** Who a verified gateway certificate says its holder is. */
export interface GatewayIdentity {
  readonly tenant: string;
  readonly gateway: string;
  /** Lower-case hex serial number, to check against revocations. */
  readonly serial: string;
}

function pkiError(op: string, reason: string, cause?: unknown): CloudError {
  return new CloudError(CLOUD_ERR.PKI, `cannot ${op}: ${reason}`, { cause });
}

function checkDays(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 36500) {
    throw new RangeError(`${name} must be an integer number of days in [1, 36500], got ${String(value)}`);
  }
  return value;
}

function checkNow(value: unknown): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw new TypeError('now must be a valid Date');
  return value;
}

/** A positive 128-bit serial, lower-case hex, no leading zero byte. */
function newSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return bytes.toString('hex');
}

/** Certificates are back-dated a minute so that slightly slow clocks accept them. */
function validity(now: Date, days: number): { notBefore: Date; notAfter: Date } {
  const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000 - 60_000);
  return { notBefore, notAfter: new Date(notBefore.getTime() + days * DAY_MS) };
}

function fingerprintOf(cert: x509.X509Certificate): string {
  return createHash('sha256').update(new Uint8Array(cert.rawData)).digest('hex');
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/**
 * Creates a new CA: a P-256 key and a self-signed certificate (basic
 * constraints CA, path length 0, key usage certificate and CRL signing).
 *
 * @param options - `name` (the CA's common name), `validityDays` (default 3650), `now` (default the clock)
 * @throws {RangeError} `validityDays` out of range
 * @throws {TypeError} `name` is not a non-empty string or `now` not a Date
 * @example
 * ```ts
 * const ca = await createCa({ name: 'hedge cloud CA' });
 * const { certificatePem, privateKeyPem } = await exportCa(ca);
 * ```
 */
export async function createCa(options: { name?: string; validityDays?: number; now?: Date } = {}): Promise<LocalCa> {
  const name = options.name ?? 'hedge cloud CA';
  if (typeof name !== 'string' || name.length === 0 || name.length > 64 || /[,=+<>#;"\\]/.test(name)) {
    throw new TypeError('name must be 1-64 characters without ,=+<>#;"\\');
  }
  const days = checkDays(options.validityDays ?? 3650, 'validityDays');
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: newSerial(),
    name: `CN=${name}`,
    ...validity(checkNow(options.now ?? new Date()), days),
    keys,
    signingAlgorithm: SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certificate, privateKey: keys.privateKey, certificatePem: certificate.toString('pem'), fingerprint: fingerprintOf(certificate) };
}

/**
 * The CA as PEM, to keep on disk (the private key file must be readable by
 * the cloud only).
 *
 * @throws {CloudError} `CLOUD_ERR_PKI` when the key was imported non-extractable
 * @example
 * ```ts
 * await writeFile('ca.key.pem', (await exportCa(ca)).privateKeyPem, { mode: 0o600 });
 * ```
 */
export async function exportCa(ca: LocalCa): Promise<IssuedKeyPair> {
  try {
    return { certificatePem: ca.certificatePem, privateKeyPem: await privateKeyPem(ca.privateKey) };
  } catch (e) {
    throw pkiError('export CA', 'the private key is not extractable', e);
  }
}

/**
 * Loads a CA from PEM and checks that the key belongs to the certificate and
 * that the certificate is a P-256 CA.
 *
 * @throws {CloudError} `CLOUD_ERR_PKI` when either PEM is malformed, the certificate is no CA, or the key does not match
 * @example
 * ```ts
 * const ca = await importCa({ certificatePem: await readFile('ca.pem', 'utf8'), privateKeyPem: await readFile('ca.key.pem', 'utf8') });
 * ```
 */
export async function importCa(pem: { certificatePem: string; privateKeyPem: string }): Promise<LocalCa> {
  let certificate: x509.X509Certificate;
  let privateKey: CryptoKey;
  try {
    certificate = new x509.X509Certificate(pem.certificatePem);
  } catch (e) {
    throw pkiError('import CA', 'the certificate PEM is malformed', e);
  }
  const bc = certificate.getExtension(x509.BasicConstraintsExtension);
  if (!bc?.ca) throw pkiError('import CA', 'the certificate is not a CA certificate');
  const alg = certificate.publicKey.algorithm as EcKeyAlgorithm;
  if (alg.name !== 'ECDSA' || alg.namedCurve !== 'P-256') throw pkiError('import CA', 'the CA key is not ECDSA P-256');
  try {
    const der = x509.PemConverter.decodeFirst(pem.privateKeyPem);
    privateKey = await webcrypto.subtle.importKey('pkcs8', der, EC, true, ['sign']);
  } catch (e) {
    throw pkiError('import CA', 'the private key PEM is not a PKCS#8 ECDSA P-256 key', e);
  }
  // The key matches when a signature made with it verifies under the certificate's public key.
  const probe = randomBytes(32);
  const signature = await webcrypto.subtle.sign(SIGN, privateKey, probe);
  const publicKey = await certificate.publicKey.export();
  if (!(await webcrypto.subtle.verify(SIGN, publicKey, signature, probe))) throw pkiError('import CA', 'the private key does not belong to the certificate');
  return { certificate, privateKey, certificatePem: certificate.toString('pem'), fingerprint: fingerprintOf(certificate) };
}

async function issue(ca: LocalCa, params: { subject: string; publicKey: CryptoKey; days: number; now: Date; extensions: x509.Extension[] }): Promise<x509.X509Certificate> {
  return x509.X509CertificateGenerator.create({
    serialNumber: newSerial(),
    subject: params.subject,
    issuer: ca.certificate.subject,
    ...validity(params.now, params.days),
    publicKey: params.publicKey,
    signingKey: ca.privateKey,
    signingAlgorithm: SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      await x509.AuthorityKeyIdentifierExtension.create(ca.certificate.publicKey),
      await x509.SubjectKeyIdentifierExtension.create(params.publicKey),
      ...params.extensions,
    ],
  });
}

/**
 * Issues the cloud's HTTPS server certificate with a new P-256 key. Its
 * subject alternative names are `localhost`, `127.0.0.1`, `::1` and `names`
 * (IP literals as IP addresses, the rest as DNS names).
 *
 * @param options - `names` (extra host names or IPs), `validityDays` (default 90), `now`
 * @throws {TypeError} a name that is neither an IP nor a DNS name
 * @throws {RangeError} `validityDays` out of range
 * @example
 * ```ts
 * const { certificatePem, privateKeyPem } = await issueServerCertificate(ca, { names: ['cloud.example.com'] });
 * ```
 */
export async function issueServerCertificate(ca: LocalCa, options: { names?: readonly string[]; validityDays?: number; now?: Date } = {}): Promise<IssuedKeyPair> {
  const names = ['localhost', '127.0.0.1', '::1', ...(options.names ?? [])];
  const san = names.map((n) => {
    if (typeof n !== 'string') throw new TypeError('names must be strings');
    if (isIP(n)) return { type: 'ip' as const, value: n };
    if (!/^(?=.{1,253}$)([A-Za-z0-9*]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(n)) {
      throw new TypeError(`names: ${JSON.stringify(n)} is neither an IP address nor a DNS name`);
    }
    return { type: 'dns' as const, value: n };
  });
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await issue(ca, {
    subject: `CN=${san[0]!.value}`,
    publicKey: keys.publicKey,
    days: checkDays(options.validityDays ?? 90, 'validityDays'),
    now: checkNow(options.now ?? new Date()),
    extensions: [
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(san),
    ],
  });
  return { certificatePem: cert.toString('pem'), privateKeyPem: await privateKeyPem(keys.privateKey) };
}

/**
 * Reads the public key a gateway sends at enrolment: a PKCS#10 CSR (whose
 * self-signature must verify: the gateway holds the key) or an SPKI public
 * key, either PEM, ECDSA P-256 only. The CSR's subject is ignored: the
 * enrolment decides who the gateway is.
 *
 * @throws {CloudError} `CLOUD_ERR_CSR_INVALID` when it is malformed, not P-256, or the CSR signature does not verify
 * @example
 * ```ts
 * const key = await gatewayPublicKey({ csr: body.csr });
 * ```
 */
export async function gatewayPublicKey(request: { csr: string } | { publicKey: string }): Promise<CryptoKey> {
  const bad = (reason: string, cause?: unknown) => new CloudError(CLOUD_ERR.CSR_INVALID, `cannot enrol: ${reason}`, { cause, hint: 'send a PEM PKCS#10 CSR (or SPKI public key) for an ECDSA P-256 key' });
  let publicKey: x509.PublicKey;
  if ('csr' in request) {
    let csr: x509.Pkcs10CertificateRequest;
    try {
      csr = new x509.Pkcs10CertificateRequest(request.csr);
    } catch (e) {
      throw bad('the CSR is not a PEM PKCS#10 request', e);
    }
    publicKey = csr.publicKey;
    checkP256(publicKey, bad);
    let valid = false;
    try {
      valid = await csr.verify();
    } catch (e) {
      throw bad('the CSR signature cannot be checked', e);
    }
    if (!valid) throw bad('the CSR signature does not verify');
  } else {
    try {
      publicKey = new x509.PublicKey(request.publicKey);
    } catch (e) {
      throw bad('the public key is not a PEM SPKI key', e);
    }
    checkP256(publicKey, bad);
  }
  try {
    return await publicKey.export();
  } catch (e) {
    throw bad('the public key is not a valid P-256 point', e);
  }
}

/**
 * The gateway's side of enrolment: a fresh ECDSA P-256 key and a PKCS#10 CSR for it (proof of
 * possession), what `POST /v1/enrol` takes with the one-time token. The key never leaves the gateway.
 *
 * @throws never (WebCrypto failures only)
 * @example
 * ```ts
 * const { csr, privateKeyPem } = await gatewayCsr('gw-1');
 * ```
 */
export async function gatewayCsr(name: string): Promise<{ csr: string; privateKeyPem: string }> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: `CN=${name}`, keys, signingAlgorithm: alg });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { csr: csr.toString('pem'), privateKeyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY') };
}

function checkP256(key: x509.PublicKey, bad: (reason: string) => CloudError): void {
  let alg: EcKeyAlgorithm;
  try {
    alg = key.algorithm as EcKeyAlgorithm;
  } catch (e) {
    throw bad('the key algorithm is not readable');
  }
  if (alg.name !== 'ECDSA' || alg.namedCurve !== 'P-256') throw bad('the key is not ECDSA P-256');
}

/**
 * The URI that names a gateway in its certificate.
 *
 * @throws {TypeError} a malformed tenant or gateway id
 * @example
 * ```ts
 * gatewayUri('plant-a', 'gw-1'); // 'urn:hedge:gateway:plant-a:gw-1'
 * ```
 */
export function gatewayUri(tenant: string, gateway: string): string {
  if (typeof tenant !== 'string' || !NAME_PART.test(tenant)) throw new TypeError(`tenant must match ${NAME_PART}`);
  if (typeof gateway !== 'string' || !NAME_PART.test(gateway)) throw new TypeError(`gateway must match ${NAME_PART}`);
  return `urn:hedge:gateway:${tenant}:${gateway}`;
}

/**
 * Issues a gateway's client certificate (extended key usage client auth, URI
 * SAN {@link gatewayUri}) for a key from {@link gatewayPublicKey}.
 *
 * @param options - `validityDays` (default 365), `now`
 * @throws {TypeError} a malformed tenant or gateway id
 * @throws {RangeError} `validityDays` out of range
 * @example
 * ```ts
 * const issued = await issueGatewayCertificate(ca, { tenant: 'plant-a', gateway: 'gw-1', publicKey: await gatewayPublicKey({ csr }) });
 * ```
 */
export async function issueGatewayCertificate(
  ca: LocalCa,
  options: { tenant: string; gateway: string; publicKey: CryptoKey; validityDays?: number; now?: Date },
): Promise<IssuedGatewayCertificate> {
  const uri = gatewayUri(options.tenant, options.gateway);
  const cert = await issue(ca, {
    subject: `CN=${options.gateway}, O=${options.tenant}`,
    publicKey: options.publicKey,
    days: checkDays(options.validityDays ?? 365, 'validityDays'),
    now: checkNow(options.now ?? new Date()),
    extensions: [
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: uri }], true),
    ],
  });
  return { certificatePem: cert.toString('pem'), serial: cert.serialNumber.toLowerCase(), notBefore: cert.notBefore, notAfter: cert.notAfter };
}

/**
 * Checks a presented client certificate (DER or PEM) against the CA — issuer,
 * signature, validity at `now`, client-auth usage — and reads the gateway it
 * names. Revocation is the caller's check (by serial).
 *
 * @throws {CloudError} `CLOUD_ERR_CERTIFICATE_INVALID` when any check fails
 * @example
 * ```ts
 * const { tenant, gateway, serial } = await verifyGatewayCertificate(ca, socket.getPeerCertificate().raw);
 * ```
 */
export async function verifyGatewayCertificate(ca: LocalCa, certificate: Uint8Array | string, now: Date = new Date()): Promise<GatewayIdentity> {
  const bad = (reason: string, cause?: unknown) =>
    new CloudError(CLOUD_ERR.CERTIFICATE_INVALID, `cannot authenticate gateway: ${reason}`, { cause, hint: 'enrol the gateway again to get a current certificate' });
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(typeof certificate === 'string' ? certificate : new Uint8Array(certificate));
  } catch (e) {
    throw bad('the client certificate is malformed', e);
  }
  if (cert.issuer !== ca.certificate.subject) throw bad('the client certificate was not issued by this cloud');
  let valid = false;
  try {
    valid = await cert.verify({ publicKey: ca.certificate.publicKey, signatureOnly: true });
  } catch (e) {
    throw bad('the client certificate signature cannot be checked', e);
  }
  if (!valid) throw bad('the client certificate was not issued by this cloud');
  if (now < cert.notBefore || now > cert.notAfter) throw bad('the client certificate is expired or not yet valid');
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  if (!eku?.usages.includes(x509.ExtendedKeyUsage.clientAuth)) throw bad('the certificate is not for client authentication');
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const uris = (san?.names.toJSON() ?? []).filter((n) => n.type === 'url').map((n) => GATEWAY_URI.exec(n.value)).filter((m) => m !== null);
  if (uris.length !== 1) throw bad('the certificate names no gateway');
  return { tenant: uris[0]![1]!, gateway: uris[0]![2]!, serial: cert.serialNumber.toLowerCase() };
}
