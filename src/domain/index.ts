import { ApiKeys } from './api-keys.ts'
import { Groups } from './groups.ts'
import { LoginRecords } from './login-records.ts'
import { Projects } from './projects.ts'
import { Servers } from './servers.ts'
import { Services } from './services.ts'
import { Users } from './users.ts'
import { guardStorage } from './storable.ts'
import type { PrismaClient } from '../generated/prisma/client.ts'

/** The domain services every face calls; each checks the actor it is given. */
export interface Domain {
  servers: Servers
  services: Services
  users: Users
  groups: Groups
  projects: Projects
  apiKeys: ApiKeys
}

/**
 * The domain over one database, and beside it the login records only the
 * authenticator may read (they hold password hashes and check no actor).
 */
export function openDomain (client: PrismaClient): { domain: Domain, logins: LoginRecords } {
  const db = guardStorage(client)
  return {
    domain: {
      servers: new Servers(db),
      services: new Services(db),
      users: new Users(db),
      groups: new Groups(db),
      projects: new Projects(db),
      apiKeys: new ApiKeys(db)
    },
    logins: new LoginRecords(db)
  }
}

export * from './actor.ts'
export * from './errors.ts'
