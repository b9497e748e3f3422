import type { ChangeFeed } from '../db/changes.ts'
import type { Database } from '../db/client.ts'
import { ApiKeys } from './api-keys.ts'
import { DomainError, PeerFailed } from './errors.ts'
import { Federation, type FederationOptions } from './federation.ts'
import { Groups } from './groups.ts'
import { LoginRecords } from './login-records.ts'
import { Projects } from './projects.ts'
import { ReadCache } from './read-cache.ts'
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
  /** Most read answers remembered (src/domain/read-cache.ts); 0 remembers none. */
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
 *
 * Reads are answered from memory when nothing has changed since they were last
 * asked; the faces cannot tell.
 */
export function openDomain (db: Pick<Database, 'prisma' | 'changes'>, options: DomainOptions = {}):
{ domain: Domain, logins: LoginRecords, cache: ReadCache } {
  const client = guardStorage(db.prisma)
  const limits = { maxEntries: options.cacheEntries ?? 1000, maxValues: options.cacheValues ?? 1_000_000 }
  const cache = new ReadCache(db.changes, limits)
  // Who is calling is asked on every request: it stays remembered while only other tables change.
  const loginCache = new ReadCache(db.changes, { ...limits, tables: ['user', 'api_key'] })
  const remember = <T extends object>(name: string, target: T, { reads, untracked = [], writes, readCache = cache }: {
    reads: Array<Method<T>>
    untracked?: Array<Method<T>>
    /** The tables its writes change, cascades included, when that is known for certain; without, a write empties every cache. */
    writes?: string[]
    readCache?: ReadCache
  }): T => remembering({
    read: readCache,
    forget: () => { cache.forget(); loginCache.forget(writes) },
    changes: db.changes
  }, name, target, new Set<string>(reads), new Set<string>(untracked))
  const federation = options.federation ?? noFederation
  const servers = new Servers(client)
  // What deleting a service takes with it: favorites go, jobs keep their row without it.
  const serviceTables = ['service', 'favorite', 'job']
  return {
    domain: {
      // A server's deletion takes its services (and their copies) with it.
      servers: remember('servers', servers, { reads: ['search', 'list', 'get'], writes: ['server', ...serviceTables] }),
      services: remember('services', new Services(client, federation.self.name), { reads: ['search', 'list', 'get'], writes: serviceTables }),
      // The periodic sync answers nobody: the database's own notices empty the caches after its writes.
      federation: remember('federation', new Federation(client, servers, federation), { reads: [], untracked: ['syncDue'], writes: ['server', ...serviceTables] }),
      users: remember('users', new Users(client), { reads: ['search', 'list', 'get', 'lookup', 'hasActiveAdmin'] }),
      groups: remember('groups', new Groups(client), { reads: ['search', 'list', 'get'] }),
      projects: remember('projects', new Projects(client), {
        reads: [
          'list', 'listVisible', 'searchVisible', 'standingsOf', 'get',
          'listJobs', 'searchJobs', 'getJob', 'listData', 'searchData', 'getData'
        ]
      }),
      apiKeys: remember('apiKeys', new ApiKeys(client), { reads: ['search', 'list', 'get'] })
    },
    // Failed logins are no data anyone reads: recording them empties nothing.
    logins: remember('logins', new LoginRecords(client, db.changes), {
      reads: ['byId', 'byApiKeyDigest'],
      untracked: ['byUsername', 'loginFailures', 'recordFailure', 'forgetFailure', 'forgetPairFailures', 'forgetFailuresOlderThan'],
      readCache: loginCache
    }),
    cache
  }
}

type Method<T> = { [K in keyof T]: T[K] extends (...args: never[]) => Promise<unknown> ? K : never }[keyof T] & string

/**
 * `target` with its `reads` answered through the cache, and every other method
 * (but the `untracked`) taken as a write that empties the cache once it returns,
 * and is answered once every process sharing the database has been told:
 * a method nobody classified is a write, which can cost speed but never serve
 * stale answers. Calls inside `target` (a write's own reads) bypass the cache.
 */
function remembering<T extends object> ({ read, forget, changes }: { read: ReadCache, forget: () => void, changes: ChangeFeed },
  name: string, target: T, reads: Set<string>, untracked: Set<string>): T {
  const methods = new Map<string, unknown>()
  return new Proxy(target, {
    get (object, property) {
      const value: unknown = Reflect.get(object, property, object)
      if (typeof value !== 'function' || typeof property !== 'string') return value
      let method = methods.get(property)
      if (method === undefined) {
        const call = (value as (...args: unknown[]) => Promise<unknown>).bind(object)
        method = reads.has(property)
          // No async wrapper of its own: a remembered answer is handed out as the very promise kept (reads are asked on every request).
          ? (...args: unknown[]) => read.read([name, property, ...args], () => call(...args))
          : untracked.has(property)
            ? call
            : async (...args: unknown[]) => {
              try {
                const result = await call(...args)
                forget()
                await changes.caughtUp()
                return result
              } catch (error) {
                // A refused write wrote nothing (its transaction rolled back); anything else may have.
                // A failed sync is a refusal that recorded itself on the server row.
                if (error instanceof PeerFailed) {
                  forget()
                  await changes.caughtUp()
                } else if (!(error instanceof DomainError)) forget()
                throw error
              }
            }
        methods.set(property, method)
      }
      return method
    }
  })
}

export * from './actor.ts'
export * from './errors.ts'
