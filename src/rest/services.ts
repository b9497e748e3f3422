/**
 * `/services`: services keyed by full name (`service::project::server`, or
 * `service::server` for a server-level service), with `authorized` computed for
 * the caller. Administrators manage server-level services; a project's owner and
 * managers manage its own.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { Name, ServiceCreate, ServiceType, ServiceUpdate } from '../domain/schemas.ts'
import { ServiceDocument, serviceDocument } from '../domain/documents.ts'
import {
  changedResponse, collection, entity, createdResponse, listResponse, NoContent, pageQuery, problems, QueryBoolean, readResponse
} from './common.ts'

// A full name is two or three names (the domain's own pattern, unanchored) joined by ::
const namePart = (Name as unknown as { pattern: string }).pattern.slice(1, -1)
export const FullName = Type.String({
  maxLength: 302,
  pattern: `^${namePart}(::${namePart}){1,2}$`,
  description: 'service::project::server, or service::server for a server-level service.'
})

export const ServiceRepresentation = Type.Object(ServiceDocument.properties, { $id: 'Service', title: 'Service' })

const ServiceCollection = Type.Record(FullName, Type.Ref('Service'), { description: 'Services keyed by full name.' })

const tags = ['services']
const params = Type.Object({ fullname: FullName })

const serviceRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/services', {
    schema: {
      operationId: 'listServices',
      tags,
      summary: 'List the services the caller can see',
      querystring: Type.Object({
        name: Type.Optional(Name),
        server: Type.Optional(Name),
        project: Type.Optional(Name),
        server_level: Type.Optional(Type.Boolean({ description: 'true: only server-level services; false: only project services.' })),
        type: Type.Optional(ServiceType),
        exported: Type.Optional(QueryBoolean),
        disabled: Type.Optional(QueryBoolean),
        ...pageQuery
      }, { additionalProperties: false }),
      response: { 200: listResponse(ServiceCollection), ...problems(403) }
    }
  }, async (request, reply) => {
    const { limit, offset, server_level: serverLevel, project, ...filter } = request.query
    const listing = await app.domain.services.list(await request.actor(), {
      ...filter,
      // server_level=false keeps the services that have a project, whatever its name.
      project: serverLevel === true ? null : serverLevel === false && project === undefined ? { contains: '' } : project
    }, { limit, offset })
    return collection(request, reply, listing, (s) => s.fullName, serviceDocument)
  })

  app.get('/services/:fullname', {
    schema: { operationId: 'readService', tags, summary: 'Read a service', params, response: { 200: readResponse(Type.Ref('Service'), 'The service'), ...problems(403, 404) } }
  }, async (request, reply) => entity(request, reply, await app.domain.services.get(await request.actor(), request.params.fullname), serviceDocument))

  app.post('/services', {
    schema: {
      operationId: 'createService',
      tags,
      summary: "Create a service (administrators for server-level services; a project's owner and managers for its services)",
      body: ServiceCreate,
      response: { 201: createdResponse(Type.Ref('Service'), 'Created'), ...problems(403, 409, 413, 415) }
    }
  }, async (request, reply) => {
    const service = await app.domain.services.create(await request.actor(), request.body)
    return await reply.code(201).header('location', `/services/${service.fullName}`).send(serviceDocument(service))
  })

  app.patch('/services/:fullname', {
    schema: {
      operationId: 'updateService',
      tags,
      summary: 'Change a service: enable or disable it, export it, rename it',
      params,
      body: ServiceUpdate,
      response: { 200: changedResponse(Type.Ref('Service'), 'The service, changed'), ...problems(403, 404, 409, 413, 415) }
    }
  }, async (request) => {
    const { item } = await app.domain.services.update(await request.actor(), request.params.fullname, request.body)
    return serviceDocument(item)
  })

  app.delete('/services/:fullname', {
    schema: { operationId: 'deleteService', tags, summary: 'Delete a service', params, response: { 204: NoContent, ...problems(403, 404) } }
  }, async (request, reply) => {
    await app.domain.services.delete(await request.actor(), request.params.fullname)
    return await reply.code(204).send(null)
  })
}

export default serviceRoutes
