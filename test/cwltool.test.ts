/**
 * The argv commandLine builds, against the reference implementation: cwltool
 * (Debian's `apt install cwltool`; .ci/run installs it) runs each interface of
 * test/domain/interfaces/cases.ts with its inputs, its base command put behind a
 * Python script that prints its arguments as JSON, and what the script printed must
 * be the case's argv, which commandLine gives too (test/domain/interfaces/
 * command-line.test.ts). Where cwltool is not on PATH, the test says it is skipped.
 * The paths cwltool staged files under are read back as the names commandLine was given.
 */
import { execFile } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { commandLine } from '../src/domain/interfaces/command-line.ts'
import { loadTool } from '../src/domain/interfaces/load.ts'
import { inputSchema, validateInputs } from '../src/domain/interfaces/tool.ts'
import { commandLineCases, type CommandLineCase } from './domain/interfaces/cases.ts'
import { tempDir } from './helper.ts'

const run = promisify(execFile)

async function which (program: string): Promise<string | undefined> {
  try {
    return (await run('sh', ['-c', `command -v ${program}`])).stdout.trim() || undefined
  } catch {
    return undefined
  }
}

const cwltool = await which('cwltool')
const python = await which('python3')

/** A case's files as cwltool's job names them, and its other inputs as they are. */
function cwlJob (testCase: CommandLineCase, filesDir: string): Record<string, unknown> {
  const file = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(file)
    if (value !== null && typeof value === 'object' && 'data' in value) {
      return { class: 'File', path: join(filesDir, testCase.files![Number((value as { data: string }).data)]!) }
    }
    return value
  }
  return Object.fromEntries(Object.entries(testCase.inputs).map(([id, value]) => [id, file(value)]))
}

/** cwltool's argv with each staged file's path (…/stgXXXX/name) read back as its name. */
function withNames (argv: string[], names: string[]): string[] {
  return argv.map((argument) => names.reduce((text, name) =>
    text.replace(new RegExp(`/[^,=]*/stg[^/]*/${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'g'), name), argument))
}

t.test('cwltool builds the argv commandLine builds', { skip: cwltool === undefined || python === undefined ? 'cwltool is not installed (apt install cwltool)' : false }, async (t) => {
  const dir = await tempDir(t, 'mobyle2-cwltool-')
  const script = join(dir, 'argv.py')
  await writeFile(script, 'import json, sys\nprint(json.dumps(sys.argv[1:]))\n')
  const { stdout: version } = await run(cwltool!, ['--version'])
  t.comment(`comparing with ${version.trim()}`)

  async function viaCwltool (testCase: CommandLineCase, index: number): Promise<string[]> {
    const caseDir = join(dir, String(index))
    const filesDir = join(caseDir, 'files')
    await mkdir(filesDir, { recursive: true })
    for (const name of Object.values(testCase.files ?? {})) await writeFile(join(filesDir, name), 'content\n')
    const baseCommand = [python!, script, ...[testCase.tool.baseCommand as string | string[]].flat()]
    const document = { ...testCase.tool, baseCommand, outputs: { argv: 'stdout' }, stdout: 'argv.json' }
    await writeFile(join(caseDir, 'tool.cwl'), JSON.stringify(document))
    await writeFile(join(caseDir, 'job.json'), JSON.stringify(cwlJob(testCase, filesDir)))
    const outdir = join(caseDir, 'out')
    await run(cwltool!, ['--quiet', '--no-container', '--outdir', outdir, '--tmpdir-prefix', join(caseDir, 'tmp-'),
      '--tmp-outdir-prefix', join(caseDir, 'tmpout-'), join(caseDir, 'tool.cwl'), join(caseDir, 'job.json')], { timeout: 120_000 })
    return withNames(JSON.parse(await readFile(join(outdir, 'argv.json'), 'utf8')) as string[], Object.values(testCase.files ?? {}))
  }

  // Two at a time: each cwltool spends most of its second starting Python.
  const results: Array<string[] | Error> = []
  for (let index = 0; index < commandLineCases.length; index += 2) {
    const pair = commandLineCases.slice(index, index + 2)
    results.push(...await Promise.all(pair.map(async (testCase, offset) =>
      await viaCwltool(testCase, index + offset).catch((error: unknown) => error as Error))))
  }
  commandLineCases.forEach((testCase, index) => {
    const result = results[index]!
    if (result instanceof Error) {
      t.fail(`${testCase.name}: cwltool failed: ${result.message}`)
      return
    }
    const tool = loadTool(testCase.tool)
    const ours = commandLine(tool, validateInputs(inputSchema(tool), testCase.inputs),
      new Map(Object.entries(testCase.files ?? {}).map(([id, name]) => [Number(id), name])))
    t.same(result, ours, `${testCase.name}: cwltool's argv is commandLine's`)
    t.same(result, testCase.argv, `${testCase.name}: and the case's`)
  })
})
