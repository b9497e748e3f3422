/** `/servers`: the mobyle2 servers, keyed by name; public reads, administrators write. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { Name, ServerCreate, ServerUpdate } from '../domain/schemas.ts'
import { ServerDocument, serverDocument } from '../domain/documents.ts'
import {
  changedResponse, collection, createdResponse, listResponse, NoContent, pageQuery, problems, QueryBoolean, readResponse
} from './common.ts'

export const ServerRepresentation = Type.Object(ServerDocument.properties, { $id: 'Server', title: 'Server' })

const ServerCollection = Type.Record(Name, Type.Ref('Server'), { description: 'Servers keyed by name.' })

const tags = ['servers']
const params = Type.Object({ name: Name })

const serverRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/servers', {
    schema: {
      operationId: 'listServers',
      tags,
      summary: 'List the servers',
      querystring: Type.Object({
        name: Type.Optional(Name),
        url: Type.Optional(Type.String({ description: 'Servers whose URL contains this text.' })),
        active: Type.Optional(QueryBoolean),
        ...pageQuery
      }, { additionalProperties: false }),
      response: { 200: listResponse(ServerCollection), ...problems() }
    }
  }, async (request, reply) => {
    const { name, url, active, limit, offset } = request.query
    const listing = await app.domain.servers.list(await request.actor(),
      { name, url: url === undefined ? undefined : { contains: url }, active }, { limit, offset })
    return collection(request, reply, listing, (s) => s.name, serverDocument)
  })

  app.get('/servers/:name', {
    schema: { operationId: 'readServer', tags, summary: 'Read a server', params, response: { 200: readResponse(Type.Ref('Server'), 'The server'), ...problems(404) } }
  }, async (request) => serverDocument(await app.domain.servers.get(await request.actor(), request.params.name)))

  app.post('/servers', {
    schema: {
      operationId: 'createServer',
      tags, summary: 'Create a server (administrators)', body: ServerCreate,
      response: { 201: createdResponse(Type.Ref('Server'), 'Created'), ...problems(403, 409, 413, 415) }
    }
  }, async (request, reply) => {
    const server = await app.domain.servers.create(await request.actor(), request.body)
    return await reply.code(201).header('location', `/servers/${server.name}`).send(serverDocument(server))
  })

  app.patch('/servers/:name', {
    schema: {
      operationId: 'updateServer',
      tags, summary: 'Change a server (administrators)', params, body: ServerUpdate,
      response: { 200: changedResponse(Type.Ref('Server'), 'The server, changed'), ...problems(403, 404, 409, 413, 415) }
    }
  }, async (request) => {
    const { item } = await app.domain.servers.update(await request.actor(), request.params.name, request.body)
    return serverDocument(item)
  })

  app.delete('/servers/:name', {
    schema: {
      operationId: 'deleteServer',
      tags, summary: 'Delete a server and its services (administrators)', params,
      response: { 204: NoContent, ...problems(403, 404) }
    }
  }, async (request, reply) => {
    await app.domain.servers.delete(await request.actor(), request.params.name)
    return await reply.code(204).send(null)
  })
}

export default serverRoutes
