/**
 * `startCloud(options)`: the cloud service listening with HTTPS.
 *
 * State lives in `dataDir`: the CA (`ca.pem`, `ca.key.pem`), the local token
 * issuer's key (`issuer.jwk`), and the PGlite database (`db/`) unless
 * `DATABASE_URL` / `databaseUrl` points at a PostgreSQL server. Secret files
 * are written mode 0600 and refused when others can read them. The server
 * certificate is issued afresh by the CA at every start (SAN localhost,
 * 127.0.0.1, ::1 and `serverNames`).
 *
 * TLS asks every client for a certificate but does not require one
 * (`requestCert: true, rejectUnauthorized: false`): people call with bearer
 * tokens and no certificate; gateway routes accept only a certificate that
 * chains to the CA (checked per route, see plugins/access.ts).
 *
 * Shutdown (`close()`): `/readyz` turns 503 and new requests get 503
 * `CLOUD_ERR_NOT_READY`; the server stops accepting connections and waits for
 * in-flight requests; meanwhile the `onShutdown` hooks run (jobs finish or
 * re-queue) with an `AbortSignal` that fires at `shutdownTimeoutMs`, when the
 * remaining connections are cut; then the database closes.
 * @module
 */
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SqlClient } from '../trust/storage/sql.ts';
import { buildApp, type BuildAppOptions, type CloudApp } from './app.ts';
import type { AuditLog } from './context.ts';
import { openCloudDb } from './db.ts';
import { CLOUD_ERR, CloudError } from './errors.ts';
import { createCa, exportCa, importCa, issueServerCertificate, type LocalCa } from './pki.ts';
import { createIssuerKey, exportIssuerKey, importIssuerKey, type OidcIssuerConfig, type PeopleAuthConfig } from './tokens.ts';

/** Options of {@link startCloud}. */
export interface StartCloudOptions {
  /** Directory for the CA, the issuer key and the embedded database (created if absent). */
  readonly dataDir: string;
  /** Interface to listen on (default `127.0.0.1`). */
  readonly host?: string;
  /** Port (default 8443; 0 picks a free one). */
  readonly port?: number;
  /** Extra DNS names / IPs for the server certificate. */
  readonly serverNames?: readonly string[];
  /** PostgreSQL connection string; default `DATABASE_URL`, else PGlite in `dataDir/db`; `null` forces PGlite. */
  readonly databaseUrl?: string | null;
  /**
   * People's auth: an OIDC issuer, or (default) the local issuer, whose key is kept in `dataDir`
   * (`issuer` defaults to the server URL, `audience` to `hedge`).
   */
  readonly people?: OidcIssuerConfig | { readonly kind: 'local'; readonly issuer?: string; readonly audience?: string; readonly tokenTtlSeconds?: number };
  /** The audit log, or a factory given the opened database (e.g. a TransparencyLog on it). */
  readonly audit: AuditLog | ((db: SqlClient) => Promise<AuditLog>);
  /** Hooks run at shutdown while requests drain: finish or re-queue running jobs; stop when `signal` aborts. */
  readonly onShutdown?: readonly ((signal: AbortSignal) => Promise<void>)[];
  /** How long shutdown waits before cutting connections and aborting hooks (default 10 000 ms). */
  readonly shutdownTimeoutMs?: number;
  /** Passed to {@link buildApp}. */
  readonly app?: Pick<BuildAppOptions, 'readiness' | 'routes' | 'logger' | 'bodyLimit' | 'gatewayCertificateDays' | 'now'>;
}

/** A running cloud. */
export interface RunningCloud {
  readonly app: CloudApp;
  /** `https://host:port`. */
  readonly url: string;
  readonly port: number;
  /** The CA certificate (PEM) clients verify the server with. */
  readonly caCertificatePem: string;
  /**
   * Shuts down gracefully (see the module doc); safe to call twice.
   * @throws never (hook failures are logged)
   */
  close(): Promise<void>;
}

