/**
 * The domain seen as Roundup classes: for each class, its properties (how to
 * read them from the domain's view, which domain input field they write) and the
 * domain calls behind list, display, create, set, lookup and retire. Nothing here
 * decides a permission: every read and write goes through a domain service.
 */
import { requireUser, type Actor } from '../../domain/actor.ts'
import { allPages } from '../../domain/common.ts'
import { orNull } from '../../domain/errors.ts'
import type { Domain } from '../../domain/index.ts'
import type { ApiKeyView } from '../../domain/api-keys.ts'
import type { GroupView } from '../../domain/groups.ts'
import type { DataView, JobView, ProjectView } from '../../domain/projects.ts'
import type { ServerView } from '../../domain/servers.ts'
import type { ServiceView } from '../../domain/services.ts'
import type { UserView } from '../../domain/users.ts'
import type { Renderable } from './codec.ts'
import { Fault, FaultCode } from './faults.ts'

export interface CallContext {
  actor: Actor
  domain: Domain
}

export type ClassName = 'server' | 'service' | 'user' | 'group' | 'project' | 'apikey' | 'job' | 'data'

export type PropertyType =
  | { kind: 'String' }
  | { kind: 'Boolean' }
  | { kind: 'Date' }
  | { kind: 'Password' }
  | { kind: 'Link', to: ClassName }
  | { kind: 'Multilink', to: ClassName }

export interface PropertySpec<V> {
  type: PropertyType
  /** The rendered value (links as id strings); absent for write-only properties. */
  read?: (view: V, ctx: CallContext) => Renderable | Promise<Renderable>
  /** The domain input field this property sets; absent for read-only properties. */
  write?: string
  /** An empty `prop=` clears it to null rather than to an empty string. */
  nullable?: boolean
  /**
   * Linked items are handed to the domain as written (ids as numbers, keys as
   * strings) for it to resolve: a project manager names members whose user
   * records it may not read.
   */
  resolvedByDomain?: boolean
}

/** `V` is the domain's view of an item; the table of all classes holds them as `ClassSpec<any>`. */
export interface ClassSpec<V = any> {
  name: ClassName
  /** The key property, unique per item: lookup() and list() use it. */
  key?: string
  /** What list() shows without a property: the key, or a name for keyless classes. */
  label: string
  properties: Record<string, PropertySpec<V>>
  id: (view: V) => number
  /** Every live (not retired) item the actor may see, optionally only these ids. */
  all: (ctx: CallContext, ids?: number[]) => Promise<V[]>
  /** One item the actor may see, retired or not. */
  get: (ctx: CallContext, id: number) => Promise<V>
  lookup?: (ctx: CallContext, key: string) => Promise<number>
  /** Creates from domain input; `secret` is shown once (API keys). */
  create?: (ctx: CallContext, input: Record<string, unknown>) => Promise<{ id: number, secret?: string }>
  /** Changes from domain input; `changed` lists domain input fields. */
  update?: (ctx: CallContext, id: number, input: Record<string, unknown>) => Promise<{ item: V, changed: string[] }>
  setRetired?: (ctx: CallContext, id: number, retired: boolean) => Promise<void>
}

const id = (value: number | null | undefined): string | null => value === null || value === undefined ? null : String(value)
const ids = (values: number[]): string[] => values.map(String)

const text = { kind: 'String' } as const
const bool = { kind: 'Boolean' } as const
const date = { kind: 'Date' } as const
const link = (to: ClassName) => ({ kind: 'Link', to }) as const
const multilink = (to: ClassName) => ({ kind: 'Multilink', to }) as const

/** A property read and written under the same name as the domain's. */
function plain<V> (type: PropertyType, field: keyof V & string, options: { readOnly?: boolean, nullable?: boolean } = {}): PropertySpec<V> {
  return {
    type,
    read: (view) => view[field] as Renderable,
    ...(options.readOnly === true ? {} : { write: field }),
    ...(options.nullable === true ? { nullable: true } : {})
  }
}

