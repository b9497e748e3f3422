/**
 * The benchmark's dataset, written straight into the tables: the domain creates
 * one row at a time and hashes every password (scrypt, ~50 ms), which would take
 * minutes. Every user shares one precomputed password hash, and API keys are
 * stored as the domain stores them (digest and hint of the secret), so the server
 * accepts them. A seeded pseudo-random generator makes every run build the same world.
 */
import type { Database } from '../src/db/client.ts'
import type { Prisma } from '../src/generated/prisma/client.ts'
import { apiKeyDigest, apiKeyHint, generateApiKey, hashPassword } from '../src/domain/secrets.ts'
import type { ProjectRole, ServiceType } from '../src/domain/schemas.ts'

export interface DatasetSize {
  servers: number
  services: number
  users: number
  groups: number
  projects: number
  /** API keys of ordinary users, besides the bench users' own. */
  apiKeys: number
}

export const defaultSize: DatasetSize = { servers: 50, services: 10_000, users: 5_000, groups: 200, projects: 2_000, apiKeys: 1_000 }

/** Someone the scenarios act as. */
interface BenchUser { id: number, username: string, password: string, apiKey: string }

/** What the scenarios need to know about the seeded world. */
export interface World {
  /** An administrator, with an API key. */
  admin: BenchUser
  /** A plain user, direct member of some projects and member of groups granted others. */
  member: BenchUser
  /** A project the member is a direct contributor of. */
  memberProject: number
  serverNames: string[]
  /** Full names (`service::server`) of server-level services, for updates. */
  serverServices: string[]
  /** Projects with their owners, for member changes (an owner cannot become a member). */
  projects: Array<{ id: number, ownerId: number }>
  /** Ordinary users (not the bench users), for member changes. */
  userIds: number[]
  /** Active ordinary users with a live API key each: many callers, each asking for its own record. */
  keyHolders: Array<{ id: number, apiKey: string }>
  /** A server-level program with an interface (it runs `true`): what the job writes submit. */
  runnableService: string
}

const benchPassword = 'bench password'

/** The interface the job writes' program carries: it runs `true` (the scenarios' server runs no jobs: JOB_CONCURRENCY=0; the jobs bench's does). */
export const trueTool = { cwlVersion: 'v1.2', class: 'CommandLineTool', baseCommand: 'true', inputs: {}, outputs: {} }
const chunkSize = 5_000
const roles: ProjectRole[] = ['manager', 'contributor', 'watcher']
const tools = ['blast', 'clustalw', 'muscle', 'mafft', 'hmmer', 'emboss-needle', 'emboss-water', 'phyml', 'raxml', 'bowtie', 'bwa', 'samtools', 'fastqc', 'trimmomatic', 'spades', 'prokka']

/** mulberry32: small, fast, and the same sequence on every run. */
function generator (seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const pad = (n: number, width = 5): string => String(n).padStart(width, '0')

/** The tables seeded, with the rows Prisma's createMany would take. */
interface Rows {
  server: Prisma.ServerCreateManyInput
  service: Prisma.ServiceCreateManyInput
  user: Prisma.UserCreateManyInput
  group: Prisma.GroupCreateManyInput
  group_member: Prisma.GroupMemberCreateManyInput
  project: Prisma.ProjectCreateManyInput
  project_member: Prisma.ProjectMemberCreateManyInput
  project_group_grant: Prisma.ProjectGroupGrantCreateManyInput
  api_key: Prisma.ApiKeyCreateManyInput
}

/**
 * Inserts rows typed as createMany takes them, but as one JSON parameter per
 * chunk that PostgreSQL unpacks with the table's own row type: ten times faster
 * than createMany on the embedded database (100,000 services in 4 s, not 35).
 * Relies on the schema mapping every field to its snake_case column.
 */
async function insert<T extends keyof Rows> (db: Database, table: T, rows: Array<Rows[T]>): Promise<void> {
  const columnOf = (field: string): string => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)
  const records = rows.map((row) => Object.fromEntries(Object.entries(row).map(([field, value]) => [columnOf(field), value])))
  const columns = Object.keys(records[0] ?? {}).map((column) => `"${column}"`).join(', ')
  for (let start = 0; start < records.length; start += chunkSize) {
    await db.prisma.$executeRawUnsafe(
      `INSERT INTO "${table}" (${columns}) SELECT ${columns} FROM jsonb_populate_recordset(NULL::"${table}", $1::jsonb)`,
      JSON.stringify(records.slice(start, start + chunkSize)))
  }
}

