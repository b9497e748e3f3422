/**
 * What authentication reads and writes: login records (password hashes included),
 * API key digests and the shared login-failure log. Kept out of the faces' Domain:
 * only the authenticator is handed this store, and it decides nothing itself.
 */
import type { ChangeFeed } from '../db/changes.ts'
import { Prisma, type PrismaClient } from '../generated/prisma/client.ts'
import type { UserStatus } from './schemas.ts'
import { bookkeeping, bookkeepingIntervalMs, reads, uncached } from './read-model.ts'
import { nameKey } from './common.ts'

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

/**
 * Failed logins within the window, as the login throttle weighs them. Times are
 * milliseconds since the epoch on the database's clock, which every process shares.
 */
export interface FailureCounts {
  now: number
  /** This username from this address. */
  pair: { count: number, oldest: number | null }
  /** Every attempt from this address: any username, and invalid API keys. */
  address: { count: number, oldest: number | null }
  /** This username from every address. */
  username: { count: number, latest: number | null }
}

interface FailureRow {
  now: number
  pair_count: number
  pair_oldest: number | null
  address_count: number
  address_oldest: number | null
  username_count: number
  username_latest: number | null
}

// Stored as the columns allow; every query fits its arguments the same way.
const fitUsername = (username: string | null): string | null => username?.slice(0, 100) ?? null
const fitAddress = (address: string | null): string | null => address?.slice(0, 64) ?? null

// `at` is a UTC timestamp without a time zone, as Prisma writes them.
const utcNow = Prisma.sql`(now() AT TIME ZONE 'UTC')`
const epochMs = (column: Prisma.Sql): Prisma.Sql => Prisma.sql`(extract(epoch from ${column}) * 1000)::float8`

function aggregates (username: string | null, address: string | null): Prisma.Sql {
  const pair = Prisma.sql`f.username = ${username} AND f.address = ${address}`
  return Prisma.sql`
    ${epochMs(Prisma.sql`(now() AT TIME ZONE 'UTC')`)} AS now,
    (count(f.id) FILTER (WHERE ${pair}))::int AS pair_count,
    ${epochMs(Prisma.sql`min(f.at) FILTER (WHERE ${pair})`)} AS pair_oldest,
    (count(f.id) FILTER (WHERE f.address = ${address}))::int AS address_count,
    ${epochMs(Prisma.sql`min(f.at) FILTER (WHERE f.address = ${address})`)} AS address_oldest,
    (count(f.id) FILTER (WHERE f.username = ${username}))::int AS username_count,
    ${epochMs(Prisma.sql`max(f.at) FILTER (WHERE f.username = ${username})`)} AS username_latest`
}

function countsOf (row: FailureRow | undefined): FailureCounts {
  const n = (value: unknown): number => Number(value ?? 0)
  const time = (value: unknown): number | null => value === null || value === undefined ? null : Number(value)
  return {
    now: row === undefined ? Date.now() : n(row.now),
    pair: { count: n(row?.pair_count), oldest: time(row?.pair_oldest) },
    address: { count: n(row?.address_count), oldest: time(row?.address_oldest) },
    username: { count: n(row?.username_count), latest: time(row?.username_latest) }
  }
}

const noFailures = (): FailureCounts => ({
  now: Date.now(), pair: { count: 0, oldest: null }, address: { count: 0, oldest: null }, username: { count: 0, latest: null }
})

/**
 * The failures on record, as far as this process knows: what the failure log held
 * when it started listening, then every failure recorded and forgotten since, by
 * any process (the database announces each one; see src/db/changes.ts), kept by id
 * so that hearing of one twice counts it once. For a username and an address with
 * none, the throttle has nothing to count and needs no query, which spares every
 * good login one. Until it knows (while starting, while the announcements cannot be
 * heard, with too many failures to keep), it says that anyone may have failed.
 */
class FailuresOnRecord {
  /** Failure id → its username and address, as `u…` and `a…` keys, and when it was recorded (this process's clock). */
  private readonly failures = new Map<string, { keys: string[], at: number }>()
  /** `u` + username or `a` + address → the ids of its failures on record. */
  private readonly byKey = new Map<string, Set<string>>()
  /** Counts the times hearing was lost or regained, so that a load started before either is not trusted after. */
  private epoch = 0
  private known = false
  private started = false

