import { JobRoutes } from '../jobs/routes.ts'
import { Readable } from 'node:stream'
import { assertNotRefused, hide, isAdmin, refuse, requireAdmin, requireUser, systemActor, type Actor } from './actor.ts'
import { holdBlob, reclaim, type DataStorage } from './blobs.ts'
import { assertKeyFree, changedFields, enumMatch, column, columnsWhere, guardUnique, idsWhere, liveUser, nameKey, orderedIds, pageOf, retirement, textWhere, type DateMatch, type Listing, type Order, type SortKey, type TextMatch, type Updated } from './common.ts'
import { Conflict, InsufficientStorage, Invalid, NotFound, QuotaExceeded, TooLarge } from './errors.ts'
import { atLeast, projectsReachedBy, standingIn, standingInclude, standingOf, visibleProjects, visibleServices, standingTables, type ProjectStanding } from './permissions.ts'
import { DataCreate, DataFromUpload, JobSubmission, mediaTypeOf, ProjectCreate, ProjectUpdate, validate, type Page, type ProjectRole } from './schemas.ts'
import { formatFullName, fullNameWhere } from './services.ts'
import { compiledInterface } from './interfaces/load.ts'
import { filesOf, validateInputs, type JobInputs, type Tool } from './interfaces/tool.ts'
import { isForeignKeyViolation, removedMeanwhile } from './storable.ts'
import { cancelJob, finalStates, transitions, type JobState } from './job-queue.ts'
import type { ErrorReason } from '../jobs/executor.ts'
import { lockRow, serialized, type Client } from './transactions.ts'
import { Prisma, type PrismaClient } from '../generated/prisma/client.ts'
import { reads, uncached, writes, type Table } from './read-model.ts'
import { BlobTooLarge, type BlobLocation, type StagedBlob } from '../storage/blob-store.ts'
import { uploadIdPattern } from '../storage/upload-store.ts'
import { ownUpload } from './uploads.ts'

const jobStates = Object.keys(transitions) as JobState[]

interface ProjectMemberView { id: number, username: string, role: ProjectRole }
interface ProjectGroupView { id: number, name: string, role: ProjectRole }
interface ProjectServiceView { id: number, name: string, fullName: string }
/** One transition of a job: the state it entered, why (an error's reason), and when. */
interface JobEventView { state: JobState, reason?: ErrorReason, at: Date }
export interface JobView {
  id: number
  projectId: number
  name: string
  /** The service's full name; null once it is deleted. */
  service: string | null
  state: JobState
  /** Why it ended in error; null otherwise. */
  reason: ErrorReason | null
  exitCode: number | null
  /** What happened, in words, when it did not end ok (why it was cancelled, what the executor said). */
  message: string
  createdAt: Date
  startedAt: Date | null
  finishedAt: Date | null
  /** The submission's inputs, as validated against the service's interface. */
  inputs: Record<string, unknown>
  /** Every transition, oldest first: the first is `queued`. */
  history: JobEventView[]
  /** Who submitted it: a user's id; null once that user is deleted. */
  submitter: number | null
  /** Output id → the data items it became, once the job ended ok. */
  outputs: Record<string, number[]>
}
/** A job as a project's representation lists it. */
interface JobRef { id: number }
export interface DataView {
  id: number
  projectId: number
  name: string
  description: string
  /** The content's size in bytes, its sha256 (hex), its media type, and its EDAM format IRI if any. */
  size: number
  sha256: string
  mediaType: string
  format: string | null
  /** Who uploaded it: a user's id; null once that user is deleted. */
  uploader: number | null
  /** The job whose output it is; null for an upload (or once that job is deleted). */
  job: number | null
  createdAt: Date
}

/** Content staged for a new data item (`Projects.stageData`), with the media type it was sent as. */
export interface DataContent {
  blob: StagedBlob
  mediaType: string
}

/** Which job or data references: those of one project, or of every project the actor can see; optionally only these ids. */
export interface ReferenceFilter {
  project?: ProjectRef
  ids?: number[]
  name?: TextMatch
  /** Jobs only: their state (`queued`, `running`, `ok`, `error`, `cancelled`). */
  state?: TextMatch
  /** Data only. */
  description?: TextMatch
  sha256?: TextMatch
  mediaType?: TextMatch
  format?: TextMatch
  /** Sizes in bytes: any of these. */
  size?: number[]
  /** Uploaders (user ids): any of these. */
  uploader?: number[]
  /** References in any of these projects (ids). */
  projectId?: number[]
  /** Jobs of any of these services (ids) the actor can see. */
  serviceId?: number[]
  createdAt?: DateMatch
}

/** The fields job and data references sort by; projects and services by id. */
export type JobSortField = 'id' | 'projectId' | 'name' | 'state' | 'serviceId' | 'createdAt' | 'startedAt' | 'finishedAt'
export type DataSortField = 'id' | 'projectId' | 'name' | 'description' | 'size' | 'sha256' | 'mediaType' | 'format' | 'uploader' | 'createdAt'

const jobSortKeys: Record<JobSortField, SortKey> = {
  id: column('id'),
  projectId: column('project_id'),
  name: column('name', { text: true }),
  state: column('state'),
  serviceId: column('service_id'),
  createdAt: column('created_at'),
  startedAt: column('started_at'),
  finishedAt: column('finished_at')
}

const dataSortKeys: Record<DataSortField, SortKey> = {
  id: column('id'),
  projectId: column('project_id'),
  name: column('name', { text: true }),
  description: column('description', { text: true }),
  size: column('size'),
  sha256: column('blob_sha256', { text: true }),
  mediaType: column('media_type', { text: true }),
  format: column('format', { text: true }),
  uploader: column('uploader_id'),
  createdAt: column('created_at')
}

export interface ProjectView {
  id: number
  name: string
  description: string
  owner: number
  ownerUsername: string
  /** Direct members' ids by role, ascending. */
  managers: number[]
  contributors: number[]
  watchers: number[]
  members: ProjectMemberView[]
  groups: ProjectGroupView[]
  services: ProjectServiceView[]
  jobs: JobRef[]
  data: DataView[]
  /** Favorite services, by full name. */
  favorites: ProjectServiceView[]
  /** The caller's own standing in the project, if any. */
  standing: ProjectStanding | null
  retired: boolean
  createdAt: Date
  updatedAt: Date
}

/** A user's standing in one project. */
export interface StandingView { project: number, projectName: string, standing: ProjectStanding }

