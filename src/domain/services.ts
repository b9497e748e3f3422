import { assertNotRefused, isAdmin, refuse, requireAdmin, type Actor } from './actor.ts'
import { loadTool } from './interfaces/load.ts'
import { inputSchema, type JsonSchema } from './interfaces/tool.ts'
import { anyOf, assertKeyFree, Batch, changedFields, column, columnsWhere, enumMatch, guardUnique, idsWhere, orderedIds, pageOf, retirement, textWhere, type DateMatch, type Listing, type Order, type SortKey, type TextMatch, type Updated } from './common.ts'
import { Conflict, Invalid, NotFound } from './errors.ts'
import { atLeast, standingIn, standingInclude, standingTables, visibleProjects, visibleServices } from './permissions.ts'
import { ServiceCreate, ServiceType, ServiceUpdate, validate, type Page } from './schemas.ts'
import type { Static } from 'typebox'
import { databaseCode, isForeignKeyViolation, removedMeanwhile } from './storable.ts'
import { Prisma, type PrismaClient } from '../generated/prisma/client.ts'
import { reads, writes, type Table } from './read-model.ts'
import { cancelQueuedOf } from './job-queue.ts'
import { serialized } from './transactions.ts'

export interface ServiceView {
  id: number
  name: string
  /** `service::project::server`, or `service::server` for a server-level service. */
  fullName: string
  server: string
  serverId: number
  /** Absent for a server-level service. */
  project?: string
  projectId?: number
  type: ServiceType
  exported: boolean
  disabled: boolean
  /** Whether the actor may call it: not disabled, on an active server, and server-level, imported, or in a project of the actor's. */
  authorized: boolean
  /** A copy of a peer's exported service (src/domain/federation.ts): it changes only when its server is synced. */
  imported: boolean
  /** Whether it carries an interface (a program only): `interface` reads it. */
  hasInterface: boolean
  description: string
  retired: boolean
  createdAt: Date
  updatedAt: Date
}

export interface ServiceFilter {
  ids?: number[]
  name?: TextMatch
  /** Full names: exact, or containing a text (case-insensitively) across the `::` separators. */
  fullName?: TextMatch
  server?: TextMatch
  /** Services on any of these servers (ids). */
  serverId?: number[]
  /** A project name, or null for server-level services only. */
  project?: TextMatch | null
  /** Services of any of these projects (ids). */
  projectId?: number[]
  type?: TextMatch
  exported?: boolean
  disabled?: boolean
  /** Whether the actor may call it (see ServiceView.authorized). */
  authorized?: boolean
  description?: TextMatch
  createdAt?: DateMatch
  updatedAt?: DateMatch
  includeRetired?: boolean
}

/** The fields services sort by; servers and projects by id. */
export type ServiceSortField = 'id' | 'fullName' | 'name' | 'serverId' | 'projectId' | 'type' | 'exported' | 'disabled'
  | 'authorized' | 'description' | 'createdAt' | 'updatedAt'

const sortKeys: Record<Exclude<ServiceSortField, 'authorized'>, SortKey> = {
  id: column('id'),
  fullName: { sql: Prisma.sql`t."name" || '::' || COALESCE(p."name" || '::', NULLIF(t."imported_project", '') || '::', '') || s."name"`, text: true },
  name: column('name', { text: true }),
  serverId: column('server_id'),
  projectId: column('project_id'),
  type: { sql: Prisma.sql`t."type"::text`, text: true },
  exported: column('exported'),
  disabled: column('disabled'),
  description: column('description', { text: true }),
  createdAt: column('created_at'),
  updatedAt: column('updated_at')
}
const sortJoins = Prisma.sql`JOIN "server" s ON s.id = t.server_id LEFT JOIN "project" p ON p.id = t.project_id`

/** A service by id, or by its full name. */
export type ServiceRef = number | string

const fullNameSeparator = '::'

export function formatFullName (name: string, project: string | undefined, server: string): string {
  return project === undefined ? [name, server].join(fullNameSeparator) : [name, project, server].join(fullNameSeparator)
}

