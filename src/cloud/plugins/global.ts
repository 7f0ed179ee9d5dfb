/**
 * Marks a plugin as applying to the instance it is registered on (its hooks,
 * decorators and handlers are not encapsulated) — what `fastify-plugin` does
 * by setting fastify's documented `skip-override` symbol.
 * @module
 */
import type { FastifyPluginAsync } from 'fastify';

/**
 * Returns `plugin` marked non-encapsulated, under `name` for fastify's plugin tree.
 * @throws never
 * @example
 * ```ts
 * export const metricsPlugin = globalPlugin('hedge-metrics', async (app) => { app.addHook('onResponse', …); });
 * ```
 */
export function globalPlugin<O extends Record<string, unknown>>(name: string, plugin: FastifyPluginAsync<O>): FastifyPluginAsync<O> {
  const marked = plugin as FastifyPluginAsync<O> & Record<symbol, unknown>;
  marked[Symbol.for('skip-override')] = true;
  marked[Symbol.for('fastify.display-name')] = name;
  return marked;
}
