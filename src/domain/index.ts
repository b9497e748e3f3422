import type { Database } from '../db/client.ts'
import { ApiKeys } from './api-keys.ts'
import { Federation, type FederationOptions } from './federation.ts'
import { Groups } from './groups.ts'
import { LoginRecords } from './login-records.ts'
import { Projects } from './projects.ts'
import { ReadModel } from './read-model.ts'
import { Servers } from './servers.ts'
import { Services } from './services.ts'
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
}

export interface DomainOptions {
  /** Most read answers remembered (src/domain/read-model.ts); 0 remembers none. */
  cacheEntries?: number
  /** Most values all remembered answers hold together. */
  cacheValues?: number
  /** This server's name and address, and how it fetches a peer's catalogue; without, a sync is refused. */
  federation?: FederationOptions
}

const noFederation: FederationOptions = {
  self: { name: 'local', url: 'http://127.0.0.1:8080' },
  fetchCatalogue: async () => { throw new Error('this process does not sync peers (only a server does)') },
  maxServices: 0,
  claimSeconds: 0
}

/**
 * The domain over one database, and beside it the login records only the
 * authenticator may read (they hold password hashes and check no actor).
 * Every service shares one read model: reads are answered from memory while
 * nothing they read has changed; the faces cannot tell.
 */
export function openDomain (db: Pick<Database, 'prisma' | 'changes'>, options: DomainOptions = {}):
{ domain: Domain, logins: LoginRecords, memory: ReadModel } {
  const client = guardStorage(db.prisma)
  const memory = new ReadModel(db.changes, { maxEntries: options.cacheEntries ?? 1000, maxValues: options.cacheValues ?? 1_000_000 })
  const servers = new Servers(client, memory)
  const federation = options.federation ?? noFederation
  return {
    domain: {
      servers,
      services: new Services(client, memory, federation.self.name),
      federation: new Federation(client, memory, servers, federation),
      users: new Users(client, memory),
      groups: new Groups(client, memory),
      projects: new Projects(client, memory),
      apiKeys: new ApiKeys(client, memory)
    },
    logins: new LoginRecords(client, memory, db.changes),
    memory
  }
}

export * from './actor.ts'
export * from './errors.ts'
