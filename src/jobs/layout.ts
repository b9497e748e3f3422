/**
 * Makes an attempt's directory as its spec's layout describes it (src/jobs/executor.ts
 * `RunLayout`): what every executor does before it starts a new run.
 */
import { constants } from 'node:fs'
import { chmod, copyFile, mkdir, rm } from 'node:fs/promises'
import type { RunLayout } from './executor.ts'

export async function layOut (layout: RunLayout): Promise<void> {
  const { dir, dirs, copies } = layout
  // A recursive mkdir answers the first directory it made: nothing when `dir` was there already.
  if (await mkdir(dir, { recursive: true }) === undefined) {
    await rm(dir, { recursive: true, force: true })
    await mkdir(dir)
  }
  for (const path of dirs) await mkdir(path)
  for (const { from, to } of copies) {
    // A copy, not a link: a program writing to its input cannot change the stored content.
    await copyFile(from, to, constants.COPYFILE_FICLONE)
    await chmod(to, 0o444)
  }
}
