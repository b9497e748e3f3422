/**
 * `/users`: accounts keyed by 11-digit id (administrators list and manage them; a
 * user reads and edits its own record), and `/users/{id}/api-keys`, the keys a
 * user manages for itself.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import type { ApiKeyView } from '../domain/api-keys.ts'
import {
  ApiKeyCreate, AuthenticationType, Email, Name, UserCreate, UserStatus, UserType, UserUpdate, Username
} from '../domain/schemas.ts'
import type { UserView } from '../domain/users.ts'
import {
  changedResponse, collection, createdResponse, formatId, IdParam, IdString, listResponse, NoContent, omitEmpty, paging, parseId, problems, QueryBoolean, readResponse, Timestamp
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

export function renderUser (user: UserView) {
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

export const ApiKeyRepresentation = Type.Object({
  label: Type.String(),
  hint: Type.String({ description: 'The prefix and next four characters of the key, to tell keys apart; never enough to use it.' }),
  created: Timestamp,
  last_used: Type.Optional(Timestamp),
  revoked: Type.Optional(Timestamp)
}, { $id: 'ApiKey', title: 'ApiKey' })

const IssuedApiKey = Type.Object({
  id: Type.String(),
  label: Type.String(),
  hint: Type.String(),
  created: Timestamp,
  key: Type.String({ description: 'The secret: shown this once, never again.' })
}, { description: 'A new API key, with its secret.' })

function renderApiKey (key: ApiKeyView) {
  return omitEmpty({
    label: key.label,
    hint: key.hint,
    created: key.createdAt.toISOString(),
    last_used: key.lastUsedAt?.toISOString(),
    revoked: key.revokedAt?.toISOString()
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
        ...paging
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
  }, async (request) => renderUser(await app.domain.users.get(await request.actor(), parseId('user', request.params.id))))

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

  app.get('/users/:id/api-keys', {
    schema: {
      operationId: 'listApiKeys',
      tags,
      summary: "List a user's API keys (the user itself or administrators)",
      params,
      response: { 200: readResponse(Type.Record(Type.String({ pattern: '^[0-9]+$' }), Type.Ref('ApiKey'), { description: 'Keys by id.' }), 'Keys by id.'), ...problems(403, 404) }
    }
  }, async (request) => {
    const keys = await app.domain.apiKeys.list(await request.actor(), parseId('user', request.params.id))
    return Object.fromEntries(keys.map((key) => [String(key.id), renderApiKey(key)]))
  })

  app.post('/users/:id/api-keys', {
    schema: {
      operationId: 'createApiKey',
      tags,
      summary: 'Issue an API key; its secret is in this answer only',
      params,
      body: ApiKeyCreate,
      response: { 201: createdResponse(IssuedApiKey, 'Created'), ...problems(403, 404, 413, 415) }
    }
  }, async (request, reply) => {
    const { key, secret } = await app.domain.apiKeys.create(await request.actor(), parseId('user', request.params.id), request.body)
    return await reply.code(201).header('location', `/users/${formatId(key.userId)}/api-keys/${key.id}`).send({
      id: String(key.id), label: key.label, hint: key.hint, created: key.createdAt.toISOString(), key: secret
    })
  })

  app.delete('/users/:id/api-keys/:keyId', {
    schema: {
      operationId: 'revokeApiKey',
      tags,
      summary: 'Revoke an API key',
      params: Type.Object({ id: IdParam, keyId: Type.String({ pattern: '^[0-9]{1,11}$' }) }),
      response: { 204: NoContent, ...problems(403, 404) }
    }
  }, async (request, reply) => {
    await app.domain.apiKeys.revoke(await request.actor(), parseId('user', request.params.id), parseId('apikey', request.params.keyId))
    return await reply.code(204).send(null)
  })
}

export default userRoutes
