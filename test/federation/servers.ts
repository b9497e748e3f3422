/** Real servers for the federation tests: each on its own database, listening on 127.0.0.1. */
import { createServer, type AddressInfo } from 'node:net'
import { buildApp, type App } from '../../src/app.ts'
import { systemActor } from '../../src/domain/index.ts'
import { basic, password } from '../fixtures.ts'
import type { Database } from '../../src/db/client.ts'
import { freshDatabase, testConfig } from '../helper.ts'

interface Teardown { teardown: (fn: () => unknown) => void }

export interface Peer {
  name: string
  app: App
  url: string
  admin: { authorization: string }
  /** The administrator's API key, for JSON-RPC. */
  key: string
  call: (method: string, path: string, body?: unknown) => Promise<{ status: number, body: any }>
}

/** A server named `name`, listening on 127.0.0.1, with an administrator `admin`. */
export async function startServer (t: Teardown, name: string, kind: 'pglite' | 'postgresql',
  options: { env?: Record<string, string>, db?: Database } = {}): Promise<Peer> {
  const db = options.db ?? await freshDatabase(t, kind)
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const app = await buildApp({ config: testConfig({ SERVER_NAME: name, PUBLIC_URL: url, SYNC_TIMEOUT_SECONDS: '3', ...options.env }), db })
  t.teardown(() => app.close())
  await app.listen({ host: '127.0.0.1', port })
  await app.domain.federation.declareSelf()
  const user = await app.domain.users.get(systemActor, 'admin').catch(async () =>
    await app.domain.users.create(systemActor, { username: 'admin', password, is_admin: true }))
  const { secret: key } = await app.domain.apiKeys.create(systemActor, user.id, { label: 'tests' })
  const admin = basic('admin')
  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number, body: any }> => {
    const response = await app.inject({ method: method as 'GET', url: path, headers: admin, ...(body === undefined ? {} : { payload: body as object }) })
    return { status: response.statusCode, body: response.body === '' ? null : response.json() }
  }
  return { name, app, url, admin, key, call }
}

/** A port nothing listens on now. */
async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}
