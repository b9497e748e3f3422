import { assertNotRefused, hide, isAdmin, refuse, requireAdmin, type Actor } from './actor.ts'
import { assertKeyFree, changedFields, column, columnsWhere, enumMatch, guardUnique, idsWhere, orderedIds, pageOf, retirement, textWhere, userRefWhere, nameKey, type DateMatch, type Listing, type Order, type SortKey, type TextMatch, type Updated, type UserRef } from './common.ts'
import { Conflict, NotFound } from './errors.ts'
import { AuthenticationType, selfEditableUserFields, UserCreate, UserStatus, UserType, UserUpdate, validate, type Page } from './schemas.ts'
import { lockActiveAdmins, serialized, type Client } from './transactions.ts'
import { hashPassword } from './secrets.ts'
import { Prisma, type PrismaClient } from '../generated/prisma/client.ts'
import type { Static } from 'typebox'
import { reads, readsBookkeeping, writes, type Table } from './read-model.ts'

export interface UserView {
  id: number
  username: string
  email: string | null
  firstname: string
  lastname: string
  type: UserType
  authentication_type: AuthenticationType
  ldap_dn: string | null
  status: UserStatus
  status_message: string | null
  is_admin: boolean
  /** Names of the user's groups, sorted. */
  groups: string[]
  /** Ids of the projects the user owns or is a member of, ascending. */
  projects: number[]
  retired: boolean
  createdAt: Date
  lastLoginAt: Date | null
}

export interface UserFilter {
  ids?: number[]
  username?: TextMatch
  email?: TextMatch
  firstname?: TextMatch
  lastname?: TextMatch
  type?: TextMatch
  authentication_type?: TextMatch
  ldap_dn?: TextMatch
  status?: TextMatch
  status_message?: TextMatch
  is_admin?: boolean
  /** Members of the group of this name. */
  group?: string
  /** Members of any of these live groups (ids). */
  groupId?: number[]
  /** Owners or direct members of any of these live projects (ids). */
  projectId?: number[]
  createdAt?: DateMatch
  lastLoginAt?: DateMatch
  includeRetired?: boolean
}

/** The fields users sort by; groups and projects by the lowest linked id. */
export type UserSortField = 'id' | 'username' | 'email' | 'firstname' | 'lastname' | 'type' | 'authentication_type' | 'ldap_dn'
  | 'status' | 'status_message' | 'is_admin' | 'groups' | 'projects' | 'createdAt' | 'lastLoginAt'

const sortKeys: Record<UserSortField, SortKey> = {
  id: column('id'),
  username: column('username', { text: true }),
  email: column('email', { text: true }),
  firstname: column('firstname', { text: true }),
  lastname: column('lastname', { text: true }),
  type: { sql: Prisma.sql`t."type"::text`, text: true },
  authentication_type: { sql: Prisma.sql`t."authentication_type"::text`, text: true },
  ldap_dn: column('ldap_dn', { text: true }),
  status: { sql: Prisma.sql`t."status"::text`, text: true },
  status_message: column('status_message', { text: true }),
  is_admin: column('is_admin'),
  groups: {
    sql: Prisma.sql`(SELECT min(gm.group_id) FROM "group_member" gm JOIN "group" g ON g.id = gm.group_id
      WHERE gm.user_id = t.id AND g.retired_at IS NULL)`
  },
  projects: {
    sql: Prisma.sql`LEAST((SELECT min(p.id) FROM "project" p WHERE p.owner_id = t.id AND p.retired_at IS NULL),
      (SELECT min(pm.project_id) FROM "project_member" pm JOIN "project" p ON p.id = pm.project_id
        WHERE pm.user_id = t.id AND p.retired_at IS NULL))`
  },
  createdAt: column('created_at'),
  lastLoginAt: column('last_login_at')
}

function userWhere (filter: UserFilter): Prisma.UserWhereInput {
  const projectIds = idsWhere(filter.projectId)
  return {
    AND: [
      ...columnsWhere<UserFilter, Prisma.UserWhereInput>(filter, ['username', 'email', 'firstname', 'lastname'], ['createdAt', 'lastLoginAt']),
      ...textWhere(filter.ldap_dn, (ldapDn) => ({ ldapDn })),
      ...textWhere(filter.status_message, (statusMessage) => ({ statusMessage })),
      ...(filter.group === undefined ? [] : [{ groups: { some: { group: { nameKey: nameKey(filter.group) } } } }]),
      ...(filter.groupId === undefined ? [] : [{ groups: { some: { groupId: idsWhere(filter.groupId), group: { retiredAt: null } } } }]),
      ...(projectIds === undefined
        ? []
        : [{
            OR: [
              { ownedProjects: { some: { id: projectIds, retiredAt: null } } },
              { memberships: { some: { projectId: projectIds, project: { retiredAt: null } } } }
            ]
          }])
    ],
    id: idsWhere(filter.ids),
    type: enumMatch(UserType.enum, filter.type),
    authenticationType: enumMatch(AuthenticationType.enum, filter.authentication_type),
    status: enumMatch(UserStatus.enum, filter.status),
    isAdmin: filter.is_admin,
    retiredAt: filter.includeRetired === true ? undefined : null
  }
}

