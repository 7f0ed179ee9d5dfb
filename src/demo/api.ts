/**
 * The demo's HTTPS client of the cloud API: one party's identity (a person's bearer token or a
 * gateway's client certificate) over a keep-alive connection that trusts only the cloud's CA.
 * JSON and binary (`application/octet-stream`) bodies both ways.
 * @module
 */
import { Agent, request } from 'node:https';

/** An error answer of the cloud: its status and `CLOUD_ERR_*` code. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /**
   * @throws never
   * @example
   * ```ts
   * new ApiError(409, 'CLOUD_ERR_STATE', 'cannot reveal: the job is not computed');
   * ```
   */
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/** One party's connection to the cloud. */
export class Api {
  readonly url: string;
  readonly #agent: Agent;
  #token: string | undefined;

  /**
   * @param url - the cloud's base URL (`https://…`)
   * @param tls - the cloud's CA (PEM), and a gateway's certificate and key when it calls as one
   * @throws {TypeError} for a URL that is not HTTPS
   * @example
   * ```ts
   * const api = new Api('https://127.0.0.1:8443', { ca });
   * await api.login('alice', password);
   * ```
   */
  constructor(url: string, tls: { readonly ca: string; readonly cert?: string; readonly key?: string }) {
    if (!url.startsWith('https://')) throw new TypeError(`cannot use cloud URL ${JSON.stringify(url)}: it must be https://…`);
    this.url = url.replace(/\/+$/, '');
    this.#agent = new Agent({ keepAlive: true, maxSockets: 4, ca: tls.ca, cert: tls.cert, key: tls.key });
  }

  /**
   * Logs in as a local user (`POST /v1/auth/token`); later calls carry the token.
   * @throws {ApiError} for wrong credentials
   * @example
   * ```ts
   * const builder = await new Api(url, { ca }).login('builder-ada', password);
   * ```
   */
  async login(username: string, password: string): Promise<this> {
    this.#token = (await this.json<{ accessToken: string }>('POST', '/v1/auth/token', { username, password })).accessToken;
    return this;
  }

  /**
   * A call with a JSON answer.
   * @throws {ApiError} when the cloud answers an error status
   * @example
   * ```ts
   * const job = await api.json<{ state: string }>('GET', '/v1/tenants/builder/jobs/job-1');
   * ```
   */
  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const answer = await this.raw(method, path, body);
    return (answer.length === 0 ? undefined : JSON.parse(answer.toString('utf8'))) as T;
  }

  /**
   * A call with any answer (binary bodies go as `application/octet-stream`).
   * @throws {ApiError} when the cloud answers an error status
   * @example
   * ```ts
   * const aggregate = await api.raw('GET', '/v1/tenants/builder/jobs/job-1/aggregate');
   * ```
   */
  raw(method: string, path: string, body?: unknown): Promise<Buffer> {
    const binary = body instanceof Uint8Array;
    const payload = body === undefined ? undefined : binary ? Buffer.from(body.buffer, body.byteOffset, body.byteLength) : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = {};
    if (payload !== undefined) headers['content-type'] = binary ? 'application/octet-stream' : 'application/json';
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
    return new Promise((resolve, reject) => {
      const req = request(`${this.url}${path}`, { method, headers, agent: this.#agent, timeout: 120_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const bytes = Buffer.concat(chunks);
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve(bytes);
          let e: { code?: unknown; message?: unknown } = {};
          try {
            e = JSON.parse(bytes.toString('utf8')) as typeof e;
          } catch { /* not JSON */ }
          reject(new ApiError(status, typeof e.code === 'string' ? e.code : `HTTP_${status}`, typeof e.message === 'string' ? e.message : `cannot ${method} ${path}: HTTP ${status}`));
        });
      });
      req.on('timeout', () => req.destroy(new Error(`cannot ${method} ${path}: no answer within 120 s`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.#agent.destroy();
  }
}

/**
 * Polls `f` every `ms` until it returns a value (not undefined).
 * @throws Error after `timeoutMs`, naming `what`; whatever `f` throws
 * @example
 * ```ts
 * await until('the job', async () => ((await jobState()) === 'computed' ? true : undefined));
 * ```
 */
export async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 120_000, ms = 150): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`cannot run the demo: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, ms));
  }
}
