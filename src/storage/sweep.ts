/**
 * The blob store's sweep (src/domain/blobs.ts) and the upload store's
 * (src/storage/upload-store.ts), run by every server process: once before it
 * serves, so that what a crash left behind (an upload's staged file, a blob placed
 * but never recorded) is gone by then, and every DATA_SWEEP_INTERVAL_SECONDS
 * after. Several processes sweeping at once take turns blob by blob, under the
 * blobs' row locks; an upload removed by another meanwhile is no error.
 */
import type { FastifyInstance } from 'fastify'
import { systemActor } from '../domain/actor.ts'

export function startSweeping (app: FastifyInstance, intervalSeconds: number): void {
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> = Promise.resolve()
  let stopped = false

  const sweep = async (): Promise<void> => {
    try {
      const report = await app.domain.blobs.sweep(systemActor)
      app.log.info(report, 'swept the blob store')
    } catch (error) {
      // Uploads and downloads may still work; the next sweep tries again.
      app.log.error({ err: error }, 'could not sweep the blob store')
    }
    try {
      const expired = await app.domain.uploads.sweep(systemActor)
      app.log.info({ expired }, 'swept the resumable uploads')
    } catch (error) {
      app.log.error({ err: error }, 'could not sweep the resumable uploads')
    }
  }
  const schedule = (): void => {
    if (stopped || intervalSeconds === 0) return
    timer = setTimeout(() => {
      running = sweep().finally(schedule)
    }, intervalSeconds * 1000)
  }

  app.addHook('onReady', async () => {
    await sweep()
    schedule()
  })
  app.addHook('onClose', async () => {
    stopped = true
    clearTimeout(timer)
    await running
  })
}
