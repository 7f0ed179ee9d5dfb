/**
 * A small HTTPS client of the cloud's domain API (docs/cloud.md) as a plant's gateway: its TLS
 * client certificate from enrolment is its identity, its tenant the plant. It reads the
 * federation's ceremony state and public material, posts the key holder's ceremony and reveal
 * shares, and reads jobs and reveal requests. `node:https`, as `sinks/http.ts` (Node's `fetch`
 * takes no client certificate).
 * @module
 */
import type { InferenceSummary } from '../runtime/audit.ts';
import type { HistoryEntry } from '../runtime/activation.ts';
import https from 'node:https';
import type { JobPlan } from '../compute/plan.ts';
import { aObject, aString, describe } from './assert.ts';
import { EDGE_ERR, EdgeError, EdgeRangeError } from './errors.ts';

/** A federation as the cloud shows it to a member. */
export interface FederationView {
  readonly id: string;
  readonly preset: string;
  /** The key holders; for t-of-n with their evaluation points and (from round `kex` on) their X25519 key-agreement keys (hex). */
  readonly members: readonly { readonly tenant: string; readonly role: string; readonly point?: number; readonly dealKey?: string }[];
  /** How many key holders a reveal needs: t, or every member (additive). Absent from older clouds: every member. */
  readonly threshold?: number;
  readonly receiver: string;
  readonly guards: { readonly minPlants: number; readonly minRecords: number };
  /** The public seed of the common reference polynomials (hex). */
  readonly seed: string;
  /** `pk`, `rlk1`, `rlk2`, (t-of-n:) `kex`, `deal`, `combine`, then `ready`. */
  readonly round: string;
  /** Key holders whose share of the current round has not arrived. */
  readonly missing: readonly string[];
}

/** A job as the cloud shows it. */
export interface JobView {
  readonly id: string;
  readonly federation: string;
  readonly dataset: string;
  readonly state: string;
  readonly plants: readonly string[];
  readonly records: number;
  readonly approvals: readonly string[];
  /** Key holders whose reveal share arrived (t-of-n: for the current attempt). */
  readonly shares: readonly string[];
  /** t-of-n: the key holders asked in the current reveal attempt. */
  readonly activeSet?: readonly string[];
  readonly attempt?: number;
}

/** What a key holder reads before making its reveal share. */
export interface RevealRequestView {
  readonly jobId: string;
  readonly plan: JobPlan;
  /** SHA-256 (hex) of the receiver key the job is switched to. */
  readonly receiverKeyHash: string;
  readonly parties: number;
  /** t-of-n: the t key holders of this attempt and their points; only they make shares. */
  readonly activeSet?: readonly { readonly tenant: string; readonly point: number }[];
  readonly attempt?: number;
  readonly attemptDeadline?: string;
}

/** The ceremony rounds a key holder posts to. */
export type CeremonyRoundName = 'pk' | 'rlk1' | 'rlk2' | 'kex' | 'deal' | 'combine';

/** Public material of a federation's ceremony. */
export type Material = 'public-key' | 'relin-round1' | 'relin-keys' | 'receiver-key';

/** Options of {@link CloudClient}. */
export interface CloudClientOptions {
  /** The cloud's base URL (`https://…`). */
  readonly url: string;
  /** The key holder's tenant id (a plant, or the machine builder). */
  readonly tenant: string;
  /**
   * PEM: the cloud's CA and, for a gateway, its client certificate and key (mTLS). A person — the
   * machine builder's key holder — leaves out `cert` and `key` and gives a `token`.
   */
  readonly tls: { readonly ca: string; readonly cert?: string; readonly key?: string };
  /** A person's bearer token, instead of a client certificate. */
  readonly token?: string;
  /** Per-request timeout (default 60 000 ms). */
  readonly timeoutMs?: number;
}

/**
 * An error status or a failed call: `status` is the HTTP status (0 when no answer came), `cloudCode`
 * the cloud's error code when its body named one.
 */
export class CloudCallError extends EdgeError {
  /** The HTTP status, or 0 for a network error or timeout. */
  readonly status: number;
  /** The cloud's `CLOUD_ERR_*` code, if the answer carried one. */
  readonly cloudCode: string | undefined;

