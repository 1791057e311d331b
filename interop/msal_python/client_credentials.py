#!/usr/bin/env python3
"""MSAL for Python side of the oxmsal interop suite: client credentials.

Acquires an app-only token through MSAL Python against a local authority (the
oxmsal emulator), reading and writing a token cache file in MSAL's unified format,
and prints one JSON object: MSAL's result plus the cache counts, with the access
token replaced by its length (the Rust side compares sources, not secrets).

Usage: client_credentials.py --authority URL --client-id ID --secret-env VAR
                             --scope S --cache FILE --ca CA.pem [--mode acquire|silent]
"""
import argparse
import json
import os
import sys

import msal
import requests


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--authority", required=True)
    p.add_argument("--client-id", required=True)
    p.add_argument("--secret-env", required=True)
    p.add_argument("--scope", action="append", required=True)
    p.add_argument("--cache", required=True)
    p.add_argument("--ca", required=True)
    args = p.parse_args()

    cache = msal.SerializableTokenCache()
    if os.path.exists(args.cache):
        with open(args.cache, encoding="utf-8") as f:
            cache.deserialize(f.read())

    # Trust the emulator's CA through a session that ignores the environment's
    # CA bundle variables (REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE would override verify=).
    session = requests.Session()
    session.verify = args.ca
    session.trust_env = False

    app = msal.ConfidentialClientApplication(
        args.client_id,
        client_credential=os.environ[args.secret_env],
        authority=args.authority,
        token_cache=cache,
        http_client=session,
        instance_discovery=False,
        azure_region=False,
    )
    result = app.acquire_token_for_client(scopes=args.scope)

    if cache.has_state_changed:
        tmp = args.cache + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(cache.serialize())
        os.replace(tmp, args.cache)

    out = dict(result)
    if "access_token" in out:
        out["access_token_len"] = len(out.pop("access_token"))
    print(json.dumps(out))
    return 0 if "access_token_len" in out else 1


if __name__ == "__main__":
    sys.exit(main())
