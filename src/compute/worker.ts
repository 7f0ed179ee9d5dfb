/**
 * A compute worker thread: one SEAL engine, one {@link Accumulator}. It takes
 * batch bytes (checked against their pinned hash), accumulates, and on
 * `finish` relinearizes its partial aggregate and returns it as ciphertext
 * wire bytes. Spawned by aggregate.ts; messages are {@link WorkerRequest} and
 * {@link WorkerReply}.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SealEngine } from '../he/backend/seal.ts';
import type { HeParams } from '../he/params.ts';
import { CiphertextCodec, RelinKeysCodec } from '../he/wire.ts';
import { Accumulator } from './accumulate.ts';
import { openBatch } from './batch.ts';
import type { AggregationPlan } from './plan.ts';

/** What a worker is started with. */
export interface WorkerInit {
  readonly params: HeParams;
  readonly relinKeys: Uint8Array;
  readonly plan: AggregationPlan;
}

/** Messages to a worker. */
export type WorkerRequest =
  | { readonly type: 'batch'; readonly id: number; readonly hash: string; readonly bytes: ArrayBuffer }
  | { readonly type: 'finish' };

/** Messages from a worker. */
export type WorkerReply =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly id: number }
  | { readonly type: 'result'; readonly parts: readonly ArrayBuffer[] }
  | { readonly type: 'error'; readonly code: string; readonly message: string };

const port = parentPort;
if (port === null) throw new Error('cannot run compute worker: not in a worker thread');
const post = (reply: WorkerReply, transfer: ArrayBuffer[] = []): void => port.postMessage(reply, transfer);
const fail = (e: unknown): void => {
  const err = e as { code?: unknown; message?: unknown };
  post({ type: 'error', code: typeof err?.code === 'string' ? err.code : 'COMPUTE_ERR_WORKER', message: String(err?.message ?? e) });
};

try {
  const init = workerData as WorkerInit;
  const engine = await SealEngine.create(init.params);
  const rk = RelinKeysCodec.fromBytes(engine, init.relinKeys);
  const acc = new Accumulator(engine, init.plan);
  port.on('message', (msg: WorkerRequest) => {
    try {
      if (msg.type === 'batch') {
        const { columns } = openBatch(engine, new Uint8Array(msg.bytes), msg.hash);
        try {
          acc.add(columns);
        } finally {
          for (const ct of columns) ct[Symbol.dispose]();
        }
        post({ type: 'done', id: msg.id });
      } else {
        const cts = acc.batches === 0 ? [] : acc.finish(rk);
        const parts = cts.map((ct) => {
          const bytes = CiphertextCodec.toBytes(engine, ct);
          ct[Symbol.dispose]();
          return bytes.buffer as ArrayBuffer;
        });
        post({ type: 'result', parts }, parts);
      }
    } catch (e) {
      fail(e);
    }
  });
  post({ type: 'ready' });
} catch (e) {
  fail(e);
}
