/**
 * The Slurm executor against a real Slurm: the one-node cluster of
 * scripts/slurm-test-cluster.sh, which CI starts (TEST_SLURM=1, SLURM_CONF).
 * Elsewhere those tests say they are skipped; the reading of Slurm's answers
 * (captured from that cluster) and the batch script are tested everywhere.
 *
 * The executor on its own, then jobs through the server (JOB_EXECUTOR=slurm),
 * then a time limit (about 75 s: Slurm's limits are whole minutes, checked every
 * 30 s). One file, so that its jobs never wait for another file's on the node's
 * two CPUs (tap runs files side by side).
 */
import { execFile, execFileSync } from 'node:child_process'
import { createReadStream } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { buildApp } from '../../src/app.ts'
import type { RunOutcome, RunSpec } from '../../src/jobs/executor.ts'
import { batchScript, exitCodeOf, parseSqueue, SlurmExecutor, slurmOutcome, slurmSeconds } from '../../src/jobs/slurm-executor.ts'
import { formatId } from '../../src/rest/common.ts'
import { basic, seededApp } from '../fixtures.ts'
import { databaseKinds, runSpec, tempDir, until } from '../helper.ts'

const slurm = process.env.TEST_SLURM === '1' ? false : 'TEST_SLURM is not set: no Slurm cluster to run jobs on (scripts/slurm-test-cluster.sh start, then TEST_SLURM=1 and its SLURM_CONF)'

/** What the executor reported as its own problems: none, each test checks. */
const executorErrors: unknown[] = []

function executor (path = process.env.PATH ?? '/usr/bin:/bin'): SlurmExecutor {
  return new SlurmExecutor({ name: 'slurm', pollMs: 250, path, slurmConf: process.env.SLURM_CONF, onError: (error) => { executorErrors.push(error) } })
}

/** A job directory of the test's own, where the node sees it (this host): a run of one CPU, with ten minutes for it. */
async function spec (t: { teardown: (fn: () => unknown) => void }, argv: string[], overrides: Partial<RunSpec> = {}): Promise<RunSpec> {
  return await runSpec(t, argv, { timeoutSeconds: 600, cores: 1, ...overrides })
}

/** The state Slurm shows a job in; undefined once it has forgotten it. */
async function slurmState (id: string): Promise<string | undefined> {
  const { stdout } = await promisify(execFile)('squeue', ['--noheader', '--states=all', `--jobs=${id}`, '--format=%T'])
  return stdout.trim() === '' ? undefined : stdout.trim()
}

/** Whether a process runs (one that has exited and waits to be reaped is not running). */
async function running (pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
  return stat !== '' && stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z'
}

const python = (code: string, ...args: string[]) => ['python3', '-c', code, ...args]

t.test('squeue\'s answer is read as it is written (captured from the test cluster)', async (t) => {
  const captured = '7|RUNNING|None|0|0:02|\n1|FAILED|NonZeroExitCode|768|1:05:09|\n3|CANCELLED|None|15|2-03:00:01|\n12|PENDING|Resources|0|0:00|\n'
  t.same([...parseSqueue(captured)], [
    ['7', { state: 'RUNNING', reason: 'None', waitStatus: 0, ranSeconds: 2 }],
    ['1', { state: 'FAILED', reason: 'NonZeroExitCode', waitStatus: 768, ranSeconds: 3909 }],
    ['3', { state: 'CANCELLED', reason: 'None', waitStatus: 15, ranSeconds: 183601 }],
    ['12', { state: 'PENDING', reason: 'Resources', waitStatus: 0, ranSeconds: 0 }]
  ])
  t.same(parseSqueue(''), new Map())
  t.same(['45', '12:34', 'INVALID', ''].map(slurmSeconds), [45, 754, 0, 0])
  t.same(exitCodeOf(768), { exitCode: 3, signal: 0 })
  t.same(exitCodeOf(15), { exitCode: 143, signal: 15 })
})

