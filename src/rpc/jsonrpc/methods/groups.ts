/** RhodeCode's users group methods, over the domain's groups. */
import Type from 'typebox'
import { Name } from '../../../domain/schemas.ts'
import { defineMethod, everything, orNull } from '../method.ts'
import { renderUsersGroup, SuccessMessage, UsersGroupObject } from '../objects.ts'
import { UserId } from './users.ts'

/** A group by id (a number) or by name (a string), as RhodeCode's `usersgroupid`. */
export const UsersGroupId = Type.Union([Type.Integer({ minimum: 1 }), Name], { description: 'The users group id, or its name.' })

export const groupMethods = [
  defineMethod({
    name: 'get_users_group',
    summary: 'A users group by id or name, with its members; null when there is none.',
    params: Type.Object({ usersgroupid: UsersGroupId }),
    result: Type.Union([UsersGroupObject, Type.Null()]),
    run: async (domain, actor, { usersgroupid }) => {
      const group = await orNull(domain.groups.get(actor, usersgroupid))
      return group === null ? null : renderUsersGroup(group)
    }
  }),
  defineMethod({
    name: 'get_users_groups',
    summary: 'Every users group (administrators).',
    params: Type.Object({}),
    result: Type.Array(UsersGroupObject),
    run: async (domain, actor) => (await everything((page) => domain.groups.list(actor, {}, page))).map(renderUsersGroup)
  }),
  defineMethod({
    name: 'create_users_group',
    summary: 'Creates a users group (administrators).',
    params: Type.Object({
      group_name: Name,
      active: Type.Optional(Type.Boolean({ default: true }))
    }),
    result: Type.Object({ id: Type.Integer(), msg: Type.String(), users_group: UsersGroupObject }),
    run: async (domain, actor, { group_name: name, active = true }) => {
      const group = await domain.groups.create(actor, { name, active })
      return { id: group.id, msg: `created new users group \`${group.name}\``, users_group: renderUsersGroup(group) }
    }
  }),
  defineMethod({
    name: 'add_user_to_users_group',
    summary: 'Adds a user to a users group; success is false when it already is a member (administrators).',
    params: Type.Object({ usersgroupid: UsersGroupId, userid: UserId }),
    result: SuccessMessage,
    run: async (domain, actor, { usersgroupid, userid }) => {
      const { group, user, added } = await domain.groups.addMember(actor, usersgroupid, userid)
      return {
        success: added,
        msg: added ? `added member \`${user.username}\` to users group \`${group.name}\`` : 'User is already in that group'
      }
    }
  }),
  defineMethod({
    name: 'remove_user_from_users_group',
    summary: 'Removes a user from a users group; success is false when it was no member (administrators).',
    params: Type.Object({ usersgroupid: UsersGroupId, userid: UserId }),
    result: SuccessMessage,
    run: async (domain, actor, { usersgroupid, userid }) => {
      const { group, user, removed } = await domain.groups.removeMember(actor, usersgroupid, userid)
      return {
        success: removed,
        msg: removed ? `removed member \`${user.username}\` from users group \`${group.name}\`` : "User wasn't in group"
      }
    }
  })
]
