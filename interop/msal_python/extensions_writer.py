#!/usr/bin/env python3
"""MSAL for Python + msal-extensions side of the shared-cache interop test.

Acquires app-only tokens for each --scope through MSAL Python whose token cache
is msal-extensions' PersistedTokenCache over a FilePersistence: the same file
oxmsal writes, under the same lock file (`<cache>.lockfile`). Prints one JSON
object per line: `{"ready": true}` once the app is built, then per scope
MSAL's token_source or error (never the token).

Usage: extensions_writer.py --authority URL --client-id ID --secret-env VAR
                            --cache FILE --ca CA.pem --scope S [--scope S ...]
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
    p.add_argument("--scope", action="append", required=True)
    p.add_argument("--cache", required=True)
    p.add_argument("--ca", required=True)
    args = p.parse_args()

    persistence = msal_extensions.FilePersistence(args.cache)
    cache = msal_extensions.PersistedTokenCache(persistence)

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
    # Built (OIDC discovery done): the other side can start now.
    print(json.dumps({"ready": True}), flush=True)
    failures = 0
    for scope in args.scope:
        try:
            result = app.acquire_token_for_client(scopes=[scope])
        except Exception as e:  # a LockError, a torn read: report, keep going
            result = {"error": type(e).__name__, "error_description": str(e)}
        line = {"scope": scope, "token_source": result.get("token_source")}
        if "access_token" not in result:
            failures += 1
            line["error"] = result.get("error")
            line["error_description"] = result.get("error_description")
        print(json.dumps(line), flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
