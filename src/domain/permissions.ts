/**
 * Who may see and change projects and services. Every face reaches these rules
 * through the domain services, so a user meets the same answers everywhere.
 */
import { isAdmin, type Actor } from './actor.ts'
import type { Prisma } from '../generated/prisma/client.ts'
import type { ProjectRole } from './schemas.ts'
import type { Table } from './read-model.ts'

/** The tables an actor's standing in projects is read from. */
export const standingTables: Table[] = ['project', 'project_member', 'project_group_grant', 'group', 'group_member']

export type ProjectStanding = 'owner' | ProjectRole

const rank: Record<ProjectStanding, number> = { watcher: 1, contributor: 2, manager: 3, owner: 4 }

export function atLeast (standing: ProjectStanding | undefined, wanted: ProjectStanding): boolean {
  return standing !== undefined && rank[standing] >= rank[wanted]
}

/** Projects the actor can see: administrators all of them, users those they reach, anonymous callers none. */
export function visibleProjects (actor: Actor): Prisma.ProjectWhereInput {
  if (isAdmin(actor)) return {}
  if (actor.kind === 'anonymous') return { id: { in: [] } }
  return projectsReachedBy(actor.id)
}

/** Projects the user owns or is a member of, directly or through an active group: where it has a standing. */
export function projectsReachedBy (userId: number): Prisma.ProjectWhereInput {
  return {
    OR: [
      { ownerId: userId },
      { members: { some: { userId } } },
      { groupGrants: { some: { group: { active: true, retiredAt: null, members: { some: { userId } } } } } }
    ]
  }
}

/** Services listed to the actor: server-level ones, exported ones, and those of its projects. */
export function visibleServices (actor: Actor): Prisma.ServiceWhereInput {
  if (isAdmin(actor)) return {}
  return { OR: [{ projectId: null }, { exported: true }, { project: visibleProjects(actor) }] }
}

/** The relations needed to tell an actor's standing in a project. */
export const standingInclude = {
  members: { select: { userId: true, role: true } },
  groupGrants: {
    select: {
      role: true,
      group: { select: { active: true, retiredAt: true, members: { select: { userId: true } } } }
    }
  }
} satisfies Prisma.ProjectInclude

interface ProjectForStanding {
  ownerId: number
  members: Array<{ userId: number, role: ProjectRole }>
  groupGrants: Array<{ role: ProjectRole, group: { active: boolean, retiredAt: Date | null, members: Array<{ userId: number }> } }>
}

/** The highest standing the actor has in the project, from ownership, membership and group grants. */
export function standingIn (project: ProjectForStanding, actor: Actor): ProjectStanding | undefined {
  return actor.kind === 'user' ? standingOf(project, actor.id) : undefined
}

/** The highest standing the user has in the project; the rule `projectsReachedBy` selects by. */
export function standingOf (project: ProjectForStanding, userId: number): ProjectStanding | undefined {
  if (project.ownerId === userId) return 'owner'
  let best: ProjectStanding | undefined
  const consider = (role: ProjectRole): void => {
    if (best === undefined || rank[role] > rank[best]) best = role
  }
  for (const member of project.members) if (member.userId === userId) consider(member.role)
  for (const grant of project.groupGrants) {
    const group = grant.group
    if (group.active && group.retiredAt === null && group.members.some((m) => m.userId === userId)) consider(grant.role)
  }
  return best
}
