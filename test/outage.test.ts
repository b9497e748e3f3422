/**
 * PostgreSQL gone and back under a load of reads and writes, as a server process
 * meets it: every answer is a 2xx or a 503 with Retry-After (XML-RPC and JSON-RPC
 * say the same in their own forms), /readyz says not ready while it lasts and
 * ready after, the log says so once rather than once a request, and every write
 * answered 201 is there afterwards. Twice: a PostgreSQL of the test's own stopped
 * (`pg_ctl stop -m fast`) and started again, and the server's link to the shared
 * one cut and refused by a TCP proxy of the test's own.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { chown } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { postgresDatabase, freePort, tempDir } from './helper.ts'
import { listeningServer } from './processes.ts'
import { tcpProxy } from './tcp-proxy.ts'

interface Teardown { teardown: (fn: () => unknown) => void }

const adminKey = 'mobyle2-outage-admin-key-0123456789abcdef'
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** A load of two writers and two readers on a server whose database goes `down` and comes back `up`, checked. */
async function outageUnderLoad (t: Test, databaseUrl: string, outage: { down: () => Promise<void> | void, up: () => Promise<void> | void }): Promise<void> {
  const server = await listeningServer(t, {
    DATABASE_URL: databaseUrl,
    MIGRATE_ON_START: 'true',
    MOBYLE_ADMIN_USERNAME: 'admin',
    MOBYLE_ADMIN_PASSWORD: 'admin-password',
    MOBYLE_ADMIN_API_KEY: adminKey,
    DATABASE_POOL_SIZE: '4'
  })
  const headers = { 'x-api-key': adminKey, 'content-type': 'application/json' }
  const statuses = new Map<number, number>()
  const withoutRetryAfter: string[] = []
  const created: string[] = []
  let running = true
  let n = 0
  const note = (response: Response, what: string): void => {
    statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
    if (response.status === 503 && response.headers.get('retry-after') === null) withoutRetryAfter.push(what)
  }
  const writer = async (): Promise<void> => {
    while (running) {
      const name = `svc-${++n}`
      const response = await fetch(`${server.url}/services`, { method: 'POST', headers, body: JSON.stringify({ name, server: 'local', type: 'program' }) })
      note(response, `POST ${name}`)
      if (response.status === 201) created.push(name)
      await response.arrayBuffer()
    }
  }
  const reader = async (): Promise<void> => {
    while (running) {
      const response = await fetch(`${server.url}/services/?limit=5`, { headers: { 'x-api-key': adminKey } })
      note(response, 'GET /services/')
      await response.arrayBuffer()
    }
  }
  const load = [writer(), writer(), reader(), reader()]
  await sleep(1000)
  await outage.down()
  await sleep(1500)
  const ready = await fetch(`${server.url}/readyz`)
  t.equal(ready.status, 503, '/readyz: not ready while the database is gone')
  const xml = await fetch(`${server.url}/xmlrpc`, {
    method: 'POST',
    headers: { 'x-api-key': adminKey, 'content-type': 'text/xml' },
    body: '<?xml version="1.0"?><methodCall><methodName>list</methodName><params><param><value><string>server</string></value></param></params></methodCall>'
  })
  t.match(await xml.text(), /<name>faultCode<\/name>\s*<value><int>503<\/int>[\s\S]*cannot be reached/, 'XML-RPC: fault 503')
  const json = await fetch(`${server.url}/_admin/api`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'get_servers', params: { api_key: adminKey } })
  })
  t.match(await json.json(), { error: { code: -32053, data: { retryAfterSeconds: 2 } } }, 'JSON-RPC: -32053 with the wait')
  await sleep(1500)
  await outage.up()
  const back = Date.now()
  while ((await fetch(`${server.url}/readyz`)).status !== 200) {
    if (Date.now() - back > 20_000) throw new Error('the server did not find its database again')
    await sleep(100)
  }
  t.pass('/readyz: ready again once the database is back, without a restart')
  await sleep(1000)
  running = false
  await Promise.all(load)

  const seen = Object.fromEntries(statuses)
  t.ok((statuses.get(503) ?? 0) > 0, `some answers were 503 (${JSON.stringify(seen)})`)
  t.same([...statuses.keys()].filter((status) => status !== 200 && status !== 201 && status !== 503), [],
    'and every answer was a 2xx or a 503: no 500')
  t.same(withoutRetryAfter, [], 'every 503 says when to try again')
  const listed = await (await fetch(`${server.url}/services/?limit=1000`, { headers: { 'x-api-key': adminKey } })).json() as Record<string, unknown>
  const missing = created.filter((name) => !(`${name}::local` in listed))
  t.same(missing, [], `every one of the ${created.length} creations answered 201 is there`)
  const unreachableLines = server.output().split('\n').filter((line) => line.includes('the database cannot be reached'))
  t.ok(unreachableLines.length >= 1 && unreachableLines.length <= 3, `the outage is logged once or so, not once a request (${unreachableLines.length} lines)`)
  t.notMatch(server.output(), /"level":50[^\n]*"msg":"request failed"/, 'no internal error was logged')
}

/** The binaries of the newest PostgreSQL installed from Debian's packages, if any. */
function postgresBin (): string | undefined {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const version = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a))[0]
  return version === undefined ? undefined : join(root, version, 'bin')
}

/** A PostgreSQL cluster of the test's own, in a temporary directory, on its own port: stopped and started at will. */
async function ownPostgres (t: Teardown, bin: string) {
  const dir = await tempDir(t, 'own-postgres-')
  // PostgreSQL refuses to run as root: as root, the cluster is the postgres user's.
  const asRoot = process.getuid?.() === 0
  if (asRoot) await chown(dir, Number(execFileSync('id', ['-u', 'postgres']).toString()), Number(execFileSync('id', ['-g', 'postgres']).toString()))
  const run = (program: string, args: string[]): void => {
    const command = join(bin, program)
    execFileSync(asRoot ? 'runuser' : command, asRoot ? ['-u', 'postgres', '--', command, ...args] : args, { stdio: 'ignore' })
  }
  let port = 0
  const data = join(dir, 'data')
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres'])
  const start = (): void => { run('pg_ctl', ['-D', data, '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, '-l', join(dir, 'log'), '-w', 'start']) }
  const stop = (): void => { run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']) }
  // A port free a moment ago may be taken by another test process before PostgreSQL listens: try another.
  for (let attempt = 1; ; attempt++) {
    port = await freePort()
    try {
      start()
      break
    } catch (error) {
      if (attempt === 3) throw error
    }
  }
  t.teardown(() => { try { run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']) } catch { /* stopped already */ } })
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, start, stop }
}

const bin = postgresBin()
t.test('PostgreSQL stopped and started: 503 with Retry-After meanwhile, nothing acknowledged lost', {
  skip: bin === undefined ? 'no PostgreSQL binaries (/usr/lib/postgresql/*/bin): this test starts and stops a PostgreSQL of its own' : false
}, async (t) => {
  const postgres = await ownPostgres(t, bin!)
  await outageUnderLoad(t, postgres.url, { down: postgres.stop, up: postgres.start })
})

t.test('the link to PostgreSQL cut and refused: the same', {
  skip: process.env.TEST_DATABASE_URL === undefined || process.env.TEST_DATABASE_URL === '' ? 'TEST_DATABASE_URL is not set: this test needs PostgreSQL' : false
}, async (t) => {
  const proxy = await tcpProxy(t, new URL(await postgresDatabase(t)))
  await outageUnderLoad(t, proxy.url(), { down: () => proxy.cut(), up: () => proxy.restore() })
})
