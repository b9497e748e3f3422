/**
 * A worker (`npm run worker`): runs the queued jobs of a PostgreSQL database that
 * API servers share, on a host of its own, with no HTTP listener. Configured like
 * a server (the same variables); it needs DATABASE_URL, and STORAGE_DIR on a
 * filesystem the servers share, since it reads the jobs' inputs and writes their
 * outputs there.
 */
import { buildWorker } from './app.ts'
import { openDatabase } from './db/client.ts'
import { MigrationError, prepareDatabase } from './db/migrate.ts'
import { configOrFail, fail as failed } from './startup.ts'

const program = 'mobyle2-worker'
function fail (message: string): never {
  failed(program, message)
}
const config = configOrFail(program)
if (config.DATABASE_URL === undefined) {
  fail('DATABASE_URL is not set: a worker runs the jobs of the PostgreSQL database its servers share ' +
    '(the embedded database is its one server\'s, and that server runs its jobs itself)')
}
if (config.JOB_CONCURRENCY === 0) fail('JOB_CONCURRENCY is 0: a worker that may run no job has nothing to do')

const db = await openDatabase({ url: config.DATABASE_URL, poolSize: config.DATABASE_POOL_SIZE })
  .catch((error: Error) => fail(`cannot open the database: ${error.message}`))
try {
  await prepareDatabase(db, { migrate: false })
} catch (error) {
  await db.close().catch(() => {})
  fail(error instanceof MigrationError ? error.message : `cannot prepare the database: ${(error as Error).message}`)
}

const worker = await buildWorker({ config, db })
worker.addHook('onClose', async () => { await db.close() })
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    worker.log.info({ signal }, 'stopping: the jobs running here end error/lost')
    worker.close().then(() => process.exit(0), (error: Error) => {
      worker.log.error({ err: error }, 'shutdown failed')
      process.exit(1)
    })
  })
}
await worker.ready()