export interface ProjectFilter {
  ids?: number[]
  name?: TextMatch
  description?: TextMatch
  /** The owner's id. */
  owner?: number | number[]
  /** Projects this user (id) owns or is a direct member of. */
  member?: number
  /** Projects with any of these users (ids) as direct managers, contributors, watchers. */
  managers?: number[]
  contributors?: number[]
  watchers?: number[]
  /** Projects granting any of these groups (ids) a role. */
  groups?: number[]
  /** Projects with any of these live services, favorites, jobs, data items (ids). */
  services?: number[]
  favorites?: number[]
  jobs?: number[]
  data?: number[]
  createdAt?: DateMatch
  updatedAt?: DateMatch
  includeRetired?: boolean
}

/** The fields projects sort by; the owner by id, multilinks by the lowest linked id. */
export type ProjectSortField = 'id' | 'name' | 'description' | 'owner' | 'managers' | 'contributors' | 'watchers' | 'groups'
  | 'services' | 'favorites' | 'jobs' | 'data' | 'createdAt' | 'updatedAt'

function lowest (sql: Prisma.Sql): SortKey {
  return { sql: Prisma.sql`(${sql})` }
}

const sortKeys: Record<ProjectSortField, SortKey> = {
  id: column('id'),
  name: column('name', { text: true }),
  description: column('description', { text: true }),
  owner: column('owner_id'),
  managers: lowest(Prisma.sql`SELECT min(pm.user_id) FROM "project_member" pm WHERE pm.project_id = t.id AND pm.role = 'manager'`),
  contributors: lowest(Prisma.sql`SELECT min(pm.user_id) FROM "project_member" pm WHERE pm.project_id = t.id AND pm.role = 'contributor'`),
  watchers: lowest(Prisma.sql`SELECT min(pm.user_id) FROM "project_member" pm WHERE pm.project_id = t.id AND pm.role = 'watcher'`),
  groups: lowest(Prisma.sql`SELECT min(g.group_id) FROM "project_group_grant" g WHERE g.project_id = t.id`),
  services: lowest(Prisma.sql`SELECT min(s.id) FROM "service" s WHERE s.project_id = t.id AND s.retired_at IS NULL`),
  favorites: lowest(Prisma.sql`SELECT min(f.service_id) FROM "favorite" f WHERE f.project_id = t.id`),
  jobs: lowest(Prisma.sql`SELECT min(j.id) FROM "job" j WHERE j.project_id = t.id`),
  data: lowest(Prisma.sql`SELECT min(d.id) FROM "data_item" d WHERE d.project_id = t.id`),
  createdAt: column('created_at'),
  updatedAt: column('updated_at')
}

/** A project by id, or by name. */
export type ProjectRef = number | string

const resource = 'project'

const serviceSelect = {
  id: true, name: true, project: { select: { name: true } }, server: { select: { name: true } }
} satisfies Prisma.ServiceSelect
type ServiceRow = Prisma.ServiceGetPayload<{ select: typeof serviceSelect }>

const include = {
  ...standingInclude,
  owner: { select: { username: true } },
  members: { select: { userId: true, role: true, user: { select: { username: true } } }, orderBy: { userId: 'asc' } },
  groupGrants: {
    select: {
      role: true,
      group: { select: { id: true, name: true, active: true, retiredAt: true, members: { select: { userId: true } } } }
    },
    orderBy: { groupId: 'asc' }
  },
  services: { where: { retiredAt: null }, select: serviceSelect, orderBy: { name: 'asc' } },
  jobs: { select: { id: true }, orderBy: { id: 'asc' } },
  data: { orderBy: { id: 'asc' } },
  favorites: { select: { service: { select: serviceSelect } }, orderBy: { serviceId: 'asc' } }
} satisfies Prisma.ProjectInclude
type ProjectRow = Prisma.ProjectGetPayload<{ include: typeof include }>

/** `row` when the actor may reach it with the `needed` standing; otherwise absent, hidden or refused, as `ref` names it. */
function allowed<R extends { name: string, retiredAt: Date | null } & Parameters<typeof standingIn>[0]> (actor: Actor, ref: ProjectRef, row: R | null,
  includeRetired: boolean, needed: ProjectStanding): R {
  if (row === null || (row.retiredAt !== null && !includeRetired)) throw new NotFound(resource, ref)
  if (!isAdmin(actor)) {
    const standing = standingIn(row, actor)
    if (!atLeast(standing, 'watcher')) hide(resource, ref)
    if (!atLeast(standing, needed)) refuse(actor, `this needs the ${needed} role in project ${row.name}`)
  }
  return row
}

function serviceView (s: ServiceRow): ProjectServiceView {
  return { id: s.id, name: s.name, fullName: formatFullName(s.name, s.project?.name, s.server.name) }
}

type DataRow = ProjectRow['data'][number]

const jobSelect = {
  id: true,
  projectId: true,
  name: true,
  state: true,
  reason: true,
  exitCode: true,
  message: true,
  createdAt: true,
  startedAt: true,
  finishedAt: true,
  inputs: true,
  outputs: true,
  submitterId: true,
  service: { select: serviceSelect },
  events: { select: { state: true, reason: true, at: true }, orderBy: { id: 'asc' } }
} satisfies Prisma.JobSelect
type JobRow = Prisma.JobGetPayload<{ select: typeof jobSelect }>

/** What a job's view reads: the job, its history, its service's names, and who may see it. */
const jobTables: Table[] = ['job', 'job_event', 'service', 'server', ...standingTables]

function jobView (j: JobRow): JobView {
  return {
    id: j.id,
    projectId: j.projectId,
    name: j.name,
    service: j.service === null ? null : serviceView(j.service).fullName,
    state: j.state,
    reason: j.reason as ErrorReason | null,
    exitCode: j.exitCode,
    message: j.message,
    createdAt: j.createdAt,
    startedAt: j.startedAt,
    finishedAt: j.finishedAt,
    inputs: j.inputs as Record<string, unknown>,
    history: j.events.map((e) => e.reason === null ? { state: e.state, at: e.at } : { state: e.state, reason: e.reason as ErrorReason, at: e.at }),
    submitter: j.submitterId,
    outputs: j.outputs as Record<string, number[]>
  }
}

function dataView (d: DataRow): DataView {
  return {
    id: d.id,
    projectId: d.projectId,
    name: d.name,
    description: d.description,
    size: Number(d.size),
    sha256: d.blobSha256,
    mediaType: d.mediaType,
    format: d.format,
    uploader: d.uploaderId,
    job: d.jobId,
    createdAt: d.createdAt
  }
}

/** The upload an item is made from: its id, or the URL its creation answered (…/uploads/<id>, relative or absolute). */
function uploadIdIn (given: string): string {
  if (uploadIdPattern.test(given)) return given
  let path = ''
  try {
    path = new URL(given, 'http://server.invalid').pathname
  } catch { /* no URL either: refused below */ }
  const id = /\/uploads\/([^/]+)\/?$/.exec(path)?.[1]
  if (id === undefined || !uploadIdPattern.test(id)) {
    throw Invalid.field('data', 'upload', 'is neither an upload\'s id (32 hex digits) nor its URL (…/uploads/<id>)')
  }
  return id
}

