/**
 * The web console's static files (web/, DESIGN §10) at `/console/`, and uPlot from node_modules
 * at `/console/vendor/`. The files are read once, when the app starts, into a table keyed by
 * their URL path: a request is answered from that table or is a 404, so no path a client sends
 * ever reaches the file system (no traversal), and only known extensions are served, each with
 * its content type. Every answer carries a strict Content-Security-Policy (scripts, styles and
 * connections from this origin only, no inline script, no framing), `nosniff` and no referrer.
 * The files are public (the login page must load without a token); everything they show comes
 * from the access-checked API with the bearer token the person logged in for.
 * @module
 */
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CloudRoutes } from '../context.ts';
import { CLOUD_ERR, CloudError } from '../errors.ts';

/** The console's Content-Security-Policy. */
export const CONSOLE_CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "font-src 'self'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
].join('; ');

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon',
};

/** Where the console's files are by default: `web/` at the package root. */
export const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../web');

interface Served { readonly type: string; readonly body: Buffer }

async function collect(dir: string, prefix: string, into: Map<string, Served>): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) await collect(file, `${prefix}${entry.name}/`, into);
    else if (entry.isFile() && TYPES[path.extname(entry.name)] !== undefined) {
      into.set(`${prefix}${entry.name}`, { type: TYPES[path.extname(entry.name)]!, body: await readFile(file) });
    }
  }
}

/**
 * The console route plugin: `GET /console` (redirect), `GET /console/` (index.html) and
 * `GET /console/*` from the files of `dir` (default {@link WEB_DIR}) and uPlot's ES module and
 * stylesheet.
 *
 * @throws {Error} at start when `dir` cannot be read or uPlot is not installed
 * @example
 * ```ts
 * const app = await buildApp({ ...options, routes: [consoleRoutes()] });
 * ```
 */
export function consoleRoutes(options: { readonly dir?: string } = {}): CloudRoutes {
  return async (app) => {
    const files = new Map<string, Served>();
    await collect(options.dir ?? WEB_DIR, '', files);
    const uplot = path.dirname(createRequire(import.meta.url).resolve('uplot'));
    files.set('vendor/uPlot.esm.js', { type: TYPES['.js']!, body: await readFile(path.join(uplot, 'uPlot.esm.js')) });
    files.set('vendor/uPlot.min.css', { type: TYPES['.css']!, body: await readFile(path.join(uplot, 'uPlot.min.css')) });
    const headers = {
      'content-security-policy': CONSOLE_CSP, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY', 'cache-control': 'no-cache',
    };
    const config = { access: { public: true } } as const;
    const schema = { hide: true };
    app.get('/console', { schema, config }, async (_req, reply) => reply.redirect('/console/', 308));
    app.get('/console/*', { schema, config }, async (req, reply) => {
      const wanted = (req.params as { '*': string })['*'] || 'index.html';
      const file = files.get(wanted);
      if (file === undefined) throw new CloudError(CLOUD_ERR.ROUTE_NOT_FOUND, `cannot GET /console/${wanted.slice(0, 200)}: no such file`);
      return reply.headers(headers).type(file.type).send(file.body);
    });
  };
}
