/**
 * The domain seen as Roundup classes: for each class, its properties (how to
 * read them from the domain's view, which domain input field they write) and the
 * domain calls behind list, display, create, set, lookup and retire. Nothing here
 * decides a permission: every read and write goes through a domain service.
 */
import { requireUser, type Actor } from '../../domain/actor.ts'
import { allPages, type Order } from '../../domain/common.ts'
import { orNull } from '../../domain/errors.ts'
import type { Domain } from '../../domain/index.ts'
import type { ApiKeyFilter, ApiKeySortField, ApiKeyView } from '../../domain/api-keys.ts'
import type { GroupFilter, GroupSortField, GroupView } from '../../domain/groups.ts'
import type { DataSortField, DataView, JobSortField, JobView, ProjectFilter, ProjectSortField, ProjectView, ReferenceFilter } from '../../domain/projects.ts'
import type { ServerFilter, ServerSortField, ServerView } from '../../domain/servers.ts'
import type { ServiceFilter, ServiceSortField, ServiceView } from '../../domain/services.ts'
import type { UserFilter, UserSortField, UserView } from '../../domain/users.ts'
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
  | { kind: 'Number' }
  | { kind: 'Password' }
  | { kind: 'Link', to: ClassName }
  | { kind: 'Multilink', to: ClassName }

/**
 * `V` is the domain's view of an item, `F` the domain's filter and `S` its
 * sortable fields: filter() hands the domain a filter and an order built from
 * the properties' `search` and `sort`.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as for ClassSpec below
export interface PropertySpec<V, F = any, S extends string = string> {
  type: PropertyType
  /** The rendered value (links as id strings); absent for write-only properties. */
  read?: (view: V, ctx: CallContext) => Renderable | Promise<Renderable>
  /** The domain input field this property sets; absent for read-only properties. */
  write?: string
  /** An empty `prop=` clears it to null rather than to an empty string. */
  nullable?: boolean
  /** How a written String value becomes domain input, when it is not the text itself (JSON); throws a Fault. */
  parse?: (value: string) => unknown
  /**
   * Linked items are handed to the domain as written (ids as numbers, keys as
   * strings) for it to resolve: a project manager names members whose user
   * records it may not read.
   */
  resolvedByDomain?: boolean
  /**
   * The domain filter field a filter() value for this property sets: text as
   * `{ contains: [...] }`, booleans as a boolean, links and multilinks as the
   * linked ids, dates as periods.
   */
  search?: keyof F & string
  /** The domain field filter() sorts this property by. */
  sort?: S
}

/** A Roundup class over a domain entity (`V`, `F`, `S` as for its properties); the table of all classes holds them as `ClassSpec<any>`. */
// The functions of a class take its own view and filter: only any lets one table hold classes over different ones.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
export interface ClassSpec<V = any, F = any, S extends string = any> {
  name: ClassName
  /** The key property, unique per item: lookup() and list() use it. */
  key?: string
  /** What list() shows without a property: the key, or a name for keyless classes. */
  label: string
  properties: Record<string, PropertySpec<V, F, S>>
  id: (view: V) => number
  /** Every live (not retired) item the actor may see. */
  all: (ctx: CallContext) => Promise<V[]>
  /** The ids of the live items the actor may see that match the domain filter, in the domain order (then by id). */
  search: (ctx: CallContext, filter: F, order: Array<Order<S | 'id'>>) => Promise<number[]>
  /** One item the actor may see, retired or not. */
  get: (ctx: CallContext, id: number) => Promise<V>
  lookup?: (ctx: CallContext, key: string) => Promise<number>
  /** Creates from domain input; `secret` is shown once (API keys). */
  create?: (ctx: CallContext, input: Record<string, unknown>) => Promise<{ id: number, secret?: string }>
  /** Changes from domain input; `changed` lists domain input fields. */
  update?: (ctx: CallContext, id: number, input: Record<string, unknown>) => Promise<{ item: V, changed: string[] }>
  setRetired?: (ctx: CallContext, id: number, retired: boolean) => Promise<void>
  /** action('cancel', designator): what became of it. */
  cancel?: (ctx: CallContext, id: number) => Promise<Renderable>
}

