/**
 * The benchmark: seeds a realistic dataset, starts the server as a child process
 * on it, loads it from this process over loopback, and reports requests/s,
 * latencies, the server's peak memory and each scenario's ratio to the bare
 * /healthz of the same server in the same run. See bench/README.md.
 *
 *   npm run bench                      embedded database (and PostgreSQL when BENCH_DATABASE_URL is set)
 *   npm run bench -- --quick           a few scenarios, embedded database only, under a minute
 *   npm run bench -- --large           100,000 services (or --services <n>)
 *   npm run bench -- --postgresql-only PostgreSQL only (BENCH_DATABASE_URL)
 *   npm run bench -- --transfer-only   only the upload and download of one data item (256 MiB; 1 GiB with --large)
 *   npm run bench -- --transfer-mib <n>  that item's size
 *   npm run bench -- --jobs-only       only the jobs that run (`true` through the API against spawning it), on both databases
 *   npm run bench -- --job-concurrency <n>  the jobs server's JOB_CONCURRENCY and the floor's (default: the cores)
 *   npm run bench -- --slurm-only      only the jobs on Slurm (bench/slurm.ts; SLURM_CONF), into latest.json's `slurm`
 *   npm run bench -- --only <text>     only the scenarios whose name contains <text> (and the floor); no transfers, no jobs
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { availableParallelism, cpus, release, totalmem, type } from 'node:os'
import { parseArgs } from 'node:util'
import { applyMigrations } from '../src/db/migrate.ts'
import { jobsTable, runJobs, type JobsPlan, type JobsResult } from './jobs.ts'
import { runScenarios, type Plan, type Result } from './scenarios.ts'
import { defaultSize, seed, type DatasetSize, type World } from './seed.ts'
import { embeddedStorage, postgresStorage, startServer, type RunningServer, type Storage } from './server.ts'
import { runSlurm, slurmTable, slurmUnreachable } from './slurm.ts'
import { runTransfers, transferTable, type TransferPlan, type TransferResult } from './transfer.ts'

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    large: { type: 'boolean', default: false },
    services: { type: 'string' },
    'postgresql-only': { type: 'boolean', default: false },
    'transfer-only': { type: 'boolean', default: false },
    'transfer-mib': { type: 'string' },
    'jobs-only': { type: 'boolean', default: false },
    'job-concurrency': { type: 'string' },
    'slurm-only': { type: 'boolean', default: false },
    only: { type: 'string' }
  }
})
const services = flags.services !== undefined ? Number(flags.services) : flags.large ? 100_000 : defaultSize.services
if (!Number.isInteger(services) || services < 100) throw new Error(`--services wants a whole number of at least 100, not ${flags.services}`)
const size: DatasetSize = { ...defaultSize, services }
const plan: Plan = flags.quick
  ? { quick: true, warmupSeconds: 0.5, seconds: 2, writeRate: 0 }
  : { quick: false, warmupSeconds: 1, seconds: 4, writeRate: 20 }
if (flags.only !== undefined) plan.only = flags.only
const transferMib = flags['transfer-mib'] !== undefined ? Number(flags['transfer-mib']) : flags.large ? 1024 : plan.quick ? 64 : 256
if (!Number.isInteger(transferMib) || transferMib < 1) throw new Error(`--transfer-mib wants a whole number of MiB, not ${flags['transfer-mib']}`)
const transferPlan: TransferPlan = { bytes: transferMib * 2 ** 20, runs: 3 }
if (flags['transfer-only'] && flags['jobs-only']) throw new Error('--transfer-only and --jobs-only: one or the other (neither runs everything)')
const jobConcurrency = flags['job-concurrency'] !== undefined ? Number(flags['job-concurrency']) : availableParallelism()
if (!Number.isInteger(jobConcurrency) || jobConcurrency < 1) throw new Error(`--job-concurrency wants a whole number of at least 1, not ${flags['job-concurrency']}`)
const jobsPlan: JobsPlan = plan.quick
  ? { concurrency: jobConcurrency, jobs: 100, runs: 1, readRuns: 1, latencySamples: 30, churnRate: 20, reads: plan }
  : { concurrency: jobConcurrency, jobs: 300, runs: 3, readRuns: 5, latencySamples: 100, churnRate: 20, reads: plan }
// The jobs bench runs in a full run (not --quick, not --transfer-only), or alone with --jobs-only.
const only = flags.only !== undefined
const withJobs = flags['jobs-only'] || (!plan.quick && !flags['transfer-only'] && !only)
const postgresUrl = process.env.BENCH_DATABASE_URL
const slurmOnly = flags['slurm-only']
const storages: Array<() => Promise<Storage>> = flags['postgresql-only'] || slurmOnly ? [] : [embeddedStorage]
// --transfer-only measures on one database: PGlite, or PostgreSQL with --postgresql-only.
const withPostgres = !plan.quick && (flags['postgresql-only'] || !flags['transfer-only'])
if (withPostgres && !slurmOnly && postgresUrl !== undefined && postgresUrl !== '') storages.push(async () => await postgresStorage(postgresUrl))
if (storages.length === 0 && !slurmOnly) throw new Error('--postgresql-only needs BENCH_DATABASE_URL (and not --quick)')

const progress = (line: string): void => { process.stderr.write(`${line}\n`) }
const started = Date.now()
const seconds = (since: number): string => `${((Date.now() - since) / 1000).toFixed(1)} s`

const results: Result[] = []
const transfers: TransferResult[] = []
const jobs: JobsResult[] = []
for (const [index, makeStorage] of storages.entries()) {
  const storage = await makeStorage()
  try {
    const seeding = Date.now()
    const world = await seedInto(storage)
    progress(`${storage.kind}: seeded ${size.services.toLocaleString('en')} services, ${size.users.toLocaleString('en')} users, ` +
      `${size.projects.toLocaleString('en')} projects in ${seconds(seeding)}`)
    if (!flags['jobs-only']) {
      const server = await startServer(storage.serverEnv)
      const measured = await stopAfter(server, async () => {
        const scenarios = flags['transfer-only'] ? [] : await runScenarios(server, world, storage.kind, plan, progress)
        // Bytes stream between socket and file whatever the database: the first database of the run is enough (bench/README.md).
        if (index === 0 && !only) transfers.push(...await runTransfers(server, world, storage.kind, transferPlan, progress))
        return scenarios
      })
      results.push(...measured)
    }
    if (withJobs) {
      // The scenarios' submissions stayed queued (their server runs no jobs): the jobs server would run them all first.
      if (!flags['jobs-only']) await dropQueuedJobs(storage)
      const server = await startServer({ ...storage.serverEnv, JOB_CONCURRENCY: String(jobConcurrency) })
      jobs.push(await stopAfter(server, async () => await runJobs(server, world, storage.kind, jobsPlan, progress)))
    }
  } finally {
    await storage.dispose()
  }
}

// Jobs on Slurm, in full runs and with --slurm-only, when a cluster answers (bench/README.md, "Slurm").
const measureSlurm = slurmOnly || (!plan.quick && !only && !flags['transfer-only'] && !flags['postgresql-only'] && !flags['jobs-only'])
const unreachable = measureSlurm ? await slurmUnreachable() : undefined
if (unreachable !== undefined) progress(`slurm: skipped, no cluster to measure (${unreachable})`)
const slurm = measureSlurm && unreachable === undefined
  ? await runSlurm({ sequential: 20, burst: 100, queued: 1000, pollMs: [2000, 250], windowSeconds: 60 }, progress)
  : undefined
const resultsDir = new URL('results/', import.meta.url)
// --jobs-only and --slurm-only replace their own section of the last results and keep the rest.
const partial = slurmOnly || flags['jobs-only']
const previous = JSON.parse(await readFile(new URL('latest.json', resultsDir), 'utf8').catch(() => '{}')) as { slurm?: unknown }
const report = {
  // Slurm's figures, with their own date, stay until a run measures them again.
  ...(partial ? previous : { machine: machine(), node: process.version, date: new Date().toISOString(), scenarios: results, transfers, slurm: previous.slurm }),
  ...(jobs.length === 0 && partial ? {} : { jobs }),
  ...(slurm === undefined ? {} : { slurm })
}
// A run of a few scenarios (--only) is for looking, not for keeping.
const written = only ? 'not written (--only)' : 'written to bench/results/latest.json'
if (!only) {
  await mkdir(resultsDir, { recursive: true })
  await writeFile(new URL('latest.json', resultsDir), `${JSON.stringify(report, null, 2)}\n`)
}
if (results.length > 0) process.stdout.write(table(results))
if (results.length > 0 && transfers.length > 0) process.stdout.write('\n')
if (transfers.length > 0) process.stdout.write(transferTable(transfers))
if (jobs.length > 0) process.stdout.write(`${results.length + transfers.length > 0 ? '\n' : ''}${jobsTable(jobs)}`)
if (slurm !== undefined) process.stdout.write(`${results.length + transfers.length + jobs.length > 0 ? '\n' : ''}${slurmTable(slurm)}`)
progress(`${results.length} scenarios, ${transfers.length} transfers, ${jobs.length} job runs${slurm === undefined ? '' : ' and Slurm\'s'} in ${seconds(started)}; ${written}`)

/** Runs `work` against the server, then stops it. */
async function stopAfter<T> (server: RunningServer, work: () => Promise<T>): Promise<T> {
  let answer: T
  try {
    answer = await work()
  } catch (error) {
    // The scenario's failure is the news; a server slow to stop after it is not.
    await server.stop().catch((stopping: Error) => { progress(`and then: ${stopping.message.split('\n')[0]!}`) })
    throw error
  }
  await server.stop()
  return answer
}