/** An EDAM format as the domain keeps it: its IRI, whichever form it was given in. */
function edamIri (format: string | undefined): string | null {
  if (format === undefined) return null
  return format.startsWith('format_') ? `http://edamontology.org/${format}` : format
}

function view (row: ProjectRow, actor: Actor): ProjectView {
  const idsWith = (role: ProjectRole): number[] => row.members.filter((m) => m.role === role).map((m) => m.userId)
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    owner: row.ownerId,
    ownerUsername: row.owner.username,
    managers: idsWith('manager'),
    contributors: idsWith('contributor'),
    watchers: idsWith('watcher'),
    members: row.members.map((m) => ({ id: m.userId, username: m.user.username, role: m.role })),
    groups: row.groupGrants.map((g) => ({ id: g.group.id, name: g.group.name, role: g.role })),
    services: row.services.map(serviceView),
    jobs: row.jobs.map((j) => ({ id: j.id })),
    data: row.data.map(dataView),
    favorites: row.favorites.map((f) => serviceView(f.service)),
    standing: standingIn(row, actor) ?? null,
    retired: row.retiredAt !== null,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt
  }
}

/** What a project's representation reads: its roster, its services, favorites, jobs and data, and their names. */
const projectTables: Table[] = [...standingTables, 'user', 'service', 'server', 'favorite', 'job', 'data_item']

/**
 * Projects' rosters, as standing checks read them: the same for every caller, so
 * one remembered answer per project serves every write into it (a job, a data
 * item) until the roster changes.
 */
export class Rosters {
  constructor (private readonly db: PrismaClient) {}

  @reads(...standingTables)
  async of (ref: ProjectRef): Promise<ProjectRoster | null> {
    return await this.db.project.findUnique({ where: refWhere(ref), select: rosterSelect })
  }
}

/**
 * Programs by full name, as submissions read them: the same for every caller (who
 * may see and call one is decided from the answer and the project's roster), so
 * one remembered answer per program serves every submission of it until a
 * service, server or project changes.
 */
export class Programs {
  constructor (private readonly db: PrismaClient) {}

  @reads('service', 'server', 'project')
  async named (fullName: string): Promise<Program | null> {
    const named = fullNameWhere(fullName)
    if (named === undefined) return null
    return await this.db.service.findFirst({ where: { AND: [named], retiredAt: null }, select: programSelect })
  }
}

const programSelect = {
  interface: true, disabled: true, exported: true, projectId: true, ...serviceSelect, server: { select: { name: true, active: true } }
} satisfies Prisma.ServiceSelect
type Program = Prisma.ServiceGetPayload<{ select: typeof programSelect }>

const rosterSelect = { id: true, name: true, ownerId: true, retiredAt: true, ...standingInclude } satisfies Prisma.ProjectSelect
type ProjectRoster = Prisma.ProjectGetPayload<{ select: typeof rosterSelect }>

export class Projects {
  /** `rosters` and `programs` as the read model answers them (src/domain/index.ts): what `idOf` and submissions read outside a transaction. */
  constructor (
    private readonly db: PrismaClient,
    private readonly storage: DataStorage,
    private readonly rosters: Rosters = new Rosters(db),
    private readonly routes: JobRoutes = JobRoutes.only('local'),
    private readonly programs: Programs = new Programs(db)
  ) {}

  /** Listing all projects is for administrators; users reach theirs through their user record. */
  @reads(...projectTables)
  async list (actor: Actor, filter: ProjectFilter = {}, page?: Page): Promise<Listing<ProjectView>> {
    requireAdmin(actor, 'listing projects')
    return await this.findMany(actor, projectWhere(filter), page)
  }

  /**
   * The projects the actor can see (its own, those it is a member of directly or
   * through an active group; administrators all of them); none for anonymous callers.
   */
  @reads(...projectTables)
  async listVisible (actor: Actor, filter: ProjectFilter = {}, page?: Page): Promise<Listing<ProjectView>> {
    assertNotRefused(actor)
    return await this.findMany(actor, { AND: [visibleProjects(actor), projectWhere(filter)] }, page)
  }

  /** The ids of the projects the actor can see that match, in `order` then by id. */
  @reads(...projectTables)
  async searchVisible (actor: Actor, filter: ProjectFilter = {}, order: Array<Order<ProjectSortField>> = []): Promise<number[]> {
    assertNotRefused(actor)
    const rows = await this.db.project.findMany({
      where: { AND: [visibleProjects(actor), projectWhere(filter)] }, select: { id: true }, orderBy: { id: 'asc' }
    })
    return await orderedIds(this.db, 'project', rows.map((row) => row.id), order, (field) => sortKeys[field])
  }

  private async findMany (actor: Actor, where: Prisma.ProjectWhereInput, page?: Page): Promise<Listing<ProjectView>> {
    return await pageOf(page, async (window) => await this.db.project.findMany({ where, include, orderBy: { id: 'asc' }, ...window }),
      async () => await this.db.project.count({ where }), (row) => view(row, actor))
  }

  /**
   * The user's standing in every live project it reaches (owns, or belongs to
   * directly or through an active group), by project id; for the user itself and
   * administrators. The same rule every permission check applies.
   */
  @reads(...standingTables)
  async standingsOf (actor: Actor, userId: number): Promise<StandingView[]> {
    assertNotRefused(actor)
    if (!isAdmin(actor) && !(actor.kind === 'user' && actor.id === userId)) hide('user', userId)
    const rows = await this.db.project.findMany({
      where: { AND: [projectsReachedBy(userId), { retiredAt: null }] },
      select: { id: true, name: true, ownerId: true, ...standingInclude },
      orderBy: { id: 'asc' }
    })
    return rows.flatMap((row) => {
      const standing = standingOf(row, userId)
      return standing === undefined ? [] : [{ project: row.id, projectName: row.name, standing }]
    })
  }

  /** A project is visible to its owner, members (directly or through an active group) and administrators. */
  @reads(...projectTables)
  async get (actor: Actor, ref: ProjectRef, options: { includeRetired?: boolean } = {}): Promise<ProjectView> {
    return view(await this.find(actor, ref, options.includeRetired === true), actor)
  }

  private async find (actor: Actor, ref: ProjectRef, includeRetired: boolean, needed: ProjectStanding = 'watcher', db: Client = this.db): Promise<ProjectRow> {
    assertNotRefused(actor)
    return allowed(actor, ref, await db.project.findUnique({ where: refWhere(ref), include }), includeRetired, needed)
  }

