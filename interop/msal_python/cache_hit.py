#!/usr/bin/env python3
"""One whole-process client-credentials cache hit with MSAL for Python and
msal-extensions: the MSAL Python side of bench-compare's "CLI whole-process
cache hit" row (the oxmsal side is one `oxmsal token` run on the same file).

Opens the cache file through msal-extensions' PersistedTokenCache
(FilePersistence), builds a ConfidentialClientApplication against the
emulator (instance discovery off, as `oxmsal token --no-instance-discovery`)
and calls acquire_token_for_client, which looks in the cache first in MSAL
for Python 1.39. Prints one JSON object: the token source and the access
token's length (never the token).

Usage: cache_hit.py --authority URL --client-id ID --secret-env VAR
                    --scope S --cache FILE --ca CA.pem
"""
import argparse
import json
import os
import sys

import msal
import msal_extensions
import requests


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--authority", required=True)
    p.add_argument("--client-id", required=True)
    p.add_argument("--secret-env", required=True)
    p.add_argument("--scope", required=True)
    p.add_argument("--cache", required=True)
    p.add_argument("--ca", required=True)
    args = p.parse_args()

    # Trust the emulator's CA through a session that ignores the environment's
    # CA bundle variables.
    session = requests.Session()
    session.verify = args.ca
    session.trust_env = False
    cache = msal_extensions.PersistedTokenCache(msal_extensions.FilePersistence(args.cache))
    app = msal.ConfidentialClientApplication(
        args.client_id,
        client_credential=os.environ[args.secret_env],
        authority=args.authority,
        token_cache=cache,
        http_client=session,
        instance_discovery=False,
        azure_region=False,
    )
    result = app.acquire_token_for_client(scopes=[args.scope])
    out = {"token_source": result.get("token_source"),
           "access_token_length": len(result.get("access_token", ""))}
    if "error" in result:
        out["error"] = result["error"]
    print(json.dumps(out))
    return 0 if "access_token" in result else 1


if __name__ == "__main__":
    sys.exit(main())
