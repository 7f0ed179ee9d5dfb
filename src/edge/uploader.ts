/**
 * The store-and-forward uploader (DESIGN.md §2; issue 6): sends the outbox's sealed batches to the
 * cloud through a {@link BatchSink}.
 *
 * - **In order per stream.** Each (dataset, plant) stream sends its batches in sequence order, one
 *   at a time; a stream waiting out a backoff does not hold up the others.
 * - **Idempotent.** A batch's bytes were stored before the first attempt, and every attempt (after
 *   a restart too) sends those bytes: the cloud answers `duplicate` when an earlier attempt had
 *   arrived but its answer was lost, and the batch is done.
 * - **Backoff.** A failure that may pass ({@link EDGE_ERR}.UPLOAD: network, 5xx, 401/403/404/408/429)
 *   is retried after `cap/2 + random·cap/2` ms with `cap = min(maxMs, initialMs·2^(n−1))` after the
 *   stream's n-th consecutive failure ("equal jitter": never sooner than half the cap, so a down
 *   cloud is not hammered, yet gateways that failed together spread out). A success resets it.
 * - **Refusals.** A batch the cloud refuses for good (`EDGE_ERR_UPLOAD_REJECTED`, other 4xx; or
 *   `EDGE_ERR_UPLOAD_CONFLICT`, 409) is parked in the outbox with the reason and never resent; the
 *   stream goes on with its next batch.
 * - **Resumable.** Everything it needs is in the outbox; after a restart it resumes where it was.
 * - **Metrics.** Backlog (batches, bytes, age), bytes sent, duplicates, retries, parked batches and
 *   the last success are persisted in the outbox ({@link Uploader.metrics}).
 * @module
 */
import { aFunction, aInteger, aObject } from './assert.ts';
import { EDGE_ERR, EdgeError, EdgeRangeError } from './errors.ts';
import type { Outbox, OutboxBatch, OutboxMetrics } from './outbox.ts';

/**
 * Where batches go. `upload` resolves with the cloud's answer, or rejects with an
 * {@link EdgeError}: `EDGE_ERR_UPLOAD_REJECTED` or `EDGE_ERR_UPLOAD_CONFLICT` when the cloud
 * refused the batch for good; anything else counts as a failure that may pass and is retried.
 */
export interface BatchSink {
  upload(dataset: string, plant: string, bytes: Uint8Array, options?: { signal?: AbortSignal }): Promise<'stored' | 'duplicate'>;
}

/** Exponential backoff of a stream after failures. */
export interface BackoffOptions {
  /** The cap after the first failure (default 500 ms). */
  readonly initialMs?: number;
  /** The largest cap (default 60 000 ms). */
  readonly maxMs?: number;
}

/** Reported through `onUploaded`. */
export interface UploadEvent {
  readonly batch: Omit<OutboxBatch, 'bytes'>;
  readonly status: 'stored' | 'duplicate';
  readonly bytes: number;
}

/** Reported through `onError`: a failed attempt, and what the uploader does about it. */
export interface UploadFailure {
  readonly batch: Omit<OutboxBatch, 'bytes'>;
  readonly error: EdgeError;
  /** `retry` after `delayMs`, or `parked` (refused for good). */
  readonly action: 'retry' | 'parked';
  readonly delayMs: number;
}

/** Options of {@link Uploader}. */
export interface UploaderOptions {
  readonly outbox: Outbox;
  readonly sink: BatchSink;
  readonly backoff?: BackoffOptions;
  /** Uniform in [0, 1) (default `Math.random`; tests pass a seeded one). */
  readonly random?: () => number;
  /** Clock in ms (default `Date.now`). */
  readonly now?: () => number;
  /** Called after each acknowledged batch; must not throw. */
  readonly onUploaded?: (event: UploadEvent) => void;
  /** Called after each failed attempt; must not throw. */
  readonly onError?: (failure: UploadFailure) => void;
}

/** {@link OutboxMetrics} plus what the running uploader knows. */
export interface UploaderMetrics extends OutboxMetrics {
  /** Streams waiting out a backoff now. */
  readonly backingOff: number;
  /** The last failure, or null (cleared by nothing: read with `lastSuccessAt`). */
  readonly lastError: { readonly code: string; readonly message: string; readonly at: number } | null;
}