  /**
   * The id of the live project `ref` names, checked as `find` checks it, reading
   * only its roster: remembered, unless a transaction (`db`) must read it itself.
   */
  private async idOf (actor: Actor, ref: ProjectRef, needed: ProjectStanding = 'watcher', db?: Client): Promise<number> {
    assertNotRefused(actor)
    const roster = db === undefined ? await this.rosters.of(ref) : await db.project.findUnique({ where: refWhere(ref), select: rosterSelect })
    return allowed(actor, ref, roster, false, needed).id
  }

  /** Any active user may create a project and owns it; administrators may name another owner. */
  @writes('project', 'project_member', 'project_group_grant', 'favorite')
  async create (actor: Actor, input: unknown): Promise<ProjectView> {
    const user = requireUser(actor, 'creating projects')
    const data = validate(resource, ProjectCreate, input)
    let ownerId = user.id
    if (data.owner !== undefined && data.owner !== user.username && data.owner !== user.id) {
      requireAdmin(actor, 'creating a project for another user')
      ownerId = await this.userId(data.owner, 'owner')
    }
    await this.assertNameFree(data.name)
    const row = await guardUnique(resource, data.name, () => this.db.project.create({
      data: { name: data.name, description: data.description, ownerId },
      include
    }))
    return view(row, actor)
  }

  /**
   * The owner (or an administrator) renames, describes or hands over the project;
   * owners and managers replace the holders of a role (`managers`, `contributors`,
   * `watchers`). Everything given is written in one transaction, or nothing is.
   */
  @writes('project', 'project_member', 'project_group_grant', 'favorite')
  async update (actor: Actor, ref: ProjectRef, input: unknown): Promise<Updated<ProjectView>> {
    const data = validate(resource, ProjectUpdate, input)
    const ownersOnly = data.name !== undefined || data.description !== undefined || data.owner !== undefined
    // The roster is read, compared and rewritten under the project's row lock, so
    // concurrent updates take turns and each starts from the last one's result.
    return await guardUnique(resource, data.name ?? String(ref), () => this.locked(ref, async (tx) => {
      const row = await this.find(actor, ref, isAdmin(actor), ownersOnly ? 'owner' : 'manager', tx)
      const current = view(row, actor)
      const changed = changedFields(current, { name: data.name, description: data.description })
      let ownerId: number | undefined
      if (data.owner !== undefined && data.owner !== current.ownerUsername && data.owner !== current.owner) {
        ownerId = await this.userId(data.owner, 'owner', tx)
        changed.push('owner')
      }
      const roster = await this.newRoster(current, data, ownerId ?? current.owner, tx)
      for (const role of roles) {
        if (roster.holders(role).join() !== current[`${role}s`].join()) changed.push(`${role}s`)
      }
      if (changed.length === 0) return { item: current, changed }
      if (data.name !== undefined && data.name !== current.name) await this.assertNameFree(data.name, tx)
      // The new owner's membership role is subsumed by ownership.
      if (ownerId !== undefined) await tx.projectMember.deleteMany({ where: { projectId: row.id, userId: ownerId } })
      const leaving = current.members.filter((m) => !roster.roles.has(m.id)).map((m) => m.id)
      if (leaving.length > 0) await tx.projectMember.deleteMany({ where: { projectId: row.id, userId: { in: leaving } } })
      for (const [userId, role] of roster.roles) {
        if (current.members.some((m) => m.id === userId && m.role === role)) continue
        await tx.projectMember.upsert({
          where: { projectId_userId: { projectId: row.id, userId } },
          create: { projectId: row.id, userId, role },
          update: { role }
        })
      }
      const updated = await tx.project.update({
        where: { id: row.id },
        data: { name: data.name, description: data.description, ownerId },
        include
      })
      return { item: view(updated, actor), changed }
    }))
  }

  /**
   * Runs a read-modify-write of one project in a transaction holding the
   * project's row lock (see transactions.ts): writers on one project take turns.
   */
  private async locked<T> (ref: ProjectRef, work: (tx: Client) => Promise<T>): Promise<T> {
    return await serialized(this.db, `project ${ref}`, async (tx) => {
      await lockRow(tx, 'project', ref)
      return await work(tx)
    })
  }

  /** The direct members after an update: each role given replaces that role's holders. */
  private async newRoster (current: ProjectView, data: { managers?: Array<string | number>, contributors?: Array<string | number>, watchers?: Array<string | number> }, ownerId: number, db: Client):
  Promise<{ roles: Map<number, ProjectRole>, holders: (role: ProjectRole) => number[] }> {
    const next = new Map(current.members.filter((m) => m.id !== ownerId).map((m) => [m.id, m.role]))
    const given = roles.filter((role) => data[`${role}s`] !== undefined)
    for (const role of given) for (const [userId, held] of next) if (held === role) next.delete(userId)
    const placed = new Map<number, ProjectRole>()
    for (const role of given) {
      const field = `${role}s` as const
      for (const userRef of data[field]!) {
        const userId = await this.userId(userRef, field, db)
        if (userId === ownerId) throw new Conflict(`the owner of project ${current.name} cannot also be one of its ${field}`, resource, field)
        const other = placed.get(userId)
        if (other !== undefined && other !== role) throw Invalid.field(resource, field, `user ${userRef} is also listed among the ${other}s`)
        placed.set(userId, role)
        next.set(userId, role)
      }
    }
    return {
      roles: next,
      holders: (role) => [...next].filter(([, held]) => held === role).map(([userId]) => userId).sort((a, b) => a - b)
    }
  }

  /** Deletes the project with its services, jobs, data and favorites. */
  @writes(...projectTables, 'blob')
  async delete (actor: Actor, ref: ProjectRef): Promise<ProjectView> {
    const deleted = await this.locked(ref, async (tx) => {
      const row = await this.find(actor, ref, true, 'owner', tx)
      await tx.project.delete({ where: { id: row.id } })
      return view(row, actor)
    })
    await this.reclaimContent(deleted.data.map((item) => item.sha256))
    return deleted
  }

  @writes('project')
  async setRetired (actor: Actor, ref: ProjectRef, retired: boolean): Promise<ProjectView> {
    return await this.locked(ref, async (tx) => {
      const row = await this.find(actor, ref, true, 'owner', tx)
      const updated = await tx.project.update({
        where: { id: row.id }, data: retirement(retired), include
      })
      return view(updated, actor)
    })
  }

