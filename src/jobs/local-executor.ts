/**
 * Runs jobs as child processes of this server: the embedded default.
 *
 * Each program runs without a shell, in a process group of its own (so that
 * whatever it starts is stopped with it), with standard input closed, a minimal
 * environment, and its standard output and error counted on their way to files.
 * A run is over only once its whole group is gone: a program that leaves a
 * child behind does not leave it running.
 */
import { spawn } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { readlink, realpath } from 'node:fs/promises'
import { Transform, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { constants } from 'node:os'
import type { ErrorReason, Executor, Run, RunOutcome, RunSpec } from './executor.ts'
import { layOut } from './layout.ts'

export interface LocalExecutorOptions {
  /** How long a program asked to stop (SIGTERM) has before it is killed (SIGKILL). */
  graceMs: number
  /** The PATH programs see. */
  path: string
}

/** Why this executor stopped a program, when it did. */
type Stop = { reason: Exclude<ErrorReason, 'exit' | 'lost' | 'system'>, message: string } | { reason: 'cancelled', message: string }

export class LocalExecutor implements Executor {
  readonly name = 'local'

  constructor (private readonly options: LocalExecutorOptions) {}

  async start (spec: RunSpec): Promise<Run> {
    if (spec.layout !== undefined) await layOut(spec.layout)
    const child = spawn(spec.argv[0]!, spec.argv.slice(1), {
      cwd: spec.workDir,
      env: { PATH: this.options.path, HOME: spec.workDir, TMPDIR: spec.tmpDir, LANG: 'C.UTF-8', ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true
    })
    let stop: Stop | undefined
    let killTimer: NodeJS.Timeout | undefined
    const group = child.pid
    const terminate = (why: Stop): void => {
      if (stop !== undefined || group === undefined) return
      stop = why
      signalGroup(group, 'SIGTERM')
      killTimer = setTimeout(() => { signalGroup(group, 'SIGKILL') }, this.options.graceMs)
    }
    const timeout = setTimeout(() => {
      terminate({ reason: 'timeout', message: `ran longer than ${spec.timeoutSeconds} s` })
    }, spec.timeoutSeconds * 1000)
    const overflow = (stream: string) => () => {
      terminate({ reason: 'output-limit', message: `wrote more than ${spec.maxOutputBytes} bytes to ${stream}` })
    }
    const copies = Promise.all([
      pipeline(child.stdout, new Limit(spec.maxOutputBytes, overflow('stdout')), createWriteStream(spec.stdoutPath)),
      pipeline(child.stderr, new Limit(spec.maxOutputBytes, overflow('stderr')), createWriteStream(spec.stderrPath))
    ])
    const ended = new Promise<{ code: number | null, signal: NodeJS.Signals | null, error?: Error }>((resolve) => {
      child.once('error', (error) => { resolve({ code: null, signal: null, error }) })
      child.once('close', (code, signal) => { resolve({ code, signal }) })
    })
    const outcome = (async (): Promise<RunOutcome> => {
      const end = await ended
      clearTimeout(timeout)
      clearTimeout(killTimer)
      // Whatever the program left behind in its group goes with it.
      if (group !== undefined) signalGroup(group, 'SIGKILL')
      const copied = await copies.then(() => undefined, (error: unknown) => error)
      if (end.error !== undefined) {
        return { state: 'error', reason: 'system', exitCode: null, message: `cannot run ${spec.argv[0]!}: ${end.error.message}` }
      }
      if (stop?.reason === 'cancelled') return { state: 'cancelled', message: stop.message }
      const exitCode = end.code ?? 128 + (constants.signals[end.signal!] ?? 0)
      if (stop !== undefined) return { state: 'error', reason: stop.reason, exitCode, message: stop.message }
      if (copied !== undefined) {
        return { state: 'error', reason: 'system', exitCode, message: `cannot keep the program's output: ${copied instanceof Error ? copied.message : 'unknown error'}` }
      }
      if (end.code === 0) return { state: 'ok', exitCode: 0 }
      const how = end.signal === null ? `exited with code ${end.code}` : `was killed by ${end.signal}`
      return { state: 'error', reason: 'exit', exitCode, message: `the program ${how}` }
    })()
    return {
      handle: String(group ?? 'none'),
      outcome,
      cancel: () => { terminate({ reason: 'cancelled', message: 'cancelled' }) }
    }
  }

  async abandon (handle: string, workDir: string): Promise<void> {
    await abandonGroup(handle, workDir)
  }
}

/**
 * A program outlives the server that started it when that server is killed
 * (SIGKILL leaves no time to stop it). Its group is killed only while its leader
 * still works in the job's directory: a process id reused since is left alone.
 */
export async function abandonGroup (handle: string, workDir: string): Promise<void> {
  const group = Number(handle)
  if (!Number.isSafeInteger(group) || group <= 1) return
  const cwd = await readlink(`/proc/${group}/cwd`).catch(() => undefined)
  if (cwd !== undefined && cwd === await realpath(workDir).catch(() => undefined)) signalGroup(group, 'SIGKILL')
}

/** Sends `signal` to every process of the group; one already gone is no error. */
export function signalGroup (group: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-group, signal)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error
  }
}

/** Passes the first `maxBytes` on; past them, calls `onOverflow` once and drops the rest (the program is being stopped). */
class Limit extends Transform {
  private seen = 0

  constructor (private readonly maxBytes: number, private readonly onOverflow: () => void) {
    super()
  }

  override _transform (chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const room = this.maxBytes - this.seen
    this.seen += chunk.length
    if (room >= chunk.length) {
      done(null, chunk)
      return
    }
    if (room > 0) this.push(chunk.subarray(0, room))
    if (this.seen - chunk.length <= this.maxBytes) this.onOverflow()
    done()
  }
}
