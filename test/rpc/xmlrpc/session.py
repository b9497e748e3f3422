"""Roundup's sample XML-RPC session (docs/xmlrpc.html), translated to this
domain, run by Python's own xmlrpc.client exactly as a Roundup script would.
Usage: session.py http://admin:secret@127.0.0.1:PORT/xmlrpc ADMIN_ID
(ADMIN_ID: the administrator's user id; every other id is the one its create
returned, never one assumed from the order of insertion.)
Prints one JSON object: step name → {'result': …} or {'fault': [code, text]}."""
import base64
import json
import sys
import urllib.request
import xmlrpc.client

from xmlrpc_json import dump, outcome

server = xmlrpc.client.ServerProxy(sys.argv[1], allow_none=True)
admin = sys.argv[2]
steps = {}


def step(name, method, *args):
    steps[name] = outcome(getattr(server, method), *args)


def rest_put(path, document):
    """An administrator's REST call: what runs a program (its interface) is set over REST only."""
    credentials, rest = sys.argv[1].split('://', 1)[1].split('@', 1)
    request = urllib.request.Request('http://' + rest.split('/', 1)[0] + path, data=json.dumps(document).encode(), method='PUT', headers={
        'Authorization': 'Basic ' + base64.b64encode(credentials.encode()).decode(), 'Content-Type': 'application/json'})
    with urllib.request.urlopen(request) as response:
        return response.status


def created(name):
    """The id a create step returned ('0', naming nothing, if it failed)."""
    result = steps[name].get('result')
    if isinstance(result, dict):
        result = result.get('id')
    return result if isinstance(result, str) else '0'


step('schema', 'schema')
step('list_user', 'list', 'user')
step('list_user_id', 'list', 'user', 'id')
step('display_user1', 'display', 'user' + admin)
step('display_user1_some', 'display', 'user' + admin, 'username', 'is_admin')
step('set_user1', 'set', 'user' + admin, 'firstname=Ada', 'lastname=Admin')
step('set_user1_again', 'set', 'user' + admin, 'firstname=Ada')
step('set_user1_nothing', 'set', 'user' + admin)
step('display_user1_after', 'display', 'user' + admin, 'firstname', 'lastname')
step('create_server', 'create', 'server', 'name=bio', 'url=http://bio.example.org', 'active=yes')
step('create_user', 'create', 'user', 'username=bob', 'password=bobpass', 'email=bob@example.org')
step('create_project', 'create', 'project', 'name=phylo', 'description=trees', 'owner=bob')
step('create_service', 'create', 'service', 'name=blast', 'server=bio', 'project=phylo', 'type=program')
step('create_server_service', 'create', 'service', 'name=clustal', 'server=' + created('create_server'), 'type=workflow', 'exported=1')
step('create_group', 'create', 'group', 'name=lab', 'members=admin,bob')
steps['interface'] = {'result': rest_put('/services/blast::phylo::bio/interface', {
    'cwlVersion': 'v1.2', 'class': 'CommandLineTool', 'baseCommand': 'echo',
    'inputs': {'message': {'type': 'string?', 'inputBinding': {'position': 1}}}, 'outputs': {'said': 'stdout'}})}
step('create_job', 'create', 'job', 'project=phylo', 'name=run1', 'service=blast::phylo::bio', 'inputs={"message": "hello"}')
step('create_job_status', 'create', 'job', 'project=phylo', 'name=old', 'service=blast::phylo::bio', 'status=submitted')
step('create_job_bad_inputs', 'create', 'job', 'project=phylo', 'service=blast::phylo::bio', 'inputs={"message": 42, "colour": "red"}')
step('create_job_not_json', 'create', 'job', 'project=phylo', 'service=blast::phylo::bio', 'inputs={message: hello}')
step('create_data', 'create', 'data', 'project=' + created('create_project'), 'name=seqs.fasta', 'description=input')
step('create_apikey', 'create', 'apikey', 'label=script')
# The first item of each class, by the id its create returned.
first = {
    'server': created('create_server'), 'service': created('create_service'), 'user': admin, 'group': created('create_group'),
    'project': created('create_project'), 'job': created('create_job'), 'data': created('create_data'), 'apikey': created('create_apikey'),
}
bob = created('create_user')
server_service = created('create_server_service')
step('list_service', 'list', 'service')
step('list_service_server', 'list', 'service', 'server')
step('display_service1', 'display', 'service' + first['service'])
step('display_project1', 'display', 'project' + first['project'])
step('display_group1', 'display', 'group' + first['group'])
step('display_job1', 'display', 'job' + first['job'])
step('display_data1', 'display', 'data' + first['data'])
step('display_apikey1', 'display', 'apikey' + first['apikey'])
step('list_apikey', 'list', 'apikey')
step('filter_adm', 'filter', 'user', None, {'username': 'adm'})
step('filter_ids', 'filter', 'user', [admin, bob], {'username': 'adm'})
step('filter_ids_other', 'filter', 'user', [bob], {'username': 'adm'})
step('filter_ids_empty', 'filter', 'user', [], {'username': 'adm'})
step('filter_any', 'filter', 'user', None, {'username': ['adm', 'bo']})
step('filter_sort_desc', 'filter', 'user', None, {}, [('-', 'username')])
step('filter_link_key', 'filter', 'service', None, {'server': 'bio'})
step('filter_link_id', 'filter', 'service', None, {'project': first['project']})
step('filter_multilink', 'filter', 'group', None, {'members': 'bob'})
step('filter_bool', 'filter', 'service', None, {'exported': True})
step('lookup_admin', 'lookup', 'user', 'admin')
step('lookup_service', 'lookup', 'service', 'clustal::bio')
step('set_service', 'set', 'service' + server_service, 'description=aligner', 'disabled=true')
step('set_group_members', 'set', 'group' + first['group'], 'members=' + admin)
step('set_password', 'set', 'user' + bob, 'password=newpass')
step('retire_server_service', 'action', 'retire', 'service' + server_service)
step('list_after_retire', 'list', 'service')
step('filter_after_retire', 'filter', 'service', None, {})
step('display_retired', 'display', 'service' + server_service, 'name')
step('restore_server_service', 'action', 'restore', 'service' + server_service)
step('list_after_restore', 'list', 'service')
step('multicall', 'system.multicall', [
    {'methodName': 'lookup', 'params': ['user', 'admin']},
    {'methodName': 'display', 'params': ['user999']},
    {'methodName': 'list', 'params': ['server']},
])
step('list_methods', 'system.listMethods')
step('method_help', 'system.methodHelp', 'filter')
step('method_signature', 'system.methodSignature', 'lookup')

