/**
 * One error handler for the whole API: every failure leaves as
 * `{ code, message, hint? }` (src/wire ErrorBody) with the status fixed by
 * the CLOUD_ERR registry. Bad input is always a 4xx; anything unexpected is
 * `500 CLOUD_ERR_INTERNAL` whose answer says nothing about the cause (the log
 * has it, under the request id, which the answer's hint quotes).
 * @module
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorBody } from '../../wire/common.ts';
import { CLOUD_ERR, CLOUD_ERR_STATUS, CloudError, type CloudErrorCode } from '../errors.ts';
import { globalPlugin } from './global.ts';

function body(code: CloudErrorCode, message: string, hint?: string): ErrorBody {
  return hint === undefined ? { code, message } : { code, message, hint };
}

/** Maps fastify's own request errors (content type parser, validation) to the registry. */
function fromFastify(error: FastifyError, request: FastifyRequest): { code: CloudErrorCode; message: string; hint?: string } | undefined {
  const op = `cannot ${request.method} ${request.routeOptions.url ?? 'unknown route'}`;
  if (error.validation || error.code === 'FST_ERR_VALIDATION') {
    return { code: CLOUD_ERR.VALIDATION, message: `${op}: ${error.message}`, hint: 'see /openapi.json for the request schema' };
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: CLOUD_ERR.BODY_TOO_LARGE, message: `${op}: body too large` };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { code: CLOUD_ERR.UNSUPPORTED_MEDIA_TYPE, message: `${op}: unsupported content type`, hint: 'send application/json' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { code: CLOUD_ERR.MALFORMED_BODY, message: `${op}: empty JSON body` };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { code: CLOUD_ERR.MALFORMED_BODY, message: `${op}: body is not valid JSON` };
  }
  // Any other client error fastify detected (bad content length, aborted body, …).
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return { code: CLOUD_ERR.MALFORMED_BODY, message: `${op}: malformed request` };
  }
  return undefined;
}

/**
 * Sends an error answer with the registry's status for `code`.
 * @throws never
 * @example
 * ```ts
 * return sendError(reply, CLOUD_ERR.ACCESS_DENIED, 'cannot job.submit in tenant "plant-b": not granted');
 * ```
 */
export function sendError(reply: FastifyReply, code: CloudErrorCode, message: string, hint?: string): FastifyReply {
  return reply.code(CLOUD_ERR_STATUS[code]).type('application/json; charset=utf-8').send(body(code, message, hint));
}

/**
 * The error and not-found handlers.
 * @example
 * ```ts
 * await app.register(errorsPlugin);
 * ```
 */
export const errorsPlugin = globalPlugin('hedge-errors', async (app) => {
  app.setErrorHandler((error: FastifyError | CloudError, request, reply) => {
    if (error instanceof CloudError) {
      if (error.statusCode >= 500) request.log.error({ err: error }, 'request failed');
      else request.log.info({ code: error.code, cause: error.cause instanceof Error ? error.cause.message : undefined }, error.message);
      return sendError(reply, error.code, error.message, error.hint);
    }
    const mapped = fromFastify(error, request);
    if (mapped) {
      request.log.info({ code: mapped.code }, mapped.message);
      return sendError(reply, mapped.code, mapped.message, mapped.hint);
    }
    request.log.error({ err: error }, 'unexpected error');
    return sendError(reply, CLOUD_ERR.INTERNAL, 'cannot complete request: internal error', `quote request id ${request.id}`);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, CLOUD_ERR.ROUTE_NOT_FOUND, `cannot ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}: no such route`, 'see /openapi.json for the routes'),
  );
});
