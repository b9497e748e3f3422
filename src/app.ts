/**
 * Builds the Fastify application on an open database: used by src/main.ts and by
 * the tests, with the same options.
 */
import Fastify, { type FastifyBaseLogger, type FastifyServerOptions } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Authenticator } from './auth/authenticator.ts'
import type { Config } from './config.ts'
import type { Database } from './db/client.ts'
import type { DataStorage } from './domain/blobs.ts'
import { openDomain, type Domain } from './domain/index.ts'
import actorPlugin from './http/actor.ts'
import healthRoutes from './http/health.ts'
import homeRoutes from './http/home.ts'
import { clientErrorHandler, frameworkErrorHandler, httpErrorHandler, notFoundHandler } from './http/problems.ts'
import restFace from './rest/index.ts'
import jsonRpcFace from './rpc/jsonrpc/index.ts'
import xmlrpcFace from './rpc/xmlrpc/index.ts'
import { federationOptions } from './federation/catalogue.ts'
import { startPeriodicSync } from './federation/periodic-sync.ts'
import { FileBlobStore } from './storage/file-store.ts'
import { startSweeping } from './storage/sweep.ts'
import { FileUploadStore } from './storage/upload-store.ts'
import { JobEvents } from './jobs/events.ts'
import { startRunningJobs } from './jobs/start.ts'

export interface AppDependencies {
  config: Config
  db: Database
  logger?: FastifyServerOptions['logger']
}

declare module 'fastify' {
  interface FastifyInstance {
    domain: Domain
    config: Config
    /** Jobs' transitions as they happen, for their event streams. */
    jobEvents: JobEvents
  }
}

export async function buildApp ({ config, db, logger }: AppDependencies) {
  const app = Fastify({
    logger: logger ?? await loggerOptions(config),
    bodyLimit: config.BODY_LIMIT,
    trustProxy: config.TRUST_PROXY,
    // The mobyle2 API spells collections both ways: /servers/ and /servers.
    routerOptions: { ignoreTrailingSlash: true },
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
    requestTimeout: config.REQUEST_TIMEOUT_SECONDS * 1000,
    // Node takes the timeout only when the server is made (Fastify sets it after), and looks for
    // requests past their time every connectionsCheckingInterval (30 s by default: as long as the timeout).
    http: { requestTimeout: config.REQUEST_TIMEOUT_SECONDS * 1000, connectionsCheckingInterval: 1000 }
  }).withTypeProvider<TypeBoxTypeProvider>()
  app.server.maxConnections = config.MAX_CONNECTIONS

  const storage = dataStorage(config, app.log)
  const { domain, logins } = openDomain(db, {
    cacheEntries: config.READ_CACHE_ENTRIES,
    cacheValues: config.READ_CACHE_VALUES,
    federation: federationOptions(config),
    storage,
    routes: config.jobRoutes
  })
  const authenticator = new Authenticator(logins, {
    maxFailures: config.LOGIN_MAX_FAILURES,
    windowSeconds: config.LOGIN_WINDOW_SECONDS,
    maxAddressFailures: config.LOGIN_MAX_ADDRESS_FAILURES,
    usernameSlowAfter: config.LOGIN_USERNAME_SLOW_AFTER,
    usernameMaxDelaySeconds: config.LOGIN_USERNAME_MAX_DELAY_SECONDS,
    cacheSeconds: config.CREDENTIAL_CACHE_SECONDS,
    onBookkeepingError: (error) => { app.log.warn({ err: error }, 'could not record when a login or API key was last used') }
  })
  app.addHook('onClose', async () => { await authenticator.settled() })
  const unsubscribe = db.changes.subscribe({
    changed: () => {},
    deaf: (error) => { app.log.warn({ err: error }, 'database change notifications lost: reading everything from the database until they are back') },
    hearing: () => { app.log.info('hearing database change notifications: read answers are remembered until a change') }
  })
  app.addHook('onClose', async () => { unsubscribe() })
  const jobEvents = new JobEvents(domain.jobQueue, db.changes, (error) => { app.log.error({ err: error }, 'could not read jobs\' transitions for their event streams') })
  app.addHook('onClose', async () => { jobEvents.close() })
  app.decorate('jobEvents', jobEvents)
  app.decorate('domain', domain)
  app.decorate('config', config)
  app.setErrorHandler(httpErrorHandler)
  app.setNotFoundHandler(notFoundHandler)
  await app.register(actorPlugin, { authenticator })
  await app.register(healthRoutes, { db })
  await app.register(homeRoutes)
  await app.register(restFace, { uploads: storage.uploads })
  await app.register(jsonRpcFace, { authenticator })
  await app.register(xmlrpcFace)
  if (config.SYNC_INTERVAL_SECONDS > 0) startPeriodicSync(app, config.SYNC_INTERVAL_SECONDS)
  startSweeping(app, config.DATA_SWEEP_INTERVAL_SECONDS)
  startRunningJobs(app, db.changes, storage, { alone: db.kind === 'pglite' })
  return app
}

export type App = Awaited<ReturnType<typeof buildApp>>

/**
 * A worker (`npm run worker`): the same domain and job dispatcher as a server's,
 * no HTTP listener. It only runs jobs, so nothing of a server's reading and
 * serving is built.
 */
export async function buildWorker ({ config, db, logger }: AppDependencies) {
  const app = Fastify({ logger: logger ?? await loggerOptions(config) })
  const storage = dataStorage(config, app.log)
  const { domain } = openDomain(db, {
    cacheEntries: config.READ_CACHE_ENTRIES, cacheValues: config.READ_CACHE_VALUES, federation: federationOptions(config), storage, routes: config.jobRoutes
  })
  app.decorate('domain', domain)
  app.decorate('config', config)
  startRunningJobs(app, db.changes, storage, { alone: false })
  return app
}

/** Where items' content and unfinished uploads are kept (STORAGE_DIR, or DATA_DIR), and their limits. */
function dataStorage (config: Config, log: FastifyBaseLogger): DataStorage & { uploads: FileUploadStore } {
  const storageDir = config.STORAGE_DIR ?? config.DATA_DIR
  return {
    store: new FileBlobStore(storageDir, {
      // A body arrives within REQUEST_TIMEOUT_SECONDS; its item is created within a transaction's time after.
      staleAfterMs: (config.REQUEST_TIMEOUT_SECONDS + 60) * 1000
    }),
    uploads: new FileUploadStore(storageDir, { expirySeconds: config.UPLOAD_EXPIRY_SECONDS }),
    maxBytes: config.DATA_MAX_BYTES,
    quotaBytes: config.DATA_PROJECT_QUOTA_BYTES,
    onReclaimError: (error) => { log.warn({ err: error }, 'could not remove content no item refers to any more: the next sweep will') }
  }
}

async function loggerOptions (config: Config): Promise<FastifyServerOptions['logger']> {
  const pretty = config.LOG_FORMAT === 'pretty' || (config.LOG_FORMAT === 'auto' && process.stdout.isTTY === true)
  return {
    level: config.LOG_LEVEL,
    // Never write credentials to the log: not the headers, not ?api_key= in the URL.
    serializers: {
      req: (request: { method: string, url: string, ip?: string, id?: string }) =>
        ({ method: request.method, url: redactUrl(request.url), remoteAddress: request.ip, id: request.id })
    },
    // Synchronous, in this thread: the last lines before an exit are not lost.
    ...(pretty ? { stream: (await import('pino-pretty')).default({ sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }) } : {})
  }
}

function redactUrl (url: string): string {
  return url.replace(/([?&]api_key=)[^&]*/gi, '$1[redacted]')
}
