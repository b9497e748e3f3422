/** `/servers`: the mobyle2 servers, keyed by name; public reads, administrators write. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { Name, ServerCreate, ServerUpdate } from '../domain/schemas.ts'
import { ServerDocument, serverDocument } from '../domain/documents.ts'
import {
  changedResponse, collection, entity, createdResponse, listResponse, NoContent, pageQuery, problems, QueryBoolean, readResponse
} from './common.ts'

export const ServerRepresentation = Type.Object(ServerDocument.properties, { $id: 'Server', title: 'Server' })

const ServerCollection = Type.Record(Name, Type.Ref('Server'), { description: 'Servers keyed by name.' })

const count = (description: string) => Type.Integer({ minimum: 0, description })
const SyncOutcome = Type.Object({
  name: Name,
  server: Type.Ref('Server'),
  added: count('Services copied for the first time.'),
  changed: count('Copies changed to match the peer.'),
  removed: count('Copies of services the peer no longer exports, deleted.'),
  unchanged: count('Copies already up to date.'),
  ignored: count('Entries left out: not exported, or another server\'s (a peer\'s copies of third parties are not passed on).'),
  shadowed: count('Entries whose full name is one of this server\'s own services on that server: the local one stays.')
}, { description: 'What a sync of a peer did.' })

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
  }, async (request, reply) => entity(request, reply, await app.domain.servers.get(await request.actor(), request.params.name), serverDocument))

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

  app.post('/servers/:name/sync', {
    schema: {
      operationId: 'syncServer',
      tags,
      summary: 'Fetch a peer\'s exported services now (administrators)',
      description: 'Replaces this server\'s copy of the services the peer exports (its own, not those it imported) with what its ' +
        '/services/ answers now, in one transaction. A peer that cannot be reached or answers something unusable is a 502; ' +
        'the server record then shows active false and last_sync_error, and the last good copy is kept.',
      params,
      response: { 200: SyncOutcome, ...problems(403, 404, 409, 502) }
    }
  }, async (request) => {
    const { server, ...counts } = await app.domain.federation.sync(await request.actor(), request.params.name)
    return { name: server.name, server: serverDocument(server), ...counts }
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
