/**
 * One process owns an embedded database directory: a second server on it is
 * refused, and a server killed with SIGKILL mid-burst leaves its lock to the next
 * start and loses no write it acknowledged. Real server processes throughout.
 */
import t from 'tap'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir } from './helper.ts'
import { listeningServer, startServer } from './processes.ts'

const apiKey = 'crash-test-key-0123456789abcdef'
const admin = { MOBYLE_ADMIN_USERNAME: 'admin', MOBYLE_ADMIN_PASSWORD: 'admin-secret', MOBYLE_ADMIN_API_KEY: apiKey }
const lockOf = async (dataDir: string): Promise<{ pid: number, role: string }> =>
  JSON.parse(await readFile(join(dataDir, 'mobyle2.lock'), 'utf8')) as { pid: number, role: string }

t.test('a second server on the same directory exits at once, naming the directory and the holder', async (t) => {
  const dataDir = await tempDir(t, 'mobyle2-owner-')
  const first = await listeningServer(t, { DATA_DIR: dataDir })
  const holder = await lockOf(dataDir)
  t.equal(holder.role, 'server')

  const startedAt = Date.now()
  const second = startServer({ DATA_DIR: dataDir })
  t.teardown(() => second.child.kill('SIGKILL'))
  t.equal(await second.exited, 1)
  t.ok(Date.now() - startedAt < 10_000, 'refused before opening the database')
  const message = second.output()
  t.match(message, `the embedded database ${dataDir} is in use by a mobyle2 server (pid ${holder.pid}`)
  t.match(message, /Stop that server first, or give this one another DATA_DIR/)
  t.notMatch(message, /Server listening/)
  t.same(await (await fetch(`${first.url}/healthz`)).json(), { status: 'ok' }, 'the owner keeps serving')
  t.equal((await lockOf(dataDir)).pid, holder.pid, 'and keeps its lock')
})

t.test('SIGKILL during a burst of writes: the next start takes the lock over and every acknowledged write is there', async (t) => {
  const dataDir = await tempDir(t, 'mobyle2-crash-')
  const first = await listeningServer(t, { DATA_DIR: dataDir, ...admin })
  const victim = (await lockOf(dataDir)).pid
  const headers = { 'x-api-key': apiKey, 'content-type': 'application/json' }

  const acknowledged: string[] = []
  let refusedOrCut = 0
  const writer = async (worker: number): Promise<void> => {
    for (let i = 0; ; i++) {
      const name = `crash-${worker}-${i}`
      try {
        const response = await fetch(`${first.url}/servers`, { method: 'POST', headers, body: JSON.stringify({ name, url: `http://${name}.example` }) })
        if (response.status === 201) acknowledged.push(name)
        else t.fail(`unexpected ${response.status} for ${name}: ${await response.text()}`)
      } catch {
        refusedOrCut++
        return
      }
    }
  }
  const writers = Array.from({ length: 10 }, async (_, worker) => await writer(worker))
  while (acknowledged.length < 150) await new Promise((resolve) => setTimeout(resolve, 20))
  first.child.kill('SIGKILL')
  await Promise.all(writers)
  await first.exited
  t.ok(acknowledged.length >= 150, `${acknowledged.length} writes acknowledged before the kill`)
  t.equal(refusedOrCut, 10, 'every writer was cut off by the kill, with requests in flight')
  t.equal((await lockOf(dataDir)).pid, victim, 'the dead server left its lock behind')

  const second = await listeningServer(t, { DATA_DIR: dataDir })
  const owner = await lockOf(dataDir)
  t.not(owner.pid, victim, 'the lock was taken over by the new server')
  const missing: string[] = []
  for (const name of acknowledged) {
    const response = await fetch(`${second.url}/servers/${name}`)
    if (response.status !== 200) missing.push(`${name}: ${response.status}`)
  }
  t.same(missing, [], `all ${acknowledged.length} acknowledged writes survived`)
  second.child.kill('SIGTERM')
  t.equal(await second.exited, 0)
  await t.rejects(readFile(join(dataDir, 'mobyle2.lock')), { code: 'ENOENT' }, 'a clean stop removes the lock')
})
