/**
 * Turns presented credentials into an Actor, for every face, and decides the
 * login throttle. Failures are kept in the database, so all faces and all server
 * processes sharing a PostgreSQL database count them together. The throttle guards
 * passwords, which people choose and can be guessed:
 *
 * - per username and address: `maxFailures` failures within the window refuse that
 *   username's password attempts from that address (the guesser's own address,
 *   never the real user's elsewhere) until the oldest leaves the window;
 * - per address: `maxAddressFailures` failures of any usernames (and invalid API
 *   keys) refuse password attempts from that address, higher so that one typo-prone
 *   member of a lab behind one NAT does not lock out the others;
 * - per username, every address: after `usernameSlowAfter` failures within the
 *   window each attempt must wait 1, 2, 4 … seconds (at most `usernameMaxDelaySeconds`)
 *   after the username's last failure. This slows guessing spread over many
 *   addresses without ever locking the account: the right password from a fresh
 *   address is accepted once that short wait has passed.
 *
 * A valid API key is accepted before any of this, whichever way it is sent (a
 * 256-bit random key cannot be guessed); only an invalid key counts, against its address.
 */
import { hash, randomBytes } from 'node:crypto'
import { anonymous, type Actor } from '../domain/actor.ts'
import type { FailureCounts, LoginRecord, LoginRecords } from '../domain/login-records.ts'
import { asDomainError, Invalid, TooManyAttempts, Unauthenticated } from '../domain/errors.ts'
import type { PresentedCredentials } from './presented.ts'
import { bookkeepingIntervalMs, representation } from '../domain/read-model.ts'
import { nameKey } from '../domain/common.ts'
import { apiKeyDigest, apiKeyMinLength, constantTimeEqual, decoyPasswordHash, verifyPassword } from '../domain/secrets.ts'

export interface AuthenticatorOptions {
  /** Failures per username from one address within the window. */
  maxFailures: number
  windowSeconds: number
  /** Failures from one address, all usernames and invalid API keys, within the window (default 20). */
  maxAddressFailures?: number
  /** Failures per username from all addresses after which attempts are slowed (default 20). */
  usernameSlowAfter?: number
  /** The longest wait the username-wide slowing asks for (default 60). */
  usernameMaxDelaySeconds?: number
  /** How long a verified password is remembered; 0 verifies every time. */
  cacheSeconds: number
  /** Upper bound on remembered credentials. */
  cacheSize?: number
  /** Told when a bookkeeping write (last login, last use of a key) failed; the request it came from was answered anyway. */
  onBookkeepingError?: (error: Error) => void
}

interface Remembered { userId: number, credentialVersion: number, expires: number }

export class Authenticator {
  /**
   * Verified Basic credentials, keyed by a digest of username and password under a
   * key that lives only in this process, so the map holds nothing reusable.
   * An entry counts only while the user's credential version is unchanged.
   */
  private readonly remembered = new Map<string, Remembered>()
  private readonly digestSecret = randomBytes(32).toString('base64')
  private lastSweep = 0
  /** When this process last recorded each key's use: the database needs it once a minute, not per request. */
  private readonly keyTouched = new Map<number, number>()
  /** Password checks under way, by credentials and address. */
  private readonly checking = new Map<string, Promise<LoginRecord>>()
  /** Bookkeeping writes under way: no request waits for them, closing does. */
  private readonly bookkeeping = new Set<Promise<void>>()

  constructor (private readonly store: LoginRecords, private readonly options: AuthenticatorOptions) {}

  /** The actor for these credentials; throws Unauthenticated or TooManyAttempts. */
  async authenticate (credentials: PresentedCredentials, address: string | null): Promise<Actor> {
    switch (credentials.kind) {
      case 'none':
        return anonymous
      case 'malformed':
        throw new Unauthenticated()
      case 'ambiguous':
        throw Invalid.field('credentials', credentials.sent.join(', '), 'send one kind of credentials, not several')
      case 'apiKey':
        return await this.byApiKey(credentials.key, address)
      case 'basic':
        // Any case of a username is that user, and its failures count together.
        return await this.byPassword(nameKey(credentials.username), credentials.password, address)
    }
  }

