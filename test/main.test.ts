/**
 * The server as `npm start` runs it: a real process on the embedded database.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { once } from 'node:events'
import { connect } from 'node:net'
import { emptyPostgresDatabase, migratedDataDir, tempDir } from './helper.ts'
import { cli, listeningServer, serverEntry, startServer as start, waitUntilListening } from './processes.ts'

t.test('first start creates the database and the administrator, the next reuses them', async (t) => {
  const dataDir = await tempDir(t, 'mobyle2-data-')
  const env = { DATA_DIR: dataDir, MOBYLE_ADMIN_USERNAME: 'admin', MOBYLE_ADMIN_PASSWORD: 'first-secret' }

  const first = start(env)
  t.teardown(() => first.child.kill('SIGKILL'))
  const url = await waitUntilListening(first)
  t.match(first.output(), /created the first administrator/)
  t.same(await (await fetch(`${url}/healthz`)).json(), { status: 'ok' })
  t.same(await (await fetch(`${url}/readyz`)).json(), { status: 'ok', database: 'pglite' })
  first.child.kill('SIGTERM')
  t.equal(await first.exited, 0, 'SIGTERM shuts down cleanly')
  t.match(first.output(), /shutting down/)

  const second = start({ ...env, MOBYLE_ADMIN_PASSWORD: 'another-secret' })
  t.teardown(() => second.child.kill('SIGKILL'))
  await waitUntilListening(second)
  t.notMatch(second.output(), /created the first administrator/, 'the administrator already exists')
  second.child.kill('SIGINT')
  t.equal(await second.exited, 0, 'SIGINT shuts down cleanly')
  t.notMatch(first.output() + second.output(), /first-secret|another-secret/, 'passwords are never logged')
})

t.test('creating the database leaves its memory behind: the first start is no larger than later ones', { skip: process.platform === 'linux' ? false : 'reads /proc' }, async (t) => {
  // PGlite's initdb grows its WebAssembly heap to ~650 MB, which never shrinks; it runs in a child process.
  // The server's own peak (VmHWM) was ~860 MB when it ran initdb itself, ~330 MB since, ~280 MB on a
  // later start (Node 20 and 22). Node 24 peaks near 800 MB on every start, first or not, while V8
  // compiles the WebAssembly modules optimised (~300 MB once done): so the first start is measured
  // against a later one, not against a fixed figure.
  const dataDir = await tempDir(t, 'mobyle2-fresh-')
  const peakMb = async (): Promise<number> => {
    const server = await listeningServer(t, { DATA_DIR: dataDir })
    const status = await readFile(`/proc/${server.child.pid}/status`, 'utf8')
    server.child.kill('SIGTERM')
    await server.exited
    return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]) / 1024
  }
  const first = await peakMb()
  const later = await peakMb()
  t.ok(first < later + 200, `peak resident memory ${Math.round(first)} MB on the first start, ${Math.round(later)} MB on a later one`)
})

t.test('a DATA_DIR that holds something else than a database stops the server with a reason', async (t) => {
  const dataDir = await tempDir(t, 'mobyle2-foreign-')
  await writeFile(join(dataDir, 'global'), 'not a directory')
  const running = start({ DATA_DIR: dataDir })
  t.equal(await running.exited, 1)
  t.match(running.output(), `mobyle2-server: cannot open the database: cannot create the database in ${dataDir}: a file system error`)
  t.notMatch(running.output(), /undefined|^\s+at /m)
})

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
  const url = await emptyPostgresDatabase(t)
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
