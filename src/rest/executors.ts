/** `/_admin/executors`: where jobs run, for administrators (src/domain/executors.ts). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import type { ExecutorView } from '../domain/executors.ts'
import { problems, readResponse } from './common.ts'

export const ExecutorRepresentation = Type.Object({
  type: Type.Union([Type.Literal('local'), Type.Literal('slurm'), Type.Literal('unknown')], { description: 'unknown: no route names it any more, but jobs still do.' }),
  default: Type.Boolean({ description: 'Whether jobs no route matches go to it (JOB_EXECUTOR, or the routes\' default).' }),
  partition: Type.Optional(Type.String()),
  account: Type.Optional(Type.String()),
  qos: Type.Optional(Type.String()),
  queued: Type.Integer({ description: 'Its jobs waiting to be claimed.' }),
  running: Type.Integer({ description: 'Its jobs claimed and not ended.' }),
  workers: Type.Array(Type.Object({
    name: Type.String({ description: 'The process: host:pid.' }),
    seen: Type.String({ format: 'date-time', description: 'When it was last heard of.' }),
    problem: Type.Optional(Type.String({ description: 'What it found wrong with the executor at its last beat (the scheduler unreachable).' }))
  }), { description: 'The processes (servers, workers) that run its jobs.' }),
  health: Type.String({ description: '"ok", or what is wrong: no process runs it, no route names it, or what the processes running it found (host:pid: problem).' })
}, { $id: 'Executor', title: 'Executor' })

function renderExecutor (executor: ExecutorView) {
  const { type = 'unknown', ...options } = executor.spec ?? {}
  return {
    type,
    default: executor.isDefault,
    ...options,
    queued: executor.queued,
    running: executor.running,
    workers: executor.workers.map((worker) => ({ name: worker.name, seen: worker.seenAt.toISOString(), ...(worker.problem === undefined ? {} : { problem: worker.problem }) })),
    health: executor.health
  }
}

const executorRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/_admin/executors', {
    schema: {
      operationId: 'listExecutors',
      tags: ['jobs'],
      summary: 'List where jobs run: each executor, its jobs, the processes that run it, its health (administrators)',
      response: { 200: readResponse(Type.Record(Type.String(), Type.Ref('Executor'), { description: 'Executors keyed by name.' }), 'Executors keyed by name.'), ...problems(403) }
    }
  }, async (request) => {
    const executors = await app.domain.executors.list(await request.actor())
    return Object.fromEntries(executors.map((executor) => [executor.name, renderExecutor(executor)]))
  })
}

export default executorRoutes
