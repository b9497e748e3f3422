/** What every `/projects` plugin shares: the project's representation, its tag and its id in the path. */
import Type from 'typebox'
import type { ProjectView } from '../../domain/projects.ts'
import { Name, ProjectRole } from '../../domain/schemas.ts'
import { formatId, IdParam, IdString, omitEmpty, parseId } from '../common.ts'
import { FullName } from '../services.ts'

export const ProjectRepresentation = Type.Object({
  name: Type.String(),
  description: Type.String(),
  owner: IdString,
  managers: Type.Array(IdString),
  contributors: Type.Array(IdString),
  watchers: Type.Array(IdString),
  groups: Type.Record(Name, ProjectRole, { description: 'Roles granted to groups, by group name.' }),
  services: Type.Array(Type.String(), { description: "Names of the project's services." }),
  jobs: Type.Array(IdString),
  data: Type.Array(IdString),
  favorites: Type.Optional(Type.Array(FullName, { description: 'Full names of the favorite services; absent when none.' }))
}, { $id: 'Project', title: 'Project' })

export function renderProject (project: ProjectView) {
  return omitEmpty({
    name: project.name,
    description: project.description,
    owner: formatId(project.owner),
    managers: project.managers.map(formatId),
    contributors: project.contributors.map(formatId),
    watchers: project.watchers.map(formatId),
    groups: Object.fromEntries(project.groups.map((g) => [g.name, g.role])),
    services: project.services.map((s) => s.name),
    jobs: project.jobs.map((j) => formatId(j.id)),
    data: project.data.map((d) => formatId(d.id)),
    // The spec leaves favorites out of a project that has none.
    favorites: project.favorites.length === 0 ? undefined : project.favorites.map((f) => f.fullName)
  })
}

export const tags = ['projects']
export const params = Type.Object({ id: IdParam })

export function projectId (text: string): number {
  return parseId('project', text)
}

export const RoleBody = Type.Object({ role: ProjectRole }, { additionalProperties: false })