  /**
   * @param message - `cannot <op>: <reason>`
   * @param status - the HTTP status (0: no answer)
   * @param cloudCode - the cloud's error code
   * @param options - `{ cause }`
   */
  constructor(message: string, status: number, cloudCode: string | undefined, options?: { cause?: unknown }) {
    super(EDGE_ERR.CLOUD, message, options);
    this.name = 'CloudCallError';
    this.status = status;
    this.cloudCode = cloudCode;
  }
}

const MAX_BODY = 512 * 1024 * 1024;

/**
 * A key holder's client of the cloud's domain API: a plant's gateway (mTLS client certificate) or
 * the machine builder's key holder (bearer token, `hedge federation join` / `hedge job reveal`).
 *
 * @example
 * ```ts
 * const cloud = new CloudClient({ url: 'https://cloud.example:8443', tenant: 'plant-a', tls: { ca, cert, key } });
 * const fed = await cloud.federation('mills');
 * if (fed.round === 'pk' && fed.missing.includes('plant-a')) await cloud.postCeremonyShare('mills', 'pk', share);
 * ```
 */
export class CloudClient {
  readonly #base: URL;
  readonly #tenant: string;
  readonly #tls: CloudClientOptions['tls'];
  readonly #token: string | undefined;
  readonly #timeoutMs: number;

  /**
   * @throws EdgeTypeError / EdgeRangeError if the URL is not https or an option is malformed
   * @example
   * ```ts
   * new CloudClient({ url, tenant: 'plant-a', tls: { ca, cert, key } });
   * ```
   */
  constructor(options: CloudClientOptions) {
    const op = 'create cloud client';
    aObject(op, 'options', options);
    aString(op, 'options.url', options.url);
    aString(op, 'options.tenant', options.tenant);
    aObject(op, 'options.tls', options.tls);
    aString(op, 'options.tls.ca', options.tls.ca);
    if (options.token === undefined) for (const k of ['cert', 'key'] as const) aString(op, `options.tls.${k}`, options.tls[k]);
    else {
      aString(op, 'options.token', options.token);
      if (options.tls.cert !== undefined || options.tls.key !== undefined) throw new EdgeRangeError(`cannot ${op}: give a client certificate or a token, not both`);
    }
    let base: URL;
    try {
      base = new URL(options.url);
    } catch (e) {
      throw new EdgeRangeError(`cannot ${op}: options.url is not a URL`, { cause: e });
    }
    if (base.protocol !== 'https:') throw new EdgeRangeError(`cannot ${op}: options.url must be https, got ${base.protocol}`);
    if (options.timeoutMs !== undefined && (!Number.isInteger(options.timeoutMs) || options.timeoutMs < 1)) throw new EdgeRangeError(`cannot ${op}: options.timeoutMs must be a positive integer, got ${describe(options.timeoutMs)}`);
    this.#base = base;
    this.#tenant = options.tenant;
    this.#tls = { ...options.tls };
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? 60_000;
  }

  /** The plant's tenant id. */
  get tenant(): string {
    return this.#tenant;
  }

  /**
   * A federation and its ceremony state.
   * @throws CloudCallError (`EDGE_ERR_CLOUD`)
   * @example
   * ```ts
   * const { round, missing, seed } = await cloud.federation('mills');
   * ```
   */
  async federation(id: string): Promise<FederationView> {
    return this.#json('read federation', 'GET', `federations/${enc(id)}`);
  }

