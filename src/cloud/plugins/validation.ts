/**
 * Request validation with TypeBox's own compiler, straight from the src/wire
 * schemas: bodies are checked strictly as JSON (no type coercion: `42` is not
 * the string `"42"`); path, query and header values, which arrive as text,
 * are converted to the schema's types first. Defaults are applied. A schema
 * that is not a TypeBox schema is refused when the route is compiled, so that
 * every request schema lives in src/wire and also feeds the OpenAPI document.
 * @module
 */
import { Kind, FormatRegistry, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import type { FastifyInstance } from 'fastify';
import { CLOUD_ERR, CloudError } from '../errors.ts';

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
if (!FormatRegistry.Has('date-time')) FormatRegistry.Set('date-time', (v) => DATE_TIME.test(v) && !Number.isNaN(Date.parse(v)));

/** Failure of a request part against its schema; the error handler answers 400 `CLOUD_ERR_VALIDATION`. */
class RequestValidationError extends CloudError {
  constructor(message: string) {
    super(CLOUD_ERR.VALIDATION, message, { hint: 'see /openapi.json for the request schema' });
  }
}

/**
 * Installs the validator compiler on `app`.
 * @throws never (a non-TypeBox schema throws `CLOUD_ERR_CONFIG` when its route is compiled)
 * @example
 * ```ts
 * useTypeBoxValidation(app);
 * ```
 */
export function useTypeBoxValidation(app: FastifyInstance): void {
  app.setValidatorCompiler(({ schema, httpPart, method, url }) => {
    if (!(Kind in (schema as object))) {
      throw new CloudError(CLOUD_ERR.CONFIG, `cannot register route ${method} ${url}: the ${httpPart} schema is not a TypeBox schema`, {
        hint: 'write request schemas with TypeBox in src/wire',
      });
    }
    const typed = schema as TSchema;
    const check = TypeCompiler.Compile(typed);
    const text = httpPart !== 'body';
    return (data: unknown) => {
      const withDefaults = Value.Default(typed, Value.Clone(data ?? (text ? {} : null)));
      const value = text ? Value.Convert(typed, withDefaults) : withDefaults;
      if (check.Check(value)) return { value };
      const first = check.Errors(value).First();
      const where = `${httpPart}${first?.path ?? ''}`;
      return { error: new RequestValidationError(`cannot ${method} ${url}: ${where}: ${first?.message ?? 'invalid'}`) };
    };
  });
}