  constructor (private readonly db: PrismaClient, private readonly feed: ChangeFeed) {}

  /** Whether this username (null: none) or this address may have failures within the last `windowSeconds`. */
  mayHaveFailed (username: string | null, address: string | null, windowSeconds: number): boolean {
    if (!this.started) this.start()
    // Not current (a hung connection, a pause): other processes' failures may be unheard.
    if (!this.known || !this.feed.current) return true
    // A second of margin for clocks and for announcements on their way.
    const since = Date.now() - windowSeconds * 1000 - 1000
    const recent = (key: string): boolean => {
      for (const id of this.byKey.get(key) ?? []) if (this.failures.get(id)!.at >= since) return true
      return false
    }
    return (username !== null && recent(`u${username}`)) || (address !== null && recent(`a${address}`))
  }

  recorded (id: string, username: string | null, address: string | null, at = Date.now()): void {
    if (this.failures.has(id)) return
    const keys = [...(username === null ? [] : [`u${username}`]), ...(address === null ? [] : [`a${address}`])]
    this.failures.set(id, { keys, at })
    for (const key of keys) {
      let ids = this.byKey.get(key)
      if (ids === undefined) this.byKey.set(key, ids = new Set())
      ids.add(id)
    }
    if (this.failures.size > maxRemembered) this.reload()
  }

  forgotten (id: string): void {
    const failure = this.failures.get(id)
    if (failure === undefined) return
    this.failures.delete(id)
    for (const key of failure.keys) {
      const ids = this.byKey.get(key)
      ids?.delete(id)
      if (ids?.size === 0) this.byKey.delete(key)
    }
  }

  private start (): void {
    this.started = true
    this.feed.subscribe({
      changed: (change) => {
        if (change.kind === 'failure') this.recorded(change.id, change.username, change.address)
        else if (change.kind === 'forgotten') this.forgotten(change.id)
      },
      deaf: () => {
        this.epoch++
        this.known = false
      },
      hearing: () => { this.reload() }
    })
    if (this.feed.hearing) this.reload()
  }

  /** Reads the failure log again from scratch (the sweep keeps it to the window). */
  private reload (): void {
    const epoch = ++this.epoch
    this.known = false
    this.failures.clear()
    this.byKey.clear()
    void this.db.$queryRaw<Array<{ id: bigint, username: string | null, address: string | null, age_ms: number }>>`
      SELECT id, username, address, ${epochMs(Prisma.sql`(now() AT TIME ZONE 'UTC') - at`)} AS age_ms
      FROM login_failure ORDER BY id LIMIT ${maxRemembered + 1}`.then((rows) => {
      if (epoch !== this.epoch) return
      const now = Date.now()
      for (const row of rows) this.recorded(String(row.id), row.username, row.address, now - Number(row.age_ms))
      if (epoch === this.epoch && rows.length <= maxRemembered) this.known = true
    }, () => {
      // Not known: every throttle check queries, as it did before.
    })
  }
}

/** Failures kept by FailuresOnRecord; with more on record (an attack), every check queries the log. */
const maxRemembered = 50_000

export class LoginRecords {
  private readonly onRecord: FailuresOnRecord | undefined

  constructor (private readonly db: PrismaClient, private readonly changes?: ChangeFeed) {
    this.onRecord = changes === undefined ? undefined : new FailuresOnRecord(db, changes)
  }

  @uncached
  async byUsername (username: string): Promise<LoginRecord | null> {
    return await this.db.user.findFirst({ where: { usernameKey: nameKey(username), retiredAt: null }, select: loginSelect })
  }

  @reads('user')
  async byId (id: number): Promise<LoginRecord | null> {
    return await this.db.user.findFirst({ where: { id, retiredAt: null }, select: loginSelect })
  }

