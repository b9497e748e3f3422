import { execFileSync } from 'node:child_process'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { LaunchedExecutor } from '../../src/jobs/launched-executor.ts'
import { LocalExecutor } from '../../src/jobs/local-executor.ts'
import { runSpec as spec, until } from '../helper.ts'

const options = { graceMs: 1000, path: process.env.PATH ?? '/usr/bin:/bin' }
const launched = new LaunchedExecutor(options)
t.teardown(() => launched.close())
/** The same programs, run by this process and by the launcher as servers run them: the same outcomes. */
const executors = [['in this process', new LocalExecutor(options)], ['by the launcher', launched]] as const

/** Whether any process of the group is left running (one that has exited and waits to be reaped by init is not). */
async function groupAlive (group: number): Promise<boolean> {
  for (const pid of await readdir('/proc')) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
    // pid (comm) state ppid pgrp …: comm may hold spaces and parentheses, so read after the last ')'.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (Number(pgrp) === group && state !== 'Z') return true
  }
  return false
}

const python = (code: string, ...args: string[]) => ['python3', '-c', code, ...args]

for (const [how, executor] of executors) {
  t.test(`${how}: sort of a file ends ok, its output byte-identical to sort run here`, async (t) => {
    const s = await spec(t, ['sort', 'input.txt'])
    const lines = Array.from({ length: 5000 }, (_, i) => `line ${(i * 7919) % 5000} ${'é'.repeat(i % 3)}`).join('\n') + '\n'
    await writeFile(join(s.workDir, 'input.txt'), lines)
    const run = await executor.start(s)
    t.same(await run.outcome, { state: 'ok', exitCode: 0 })
    const expected = execFileSync('sort', ['input.txt'], { cwd: s.workDir, env: { PATH: process.env.PATH, LANG: 'C.UTF-8' } })
    t.ok((await readFile(s.stdoutPath)).equals(expected), 'byte-identical')
  })

  t.test(`${how}: a non-zero exit ends error/exit with its code, stderr kept`, async (t) => {
    const s = await spec(t, python('import sys; sys.stderr.write("bad input\\n"); sys.exit(3)'))
    const outcome = await (await executor.start(s)).outcome
    t.match(outcome, { state: 'error', reason: 'exit', exitCode: 3 })
    t.equal(await readFile(s.stderrPath, 'utf8'), 'bad input\n')
  })

  t.test(`${how}: values reach the program as one argument each, never through a shell`, async (t) => {
    const values = ['; rm -rf ~', '--help', '$(id)', '`id`', 'a b', '*', '', "it's"]
    const s = await spec(t, python('import json, sys; print(json.dumps(sys.argv[1:]))', ...values))
    t.same(await (await executor.start(s)).outcome, { state: 'ok', exitCode: 0 })
    t.same(JSON.parse(await readFile(s.stdoutPath, 'utf8')), values)
  })

  t.test(`${how}: the environment is minimal, plus what the spec adds`, async (t) => {
    process.env.MOBYLE2_SECRET_OF_THE_SERVER = 'not for programs'
    t.teardown(() => { delete process.env.MOBYLE2_SECRET_OF_THE_SERVER })
    const s = await spec(t, ['env', '-0'], { env: { BLASTDB: '/data/blast' } })
    t.same(await (await executor.start(s)).outcome, { state: 'ok', exitCode: 0 })
    const seen = Object.fromEntries((await readFile(s.stdoutPath, 'utf8')).split('\0').filter((line) => line !== '').map((line) => line.split(/=(.*)/s).slice(0, 2)))
    // tap's process tracking puts its own variables into every child a test process starts; a server has none.
    const names = Object.keys(seen).filter((name) => name !== 'NODE_OPTIONS' && !name.startsWith('_TAPJS_'))
    t.same(names.sort(), ['BLASTDB', 'HOME', 'LANG', 'PATH', 'TMPDIR'])
    t.equal(seen.HOME, s.workDir)
    t.equal(seen.TMPDIR, s.tmpDir)
  })

  t.test(`${how}: standard input is closed, and the program runs in its working directory`, async (t) => {
    const s = await spec(t, python('import json, os, sys; print(json.dumps({"stdin": sys.stdin.read(), "cwd": os.getcwd()}))'))
    t.same(await (await executor.start(s)).outcome, { state: 'ok', exitCode: 0 })
    t.same(JSON.parse(await readFile(s.stdoutPath, 'utf8')), { stdin: '', cwd: s.workDir }, 'end of input at once')
  })

  t.test(`${how}: cancel stops the program and everything it started, within the grace period`, async (t) => {
    // It says so once its child runs, so that the cancel finds both.
    const s = await spec(t, ['sh', '-c', 'sleep 600 & echo started; sleep 600'])
    const run = await executor.start(s)
    await until('the program and its child to run', async () => (await readFile(s.stdoutPath, 'utf8').catch(() => '')).includes('started') ? true : undefined, 10)
    const started = performance.now()
    run.cancel()
    t.same(await run.outcome, { state: 'cancelled', message: 'cancelled' })
    t.ok(performance.now() - started < 5000, 'within 5 s')
    t.notOk(await groupAlive(Number(run.handle)), 'no process of the group is left')
  })

  t.test(`${how}: a program that ignores SIGTERM is killed after the grace period`, async (t) => {
    const s = await spec(t, python('import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print("ready", flush=True); time.sleep(600)'))
    const run = await executor.start(s)
    while (!(await readFile(s.stdoutPath, 'utf8').catch(() => '')).includes('ready')) await new Promise((resolve) => setTimeout(resolve, 20))
    const started = performance.now()
    run.cancel()
    t.equal((await run.outcome).state, 'cancelled')
    const took = performance.now() - started
    t.ok(took >= 900 && took < 5000, `killed after the grace period (${Math.round(took)} ms)`)
    t.notOk(await groupAlive(Number(run.handle)))
  })

  t.test(`${how}: past its time a program ends error/timeout`, async (t) => {
    const s = await spec(t, ['sleep', '600'], { timeoutSeconds: 0.5 })
    const run = await executor.start(s)
    t.match(await run.outcome, { state: 'error', reason: 'timeout', exitCode: 128 + 15 })
    t.notOk(await groupAlive(Number(run.handle)))
  })

  t.test(`${how}: output past the limit ends error/output-limit, with the first bytes kept`, async (t) => {
    const s = await spec(t, python('import sys\nwhile True: sys.stdout.write("x" * 65536)'), { maxOutputBytes: 100_000 })
    t.match(await (await executor.start(s)).outcome, { state: 'error', reason: 'output-limit' })
    t.equal((await readFile(s.stdoutPath)).length, 100_000)
    const e = await spec(t, python('import sys; sys.stderr.write("e" * 5000)'), { maxOutputBytes: 4096 })
    t.match(await (await executor.start(e)).outcome, { state: 'error', reason: 'output-limit', message: /stderr/ })
  })

  t.test(`${how}: a program that cannot be started ends error/system`, async (t) => {
    const s = await spec(t, ['mobyle2-no-such-program', '--version'])
    t.match(await (await executor.start(s)).outcome, { state: 'error', reason: 'system', message: /cannot run mobyle2-no-such-program/ })
  })

  t.test(`${how}: a program killed by a signal of its own ends error/exit`, async (t) => {
    const s = await spec(t, python('import os, signal; os.kill(os.getpid(), signal.SIGKILL)'))
    t.match(await (await executor.start(s)).outcome, { state: 'error', reason: 'exit', exitCode: 128 + 9, message: /SIGKILL/ })
  })
}

t.test('the launcher killed: what it ran ends error/system and is gone; the next run has a new launcher; close lets it go', async (t) => {
  const executor = new LaunchedExecutor(options)
  const s = await spec(t, python('import os, time; print(os.getppid(), flush=True); time.sleep(600)'))
  const run = await executor.start(s)
  let launcher = ''
  while (launcher === '') launcher = (await readFile(s.stdoutPath, 'utf8').catch(() => '')).trim()
  t.not(Number(launcher), process.pid, 'the launcher is a process of its own')
  process.kill(Number(launcher), 'SIGKILL')
  t.match(await run.outcome, { state: 'error', reason: 'system', message: /the process starting programs stopped \(SIGKILL\)/ })
  t.notOk(await groupAlive(Number(run.handle)), 'what it ran is gone')
  const next = await spec(t, python('import os; print(os.getppid())'))
  t.same(await (await executor.start(next)).outcome, { state: 'ok', exitCode: 0 })
  const relaunched = Number((await readFile(next.stdoutPath, 'utf8')).trim())
  t.not(relaunched, Number(launcher), 'a new launcher')
  await executor.close()
  t.throws(() => { process.kill(relaunched, 0) }, { code: 'ESRCH' }, 'closed, the launcher is gone')
})
