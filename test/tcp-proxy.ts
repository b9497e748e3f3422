/**
 * A TCP proxy of the tests' own between a server and its database: it can stop
 * forwarding one connection (a half-open link) or cut them all and refuse new
 * ones (the database gone) until restored.
 */
import { once } from 'node:events'
import net from 'node:net'

interface Teardown { teardown: (fn: () => unknown) => void }

export async function tcpProxy (t: Teardown, target: URL) {
  const upstreams = new Map<number, { client: net.Socket, upstream: net.Socket }>()
  let refusing = false
  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy()
      return
    }
    const upstream = net.connect(Number(target.port || 5432), target.hostname)
    upstream.once('connect', () => { upstreams.set(upstream.localPort!, { client, upstream }) })
    client.pipe(upstream).pipe(client)
    const close = (): void => {
      client.destroy()
      upstream.destroy()
      if (upstream.localPort !== undefined) upstreams.delete(upstream.localPort)
    }
    client.on('error', close).on('close', close)
    upstream.on('error', close).on('close', close)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const destroyAll = (): void => { for (const { client, upstream } of upstreams.values()) { client.destroy(); upstream.destroy() } }
  t.teardown(() => { destroyAll(); server.close() })
  const port = (server.address() as net.AddressInfo).port
  return {
    port,
    /** `target` with this proxy's address in its place. */
    url (): string {
      const through = new URL(target)
      through.hostname = '127.0.0.1'
      through.port = String(port)
      return through.toString()
    },
    /** The local ports of the proxy's connections to the database: the client_port PostgreSQL sees. */
    ports: () => [...upstreams.keys()],
    freeze (port: number): void {
      const link = upstreams.get(port)
      if (link === undefined) throw new Error(`no proxied connection from port ${port}`)
      link.client.unpipe(link.upstream)
      link.upstream.unpipe(link.client)
      link.client.pause()
      link.upstream.pause()
    },
    /** The database gone: every connection cut, new ones refused. */
    cut (): void {
      refusing = true
      destroyAll()
    },
    restore (): void {
      refusing = false
    }
  }
}