/** Splits a full name into its parts, or returns undefined when it is not one. */
function parseFullName (fullName: string): { name: string, project?: string, server: string } | undefined {
  const parts = fullName.split(fullNameSeparator)
  if (parts.some((part) => part === '')) return undefined
  if (parts.length === 2) return { name: parts[0]!, server: parts[1]! }
  if (parts.length === 3) return { name: parts[0]!, project: parts[1]!, server: parts[2]! }
  return undefined
}

const resource = 'service'

/** What a service's writes change: deleting one takes its favorites with it, and its jobs keep their row without it. */
export const serviceTables: Table[] = ['service', 'favorite', 'job']

const include = {
  server: { select: { name: true, active: true } },
  project: { select: { name: true, ...standingInclude, ownerId: true } }
} satisfies Prisma.ServiceInclude
/** The interface document is read only where it is asked for: a listing of thousands of programs would carry them all. */
const omit = { interface: true } satisfies Prisma.ServiceOmit
type ServiceRow = Prisma.ServiceGetPayload<{ include: typeof include, omit: typeof omit }>
/** An interface document: a JSON object. */
export type InterfaceDocument = Record<string, unknown>
type ServerLevelCreate = Static<typeof ServiceCreate> & { server: string }
const serverLevelKey = ({ name, server }: { name: string, server: string }): string => JSON.stringify([name, server])
const serverSelect = { id: true, ...include.server.select } satisfies Prisma.ServerSelect
const projectSelect = { id: true, ...include.project.select } satisfies Prisma.ProjectSelect

export class Services {
  /** `selfName`: this server's name (SERVER_NAME), where a service is created when no server is named. */
  constructor (private readonly db: PrismaClient, private readonly selfName: string) {}

  private view (row: ServiceRow, actor: Actor): ServiceView {
    const project = row.project ?? undefined
    const projectName = projectNameOf(row)
    const member = project === undefined || isAdmin(actor) || standingIn(project, actor) !== undefined
    return {
      id: row.id,
      name: row.name,
      fullName: formatFullName(row.name, projectName, row.server.name),
      server: row.server.name,
      serverId: row.serverId,
      ...(projectName === undefined ? {} : { project: projectName }),
      ...(project === undefined ? {} : { projectId: row.projectId ?? undefined }),
      type: row.type,
      exported: row.exported,
      disabled: row.disabled,
      authorized: !row.disabled && row.server.active && member && (actor.kind === 'anonymous' || actor.status === 'active'),
      imported: row.imported,
      hasInterface: row.hasInterface,
      description: row.description,
      retired: row.retiredAt !== null,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt
    }
  }

  private where (actor: Actor, filter: ServiceFilter): Prisma.ServiceWhereInput {
    const and: Prisma.ServiceWhereInput[] = [
      visibleServices(actor),
      ...columnsWhere<ServiceFilter, Prisma.ServiceWhereInput>(filter, ['name', 'description'], ['createdAt', 'updatedAt']),
      ...textWhere(filter.server, (name) => ({ server: { name } }))
    ]
    if (filter.fullName !== undefined) and.push(fullNameMatch(filter.fullName))
    if (filter.project !== undefined) {
      and.push(...(filter.project === null ? [serverLevel] : textWhere(filter.project, fullNameParts.project)))
    }
    if (filter.authorized !== undefined) and.push(filter.authorized ? authorizedWhere(actor) : { NOT: authorizedWhere(actor) })
    return {
      AND: and,
      id: idsWhere(filter.ids),
      serverId: idsWhere(filter.serverId),
      projectId: idsWhere(filter.projectId),
      type: enumMatch(ServiceType.enum, filter.type),
      exported: filter.exported,
      disabled: filter.disabled,
      retiredAt: filter.includeRetired === true ? undefined : null
    }
  }

