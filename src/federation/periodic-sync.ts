/**
 * The periodic sync (SYNC_INTERVAL_SECONDS): every so often, sync each peer that
 * has not been synced for the interval. Every process sharing the database runs
 * one; the domain's claim on the server row lets only one of them sync a peer,
 * and the interval check keeps the others from syncing it again right after.
 */
import type { FastifyInstance } from 'fastify'
import { PeerFailed } from '../domain/errors.ts'

/** Looks often enough that a peer is synced within about a tenth of the interval after it is due. */
function tickMs (intervalSeconds: number): number {
  return Math.max(1000, Math.min(60_000, intervalSeconds * 100))
}

export function startPeriodicSync (app: FastifyInstance, intervalSeconds: number): void {
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> = Promise.resolve()
  let stopped = false

  const tick = async (): Promise<void> => {
    try {
      for (const result of await app.domain.federation.syncDue(intervalSeconds)) {
        if (result instanceof PeerFailed) app.log.warn({ server: result.server, reason: result.reason }, 'periodic sync failed')
        else {
          const { server, ...counts } = result
          app.log.info({ server: server.name, ...counts }, 'periodic sync')
        }
      }
    } catch (error) {
      app.log.error({ err: error }, 'periodic sync could not run')
    }
  }
  const schedule = (): void => {
    if (stopped) return
    timer = setTimeout(() => {
      running = tick().finally(schedule)
    }, tickMs(intervalSeconds))
  }

  app.addHook('onReady', async () => { schedule() })
  app.addHook('onClose', async () => {
    stopped = true
    clearTimeout(timer)
    await running
  })
}
