"""Roundup's sample XML-RPC session (docs/xmlrpc.html), translated to this
domain, run by Python's own xmlrpc.client exactly as a Roundup script would.
Usage: session.py http://admin:secret@127.0.0.1:PORT/xmlrpc
Prints one JSON object: step name → {'result': …} or {'fault': [code, text]}."""
import sys
import xmlrpc.client

from xmlrpc_json import dump, outcome

server = xmlrpc.client.ServerProxy(sys.argv[1], allow_none=True)
steps = {}


def step(name, method, *args):
    steps[name] = outcome(getattr(server, method), *args)


step('schema', 'schema')
step('list_user', 'list', 'user')
step('list_user_id', 'list', 'user', 'id')
step('display_user1', 'display', 'user1')
step('display_user1_some', 'display', 'user1', 'username', 'is_admin')
step('set_user1', 'set', 'user1', 'firstname=Ada', 'lastname=Admin')
step('set_user1_again', 'set', 'user1', 'firstname=Ada')
step('set_user1_nothing', 'set', 'user1')
step('display_user1_after', 'display', 'user1', 'firstname', 'lastname')
step('create_server', 'create', 'server', 'name=bio', 'url=http://bio.example.org', 'active=yes')
step('create_user', 'create', 'user', 'username=bob', 'password=bobpass', 'email=bob@example.org')
step('create_project', 'create', 'project', 'name=phylo', 'description=trees', 'owner=bob')
step('create_service', 'create', 'service', 'name=blast', 'server=bio', 'project=phylo', 'type=program')
step('create_server_service', 'create', 'service', 'name=clustal', 'server=1', 'type=workflow', 'exported=1')
step('create_group', 'create', 'group', 'name=lab', 'members=admin,bob')
step('create_job', 'create', 'job', 'project=phylo', 'name=run1', 'service=blast::phylo::bio')
step('create_data', 'create', 'data', 'project=1', 'name=seqs.fasta', 'description=input')
step('create_apikey', 'create', 'apikey', 'label=script')
step('list_service', 'list', 'service')
step('list_service_server', 'list', 'service', 'server')
step('display_service1', 'display', 'service1')
step('display_project1', 'display', 'project1')
step('display_group1', 'display', 'group1')
step('display_job1', 'display', 'job1')
step('display_data1', 'display', 'data1')
step('display_apikey1', 'display', 'apikey1')
step('list_apikey', 'list', 'apikey')
step('filter_adm', 'filter', 'user', None, {'username': 'adm'})
step('filter_ids', 'filter', 'user', ['1', '2'], {'username': 'adm'})
step('filter_ids_other', 'filter', 'user', ['2'], {'username': 'adm'})
step('filter_ids_empty', 'filter', 'user', [], {'username': 'adm'})
step('filter_any', 'filter', 'user', None, {'username': ['adm', 'bo']})
step('filter_sort_desc', 'filter', 'user', None, {}, [('-', 'username')])
step('filter_link_key', 'filter', 'service', None, {'server': 'bio'})
step('filter_link_id', 'filter', 'service', None, {'project': '1'})
step('filter_multilink', 'filter', 'group', None, {'members': 'bob'})
step('filter_bool', 'filter', 'service', None, {'exported': True})
step('lookup_admin', 'lookup', 'user', 'admin')
step('lookup_service', 'lookup', 'service', 'clustal::bio')
step('set_service', 'set', 'service2', 'description=aligner', 'disabled=true')
step('set_group_members', 'set', 'group1', 'members=1')
step('set_password', 'set', 'user2', 'password=newpass')
step('retire_server_service', 'action', 'retire', 'service2')
step('list_after_retire', 'list', 'service')
step('filter_after_retire', 'filter', 'service', None, {})
step('display_retired', 'display', 'service2', 'name')
step('restore_server_service', 'action', 'restore', 'service2')
step('list_after_restore', 'list', 'service')
step('multicall', 'system.multicall', [
    {'methodName': 'lookup', 'params': ['user', 'admin']},
    {'methodName': 'display', 'params': ['user999']},
    {'methodName': 'list', 'params': ['server']},
])
step('list_methods', 'system.listMethods')
step('method_help', 'system.methodHelp', 'filter')
step('method_signature', 'system.methodSignature', 'lookup')

# The new user's key works as a Basic password and as X-API-Key.
key = steps['create_apikey']['result']['secret']
base = sys.argv[1].split('@', 1)[1]
steps['apikey_header'] = outcome(xmlrpc.client.ServerProxy('http://' + base, allow_none=True, headers=[('X-API-Key', key)]).lookup, 'user', 'admin')
steps['apikey_basic'] = outcome(xmlrpc.client.ServerProxy('http://admin:' + key + '@' + base, allow_none=True).lookup, 'user', 'admin')
steps['apikey_revoke'] = outcome(server.action, 'retire', 'apikey1')
steps['apikey_revoked_header'] = outcome(xmlrpc.client.ServerProxy('http://' + base, allow_none=True, headers=[('X-API-Key', key)]).lookup, 'user', 'admin')
dump(steps)
