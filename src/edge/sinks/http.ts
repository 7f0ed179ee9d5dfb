/**
 * A {@link BatchSink} that POSTs batches to the cloud's HTTP API.
 *
 * The contract it expects (the cloud route is not built yet; this is what it must answer):
 *
 * ```
 * POST {url}/v1/tenants/{plant}/datasets/{dataset}/batches
 * content-type: application/octet-stream          body: the batch container (src/compute/batch.ts)
 * authorization: Bearer <token>                  and/or a TLS client certificate (the gateway's, from enrolment)
 * ```
 *
 * The plant is the authenticated tenant (the batch's header names it too, and the lake checks
 * that they agree), so it is not sent. Answers:
 *
 * | status | meaning | the sink |
 * |---|---|---|
 * | 201 | stored | resolves `'stored'` |
 * | 200 | duplicate: the same bytes under this id were stored before | resolves `'duplicate'` |
 * | 409 | other bytes under this id | `EDGE_ERR_UPLOAD_CONFLICT` (parked, not retried) |
 * | 401, 403, 404, 408, 429 | credentials, a dataset not (yet) known, timeouts, rate limits: nothing wrong with the batch | `EDGE_ERR_UPLOAD` (retried) |
 * | other 4xx | the batch is refused (400, 413, 415, 422 …) | `EDGE_ERR_UPLOAD_REJECTED` (parked, not retried) |
 * | 5xx, other statuses, network errors, timeouts | may pass | `EDGE_ERR_UPLOAD` (retried) |
 *
 * An error body `{ code, message }` (the cloud's error contract) is quoted in the error message.
 *
 * Uses `node:http` / `node:https` rather than `fetch`: Node's `fetch` takes no TLS client
 * certificate without importing `undici`, which is not a dependency of hedge.
 * @module
 */
import http from 'node:http';
import https from 'node:https';
import { aFunction, aInteger, aObject, aString } from '../assert.ts';
import { EDGE_ERR, EdgeError, EdgeRangeError } from '../errors.ts';
import type { BatchSink } from '../uploader.ts';

/** Options of {@link HttpSink}. */
export interface HttpSinkOptions {
  /** The cloud's base URL, `https://…` (`http://` only for tests and a local cloud). */
  readonly url: string;
  /** A bearer token, or a function returning the current one (called per request, so it can refresh). */
  readonly token?: string | (() => string | Promise<string>);
  /** TLS options for `https`: the gateway's client certificate and key (PEM) and the cloud's CA. */
  readonly tls?: { readonly cert?: string | Buffer; readonly key?: string | Buffer; readonly ca?: string | Buffer; readonly servername?: string };
  /** Per-request timeout (default 120 000 ms). */
  readonly timeoutMs?: number;
}

const RETRY_4XX = new Set([401, 403, 404, 408, 429]);
const MAX_ERROR_BODY = 64 * 1024;

/**
 * POSTs batches to `${url}/v1/tenants/:plant/datasets/:dataset/batches` (see the module description for the
 * contract).
 *
 * @example
 * ```ts
 * const sink = new HttpSink({ url: 'https://cloud.example', tls: { cert, key, ca } });
 * const uploader = new Uploader({ outbox, sink });
 * ```
 */
export class HttpSink implements BatchSink {
  readonly #base: URL;
  readonly #token: HttpSinkOptions['token'];
  readonly #tls: HttpSinkOptions['tls'];
  readonly #timeoutMs: number;

  /**
   * @throws EdgeTypeError / EdgeRangeError if the URL is not http(s), TLS options come with an
   *   http URL, or an option has the wrong type
   * @example
   * ```ts
   * new HttpSink({ url: 'https://cloud.example', token: () => tokens.current() });
   * ```
   */
  constructor(options: HttpSinkOptions) {
    const op = 'create HTTP sink';
    aObject(op, 'options', options);
    aString(op, 'options.url', options.url);
    let base: URL;
    try {
      base = new URL(options.url);
    } catch (e) {
      throw new EdgeRangeError(`cannot ${op}: options.url is not a URL`, { cause: e });
    }
    if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new EdgeRangeError(`cannot ${op}: options.url must be http(s), got ${base.protocol}`);
    if (options.token !== undefined && typeof options.token !== 'function') aString(op, 'options.token', options.token);
    if (options.tls !== undefined) {
      aObject(op, 'options.tls', options.tls);
      if (base.protocol !== 'https:') throw new EdgeRangeError(`cannot ${op}: options.tls needs an https URL`);
    }
    if (options.timeoutMs !== undefined) aInteger(op, 'options.timeoutMs', options.timeoutMs, 1);
    if (typeof options.token === 'function') aFunction(op, 'options.token', options.token);
    this.#base = base;
    this.#token = options.token;
    this.#tls = options.tls;
    this.#timeoutMs = options.timeoutMs ?? 120_000;
  }

