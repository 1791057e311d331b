#!/usr/bin/env python3
"""MSAL for Python side of the oxmsal interop suite: managed identity.

Acquires a managed-identity token through MSAL Python's ManagedIdentityClient —
the source detected from the environment, e.g. App Service's IDENTITY_ENDPOINT
and IDENTITY_HEADER pointing at the oxmsal managed-identity emulator — reading
and writing a token cache file in MSAL's unified format, and prints one JSON
object: MSAL's result with the access token replaced by its length.

Usage: managed_identity.py --resource R --cache FILE [--client-id ID]
"""
import argparse
import json
import os
import sys

import msal
import requests


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--resource", required=True)
    p.add_argument("--cache", required=True)
    p.add_argument("--client-id")
    args = p.parse_args()

    cache = msal.SerializableTokenCache()
    if os.path.exists(args.cache):
        with open(args.cache, encoding="utf-8") as f:
            cache.deserialize(f.read())

    # No proxies or CA bundles from the environment: the endpoint is local.
    session = requests.Session()
    session.trust_env = False

    identity = (
        msal.UserAssignedManagedIdentity(client_id=args.client_id)
        if args.client_id
        else msal.SystemAssignedManagedIdentity()
    )
    client = msal.ManagedIdentityClient(identity, http_client=session, token_cache=cache)
    result = client.acquire_token_for_client(resource=args.resource)

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