const server: ClassSpec<ServerView> = {
  name: 'server',
  key: 'name',
  label: 'name',
  properties: {
    name: plain(text, 'name'),
    url: plain(text, 'url'),
    active: plain(bool, 'active'),
    description: plain(text, 'description'),
    creation: plain(date, 'createdAt', { readOnly: true }),
    activity: plain(date, 'updatedAt', { readOnly: true })
  },
  id: (view) => view.id,
  all: async ({ actor, domain }, only) => await allPages((page) => domain.servers.list(actor, { ids: only }, page)),
  get: async ({ actor, domain }, serverId) => await domain.servers.get(actor, serverId, { includeRetired: true }),
  lookup: async ({ actor, domain }, key) => (await domain.servers.get(actor, key)).id,
  create: async ({ actor, domain }, input) => ({ id: (await domain.servers.create(actor, input)).id }),
  update: async ({ actor, domain }, serverId, input) => await domain.servers.update(actor, serverId, input),
  setRetired: async ({ actor, domain }, serverId, retired) => { await domain.servers.setRetired(actor, serverId, retired) }
}

const service: ClassSpec<ServiceView> = {
  name: 'service',
  key: 'fullname',
  label: 'fullname',
  properties: {
    fullname: plain(text, 'fullName', { readOnly: true }),
    name: plain(text, 'name'),
    server: { type: link('server'), read: (view) => id(view.serverId), write: 'server' },
    project: { type: link('project'), read: (view) => id(view.projectId), write: 'project' },
    type: plain(text, 'type'),
    exported: plain(bool, 'exported'),
    disabled: plain(bool, 'disabled'),
    authorized: plain(bool, 'authorized', { readOnly: true }),
    description: plain(text, 'description'),
    creation: plain(date, 'createdAt', { readOnly: true }),
    activity: plain(date, 'updatedAt', { readOnly: true })
  },
  id: (view) => view.id,
  all: async ({ actor, domain }, only) => await allPages((page) => domain.services.list(actor, { ids: only }, page)),
  get: async ({ actor, domain }, serviceId) => await domain.services.get(actor, serviceId, { includeRetired: true }),
  lookup: async ({ actor, domain }, key) => (await domain.services.get(actor, key)).id,
  create: async ({ actor, domain }, input) => ({ id: (await domain.services.create(actor, input)).id }),
  update: async ({ actor, domain }, serviceId, input) => await domain.services.update(actor, serviceId, input),
  setRetired: async ({ actor, domain }, serviceId, retired) => { await domain.services.setRetired(actor, serviceId, retired) }
}

const user: ClassSpec<UserView> = {
  name: 'user',
  key: 'username',
  label: 'username',
  properties: {
    username: plain(text, 'username'),
    email: plain(text, 'email', { nullable: true }),
    firstname: plain(text, 'firstname'),
    lastname: plain(text, 'lastname'),
    type: plain(text, 'type'),
    authentication_type: plain(text, 'authentication_type'),
    ldap_dn: plain(text, 'ldap_dn', { nullable: true }),
    status: plain(text, 'status'),
    status_message: plain(text, 'status_message', { nullable: true }),
    is_admin: plain(bool, 'is_admin'),
    // Write-only: display never returns a password, not even its hash.
    password: { type: { kind: 'Password' }, write: 'password' },
    groups: {
      type: multilink('group'),
      read: async (view, { actor, domain }) =>
        await Promise.all(view.groups.map(async (name) => String((await domain.groups.get(actor, name)).id)))
    },
    projects: { type: multilink('project'), read: (view) => ids(view.projects) },
    creation: plain(date, 'createdAt', { readOnly: true }),
    lastlogin: plain(date, 'lastLoginAt', { readOnly: true })
  },
  id: (view) => view.id,
  all: async ({ actor, domain }, only) => await allPages((page) => domain.users.list(actor, { ids: only }, page)),
  get: async ({ actor, domain }, userId) => await domain.users.get(actor, userId, { includeRetired: true }),
  lookup: async ({ actor, domain }, key) => await domain.users.lookup(actor, key),
  create: async ({ actor, domain }, input) => ({ id: (await domain.users.create(actor, input)).id }),
  update: async ({ actor, domain }, userId, input) => await domain.users.update(actor, userId, input),
  setRetired: async ({ actor, domain }, userId, retired) => { await domain.users.setRetired(actor, userId, retired) }
}

