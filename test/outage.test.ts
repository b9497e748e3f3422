/**
 * PostgreSQL gone and back under a load of reads and writes, as a server process
 * meets it (its connections cut and refused by a TCP proxy of the test's own, as
 * when the database restarts): every answer is a 2xx or a 503 with Retry-After
 * (XML-RPC and JSON-RPC say the same in their own forms), /readyz says not ready
 * while it lasts and ready after, the log says so once rather than once a request,
 * and every write answered 201 is there afterwards.
 */
import t from 'tap'
import { emptyPostgresDatabase } from './helper.ts'
import { listeningServer } from './processes.ts'
import { tcpProxy } from './tcp-proxy.ts'

const skip = process.env.TEST_DATABASE_URL === undefined || process.env.TEST_DATABASE_URL === ''
  ? 'TEST_DATABASE_URL is not set: this test needs PostgreSQL' : false
const adminKey = 'mobyle2-outage-admin-key-0123456789abcdef'

t.test('the database gone and back: 503 with Retry-After meanwhile, nothing acknowledged lost', { skip }, async (t) => {
  const url = new URL(await emptyPostgresDatabase(t))
  const proxy = await tcpProxy(t, url)
  const server = await listeningServer(t, {
    DATABASE_URL: proxy.url(),
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
  await new Promise((resolve) => setTimeout(resolve, 1000))
  proxy.cut()
  await new Promise((resolve) => setTimeout(resolve, 1500))
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
  await new Promise((resolve) => setTimeout(resolve, 1500))
  proxy.restore()
  const back = Date.now()
  while ((await fetch(`${server.url}/readyz`)).status !== 200) {
    if (Date.now() - back > 20_000) throw new Error('the server did not find its database again')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.pass('/readyz: ready again once the database is back, without a restart')
  await new Promise((resolve) => setTimeout(resolve, 1000))
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
})