  /**
   * Gives a user a role in the project, or removes it (`role` null). Owners and
   * managers manage membership; `previous` is the role the user had.
   */
  @writes('project_member')
  async setMember (actor: Actor, ref: ProjectRef, userRef: number | string, role: ProjectRole | null):
  Promise<{ project: ProjectView, member: { id: number, username: string }, previous: ProjectRole | null }> {
    const { project, holder, previous } = await this.setRole(actor, ref, role, {
      find: async (tx, row) => {
        const user = await liveUser(tx, userRef)
        if (user === null) throw new NotFound('user', userRef)
        if (user.id === row.ownerId) throw new Conflict(`user ${user.username} owns project ${row.name}`, resource)
        return user
      },
      previous: (row, user) => row.members.find((m) => m.userId === user.id)?.role ?? null,
      remove: async (tx, projectId, user) => await tx.projectMember.deleteMany({ where: { projectId, userId: user.id } }),
      upsert: async (tx, projectId, user, held) => await tx.projectMember.upsert({
        where: { projectId_userId: { projectId, userId: user.id } },
        create: { projectId, userId: user.id, role: held },
        update: { role: held }
      })
    })
    return { project, member: holder, previous }
  }

  /** Grants a group a role in the project, or revokes it (`role` null). */
  @writes('project_group_grant')
  async setGroupGrant (actor: Actor, ref: ProjectRef, groupRef: number | string, role: ProjectRole | null):
  Promise<{ project: ProjectView, group: { id: number, name: string }, previous: ProjectRole | null }> {
    const { project, holder, previous } = await this.setRole(actor, ref, role, {
      find: async (tx) => {
        const group = await tx.group.findFirst({
          where: { ...(typeof groupRef === 'number' ? { id: groupRef } : { nameKey: nameKey(groupRef) }), retiredAt: null },
          select: { id: true, name: true }
        })
        if (group === null) throw new NotFound('group', groupRef)
        return group
      },
      previous: (row, group) => row.groupGrants.find((g) => g.group.id === group.id)?.role ?? null,
      remove: async (tx, projectId, group) => await tx.projectGroupGrant.deleteMany({ where: { projectId, groupId: group.id } }),
      upsert: async (tx, projectId, group, held) => await tx.projectGroupGrant.upsert({
        where: { projectId_groupId: { projectId, groupId: group.id } },
        create: { projectId, groupId: group.id, role: held },
        update: { role: held }
      })
    })
    return { project, group: holder, previous }
  }

  /**
   * One holder's (a member's, a group's) role, under the project's lock and by its
   * owners and managers: none removes it, the same one is left as it is.
   */
  private async setRole<H> (actor: Actor, ref: ProjectRef, role: ProjectRole | null, holders: {
    find: (tx: Client, row: ProjectRow) => Promise<H>
    previous: (row: ProjectRow, holder: H) => ProjectRole | null
    remove: (tx: Client, projectId: number, holder: H) => Promise<unknown>
    upsert: (tx: Client, projectId: number, holder: H, role: ProjectRole) => Promise<unknown>
  }): Promise<{ project: ProjectView, holder: H, previous: ProjectRole | null }> {
    const { projectId, holder, previous } = await this.locked(ref, async (tx) => {
      const row = await this.find(actor, ref, false, 'manager', tx)
      assertRole(role)
      const holder = await holders.find(tx, row)
      const previous = holders.previous(row, holder)
      if (role === null) await holders.remove(tx, row.id, holder)
      else if (role !== previous) await holders.upsert(tx, row.id, holder, role)
      return { projectId: row.id, holder, previous }
    })
    return { project: await this.get(actor, projectId), holder, previous }
  }

  /** Contributors and above mark a service they can see as a favorite; `added` is false when it already was. */
  @writes('favorite')
  async addFavorite (actor: Actor, ref: ProjectRef, serviceFullName: string): Promise<{ project: ProjectView, added: boolean }> {
    const { projectId, added } = await this.locked(ref, async (tx) => {
      const row = await this.find(actor, ref, false, 'contributor', tx)
      const serviceId = await this.serviceId(actor, serviceFullName, 'service', tx)
      const already = row.favorites.some((f) => f.service.id === serviceId)
      if (!already) await tx.favorite.create({ data: { projectId: row.id, serviceId } })
      return { projectId: row.id, added: !already }
    })
    return { project: await this.get(actor, projectId), added }
  }

  /** Unmarks a favorite; `removed` is false when the service was none (see docs/faults.md, "Removing what is not there"). */
  @writes('favorite')
  async removeFavorite (actor: Actor, ref: ProjectRef, serviceFullName: string): Promise<{ project: ProjectView, removed: boolean }> {
    const { projectId, removed } = await this.locked(ref, async (tx) => {
      const row = await this.find(actor, ref, false, 'contributor', tx)
      const favorite = row.favorites.find((f) => serviceView(f.service).fullName === serviceFullName)
      if (favorite !== undefined) {
        await tx.favorite.delete({ where: { projectId_serviceId: { projectId: row.id, serviceId: favorite.service.id } } })
      }
      return { projectId: row.id, removed: favorite !== undefined }
    })
    return { project: await this.get(actor, projectId), removed }
  }

  /**
   * Submits a job (contributors and above): a program the caller may call, that
   * has an interface, with inputs its schema accepts, whose files are data items
   * of the same project. The job is queued; a dispatcher runs it (src/jobs/).
   */
  @writes('job', 'job_event')
  async addJob (actor: Actor, ref: ProjectRef, input: unknown): Promise<JobView> {
    const projectId = await this.idOf(actor, ref, 'contributor')
    const data = validate('job', JobSubmission, input)
    if (fullNameWhere(data.service) === undefined) throw Invalid.field('job', 'service', `"${data.service}" is not a service full name`)
    const service = await this.programs.named(data.service)
    // Who sees and who may call a service, as visibleServices and services.ts's authorizedWhere
    // select them, told from the remembered program and its project's remembered roster.
    const roster = service === null || service.projectId === null ? null : await this.rosters.of(service.projectId)
    const reaches = isAdmin(actor) || service?.projectId === null || (roster !== null && standingIn(roster, actor) !== undefined)
    // One the actor may not see is one that does not exist.
    if (service === null || !(reaches || service.exported)) throw Invalid.field('job', 'service', `no such service ${data.service}`)
    if (service.disabled || !service.server.active || !reaches) {
      throw Invalid.field('job', 'service', `${data.service} is not yours to call: it is disabled, its server is inactive, or it belongs to a project you are not in`)
    }
    if (service.interface === null) throw Invalid.field('job', 'service', `${data.service} has no interface: nothing says how to run it`)
    const { tool, schema } = compiledInterface(service.interface)
    const inputs = validateInputs(schema, data.inputs ?? {})
    await this.assertFilesInProject(projectId, tool, inputs)
    const user = actor.kind === 'user' && actor !== systemActor ? actor : null
    const userId = user?.id ?? null
    const fullName = serviceView(service).fullName
    const executor = await this.routes.route(
      { service: fullName, project: (await this.rosters.of(projectId))?.name ?? '', user: user?.username ?? null, cores: tool.resources.coresMin, ramMiB: tool.resources.ramMin },
      async () => user === null ? [] : await this.groupNamesOf(user.id))
    // One statement: the job and its first event, so that its history is never missing its start.
    const [row] = await this.db.$queryRaw<Array<{ id: number, createdAt: Date }>>`
      WITH created AS (
        INSERT INTO "job" (project_id, service_id, name, submitter_id, inputs, executor, created_at)
        VALUES (${projectId}, ${service.id}, ${data.name ?? ''}, ${userId}, ${JSON.stringify(inputs)}::jsonb, ${executor}, now() AT TIME ZONE 'UTC')
        RETURNING id, created_at),
      noted AS (INSERT INTO "job_event" (job_id, state, at) SELECT id, 'queued', created_at FROM created)
      SELECT id, created_at AS "createdAt" FROM created`
      .catch((error: unknown) => {
        // As every model query's (src/domain/storable.ts): the project or service removed since they were checked.
        if (isForeignKeyViolation(error)) throw removedMeanwhile('job')
        throw error
      })
    // The job as inserted: a dispatcher may have claimed it since, which its next read shows.
    const { id, createdAt } = row!
    return {
      id, projectId, name: data.name ?? '', service: fullName, state: 'queued', reason: null, exitCode: null, message: '',
      createdAt, startedAt: null, finishedAt: null, inputs, history: [{ state: 'queued', at: createdAt }], submitter: userId, outputs: {}
    }
  }

