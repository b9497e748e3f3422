/**
 * RhodeCode's repository methods, over the domain's projects. Repository
 * permissions are project roles: read ↔ watcher, write ↔ contributor,
 * admin ↔ manager; `repository.none` removes the role.
 */
import Type from 'typebox'
import { NotFound } from '../../../domain/errors.ts'
import { Description, Name } from '../../../domain/schemas.ts'
import { allPages } from '../../../domain/common.ts'
import { orNull } from '../../../domain/errors.ts'
import { defineMethod } from '../method.ts'
import { projectNodes, renderRepo, RepoNode, RepoObject, RepositoryPermission, roleFor, SuccessMessage } from '../objects.ts'
import { UsersGroupId } from './groups.ts'
import { UserId } from './users.ts'

/** A project by id (a number) or by name (a string), as RhodeCode's `repoid`. */
export const RepoId = Type.Union([Type.Integer({ minimum: 1 }), Name], { description: 'The project id, or its name.' })

const grantUserPermission = defineMethod({
  name: 'grant_user_permission',
  summary: 'Gives a user a role in a project (its owner and managers, administrators).',
  params: Type.Object({ repoid: RepoId, userid: UserId, perm: RepositoryPermission }),
  result: SuccessMessage,
  legacy: [{ version: '1.3', names: { repo_name: 'repoid', username: 'userid', perm: 'perm' } }],
  run: async (domain, actor, { repoid, userid, perm }) => {
    const { project, member } = await domain.projects.setMember(actor, repoid, userid, roleFor(perm))
    return { msg: `Granted perm: \`${perm}\` for user: \`${member.username}\` in repo: \`${project.name}\``, success: true }
  }
})

const grantUsersGroupPermission = defineMethod({
  name: 'grant_users_group_permission',
  summary: 'Gives a users group a role in a project (its owner and managers, administrators).',
  params: Type.Object({ repoid: RepoId, usersgroupid: UsersGroupId, perm: RepositoryPermission }),
  result: SuccessMessage,
  legacy: [{ version: '1.3', names: { repo_name: 'repoid', group_name: 'usersgroupid', perm: 'perm' } }],
  run: async (domain, actor, { repoid, usersgroupid, perm }) => {
    const { project, group } = await domain.projects.setGroupGrant(actor, repoid, usersgroupid, roleFor(perm))
    return { msg: `Granted perm: \`${perm}\` for group: \`${group.name}\` in repo: \`${project.name}\``, success: true }
  }
})

