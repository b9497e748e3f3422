import { JobRoutes } from '../jobs/routes.ts'
import { Executors } from './executors.ts'
import type { Database } from '../db/client.ts'
import { ApiKeys } from './api-keys.ts'
import { Blobs, type DataStorage } from './blobs.ts'
import { Federation, type FederationOptions } from './federation.ts'
import { Groups } from './groups.ts'
import { JobQueue } from './job-queue.ts'
import { LoginRecords } from './login-records.ts'
import { Programs, Projects, Rosters } from './projects.ts'
import { ReadModel, remembering } from './read-model.ts'
import { Servers } from './servers.ts'
import { Services } from './services.ts'
import { Uploads } from './uploads.ts'
import { Users } from './users.ts'
import { guardStorage } from './storable.ts'

/** The domain services every face calls; each checks the actor it is given. */
export interface Domain {
  servers: Servers
  services: Services
  users: Users
  groups: Groups
  projects: Projects
  apiKeys: ApiKeys
  federation: Federation
  blobs: Blobs
  uploads: Uploads
  /** The dispatchers' side of jobs (src/jobs/dispatcher.ts): it checks no actor, and no face calls it. */
  jobQueue: JobQueue
  executors: Executors
}

export interface DomainOptions {
  /** Most read answers remembered (src/domain/read-model.ts); 0 remembers none. */
  cacheEntries?: number
  /** Most values all remembered answers hold together. */
  cacheValues?: number
  /** This server's name and address, and how it fetches a peer's catalogue; without, a sync is refused. */
  federation?: FederationOptions
  /** The blob store data items' content lives in, and its limits; without, content is refused. */
  storage?: DataStorage
  /** Which executor each submitted job goes to (JOB_ROUTES, JOB_EXECUTOR); without, the local one. */
  routes?: JobRoutes
}

const noFederation: FederationOptions = {
  self: { name: 'local', url: 'http://127.0.0.1:8080' },
  fetchCatalogue: async () => { throw new Error('this process does not sync peers (only a server does)') },
  maxServices: 0,
  claimSeconds: 0
}

const noStore = (): never => { throw new Error('this process keeps no data content (only a server does)') }
const noStorage: DataStorage = {
  store: { stage: noStore, place: noStore, discard: noStore, has: noStore, remove: noStore, list: noStore, sweepStaging: noStore, locate: noStore },
  uploads: { find: noStore, claim: noStore, sweep: noStore },
  maxBytes: 0,
  quotaBytes: 0,
  onReclaimError: () => {}
}

/**
 * The domain over one database, and beside it the login records only the
 * authenticator may read (they hold password hashes and check no actor).
 * Every service is wrapped by one read model (its methods declare what they read
 * and write): reads are answered from memory while nothing they read has
 * changed; the faces cannot tell.
 */
export function openDomain (db: Pick<Database, 'prisma' | 'changes'>, options: DomainOptions = {}):
{ domain: Domain, logins: LoginRecords, memory: ReadModel } {
  const client = guardStorage(db.prisma)
  const memory = new ReadModel(db.changes, { maxEntries: options.cacheEntries ?? 10_000, maxValues: options.cacheValues ?? 1_000_000 })
  const servers = new Servers(client)
  const federation = options.federation ?? noFederation
  const storage = options.storage ?? noStorage
  const jobQueue = remembering(memory, new JobQueue(client, storage))
  return {
    domain: {
      servers: remembering(memory, servers),
      services: remembering(memory, new Services(client, federation.self.name)),
      // It reads the servers as they are in the database, not as they were remembered.
      federation: remembering(memory, new Federation(client, servers, federation)),
      users: remembering(memory, new Users(client)),
      groups: remembering(memory, new Groups(client)),
      projects: remembering(memory, new Projects(client, storage, remembering(memory, new Rosters(client)), options.routes ?? JobRoutes.only('local'),
        remembering(memory, new Programs(client)))),
      apiKeys: remembering(memory, new ApiKeys(client)),
      blobs: remembering(memory, new Blobs(client, storage)),
      uploads: remembering(memory, new Uploads(storage)),
      jobQueue,
      executors: remembering(memory, new Executors(jobQueue, options.routes ?? JobRoutes.only('local')))
    },
    logins: remembering(memory, new LoginRecords(client, db.changes)),
    memory
  }
}

export * from './actor.ts'
export * from './errors.ts'
