/**
 * `/projects/{id}/jobs`: a project's job references (members read; contributors
 * and above record and remove). Data items, which hold content, have their own
 * plugin (data.ts).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type, { type TSchema } from 'typebox'
import type { Actor } from '../../domain/actor.ts'
import type { Domain } from '../../domain/index.ts'
import type { JobView } from '../../domain/projects.ts'
import { JobSubmission } from '../../domain/schemas.ts'
import { createdResponse, formatId, IdParam, IdString, NoContent, omitEmpty, parseId, problems, readResponse, Timestamp } from '../common.ts'
import { FullName } from '../services.ts'
import { params, projectId, tags } from './common.ts'

export const JobRepresentation = Type.Object({
  name: Type.String(),
  status: Type.String(),
  service: Type.Optional(FullName),
  created: Timestamp
}, { $id: 'Job', title: 'Job' })

/** What a project's references are: their path, names, schema and domain calls. */
interface References<T extends { id: number }> {
  segment: string
  noun: string
  plural: string
  /** Also the `$id` of its representation. */
  singular: string
  body: TSchema
  list: (domain: Domain, actor: Actor, projectId: number) => Promise<T[]>
  get: (domain: Domain, actor: Actor, projectId: number, itemId: number) => Promise<T>
  render: (item: T) => unknown
  add: (domain: Domain, actor: Actor, projectId: number, body: unknown) => Promise<T>
  remove: (domain: Domain, actor: Actor, projectId: number, itemId: number) => Promise<void>
}

const itemParams = Type.Object({ id: IdParam, itemId: IdParam })

function referenceRoutes<T extends { id: number }> (ref: References<T>): FastifyPluginAsyncTypebox {
  const { segment, noun, plural, singular } = ref
  return async (app) => {
    const domain = app.domain
    app.get(`/projects/:id/${segment}`, {
      schema: {
        operationId: `list${plural}`,
        tags, summary: `List a project's ${segment} (members)`, params,
        response: { 200: readResponse(Type.Record(IdString, Type.Ref(singular), { description: `${plural} keyed by id.` }), `${plural} keyed by id.`), ...problems(403, 404) }
      }
    }, async (request) => {
      const items = await ref.list(domain, await request.actor(), projectId(request.params.id))
      return Object.fromEntries(items.map((item) => [formatId(item.id), ref.render(item)]))
    })

    app.get(`/projects/:id/${segment}/:itemId`, {
      schema: { operationId: `read${singular}`, tags, summary: `Read a ${noun} reference (members)`, params: itemParams, response: { 200: readResponse(Type.Ref(singular), `The ${noun}`), ...problems(403, 404) } }
    }, async (request) => {
      return ref.render(await ref.get(domain, await request.actor(), projectId(request.params.id), parseId(noun, request.params.itemId)))
    })

    app.post(`/projects/:id/${segment}`, {
      schema: {
        operationId: `create${singular}`,
        tags, summary: `Record a ${noun} reference (contributors and above)`, params, body: ref.body,
        response: { 201: createdResponse(Type.Ref(singular), 'Created'), ...problems(403, 404, 413, 415) }
      }
    }, async (request, reply) => {
      const id = projectId(request.params.id)
      const item = await ref.add(domain, await request.actor(), id, request.body)
      return await reply.code(201).header('location', `/projects/${formatId(id)}/${segment}/${formatId(item.id)}`).send(ref.render(item))
    })

    app.delete(`/projects/:id/${segment}/:itemId`, {
      schema: { operationId: `delete${singular}`, tags, summary: `Remove a ${noun} reference (contributors and above)`, params: itemParams, response: { 204: NoContent, ...problems(403, 404) } }
    }, async (request, reply) => {
      await ref.remove(domain, await request.actor(), projectId(request.params.id), parseId(noun, request.params.itemId))
      return await reply.code(204).send(null)
    })
  }
}

export const jobRoutes = referenceRoutes<JobView>({
  segment: 'jobs', noun: 'job', plural: 'Jobs', singular: 'Job', body: JobSubmission,
  list: async (domain, actor, id) => await domain.projects.listJobs(actor, { project: id }),
  get: async (domain, actor, id, itemId) => await domain.projects.getJob(actor, itemId, id),
  render: (job) => omitEmpty({ name: job.name, status: job.status, service: job.service, created: job.createdAt.toISOString() }),
  add: async (domain, actor, id, body) => await domain.projects.addJob(actor, id, body),
  remove: async (domain, actor, id, itemId) => { await domain.projects.removeJob(actor, id, itemId) }
})