/**
 * Sends the outbox's batches through a sink, in order per stream, with backoff (see the module
 * description).
 *
 * @example
 * ```ts
 * const uploader = new Uploader({ outbox, sink: new HttpSink({ url: 'https://cloud.example', token }) });
 * uploader.start();
 * setInterval(() => { gateway.seal(); uploader.kick(); }, 1000);
 * // …
 * await uploader.stop();
 * ```
 */
export class Uploader {
  readonly #outbox: Outbox;
  readonly #sink: BatchSink;
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #random: () => number;
  readonly #now: () => number;
  readonly #onUploaded: ((event: UploadEvent) => void) | undefined;
  readonly #onError: ((failure: UploadFailure) => void) | undefined;
  /** Per stream key: consecutive failures and when the next attempt may start. */
  readonly #backoff = new Map<string, { failures: number; notBefore: number }>();
  #lastError: UploaderMetrics['lastError'] = null;
  #loop: Promise<void> | undefined;
  #abort: AbortController | undefined;
  #wake: (() => void) | undefined;
  #idleWaiters: (() => void)[] = [];

  /**
   * @throws EdgeTypeError / EdgeRangeError if an option is malformed
   * @example
   * ```ts
   * const uploader = new Uploader({ outbox, sink: new LakeSink({ lake, engine }), backoff: { initialMs: 200, maxMs: 30_000 } });
   * ```
   */
  constructor(options: UploaderOptions) {
    const op = 'create uploader';
    aObject(op, 'options', options);
    aObject(op, 'options.outbox', options.outbox);
    aObject(op, 'options.sink', options.sink);
    aFunction(op, 'options.sink.upload', options.sink.upload);
    const b = options.backoff ?? {};
    aObject(op, 'options.backoff', b);
    if (b.initialMs !== undefined) aInteger(op, 'options.backoff.initialMs', b.initialMs, 1);
    if (b.maxMs !== undefined) aInteger(op, 'options.backoff.maxMs', b.maxMs, 1);
    this.#initialMs = b.initialMs ?? 500;
    this.#maxMs = b.maxMs ?? 60_000;
    if (this.#maxMs < this.#initialMs) throw new EdgeRangeError(`cannot ${op}: options.backoff.maxMs ${this.#maxMs} is below initialMs ${this.#initialMs}`);
    for (const k of ['random', 'now', 'onUploaded', 'onError'] as const) if (options[k] !== undefined) aFunction(op, `options.${k}`, options[k]);
    this.#outbox = options.outbox;
    this.#sink = options.sink;
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
    this.#onUploaded = options.onUploaded;
    this.#onError = options.onError;
  }

  /**
   * Starts sending in the background. Idempotent while running.
   * @example
   * ```ts
   * uploader.start();
   * ```
   */
  start(): void {
    if (this.#loop !== undefined) return;
    const abort = new AbortController();
    this.#abort = abort;
    this.#loop = this.#run(abort.signal).catch((e: unknown) => {
      // Only the outbox can fail here (storage, closed); report it and stop.
      this.#report(undefined, e instanceof EdgeError ? e : new EdgeError(EDGE_ERR.OUTBOX_STORAGE, `cannot upload batches: ${(e as Error)?.message ?? String(e)}`, { cause: e }));
    }).finally(() => {
      this.#loop = undefined;
      for (const w of this.#idleWaiters.splice(0)) w();
    });
  }

  /**
   * Tells a waiting uploader that new batches are in the outbox (streams in backoff keep waiting).
   * @example
   * ```ts
   * gateway.seal(); uploader.kick();
   * ```
   */
  kick(): void {
    this.#wake?.();
  }

  /**
   * Resolves when no batch waits in the outbox (or the uploader stopped). Batches in backoff are
   * waited for.
   * @example
   * ```ts
   * await uploader.idle();
   * ```
   */
  idle(): Promise<void> {
    if (this.#loop === undefined) return Promise.resolve();
    return new Promise((resolve) => {
      this.#idleWaiters.push(resolve);
      this.kick();
    });
  }

  /**
   * Stops: aborts an attempt in flight (it counts as not sent, and is sent again later) and
   * resolves when the loop has ended. Idempotent.
   * @example
   * ```ts
   * await uploader.stop(); outbox.close();
   * ```
   */
  async stop(): Promise<void> {
    this.#abort?.abort();
    this.kick();
    await this.#loop;
  }

  /**
   * Backlog and upload figures (persisted in the outbox) plus the streams in backoff and the last
   * failure.
   * @throws EdgeError `EDGE_ERR_OUTBOX_STORAGE`, `EDGE_ERR_OUTBOX_CLOSED`
   * @example
   * ```ts
   * const { backlogBatches, backlogBytes, sentBytes, retries, lastSuccessAt } = uploader.metrics();
   * ```
   */
  metrics(): UploaderMetrics {
    const now = this.#now();
    let backingOff = 0;
    for (const b of this.#backoff.values()) if (b.notBefore > now) backingOff++;
    return Object.freeze({ ...this.#outbox.metrics(), backingOff, lastError: this.#lastError });
  }

  async #run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const queues = this.#outbox.queues();
      if (queues.length === 0) for (const w of this.#idleWaiters.splice(0)) w();
      const now = this.#now();
      let soonest = Infinity;
      let sent = false;
      for (const q of queues) {
        if (signal.aborted) return;
        const b = this.#backoff.get(key(q));
        if (b !== undefined && b.notBefore > now) {
          soonest = Math.min(soonest, b.notBefore);
          continue;
        }
        const batch = this.#outbox.head(q.dataset, q.plant);
        if (batch === undefined) continue;
        await this.#attempt(batch, signal);
        sent = true;
      }
      if (!sent) await this.#sleep(soonest === Infinity ? Infinity : soonest - now, signal);
    }
  }

  async #attempt(batch: OutboxBatch, signal: AbortSignal): Promise<void> {
    const { bytes, ...about } = batch;
    const k = key(batch);
    let status: 'stored' | 'duplicate';
    try {
      status = await this.#sink.upload(batch.dataset, batch.plant, bytes, { signal });
      if (status !== 'stored' && status !== 'duplicate') throw new EdgeError(EDGE_ERR.UPLOAD, `cannot upload batch ${batch.batchId}: the sink answered ${String(status)}`);
    } catch (e) {
      if (signal.aborted) return; // stopping: not a failure of the batch
      const error = e instanceof EdgeError ? e : new EdgeError(EDGE_ERR.UPLOAD, `cannot upload batch ${batch.batchId}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
      if (error.code === EDGE_ERR.UPLOAD_REJECTED || error.code === EDGE_ERR.UPLOAD_CONFLICT) {
        this.#outbox.park(batch, error.code, error.message);
        this.#report({ batch: about, error, action: 'parked', delayMs: 0 });
        return;
      }
      const failures = (this.#backoff.get(k)?.failures ?? 0) + 1;
      const cap = Math.min(this.#maxMs, this.#initialMs * 2 ** Math.min(failures - 1, 40));
      const delayMs = Math.round(cap / 2 + this.#random() * (cap / 2));
      this.#backoff.set(k, { failures, notBefore: this.#now() + delayMs });
      this.#outbox.markRetry(batch);
      this.#report({ batch: about, error, action: 'retry', delayMs });
      return;
    }
    this.#outbox.markSent(batch, status);
    this.#backoff.delete(k);
    try {
      this.#onUploaded?.({ batch: about, status, bytes: bytes.length });
    } catch (e) {
      process.emitWarning(`hedge uploader: onUploaded threw (${(e as Error)?.message})`, 'EdgeUploaderWarning');
    }
  }

  #report(failure: UploadFailure | undefined, error?: EdgeError): void {
    const e = failure?.error ?? error!;
    this.#lastError = Object.freeze({ code: e.code, message: e.message, at: this.#now() });
    if (failure === undefined) return;
    try {
      this.#onError?.(failure);
    } catch (err) {
      process.emitWarning(`hedge uploader: onError threw (${(err as Error)?.message})`, 'EdgeUploaderWarning');
    }
  }

  #sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.#wake = undefined;
        resolve();
      };
      if (Number.isFinite(ms)) timer = setTimeout(done, Math.max(0, ms));
      signal.addEventListener('abort', done, { once: true });
      this.#wake = done;
    });
  }
}

function key(q: { dataset: string; plant: string }): string {
  return `${q.dataset}\n${q.plant}`;
}
