import { readFileSync } from 'node:fs'
import type { FastifyInstance } from 'fastify'

const { name, version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string, version: string }

const links = {
  docs: { href: '/docs', title: 'API documentation (Swagger UI)' },
  openapi: { href: '/docs/json', title: 'OpenAPI document' },
  servers: { href: '/servers/', title: 'mobyle2 servers' },
  services: { href: '/services/', title: 'services' },
  xmlrpc: { href: '/xmlrpc', title: 'XML-RPC endpoint (Roundup verbs)' },
  jsonrpc: { href: '/_admin/api', title: 'JSON-RPC endpoint (RhodeCode API)' }
}

const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${name} ${version}</title></head>
<body><h1>${name} ${version}</h1><ul>
${Object.values(links).map((link) => `<li><a href="${link.href}">${link.title}</a> <code>${link.href}</code></li>`).join('\n')}
</ul></body></html>
`

/** `GET /`: what this server is and where its faces are; a minimal page for a browser. */
export default async function homeRoutes (app: FastifyInstance): Promise<void> {
  app.get('/', async (request, reply) => {
    void reply.header('vary', 'Accept')
    if (prefersHtml(request.headers.accept)) return await reply.type('text/html; charset=utf-8').send(page)
    return { name, version, links }
  })
}

/** A browser lists text/html first; API clients ask for JSON or anything. */
function prefersHtml (accept: string | undefined): boolean {
  if (accept === undefined) return false
  const html = accept.indexOf('text/html')
  const json = accept.indexOf('application/json')
  return html !== -1 && (json === -1 || html < json)
}
