/**
 * The mobyle2 spec's JSON shapes of a server and a service: what REST serves at
 * `/servers/` and `/services/` and what the JSON-RPC methods return, from one
 * schema and one renderer each.
 */
import Type, { type Static } from 'typebox'
import { ServiceType } from './schemas.ts'
import type { ServerView } from './servers.ts'
import type { ServiceView } from './services.ts'

export const ServerDocument = Type.Object({
  url: Type.String(),
  services: Type.Array(Type.String(), { description: 'Names of the services on this server that the caller can see.' }),
  active: Type.Boolean(),
  description: Type.String(),
  last_sync_at: Type.Optional(Type.String({ format: 'date-time', description: 'When this server last synced the peer\'s exported services; absent if it never tried.' })),
  last_sync_error: Type.Optional(Type.String({ description: 'Why the last sync failed; absent when it worked (the copy from the last good sync is kept).' }))
})
export type ServerDocument = Static<typeof ServerDocument>

export function serverDocument (server: ServerView): ServerDocument {
  return {
    url: server.url,
    services: server.services,
    active: server.active,
    description: server.description,
    ...(server.lastSyncAt === null ? {} : { last_sync_at: server.lastSyncAt.toISOString() }),
    ...(server.lastSyncError === null ? {} : { last_sync_error: server.lastSyncError })
  }
}

export const ServiceDocument = Type.Object({
  name: Type.String(),
  server: Type.String(),
  project: Type.Optional(Type.String({ description: 'Absent for a server-level service.' })),
  type: ServiceType,
  exported: Type.Boolean({ description: 'Whether the service can be called from another server.' }),
  disabled: Type.Boolean({ description: 'Disabled by the administrators, e.g. for maintenance.' }),
  authorized: Type.Boolean({ description: 'Whether the caller may call the service.' }),
  description: Type.String(),
  interface: Type.Optional(Type.String({
    description: 'Where its interface is (GET /services/{fullname}/interface): present only for a program that has one (an addition to the spec).'
  }))
})
export type ServiceDocument = Static<typeof ServiceDocument>

export function serviceDocument (service: ServiceView): ServiceDocument {
  return {
    name: service.name,
    server: service.server,
    ...(service.project === undefined ? {} : { project: service.project }),
    type: service.type,
    exported: service.exported,
    disabled: service.disabled,
    authorized: service.authorized,
    description: service.description,
    ...(service.hasInterface ? { interface: `/services/${service.fullName}/interface` } : {})
  }
}
