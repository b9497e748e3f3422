import { assertNotRefused, isAdmin, refuse, requireAdmin, type Actor } from './actor.ts'
import { assertKeyFree, changedFields, guardUnique, pageOf, retirement, textWhere, type Listing, type TextMatch, type Updated } from './common.ts'
import { Invalid, NotFound } from './errors.ts'
import { atLeast, standingIn, standingInclude, visibleProjects, visibleServices } from './permissions.ts'
import { ServiceCreate, ServiceUpdate, validate, type Page, type ServiceType } from './schemas.ts'
import type { Prisma, PrismaClient } from '../generated/prisma/client.ts'


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
  /** Whether the actor may call it: not disabled, on an active server, and server-level or in a project of the actor's. */
  authorized: boolean
  description: string
  retired: boolean
  createdAt: Date
  updatedAt: Date
}

export interface ServiceFilter {
  ids?: number[]
  name?: TextMatch
  fullName?: string[]
  server?: TextMatch
  /** A project name, or null for server-level services only. */
  project?: TextMatch | null
  type?: ServiceType | ServiceType[]
  exported?: boolean
  disabled?: boolean
  description?: TextMatch
  includeRetired?: boolean
}

/** A service by id, or by its full name. */
export type ServiceRef = number | string

export const fullNameSeparator = '::'

export function formatFullName (name: string, project: string | undefined, server: string): string {
  return project === undefined ? [name, server].join(fullNameSeparator) : [name, project, server].join(fullNameSeparator)
}

/** Splits a full name into its parts, or returns undefined when it is not one. */
export function parseFullName (fullName: string): { name: string, project?: string, server: string } | undefined {
  const parts = fullName.split(fullNameSeparator)
  if (parts.some((part) => part === '')) return undefined
  if (parts.length === 2) return { name: parts[0]!, server: parts[1]! }
  if (parts.length === 3) return { name: parts[0]!, project: parts[1]!, server: parts[2]! }
  return undefined
}

const resource = 'service'

const include = {
  server: { select: { name: true, active: true } },
  project: { select: { name: true, ...standingInclude, ownerId: true } }
} satisfies Prisma.ServiceInclude
type ServiceRow = Prisma.ServiceGetPayload<{ include: typeof include }>

export class Services {
  constructor (private readonly db: PrismaClient) {}

  private view (row: ServiceRow, actor: Actor): ServiceView {
    const project = row.project ?? undefined
    const member = project === undefined || isAdmin(actor) || standingIn(project, actor) !== undefined
    return {
      id: row.id,
      name: row.name,
      fullName: formatFullName(row.name, project?.name, row.server.name),
      server: row.server.name,
      serverId: row.serverId,
      ...(project === undefined ? {} : { project: project.name, projectId: row.projectId ?? undefined }),
      type: row.type,
      exported: row.exported,
      disabled: row.disabled,
      authorized: !row.disabled && row.server.active && member && (actor.kind === 'anonymous' || actor.status === 'active'),
      description: row.description,
      retired: row.retiredAt !== null,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt
    }
  }

  private where (actor: Actor, filter: ServiceFilter): Prisma.ServiceWhereInput {
    const and: Prisma.ServiceWhereInput[] = [visibleServices(actor)]
    if (filter.fullName !== undefined) {
      and.push({ OR: filter.fullName.map((f) => fullNameWhere(f) ?? { id: { in: [] } }) })
    }
    if (filter.project !== undefined) {
      and.push(filter.project === null ? { projectId: null } : { project: { name: textWhere(filter.project) } })
    }
    return {
      AND: and,
      id: filter.ids === undefined ? undefined : { in: filter.ids },
      name: textWhere(filter.name),
      server: filter.server === undefined ? undefined : { name: textWhere(filter.server) },
      type: filter.type === undefined ? undefined : Array.isArray(filter.type) ? { in: filter.type } : filter.type,
      exported: filter.exported,
      disabled: filter.disabled,
      description: textWhere(filter.description),
      retiredAt: filter.includeRetired === true ? undefined : null
    }
  }

