/**
 * Every process that runs jobs (servers and workers; none with JOB_CONCURRENCY=0)
 * runs a dispatcher per executor its routes name (src/jobs/routes.ts): the local
 * one, JOB_CONCURRENCY programs at once, and each Slurm one, submitting up to its
 * `max_jobs`. They start once the process is ready; on close they stop claiming,
 * cancel what runs locally and record it (Slurm's jobs go on, for the next process
 * to follow).
 */
import { availableParallelism, hostname } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.ts'
import type { ChangeFeed } from '../db/changes.ts'
import type { DataStorage } from '../domain/blobs.ts'
import { Dispatcher } from './dispatcher.ts'
import type { Executor } from './executor.ts'
import { LaunchedExecutor } from './launched-executor.ts'
import type { ExecutorSpec } from './routes.ts'
import { SlurmExecutor } from './slurm-executor.ts'
import { jobWorkspace } from './workspace.ts'

/** How long a program asked to stop has before it is killed: short enough that a cancel ends within 5 s. */
const graceMs = 3000

/** The jobs a Slurm executor follows at once unless its route says (`max_jobs`). */
const slurmJobsAtOnce = 100

/** Where jobs' directories are: JOB_WORK_DIR, or `jobs` in the content's directory. */
export function jobWorkRoot (config: Config): string {
  return config.JOB_WORK_DIR ?? join(config.STORAGE_DIR ?? config.DATA_DIR, 'jobs')
}

/** Apps started in this process: a second one (tests do that) is another worker, whose first's jobs are not its own. */
let appsStarted = 0

export function startRunningJobs (app: FastifyInstance, feed: ChangeFeed, storage: DataStorage, options: { alone: boolean }): void {
  const { config } = app
  if (config.JOB_CONCURRENCY === 0) return
  appsStarted += 1
  const worker = `${hostname()}:${process.pid}${appsStarted > 1 ? `.${appsStarted}` : ''}`
  const path = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'
  const hooks = {
    ...jobWorkspace(app.domain.jobQueue, storage, {
      root: jobWorkRoot(config),
      timeoutSeconds: config.JOB_TIMEOUT_SECONDS,
      maxOutputBytes: config.JOB_MAX_OUTPUT_BYTES
    }),
    onError: (error: unknown) => { app.log.error({ err: error }, 'the job dispatcher failed: it tries again') }
  }
  const executorOf = (name: string, spec: ExecutorSpec): { executor: Executor, concurrency: number } => spec.type === 'local'
    ? { executor: new LaunchedExecutor({ graceMs, path }), concurrency: config.JOB_CONCURRENCY ?? availableParallelism() }
    : {
        executor: new SlurmExecutor({
          name,
          partition: spec.partition,
          account: spec.account,
          qos: spec.qos,
          pollMs: config.JOB_SLURM_POLL_MS,
          path,
          slurmConf: process.env.SLURM_CONF,
          onError: (error) => { app.log.warn({ err: error, executor: name }, 'a Slurm command failed: the next poll tries again') }
        }),
        concurrency: spec.max_jobs ?? slurmJobsAtOnce
      }
  const dispatchers = [...config.jobRoutes.executors].map(([name, spec]) => {
    const { executor, concurrency } = executorOf(name, spec)
    const dispatcher = new Dispatcher(app.domain.jobQueue, executor, feed, hooks, {
      worker,
      concurrency,
      pollMs: 2000,
      heartbeatMs: config.JOB_LOST_AFTER_SECONDS * 200,
      lostAfterSeconds: config.JOB_LOST_AFTER_SECONDS,
      alone: options.alone
    })
    return { dispatcher, executor: name, concurrency }
  })
  app.addHook('onReady', async () => {
    for (const { dispatcher, executor, concurrency } of dispatchers) {
      await dispatcher.start()
      app.log.info({ worker, executor, concurrency }, 'running jobs')
    }
  })
  app.addHook('onClose', async () => { await Promise.all(dispatchers.map(async ({ dispatcher }) => { await dispatcher.stop() })) })
}