  /**
   * POSTs one batch.
   * @returns `'stored'` (201) or `'duplicate'` (200)
   * @throws EdgeError `EDGE_ERR_UPLOAD_CONFLICT` (409), `EDGE_ERR_UPLOAD_REJECTED` (other 4xx but
   *   401/403/404/408/429), `EDGE_ERR_UPLOAD` (those, 5xx, network, timeout, abort)
   * @example
   * ```ts
   * await sink.upload('ai4i', 'plant-a', bytes);
   * ```
   */
  async upload(dataset: string, plant: string, bytes: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<'stored' | 'duplicate'> {
    const op = `cannot upload batch to ${dataset}`;
    const target = new URL(`${this.#base.pathname.replace(/\/$/, '')}/v1/tenants/${encodeURIComponent(plant)}/datasets/${encodeURIComponent(dataset)}/batches`, this.#base);
    const headers: Record<string, string | number> = {
      'content-type': 'application/octet-stream', 'content-length': bytes.length, accept: 'application/json',
    };
    if (this.#token !== undefined) {
      let token: string;
      try {
        token = typeof this.#token === 'function' ? await this.#token() : this.#token;
      } catch (e) {
        throw new EdgeError(EDGE_ERR.UPLOAD, `${op}: the token provider failed (${(e as Error)?.message ?? String(e)})`, { cause: e });
      }
      headers.authorization = `Bearer ${token}`;
    }
    const { status, body } = await this.#post(op, target, headers, bytes, options.signal);
    if (status === 201) return 'stored';
    if (status === 200) return 'duplicate';
    const reason = `${op}: the cloud answered ${status}${describeBody(body)}`;
    if (status === 409) throw new EdgeError(EDGE_ERR.UPLOAD_CONFLICT, reason);
    if (status >= 400 && status < 500 && !RETRY_4XX.has(status)) throw new EdgeError(EDGE_ERR.UPLOAD_REJECTED, reason);
    throw new EdgeError(EDGE_ERR.UPLOAD, reason);
  }

  #post(op: string, target: URL, headers: Record<string, string | number>, bytes: Uint8Array, signal?: AbortSignal): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const fail = (reason: string, cause?: unknown): void => reject(new EdgeError(EDGE_ERR.UPLOAD, `${op}: ${reason}`, { cause }));
      const options = { method: 'POST', headers, timeout: this.#timeoutMs, ...(signal === undefined ? {} : { signal }) };
      const req = target.protocol === 'https:'
        ? https.request(target, { ...options, ...(this.#tls ?? {}) })
        : http.request(target, options);
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.#timeoutMs} ms`)));
      req.on('error', (e) => fail((e as Error).message, e));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < MAX_ERROR_BODY) chunks.push(c);
          size += c.length;
        });
        res.on('error', (e) => fail((e as Error).message, e));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).subarray(0, MAX_ERROR_BODY).toString('utf8') }));
      });
      req.end(bytes);
    });
  }
}

/** `: <code> <message>` from a JSON error body, or nothing. */
function describeBody(body: string): string {
  try {
    const parsed = JSON.parse(body) as { code?: unknown; message?: unknown };
    const code = typeof parsed.code === 'string' ? parsed.code.slice(0, 100) : '';
    const message = typeof parsed.message === 'string' ? parsed.message.slice(0, 500) : '';
    return code || message ? `: ${[code, message].filter(Boolean).join(' ')}` : '';
  } catch {
    return '';
  }
}
