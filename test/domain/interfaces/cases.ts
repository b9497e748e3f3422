/**
 * Interfaces, job inputs and the argv each must give: commandLine's expectations
 * (test/domain/interfaces/command-line.test.ts) and what cwltool, the reference
 * implementation, is asked to confirm (test/cwltool.test.ts). `files`: the names
 * the data items given as File inputs are staged under, by id.
 */

export interface CommandLineCase {
  name: string
  tool: Record<string, unknown>
  inputs: Record<string, unknown>
  files?: Record<number, string>
  argv: string[]
}

function tool (baseCommand: string | string[], inputs: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { cwlVersion: 'v1.2', class: 'CommandLineTool', baseCommand, inputs, outputs: {}, ...extra }
}

export const commandLineCases: CommandLineCase[] = [
  {
    name: 'sort: flags by name at position 0, the file after them',
    tool: tool('sort', {
      reverse: { type: 'boolean?', inputBinding: { prefix: '-r' } },
      numeric: { type: 'boolean', default: false, inputBinding: { prefix: '-n' } },
      key: { type: 'string?', inputBinding: { prefix: '-k' } },
      file: { type: 'File', inputBinding: { position: 1 } }
    }),
    inputs: { reverse: true, key: '2,2', file: { data: '7' } },
    files: { 7: 'reads.txt' },
    argv: ['sort', '-k', '2,2', '-r', 'reads.txt']
  },
  {
    name: 'positions, then ids; an argument before an input at the same position; an input without binding adds nothing',
    tool: tool(['tool', 'sub'], {
      zeta: { type: 'string', inputBinding: { position: 1 } },
      alpha: { type: 'string', inputBinding: { position: 1 } },
      mid: { type: 'int', inputBinding: { position: 2, prefix: '-m' } },
      first: { type: 'string', inputBinding: {} },
      unbound: 'string'
    }, { arguments: ['--verbose', { valueFrom: 'last', position: 10 }, { prefix: '-o', valueFrom: 'out.txt', position: 1 }] }),
    inputs: { zeta: 'z', alpha: 'a', mid: 5, first: 'f', unbound: 'u' },
    argv: ['tool', 'sub', '--verbose', 'f', '-o', 'out.txt', 'a', 'z', '-m', '5', 'last']
  },
  {
    name: 'separate: false joins the prefix and the value; an option-like value stays one argument',
    tool: tool('prog', {
      k: { type: 'int', inputBinding: { prefix: '-k', separate: false } },
      out: { type: 'string', inputBinding: { prefix: '--output=', separate: false, position: 2 } },
      name: { type: 'string', inputBinding: { prefix: '--name', position: 1 } }
    }),
    inputs: { k: 2, out: 'x.txt', name: '--help' },
    argv: ['prog', '-k2', '--name', '--help', '--output=x.txt']
  },
  {
    name: 'itemSeparator joins an array into one value; an empty array adds nothing',
    tool: tool('prog', {
      ids: { type: 'int[]', inputBinding: { prefix: '--ids', itemSeparator: ',' } },
      tags: { type: 'string[]', inputBinding: { prefix: '-t', itemSeparator: ';', separate: false, position: 1 } },
      none: { type: 'string[]', inputBinding: { prefix: '--none', itemSeparator: ',' } }
    }),
    inputs: { ids: [1, 2, 3], tags: ['a b', 'c'], none: [] },
    argv: ['prog', '--ids', '1,2,3', '-ta b;c']
  },
  {
    name: 'an array without itemSeparator: the prefix once, then each item',
    tool: tool('prog', {
      xs: { type: 'string[]', inputBinding: { prefix: '-x' } },
      ys: { type: 'string[]', inputBinding: { position: 1 } },
      empty: { type: 'string[]', inputBinding: { prefix: '-e' } }
    }),
    inputs: { xs: ['a', 'b'], ys: ['c', 'd'], empty: [] },
    argv: ['prog', '-x', 'a', 'b', 'c', 'd']
  },
  {
    name: "an array type's own binding applies to each item",
    tool: tool('prog', {
      files: { type: { type: 'array', items: 'File', inputBinding: { prefix: '-I' } }, inputBinding: { position: 1 } },
      names: { type: { type: 'array', items: 'string', inputBinding: { prefix: '--name=', separate: false } }, inputBinding: { prefix: '--names', position: 2 } }
    }),
    inputs: { files: [{ data: '1' }, { data: '2' }], names: ['x', 'y'] },
    files: { 1: 'a.txt', 2: 'b.txt' },
    argv: ['prog', '-I', 'a.txt', '-I', 'b.txt', '--names', '--name=x', '--name=y']
  },
  {
    name: 'items bound without a binding on their input sort by their index first (as cwltool does)',
    tool: tool('prog', {
      a: { type: 'string', inputBinding: { position: 1 } },
      items: { type: { type: 'array', items: 'string', inputBinding: { prefix: '-i' } } }
    }),
    inputs: { a: 'A', items: ['x', 'y', 'z'] },
    argv: ['prog', '-i', 'x', '-i', 'y', 'A', '-i', 'z']
  },
  {
    name: 'booleans: true adds its prefix, false and a bare true nothing; in a joined array they are Python\'s True and False',
    tool: tool('prog', {
      yes: { type: 'boolean', inputBinding: { prefix: '--yes' } },
      no: { type: 'boolean', inputBinding: { prefix: '--no' } },
      bare: { type: 'boolean', inputBinding: {} },
      flags: { type: 'boolean[]', inputBinding: { itemSeparator: ',', prefix: '--flags' } },
      each: { type: { type: 'array', items: 'boolean', inputBinding: { prefix: '-v' } }, inputBinding: { position: 1 } }
    }),
    inputs: { yes: true, no: false, bare: true, flags: [true, false], each: [true, false, true] },
    argv: ['prog', '--flags', 'True,False', '--yes', '-v', '-v']
  },
  {
    name: 'an optional input left out adds nothing; a default stands for a value left out or null',
    tool: tool('prog', {
      opt: { type: 'string?', inputBinding: { prefix: '--opt' } },
      dflt: { type: 'int', default: 7, inputBinding: { prefix: '-n' } },
      dnull: { type: 'string', default: 'fallback', inputBinding: { prefix: '-s' } },
      darr: { type: 'string[]', default: ['p', 'q'], inputBinding: { prefix: '-a', itemSeparator: '+' } },
      given: { type: 'int?', default: 1, inputBinding: { prefix: '-g' } }
    }),
    inputs: { dnull: null, given: 2 },
    argv: ['prog', '-a', 'p+q', '-n', '7', '-s', 'fallback', '-g', '2']
  },
  {
    name: 'hostile values reach the program as they are, each one argument',
    tool: tool('prog', {
      a: { type: 'string', inputBinding: { position: 1 } },
      b: { type: 'string', inputBinding: { position: 2, prefix: '-b' } },
      c: { type: 'string[]', inputBinding: { position: 3 } }
    }),
    inputs: { a: '; rm -rf ~', b: '--help', c: ['$(whoami)', '`id`', 'a b', '', 'line\nbreak', 'ünï', '"quoted"', "it's", '*', '> /etc/passwd'] },
    argv: ['prog', '; rm -rf ~', '-b', '--help', '$(whoami)', '`id`', 'a b', '', 'line\nbreak', 'ünï', '"quoted"', "it's", '*', '> /etc/passwd']
  },
  {
    name: 'numbers as Python writes them',
    tool: tool('prog', {
      i: { type: 'int', inputBinding: { position: 1 } },
      neg: { type: 'int', inputBinding: { position: 2 } },
      f: { type: 'float', inputBinding: { position: 3 } },
      small: { type: 'float', inputBinding: { position: 4 } },
      whole: { type: 'float', inputBinding: { position: 5 } },
      l: { type: 'long', inputBinding: { position: 6 } },
      d: { type: 'double[]', inputBinding: { position: 7, itemSeparator: ',' } }
    }),
    inputs: { i: 42, neg: -3, f: 0.5, small: 0.00001, whole: 3, l: 9007199254740991, d: [1.25, 1e-7, 100, 1e21] },
    argv: ['prog', '42', '-3', '0.5', '1e-05', '3', '9007199254740991', '1.25,1e-07,100,1e+21']
  },
  {
    name: 'enums',
    tool: tool('prog', {
      mode: { type: { type: 'enum', symbols: ['fast', 'slow'] }, inputBinding: { prefix: '--mode' } },
      modes: { type: { type: 'array', items: { type: 'enum', symbols: ['x', 'y'] } }, inputBinding: { prefix: '-m', itemSeparator: ',' } }
    }),
    inputs: { mode: 'slow', modes: ['y', 'x'] },
    argv: ['prog', '--mode', 'slow', '-m', 'y,x']
  },
  {
    name: 'files: by the names they were staged under, joined or prefixed',
    tool: tool('prog', {
      in: { type: 'File', inputBinding: { prefix: '--in=', separate: false } },
      refs: { type: 'File[]', inputBinding: { prefix: '--refs', itemSeparator: ',' } },
      maybe: { type: 'File?', inputBinding: { prefix: '--maybe' } }
    }),
    inputs: { in: { data: '3' }, refs: [{ data: '00000000003' }, { data: '4' }] },
    files: { 3: 'reads.fastq', 4: 'genome.fa' },
    argv: ['prog', '--in=reads.fastq', '--refs', 'reads.fastq,genome.fa']
  },
  {
    name: 'arguments and inputs at negative and equal positions',
    tool: tool('prog', {
      v: { type: 'string', inputBinding: { position: -1, prefix: '-v' } },
      w: { type: 'string', inputBinding: { position: 3 } }
    }, { arguments: [{ valueFrom: 'early', position: -1 }, 'plain', { prefix: '--threads', valueFrom: '4', position: 3 }, { prefix: '-x', valueFrom: 'y', separate: false }] }),
    inputs: { v: 'V', w: 'W' },
    argv: ['prog', 'early', '-v', 'V', 'plain', '-xy', '--threads', '4', 'W']
  },
  {
    name: 'inputs as a list: their order in the document does not matter',
    tool: tool('prog', [
      { id: 'b', type: 'string', inputBinding: {} },
      { id: 'a', type: 'string', inputBinding: {} }
    ]),
    inputs: { a: 'A', b: 'B' },
    argv: ['prog', 'A', 'B']
  },
  {
    name: 'an array of arrays: the prefix, then every item',
    tool: tool('prog', { m: { type: ['null', { type: 'array', items: { type: 'array', items: 'string' } }], inputBinding: { prefix: '-m' } } }),
    inputs: { m: [['a', 'b'], ['c']] },
    argv: ['prog', '-m', 'a', 'b', 'c']
  },
  {
    name: 'a literal valueFrom replaces the value (false included); an absent input adds nothing',
    tool: tool('prog', {
      flag: { type: 'boolean', inputBinding: { prefix: '--mode', valueFrom: 'strict' } },
      off: { type: 'boolean', inputBinding: { prefix: '--x', valueFrom: 'lit' } },
      name: { type: 'string?', inputBinding: { valueFrom: 'constant', prefix: '-c' } }
    }),
    inputs: { flag: true, off: false },
    argv: ['prog', '--mode', 'strict', '--x', 'lit']
  }
]
