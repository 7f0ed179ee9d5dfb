/**
 * Verified model delivery at the edge (DESIGN §7): the `tuf-js` Updater against
 * the cloud's TUF repository over HTTP, or against a local mirror folder for a
 * plant with no line to the cloud (a copy of the repository carried in, served
 * to tuf-js on loopback). Only artifacts TUF verified are returned — signatures
 * through the fleet's delegation, fresh timestamp and snapshot, no rollback, the
 * target's length and SHA-256 — and only versions newer than the one the caller
 * says is active: an older version comes only through an admin rollback
 * (`ModelSlots.rollback`), never through delivery.
 *
 * Targets are named `fleets/<fleet>/<model>/v<version>` (src/trust/tuf/repository.ts).
 *
 * Over HTTPS with `tls`, the repository is fetched with `node:https` trusting only the given CA
 * (the cloud's private CA, which the global `fetch` tuf-js uses by default cannot be told about),
 * presenting the gateway's client certificate when one is given.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { BaseFetcher, Updater } from 'tuf-js';
// tuf-js stops walking root versions only on its own DownloadHTTPError (403/404); its index does not export it.
import { DownloadHTTPError } from 'tuf-js/dist/error.js';
import { aObject, aString } from './assert.ts';
import { RUNTIME_ERR, RuntimeError, RuntimeTypeError } from './errors.ts';

/**
 * TLS material for an `https://` repository, PEM texts: the CA to trust (only it; e.g. the cloud's
 * `ca.pem`), and optionally the gateway's client certificate and key.
 */
export interface DeliveryTls {
  readonly ca: string;
  readonly cert?: string;
  readonly key?: string;
}

/** Where the repository is: the cloud over HTTP(S) (with `tls`: a private CA), or a mirror folder (`metadata/`, `targets/`). */
export type DeliverySource =
  | { readonly kind: 'http'; readonly url: string; readonly tls?: DeliveryTls }
  | { readonly kind: 'mirror'; readonly dir: string };

