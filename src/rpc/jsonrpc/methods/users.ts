/** RhodeCode's user methods, over the domain's users. */
import Type from 'typebox'
import type { Actor } from '../../../domain/actor.ts'
import type { Domain } from '../../../domain/index.ts'
import { Email, Password, PersonName, Username } from '../../../domain/schemas.ts'
import type { UserView } from '../../../domain/users.ts'
import { allPages } from '../../../domain/common.ts'
import { orNull } from '../../../domain/errors.ts'
import { defineMethod } from '../method.ts'
import { renderedOnce, renderPermissions, renderUser, UserObject } from '../objects.ts'

/** A user by id (a number) or by username (a string), as RhodeCode's `userid`. */
export const UserId = Type.Union([Type.Integer({ minimum: 1 }), Username], { description: 'The user id, or the username.' })
const LdapDn = Type.Union([Type.String({ maxLength: 1000 }), Type.Null()])

const userFields = {
  email: Email,
  password: Password,
  firstname: Type.Union([PersonName, Type.Null()]),
  lastname: Type.Union([PersonName, Type.Null()]),
  active: Type.Boolean({ description: 'false suspends the account.' }),
  admin: Type.Boolean(),
  ldap_dn: LdapDn
}

interface RhodeCodeUserFields {
  username?: string
  email?: string
  password?: string
  firstname?: string | null
  lastname?: string | null
  active?: boolean
  admin?: boolean
  ldap_dn?: string | null
}

/** RhodeCode's user fields as the domain's: `active` is the status, `ldap_dn` chooses LDAP authentication. */
function domainUserInput (fields: RhodeCodeUserFields): Record<string, unknown> {
  const input: Record<string, unknown> = {
    username: fields.username,
    email: fields.email,
    password: fields.password,
    firstname: fields.firstname === null ? '' : fields.firstname,
    lastname: fields.lastname === null ? '' : fields.lastname,
    status: fields.active === undefined ? undefined : fields.active ? 'active' : 'suspended',
    is_admin: fields.admin,
    ldap_dn: fields.ldap_dn,
    authentication_type: fields.ldap_dn === undefined ? undefined : fields.ldap_dn === null ? 'local' : 'ldap'
  }
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined))
}

async function userWithPermissions (domain: Domain, actor: Actor, user: UserView): Promise<UserObject> {
  const standings = await domain.projects.standingsOf(actor, user.id)
  return renderedOnce(user, standings, () => ({ ...renderUser(user), permissions: renderPermissions(user, standings) }))
}

export const userMethods = [
  defineMethod({
    name: 'get_user',
    summary: 'A user by id or username, with its permissions; null when there is none.',
    params: Type.Object({ userid: UserId }),
    result: Type.Union([UserObject, Type.Null()]),
    run: async (domain, actor, { userid }) => {
      const user = await orNull(domain.users.get(actor, userid))
      return user === null ? null : await userWithPermissions(domain, actor, user)
    }
  }),
  defineMethod({
    name: 'get_users',
    summary: 'Every user (administrators).',
    params: Type.Object({}),
    result: Type.Array(UserObject),
    run: async (domain, actor) => (await allPages((page) => domain.users.list(actor, {}, page))).map(renderUser)
  }),
  defineMethod({
    name: 'create_user',
    summary: 'Creates a user (administrators).',
    params: Type.Object({
      username: Username,
      email: userFields.email,
      password: userFields.password,
      firstname: Type.Optional(userFields.firstname),
      lastname: Type.Optional(userFields.lastname),
      active: Type.Optional(Type.Boolean({ default: true, description: 'false creates a suspended account.' })),
      admin: Type.Optional(Type.Boolean({ default: false })),
      ldap_dn: Type.Optional(userFields.ldap_dn)
    }),
    result: Type.Object({ id: Type.Integer(), msg: Type.String(), user: UserObject }),
    run: async (domain, actor, args) => {
      const user = await domain.users.create(actor, domainUserInput({ active: true, admin: false, ...args }))
      return { id: user.id, msg: `created new user \`${user.username}\``, user: renderUser(user) }
    }
  }),
  defineMethod({
    name: 'update_user',
    summary: 'Changes a user: administrators change anything, users their own email, names and password.',
    params: Type.Object({
      userid: UserId,
      username: Type.Optional(Username),
      email: Type.Optional(userFields.email),
      password: Type.Optional(userFields.password),
      firstname: Type.Optional(userFields.firstname),
      lastname: Type.Optional(userFields.lastname),
      active: Type.Optional(userFields.active),
      admin: Type.Optional(userFields.admin),
      ldap_dn: Type.Optional(userFields.ldap_dn)
    }),
    result: Type.Object({ id: Type.Integer(), msg: Type.String(), user: UserObject }),
    run: async (domain, actor, { userid, ...fields }) => {
      const { item } = await domain.users.update(actor, userid, domainUserInput(fields))
      return { id: item.id, msg: `updated user ID:${item.id} ${item.username}`, user: renderUser(item) }
    }
  }),
  defineMethod({
    name: 'delete_user',
    summary: 'Deletes a user that owns no project (administrators).',
    params: Type.Object({ userid: UserId }),
    result: Type.Object({ id: Type.Integer(), msg: Type.String(), user: Type.Null() }),
    run: async (domain, actor, { userid }) => {
      const user = await domain.users.delete(actor, userid)
      return { id: user.id, msg: `deleted user ID:${user.id} ${user.username}`, user: null }
    }
  })
]
