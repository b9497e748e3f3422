/**
 * REST benchmark, side by side in one run on the embedded database: the cost of
 * a keyed collection read against the bare health check, and of each way to
 * authenticate (anonymous, Basic with the credential cache, Basic hashing every
 * time, API key), and the same question (every server) through REST, XML-RPC
 * and JSON-RPC. Traffic goes to 127.0.0.1 only; the whole run takes ~50 s.
 *
 *   npm run bench
 */
import type { AddressInfo } from 'node:net'
import autocannon from 'autocannon'
import { buildApp } from '../src/app.ts'
import { loadConfig } from '../src/config.ts'
import { openDatabase } from '../src/db/client.ts'
import { applyMigrations } from '../src/db/migrate.ts'
import { systemActor } from '../src/domain/index.ts'

const secondsEach = 4
const password = 'bench password'

async function startServer (cacheSeconds: number) {
  const db = await openDatabase({ dataDir: 'memory://' })
  await applyMigrations(db)
  const app = await buildApp({ config: loadConfig({ LOG_LEVEL: 'silent', CREDENTIAL_CACHE_SECONDS: String(cacheSeconds) }), db })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const admin = await app.domain.users.create(systemActor, { username: 'bench', password, is_admin: true })
  const { secret } = await app.domain.apiKeys.create(systemActor, admin.id, { label: 'bench' })
  for (let i = 0; i < 20; i++) {
    await app.domain.servers.create(systemActor, { name: `server${i}`, url: `http://server${i}.example` })
    await app.domain.services.create(systemActor, { name: `service${i}`, server: `server${i}`, type: 'program' })
  }
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  return { url, apiKey: secret, close: async () => { await app.close(); await db.close() } }
}

async function measure (url: string, headers: Record<string, string> = {}, body?: string): Promise<number> {
  const result = await autocannon({ url, headers, body, method: body === undefined ? 'GET' : 'POST', connections: 10, duration: secondsEach })
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`)
  return result.requests.average
}

const basicHeader = { authorization: `Basic ${Buffer.from(`bench:${password}`).toString('base64')}` }
const cached = await startServer(60)
const uncached = await startServer(0)
try {
  const rows: Array<[string, number]> = []
  rows.push(['GET /healthz', await measure(`${cached.url}/healthz`)])
  rows.push(['GET /servers/ anonymous', await measure(`${cached.url}/servers/`)])
  rows.push(['GET /servers/ Basic, cached', await measure(`${cached.url}/servers/`, basicHeader)])
  rows.push(['GET /servers/ API key', await measure(`${cached.url}/servers/`, { 'x-api-key': cached.apiKey })])
  rows.push(['GET /servers/ Basic, uncached', await measure(`${uncached.url}/servers/`, basicHeader)])
  rows.push(['GET /services/ anonymous', await measure(`${cached.url}/services/`)])
  // The same question (every server) through the two RPC faces, to show what their translation costs.
  rows.push(['XML-RPC list(server) anonymous', await measure(`${cached.url}/xmlrpc`, { 'content-type': 'text/xml' },
    "<?xml version='1.0'?><methodCall><methodName>list</methodName><params><param><value><string>server</string></value></param></params></methodCall>")])
  rows.push(['JSON-RPC get_servers anonymous', await measure(`${cached.url}/_admin/api`, { 'content-type': 'application/json' },
    JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'get_servers', params: {} }))])
  const base = rows[0]![1]
  const anonymous = rows[1]![1]
  process.stdout.write('requests/s (10 connections, 4 s each, embedded database)\n')
  for (const [name, rate] of rows) {
    process.stdout.write(`${name.padEnd(32)} ${rate.toFixed(0).padStart(8)}   ×${(rate / base).toFixed(3)} of /healthz   ×${(rate / anonymous).toFixed(3)} of anonymous /servers/\n`)
  }
} finally {
  await cached.close()
  await uncached.close()
}