async function readSecret(path: string): Promise<string | undefined> {
  let mode: number;
  try {
    mode = (await stat(path)).mode;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CloudError(CLOUD_ERR.CONFIG, `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  if (mode & 0o077) {
    throw new CloudError(CLOUD_ERR.CONFIG, `cannot read ${path}: readable by other users`, { hint: `chmod 600 ${path}` });
  }
  return readFile(path, 'utf8');
}

async function writeSecret(path: string, content: string): Promise<void> {
  await writeFile(path, content, { mode: 0o600, flag: 'wx' });
  await chmod(path, 0o600);
}

/**
 * Loads the CA from `dataDir`, creating it on first start.
 * @throws {CloudError} `CLOUD_ERR_CONFIG` (unreadable or too open files) or `CLOUD_ERR_PKI` (malformed or mismatched PEM)
 * @example
 * ```ts
 * const ca = await loadOrCreateCa('/var/lib/hedge');
 * ```
 */
export async function loadOrCreateCa(dataDir: string): Promise<LocalCa> {
  const certPath = join(dataDir, 'ca.pem');
  const keyPath = join(dataDir, 'ca.key.pem');
  const key = await readSecret(keyPath);
  if (key !== undefined) return importCa({ certificatePem: await readFile(certPath, 'utf8'), privateKeyPem: key });
  const ca = await createCa();
  const pem = await exportCa(ca);
  await writeSecret(keyPath, pem.privateKeyPem);
  await writeFile(certPath, pem.certificatePem);
  return ca;
}

async function loadOrCreateIssuerKey(dataDir: string) {
  const path = join(dataDir, 'issuer.jwk');
  const text = await readSecret(path);
  if (text !== undefined) {
    let jwk: unknown;
    try {
      jwk = JSON.parse(text);
    } catch (e) {
      throw new CloudError(CLOUD_ERR.PKI, `cannot read ${path}: not JSON`, { cause: e });
    }
    return importIssuerKey(jwk as Parameters<typeof importIssuerKey>[0]);
  }
  const key = await createIssuerKey();
  await writeSecret(path, JSON.stringify(await exportIssuerKey(key)));
  return key;
}

/**
 * Starts the cloud: opens (and migrates) the database, loads or creates the
 * CA and issuer key, issues the server certificate, builds the app and
 * listens with HTTPS.
 *
 * @throws {CloudError} `CLOUD_ERR_CONFIG` / `CLOUD_ERR_PKI` for bad options or state files
 * @throws {TrustError} `TRUST_ERR_STORAGE` when the database cannot be opened
 * @throws the listen error (e.g. `EADDRINUSE`)
 * @example
 * ```ts
 * const cloud = await startCloud({ dataDir: '/var/lib/hedge', port: 8443, audit: (db) => openAuditLog(db) });
 * process.once('SIGTERM', () => void cloud.close());
 * ```
 */
export async function startCloud(options: StartCloudOptions): Promise<RunningCloud> {
  if (typeof options?.dataDir !== 'string' || options.dataDir.length === 0) throw new CloudError(CLOUD_ERR.CONFIG, 'cannot start cloud: dataDir is required');
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 8443;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CloudError(CLOUD_ERR.CONFIG, 'cannot start cloud: port must be in [0, 65535]');
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 10_000;
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const url = options.databaseUrl === undefined ? process.env.DATABASE_URL : options.databaseUrl;
  const db = await openCloudDb(url ? { databaseUrl: url } : { databaseUrl: null, dataDir: join(options.dataDir, 'db') });
  let app: CloudApp;
  try {
    const ca = await loadOrCreateCa(options.dataDir);
    const tls = await issueServerCertificate(ca, { names: options.serverNames ?? [] });
    const given = options.people;
    const people: PeopleAuthConfig =
      given?.kind === 'oidc'
        ? given
        : {
            kind: 'local',
            issuer: given?.issuer ?? `https://${host}:${port}`,
            audience: given?.audience ?? 'hedge',
            key: await loadOrCreateIssuerKey(options.dataDir),
            ...(given?.tokenTtlSeconds === undefined ? {} : { tokenTtlSeconds: given.tokenTtlSeconds }),
          };
    const audit = typeof options.audit === 'function' ? await options.audit(db) : options.audit;
    app = await buildApp({ ...options.app, db, ca, people, audit, tls });
    await app.listen({ host, port });
  } catch (e) {
    await db.close().catch(() => {});
    throw e;
  }
  const address = app.server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      const abort = new AbortController();
      const timer = setTimeout(() => {
        abort.abort(new Error('shutdown timeout'));
        app.server.closeAllConnections();
      }, shutdownTimeoutMs);
      const hooks = (options.onShutdown ?? []).map((hook) =>
        hook(abort.signal).catch((e: unknown) => app.log.error({ err: e }, 'shutdown hook failed')),
      );
      try {
        await Promise.all([app.close(), ...hooks]);
      } finally {
        clearTimeout(timer);
        await db.close().catch((e: unknown) => app.log.error({ err: e }, 'cannot close database'));
      }
    })());
  return { app, url: `https://${host.includes(':') ? `[${host}]` : host}:${bound}`, port: bound, caCertificatePem: app.cloud.ca.certificatePem, close };
}
