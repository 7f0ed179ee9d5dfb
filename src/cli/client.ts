/**
 * The CLI's side of the cloud API: `hedge login`, the session it caches, and an HTTPS client
 * that trusts the cloud's CA file and sends the bearer token.
 *
 * `hedge login --url <url> --ca <ca.pem> --user <name>` asks for the password (or reads
 * `HEDGE_PASSWORD`), gets a token from `POST /v1/auth/token`, and caches URL, CA path, tenant and
 * token in `session.json` (mode 0600) under the config dir: `$HEDGE_CONFIG_DIR`, else
 * `$XDG_CONFIG_HOME/hedge`, else `~/.config/hedge`. Every other command reads it; `HEDGE_TOKEN`,
 * `HEDGE_URL`, `HEDGE_CA` and `HEDGE_TENANT` override it (scripts and CI need no file).
 * Failures carry a `code` and a `hint`: the server's answer as it is, `CLOUD_ERR_UNREACHABLE`
 * when the cloud cannot be reached, `CLOUD_ERR_UNAUTHENTICATED` when there is no session.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { CLOUD_ERR, CloudError } from '../cloud/errors.ts';

/** What `hedge login` caches. */
export interface Session {
  readonly url: string;
  /** Absolute path of the cloud's CA certificate (PEM). */
  readonly ca: string;
  readonly token: string;
  /** The tenant commands act in when `--tenant` is not given. */
  readonly tenant?: string;
  readonly user?: string;
  readonly expiresAt?: string;
}

/** An error the cloud answered: its code, message and hint as sent. */
export class RemoteError extends Error {
  /** The stable code of the answer (`CLOUD_ERR_*`, `HE_ERR_*`, `COMPUTE_ERR_*`). */
  readonly code: string;
  readonly status: number;
  readonly hint: string | undefined;
  /**
   * @throws never
   * @example
   * ```ts
   * new RemoteError(404, 'CLOUD_ERR_NOT_FOUND', 'cannot read job: no job "j"');
   * ```
   */
  constructor(status: number, code: string, message: string, hint?: string) {
    super(message);
    this.name = 'RemoteError';
    this.status = status;
    this.code = code;
    this.hint = hint;
  }
}

/**
 * The CLI's config dir.
 *
 * @throws never
 * @example
 * ```ts
 * configDir(); // ~/.config/hedge
 * ```
 */
export function configDir(): string {
  return process.env.HEDGE_CONFIG_DIR ?? path.join(process.env.XDG_CONFIG_HOME ?? path.join(os.homedir(), '.config'), 'hedge');
}

/**
 * Writes a file of the config dir with mode 0600 (the dir 0700).
 *
 * @throws {Error} file-system errors
 * @example
 * ```ts
 * await writePrivate('session.json', JSON.stringify(session));
 * ```
 */
export async function writePrivate(name: string, text: string): Promise<string> {
  const dir = configDir();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, name);
  await writeFile(file, text, { mode: 0o600 });
  await chmod(file, 0o600);
  return file;
}

/**
 * Reads a file of the config dir, or undefined when it does not exist.
 *
 * @throws {Error} file-system errors other than a missing file
 * @example
 * ```ts
 * const pin = await readPrivate('log.json');
 * ```
 */
