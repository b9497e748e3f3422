/**
 * Federation: every server record other than this server's own is a peer, whose
 * exported services this server copies by syncing it. A sync fetches the peer's
 * `/services/` (through `fetchCatalogue`, which bounds the request), keeps the
 * entries that are the peer's own and exported, and replaces this server's copy
 * of them in one transaction. Local services are never touched: a copy is a
 * service row marked `imported`, and no face may change one.
 *
 * One sync per peer at a time, across every process sharing the database: a sync
 * first claims the server row (`sync_claimed_until`, a lease that outlives no
 * crashed process for long), and a second one waits for it, or, when periodic,
 * skips. A sync that fails records why on the server row, marks the peer inactive
 * and keeps the last good copy.
 */
import Type from 'typebox'
import { requireAdmin, systemActor, type Actor } from './actor.ts'
import { guardUnique } from './common.ts'
import { Busy, Invalid, NotFound, PeerFailed } from './errors.ts'
import { Description, Name, ServiceType, validate } from './schemas.ts'
import type { ServerRef, Servers, ServerView } from './servers.ts'
import { formatFullName, serviceTables } from './services.ts'
import { serialized } from './transactions.ts'
import { Prisma, type PrismaClient } from '../generated/prisma/client.ts'
import { writes } from './read-model.ts'

export interface FederationOptions {
  /** This server, as SERVER_NAME and PUBLIC_URL name it. */
  self: { name: string, url: string }
  /** The peer's catalogue (every page of its `/services/`) as parsed JSON; throws with a message fit for an administrator. */
  fetchCatalogue: (url: string) => Promise<unknown>
  /** Most entries a peer's answer may hold. */
  maxServices: number
  /** Longest a sync may hold its peer: the fetch's whole time limit plus the writing. */
  claimSeconds: number
}

/** What a sync did. */
export interface SyncOutcome {
  server: ServerView
  added: number
  changed: number
  removed: number
  unchanged: number
  /** Entries of the answer left out: not exported, or another server's (peers do not pass on third parties' services). */
  ignored: number
  /** Entries whose full name one of this server's own services already has on that server; the local one stays. */
  shadowed: number
}

/** One entry of a peer's `/services/`, as the spec shapes it; other members are ignored. */
const PeerService = Type.Object({
  name: Name,
  server: Name,
  project: Type.Optional(Type.Union([Name, Type.Null()])),
  type: ServiceType,
  exported: Type.Boolean(),
  disabled: Type.Boolean(),
  description: Type.Optional(Description)
})

interface Copy { name: string, project: string, type: ServiceType, exported: boolean, disabled: boolean, description: string }

const utcNow = Prisma.sql`(now() AT TIME ZONE 'UTC')`
const claimPollMs = 100
/** How much of a failure's message the server row keeps. */
const maxErrorLength = 2000

export class Federation {
  constructor (
    private readonly db: PrismaClient,
    private readonly servers: Servers,
    private readonly options: FederationOptions
  ) {}

  /** Makes sure this server is listed among the servers, under SERVER_NAME at PUBLIC_URL. */
  @writes('server')
  async declareSelf (): Promise<void> {
    const { name, url } = this.options.self
    const row = await this.db.server.findUnique({ where: { name }, select: { url: true, retiredAt: true, active: true } })
    if (row === null) {
      await guardUnique('server', name, () => this.db.server.create({ data: { name, url, description: 'This server.' } }))
    } else if (row.url !== url || row.retiredAt !== null || !row.active) {
      await this.db.server.update({ where: { name }, data: { url, retiredAt: null, active: true } })
    }
  }

  /** Syncs one peer now (administrators), waiting for a sync of it already under way. */
  @writes('server', ...serviceTables)
  async sync (actor: Actor, ref: ServerRef): Promise<SyncOutcome> {
    requireAdmin(actor, 'syncing servers')
    const server = await this.servers.get(actor, ref)
    if (server.name === this.options.self.name) {
      throw Invalid.field('server', 'name', `${server.name} is this server (SERVER_NAME): it has nothing to sync from itself`)
    }
    const deadline = Date.now() + this.options.claimSeconds * 1000
    while (!await this.claim(server.id, false)) {
      if (Date.now() > deadline) throw new Busy(`server ${server.name}`)
      await new Promise((resolve) => setTimeout(resolve, claimPollMs))
    }
    return await this.run(actor, server)
  }

