/**
 * The server as `npm start` runs it: a real process, on an embedded database that
 * exists already (test/first-start.test.ts creates one) or on PostgreSQL.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { once } from 'node:events'
import { connect } from 'node:net'
import { postgresDatabase, migratedDataDir } from './helper.ts'
import { cli, listeningServer, serverEntry, startServer as start, waitUntilListening } from './processes.ts'

t.test('the server lists itself under SERVER_NAME at PUBLIC_URL, and its services default to it', async (t) => {
  const env = { DATA_DIR: await migratedDataDir(t), SERVER_NAME: 'pasteur', PUBLIC_URL: 'https://mobyle.example.org/', MOBYLE_ADMIN_USERNAME: 'admin', MOBYLE_ADMIN_PASSWORD: 'admin-secret' }
  const server = await listeningServer(t, env)
  t.same(await (await fetch(`${server.url}/servers/`)).json(),
    { pasteur: { url: 'https://mobyle.example.org', services: [], active: true, description: 'This server.' } })
  const created = await fetch(`${server.url}/services`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from('admin:admin-secret').toString('base64')}` },
    body: JSON.stringify({ name: 'blast', type: 'program' })
  })
  t.equal(created.headers.get('location'), '/services/blast::pasteur')
  const bad = start({ ...env, SERVER_NAME: 'a::b' })
  t.equal(await bad.exited, 1)
  t.match(bad.output(), /SERVER_NAME="a::b"/)
  const allowlist = start({ ...env, PEER_ALLOWLIST: 'https://peer.example.org' })
  t.equal(await allowlist.exited, 1)
  t.match(allowlist.output(), /PEER_ALLOWLIST entry "https:\/\/peer\.example\.org": give a host, not a URL/)
})

t.test('a bad configuration stops the process with the variable named', async (t) => {
  const running = start({ PORT: 'eighty' })
  t.equal(await running.exited, 1)
  t.match(running.output(), /PORT="eighty"/)
})

t.test('an unreachable PostgreSQL server stops the process with the reason', async (t) => {
  // Port 1 (tcpmux) is privileged and unserved here: the connection is refused.
  const running = start({ DATABASE_URL: 'postgres://nobody:x@127.0.0.1:1/none' })
  t.equal(await running.exited, 1)
  t.match(running.output(), /mobyle2-server: /)
  t.notMatch(running.output(), /^\s+at /m, 'no stack trace')
})

const serverUrl = process.env.TEST_DATABASE_URL
t.test('on PostgreSQL, the server refuses to start while migrations are pending', { skip: serverUrl === undefined ? 'TEST_DATABASE_URL is not set' : false }, async (t) => {
  const url = await postgresDatabase(t)
  const refused = start({ DATABASE_URL: url })
  t.equal(await refused.exited, 1)
  t.match(refused.output(), /lacks migrations .*npm run db:migrate/)

  t.match(await cli({ DATABASE_URL: url }, ['migrate']), { code: 0, stdout: /applied \d+_init/ })

  const started = start({ DATABASE_URL: url })
  t.teardown(() => started.child.kill('SIGKILL'))
  const address = await waitUntilListening(started)
  t.same(await (await fetch(`${address}/readyz`)).json(), { status: 'ok', database: 'postgresql' })
  started.child.kill('SIGTERM')
  t.equal(await started.exited, 0)
})

t.test('a first run explains itself: how to get in, what is where', async (t) => {
  const server = await listeningServer(t, { DATA_DIR: await migratedDataDir(t) })
  const lines = server.output().trim().split('\n').map((line) => JSON.parse(line) as { level: number, msg: string })
  const hint = lines.filter((line) => line.msg.includes('no active administrator'))
  t.equal(hint.length, 1, 'one line, in the JSON log (standard output is not a terminal)')
  t.equal(hint[0]?.level, 40, 'at warn level')
  t.match(hint[0]?.msg, /MOBYLE_ADMIN_USERNAME and MOBYLE_ADMIN_PASSWORD/)
  t.match(hint[0]?.msg, 'npm run cli -- create-user <name> --admin --password-stdin')

  const index = await fetch(`${server.url}/`)
  t.equal(index.status, 200)
  t.match(index.headers.get('vary'), /Accept/)
  const body = await index.json() as { name: string, version: string, links: Record<string, { href: string }> }
  t.match(body, { name: 'mobyle2-server', version: /^\d+\.\d+\.\d+/ })
  t.same(Object.values(body.links).map((link) => link.href), ['/docs', '/docs/json', '/servers/', '/services/', '/xmlrpc', '/_admin/api'])
  for (const { href } of Object.values(body.links).filter((link) => link.href !== '/xmlrpc' && link.href !== '/_admin/api')) {
    t.equal((await fetch(`${server.url}${href}`)).status, 200, `${href} is there`)
  }
  const page = await fetch(`${server.url}/`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } })
  t.match(page.headers.get('content-type'), /^text\/html/)
  t.match(await page.text(), '<a href="/services/">')

  const withAdmin = await listeningServer(t, { DATA_DIR: await migratedDataDir(t), MOBYLE_ADMIN_USERNAME: 'admin', MOBYLE_ADMIN_PASSWORD: 'admin-secret' })
  t.notMatch(withAdmin.output(), /no active administrator/, 'no hint once there is an administrator')
})

t.test('logs are readable lines on a terminal and with LOG_FORMAT=pretty, JSON otherwise', async (t) => {
  const pretty = await listeningServer(t, { DATA_DIR: await migratedDataDir(t), LOG_FORMAT: 'pretty' })
  t.match(pretty.output(), /WARN.*no active administrator/)
  t.notMatch(pretty.output(), /"level":/)

  // A terminal of its own, from Python's standard library: LOG_FORMAT's default looks at standard output.
  // The server runs in the terminal's own session, out of reach of a signal to Python: should the test
  // fail or time out, this teardown stops it by the pid in its lock (teardowns run last first, so
  // before the directory's removal).
  const dataDir = await migratedDataDir(t)
  t.teardown(async () => {
    const lock = await readFile(join(dataDir, 'mobyle2.lock'), 'utf8').catch(() => null)
    if (lock !== null) {
      try { process.kill((JSON.parse(lock) as { pid: number }).pid, 'SIGKILL') } catch { /* already gone */ }
    }
  })
  const terminal = spawn('python3', ['-c', 'import pty, sys; sys.exit(pty.spawn(sys.argv[1:]) >> 8)',
    process.execPath, serverEntry], { env: { ...process.env, LOG_LEVEL: 'info', DATA_DIR: dataDir, PORT: '0' }, stdio: ['pipe', 'pipe', 'pipe'] })
  let output = ''
  terminal.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  t.teardown(() => terminal.kill('SIGKILL'))
  await waitUntilListening({ output: () => output, child: terminal })
  t.match(output, /INFO.*Server listening/)
  t.notMatch(output, /"level":/)
  const { pid } = JSON.parse(await readFile(join(dataDir, 'mobyle2.lock'), 'utf8')) as { pid: number }
  process.kill(pid, 'SIGTERM')
  t.equal((await once(terminal, 'exit'))[0], 0)

  const bad = start({ LOG_FORMAT: 'colourful' })
  t.equal(await bad.exited, 1)
  t.match(bad.output(), /LOG_FORMAT="colourful"/)
})

t.test('a request that never ends holds a stopping server no longer than SHUTDOWN_TIMEOUT_SECONDS', async (t) => {
  const server = await listeningServer(t, { DATA_DIR: await migratedDataDir(t), SHUTDOWN_TIMEOUT_SECONDS: '2', REQUEST_TIMEOUT_SECONDS: '120' })
  const { hostname, port } = new URL(server.url)
  // A body announced and never sent: the request stays in flight.
  const socket = connect(Number(port), hostname)
  socket.on('error', () => {})
  t.teardown(() => socket.destroy())
  await once(socket, 'connect')
  socket.write('POST /services HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{')
  // In flight once the server has logged it.
  while (!/"msg":"incoming request"/.test(server.output())) await new Promise((resolve) => setTimeout(resolve, 20))
  const stopping = performance.now()
  server.child.kill('SIGTERM')
  const code = await server.exited
  const ms = performance.now() - stopping
  t.equal(code, 1, 'it exits, with status 1')
  t.ok(ms >= 1900 && ms < 6000, `once the timeout has passed (${Math.round(ms)} ms)`)
  t.match(server.output(), /exiting anyway/, 'and says why')
})