export async function readPrivate(name: string): Promise<string | undefined> {
  try {
    return await readFile(path.join(configDir(), name), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** A client of one cloud. */
export class CloudClient {
  readonly url: string;
  readonly #ca: string;
  readonly #token: string | undefined;

  /**
   * @param url - the cloud's base URL (`https://…`)
   * @param ca - the CA certificate PEM text
   * @param token - the bearer token, when calls need one
   * @throws {TypeError} for a URL that is not HTTPS
   * @example
   * ```ts
   * const client = new CloudClient('https://127.0.0.1:8443', caPem, token);
   * ```
   */
  constructor(url: string, ca: string, token?: string) {
    if (typeof url !== 'string' || !URL.canParse(url) || new URL(url).protocol !== 'https:') throw new TypeError(`cannot use cloud URL ${JSON.stringify(url)}: it must be https://…`);
    this.url = url.replace(/\/+$/, '');
    this.#ca = ca;
    this.#token = token;
  }

  /**
   * One JSON call. Resolves to the parsed answer (undefined for an empty one).
   *
   * @throws {RemoteError} the cloud answered an error (its code, message and hint)
   * @throws {CloudError} `CLOUD_ERR_UNREACHABLE` when the cloud cannot be reached
   * @example
   * ```ts
   * const job = await client.call<{ state: string }>('GET', '/v1/tenants/builder/jobs/job-1');
   * ```
   */
  call<T = unknown>(method: string, url: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (payload !== undefined) headers['content-type'] = 'application/json';
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
    return new Promise((resolve, reject) => {
      const req = httpsRequest(`${this.url}${url}`, { method, headers, ca: this.#ca, agent: false, timeout: 60_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text.length === 0 ? undefined : JSON.parse(text);
          } catch {
            json = undefined;
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve(json as T);
          const e = (json ?? {}) as { code?: unknown; message?: unknown; hint?: unknown };
          reject(new RemoteError(status, typeof e.code === 'string' ? e.code : `HTTP_${status}`, typeof e.message === 'string' ? e.message : `cannot ${method} ${url}: HTTP ${status}`, typeof e.hint === 'string' ? e.hint : hintFor(status)));
        });
      });
      req.on('timeout', () => req.destroy(new Error('no answer within 60 s')));
      req.on('error', (cause) => reject(new CloudError(CLOUD_ERR.UNREACHABLE, `cannot reach ${this.url}: ${cause.message}`, { cause, hint: 'check the URL, that the cloud runs, and that --ca is the cloud\'s ca.pem' })));
      req.end(payload);
    });
  }
}

function hintFor(status: number): string | undefined {
  if (status === 401) return 'log in again: hedge login --url <url> --ca <ca.pem> --user <name> (or set HEDGE_TOKEN)';
  if (status === 403) return 'ask a plant admin of the tenant for a role that allows this';
  return undefined;
}

/** Options every cloud command accepts (they override the session). */
export interface ConnectionOptions {
  readonly url?: string;
  readonly ca?: string;
  readonly tenant?: string;
}

/**
 * Adds `--url`, `--ca` and `--tenant` to a command.
 *
 * @throws never
 * @example
 * ```ts
 * withConnection(program.command('model').command('list'));
 * ```
 */
export function withConnection(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'the cloud (default: $HEDGE_URL, else the login session)')
    .option('--ca <file>', 'the cloud\'s CA certificate (default: $HEDGE_CA, else the login session)')
    .option('--tenant <tenant>', 'the tenant to act in (default: $HEDGE_TENANT, else the login session)');
}

/** Where and as whom a command calls the cloud. */
export interface Connection {
  readonly url: string;
  /** The cloud's CA certificate (PEM text). */
  readonly ca: string;
  readonly token: string | undefined;
  readonly tenant: string;
}

/**
 * The connection for a command: options, then the environment, then the cached session.
 *
 * @param needTenant - false for commands that act in no tenant
 * @param needToken - false for commands that call public routes only
 * @throws {CloudError} `CLOUD_ERR_UNAUTHENTICATED` without a URL or CA (or token when needed); `CLOUD_ERR_VALIDATION` without a tenant
 * @example
 * ```ts
 * const { url, ca, token, tenant } = await connection(opts);
 * ```
 */
export async function connection(opts: ConnectionOptions, needTenant = true, needToken = true): Promise<Connection> {
  const text = await readPrivate('session.json');
  let session: Partial<Session> = {};
  if (text !== undefined) {
    try {
      session = JSON.parse(text) as Partial<Session>;
    } catch (cause) {
      throw new CloudError(CLOUD_ERR.UNAUTHENTICATED, `cannot read ${path.join(configDir(), 'session.json')}: not JSON`, { cause, hint: 'log in again with hedge login' });
    }
  }
  const url = opts.url ?? process.env.HEDGE_URL ?? session.url;
  const caFile = opts.ca ?? process.env.HEDGE_CA ?? session.ca;
  const token = process.env.HEDGE_TOKEN ?? session.token;
  const tenant = opts.tenant ?? process.env.HEDGE_TENANT ?? session.tenant;
  const login = 'run hedge login --url <url> --ca <ca.pem> --user <name> [--tenant <tenant>], or set HEDGE_URL, HEDGE_CA and HEDGE_TOKEN';
  if (url === undefined || caFile === undefined || (needToken && token === undefined)) throw new CloudError(CLOUD_ERR.UNAUTHENTICATED, 'cannot call the cloud: not logged in', { hint: login });
  if (needTenant && tenant === undefined) throw new CloudError(CLOUD_ERR.VALIDATION, 'cannot call the cloud: no tenant', { hint: 'pass --tenant, set HEDGE_TENANT, or log in with --tenant' });
  return { url, ca: await readCa(caFile), token, tenant: tenant ?? '' };
}

