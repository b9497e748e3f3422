#!/usr/bin/env python3
"""A RhodeCode API script as users write them: Python's standard library only.

Usage: rhodecode_client.py <api url> <api key>
Creates a repository, grants a user read access, reads it back, and makes one
call with a missing argument; prints every response as a JSON list.
"""
import json
import sys
import urllib.request


def call(url, api_key, request_id, method, **args):
    payload = json.dumps({"id": request_id, "api_key": api_key, "method": method, "args": args})
    request = urllib.request.Request(url, data=payload.encode("utf-8"), headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(request) as response:
        body = json.loads(response.read().decode("utf-8"))
        return {"status": response.status, "content_type": response.headers.get("Content-Type"), "response": body}


def main():
    url, api_key = sys.argv[1], sys.argv[2]
    responses = [
        call(url, api_key, 1, "create_repo", repo_name="from-python", description="made by urllib", repo_type="hg"),
        call(url, api_key, 2, "grant_user_permission", repoid="from-python", userid="watcher", perm="repository.read"),
        call(url, api_key, 3, "get_repo", repoid="from-python"),
        call(url, api_key, 4, "get_repo_nodes", repoid="from-python", revision="tip", root_path="/"),
        call(url, api_key, 5, "get_user"),
    ]
    print(json.dumps(responses))


if __name__ == "__main__":
    main()
