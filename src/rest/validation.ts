/**
 * Request validation for the REST routes, with TypeBox: bodies are checked as
 * sent (no coercion, no defaults, no silently dropped properties), while path
 * parameters and query strings, which are text, are converted to the declared
 * types first; a multipart form is the route's own to check. `api_key` is a
 * credential, not a parameter: it is left out of the query-string check and kept
 * for authentication.
 */
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox'
import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify'
import type { TSchema } from 'typebox'

export const validatorCompiler: FastifySchemaCompiler<TSchema> = (route) => {
  // A multipart form is streamed, not parsed into a body: its route checks each part as it arrives (src/rest/projects/data.ts).
  if (route.httpPart === 'body' && route.contentType === 'multipart/form-data') return () => true
  const validate = TypeBoxValidatorCompiler(route)
  if (route.httpPart !== 'querystring') return validate
  return (query: unknown) => {
    if (query === null || typeof query !== 'object' || !('api_key' in query)) return validate(query)
    const { api_key: apiKey, ...parameters } = query as Record<string, unknown>
    // TypeBoxValidatorCompiler always answers { value } or { error }.
    const result = validate(parameters) as { value?: object, error?: FastifySchemaValidationError[] }
    return result.value === undefined ? result : { value: { ...result.value, api_key: apiKey } }
  }
}