  /** The ids of the services the actor can see that match, in `order` then by id. */
  @reads('service', 'server', ...standingTables)
  async search (actor: Actor, filter: ServiceFilter = {}, order: Array<Order<ServiceSortField>> = []): Promise<number[]> {
    assertNotRefused(actor)
    const where = this.where(actor, filter)
    const ids = (await this.db.service.findMany({ where, select: { id: true }, orderBy: { id: 'asc' } })).map((row) => row.id)
    const authorized = order.some((o) => o.field === 'authorized')
      ? (await this.db.service.findMany({ where: { AND: [where, authorizedWhere(actor)] }, select: { id: true } })).map((row) => row.id)
      : []
    return await orderedIds(this.db, 'service', ids, order, (field) =>
      field === 'authorized' ? { sql: Prisma.sql`(t.id = ANY(${authorized}::int[]))` } : sortKeys[field], sortJoins)
  }

  /**
   * Lists server-level services, exported services, and those of the actor's
   * projects (administrators see all), sorted by full name.
   */
  @reads('service', 'server', ...standingTables)
  async list (actor: Actor, filter: ServiceFilter = {}, page?: Page): Promise<Listing<ServiceView>> {
    assertNotRefused(actor)
    const where = this.where(actor, filter)
    return await pageOf(page, async (window) => await this.db.service.findMany({
      where,
      include,
      omit,
      orderBy: [{ name: 'asc' }, { project: { name: 'asc' } }, { importedProject: 'asc' }, { server: { name: 'asc' } }],
      ...window
    }), async () => await this.db.service.count({ where }), (row) => this.view(row, actor))
  }

  @reads('service', 'server', ...standingTables)
  async get (actor: Actor, ref: ServiceRef, options: { includeRetired?: boolean } = {}): Promise<ServiceView> {
    assertNotRefused(actor)
    const row = await this.find(actor, ref, options.includeRetired === true)
    return this.view(row, actor)
  }

  private async find (actor: Actor, ref: ServiceRef, includeRetired: boolean): Promise<ServiceRow> {
    const key = typeof ref === 'number' ? { id: ref } : fullNameWhere(ref)
    if (key === undefined) {
      throw Invalid.field(resource, 'fullName', `"${ref}" is not a full name (service::project::server or service::server)`)
    }
    const row = await this.db.service.findFirst({
      where: { AND: [key, visibleServices(actor)], retiredAt: includeRetired ? undefined : null },
      include,
      omit
    })
    if (row === null) throw new NotFound(resource, ref)
    return row
  }

  /**
   * Server-level services are for administrators; a project's services for its owner and managers;
   * an imported service for nobody: syncing its server is what changes it.
   */
  private async assertMayManage (actor: Actor, row: Pick<ServiceRow, 'projectId' | 'imported' | 'server'> | { projectId: number | null, imported?: undefined }, what: string): Promise<void> {
    const projectId = row.projectId
    if (row.imported === true) {
      requireAdmin(actor, `${what} imported services`)
      throw new Conflict(`this service is a copy of one exported by server ${row.server.name}: it changes only when that server is synced ` +
        `(POST /servers/${row.server.name}/sync)`, resource)
    }
    if (projectId === null) {
      requireAdmin(actor, `${what} server-level services`)
      return
    }
    assertNotRefused(actor)
    if (isAdmin(actor)) return
    const project = await this.db.project.findUnique({ where: { id: projectId }, include: standingInclude })
    if (project === null || !atLeast(standingIn(project, actor), 'manager')) {
      refuse(actor, `${what} a project's services is for its owner and managers`)
    }
  }

