/**
 * Every server process runs jobs (JOB_CONCURRENCY of them at once; none when 0)
 * on the local executor: its dispatcher starts once the server is ready, and on
 * close stops claiming, cancels what runs and records it.
 */
import { availableParallelism, hostname } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.ts'
import type { ChangeFeed } from '../db/changes.ts'
import type { DataStorage } from '../domain/blobs.ts'
import { Dispatcher } from './dispatcher.ts'
import { LaunchedExecutor } from './launched-executor.ts'
import { jobWorkspace } from './workspace.ts'

/** How long a program asked to stop has before it is killed: short enough that a cancel ends within 5 s. */
const graceMs = 3000

/** Where jobs' directories are: JOB_WORK_DIR, or `jobs` in the content's directory. */
export function jobWorkRoot (config: Config): string {
  return config.JOB_WORK_DIR ?? join(config.STORAGE_DIR ?? config.DATA_DIR, 'jobs')
}

export function startRunningJobs (app: FastifyInstance, feed: ChangeFeed, storage: DataStorage, options: { alone: boolean }): void {
  const { config } = app
  const concurrency = config.JOB_CONCURRENCY ?? availableParallelism()
  if (concurrency === 0) return
  const worker = `${hostname()}:${process.pid}`
  const dispatcher = new Dispatcher(app.domain.jobQueue, new LaunchedExecutor({ graceMs, path: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin' }), feed, {
    ...jobWorkspace(app.domain.jobQueue, storage, {
      root: jobWorkRoot(config),
      timeoutSeconds: config.JOB_TIMEOUT_SECONDS,
      maxOutputBytes: config.JOB_MAX_OUTPUT_BYTES
    }),
    onError: (error) => { app.log.error({ err: error }, 'the job dispatcher failed: it tries again') }
  }, {
    worker,
    concurrency,
    pollMs: 2000,
    heartbeatMs: config.JOB_LOST_AFTER_SECONDS * 200,
    lostAfterSeconds: config.JOB_LOST_AFTER_SECONDS,
    alone: options.alone
  })
  app.addHook('onReady', async () => {
    await dispatcher.start()
    app.log.info({ worker, concurrency }, 'running jobs')
  })
  app.addHook('onClose', async () => { await dispatcher.stop() })
}
