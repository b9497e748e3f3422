/**
 * src/domain/interfaces/command-line.ts: the argv of a job, by CWL's binding rules
 * as cwltool applies them (the cases of cases.ts are also run by cwltool itself in
 * test/cwltool.test.ts), and hostile values staying single arguments.
 */
import t from 'tap'
import { commandLine, pythonNumber } from '../../../src/domain/interfaces/command-line.ts'
import { loadTool } from '../../../src/domain/interfaces/load.ts'
import { inputSchema, validateInputs } from '../../../src/domain/interfaces/tool.ts'
import { commandLineCases } from './cases.ts'

function argv (document: Record<string, unknown>, inputs: Record<string, unknown>, files: Record<number, string> = {}): string[] {
  const tool = loadTool(document)
  return commandLine(tool, validateInputs(inputSchema(tool), inputs), new Map(Object.entries(files).map(([id, name]) => [Number(id), name])))
}

function tool (inputs: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { cwlVersion: 'v1.2', class: 'CommandLineTool', baseCommand: 'prog', inputs, outputs: [], ...extra }
}

t.test('the cases cwltool confirms', async (t) => {
  for (const testCase of commandLineCases) t.same(argv(testCase.tool, testCase.inputs, testCase.files), testCase.argv, testCase.name)
})

t.test('a value that looks like an option, or like shell, stays one argument wherever it is bound', async (t) => {
  const hostile = ['--help', '-rf', '; rm -rf ~', '$(id)', '`id`', '&& reboot', '| cat /etc/passwd', '--', '-', '\'', '"', '\\', '\n', ' ', '*', '~']
  for (const value of hostile) {
    t.same(argv(tool({ x: { type: 'string', inputBinding: { position: 1 } } }), { x: value }), ['prog', value], `positional ${JSON.stringify(value)}`)
    t.same(argv(tool({ x: { type: 'string', inputBinding: { prefix: '-x' } } }), { x: value }), ['prog', '-x', value], `after a prefix ${JSON.stringify(value)}`)
    t.same(argv(tool({ x: { type: 'string', inputBinding: { prefix: '--x=', separate: false } } }), { x: value }), ['prog', `--x=${value}`], `joined ${JSON.stringify(value)}`)
    t.same(argv(tool({ x: { type: 'string[]', inputBinding: { prefix: '-x' } } }), { x: [value, value] }), ['prog', '-x', value, value], `in an array ${JSON.stringify(value)}`)
    // In the document itself, $( would be an expression, refused (load.test.ts).
    if (!value.includes('$(')) {
      t.same(argv(tool({ x: { type: { type: 'enum', symbols: [value, 'b'] }, inputBinding: {} } }), { x: value }), ['prog', value], `as an enum symbol ${JSON.stringify(value)}`)
    }
  }
})

t.test('the base command comes first whatever the positions', async (t) => {
  t.same(argv(tool({ x: { type: 'string', inputBinding: { position: -999_999 } } }, { baseCommand: ['a', 'b'] }), { x: 'v' }), ['a', 'b', 'v'])
  t.same(argv(tool({}, { baseCommand: 'a', arguments: [{ valueFrom: 'early', position: -999_999 }] }), {}), ['a', 'early'])
})

t.test('sort keys: numbers before names at a position; a shorter key first; positions numerically', async (t) => {
  t.same(argv(tool({
    b10: { type: 'string', inputBinding: { position: 10 } },
    a2: { type: 'string', inputBinding: { position: 2 } },
    c: { type: 'string', inputBinding: {} }
  }, { arguments: ['zero', { valueFrom: 'nine', position: 9 }] }), { b10: 'ten', a2: 'two', c: 'c' }), ['prog', 'zero', 'c', 'two', 'nine', 'ten'])
  t.same(argv(tool({ B: { type: 'string', inputBinding: {} }, a: { type: 'string', inputBinding: {} }, _c: { type: 'string', inputBinding: {} } }), { a: '1', B: '2', _c: '3' }),
    ['prog', '2', '3', '1'], 'ids compare by code point, as Python compares texts')
})

t.test('optional inputs, nulls and defaults', async (t) => {
  const document = tool({
    o: { type: ['null', 'int'], inputBinding: { prefix: '-o' } },
    d: { type: 'float', default: 0.25, inputBinding: { prefix: '-d' } },
    e: { type: { type: 'enum', symbols: ['x', 'y'] }, default: 'y', inputBinding: { prefix: '-e' } },
    b: { type: 'boolean', default: true, inputBinding: { prefix: '-b' } }
  })
  t.same(argv(document, {}), ['prog', '-b', '-d', '0.25', '-e', 'y'])
  t.same(argv(document, { o: null, d: null, e: null, b: null }), ['prog', '-b', '-d', '0.25', '-e', 'y'], 'null takes the default')
  t.same(argv(document, { o: 0, d: 0, e: 'x', b: false }), ['prog', '-d', '0', '-e', 'x', '-o', '0'], 'zero is a value, false adds nothing')
})

t.test('files are the names they were staged under', async (t) => {
  const document = tool({ f: { type: 'File', inputBinding: {} }, g: { type: 'File[]', inputBinding: { prefix: '-g' } } })
  t.same(argv(document, { f: { data: '00000000001' }, g: [{ data: '2' }, { data: '1' }] }, { 1: '/work/job/inputs/a.fq', 2: '/work/job/inputs/b.fq' }),
    ['prog', '/work/job/inputs/a.fq', '-g', '/work/job/inputs/b.fq', '/work/job/inputs/a.fq'])
  const tool1 = loadTool(document)
  t.throws(() => commandLine(tool1, { f: { data: '9' } }, new Map()), /no staged file for data item 9/, 'a file nobody staged is a fault of the caller')
})

t.test('numbers', async (t) => {
  const cases: Array<[number, string]> = [
    [0, '0'], [-0, '0'], [7, '7'], [-42, '-42'], [0.5, '0.5'], [-1.25, '-1.25'], [0.0001, '0.0001'], [0.00001, '1e-05'],
    [1.5e-7, '1.5e-07'], [-2e-10, '-2e-10'], [123456789.125, '123456789.125'], [2 ** 53 - 1, '9007199254740991'],
    [1e20, '100000000000000000000'], [1e21, '1e+21'], [1.5e300, '1.5e+300'], [0.1 + 0.2, '0.30000000000000004']
  ]
  for (const [value, text] of cases) t.equal(pythonNumber(value), text, String(value))
})
