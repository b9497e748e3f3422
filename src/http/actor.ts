/**
 * Resolves the caller of a request once, for whichever face handles it.
 */
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Authenticator } from '../auth/authenticator.ts'
import { readCredentials } from '../auth/presented.ts'
import type { Actor } from '../domain/actor.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The caller: the anonymous actor when no credentials were sent. Rejects with
     * Unauthenticated (wrong credentials) or TooManyAttempts (login throttle).
     * Computed on first use and remembered for the request.
     */
    actor: () => Promise<Actor>
  }
}

const resolved = Symbol('actor')

export default fp(async function actorPlugin (app: FastifyInstance, opts: { authenticator: Authenticator }) {
  app.decorateRequest('actor', function (this: FastifyRequest & { [resolved]?: Promise<Actor> }) {
    this[resolved] ??= opts.authenticator.authenticate(readCredentials(this), this.ip)
    return this[resolved]
  })
}, { name: 'actor' })

/**
 * For a request that carries credentials and a body: why the credentials are
 * refused, found before the body is read (a wrong password need not hold a
 * connection while a slow body arrives); undefined when they are accepted or absent.
 */
export async function refusedBeforeBody (request: FastifyRequest): Promise<Error | undefined> {
  const length = request.headers['content-length']
  const hasBody = (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined
  if (!hasBody || readCredentials(request).kind === 'none') return undefined
  try {
    await request.actor()
    return undefined
  } catch (error) {
    return error as Error
  }
}
