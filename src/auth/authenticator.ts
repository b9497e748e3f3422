/**
 * Turns presented credentials into an Actor, for every face. Failed logins go
 * through one throttle kept in the database, so all faces and all server
 * processes sharing a PostgreSQL database count them together.
 */
import { createHmac, randomBytes } from 'node:crypto'
import { anonymous, type Actor } from '../domain/actor.ts'
import type { Credentials, LoginRecord } from '../domain/credentials.ts'
import { TooManyAttempts, Unauthenticated } from '../domain/errors.ts'
import type { PresentedCredentials } from './credentials.ts'
import { apiKeyDigest, constantTimeEqual, decoyPasswordHash, verifyPassword } from './secrets.ts'

export interface AuthenticatorOptions {
  maxFailures: number
  windowSeconds: number
  /** How long a verified password is remembered; 0 verifies every time. */
  cacheSeconds: number
  /** Upper bound on remembered credentials. */
  cacheSize?: number
}

const keyTouchIntervalMs = 60_000

interface Remembered { userId: number, credentialVersion: number, expires: number }

export class Authenticator {
  /**
   * Verified Basic credentials, keyed by an HMAC of username and password under a
   * key that lives only in this process, so the map holds nothing reusable.
   * An entry counts only while the user's credential version is unchanged.
   */
  private readonly remembered = new Map<string, Remembered>()
  private readonly cacheKey = randomBytes(32)
  private lastSweep = 0
  /** When this process last recorded each key's use: the database needs it once a minute, not per request. */
  private readonly keyTouched = new Map<number, number>()

  constructor (private readonly store: Credentials, private readonly options: AuthenticatorOptions) {}

  /** The actor for these credentials; throws Unauthenticated or TooManyAttempts. */
  async authenticate (credentials: PresentedCredentials, address: string | null): Promise<Actor> {
    switch (credentials.kind) {
      case 'none':
        return anonymous
      case 'malformed':
        throw new Unauthenticated()
      case 'apiKey':
        return await this.byApiKey(credentials.key, address)
      case 'basic':
        return await this.byPassword(credentials.username, credentials.password, address)
    }
  }

  private async byApiKey (key: string, address: string | null): Promise<Actor> {
    await this.assertNotThrottled(null, address)
    const found = await this.lookupKey(key)
    if (found === null) {
      await this.fail(null, address)
      throw new Unauthenticated()
    }
    await this.touchKey(found.keyId)
    return actorFor(found.user)
  }

  private async lookupKey (key: string): Promise<{ keyId: number, user: LoginRecord } | null> {
    const digest = apiKeyDigest(key)
    const found = await this.store.byApiKeyDigest(digest)
    return found !== null && constantTimeEqual(found.digest, digest) ? found : null
  }

  /**
   * Checks a username and password; the password may also be one of the user's
   * API keys, so that scripts speaking Basic need not hold a password.
   */
  private async byPassword (username: string, password: string, address: string | null): Promise<Actor> {
    await this.assertNotThrottled(username, address)
    const cacheKey = this.digest(username, password)
    const remembered = this.recall(cacheKey)
    if (remembered !== undefined) {
      const user = await this.store.byId(remembered.userId)
      if (user !== null && user.credentialVersion === remembered.credentialVersion) return actorFor(user)
      this.remembered.delete(cacheKey)
    }
    const user = await this.store.byUsername(username)
    // Hash even when the user does not exist, so timing does not tell.
    const passwordOk = await verifyPassword(password, user?.passwordHash ?? await decoyPasswordHash())
    if (user !== null && user.passwordHash !== null && passwordOk) {
      this.remember(cacheKey, user)
      await this.store.touchLogin(user.id)
      return actorFor(user)
    }
    const byKey = user === null ? null : await this.lookupKey(password)
    if (byKey !== null && byKey.user.id === user?.id) {
      await this.touchKey(byKey.keyId)
      return actorFor(byKey.user)
    }
    await this.fail(username, address)
    throw new Unauthenticated()
  }

  private async touchKey (keyId: number): Promise<void> {
    const now = Date.now()
    if (now - (this.keyTouched.get(keyId) ?? 0) < keyTouchIntervalMs) return
    if (this.keyTouched.size >= (this.options.cacheSize ?? 10_000)) this.keyTouched.clear()
    this.keyTouched.set(keyId, now)
    await this.store.touchApiKey(keyId)
  }

  private async assertNotThrottled (username: string | null, address: string | null): Promise<void> {
    const { maxFailures, windowSeconds } = this.options
    const now = Date.now()
    const since = new Date(now - windowSeconds * 1000)
    const { byUsername, byAddress } = await this.store.recentFailures(username, address, since)
    const limited = [byUsername, byAddress].filter((f) => f.count >= maxFailures && f.oldest !== null)
    if (limited.length === 0) return
    // Attempts resume when the oldest failure in the window ages out.
    const freeAt = Math.max(...limited.map((f) => f.oldest!.getTime() + windowSeconds * 1000))
    throw new TooManyAttempts(Math.max(1, Math.ceil((freeAt - now) / 1000)))
  }

  private async fail (username: string | null, address: string | null): Promise<void> {
    await this.store.recordFailure(username, address)
    const now = Date.now()
    if (now - this.lastSweep > this.options.windowSeconds * 1000) {
      this.lastSweep = now
      await this.store.forgetFailuresBefore(new Date(now - this.options.windowSeconds * 1000))
    }
  }

  private digest (username: string, password: string): string {
    return createHmac('sha256', this.cacheKey).update(username).update('\0').update(password).digest('base64')
  }

  private recall (key: string): Remembered | undefined {
    const entry = this.remembered.get(key)
    if (entry === undefined) return undefined
    if (entry.expires <= Date.now()) {
      this.remembered.delete(key)
      return undefined
    }
    return entry
  }

  private remember (key: string, user: LoginRecord): void {
    if (this.options.cacheSeconds <= 0) return
    const limit = this.options.cacheSize ?? 10_000
    if (this.remembered.size >= limit) {
      const oldest = this.remembered.keys().next()
      if (oldest.done !== true) this.remembered.delete(oldest.value)
    }
    this.remembered.set(key, {
      userId: user.id,
      credentialVersion: user.credentialVersion,
      expires: Date.now() + this.options.cacheSeconds * 1000
    })
  }
}

function actorFor (user: LoginRecord): Actor {
  return {
    kind: 'user',
    id: user.id,
    username: user.username,
    isAdmin: user.isAdmin,
    status: user.status,
    statusMessage: user.statusMessage
  }
}
