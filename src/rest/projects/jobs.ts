/**
 * `/projects/{id}/jobs`: a project's jobs (docs/rest.md#jobs). Members read them;
 * contributors and above submit (`{service, inputs, name?}`: a program with an
 * interface, inputs its schema accepts), cancel and remove ended ones. The old
 * free-text `{status}` body is refused as a member a job does not take (400).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { finalStates, transitions } from '../../domain/job-queue.ts'
import type { JobView } from '../../domain/projects.ts'
import { JobSubmission } from '../../domain/schemas.ts'
import { changedResponse, createdResponse, formatId, IdParam, IdString, NoContent, omitEmpty, parseId, problems, readResponse, Timestamp } from '../common.ts'
import { FullName } from '../services.ts'
import { params, projectId, tags } from './common.ts'

const JobStateSchema = Type.Enum(Object.keys(transitions), {
  description: `queued → running → ok | error | cancelled (a queued job may also be cancelled); ${finalStates.join(', ')} are final.`
})
const JobReasonSchema = Type.Enum(['exit', 'timeout', 'output-limit', 'lost', 'system'], {
  description: 'Why a job ended in error: its program exited non-zero (exit), ran too long (timeout), wrote too much (output-limit), ' +
    'was lost with the process running it (lost), or the server could not run it (system).'
})

export const JobRepresentation = Type.Object({
  id: IdString,
  name: Type.String(),
  service: Type.Optional({ ...FullName, description: 'The program it runs, by full name; absent once that service is deleted.' }),
  state: JobStateSchema,
  reason: Type.Optional(JobReasonSchema),
  exit_code: Type.Optional(Type.Integer({ description: "The program's exit code, once it has exited." })),
  message: Type.String({ description: 'What happened, in words, when it did not end ok; empty otherwise.' }),
  created: Timestamp,
  started: Type.Optional({ ...Timestamp, description: 'When it began to run; absent before.' }),
  finished: Type.Optional({ ...Timestamp, description: 'When it ended; absent before.' }),
  inputs: Type.Record(Type.String(), Type.Unknown(), { description: 'The inputs it was submitted with, as its service\'s schema took them.' }),
  history: Type.Array(Type.Object({
    state: JobStateSchema,
    reason: Type.Optional(JobReasonSchema),
    at: Timestamp
  }), { description: 'Every transition, oldest first; the first is queued.' }),
  submitter: Type.Optional({ ...IdString, description: 'The user who submitted it (an id); absent once that user is deleted.' }),
  outputs: Type.Record(Type.String(), Type.Array(IdString), {
    description: 'Once it ended ok: each output of its interface → the data items of the project it became (GET /projects/{id}/data/{dataId}).'
  })
}, { $id: 'Job', title: 'Job' })

function renderJob (job: JobView) {
  return omitEmpty({
    id: formatId(job.id),
    name: job.name,
    service: job.service,
    state: job.state,
    reason: job.reason,
    exit_code: job.exitCode,
    message: job.message,
    created: job.createdAt.toISOString(),
    started: job.startedAt?.toISOString(),
    finished: job.finishedAt?.toISOString(),
    inputs: job.inputs,
    history: job.history.map((event) => omitEmpty({ state: event.state, reason: event.reason, at: event.at.toISOString() })),
    submitter: job.submitter === null ? null : formatId(job.submitter),
    outputs: Object.fromEntries(Object.entries(job.outputs).map(([output, items]) => [output, items.map(formatId)]))
  })
}

const jobParams = Type.Object({ id: IdParam, jobId: IdParam })

const jobRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const domain = app.domain

  app.get('/projects/:id/jobs', {
    schema: {
      operationId: 'listJobs',
      tags,
      summary: 'List a project\'s jobs (members)',
      params,
      querystring: Type.Object({
        state: Type.Optional(Type.Union([JobStateSchema, Type.Array(JobStateSchema)], { description: 'Only jobs in this state (repeat it for any of several).' }))
      }, { additionalProperties: false }),
      response: { 200: readResponse(Type.Record(IdString, Type.Ref('Job'), { description: 'Jobs keyed by id.' }), 'Jobs keyed by id.'), ...problems(403, 404) }
    }
  }, async (request) => {
    const { state } = request.query
    const jobs = await domain.projects.listJobs(await request.actor(), {
      project: projectId(request.params.id),
      state: state === undefined ? undefined : Array.isArray(state) ? state : [state]
    })
    return Object.fromEntries(jobs.map((job) => [formatId(job.id), renderJob(job)]))
  })

  app.get('/projects/:id/jobs/:jobId', {
    schema: { operationId: 'readJob', tags, summary: 'Read a job: its state, inputs and history (members)', params: jobParams, response: { 200: readResponse(Type.Ref('Job'), 'The job'), ...problems(403, 404) } }
  }, async (request) => {
    return renderJob(await domain.projects.getJob(await request.actor(), parseId('job', request.params.jobId), projectId(request.params.id)))
  })

  app.post('/projects/:id/jobs', {
    schema: {
      operationId: 'createJob',
      tags,
      summary: 'Submit a job: a program with an interface, and inputs its schema accepts (contributors and above); it is queued',
      params,
      body: JobSubmission,
      response: { 201: createdResponse(Type.Ref('Job'), 'The job, queued'), ...problems(403, 404, 413, 415) }
    }
  }, async (request, reply) => {
    const id = projectId(request.params.id)
    const job = await domain.projects.addJob(await request.actor(), id, request.body)
    return await reply.code(201).header('location', `/projects/${formatId(id)}/jobs/${formatId(job.id)}`).send(renderJob(job))
  })

  app.post('/projects/:id/jobs/:jobId/cancel', {
    schema: {
      operationId: 'cancelJob',
      tags,
      summary: 'Cancel a job (contributors and above): a queued one at once (200), a running one is asked to stop and ends cancelled within seconds (202)',
      params: jobParams,
      response: {
        200: changedResponse(Type.Ref('Job'), 'The job, cancelled'),
        202: changedResponse(Type.Ref('Job'), 'The job, still running, asked to stop'),
        ...problems(403, 404, 409)
      }
    }
  }, async (request, reply) => {
    const { job, outcome } = await domain.projects.cancelJob(await request.actor(), projectId(request.params.id), parseId('job', request.params.jobId))
    return await reply.code(outcome === 'cancelled' ? 200 : 202).send(renderJob(job))
  })

  app.delete('/projects/:id/jobs/:jobId', {
    schema: {
      operationId: 'deleteJob',
      tags,
      summary: 'Remove a job that has ended, with its history (contributors and above); 409 while it is queued or running',
      params: jobParams,
      response: { 204: NoContent, ...problems(403, 404, 409) }
    }
  }, async (request, reply) => {
    await domain.projects.removeJob(await request.actor(), projectId(request.params.id), parseId('job', request.params.jobId))
    return await reply.code(204).send(null)
  })
}

export default jobRoutes