async function dropQueuedJobs (storage: Storage): Promise<void> {
  const db = await storage.open()
  try {
    await db.prisma.$executeRawUnsafe('DELETE FROM "job" WHERE state = \'queued\'')
  } finally {
    await db.close()
  }
}

/** Migrates and seeds through this process's own handle, closed before the server opens the database. */
async function seedInto (storage: Storage): Promise<World> {
  const db = await storage.open()
  try {
    await applyMigrations(db)
    const world = await seed(db, size)
    // PostgreSQL's autovacuum would analyze tables this freshly filled within a minute, perhaps in the
    // middle of a scenario: do it now. The server analyzes PGlite itself when it starts.
    if (db.kind === 'postgresql') await db.prisma.$executeRawUnsafe('ANALYZE')
    return world
  } finally {
    await db.close()
  }
}

function machine (): string {
  const cores = cpus()
  return `${cores[0]?.model.trim() ?? 'unknown CPU'}, ${cores.length} CPUs, ${Math.round(totalmem() / 2 ** 30)} GiB, ${type()} ${release()}`
}

function table (rows: Result[]): string {
  const header = ['scenario', 'face', 'database', 'conns', 'req/s', 'p50 ms', 'p99 ms', 'RSS MB', 'srv µs', 'busy', '× floor', '× ref']
  const cells = rows.map((r) => [r.name, r.face, r.database, String(r.connections), r.req_per_s.toFixed(r.req_per_s < 100 ? 1 : 0),
    r.p50_ms.toFixed(2), r.p99_ms.toFixed(2), r.rss_mb.toFixed(0), r.server_cpu_us === null ? '-' : r.server_cpu_us.toFixed(0),
    r.server_busy.toFixed(2), r.ratio_to_floor === null ? '-' : r.ratio_to_floor.toPrecision(3), r.reference?.ratio.toPrecision(3) ?? ''])
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)))
  const line = (c: string[]): string => c.map((cell, i) => i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)).join('  ')
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n') + '\n'
}