  /** The active groups a user is in, by name: what routes on groups look at. */
  private async groupNamesOf (userId: number): Promise<string[]> {
    const rows = await this.db.groupMember.findMany({ where: { userId, group: { active: true, retiredAt: null } }, select: { group: { select: { name: true } } } })
    return rows.map((row) => row.group.name)
  }

  /** A job as it is now, read from the database (not remembered): what a write answers. */
  private async jobNamed (jobId: number): Promise<JobView> {
    const job = await this.db.job.findUnique({ where: { id: jobId }, select: jobSelect })
    if (job === null) throw new NotFound('job', jobId)
    return jobView(job)
  }

  /**
   * Refuses a File input that names no data item of the project, or an item whose
   * format is not one the input takes; each named. An item without a format is
   * taken on trust (most uploads name none), as a program reading its file would.
   */
  private async assertFilesInProject (projectId: number, tool: Tool, inputs: JobInputs): Promise<void> {
    const named = new Map<number, { field: string, formats: string[] | undefined }>()
    for (const input of tool.inputs) {
      for (const file of filesOf(input.type, inputs[input.id])) named.set(Number(file.data), { field: `inputs/${input.id}`, formats: input.format })
    }
    if (named.size === 0) return
    const found = await this.db.dataItem.findMany({ where: { projectId, id: { in: [...named.keys()] } }, select: { id: true, format: true } })
    const formats = new Map(found.map((item) => [item.id, item.format]))
    const problems = [...named].flatMap(([id, { field, formats: expected }]) => {
      if (!formats.has(id)) return [{ field, message: `no data item ${id} in this project` }]
      const format = formats.get(id)
      if (format === null || format === undefined || expected === undefined || expected.includes(format)) return []
      return [{ field, message: `data item ${id} is in format ${format}; this input takes ${expected.join(' or ')}` }]
    })
    if (problems.length > 0) throw new Invalid('job', problems)
  }

  /** Jobs of a project the actor can see, or of every live project it can see, matching the filter. */
  @reads(...jobTables)
  async listJobs (actor: Actor, filter: ReferenceFilter = {}): Promise<JobView[]> {
    const where = await this.jobsWhere(actor, filter)
    return (await this.db.job.findMany({ where, select: jobSelect, orderBy: { id: 'asc' } })).map(jobView)
  }

  /** The ids of the jobs the actor can see that match, in `order` then by id. */
  @reads(...jobTables)
  async searchJobs (actor: Actor, filter: ReferenceFilter = {}, order: Array<Order<JobSortField>> = []): Promise<number[]> {
    const where = await this.jobsWhere(actor, filter)
    const rows = await this.db.job.findMany({ where, select: { id: true }, orderBy: { id: 'asc' } })
    const ids = rows.map((row) => row.id)
    // A job's service the actor cannot see shows as none (see the faces), and sorts so.
    const seen = order.some((o) => o.field === 'serviceId')
      ? (await this.db.service.findMany({ where: { AND: [visibleServices(actor), { jobs: { some: where } }] }, select: { id: true } }))
          .map((row) => row.id)
      : []
    return await orderedIds(this.db, 'job', ids, order, (field) => field === 'serviceId'
      ? { sql: Prisma.sql`CASE WHEN t.service_id = ANY(${seen}::int[]) THEN t.service_id END` }
      : jobSortKeys[field])
  }

  /** One job the actor can see, within `project` when given. */
  @reads(...jobTables)
  async getJob (actor: Actor, jobId: number, project?: ProjectRef): Promise<JobView> {
    const [job] = await this.listJobs(actor, { project, ids: [jobId] })
    if (job === undefined) throw new NotFound('job', jobId)
    return job
  }

  /**
   * Cancels a job of the project (contributors and above): a queued one ends
   * `cancelled` at once; a running one is asked to stop, and its dispatcher ends
   * it `cancelled` within seconds, its processes gone. One that has ended is a
   * conflict. Answers the job, and which of the two happened.
   */
  @writes('job', 'job_event')
  async cancelJob (actor: Actor, ref: ProjectRef, jobId: number): Promise<{ job: JobView, outcome: 'cancelled' | 'asked' }> {
    const projectId = await this.idOf(actor, ref, 'contributor')
    const { outcome, state } = await cancelJob(this.db, jobId, projectId)
    if (outcome === 'absent') throw new NotFound('job', jobId)
    if (outcome === 'final') throw new Conflict(`job ${jobId} has ended (${state}): there is nothing to cancel`, 'job')
    return { job: await this.jobNamed(jobId), outcome }
  }

  /**
   * Removes a job that has ended (contributors and above), with its history; the
   * data items its outputs became stay. One still queued or running is a conflict:
   * cancel it first.
   */
  @writes('job', 'job_event', 'data_item')
  async removeJob (actor: Actor, ref: ProjectRef, jobId: number): Promise<void> {
    const projectId = await this.idOf(actor, ref, 'contributor')
    const { count } = await this.db.job.deleteMany({ where: { id: jobId, projectId, state: { in: [...finalStates] } } })
    if (count > 0) return
    const job = await this.db.job.findFirst({ where: { id: jobId, projectId }, select: { state: true } })
    if (job === null) throw new NotFound('job', jobId)
    throw new Conflict(`job ${jobId} has not ended (${job.state}): cancel it first`, 'job')
  }

