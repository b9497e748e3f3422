/**
 * The embedded database's disk filled to the brim under a running server (a small
 * tmpfs the test mounts; skipped where it cannot): writes are answered 507 with a
 * problem document, never 500, while reads and password logins go on (a login's
 * failure bookkeeping is best-effort); writes work again once space is freed,
 * without a restart; and a server started on the full disk stops with a message
 * that names the directory and the lack of space.
 */
import { execFileSync } from 'node:child_process'
import { mkdir, open, rm } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { tempDir } from './helper.ts'
import { basic, listeningServer, startServer, waitUntilListening } from './processes.ts'

/** A tmpfs of `megabytes` at a new directory, unmounted when the test ends; null where this machine will not mount one. */
async function smallDisk (t: { teardown: (fn: () => unknown) => void }, megabytes: number): Promise<string | null> {
  const dir = await tempDir(t, 'small-disk-')
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${megabytes}m`, 'tmpfs', dir], { stdio: 'ignore' })
  } catch {
    return null
  }
  t.teardown(() => { execFileSync('umount', ['-l', dir], { stdio: 'ignore' }) })
  return dir
}

/** Writes a file until the disk holding it is full. */
async function fill (path: string): Promise<void> {
  const file = await open(path, 'w')
  const chunk = Buffer.alloc(256 * 1024)
  try {
    for (;;) {
      try {
        await file.write(chunk)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break
        throw error
      }
    }
    // The last bytes, a page at a time.
    const page = Buffer.alloc(4096)
    for (;;) {
      try {
        await file.write(page)
      } catch {
        break
      }
    }
  } finally {
    await file.close()
  }
}

const mountable = process.getuid?.() === 0 ? false : 'mounting a tmpfs needs root: skipped'

t.test('a full disk: 507 for writes, reads and logins go on, writes resume when space returns', { skip: mountable }, async (t) => {
  const disk = await smallDisk(t, 160)
  if (disk === null) {
    t.comment('skipped: this machine will not mount a tmpfs')
    return
  }
  const dataDir = join(disk, 'data')
  await mkdir(dataDir)
  const adminKey = 'mobyle2-disk-full-admin-key-0123456789'
  const env = { DATA_DIR: dataDir, MOBYLE_ADMIN_USERNAME: 'admin', MOBYLE_ADMIN_PASSWORD: 'admin-password', MOBYLE_ADMIN_API_KEY: adminKey, CREDENTIAL_CACHE_SECONDS: '0' }
  const server = await listeningServer(t, env)
  const headers = { 'x-api-key': adminKey, 'content-type': 'application/json' }
  const post = async (path: string, body: unknown) => await fetch(`${server.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) })
  t.equal((await post('/users', { username: 'carol', password: 'carol-password' })).status, 201)

  const filler = join(disk, 'filler')
  await fill(filler)
  const statuses = new Map<number, number>()
  let refused: Response | undefined
  for (let n = 0; n < 20_000 && refused === undefined; n++) {
    const response = await post('/services', { name: `full-${n}`, type: 'program', description: 'x'.repeat(2000) })
    statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
    if (response.status !== 201) refused = response
  }
  t.ok(refused !== undefined, `writes are refused once the disk is full (${JSON.stringify(Object.fromEntries(statuses))})`)
  t.equal(refused?.status, 507, 'with 507 Insufficient Storage')
  t.match(await refused?.json(), { status: 507, detail: /no room left/ }, 'and a problem document saying why')
  t.equal((await post('/services', { name: 'one-more', type: 'program' })).status, 507, 'every write meanwhile')

  t.equal((await fetch(`${server.url}/servers/`)).status, 200, 'reads go on')
  t.equal((await fetch(`${server.url}/servers/`, { headers: basic('carol', 'carol-password') })).status, 200,
    'a password login (not remembered: CREDENTIAL_CACHE_SECONDS=0) goes on')
  t.equal((await fetch(`${server.url}/servers/`, { headers: basic('carol', 'a wrong guess') })).status, 401, 'and a wrong one is refused, not 507')
  t.notMatch(server.output(), /"msg":"request failed"/, 'no internal error was logged')

  await rm(filler)
  // No event says the database found its room again: a bounded poll (5 s at most), answered by the first write that works.
  let resumed = 0
  for (let n = 0; n < 50 && resumed === 0; n++) {
    if ((await post('/services', { name: `after-${n}`, type: 'program' })).status === 201) resumed++
    else await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.equal(resumed, 1, 'writes work again once space is freed, without a restart')

  server.child.kill('SIGTERM')
  await server.exited
  await fill(filler)
  const restarted = startServer(env)
  t.teardown(() => restarted.child.kill('SIGKILL'))
  const outcome = await Promise.race([
    restarted.exited.then((code) => ({ code })),
    waitUntilListening(restarted).then((url) => ({ url }))
  ])
  if ('code' in outcome) {
    t.equal(outcome.code, 1)
    t.match(restarted.output(), new RegExp(`cannot open the database in ${dataDir}: the disk holding it has \\d+ MB free; free some space`),
      'a start on the full disk stops, naming the directory and the lack of space')
  } else {
    // Or it starts: then it serves as it did while the disk filled up.
    t.equal((await fetch(`${outcome.url}/servers/`)).status, 200, 'a start on the full disk serves reads')
    t.equal((await fetch(`${outcome.url}/services`, { method: 'POST', headers, body: JSON.stringify({ name: 'restarted', type: 'program' }) })).status, 507,
      'and refuses writes with 507')
  }
})
