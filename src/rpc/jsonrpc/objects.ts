/**
 * The objects JSON-RPC methods return, in RhodeCode's shapes where RhodeCode has
 * one (users, users groups, repositories) and in the REST shapes for this domain's
 * own resources (servers, services). Each schema is published in the OpenRPC
 * document; each render function turns a domain view into it.
 */
import Type, { type Static } from 'typebox'
import { ServerDocument, serverDocument } from '../../domain/documents.ts'
import type { GroupView } from '../../domain/groups.ts'
import type { DataView, JobView, ProjectView, StandingView } from '../../domain/projects.ts'
import type { ProjectStanding } from '../../domain/permissions.ts'
import type { ProjectRole } from '../../domain/schemas.ts'
import type { ServerView } from '../../domain/servers.ts'
import type { UserView } from '../../domain/users.ts'
import { representation } from '../../domain/read-model.ts'

const Id = Type.Integer({ minimum: 1 })
const Timestamp = Type.String({ format: 'date-time' })
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()])

/** RhodeCode's repository permissions, from the weakest; `repository.none` means no role. */
export const RepositoryPermission = Type.Enum(['repository.none', 'repository.read', 'repository.write', 'repository.admin'])
export type RepositoryPermission = Static<typeof RepositoryPermission>

const permissionOfRole: Record<ProjectStanding, RepositoryPermission> = {
  watcher: 'repository.read',
  contributor: 'repository.write',
  manager: 'repository.admin',
  owner: 'repository.admin'
}
const roleOfPermission: Record<RepositoryPermission, ProjectRole | null> = {
  'repository.none': null,
  'repository.read': 'watcher',
  'repository.write': 'contributor',
  'repository.admin': 'manager'
}
export function roleFor (permission: RepositoryPermission): ProjectRole | null {
  return roleOfPermission[permission]
}

export const UserObject = Type.Object({
  id: Id,
  user_id: Id,
  username: Type.String(),
  firstname: Type.String(),
  lastname: Type.String(),
  email: Nullable(Type.String()),
  /** RhodeCode's additional addresses; this server keeps one per user. */
  emails: Type.Array(Type.String()),
  active: Type.Boolean(),
  admin: Type.Boolean(),
  ldap_dn: Nullable(Type.String()),
  /** RhodeCode 1.2's name for `ldap_dn`. */
  ldap: Nullable(Type.String()),
  last_login: Nullable(Timestamp),
  status: Type.Enum(['active', 'suspended', 'pending']),
  status_message: Nullable(Type.String()),
  groups: Type.Array(Type.String()),
  permissions: Type.Optional(Type.Object({
    global: Type.Array(Type.String()),
    repositories: Type.Record(Type.String(), RepositoryPermission),
    repositories_groups: Type.Record(Type.String(), Type.String())
  }))
})
export type UserObject = Static<typeof UserObject>

export function renderUser (user: UserView): UserObject {
  return {
    id: user.id,
    user_id: user.id,
    username: user.username,
    firstname: user.firstname,
    lastname: user.lastname,
    email: user.email,
    emails: user.email === null ? [] : [user.email],
    active: user.status === 'active',
    admin: user.is_admin,
    ldap_dn: user.ldap_dn,
    ldap: user.ldap_dn,
    last_login: user.lastLoginAt?.toISOString() ?? null,
    status: user.status,
    status_message: user.status_message,
    groups: user.groups
  }
}

/** The JSON text of each result rendered once. */
const texts = new WeakMap<object, string>()

/**
 * What `render` makes of two remembered domain answers, kept with them by the read
 * model (src/domain/read-model.ts) while they stay remembered, with its JSON text:
 * neither rendered nor serialized again while nothing changes.
 */
export function renderedOnce<T extends object> (first: object, second: object, render: () => T): T {
  return representation(first, second, () => {
    // Shared by every call that asks the same while nothing changes: never to be changed.
    const result = Object.freeze(render())
    texts.set(result, JSON.stringify(result))
    return result
  })
}

/**
 * An answer (or a batch of them) as JSON text, exactly as JSON.stringify writes it,
 * but with the text of a result rendered once instead of serializing it again.
 */
export function answerText (answer: unknown): string {
  if (Array.isArray(answer)) return `[${answer.map(answerText).join(',')}]`
  if (answer === null || typeof answer !== 'object') return JSON.stringify(answer)
  const members = Object.entries(answer).filter(([, member]) => member !== undefined)
  return `{${members.map(([name, member]) => `${JSON.stringify(name)}:${textOf(member)}`).join(',')}}`
}

