/**
 * Where the server spends its CPU under one read load: the server child runs
 * with --cpu-prof, the load runs as in the benchmark, and the profile's self
 * time, within the load only, is summed by package (PGlite, Prisma, Fastify…),
 * node's internals and the project's own files.
 *
 *   npm run bench:profile                          anonymous GET /servers/, then API-key GET /users/{id}
 *   npm run bench:profile -- --scenario 'JSON-RPC get_user' --seconds 10
 *   npm run bench:profile -- --postgresql --scenario 'POST /services/ API key, a new service each'
 *                                                  on BENCH_DATABASE_URL's server instead of PGlite
 *   npm run bench:profile -- --transfer [--transfer-mib 256]
 *                                                  three uploads of a data item, then three downloads
 *   npm run bench:profile -- --jobs [--job-count 300] [--job-concurrency <n>]
 *                                                  jobs of `true` submitted at once and run (bench/jobs.ts's throughput)
 */
import { readdir, readFile, mkdtemp, rm, stat } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { applyMigrations } from '../src/db/migrate.ts'
import { Api, throughput } from './jobs.ts'
import { Load, verify } from './load.ts'
import { readScenarios, requestLoads } from './scenarios.ts'
import { defaultSize, seed } from './seed.ts'
import { embeddedStorage, postgresStorage, sleep, startServer, type RunningServer } from './server.ts'
import { download, multipart, remove, upload, writeRandomFile } from './transfer.ts'
import type { World } from './seed.ts'

const { values: flags } = parseArgs({
  options: {
    scenario: { type: 'string', multiple: true },
    seconds: { type: 'string', default: '8' },
    connections: { type: 'string', default: '10' },
    postgresql: { type: 'boolean', default: false },
    transfer: { type: 'boolean', default: false },
    'transfer-mib': { type: 'string', default: '256' },
    jobs: { type: 'boolean', default: false },
    'job-count': { type: 'string', default: '300' },
    'job-concurrency': { type: 'string' }
  }
})
const names = flags.scenario ?? ['GET /servers/ anonymous', 'GET /users/{id} API key']
const seconds = Number(flags.seconds)
const connections = Number(flags.connections)

interface CallFrame { functionName: string, url: string, lineNumber: number }

interface CpuProfile {
  nodes: Array<{ id: number, callFrame: CallFrame, children?: number[] }>
  startTime: number
  samples: number[]
  timeDeltas: number[]
}

const serverUrl = process.env.BENCH_DATABASE_URL
if (flags.postgresql && (serverUrl === undefined || serverUrl === '')) throw new Error('--postgresql needs BENCH_DATABASE_URL')
const storage = flags.postgresql ? await postgresStorage(serverUrl!) : await embeddedStorage()
const kept = await mkdtemp(join(tmpdir(), 'mobyle2-profile-'))
try {
  const db = await storage.open()
  const world = await applyMigrations(db).then(async () => await seed(db, defaultSize)).finally(async () => await db.close())
  const scenarios = readScenarios(world)
  if (flags.transfer) await profileTransfers(world, join(kept, 'transfer'))
  if (flags.jobs) await profileJobs(world, join(kept, 'jobs'))
  for (const name of flags.transfer || flags.jobs ? [] : names) {
    const scenario = scenarios.find((s) => s.name === name)
    const requestLoad = requestLoads[name]
    if (scenario === undefined && requestLoad === undefined) {
      throw new Error(`no scenario "${name}"; there are: ${[...scenarios.map((s) => s.name), ...Object.keys(requestLoads)].join(', ')}`)
    }
    const dir = join(kept, name.replace(/[^A-Za-z0-9]+/g, '-'))
    // The profile is written when the server exits: stop() ends it gracefully.
    const server = await startServer(storage.serverEnv, ['--cpu-prof', `--cpu-prof-dir=${dir}`])
    let window: [number, number]
    try {
      if (scenario !== undefined) await verify(server.url, scenario.call, scenario.refuse)
      const load = new Load(server.url, { connections, ...(scenario === undefined ? requestLoad!(world) : { call: scenario.call }) })
      await load.warm(1)
      // Profile timestamps are microseconds on the monotonic clock, which process.hrtime reads too.
      const start = microseconds()
      load.openWindow()
      await sleep(seconds * 1000)
      const stats = load.closeWindow()
      window = [start, microseconds()]
      await load.stop()
      process.stdout.write(`\n${name}, ${connections} connections: ${(stats.answers / stats.seconds).toFixed(1)} req/s\n`)
    } finally {
      await server.stop()
    }
    process.stdout.write(summary(JSON.parse(await readFile(await mainThreadProfile(dir), 'utf8')) as CpuProfile, window))
  }
} finally {
  await storage.dispose()
}
process.stdout.write(`\nprofiles kept in ${kept} (open them in Chrome DevTools, Performance tab)\n`)

