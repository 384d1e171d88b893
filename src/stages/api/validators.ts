import { Ajv, type Options as AjvOptions } from 'ajv';
import type { FastifySchema, FastifySchemaCompiler } from 'fastify';

const common: AjvOptions = { allErrors: false, removeAdditional: false, useDefaults: true, strict: false };

/**
 * Request validation. Bodies are never coerced: a numeric post id must fail rather than become a
 * string that lost digits (snowflake ids). Query strings and paths are text, so they are coerced.
 */
export function validatorCompiler(): FastifySchemaCompiler<FastifySchema> {
  const strictAjv = new Ajv({ ...common, coerceTypes: false });
  const coercingAjv = new Ajv({ ...common, coerceTypes: 'array' });
  return ({ schema, httpPart }) => (httpPart === 'body' ? strictAjv : coercingAjv).compile(schema as object);
}