  /** The live key with this digest and its user. */
  @reads('api_key', 'user')
  async byApiKeyDigest (digest: string): Promise<{ keyId: number, digest: string, user: LoginRecord } | null> {
    const key = await this.db.apiKey.findUnique({
      where: { digest },
      select: { id: true, digest: true, revokedAt: true, user: { select: { ...loginSelect, retiredAt: true } } }
    })
    if (key === null || key.revokedAt !== null || key.user.retiredAt !== null) return null
    const { retiredAt: _retired, ...user } = key.user
    return { keyId: key.id, digest: key.digest, user }
  }

  @bookkeeping
  async touchLogin (userId: number): Promise<void> {
    // Raw, so that updated_at stays: a login is no change of the user.
    await this.db.$executeRaw`
      UPDATE "user" SET last_login_at = ${utcNow}
      WHERE id = ${userId} AND (last_login_at IS NULL OR last_login_at < ${utcNow} - make_interval(secs => ${bookkeepingIntervalMs / 1000}::float8))`
  }

  @bookkeeping
  async touchApiKey (keyId: number, now = new Date()): Promise<void> {
    await this.db.apiKey.updateMany({
      where: { id: keyId, OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: new Date(now.getTime() - bookkeepingIntervalMs) } }] },
      data: { lastUsedAt: now }
    })
  }

  /**
   * The failures in the last `windowSeconds` that the login throttle weighs (see
   * src/auth/authenticator.ts); with `before`, only those recorded before that one.
   */
  @uncached
  async loginFailures (username: string | null, address: string | null, windowSeconds: number, before?: bigint):
  Promise<FailureCounts> {
    const u = fitUsername(username)
    const a = fitAddress(address)
    if (before === undefined && this.onRecord?.mayHaveFailed(u, a, windowSeconds) === false) return noFailures()
    const rows = await this.db.$queryRaw<FailureRow[]>`
      SELECT ${aggregates(u, a)}
      FROM login_failure f
      WHERE f.at >= (now() AT TIME ZONE 'UTC') - make_interval(secs => ${windowSeconds}::float8)
        AND (f.username = ${u} OR f.address = ${a})
        ${before === undefined ? Prisma.empty : Prisma.sql`AND f.id < ${before}`}`
    return countsOf(rows[0])
  }

  /**
   * Records a failed attempt now, before its password is checked, then returns its
   * id with the failures recorded before it. Two statements, so that the count sees
   * every attempt already recorded, also those of other processes: parallel guesses
   * count against each other. An attempt then refused or accepted is taken back
   * with `forgetFailure` or `forgetPairFailures`.
   */
  @bookkeeping
  async recordFailure (username: string | null, address: string | null, windowSeconds: number):
  Promise<{ id: bigint, before: FailureCounts }> {
    const u = fitUsername(username)
    const a = fitAddress(address)
    const rows = await this.db.$queryRaw<Array<{ id: bigint }>>`
      INSERT INTO login_failure (username, address, at) VALUES (${u}, ${a}, now() AT TIME ZONE 'UTC') RETURNING id`
    const id = BigInt(rows[0]!.id)
    this.onRecord?.recorded(String(id), u, a)
    // Every process counts it before this attempt is answered (src/db/changes.ts).
    await this.changes?.caughtUp()
    return { id, before: await this.loginFailures(username, address, windowSeconds, id) }
  }

  @bookkeeping
  async forgetFailure (id: bigint): Promise<void> {
    await this.db.loginFailure.deleteMany({ where: { id } })
    this.onRecord?.forgotten(String(id))
  }

  /** After a right password: this username's failures from this address no longer count. */
  @bookkeeping
  async forgetPairFailures (username: string, address: string | null): Promise<void> {
    const forgotten = await this.db.$queryRaw<Array<{ id: bigint }>>`
      DELETE FROM login_failure WHERE username = ${fitUsername(username)} AND address IS NOT DISTINCT FROM ${fitAddress(address)} RETURNING id`
    for (const { id } of forgotten) this.onRecord?.forgotten(String(id))
  }

  /** Deletes failures older than the window: they no longer count. */
  @bookkeeping
  async forgetFailuresOlderThan (windowSeconds: number): Promise<void> {
    await this.db.$executeRaw`
      DELETE FROM login_failure WHERE at < (now() AT TIME ZONE 'UTC') - make_interval(secs => ${windowSeconds}::float8)`
  }
}
