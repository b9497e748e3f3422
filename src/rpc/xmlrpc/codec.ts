/**
 * XML-RPC values ⇄ JavaScript values.
 *
 * Parsing goes through `saxes`: a small, strict, non-validating parser that never
 * fetches anything and never expands entities other than XML's five and character
 * references. Any DOCTYPE is refused outright, so neither external entities (XXE)
 * nor entity expansion (billion laughs) can happen. The element tree it builds is
 * capped in depth, and Fastify's bodyLimit caps its size before it gets here.
 * @see {@link https://xmlrpc.com/spec.md}
 */
import { SaxesParser } from 'saxes'

/** A decoded XML-RPC value; structs have no prototype, so `__proto__` is just a member name. */
export type XmlRpcValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | Date
  | Buffer
  | XmlRpcValue[]
  | XmlRpcStruct
export interface XmlRpcStruct { [member: string]: XmlRpcValue }

export interface MethodCall {
  methodName: string
  params: XmlRpcValue[]
}

/** The request is not a well-formed XML-RPC call; becomes fault -32700. */
export class MalformedRequest extends Error {
  override name = 'MalformedRequest'
}

export interface DecodeOptions {
  /** Deepest element nesting accepted (each array or struct level costs three or four). */
  maxDepth?: number
}

/** Elements nested deeper than this are refused: about 30 levels of arrays. */
const defaultMaxDepth = 100

interface Element {
  name: string
  children: Element[]
  /** Character data directly inside this element. */
  text: string
}

export function decodeMethodCall (xml: string, options: DecodeOptions = {}): MethodCall {
  const root = parseTree(xml, options.maxDepth ?? defaultMaxDepth)
  if (root.name !== 'methodCall') throw new MalformedRequest(`expected <methodCall>, found <${root.name}>`)
  noText(root)
  const nameElement = only(root, 'methodName')
  const methodName = nameElement.text.trim()
  if (methodName === '' || nameElement.children.length > 0) throw new MalformedRequest('<methodName> must hold a name')
  const paramsElements = root.children.filter((child) => child.name === 'params')
  const unknown = root.children.find((child) => child.name !== 'methodName' && child.name !== 'params')
  if (unknown !== undefined) throw new MalformedRequest(`unexpected <${unknown.name}> in <methodCall>`)
  if (paramsElements.length > 1) throw new MalformedRequest('more than one <params>')
  const paramsElement = paramsElements[0]
  if (paramsElement !== undefined) noText(paramsElement)
  const params = (paramsElement?.children ?? []).map((param) => {
    if (param.name !== 'param') throw new MalformedRequest(`unexpected <${param.name}> in <params>`)
    noText(param)
    return decodeValue(only(param, 'value'))
  })
  return { methodName, params }
}

function parseTree (xml: string, maxDepth: number): Element {
  const parser = new SaxesParser({ position: true })
  const stack: Element[] = []
  let root: Element | undefined
  parser.on('doctype', () => { throw new MalformedRequest('DOCTYPE is not allowed') })
  parser.on('opentag', (tag) => {
    if (stack.length >= maxDepth) throw new MalformedRequest(`elements nested deeper than ${maxDepth}`)
    const element: Element = { name: tag.name, children: [], text: '' }
    const parent = stack.at(-1)
    if (parent === undefined) root = element
    else parent.children.push(element)
    stack.push(element)
  })
  parser.on('closetag', () => { stack.pop() })
  const addText = (text: string): void => {
    const current = stack.at(-1)
    if (current !== undefined) current.text += text
  }
  parser.on('text', addText)
  parser.on('cdata', addText)
  try {
    // A byte-order mark is legal before the declaration; the string is already decoded.
    parser.write(xml.replace(/^\uFEFF/, '')).close()
  } catch (error) {
    if (error instanceof MalformedRequest) throw error
    throw new MalformedRequest(error instanceof Error ? error.message : String(error))
  }
  if (root === undefined) throw new MalformedRequest('no element found')
  return root
}

function only (parent: Element, name: string): Element {
  const matches = parent.children.filter((child) => child.name === name)
  if (matches.length !== 1) throw new MalformedRequest(`<${parent.name}> must hold exactly one <${name}>`)
  return matches[0]!
}

function noText (element: Element): void {
  if (element.text.trim() !== '') throw new MalformedRequest(`unexpected text in <${element.name}>`)
}

const integerPattern = /^[+-]?\d+$/
const doublePattern = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/
const base64Pattern = /^[A-Za-z0-9+/]*={0,2}$/
const int64 = { min: -(2n ** 63n), max: 2n ** 63n - 1n }