const group: ClassSpec<GroupView> = {
  name: 'group',
  key: 'name',
  label: 'name',
  properties: {
    name: plain(text, 'name'),
    active: plain(bool, 'active'),
    description: plain(text, 'description'),
    members: { type: multilink('user'), read: (view) => view.members.map((m) => String(m.id)), write: 'members' },
    creation: plain(date, 'createdAt', { readOnly: true }),
    activity: plain(date, 'updatedAt', { readOnly: true })
  },
  id: (view) => view.id,
  all: async ({ actor, domain }, only) => await allPages((page) => domain.groups.list(actor, { ids: only }, page)),
  get: async ({ actor, domain }, groupId) => await domain.groups.get(actor, groupId, { includeRetired: true }),
  lookup: async ({ actor, domain }, key) => (await domain.groups.get(actor, key)).id,
  create: async ({ actor, domain }, input) => ({ id: (await domain.groups.create(actor, input)).id }),
  update: async ({ actor, domain }, groupId, input) => await domain.groups.update(actor, groupId, input),
  setRetired: async ({ actor, domain }, groupId, retired) => { await domain.groups.setRetired(actor, groupId, retired) }
}

const project: ClassSpec<ProjectView> = {
  name: 'project',
  key: 'name',
  label: 'name',
  properties: {
    name: plain(text, 'name'),
    description: plain(text, 'description'),
    owner: { type: link('user'), read: (view) => String(view.owner), write: 'owner' },
    managers: { type: multilink('user'), read: (view) => ids(view.managers), write: 'managers', resolvedByDomain: true },
    contributors: { type: multilink('user'), read: (view) => ids(view.contributors), write: 'contributors', resolvedByDomain: true },
    watchers: { type: multilink('user'), read: (view) => ids(view.watchers), write: 'watchers', resolvedByDomain: true },
    groups: { type: multilink('group'), read: (view) => ids(view.groups.map((g) => g.id)) },
    services: { type: multilink('service'), read: (view) => ids(view.services.map((s) => s.id)) },
    favorites: { type: multilink('service'), read: (view) => ids(view.favorites.map((s) => s.id)) },
    jobs: { type: multilink('job'), read: (view) => ids(view.jobs.map((j) => j.id)) },
    data: { type: multilink('data'), read: (view) => ids(view.data.map((d) => d.id)) },
    creation: plain(date, 'createdAt', { readOnly: true }),
    activity: plain(date, 'updatedAt', { readOnly: true })
  },
  id: (view) => view.id,
  all: async ({ actor, domain }, only) => await allPages((page) => domain.projects.listVisible(actor, { ids: only }, page)),
  get: async ({ actor, domain }, projectId) => await domain.projects.get(actor, projectId, { includeRetired: true }),
  lookup: async ({ actor, domain }, key) => (await domain.projects.get(actor, key)).id,
  create: async ({ actor, domain }, input) => ({ id: (await domain.projects.create(actor, input)).id }),
  update: async ({ actor, domain }, projectId, input) => await domain.projects.update(actor, projectId, input),
  setRetired: async ({ actor, domain }, projectId, retired) => { await domain.projects.setRetired(actor, projectId, retired) }
}

/** Jobs and data items live in projects: those of the live projects the actor can see. */
const projectLink: PropertySpec<{ projectId: number }> = {
  type: link('project'), read: (view) => String(view.projectId), write: 'project'
}

/** Splits the project off a job or data input: the domain takes it as a separate argument. */
function inProject (input: Record<string, unknown>): { project: string, rest: Record<string, unknown> } {
  const { project: projectKey, ...rest } = input
  if (typeof projectKey !== 'string') throw new Fault(FaultCode.invalidValue, 'you must provide the "project" property.')
  return { project: projectKey, rest }
}

/** A job names its service by full name; the link shows its id, or nothing once the service is gone from view. */
async function serviceId ({ actor, domain }: CallContext, fullName: string | null): Promise<string | null> {
  if (fullName === null) return null
  const service = await orNull(domain.services.get(actor, fullName, { includeRetired: true }))
  return service === null ? null : String(service.id)
}