  @writes(...serviceTables)
  async create (actor: Actor, input: unknown): Promise<ServiceView> {
    assertNotRefused(actor)
    const data = validate(resource, ServiceCreate, input)
    const serverName = data.server ?? this.selfName
    if (data.project === undefined) return await this.createAtServerLevel(actor, data, serverName)
    // What the new service's view shows of its server and project is read here, with the checks, so the
    // insert is one statement: each round trip to the database costs more than the statement itself.
    const [server, project] = await Promise.all([
      this.db.server.findFirst({ where: { name: serverName, retiredAt: null }, select: serverSelect }),
      this.db.project.findFirst({ where: { name: data.project, retiredAt: null, ...visibleProjects(actor) }, select: projectSelect })
    ])
    if (server === null) throw Invalid.field(resource, 'server', `no such server ${serverName}`)
    if (project === null) throw Invalid.field(resource, 'project', `no such project ${data.project}`)
    await this.assertMayManage(actor, { projectId: project.id }, 'creating')
    const fullName = formatFullName(data.name, data.project, serverName)
    // At server level the unique key covers copies of this name; in a project it cannot
    // (a copy keeps its peer's project by name), so the copies are looked for first.
    await assertKeyFree(resource, 'name', fullName, this.db.service.findFirst({
      where: { AND: [fullNameWhere(fullName)!, { serverId: server.id }] }, select: { id: true }
    }))
    const row = await guardUnique(resource, fullName, () => this.db.service.create({
      omit,
      data: {
        name: data.name,
        type: data.type,
        exported: data.exported,
        disabled: data.disabled,
        description: data.description,
        serverId: server.id,
        projectId: project.id,
        projectScope: project.id
      }
    }), 'name')
    return this.view({ ...row, server, project }, actor)
  }

  /**
   * A server-level service: only administrators may (the permission needs no row),
   * and the creates that arrive together are inserted together (serverLevelCreates).
   */
  private async createAtServerLevel (actor: Actor, data: Static<typeof ServiceCreate>, serverName: string): Promise<ServiceView> {
    await this.assertMayManage(actor, { projectId: null }, 'creating')
    const row = await this.serverLevelCreates.add({ ...data, server: serverName })
    return this.view(row, actor)
  }

  /**
   * The server-level creates that arrived in one turn of the event loop, in one
   * statement that finds their servers and inserts: one round trip, one commit and
   * one change notice for all, instead of one each, and no Prisma query planning,
   * which costs more than the statement. Any failure of the statement is the
   * batch's: each create then runs on its own, so that each is told its own.
   */
  private readonly serverLevelCreates = new Batch<ServerLevelCreate, ServiceRow>(async (creates) => {
    try {
      return await this.insertServerLevel(creates)
    } catch (error) {
      if (creates.length === 1) throw error
      return await Promise.all(creates.map(async (create) => await this.insertServerLevel([create]).then(
        ([outcome]) => outcome!, (error: unknown) => error instanceof Error ? error : new Error(String(error)))))
    }
  })

  /**
   * Inserts `creates` in one statement; each is answered with its row, or why it has
   * none: its name is taken (already, or earlier in the same statement), which the
   * statement skips, or its server is not there.
   */
  private async insertServerLevel (creates: ServerLevelCreate[]): Promise<Array<ServiceRow | Error>> {
    const first = new Map<string, ServerLevelCreate>()
    for (const create of creates) if (!first.has(serverLevelKey(create))) first.set(serverLevelKey(create), create)
    const inserted = [...first.values()]
    const each = <T>(value: (create: ServerLevelCreate) => T): T[] => inserted.map(value)
    const rows = await this.db.$queryRaw<Array<Omit<ServiceRow, 'server' | 'project'> & { serverName: string, serverActive: boolean }>>`
      WITH wanted AS (
        SELECT * FROM unnest(${each((c) => c.name)}::text[], ${each((c) => c.type)}::text[], ${each((c) => c.exported ?? false)}::boolean[],
          ${each((c) => c.disabled ?? false)}::boolean[], ${each((c) => c.description ?? '')}::text[], ${each((c) => c.server)}::text[])
          AS w(name, type, exported, disabled, description, server)),
      created AS (
        INSERT INTO service (name, type, exported, disabled, description, server_id, project_id, project_scope, created_at, updated_at)
        SELECT w.name, w.type::"ServiceType", w.exported, w.disabled, w.description, s.id, NULL, 0, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
        FROM wanted w JOIN "server" s ON s.name = w.server AND s.retired_at IS NULL
        ON CONFLICT (name, project_scope, imported_project, server_id) DO NOTHING
        RETURNING *)
      SELECT created.id, created.name, created.server_id AS "serverId", created.project_id AS "projectId",
        created.project_scope AS "projectScope", created.imported, created.imported_project AS "importedProject",
        created.type::text AS type, created.exported, created.disabled, created.description, created.has_interface AS "hasInterface",
        created.retired_at AS "retiredAt",
        created.created_at AS "createdAt", created.updated_at AS "updatedAt", s.name AS "serverName", s.active AS "serverActive"
      FROM created JOIN "server" s ON s.id = created.server_id`
      .catch((error: unknown) => {
        // As every model query's (src/domain/storable.ts): a server removed between finding it and inserting.
        if (isForeignKeyViolation(error)) throw removedMeanwhile(resource)
        throw error
      })
    const created = new Map(rows.map(({ serverName: name, serverActive: active, ...service }) =>
      [serverLevelKey({ name: service.name, server: name }), { ...service, server: { name, active }, project: null }]))
    const createdFor = (create: ServerLevelCreate): ServiceRow | undefined =>
      first.get(serverLevelKey(create)) === create ? created.get(serverLevelKey(create)) : undefined
    const missing = creates.filter((create) => createdFor(create) === undefined)
    const servers = missing.length === 0
      ? new Set<string>()
      : new Set((await this.db.server.findMany({ where: { name: { in: missing.map((c) => c.server) }, retiredAt: null }, select: { name: true } })).map((s) => s.name))
    return creates.map((create) => createdFor(create) ?? (servers.has(create.server)
      ? new Conflict(`${resource} with key "${formatFullName(create.name, undefined, create.server)}" exists`, resource, 'name')
      : Invalid.field(resource, 'server', `no such server ${create.server}`)))
  }

