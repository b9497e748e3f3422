/** `/groups`: groups of users keyed by name, managed by administrators. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { NotFound } from '../domain/errors.ts'
import type { GroupView } from '../domain/groups.ts'
import { GroupCreate, GroupUpdate, Name } from '../domain/schemas.ts'
import {
  changedResponse, collection, entity, createdResponse, IdParam, listResponse, NoContent, pageQuery, parseId, problems, QueryBoolean, readResponse
} from './common.ts'

export const GroupRepresentation = Type.Object({
  active: Type.Boolean({ description: 'An inactive group grants nothing in projects.' }),
  description: Type.String(),
  members: Type.Array(Type.String(), { description: 'Usernames of the members, sorted.' })
}, { $id: 'Group', title: 'Group' })

function renderGroup (group: GroupView) {
  return { active: group.active, description: group.description, members: group.members.map((m) => m.username) }
}

const tags = ['groups']
const params = Type.Object({ name: Name })
const memberParams = Type.Object({ name: Name, userId: IdParam })

const groupRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/groups', {
    schema: {
      operationId: 'listGroups',
      tags,
      summary: 'List the groups (administrators)',
      querystring: Type.Object({
        name: Type.Optional(Name),
        active: Type.Optional(QueryBoolean),
        member: Type.Optional(IdParam),
        ...pageQuery
      }, { additionalProperties: false }),
      response: { 200: listResponse(Type.Record(Name, Type.Ref('Group'), { description: 'Groups keyed by name.' })), ...problems(403) }
    }
  }, async (request, reply) => {
    const { limit, offset, member, ...filter } = request.query
    const listing = await app.domain.groups.list(await request.actor(),
      { ...filter, member: member === undefined ? undefined : parseId('user', member) }, { limit, offset })
    return collection(request, reply, listing, (g) => g.name, renderGroup)
  })

  app.get('/groups/:name', {
    schema: { operationId: 'readGroup', tags, summary: 'Read a group (its members and administrators)', params, response: { 200: readResponse(Type.Ref('Group'), 'The group'), ...problems(403, 404) } }
  }, async (request, reply) => entity(request, reply, await app.domain.groups.get(await request.actor(), request.params.name), renderGroup))

  app.post('/groups', {
    schema: {
      operationId: 'createGroup',
      tags, summary: 'Create a group (administrators)', body: GroupCreate,
      response: { 201: createdResponse(Type.Ref('Group'), 'Created'), ...problems(403, 409, 413, 415) }
    }
  }, async (request, reply) => {
    const group = await app.domain.groups.create(await request.actor(), request.body)
    return await reply.code(201).header('location', `/groups/${group.name}`).send(renderGroup(group))
  })

  app.patch('/groups/:name', {
    schema: {
      operationId: 'updateGroup',
      tags,
      summary: 'Change a group; members, when given, replaces the membership (administrators)',
      params,
      body: GroupUpdate,
      response: { 200: changedResponse(Type.Ref('Group'), 'The group, changed'), ...problems(403, 404, 409, 413, 415) }
    }
  }, async (request) => {
    const { item } = await app.domain.groups.update(await request.actor(), request.params.name, request.body)
    return renderGroup(item)
  })

  app.delete('/groups/:name', {
    schema: { operationId: 'deleteGroup', tags, summary: 'Delete a group (administrators)', params, response: { 204: NoContent, ...problems(403, 404) } }
  }, async (request, reply) => {
    await app.domain.groups.delete(await request.actor(), request.params.name)
    return await reply.code(204).send(null)
  })

  app.put('/groups/:name/members/:userId', {
    schema: { operationId: 'addGroupMember', tags, summary: 'Add a member (administrators)', params: memberParams, response: { 200: changedResponse(Type.Ref('Group'), 'The group, changed'), ...problems(403, 404) } }
  }, async (request) => {
    const { group } = await app.domain.groups.addMember(await request.actor(), request.params.name, parseId('user', request.params.userId))
    return renderGroup(group)
  })

  app.delete('/groups/:name/members/:userId', {
    schema: { operationId: 'removeGroupMember', tags, summary: 'Remove a member (administrators)', params: memberParams, response: { 204: NoContent, ...problems(403, 404) } }
  }, async (request, reply) => {
    const { user, removed } = await app.domain.groups.removeMember(await request.actor(), request.params.name,
      parseId('user', request.params.userId))
    if (!removed) throw new NotFound('member', user.username)
    return await reply.code(204).send(null)
  })
}

export default groupRoutes
