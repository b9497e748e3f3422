/**
 * What a job says while and after it runs: its standard output and error (the
 * first JOB_MAX_OUTPUT_BYTES of each, as far as it has written them), and its
 * transitions as server-sent events (docs/rest.md#jobs). Members read them.
 */
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { finalStates, type JobEvent } from '../../domain/job-queue.ts'
import { NotFound } from '../../domain/errors.ts'
import { jobWorkRoot } from '../../jobs/start.ts'
import { IdParam, parseId, problems } from '../common.ts'
import { projectId, tags } from './common.ts'

const jobParams = Type.Object({ id: IdParam, jobId: IdParam })

/** How often an idle event stream sends a comment, so that proxies and clients keep it open. */
const keepAliveMs = 15_000

const jobStreamRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { domain } = app
  const root = jobWorkRoot(app.config)

  for (const stream of ['stdout', 'stderr'] as const) {
    app.get(`/projects/:id/jobs/:jobId/${stream}`, {
      schema: {
        operationId: stream === 'stdout' ? 'readJobStdout' : 'readJobStderr',
        tags,
        summary: `A job's standard ${stream === 'stdout' ? 'output' : 'error'}: its first JOB_MAX_OUTPUT_BYTES, as far as written (members)`,
        params: jobParams,
        response: {
          200: { description: 'The text written so far; empty before the job runs', content: { 'text/plain': { schema: Type.String() } } },
          ...problems(403, 404)
        }
      }
    }, async (request, reply) => {
      const job = await domain.projects.getJob(await request.actor(), parseId('job', request.params.jobId), projectId(request.params.id))
      const attempt = await domain.jobQueue.attemptOf(job.id) ?? 0
      void reply.type('text/plain; charset=utf-8').header('cache-control', 'private, no-cache')
      if (attempt === 0) return await reply.send('')
      const path = join(root, String(job.id), String(attempt), stream)
      // Kept where the job ran: another host's logs are not here unless JOB_WORK_DIR is shared.
      if (!(await stat(path).then((found) => found.isFile(), () => false))) throw new NotFound(`${stream} of job`, job.id)
      // The schema says what the client gets (text); Fastify streams it from the file.
      return await reply.send(createReadStream(path) as unknown as string)
    })
  }

  app.get('/projects/:id/jobs/:jobId/events', {
    schema: {
      operationId: 'followJob',
      tags,
      summary: 'A job\'s transitions as server-sent events (event: state), from the first or after Last-Event-ID, ending after its final state (members)',
      params: jobParams,
      headers: Type.Object({ 'last-event-id': Type.Optional(Type.String({ description: 'The id of the last event received: the stream resumes after it.' })) }),
      response: {
        200: { description: 'text/event-stream: `id: <n>`, `event: state`, `data: {"state","reason"?,"at"}` per transition', content: { 'text/event-stream': { schema: Type.String() } } },
        ...problems(403, 404)
      }
    }
  }, async (request, reply) => {
    const job = await domain.projects.getJob(await request.actor(), parseId('job', request.params.jobId), projectId(request.params.id))
    const given = request.headers['last-event-id']
    const after = given !== undefined && /^[0-9]{1,18}$/.test(given) ? BigInt(given) : 0n
    const ended = finalStates.includes(job.state)
    if (ended && (await domain.jobQueue.eventsSince(after, [job.id])).length === 0) {
      return await reply.code(200).type('text/event-stream; charset=utf-8').header('cache-control', 'no-cache').send('')
    }
    reply.hijack()
    const raw = reply.raw
    // The headers set so far (CORS among them) go out with the stream's own.
    const set = Object.entries(reply.getHeaders()).filter((entry): entry is [string, string | number | string[]] => entry[1] !== undefined)
    raw.writeHead(200, { ...Object.fromEntries(set), 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' })
    raw.write(`: job ${job.id}\n\n`)
    const send = (events: JobEvent[]): void => {
      for (const event of events) {
        const data = JSON.stringify(event.reason === null ? { state: event.state, at: event.at } : { state: event.state, reason: event.reason, at: event.at })
        raw.write(`id: ${event.id}\nevent: state\ndata: ${data}\n\n`)
      }
      if (events.some((event) => finalStates.includes(event.state))) finish()
    }
    const keepAlive = setInterval(() => { raw.write(': keep-alive\n\n') }, keepAliveMs)
    const unfollow = app.jobEvents.follow(job.id, after, send)
    function finish (): void {
      unfollow()
      clearInterval(keepAlive)
      raw.end()
    }
    raw.on('close', () => {
      unfollow()
      clearInterval(keepAlive)
    })
  })
}

export default jobStreamRoutes
