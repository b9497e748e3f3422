/**
 * The JSON-RPC face: `POST /_admin/api` speaks RhodeCode's API and JSON-RPC 2.0
 * over the domain services; `GET /_admin/api` and `GET /openrpc.json` describe it.
 * This plugin is only the HTTP transport; the protocol lives in envelope.ts.
 * @see {@link ../../../docs/jsonrpc.md}
 */
import type { FastifyError, FastifyInstance } from 'fastify'
// Types the `hide` flag that keeps these routes out of the OpenAPI document.
import type {} from '@fastify/swagger'
import type { Authenticator } from '../../auth/authenticator.ts'
import packageJson from '../../../package.json' with { type: 'json' }
import { JsonRpcEndpoint } from './envelope.ts'
import { methodList } from './methods/index.ts'
import { answerText } from './objects.ts'
import { openRpcDocument } from './openrpc.ts'
import { asDomainError } from '../../domain/errors.ts'
import { logDatabaseTrouble } from '../../http/problems.ts'

export interface JsonRpcOptions {
  /** Checks the `api_key` sent inside a message, through the shared login throttle. */
  authenticator: Authenticator
}

const endpointPath = '/_admin/api'

export default async function jsonRpcFace (app: FastifyInstance, { authenticator }: JsonRpcOptions): Promise<void> {
  const endpoint = new JsonRpcEndpoint(app.domain)
  const description = openRpcDocument(methodList, packageJson.version)

  // RhodeCode's clients send JSON as text/plain (or as anything): take every body
  // as text in this plugin's scope, and answer unparsable ones in the protocol.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => { done(null, body) })

  // Failures before the handler runs (a body over the limit, a wrong Content-Length)
  // still get an answer in RhodeCode's form, with their HTTP status.
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500
    if (status >= 500) request.log.error({ err: error }, 'JSON-RPC request failed')
    const message = status >= 500
      ? 'Internal server error'
      : error.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? `Request body is larger than the limit of ${app.initialConfig.bodyLimit ?? 0} bytes`
        : error.message
    return reply.code(status).type('application/json').send(JSON.stringify({ id: null, result: null, error: message }))
  })

  app.post(endpointPath, { schema: { hide: true } }, async (request, reply) => {
    const answer = await endpoint.receive(request.body as string | undefined, {
      actorFor: async (key) => await authenticator.authenticate({ kind: 'apiKey', key }, request.ip),
      transportActor: async () => await request.actor(),
      logFailure: (error, call) => {
        const trouble = asDomainError(error)
        if (trouble === undefined) request.log.error({ err: error, rpcMethod: call.method, rpcId: call.id }, 'JSON-RPC call failed')
        else logDatabaseTrouble(request.log, trouble)
      }
    })
    if (answer === null) return await reply.code(204).send()
    if (answer.retryAfterSeconds !== undefined) void reply.header('retry-after', String(answer.retryAfterSeconds))
    return await reply.type('application/json').send(answerText(answer.body))
  })

  for (const path of [endpointPath, '/openrpc.json']) {
    app.get(path, { schema: { hide: true } }, async (request, reply) => {
      const servers = [{ name: 'this server', url: `${request.protocol}://${request.host}${endpointPath}` }]
      return await reply.type('application/json').send(JSON.stringify({ ...description, servers }))
    })
  }
}
