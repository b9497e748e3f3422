"""Asks the XML-RPC face a list of calls with Python's own client, for the
three-face conformance test. Reads {"url", "calls": [[method, arg, ...], ...]}
as JSON on stdin; prints one {"ok": result} or {"fault": code} per call."""
import json
import sys
import xmlrpc.client

request = json.load(sys.stdin)
proxy = xmlrpc.client.ServerProxy(request["url"], allow_none=True)
answers = []
for method, *args in request["calls"]:
    try:
        answers.append({"ok": getattr(proxy, method)(*args)})
    except xmlrpc.client.Fault as fault:
        answers.append({"fault": fault.faultCode, "message": fault.faultString})
json.dump(answers, sys.stdout, default=str)
