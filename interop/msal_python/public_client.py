#!/usr/bin/env python3
"""MSAL for Python side of the oxmsal interop suite: public client flows.

Modes:
  silent        load the cache, list accounts, acquire_token_silent for the first
                account; print {"accounts": [...], "result": {...}}.
  device-login  start a device flow, print {"user_code": ...} on its own line
                (the Rust test approves it on the emulator), poll, save the cache,
                print the result.
Access tokens are replaced by their length; refresh/id tokens are dropped.
"""
import argparse
import json
import os
import sys

import msal
import requests


def redact(result):
    out = dict(result or {})
    for key in ("access_token", "refresh_token", "id_token"):
        if key in out:
            out[key + "_len"] = len(out.pop(key))
    out.pop("id_token_claims", None)
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["silent", "device-login"])
    p.add_argument("--authority", required=True)
    p.add_argument("--client-id", required=True)
    p.add_argument("--scope", action="append", required=True)
    p.add_argument("--cache", required=True)
    p.add_argument("--ca", required=True)
    args = p.parse_args()

    cache = msal.SerializableTokenCache()
    if os.path.exists(args.cache):
        with open(args.cache, encoding="utf-8") as f:
            cache.deserialize(f.read())
    session = requests.Session()
    session.verify = args.ca
    session.trust_env = False
    app = msal.PublicClientApplication(
        args.client_id,
        authority=args.authority,
        token_cache=cache,
        http_client=session,
        instance_discovery=False,
    )

    if args.mode == "silent":
        accounts = app.get_accounts()
        result = app.acquire_token_silent(args.scope, account=accounts[0]) if accounts else None
        out = {"accounts": [a.get("username") for a in accounts], "result": redact(result)}
    else:
        flow = app.initiate_device_flow(scopes=args.scope)
        if "user_code" not in flow:
            print(json.dumps({"error": "no user code", "flow": flow}), flush=True)
            return 1
        print(json.dumps({"user_code": flow["user_code"]}), flush=True)
        result = app.acquire_token_by_device_flow(flow)
        out = {"result": redact(result)}

    if cache.has_state_changed:
        tmp = args.cache + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(cache.serialize())
        os.replace(tmp, args.cache)
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
