/**
 * What authentication reads and writes: login records, API key digests and the
 * shared login-failure log. Only src/auth calls this module; it decides nothing.
 */
import type { PrismaClient } from '../generated/prisma/client.ts'
import type { UserStatus } from './actor.ts'

export interface LoginRecord {
  id: number
  username: string
  passwordHash: string | null
  isAdmin: boolean
  status: UserStatus
  statusMessage: string | null
  credentialVersion: number
}

const loginSelect = {
  id: true, username: true, passwordHash: true, isAdmin: true, status: true, statusMessage: true, credentialVersion: true
}

/** Writing "last used" on every request would turn reads into writes; once a minute is enough. */
const touchIntervalMs = 60_000

export class Credentials {
  constructor (private readonly db: PrismaClient) {}

  async byUsername (username: string): Promise<LoginRecord | null> {
    return await this.db.user.findFirst({ where: { username, retiredAt: null }, select: loginSelect })
  }

  async byId (id: number): Promise<LoginRecord | null> {
    return await this.db.user.findFirst({ where: { id, retiredAt: null }, select: loginSelect })
  }

  /** The live key with this digest and its user. */
  async byApiKeyDigest (digest: string): Promise<{ keyId: number, digest: string, user: LoginRecord } | null> {
    const key = await this.db.apiKey.findUnique({
      where: { digest },
      select: { id: true, digest: true, revokedAt: true, user: { select: { ...loginSelect, retiredAt: true } } }
    })
    if (key === null || key.revokedAt !== null || key.user.retiredAt !== null) return null
    const { retiredAt: _retired, ...user } = key.user
    return { keyId: key.id, digest: key.digest, user }
  }

  async touchLogin (userId: number, now = new Date()): Promise<void> {
    await this.db.user.updateMany({
      where: { id: userId, OR: [{ lastLoginAt: null }, { lastLoginAt: { lt: new Date(now.getTime() - touchIntervalMs) } }] },
      data: { lastLoginAt: now }
    })
  }

  async touchApiKey (keyId: number, now = new Date()): Promise<void> {
    await this.db.apiKey.updateMany({
      where: { id: keyId, OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: new Date(now.getTime() - touchIntervalMs) } }] },
      data: { lastUsedAt: now }
    })
  }

  async recordFailure (username: string | null, address: string | null): Promise<void> {
    await this.db.loginFailure.create({ data: { username: username?.slice(0, 100), address: address?.slice(0, 64) } })
  }

  /** Failures since `since` for the username and for the address, with the oldest of each. */
  async recentFailures (username: string | null, address: string | null, since: Date):
  Promise<{ byUsername: { count: number, oldest: Date | null }, byAddress: { count: number, oldest: Date | null } }> {
    const summarise = async (where: { username: string } | { address: string } | null) => {
      if (where === null) return { count: 0, oldest: null }
      const result = await this.db.loginFailure.aggregate({
        where: { ...where, at: { gte: since } }, _count: { _all: true }, _min: { at: true }
      })
      return { count: result._count._all, oldest: result._min.at }
    }
    const [byUsername, byAddress] = await Promise.all([
      summarise(username === null ? null : { username }),
      summarise(address === null ? null : { address })
    ])
    return { byUsername, byAddress }
  }

  async forgetFailuresBefore (before: Date): Promise<void> {
    await this.db.loginFailure.deleteMany({ where: { at: { lt: before } } })
  }

  async hasActiveAdmin (): Promise<boolean> {
    return (await this.db.user.count({ where: { isAdmin: true, retiredAt: null } })) > 0
  }
}