  /** A valid key is accepted with no throttle query; an invalid one counts against its address. */
  private async byApiKey (key: string, address: string | null): Promise<Actor> {
    const found = await this.lookupKey(key)
    if (found !== null) {
      this.touchKey(found.keyId)
      return actorFor(found.user)
    }
    const counts = await this.store.loginFailures(null, address, this.options.windowSeconds)
    this.assertAllowed(null, counts)
    await bestEffort(this.store.recordFailure(null, address, this.options.windowSeconds))
    await this.sweep()
    throw new Unauthenticated()
  }

  private async lookupKey (key: string): Promise<{ keyId: number, user: LoginRecord } | null> {
    const digest = apiKeyDigest(key)
    const found = await this.store.byApiKeyDigest(digest)
    return found !== null && constantTimeEqual(found.digest, digest) ? found : null
  }

  /**
   * Checks a username and password; the password may also be one of the user's
   * API keys, so that scripts speaking Basic need not hold a password. A key is
   * tried first and, when valid, accepted whatever the throttle says.
   */
  private async byPassword (username: string, password: string, address: string | null): Promise<Actor> {
    const { windowSeconds } = this.options
    if (password.length >= apiKeyMinLength) {
      const byKey = await this.lookupKey(password)
      if (byKey !== null && nameKey(byKey.user.username) === username) {
        this.touchKey(byKey.keyId)
        return actorFor(byKey.user)
      }
    }
    const cacheKey = this.digest(username, password)
    const remembered = this.recall(cacheKey)
    if (remembered !== undefined) {
      // A remembered password is the right one, so the throttle is asked first: a
      // refused guesser must not learn that a guess was right.
      const [counts, user] = await Promise.all([
        this.store.loginFailures(username, address, windowSeconds),
        this.store.byId(remembered.userId)
      ])
      this.assertAllowed(username, counts)
      if (user !== null && user.credentialVersion === remembered.credentialVersion) return actorFor(user)
      this.remembered.delete(cacheKey)
    }
    // The same credentials from the same address already being checked (a client's
    // burst of parallel requests) share that check: one attempt, one answer.
    const flightKey = `${cacheKey}\0${address ?? ''}`
    const inFlight = this.checking.get(flightKey)
    if (inFlight !== undefined) return actorFor(await inFlight)
    const check = this.checkPassword(username, password, address, cacheKey)
    this.checking.set(flightKey, check)
    try {
      return actorFor(await check)
    } finally {
      this.checking.delete(flightKey)
    }
  }

  private async checkPassword (username: string, password: string, address: string | null, cacheKey: string): Promise<LoginRecord> {
    const { windowSeconds } = this.options
    // The attempt is recorded as a failure before the password is checked, so that
    // parallel guesses (from one address or many) count against each other.
    // A full disk keeps no new failure: the attempt is weighed against those on record.
    const attempt = await bestEffort(this.store.recordFailure(username, address, windowSeconds)) ??
      { id: undefined, before: await this.store.loginFailures(username, address, windowSeconds) }
    try {
      this.assertAllowed(username, attempt.before)
    } catch (error) {
      if (attempt.id !== undefined) await bestEffort(this.store.forgetFailure(attempt.id))
      throw error
    }
    const user = await this.store.byUsername(username)
    // Hash even when the user does not exist, so timing does not tell.
    const passwordOk = await verifyPassword(password, user?.passwordHash ?? await decoyPasswordHash())
    if (user !== null && user.passwordHash !== null && passwordOk) {
      // Its own attempt and this username's earlier typos from this address are forgiven.
      await bestEffort(this.store.forgetPairFailures(username, address))
      this.remember(cacheKey, user)
      this.keepBooks(this.store.touchLogin(user.id))
      return user
    }
    await this.sweep()
    throw new Unauthenticated()
  }

