/**
 * The process that starts the local executor's programs (src/jobs/launched-executor.ts
 * forks it): a small Node process running LocalExecutor, told what to run over
 * its IPC channel, answering when each program started and how it ended.
 *
 * Why a process of its own: Linux's fork copies the page tables of the process
 * that spawns, so a server holding hundreds of megabytes (the embedded database's
 * memory above all) spawns each program several times more slowly than a small
 * process does (bench/README.md, the jobs bench). The programs' output is counted
 * here too, off the server's event loop.
 *
 * When its server goes (the channel closes: a stop, a crash, a SIGKILL), it
 * kills what it started and exits: no program outlives both.
 */
import type { RunOutcome, RunSpec } from './executor.ts'
import { LocalExecutor, signalGroup } from './local-executor.ts'

/** What the server asks. */
export type LauncherRequest =
  | { type: 'start', key: number, spec: RunSpec }
  | { type: 'cancel', key: number }

/** What the launcher answers, each about the run `key`. */
export type LauncherReport =
  | { type: 'started', key: number, handle: string }
  | { type: 'refused', key: number, message: string }
  | { type: 'ended', key: number, outcome: RunOutcome }

/** Serves one server over the channel `port` (the process's own, once forked). */
function serveLauncher (port: NodeJS.Process, options: { graceMs: number, path: string }): void {
  const executor = new LocalExecutor(options)
  const runs = new Map<number, { handle: string, cancel: () => void }>()
  const report = (message: LauncherReport): void => { if (port.connected) port.send!(message) }
  port.on('message', (request: LauncherRequest) => {
    if (request.type === 'cancel') {
      runs.get(request.key)?.cancel()
      return
    }
    executor.start(request.spec).then((run) => {
      runs.set(request.key, run)
      report({ type: 'started', key: request.key, handle: run.handle })
      void run.outcome.then((outcome) => {
        runs.delete(request.key)
        report({ type: 'ended', key: request.key, outcome })
      })
    }, (error: unknown) => {
      report({ type: 'refused', key: request.key, message: error instanceof Error ? error.message : String(error) })
    })
  })
  port.on('disconnect', () => {
    for (const { handle } of runs.values()) signalGroup(Number(handle), 'SIGKILL')
    process.exit(0)
  })
}

if (process.send !== undefined && process.env.MOBYLE2_LAUNCHER === '1') {
  serveLauncher(process, { graceMs: Number(process.env.MOBYLE2_LAUNCHER_GRACE_MS), path: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin' })
}
