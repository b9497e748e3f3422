import type { FastifyInstance } from 'fastify'
import type { Database } from '../db/client.ts'
import { asDomainError } from '../domain/errors.ts'
import { logDatabaseTrouble } from './problems.ts'

/** `/healthz`: the process answers; `/readyz`: the database answers too. */
export default async function healthRoutes (app: FastifyInstance, opts: { db: Database }): Promise<void> {
  app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }))
  app.get('/readyz', { logLevel: 'warn' }, async (request, reply) => {
    try {
      await opts.db.ping()
      return { status: 'ok', database: opts.db.kind }
    } catch (error) {
      const trouble = asDomainError(error)
      if (trouble === undefined) request.log.error({ err: error }, 'database not reachable')
      else logDatabaseTrouble(request.log, trouble)
      return await reply.code(503).header('retry-after', '2').send({ status: 'unavailable', database: opts.db.kind })
    }
  })
}