const resource = 'user'
const include = {
  groups: { where: { group: { retiredAt: null } }, select: { group: { select: { name: true } } } },
  ownedProjects: { where: { retiredAt: null }, select: { id: true } },
  memberships: { where: { project: { retiredAt: null } }, select: { projectId: true } }
} satisfies Prisma.UserInclude
type UserRow = Prisma.UserGetPayload<{ include: typeof include }>

function view (row: UserRow): UserView {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    firstname: row.firstname,
    lastname: row.lastname,
    type: row.type,
    authentication_type: row.authenticationType,
    ldap_dn: row.ldapDn,
    status: row.status,
    status_message: row.statusMessage,
    is_admin: row.isAdmin,
    groups: row.groups.map((g) => g.group.name).sort(),
    projects: [...new Set([...row.ownedProjects.map((p) => p.id), ...row.memberships.map((m) => m.projectId)])].sort((a, b) => a - b),
    retired: row.retiredAt !== null,
    createdAt: row.createdAt,
    lastLoginAt: row.lastLoginAt
  }
}

type UserInput = Static<typeof UserUpdate>

/** Maps API field names onto columns; hashes a new password; bumps the credential version when it must. */
async function columns (data: UserInput): Promise<Prisma.UserUpdateInput> {
  const out: Prisma.UserUpdateInput = {
    username: data.username,
    email: data.email,
    firstname: data.firstname,
    lastname: data.lastname,
    type: data.type,
    authenticationType: data.authentication_type,
    ldapDn: data.ldap_dn,
    status: data.status,
    statusMessage: data.status_message,
    isAdmin: data.is_admin
  }
  if (data.password !== undefined) out.passwordHash = await hashPassword(data.password)
  return out
}

const credentialFields = new Set(['password', 'status', 'is_admin', 'username'])

/** What deleting a user takes with it: its keys and memberships. */
/** What deleting a user changes: its rows, and the data items it uploaded (their uploader is cleared). */
const userTables: Table[] = ['user', 'api_key', 'group_member', 'project_member', 'data_item']

export class Users {
  constructor (private readonly db: PrismaClient) {}

  /** Listing users is for administrators. */
  @readsBookkeeping('user', 'group', 'group_member', 'project', 'project_member')
  async list (actor: Actor, filter: UserFilter = {}, page?: Page): Promise<Listing<UserView>> {
    requireAdmin(actor, 'listing users')
    const where = userWhere(filter)
    return await pageOf(page, async (window) => await this.db.user.findMany({ where, include, orderBy: { id: 'asc' }, ...window }),
      async () => await this.db.user.count({ where }), view)
  }

  /** The ids of the users that match, in `order` then by id; for administrators, as the list. */
  @readsBookkeeping('user', 'group', 'group_member', 'project', 'project_member')
  async search (actor: Actor, filter: UserFilter = {}, order: Array<Order<UserSortField>> = []): Promise<number[]> {
    requireAdmin(actor, 'listing users')
    const rows = await this.db.user.findMany({ where: userWhere(filter), select: { id: true }, orderBy: { id: 'asc' } })
    return await orderedIds(this.db, 'user', rows.map((row) => row.id), order, (field) => sortKeys[field])
  }

  /** A user record is visible to the user itself and to administrators. */
  @readsBookkeeping('user', 'group', 'group_member', 'project', 'project_member')
  async get (actor: Actor, ref: UserRef, options: { includeRetired?: boolean } = {}): Promise<UserView> {
    assertNotRefused(actor)
    const row = await this.db.user.findUnique({ where: userRefWhere(ref), include })
    if (row === null || (row.retiredAt !== null && options.includeRetired !== true)) throw new NotFound(resource, ref)
    if (!isAdmin(actor) && !(actor.kind === 'user' && actor.id === row.id)) hide(resource, ref)
    return view(row)
  }

  /** The id of the user with this username, for administrators and for the user itself. */
  @reads('user')
  async lookup (actor: Actor, username: string): Promise<number> {
    return (await this.get(actor, username)).id
  }

  @writes('user')
  async create (actor: Actor, input: unknown): Promise<UserView> {
    requireAdmin(actor, 'creating users')
    const data = validate(resource, UserCreate, input)
    await this.assertKeysFree(data)
    const { username, ...rest } = await columns(data)
    const row = await guardUnique(resource, data.username, () => this.db.user.create({
      data: { ...(rest as Prisma.UserCreateInput), username: username as string },
      include
    }))
    return view(row)
  }

