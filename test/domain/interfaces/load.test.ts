/**
 * src/domain/interfaces/load.ts: CWL's shorthand forms read as one shape; each
 * feature outside the subset refused by name and place; what the schema cannot
 * say (ids, bindings, defaults, formats, globs, stream names) checked.
 */
import t, { type Test } from 'tap'
import { Invalid } from '../../../src/domain/errors.ts'
import { Value } from 'typebox/value'
import { CwlTool, loadTool } from '../../../src/domain/interfaces/load.ts'
import type { Tool } from '../../../src/domain/interfaces/tool.ts'

type Document = Record<string, unknown>

function tool (extra: Document = {}): Document {
  return { cwlVersion: 'v1.2', class: 'CommandLineTool', baseCommand: 'prog', inputs: {}, outputs: {}, ...extra }
}

/** The problems loading `document` gives, as `field: message`. */
function problems (document: unknown): string[] {
  try {
    loadTool(document)
  } catch (error) {
    if (error instanceof Invalid) return error.fields.map(({ field, message }) => `${field}: ${message}`)
    throw error
  }
  return []
}

function refused (t: Test, document: unknown, field: string, message: RegExp, what = `${field} is refused`): void {
  const found = problems(document)
  t.ok(found.some((problem) => problem.startsWith(`${field}: `) && message.test(problem.slice(field.length + 2))), `${what} (${found.join(' | ') || 'accepted'})`)
}

t.test('shorthand forms read as one shape', async (t) => {
  const asMaps = loadTool(tool({
    baseCommand: 'sort',
    arguments: ['-s', { prefix: '-t', valueFrom: ',', position: 1 }],
    inputs: {
      file: 'File',
      reverse: { type: 'boolean?', inputBinding: { prefix: '-r' } },
      keys: { type: 'string[]?', inputBinding: { prefix: '-k', itemSeparator: ',' } },
      mode: { type: ['null', { type: 'enum', symbols: ['a', 'b'] }] },
      many: { type: { type: 'array', items: { type: 'array', items: 'int' } } }
    },
    outputs: { sorted: 'stdout', log: { type: 'stderr' }, extra: { type: 'File[]?', outputBinding: { glob: '*.txt' } } },
    requirements: { EnvVarRequirement: { envDef: { LC_ALL: 'C' } }, ResourceRequirement: { coresMin: 1, ramMin: 512 } },
    hints: [{ class: 'ResourceRequirement', coresMax: 2 }],
    stdout: 'sorted.txt'
  }))
  const asLists = loadTool(tool({
    baseCommand: ['sort'],
    arguments: [{ valueFrom: '-s' }, { prefix: '-t', valueFrom: ',', position: 1 }],
    inputs: [
      { id: 'file', type: 'File' },
      { id: 'reverse', type: ['null', 'boolean'], inputBinding: { prefix: '-r' } },
      { id: 'keys', type: ['null', { type: 'array', items: 'string' }], inputBinding: { prefix: '-k', itemSeparator: ',' } },
      { id: 'mode', type: ['null', { type: 'enum', symbols: ['a', 'b'] }] },
      { id: 'many', type: { type: 'array', items: { type: 'array', items: 'int' } } }
    ],
    outputs: [
      { id: 'sorted', type: 'stdout' },
      { id: 'log', type: 'stderr' },
      { id: 'extra', type: ['null', { type: 'array', items: 'File' }], outputBinding: { glob: ['*.txt'] } }
    ],
    requirements: [{ class: 'EnvVarRequirement', envDef: [{ envName: 'LC_ALL', envValue: 'C' }] }, { class: 'ResourceRequirement', coresMin: 1, ramMin: 512 }],
    hints: { ResourceRequirement: { coresMax: 2 } },
    stdout: 'sorted.txt'
  }))
  t.same(asMaps, asLists, 'maps and lists, shorthand and long forms, give one tool')
  t.same(asMaps, {
    cwlVersion: 'v1.2',
    baseCommand: ['sort'],
    arguments: [{ valueFrom: '-s' }, { prefix: '-t', valueFrom: ',', position: 1 }],
    inputs: [
      { id: 'file', type: 'File', optional: false },
      { id: 'reverse', type: 'boolean', optional: true, inputBinding: { prefix: '-r' } },
      { id: 'keys', type: { type: 'array', items: 'string' }, optional: true, inputBinding: { prefix: '-k', itemSeparator: ',' } },
      { id: 'mode', type: { type: 'enum', symbols: ['a', 'b'] }, optional: true },
      { id: 'many', type: { type: 'array', items: { type: 'array', items: 'int' } }, optional: false }
    ],
    outputs: [
      { id: 'sorted', type: 'stdout', array: false, optional: false, glob: [] },
      { id: 'log', type: 'stderr', array: false, optional: false, glob: [] },
      { id: 'extra', type: 'File', array: true, optional: true, glob: ['*.txt'] }
    ],
    stdout: 'sorted.txt',
    env: { LC_ALL: 'C' },
    resources: { coresMax: 2, coresMin: 1, ramMin: 512 }
  } satisfies Tool, 'the one shape')
})

