/**
 * Administration from the command line, on the configured database (DATABASE_URL
 * or the embedded one under DATA_DIR), acting as the server itself.
 *
 *   mobyle2-admin migrate
 *   mobyle2-admin create-user <username> [--password P | --password-stdin] [--email E] [--admin]
 *   mobyle2-admin set-password <username> [--password P | --password-stdin]
 *   mobyle2-admin issue-key <username> [--label L]
 *   mobyle2-admin list-keys <username>
 *   mobyle2-admin revoke-key <username> <key-id>
 */
import { parseArgs } from 'node:util'
import { text } from 'node:stream/consumers'
import { ConfigError, loadConfig } from './config.ts'
import { openDatabase, type Database } from './db/client.ts'
import { applyMigrations, MigrationError, prepareDatabase } from './db/migrate.ts'
import { createDomain } from './domain/index.ts'
import { systemActor } from './domain/actor.ts'
import { isDomainError } from './domain/errors.ts'

const usage = `usage: mobyle2-admin <command> [arguments]
  migrate                                   apply pending database migrations
  create-user <username> [--password P | --password-stdin] [--email E] [--admin]
  set-password <username> [--password P | --password-stdin]
  issue-key <username> [--label L]          print a new API key (shown only once)
  list-keys <username>
  revoke-key <username> <key-id>`

class UsageError extends Error {}

export async function runCli (argv: string[], out: (line: string) => void, stdin: NodeJS.ReadableStream = process.stdin): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      password: { type: 'string' },
      'password-stdin': { type: 'boolean' },
      email: { type: 'string' },
      admin: { type: 'boolean' },
      label: { type: 'string' },
      help: { type: 'boolean', short: 'h' }
    }
  })
  const [command, ...args] = positionals
  if (values.help === true || command === undefined) {
    out(usage)
    return
  }
  const config = loadConfig()
  const db = await openDatabase({ url: config.DATABASE_URL, dataDir: config.DATA_DIR, poolSize: 2 })
  try {
    await run(db, command, args, values, out, stdin)
  } finally {
    await db.close()
  }
}

async function run (
  db: Database, command: string, args: string[],
  values: { password?: string, 'password-stdin'?: boolean, email?: string, admin?: boolean, label?: string },
  out: (line: string) => void, stdin: NodeJS.ReadableStream
): Promise<void> {
  if (command !== 'migrate') await prepareDatabase(db, { migrate: false })
  const domain = createDomain(db.prisma)
  const username = (): string => {
    if (args[0] === undefined) throw new UsageError(`${command} needs a username`)
    return args[0]
  }
  const password = async (): Promise<string | undefined> => {
    if (values['password-stdin'] === true) return (await text(stdin)).replace(/\r?\n$/, '')
    return values.password
  }
  switch (command) {
    case 'migrate': {
      const applied = await applyMigrations(db)
      out(applied.length === 0 ? 'no pending migrations' : `applied ${applied.join(', ')}`)
      return
    }
    case 'create-user': {
      const user = await domain.users.create(systemActor, {
        username: username(), password: await password(), email: values.email, is_admin: values.admin === true
      })
      out(`created user ${user.username} (id ${user.id})`)
      return
    }
    case 'set-password': {
      const secret = await password()
      if (secret === undefined) throw new UsageError('set-password needs --password or --password-stdin')
      const { item } = await domain.users.update(systemActor, username(), { password: secret })
      out(`password of ${item.username} changed`)
      return
    }
    case 'issue-key': {
      const { key, secret } = await domain.apiKeys.create(systemActor, username(), { label: values.label })
      out(secret)
      process.stderr.write(`key ${key.id} issued to ${username()}; it is not shown again\n`)
      return
    }
    case 'list-keys': {
      for (const key of await domain.apiKeys.list(systemActor, username())) {
        const state = key.revokedAt === null ? 'active' : `revoked ${key.revokedAt.toISOString()}`
        out(`${key.id}\t${key.hint}…\t${key.label}\t${state}`)
      }
      return
    }
    case 'revoke-key': {
      const id = Number(args[1])
      if (!Number.isInteger(id) || id <= 0) throw new UsageError('revoke-key needs a username and a numeric key id')
      await domain.apiKeys.revoke(systemActor, username(), id)
      out(`key ${id} revoked`)
      return
    }
    default:
      throw new UsageError(`unknown command ${command}`)
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.env.MOBYLE2_CLI === '1') {
  runCli(process.argv.slice(2), (line) => process.stdout.write(line + '\n')).catch((error: unknown) => {
    if (error instanceof UsageError) process.stderr.write(`${error.message}\n${usage}\n`)
    else if (error instanceof ConfigError || error instanceof MigrationError || isDomainError(error)) {
      process.stderr.write(`mobyle2-admin: ${(error as Error).message}\n`)
    } else if (error instanceof TypeError && (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true) {
      process.stderr.write(`${error.message}\n${usage}\n`)
    } else process.stderr.write(`mobyle2-admin: ${(error as Error).stack ?? String(error)}\n`)
    process.exitCode = 1
  })
}
