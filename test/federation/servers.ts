/** Real servers for the federation tests: each on its own database, listening on 127.0.0.1. */
import { buildApp, type App } from '../../src/app.ts'
import { systemActor } from '../../src/domain/index.ts'
import { basic, password } from '../fixtures.ts'
import type { Database } from '../../src/db/client.ts'
import { freePort, freshDatabase, tempDir, testConfig } from '../helper.ts'

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
  // The server must know its own URL before it listens: a port free a moment ago
  // may be taken by another test process in between, then another is tried.
  let url: string
  let app: App
  const storage = await tempDir(t, 'mobyle2-storage-')
  for (;;) {
    const port = await freePort()
    url = `http://127.0.0.1:${port}`
    app = await buildApp({ config: testConfig({ SERVER_NAME: name, PUBLIC_URL: url, SYNC_TIMEOUT_SECONDS: '3', STORAGE_DIR: storage, ...options.env }), db })
    try {
      await app.listen({ host: '127.0.0.1', port })
      break
    } catch (error) {
      await app.close()
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error
    }
  }
  t.teardown(() => app.close())
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