  private touchKey (keyId: number): void {
    const now = Date.now()
    if (now - (this.keyTouched.get(keyId) ?? 0) < bookkeepingIntervalMs) return
    if (this.keyTouched.size >= (this.options.cacheSize ?? 10_000)) this.keyTouched.clear()
    this.keyTouched.set(keyId, now)
    this.keepBooks(this.store.touchApiKey(keyId))
  }

  /** Lets a bookkeeping write finish after the request is answered. */
  private keepBooks (write: Promise<void>): void {
    const done = write.catch((error: Error) => { this.options.onBookkeepingError?.(error) })
      .finally(() => { this.bookkeeping.delete(done) })
    this.bookkeeping.add(done)
  }

  /** Resolves once the bookkeeping writes started so far are done (at shutdown, and for tests). */
  async settled (): Promise<void> {
    await Promise.all([...this.bookkeeping])
  }

  /**
   * Throws TooManyAttempts when these failures refuse a password attempt (or, with
   * no username, an invalid API key), with the seconds until one would be allowed.
   */
  private assertAllowed (username: string | null, counts: FailureCounts): void {
    const { maxFailures, windowSeconds } = this.options
    const maxAddressFailures = this.options.maxAddressFailures ?? 20
    const slowAfter = this.options.usernameSlowAfter ?? 20
    const maxDelayMs = (this.options.usernameMaxDelaySeconds ?? 60) * 1000
    const windowMs = windowSeconds * 1000
    const waits: number[] = []
    const { pair, address, username: byName, now } = counts
    if (username !== null && pair.count >= maxFailures && pair.oldest !== null) waits.push(pair.oldest + windowMs - now)
    if (address.count >= maxAddressFailures && address.oldest !== null) waits.push(address.oldest + windowMs - now)
    if (username !== null && byName.count >= slowAfter && byName.latest !== null) {
      const delayMs = Math.min(maxDelayMs, 1000 * 2 ** Math.min(30, byName.count - slowAfter))
      waits.push(byName.latest + delayMs - now)
    }
    const waitMs = Math.max(0, ...waits)
    if (waitMs > 0) throw new TooManyAttempts(Math.max(1, Math.ceil(waitMs / 1000)))
  }

  /** Now and then, deletes the failures that have left the window. */
  private async sweep (): Promise<void> {
    const now = Date.now()
    if (now - this.lastSweep > this.options.windowSeconds * 1000) {
      this.lastSweep = now
      await bestEffort(this.store.forgetFailuresOlderThan(this.options.windowSeconds))
    }
  }

  /** A keyed digest: SHA-256 under a secret prefix of fixed length, a third of an HMAC's cost on every Basic request. */
  private digest (username: string, password: string): string {
    // The username's length makes the split between username and password unambiguous.
    return hash('sha256', `${this.digestSecret}${username.length}:${username}${password}`, 'base64')
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

/**
 * The login records' writes, when the database has no room for them: a login is
 * refused or accepted without them (reads and logins go on while the disk is
 * full), and only the bookkeeping is lost.
 */
async function bestEffort<T> (write: Promise<T>): Promise<T | undefined> {
  try {
    return await write
  } catch (error) {
    if (asDomainError(error)?.code === 'insufficient_storage') return undefined
    throw error
  }
}

/**
 * The actor of a login record: one frozen actor per remembered record, kept with it
 * by the read model, so that the read model writes its part of a question's key
 * once (src/domain/read-model.ts).
 */
function actorFor (user: LoginRecord): Actor {
  return representation(user, actorFor, () => Object.freeze({
    kind: 'user',
    id: user.id,
    username: user.username,
    isAdmin: user.isAdmin,
    status: user.status,
    statusMessage: user.statusMessage
  }))
}