const id = (value: number | null | undefined): string | null => value === null || value === undefined ? null : String(value)
const ids = (values: number[]): string[] => values.map(String)

const text = { kind: 'String' } as const
const bool = { kind: 'Boolean' } as const
const date = { kind: 'Date' } as const
const number = { kind: 'Number' } as const
const link = (to: ClassName) => ({ kind: 'Link', to }) as const
const multilink = (to: ClassName) => ({ kind: 'Multilink', to }) as const

/** A link or multilink searched and sorted by the domain field of the same name. */
function linked<V, F, S extends string> (type: PropertyType, field: keyof F & S & string, read: (view: V) => Renderable): PropertySpec<V, F, S> {
  return { type, read, search: field, sort: field }
}

/** A property read, written, searched and sorted under the same name as the domain's. */
function plain<V, F, S extends string> (type: PropertyType, field: keyof V & keyof F & S & string,
  options: { readOnly?: boolean, nullable?: boolean } = {}): PropertySpec<V, F, S> {
  return {
    type,
    read: (view) => view[field] as Renderable,
    search: field,
    sort: field,
    ...(options.readOnly === true ? {} : { write: field }),
    ...(options.nullable === true ? { nullable: true } : {})
  }
}

const server: ClassSpec<ServerView, ServerFilter, ServerSortField> = {
  name: 'server',
  key: 'name',
  label: 'name',
  properties: {
    name: plain(text, 'name'),
    url: plain(text, 'url'),
    active: plain(bool, 'active'),
    description: plain(text, 'description'),
    creation: plain(date, 'createdAt', { readOnly: true }),
    activity: plain(date, 'updatedAt', { readOnly: true }),
    // The outcome of the last sync of a peer (action('sync', …)): when, and why it failed.
    lastsync: { type: date, read: (view) => view.lastSyncAt },
    syncerror: { type: text, read: (view) => view.lastSyncError }
  },
  id: (view) => view.id,
  all: async ({ actor, domain }) => await allPages((page) => domain.servers.list(actor, {}, page)),
  search: async ({ actor, domain }, filter, order) => await domain.servers.search(actor, filter, order),
  get: async ({ actor, domain }, serverId) => await domain.servers.get(actor, serverId, { includeRetired: true }),
  lookup: async ({ actor, domain }, key) => (await domain.servers.get(actor, key)).id,
  create: async ({ actor, domain }, input) => ({ id: (await domain.servers.create(actor, input)).id }),
  update: async ({ actor, domain }, serverId, input) => await domain.servers.update(actor, serverId, input),
  setRetired: async ({ actor, domain }, serverId, retired) => { await domain.servers.setRetired(actor, serverId, retired) }
}

const service: ClassSpec<ServiceView, ServiceFilter, ServiceSortField> = {
  name: 'service',
  key: 'fullname',
  label: 'fullname',
  properties: {
    fullname: plain(text, 'fullName', { readOnly: true }),
    name: plain(text, 'name'),
    server: { type: link('server'), read: (view) => id(view.serverId), write: 'server', search: 'serverId', sort: 'serverId' },
    project: { type: link('project'), read: (view) => id(view.projectId), write: 'project', search: 'projectId', sort: 'projectId' },
    type: plain(text, 'type'),
    exported: plain(bool, 'exported'),
    disabled: plain(bool, 'disabled'),
    authorized: plain(bool, 'authorized', { readOnly: true }),
    description: plain(text, 'description'),
    creation: plain(date, 'createdAt', { readOnly: true }),
    activity: plain(date, 'updatedAt', { readOnly: true })
  },
  id: (view) => view.id,
  all: async ({ actor, domain }) => await allPages((page) => domain.services.list(actor, {}, page)),
  search: async ({ actor, domain }, filter, order) => await domain.services.search(actor, filter, order),
  get: async ({ actor, domain }, serviceId) => await domain.services.get(actor, serviceId, { includeRetired: true }),
  lookup: async ({ actor, domain }, key) => (await domain.services.get(actor, key)).id,
  create: async ({ actor, domain }, input) => ({ id: (await domain.services.create(actor, input)).id }),
  update: async ({ actor, domain }, serviceId, input) => await domain.services.update(actor, serviceId, input),
  setRetired: async ({ actor, domain }, serviceId, retired) => { await domain.services.setRetired(actor, serviceId, retired) }
}

