/** RhodeCode's users group methods, over the domain's groups. */
import Type from 'typebox'
import { Name } from '../../../domain/schemas.ts'
import { allPages } from '../../../domain/common.ts'
import { orNull } from '../../../domain/errors.ts'
import { aliasOf, defineMethod } from '../method.ts'
import { renderUsersGroup, SuccessMessage, UsersGroupObject } from '../objects.ts'
import { UserId } from './users.ts'

/** A group by id (a number) or by name (a string), as RhodeCode's `usersgroupid`. */
export const UsersGroupId = Type.Union([Type.Integer({ minimum: 1 }), Name], { description: 'The users group id, or its name.' })

const addUserToUsersGroup = defineMethod({
  name: 'add_user_to_users_group',
  summary: 'Adds a user to a users group; success is false when it already is a member (administrators). ' +
    '`id` is the member\'s id, as `members[].id` lists it (the user\'s id: a membership has no id of its own here).',
  params: Type.Object({ usersgroupid: UsersGroupId, userid: UserId }),
  result: Type.Object({ id: Type.Integer(), success: Type.Boolean(), msg: Type.String() }),
  legacy: [
    { version: '1.3', names: { group_name: 'usersgroupid', username: 'userid' } },
    { version: '1.2', names: { group_name: 'usersgroupid', user_name: 'userid' } }
  ],
  run: async (domain, actor, { usersgroupid, userid }, { version }) => {
    const { group, user, added } = await domain.groups.addMember(actor, usersgroupid, userid)
    if (!added) return { id: user.id, success: false, msg: 'User is already in that group' }
    // RhodeCode 1.2's message, for calls in its names.
    const msg = version === '1.2' ? 'created new users group member' : `added member \`${user.username}\` to users group \`${group.name}\``
    return { id: user.id, success: true, msg }
  }
})

export const groupMethods = [
  defineMethod({
    name: 'get_users_group',
    summary: 'A users group by id or name, with its members; null when there is none.',
    params: Type.Object({ usersgroupid: UsersGroupId }),
    result: Type.Union([UsersGroupObject, Type.Null()]),
    legacy: [{ version: '1.3', names: { group_name: 'usersgroupid' } }, { version: '1.2', names: { group_name: 'usersgroupid' } }],
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
    run: async (domain, actor) => (await allPages((page) => domain.groups.list(actor, {}, page))).map(renderUsersGroup)
  }),
  defineMethod({
    name: 'create_users_group',
    summary: 'Creates a users group (administrators).',
    params: Type.Object({
      group_name: Name,
      active: Type.Optional(Type.Boolean({ default: true }))
    }),
    result: Type.Object({ id: Type.Integer(), msg: Type.String(), users_group: UsersGroupObject }),
    legacy: [{ version: '1.2', names: { name: 'group_name', active: 'active' } }],
    run: async (domain, actor, { group_name: name, active = true }, { version }) => {
      const group = await domain.groups.create(actor, { name, active })
      // RhodeCode 1.2 quoted no names in its messages.
      const quoted = version === '1.2' ? group.name : `\`${group.name}\``
      return { id: group.id, msg: `created new users group ${quoted}`, users_group: renderUsersGroup(group) }
    }
  }),
  addUserToUsersGroup,
  // Both RhodeCode documents head the method add_user_to_users_group but send add_user_users_group.
  aliasOf(addUserToUsersGroup, 'add_user_users_group'),
  defineMethod({
    name: 'remove_user_from_users_group',
    summary: 'Removes a user from a users group; success is false when it was no member (administrators).',
    params: Type.Object({ usersgroupid: UsersGroupId, userid: UserId }),
    result: SuccessMessage,
    legacy: [{ version: '1.3', names: { group_name: 'usersgroupid', username: 'userid' } }],
    run: async (domain, actor, { usersgroupid, userid }) => {
      const { group, user, removed } = await domain.groups.removeMember(actor, usersgroupid, userid)
      return {
        success: removed,
        msg: removed ? `removed member \`${user.username}\` from users group \`${group.name}\`` : "User wasn't in group"
      }
    }
  })
]
