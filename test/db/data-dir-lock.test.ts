/**
 * The embedded database's directory lock: held against other holders, taken over
 * only from holders that are provably gone, and won by exactly one of several
 * processes racing for a stale lock. Then with real server processes: a second
 * server on the directory is refused, and a server killed with SIGKILL mid-burst
 * leaves its lock to the next start and loses no write it acknowledged.
 */
import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFile, writeFile } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { migratedDataDir, tempDir } from '../helper.ts'
import { listeningServer, startServer, withoutTapHook } from '../processes.ts'
import { controlSocketPath, DataDirLocked, liveHolder, lockDataDir, lockFilePath, type LockHolder } from '../../src/db/data-dir-lock.ts'

/** A lock file as another process would have left it. */
async function plant (dir: string, holder: Partial<LockHolder>): Promise<void> {
  const base = await readFile('/proc/sys/kernel/random/boot_id', 'utf8').then((id) => id.trim(), () => null)
  await writeFile(lockFilePath(dir), JSON.stringify({
    pid: 1, role: 'server', host: hostname(), bootId: base, startTime: null, socket: controlSocketPath(dir), since: new Date().toISOString(), ...holder
  }))
}

/** A process that has exited: its pid is free. */
async function deadPid (): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''])
  await once(child, 'exit')
  return child.pid!
}

/** A process that lives until the test ends. */
async function livePid (t: Test): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'])
  t.teardown(() => child.kill('SIGKILL'))
  await once(child, 'spawn')
  return child.pid!
}

async function startTimeOf (pid: number): Promise<string> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!
}

t.test('a held directory is refused, with the holder named, until it is released', async (t) => {
  const dir = await tempDir(t, 'mobyle2-lock-')
  const lock = await lockDataDir(dir, 'server')
  t.match(JSON.parse(await readFile(lockFilePath(dir), 'utf8')), { pid: process.pid, role: 'server', socket: controlSocketPath(dir) })
  const refused = await lockDataDir(dir, 'server').catch((error: unknown) => error)
  t.type(refused, DataDirLocked)
  t.match((refused as Error).message, `the embedded database ${dir} is in use by a mobyle2 server (pid ${process.pid}`)
  t.match(await liveHolder(dir), { pid: process.pid })
  lock.release()
  lock.release()
  t.equal(await liveHolder(dir), null)
  await t.rejects(readFile(lockFilePath(dir)), { code: 'ENOENT' })
  const again = await lockDataDir(dir, 'cli')
  again.release()
})

t.test('a lock whose holder is gone is taken over', async (t) => {
  const cases: Array<[string, () => Promise<Partial<LockHolder>>]> = [
    ['a dead pid', async () => ({ pid: await deadPid() })],
    ['this pid, from an earlier life (a restarted container)', async () => ({ pid: process.pid })],
    ['a live pid now used by another process', async () => ({ pid: await livePid(t), startTime: '1' })],
    ['another boot', async () => ({ pid: await livePid(t), bootId: 'a-boot-long-gone' })],
    ['an unreadable lock file', async () => ({ pid: 'garbage' as unknown as number })]
  ]
  for (const [why, holder] of cases) {
    const dir = await tempDir(t, 'mobyle2-lock-')
    await plant(dir, await holder())
    const lock = await lockDataDir(dir, 'server')
    t.equal(lock.holder.pid, process.pid, why)
    t.match(JSON.parse(await readFile(lockFilePath(dir), 'utf8')), { pid: process.pid })
    lock.release()
  }
})

t.test('a live holder is respected', async (t) => {
  const pid = await livePid(t)
  const dir = await tempDir(t, 'mobyle2-lock-')
  await plant(dir, { pid, startTime: await startTimeOf(pid) })
  await t.rejects(lockDataDir(dir, 'server'), { name: 'DataDirLocked', holder: { pid } })

  const remote = await tempDir(t, 'mobyle2-lock-')
  await plant(remote, { pid: 4242, host: 'elsewhere.example' })
  await t.rejects(lockDataDir(remote, 'server'), {
    message: new RegExp(`pid 4242 on host elsewhere\\.example.*remove ${lockFilePath(remote).replace(/[.]/g, '\\.')}`)
  }, 'a holder on another host cannot be checked from here: the message says how to clear it')
})

t.test('a command-line holder is waited for; a server holder is not', async (t) => {
  const dir = await tempDir(t, 'mobyle2-lock-')
  const cliLock = await lockDataDir(dir, 'cli')
  setTimeout(() => cliLock.release(), 300)
  const lock = await lockDataDir(dir, 'server', { waitMs: 60_000 })
  t.equal(lock.holder.role, 'server')
  const startedAt = Date.now()
  await t.rejects(lockDataDir(dir, 'cli', { waitMs: 60_000 }), { name: 'DataDirLocked', holder: { role: 'server' } })
  // A minute's wait allowed, refused long before it: a loaded machine cannot make this pass or fail by luck.
  t.ok(Date.now() - startedAt < 30_000, 'refused without waiting')
  lock.release()
})

t.test('of processes racing for one stale lock, exactly one wins', async (t) => {
  const dir = await tempDir(t, 'mobyle2-lock-')
  await plant(dir, { pid: await deadPid() })
  // Every racer loads, says so, and waits for one word on its standard input: all start together.
  const racer = `
    import { once } from 'node:events'
    import { lockDataDir } from './src/db/data-dir-lock.ts'
    process.stdout.write('ready ')
    await once(process.stdin, 'data')
    try {
      await lockDataDir(process.argv[1], 'cli')
      process.stdout.write('won')
      setTimeout(() => {}, 2000)
    } catch (error) {
      process.stdout.write(error.name)
    }`
  const racers = await Promise.all(Array.from({ length: 6 }, async () => {
    const [program, ...args] = withoutTapHook([process.execPath, '--import', 'tsx', '--input-type=module', '-e', racer, dir])
    const child = spawn(program, args)
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
    await once(child.stdout, 'data')
    return { child, outcome: once(child, 'exit').then(() => out.replace('ready ', '')) }
  }))
  for (const { child } of racers) child.stdin.end('go')
  const outcomes = (await Promise.all(racers.map(async ({ outcome }) => await outcome))).sort()
  t.same(outcomes, ['DataDirLocked', 'DataDirLocked', 'DataDirLocked', 'DataDirLocked', 'DataDirLocked', 'won'])
})

t.test('the control socket sits in the directory unless its path is too long for a socket address', async (t) => {
  t.equal(controlSocketPath('/srv/mobyle2'), '/srv/mobyle2/mobyle2.sock')
  const deep = `/srv/${'x'.repeat(120)}`
  t.match(controlSocketPath(deep), new RegExp(`^${tmpdir()}/mobyle2-[0-9a-f]{16}\\.sock$`))
  t.equal(controlSocketPath(deep), controlSocketPath(deep + '/'), 'the same directory gives the same socket')
})

const apiKey = 'crash-test-key-0123456789abcdef'
const admin = { MOBYLE_ADMIN_USERNAME: 'admin', MOBYLE_ADMIN_PASSWORD: 'admin-secret', MOBYLE_ADMIN_API_KEY: apiKey }
const lockOf = async (dataDir: string): Promise<{ pid: number, role: string }> =>
  JSON.parse(await readFile(join(dataDir, 'mobyle2.lock'), 'utf8')) as { pid: number, role: string }

t.test('a second server on the same directory exits at once, naming the directory and the holder', async (t) => {
  const dataDir = await migratedDataDir(t)
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
  const dataDir = await migratedDataDir(t)
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
