/**
 * `/users`: accounts keyed by 11-digit id (administrators list and manage them; a
 * user reads and edits its own record). Their keys are in api-keys.ts.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import {
  AuthenticationType, Email, Name, UserCreate, UserStatus, UserType, UserUpdate, Username
} from '../domain/schemas.ts'
import type { UserView } from '../domain/users.ts'
import {
  changedResponse, collection, entity, createdResponse, formatId, IdParam, IdString, listResponse, NoContent, omitEmpty, pageQuery, parseId, problems, QueryBoolean, readResponse
} from './common.ts'

export const UserRepresentation = Type.Object({
  username: Type.String(),
  email: Type.Optional(Type.String({ description: 'Absent when the user has none.' })),
  firstname: Type.String(),
  lastname: Type.String(),
  type: UserType,
  authentication_type: Type.Optional(Type.Union([AuthenticationType], { description: 'Absent for anonymous-type users.' })),
  ldap_dn: Type.Optional(Type.String()),
  status: UserStatus,
  status_message: Type.Optional(Type.String({ description: 'Absent when empty.' })),
  is_admin: Type.Boolean(),
  groups: Type.Array(Type.String(), { description: "Names of the user's groups." }),
  projects: Type.Array(IdString, { description: 'Ids of the projects the user owns or is a member of.' })
}, { $id: 'User', title: 'User' })

const UserCollection = Type.Record(IdString, Type.Ref('User'), { description: 'Users keyed by id.' })

function renderUser (user: UserView) {
  return omitEmpty({
    username: user.username,
    email: user.email,
    firstname: user.firstname,
    lastname: user.lastname,
    type: user.type,
    // Anonymous-type accounts do not log in: the spec gives them no authentication type.
    authentication_type: user.type === 'anonymous' ? undefined : user.authentication_type,
    ldap_dn: user.ldap_dn,
    status: user.status,
    status_message: user.status_message === '' ? undefined : user.status_message,
    is_admin: user.is_admin,
    groups: user.groups,
    projects: user.projects.map(formatId)
  })
}

const tags = ['users']
const params = Type.Object({ id: IdParam })

const userRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/users', {
    schema: {
      operationId: 'listUsers',
      tags,
      summary: 'List the users (administrators)',
      querystring: Type.Object({
        username: Type.Optional(Username),
        email: Type.Optional(Email),
        type: Type.Optional(UserType),
        authentication_type: Type.Optional(AuthenticationType),
        status: Type.Optional(UserStatus),
        is_admin: Type.Optional(QueryBoolean),
        group: Type.Optional(Name),
        ...pageQuery
      }, { additionalProperties: false }),
      response: { 200: listResponse(UserCollection), ...problems(403) }
    }
  }, async (request, reply) => {
    const { limit, offset, ...filter } = request.query
    const listing = await app.domain.users.list(await request.actor(), filter, { limit, offset })
    return collection(request, reply, listing, (u) => formatId(u.id), renderUser)
  })

  app.get('/users/:id', {
    schema: { operationId: 'readUser', tags, summary: 'Read a user (the user itself or administrators)', params, response: { 200: readResponse(Type.Ref('User'), 'The user'), ...problems(403, 404) } }
  }, async (request, reply) => entity(request, reply, await app.domain.users.get(await request.actor(), parseId('user', request.params.id)), renderUser))

  app.post('/users', {
    schema: {
      operationId: 'createUser',
      tags, summary: 'Create a user (administrators)', body: UserCreate,
      response: { 201: createdResponse(Type.Ref('User'), 'Created'), ...problems(403, 409, 413, 415) }
    }
  }, async (request, reply) => {
    const user = await app.domain.users.create(await request.actor(), request.body)
    return await reply.code(201).header('location', `/users/${formatId(user.id)}`).send(renderUser(user))
  })

  app.patch('/users/:id', {
    schema: {
      operationId: 'updateUser',
      tags,
      summary: 'Change a user: its own email, names and password; administrators change everything',
      params,
      body: UserUpdate,
      response: { 200: changedResponse(Type.Ref('User'), 'The user, changed'), ...problems(403, 404, 409, 413, 415) }
    }
  }, async (request) => {
    const { item } = await app.domain.users.update(await request.actor(), parseId('user', request.params.id), request.body)
    return renderUser(item)
  })

  app.delete('/users/:id', {
    schema: { operationId: 'deleteUser', tags, summary: 'Delete a user (administrators)', params, response: { 204: NoContent, ...problems(403, 404, 409) } }
  }, async (request, reply) => {
    await app.domain.users.delete(await request.actor(), parseId('user', request.params.id))
    return await reply.code(204).send(null)
  })
}

export default userRoutes
