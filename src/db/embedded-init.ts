/**
 * Creating the embedded database's directory, in a process of its own.
 *
 * PGlite creates a new directory by running PostgreSQL's initdb inside its
 * WebAssembly heap, which grows to about 650 MB doing so and never shrinks: a
 * server that created its DATA_DIR itself would keep some 600 MB it never needs
 * again (measured: 860 MB resident after a first start, 250 MB after a restart).
 * A short-lived child process pays for initdb instead, and the server opens the
 * finished directory like any other.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PGlite } from '@electric-sql/pglite'

/**
 * PGlite's own start parameters, with a smaller buffer pool: every page PostgreSQL's
 * default 128 MB of shared buffers touches stays in this process's memory (the
 * WebAssembly heap never shrinks), while the pages themselves are in the operating
 * system's file cache anyway, and most reads are answered from the read cache
 * (src/domain/read-model.ts). Measured on the bench's data: about 130 MB less.
 */
export const embeddedStartParams = [...PGlite.defaultStartParams, '-c', 'shared_buffers=32MB']

const thisFile = fileURLToPath(import.meta.url)

/** Whether `dataDir` already holds a database (initdb writes PG_VERSION). */
export function holdsDatabase (dataDir: string): boolean {
  return existsSync(join(dataDir, 'PG_VERSION'))
}

/** Runs initdb on `dataDir` in a child process; rejects with the child's own words if it fails. */
export async function createDataDir (dataDir: string): Promise<void> {
  // The sources run through tsx (tests), the build as plain JavaScript.
  const loader = thisFile.endsWith('.ts') ? ['--import', 'tsx'] : []
  const child = spawn(process.execPath, [...loader, thisFile, dataDir], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (text: string) => { stderr += text })
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', resolve)
  })
  if (code !== 0) throw new Error(`cannot create the database in ${dataDir}: ${lastLine(stderr) ?? `exit code ${code}`}`)
}

function lastLine (text: string): string | undefined {
  return text.split('\n').map((line) => line.trim()).filter((line) => line !== '').at(-1)
}

if (process.argv[1] === thisFile) {
  const dataDir = process.argv[2]!
  try {
    const db = new PGlite(dataDir, { startParams: embeddedStartParams })
    await db.waitReady
    await db.close()
  } catch (error) {
    process.stderr.write(`${describeFailure(error)}\n`)
    process.exit(1) // PGlite's Emscripten runtime would otherwise end the process with 0
  }
}

/** PGlite's file system errors are Emscripten's, plain objects with only an errno: a sentence for them. */
export function describeFailure (error: unknown): string {
  if (error instanceof Error) return error.message
  const errno = (error as { errno?: unknown } | null)?.errno
  return typeof errno === 'number' ? `a file system error (Emscripten errno ${errno}): is DATA_DIR a directory PGlite created, or an empty one?` : String(error)
}
