/**
 * A job's directory, from its inputs to its outputs: what the dispatcher
 * (src/jobs/dispatcher.ts) asks before and after a run.
 *
 * `<JOB_WORK_DIR>/<job>/<attempt>/` holds `work/` (the program's working
 * directory, where its output globs look), `work/inputs/` (a copy of each File
 * input, when there are any, under a safe, distinct name: a copy, not a link, so that a program
 * writing to its input cannot change the stored content), `tmp/` (TMPDIR), and
 * the two logs `stdout` and `stderr` beside them, outside the globs' reach. Once
 * the ending is recorded (the outputs are data items by then), `work/` and
 * `tmp/` go; the logs stay with the job. An adopted run (src/jobs/dispatcher.ts)
 * keeps the directory of the attempt that started it. The directory is described
 * here and made by the executor that starts the run (the spec's `layout`).
 */
import { createReadStream } from 'node:fs'
import { rm } from 'node:fs/promises'
import { basename, join } from 'node:path'
import type { DataStorage } from '../domain/blobs.ts'
import { commandLine } from '../domain/interfaces/command-line.ts'
import type { Tool } from '../domain/interfaces/tool.ts'
import type { ClaimedJob, Held, JobQueue, Product, Runnable } from '../domain/job-queue.ts'
import { globOutputs, safeFileName, stagedNames } from '../executor/workdir.ts'
import { BlobTooLarge } from '../storage/blob-store.ts'
import type { JobHooks } from './dispatcher.ts'
import type { RunOutcome, RunSpec } from './executor.ts'

export interface WorkspaceOptions {
  root: string
  timeoutSeconds: number
  maxOutputBytes: number
}

export function jobWorkspace (queue: JobQueue, storage: DataStorage, options: WorkspaceOptions): Pick<JobHooks, 'prepare' | 'locate' | 'collect' | 'discard'> {
  /** The tool each prepared attempt runs, until it is collected. */
  const tools = new Map<string, Tool>()
  const key = (job: ClaimedJob): string => `${job.id}.${job.attempt}`
  const runnableOf = async (job: ClaimedJob): Promise<Runnable & { tool: Tool }> => {
    const runnable = await queue.runnable(job)
    if (runnable.tool === undefined) throw new Error('its service has no interface any more')
    return { ...runnable, tool: runnable.tool }
  }
  const directory = (job: Held, attempt: number): string => join(options.root, String(job.id), String(attempt))
  const specOf = (job: ClaimedJob, dir: string, tool: Tool, argv: string[]): RunSpec => ({
    jobId: job.id,
    attempt: job.attempt,
    argv,
    workDir: join(dir, 'work'),
    tmpDir: join(dir, 'tmp'),
    stdoutPath: join(dir, 'stdout'),
    stderrPath: join(dir, 'stderr'),
    env: tool.env,
    timeoutSeconds: options.timeoutSeconds,
    maxOutputBytes: options.maxOutputBytes,
    cores: tool.resources.coresMin,
    ramMiB: tool.resources.ramMin
  })

  return {
    prepare: async (job) => {
      const runnable = await runnableOf(job)
      const dir = directory(job, job.attempt)
      const workDir = join(dir, 'work')
      // Made by the executor as it starts the run (src/jobs/layout.ts): an attempt's own directory, emptied
      // first if a database that gave out this job's id before left one; `work/inputs/` only for file inputs.
      const inputsDir = join(workDir, 'inputs')
      const names = stagedNames(runnable.files)
      const paths = new Map<number, string>()
      const copies = runnable.files.map((file) => {
        const path = join(inputsDir, names.get(file.id)!)
        const blob = storage.store.locate(file.sha256)
        paths.set(file.id, path)
        return { from: join(blob.root, blob.path), to: path }
      })
      const layout = { dir, dirs: [workDir, join(dir, 'tmp'), ...(copies.length > 0 ? [inputsDir] : [])], copies }
      tools.set(key(job), runnable.tool)
      return { ...specOf(job, dir, runnable.tool, commandLine(runnable.tool, runnable.inputs, paths)), layout }
    },

    locate: async (job) => {
      const runnable = await runnableOf(job)
      const dir = directory(job, job.runAttempt)
      tools.set(key(job), runnable.tool)
      // The run is under way: its argv is what it was started with, asked of no one any more.
      return specOf(job, dir, runnable.tool, [])
    },

    collect: async (job, spec, outcome) => {
      const tool = tools.get(key(job))
      tools.delete(key(job))
      const clear = async (): Promise<void> => {
        await rm(spec.workDir, { recursive: true, force: true })
        await rm(spec.tmpDir, { recursive: true, force: true })
      }
      if (outcome.state !== 'ok' || tool === undefined) return { outcome, products: [], release: clear }
      const products: Product[] = []
      const release = async (): Promise<void> => {
        for (const product of products) await storage.store.discard(product.staged)
        await clear()
      }
      const failed = async (reason: 'system' | 'output-limit', message: string) => {
        for (const product of products) await storage.store.discard(product.staged)
        return { outcome: { state: 'error', reason, exitCode: 0, message } satisfies RunOutcome, products: [], release: clear }
      }
      for (const output of tool.outputs) {
        let files: Array<{ path: string, name: string, mediaType: string }>
        if (output.type === 'File') {
          const found = await globOutputs(spec.workDir, output.glob)
          const refused = found.refused[0]
          if (refused !== undefined) return await failed('system', `output ${output.id}: ${refused.path} ${refused.reason}`)
          if (!output.array && found.files.length > 1) return await failed('system', `output ${output.id}: ${found.files.length} files match, one was expected`)
          if (found.files.length === 0 && !output.optional) return await failed('system', `output ${output.id}: no file matches ${output.glob.join(', ')}`)
          files = found.files.map((file) => ({ path: file.realPath, name: safeFileName(basename(file.path)), mediaType: 'application/octet-stream' }))
        } else {
          const stream = output.type === 'stdout' ? { path: spec.stdoutPath, name: tool.stdout } : { path: spec.stderrPath, name: tool.stderr }
          files = [{ path: stream.path, name: safeFileName(stream.name ?? `${output.type}.txt`), mediaType: 'text/plain' }]
        }
        for (const file of files) {
          try {
            const staged = await storage.store.stage(createReadStream(file.path), { maxBytes: storage.maxBytes })
            products.push({ output: output.id, name: file.name, staged, mediaType: file.mediaType, format: output.format })
          } catch (error) {
            if (!(error instanceof BlobTooLarge)) throw error
            return await failed('output-limit', `output ${output.id}: ${file.name} is larger than DATA_MAX_BYTES (${storage.maxBytes} bytes)`)
          }
        }
      }
      return { outcome, products, release }
    },

    discard: async (job, stop) => {
      const dir = directory(job, job.attempt)
      await stop(join(dir, 'work'))
      await rm(join(dir, 'work'), { recursive: true, force: true })
      await rm(join(dir, 'tmp'), { recursive: true, force: true })
    }
  }
}
