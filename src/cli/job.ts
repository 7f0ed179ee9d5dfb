/**
 * `hedge job run|status` and `hedge approve`: the machine builder runs a job on a dataset and
 * follows it (a progress bar on stderr, the job as JSON on stdout with `--json`); a plant admin
 * approves the reveal of a job that used the plant's data.
 */
import type { Command } from 'commander';
import { CLOUD_ERR, CloudError } from '../cloud/errors.ts';
import { connect, print, withConnection, type CloudClient, type ConnectionOptions } from './client.ts';

interface JobView {
  id: string; federation: string; dataset: string; state: string; progress: { done: number; total: number };
  plants: string[]; records: number; approvals: string[]; shares: string[]; deadline: string; error?: string;
}

/** States in which a job is still computing. */
const WORKING = new Set(['queued', 'running']);

function describe(j: JobView): string {
  const waiting = j.state === 'computed' || j.state === 'revealing' ? `; approvals ${j.approvals.length}/${j.plants.length} (${j.approvals.join(', ') || 'none'}), shares ${j.shares.length}` : '';
  return `job ${j.id} ${j.state}: ${j.progress.done}/${j.progress.total} batches, ${j.records} records of ${j.plants.join(', ')}${waiting}${j.error ? `; error: ${j.error}` : ''}`;
}

/** A progress bar on stderr: redrawn in place on a terminal, a line per change otherwise. */
function progressLine(j: JobView): string {
  const width = 30;
  const frac = j.progress.total === 0 ? 0 : j.progress.done / j.progress.total;
  const filled = Math.round(frac * width);
  return `${j.id} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${j.progress.done}/${j.progress.total} ${j.state}`;
}

async function follow(client: CloudClient, url: string, timeoutS: number): Promise<JobView> {
  const tty = process.stderr.isTTY === true;
  const until = Date.now() + timeoutS * 1000;
  let last = '';
  for (;;) {
    const j = await client.call<JobView>('GET', url);
    const line = progressLine(j);
    if (line !== last) process.stderr.write(tty ? `\r${line}` : `${line}\n`);
    last = line;
    if (!WORKING.has(j.state)) {
      if (tty) process.stderr.write('\n');
      return j;
    }
    if (Date.now() > until) {
      if (tty) process.stderr.write('\n');
      throw new CloudError(CLOUD_ERR.STATE, `cannot wait for job ${j.id}: still ${j.state} after ${timeoutS} s`, { hint: `follow it with hedge job status ${j.id}` });
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

const positive = (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new CloudError(CLOUD_ERR.VALIDATION, `cannot read --timeout: expected a positive number of seconds, got ${JSON.stringify(v)}`);
  return n;
};
const collect = (v: string, all: string[] = []): string[] => [...all, v];

/**
 * Registers `hedge job …` and `hedge approve`.
 *
 * @example
 * ```ts
 * registerJobCommands(program); // hedge job run --federation mills --dataset mills --features speed,torque --label
 * ```
 */
export function registerJobCommands(program: Command): void {
  const job = program.command('job').description('jobs: encrypted statistics over a dataset, revealed to the builder after approvals');
  withConnection(job.command('run'))
    .description('submit a job and follow it until it has computed (then plants approve its reveal)')
    .requiredOption('--federation <id>', 'the federation')
    .requiredOption('--dataset <id>', 'the dataset')
    .requiredOption('--features <names>', 'comma-separated feature names')
    .option('--label', 'also use the label (supervised models)')
    .option('--plant <tenant>', 'only this plant (repeat; default every plant)', collect)
    .option('--id <id>', 'job id (default: the cloud picks one)')
    .option('--detach', 'submit and return without following the job')
    .option('--timeout <s>', 'stop following after this many seconds', positive, 3600)
    .option('--json', 'print the job as JSON on stdout')
    .action(async (opts: ConnectionOptions & { federation: string; dataset: string; features: string; label?: boolean; plant?: string[]; id?: string; detach?: boolean; timeout: number; json?: boolean }) => {
      const { client, tenant } = await connect(opts);
      const spec = { features: opts.features.split(',').map((f) => f.trim()).filter((f) => f.length > 0), label: opts.label === true, ...(opts.plant ? { plants: opts.plant } : {}) };
      const submitted = await client.call<JobView>('POST', `/v1/tenants/${tenant}/jobs`, { ...(opts.id ? { id: opts.id } : {}), federation: opts.federation, dataset: opts.dataset, spec });
      const done = opts.detach ? submitted : await follow(client, `/v1/tenants/${tenant}/jobs/${encodeURIComponent(submitted.id)}`, opts.timeout);
      print(opts.json, done, describe);
      if (done.state === 'failed' || done.state === 'cancelled' || done.state === 'expired') {
        throw new CloudError(CLOUD_ERR.STATE, `cannot complete job ${done.id}: it ${done.state}${done.error ? `: ${done.error}` : ''}`);
      }
    });
  withConnection(job.command('status <job>'))
    .description('a job\'s state, progress, approvals and reveal shares')
    .option('--json', 'print the job as JSON')
    .action(async (id: string, opts: ConnectionOptions & { json?: boolean }) => {
      const { client, tenant } = await connect(opts);
      print(opts.json, await client.call<JobView>('GET', `/v1/tenants/${tenant}/jobs/${encodeURIComponent(id)}`), describe);
    });

  withConnection(program.command('approve <job>'))
    .description('as a plant admin, approve the reveal of a job that used your plant\'s data (--tenant: your plant)')
    .option('--json', 'print the job as JSON')
    .action(async (id: string, opts: ConnectionOptions & { json?: boolean }) => {
      const { client, tenant } = await connect(opts);
      const j = await client.call<JobView>('POST', `/v1/tenants/${tenant}/jobs/${encodeURIComponent(id)}/approvals`);
      print(opts.json, j, (x) => `approved job ${x.id} for ${tenant}; ${describe(x)}`);
    });
}
