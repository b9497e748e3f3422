import { ApiKeys } from './api-keys.ts'
import { Credentials } from './credentials.ts'
import { Groups } from './groups.ts'
import { Projects } from './projects.ts'
import { Servers } from './servers.ts'
import { Services } from './services.ts'
import { Users } from './users.ts'
import { guardStorage } from './storable.ts'
import type { PrismaClient } from '../generated/prisma/client.ts'

/** The domain services every face calls; built once per database. */
export interface Domain {
  servers: Servers
  services: Services
  users: Users
  groups: Groups
  projects: Projects
  apiKeys: ApiKeys
  credentials: Credentials
}

export function createDomain (client: PrismaClient): Domain {
  const db = guardStorage(client)
  return {
    servers: new Servers(db),
    services: new Services(db),
    users: new Users(db),
    groups: new Groups(db),
    projects: new Projects(db),
    apiKeys: new ApiKeys(db),
    credentials: new Credentials(db)
  }
}

export * from './actor.ts'
export * from './errors.ts'
