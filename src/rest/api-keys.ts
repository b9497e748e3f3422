/** `/users/{id}/api-keys`: the API keys a user manages for itself (administrators for anyone). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import type { ApiKeyView } from '../domain/api-keys.ts'
import { ApiKeyCreate } from '../domain/schemas.ts'
import { createdResponse, formatId, IdParam, NoContent, omitEmpty, parseId, problems, readResponse, Timestamp } from './common.ts'

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

const apiKeyRoutes: FastifyPluginAsyncTypebox = async (app) => {
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

export default apiKeyRoutes