function decodeValue (value: Element): XmlRpcValue {
  if (value.children.length === 0) return value.text
  if (value.children.length > 1) throw new MalformedRequest('<value> must hold one typed element')
  noText(value)
  const typed = value.children[0]!
  const scalar = (): string => {
    if (typed.children.length > 0) throw new MalformedRequest(`<${typed.name}> must hold text only`)
    return typed.text
  }
  switch (typed.name) {
    case 'string':
      return scalar()
    case 'i4':
    case 'int':
    case 'i8':
      return decodeInteger(scalar().trim(), typed.name)
    case 'boolean': {
      const text = scalar().trim()
      if (text !== '0' && text !== '1') throw new MalformedRequest(`bad boolean ${JSON.stringify(text)}`)
      return text === '1'
    }
    case 'double': {
      const text = scalar().trim()
      const number = Number(text)
      if (!doublePattern.test(text) || !Number.isFinite(number)) throw new MalformedRequest(`bad double ${JSON.stringify(text)}`)
      return number
    }
    case 'dateTime.iso8601':
      return decodeDate(scalar().trim())
    case 'base64': {
      const text = scalar().replace(/\s+/g, '')
      if (!base64Pattern.test(text) || text.length % 4 === 1) throw new MalformedRequest('bad base64')
      return Buffer.from(text, 'base64')
    }
    case 'nil':
      if (scalar().trim() !== '') throw new MalformedRequest('<nil/> must be empty')
      return null
    case 'array': {
      noText(typed)
      const data = only(typed, 'data')
      noText(data)
      return data.children.map((child) => {
        if (child.name !== 'value') throw new MalformedRequest(`unexpected <${child.name}> in <data>`)
        return decodeValue(child)
      })
    }
    case 'struct': {
      noText(typed)
      const struct = Object.create(null) as XmlRpcStruct
      for (const member of typed.children) {
        if (member.name !== 'member') throw new MalformedRequest(`unexpected <${member.name}> in <struct>`)
        noText(member)
        const name = only(member, 'name')
        if (name.children.length > 0) throw new MalformedRequest('<name> must hold text only')
        struct[name.text] = decodeValue(only(member, 'value'))
      }
      return struct
    }
    default:
      throw new MalformedRequest(`unknown value type <${typed.name}>`)
  }
}

/** Integers within 2^53 become numbers, larger ones (up to 64 bits) bigints. */
function decodeInteger (text: string, tag: string): number | bigint {
  if (!integerPattern.test(text)) throw new MalformedRequest(`bad <${tag}> ${JSON.stringify(text)}`)
  const big = BigInt(text)
  if (big < int64.min || big > int64.max) throw new MalformedRequest(`<${tag}> ${text} is beyond 64 bits`)
  return Number.isSafeInteger(Number(big)) ? Number(big) : big
}

/** Accepts 20261123T07:33:24 (Python's form) and 2026-11-23T07:33:24[.sss][Z|±hh:mm]; no zone means UTC. */
const datePattern = /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):?(\d{2}):?(\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/

function decodeDate (text: string): Date {
  const match = datePattern.exec(text)
  if (match === null) throw new MalformedRequest(`bad dateTime.iso8601 ${JSON.stringify(text)}`)
  const [, year, month, day, hour, minute, second, fraction = '', zone = 'Z'] = match
  const offset = zone === 'Z' ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(-2)}`
  const date = new Date(`${year}-${month}-${day}T${hour}:${minute}:${second}${fraction}${offset}`)
  if (Number.isNaN(date.getTime())) throw new MalformedRequest(`bad dateTime.iso8601 ${JSON.stringify(text)}`)
  return date
}

/** A value already encoded (`<value>…</value>`): written out as it is. */
export class Encoded {
  constructor (readonly xml: string) {}
}

/** A value to render; `undefined` members of structs are skipped. */
export type Renderable =
  | XmlRpcValue
  | undefined
  | Encoded
  | readonly Renderable[]
  | { readonly [member: string]: Renderable }

export function encodeResponse (value: Renderable): string {
  return `<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n${encodeValue(value)}\n</param>\n</params>\n</methodResponse>\n`
}

export function encodeFault (faultCode: number, faultString: string): string {
  return `<?xml version='1.0'?>\n<methodResponse>\n<fault>\n${encodeValue({ faultCode, faultString })}\n</fault>\n</methodResponse>\n`
}

const int32 = { min: -(2 ** 31), max: 2 ** 31 - 1 }

/**
 * Integers within 32 bits render as <int>, larger ones as <i8> (Python's client
 * reads both); other numbers as <double>; dates as UTC in Python's compact form.
 */
export function encodeValue (value: Renderable): string {
  return value instanceof Encoded ? value.xml : `<value>${encodeInner(value)}</value>`
}

function encodeInner (value: Renderable): string {
  if (value === null || value === undefined) return '<nil/>'
  switch (typeof value) {
    case 'string': return `<string>${escapeText(value)}</string>`
    case 'boolean': return `<boolean>${value ? 1 : 0}</boolean>`
    case 'bigint': return value >= int32.min && value <= int32.max ? `<int>${value}</int>` : `<i8>${value}</i8>`
    case 'number':
      if (Number.isInteger(value)) return value >= int32.min && value <= int32.max ? `<int>${value}</int>` : `<i8>${value}</i8>`
      if (!Number.isFinite(value)) throw new TypeError(`${value} has no XML-RPC form`)
      return `<double>${value}</double>`
  }
  if (value instanceof Date) return `<dateTime.iso8601>${formatDate(value)}</dateTime.iso8601>`
  if (Buffer.isBuffer(value)) return `<base64>${value.toString('base64')}</base64>`
  if (Array.isArray(value)) return `<array><data>\n${value.map((item) => encodeValue(item) + '\n').join('')}</data></array>`
  const members = Object.entries(value as Record<string, Renderable>)
    .filter(([, member]) => member !== undefined)
    .map(([name, member]) => `<member>\n<name>${escapeText(name)}</name>\n${encodeValue(member)}\n</member>\n`)
  return `<struct>\n${members.join('')}</struct>`
}

function formatDate (date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, '').replaceAll('-', '')
}

/**
 * Escapes markup, keeps a carriage return as a reference (parsers would turn a
 * raw one into a newline), and replaces characters XML 1.0 cannot carry at all.
 */
function escapeText (text: string): string {
  return text
    .replace(/[&<>\r]/g, (c) => c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&#13;')
    // eslint-disable-next-line no-control-regex -- the control characters XML 1.0 forbids are what this replaces
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
}
