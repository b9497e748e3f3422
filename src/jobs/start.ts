/**
 * Every server process runs jobs (JOB_CONCURRENCY of them at once; none when 0)
 * on the local executor, or submits them to Slurm (JOB_EXECUTOR): its dispatcher
 * starts once the server is ready, and on close stops claiming, cancels what runs
 * locally and records it (Slurm's jobs go on, for the next process to follow).
 */
import { availableParallelism, hostname } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.ts'
import type { ChangeFeed } from '../db/changes.ts'
import type { DataStorage } from '../domain/blobs.ts'
import { Dispatcher } from './dispatcher.ts'
import type { Executor } from './executor.ts'
import { LocalExecutor } from './local-executor.ts'
import { SlurmExecutor } from './slurm-executor.ts'
import { jobWorkspace } from './workspace.ts'

/** How long a program asked to stop has before it is killed: short enough that a cancel ends within 5 s. */
const graceMs = 3000

/** Where jobs' directories are: JOB_WORK_DIR, or `jobs` in the content's directory. */
export function jobWorkRoot (config: Config): string {
  return config.JOB_WORK_DIR ?? join(config.STORAGE_DIR ?? config.DATA_DIR, 'jobs')
}

/** Apps started in this process: a second one (tests do that) is another worker, whose first's jobs are not its own. */
let appsStarted = 0

export function startRunningJobs (app: FastifyInstance, feed: ChangeFeed, storage: DataStorage, options: { alone: boolean }): void {
  const { config } = app
  const slurm = config.JOB_EXECUTOR === 'slurm'
  const concurrency = config.JOB_CONCURRENCY ?? (slurm ? 100 : availableParallelism())
  if (concurrency === 0) return
  appsStarted += 1
  const worker = `${hostname()}:${process.pid}${appsStarted > 1 ? `.${appsStarted}` : ''}`
  const path = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'
  const executor: Executor = slurm
    ? new SlurmExecutor({
        partition: config.JOB_SLURM_PARTITION,
        account: config.JOB_SLURM_ACCOUNT,
        qos: config.JOB_SLURM_QOS,
        pollMs: config.JOB_SLURM_POLL_MS,
        path,
        slurmConf: process.env.SLURM_CONF,
        onError: (error) => { app.log.warn({ err: error }, 'a Slurm command failed: the next poll tries again') }
      })
    : new LocalExecutor({ graceMs, path })
  const dispatcher = new Dispatcher(app.domain.jobQueue, executor, feed, {
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
    app.log.info({ worker, concurrency, executor: executor.name }, 'running jobs')
  })
  app.addHook('onClose', async () => { await dispatcher.stop() })
}
