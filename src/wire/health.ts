/**
 * Wire schemas of the operational endpoints `/healthz` and `/readyz`.
 * @module
 */
import { Type, type Static } from '@sinclair/typebox';

/**
 * Answer of `/healthz`: the process is up.
 * @example
 * ```ts
 * { status: 'ok' }
 * ```
 */
export const Health = Type.Object({ status: Type.Literal('ok') }, { additionalProperties: false });
/** A {@link Health} value. */
export type Health = Static<typeof Health>;

/**
 * Answer of `/readyz` (200 when every probe passed, else 503): each probe's
 * outcome by name; failures are logged, never described here.
 * @example
 * ```ts
 * { status: 'not_ready', checks: { database: 'ok', blobs: 'failed' } }
 * ```
 */
export const Readiness = Type.Object(
  {
    status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready'), Type.Literal('shutting_down')]),
    checks: Type.Record(Type.String(), Type.Union([Type.Literal('ok'), Type.Literal('failed')])),
  },
  { additionalProperties: false },
);
/** A {@link Readiness} value. */
export type Readiness = Static<typeof Readiness>;
