/**
 * `hedge worker`: a compute worker process of the cloud's server mode. It takes
 * aggregation partitions from the pg-boss queue on PostgreSQL, reads batches
 * from the lake folder it shares with the cloud, and stores partial aggregates
 * there (src/cloud/queue.ts). Stops cleanly on SIGINT / SIGTERM, finishing the
 * partition in hand.
 */
import os from 'node:os';
import type { Command } from 'commander';
import { FileBlobStore } from '../cloud/blobs.ts';
import { openQueue, startAggregationWorker } from '../cloud/queue.ts';

/**
 * Registers `hedge worker --database-url <url> --lake <dir> [--threads <n>] [--id <name>]`.
 *
 * @example
 * ```ts
 * registerWorkerCommand(program); // then: hedge worker --database-url postgres://… --lake /srv/hedge/lake
 * ```
 */
export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run a compute worker: aggregation partitions from the PostgreSQL queue, batches from the shared lake')
    .option('--database-url <url>', 'PostgreSQL of the cloud (default: $DATABASE_URL)')
    .option('--lake <dir>', 'the lake folder shared with the cloud (default: $HEDGE_LAKE)')
    .option('--threads <n>', 'threads per partition', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`--threads must be an integer in [1, 64], got ${v}`);
      return n;
    }, 1)
    .option('--id <name>', 'this worker\'s name in results and logs', `${os.hostname()}-${process.pid}`)
    .action(async (opts: { databaseUrl?: string; lake?: string; threads: number; id: string }) => {
      const url = opts.databaseUrl ?? process.env.DATABASE_URL;
      const lake = opts.lake ?? process.env.HEDGE_LAKE;
      if (url === undefined || lake === undefined) throw new Error('cannot start worker: give --database-url (or DATABASE_URL) and --lake (or HEDGE_LAKE)');
      const boss = await openQueue(url);
      const worker = await startAggregationWorker({ boss, blobs: await FileBlobStore.open(lake), threads: opts.threads, workerId: opts.id });
      process.stderr.write(`worker ${opts.id} ready\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await worker.stop();
      await boss.stop({ graceful: true, close: true });
      process.stderr.write(`worker ${opts.id} stopped\n`);
    });
}
