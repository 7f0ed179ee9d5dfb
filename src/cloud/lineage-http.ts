/**
 * The OpenLineage HTTP transport: a sink for {@link JobLineage} that POSTs each run event as JSON
 * to a lineage backend (Marquez, DataHub, OpenMetadata, …) at `<url>/api/v1/lineage`, the
 * default endpoint of OpenLineage's HTTP transport. A failed POST throws, which leaves the event
 * pending in the cloud's table until `JobLineage.deliverPending()` sends it again — a backend that
 * is down never fails a job and never loses an event.
 * @module
 */
import type { RunEvent } from './lineage.ts';

/** Options of {@link openLineageHttpSink}. */
export interface LineageHttpOptions {
  /** Base URL of the backend, `http://` or `https://` (the endpoint path is appended). */
  readonly url: string;
  /** Endpoint path (default `/api/v1/lineage`). */
  readonly endpoint?: string;
  /** Sent as `Authorization: Bearer <apiKey>` when given. */
  readonly apiKey?: string;
  /** Per-request timeout (default 10 000 ms). */
  readonly timeoutMs?: number;
}

/**
 * A sink that POSTs each event to an OpenLineage HTTP endpoint; any status outside 2xx, a network
 * error or a timeout rejects (with the status and the start of the answer's body in the message).
 *
 * @throws {TypeError} when `url` is not an http(s) URL, `endpoint` does not start with `/`, or
 *   `timeoutMs` is not a positive integer
 * @example
 * ```ts
 * const lineage = await JobLineage.open({ sql, emit: openLineageHttpSink({ url: 'http://marquez:5000' }) });
 * setInterval(() => void lineage.deliverPending(), 60_000);
 * ```
 */
export function openLineageHttpSink(options: LineageHttpOptions): (event: RunEvent) => Promise<void> {
  let base: URL;
  try {
    base = new URL(options.url);
  } catch (cause) {
    throw new TypeError(`cannot create lineage sink: url is not a URL, got ${JSON.stringify(options.url)}`, { cause });
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new TypeError(`cannot create lineage sink: url must be http or https, got ${base.protocol}`);
  const endpoint = options.endpoint ?? '/api/v1/lineage';
  if (!endpoint.startsWith('/')) throw new TypeError(`cannot create lineage sink: endpoint must start with /, got ${JSON.stringify(endpoint)}`);
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new TypeError(`cannot create lineage sink: timeoutMs must be a positive integer, got ${timeoutMs}`);
  const target = new URL(base.pathname.replace(/\/$/, '') + endpoint, base);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.apiKey !== undefined) headers.authorization = `Bearer ${options.apiKey}`;
  return async (event) => {
    const res = await fetch(target, { method: 'POST', headers, body: JSON.stringify(event), signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) {
      const text = (await res.text().catch(() => '')).slice(0, 200);
      throw new Error(`cannot deliver lineage event to ${target.href}: HTTP ${res.status}${text ? `: ${text}` : ''}`);
    }
    await res.body?.cancel();
  };
}
