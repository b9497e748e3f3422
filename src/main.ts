/**
 * Process entry: configuration → database → migrations → bootstrap → listen,
 * and a graceful shutdown on SIGINT/SIGTERM.
 */
import { statfs } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { runAdminCommand } from './admin/commands.ts'
import { serveAdminCommands } from './admin/control.ts'
import { buildApp } from './app.ts'
import { bootstrapAdmin } from './auth/bootstrap.ts'
import type { Config } from './config.ts'
import { openDatabase } from './db/client.ts'
import { DataDirLocked } from './db/data-dir-lock.ts'
import { MigrationError, prepareDatabase } from './db/migrate.ts'
import { configOrFail, fail as failed } from './startup.ts'

/** Below this, an embedded database that fails to open is said to lack space. */
const minimumFreeBytes = 64 * 1024 * 1024

const program = 'mobyle2-server'
function fail (message: string): never {
  failed(program, message)
}
const config = configOrFail(program)

// An admin command holding DATA_DIR finishes in moments; another server is refused at once.
const db = await openDatabase({ url: config.DATABASE_URL, dataDir: config.DATA_DIR, poolSize: config.DATABASE_POOL_SIZE, lockWaitMs: 15_000 })
  .catch(async (error: Error) => {
    if (error instanceof DataDirLocked) fail(error.message)
    const free = config.DATABASE_URL === undefined ? await freeBytes(config.DATA_DIR) : undefined
    if (free !== undefined && free < minimumFreeBytes) {
      fail(`cannot open the database in ${resolve(config.DATA_DIR)}: the disk holding it has ${Math.floor(free / 1024 / 1024)} MB free; ` +
        `free some space there and start again (${error.message})`)
    }
    fail(`cannot open the database: ${error.message}`)
  })

try {
  await prepareDatabase(db, { migrate: config.MIGRATE_ON_START })
} catch (error) {
  await db.close().catch(() => {})
  if (error instanceof MigrationError) fail(error.message)
  fail(`cannot prepare the database: ${(error as Error).message}`)
}

const app = await buildApp({ config, db })
const control = db.lock === null
  ? null
  : await serveAdminCommands(db.lock.socket, async (command) => await runAdminCommand({ db, domain: app.domain }, command), app.log)
app.addHook('onClose', async () => {
  await control?.close()
  await db.close()
})

await app.domain.federation.declareSelf()
const created = await bootstrapAdmin(app.domain, {
  username: config.MOBYLE_ADMIN_USERNAME,
  password: config.MOBYLE_ADMIN_PASSWORD,
  apiKey: config.MOBYLE_ADMIN_API_KEY
})
if (created !== null) app.log.info({ username: created }, 'created the first administrator')
else if (!await app.domain.users.hasActiveAdmin()) app.log.warn(noAdministratorHint(config))

let closing = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (closing) return
    closing = true
    app.log.info({ signal }, 'shutting down: finishing requests in flight')
    // A request that never ends (a client trickling its body, a hung query) must not keep the process alive.
    setTimeout(() => {
      app.log.warn({ seconds: config.SHUTDOWN_TIMEOUT_SECONDS }, 'requests still in flight after SHUTDOWN_TIMEOUT_SECONDS: exiting anyway')
      process.exit(1)
    }, config.SHUTDOWN_TIMEOUT_SECONDS * 1000).unref()
    app.close().then(() => process.exit(0), (error: Error) => {
      app.log.error({ err: error }, 'shutdown failed')
      process.exit(1)
    })
  })
}

try {
  await app.listen({ host: config.HOST, port: config.PORT })
} catch (error) {
  await app.close()
  fail(`cannot listen on ${config.HOST}:${config.PORT}: ${(error as Error).message}`)
}

/** The space left for an unprivileged writer on the disk holding `dir` (or its nearest existing parent). */
async function freeBytes (dir: string): Promise<number | undefined> {
  for (let at = resolve(dir); ; at = dirname(at)) {
    try {
      const stats = await statfs(at)
      return stats.bavail * stats.bsize
    } catch {
      if (dirname(at) === at) return undefined
    }
  }
}

/** The one line a first run needs: nobody can log in yet, and the two ways to fix that. */
function noAdministratorHint (config: Config): string {
  const database = config.DATABASE_URL === undefined ? '' : ' with the same DATABASE_URL'
  return 'no active administrator yet: restart with MOBYLE_ADMIN_USERNAME and MOBYLE_ADMIN_PASSWORD set, ' +
    `or run \`npm run cli -- create-user <name> --admin --password-stdin\`${database} (it works while the server runs)`
}