t.test('the TypeBox schema of the subset describes a document in its list and map forms', async (t) => {
  const document = tool({
    baseCommand: ['sort'],
    arguments: ['-s', { prefix: '-t', valueFrom: ',' }],
    inputs: [{ id: 'file', type: 'File', inputBinding: { position: 1 } }, { id: 'keys', type: ['null', { type: 'array', items: 'string' }] }],
    outputs: [{ id: 'sorted', type: 'stdout' }],
    requirements: { EnvVarRequirement: { envDef: { LC_ALL: 'C' } } }
  })
  t.ok(Value.Check(CwlTool, document), 'the subset')
  t.notOk(Value.Check(CwlTool, { ...document, requirements: { ShellCommandRequirement: {} } }), 'not beyond it')
  t.notOk(Value.Check(CwlTool, { ...document, inputs: [{ id: 'd', type: 'Directory' }] }))
})

t.test('metadata, versions, formats and defaults', async (t) => {
  const loaded = loadTool(tool({
    cwlVersion: 'v1.0',
    id: 'sort',
    label: 'Sort lines',
    doc: ['Sorts', 'lines.'],
    's:author': { 's:name': 'Someone' },
    $namespaces: { edam: 'http://edamontology.org/', s: 'https://schema.org/' },
    $schemas: ['https://example.org/never-fetched.owl'],
    inputs: {
      file: { type: 'File', format: 'edam:format_2330', label: 'Text', doc: 'The $(lines) to sort', 'edam:x': 1 },
      files: { type: 'File[]', format: ['http://edamontology.org/format_1929', 'edam:format_1930'] },
      n: { type: 'int', default: 3 },
      note: { type: 'string', default: 'a $(literal) default' },
      nothing: { type: 'string?', default: null }
    },
    outputs: { out: { type: 'File', format: 'edam:format_2330', outputBinding: { glob: 'out.txt' } } }
  }))
  t.equal(loaded.cwlVersion, 'v1.0')
  t.equal(loaded.label, 'Sort lines')
  t.equal(loaded.doc, 'Sorts\nlines.')
  t.same(loaded.inputs.map((input) => [input.id, input.format, input.default]), [
    ['file', ['http://edamontology.org/format_2330'], undefined],
    ['files', ['http://edamontology.org/format_1929', 'http://edamontology.org/format_1930'], undefined],
    ['n', undefined, 3],
    ['note', undefined, 'a $(literal) default'],
    ['nothing', undefined, undefined]
  ], 'formats as EDAM IRIs; defaults and docs are data, where $( is no expression; a null default is none')
  t.equal(loaded.outputs[0]!.format, 'http://edamontology.org/format_2330')
})