function textOf (value: unknown): string {
  return (value !== null && typeof value === 'object' ? texts.get(value) : undefined) ?? JSON.stringify(value)
}

/** RhodeCode's `permissions`: the user's standing in each project it reaches, as the domain tells it. */
export function renderPermissions (user: UserView, standings: StandingView[]): NonNullable<UserObject['permissions']> {
  const repositories = representation(standings, permissionOfRole, () =>
    Object.freeze(Object.fromEntries(standings.map((s) => [s.projectName, permissionOfRole[s.standing]]))))
  return { global: user.is_admin ? ['hg.admin'] : ['hg.create.repository'], repositories, repositories_groups: {} }
}

const MemberUser = Type.Object({ id: Id, user_id: Id, username: Type.String() })

export const UsersGroupObject = Type.Object({
  id: Id,
  users_group_id: Id,
  group_name: Type.String(),
  /** RhodeCode 1.2's name for `group_name`. */
  name: Type.String(),
  active: Type.Boolean(),
  description: Type.String(),
  members: Type.Array(MemberUser)
})
export type UsersGroupObject = Static<typeof UsersGroupObject>

export function renderUsersGroup (group: GroupView): UsersGroupObject {
  return {
    id: group.id,
    users_group_id: group.id,
    group_name: group.name,
    name: group.name,
    active: group.active,
    description: group.description,
    members: group.members.map((m) => ({ id: m.id, user_id: m.id, username: m.username }))
  }
}

const RepoMember = Type.Union([
  Type.Object({ type: Type.Literal('user'), id: Id, user_id: Id, username: Type.String(), permission: RepositoryPermission }),
  // `name`: RhodeCode 1.2's name for `group_name`.
  Type.Object({ type: Type.Literal('users_group'), id: Id, users_group_id: Id, group_name: Type.String(), name: Type.String(), permission: RepositoryPermission })
])

export const RepoObject = Type.Object({
  id: Id,
  repo_id: Id,
  repo_name: Type.String(),
  /** RhodeCode 1.2's name for `repo_name`. */
  name: Type.String(),
  /** Projects are no version-control repositories: always `mobyle`. */
  repo_type: Type.Literal('mobyle'),
  /** RhodeCode 1.2's name for `repo_type`. */
  type: Type.Literal('mobyle'),
  description: Type.String(),
  /** Always null: projects are not cloned. */
  clone_uri: Type.Null(),
  /** Always true: a project is visible to its members and administrators only. */
  private: Type.Literal(true),
  created_on: Timestamp,
  /** Always null: projects have no revisions. */
  landing_rev: Type.Null(),
  /** Always null: projects are not forked. */
  fork_of: Type.Null(),
  /** The owner's username. */
  owner: Type.String(),
  members: Type.Optional(Type.Array(RepoMember))
})
export type RepoObject = Static<typeof RepoObject>

/** A project as a RhodeCode repository; `members` (owner first) only when asked, as get_repo does. */
export function renderRepo (project: ProjectView, withMembers = false): RepoObject {
  const repo: RepoObject = {
    id: project.id,
    repo_id: project.id,
    repo_name: project.name,
    name: project.name,
    repo_type: 'mobyle',
    type: 'mobyle',
    description: project.description,
    clone_uri: null,
    private: true,
    created_on: project.createdAt.toISOString(),
    landing_rev: null,
    fork_of: null,
    owner: project.ownerUsername
  }
  if (withMembers) {
    repo.members = [
      { type: 'user', id: project.owner, user_id: project.owner, username: project.ownerUsername, permission: permissionOfRole.owner },
      ...project.members.map((m) => ({ type: 'user' as const, id: m.id, user_id: m.id, username: m.username, permission: permissionOfRole[m.role] })),
      ...project.groups.map((g) => ({ type: 'users_group' as const, id: g.id, users_group_id: g.id, group_name: g.name, name: g.name, permission: permissionOfRole[g.role] }))
    ]
  }
  return repo
}

