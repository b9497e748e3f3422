/**
 * One scenario through three faces: for every role, REST, XML-RPC (through
 * Python's xmlrpc.client) and JSON-RPC ask the same questions of the same data
 * and must agree. This is the proof that the faces are thin.
 */
import t from 'tap'
import { Readable } from 'node:stream'
import { systemActor, type Actor } from '../src/domain/actor.ts'
import { formatId } from '../src/rest/common.ts'
import { databaseKinds } from './helper.ts'
import { basic, password, roles, seededApp, type Role } from './fixtures.ts'
import { askXmlRpc, xmlrpcUrl } from './rpc/xmlrpc/python.ts'

type Who = Role | 'anonymous'
type Outcome = 'ok' | 'unauthenticated' | 'forbidden' | 'not_found'

const restOutcome: Record<number, Outcome> = { 200: 'ok', 201: 'ok', 204: 'ok', 401: 'unauthenticated', 403: 'forbidden', 404: 'not_found' }
const xmlrpcOutcome: Record<number, Outcome> = { 401: 'unauthenticated', 403: 'forbidden', 404: 'not_found' }
const jsonrpcOutcome: Record<number, Outcome> = { [-32001]: 'unauthenticated', [-32003]: 'forbidden', [-32004]: 'not_found' }

for (const kind of databaseKinds) {
  t.test(`${kind}: REST, XML-RPC and JSON-RPC agree for every role`, async (t) => {
    const { app, domain, keys, ...s } = await seededApp(t, kind, { apiKeys: true })
    const base = await app.listen({ host: '127.0.0.1', port: 0 })
    const editable = await domain.services.get(systemActor, 'assembly::genomics::pasteur')
    // 99999 exists nowhere: the existence column compares every hidden item with it.
    const missing = 99999
    const people = [s.users.admin.id, s.users.owner.id, s.users.watcher.id, s.users.outsider.id, missing]
    const projects = [s.projectId, s.otherProjectId, missing]
    // A data item with content in each project, and one that exists nowhere; each face shows the same metadata.
    const upload = async (actor: Actor, project: number, name: string, bytes: string): Promise<[number, number]> => [project,
      (await domain.projects.addData(actor, project, { name, format: 'format_1929' },
        { blob: await domain.projects.stageData(actor, project, Readable.from([Buffer.from(bytes)])), mediaType: 'text/x-fasta' })).id]
    const data: Array<[number, number]> = [
      await upload(s.actors.contributor, s.projectId, 'contigs.fa', '>c1\nACGT\n'),
      await upload(s.actors.outsider, s.otherProjectId, 'secret.fa', '>s\nTT\n'),
      [s.projectId, missing]
    ]
    const dataFields = ['name', 'size', 'sha256', 'media_type', 'format'] as const
    const metadata = (item: Record<string, unknown>) => Object.fromEntries(dataFields.map((field) => [field, item[field]]))
    // A job in each project, and one that exists nowhere; each face shows the same name and state.
    const jobs: Array<[number, number]> = [
      [s.projectId, s.jobId],
      [s.otherProjectId, (await domain.projects.addJob(s.actors.outsider, s.otherProjectId, { name: 'secret run', service: 'blast::pasteur' })).id],
      [s.projectId, missing]
    ]
    const jobFields = ['name', 'state'] as const
    const jobShown = (item: Record<string, unknown>) => Object.fromEntries(jobFields.map((field) => [field, item[field]]))

    for (const who of [...roles, 'anonymous'] as Who[]) {
      const credentials: Record<string, string> = who === 'anonymous' ? {} : basic(who)
      // A queued job of genomics for each face to cancel.
      const queued = async (face: string): Promise<number> =>
        (await domain.projects.addJob(systemActor, s.projectId, { name: `${face} ${who}`, service: 'blast::pasteur' })).id
      const toCancel = { rest: await queued('rest'), xmlrpc: await queued('xmlrpc'), jsonrpc: await queued('jsonrpc') }

      const rest = async (method: string, path: string, body?: unknown): Promise<{ outcome: Outcome, json: unknown }> => {
        const response = await fetch(new URL(path, base), {
          method,
          headers: body === undefined ? credentials : { ...credentials, 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body)
        })
        const outcome = restOutcome[response.status]
        if (outcome === undefined) throw new Error(`${method} ${path}: unexpected ${response.status} ${await response.text()}`)
        return { outcome, json: response.status === 204 ? null : await response.json() }
      }
      let sequence = 0
      const jsonrpc = async (method: string, params: Record<string, unknown>): Promise<{ outcome: Outcome, result: unknown }> => {
        const key: Record<string, string> = who === 'anonymous' ? {} : { 'x-api-key': keys[who] }
        const response = await fetch(new URL('/_admin/api', base), {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...key },
          body: JSON.stringify({ jsonrpc: '2.0', id: ++sequence, method, params })
        })
        const answer = await response.json() as { result?: unknown, error?: { code: number, message: string } }
        if (answer.error === undefined) return { outcome: 'ok', result: answer.result }
        const outcome = jsonrpcOutcome[answer.error.code]
        if (outcome === undefined) throw new Error(`${method}: unexpected error ${JSON.stringify(answer.error)}`)
        return { outcome, result: null }
      }

      // RhodeCode's get_user and get_repo answer null for one that does not exist.
      const foundOrNot = (got: { outcome: Outcome, result: unknown }): Outcome => got.outcome === 'ok' && got.result === null ? 'not_found' : got.outcome

      const xml = await askXmlRpc(xmlrpcUrl(base, who === 'anonymous' ? null : who, password), [
        ...people.map((id) => ['display', `user${id}`, 'username']),
        ...projects.map((id) => ['display', `project${id}`, 'name']),
        ['list', 'service'],
        ['create', 'server', `name=xmlrpc-${who}`, 'url=http://x.example.org'],
        ['set', `service${editable.id}`, `description=xmlrpc ${who}`],
        ...data.map(([, id]) => ['display', `data${id}`, ...dataFields]),
        ...jobs.map(([, id]) => ['display', `job${id}`, ...jobFields]),
        ['action', 'cancel', `job${toCancel.xmlrpc}`]
      ])
      const xmlOutcome = (answer: { ok?: unknown, fault?: number } | undefined): Outcome => {
        if (answer === undefined) throw new Error('missing answer')
        if (answer.fault === undefined) return 'ok'
        const outcome = xmlrpcOutcome[answer.fault]
        if (outcome === undefined) throw new Error(`unexpected fault ${JSON.stringify(answer)}`)
        return outcome
      }

      const faces: Record<'rest' | 'xmlrpc' | 'jsonrpc', Record<string, unknown>> = { rest: {}, xmlrpc: {}, jsonrpc: {} }
      for (const [i, id] of people.entries()) {
        faces.rest[`see user ${id}`] = (await rest('GET', `/users/${formatId(id)}`)).outcome
        faces.xmlrpc[`see user ${id}`] = xmlOutcome(xml[i])
        faces.jsonrpc[`see user ${id}`] = foundOrNot(await jsonrpc('get_user', { userid: id }))
      }
      for (const [i, id] of projects.entries()) {
        faces.rest[`see project ${id}`] = (await rest('GET', `/projects/${formatId(id)}`)).outcome
        faces.xmlrpc[`see project ${id}`] = xmlOutcome(xml[people.length + i])
        faces.jsonrpc[`see project ${id}`] = foundOrNot(await jsonrpc('get_repo', { repoid: id }))
      }
      const listed = await rest('GET', '/services/')
      faces.rest['services listed'] = listed.outcome === 'ok' ? Object.keys(listed.json as object).sort() : listed.outcome
      const xmlList = xml[people.length + projects.length]
      faces.xmlrpc['services listed'] = xmlList?.fault === undefined ? (xmlList?.ok as string[]).slice().sort() : xmlOutcome(xmlList)
      const rpcList = await jsonrpc('get_services', {})
      faces.jsonrpc['services listed'] = rpcList.outcome === 'ok'
        ? (rpcList.result as Array<{ name: string, project?: string, server: string }>)
            .map((svc) => [svc.name, svc.project, svc.server].filter((p) => p !== undefined).join('::')).sort()
        : rpcList.outcome
      for (const [i, [project, id]] of data.entries()) {
        const shown = await rest('GET', `/projects/${formatId(project)}/data/${formatId(id)}`)
        faces.rest[`see data ${id}`] = shown.outcome === 'ok' ? metadata(shown.json as Record<string, unknown>) : shown.outcome
        const answer = xml[people.length + projects.length + 3 + i]
        faces.xmlrpc[`see data ${id}`] = answer?.fault === undefined ? metadata(answer?.ok as Record<string, unknown>) : xmlOutcome(answer)
        const got = await jsonrpc('get_data', { repoid: project, dataid: id })
        faces.jsonrpc[`see data ${id}`] = foundOrNot(got) === 'ok' ? metadata(got.result as Record<string, unknown>) : foundOrNot(got)
      }
      const jobsAt = people.length + projects.length + 3 + data.length
      for (const [i, [project, id]] of jobs.entries()) {
        const shown = await rest('GET', `/projects/${formatId(project)}/jobs/${formatId(id)}`)
        faces.rest[`see job ${id}`] = shown.outcome === 'ok' ? jobShown(shown.json as Record<string, unknown>) : shown.outcome
        const answer = xml[jobsAt + i]
        faces.xmlrpc[`see job ${id}`] = answer?.fault === undefined ? jobShown(answer?.ok as Record<string, unknown>) : xmlOutcome(answer)
        const got = await jsonrpc('get_job', { repoid: project, jobid: id })
        faces.jsonrpc[`see job ${id}`] = foundOrNot(got) === 'ok' ? jobShown(got.result as Record<string, unknown>) : foundOrNot(got)
      }
      faces.rest['cancel job'] = (await rest('POST', `/projects/${formatId(s.projectId)}/jobs/${formatId(toCancel.rest)}/cancel`)).outcome
      faces.xmlrpc['cancel job'] = xmlOutcome(xml[jobsAt + jobs.length])
      faces.jsonrpc['cancel job'] = (await jsonrpc('cancel_job', { repoid: s.projectId, jobid: toCancel.jsonrpc })).outcome
      faces.rest['create server'] = (await rest('POST', '/servers', { name: `rest-${who}`, url: 'http://x.example.org' })).outcome
      faces.xmlrpc['create server'] = xmlOutcome(xml[people.length + projects.length + 1])
      faces.jsonrpc['create server'] = (await jsonrpc('create_server', { name: `jsonrpc-${who}`, url: 'http://x.example.org' })).outcome
      faces.rest['change project service'] = (await rest('PATCH', `/services/${encodeURIComponent(editable.fullName)}`, { description: `rest ${who}` })).outcome
      faces.xmlrpc['change project service'] = xmlOutcome(xml[people.length + projects.length + 2])
      faces.jsonrpc['change project service'] = (await jsonrpc('update_service', { serviceid: editable.fullName, description: `jsonrpc ${who}` })).outcome

      t.same(faces.xmlrpc, faces.rest, `${who}: XML-RPC answers as REST does`)
      t.same(faces.jsonrpc, faces.rest, `${who}: JSON-RPC answers as REST does`)
      if (who === 'owner') {
        t.match(faces.rest, {
          'change project service': 'ok',
          'create server': 'forbidden',
          [`see project ${s.otherProjectId}`]: 'not_found',
          [`see data ${data[0]![1]}`]: { name: 'contigs.fa', size: 9, media_type: 'text/x-fasta', format: 'http://edamontology.org/format_1929' },
          [`see data ${data[1]![1]}`]: 'not_found',
          [`see job ${s.jobId}`]: { name: 'run 1', state: 'queued' },
          [`see job ${jobs[1]![1]}`]: 'not_found',
          'cancel job': 'ok'
        }, 'the answers are the domain rules, not a blanket yes or no')
      }
      if (who === 'watcher') t.equal(faces.rest['cancel job'], 'forbidden', 'watchers read jobs, and cancel none')
      // The existence column: on every face, what the caller may not see answers as what does not exist.
      for (const [face, answers] of Object.entries(faces)) {
        for (const [kind, ids] of [['user', people], ['project', projects], ['data', data.map(([, id]) => id)], ['job', jobs.map(([, id]) => id)]] as const) {
          const absent = answers[`see ${kind} ${missing}`]
          for (const id of ids) {
            const answer = answers[`see ${kind} ${id}`]
            // Data and jobs seen show their fields rather than 'ok'.
            if (typeof answer === 'string' && answer !== 'ok') t.equal(answer, absent, `${who}, ${face}: ${kind} ${id} answers as a ${kind} that does not exist`)
          }
        }
      }
      if (who === 'suspended') t.equal(faces.rest[`see user ${s.users.admin.id}`], 'forbidden')
    }
  })
}