  @writes('user', 'api_key')
  async update (actor: Actor, ref: UserRef, input: unknown): Promise<Updated<UserView>> {
    assertNotRefused(actor)
    const data = validate(resource, UserUpdate, input)
    const current = await this.get(actor, ref, { includeRetired: isAdmin(actor) })
    if (!isAdmin(actor)) {
      const allowed = new Set<string>(selfEditableUserFields)
      const refused = Object.keys(data).filter((key) => !allowed.has(key))
      if (refused.length > 0) refuse(actor, `changing ${refused.join(', ')} is for administrators`)
    }
    const changed = changedFields(current, data).filter((key) => key !== 'password')
    if (data.password !== undefined) changed.push('password')
    if (changed.length === 0) return { item: current, changed }
    await this.assertKeysFree(data, current)
    const demoting = current.is_admin && (data.is_admin === false || (data.status !== undefined && data.status !== 'active'))
    if (demoting) await this.assertAnotherAdmin(current.id)
    const update = await columns(data)
    if (changed.some((key) => credentialFields.has(key))) update.credentialVersion = { increment: 1 }
    const write = async (db: Client): Promise<UserRow> => await db.user.update({ where: { id: current.id }, data: update, include })
    const row = await guardUnique(resource, data.username ?? current.username, async () => demoting
      ? await this.asAdminsAllow(current.id, write)
      : await write(this.db))
    return { item: view(row), changed }
  }

  /** Deletes a user; refused while the user owns projects (transfer or delete them first). */
  @writes(...userTables)
  async delete (actor: Actor, ref: UserRef): Promise<UserView> {
    requireAdmin(actor, 'deleting users')
    const current = await this.get(actor, ref, { includeRetired: true })
    if (current.is_admin) await this.assertAnotherAdmin(current.id)
    const owned = await this.db.project.count({ where: { ownerId: current.id } })
    if (owned > 0) throw new Conflict(`user ${current.username} owns ${owned} project(s); transfer or delete them first`, resource)
    const remove = async (db: Client): Promise<void> => { await db.user.delete({ where: { id: current.id } }) }
    if (current.is_admin) await this.asAdminsAllow(current.id, remove)
    else await remove(this.db)
    return current
  }

  @writes('user')
  async setRetired (actor: Actor, ref: UserRef, retired: boolean): Promise<UserView> {
    requireAdmin(actor, retired ? 'retiring users' : 'restoring users')
    const current = await this.get(actor, ref, { includeRetired: true })
    if (retired && current.is_admin) await this.assertAnotherAdmin(current.id)
    const write = async (db: Client): Promise<UserRow> => await db.user.update({
      where: { id: current.id },
      data: { ...retirement(retired), credentialVersion: { increment: 1 } },
      include
    })
    const row = retired && current.is_admin ? await this.asAdminsAllow(current.id, write) : await write(this.db)
    return view(row)
  }

  private async assertKeysFree (data: { username?: string, email?: string | null }, current?: UserView): Promise<void> {
    // A user may change the case of its own name.
    if (data.username !== undefined && nameKey(data.username) !== (current === undefined ? undefined : nameKey(current.username))) {
      await assertKeyFree(resource, 'username', data.username, this.db.user.findUnique({ where: userRefWhere(data.username), select: { id: true } }))
    }
    if (data.email !== undefined && data.email !== null && data.email !== current?.email) {
      await assertKeyFree(resource, 'email', data.email, this.db.user.findUnique({ where: { email: data.email }, select: { id: true } }), 'email')
    }
  }

  /**
   * Runs `work` (which takes away administrator `userId`'s powers) holding the
   * active administrators' row locks, after checking again that another remains:
   * two such changes take turns, so together they cannot remove the last one.
   */
  private async asAdminsAllow<T> (userId: number, work: (tx: Client) => Promise<T>): Promise<T> {
    return await serialized(this.db, 'the administrators', async (tx) => {
      const admins = await lockActiveAdmins(tx)
      if (admins.includes(userId) && admins.length === 1) throw lastAdmin()
      return await work(tx)
    })
  }

  /** Whether anybody can administer the server: the start-up bootstrap asks; it reveals nothing else. */
  @reads('user')
  async hasActiveAdmin (): Promise<boolean> {
    return (await this.db.user.count({ where: activeAdmins })) > 0
  }

  /** Keeps the server manageable: the last active administrator cannot be removed or demoted. */
  private async assertAnotherAdmin (userId: number): Promise<void> {
    const others = await this.db.user.count({ where: { ...activeAdmins, id: { not: userId } } })
    if (others === 0) throw lastAdmin()
  }
}

const activeAdmins = { isAdmin: true, status: 'active', retiredAt: null } satisfies Prisma.UserWhereInput

function lastAdmin (): Conflict {
  return new Conflict('the last active administrator cannot be removed, demoted or suspended', resource)
}
