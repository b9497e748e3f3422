import { spawn } from 'node:child_process'
import { mkdir, readFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { openDatabase, type Database } from '../../src/db/client.ts'
import type { AdoptedJob, ClaimedJob } from '../../src/domain/job-queue.ts'
import { openDomain, type Domain } from '../../src/domain/index.ts'
import { Dispatcher, type DispatcherOptions, type JobHooks } from '../../src/jobs/dispatcher.ts'
import type { Executor, Run, RunOutcome, RunSpec } from '../../src/jobs/executor.ts'
import { LocalExecutor } from '../../src/jobs/local-executor.ts'
import { seed, type Seed } from '../fixtures.ts'
import { databaseKinds, freshDatabase, gone, postgresDatabase, postgresTemplate, tempDir, testStorage, until } from '../helper.ts'

interface Teardown { teardown: (fn: () => unknown) => void }

/** What the dispatchers reported as their own problems: none, each test checks. */
const dispatcherErrors: unknown[] = []

const executor = new LocalExecutor({ graceMs: 500, path: process.env.PATH ?? '/usr/bin:/bin' })

/** Runs each job's `argv` input in a directory of its own under `root`. */
function hooks (root: string, overrides: Partial<JobHooks> = {}): JobHooks {
  const specOf = (job: ClaimedJob, attempt: number, argv: string[]): RunSpec => {
    const dir = join(root, `${job.id}.${attempt}`)
    return {
      jobId: job.id, attempt: job.attempt, argv, workDir: join(dir, 'work'), tmpDir: join(dir, 'tmp'),
      stdoutPath: join(dir, 'stdout'), stderrPath: join(dir, 'stderr'), env: {}, timeoutSeconds: 60, maxOutputBytes: 1 << 20
    }
  }
  return {
    prepare: async (job: ClaimedJob): Promise<RunSpec> => {
      const { argv } = job.inputs as { argv?: string[] }
      if (argv === undefined) throw new Error('no argv in the inputs')
      const spec = specOf(job, job.attempt, argv)
      await mkdir(spec.workDir, { recursive: true })
      await mkdir(spec.tmpDir)
      return spec
    },
    locate: async (job: AdoptedJob): Promise<RunSpec> => specOf(job, job.runAttempt, []),
    collect: async (_job, _spec, outcome) => ({ outcome, products: [], release: async () => {} }),
    discard: async (job, stop) => { await stop(join(root, `${job.id}.${job.attempt}`, 'work')) },
    onError: (error) => { dispatcherErrors.push(error) },
    ...overrides
  }
}

async function dispatcher (t: Teardown, db: Pick<Database, 'changes'>, domain: Domain, root: string, options: Partial<DispatcherOptions> = {},
  hookOverrides: Partial<JobHooks> = {}, using: Executor = executor): Promise<Dispatcher> {
  const d = new Dispatcher(domain.jobQueue, using, db.changes, hooks(root, hookOverrides), {
    worker: `test-${Math.random().toString(36).slice(2)}`, concurrency: 2, pollMs: 200, heartbeatMs: 500, lostAfterSeconds: 30, alone: false, ...options
  })
  t.teardown(() => d.stop())
  await d.start()
  return d
}

/** Jobs queued for `executor` (as their route would have chosen), each running its `argv` input. */
async function addJobs (db: Database, projectId: number, argvs: string[][], executor = 'local'): Promise<number[]> {
  const ids: number[] = []
  for (const argv of argvs) {
    const [row] = await db.prisma.$queryRaw<Array<{ id: number }>>`
      INSERT INTO "job" (project_id, name, inputs, executor) VALUES (${projectId}, 'test', ${JSON.stringify({ argv })}::jsonb, ${executor}) RETURNING id`
    ids.push(row!.id)
  }
  return ids
}

async function job (db: Database, id: number) {
  const [row] = await db.prisma.$queryRaw<Array<{ state: string, reason: string | null, exitCode: number | null, attempt: number, handle: string | null, message: string }>>`
    SELECT state::text, reason, exit_code AS "exitCode", attempt, handle, message FROM "job" WHERE id = ${id}`
  return row!
}

async function history (db: Database, id: number): Promise<string[]> {
  const rows = await db.prisma.$queryRaw<Array<{ state: string, reason: string | null }>>`SELECT state::text, reason FROM "job_event" WHERE job_id = ${id} ORDER BY id`
  return rows.map((row) => row.reason === null ? row.state : `${row.state}/${row.reason}`)
}

const python = (code: string, ...args: string[]) => ['python3', '-c', code, ...args]

interface Process { db: Database, domain: Domain }

/**
 * Two processes on one database: on PostgreSQL each with a connection pool, a
 * change feed and a read model of its own, as two servers have; the embedded
 * database has one process.
 */
async function twoProcesses (t: Teardown, kind: 'pglite' | 'postgresql'): Promise<{ a: Process, b: Process, seeded: Seed }> {
  const storage = await testStorage(t)
  const open = async (url: string): Promise<Process> => {
    const db = await openDatabase({ url, poolSize: 5 })
    t.teardown(() => db.close())
    return { db, domain: openDomain(db, { storage }).domain }
  }
  if (kind === 'pglite') {
    const db = await freshDatabase(t)
    const a = { db, domain: openDomain(db, { storage }).domain }
    return { a, b: a, seeded: await seeded(a) }
  }
  const url = await postgresDatabase(t, await postgresTemplate(process.env.TEST_DATABASE_URL!))
  const a = await open(url)
  return { a, b: await open(url), seeded: await seeded(a) }
}

/** The test world, whose own job is no job of these tests: it is cancelled before any dispatcher starts. */
async function seeded (process: Process): Promise<Seed> {
  const world = await seed(process.domain)
  await process.domain.jobQueue.cancel(world.jobId)
  return world
}

for (const kind of databaseKinds) {
  t.test(`${kind}: jobs run to their end, each exactly once, whichever dispatcher claims it`, async (t) => {
    const { a, b, seeded } = await twoProcesses(t, kind)
    const root = await tempDir(t)
    const log = join(root, 'ran.log')
    const ids = await addJobs(a.db, seeded.projectId, Array.from({ length: 50 }, (_, i) =>
      python('import sys; open(sys.argv[1], "a").write(sys.argv[2] + "\\n")', log, String(i))))
    await dispatcher(t, a.db, a.domain, root)
    await dispatcher(t, b.db, b.domain, root)
    for (const id of ids) {
      await until(`job ${id}`, async () => (await job(a.db, id)).state === 'ok' ? true : undefined)
      t.same(await history(a.db, id), ['running', 'ok'])
      t.equal((await job(a.db, id)).attempt, 1)
    }
    const lines = (await readFile(log, 'utf8')).trim().split('\n')
    t.equal(lines.length, 50, 'fifty runs')
    t.equal(new Set(lines).size, 50, 'each job once')
    t.same(dispatcherErrors.splice(0), [], 'the dispatchers met no problem of their own')
  })
}

for (const kind of databaseKinds) {
  t.test(`${kind}: cancel`, async (t) => {
    const { a, seeded } = await twoProcesses(t, kind)
    const root = await tempDir(t)
    const queue = a.domain.jobQueue
    const [sleeper] = await addJobs(a.db, seeded.projectId, [['sleep', '600']])
    await dispatcher(t, a.db, a.domain, root, { concurrency: 1, pollMs: 10_000 })
    const handle = await until('the sleeper to run', async () => (await job(a.db, sleeper!)).handle ?? undefined)
    // The one slot is taken: the next job waits.
    const [waiting] = await addJobs(a.db, seeded.projectId, [['true']])
    t.equal(await queue.cancel(waiting!), 'cancelled', 'a queued job is cancelled at once')
    t.same(await history(a.db, waiting!), ['cancelled'])

    const asked = performance.now()
    t.equal(await queue.cancel(sleeper!), 'asked', 'a running job is asked to stop')
    await until('the sleeper to end', async () => (await job(a.db, sleeper!)).state === 'cancelled' ? true : undefined, 5)
    t.ok(performance.now() - asked < 5000, 'within 5 s')
    t.same(await history(a.db, sleeper!), ['running', 'cancelled'])
    t.throws(() => { process.kill(-Number(handle), 0) }, { code: 'ESRCH' }, 'its process group is gone')

    t.equal(await queue.cancel(sleeper!), 'final', 'an ended job cannot be cancelled')
    t.equal(await queue.cancel(2 ** 31 - 1), 'absent')
    t.same(dispatcherErrors.splice(0), [])
  })

  t.test(`${kind}: a job's place is given back once its program ends: the next one runs while the first one's outputs are collected`, async (t) => {
    const { a, seeded } = await twoProcesses(t, kind)
    const root = await tempDir(t)
    let letGo!: () => void
    const held = new Promise<void>((resolve) => { letGo = resolve })
    const [first, second] = await addJobs(a.db, seeded.projectId, [['true'], ['true']])
    await dispatcher(t, a.db, a.domain, root, { concurrency: 1 }, {
      collect: async (job, _spec, outcome) => {
        if (job.id === first) await held
        return { outcome, products: [], release: async () => {} }
      }
    })
    // Run first of the teardowns: a dispatcher stops once what it collects is let go.
    t.teardown(letGo)
    await until('the second job to end', async () => (await job(a.db, second!)).state === 'ok' ? true : undefined)
    t.equal((await job(a.db, first!)).state, 'running', 'the first one still being collected')
    letGo()
    await until('the first job to end', async () => (await job(a.db, first!)).state === 'ok' ? true : undefined)
    t.same(await history(a.db, first!), ['running', 'ok'])
    t.same(dispatcherErrors.splice(0), [])
  })

  t.test(`${kind}: a job whose handle cannot be recorded still ends as its program ran, the failure reported`, async (t) => {
    const { a, seeded } = await twoProcesses(t, kind)
    await a.db.prisma.$executeRawUnsafe(`
      CREATE FUNCTION refuse_handles() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.handle IS DISTINCT FROM OLD.handle THEN RAISE EXCEPTION 'handles refused by the test'; END IF; RETURN NEW; END $$`)
    await a.db.prisma.$executeRawUnsafe('CREATE TRIGGER refuse_handles BEFORE UPDATE ON "job" FOR EACH ROW EXECUTE FUNCTION refuse_handles()')
    const [id] = await addJobs(a.db, seeded.projectId, [['sh', '-c', 'exit 3']])
    await dispatcher(t, a.db, a.domain, await tempDir(t), { concurrency: 1 })
    await until('the job to end', async () => (await job(a.db, id!)).state === 'error' ? true : undefined)
    t.match(await job(a.db, id!), { reason: 'exit', exitCode: 3, handle: null })
    t.match(dispatcherErrors.splice(0), [/handles refused by the test/], 'the failure to record it reported')
  })

  t.test(`${kind}: a job whose process went silent ends error/lost, and that process's late result is not recorded`, async (t) => {
    const { a, seeded } = await twoProcesses(t, kind)
    const root = await tempDir(t)
    const queue = a.domain.jobQueue
    const [orphan] = await addJobs(a.db, seeded.projectId, [['true']])
    await queue.heartbeat('ghost')
    const [claimed] = await queue.claim('ghost', 'local', 1)
    t.equal(claimed?.id, orphan)
    // The ghost was last heard of a minute ago.
    await a.db.prisma.$executeRaw`UPDATE "worker" SET seen_at = seen_at - interval '60 seconds' WHERE name = 'ghost'`
    await dispatcher(t, a.db, a.domain, root, { lostAfterSeconds: 30, heartbeatMs: 100 })
    await until('the orphan to be lost', async () => (await job(a.db, orphan!)).state === 'error' ? true : undefined)
    t.match(await job(a.db, orphan!), { state: 'error', reason: 'lost', message: /ghost/ })
    t.same(await history(a.db, orphan!), ['running', 'error/lost'])
    t.equal(await queue.finish(claimed!, { state: 'ok', exitCode: 0 }), false, 'the fence: a lost attempt records nothing')
    t.equal((await job(a.db, orphan!)).state, 'error')
    t.same(dispatcherErrors.splice(0), [])
  })

  t.test(`${kind}: the program of a lost job still running on this host is stopped; one on another host is left alone`, async (t) => {
    const { a, seeded } = await twoProcesses(t, kind)
    const root = await tempDir(t)
    const queue = a.domain.jobQueue
    const here = `${hostname()}:${2 ** 22 + 1}`
    const orphans: Array<{ id: number, group: number }> = []
    for (const worker of [here, 'another-host:7']) {
      const [id] = await addJobs(a.db, seeded.projectId, [['sleep', '600']])
      await queue.heartbeat(worker)
      const [claimed] = await queue.claim(worker, 'local', 1)
      // What that process had started before it died: its program, in the job's directory.
      const run = await executor.start(await hooks(root).prepare(claimed!))
      t.teardown(() => { run.cancel() })
      await queue.started(claimed!, run.handle)
      orphans.push({ id: id!, group: Number(run.handle) })
    }
    await a.db.prisma.$executeRaw`UPDATE "worker" SET seen_at = seen_at - interval '60 seconds' WHERE name <> 'w'`
    await dispatcher(t, a.db, a.domain, root, { worker: `${hostname()}:${process.pid}`, lostAfterSeconds: 30 })
    for (const { id } of orphans) t.match(await job(a.db, id), { state: 'error', reason: 'lost' })
    await gone('the program on this host to be gone', -orphans[0]!.group, 5)
    t.doesNotThrow(() => { process.kill(-orphans[1]!.group, 0) }, 'another host\'s process id means nothing here: left alone')
    t.same(dispatcherErrors.splice(0), [])
  })

  t.test(`${kind}: a result is recorded once, by the attempt that holds the job`, async (t) => {
    const { a, seeded } = await twoProcesses(t, kind)
    const queue = a.domain.jobQueue
    const [id] = await addJobs(a.db, seeded.projectId, [['true']])
    t.equal(await queue.finish({ id: id!, attempt: 0 }, { state: 'ok', exitCode: 0 }), false, 'a queued job cannot end: it never ran')
    await queue.heartbeat('w')
    const [claimed] = await queue.claim('w', 'local', 5)
    t.equal(claimed?.attempt, 1)
    t.equal(await queue.finish({ id: id!, attempt: 2 }, { state: 'ok', exitCode: 0 }), false, 'another attempt cannot end it')
    t.equal(await queue.finish(claimed!, { state: 'error', reason: 'exit', exitCode: 3, message: 'the program exited with code 3' }), true)
    t.equal(await queue.finish(claimed!, { state: 'ok', exitCode: 0 }), false, 'an ended job cannot end again')
    t.match(await job(a.db, id!), { state: 'error', reason: 'exit', exitCode: 3 })
    t.same(await queue.claim('w', 'local', 5), [], 'nothing is queued any more')
  })
}

for (const kind of databaseKinds) {
  t.test(`${kind}: the started runs of a silent process on a followable executor are spared by the reaper and adopted once, the old holder fenced out`, async (t) => {
    const { a, b, seeded } = await twoProcesses(t, kind)
    const queue = a.domain.jobQueue
    const [started1, started2, unstarted] = await addJobs(a.db, seeded.projectId, [['true'], ['true'], ['true']], 'slurm')
    const [local] = await addJobs(a.db, seeded.projectId, [['true']])
    await queue.heartbeat('ghost')
    const claimed = await queue.claim('ghost', 'slurm', 3)
    t.same(claimed.map((job) => job.id), [started1, started2, unstarted])
    t.ok(await queue.started(claimed[0]!, '101'))
    t.ok(await queue.started(claimed[1]!, '102'))
    const [claimedLocal] = await queue.claim('ghost', 'local', 1)
    t.ok(await queue.started(claimedLocal!, '4242'))
    t.same(await queue.adopt('heir', 'slurm'), [], 'nothing is adopted from a live process')
    await a.db.prisma.$executeRaw`UPDATE "worker" SET seen_at = seen_at - interval '60 seconds' WHERE name = 'ghost'`

    t.same((await queue.reapLost(30, 'heir')).map((lost) => lost.id), [unstarted, local], 'the run never started and the local one are lost')
    t.match(await job(a.db, started1!), { state: 'running', handle: '101', attempt: 1 })
    t.same(await queue.adopt('heir', 'local'), [], 'another executor adopts none of them')

    await queue.heartbeat('heir-a')
    await b.domain.jobQueue.heartbeat('heir-b')
    const [byA, byB] = await Promise.all([queue.adopt('heir-a', 'slurm'), b.domain.jobQueue.adopt('heir-b', 'slurm')])
    const adopted = [...byA, ...byB].sort((x, y) => x.id - y.id)
    t.same(adopted.map((job) => ({ id: job.id, attempt: job.attempt, handle: job.handle, runAttempt: job.runAttempt, cancelRequested: job.cancelRequested })), [
      { id: started1, attempt: 2, handle: '101', runAttempt: 1, cancelRequested: false },
      { id: started2, attempt: 2, handle: '102', runAttempt: 1, cancelRequested: false }
    ], 'each run adopted by one of the two, its attempt raised')
    t.same(await queue.adopt('heir-c', 'slurm'), [], 'adopted runs have a live holder')
    t.same(await queue.reapLost(30, 'heir-a'), [])
    t.equal(await queue.attemptOf(started1!), 1, 'its logs are still in the directory of the attempt that started it')

    t.equal(await queue.finish(claimed[0]!, { state: 'ok', exitCode: 0 }), false, 'the old holder\'s late result is not recorded')
    t.equal(await queue.finish(adopted[0]!, { state: 'ok', exitCode: 0 }), true, 'the adopter\'s is')
    t.same(await history(a.db, started1!), ['running', 'ok'], 'an adoption is no transition')
    t.same(await history(a.db, unstarted!), ['running', 'error/lost'])
  })
}

/** Whether a process is there (a child of this one is reaped by Node as soon as it exits). */
function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * Runs each program detached from its dispatcher, as a cluster runs its jobs: its
 * runs outlive the dispatcher that started them, and are followed by their
 * process id; under the name of an executor the reaper spares.
 */
class DetachedExecutor implements Executor {
  readonly name = 'slurm'

  async start (spec: RunSpec): Promise<Run> {
    const child = spawn(spec.argv[0]!, spec.argv.slice(1), { cwd: spec.workDir, detached: true, stdio: 'ignore' })
    child.unref()
    return this.follow(String(child.pid))
  }

  follow (handle: string): Run {
    const pid = Number(handle)
    let cancelled = false
    let detached = false
    const outcome = (async (): Promise<RunOutcome> => {
      while (alive(pid) && !detached) await new Promise((resolve) => setTimeout(resolve, 50))
      // A detached run says nothing, and keeps nothing waiting.
      if (detached) return await new Promise<never>(() => {})
      return cancelled ? { state: 'cancelled', message: 'cancelled' } : { state: 'ok', exitCode: 0 }
    })()
    return {
      handle,
      outcome,
      cancel: () => {
        if (cancelled) return
        cancelled = true
        process.kill(-pid, 'SIGTERM')
      },
      detach: () => { detached = true }
    }
  }
}

for (const kind of databaseKinds) {
  t.test(`${kind}: a dispatcher that stops leaves the runs that outlive it running; another adopts them once it is silent, and ends them`, async (t) => {
    const { a, b, seeded } = await twoProcesses(t, kind)
    const root = await tempDir(t)
    const [finishing, cancelling] = await addJobs(a.db, seeded.projectId, [['sleep', '1'], ['sleep', '600']], 'slurm')
    const first = await dispatcher(t, a.db, a.domain, root, {}, {}, new DetachedExecutor())
    const [, sleeper] = await until('both to run', async () => {
      const rows = [await job(a.db, finishing!), await job(a.db, cancelling!)]
      return rows.every((row) => row.handle !== null) ? rows.map((row) => Number(row.handle)) : undefined
    })
    t.teardown(() => { if (alive(sleeper!)) process.kill(-sleeper!, 'SIGKILL') })
    await first.stop()
    t.match(await job(a.db, cancelling!), { state: 'running', attempt: 1 }, 'the stopped dispatcher recorded nothing')
    t.ok(alive(sleeper!), 'its programs run on')
    t.equal(await a.domain.jobQueue.cancel(cancelling!), 'asked', 'a cancel asked while nobody follows the job')

    await dispatcher(t, b.db, b.domain, root, { lostAfterSeconds: 1, heartbeatMs: 200 }, {}, new DetachedExecutor())
    await until('the first to end', async () => (await job(a.db, finishing!)).state === 'running' ? undefined : true)
    t.match(await job(a.db, finishing!), { state: 'ok', attempt: 2 }, 'adopted, and followed to its end')
    t.same(await history(a.db, finishing!), ['running', 'ok'])
    await until('the second to end', async () => (await job(a.db, cancelling!)).state === 'running' ? undefined : true)
    t.match(await job(a.db, cancelling!), { state: 'cancelled', attempt: 2 }, 'the cancel was carried out by the adopter')
    t.notOk(alive(sleeper!), 'its program is gone')
    t.same(dispatcherErrors.splice(0), [])
  })
}

t.test('the embedded database: at start, every job left running by an earlier process is lost at once', async (t) => {
  const { a, seeded } = await twoProcesses(t, 'pglite')
  const [id] = await addJobs(a.db, seeded.projectId, [['true']])
  await a.domain.jobQueue.heartbeat('before the restart')
  await a.domain.jobQueue.claim('before the restart', 'local', 1)
  await dispatcher(t, a.db, a.domain, await tempDir(t), { alone: true })
  t.match(await job(a.db, id!), { state: 'error', reason: 'lost' })
})

t.test('the embedded database: at start, the runs an earlier process left on an executor whose runs outlive it are adopted by a dispatcher of it, and wait for one otherwise', async (t) => {
  const { a, seeded } = await twoProcesses(t, 'pglite')
  const queue = a.domain.jobQueue
  const [followed, elsewhere] = await addJobs(a.db, seeded.projectId, [['true'], ['true']], 'slurm')
  await queue.heartbeat('before the restart')
  for (const id of [followed!, elsewhere!]) {
    const [claimed] = await queue.claim('before the restart', 'slurm', 1)
    t.equal(claimed?.id, id)
    // Runs that ended while nobody followed them: their process is gone.
    await queue.started(claimed!, '2147483647')
  }
  await a.db.prisma.$executeRaw`UPDATE "job" SET executor = 'elsewhere' WHERE id = ${elsewhere}`
  await dispatcher(t, a.db, a.domain, await tempDir(t), { alone: true }, {}, new DetachedExecutor())
  await until('the adopted run to end', async () => (await job(a.db, followed!)).state === 'running' ? undefined : true)
  t.match(await job(a.db, followed!), { state: 'ok', attempt: 2 }, 'the slurm run is followed')
  await dispatcher(t, a.db, a.domain, await tempDir(t), { alone: true })
  t.match(await job(a.db, elsewhere!), { state: 'running', attempt: 1 },
    'a run of an executor no process here runs is not lost: it waits for a process that runs it (GET /_admin/executors shows it)')
  t.same(dispatcherErrors.splice(0), [])
})

t.test('a job that cannot be prepared or started ends error/system', async (t) => {
  const { a, seeded } = await twoProcesses(t, 'pglite')
  const [unprepared, unstartable] = await addJobs(a.db, seeded.projectId, [[], ['mobyle2-no-such-program']])
  await a.db.prisma.$executeRaw`UPDATE "job" SET inputs = '{}' WHERE id = ${unprepared}`
  await dispatcher(t, a.db, a.domain, await tempDir(t))
  for (const id of [unprepared!, unstartable!]) await until(`job ${id}`, async () => (await job(a.db, id)).state === 'error' ? true : undefined)
  t.match(await job(a.db, unprepared!), { reason: 'system', message: /cannot prepare the job: no argv/ })
  t.match(await job(a.db, unstartable!), { reason: 'system', message: /cannot run mobyle2-no-such-program/ })
  t.same(dispatcherErrors.splice(0), [])
})

t.test('a server that stops ends the jobs it runs as error/lost, and its programs with them', async (t) => {
  const { a, seeded } = await twoProcesses(t, 'pglite')
  const [sleeper] = await addJobs(a.db, seeded.projectId, [['sleep', '600']])
  const d = await dispatcher(t, a.db, a.domain, await tempDir(t))
  const handle = await until('the sleeper to run', async () => (await job(a.db, sleeper!)).handle ?? undefined)
  await d.stop()
  t.match(await job(a.db, sleeper!), { state: 'error', reason: 'lost', message: /stopped/ })
  t.throws(() => { process.kill(-Number(handle), 0) }, { code: 'ESRCH' }, 'its program is gone')
  t.same(dispatcherErrors.splice(0), [])
})
