/** This domain's servers and services, in RhodeCode's style: get_*, create_*, update_*, delete_*. */
import Type from 'typebox'
import { Description, HttpUrl, Name, ServiceType } from '../../../domain/schemas.ts'
import { allPages } from '../../../domain/common.ts'
import { orNull } from '../../../domain/errors.ts'
import { defineMethod } from '../method.ts'
import { ServiceDocument, serviceDocument } from '../../../domain/documents.ts'
import { renderServer, ServerObject, SuccessMessage } from '../objects.ts'

const ServerId = Name
const ServiceId = Type.String({ minLength: 1, maxLength: 400, description: 'The service full name: service::project::server, or service::server for a server-level service.' })

export const serverMethods = [
  defineMethod({
    name: 'get_servers',
    summary: 'Every server, with the names of the services the caller can see.',
    params: Type.Object({}),
    result: Type.Array(ServerObject),
    run: async (domain, actor) => (await allPages((page) => domain.servers.list(actor, {}, page))).map(renderServer)
  }),
  defineMethod({
    name: 'get_server',
    summary: 'A server by name; null when there is none.',
    params: Type.Object({ serverid: ServerId }),
    result: Type.Union([ServerObject, Type.Null()]),
    run: async (domain, actor, { serverid }) => {
      const server = await orNull(domain.servers.get(actor, serverid))
      return server === null ? null : renderServer(server)
    }
  }),
  defineMethod({
    name: 'create_server',
    summary: 'Registers a server (administrators).',
    params: Type.Object({
      name: Name,
      url: HttpUrl,
      active: Type.Optional(Type.Boolean({ default: true })),
      description: Type.Optional(Description)
    }),
    result: Type.Object({ msg: Type.String(), server: ServerObject }),
    run: async (domain, actor, args) => {
      const server = await domain.servers.create(actor, args)
      return { msg: `created new server \`${server.name}\``, server: renderServer(server) }
    }
  }),
  defineMethod({
    name: 'update_server',
    summary: 'Changes a server (administrators).',
    params: Type.Object({
      serverid: ServerId,
      name: Type.Optional(Name),
      url: Type.Optional(HttpUrl),
      active: Type.Optional(Type.Boolean()),
      description: Type.Optional(Description)
    }),
    result: Type.Object({ msg: Type.String(), server: ServerObject }),
    run: async (domain, actor, { serverid, ...changes }) => {
      const { item } = await domain.servers.update(actor, serverid, changes)
      return { msg: `updated server \`${item.name}\``, server: renderServer(item) }
    }
  }),
  defineMethod({
    name: 'delete_server',
    summary: 'Deletes a server and every service it hosts (administrators).',
    params: Type.Object({ serverid: ServerId }),
    result: SuccessMessage,
    run: async (domain, actor, { serverid }) => {
      const server = await domain.servers.delete(actor, serverid)
      return { msg: `deleted server \`${server.name}\``, success: true }
    }
  }),
  defineMethod({
    name: 'pull',
    summary: 'RhodeCode\'s pull, for servers: fetches that peer\'s exported services now and keeps this server\'s copy up to date ' +
      '(administrators). Answers "Pulled from <name>"; a peer that cannot be used is an error, recorded on the server.',
    params: Type.Object({ serverid: ServerId }),
    result: Type.String(),
    // RhodeCode names the remote to pull repoid (1.4), repo_name (1.3) or repo (1.2); here it is a server.
    legacy: [{ version: '1.4', names: { repoid: 'serverid' } }, { version: '1.3', names: { repo_name: 'serverid' } }, { version: '1.2', names: { repo: 'serverid' } }],
    run: async (domain, actor, { serverid }) => `Pulled from ${(await domain.federation.sync(actor, serverid)).server.name}`
  }),
  defineMethod({
    name: 'get_services',
    summary: 'The services the caller can see: server-level, exported, and those of its projects.',
    params: Type.Object({}),
    result: Type.Array(ServiceDocument),
    run: async (domain, actor) => (await allPages((page) => domain.services.list(actor, {}, page))).map(serviceDocument)
  }),
  defineMethod({
    name: 'get_service',
    summary: 'A service by full name; null when there is none the caller can see.',
    params: Type.Object({ serviceid: ServiceId }),
    result: Type.Union([ServiceDocument, Type.Null()]),
    run: async (domain, actor, { serviceid }) => {
      const service = await orNull(domain.services.get(actor, serviceid))
      return service === null ? null : serviceDocument(service)
    }
  }),
  defineMethod({
    name: 'create_service',
    summary: 'Creates a service: server-level (administrators) or in a project (its owner and managers); on this server (SERVER_NAME) unless `server` names another.',
    params: Type.Object({
      name: Name,
      server: Type.Optional(Name),
      project: Type.Optional(Name),
      type: ServiceType,
      exported: Type.Optional(Type.Boolean({ default: false })),
      disabled: Type.Optional(Type.Boolean({ default: false })),
      description: Type.Optional(Description)
    }),
    result: Type.Object({ msg: Type.String(), service: ServiceDocument }),
    run: async (domain, actor, args) => {
      const service = await domain.services.create(actor, args)
      return { msg: `created new service \`${service.fullName}\``, service: serviceDocument(service) }
    }
  }),
  defineMethod({
    name: 'update_service',
    summary: 'Changes a service, which stays on its server and in its project: server-level (administrators) or a project\'s (its owner and managers).',
    params: Type.Object({
      serviceid: ServiceId,
      name: Type.Optional(Name),
      type: Type.Optional(ServiceType),
      exported: Type.Optional(Type.Boolean()),
      disabled: Type.Optional(Type.Boolean()),
      description: Type.Optional(Description)
    }),
    result: Type.Object({ msg: Type.String(), service: ServiceDocument }),
    run: async (domain, actor, { serviceid, ...changes }) => {
      const { item } = await domain.services.update(actor, serviceid, changes)
      return { msg: `updated service \`${item.fullName}\``, service: serviceDocument(item) }
    }
  }),
  defineMethod({
    name: 'delete_service',
    summary: 'Deletes a service: server-level (administrators) or a project\'s (its owner and managers).',
    params: Type.Object({ serviceid: ServiceId }),
    result: SuccessMessage,
    run: async (domain, actor, { serviceid }) => {
      const service = await domain.services.delete(actor, serviceid)
      return { msg: `deleted service \`${service.fullName}\``, success: true }
    }
  })
]