  /**
   * Lists server-level services, exported services, and those of the actor's
   * projects (administrators see all), sorted by full name.
   */
  async list (actor: Actor, filter: ServiceFilter = {}, page?: Page): Promise<Listing<ServiceView>> {
    assertNotRefused(actor)
    const where = this.where(actor, filter)
    return await pageOf(page, async (window) => await this.db.service.findMany({
      where,
      include,
      orderBy: [{ name: 'asc' }, { project: { name: 'asc' } }, { server: { name: 'asc' } }],
      ...window
    }), async () => await this.db.service.count({ where }), (row) => this.view(row, actor))
  }

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
      include
    })
    if (row === null) throw new NotFound(resource, ref)
    return row
  }

  /** Server-level services are for administrators; a project's services for its owner and managers. */
  private async assertMayManage (actor: Actor, projectId: number | null, what: string): Promise<void> {
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

  async create (actor: Actor, input: unknown): Promise<ServiceView> {
    assertNotRefused(actor)
    const data = validate(resource, ServiceCreate, input)
    const server = await this.db.server.findFirst({ where: { name: data.server, retiredAt: null }, select: { id: true } })
    if (server === null) throw Invalid.field(resource, 'server', `no such server ${data.server}`)
    let projectId: number | null = null
    if (data.project !== undefined) {
      const project = await this.db.project.findFirst({
        where: { name: data.project, retiredAt: null, ...visibleProjects(actor) }, select: { id: true }
      })
      if (project === null) throw Invalid.field(resource, 'project', `no such project ${data.project}`)
      projectId = project.id
    }
    await this.assertMayManage(actor, projectId, 'creating')
    const fullName = formatFullName(data.name, data.project, data.server)
    await assertKeyFree(resource, 'name', fullName, this.db.service.findFirst({
      where: { name: data.name, serverId: server.id, projectScope: projectId ?? 0 }, select: { id: true }
    }))
    const row = await guardUnique(resource, fullName, () => this.db.service.create({
      data: {
        name: data.name,
        type: data.type,
        exported: data.exported,
        disabled: data.disabled,
        description: data.description,
        serverId: server.id,
        projectId,
        projectScope: projectId ?? 0
      },
      include
    }))
    return this.view(row, actor)
  }

  async update (actor: Actor, ref: ServiceRef, input: unknown): Promise<Updated<ServiceView>> {
    assertNotRefused(actor)
    const data = validate(resource, ServiceUpdate, input)
    const row = await this.find(actor, ref, true)
    await this.assertMayManage(actor, row.projectId, 'changing')
    const current = this.view(row, actor)
    const changed = changedFields(current, data)
    if (changed.length === 0) return { item: current, changed }
    if (data.name !== undefined && data.name !== row.name) {
      await assertKeyFree(resource, 'name', formatFullName(data.name, current.project, current.server), this.db.service.findFirst({
        where: { name: data.name, serverId: row.serverId, projectScope: row.projectScope }, select: { id: true }
      }))
    }
    const updated = await guardUnique(resource, data.name ?? row.name, () =>
      this.db.service.update({ where: { id: row.id }, data, include }))
    return { item: this.view(updated, actor), changed }
  }

  async delete (actor: Actor, ref: ServiceRef): Promise<ServiceView> {
    assertNotRefused(actor)
    const row = await this.find(actor, ref, true)
    await this.assertMayManage(actor, row.projectId, 'deleting')
    await this.db.service.delete({ where: { id: row.id } })
    return this.view(row, actor)
  }

  async setRetired (actor: Actor, ref: ServiceRef, retired: boolean): Promise<ServiceView> {
    assertNotRefused(actor)
    const row = await this.find(actor, ref, true)
    await this.assertMayManage(actor, row.projectId, retired ? 'retiring' : 'restoring')
    const updated = await this.db.service.update({
      where: { id: row.id }, data: retirement(retired), include
    })
    return this.view(updated, actor)
  }
}

export function fullNameWhere (fullName: string): Prisma.ServiceWhereInput | undefined {
  const parts = parseFullName(fullName)
  if (parts === undefined) return undefined
  return {
    name: parts.name,
    server: { name: parts.server },
    ...(parts.project === undefined ? { projectId: null } : { project: { name: parts.project } })
  }
}