const user: ClassSpec<UserView, UserFilter, UserSortField> = {
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
        await Promise.all(view.groups.map(async (name) => String((await domain.groups.get(actor, name)).id))),
      search: 'groupId',
      sort: 'groups'
    },
    projects: { type: multilink('project'), read: (view) => ids(view.projects), search: 'projectId', sort: 'projects' },
    creation: plain(date, 'createdAt', { readOnly: true }),
    lastlogin: plain(date, 'lastLoginAt', { readOnly: true })
  },
  id: (view) => view.id,
  all: async ({ actor, domain }) => await allPages((page) => domain.users.list(actor, {}, page)),
  search: async ({ actor, domain }, filter, order) => await domain.users.search(actor, filter, order),
  get: async ({ actor, domain }, userId) => await domain.users.get(actor, userId, { includeRetired: true }),
  lookup: async ({ actor, domain }, key) => await domain.users.lookup(actor, key),
  create: async ({ actor, domain }, input) => ({ id: (await domain.users.create(actor, input)).id }),
  update: async ({ actor, domain }, userId, input) => await domain.users.update(actor, userId, input),
  setRetired: async ({ actor, domain }, userId, retired) => { await domain.users.setRetired(actor, userId, retired) }
}

const group: ClassSpec<GroupView, GroupFilter, GroupSortField> = {
  name: 'group',
  key: 'name',
  label: 'name',
  properties: {
    name: plain(text, 'name'),
    active: plain(bool, 'active'),
    description: plain(text, 'description'),
    members: { type: multilink('user'), read: (view) => view.members.map((m) => String(m.id)), write: 'members', search: 'member', sort: 'members' },
    creation: plain(date, 'createdAt', { readOnly: true }),
    activity: plain(date, 'updatedAt', { readOnly: true })
  },
  id: (view) => view.id,
  all: async ({ actor, domain }) => await allPages((page) => domain.groups.list(actor, {}, page)),
  search: async ({ actor, domain }, filter, order) => await domain.groups.search(actor, filter, order),
  get: async ({ actor, domain }, groupId) => await domain.groups.get(actor, groupId, { includeRetired: true }),
  lookup: async ({ actor, domain }, key) => (await domain.groups.get(actor, key)).id,
  create: async ({ actor, domain }, input) => ({ id: (await domain.groups.create(actor, input)).id }),
  update: async ({ actor, domain }, groupId, input) => await domain.groups.update(actor, groupId, input),
  setRetired: async ({ actor, domain }, groupId, retired) => { await domain.groups.setRetired(actor, groupId, retired) }
}

