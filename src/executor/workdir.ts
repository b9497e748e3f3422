/**
 * A job's working directory, as an executor lays it out and reads it back: the
 * names its input files are staged under, and the files its output globs find,
 * none of them outside it.
 *
 * - A staged name comes from the data item's name, made safe: letters, digits and
 *   `_ . + -` only, each other character an `_` (the characters cwltool accepts in a
 *   file name; no `/`, no space, no control or glob character), never `.` or `..`,
 *   never starting with `-`, `.` or `~` (an option, a hidden file), at most 200
 *   bytes; two items of one name are told apart (`reads.fastq`, `reads_2.fastq`).
 *   Stage them in a directory of their own inside the working directory
 *   (`inputs/`), so that an output glob such as `*.txt` never finds an input.
 * - An output glob was checked when the interface was loaded (relative, no `..`:
 *   globProblem) and is checked again here; what it matches is refused when its
 *   real path (symbolic links resolved) leaves the working directory, and left
 *   out when it is not a regular file. Globs are read as cwltool's Python glob
 *   reads them: `*`, `?` and `[…]`, no braces, no `**` across directories, and
 *   names starting with a dot only when the pattern says so.
 */
import { realpath, stat } from 'node:fs/promises'
import { join, sep } from 'node:path'
import { glob, type GlobOptions } from 'tinyglobby'
import { globProblem } from '../domain/interfaces/load.ts'

const maxNameBytes = 200

/** A data item's name as a file name of the working directory (see the module's comment). */
export function safeFileName (name: string): string {
  let safe = name.normalize('NFC').replace(/[^\p{L}\p{N}_.+-]/gu, '_')
  // Never hidden, never read as an option.
  safe = safe.replace(/^[.-]+/, (lead) => '_'.repeat(lead.length))
  if (safe === '') return 'input'
  return shorten(safe, maxNameBytes)
}

/** `name` within `bytes` bytes of UTF-8, cut in its stem so that its extension stays. */
function shorten (name: string, bytes: number): string {
  if (Buffer.byteLength(name) <= bytes) return name
  const dot = name.lastIndexOf('.')
  const extension = dot > 0 && Buffer.byteLength(name.slice(dot)) <= 20 ? name.slice(dot) : ''
  let stem = name.slice(0, name.length - extension.length)
  while (Buffer.byteLength(stem + extension) > bytes) stem = [...stem].slice(0, -1).join('')
  return stem + extension
}

/** `name` with a number added before its extensions: `reads_2.fastq`. */
function numbered (name: string, number: number): string {
  const dot = name.indexOf('.')
  const [stem, extension] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, '']
  return shorten(`${stem}_${number}`, maxNameBytes - Buffer.byteLength(extension)) + extension
}

/**
 * The names a job's input files are staged under, by data item id: each item once
 * (an item given to two inputs is one file), no two alike, none of `reserved`
 * (the stdout and stderr files' names, when staged beside them).
 */
export function stagedNames (items: ReadonlyArray<{ id: number, name: string }>, reserved: Iterable<string> = []): Map<number, string> {
  const taken = new Set(reserved)
  const names = new Map<number, string>()
  for (const item of items) {
    if (names.has(item.id)) continue
    const base = safeFileName(item.name)
    let name = base
    for (let number = 2; taken.has(name); number++) name = numbered(base, number)
    taken.add(name)
    names.set(item.id, name)
  }
  return names
}

export interface GlobbedOutputs {
  /** Regular files inside the working directory: the path matched (relative to it) and the real path to read. */
  files: Array<{ path: string, realPath: string }>
  /** Matches that lead outside the working directory (or patterns that would), with why: never read. */
  refused: Array<{ path: string, reason: string }>
}

/** Globs read as Python's glob (cwltool's) reads them; `deep`: no deeper than the patterns reach, so that a link to / is not walked. */
const pythonGlob = {
  // Followed, as Python's glob follows them; where they lead is checked after.
  followSymbolicLinks: true,
  onlyFiles: true,
  dot: false,
  expandDirectories: false,
  braceExpansion: false,
  extglob: false,
  globstar: false
} satisfies GlobOptions

/** The files `patterns` find in `workdir` (see the module's comment), in order of path. */
export async function globOutputs (workdir: string, patterns: readonly string[]): Promise<GlobbedOutputs> {
  const refused: GlobbedOutputs['refused'] = []
  const safe = patterns.filter((pattern) => {
    const problem = globProblem(pattern)
    if (problem !== undefined) refused.push({ path: pattern, reason: `the glob ${problem}` })
    return problem === undefined
  })
  const root = await realpath(workdir)
  const matches = safe.length === 0 ? [] : await glob(safe, { ...pythonGlob, cwd: root, deep: Math.max(...safe.map((pattern) => pattern.split('/').length)) })
  const files: GlobbedOutputs['files'] = []
  for (const path of [...new Set(matches)].sort()) {
    let realPath: string
    try {
      realPath = await realpath(join(root, path))
    } catch {
      continue
    }
    if (!realPath.startsWith(root + sep)) {
      refused.push({ path, reason: 'leads outside the working directory' })
      continue
    }
    if ((await stat(realPath)).isFile()) files.push({ path, realPath })
  }
  return { files, refused }
}