/**
 * Three uploads of one item (each removed before the next), then three downloads of the last,
 * each direction profiled over its own window (bench/transfer.ts measures them against a floor).
 */
async function profileTransfers (world: World, dir: string): Promise<void> {
  const bytes = Number(flags['transfer-mib']) * 2 ** 20
  const source = join(kept, 'source.bin')
  await writeRandomFile(source, bytes)
  const form = multipart(source, bytes)
  const member = { 'x-api-key': world.member.apiKey }
  const data = `/projects/${world.memberProject}/data`
  const windows: Array<[string, [number, number]]> = []
  const server = await startServer(storage.serverEnv, ['--cpu-prof', `--cpu-prof-dir=${dir}`])
  try {
    let item = ''
    const timed = async (name: string, work: (server: RunningServer) => Promise<void>): Promise<void> => {
      await server.settle()
      const start = microseconds()
      const from = performance.now()
      for (let run = 0; run < 3; run++) await work(server)
      windows.push([name, [start, microseconds()]])
      process.stdout.write(`\n${name}: ${(3 * bytes / 2 ** 20 / ((performance.now() - from) / 1000)).toFixed(0)} MiB/s\n`)
    }
    await timed(`3 uploads of ${bytes / 2 ** 20} MiB`, async () => {
      if (item !== '') await remove(`${server.url}${data}/${item}`, member)
      item = (JSON.parse(await upload(server.url + data, member, form)) as { id: string }).id
    })
    await timed(`3 downloads of ${bytes / 2 ** 20} MiB`, async () => { await download(`${server.url}${data}/${item}/content`, member, bytes) })
  } finally {
    await server.stop()
    await rm(source, { force: true })
  }
  const profile = JSON.parse(await readFile(await mainThreadProfile(dir), 'utf8')) as CpuProfile
  for (const [name, window] of windows) process.stdout.write(`\n${name}, ${summary(profile, window)}`)
}

/** One throughput run of bench/jobs.ts (after a warm-up of a few jobs) on a server that runs jobs. */
async function profileJobs (world: World, dir: string): Promise<void> {
  const count = Number(flags['job-count'])
  const concurrency = flags['job-concurrency'] === undefined ? availableParallelism() : Number(flags['job-concurrency'])
  const server = await startServer({ ...storage.serverEnv, JOB_CONCURRENCY: String(concurrency) }, ['--cpu-prof', `--cpu-prof-dir=${dir}`])
  let window: [number, number]
  try {
    const api = new Api(server.url, world)
    await throughput(server, api, 10, 'warm-up')
    const start = microseconds()
    const { seconds, cpuMs } = await throughput(server, api, count, 'profiled')
    window = [start, microseconds()]
    process.stdout.write(`\n${count} jobs of true, ${concurrency} at once: ${(count / seconds).toFixed(1)} jobs/s, ${(cpuMs / count).toFixed(2)} ms of server CPU a job\n`)
  } finally {
    await server.stop()
  }
  process.stdout.write(summary(JSON.parse(await readFile(await mainThreadProfile(dir), 'utf8')) as CpuProfile, window))
}

