import t from 'tap'
import { decodeMethodCall, encodeFault, encodeResponse, encodeValue, MalformedRequest, type Renderable } from '../../../src/rpc/xmlrpc/codec.ts'

function call (params: string, name = 'm'): string {
  return `<?xml version="1.0"?><methodCall><methodName>${name}</methodName><params>${params}</params></methodCall>`
}
const param = (value: string): string => `<param>${value}</param>`

/** Encodes as a call's parameter and decodes it back. */
function roundTrip (value: Renderable): unknown {
  return decodeMethodCall(call(param(encodeValue(value)))).params[0]
}

t.test('every type survives a round trip', async (t) => {
  t.equal(roundTrip('plain text'), 'plain text')
  t.equal(roundTrip('<&>"\' and \r\n'), '<&>"\' and \r\n', 'markup and carriage returns are escaped')
  t.equal(roundTrip('héllo ✓ 𝄞'), 'héllo ✓ 𝄞', 'UTF-8')
  t.equal(roundTrip(''), '')
  t.equal(roundTrip(42), 42)
  t.equal(roundTrip(-2147483648), -2147483648)
  t.equal(roundTrip(2 ** 40), 2 ** 40, 'beyond 32 bits')
  t.equal(roundTrip(9007199254740993n), 9007199254740993n, 'beyond 2^53 as a bigint')
  t.equal(roundTrip(2.5), 2.5)
  t.equal(roundTrip(-1e-7), -1e-7)
  t.equal(roundTrip(true), true)
  t.equal(roundTrip(false), false)
  t.equal(roundTrip(null), null)
  t.same(roundTrip(new Date('2026-11-23T07:33:24Z')), new Date('2026-11-23T07:33:24Z'))
  t.same(roundTrip(Buffer.from([0, 1, 2, 255])), Buffer.from([0, 1, 2, 255]))
  t.same(roundTrip([1, 'two', [3, [null]]]), [1, 'two', [3, [null]]])
  t.same(roundTrip([]), [])
  t.same({ ...(roundTrip({ a: 1, b: { c: ['d'] } }) as object) }, { a: 1, b: Object.assign(Object.create(null), { c: ['d'] }) })
  const proto = roundTrip({ ['__proto__']: 'x' }) as Record<string, unknown>
  t.equal(Object.getPrototypeOf(proto), null, 'structs have no prototype to pollute')
  t.equal(proto.__proto__, 'x')
})

t.test('integers render as <int> within 32 bits, <i8> beyond; dates in Python\'s form', async (t) => {
  t.equal(encodeValue(2147483647), '<value><int>2147483647</int></value>')
  t.equal(encodeValue(2147483648), '<value><i8>2147483648</i8></value>')
  t.equal(encodeValue(-(2 ** 40)), '<value><i8>-1099511627776</i8></value>')
  t.equal(encodeValue(new Date('2026-11-23T07:33:24.123Z')), '<value><dateTime.iso8601>20261123T07:33:24</dateTime.iso8601></value>')
  t.equal(encodeValue('\u0000\uFFFE'), '<value><string>\uFFFD\uFFFD</string></value>', 'characters XML cannot carry are replaced')
  t.throws(() => encodeValue(Number.NaN))
})

t.test('reads what clients send', async (t) => {
  const decoded = decodeMethodCall(call([
    param('<value>bare text</value>'),
    param('<value><i4>7</i4></value>'),
    param('<value><int> -8 </int></value>'),
    param('<value><i8>9223372036854775807</i8></value>'),
    param('<value><boolean>1</boolean></value>'),
    param('<value><double>1.5e3</double></value>'),
    param('<value><string><![CDATA[<raw>]]></string></value>'),
    param('<value><base64>aGk=\n</base64></value>'),
    param('<value><dateTime.iso8601>20261123T07:33:24</dateTime.iso8601></value>'),
    param('<value><dateTime.iso8601>2026-11-23T08:33:24+01:00</dateTime.iso8601></value>'),
    param('<value><nil/></value>'),
    param('<value><array><data></data></array></value>'),
    param('<value><struct></struct></value>'),
    param('<value>&#233;&lt;&amp;</value>')
  ].join(''), 'lookup'))
  t.equal(decoded.methodName, 'lookup')
  t.same(decoded.params, [
    'bare text', 7, -8, 9223372036854775807n, true, 1500, '<raw>', Buffer.from('hi'),
    new Date('2026-11-23T07:33:24Z'), new Date('2026-11-23T07:33:24Z'), null, [], Object.create(null), 'é<&'
  ])
  t.same(decodeMethodCall('<methodCall><methodName>schema</methodName></methodCall>'), { methodName: 'schema', params: [] })
  t.same(decodeMethodCall('\uFEFF<?xml version="1.0"?><methodCall><methodName>schema</methodName></methodCall>').methodName, 'schema', 'a byte-order mark')
})