/**
 * The client and tenant for a command (see {@link connection}).
 *
 * @throws {CloudError} as {@link connection}
 * @example
 * ```ts
 * const { client, tenant } = await connect(opts);
 * ```
 */
export async function connect(opts: ConnectionOptions, needTenant = true, needToken = true): Promise<{ client: CloudClient; tenant: string }> {
  const c = await connection(opts, needTenant, needToken);
  return { client: new CloudClient(c.url, c.ca, c.token), tenant: c.tenant };
}

async function readCa(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (cause) {
    throw new CloudError(CLOUD_ERR.UNREACHABLE, `cannot read CA file ${file}`, { cause, hint: 'pass the cloud\'s ca.pem (in its data dir) with --ca' });
  }
}

async function askPassword(user: string): Promise<string> {
  if (process.env.HEDGE_PASSWORD !== undefined) return process.env.HEDGE_PASSWORD;
  if (!process.stdin.isTTY) {
    // A pipe: the first line is the password (`hedge login … < secret`).
    const rl = createInterface({ input: process.stdin });
    for await (const line of rl) {
      rl.close();
      return line;
    }
    throw new CloudError(CLOUD_ERR.BAD_CREDENTIALS, 'cannot log in: no password on stdin', { hint: 'set HEDGE_PASSWORD or type it at the prompt' });
  }
  process.stderr.write(`password for ${user}: `);
  process.stdin.setRawMode(true);
  let password = '';
  try {
    for await (const chunk of process.stdin) {
      for (const ch of String(chunk)) {
        if (ch === '\r' || ch === '\n') return password;
        if (ch === '\u0003') throw new CloudError(CLOUD_ERR.BAD_CREDENTIALS, 'cannot log in: interrupted');
        password = ch === '\u007f' ? password.slice(0, -1) : password + ch;
      }
    }
    return password;
  } finally {
    process.stdin.setRawMode(false);
    process.stdin.pause();
    process.stderr.write('\n');
  }
}

/**
 * Registers `hedge login`.
 *
 * @example
 * ```ts
 * registerLoginCommand(program); // hedge login --url https://cloud:8443 --ca ca.pem --user alice --tenant builder
 * ```
 */
export function registerLoginCommand(program: Command): void {
  program
    .command('login')
    .description('get a token from the cloud and cache it (0600) for the other commands')
    .requiredOption('--url <url>', 'the cloud, e.g. https://127.0.0.1:8443')
    .requiredOption('--ca <file>', 'the cloud\'s CA certificate (ca.pem in its data dir)')
    .requiredOption('--user <name>', 'your user name')
    .option('--tenant <tenant>', 'the tenant later commands act in by default')
    .option('--json', 'print the session (without the token) as JSON')
    .action(async (opts: { url: string; ca: string; user: string; tenant?: string; json?: boolean }) => {
      const ca = path.resolve(opts.ca);
      const client = new CloudClient(opts.url, await readCa(ca));
      const password = await askPassword(opts.user);
      const answer = await client.call<{ accessToken: string; expiresAt: string }>('POST', '/v1/auth/token', { username: opts.user, password });
      const session: Session = { url: client.url, ca, token: answer.accessToken, user: opts.user, expiresAt: answer.expiresAt, ...(opts.tenant === undefined ? {} : { tenant: opts.tenant }) };
      const file = await writePrivate('session.json', `${JSON.stringify(session, null, 2)}\n`);
      const shown = { url: session.url, user: session.user, tenant: session.tenant ?? null, expiresAt: session.expiresAt, file };
      process.stdout.write(opts.json ? `${JSON.stringify(shown)}\n` : `logged in to ${session.url} as ${opts.user}${opts.tenant ? ` (tenant ${opts.tenant})` : ''} until ${session.expiresAt}\n`);
    });
}

/**
 * Prints `value` as JSON (with `--json`) or as the text `human` makes of it.
 *
 * @throws never
 * @example
 * ```ts
 * print(opts.json, job, (j) => `${j.id} ${j.state}`);
 * ```
 */
export function print<T>(json: boolean | undefined, value: T, human: (v: T) => string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${human(value)}\n`);
}
