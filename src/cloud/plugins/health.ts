/**
 * `/healthz` (the process answers) and `/readyz` (every readiness probe
 * passes: the database, plus the probes the app was given). A failed probe is
 * logged with its error and shown only as `failed`. While the server shuts
 * down, `/readyz` answers 503 `shutting_down` so that load balancers stop
 * sending traffic before connections close.
 * @module
 */
import { Health, Readiness } from '../../wire/health.ts';
import type { CloudContext } from '../context.ts';
import { globalPlugin } from './global.ts';

/**
 * A readiness probe: resolves when the dependency is usable; rejects (or
 * resolves `false`) when not. Each run is cut off after 2 s.
 * @example
 * ```ts
 * const blobs: ReadinessProbe = async () => { await access(blobDir, constants.W_OK); };
 * ```
 */
export type ReadinessProbe = () => Promise<unknown>;

/** Whether the server is shutting down (set by the app's `preClose` hook). */
export interface Lifecycle {
  closing: boolean;
}

const PROBE_TIMEOUT_MS = 2000;

async function runProbe(probe: ReadinessProbe): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`probe timed out after ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS);
  });
  try {
    return (await Promise.race([probe(), timeout])) !== false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Registers `/healthz` and `/readyz`.
 * @example
 * ```ts
 * await app.register(healthPlugin, { ctx, probes: { blobs }, lifecycle });
 * ```
 */
export const healthPlugin = globalPlugin<{ ctx: CloudContext; probes: Readonly<Record<string, ReadinessProbe>>; lifecycle: Lifecycle }>(
  'hedge-health',
  async (app, { ctx, probes, lifecycle }) => {
    const all: Record<string, ReadinessProbe> = { database: () => ctx.db.query('SELECT 1'), ...probes };
    app.get(
      '/healthz',
      { schema: { tags: ['operations'], summary: 'Liveness: the process answers', response: { 200: Health } }, config: { access: { public: true } } },
      async () => ({ status: 'ok' as const }),
    );
    app.get(
      '/readyz',
      {
        schema: { tags: ['operations'], summary: 'Readiness: every probe passes', response: { 200: Readiness, 503: Readiness } },
        config: { access: { public: true } },
      },
      async (request, reply) => {
        const checks: Record<string, 'ok' | 'failed'> = {};
        await Promise.all(
          Object.entries(all).map(async ([name, probe]) => {
            try {
              checks[name] = (await runProbe(probe)) ? 'ok' : 'failed';
            } catch (e) {
              request.log.warn({ err: e, probe: name }, 'readiness probe failed');
              checks[name] = 'failed';
            }
          }),
        );
        const failed = Object.values(checks).includes('failed');
        const status = lifecycle.closing ? 'shutting_down' : failed ? 'not_ready' : 'ready';
        return reply.code(status === 'ready' ? 200 : 503).send({ status, checks });
      },
    );
  },
);