const project: ClassSpec<ProjectView, ProjectFilter, ProjectSortField> = {
  name: 'project',
  key: 'name',
  label: 'name',
  properties: {
    name: plain(text, 'name'),
    description: plain(text, 'description'),
    owner: { type: link('user'), read: (view) => String(view.owner), write: 'owner', search: 'owner', sort: 'owner' },
    managers: { ...linked(multilink('user'), 'managers', (view) => ids(view.managers)), write: 'managers', resolvedByDomain: true },
    contributors: { ...linked(multilink('user'), 'contributors', (view) => ids(view.contributors)), write: 'contributors', resolvedByDomain: true },
    watchers: { ...linked(multilink('user'), 'watchers', (view) => ids(view.watchers)), write: 'watchers', resolvedByDomain: true },
    groups: linked(multilink('group'), 'groups', (view) => ids(view.groups.map((g) => g.id))),
    services: linked(multilink('service'), 'services', (view) => ids(view.services.map((s) => s.id))),
    favorites: linked(multilink('service'), 'favorites', (view) => ids(view.favorites.map((s) => s.id))),
    jobs: linked(multilink('job'), 'jobs', (view) => ids(view.jobs.map((j) => j.id))),
    data: linked(multilink('data'), 'data', (view) => ids(view.data.map((d) => d.id))),
    creation: plain(date, 'createdAt', { readOnly: true }),
    activity: plain(date, 'updatedAt', { readOnly: true })
  },
  id: (view) => view.id,
  all: async ({ actor, domain }) => await allPages((page) => domain.projects.listVisible(actor, {}, page)),
  search: async ({ actor, domain }, filter, order) => await domain.projects.searchVisible(actor, filter, order),
  get: async ({ actor, domain }, projectId) => await domain.projects.get(actor, projectId, { includeRetired: true }),
  lookup: async ({ actor, domain }, key) => (await domain.projects.get(actor, key)).id,
  create: async ({ actor, domain }, input) => ({ id: (await domain.projects.create(actor, input)).id }),
  update: async ({ actor, domain }, projectId, input) => await domain.projects.update(actor, projectId, input),
  setRetired: async ({ actor, domain }, projectId, retired) => { await domain.projects.setRetired(actor, projectId, retired) }
}

/** Jobs and data items live in projects: those of the live projects the actor can see. */
function projectLink<V extends { projectId: number }> (): PropertySpec<V, ReferenceFilter, 'projectId'> {
  return { type: link('project'), read: (view) => String(view.projectId), write: 'project', search: 'projectId', sort: 'projectId' }
}

/** Splits the project off a job or data input: the domain takes it as a separate argument. */
function inProject (input: Record<string, unknown>): { project: string, rest: Record<string, unknown> } {
  const { project: projectKey, ...rest } = input
  if (typeof projectKey !== 'string') throw new Fault(FaultCode.invalidValue, 'you must provide the "project" property.')
  return { project: projectKey, rest }
}

/** A String property holding JSON: written as JSON text, read as the JSON text of the value. */
function json<V, F, S extends string> (field: string, read: (view: V) => unknown, options: { write?: boolean } = {}): PropertySpec<V, F, S> {
  return {
    type: text,
    read: (view) => JSON.stringify(read(view)),
    ...(options.write === true
      ? {
          write: field,
          parse: (value: string): unknown => {
            try {
              return JSON.parse(value)
            } catch (error) {
              throw new Fault(FaultCode.invalidValue, `property ${field}: is not JSON: ${(error as Error).message}`)
            }
          }
        }
      : {})
  }
}

/** A job names its service by full name; the link shows its id, or nothing once the service is gone from view. */
async function serviceId ({ actor, domain }: CallContext, fullName: string | null): Promise<string | null> {
  if (fullName === null) return null
  const service = await orNull(domain.services.get(actor, fullName, { includeRetired: true }))
  return service === null ? null : String(service.id)
}