t.test('the features outside the subset are refused by name and place', async (t) => {
  const cases: Array<[string, Document, string, RegExp]> = [
    ['ShellCommandRequirement', tool({ requirements: [{ class: 'ShellCommandRequirement' }] }), 'requirements.ShellCommandRequirement', /not supported: a command line is never passed through a shell/],
    ['InlineJavascriptRequirement', tool({ requirements: { InlineJavascriptRequirement: {} } }), 'requirements.InlineJavascriptRequirement', /not supported: expressions are not/],
    ['DockerRequirement', tool({ requirements: [{ class: 'DockerRequirement', dockerPull: 'debian' }] }), 'requirements.DockerRequirement', /not supported: .*without containers/],
    ['DockerRequirement as a hint', tool({ hints: [{ class: 'DockerRequirement', dockerPull: 'debian' }] }), 'hints.DockerRequirement', /not supported/],
    ['SchemaDefRequirement', tool({ requirements: [{ class: 'SchemaDefRequirement', types: [] }] }), 'requirements.SchemaDefRequirement', /not supported/],
    ['InitialWorkDirRequirement', tool({ requirements: [{ class: 'InitialWorkDirRequirement', listing: [] }] }), 'requirements.InitialWorkDirRequirement', /not supported/],
    ['an unknown requirement', tool({ hints: { 'cwltool:MPIRequirement': { processes: 2 } } }), 'hints.cwltool:MPIRequirement', /not supported/],
    ['ResourceRequirement.tmpdirMin', tool({ requirements: { ResourceRequirement: { tmpdirMin: 10 } } }), 'requirements.ResourceRequirement.tmpdirMin', /not supported/],
    ['an expression in an argument', tool({ arguments: ['$(inputs.x)'] }), 'arguments[0]', /uses an expression \$\(\.\.\.\)/],
    ['a JavaScript expression', tool({ arguments: [{ valueFrom: '${ return 1 }' }] }), 'arguments[0].valueFrom', /uses an expression \$\{\.\.\.\}/],
    ['an expression in an inputBinding', tool({ inputs: { x: { type: 'string', inputBinding: { valueFrom: '$(self.toUpperCase())' } } } }), 'inputs.x.inputBinding.valueFrom', /uses an expression \$\(\.\.\.\)/],
    ['an expression as a position', tool({ inputs: { x: { type: 'string', inputBinding: { position: '$(1)' } } } }), 'inputs.x.inputBinding.position', /uses an expression/],
    ['an expression in a glob', tool({ outputs: { o: { type: 'File', outputBinding: { glob: '$(inputs.x).out' } } } }), 'outputs.o.outputBinding.glob', /uses an expression/],
    ['an expression naming stdout', tool({ stdout: '$(inputs.x).txt' }), 'stdout', /uses an expression/],
    ['an expression in an environment variable', tool({ requirements: { EnvVarRequirement: { envDef: { X: '$(runtime.cores)' } } } }), 'requirements.EnvVarRequirement.envDef.X', /uses an expression/],
    ['an expression for cores', tool({ requirements: { ResourceRequirement: { coresMin: '$(2)' } } }), 'requirements.ResourceRequirement.coresMin', /uses an expression/],
    ['a Workflow', tool({ class: 'Workflow' }), 'class', /"Workflow" is not supported: an interface is one CWL CommandLineTool/],
    ['an ExpressionTool', tool({ class: 'ExpressionTool' }), 'class', /"ExpressionTool" is not supported/],
    ['a packed $graph', { cwlVersion: 'v1.2', $graph: [tool()] }, '$graph', /not supported: an interface is one self-contained document/],
    ['$import', tool({ inputs: { x: { $import: 'other.yml' } } }), 'inputs.x.$import', /self-contained/],
    ['$include', tool({ doc: { $include: '/etc/passwd' } }), 'doc.$include', /self-contained/],
    ['$mixin', tool({ inputs: { x: { $mixin: 'other.yml', type: 'string' } } }), 'inputs.x.$mixin', /self-contained/],
    ['stdin', tool({ stdin: 'in.txt' }), 'stdin', /not supported: a program's standard input is closed/],
    ['successCodes', tool({ successCodes: [0, 1] }), 'successCodes', /not supported/],
    ['secondaryFiles', tool({ inputs: { bam: { type: 'File', secondaryFiles: ['.bai'] } } }), 'inputs.bam.secondaryFiles', /not supported/],
    ['loadContents', tool({ inputs: { f: { type: 'File', loadContents: true } } }), 'inputs.f.loadContents', /not supported/],
    ['streamable', tool({ inputs: { f: { type: 'File', streamable: true } } }), 'inputs.f.streamable', /not supported/],
    ['shellQuote', tool({ inputs: { x: { type: 'string', inputBinding: { shellQuote: false } } } }), 'inputs.x.inputBinding.shellQuote', /never passed through a shell/],
    ['shellQuote on an argument', tool({ arguments: [{ valueFrom: 'a', shellQuote: false }] }), 'arguments[0].shellQuote', /never passed through a shell/],
    ['outputEval', tool({ outputs: { o: { type: 'File', outputBinding: { glob: 'x', outputEval: '$(self[0])' } } } }), 'outputs.o.outputBinding.outputEval', /not supported/],
    ['Directory inputs', tool({ inputs: { d: 'Directory' } }), 'inputs.d.type', /Directory is not supported/],
    ['Directory outputs', tool({ outputs: { d: { type: 'Directory', outputBinding: { glob: 'x' } } } }), 'outputs.d.type', /Directory outputs are not supported/],
    ['value outputs', tool({ outputs: { n: 'int' } }), 'outputs.n.type', /outputs of type "int" are not supported/],
    ['records', tool({ inputs: { r: { type: { type: 'record', fields: [] } } } }), 'inputs.r.type.type', /record types are not supported/],
    ['Any', tool({ inputs: { a: 'Any' } }), 'inputs.a.type', /Any is not supported/],
    ['a union', tool({ inputs: { u: { type: ['int', 'string'] } } }), 'inputs.u.type', /a union of several types is not supported/],
    ['null alone', tool({ inputs: { n: 'null' } }), 'inputs.n.type', /null alone/],
    ['optional items', tool({ inputs: { xs: { type: { type: 'array', items: ['null', 'string'] } } } }), 'inputs.xs.type.items', /optional items/],
    ['shorthand in items', tool({ inputs: { xs: { type: { type: 'array', items: 'string[]' } } } }), 'inputs.xs.type.items', /no shorthand in items/],
    ['a binding on an enum type', tool({ inputs: { e: { type: { type: 'enum', symbols: ['a'], inputBinding: { prefix: '-e' } } } } }), 'inputs.e.type.inputBinding', /put the inputBinding on the input/],
    ['an unknown type', tool({ inputs: { x: 'str' } }), 'inputs.x.type', /"str" is not a supported type/]
  ]
  for (const [what, document, field, message] of cases) refused(t, document, field, message, what)
})

t.test('what the schema says', async (t) => {
  const { baseCommand: _command, ...commandless } = tool()
  refused(t, commandless, 'baseCommand', /is required: the interface names the program/)
  refused(t, tool({ baseCommand: [] }), 'baseCommand', /.+/, 'an empty baseCommand')
  refused(t, tool({ cwlVersion: 'v2.0' }), 'cwlVersion', /must be one of v1.0, v1.1, v1.2/)
  const { cwlVersion: _version, ...unversioned } = tool()
  refused(t, unversioned, 'cwlVersion', /is required/)
  refused(t, tool({ inputs: { x: { type: 'string', inputBinding: { positon: 1 } } } }), 'inputs.x.inputBinding.positon', /is not a known property/, 'a typo, named where it is')
  refused(t, tool({ inputs: [{ id: 'x', type: 'string', inputBinding: { prefix: 1 } }] }), 'inputs.x.inputBinding.prefix', /string/)
  refused(t, tool({ inputs: [{ type: 'string' }] }), 'inputs[0].id', /is required/)
  refused(t, tool({ inputs: { 'bad id': 'string' } }), 'inputs.bad id.id', /must match pattern/)
  refused(t, tool({ inputs: { x: { type: 'int', inputBinding: { position: 1_000_000 } } } }), 'inputs.x.inputBinding.position', /must be <= 999999/, 'a position past the base command\'s')
  refused(t, tool({ inputs: { x: { type: 'int', inputBinding: { prefix: '' } } } }), 'inputs.x.inputBinding.prefix', /.+/, 'an empty prefix')
  refused(t, tool({ colour: 'red' }), 'colour', /is not a known property/)
  refused(t, tool({ requirements: [{ envDef: {} }] }), 'requirements[0]', /an object with a class/)
  refused(t, tool({ requirements: [{ class: 'EnvVarRequirement', envDef: {} }, { class: 'EnvVarRequirement', envDef: {} }] }), 'requirements.EnvVarRequirement', /is given twice/)
  refused(t, tool({ requirements: { ResourceRequirement: { coresMin: 0 } } }), 'requirements.ResourceRequirement.coresMin', /must be > 0/)
})

t.test('what only the loader can say', async (t) => {
  refused(t, tool({ inputs: [{ id: 'x', type: 'string' }, { id: 'x', type: 'int' }] }), 'inputs.x', /given twice/)
  refused(t, tool({ inputs: { x: 'string' }, outputs: { x: 'stdout' } }), 'outputs.x', /given twice/, 'an input and an output of one id')
  refused(t, tool({ inputs: { n: { type: 'int', default: 'three' } } }), 'inputs.n.default', /not a value of the input's type/)
  refused(t, tool({ inputs: { n: { type: 'int', default: 2 ** 31 } } }), 'inputs.n.default', /not a value of the input's type/, 'an int past 32 bits')
  refused(t, tool({ inputs: { f: { type: 'File', default: { class: 'File', path: '/etc/passwd' } } } }), 'inputs.f.default', /not supported for a File/)
  refused(t, tool({ inputs: { f: { type: 'File', format: 'text/plain' } } }), 'inputs.f.format', /is not an EDAM format/)
  refused(t, tool({ inputs: { f: { type: 'File', format: ['edam:format_1929'] } } }), 'inputs.f.format[0]', /is not an EDAM format/, 'a prefix without $namespaces')
  refused(t, tool({ inputs: { s: { type: 'string', format: 'http://edamontology.org/format_1929' } } }), 'inputs.s.format', /applies to File inputs only/)
  refused(t, tool({ inputs: { s: { type: 'string', inputBinding: { separate: false } } } }), 'inputs.s.inputBinding.separate', /needs a prefix/)
  refused(t, tool({ arguments: [{ valueFrom: 'x', separate: false }] }), 'arguments[0].separate', /needs a prefix/)
  refused(t, tool({ inputs: { s: { type: 'string', inputBinding: { itemSeparator: ',' } } } }), 'inputs.s.inputBinding.itemSeparator', /applies to arrays only/)
  refused(t, tool({ inputs: { s: { type: { type: 'array', items: { type: 'array', items: 'string' } }, inputBinding: { itemSeparator: ',' } } } }),
    'inputs.s.inputBinding.itemSeparator', /array of arrays/)
  refused(t, tool({ inputs: { s: { type: { type: 'array', items: 'string', inputBinding: { separate: false } } } } }), 'inputs.s.type.inputBinding.separate', /needs a prefix/)
  refused(t, tool({ outputs: { o: { type: 'File', outputBinding: { glob: '/etc/passwd' } } } }), 'outputs.o.outputBinding.glob', /is an absolute path/)
  refused(t, tool({ outputs: { o: { type: 'File', outputBinding: { glob: 'out/../../x' } } } }), 'outputs.o.outputBinding.glob', /climbs out of the working directory/)
  refused(t, tool({ outputs: { o: { type: 'File', outputBinding: { glob: ['ok.txt', '..'] } } } }), 'outputs.o.outputBinding.glob[1]', /climbs out/)
  refused(t, tool({ outputs: { o: { type: 'File', outputBinding: { glob: '~/x' } } } }), 'outputs.o.outputBinding.glob', /starts with ~/)
  refused(t, tool({ outputs: { o: { type: 'File', outputBinding: { glob: 'a\\*' } } } }), 'outputs.o.outputBinding.glob', /backslash/)
  refused(t, tool({ outputs: { o: { type: 'File', outputBinding: { glob: 'dir/' } } } }), 'outputs.o.outputBinding.glob', /names a directory/)
  refused(t, tool({ outputs: { o: 'File' } }), 'outputs.o.outputBinding.glob', /is required/)
  refused(t, tool({ outputs: { o: { type: 'stdout', outputBinding: { glob: 'x' } } } }), 'outputs.o.outputBinding', /is not needed/)
  refused(t, tool({ stdout: '../out.txt' }), 'stdout', /one file name in the working directory/)
  refused(t, tool({ stderr: '..' }), 'stderr', /one file name/)
  refused(t, tool({ stdout: 'same.txt', stderr: 'same.txt' }), 'stderr', /the file stdout is written to/)
  refused(t, tool({ requirements: { EnvVarRequirement: { envDef: { 'BAD-NAME': 'x' } } } }), 'requirements.EnvVarRequirement.envDef.BAD-NAME', /is not a variable name/)
  refused(t, tool({ requirements: { ResourceRequirement: { ramMin: 1024, ramMax: 512 } } }), 'requirements.ResourceRequirement.ramMin', /is more than ramMax/)
})

t.test('documents that are not one', async (t) => {
  for (const value of [null, 'cwlVersion: v1.2', 42, [tool()]]) refused(t, value, '(document)', /must be a CWL CommandLineTool/, JSON.stringify(value))
  const { class: _class, ...classless } = tool()
  refused(t, classless, 'class', /is required/)
  refused(t, tool({ label: 'a\u0000b' }), 'label', /NUL/)
  let deep: unknown = 'bottom'
  for (let depth = 0; depth < 100_000; depth++) deep = [deep]
  refused(t, tool({ doc: deep }), '(document)', /is nested deeper than 64 levels/, 'a document nested deeper than any tool, before anything recurses into it')
  refused(t, tool({ inputs: { x: { type: 'string', default: 'a\u0000b' } } }), 'inputs.x.default', /NUL/)
})
