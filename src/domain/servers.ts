import { assertNotRefused, requireAdmin, type Actor } from './actor.ts'
import { assertKeyFree, changedFields, column, columnsWhere, guardUnique, idsWhere, orderedIds, pageOf, retirement, type DateMatch, type Listing, type Order, type SortKey, type TextMatch, type Updated } from './common.ts'
import { NotFound } from './errors.ts'
import { standingTables, visibleServices } from './permissions.ts'
import { ServerCreate, ServerUpdate, validate, type Page } from './schemas.ts'
import type { Prisma, PrismaClient } from '../generated/prisma/client.ts'
import type { Static } from 'typebox'
import { reads, writes } from './read-model.ts'
import { serviceTables } from './services.ts'

export interface ServerView {
  id: number
  name: string
  url: string
  active: boolean
  description: string
  /** Names of the services on this server that the actor can see, sorted, each once. */
  services: string[]
  retired: boolean
  createdAt: Date
  updatedAt: Date
  /** When this server last tried to sync the peer (src/domain/federation.ts); null if never. */
  lastSyncAt: Date | null
  /** Why that sync failed; null when it worked. */
  lastSyncError: string | null
}

export interface ServerFilter {
  ids?: number[]
  name?: TextMatch
  url?: TextMatch
  description?: TextMatch
  active?: boolean
  createdAt?: DateMatch
  updatedAt?: DateMatch
  includeRetired?: boolean
}

/** The fields servers sort by. */
export type ServerSortField = 'id' | 'name' | 'url' | 'active' | 'description' | 'createdAt' | 'updatedAt'

const sortKeys: Record<ServerSortField, SortKey> = {
  id: column('id'),
  name: column('name', { text: true }),
  url: column('url', { text: true }),
  active: column('active'),
  description: column('description', { text: true }),
  createdAt: column('created_at'),
  updatedAt: column('updated_at')
}

/** A server by id, or by its name (its key). */
export type ServerRef = number | string

type ServerInput = Static<typeof ServerCreate>
const resource = 'server'

export class Servers {
  constructor (private readonly db: PrismaClient) {}

  private include (actor: Actor) {
    return {
      services: { where: { retiredAt: null, ...visibleServices(actor) }, select: { name: true } }
    } satisfies Prisma.ServerInclude
  }

  private view (row: Prisma.ServerGetPayload<{ include: { services: { select: { name: true } } } }>): ServerView {
    return {
      id: row.id,
      name: row.name,
      url: row.url,
      active: row.active,
      description: row.description,
      services: [...new Set(row.services.map((s) => s.name))].sort(),
      retired: row.retiredAt !== null,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
      lastSyncAt: row.lastSyncAt,
      lastSyncError: row.lastSyncError
    }
  }

  private where (filter: ServerFilter): Prisma.ServerWhereInput {
    return {
      AND: columnsWhere<ServerFilter, Prisma.ServerWhereInput>(filter, ['name', 'url', 'description'], ['createdAt', 'updatedAt']),
      id: idsWhere(filter.ids),
      active: filter.active,
      retiredAt: filter.includeRetired === true ? undefined : null
    }
  }

  /** The ids of the servers that match, in `order` then by id; as public as the list. */
  @reads('server')
  async search (actor: Actor, filter: ServerFilter = {}, order: Array<Order<ServerSortField>> = []): Promise<number[]> {
    assertNotRefused(actor)
    const rows = await this.db.server.findMany({ where: this.where(filter), select: { id: true }, orderBy: { id: 'asc' } })
    return await orderedIds(this.db, 'server', rows.map((row) => row.id), order, (field) => sortKeys[field])
  }

  /** Servers are public: anyone, anonymous included, may list them (suspended and pending accounts excepted). */
  @reads('server', 'service', ...standingTables)
  async list (actor: Actor, filter: ServerFilter = {}, page?: Page): Promise<Listing<ServerView>> {
    assertNotRefused(actor)
    const where = this.where(filter)
    return await pageOf(page, async (window) => await this.db.server.findMany({ where, include: this.include(actor), orderBy: { name: 'asc' }, ...window }),
      async () => await this.db.server.count({ where }), (row) => this.view(row))
  }

  @reads('server', 'service', ...standingTables)
  async get (actor: Actor, ref: ServerRef, options: { includeRetired?: boolean } = {}): Promise<ServerView> {
    assertNotRefused(actor)
    const row = await this.db.server.findUnique({ where: refWhere(ref), include: this.include(actor) })
    if (row === null || (row.retiredAt !== null && options.includeRetired !== true)) throw new NotFound(resource, ref)
    return this.view(row)
  }

  @writes('server')
  async create (actor: Actor, input: unknown): Promise<ServerView> {
    requireAdmin(actor, 'creating servers')
    const data: ServerInput = validate(resource, ServerCreate, input)
    await assertKeyFree(resource, 'name', data.name, this.db.server.findUnique({ where: { name: data.name }, select: { id: true } }))
    const row = await guardUnique(resource, data.name, () =>
      this.db.server.create({ data, include: this.include(actor) }))
    return this.view(row)
  }

  @writes('server')
  async update (actor: Actor, ref: ServerRef, input: unknown): Promise<Updated<ServerView>> {
    requireAdmin(actor, 'changing servers')
    const data = validate(resource, ServerUpdate, input)
    const current = await this.get(actor, ref, { includeRetired: true })
    const changed = changedFields(current, data)
    if (data.name !== undefined && data.name !== current.name) {
      await assertKeyFree(resource, 'name', data.name, this.db.server.findUnique({ where: { name: data.name }, select: { id: true } }))
    }
    if (changed.length === 0) return { item: current, changed }
    const row = await guardUnique(resource, data.name ?? current.name, () =>
      this.db.server.update({ where: { id: current.id }, data, include: this.include(actor) }))
    return { item: this.view(row), changed }
  }

  /** Deletes the server and, with it, every service it hosts. */
  @writes('server', ...serviceTables)
  async delete (actor: Actor, ref: ServerRef): Promise<ServerView> {
    requireAdmin(actor, 'deleting servers')
    const current = await this.get(actor, ref, { includeRetired: true })
    await this.db.server.delete({ where: { id: current.id } })
    return current
  }

  @writes('server')
  async setRetired (actor: Actor, ref: ServerRef, retired: boolean): Promise<ServerView> {
    requireAdmin(actor, retired ? 'retiring servers' : 'restoring servers')
    const current = await this.get(actor, ref, { includeRetired: true })
    const row = await this.db.server.update({
      where: { id: current.id }, data: retirement(retired), include: this.include(actor)
    })
    return this.view(row)
  }
}

function refWhere (ref: ServerRef): Prisma.ServerWhereUniqueInput {
  return typeof ref === 'number' ? { id: ref } : { name: ref }
}