t.test('refuses malformed documents', async (t) => {
  const bad: Array<[string, string]> = [
    ['empty', ''],
    ['not XML', 'this is not xml'],
    ['unclosed', '<methodCall><methodName>list</methodName><params>'],
    ['not a methodCall', '<?xml version="1.0"?><foo/>'],
    ['no method name', '<methodCall><params/></methodCall>'],
    ['empty method name', '<methodCall><methodName> </methodName></methodCall>'],
    ['two params', '<methodCall><methodName>m</methodName><params/><params/></methodCall>'],
    ['stray element', '<methodCall><methodName>m</methodName><foo/></methodCall>'],
    ['stray text', call(param('<value><int>1</int></value>') + 'junk')],
    ['param without value', call('<param/>')],
    ['unknown type', call(param('<value><float>1</float></value>'))],
    ['bad int', call(param('<value><int>1.5</int></value>'))],
    ['int beyond 64 bits', call(param('<value><i8>9223372036854775808</i8></value>'))],
    ['bad boolean', call(param('<value><boolean>true</boolean></value>'))],
    ['bad double', call(param('<value><double>NaN</double></value>'))],
    ['bad base64', call(param('<value><base64>!!!</base64></value>'))],
    ['bad date', call(param('<value><dateTime.iso8601>yesterday</dateTime.iso8601></value>'))],
    ['impossible date', call(param('<value><dateTime.iso8601>20261399T99:99:99</dateTime.iso8601></value>'))],
    ['nil with content', call(param('<value><nil>x</nil></value>'))],
    ['two typed children', call(param('<value><int>1</int><int>2</int></value>'))],
    ['array without data', call(param('<value><array/></value>'))],
    ['member without name', call(param('<value><struct><member><value>1</value></member></struct></value>'))],
    ['nested markup in string', call(param('<value><string><b>x</b></string></value>'))],
    ['undefined entity', call(param('<value>&foo;</value>'))],
    ['mismatched tags', '<methodCall><methodName>m</methodCall></methodName>']
  ]
  for (const [name, xml] of bad) t.throws(() => decodeMethodCall(xml), MalformedRequest, name)
})

t.test('refuses DOCTYPE, so no external entity and no entity expansion', async (t) => {
  const xxe = '<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]>' +
    '<methodCall><methodName>list</methodName><params><param><value>&x;</value></param></params></methodCall>'
  t.throws(() => decodeMethodCall(xxe), { name: 'MalformedRequest', message: 'DOCTYPE is not allowed' })
  const laughs = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' +
    Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`).join('') +
    ']><methodCall><methodName>&lol9;</methodName></methodCall>'
  t.throws(() => decodeMethodCall(laughs), { name: 'MalformedRequest', message: 'DOCTYPE is not allowed' })
  const noDoctype = '<methodCall><methodName>&lol9;</methodName></methodCall>'
  t.throws(() => decodeMethodCall(noDoctype), MalformedRequest, 'an entity without a DOCTYPE is undefined')
})

t.test('caps nesting depth', async (t) => {
  const nested = (levels: number): string =>
    call(param('<value><array><data>'.repeat(levels) + '<value>x</value>' + '</data></array></value>'.repeat(levels)))
  t.doesNotThrow(() => decodeMethodCall(nested(20)), '20 levels of arrays are fine')
  t.throws(() => decodeMethodCall(nested(10_000)), { name: 'MalformedRequest', message: /nested deeper than 100/ })
  t.throws(() => decodeMethodCall(nested(5), { maxDepth: 10 }), { message: /nested deeper than 10/ })
})

t.test('renders responses and faults as Python expects them', async (t) => {
  t.equal(encodeResponse('1'), "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><string>1</string></value>\n</param>\n</params>\n</methodResponse>\n")
  t.equal(encodeFault(404, 'no such user <9>'), "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n<value><struct>\n" +
    '<member>\n<name>faultCode</name>\n<value><int>404</int></value>\n</member>\n' +
    '<member>\n<name>faultString</name>\n<value><string>no such user &lt;9&gt;</string></value>\n</member>\n' +
    '</struct></value>\n</fault>\n</methodResponse>\n')
  t.equal(encodeValue({ a: undefined, b: 1 }), '<value><struct>\n<member>\n<name>b</name>\n<value><int>1</int></value>\n</member>\n</struct></value>')
})