  @writes(...serviceTables)
  async update (actor: Actor, ref: ServiceRef, input: unknown): Promise<Updated<ServiceView>> {
    assertNotRefused(actor)
    const data = validate(resource, ServiceUpdate, input)
    const row = await this.find(actor, ref, true)
    await this.assertMayManage(actor, row, 'changing')
    const current = this.view(row, actor)
    const changed = changedFields(current, data)
    if (changed.length === 0) return { item: current, changed }
    // An interface runs a command: it goes only by an administrator's DELETE, never as a side effect of a change of type.
    const keepsInterface = (): Conflict => new Conflict(`service ${current.fullName} has an interface, which only a program carries: ` +
      `an administrator removes it first (DELETE /services/${current.fullName}/interface)`, resource)
    if (data.type !== undefined && data.type !== 'program' && row.hasInterface) throw keepsInterface()
    if (data.name !== undefined && data.name !== row.name) {
      await assertKeyFree(resource, 'name', formatFullName(data.name, current.project, current.server), this.db.service.findFirst({
        where: { name: data.name, serverId: row.serverId, projectScope: row.projectScope }, select: { id: true }
      }))
    }
    const updated = await guardUnique(resource, data.name ?? row.name, () =>
      this.db.service.update({ where: { id: row.id }, data, include, omit })).catch((error: unknown) => {
      // An interface set meanwhile: the database's CHECK (migration service_interface) refuses the type.
      if (isCheckViolation(error)) throw keepsInterface()
      throw error
    })
    return { item: this.view(updated, actor), changed }
  }

  @writes(...serviceTables)
  async delete (actor: Actor, ref: ServiceRef): Promise<ServiceView> {
    assertNotRefused(actor)
    const row = await this.find(actor, ref, true)
    await this.assertMayManage(actor, row, 'deleting')
    await this.db.service.delete({ where: { id: row.id } })
    return this.view(row, actor)
  }

  @writes(...serviceTables)
  async setRetired (actor: Actor, ref: ServiceRef, retired: boolean): Promise<ServiceView> {
    assertNotRefused(actor)
    const row = await this.find(actor, ref, true)
    await this.assertMayManage(actor, row, retired ? 'retiring' : 'restoring')
    const updated = await this.db.service.update({
      where: { id: row.id }, data: retirement(retired), include, omit
    })
    return this.view(updated, actor)
  }