  /**
   * Syncs every peer not synced for `intervalSeconds` (the periodic sync), one at a
   * time, skipping those another process is syncing. Failures are recorded on their
   * server rows; the outcomes and failures are returned for the log.
   */
  @writes('server', ...serviceTables)
  async syncDue (intervalSeconds: number): Promise<Array<SyncOutcome | PeerFailed>> {
    // Only due peers are claimed: every UPDATE, even of no row, tells every process that data changed.
    const peers = await this.db.$queryRaw<Array<{ id: number }>>`
      SELECT id FROM "server"
      WHERE retired_at IS NULL AND name <> ${this.options.self.name} ${this.due(intervalSeconds)}
      ORDER BY id`
    const results: Array<SyncOutcome | PeerFailed> = []
    for (const { id } of peers) {
      if (!await this.claim(id, true, intervalSeconds)) continue
      const server = await this.servers.get(systemActor, id).catch((error: unknown) => {
        if (error instanceof NotFound) return undefined
        throw error
      })
      if (server === undefined) {
        // Retired since it was found due.
        await this.release(id)
        continue
      }
      try {
        results.push(await this.run(systemActor, server))
      } catch (error) {
        if (!(error instanceof PeerFailed)) throw error
        results.push(error)
      }
    }
    return results
  }

  /** Takes the peer for one sync, unless another holds it (or, for a periodic sync, it is not due). */
  private async claim (id: number, periodic: boolean, intervalSeconds = 0): Promise<boolean> {
    const due = periodic ? this.due(intervalSeconds) : Prisma.empty
    const claimed = await this.db.$queryRaw<Array<{ id: number }>>`
      UPDATE "server" SET sync_claimed_until = ${utcNow} + make_interval(secs => ${this.options.claimSeconds})
      WHERE id = ${id} AND retired_at IS NULL AND (sync_claimed_until IS NULL OR sync_claimed_until < ${utcNow}) ${due}
      RETURNING id`
    return claimed.length === 1
  }

  private due (intervalSeconds: number): Prisma.Sql {
    return Prisma.sql`AND (last_sync_at IS NULL OR last_sync_at <= ${utcNow} - make_interval(secs => ${intervalSeconds}))`
  }

  /** Fetches, checks and applies the peer's catalogue, holding the claim; always releases it. */
  private async run (actor: Actor, server: ServerView): Promise<SyncOutcome> {
    let copies: Map<string, Copy>
    let ignored: number
    try {
      ({ copies, ignored } = this.readCatalogue(server.name, await this.options.fetchCatalogue(server.url)))
    } catch (error) {
      const reason = error instanceof Invalid || error instanceof Error ? error.message : String(error)
      await this.recordFailure(server.id, reason)
      throw new PeerFailed(server.name, clip(reason))
    }
    try {
      const counts = await this.apply(server, copies)
      return { server: await this.servers.get(actor, server.id), ...counts, ignored }
    } catch (error) {
      await this.release(server.id)
      throw error
    }
  }

  /** The peer's own exported services from its answer; any entry out of shape refuses the whole answer. */
  private readCatalogue (peer: string, answer: unknown): { copies: Map<string, Copy>, ignored: number } {
    if (answer === null || typeof answer !== 'object' || Array.isArray(answer)) {
      throw new Error('answered no services object (the spec\'s /services/ is an object keyed by full name)')
    }
    const entries = Object.entries(answer)
    if (entries.length > this.options.maxServices) {
      throw new Error(`answered ${entries.length} services, more than SYNC_MAX_SERVICES (${this.options.maxServices})`)
    }
    const copies = new Map<string, Copy>()
    const others = new Set<string>()
    let ignored = 0
    for (const [key, value] of entries) {
      let entry
      try {
        entry = validate('service', PeerService, specMembers(value))
      } catch (error) {
        throw new Error(`answered a service this server cannot use: ${printable(key)}: ${(error as Error).message}`, { cause: error })
      }
      const project = entry.project ?? undefined
      const fullName = formatFullName(entry.name, project, entry.server)
      if (key !== fullName) throw new Error(`answered a service under the key ${printable(key)} but named ${fullName}`)
      if (entry.server !== peer) others.add(entry.server)
      if (entry.server !== peer || !entry.exported) {
        ignored++
        continue
      }
      copies.set(fullName, {
        name: entry.name,
        project: project ?? '',
        type: entry.type,
        exported: true,
        disabled: entry.disabled,
        description: entry.description ?? ''
      })
    }
    if (copies.size === 0 && others.size > 0) {
      const names = [...others].slice(0, 5).join(', ')
      throw new Error(`answered only services of other servers (${names}${others.size > 5 ? ', …' : ''}), none of ${peer}'s own: ` +
        `is ${peer} the name that server gives itself?`)
    }
    return { copies, ignored }
  }

