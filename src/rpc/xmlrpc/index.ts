/**
 * The XML-RPC face: `POST /xmlrpc`, speaking Roundup's dialect. Like Roundup, it
 * answers every call with HTTP 200 and a methodResponse (a fault for any error,
 * authentication failures included); only requests that never reach the
 * dispatcher get an HTTP error: a body that is not XML (415) or too large (413),
 * with a fault that says why.
 * @see {@link https://www.roundup-tracker.org/docs/xmlrpc.html}
 */
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify'
// For the `hide` schema option, which keeps this route out of the OpenAPI document.
import type {} from '@fastify/swagger'
import { assertNotRefused, type Actor } from '../../domain/actor.ts'
import { decodeMethodCall, encodeFault, encodeResponse } from './codec.ts'
import { Fault, FaultCode, toFault } from './faults.ts'
import { dispatch } from './verbs.ts'
import { refusedBeforeBody } from '../../http/actor.ts'

const xmlMediaTypes = ['text/xml', 'application/xml']

export default async function xmlrpcFace (app: FastifyInstance): Promise<void> {
  // Only XML bodies reach the handler: Fastify answers 415 for any other type,
  // which also keeps HTML forms (a cross-site request's only means) out.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser(xmlMediaTypes, { parseAs: 'string' }, (_request, body, done) => { done(null, body) })

  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500
    const message = status === 413
      ? `request body is larger than the limit of ${app.initialConfig.bodyLimit ?? 0} bytes`
      : status === 415 ? `the body must be XML (${xmlMediaTypes.join(' or ')})` : error.message
    void reply.code(status).type('text/xml; charset=utf-8')
    return fault(reply, status === 500 ? error : new Fault(FaultCode.malformedRequest, message), request.log)
  })

  // Wrong credentials are answered before the body is read, and the connection closed.
  app.addHook('onRequest', async (request, reply) => {
    const refusal = await refusedBeforeBody(request)
    if (refusal === undefined) return
    return await reply.header('connection', 'close').type('text/xml; charset=utf-8').send(fault(reply, refusal, request.log))
  })

  app.post('/xmlrpc', { schema: { hide: true } }, async (request, reply) => {
    void reply.type('text/xml; charset=utf-8')
    let actor: Actor
    try {
      actor = await request.actor()
      // A suspended or pending account is refused whatever it asks, as Roundup refuses its login.
      assertNotRefused(actor)
    } catch (error) {
      return fault(reply, error, request.log)
    }
    try {
      const call = decodeMethodCall(typeof request.body === 'string' ? request.body : '')
      const result = await dispatch({ actor, domain: app.domain, log: request.log }, call.methodName, call.params)
      return encodeResponse(result)
    } catch (error) {
      return fault(reply, error, request.log)
    }
  })
}

function fault (reply: FastifyReply, error: unknown, log: FastifyInstance['log']): string {
  const { faultCode, message, retryAfterSeconds } = toFault(error, log)
  if (retryAfterSeconds !== undefined) void reply.header('retry-after', String(retryAfterSeconds))
  return encodeFault(faultCode, message)
}
