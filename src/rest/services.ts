/**
 * `/services`: services keyed by full name (`service::project::server`, or
 * `service::server` for a server-level service), with `authorized` computed for
 * the caller. Administrators manage server-level services; a project's owner and
 * managers manage its own. A program's interface (a CWL CommandLineTool) and the
 * JSON Schema of its jobs' inputs are sub-resources: docs/interfaces.md.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { parseDocument } from 'yaml'
import { Invalid } from '../domain/errors.ts'
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

/**
 * An interface, described loosely: the domain checks it and names what it refuses
 * (docs/interfaces.md). No member is listed, so that it is sent back with its
 * members in the order they were sent (a serializer writes listed members first).
 */
export const InterfaceRepresentation = Type.Object({}, {
  $id: 'Interface',
  title: 'Interface',
  additionalProperties: true,
  description: 'A CWL v1.2 CommandLineTool in the subset this server runs (docs/interfaces.md): cwlVersion, class: CommandLineTool, ' +
    'baseCommand, arguments, inputs (string, int, long, float, double, boolean, File, enums and arrays; optional with ?; default; ' +
    'inputBinding with position, prefix, separate, itemSeparator and a literal valueFrom), outputs (stdout, stderr, File with ' +
    'outputBinding.glob), stdout, stderr, requirements and hints (EnvVarRequirement, ResourceRequirement), EDAM formats. ' +
    'Anything outside it is refused with a 400 naming it.'
})

/** A JSON Schema document, sent as the domain made it (members unlisted, as the interface's). */
const InputSchemaRepresentation = Type.Object({}, {
  additionalProperties: true,
  description: 'A JSON Schema 2020-12 document ($schema, title, type: object, properties by input id, required, additionalProperties: false): ' +
    'what a job\'s inputs must be. A File input is {"data": "<data item id>"}.'
})

/** The media types an interface may be sent as YAML in (JSON as application/json). */
const yamlTypes = ['application/yaml', 'application/x-yaml', 'text/yaml']
const interfaceBody = Type.Object({}, { additionalProperties: true, description: 'A CWL CommandLineTool document.' })

/** What is already in its final shape, rendered as it is. */
const asItIs = <T>(document: T): T => document

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

  await app.register(interfaceRoutes)

  app.delete('/services/:fullname', {
    schema: { operationId: 'deleteService', tags, summary: 'Delete a service', params, response: { 204: NoContent, ...problems(403, 404) } }
  }, async (request, reply) => {
    await app.domain.services.delete(await request.actor(), request.params.fullname)
    return await reply.code(204).send(null)
  })
}

/**
 * A program's interface and its jobs' input schema, in a scope of their own: the
 * YAML parser is theirs alone (elsewhere YAML is a 415, as any other non-JSON body).
 */
const interfaceRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.addContentTypeParser(yamlTypes, { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseYaml(body as string))
    } catch (error) {
      done(error as Error, undefined)
    }
  })

  app.get('/services/:fullname/interface', {
    schema: {
      operationId: 'readServiceInterface',
      tags,
      summary: "Read a program's interface, a CWL CommandLineTool (whoever can see the service)",
      params,
      response: { 200: readResponse(Type.Ref('Interface'), 'The interface, as it was set (YAML as JSON)'), ...problems(403, 404) }
    }
  }, async (request, reply) => entity(request, reply, await app.domain.services.interface(await request.actor(), request.params.fullname), asItIs))

  app.put('/services/:fullname/interface', {
    schema: {
      operationId: 'setServiceInterface',
      tags,
      summary: "Set a program's interface, a CWL CommandLineTool, as JSON or YAML (administrators: it runs a command on the server's machines)",
      params,
      body: { content: Object.fromEntries(['application/json', ...yamlTypes].map((type) => [type, { schema: interfaceBody }])) },
      response: {
        200: changedResponse(Type.Ref('Interface'), 'The interface, replaced'),
        201: createdResponse(Type.Ref('Interface'), 'The interface, set where there was none'),
        ...problems(403, 404, 409, 413, 415)
      }
    }
  }, async (request, reply) => {
    const { document, created } = await app.domain.services.setInterface(await request.actor(), request.params.fullname, request.body)
    if (created) void reply.code(201).header('location', `/services/${request.params.fullname}/interface`)
    return document
  })

  app.delete('/services/:fullname/interface', {
    schema: {
      operationId: 'deleteServiceInterface',
      tags,
      summary: "Remove a program's interface (administrators)",
      params,
      response: { 204: NoContent, ...problems(403, 404) }
    }
  }, async (request, reply) => {
    await app.domain.services.removeInterface(await request.actor(), request.params.fullname)
    return await reply.code(204).send(null)
  })

  app.get('/services/:fullname/schema', {
    schema: {
      operationId: 'readServiceInputSchema',
      tags,
      summary: "Read the JSON Schema 2020-12 of a job's inputs, compiled from the program's interface (whoever can see the service)",
      params,
      response: { 200: readResponse(InputSchemaRepresentation, 'The JSON Schema of a job\'s inputs'), ...problems(403, 404) }
    }
  }, async (request, reply) => entity(request, reply, await app.domain.services.inputSchema(await request.actor(), request.params.fullname), asItIs))
}

/**
 * A YAML body as JSON: one document, YAML 1.2's core schema whatever its %YAML
 * says, no tags beyond the core's (`!!binary`, `!!timestamp`, `!custom`: refused),
 * aliases bounded, keys unique, every number finite (JSON has no `.inf`); else a
 * 400 saying what.
 */
function parseYaml (text: string): unknown {
  const document = parseDocument(text, { schema: 'core', resolveKnownTags: false, uniqueKeys: true, prettyErrors: false })
  // An unresolved tag is only a warning to the parser: here it is a value that would be read otherwise than written.
  const [error] = [...document.errors, ...document.warnings]
  if (error !== undefined) throw Invalid.field('interface', '(body)', `is not valid YAML: ${error.message}`)
  let value: unknown
  try {
    value = document.toJS({ maxAliasCount: 100 })
  } catch (error) {
    throw Invalid.field('interface', '(body)', `is not valid YAML: ${(error as Error).message}`)
  }
  if (!finite(value)) throw Invalid.field('interface', '(body)', 'holds a number JSON cannot (.inf or .nan)')
  return value
}

function finite (value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value)
  if (Array.isArray(value)) return value.every(finite)
  if (value !== null && typeof value === 'object') return Object.values(value).every(finite)
  return true
}

export default serviceRoutes