  /** A program's interface, as an administrator sent it; whoever can see the service reads it. */
  @reads('service', 'server', ...standingTables)
  async interface (actor: Actor, ref: ServiceRef): Promise<InterfaceDocument> {
    assertNotRefused(actor)
    return await this.document(await this.find(actor, ref, false))
  }

  /** The JSON Schema 2020-12 of a job's `inputs` for this service, compiled from its interface. */
  @reads('service', 'server', ...standingTables)
  async inputSchema (actor: Actor, ref: ServiceRef): Promise<JsonSchema> {
    assertNotRefused(actor)
    const row = await this.find(actor, ref, false)
    return inputSchema(loadTool(await this.document(row)), `The inputs of a job of ${formatFullName(row.name, projectNameOf(row), row.server.name)}`)
  }

  /**
   * Sets a program's interface (src/domain/interfaces/load.ts says what is refused):
   * administrators only, for an interface runs a command on the server's machines.
   * `created`: the program had none.
   */
  @writes('service')
  async setInterface (actor: Actor, ref: ServiceRef, document: unknown): Promise<{ document: InterfaceDocument, created: boolean }> {
    assertNotRefused(actor)
    const row = await this.find(actor, ref, false)
    const fullName = formatFullName(row.name, projectNameOf(row), row.server.name)
    requireAdmin(actor, 'setting an interface')
    if (row.imported) {
      throw new Conflict(`this service is a copy of one exported by server ${row.server.name}: it carries no interface here`, resource)
    }
    if (row.type !== 'program') {
      throw Invalid.field('interface', 'service', `only a program carries an interface: ${fullName} is a ${row.type}`)
    }
    loadTool(document)
    const loaded = document as InterfaceDocument
    const { count } = await this.db.service.updateMany({
      where: { id: row.id, type: 'program', retiredAt: null },
      data: { interface: loaded as Prisma.InputJsonObject, hasInterface: true }
    }).catch((error: unknown) => {
      if (isCheckViolation(error)) throw changedMeanwhile(fullName)
      throw error
    })
    if (count === 0) throw changedMeanwhile(fullName)
    return { document: loaded, created: !row.hasInterface }
  }

  /** Removes a program's interface (administrators only), and cancels its queued jobs: nothing says how to run them any more. */
  @writes('service', 'job', 'job_event')
  async removeInterface (actor: Actor, ref: ServiceRef): Promise<void> {
    assertNotRefused(actor)
    const row = await this.find(actor, ref, false)
    requireAdmin(actor, 'removing an interface')
    const fullName = formatFullName(row.name, projectNameOf(row), row.server.name)
    // One transaction: the queued jobs go with the interface, or neither does.
    const removed = await serialized(this.db, `service ${fullName}`, async (tx) => {
      const { count } = await tx.service.updateMany({
        where: { id: row.id, hasInterface: true },
        data: { interface: Prisma.DbNull, hasInterface: false }
      })
      if (count > 0) await cancelQueuedOf(tx, row.id, `cancelled before it ran: the interface of ${fullName} was removed`)
      return count > 0
    })
    if (!removed) throw new NotFound('interface of service', fullName)
  }

  /** The interface document of a service found by `find`. */
  private async document (row: ServiceRow): Promise<InterfaceDocument> {
    const found = row.hasInterface ? await this.db.service.findUnique({ where: { id: row.id }, select: { interface: true } }) : null
    const document = found?.interface
    if (document === null || document === undefined || typeof document !== 'object' || Array.isArray(document)) {
      throw new NotFound('interface of service', formatFullName(row.name, projectNameOf(row), row.server.name))
    }
    return document
  }
}

export function fullNameWhere (fullName: string): Prisma.ServiceWhereInput | undefined {
  const parts = parseFullName(fullName)
  if (parts === undefined) return undefined
  return {
    name: parts.name,
    server: { name: parts.server },
    ...(parts.project === undefined ? serverLevel : fullNameParts.project(parts.project))
  }
}

/** A service's project by name: its own, or an imported copy's peer project; undefined at server level. */
function projectNameOf (row: Pick<ServiceRow, 'project' | 'importedProject'>): string | undefined {
  return row.project?.name ?? (row.importedProject === '' ? undefined : row.importedProject)
}

