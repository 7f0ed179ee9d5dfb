/**
 * `hedge cloud start`: the cloud service over HTTPS (src/cloud/service.ts).
 * Runs until SIGINT / SIGTERM, then shuts down gracefully (running jobs finish
 * or go back to the queue).
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ROLES, type Role } from '../trust/access/policy.ts';
import { grantRole } from '../cloud/roles.ts';
import { setLocalUser } from '../cloud/users.ts';
import { startHedgeCloud } from '../cloud/service.ts';

/** One entry of the `--bootstrap` file: a local user and the roles it holds. */
export interface BootstrapUser {
  readonly username: string;
  /** The password, or the name of an environment variable holding it (`env:NAME`). */
  readonly password: string;
  readonly roles: readonly { readonly role: Role; readonly tenant: string }[];
}

function parseBootstrap(text: string, file: string): BootstrapUser[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new Error(`cannot read ${file}: not JSON`, { cause });
  }
  if (!Array.isArray(json)) throw new Error(`cannot read ${file}: expected an array of { username, password, roles: [{ role, tenant }] }`);
  return json.map((u: Partial<BootstrapUser>, i) => {
    if (typeof u?.username !== 'string' || typeof u.password !== 'string' || !Array.isArray(u.roles)) throw new Error(`cannot read ${file}: entry ${i} needs username, password and roles`);
    for (const r of u.roles) if (!ROLES.includes(r?.role) || typeof r.tenant !== 'string') throw new Error(`cannot read ${file}: entry ${i} has a role that is not one of ${ROLES.join(', ')} with a tenant`);
    const password = u.password.startsWith('env:') ? process.env[u.password.slice(4)] : u.password;
    if (password === undefined) throw new Error(`cannot read ${file}: entry ${i}'s password variable ${u.password.slice(4)} is not set`);
    return { username: u.username, password, roles: u.roles };
  });
}

const int = (name: string, lo: number, hi: number) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < lo || n > hi) throw new Error(`${name} must be an integer in [${lo}, ${hi}], got ${v}`);
  return n;
};

/**
 * Registers `hedge cloud start`.
 *
 * @example
 * ```ts
 * registerCloudCommand(program); // then: hedge cloud start --data-dir ./hedge-data --bootstrap users.json
 * ```
 */
export function registerCloudCommand(program: Command): void {
  const cloud = program.command('cloud').description('the cloud service: encrypted lake, federations, jobs, reveals');
  cloud
    .command('start')
    .description('run the cloud over HTTPS until SIGINT / SIGTERM')
    .option('--data-dir <dir>', 'CA, keys, embedded database and lake', './hedge-data')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--port <n>', 'port (0 picks a free one)', int('--port', 0, 65535), 8443)
    .option('--database-url <url>', 'PostgreSQL (default: $DATABASE_URL, else PGlite in the data dir)')
    .option('--lake <dir>', 'the lake folder (default <data-dir>/lake; share it with hedge worker)')
    .option('--threads <n>', 'worker threads per job (embedded workers)', int('--threads', 1, 64), 2)
    .option('--workers <mode>', 'where jobs aggregate: embedded (threads in this process) or queue (partitions on the PostgreSQL queue for hedge worker processes sharing --lake; needs --database-url)', 'embedded')
    .option('--partition-batches <n>', 'batches per queued partition (--workers queue)', int('--partition-batches', 1, 1_000_000), 8)
    .option('--bootstrap <file>', 'JSON list of local users and their roles to create at start')
    .option('--allow-insecure-params', 'serve TEST_INSECURE_* parameter presets (tests only)')
    .option('--reveal-attempt-seconds <n>', 't-of-n: how long the active set of a reveal attempt has to answer before a new one is chosen', int('--reveal-attempt-seconds', 1, 30 * 86_400), 3600)
    .option('--openlineage-url <url>', 'send every job\'s OpenLineage run events to this backend (POST <url>/api/v1/lineage; key in $OPENLINEAGE_API_KEY)')
    .action(async (opts: { dataDir: string; host: string; port: number; databaseUrl?: string; lake?: string; threads: number; workers: string; partitionBatches: number; bootstrap?: string; allowInsecureParams?: boolean; openlineageUrl?: string; revealAttemptSeconds: number }) => {
      const running = await startHedgeCloud({
        dataDir: opts.dataDir, host: opts.host, port: opts.port, lakeDir: opts.lake, threads: opts.threads, allowInsecure: opts.allowInsecureParams === true, revealAttemptMs: opts.revealAttemptSeconds * 1000,
        workers: opts.workers as 'embedded' | 'queue', partitionBatches: opts.partitionBatches,
        ...(opts.databaseUrl === undefined ? {} : { databaseUrl: opts.databaseUrl }),
        ...(opts.openlineageUrl === undefined ? {} : { openLineage: { url: opts.openlineageUrl, ...(process.env.OPENLINEAGE_API_KEY ? { apiKey: process.env.OPENLINEAGE_API_KEY } : {}) } }),
        app: { logger: { level: 'warn' } },
      });
      if (opts.bootstrap !== undefined) {
        const db = running.app.cloud.db;
        for (const u of parseBootstrap(await readFile(opts.bootstrap, 'utf8'), opts.bootstrap)) {
          await setLocalUser(db, { username: u.username, password: u.password });
          for (const r of u.roles) await grantRole(db, { subject: u.username, role: r.role, tenant: r.tenant, grantedBy: 'bootstrap' });
        }
      }
      process.stderr.write(`hedge cloud listening on ${running.url}\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await running.close();
      process.stderr.write('hedge cloud stopped\n');
    });
}
