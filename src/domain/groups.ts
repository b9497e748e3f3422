import { assertNotRefused, hide, isAdmin, requireAdmin, type Actor } from './actor.ts'
import { assertKeyFree, changedFields, column, columnsWhere, guardUnique, idsWhere, liveUser, orderedIds, pageOf, retirement, nameKey, type DateMatch, type Listing, type Order, type SortKey, type TextMatch, type Updated } from './common.ts'
import { Invalid, NotFound } from './errors.ts'
import { GroupCreate, GroupUpdate, validate, type Page } from './schemas.ts'
import { lockRow, serialized, type Client } from './transactions.ts'
import { Prisma, type PrismaClient } from '../generated/prisma/client.ts'
import { reads, writes } from './read-model.ts'

export interface GroupMemberView { id: number, username: string }

export interface GroupView {
  id: number
  name: string
  active: boolean
  description: string
  /** Sorted by username. */
  members: GroupMemberView[]
  retired: boolean
  createdAt: Date
  updatedAt: Date
}

export interface GroupFilter {
  ids?: number[]
  name?: TextMatch
  description?: TextMatch
  active?: boolean
  /** Groups having the user of this id (or any of these) as a member. */
  member?: number | number[]
  createdAt?: DateMatch
  updatedAt?: DateMatch
  includeRetired?: boolean
}

/** The fields groups sort by; members by the lowest member id. */
export type GroupSortField = 'id' | 'name' | 'active' | 'description' | 'members' | 'createdAt' | 'updatedAt'

const sortKeys: Record<GroupSortField, SortKey> = {
  id: column('id'),
  name: column('name', { text: true }),
  active: column('active'),
  description: column('description', { text: true }),
  members: { sql: Prisma.sql`(SELECT min(gm.user_id) FROM "group_member" gm WHERE gm.group_id = t.id)` },
  createdAt: column('created_at'),
  updatedAt: column('updated_at')
}

function groupWhere (filter: GroupFilter): Prisma.GroupWhereInput {
  return {
    AND: columnsWhere<GroupFilter, Prisma.GroupWhereInput>(filter, ['name', 'description'], ['createdAt', 'updatedAt']),
    id: idsWhere(filter.ids),
    active: filter.active,
    members: filter.member === undefined ? undefined : { some: { userId: idsWhere(typeof filter.member === 'number' ? [filter.member] : filter.member) } },
    retiredAt: filter.includeRetired === true ? undefined : null
  }
}

/** A group by id, or by name. */
export type GroupRef = number | string

const resource = 'group'
const include = {
  members: { select: { user: { select: { id: true, username: true } } }, orderBy: { user: { username: 'asc' } } }
} satisfies Prisma.GroupInclude
type GroupRow = Prisma.GroupGetPayload<{ include: typeof include }>

function view (row: GroupRow): GroupView {
  return {
    id: row.id,
    name: row.name,
    active: row.active,
    description: row.description,
    members: row.members.map((m) => m.user),
    retired: row.retiredAt !== null,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt
  }
}

export class Groups {
  constructor (private readonly db: PrismaClient) {}

  /** Listing groups is for administrators. */
  @reads('group', 'group_member', 'user')
  async list (actor: Actor, filter: GroupFilter = {}, page?: Page): Promise<Listing<GroupView>> {
    requireAdmin(actor, 'listing groups')
    const where = groupWhere(filter)
    return await pageOf(page, async (window) => await this.db.group.findMany({ where, include, orderBy: { name: 'asc' }, ...window }),
      async () => await this.db.group.count({ where }), view)
  }

  /** The ids of the groups that match, in `order` then by id; for administrators, as the list. */
  @reads('group', 'group_member', 'user')
  async search (actor: Actor, filter: GroupFilter = {}, order: Array<Order<GroupSortField>> = []): Promise<number[]> {
    requireAdmin(actor, 'listing groups')
    const rows = await this.db.group.findMany({ where: groupWhere(filter), select: { id: true }, orderBy: { id: 'asc' } })
    return await orderedIds(this.db, 'group', rows.map((row) => row.id), order, (field) => sortKeys[field])
  }

  /** A group is visible to administrators and to its members. */
  @reads('group', 'group_member', 'user')
  async get (actor: Actor, ref: GroupRef, options: { includeRetired?: boolean } = {}): Promise<GroupView> {
    return await this.read(actor, ref, options, this.db)
  }

  private async read (actor: Actor, ref: GroupRef, options: { includeRetired?: boolean }, db: Client): Promise<GroupView> {
    assertNotRefused(actor)
    const row = await db.group.findUnique({ where: refWhere(ref), include })
    if (row === null || (row.retiredAt !== null && options.includeRetired !== true)) throw new NotFound(resource, ref)
    if (!isAdmin(actor) && !(actor.kind === 'user' && row.members.some((m) => m.user.id === actor.id))) hide(resource, ref)
    return view(row)
  }

  @writes('group', 'group_member')
  async create (actor: Actor, input: unknown): Promise<GroupView> {
    requireAdmin(actor, 'creating groups')
    const { members, ...data } = validate(resource, GroupCreate, input)
    const memberIds = await this.resolveMembers(members)
    await assertKeyFree(resource, 'name', data.name, this.db.group.findUnique({ where: refWhere(data.name), select: { id: true } }))
    const row = await guardUnique(resource, data.name, () => this.db.group.create({
      data: { ...data, members: { create: (memberIds ?? []).map((userId) => ({ userId })) } },
      include
    }))
    return view(row)
  }

