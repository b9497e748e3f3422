"""Helpers shared by the test scripts: turn xmlrpc.client results into JSON."""
import base64
import json
import xmlrpc.client


def plain(value):
    """A JSON-friendly copy of what xmlrpc.client returned."""
    if isinstance(value, xmlrpc.client.DateTime):
        return {'dateTime': value.value}
    if isinstance(value, xmlrpc.client.Binary):
        return {'base64': base64.b64encode(value.data).decode('ascii')}
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def outcome(call, *args):
    """{'result': …} or {'fault': [code, string]}, for one call."""
    try:
        return {'result': plain(call(*args))}
    except xmlrpc.client.Fault as fault:
        return {'fault': [fault.faultCode, fault.faultString]}
    except xmlrpc.client.ProtocolError as error:
        return {'http': [error.errcode, error.errmsg]}


def dump(results):
    print(json.dumps(results, indent=1, sort_keys=True))