function microseconds (): number {
  return Number(process.hrtime.bigint() / 1000n)
}

/** Each thread writes a profile: the server's main thread's is the largest. */
async function mainThreadProfile (dir: string): Promise<string> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f))
  const sizes = await Promise.all(files.map(async (f) => (await stat(f)).size))
  const largest = files[sizes.indexOf(Math.max(...sizes))]
  if (largest === undefined) throw new Error(`no profile written in ${dir}`)
  return largest
}

/** Who a JavaScript frame belongs to: a package, node itself, or a file of the project. */
function owner ({ url, functionName }: CallFrame): string {
  if (url === '') return functionName === '(garbage collector)' ? 'GC' : functionName === '(idle)' ? 'idle' : `V8 ${functionName}`
  if (url.startsWith('node:')) return 'node internals'
  const inPackage = /.*\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (inPackage !== null) return inPackage[1]!
  // The server runs compiled (dist/x.js); name its files as their sources (src/x.ts).
  const inProject = /\/dist\/(generated\/prisma|[^?]+)/.exec(url)
  if (inProject !== null) return `src/${inProject[1]!.replace(/\.js$/, '.ts')}`
  return url
}

/** Self time within `window`, by owner and by function, as a text table. */
function summary (profile: CpuProfile, [from, to]: [number, number]): string {
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]))
  const parents = new Map(profile.nodes.flatMap((node) => (node.children ?? []).map((child) => [child, node.id])))
  // WebAssembly frames are nameless (wasm://wasm/<hash>): they, and V8's JS-to-wasm
  // wrappers, belong to the package whose JavaScript called them.
  const inWasm = ({ url, functionName }: CallFrame): boolean => url.startsWith('wasm://') || (url === '' && /wasm/i.test(functionName))
  const caller = (id: number): string => {
    const parent = parents.get(id)
    if (parent === undefined) return 'unknown'
    return inWasm(frames.get(parent)!) ? caller(parent) : owner(frames.get(parent)!)
  }
  const owners = new Map<number, string>()
  const ownerOf = (id: number): string => {
    let who = owners.get(id)
    if (who === undefined) {
      const frame = frames.get(id)!
      who = inWasm(frame) ? `${caller(id)} (WebAssembly)` : owner(frame)
      owners.set(id, who)
    }
    return who
  }
  const byOwner = new Map<string, number>()
  const byFunction = new Map<string, number>()
  let time = profile.startTime
  let total = 0
  for (const [index, sample] of profile.samples.entries()) {
    time += profile.timeDeltas[index] ?? 0
    // A sample's time is the delta that follows it.
    const spent = profile.timeDeltas[index + 1] ?? 0
    if (time < from || time > to) continue
    const frame = frames.get(sample)!
    const who = ownerOf(sample)
    byOwner.set(who, (byOwner.get(who) ?? 0) + spent)
    const where = `${frame.functionName || '(anonymous)'} ${who}:${frame.lineNumber + 1}`
    byFunction.set(where, (byFunction.get(where) ?? 0) + spent)
    total += spent
  }
  const busy = total - (byOwner.get('idle') ?? 0)
  const rows = (map: Map<string, number>, limit: number): string => [...map].sort((a, b) => b[1] - a[1]).slice(0, limit)
    .map(([name, us]) => `  ${(us / 1000).toFixed(0).padStart(7)} ms ${(100 * us / busy).toFixed(1).padStart(5)} %  ${name}`).join('\n')
  return `self time over ${(total / 1e6).toFixed(1)} s (${(busy / 1e6).toFixed(1)} s busy; % of busy):\n${rows(byOwner, 20)}\n` +
    `hottest functions:\n${rows(byFunction, 15)}\n`
}
