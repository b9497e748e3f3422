/**
 * `/projects`: projects keyed by 11-digit id, with their members, group grants,
 * favorite services, and job and data references. Any active user creates
 * projects and owns them; owners and managers manage membership; contributors
 * add favorites, jobs and data; members read.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type, { type TSchema } from 'typebox'
import type { Actor } from '../domain/actor.ts'
import { NotFound } from '../domain/errors.ts'
import type { DataView, JobView, ProjectView } from '../domain/projects.ts'
import { DataCreate, Description, JobCreate, Name, ProjectRole } from '../domain/schemas.ts'
import {
  changedResponse, collection, createdResponse, formatId, IdParam, IdString, listResponse, NoContent, omitEmpty, paging, parseId, problems, readResponse, Timestamp
} from './common.ts'
import { FullName } from './services.ts'

export const ProjectRepresentation = Type.Object({
  name: Type.String(),
  description: Type.String(),
  owner: IdString,
  managers: Type.Array(IdString),
  contributors: Type.Array(IdString),
  watchers: Type.Array(IdString),
  groups: Type.Record(Name, ProjectRole, { description: 'Roles granted to groups, by group name.' }),
  services: Type.Array(Type.String(), { description: "Names of the project's services." }),
  jobs: Type.Array(IdString),
  data: Type.Array(IdString),
  favorites: Type.Optional(Type.Array(FullName, { description: 'Full names of the favorite services; absent when none.' }))
}, { $id: 'Project', title: 'Project' })

export function renderProject (project: ProjectView) {
  return omitEmpty({
    name: project.name,
    description: project.description,
    owner: formatId(project.owner),
    managers: project.managers.map(formatId),
    contributors: project.contributors.map(formatId),
    watchers: project.watchers.map(formatId),
    groups: Object.fromEntries(project.groups.map((g) => [g.name, g.role])),
    services: project.services.map((s) => s.name),
    jobs: project.jobs.map((j) => formatId(j.id)),
    data: project.data.map((d) => formatId(d.id)),
    // The spec leaves favorites out of a project that has none.
    favorites: project.favorites.length === 0 ? undefined : project.favorites.map((f) => f.fullName)
  })
}

const JobRepresentation = Type.Object({
  name: Type.String(),
  status: Type.String(),
  service: Type.Optional(FullName),
  created: Timestamp
}, { $id: 'Job', title: 'Job' })

function renderJob (job: JobView) {
  return omitEmpty({ name: job.name, status: job.status, service: job.service, created: job.createdAt.toISOString() })
}

const DataRepresentation = Type.Object({
  name: Type.String(),
  description: Type.String(),
  created: Timestamp
}, { $id: 'Data', title: 'Data' })

function renderData (data: DataView) {
  return { name: data.name, description: data.description, created: data.createdAt.toISOString() }
}

export const projectSchemas = [ProjectRepresentation, JobRepresentation, DataRepresentation]

/** What differs between the job and the data references of a project. */
interface References<T extends { id: number }> {
  segment: string
  noun: string
  plural: string
  /** Also the `$id` of its representation. */
  singular: string
  body: TSchema
  items: (project: ProjectView) => T[]
  render: (item: T) => unknown
  add: (actor: Actor, projectId: number, body: unknown) => Promise<T>
  remove: (actor: Actor, projectId: number, itemId: number) => Promise<void>
}

/** The owner is written as the user's id, as read. */
const ProjectCreateBody = Type.Object({
  name: Name,
  description: Type.Optional(Description),
  owner: Type.Optional(IdParam)
}, { additionalProperties: false })
const ProjectUpdateBody = Type.Partial(ProjectCreateBody, { additionalProperties: false })
const RoleBody = Type.Object({ role: ProjectRole }, { additionalProperties: false })

/** The domain takes the owner by id as a number. */
function ownerInput (body: { owner?: string }) {
  const { owner, ...rest } = body
  return owner === undefined ? rest : { ...rest, owner: Number(owner) }
}

const tags = ['projects']
const params = Type.Object({ id: IdParam })

const projectRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const domain = app.domain
  const projectId = (text: string): number => parseId('project', text)

  app.get('/projects', {
    schema: {
      operationId: 'listProjects',
      tags,
      summary: 'List the projects (administrators)',
      querystring: Type.Object({
        name: Type.Optional(Name),
        owner: Type.Optional(IdParam),
        member: Type.Optional(IdParam),
        ...paging
      }, { additionalProperties: false }),
      response: { 200: listResponse(Type.Record(IdString, Type.Ref('Project'), { description: 'Projects keyed by id.' })), ...problems(403) }
    }
  }, async (request, reply) => {
    const { limit, offset, name, owner, member } = request.query
    const listing = await domain.projects.list(await request.actor(), {
      name,
      owner: owner === undefined ? undefined : parseId('user', owner),
      member: member === undefined ? undefined : parseId('user', member)
    }, { limit, offset })
    return collection(request, reply, listing, (p) => formatId(p.id), renderProject)
  })

  app.get('/projects/:id', {
    schema: { operationId: 'readProject', tags, summary: 'Read a project (members and administrators)', params, response: { 200: readResponse(Type.Ref('Project'), 'The project'), ...problems(403, 404) } }
  }, async (request) => renderProject(await domain.projects.get(await request.actor(), projectId(request.params.id))))

  app.post('/projects', {
    schema: {
      operationId: 'createProject',
      tags,
      summary: 'Create a project, owned by the caller (administrators may name another owner)',
      body: ProjectCreateBody,
      response: { 201: createdResponse(Type.Ref('Project'), 'Created'), ...problems(403, 409, 413, 415) }
    }
  }, async (request, reply) => {
    const project = await domain.projects.create(await request.actor(), ownerInput(request.body))
    return await reply.code(201).header('location', `/projects/${formatId(project.id)}`).send(renderProject(project))
  })

  app.patch('/projects/:id', {
    schema: {
      operationId: 'updateProject',
      tags,
      summary: 'Rename, describe or hand over a project (its owner)',
      params,
      body: ProjectUpdateBody,
      response: { 200: changedResponse(Type.Ref('Project'), 'The project, changed'), ...problems(403, 404, 409, 413, 415) }
    }
  }, async (request) => {
    const { item } = await domain.projects.update(await request.actor(), projectId(request.params.id), ownerInput(request.body))
    return renderProject(item)
  })

  app.delete('/projects/:id', {
    schema: { operationId: 'deleteProject', tags, summary: 'Delete a project with its services, jobs and data (its owner)', params, response: { 204: NoContent, ...problems(403, 404) } }
  }, async (request, reply) => {
    await domain.projects.delete(await request.actor(), projectId(request.params.id))
    return await reply.code(204).send(null)
  })

  const memberParams = Type.Object({ id: IdParam, userId: IdParam })
  app.put('/projects/:id/members/:userId', {
    schema: {
      operationId: 'setProjectMember',
      tags, summary: 'Give a user a role in the project (owner and managers)', params: memberParams, body: RoleBody,
      response: { 200: changedResponse(Type.Ref('Project'), 'The project, changed'), ...problems(403, 404, 409, 413, 415) }
    }
  }, async (request) => {
    const { project } = await domain.projects.setMember(await request.actor(), projectId(request.params.id),
      parseId('user', request.params.userId), request.body.role)
    return renderProject(project)
  })

  app.delete('/projects/:id/members/:userId', {
    schema: { operationId: 'removeProjectMember', tags, summary: "Remove a user's role (owner and managers)", params: memberParams, response: { 204: NoContent, ...problems(403, 404, 409) } }
  }, async (request, reply) => {
    const { member, previous } = await domain.projects.setMember(await request.actor(), projectId(request.params.id),
      parseId('user', request.params.userId), null)
    if (previous === null) throw new NotFound('member', member.username)
    return await reply.code(204).send(null)
  })

  const groupParams = Type.Object({ id: IdParam, group: Name })
  app.put('/projects/:id/groups/:group', {
    schema: {
      operationId: 'setProjectGroup',
      tags, summary: 'Grant a group a role in the project (owner and managers)', params: groupParams, body: RoleBody,
      response: { 200: changedResponse(Type.Ref('Project'), 'The project, changed'), ...problems(403, 404, 413, 415) }
    }
  }, async (request) => {
    const { project } = await domain.projects.setGroupGrant(await request.actor(), projectId(request.params.id),
      request.params.group, request.body.role)
    return renderProject(project)
  })

  app.delete('/projects/:id/groups/:group', {
    schema: { operationId: 'removeProjectGroup', tags, summary: "Revoke a group's role (owner and managers)", params: groupParams, response: { 204: NoContent, ...problems(403, 404) } }
  }, async (request, reply) => {
    const { group, previous } = await domain.projects.setGroupGrant(await request.actor(), projectId(request.params.id),
      request.params.group, null)
    if (previous === null) throw new NotFound('group grant', group.name)
    return await reply.code(204).send(null)
  })

  const favoriteParams = Type.Object({ id: IdParam, fullname: FullName })
  app.put('/projects/:id/favorites/:fullname', {
    schema: {
      operationId: 'addFavorite',
      tags, summary: 'Mark a service as a favorite (contributors and above)', params: favoriteParams,
      response: { 200: changedResponse(Type.Ref('Project'), 'The project, changed'), ...problems(403, 404) }
    }
  }, async (request) => {
    const { project } = await domain.projects.addFavorite(await request.actor(), projectId(request.params.id), request.params.fullname)
    return renderProject(project)
  })

  app.delete('/projects/:id/favorites/:fullname', {
    schema: { operationId: 'removeFavorite', tags, summary: 'Unmark a favorite (contributors and above)', params: favoriteParams, response: { 204: NoContent, ...problems(403, 404) } }
  }, async (request, reply) => {
    await domain.projects.removeFavorite(await request.actor(), projectId(request.params.id), request.params.fullname)
    return await reply.code(204).send(null)
  })

  const itemParams = Type.Object({ id: IdParam, itemId: IdParam })

  referenceRoutes<JobView>({
    segment: 'jobs', noun: 'job', plural: 'Jobs', singular: 'Job', body: JobCreate,
    items: (project) => project.jobs,
    render: renderJob,
    add: async (actor, id, body) => await domain.projects.addJob(actor, id, body),
    remove: async (actor, id, itemId) => { await domain.projects.removeJob(actor, id, itemId) }
  })
  referenceRoutes<DataView>({
    segment: 'data', noun: 'data', plural: 'Data', singular: 'Data', body: DataCreate,
    items: (project) => project.data,
    render: renderData,
    add: async (actor, id, body) => await domain.projects.addData(actor, id, body),
    remove: async (actor, id, itemId) => { await domain.projects.removeData(actor, id, itemId) }
  })

  /** Job and data references share one shape: list, read, record and remove, within a project. */
  function referenceRoutes<T extends { id: number }> (ref: References<T>): void {
    const { segment, noun, plural, singular } = ref
    app.get(`/projects/:id/${segment}`, {
      schema: {
        operationId: `list${plural}`,
        tags, summary: `List a project's ${segment} (members)`, params,
        response: { 200: readResponse(Type.Record(IdString, Type.Ref(singular), { description: `${plural} keyed by id.` }), `${plural} keyed by id.`), ...problems(403, 404) }
      }
    }, async (request) => {
      const project = await domain.projects.get(await request.actor(), projectId(request.params.id))
      return Object.fromEntries(ref.items(project).map((item) => [formatId(item.id), ref.render(item)]))
    })

    app.get(`/projects/:id/${segment}/:itemId`, {
      schema: { operationId: `read${singular}`, tags, summary: `Read a ${noun} reference (members)`, params: itemParams, response: { 200: readResponse(Type.Ref(singular), `The ${noun}`), ...problems(403, 404) } }
    }, async (request) => {
      const project = await domain.projects.get(await request.actor(), projectId(request.params.id))
      const item = ref.items(project).find((i) => i.id === parseId(noun, request.params.itemId))
      if (item === undefined) throw new NotFound(noun, request.params.itemId)
      return ref.render(item)
    })

    app.post(`/projects/:id/${segment}`, {
      schema: {
        operationId: `create${singular}`,
        tags, summary: `Record a ${noun} reference (contributors and above)`, params, body: ref.body,
        response: { 201: createdResponse(Type.Ref(singular), 'Created'), ...problems(403, 404, 413, 415) }
      }
    }, async (request, reply) => {
      const id = projectId(request.params.id)
      const item = await ref.add(await request.actor(), id, request.body)
      return await reply.code(201).header('location', `/projects/${formatId(id)}/${segment}/${formatId(item.id)}`).send(ref.render(item))
    })

    app.delete(`/projects/:id/${segment}/:itemId`, {
      schema: { operationId: `delete${singular}`, tags, summary: `Remove a ${noun} reference (contributors and above)`, params: itemParams, response: { 204: NoContent, ...problems(403, 404) } }
    }, async (request, reply) => {
      await ref.remove(await request.actor(), projectId(request.params.id), parseId(noun, request.params.itemId))
      return await reply.code(204).send(null)
    })
  }
}

export default projectRoutes