/** A project's data item: its metadata, in RhodeCode's style. Its content is REST's (GET /projects/{id}/data/{dataId}/content). */
export const DataObject = Type.Object({
  id: Id,
  data_id: Id,
  repo_id: Id,
  name: Type.String(),
  description: Type.String(),
  /** The content's size in bytes. */
  size: Type.Integer({ minimum: 0 }),
  /** The content's SHA-256, in hex. */
  sha256: Type.String(),
  media_type: Type.String(),
  /** The content's EDAM format IRI, or null. */
  format: Nullable(Type.String()),
  /** Who uploaded it; null once that user is deleted. */
  uploader_id: Nullable(Id),
  /** The job whose output it is; null for an upload (or once that job is deleted). */
  job_id: Nullable(Id),
  created_on: Timestamp
})
export type DataObject = Static<typeof DataObject>

export function renderData (data: DataView): DataObject {
  return {
    id: data.id,
    data_id: data.id,
    repo_id: data.projectId,
    name: data.name,
    description: data.description,
    size: data.size,
    sha256: data.sha256,
    media_type: data.mediaType,
    format: data.format,
    uploader_id: data.uploader,
    job_id: data.job,
    created_on: data.createdAt.toISOString()
  }
}

/** The states of a job and why one ends in error (docs/jobs.md). */
const JobState = Type.Enum(['queued', 'running', 'ok', 'error', 'cancelled'])
const JobReason = Type.Enum(['exit', 'timeout', 'output-limit', 'lost', 'system'])

/** A project's job, in the style of DataObject: the REST representation's members, with RhodeCode's id and date names. */
export const JobObject = Type.Object({
  id: Id,
  job_id: Id,
  repo_id: Id,
  name: Type.String(),
  /** The service's full name; null once it is deleted. */
  service: Nullable(Type.String()),
  state: JobState,
  /** Why it ended in error; null otherwise. */
  reason: Nullable(JobReason),
  exit_code: Nullable(Type.Integer()),
  message: Type.String(),
  created_on: Timestamp,
  started_on: Nullable(Timestamp),
  finished_on: Nullable(Timestamp),
  inputs: Type.Record(Type.String(), Type.Unknown()),
  /** Every transition, oldest first; reason only on error. */
  history: Type.Array(Type.Object({ state: JobState, reason: Type.Optional(JobReason), at: Timestamp })),
  /** Who submitted it; null once that user is deleted. */
  submitter_id: Nullable(Id),
  /** Once it ended ok: each output of its interface → the ids of the data items it became. */
  outputs: Type.Record(Type.String(), Type.Array(Id))
})
export type JobObject = Static<typeof JobObject>

export function renderJob (job: JobView): JobObject {
  return {
    id: job.id,
    job_id: job.id,
    repo_id: job.projectId,
    name: job.name,
    service: job.service,
    state: job.state,
    reason: job.reason,
    exit_code: job.exitCode,
    message: job.message,
    created_on: job.createdAt.toISOString(),
    started_on: job.startedAt?.toISOString() ?? null,
    finished_on: job.finishedAt?.toISOString() ?? null,
    inputs: job.inputs,
    history: job.history.map((event) => event.reason === undefined
      ? { state: event.state, at: event.at.toISOString() }
      : { state: event.state, reason: event.reason, at: event.at.toISOString() }),
    submitter_id: job.submitter,
    outputs: job.outputs
  }
}

export const RepoNode = Type.Object({
  /** The node's path in the project: `services`, `services/<full name>`, `jobs/<id>`, `data/<id>`. */
  name: Type.String(),
  type: Type.Enum(['dir', 'file'])
})
export type RepoNode = Static<typeof RepoNode>

/** The project's services, jobs and data as a tree of three directories. */
export function projectNodes (project: ProjectView): RepoNode[] {
  const directory = (name: string, children: string[]): RepoNode[] =>
    [{ name, type: 'dir' }, ...children.map((child): RepoNode => ({ name: `${name}/${child}`, type: 'file' }))]
  return [
    ...directory('services', project.services.map((s) => s.fullName)),
    ...directory('jobs', project.jobs.map((j) => String(j.id))),
    ...directory('data', project.data.map((d) => String(d.id)))
  ]
}

/** A server in the spec's shape, with its name (the key REST lists it under). */
export const ServerObject = Type.Object({ name: Type.String(), ...ServerDocument.properties })
export type ServerObject = Static<typeof ServerObject>

export function renderServer (server: ServerView): ServerObject {
  return { name: server.name, ...serverDocument(server) }
}

/** RhodeCode's answer to a membership or permission change: whether it changed anything, and what. */
export const SuccessMessage = Type.Object({ msg: Type.String(), success: Type.Boolean() })
