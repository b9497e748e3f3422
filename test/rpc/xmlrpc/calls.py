"""Runs XML-RPC calls read as JSON from stdin with Python's xmlrpc.client.
Input: {"url": "http://127.0.0.1:PORT/xmlrpc", "calls": [{"name": …, "user": …,
"password": …, "apiKey": …, "method": …, "params": […]}]} (user/password or
apiKey optional: none means anonymous).
Prints {name: {'result': …} | {'fault': [code, text]} | {'http': [status, reason]}}."""
import json
import sys
import urllib.parse
import xmlrpc.client

from xmlrpc_json import dump, outcome

request = json.load(sys.stdin)
scheme, rest = request['url'].split('://', 1)
results = {}
for call in request['calls']:
    url = request['url']
    if call.get('user') is not None:
        credentials = urllib.parse.quote(call['user'], safe='') + ':' + urllib.parse.quote(call['password'], safe='')
        url = scheme + '://' + credentials + '@' + rest
    headers = [('X-API-Key', call['apiKey'])] if call.get('apiKey') else []
    proxy = xmlrpc.client.ServerProxy(url, allow_none=True, headers=headers)
    results[call['name']] = outcome(getattr(proxy, call['method']), *call.get('params', []))
dump(results)
