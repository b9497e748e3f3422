import type { FastifyInstance } from 'fastify'
import type { Database } from '../db/client.ts'

/** `/healthz`: the process answers; `/readyz`: the database answers too. */
export default async function healthRoutes (app: FastifyInstance, opts: { db: Database }): Promise<void> {
  app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }))
  app.get('/readyz', { logLevel: 'warn' }, async (request, reply) => {
    try {
      await opts.db.ping()
      return { status: 'ok', database: opts.db.kind }
    } catch (error) {
      request.log.error({ err: error }, 'database not reachable')
      return await reply.code(503).send({ status: 'unavailable', database: opts.db.kind })
    }
  })
}