const job: ClassSpec<JobView, ReferenceFilter, JobSortField> = {
  name: 'job',
  label: 'name',
  properties: {
    project: projectLink(),
    name: plain(text, 'name'),
    service: { type: link('service'), read: async (view, ctx) => await serviceId(ctx, view.service), write: 'service', search: 'serviceId', sort: 'serviceId' },
    // The submission's inputs, as JSON text: create('job', …, 'inputs={"file": {"data": "3"}}').
    inputs: json<JobView, ReferenceFilter, JobSortField>('inputs', (view) => view.inputs, { write: true }),
    state: { type: text, read: (view) => view.state, search: 'state', sort: 'state' },
    reason: { type: text, read: (view) => view.reason },
    exit_code: { type: number, read: (view) => view.exitCode },
    message: { type: text, read: (view) => view.message },
    // Every transition, oldest first, as JSON text: [{"state": "queued", "at": "…"}, …].
    history: json<JobView, ReferenceFilter, JobSortField>('history', (view) => view.history),
    submitter: { type: link('user'), read: (view) => id(view.submitter) },
    // Once it ended ok, each output → the ids of the data items it became, as JSON text: {"sorted": [12]}.
    outputs: json<JobView, ReferenceFilter, JobSortField>('outputs', (view) => view.outputs),
    creation: plain(date, 'createdAt', { readOnly: true }),
    started: { type: date, read: (view) => view.startedAt, sort: 'startedAt' },
    finished: { type: date, read: (view) => view.finishedAt, sort: 'finishedAt' }
  },
  id: (view) => view.id,
  all: async ({ actor, domain }) => await domain.projects.listJobs(actor),
  search: async ({ actor, domain }, filter, order) => await domain.projects.searchJobs(actor, filter, order),
  get: async ({ actor, domain }, jobId) => await domain.projects.getJob(actor, jobId),
  create: async ({ actor, domain }, input) => {
    const { project: projectKey, rest } = inProject(input)
    return { id: (await domain.projects.addJob(actor, projectKey, rest)).id }
  },
  // The project is the job's own: the domain checks the caller's role in it.
  cancel: async ({ actor, domain }, jobId) => {
    const job = await domain.projects.getJob(actor, jobId)
    return (await domain.projects.cancelJob(actor, job.projectId, jobId)).outcome
  }
}

/** Data items' metadata; their content travels over REST only (GET /projects/{id}/data/{dataId}/content). */
const dataClass: ClassSpec<DataView, ReferenceFilter, DataSortField> = {
  name: 'data',
  label: 'name',
  properties: {
    project: projectLink(),
    name: plain(text, 'name'),
    description: plain(text, 'description'),
    format: plain(text, 'format'),
    size: plain(number, 'size', { readOnly: true }),
    sha256: plain(text, 'sha256', { readOnly: true }),
    media_type: { type: text, read: (view) => view.mediaType, search: 'mediaType', sort: 'mediaType' },
    uploader: { type: link('user'), read: (view) => id(view.uploader), search: 'uploader', sort: 'uploader' },
    // The job whose output it is; none for an upload.
    job: { type: link('job'), read: (view) => id(view.job) },
    creation: plain(date, 'createdAt', { readOnly: true })
  },
  id: (view) => view.id,
  all: async ({ actor, domain }) => await domain.projects.listData(actor),
  search: async ({ actor, domain }, filter, order) => await domain.projects.searchData(actor, filter, order),
  get: async ({ actor, domain }, dataId) => await domain.projects.getData(actor, dataId),
  create: async ({ actor, domain }, input) => {
    const { project: projectKey, rest } = inProject(input)
    return { id: (await domain.projects.addData(actor, projectKey, rest)).id }
  }
}

/** The caller's own API keys; revoked keys count as retired and cannot come back. */
const apikey: ClassSpec<ApiKeyView, ApiKeyFilter, ApiKeySortField> = {
  name: 'apikey',
  label: 'label',
  properties: {
    label: plain(text, 'label'),
    hint: plain(text, 'hint', { readOnly: true }),
    user: { type: link('user'), read: (view) => String(view.userId), search: 'userId', sort: 'userId' },
    creation: plain(date, 'createdAt', { readOnly: true }),
    lastused: plain(date, 'lastUsedAt', { readOnly: true }),
    revoked: plain(date, 'revokedAt', { readOnly: true })
  },
  id: (view) => view.id,
  all: async ({ actor, domain }) => await domain.apiKeys.list(actor, requireUser(actor, 'API keys').id, {}),
  search: async ({ actor, domain }, filter, order) => await domain.apiKeys.search(actor, requireUser(actor, 'API keys').id, filter, order),
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