  /** Replaces the copy of the peer's services with `copies`, in one transaction, and records the success. */
  private async apply (server: ServerView, copies: Map<string, Copy>): Promise<Omit<SyncOutcome, 'server' | 'ignored'>> {
    return await serialized(this.db, `server ${server.name}`, async (tx) => {
      const locked = await tx.$queryRaw<unknown[]>`SELECT id FROM "server" WHERE id = ${server.id} FOR NO KEY UPDATE`
      if (locked.length === 0) throw new NotFound('server', server.name)
      const rows = await tx.service.findMany({
        where: { serverId: server.id },
        select: {
          id: true, name: true, imported: true, importedProject: true, type: true, exported: true, disabled: true, description: true,
          project: { select: { name: true } }
        }
      })
      const local = new Set<string>()
      const held = new Map<string, (typeof rows)[number]>()
      for (const row of rows) {
        if (row.imported) held.set(formatFullName(row.name, row.importedProject === '' ? undefined : row.importedProject, server.name), row)
        else local.add(formatFullName(row.name, row.project?.name, server.name))
      }
      const added: Copy[] = []
      const changed: Array<{ id: number, copy: Copy }> = []
      let unchanged = 0
      let shadowed = 0
      for (const [fullName, copy] of copies) {
        if (local.has(fullName)) {
          shadowed++
          continue
        }
        const row = held.get(fullName)
        held.delete(fullName)
        if (row === undefined) added.push(copy)
        else if (row.type !== copy.type || !row.exported || row.disabled !== copy.disabled || row.description !== copy.description) {
          changed.push({ id: row.id, copy })
        } else unchanged++
      }
      const removed = [...held.values()].map((row) => row.id)
      if (removed.length > 0) await tx.service.deleteMany({ where: { id: { in: removed } } })
      if (added.length > 0) {
        await guardUnique('service', `services of server ${server.name}`, () => tx.service.createMany({
          data: added.map((copy) => ({
            name: copy.name,
            serverId: server.id,
            imported: true,
            importedProject: copy.project,
            type: copy.type,
            exported: copy.exported,
            disabled: copy.disabled,
            description: copy.description
          }))
        }))
      }
      if (changed.length > 0) {
        // One statement for any number of changes: a sync of thousands stays well within the transaction's time.
        await tx.$executeRaw`
          UPDATE "service" AS s
          SET type = c.type::"ServiceType", exported = true, disabled = c.disabled, description = c.description,
              retired_at = NULL, updated_at = ${utcNow}
          FROM unnest(${changed.map((c) => c.id)}::int[], ${changed.map((c) => c.copy.type)}::text[],
                      ${changed.map((c) => c.copy.disabled)}::boolean[], ${changed.map((c) => c.copy.description)}::text[])
            AS c(id, type, disabled, description)
          WHERE s.id = c.id`
      }
      await tx.$executeRaw`
        UPDATE "server" SET active = true, last_sync_at = ${utcNow}, last_sync_error = NULL, sync_claimed_until = NULL
        WHERE id = ${server.id}`
      return { added: added.length, changed: changed.length, removed: removed.length, unchanged, shadowed }
    })
  }

  private async recordFailure (id: number, reason: string): Promise<void> {
    await this.db.$executeRaw`
      UPDATE "server" SET active = false, last_sync_at = ${utcNow}, last_sync_error = ${clip(reason)}, sync_claimed_until = NULL
      WHERE id = ${id}`
  }

  private async release (id: number): Promise<void> {
    await this.db.$executeRaw`UPDATE "server" SET sync_claimed_until = NULL WHERE id = ${id}`
  }
}

/** The spec's members of an entry: the others (`authorized`, anything a peer adds) are neither checked nor kept. */
function specMembers (value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value
  const entry = value as Record<string, unknown>
  return Object.fromEntries(Object.keys(PeerService.properties).filter((key) => Object.hasOwn(entry, key)).map((key) => [key, entry[key]]))
}

/** A peer's text as it may be shown: control characters escaped, and not too long. */
function printable (text: string): string {
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text)
}

function clip (reason: string): string {
  // eslint-disable-next-line no-control-regex -- a peer's control characters are what this takes out
  const clean = reason.replace(/[\u0000-\u001f\u007f]/g, ' ')
  return clean.length > maxErrorLength ? `${clean.slice(0, maxErrorLength - 1)}…` : clean
}