  /**
   * Public material of a federation's ceremony (bytes); 409 (`CLOUD_ERR_STATE`) until it exists.
   * @throws CloudCallError (`EDGE_ERR_CLOUD`)
   * @example
   * ```ts
   * const pk = await cloud.material('mills', 'public-key');
   * ```
   */
  async material(federation: string, what: Material): Promise<Uint8Array> {
    return (await this.#call(`read ${what}`, 'GET', `federations/${enc(federation)}/material/${what}`)).body;
  }

  /**
   * Posts the key holder's public share for a ceremony round.
   * @returns `accepted`, or `duplicate` for a share the cloud holds already
   * @throws CloudCallError (`EDGE_ERR_CLOUD`)
   * @example
   * ```ts
   * await cloud.postCeremonyShare('mills', 'rlk1', kh.relinKeyShareRound1('mills', seed));
   * ```
   */
  async postCeremonyShare(federation: string, round: CeremonyRoundName, share: Uint8Array): Promise<'accepted' | 'duplicate'> {
    return (await this.#json<{ status: 'accepted' | 'duplicate' }>(`post ${round} share`, 'POST', `federations/${enc(federation)}/ceremony/${round}`, share)).status;
  }

  /**
   * t-of-n: the Shamir shares the other key holders dealt to this one, each sealed to its
   * key-agreement key (`DealBundleCodec` bytes); 409 (`CLOUD_ERR_STATE`) before round `combine`.
   * @throws CloudCallError (`EDGE_ERR_CLOUD`)
   * @example
   * ```ts
   * kh.openDeal('mills', members, DealBundleCodec.fromBytes(await cloud.deal('mills')));
   * ```
   */
  async deal(federation: string): Promise<Uint8Array> {
    return (await this.#call('read the dealt shares', 'GET', `federations/${enc(federation)}/deal`)).body;
  }

  /**
   * A job's state, approvals and shares.
   * @throws CloudCallError (`EDGE_ERR_CLOUD`)
   * @example
   * ```ts
   * const { state, shares } = await cloud.job('job-1');
   * ```
   */
  async job(id: string): Promise<JobView> {
    return this.#json('read job', 'GET', `jobs/${enc(id)}`);
  }

  /**
   * A job's plan (what the plant admin reviews and approves by its digest).
   * @throws CloudCallError (`EDGE_ERR_CLOUD`)
   * @example
   * ```ts
   * const digest = jobPlanDigest(await cloud.plan('job-1'));
   * ```
   */
  async plan(id: string): Promise<JobPlan> {
    return this.#json('read job plan', 'GET', `jobs/${enc(id)}/plan`);
  }

  /**
   * A job's reveal request; 409 (`CLOUD_ERR_STATE`) until the job is revealing.
   * @throws CloudCallError (`EDGE_ERR_CLOUD`)
   * @example
   * ```ts
   * const { plan, receiverKeyHash, parties } = await cloud.revealRequest('job-1');
   * ```
   */
  async revealRequest(id: string): Promise<RevealRequestView> {
    return this.#json('read reveal request', 'GET', `jobs/${enc(id)}/reveal-request`);
  }

  /**
   * A job's encrypted aggregate (bytes of `encodePartial`).
   * @throws CloudCallError (`EDGE_ERR_CLOUD`)
   * @example
   * ```ts
   * const accs = decodePartial(engine, await cloud.aggregate('job-1'), plan.aggregation.stats.length);
   * ```
   */
  async aggregate(id: string): Promise<Uint8Array> {
    return (await this.#call('read aggregate', 'GET', `jobs/${enc(id)}/aggregate`)).body;
  }

  /**
   * Posts the key holder's reveal share of a job; t-of-n: for the reveal request's `attempt`
   * (409 once that attempt is over: read the request again).
   * @throws CloudCallError (`EDGE_ERR_CLOUD`)
   * @example
   * ```ts
   * await cloud.postRevealShare('job-1', kh.revealShare(request));
   * ```
   */
  async postRevealShare(id: string, share: Uint8Array, attempt?: number): Promise<JobView> {
    return this.#json('post reveal share', 'POST', `jobs/${enc(id)}/reveal-shares${attempt === undefined ? '' : `?attempt=${attempt}`}`, share);
  }

  /**
   * Registers the receiver's public key of a federation (the machine builder, once).
   * @throws CloudCallError (`EDGE_ERR_CLOUD`; 409 when another key is registered)
   * @example
   * ```ts
   * await cloud.putReceiverKey('mills', kh.receiverKey());
   * ```
   */
  async putReceiverKey(federation: string, key: Uint8Array): Promise<void> {
    await this.#call('register receiver key', 'PUT', `federations/${enc(federation)}/receiver-key`, key);
  }

  /**
   * A revealed job's result: the ciphertext switched to the receiver's key (the receiver only);
   * 409 (`CLOUD_ERR_STATE`) until the job is revealed.
   * @throws CloudCallError (`EDGE_ERR_CLOUD`)
   * @example
   * ```ts
   * const moments = kh.openResult(schema, plan, await cloud.result('job-1'));
   * ```
   */
  async result(id: string): Promise<Uint8Array> {
    return (await this.#call('read result', 'GET', `jobs/${enc(id)}/result`)).body;
  }

  /**
   * Reports an inference summary of this gateway (counts, abstentions, drift alarms; no values) for
   * the cloud's transparency log.
   * @throws CloudCallError (`EDGE_ERR_CLOUD`)
   * @example
   * ```ts
   * for (const summary of models.takeSummaries()) await cloud.reportInference(summary);
   * ```
   */
  async reportInference(summary: InferenceSummary): Promise<{ readonly payloadHash: string }> {
    return this.#json('report inference', 'POST', 'inference-summaries', new TextEncoder().encode(JSON.stringify(summary)), 'application/json');
  }

  /**
   * Reports a model's activation history entries for the cloud's transparency log (the cloud keeps
   * each entry once, so a resend after a restart is harmless).
   * @throws CloudCallError (`EDGE_ERR_CLOUD`)
   * @example
   * ```ts
   * await cloud.reportActivations('ai4i-failure', slots.history());
   * ```
   */
  async reportActivations(modelId: string, entries: readonly HistoryEntry[]): Promise<{ readonly logged: number }> {
    return this.#json('report activations', 'POST', 'activations', new TextEncoder().encode(JSON.stringify({ modelId, entries })), 'application/json');
  }

  /**
   * The cloud log's latest signed checkpoint (public): origin, size, the signed note, and the log's
   * verifier key (pin it; never trust it from the same answer).
   * @throws CloudCallError (`EDGE_ERR_CLOUD`)
   * @example
   * ```ts
   * const { checkpoint } = await cloud.checkpoint();
   * ```
   */
  async checkpoint(): Promise<{ readonly origin: string; readonly size: number; readonly checkpoint: string; readonly verifierKey: string }> {
    return this.#json('read checkpoint', 'GET', '/v1/log/checkpoint');
  }

  /**
   * A consistency proof between two sizes of the cloud's log (public; base64 hashes).
   * @throws CloudCallError (`EDGE_ERR_CLOUD`)
   * @example
   * ```ts
   * const { proof } = await cloud.consistency(10, 12);
   * ```
   */
  async consistency(from: number, to: number): Promise<{ readonly proof: readonly string[] }> {
    return this.#json('read consistency proof', 'GET', `/v1/log/consistency?from=${from}&to=${to}`);
  }

  async #json<T>(op: string, method: string, rest: string, body?: Uint8Array, type?: string): Promise<T> {
    const { body: bytes } = await this.#call(op, method, rest, body, type);
    try {
      return JSON.parse(Buffer.from(bytes).toString('utf8')) as T;
    } catch (e) {
      throw new CloudCallError(`cannot ${op}: the cloud's answer is not JSON`, 200, undefined, { cause: e });
    }
  }

  #call(op: string, method: string, rest: string, body?: Uint8Array, type = 'application/octet-stream'): Promise<{ status: number; body: Uint8Array }> {
    // `rest` is relative to the tenant's routes, or an absolute path (`/v1/log/…`).
    const path = rest.startsWith('/') ? rest : `/v1/tenants/${enc(this.#tenant)}/${rest}`;
    const target = new URL(`${this.#base.pathname.replace(/\/$/, '')}${path}`, this.#base);
    const headers: Record<string, string | number> = { accept: 'application/json, application/octet-stream' };
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
    if (body !== undefined) {
      headers['content-type'] = type;
      headers['content-length'] = body.length;
    }
    return new Promise((resolve, reject) => {
      const req = https.request(target, { method, headers, timeout: this.#timeoutMs, ...this.#tls, agent: false });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.#timeoutMs} ms`)));
      req.on('error', (e) => reject(new CloudCallError(`cannot ${op}: ${e.message}`, 0, undefined, { cause: e })));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY) req.destroy(new Error(`answer larger than ${MAX_BODY} bytes`));
          else chunks.push(c);
        });
        res.on('error', (e) => reject(new CloudCallError(`cannot ${op}: ${e.message}`, 0, undefined, { cause: e })));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const bytes = Buffer.concat(chunks);
          if (status >= 200 && status < 300) return resolve({ status, body: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) });
          let code: string | undefined;
          let message = '';
          try {
            const parsed = JSON.parse(bytes.subarray(0, 64 * 1024).toString('utf8')) as { code?: unknown; message?: unknown };
            if (typeof parsed.code === 'string') code = parsed.code.slice(0, 100);
            if (typeof parsed.message === 'string') message = parsed.message.slice(0, 500);
          } catch { /* not JSON: the status says it */ }
          reject(new CloudCallError(`cannot ${op}: the cloud answered ${status}${code || message ? `: ${[code, message].filter(Boolean).join(' ')}` : ''}`, status, code));
        });
      });
      req.end(body === undefined ? undefined : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
    });
  }
}

const enc = encodeURIComponent;
