/**
 * The executors jobs go to, for administrators: each one the routes name (and any
 * other the database still has jobs for), its waiting and running jobs, and the
 * processes that run it. An executor nobody runs is worth saying: its jobs wait.
 */
import type { ExecutorSpec, JobRoutes } from '../jobs/routes.ts'
import { requireAdmin, type Actor } from './actor.ts'
import type { JobQueue } from './job-queue.ts'
import { uncached } from './read-model.ts'

export interface ExecutorView {
  name: string
  /** What the routes say of it; undefined for one they no longer name. */
  spec: ExecutorSpec | undefined
  isDefault: boolean
  queued: number
  running: number
  workers: Array<{ name: string, seenAt: Date, problem?: string }>
  /** `ok`, or what is wrong in a sentence. */
  health: string
}

export class Executors {
  constructor (private readonly queue: JobQueue, private readonly routes: JobRoutes) {}

  @uncached
  async list (actor: Actor): Promise<ExecutorView[]> {
    requireAdmin(actor, 'the list of executors')
    const atWork = new Map((await this.queue.executorsAtWork()).map((row) => [row.executor, row]))
    const names = [...new Set([...this.routes.executors.keys(), ...atWork.keys()])]
    return names.map((name) => {
      const { queued = 0, running = 0, workers = [] } = atWork.get(name) ?? {}
      const spec = this.routes.executors.get(name)
      return { name, spec, isDefault: name === this.routes.fallback, queued, running, workers, health: health(spec, queued, workers) }
    })
  }
}

function health (spec: ExecutorSpec | undefined, queued: number, workers: ExecutorView['workers']): string {
  if (spec === undefined) return `no route names it any more: ${queued} queued job(s) wait for a process configured with it`
  if (workers.length === 0) return queued > 0 ? `no process runs it: its ${queued} queued job(s) wait` : 'no process runs it'
  const troubled = workers.filter((worker) => worker.problem !== undefined)
  if (troubled.length > 0) return troubled.map((worker) => `${worker.name}: ${worker.problem!}`).join('; ')
  return 'ok'
}
