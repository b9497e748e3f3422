/**
 * The server under test, run as `npm start` runs it (dist/main.js, built by `npm run bench`): a child process
 * of its own (so the load generator in this process does not share its event
 * loop), on a database this module prepares — a temporary DATA_DIR for the
 * embedded database, or a new database on a PostgreSQL server.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { ConfigSchema } from '../src/config.ts'
import { openDatabase, type Database } from '../src/db/client.ts'

export type DatabaseKind = 'pglite' | 'postgresql'

/** Where a run's data lives: opened once by the seeding, then handed to the server by its environment. */
export interface Storage {
  kind: DatabaseKind
  open: () => Promise<Database>
  serverEnv: Record<string, string>
  /** Removes the directory or drops the database. */
  dispose: () => Promise<void>
}

/** A new directory for the embedded database, removed by dispose. */
export async function embeddedStorage (): Promise<Storage> {
  const dataDir = await mkdtemp(join(tmpdir(), 'mobyle2-bench-'))
  return {
    kind: 'pglite',
    // As a command-line holder: the server waits for such a lock instead of refusing to start.
    open: async () => await openDatabase({ dataDir, role: 'cli' }),
    serverEnv: { DATA_DIR: dataDir },
    dispose: async () => { await rm(dataDir, { recursive: true, force: true, maxRetries: 5 }) }
  }
}

/** A new database on the PostgreSQL server that `serverUrl` names (as test/helper.ts makes them), dropped by dispose. */
export async function postgresStorage (serverUrl: string): Promise<Storage> {
  const name = `mobyle2_bench_${randomBytes(6).toString('hex')}`
  await onServer(serverUrl, `CREATE DATABASE ${name}`)
  // Data items' content: by default it would go to ./data in the repository.
  const storageDir = await mkdtemp(join(tmpdir(), 'mobyle2-bench-storage-'))
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return {
    kind: 'postgresql',
    open: async () => await openDatabase({ url: url.toString(), poolSize: 4 }),
    serverEnv: { DATABASE_URL: url.toString(), STORAGE_DIR: storageDir },
    dispose: async () => {
      await onServer(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await rm(storageDir, { recursive: true, force: true, maxRetries: 5 })
    }
  }
}

async function onServer (serverUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

export interface RunningServer {
  url: string
  /** The process that serves: node itself, not a wrapper such as npx. */
  pid: number
  /**
   * Waits until the server has worked through what a stopped load left queued
   * (the requests whose clients went away are still being answered).
   */
  settle: () => Promise<void>
  /** Stops it with SIGTERM (a graceful shutdown, which also writes a --cpu-prof profile). */
  stop: () => Promise<void>
}

export const repoRoot = fileURLToPath(new URL('..', import.meta.url))

/**
 * Room for the transfer scenarios (bench/transfer.ts): the defaults (1 GiB an item, 10 GiB a project, 30 s
 * for a request to arrive) would refuse a `--transfer-mib` above 1 GiB, or a 1 GiB upload on a slow disk.
 */
const transferLimits = { DATA_MAX_BYTES: String(2 ** 40), DATA_PROJECT_QUOTA_BYTES: String(2 ** 50), REQUEST_TIMEOUT_SECONDS: '3600' }
/** The scenarios measure the server's answers: the jobs they submit stay queued, no program runs beside them. */
const noJobsRun = { JOB_CONCURRENCY: '0' }
const startTimeoutMs = 60_000
const settleTimeoutMs = 240_000

/**
 * Starts the built server (dist/main.js) on `env`'s database and resolves once /healthz answers.
 * Logging stays at warn: per-request lines would cost more than some requests.
 */
export async function startServer (env: Record<string, string>, nodeOptions: string[] = []): Promise<RunningServer> {
  const port = await freePort()
  const child = spawn(process.execPath, [...nodeOptions, 'dist/main.js'], {
    cwd: repoRoot,
    env: { ...inheritedEnv(), HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', LOG_FORMAT: 'json', ...transferLimits, ...noJobsRun, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const output = relayOutput(child)
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const killOnExit = (): void => { child.kill('SIGKILL') }
  process.once('exit', killOnExit)
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + startTimeoutMs
  while (!await answers(`${url}/healthz`)) {
    const code = await Promise.race([exited, sleep(100).then(() => undefined)])
    if (code !== undefined || Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`the server did not start (${code === undefined ? 'timed out' : `exit code ${code}`}):\n${output.join('')}`)
    }
  }
  return {
    url,
    pid: child.pid!,
    settle: async () => {
      // /readyz queries the database, so on the embedded one it answers after every query queued before it.
      const ready = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(settleTimeoutMs) })
      if (!ready.ok) throw new Error(`/readyz answered HTTP ${ready.status}`)
      await quiet(child.pid!)
    },
    stop: async () => {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      const code = await exited
      clearTimeout(timer)
      process.off('exit', killOnExit)
      if (code !== 0) throw new Error(`the server exited with code ${code}:\n${output.join('')}`)
    }
  }
}

/** This environment without the server's own settings, so a DATABASE_URL in the shell cannot redirect the run. */
function inheritedEnv (): Record<string, string | undefined> {
  const env = { ...process.env }
  for (const key of Object.keys(ConfigSchema.properties)) delete env[key]
  return env
}

/** Forwards the server's output (warnings and errors only) and keeps it for a failure message. */
function relayOutput (child: ChildProcess): string[] {
  const kept: string[] = []
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.setEncoding('utf8')
    stream.on('data', (text: string) => {
      kept.push(text)
      if (kept.length > 100) kept.shift()
      process.stderr.write(text.replace(/^(?=.)/gm, 'server: '))
    })
  }
  return kept
}

/** Resolves once the process uses under a tenth of a core over 200 ms: nothing left to answer. */
export async function quiet (pid: number): Promise<void> {
  // utime and stime, in clock ticks (100 per second), after the command name, which may hold spaces.
  const cpuTicks = (): number => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')
    return Number(fields[11]) + Number(fields[12])
  }
  const deadline = Date.now() + settleTimeoutMs
  for (let before = cpuTicks(); ;) {
    await sleep(200)
    const now = cpuTicks()
    if (now - before <= 2) return
    if (Date.now() > deadline) throw new Error(`the server was still busy ${settleTimeoutMs / 1000} s after the load`)
    before = now
  }
}

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      probe.close(() => {
        if (typeof address === 'object' && address !== null) resolve(address.port)
        else reject(new Error('no port'))
      })
    })
  })
}