t.test('each final Slurm state is one of ours, with a reason', async (t) => {
  const outcome = (state: string, reason = 'None', waitStatus = 0, stop?: Parameters<typeof slurmOutcome>[2]): RunOutcome =>
    slurmOutcome('42', { state, reason, waitStatus, ranSeconds: 1 }, stop)
  t.same(outcome('COMPLETED'), { state: 'ok', exitCode: 0 })
  t.match(outcome('FAILED', 'NonZeroExitCode', 3 << 8), { state: 'error', reason: 'exit', exitCode: 3, message: /exited with code 3; Slurm job 42: FAILED \(NonZeroExitCode\)/ })
  t.match(outcome('FAILED', 'NonZeroExitCode', 137 << 8), { state: 'error', reason: 'exit', exitCode: 137, message: /killed by signal 9/ })
  t.match(outcome('FAILED', 'RaisedSignal:9_Killed', 9), { state: 'error', reason: 'exit', exitCode: 137 })
  t.match(outcome('FAILED', 'JobLaunchFailure', 1 << 8), { state: 'error', reason: 'system', exitCode: null, message: /Slurm job 42: FAILED \(JobLaunchFailure\)/ })
  t.match(outcome('TIMEOUT', 'TimeLimit', 15), { state: 'error', reason: 'timeout', exitCode: 143 })
  t.match(outcome('DEADLINE'), { state: 'error', reason: 'timeout' })
  t.match(outcome('OUT_OF_MEMORY', 'OutOfMemory', 9), { state: 'error', reason: 'exit', message: /more memory/ })
  t.match(outcome('CANCELLED', 'None', 15), { state: 'error', reason: 'lost', message: /cancelled on the cluster/ }, 'cancelled behind our back')
  t.same(outcome('CANCELLED', 'None', 15, { reason: 'cancelled', message: 'cancelled' }), { state: 'cancelled', message: 'cancelled' })
  t.match(outcome('CANCELLED', 'None', 15, { reason: 'output-limit', message: 'wrote more than 10 bytes to stdout' }), { state: 'error', reason: 'output-limit' })
  t.match(outcome('CANCELLED', 'None', 15, { reason: 'timeout', message: 'it ran longer than its time limit of 1 s' }), { state: 'error', reason: 'timeout', exitCode: 143 })
  for (const state of ['NODE_FAIL', 'PREEMPTED', 'REVOKED']) t.match(outcome(state), { state: 'error', reason: 'lost', exitCode: null }, state)
  t.match(outcome('BOOT_FAIL'), { state: 'error', reason: 'system' })
})

t.test('the batch script gives the program its argv word for word, whatever the values (run here by sh)', async (t) => {
  const values = ['; rm -rf ~', '--help', '$(id)', '`id`', 'a b', '*', '', "it's", 'two\nlines', '\\', '"']
  const s = await spec(t, python('import json, os, sys; print(json.dumps([sys.argv[1:], os.environ["BLASTDB"]]))', ...values), { env: { BLASTDB: "/data/it's $HOME" } })
  const script = join(dirname(s.stdoutPath), 'slurm.sh')
  await writeFile(script, batchScript(s, join(dirname(s.stdoutPath), 'slurm.exit')))
  const printed = execFileSync('sh', [script], { cwd: s.workDir, env: { PATH: process.env.PATH } }).toString()
  t.same(JSON.parse(printed), [values, "/data/it's $HOME"])
  t.equal(await readFile(join(dirname(s.stdoutPath), 'slurm.exit'), 'utf8'), '0\n', 'its exit status is recorded')
  t.throws(() => batchScript({ ...s, env: { 'A;B': 'x' } }, 'exit'), /not the name of an environment variable/)
})

