import { assertNotRefused, hide, isAdmin, type Actor } from './actor.ts'
import { liveUser, type UserRef } from './common.ts'
import { NotFound } from './errors.ts'
import { ApiKeyCreate, validate } from './schemas.ts'
import { lockRow, serialized, type Client } from './transactions.ts'
import { apiKeyDigest, apiKeyHint, generateApiKey } from './secrets.ts'
import type { PrismaClient } from '../generated/prisma/client.ts'

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

  async list (actor: Actor, userRef: UserRef): Promise<ApiKeyView[]> {
    const userId = await this.owner(actor, userRef)
    return await this.db.apiKey.findMany({ where: { userId }, select, orderBy: { id: 'asc' } })
  }

  /** One of the user's keys, revoked or not. */
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
