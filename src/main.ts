/**
 * Process entry: configuration → database → migrations → bootstrap → listen,
 * and a graceful shutdown on SIGINT/SIGTERM.
 */
import { buildApp } from './app.ts'
import { bootstrapAdmin } from './auth/bootstrap.ts'
import { ConfigError, loadConfig, type Config } from './config.ts'
import { openDatabase } from './db/client.ts'
import { MigrationError, prepareDatabase } from './db/migrate.ts'

function fail (message: string): never {
  process.stderr.write(`mobyle2-server: ${message}\n`)
  process.exit(1)
}

let config: Config
try {
  config = loadConfig()
} catch (error) {
  if (error instanceof ConfigError) fail(error.message)
  throw error
}

const db = await openDatabase({ url: config.DATABASE_URL, dataDir: config.DATA_DIR, poolSize: config.DATABASE_POOL_SIZE })
  .catch((error: Error) => fail(`cannot open the database: ${error.message}`))

try {
  await prepareDatabase(db, { migrate: config.MIGRATE_ON_START })
} catch (error) {
  await db.close().catch(() => {})
  if (error instanceof MigrationError) fail(error.message)
  fail(`cannot prepare the database: ${(error as Error).message}`)
}

const app = await buildApp({ config, db })
app.addHook('onClose', async () => { await db.close() })

const created = await bootstrapAdmin(app.domain, {
  username: config.MOBYLE_ADMIN_USERNAME,
  password: config.MOBYLE_ADMIN_PASSWORD,
  apiKey: config.MOBYLE_ADMIN_API_KEY
})
if (created !== null) app.log.info({ username: created }, 'created the first administrator')

let closing = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (closing) return
    closing = true
    app.log.info({ signal }, 'shutting down: finishing requests in flight')
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
