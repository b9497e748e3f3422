/**
 * One process at a time opens an embedded database directory: PGlite is a
 * single-process database, and two processes writing one directory lose writes.
 *
 * The lock is a file in the directory naming its holder (pid, role, host, boot and
 * process start time). It is created atomically (written aside, then hard-linked
 * into place, which fails when a lock exists), removed on exit, and taken over
 * when its holder is provably gone: a dead pid, a pid reused by another process
 * (start time differs), another boot, or this very pid from an earlier life (a
 * container restarted). Taking over is serialized by a short-lived directory, so
 * two processes finding one stale lock cannot both win.
 */
import { readFileSync, unlinkSync } from 'node:fs'
import { link, mkdir, readFile, rmdir, stat, unlink, writeFile } from 'node:fs/promises'
import { createHash, randomBytes } from 'node:crypto'
import { hostname, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

export type LockRole = 'server' | 'cli'

export interface LockHolder {
  pid: number
  role: LockRole
  host: string
  /** The kernel's boot id: a lock from before a reboot is stale whatever its pid. */
  bootId: string | null
  /** The holder's start time in clock ticks since boot, to tell a reused pid. */
  startTime: string | null
  /** Where a server holder answers administrative commands (see src/admin/). */
  socket: string
  since: string
}

export class DataDirLocked extends Error {
  override name = 'DataDirLocked'
  constructor (readonly dataDir: string, readonly holder: LockHolder) {
    super(lockedMessage(dataDir, holder))
  }
}

export interface DataDirLock {
  readonly holder: LockHolder
  /** Removes the lock if it is still this process's; safe to call twice, and from an 'exit' handler. */
  release: () => void
}

const lockFileName = 'mobyle2.lock'
const socketFileName = 'mobyle2.sock'
/** A takeover that has not finished in this time was abandoned by a process that died mid-way. */
const abandonedTakeoverMs = 10_000
/** Unix socket paths are limited to 108 bytes, NUL included. */
const socketPathLimit = 100

/** Directories this process holds: its own pid in a lock file means "held" only for these. */
const heldHere = new Set<string>()

export function lockFilePath (dataDir: string): string {
  return join(resolve(dataDir), lockFileName)
}

/**
 * The control socket of a server on `dataDir`: inside the directory when the path
 * fits a socket address, else in the temporary directory under a name derived
 * from the directory's path.
 */
export function controlSocketPath (dataDir: string): string {
  const inside = join(resolve(dataDir), socketFileName)
  if (Buffer.byteLength(inside) <= socketPathLimit) return inside
  const digest = createHash('sha256').update(resolve(dataDir)).digest('hex').slice(0, 16)
  return join(tmpdir(), `mobyle2-${digest}.sock`)
}

/**
 * Takes the lock on `dataDir`, or throws DataDirLocked naming the live holder.
 * `waitMs` keeps trying that long while the holder is a command-line process,
 * whose commands take a moment; a server holder is refused at once.
 */
export async function lockDataDir (dataDir: string, role: LockRole, options: { waitMs?: number } = {}): Promise<DataDirLock> {
  const dir = resolve(dataDir)
  const deadline = Date.now() + (options.waitMs ?? 0)
  for (;;) {
    const taken = await tryLock(dir, role)
    if (!(taken instanceof DataDirLocked)) return taken
    if (taken.holder.role === 'server' || Date.now() >= deadline) throw taken
    await sleep(100)
  }
}

/** The live holder of `dataDir`'s lock, or null when it is free or stale. */
export async function liveHolder (dataDir: string): Promise<LockHolder | null> {
  const dir = resolve(dataDir)
  const found = await readHolder(dir)
  if (found === null || found === 'unreadable') return null
  return isAlive(found.holder, dir) ? found.holder : null
}

async function tryLock (dir: string, role: LockRole): Promise<DataDirLock | DataDirLocked> {
  const holder = describeSelf(dir, role)
  const content = JSON.stringify(holder, null, 2) + '\n'
  if (await createLockFile(dir, content)) return held(dir, holder, content)
  const found = await readHolder(dir)
  if (found === null) return await tryLock(dir, role)
  if (found !== 'unreadable' && isAlive(found.holder, dir)) return new DataDirLocked(dir, found.holder)
  const tookOver = await takeOver(dir, found === 'unreadable' ? null : found.content, content)
  return tookOver ? held(dir, holder, content) : await tryLock(dir, role)
}

/** Creates the lock file with its whole content at once; false when one exists. */
async function createLockFile (dir: string, content: string): Promise<boolean> {
  const pending = join(dir, `${lockFileName}.${process.pid}.${randomBytes(4).toString('hex')}`)
  await writeFile(pending, content, { mode: 0o644 })
  try {
    await link(pending, join(dir, lockFileName))
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  } finally {
    await unlink(pending).catch(() => {})
  }
}

/**
 * Replaces a stale lock whose content is `stale` (null: unreadable) with ours,
 * under the takeover directory; false when another process changed it first.
 */
async function takeOver (dir: string, stale: string | null, content: string): Promise<boolean> {
  const guard = join(dir, `${lockFileName}.takeover`)
  for (;;) {
    try {
      await mkdir(guard)
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const since = await stat(guard).then((s) => s.mtimeMs, () => null)
      if (since !== null && Date.now() - since > abandonedTakeoverMs) await rmdir(guard).catch(() => {})
      else await sleep(20)
    }
  }
  try {
    const current = await readFile(join(dir, lockFileName), 'utf8').catch(() => null)
    if (current !== null) {
      const unchanged = stale === null ? parseHolder(current) === null : current === stale
      if (!unchanged) return false
      await unlink(join(dir, lockFileName))
    }
    return await createLockFile(dir, content)
  } finally {
    await rmdir(guard).catch(() => {})
  }
}

function held (dir: string, holder: LockHolder, content: string): DataDirLock {
  heldHere.add(dir)
  let released = false
  const release = (): void => {
    if (released) return
    released = true
    heldHere.delete(dir)
    process.off('exit', release)
    try {
      if (readFileSync(join(dir, lockFileName), 'utf8') === content) unlinkSync(join(dir, lockFileName))
    } catch {
      // Gone already: nothing of ours is left to remove.
    }
  }
  process.on('exit', release)
  return { holder, release }
}

async function readHolder (dir: string): Promise<{ holder: LockHolder, content: string } | 'unreadable' | null> {
  let content: string
  try {
    content = await readFile(join(dir, lockFileName), 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw error
  }
  const holder = parseHolder(content)
  return holder === null ? 'unreadable' : { holder, content }
}

function parseHolder (content: string): LockHolder | null {
  try {
    const holder = JSON.parse(content) as Partial<LockHolder>
    return typeof holder.pid === 'number' && typeof holder.host === 'string' ? holder as LockHolder : null
  } catch {
    return null
  }
}

function isAlive (holder: LockHolder, dir: string): boolean {
  // Another host sharing the directory: its processes cannot be seen from here.
  if (holder.host !== hostname()) return true
  const bootId = readProc('/proc/sys/kernel/random/boot_id')
  if (holder.bootId !== null && bootId !== null && holder.bootId !== bootId) return false
  if (holder.pid === process.pid) return heldHere.has(dir)
  try {
    process.kill(holder.pid, 0)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false
  }
  const startTime = processStartTime(holder.pid)
  return holder.startTime === null || startTime === null || startTime === holder.startTime
}

function describeSelf (dir: string, role: LockRole): LockHolder {
  return {
    pid: process.pid,
    role,
    host: hostname(),
    bootId: readProc('/proc/sys/kernel/random/boot_id'),
    startTime: processStartTime(process.pid),
    socket: controlSocketPath(dir),
    since: new Date().toISOString()
  }
}

/** Field 22 of /proc/<pid>/stat, counted after the parenthesized command name (which may hold spaces). */
function processStartTime (pid: number): string | null {
  const stat = readProc(`/proc/${pid}/stat`)
  if (stat === null) return null
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null
}

function readProc (path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim()
  } catch {
    return null
  }
}

function lockedMessage (dataDir: string, holder: LockHolder): string {
  const who = holder.role === 'server' ? 'a mobyle2 server' : 'a mobyle2-admin command'
  const where = holder.host === hostname() ? `pid ${holder.pid}` : `pid ${holder.pid} on host ${holder.host}`
  const advice = holder.role === 'server'
    ? 'Stop that server first, or give this one another DATA_DIR; administrative commands (npm run cli) reach the running server by themselves.'
    : 'Wait for that command to finish, then try again.'
  const stale = holder.host === hostname()
    ? ''
    : ` If no process on ${holder.host} uses it any more, remove ${join(dataDir, lockFileName)}.`
  return `the embedded database ${dataDir} is in use by ${who} (${where}, since ${holder.since}). ${advice}${stale}`
}

async function sleep (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}