async function answers (url: string): Promise<boolean> {
  try {
    return (await fetch(url)).ok
  } catch {
    return false
  }
}

export const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/**
 * The CPU time a process has used so far (user and system, all its threads), in
 * milliseconds: /proc/<pid>/stat counts it in clock ticks, which Linux exposes at
 * 100 a second (USER_HZ) on every architecture Node.js runs on.
 */
export function cpuMilliseconds (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // The command name, in parentheses, may hold spaces: the fields are counted after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}

/**
 * The peak resident memory of a process over a stretch of time. Linux resets a
 * process's peak (VmHWM) when 5 is written to its clear_refs; where that is not
 * allowed, VmRSS is sampled instead.
 */
export class PeakMemory {
  private sampled = 0
  private timer: NodeJS.Timeout | undefined
  private exact = false

  constructor (private readonly pid: number) {}

  /** Starts the stretch; answers the process's resident memory at its start, in MiB. */
  start (): number {
    const now = this.status('VmRSS') / 1024
    try {
      writeFileSync(`/proc/${this.pid}/clear_refs`, '5')
      this.exact = true
    } catch {
      this.sampled = this.status('VmRSS')
      this.timer = setInterval(() => { this.sampled = Math.max(this.sampled, this.status('VmRSS')) }, 50)
    }
    return now
  }

  /** The peak since start(), in MiB. */
  stop (): number {
    clearInterval(this.timer)
    return (this.exact ? this.status('VmHWM') : this.sampled) / 1024
  }

  /** A field of /proc/<pid>/status, in KiB. */
  private status (field: string): number {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'))
    return match === null ? 0 : Number(match[1])
  }
}
