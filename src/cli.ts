/**
 * Administration from the command line, acting as the server itself.
 *
 *   mobyle2-admin migrate
 *   mobyle2-admin create-user <username> [--password P | --password-stdin] [--email E] [--admin]
 *   mobyle2-admin set-password <username> [--password P | --password-stdin]
 *   mobyle2-admin issue-key <username> [--label L]
 *   mobyle2-admin list-keys <username>
 *   mobyle2-admin revoke-key <username> <key-id>
 *
 * With DATABASE_URL every process is an equal client of PostgreSQL, so the
 * command runs here. The embedded database belongs to one process at a time: when
 * a server owns DATA_DIR the command is sent to it over its control socket, and
 * otherwise this process takes the directory for the length of the command.
 */
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { text } from 'node:stream/consumers'
import { commandNames, runAdminCommand, usage, UsageError, type AdminCommand, type AdminOutput } from './admin/commands.ts'
import { CommandRefused, ControlUnavailable, sendAdminCommand } from './admin/control.ts'
import { ConfigError, loadConfig, type Config } from './config.ts'
import { openDatabase } from './db/client.ts'
import { DataDirLocked, liveHolder } from './db/data-dir-lock.ts'
import { MigrationError, prepareDatabase } from './db/migrate.ts'
import { openDomain } from './domain/index.ts'
import { isDomainError } from './domain/errors.ts'

/** How long to wait for a server that is starting, or for another command holding the directory. */
const patienceMs = 15_000

export interface CliStreams {
  out: (line: string) => void
  err: (line: string) => void
  stdin: NodeJS.ReadableStream
}

export async function runCli (argv: string[], streams: CliStreams): Promise<void> {
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
    streams.out(usage)
    return
  }
  // Before any database is opened or any server asked.
  if (!commandNames.includes(command)) throw new UsageError(`unknown command ${command}`)
  const password = values['password-stdin'] === true ? (await text(streams.stdin)).replace(/\r?\n$/, '') : values.password
  const request: AdminCommand = {
    command,
    args,
    options: { password, email: values.email, admin: values.admin, label: values.label }
  }
  const output = await execute(loadConfig(), request)
  output.stdout.forEach(streams.out)
  output.stderr.forEach(streams.err)
}

async function execute (config: Config, request: AdminCommand): Promise<AdminOutput> {
  if (config.DATABASE_URL !== undefined) return await runHere(config, request)
  const deadline = Date.now() + patienceMs
  for (;;) {
    const holder = await liveHolder(config.DATA_DIR)
    try {
      if (holder?.role === 'server') return await sendAdminCommand(holder.socket, request)
      return await runHere(config, request)
    } catch (error) {
      // A server that is still opening its database has the lock but not yet its socket;
      // a server may also take the directory between our look and our open.
      const serverBusy = error instanceof ControlUnavailable || (error instanceof DataDirLocked && error.holder.role === 'server')
      if (!serverBusy || Date.now() >= deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }
}

async function runHere (config: Config, request: AdminCommand): Promise<AdminOutput> {
  const db = await openDatabase({
    url: config.DATABASE_URL, dataDir: config.DATA_DIR, poolSize: 2, role: 'cli', lockWaitMs: patienceMs
  })
  try {
    if (request.command !== 'migrate') await prepareDatabase(db, { migrate: false })
    return await runAdminCommand({ db, domain: openDomain(db, { cacheEntries: 0 }).domain }, request)
  } finally {
    await db.close()
  }
}

/** Why the command failed, as the user should read it; null for an unexpected error. */
function explain (error: unknown): string | null {
  if (error instanceof UsageError || (error instanceof CommandRefused && error.usage)) return `${error.message}\n${usage}`
  if (error instanceof TypeError && (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true) return `${error.message}\n${usage}`
  if (error instanceof ConfigError || error instanceof MigrationError || error instanceof DataDirLocked ||
    error instanceof CommandRefused || error instanceof ControlUnavailable || isDomainError(error)) {
    return `mobyle2-admin: ${error.message}`
  }
  return null
}

if (process.argv[1] === fileURLToPath(import.meta.url) || process.env.MOBYLE2_CLI === '1') {
  const write = (stream: NodeJS.WritableStream) => (line: string) => stream.write(line + '\n')
  void runCli(process.argv.slice(2), { out: write(process.stdout), err: write(process.stderr), stdin: process.stdin }).catch((error: unknown) => {
    process.stderr.write(`${explain(error) ?? `mobyle2-admin: ${(error as Error).stack ?? String(error)}`}\n`)
    process.exitCode = 1
  }).finally(async () => {
    // PGlite's and Prisma's schema engine's WebAssembly leave 10 s timers behind them, which
    // would hold the finished command that long: it exits once its output is written.
    await Promise.all([process.stdout, process.stderr].map(async (stream) => { await new Promise((resolve) => stream.write('', resolve)) }))
    process.exit()
  })
}
