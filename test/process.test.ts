/**
 * The server as `npm start` runs it: a real process on the embedded database.
 */
import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'

async function freePort (): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  return port
}

interface Running { child: ChildProcess, output: () => string, exited: Promise<number | null> }

function start (env: Record<string, string>): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, output: () => output, exited }
}

async function waitUntilListening (running: Running): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (running.output().includes('Server listening')) return
    if (running.child.exitCode !== null) throw new Error(`server exited: ${running.output()}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`server did not start: ${running.output()}`)
}

t.test('first start creates the database and the administrator, the next reuses them', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'mobyle2-data-'))
  const port = String(await freePort())
  const env = { DATA_DIR: dataDir, PORT: port, MOBYLE_ADMIN_USERNAME: 'admin', MOBYLE_ADMIN_PASSWORD: 'first-secret' }

  const first = start(env)
  t.teardown(() => first.child.kill('SIGKILL'))
  await waitUntilListening(first)
  t.match(first.output(), /created the first administrator/)
  t.same(await (await fetch(`http://127.0.0.1:${port}/healthz`)).json(), { status: 'ok' })
  t.same(await (await fetch(`http://127.0.0.1:${port}/readyz`)).json(), { status: 'ok', database: 'pglite' })
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

t.test('a bad configuration stops the process with the variable named', async (t) => {
  const running = start({ PORT: 'eighty' })
  t.equal(await running.exited, 1)
  t.match(running.output(), /PORT="eighty"/)
})

t.test('an unreachable PostgreSQL server stops the process with the reason', async (t) => {
  const running = start({ DATABASE_URL: `postgres://nobody:x@127.0.0.1:${await freePort()}/none`, PORT: String(await freePort()) })
  t.equal(await running.exited, 1)
  t.match(running.output(), /mobyle2-server: /)
  t.notMatch(running.output(), /^\s+at /m, 'no stack trace')
})

const serverUrl = process.env.TEST_DATABASE_URL
t.test('on PostgreSQL, the server refuses to start while migrations are pending', { skip: serverUrl === undefined ? 'TEST_DATABASE_URL is not set' : false }, async (t) => {
  const pg = (await import('pg')).default
  const name = `mobyle2_proc_${Date.now()}`
  const admin = new pg.Client({ connectionString: serverUrl })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  t.teardown(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await admin.end()
  })
  const url = new URL(serverUrl!)
  url.pathname = `/${name}`
  const refused = start({ DATABASE_URL: url.toString(), PORT: String(await freePort()) })
  t.equal(await refused.exited, 1)
  t.match(refused.output(), /lacks migrations .*npm run db:migrate/)

  const migrate = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'migrate'], {
    env: { ...process.env, DATABASE_URL: url.toString() }, stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  migrate.stdout.on('data', (c: Buffer) => { out += c.toString() })
  t.equal((await once(migrate, 'exit'))[0], 0)
  t.match(out, /applied \d+_init/)

  const port = String(await freePort())
  const started = start({ DATABASE_URL: url.toString(), PORT: port })
  t.teardown(() => started.child.kill('SIGKILL'))
  await waitUntilListening(started)
  t.same(await (await fetch(`http://127.0.0.1:${port}/readyz`)).json(), { status: 'ok', database: 'postgresql' })
  started.child.kill('SIGTERM')
  t.equal(await started.exited, 0)
})
