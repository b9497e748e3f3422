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
