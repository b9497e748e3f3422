/**
 * The Slurm executor against a real Slurm: the one-node cluster of
 * scripts/slurm-test-cluster.sh, which CI starts (TEST_SLURM=1, SLURM_CONF).
 * Elsewhere those tests say they are skipped; the reading of Slurm's answers
 * (captured from that cluster) and the batch script are tested everywhere.
 */
import { execFile, execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import type { RunOutcome, RunSpec } from '../../src/jobs/executor.ts'
import { batchScript, exitCodeOf, parseSqueue, SlurmExecutor, slurmOutcome } from '../../src/jobs/slurm-executor.ts'
import { until } from '../helper.ts'

const slurm = process.env.TEST_SLURM === '1' ? false : 'TEST_SLURM is not set: no Slurm cluster to run jobs on (scripts/slurm-test-cluster.sh start, then TEST_SLURM=1 and its SLURM_CONF)'

/** What the executor reported as its own problems: none, each test checks. */
const executorErrors: unknown[] = []

function executor (): SlurmExecutor {
  return new SlurmExecutor({ pollMs: 250, path: process.env.PATH ?? '/usr/bin:/bin', slurmConf: process.env.SLURM_CONF, onError: (error) => { executorErrors.push(error) } })
}

/** A job directory of the test's own, where the node sees it (this host): work/, tmp/, and the two logs beside them. */
async function spec (t: { teardown: (fn: () => unknown) => void }, argv: string[], overrides: Partial<RunSpec> = {}): Promise<RunSpec> {
  const dir = await mkdtemp(join(tmpdir(), 'mobyle2-slurm-job-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await mkdir(join(dir, 'work'))
  await mkdir(join(dir, 'tmp'))
  return {
    jobId: 1, attempt: 1, argv, workDir: join(dir, 'work'), tmpDir: join(dir, 'tmp'),
    stdoutPath: join(dir, 'stdout'), stderrPath: join(dir, 'stderr'),
    env: {}, timeoutSeconds: 600, maxOutputBytes: 1 << 20, cores: 1, ...overrides
  }
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
  const captured = '7|RUNNING|None|0|\n1|FAILED|NonZeroExitCode|768|\n3|CANCELLED|None|15|\n12|PENDING|Resources|0|\n'
  t.same([...parseSqueue(captured)], [
    ['7', { state: 'RUNNING', reason: 'None', waitStatus: 0 }],
    ['1', { state: 'FAILED', reason: 'NonZeroExitCode', waitStatus: 768 }],
    ['3', { state: 'CANCELLED', reason: 'None', waitStatus: 15 }],
    ['12', { state: 'PENDING', reason: 'Resources', waitStatus: 0 }]
  ])
  t.same(parseSqueue(''), new Map())
  t.same(exitCodeOf(768), { exitCode: 3, signal: 0 })
  t.same(exitCodeOf(15), { exitCode: 143, signal: 15 })
})

t.test('each final Slurm state is one of ours, with a reason', async (t) => {
  const outcome = (state: string, reason = 'None', waitStatus = 0, stop?: Parameters<typeof slurmOutcome>[2]): RunOutcome =>
    slurmOutcome('42', { state, reason, waitStatus }, stop)
  t.same(outcome('COMPLETED'), { state: 'ok', exitCode: 0 })
  t.match(outcome('FAILED', 'NonZeroExitCode', 3 << 8), { state: 'error', reason: 'exit', exitCode: 3, message: /exited with code 3/ })
  t.match(outcome('FAILED', 'NonZeroExitCode', 137 << 8), { state: 'error', reason: 'exit', exitCode: 137, message: /killed by signal 9/ })
  t.match(outcome('FAILED', 'RaisedSignal:9_Killed', 9), { state: 'error', reason: 'exit', exitCode: 137 })
  t.match(outcome('FAILED', 'JobLaunchFailure', 1 << 8), { state: 'error', reason: 'system', exitCode: null, message: /Slurm job 42: FAILED \(JobLaunchFailure\)/ })
  t.match(outcome('TIMEOUT', 'TimeLimit', 15), { state: 'error', reason: 'timeout', exitCode: 143 })
  t.match(outcome('DEADLINE'), { state: 'error', reason: 'timeout' })
  t.match(outcome('OUT_OF_MEMORY', 'OutOfMemory', 9), { state: 'error', reason: 'exit', message: /more memory/ })
  t.match(outcome('CANCELLED', 'None', 15), { state: 'error', reason: 'lost', message: /cancelled on the cluster/ }, 'cancelled behind our back')
  t.same(outcome('CANCELLED', 'None', 15, { reason: 'cancelled', message: 'cancelled' }), { state: 'cancelled', message: 'cancelled' })
  t.match(outcome('CANCELLED', 'None', 15, { reason: 'output-limit', message: 'wrote more than 10 bytes to stdout' }), { state: 'error', reason: 'output-limit' })
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
    const e = executor()
    const runs = await Promise.all([e.start(a), e.start(b)])
    t.same(await Promise.all(runs.map(async (run) => await run.outcome)), [{ state: 'ok', exitCode: 0 }, { state: 'ok', exitCode: 0 }])
    const [startA, endA, startB, endB] = (await Promise.all([a, b].map(async (s) => await readFile(s.stdoutPath, 'utf8')))).join(' ').trim().split(/\s+/).map(Number)
    t.ok(startA! < endB! && startB! < endA!, `their runs overlap (${startA}-${endA}, ${startB}-${endB})`)
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
    t.match(await (await executor().start(s)).outcome, { state: 'error', reason: 'system', message: /before the program ran/ })
    t.match(await readFile(s.stderrPath, 'utf8'), /can't cd|No such file/)
    t.notOk(await readFile('/tmp/ran-here').then(() => true, () => false), 'not in /tmp either')
  })
})