export const repositoryMethods = [
  defineMethod({
    name: 'get_repo',
    summary: 'A project by id or name, with its members and their permissions; null when there is none.',
    params: Type.Object({ repoid: RepoId }),
    result: Type.Union([RepoObject, Type.Null()]),
    legacy: [{ version: '1.2', names: { name: 'repoid' } }],
    run: async (domain, actor, { repoid }) => {
      const project = await orNull(domain.projects.get(actor, repoid))
      return project === null ? null : renderRepo(project, true)
    }
  }),
  defineMethod({
    name: 'get_repos',
    summary: 'Every project (administrators).',
    params: Type.Object({}),
    result: Type.Array(RepoObject),
    run: async (domain, actor) => (await allPages((page) => domain.projects.list(actor, {}, page))).map((p) => renderRepo(p))
  }),
  defineMethod({
    name: 'get_repo_nodes',
    summary: 'The project\'s services, jobs and data as the directories `services`, `jobs` and `data` and their files.',
    params: Type.Object({
      repoid: RepoId,
      revision: Type.String({ maxLength: 200, description: 'Accepted for RhodeCode clients; projects have no revisions.' }),
      root_path: Type.String({ maxLength: 1000, description: 'The directory to list: "" or "/" for all, or services, jobs, data.' }),
      ret_type: Type.Optional(Type.Enum(['all', 'files', 'dirs'], { default: 'all' }))
    }),
    result: Type.Array(RepoNode),
    legacy: [{ version: '1.3', names: { repo_name: 'repoid', revision: 'revision', root_path: 'root_path', ret_type: 'ret_type' } }],
    run: async (domain, actor, { repoid, root_path: rootPath, ret_type: retType = 'all' }) => {
      const project = await domain.projects.get(actor, repoid)
      const root = rootPath.replace(/^\/+|\/+$/g, '')
      const nodes = projectNodes(project)
      if (root !== '' && !nodes.some((node) => node.name === root && node.type === 'dir')) throw new NotFound('path', rootPath)
      return nodes
        .filter((node) => root === '' || node.name.startsWith(`${root}/`))
        .filter((node) => retType === 'all' || (retType === 'files') === (node.type === 'file'))
    }
  }),
  defineMethod({
    name: 'create_repo',
    summary: 'Creates a project owned by the caller, or by `owner` (administrators).',
    params: Type.Object({
      repo_name: Name,
      owner: Type.Optional(UserId),
      repo_type: Type.Optional(Type.String({ maxLength: 20, description: 'Accepted for RhodeCode clients; every project is of type mobyle.' })),
      description: Type.Optional(Description),
      private: Type.Optional(Type.Boolean({ description: 'Accepted for RhodeCode clients; projects are always private.' })),
      clone_uri: Type.Optional(Type.Null({ description: 'Projects cannot be cloned: only null is accepted.' })),
      landing_rev: Type.Optional(Type.String({ maxLength: 200, description: 'Accepted for RhodeCode clients; projects have no revisions.' }))
    }),
    // RhodeCode 1.2 answered None: a call in its names (`name`) is answered null.
    result: Type.Union([Type.Object({ id: Type.Integer(), msg: Type.String(), repo: RepoObject }), Type.Null()]),
    legacy: [
      { version: '1.3', names: { repo_name: 'repo_name', owner_name: 'owner', description: 'description', repo_type: 'repo_type', private: 'private', clone_uri: 'clone_uri' } },
      { version: '1.2', names: { name: 'repo_name', owner_name: 'owner', description: 'description', repo_type: 'repo_type', private: 'private' } }
    ],
    run: async (domain, actor, { repo_name: name, owner, description }, { version }) => {
      const ownerName = typeof owner === 'number' ? (await domain.users.get(actor, owner)).username : owner
      const project = await domain.projects.create(actor, { name, description, owner: ownerName })
      if (version === '1.2') return null
      return { id: project.id, msg: `Created new repository \`${project.name}\``, repo: renderRepo(project) }
    }
  }),
  defineMethod({
    name: 'delete_repo',
    summary: 'Deletes a project with its services, jobs and data (its owner, administrators).',
    params: Type.Object({ repoid: RepoId }),
    result: SuccessMessage,
    legacy: [{ version: '1.3', names: { repo_name: 'repoid' } }],
    run: async (domain, actor, { repoid }) => {
      const project = await domain.projects.delete(actor, repoid)
      return { msg: `Deleted repository \`${project.name}\``, success: true }
    }
  }),
  grantUserPermission,
  defineMethod({
    name: 'revoke_user_permission',
    summary: 'Removes a user\'s role in a project; success is false when it had none (its owner and managers, administrators).',
    params: Type.Object({ repoid: RepoId, userid: UserId }),
    result: SuccessMessage,
    legacy: [{ version: '1.3', names: { repo_name: 'repoid', username: 'userid' } }],
    run: async (domain, actor, { repoid, userid }) => {
      const { project, member, previous } = await domain.projects.setMember(actor, repoid, userid, null)
      return previous === null
        ? { msg: `User \`${member.username}\` had no perm in repo: \`${project.name}\``, success: false }
        : { msg: `Revoked perm for user: \`${member.username}\` in repo: \`${project.name}\``, success: true }
    }
  }),
  grantUsersGroupPermission,
  defineMethod({
    name: 'revoke_users_group_permission',
    summary: 'Removes a users group\'s role in a project; success is false when it had none (its owner and managers, administrators).',
    params: Type.Object({ repoid: RepoId, usersgroupid: UsersGroupId }),
    result: SuccessMessage,
    legacy: [{ version: '1.3', names: { repo_name: 'repoid', users_group: 'usersgroupid' } }],
    run: async (domain, actor, { repoid, usersgroupid }) => {
      const { project, group, previous } = await domain.projects.setGroupGrant(actor, repoid, usersgroupid, null)
      return previous === null
        ? { msg: `Group \`${group.name}\` had no perm in repo: \`${project.name}\``, success: false }
        : { msg: `Revoked perm for group: \`${group.name}\` in repo: \`${project.name}\``, success: true }
    }
  }),
  defineMethod({
    name: 'add_user_to_repo',
    summary: 'RhodeCode 1.2\'s grant_user_permission, in its names: gives a user a role in a project, or removes it when `perm` is null; ' +
      'answers null (its owner and managers, administrators).',
    params: Type.Object({ repo_name: RepoId, user_name: UserId, perm: Type.Union([RepositoryPermission, Type.Null()]) }),
    result: Type.Null(),
    run: async (domain, actor, { repo_name: repoid, user_name: userid, perm }, call) => {
      await grantUserPermission.run(domain, actor, { repoid, userid, perm: perm ?? 'repository.none' }, call)
      return null
    }
  }),
  defineMethod({
    name: 'add_users_group_to_repo',
    summary: 'RhodeCode 1.2\'s grant_users_group_permission, in its names: gives a users group a role in a project, or removes it ' +
      'when `perm` is null; answers null (its owner and managers, administrators).',
    params: Type.Object({ repo_name: RepoId, group_name: UsersGroupId, perm: Type.Union([RepositoryPermission, Type.Null()]) }),
    result: Type.Null(),
    run: async (domain, actor, { repo_name: repoid, group_name: usersgroupid, perm }, call) => {
      await grantUsersGroupPermission.run(domain, actor, { repoid, usersgroupid, perm: perm ?? 'repository.none' }, call)
      return null
    }
  })
]
