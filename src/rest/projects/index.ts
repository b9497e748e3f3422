/**
 * `/projects`: projects keyed by 11-digit id, with their members, group grants,
 * favorite services, job references and data items (with their content), each
 * sub-resource in a plugin of its own. Any active user creates projects and owns
 * them; owners and managers manage membership; contributors add favorites, jobs
 * and data; members read.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { Description, Name } from '../../domain/schemas.ts'
import {
  changedResponse, collection, entity, createdResponse, formatId, IdParam, IdString, listResponse, NoContent, pageQuery, parseId, problems, readResponse
} from '../common.ts'
import { params, projectId, ProjectRepresentation, renderProject, tags } from './common.ts'
import favoriteRoutes from './favorites.ts'
import groupGrantRoutes from './group-grants.ts'
import memberRoutes from './members.ts'
import dataRoutes, { DataRepresentation } from './data.ts'
import jobRoutes, { JobRepresentation } from './jobs.ts'
import jobStreamRoutes from './job-streams.ts'

export const projectSchemas = [ProjectRepresentation, JobRepresentation, DataRepresentation]

/** The owner is written as the user's id, as read. */
const ProjectCreateBody = Type.Object({
  name: Name,
  description: Type.Optional(Description),
  owner: Type.Optional(IdParam)
}, { additionalProperties: false })
const ProjectUpdateBody = Type.Partial(ProjectCreateBody, { additionalProperties: false })

/** The domain takes the owner by id as a number. */
function ownerInput (body: { owner?: string }) {
  const { owner, ...rest } = body
  return owner === undefined ? rest : { ...rest, owner: Number(owner) }
}

const projectRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const domain = app.domain

  app.get('/projects', {
    schema: {
      operationId: 'listProjects',
      tags,
      summary: 'List the projects (administrators)',
      querystring: Type.Object({
        name: Type.Optional(Name),
        owner: Type.Optional(IdParam),
        member: Type.Optional(IdParam),
        ...pageQuery
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
  }, async (request, reply) => entity(request, reply, await domain.projects.get(await request.actor(), projectId(request.params.id)), renderProject))

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

  for (const routes of [memberRoutes, groupGrantRoutes, favoriteRoutes, jobRoutes, jobStreamRoutes, dataRoutes]) await app.register(routes)
}

export default projectRoutes
