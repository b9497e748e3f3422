/**
 * The local executor as servers and workers use it: programs run as they do in
 * LocalExecutor (src/jobs/local-executor.ts), but started by a small process of
 * their own, the launcher (src/jobs/launcher.ts), forked when the first job comes
 * and again after it stopped, if ever. This process keeps each run's promise and
 * answers the dispatcher exactly as LocalExecutor would.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Executor, Run, RunOutcome, RunSpec } from './executor.ts'
import type { LauncherReport, LauncherRequest } from './launcher.ts'
import { abandonGroup, signalGroup } from './local-executor.ts'

/** The launcher's module beside this one: .ts when the sources run (tests), .js once built. */
const launcherModule = fileURLToPath(new URL(`./launcher${extname(fileURLToPath(import.meta.url))}`, import.meta.url))

interface Pending {
  started: (handle: string) => void
  refused: (message: string) => void
  ended: (outcome: RunOutcome) => void
  handle?: string
}

interface Launcher {
  child: ChildProcess
  runs: Map<number, Pending>
  exited: Promise<void>
}

export class LaunchedExecutor implements Executor {
  readonly name = 'local'
  private launcher: Launcher | undefined
  private keys = 0

  constructor (private readonly options: { graceMs: number, path: string }) {}

  async start (spec: RunSpec): Promise<Run> {
    const launcher = this.launcher ?? this.launch()
    const key = ++this.keys
    let ended!: (outcome: RunOutcome) => void
    const outcome = new Promise<RunOutcome>((resolve) => { ended = resolve })
    const handle = await new Promise<string>((resolve, reject) => {
      launcher.runs.set(key, {
        started: resolve,
        refused: (message) => { reject(new Error(message)) },
        ended
      })
      this.send(launcher, { type: 'start', key, spec })
    })
    return { handle, outcome, cancel: () => { this.send(launcher, { type: 'cancel', key }) } }
  }

  async abandon (handle: string, workDir: string): Promise<void> {
    await abandonGroup(handle, workDir)
  }

  /** Lets the launcher go, once nothing runs (the dispatcher has stopped). */
  async close (): Promise<void> {
    const launcher = this.launcher
    if (launcher === undefined) return
    if (launcher.child.connected) launcher.child.disconnect()
    await launcher.exited
  }

  private launch (): Launcher {
    const child = fork(launcherModule, [], {
      // Its own variables only: the server's (a database URL, an administrator's password) are none of its business.
      env: { PATH: this.options.path, MOBYLE2_LAUNCHER: '1', MOBYLE2_LAUNCHER_GRACE_MS: String(this.options.graceMs) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json'
    })
    const runs = new Map<number, Pending>()
    let settle!: () => void
    const launcher: Launcher = { child, runs, exited: new Promise((resolve) => { settle = resolve }) }
    const gone = (how: string): void => {
      if (this.launcher === launcher) this.launcher = undefined
      const message = `the process starting programs stopped (${how})`
      for (const run of runs.values()) {
        if (run.handle === undefined) {
          run.refused(message)
        } else {
          // What it started would run on, unwatched: it goes with it.
          signalGroup(Number(run.handle), 'SIGKILL')
          run.ended({ state: 'error', reason: 'system', exitCode: null, message })
        }
      }
      runs.clear()
      settle()
    }
    child.once('exit', (code, signal) => { gone(signal ?? `exit code ${code}`) })
    // A launcher that could not be started at all never exits.
    child.once('error', (error) => { if (child.pid === undefined) gone(error.message) })
    child.on('message', (report: LauncherReport) => {
      const run = runs.get(report.key)
      if (run === undefined) return
      if (report.type === 'started') {
        run.handle = report.handle
        run.started(report.handle)
      } else if (report.type === 'refused') {
        runs.delete(report.key)
        run.refused(report.message)
      } else {
        runs.delete(report.key)
        run.ended(report.outcome)
      }
    })
    this.launcher = launcher
    return launcher
  }

  private send (launcher: Launcher, request: LauncherRequest): void {
    if (launcher.child.connected) launcher.child.send(request)
  }
}