/** Fills an empty, migrated database and returns what the scenarios need. */
export async function seed (db: Database, size: DatasetSize): Promise<World> {
  const prisma = db.prisma
  const random = generator(12)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!
  const chance = (p: number): boolean => random() < p
  const passwordHash = await hashPassword(benchPassword)
  // Columns without a database default (Prisma fills @updatedAt itself).
  const updatedAt = new Date()

  await insert(db, 'server', Array.from({ length: size.servers }, (_, i) => ({
    name: `server${pad(i + 1, 2)}`,
    url: `https://mobyle${i + 1}.example.org/`,
    active: i % 10 !== 9,
    description: `Mobyle server number ${i + 1}`,
    updatedAt
  })))
  const servers = await prisma.server.findMany({ select: { id: true, name: true }, orderBy: { id: 'asc' } })

  // The bench users first, then ordinary users: a few administrators, some suspended or pending.
  const user = (username: string, isAdmin: boolean, status: 'active' | 'suspended' | 'pending', first: string, last: string) =>
    ({ username, email: `${username}@example.org`, firstname: first, lastname: last, isAdmin, status, passwordHash, updatedAt })
  await insert(db, 'user', [
    user('bench-admin', true, 'active', 'Bench', 'Admin'),
    user('bench-member', false, 'active', 'Bench', 'Member'),
    ...Array.from({ length: size.users - 2 }, (_, i) => user(`user${pad(i + 1)}`, i % 1000 === 0,
      i % 50 === 7 ? 'suspended' : i % 100 === 13 ? 'pending' : 'active', `First${i + 1}`, `Last${i + 1}`))
  ])
  const users = await prisma.user.findMany({ select: { id: true, username: true }, orderBy: { id: 'asc' } })
  const adminId = users.find((u) => u.username === 'bench-admin')!.id
  const memberId = users.find((u) => u.username === 'bench-member')!.id
  const ordinary = users.filter((u) => u.id !== adminId && u.id !== memberId).map((u) => u.id)

  await insert(db, 'group', Array.from({ length: size.groups }, (_, i) => ({
    name: `group${pad(i + 1, 3)}`, active: i % 10 !== 3, description: `Lab ${i + 1}`, updatedAt
  })))
  const groups = (await prisma.group.findMany({ select: { id: true }, orderBy: { id: 'asc' } })).map((g) => g.id)
  const groupMembers: Array<{ groupId: number, userId: number }> = []
  const memberGroups: number[] = []
  for (const [index, groupId] of groups.entries()) {
    // Two groups in five are empty; the others hold 5 to 40 people, the member in the first three.
    if (index % 5 < 2) continue
    const holders = new Set<number>()
    if (memberGroups.length < 3) {
      holders.add(memberId)
      memberGroups.push(groupId)
    }
    const count = 5 + Math.floor(random() * 36)
    while (holders.size < count) holders.add(pick(ordinary))
    for (const holder of holders) groupMembers.push({ groupId, userId: holder })
  }
  await insert(db, 'group_member', groupMembers)

  await insert(db, 'project', Array.from({ length: size.projects }, (_, i) => ({
    name: `project${pad(i + 1, 4)}`, description: `Analyses of study ${i + 1}`, ownerId: pick(ordinary), updatedAt
  })))
  const projects = await prisma.project.findMany({ select: { id: true, ownerId: true }, orderBy: { id: 'asc' } })
  const projectMembers: Array<{ projectId: number, userId: number, role: ProjectRole }> = []
  const grants: Array<{ projectId: number, groupId: number, role: ProjectRole }> = []
  for (const [index, project] of projects.entries()) {
    // The member belongs directly to every hundredth project (20 of 2,000), and through
    // its groups to others; the rest have up to six members of their own.
    if (index % 100 === 0) projectMembers.push({ projectId: project.id, userId: memberId, role: index % 300 === 0 ? 'manager' : 'contributor' })
    const members = new Set<number>()
    const count = Math.floor(random() * 7)
    while (members.size < count) {
      const candidate = pick(ordinary)
      if (candidate !== project.ownerId) members.add(candidate)
    }
    for (const holder of members) projectMembers.push({ projectId: project.id, userId: holder, role: pick(roles) })
    const granted = new Set<number>()
    if (chance(0.25)) granted.add(pick(groups)).add(pick(groups))
    if (index % 50 === 25) granted.add(pick(memberGroups))
    for (const groupId of granted) grants.push({ projectId: project.id, groupId, role: pick(roles) })
  }
  await insert(db, 'project_member', projectMembers)
  await insert(db, 'project_group_grant', grants)

  // Two services in five belong to a server, the others to a project (a third of them exported); a few are disabled.
  const types: ServiceType[] = ['program', 'program', 'program', 'program', 'program', 'program', 'program', 'workflow', 'workflow', 'widget']
  const services = Array.from({ length: size.services }, (_, i) => {
    const project = i % 5 < 2 ? null : pick(projects)
    return {
      name: `${pick(tools)}-${pad(i + 1, 6)}`,
      serverId: pick(servers).id,
      projectId: project?.id ?? null,
      projectScope: project?.id ?? 0,
      type: pick(types),
      exported: project !== null && chance(0.3),
      disabled: chance(0.05),
      description: `Service ${i + 1}`,
      updatedAt
    }
  })
  await insert(db, 'service', services)
  const [runnable] = await prisma.$queryRaw<Array<{ name: string, server: string }>>`
    UPDATE "service" s SET interface = ${JSON.stringify(trueTool)}::json, has_interface = true FROM "server" v
    WHERE v.id = s.server_id AND s.id = (SELECT s2.id FROM "service" s2 JOIN "server" v2 ON v2.id = s2.server_id
      WHERE s2.project_id IS NULL AND s2.type = 'program' AND NOT s2.disabled AND v2.active ORDER BY s2.id LIMIT 1)
    RETURNING s.name, v.name AS server`
  const serverName = new Map(servers.map((s) => [s.id, s.name]))
  const serverServices = services.filter((s) => s.projectId === null).slice(0, 200).map((s) => `${s.name}::${serverName.get(s.serverId)!}`)

  const admin = { id: adminId, username: 'bench-admin', password: benchPassword, apiKey: generateApiKey() }
  const member = { id: memberId, username: 'bench-member', password: benchPassword, apiKey: generateApiKey() }
  const keys = [
    { userId: admin.id, label: 'bench', secret: admin.apiKey, revoked: false },
    { userId: member.id, label: 'bench', secret: member.apiKey, revoked: false },
    // One key per user, for as many users as keys; one in ten revoked.
    ...ordinary.slice(0, size.apiKeys).map((userId, i) => ({ userId, label: `script ${i + 1}`, secret: generateApiKey(), revoked: i % 10 === 0 }))
  ]
  await insert(db, 'api_key', keys.map((k) => ({
    userId: k.userId, label: k.label, digest: apiKeyDigest(k.secret), hint: apiKeyHint(k.secret), revokedAt: k.revoked ? updatedAt : null
  })))

  const active = new Set((await prisma.user.findMany({ where: { status: 'active' }, select: { id: true } })).map((u) => u.id))
  const keyHolders = keys.slice(2).filter((k) => !k.revoked && active.has(k.userId)).map((k) => ({ id: k.userId, apiKey: k.secret }))
  const memberProject = projectMembers.find((m) => m.userId === memberId && m.role === 'contributor')!.projectId
  return {
    admin, member, memberProject, serverNames: servers.map((s) => s.name), serverServices, projects, userIds: ordinary, keyHolders,
    runnableService: `${runnable!.name}::${runnable!.server}`
  }
}