  /**
   * How many bytes the actor may give a new item of the project now: the largest
   * an item may hold, or what is left of the project's quota if that is less
   * (contributors and above). `quota` says which of the two it is.
   */
  @uncached
  async dataAllowance (actor: Actor, ref: ProjectRef): Promise<{ projectId: number, maxBytes: number, quota: boolean }> {
    const projectId = await this.idOf(actor, ref, 'contributor')
    const left = this.storage.quotaBytes - await this.dataBytes(projectId)
    return { projectId, maxBytes: Math.max(0, Math.min(this.storage.maxBytes, left)), quota: left < this.storage.maxBytes }
  }

  /**
   * Writes content for a new item of the project to the blob store while hashing
   * it (contributors and above), refused as soon as it passes the allowance;
   * `addData` makes the item, or the caller discards it (`discardData`).
   */
  @uncached
  async stageData (actor: Actor, ref: ProjectRef, source: Readable): Promise<StagedBlob> {
    const allowance = await this.dataAllowance(actor, ref)
    try {
      return await this.storage.store.stage(source, { maxBytes: allowance.maxBytes })
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ENOSPC' || code === 'EDQUOT') {
        throw new InsufficientStorage('the content store has no room left: nothing of this content was kept; try again once an administrator has freed space')
      }
      if (!(error instanceof BlobTooLarge)) throw error
      throw allowance.quota
        ? new QuotaExceeded(ref, this.storage.quotaBytes, await this.dataBytes(allowance.projectId))
        : new TooLarge(this.storage.maxBytes)
    }
  }

  /** Forgets staged content that will make no item. */
  @uncached
  async discardData (staged: StagedBlob): Promise<void> {
    await this.storage.store.discard(staged)
  }

  /**
   * Records a data item in the project (contributors and above) holding `content`
   * (staged by `stageData`), or no content at all: an empty item. The item is
   * created only once its blob is in place (src/domain/blobs.ts); staged content
   * that makes no item is discarded.
   */
  @writes('data_item', 'blob')
  async addData (actor: Actor, ref: ProjectRef, input: unknown, content?: DataContent): Promise<DataView> {
    let staged = content?.blob
    try {
      await this.idOf(actor, ref, 'contributor')
      const data = validate('data', DataCreate, input)
      const mediaType = content === undefined ? 'application/octet-stream' : mediaTypeOf(content.mediaType)
      staged ??= await this.storage.store.stage(Readable.from([]), { maxBytes: 0 })
      const blob = staged
      return await this.locked(ref, async (tx) => {
        // Again under the project's lock: uploads to one project take turns here, each counting the others' bytes.
        const projectId = await this.idOf(actor, ref, 'contributor', tx)
        if (blob.size > this.storage.maxBytes) throw new TooLarge(this.storage.maxBytes)
        const used = await this.dataBytes(projectId, tx)
        if (blob.size > 0 && used + blob.size > this.storage.quotaBytes) throw new QuotaExceeded(ref, this.storage.quotaBytes, used)
        await holdBlob(tx, this.storage.store, blob)
        return dataView(await tx.dataItem.create({
          data: {
            projectId,
            name: data.name,
            description: data.description,
            format: edamIri(data.format),
            blobSha256: blob.sha256,
            size: BigInt(blob.size),
            mediaType,
            // The server itself (the command line, the bootstrap) is no user of the database.
            uploaderId: actor.kind === 'user' && actor !== systemActor ? actor.id : null
          }
        }))
      })
    } finally {
      if (staged !== undefined) await this.storage.store.discard(staged)
    }
  }

  /**
   * Makes a data item of the project (contributors and above) from a finished
   * upload of the actor's (src/domain/uploads.ts), given by its id or URL, then
   * releases the upload. Its name defaults to the upload's `filename` metadata,
   * its media type is its `filetype`. The project, the role and the fields are
   * checked before the upload is touched; a refusal after (a quota, a full disk)
   * puts the upload back for another try.
   */
  @writes('data_item', 'blob')
  async addDataFromUpload (actor: Actor, ref: ProjectRef, input: unknown): Promise<DataView> {
    await this.idOf(actor, ref, 'contributor')
    const { upload: given, ...fields } = validate('data', DataFromUpload, input)
    const id = uploadIdIn(given)
    const upload = await ownUpload(this.storage.uploads, actor, id)
    // Expired: gone as far as anyone can tell, though the sweep has not come by yet.
    if (upload.expired) hide('upload', id)
    if (upload.length === undefined || upload.offset < upload.length) {
      throw new Conflict(`upload ${id} is not finished: ${upload.offset} of ${upload.length ?? 'a length not yet declared of'} bytes ` +
        'have arrived; send the rest (PATCH /uploads/<id>), then make it an item')
    }
    const filename = upload.metadata.filename ?? ''
    if (fields.name === undefined && filename === '') {
      throw Invalid.field('data', 'name', 'is required: the upload has no filename metadata to take it from')
    }
    const data = validate('data', DataCreate, { ...fields, name: fields.name ?? filename })
    const filetype = upload.metadata.filetype ?? ''
    const mediaType = mediaTypeOf(filetype === '' ? 'application/octet-stream' : filetype)
    // Claimed before it is read: of two requests making an item of the same upload at once (in any
    // processes sharing the directory), only one can rename it, and the other meets no upload at all,
    // so one upload never makes two items. What was checked above still holds: a finished upload no longer changes.
    const claimed = await this.storage.uploads.claim(id)
    if (claimed === undefined) hide('upload', id)
    let item: DataView
    try {
      const blob = await this.stageData(actor, ref, claimed.read())
      item = await this.addData(actor, ref, data, { blob, mediaType })
    } catch (error) {
      await claimed.restore()
      throw error
    }
    await claimed.release()
    return item
  }

  /** Data references of a project the actor can see, or of every live project it can see. */
  @reads('data_item', ...standingTables)
  async listData (actor: Actor, filter: ReferenceFilter = {}): Promise<DataView[]> {
    const where = await this.referencesWhere(actor, filter)
    return (await this.db.dataItem.findMany({ where, orderBy: { id: 'asc' } })).map(dataView)
  }

  /** The ids of the data references the actor can see that match, in `order` then by id. */
  @reads('data_item', ...standingTables)
  async searchData (actor: Actor, filter: ReferenceFilter = {}, order: Array<Order<DataSortField>> = []): Promise<number[]> {
    const where = await this.referencesWhere(actor, filter)
    const rows = await this.db.dataItem.findMany({
      where: {
        AND: [
          where,
          ...textWhere(filter.description, (description) => ({ description })),
          ...textWhere(filter.sha256, (blobSha256) => ({ blobSha256 })),
          ...textWhere(filter.mediaType, (mediaType) => ({ mediaType })),
          ...textWhere(filter.format, (format) => ({ format }))
        ],
        size: filter.size === undefined ? undefined : { in: filter.size.filter(Number.isSafeInteger).map(BigInt) },
        uploaderId: idsWhere(filter.uploader)
      },
      select: { id: true },
      orderBy: { id: 'asc' }
    })
    return await orderedIds(this.db, 'data_item', rows.map((row) => row.id), order, (field) => dataSortKeys[field])
  }

  /** One data reference the actor can see, within `project` when given. */
  @reads('data_item', ...standingTables)
  async getData (actor: Actor, dataId: number, project?: ProjectRef): Promise<DataView> {
    const [item] = await this.listData(actor, { project, ids: [dataId] })
    if (item === undefined) throw new NotFound('data', dataId)
    return item
  }

  /** A data item the actor can see, and where its content is: members read content. */
  @reads('data_item', ...standingTables)
  async dataContent (actor: Actor, dataId: number, project: ProjectRef): Promise<{ item: DataView, location: BlobLocation }> {
    const item = await this.getData(actor, dataId, project)
    return { item, location: this.storage.store.locate(item.sha256) }
  }

  /** The jobs a filter names among those the actor can see; a service out of sight names none. */
  private async jobsWhere (actor: Actor, filter: ReferenceFilter): Promise<Prisma.JobWhereInput> {
    return {
      AND: [await this.referencesWhere(actor, filter), ...(filter.state === undefined ? [] : [{ state: enumMatch(jobStates, filter.state) }])],
      service: filter.serviceId === undefined ? undefined : { AND: [{ id: idsWhere(filter.serviceId) }, visibleServices(actor)] }
    }
  }

  /** A named project is checked first, so that one out of sight answers as one that does not exist. */
  private async referencesWhere (actor: Actor, filter: ReferenceFilter): Promise<Prisma.JobWhereInput & Prisma.DataItemWhereInput> {
    assertNotRefused(actor)
    const scope = filter.project === undefined
      ? { project: { AND: [visibleProjects(actor), { retiredAt: null }] } }
      : { projectId: await this.idOf(actor, filter.project) }
    return {
      AND: [
        scope,
        ...(filter.projectId === undefined ? [] : [{ projectId: idsWhere(filter.projectId) }]),
        ...columnsWhere<ReferenceFilter, Prisma.JobWhereInput & Prisma.DataItemWhereInput>(filter, ['name'], ['createdAt'])
      ],
      id: idsWhere(filter.ids)
    }
  }

  /** Removes a data item (contributors and above); its content goes with it unless another item holds the same. */
  @writes('data_item', 'blob')
  async removeData (actor: Actor, ref: ProjectRef, dataId: number): Promise<void> {
    const projectId = await this.idOf(actor, ref, 'contributor')
    const item = await this.db.dataItem.findFirst({ where: { id: dataId, projectId }, select: { blobSha256: true } })
    const { count } = await this.db.dataItem.deleteMany({ where: { id: dataId, projectId } })
    if (item === null || count === 0) throw new NotFound('data', dataId)
    await this.reclaimContent([item.blobSha256])
  }

  /** The bytes the project's items hold together. */
  private async dataBytes (projectId: number, db: Client = this.db): Promise<number> {
    const { _sum: sum } = await db.dataItem.aggregate({ where: { projectId }, _sum: { size: true } })
    return Number(sum.size ?? 0n)
  }

  /**
   * Removes the blobs of items just deleted that no other item holds. Their
   * deletion stands whatever happens here: a blob left behind goes at the next sweep.
   */
  private async reclaimContent (sha256s: string[]): Promise<void> {
    for (const sha256 of new Set(sha256s)) {
      try {
        await reclaim(this.db, this.storage.store, sha256)
      } catch (error) {
        this.storage.onReclaimError(error)
      }
    }
  }

  private async assertNameFree (name: string, db: Client = this.db): Promise<void> {
    await assertKeyFree(resource, 'name', name, db.project.findUnique({ where: { name }, select: { id: true } }))
  }

  private async userId (ref: string | number, field: string, db: Client = this.db): Promise<number> {
    const user = await liveUser(db, ref)
    if (user === null) throw Invalid.field(resource, field, `no such user ${ref}`)
    return user.id
  }

  private async serviceId (actor: Actor, fullName: string, field: string, db: Client = this.db): Promise<number> {
    const named = fullNameWhere(fullName)
    if (named === undefined) throw Invalid.field(resource, field, `"${fullName}" is not a service full name`)
    const service = await db.service.findFirst({ where: { AND: [named, visibleServices(actor)], retiredAt: null }, select: { id: true } })
    if (service === null) throw Invalid.field(resource, field, `no such service ${fullName}`)
    return service.id
  }
}

