/**
 * Projects' jobs, in the style of this server's own methods (get_data, get_datas):
 * extensions RhodeCode has no counterpart for. A job is submitted, read and
 * cancelled here as over REST (docs/jobs.md); its outputs' content is REST's.
 */
import Type from 'typebox'
import { orNull } from '../../../domain/errors.ts'
import { defineMethod } from '../method.ts'
import { JobObject, renderJob } from '../objects.ts'
import { RepoId } from './repositories.ts'

const JobId = Type.Integer({ minimum: 1, description: 'The job\'s id.' })

export const jobMethods = [
  defineMethod({
    name: 'get_job',
    summary: 'A job of a project, by id: its state, inputs and history (members); null when there is none.',
    params: Type.Object({ repoid: RepoId, jobid: JobId }),
    result: Type.Union([JobObject, Type.Null()]),
    run: async (domain, actor, { repoid, jobid }) => {
      const job = await orNull(domain.projects.getJob(actor, jobid, repoid))
      return job === null ? null : renderJob(job)
    }
  }),
  defineMethod({
    name: 'get_jobs',
    summary: 'Every job of a project (members), optionally only those in one state.',
    params: Type.Object({
      repoid: RepoId,
      state: Type.Optional(Type.Enum(['queued', 'running', 'ok', 'error', 'cancelled'], { description: 'Only jobs in this state.' }))
    }),
    result: Type.Array(JobObject),
    run: async (domain, actor, { repoid, state }) =>
      (await domain.projects.listJobs(actor, { project: repoid, state: state === undefined ? undefined : [state] })).map(renderJob)
  }),
  defineMethod({
    name: 'create_job',
    summary: 'Submits a job (contributors and above): a program with an interface, by full name, and inputs its schema ' +
      '(GET /services/{fullname}/schema) accepts; a File input is {"data": "<data item id>"}. Answers the job, queued.',
    params: Type.Object({
      repoid: RepoId,
      service: Type.String({ maxLength: 400, description: 'The full name of a program with an interface.' }),
      inputs: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Input id → value.' })),
      name: Type.Optional(Type.String({ maxLength: 200 }))
    }),
    result: JobObject,
    run: async (domain, actor, { repoid, ...submission }) => renderJob(await domain.projects.addJob(actor, repoid, submission))
  }),
  defineMethod({
    name: 'cancel_job',
    summary: 'Cancels a job (contributors and above): a queued one at once (cancelled: true), a running one is asked to stop ' +
      'and ends cancelled within seconds (cancelled: false); one that has ended is an error (conflict).',
    params: Type.Object({ repoid: RepoId, jobid: JobId }),
    result: Type.Object({ job: JobObject, cancelled: Type.Boolean({ description: 'Whether it is cancelled already; false while it stops.' }) }),
    run: async (domain, actor, { repoid, jobid }) => {
      const { job, outcome } = await domain.projects.cancelJob(actor, repoid, jobid)
      return { job: renderJob(job), cancelled: outcome === 'cancelled' }
    }
  })
]