/** tuf-js's fetcher over `node:https` with the given CA (and client certificate). */
class TlsFetcher extends BaseFetcher {
  readonly #tls: DeliveryTls;
  readonly #timeoutMs: number;
  constructor(tls: DeliveryTls, timeoutMs: number) {
    super();
    this.#tls = tls;
    this.#timeoutMs = timeoutMs;
  }
  fetch(url: string): Promise<ReadableStream<Uint8Array<ArrayBuffer>>> {
    const { ca, cert, key } = this.#tls;
    return new Promise((resolve, reject) => {
      const req = httpsRequest(url, { method: 'GET', ca, cert, key, agent: false, timeout: this.#timeoutMs }, (res) => {
        const status = res.statusCode ?? 0;
        if (status !== 200) {
          res.resume();
          reject(new DownloadHTTPError('Failed to download', status));
          return;
        }
        resolve(Readable.toWeb(res) as ReadableStream<Uint8Array<ArrayBuffer>>);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${this.#timeoutMs} ms`)));
      req.on('error', reject);
      req.end();
    });
  }
}

/** Options of {@link ModelDelivery.open}. */
export interface DeliveryOptions {
  /** This gateway's fleet (its delegated targets role is `fleet-<fleet>`). */
  readonly fleet: string;
  /** The root metadata the gateway was provisioned with (trust on first use is not an option). */
  readonly trustedRoot: string;
  /** The gateway's own folder for verified metadata and downloaded targets (kept between runs). */
  readonly stateDir: string;
  readonly source: DeliverySource;
}

/** A verified artifact. */
export interface DeliveredArtifact {
  readonly modelId: string;
  readonly version: number;
  readonly fleet: string;
  /** Lower-case hex SHA-256 of the bytes, as TUF listed and verified it. */
  readonly sha256: string;
  /** The lineage digest published with the model (hex). */
  readonly lineageDigest: string;
  readonly target: string;
  readonly bytes: Uint8Array;
}

const VERSION = /\/v(\d+)$/;

/** Verified delivery of one fleet's models. */
export class ModelDelivery {
  readonly fleet: string;
  readonly #options: DeliveryOptions;
  readonly #metadataDir: string;
  readonly #targetDir: string;

  private constructor(options: DeliveryOptions, metadataDir: string, targetDir: string) {
    this.fleet = options.fleet;
    this.#options = options;
    this.#metadataDir = metadataDir;
    this.#targetDir = targetDir;
  }

  /**
   * Prepares the gateway's TUF state (writes the provisioned root on first use).
   *
   * @throws RuntimeTypeError for malformed options
   * @example
   * ```ts
   * const delivery = await ModelDelivery.open({ fleet: 'plant-L', trustedRoot, stateDir, source: { kind: 'http', url } });
   * ```
   */
  static async open(options: DeliveryOptions): Promise<ModelDelivery> {
    const op = 'open model delivery';
    aObject(op, 'options', options);
    aString(op, 'options.fleet', options.fleet);
    aString(op, 'options.trustedRoot', options.trustedRoot);
    aString(op, 'options.stateDir', options.stateDir);
    const src = options.source as DeliverySource | undefined;
    if (!src || (src.kind === 'http' ? typeof src.url !== 'string' : src.kind !== 'mirror' || typeof src.dir !== 'string')) {
      throw new RuntimeTypeError(`cannot ${op}: options.source must be { kind: 'http', url, tls? } or { kind: 'mirror', dir }`);
    }
    if (src.kind === 'http' && src.tls !== undefined) {
      const tls = src.tls as Partial<DeliveryTls> | null;
      if (tls === null || typeof tls !== 'object' || typeof tls.ca !== 'string' || (tls.cert !== undefined && typeof tls.cert !== 'string') || (tls.key !== undefined && typeof tls.key !== 'string')) {
        throw new RuntimeTypeError(`cannot ${op}: options.source.tls must be { ca, cert?, key } of PEM strings`);
      }
      if (!src.url.startsWith('https://')) throw new RuntimeTypeError(`cannot ${op}: options.source.tls is for an https:// URL, got ${JSON.stringify(src.url)}`);
    }
    const metadataDir = path.join(options.stateDir, 'metadata');
    const targetDir = path.join(options.stateDir, 'targets');
    await mkdir(metadataDir, { recursive: true });
    await mkdir(targetDir, { recursive: true });
    const root = path.join(metadataDir, 'root.json');
    try {
      await readFile(root);
    } catch {
      await writeFile(root, options.trustedRoot);
    }
    return new ModelDelivery(options, metadataDir, targetDir);
  }

  /**
   * The newest verified version of `modelId` above `after` (the active version), or null when
   * there is none.
   *
   * @throws RuntimeError `RUNTIME_ERR_DELIVERY` when TUF refuses the repository's state or a
   *   target (the tuf-js error is the `cause`), or the repository is unreachable
   * @example
   * ```ts
   * const update = await delivery.newerThan('ai4i-failure', slots.activeVersion ?? 0);
   * if (update) await slots.stage(createControls(await loadModel(update.bytes, { expect: update }), moments, config));
   * ```
   */
  async newerThan(modelId: string, after: number): Promise<DeliveredArtifact | null> {
    const op = `fetch ${modelId} for fleet ${this.fleet}`;
    aString(op, 'modelId', modelId);
    if (!Number.isInteger(after) || after < 0) throw new RuntimeTypeError(`cannot ${op}: after must be a non-negative integer`);
    return this.#withUpdater(op, async (updater) => {
      const prefix = `fleets/${this.fleet}/${modelId}/`;
      // Loading any path of the fleet makes tuf-js verify and cache the fleet's delegated role.
      await updater.getTargetInfo(`${prefix}v0`);
      const versions = await this.#listedVersions(prefix);
      const newest = versions.filter((v) => v > after).sort((a, b) => b - a)[0];
      if (newest === undefined) return null;
      const target = `${prefix}v${newest}`;
      const info = await updater.getTargetInfo(target);
      if (info === undefined) return null;
      const file = await updater.downloadTarget(info);
      const bytes = new Uint8Array(await readFile(file));
      const custom = (info.custom ?? {}) as { lineageDigest?: unknown; fleet?: unknown; version?: unknown; modelId?: unknown };
      if (custom.modelId !== modelId || custom.version !== newest || custom.fleet !== this.fleet || typeof custom.lineageDigest !== 'string') {
        throw new RuntimeError(RUNTIME_ERR.DELIVERY, `cannot ${op}: target ${target} carries metadata for another model, version or fleet`);
      }
      return Object.freeze({ modelId, version: newest, fleet: this.fleet, sha256: info.hashes.sha256, lineageDigest: custom.lineageDigest, target, bytes });
    });
  }

  /** Versions of a model listed in the fleet's verified targets metadata (cached by tuf-js). */
  async #listedVersions(prefix: string): Promise<number[]> {
    let text: string;
    try {
      text = await readFile(path.join(this.#metadataDir, `fleet-${this.fleet}.json`), 'utf8');
    } catch {
      return [];
    }
    const targets = (JSON.parse(text) as { signed?: { targets?: Record<string, unknown> } }).signed?.targets ?? {};
    return Object.keys(targets).filter((t) => t.startsWith(prefix)).map((t) => Number(VERSION.exec(t)?.[1] ?? Number.NaN)).filter(Number.isInteger);
  }

  async #withUpdater<T>(op: string, fn: (u: Updater) => Promise<T>): Promise<T> {
    const src = this.#options.source;
    const served = src.kind === 'mirror' ? await serveFolder(src.dir) : undefined;
    const base = src.kind === 'mirror' ? served!.url : src.url.replace(/\/+$/, '');
    try {
      const updater = new Updater({
        metadataDir: this.#metadataDir, metadataBaseUrl: `${base}/metadata`,
        targetDir: this.#targetDir, targetBaseUrl: `${base}/targets`,
        config: { fetchRetries: 0, fetchRetry: 0, fetchTimeout: 10_000 },
        ...(src.kind === 'http' && src.tls !== undefined ? { fetcher: new TlsFetcher(src.tls, 10_000) } : {}),
      });
      try {
        await updater.refresh();
        return await fn(updater);
      } catch (cause) {
        if (cause instanceof RuntimeError) throw cause;
        const name = cause instanceof Error ? `${cause.constructor.name}: ${cause.message}` : String(cause);
        throw new RuntimeError(RUNTIME_ERR.DELIVERY, `cannot ${op}: TUF refused the update (${name})`, { cause });
      }
    } finally {
      await served?.close();
    }
  }
}

/** Serves a mirror folder read-only on 127.0.0.1 for tuf-js (which fetches over HTTP only). */
export async function serveFolder(dir: string): Promise<{ url: string; close: () => Promise<void> }> {
  const root = path.resolve(dir);
  const server: Server = createServer((req, res) => {
    const file = path.resolve(root, `.${decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)}`);
    if (!file.startsWith(root + path.sep)) {
      res.writeHead(403).end();
      return;
    }
    readFile(file).then((body) => res.writeHead(200, { 'content-length': body.length }).end(body), () => res.writeHead(404).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}
