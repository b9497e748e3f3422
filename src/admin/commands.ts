/**
 * The administrative commands, run against an open database with the domain's
 * system actor. The command line runs them in its own process when it owns the
 * database, and sends them to the running server otherwise (src/admin/control.ts),
 * which runs this same code: one implementation, whichever process executes it.
 */
import { systemActor } from '../domain/actor.ts'
import type { Domain } from '../domain/index.ts'
import type { Database } from '../db/client.ts'
import { applyMigrations } from '../db/migrate.ts'

export interface AdminCommand {
  command: string
  args: string[]
  options: {
    /** Already read from stdin by the command line when --password-stdin was given. */
    password?: string
    email?: string
    admin?: boolean
    label?: string
  }
}

/** What a command prints: `stdout` for results scripts read, `stderr` for remarks. */
export interface AdminOutput {
  stdout: string[]
  stderr: string[]
}

/** A command used wrongly; the command line adds the usage text. */
export class UsageError extends Error {
  override name = 'UsageError'
}

export const usage = `usage: mobyle2-admin <command> [arguments]
  migrate                                   apply pending database migrations
  create-user <username> [--password P | --password-stdin] [--email E] [--admin]
  set-password <username> [--password P | --password-stdin]
  issue-key <username> [--label L]          print a new API key (shown only once)
  list-keys <username>
  revoke-key <username> <key-id>`

export const commandNames = ['migrate', 'create-user', 'set-password', 'issue-key', 'list-keys', 'revoke-key']

export async function runAdminCommand (target: { db: Database, domain: Domain }, { command, args, options }: AdminCommand): Promise<AdminOutput> {
  const output: AdminOutput = { stdout: [], stderr: [] }
  const { domain } = target
  const username = (): string => {
    if (args[0] === undefined) throw new UsageError(`${command} needs a username`)
    return args[0]
  }
  switch (command) {
    case 'migrate': {
      const applied = await applyMigrations(target.db)
      output.stdout.push(applied.length === 0 ? 'no pending migrations' : `applied ${applied.join(', ')}`)
      break
    }
    case 'create-user': {
      const user = await domain.users.create(systemActor, {
        username: username(), password: options.password, email: options.email, is_admin: options.admin === true
      })
      output.stdout.push(`created user ${user.username} (id ${user.id})`)
      break
    }
    case 'set-password': {
      if (options.password === undefined) throw new UsageError('set-password needs --password or --password-stdin')
      const { item } = await domain.users.update(systemActor, username(), { password: options.password })
      output.stdout.push(`password of ${item.username} changed`)
      break
    }
    case 'issue-key': {
      const { key, secret } = await domain.apiKeys.create(systemActor, username(), { label: options.label })
      output.stdout.push(secret)
      output.stderr.push(`key ${key.id} issued to ${username()}; it is not shown again`)
      break
    }
    case 'list-keys': {
      for (const key of await domain.apiKeys.list(systemActor, username())) {
        const state = key.revokedAt === null ? 'active' : `revoked ${key.revokedAt.toISOString()}`
        output.stdout.push(`${key.id}\t${key.hint}…\t${key.label}\t${state}`)
      }
      break
    }
    case 'revoke-key': {
      const id = Number(args[1])
      if (!Number.isInteger(id) || id <= 0) throw new UsageError('revoke-key needs a username and a numeric key id')
      await domain.apiKeys.revoke(systemActor, username(), id)
      output.stdout.push(`key ${id} revoked`)
      break
    }
    default:
      throw new UsageError(`unknown command ${command}`)
  }
  return output
}