  /** Changes the group; `members`, when given, replaces the whole membership. */
  @writes('group', 'group_member')
  async update (actor: Actor, ref: GroupRef, input: unknown): Promise<Updated<GroupView>> {
    requireAdmin(actor, 'changing groups')
    const { members, ...data } = validate(resource, GroupUpdate, input)
    // Read, compared and rewritten under the group's row lock: concurrent updates take turns.
    return await guardUnique(resource, data.name ?? String(ref), () => this.locked(ref, async (tx) => {
      const current = await this.read(actor, ref, { includeRetired: true }, tx)
      const memberIds = await this.resolveMembers(members, tx)
      const changed = changedFields(current, data)
      const currentIds = current.members.map((m) => m.id).sort((a, b) => a - b)
      const membersChanged = memberIds !== undefined && memberIds.join(',') !== currentIds.join(',')
      if (membersChanged) changed.push('members')
      if (changed.length === 0) return { item: current, changed }
      // A group may change the case of its own name.
      if (data.name !== undefined && nameKey(data.name) !== nameKey(current.name)) {
        await assertKeyFree(resource, 'name', data.name, tx.group.findUnique({ where: refWhere(data.name), select: { id: true } }))
      }
      const row = await tx.group.update({
        where: { id: current.id },
        data: {
          ...data,
          members: membersChanged ? { deleteMany: {}, create: memberIds.map((userId) => ({ userId })) } : undefined
        },
        include
      })
      return { item: view(row), changed }
    }))
  }

  @writes('group', 'group_member', 'project_group_grant')
  async delete (actor: Actor, ref: GroupRef): Promise<GroupView> {
    requireAdmin(actor, 'deleting groups')
    return await this.locked(ref, async (tx) => {
      const current = await this.read(actor, ref, { includeRetired: true }, tx)
      await tx.group.delete({ where: { id: current.id } })
      return current
    })
  }

  @writes('group')
  async setRetired (actor: Actor, ref: GroupRef, retired: boolean): Promise<GroupView> {
    requireAdmin(actor, retired ? 'retiring groups' : 'restoring groups')
    return await this.locked(ref, async (tx) => {
      const current = await this.read(actor, ref, { includeRetired: true }, tx)
      const row = await tx.group.update({
        where: { id: current.id }, data: retirement(retired), include
      })
      return view(row)
    })
  }

  /** Adds a member; `added` is false when the user already was one. */
  @writes('group_member')
  async addMember (actor: Actor, ref: GroupRef, userRef: number | string): Promise<{ group: GroupView, user: GroupMemberView, added: boolean }> {
    requireAdmin(actor, 'changing group members')
    return await this.locked(ref, async (tx) => {
      const group = await this.read(actor, ref, {}, tx)
      const user = await this.findUser(userRef, tx)
      const already = group.members.some((m) => m.id === user.id)
      if (!already) await tx.groupMember.create({ data: { groupId: group.id, userId: user.id } })
      return { group: already ? group : await this.read(actor, group.id, {}, tx), user, added: !already }
    })
  }

  /** Removes a member; `removed` is false when the user was not one. */
  @writes('group_member')
  async removeMember (actor: Actor, ref: GroupRef, userRef: number | string): Promise<{ group: GroupView, user: GroupMemberView, removed: boolean }> {
    requireAdmin(actor, 'changing group members')
    return await this.locked(ref, async (tx) => {
      const group = await this.read(actor, ref, {}, tx)
      const user = await this.findUser(userRef, tx)
      const { count } = await tx.groupMember.deleteMany({ where: { groupId: group.id, userId: user.id } })
      return { group: count === 0 ? group : await this.read(actor, group.id, {}, tx), user, removed: count > 0 }
    })
  }

  /**
   * Runs a read-modify-write of one group in a transaction holding the group's
   * row lock (see transactions.ts): writers on one group take turns.
   */
  private async locked<T> (ref: GroupRef, work: (tx: Client) => Promise<T>): Promise<T> {
    return await serialized(this.db, `group ${ref}`, async (tx) => {
      await lockRow(tx, 'group', ref)
      return await work(tx)
    })
  }

  private async findUser (ref: number | string, db: Client): Promise<GroupMemberView> {
    const user = await liveUser(db, ref)
    if (user === null) throw new NotFound('user', ref)
    return user
  }

  private async resolveMembers (usernames: string[] | undefined, db: Client = this.db): Promise<number[] | undefined> {
    if (usernames === undefined) return undefined
    const unique = [...new Set(usernames.map(nameKey))]
    const users = await db.user.findMany({
      where: { usernameKey: { in: unique }, retiredAt: null }, select: { id: true, usernameKey: true }
    })
    const missing = unique.filter((key) => !users.some((u) => u.usernameKey === key))
    if (missing.length > 0) throw Invalid.field(resource, 'members', `no such user ${missing.join(', ')}`)
    return users.map((u) => u.id).sort((a, b) => a - b)
  }
}

function refWhere (ref: GroupRef): Prisma.GroupWhereUniqueInput {
  return typeof ref === 'number' ? { id: ref } : { nameKey: nameKey(ref) }
}