t.test('on Slurm', { skip: slurm }, async (t) => {
  t.afterEach(() => { t.same(executorErrors.splice(0), [], 'the executor met no problem of its own') })

  t.test('sort of a file ends ok, its output byte-identical to sort run here', async (t) => {
    const s = await spec(t, ['sort', 'input.txt'])
    const lines = Array.from({ length: 5000 }, (_, i) => `line ${(i * 7919) % 5000} ${'é'.repeat(i % 3)}`).join('\n') + '\n'
    await writeFile(join(s.workDir, 'input.txt'), lines)
    const run = await executor().start(s)
    t.match(run.handle, /^\d+$/, 'the handle is the Slurm job id')
    t.same(await run.outcome, { state: 'ok', exitCode: 0 })
    t.equal(await slurmState(run.handle), 'COMPLETED')
    const expected = execFileSync('sort', ['input.txt'], { cwd: s.workDir, env: { PATH: process.env.PATH, LANG: 'C.UTF-8' } })
    t.ok((await readFile(s.stdoutPath)).equals(expected), 'byte-identical')
  })

  t.test('a non-zero exit ends error/exit with its code, stderr kept', async (t) => {
    const s = await spec(t, python('import sys; sys.stderr.write("bad input\\n"); sys.exit(3)'))
    const run = await executor().start(s)
    t.match(await run.outcome, { state: 'error', reason: 'exit', exitCode: 3 })
    t.equal(await readFile(s.stderrPath, 'utf8'), 'bad input\n')
    t.equal(await slurmState(run.handle), 'FAILED')
  })

  t.test('values reach the program as one argument each, never through a shell', async (t) => {
    const values = ['; rm -rf ~', '--help', '$(id)', '`id`', 'a b', '*', '', "it's", '%j']
    const s = await spec(t, python('import json, sys; print(json.dumps(sys.argv[1:]))', ...values))
    t.same(await (await executor().start(s)).outcome, { state: 'ok', exitCode: 0 })
    t.same(JSON.parse(await readFile(s.stdoutPath, 'utf8')), values)
  })

  t.test('the environment is minimal, plus what the spec adds and what Slurm tells its jobs', async (t) => {
    process.env.MOBYLE2_SECRET_OF_THE_SERVER = 'not for programs'
    t.teardown(() => { delete process.env.MOBYLE2_SECRET_OF_THE_SERVER })
    const s = await spec(t, python('import json, os, sys; print(json.dumps({"env": dict(os.environ), "stdin": sys.stdin.read(), "cwd": os.getcwd()}))'), { env: { BLASTDB: '/data/blast' } })
    t.same(await (await executor().start(s)).outcome, { state: 'ok', exitCode: 0 })
    const seen = JSON.parse(await readFile(s.stdoutPath, 'utf8')) as { env: Record<string, string>, stdin: string, cwd: string }
    // Slurm's own (SLURM_*, ENVIRONMENT=BATCH, HOSTNAME) and the shell's (PWD, OLDPWD, SHLVL, _) are no server's; nor are those
    // tap's process tracking puts into every child a test process starts, and those a pyenv python3 shim sets for itself.
    const names = Object.keys(seen.env)
      .filter((name) => !/^(SLURM_.*|SLURMD_NODENAME|ENVIRONMENT|HOSTNAME|PWD|OLDPWD|SHLVL|_|NODE_OPTIONS|_TAPJS_.*|_?PYENV_.*)$/.test(name))
    t.same(names.sort(), ['BLASTDB', 'HOME', 'LANG', 'PATH', 'TMPDIR'])
    t.match(seen.env, { HOME: s.workDir, TMPDIR: s.tmpDir, LANG: 'C.UTF-8', BLASTDB: '/data/blast', SLURM_CPUS_PER_TASK: '1' })
    t.equal(seen.stdin, '', 'standard input is closed')
    t.equal(seen.cwd, s.workDir, 'it runs in its working directory')
  })

  t.test('cancel stops the job within 5 s, and its program with it', async (t) => {
    const s = await spec(t, ['sh', '-c', 'echo $$ > pid; exec sleep 600'])
    const run = await executor().start(s)
    const pid = Number(await until('the program to start', async () => (await readFile(join(s.workDir, 'pid'), 'utf8').catch(() => '')).trim() || undefined, 10))
    t.ok(await running(pid), 'it runs')
    const asked = performance.now()
    run.cancel()
    t.same(await run.outcome, { state: 'cancelled', message: 'cancelled' })
    t.ok(performance.now() - asked < 5000, `within 5 s (${Math.round(performance.now() - asked)} ms)`)
    t.notOk(await running(pid), 'its process is gone')
    t.equal(await slurmState(run.handle), 'CANCELLED')
  })

  t.test('output past the limit ends error/output-limit, with the first bytes kept', async (t) => {
    const s = await spec(t, python('import sys, time\nwhile True:\n    sys.stdout.write("x" * 65536); sys.stdout.flush(); time.sleep(0.01)'), { maxOutputBytes: 100_000 })
    const run = await executor().start(s)
    t.match(await run.outcome, { state: 'error', reason: 'output-limit', message: /stdout/ })
    t.equal((await readFile(s.stdoutPath)).length, 100_000)
    t.equal(await slurmState(run.handle), 'CANCELLED', 'the job was cancelled')
    const quick = await spec(t, python('import sys; sys.stderr.write("e" * 5000)'), { maxOutputBytes: 4096 })
    t.match(await (await executor().start(quick)).outcome, { state: 'error', reason: 'output-limit', message: /stderr/ }, 'also when it ends before a poll sees it')
    t.equal((await readFile(quick.stderrPath)).length, 4096)
  })

  t.test('a job cancelled on the cluster behind our back ends error/lost, saying so', async (t) => {
    const s = await spec(t, ['sleep', '600'])
    const run = await executor().start(s)
    await until('the job to run', async () => await slurmState(run.handle) === 'RUNNING' ? true : undefined, 10)
    execFileSync('scancel', [run.handle])
    t.match(await run.outcome, { state: 'error', reason: 'lost', message: /cancelled on the cluster, not through this server/ })
  })

  t.test('two 1-CPU jobs run at once on the node\'s two CPUs', async (t) => {
    const code = 'import sys, time; start = time.time(); time.sleep(2); print(start, time.time())'
    const [a, b] = await Promise.all([spec(t, python(code)), spec(t, python(code))])
    // A job ended just before may hold its CPU a moment longer (its node completing it): both must be free.
    await until('the node to be idle', async () => (await promisify(execFile)('sinfo', ['--noheader', '--Node', '--format=%T'])).stdout.trim() === 'idle' ? true : undefined, 30)
    const e = executor()
    const runs = await Promise.all([e.start(a), e.start(b)])
    t.same(await Promise.all(runs.map(async (run) => await run.outcome)), [{ state: 'ok', exitCode: 0 }, { state: 'ok', exitCode: 0 }])
    const [startA, endA, startB, endB] = (await Promise.all([a, b].map(async (s) => await readFile(s.stdoutPath, 'utf8')))).join(' ').trim().split(/\s+/).map(Number)
    t.ok(startA! < endB! && startB! < endA!, `their runs overlap (${startA}-${endA}, ${startB}-${endB})`)
  })

  t.test('one squeue call per poll follows every job, however many', async (t) => {
    // squeue through a wrapper that notes each call: the real squeue answers.
    const bin = await mkdtemp(join(tmpdir(), 'mobyle2-slurm-bin-'))
    t.teardown(() => rm(bin, { recursive: true, force: true }))
    const real = execFileSync('sh', ['-c', 'command -v squeue']).toString().trim()
    await writeFile(join(bin, 'squeue'), `#!/bin/sh\necho "$*" >> ${join(bin, 'calls')}\nexec ${real} "$@"\n`, { mode: 0o755 })
    const counted = executor(`${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`)
    const specs = await Promise.all(Array.from({ length: 6 }, async () => await spec(t, ['sleep', '1'])))
    const started = performance.now()
    const runs = await Promise.all(specs.map(async (s) => await counted.start(s)))
    t.same(new Set(await Promise.all(runs.map(async (run) => (await run.outcome).state))), new Set(['ok']), 'six jobs, two at a time on the two CPUs, all ok')
    const polls = Math.ceil((performance.now() - started) / 250)
    const calls = (await readFile(join(bin, 'calls'), 'utf8')).trim().split('\n')
    t.ok(calls.length <= polls + 1, `${calls.length} squeue calls in ${polls} poll intervals`)
    const widest = calls.map((call) => call.match(/--jobs=(\S+)/)![1]!.split(',')).sort((a, b) => b.length - a.length)[0]!
    t.same(widest.sort(), runs.map((run) => run.handle).sort(), 'one call asks for all six jobs at once')
  })

  t.test('a job asking for more than the cluster has is refused at submission', async (t) => {
    const s = await spec(t, ['true'], { cores: 64 })
    await t.rejects(executor().start(s), /sbatch: .*Batch job submission failed: More processors requested than permitted/)
  })

  t.test('another executor (another process) follows a started job to its end', async (t) => {
    const s = await spec(t, python('import time; time.sleep(2); print("done")'))
    const first = await executor().start(s)
    await until('the job to run', async () => await slurmState(first.handle) === 'RUNNING' ? true : undefined, 10)
    first.detach!()
    t.equal(await slurmState(first.handle), 'RUNNING', 'a detached job goes on')
    const followed = executor().follow(first.handle, s)
    t.same(await followed.outcome, { state: 'ok', exitCode: 0 })
    t.equal(await readFile(s.stdoutPath, 'utf8'), 'done\n')
    const settled = await Promise.race([first.outcome, new Promise((resolve) => setTimeout(() => { resolve('unsettled') }, 500))])
    t.equal(settled, 'unsettled', 'the detached run reports nothing')
  })

  t.test('a job the controller has forgotten ends as its script recorded, or error/lost', async (t) => {
    // No job has this id (below MaxJobId, above the test cluster's): squeue says it knows none, as it does of a job past MinJobAge.
    const forgotten = '67000000'
    const recorded = await spec(t, ['true'])
    await writeFile(join(dirname(recorded.stdoutPath), 'slurm.exit'), '0\n')
    t.same(await executor().follow(forgotten, recorded).outcome, { state: 'ok', exitCode: 0 })
    const failed = await spec(t, ['true'])
    await writeFile(join(dirname(failed.stdoutPath), 'slurm.exit'), '3\n')
    t.match(await executor().follow(forgotten, failed).outcome, { state: 'error', reason: 'exit', exitCode: 3 })
    t.match(await executor().follow(forgotten, await spec(t, ['true'])).outcome, { state: 'error', reason: 'lost', message: /Slurm no longer knows job 67000000/ })
  })

  t.test('a job whose working directory the node cannot enter ends error/system, its program not run elsewhere', async (t) => {
    const s = await spec(t, ['touch', 'ran-here'])
    await rm(s.workDir, { recursive: true })
    t.match(await (await executor().start(s)).outcome, { state: 'error', reason: 'system', message: /could not enter the job's working directory/ })
    t.match(await readFile(s.stderrPath, 'utf8'), `mobyle2: cannot enter the working directory ${s.workDir}`)
    t.notOk(await readFile('/tmp/ran-here').then(() => true, () => false), 'not in /tmp either')
  })
})

const sortTool = {
  cwlVersion: 'v1.2', class: 'CommandLineTool', baseCommand: 'sort',
  inputs: { reverse: { type: 'boolean?', inputBinding: { position: 1, prefix: '-r' } }, input: { type: 'File', inputBinding: { position: 2 } } },
  outputs: { sorted: { type: 'stdout' } },
  stdout: 'sorted.txt'
}

const pythonTool = (code: string, outputs: Record<string, unknown> = {}) => ({
  cwlVersion: 'v1.2', class: 'CommandLineTool', baseCommand: ['python3', '-c', code], inputs: {}, outputs
})

interface JobRow { state: string, reason: string | null, exitCode: number | null, outputs: Record<string, number[]>, handle: string | null, attempt: number, claimedBy: string | null }

for (const kind of databaseKinds) {
  t.test(`${kind}: on Slurm, a job ends ok with its output kept, and a cancel stops one within 5 s`, { skip: slurm }, async (t) => {
    const { app, db, ...s } = await seededApp(t, kind, {
      env: { JOB_EXECUTOR: 'slurm', JOB_CONCURRENCY: '4', JOB_SLURM_POLL_MS: '250', JOB_WORK_DIR: await tempDir(t) }
    })
    const project = `/projects/${formatId(s.projectId)}`
    const row = async (id: number) => {
      const [found] = await db.prisma.$queryRaw<JobRow[]>`
        SELECT state::text, reason, exit_code AS "exitCode", outputs, handle, attempt, claimed_by AS "claimedBy" FROM "job" WHERE id = ${id}`
      return found!
    }
    const ended = async (id: number) => await until(`job ${id} to end`, async () => {
      const found = await row(id)
      return ['ok', 'error', 'cancelled'].includes(found.state) ? found : undefined
    })
    const submit = async (tool: object, inputs: object = {}) => {
      const set = await app.inject({ method: 'PUT', url: '/services/blast::pasteur/interface', headers: basic('admin'), payload: tool })
      t.ok(set.statusCode === 200 || set.statusCode === 201, set.body)
      const created = await app.inject({ method: 'POST', url: `${project}/jobs`, headers: basic('contributor'), payload: { service: 'blast::pasteur', inputs } })
      t.equal(created.statusCode, 201, created.body)
      return Number(created.json<{ id: string }>().id)
    }

    const dir = await tempDir(t)
    await writeFile(join(dir, 'numbers.txt'), Array.from({ length: 2000 }, (_, i) => `${(i * 7919) % 2000} line`).join('\n') + '\n')
    const blob = await app.domain.projects.stageData(s.actors.contributor, s.projectId, createReadStream(join(dir, 'numbers.txt')))
    const item = await app.domain.projects.addData(s.actors.contributor, s.projectId, { name: 'numbers.txt' }, { blob, mediaType: 'text/plain' })
    const sorted = await ended(await submit(sortTool, { input: { data: formatId(item.id) }, reverse: true }))
    t.match(sorted, { state: 'ok', exitCode: 0, handle: /^\d+$/ })
    t.equal(await slurmState(sorted.handle!), 'COMPLETED', 'Slurm ran it')
    const content = await app.inject({ method: 'GET', url: `${project}/data/${formatId(sorted.outputs.sorted![0]!)}/content`, headers: basic('watcher') })
    const expected = execFileSync('sort', ['-r', join(dir, 'numbers.txt')], { env: { PATH: process.env.PATH, LANG: 'C.UTF-8' } })
    t.ok(content.rawPayload.equals(expected), 'the output is byte-identical to sort run here')

    const failing = await ended(await submit(pythonTool('import sys; sys.stderr.write("no good\\n"); sys.exit(3)')))
    t.match(failing, { state: 'error', reason: 'exit', exitCode: 3 })

    const sleeper = await submit(pythonTool('import time; time.sleep(600)'))
    const handle = await until('the sleeper to run on Slurm', async () => {
      const { handle } = await row(sleeper)
      return handle !== null && await slurmState(handle) === 'RUNNING' ? handle : undefined
    })
    const asked = performance.now()
    const cancel = await app.inject({ method: 'POST', url: `${project}/jobs/${formatId(sleeper)}/cancel`, headers: basic('contributor') })
    t.equal(cancel.statusCode, 202, 'a running job is asked to stop')
    t.match(await until('the sleeper to end', async () => (await row(sleeper)).state === 'cancelled' ? true : undefined, 5), true)
    t.ok(performance.now() - asked < 5000, `cancelled within 5 s (${Math.round(performance.now() - asked)} ms)`)
    t.equal(await slurmState(handle), 'CANCELLED', 'its Slurm job too')
  })

  t.test(`${kind}: a server closed while its Slurm job runs; the next one on the same database follows it to ok`, { skip: slurm }, async (t) => {
    const { app, db, ...s } = await seededApp(t, kind, {
      env: { JOB_EXECUTOR: 'slurm', JOB_CONCURRENCY: '4', JOB_SLURM_POLL_MS: '250', JOB_LOST_AFTER_SECONDS: '5', JOB_WORK_DIR: await tempDir(t) }
    })
    const project = `/projects/${formatId(s.projectId)}`
    const row = async (id: number) => {
      const [found] = await db.prisma.$queryRaw<JobRow[]>`
        SELECT state::text, reason, exit_code AS "exitCode", outputs, handle, attempt, claimed_by AS "claimedBy" FROM "job" WHERE id = ${id}`
      return found!
    }
    await app.inject({
      method: 'PUT', url: '/services/blast::pasteur/interface', headers: basic('admin'),
      payload: pythonTool('import time; print("started", flush=True); time.sleep(4); open("slept.txt", "w").write("slept")', { slept: { type: 'File', outputBinding: { glob: 'slept.txt' } } })
    })
    const created = await app.inject({ method: 'POST', url: `${project}/jobs`, headers: basic('contributor'), payload: { service: 'blast::pasteur', inputs: {} } })
    const id = Number(created.json<{ id: string }>().id)
    const handle = await until('the job to run on Slurm', async () => {
      const { handle } = await row(id)
      return handle !== null && await slurmState(handle) === 'RUNNING' ? handle : undefined
    })
    const before = await row(id)

    await app.close()
    t.match(await row(id), { state: 'running', handle, attempt: before.attempt }, 'the closed server left the job running')
    t.equal(await slurmState(handle), 'RUNNING', 'and its Slurm job')

    const next = await buildApp({ config: app.config, db })
    t.teardown(() => next.close())
    await next.ready()
    const done = await until('the next server to follow the job to its end', async () => {
      const found = await row(id)
      return found.state === 'running' ? undefined : found
    }, 30)
    t.match(done, { state: 'ok', exitCode: 0, handle, attempt: before.attempt + 1 }, 'adopted (its attempt raised), followed to ok')
    t.not(done.claimedBy, before.claimedBy, 'by the next server')
    const output = await next.inject({ method: 'GET', url: `${project}/data/${formatId(done.outputs.slept![0]!)}/content`, headers: basic('watcher') })
    t.equal(output.body, 'slept', 'its output kept')
    const stdout = await next.inject({ method: 'GET', url: `${project}/jobs/${formatId(id)}/stdout`, headers: basic('watcher') })
    t.equal(stdout.body, 'started\n', 'its stdout still readable, from the directory it ran in')
    const shown = await next.inject({ method: 'GET', url: `${project}/jobs/${formatId(id)}`, headers: basic('watcher') })
    t.same(shown.json<{ history: Array<{ state: string }> }>().history.map((event) => event.state), ['queued', 'running', 'ok'], 'one run in its history')
  })
}

t.test('past its time limit a job ends error/timeout within a poll, not Slurm\'s whole minute', { skip: slurm }, async (t) => {
  // Slurm's own --time=1 would stop it 60 to about 100 s after it started (limits are checked every 30 s).
  const s = await spec(t, ['sh', '-c', 'echo $$ > pid; exec sleep 600'], { timeoutSeconds: 2 })
  const run = await executor().start(s)
  const pid = Number(await until('the program to start', async () => (await readFile(join(s.workDir, 'pid'), 'utf8').catch(() => '')).trim() || undefined, 10))
  const started = performance.now()
  t.match(await run.outcome, { state: 'error', reason: 'timeout', exitCode: 128 + 15, message: /time limit of 2 s; Slurm job \d+: CANCELLED/ })
  const took = (performance.now() - started) / 1000
  t.ok(took >= 1 && took < 10, `stopped after ${took.toFixed(1)} s`)
  t.notOk(await running(pid), 'its process is gone')
  t.same(executorErrors.splice(0), [])
})