/** What a write is told when the service changed between reading it and writing it. */
function changedMeanwhile (fullName: string): Conflict {
  return new Conflict(`service ${fullName} changed meanwhile (its type, or it was removed or retired): nothing was written`, resource)
}

/** A write refused by a CHECK constraint (migration service_interface). */
function isCheckViolation (error: unknown): boolean {
  return databaseCode(error) === '23514'
}

/** Services without a project, local or imported. */
const serverLevel = { projectId: null, importedProject: '' } satisfies Prisma.ServiceWhereInput

/** The services the actor may call: ServiceView.authorized as a condition. */
/** The services the actor may call (ServiceView.authorized), as a condition. */
function authorizedWhere (actor: Actor): Prisma.ServiceWhereInput {
  if (actor.kind === 'user' && actor.status !== 'active') return { id: { in: [] } }
  const member = isAdmin(actor) ? {} : { OR: [{ projectId: null }, { project: visibleProjects(actor) }] }
  return { disabled: false, server: { active: true }, ...member }
}

/** The parts of a full name, as conditions on a service. */
const fullNameParts: Record<'name' | 'project' | 'server', (filter: Prisma.StringFilter | string) => Prisma.ServiceWhereInput> = {
  name: (name) => ({ name }),
  project: (name) => ({ OR: [{ project: { name } }, { imported: true, NOT: { importedProject: '' }, importedProject: name }] }),
  server: (name) => ({ server: { name } })
}

/** Full names given exactly, or containing any of several texts. */
function fullNameMatch (match: TextMatch): Prisma.ServiceWhereInput {
  if (typeof match === 'string' || Array.isArray(match)) {
    return anyOf((typeof match === 'string' ? [match] : match).map((f) => fullNameWhere(f) ?? { id: { in: [] } }))
  }
  return anyOf((typeof match.contains === 'string' ? [match.contains] : match.contains).map(fullNameContains))
}

/**
 * Services whose full name contains `text`, case-insensitively. Names hold no
 * colon, so each run of colons in the text is (part of) a separator: the text
 * before the first run ends a part, those between runs are whole parts, and
 * the text after the last run begins a part.
 */
function fullNameContains (text: string): Prisma.ServiceWhereInput {
  const pieces = text.split(/(:+)/)
  const texts = pieces.filter((_, index) => index % 2 === 0)
  const runs = pieces.filter((_, index) => index % 2 === 1)
  const insensitive = (filter: Prisma.StringFilter): Prisma.StringFilter => ({ ...filter, mode: 'insensitive' })
  const shapes: Array<{ where: Prisma.ServiceWhereInput, parts: Array<keyof typeof fullNameParts> }> = [
    { where: serverLevel, parts: ['name', 'server'] },
    { where: { NOT: serverLevel }, parts: ['name', 'project', 'server'] }
  ]
  if (runs.length === 0) {
    return anyOf(Object.values(fullNameParts).map((part) => part(insensitive({ contains: text }))))
  }
  const last = runs.length
  const possible = runs.every((run, index) => run.length === 2 ||
    (run.length === 1 && ((index === 0 && texts[0] === '') || (index === last - 1 && texts[last] === ''))))
  if (!possible) return { id: { in: [] } }
  const alignments: Prisma.ServiceWhereInput[] = []
  for (const shape of shapes) {
    // The first run of colons falls in the separator after part `first`.
    for (let first = 0; first + last < shape.parts.length; first++) {
      const and: Prisma.ServiceWhereInput[] = [shape.where]
      const part = (index: number, filter: Prisma.StringFilter): void => { and.push(fullNameParts[shape.parts[index]!](insensitive(filter))) }
      if (texts[0] !== '') part(first, { endsWith: texts[0]! })
      for (let index = 1; index < last; index++) part(first + index, { equals: texts[index]! })
      if (texts[last] !== '') part(first + last, { startsWith: texts[last]! })
      alignments.push({ AND: and })
    }
  }
  return anyOf(alignments)
}