const job: ClassSpec<JobView> = {
  name: 'job',
  label: 'name',
  properties: {
    project: projectLink,
    name: plain(text, 'name'),
    status: plain(text, 'status'),
    service: { type: link('service'), read: async (view, ctx) => await serviceId(ctx, view.service), write: 'service' },
    creation: plain(date, 'createdAt', { readOnly: true })
  },
  id: (view) => view.id,
  all: async ({ actor, domain }, only) => await domain.projects.listJobs(actor, { ids: only }),
  get: async ({ actor, domain }, jobId) => await domain.projects.getJob(actor, jobId),
  create: async ({ actor, domain }, input) => {
    const { project: projectKey, rest } = inProject(input)
    return { id: (await domain.projects.addJob(actor, projectKey, rest)).id }
  }
}

const dataClass: ClassSpec<DataView> = {
  name: 'data',
  label: 'name',
  properties: {
    project: projectLink,
    name: plain(text, 'name'),
    description: plain(text, 'description'),
    creation: plain(date, 'createdAt', { readOnly: true })
  },
  id: (view) => view.id,
  all: async ({ actor, domain }, only) => await domain.projects.listData(actor, { ids: only }),
  get: async ({ actor, domain }, dataId) => await domain.projects.getData(actor, dataId),
  create: async ({ actor, domain }, input) => {
    const { project: projectKey, rest } = inProject(input)
    return { id: (await domain.projects.addData(actor, projectKey, rest)).id }
  }
}

/** The caller's own API keys; revoked keys count as retired and cannot come back. */
async function ownKeys ({ actor, domain }: CallContext): Promise<ApiKeyView[]> {
  const owner = requireUser(actor, 'API keys')
  return await domain.apiKeys.list(actor, owner.id)
}

const apikey: ClassSpec<ApiKeyView> = {
  name: 'apikey',
  label: 'label',
  properties: {
    label: plain(text, 'label'),
    hint: plain(text, 'hint', { readOnly: true }),
    user: { type: link('user'), read: (view) => String(view.userId) },
    creation: plain(date, 'createdAt', { readOnly: true }),
    lastused: plain(date, 'lastUsedAt', { readOnly: true }),
    revoked: plain(date, 'revokedAt', { readOnly: true })
  },
  id: (view) => view.id,
  all: async (ctx, only) => (await ownKeys(ctx)).filter((key) => key.revokedAt === null && (only === undefined || only.includes(key.id))),
  get: async ({ actor, domain }, keyId) => await domain.apiKeys.get(actor, requireUser(actor, 'API keys').id, keyId),
  create: async ({ actor, domain }, input) => {
    const owner = requireUser(actor, 'API keys')
    const { key, secret } = await domain.apiKeys.create(actor, owner.id, input)
    return { id: key.id, secret }
  },
  setRetired: async ({ actor, domain }, keyId, retired) => {
    if (!retired) throw new Fault(FaultCode.notSupported, 'a revoked apikey cannot be restored')
    const owner = requireUser(actor, 'API keys')
    await domain.apiKeys.revoke(actor, owner.id, keyId)
  }
}

export const classes: Record<ClassName, ClassSpec> = {
  apikey, data: dataClass, group, job, project, server, service, user
}

export function classNamed (name: string): ClassSpec {
  if (!Object.hasOwn(classes, name)) throw new Fault(FaultCode.noSuchClass, `There is no class called "${name}"`)
  return classes[name as ClassName]
}

/** `user12` → the class and id; refuses anything else with Roundup's wording. */
export function parseDesignator (designator: string): { cls: ClassSpec, id: number } {
  const match = /^([A-Za-z_]+)([1-9]\d{0,15})$/.exec(designator)
  if (match === null) throw new Fault(FaultCode.wrongArguments, `"${designator}" not a node designator`)
  return { cls: classNamed(match[1]!), id: Number(match[2]) }
}

/** The type as Roundup's schema() prints it. */
export function describeType (type: PropertyType): string {
  switch (type.kind) {
    case 'Link':
    case 'Multilink':
      return `<roundup.hyperdb.${type.kind} to "${type.to}">`
    default:
      return `<roundup.hyperdb.${type.kind}>`
  }
}
