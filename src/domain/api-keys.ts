import { assertNotRefused, hide, isAdmin, type Actor } from './actor.ts'
import { column, columnsWhere, idsWhere, liveUser, orderedIds, type DateMatch, type Order, type SortKey, type TextMatch, type UserRef } from './common.ts'
import { NotFound } from './errors.ts'
import { ApiKeyCreate, validate } from './schemas.ts'
import { lockRow, serialized, type Client } from './transactions.ts'
import { apiKeyDigest, apiKeyHint, generateApiKey } from './secrets.ts'
import type { Prisma, PrismaClient } from '../generated/prisma/client.ts'
import { readsBookkeeping, writes } from './read-model.ts'

export interface ApiKeyView {
  id: number
  userId: number
  label: string
  /** The first characters of the key. */
  hint: string
  createdAt: Date
  lastUsedAt: Date | null
  revokedAt: Date | null
}

export interface ApiKeyFilter {
  ids?: number[]
  label?: TextMatch
  hint?: TextMatch
  createdAt?: DateMatch
  lastUsedAt?: DateMatch
  revokedAt?: DateMatch
  /** Keys of any of these users (ids): the owner's, or none. */
  userId?: number[]
  /** Revoked keys too; by default only those still valid. */
  includeRevoked?: boolean
}

/** The fields API keys sort by. */
export type ApiKeySortField = 'id' | 'label' | 'hint' | 'userId' | 'createdAt' | 'lastUsedAt' | 'revokedAt'

const sortKeys: Record<ApiKeySortField, SortKey> = {
  id: column('id'),
  label: column('label', { text: true }),
  hint: column('hint', { text: true }),
  userId: column('user_id'),
  createdAt: column('created_at'),
  lastUsedAt: column('last_used_at'),
  revokedAt: column('revoked_at')
}

const resource = 'apikey'
const select = { id: true, userId: true, label: true, hint: true, createdAt: true, lastUsedAt: true, revokedAt: true }

/** A user's API keys: the user itself and administrators manage them. */
export class ApiKeys {
  constructor (private readonly db: PrismaClient) {}

  private async owner (actor: Actor, userRef: UserRef, db: Client = this.db): Promise<number> {
    assertNotRefused(actor)
    const user = await liveUser(db, userRef)
    if (user === null) throw new NotFound('user', userRef)
    // Another user's keys: answered as if that user did not exist.
    if (!isAdmin(actor) && !(actor.kind === 'user' && actor.id === user.id)) hide('user', userRef)
    return user.id
  }

  /** The user's keys that match (by default all of them, revoked or not), by id. */
  @readsBookkeeping('api_key', 'user')
  async list (actor: Actor, userRef: UserRef, filter: ApiKeyFilter = { includeRevoked: true }): Promise<ApiKeyView[]> {
    const userId = await this.owner(actor, userRef)
    return await this.db.apiKey.findMany({ where: keyWhere(userId, filter), select, orderBy: { id: 'asc' } })
  }

  /** The ids of the user's keys that match, in `order` then by id. */
  @readsBookkeeping('api_key', 'user')
  async search (actor: Actor, userRef: UserRef, filter: ApiKeyFilter = {}, order: Array<Order<ApiKeySortField>> = []): Promise<number[]> {
    const userId = await this.owner(actor, userRef)
    const where = keyWhere(userId, filter)
    const rows = await this.db.apiKey.findMany({ where, select: { id: true }, orderBy: { id: 'asc' } })
    return await orderedIds(this.db, 'api_key', rows.map((row) => row.id), order, (field) => sortKeys[field])
  }

  /** One of the user's keys, revoked or not. */
  @readsBookkeeping('api_key', 'user')
  async get (actor: Actor, userRef: UserRef, keyId: number): Promise<ApiKeyView> {
    const userId = await this.owner(actor, userRef)
    const key = await this.db.apiKey.findFirst({ where: { id: keyId, userId }, select })
    if (key === null) throw new NotFound(resource, keyId)
    return key
  }

  /**
   * Issues a key and returns its secret, which is stored only as a digest and can
   * never be shown again. `secret` lets the bootstrap register a key chosen by the operator.
   */
  @writes('api_key', 'user')
  async create (actor: Actor, userRef: UserRef, input: unknown, secret: string = generateApiKey()):
  Promise<{ key: ApiKeyView, secret: string }> {
    await this.owner(actor, userRef)
    const data = validate(resource, ApiKeyCreate, input)
    const key = await this.locked(userRef, async (tx) => {
      const userId = await this.owner(actor, userRef, tx)
      await tx.user.update({ where: { id: userId }, data: { credentialVersion: { increment: 1 } } })
      return await tx.apiKey.create({
        data: { userId, label: data.label ?? '', digest: apiKeyDigest(secret), hint: apiKeyHint(secret) },
        select
      })
    })
    return { key, secret }
  }

  /** Revokes a key for good; revoking it twice is harmless (the key is revoked once, and shown as it was). */
  @writes('api_key', 'user')
  async revoke (actor: Actor, userRef: UserRef, keyId: number): Promise<ApiKeyView> {
    return await this.locked(userRef, async (tx) => {
      const userId = await this.owner(actor, userRef, tx)
      const key = await tx.apiKey.findFirst({ where: { id: keyId, userId }, select })
      if (key === null) throw new NotFound(resource, keyId)
      if (key.revokedAt !== null) return key
      await tx.user.update({ where: { id: userId }, data: { credentialVersion: { increment: 1 } } })
      return await tx.apiKey.update({ where: { id: keyId }, data: { revokedAt: new Date() }, select })
    })
  }

  /**
   * Issues and revocations for one user take turns under the user's row lock
   * (see transactions.ts), so a key is revoked once and none is lost.
   */
  private async locked<T> (userRef: UserRef, work: (tx: Client) => Promise<T>): Promise<T> {
    return await serialized(this.db, `the API keys of user ${userRef}`, async (tx) => {
      await lockRow(tx, 'user', userRef)
      return await work(tx)
    })
  }
}

function keyWhere (userId: number, filter: ApiKeyFilter): Prisma.ApiKeyWhereInput {
  return {
    AND: [
      ...columnsWhere<ApiKeyFilter, Prisma.ApiKeyWhereInput>(filter, ['label', 'hint'], ['createdAt', 'lastUsedAt', 'revokedAt']),
      ...(filter.userId === undefined ? [] : [{ userId: idsWhere(filter.userId) }])
    ],
    userId,
    id: idsWhere(filter.ids),
    revokedAt: filter.includeRevoked === true ? undefined : null
  }
}