const roles: readonly ProjectRole[] = ['manager', 'contributor', 'watcher']

function assertRole (role: ProjectRole | null): void {
  if (role !== null && !roles.includes(role)) {
    throw Invalid.field(resource, 'role', `must be one of ${roles.join(', ')}`)
  }
}

function projectWhere (filter: ProjectFilter): Prisma.ProjectWhereInput {
  const some = <W>(ids: number[] | undefined, where: (ids: { in: number[] }) => W): W[] => {
    const wanted = idsWhere(ids)
    return wanted === undefined ? [] : [where(wanted)]
  }
  const role = (ids: number[] | undefined, role: ProjectRole): Prisma.ProjectWhereInput[] =>
    some(ids, (userId) => ({ members: { some: { userId, role } } }))
  return {
    AND: [
      ...columnsWhere<ProjectFilter, Prisma.ProjectWhereInput>(filter, ['name', 'description'], ['createdAt', 'updatedAt']),
      ...(filter.member === undefined ? [] : [{ OR: [{ ownerId: filter.member }, { members: { some: { userId: filter.member } } }] }]),
      ...role(filter.managers, 'manager'),
      ...role(filter.contributors, 'contributor'),
      ...role(filter.watchers, 'watcher'),
      ...some(filter.groups, (groupId) => ({ groupGrants: { some: { groupId } } })),
      ...some(filter.services, (id) => ({ services: { some: { id, retiredAt: null } } })),
      ...some(filter.favorites, (serviceId) => ({ favorites: { some: { serviceId } } })),
      ...some(filter.jobs, (id) => ({ jobs: { some: { id } } })),
      ...some(filter.data, (id) => ({ data: { some: { id } } }))
    ],
    id: idsWhere(filter.ids),
    ownerId: filter.owner === undefined ? undefined : Array.isArray(filter.owner) ? { in: filter.owner } : filter.owner,
    retiredAt: filter.includeRetired === true ? undefined : null
  }
}

function refWhere (ref: ProjectRef): Prisma.ProjectWhereUniqueInput {
  return typeof ref === 'number' ? { id: ref } : { name: ref }
}