# Every verb on every class.
classes = ['server', 'service', 'user', 'group', 'project', 'job', 'data', 'apikey']
for name in classes:
    step('every_list_' + name, 'list', name)
    step('every_list_id_' + name, 'list', name, 'id')
    step('every_filter_' + name, 'filter', name, None, {})
    step('every_display_' + name, 'display', name + first[name])
for name, key in [('server', 'bio'), ('group', 'lab'), ('project', 'phylo'), ('user', 'bob')]:
    step('every_lookup_' + name, 'lookup', name, key)
step('every_set_server', 'set', 'server' + first['server'], 'description=BLAST host')
step('every_set_project', 'set', 'project' + first['project'], 'description=phylogenies', 'owner=' + admin)
step('every_set_group', 'set', 'group' + first['group'], 'active=no')
step('every_set_apikey', 'set', 'apikey' + first['apikey'], 'label=renamed')
step('every_filter_server_url', 'filter', 'server', None, {'url': 'BIO.example'})
step('every_filter_project_owner', 'filter', 'project', None, {'owner': 'admin'})
step('every_filter_job_service', 'filter', 'job', None, {'service': 'blast::phylo::bio'})
step('every_filter_job_state', 'filter', 'job', None, {'state': 'queued'})
step('every_filter_job_state_none', 'filter', 'job', None, {'state': ['ok', 'error']})
step('every_filter_data_name', 'filter', 'data', None, {'name': 'FASTA'})
step('every_filter_apikey_label', 'filter', 'apikey', None, {'label': 'scr'})
for name, designator in [('server', 'server' + first['server']), ('group', 'group' + first['group']), ('project', 'project' + first['project']), ('user', 'user' + bob)]:
    step('every_retire_' + name, 'action', 'retire', designator)
    step('every_list_retired_' + name, 'list', name)
    step('every_restore_' + name, 'action', 'restore', designator)
    step('every_list_restored_' + name, 'list', name)

step('retire_job_service', 'action', 'retire', 'service' + first['service'])
step('job_with_retired_service', 'display', 'job' + first['job'], 'service')
step('restore_job_service', 'action', 'restore', 'service' + first['service'])
step('cancel_job', 'action', 'cancel', 'job' + first['job'])
step('cancel_job_again', 'action', 'cancel', 'job' + first['job'])
step('cancelled_job', 'display', 'job' + first['job'], 'state', 'finished', 'history')
step('cancel_project', 'action', 'cancel', 'project' + first['project'])

# The new user's key works as a Basic password and as X-API-Key.
key = steps['create_apikey']['result']['secret']
base = sys.argv[1].split('@', 1)[1]
steps['apikey_header'] = outcome(xmlrpc.client.ServerProxy('http://' + base, allow_none=True, headers=[('X-API-Key', key)]).lookup, 'user', 'admin')
steps['apikey_basic'] = outcome(xmlrpc.client.ServerProxy('http://admin:' + key + '@' + base, allow_none=True).lookup, 'user', 'admin')
steps['apikey_revoke'] = outcome(server.action, 'retire', 'apikey' + first['apikey'])
steps['apikey_revoked_header'] = outcome(xmlrpc.client.ServerProxy('http://' + base, allow_none=True, headers=[('X-API-Key', key)]).lookup, 'user', 'admin')
dump(steps)
