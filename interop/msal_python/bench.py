#!/usr/bin/env python3
"""MSAL for Python side of `scripts/bench-compare`, and the shared cache-document
generator both sides load.

Subcommands (each prints one JSON object on stdout):

  gen   --out DIR --environment HOST --client-id ID --tenant T [--secret-bytes N]
        Writes the cache documents of the comparison, in MSAL's format exactly as
        MSAL Python's SerializableTokenCache.serialize() writes them
        (json.dumps(indent=4)); oxmsal loads the very same files:
          cc-1.json, cc-100000.json   app-only access tokens for 1 / 100,000
                                      tenants of one client; the entry for
                                      tenant T (the emulator's) sits in the middle
          silent-1000.json            1,000 accounts of tenant T, each with an
                                      Account, IdToken, RefreshToken and an
                                      AccessToken for 5 scopes
          at-10000.json               10,000 app-only access tokens (serialization)
          at-10000-small.json,        the same with --small-secret-bytes (64)
          at-100000-small.json        opaque secrets, and 100,000 of them (memory)
        Secrets are JWT-sized (--secret-bytes, 1500) unless said otherwise.
  time  --docs DIR --authority URL --client-id ID --secret-env VAR --scope S
        --ca CA.pem --token-endpoint URL [--quick]
        Times the workloads with MSAL Python's public APIs, timeit-style.
  rss   --doc FILE
        Loads FILE into a SerializableTokenCache and reports the peak RSS
        (VmHWM from /proc/self/status) of this process.
  processes --runs N [--block B] [--warmup W] -- COMMAND [ARG...] [-- COMMAND [ARG...]]...
        Times whole processes: the commands take turns in blocks of B runs
        (default 5), W runs of each untimed first, until each has N timed
        runs; each run to its exit (stdout captured; each must exit 0 and
        print a JSON object whose token_source is "cache"); reports, per
        command in order, the median and minimum wall time of one run. The
        CLI cache-hit row times both sides in one call.

Timing: for each workload, the number of calls per batch doubles until a batch
takes >= --min-batch seconds (0.2 s), then --repeat (7) batches are timed; the
report gives the per-call median and minimum over the batches. As in timeit,
the garbage collector is off while a batch runs.
"""
import argparse
import base64
import gc
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

# Fixed clock of the generated documents: tokens expire far in the future, so
# every cached access token is usable whenever the benchmark runs.
CACHED_AT = 1_700_000_000
EXPIRES_ON = 4_000_000_000
USER_TARGET = "Calendars.Read Mail.Read User.Read openid profile"  # sorted as MSAL sorts


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def fake_jwt(claims, secret_bytes, salt, jwt=False):
    """A JWT-shaped string: header.payload.signature, padded to about
    `secret_bytes` characters with a deterministic signature part. Below 200
    bytes (unless `jwt`), an opaque string of exactly `secret_bytes` characters."""
    if secret_bytes < 200 and not jwt:
        seed = b64url(salt.encode()) + "."
        return (seed * (secret_bytes // len(seed) + 1))[:secret_bytes]
    head = b64url(json.dumps({"typ": "JWT", "alg": "RS256", "kid": "bench"}).encode())
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    used = len(head) + len(body) + 2
    sig_len = max(16, secret_bytes - used)
    seed = b64url(salt.encode())
    sig = (seed * (sig_len // max(1, len(seed)) + 1))[:sig_len]
    return "{}.{}.{}".format(head, body, sig)


def tenant_id(i):
    return "{:08x}-0000-4000-8000-{:012x}".format(i, i)


def app_doc(count, env, client, hit_tenant, scope, secret_bytes):
    ats = {}
    for i in range(count):
        realm = hit_tenant if i == count // 2 else tenant_id(i)
        secret = fake_jwt(
            {"aud": scope, "tid": realm, "appid": client, "i": i}, secret_bytes, "app-%d" % i)
        entry = {
            "credential_type": "AccessToken",
            "secret": secret,
            "home_account_id": None,
            "environment": env,
            "client_id": client,
            "target": scope,
            "realm": realm,
            "token_type": "Bearer",
            "cached_at": str(CACHED_AT),
            "expires_on": str(EXPIRES_ON),
            "extended_expires_on": str(EXPIRES_ON),
        }
        key = "-".join(["", env, "accesstoken", client, realm, scope]).lower()
        ats[key] = entry
    return {
        "AccessToken": ats,
        "AppMetadata": {
            "appmetadata-{}-{}".format(env, client): {"client_id": client, "environment": env},
        },
    }


MI_RESOURCE = "https://management.azure.com"


def mi_doc(secret_bytes):
    """One system-assigned managed-identity token, as MSAL Python 1.39's
    ManagedIdentityClient caches it: environment localhost, realm
    managed_identity, client_id null (its system identity's "Id" is None)."""
    env, realm = "localhost", "managed_identity"
    entry = {
        "credential_type": "AccessToken",
        "secret": fake_jwt({"aud": MI_RESOURCE, "mi": True}, secret_bytes, "mi"),
        "home_account_id": None,
        "environment": env,
        "client_id": None,
        "target": MI_RESOURCE,
        "realm": realm,
        "token_type": "Bearer",
        "cached_at": str(CACHED_AT),
        "expires_on": str(EXPIRES_ON),
        "extended_expires_on": str(EXPIRES_ON),
    }
    key = "-".join(["", env, "accesstoken", "", realm, MI_RESOURCE]).lower()
    return {
        "AccessToken": {key: entry},
        "AppMetadata": {"appmetadata-{}-".format(env): {"client_id": None, "environment": env}},
    }


def user_doc(count, env, client, tenant, secret_bytes):
    doc = {"AccessToken": {}, "RefreshToken": {}, "IdToken": {}, "Account": {}}
    for i in range(count):
        uid = "{:08x}-1111-4000-8000-{:012x}".format(i, i)
        home = "{}.{}".format(uid, tenant)
        username = "user{:04d}@contoso.example".format(i)
        id_token = fake_jwt({
            "aud": client, "iss": "https://{}/{}/v2.0".format(env, tenant), "iat": CACHED_AT,
            "nbf": CACHED_AT, "exp": EXPIRES_ON, "name": "User %d" % i, "oid": uid,
            "preferred_username": username, "sub": "sub-%d" % i, "tid": tenant, "ver": "2.0",
        }, 0, "idt-%d" % i, jwt=True)
        doc["AccessToken"]["-".join([home, env, "accesstoken", client, tenant, USER_TARGET]).lower()] = {
            "credential_type": "AccessToken",
            "secret": fake_jwt({"oid": uid, "tid": tenant, "scp": USER_TARGET}, secret_bytes, "user-%d" % i),
            "home_account_id": home,
            "environment": env,
            "client_id": client,
            "target": USER_TARGET,
            "realm": tenant,
            "token_type": "Bearer",
            "cached_at": str(CACHED_AT),
            "expires_on": str(EXPIRES_ON),
            "extended_expires_on": str(EXPIRES_ON),
        }
        doc["Account"]["-".join([home, env, tenant]).lower()] = {
            "home_account_id": home,
            "environment": env,
            "realm": tenant,
            "local_account_id": uid,
            "username": username,
            "authority_type": "MSSTS",
            "account_source": "authorization_code",
        }
        doc["IdToken"]["-".join([home, env, "idtoken", client, tenant, ""]).lower()] = {
            "credential_type": "IdToken",
            "secret": id_token,
            "home_account_id": home,
            "environment": env,
            "realm": tenant,
            "client_id": client,
        }
        doc["RefreshToken"]["-".join([home, env, "refreshtoken", client, "", USER_TARGET]).lower()] = {
            "credential_type": "RefreshToken",
            "secret": "1.rt-{}-".format(i) + "r" * 40,
            "home_account_id": home,
            "environment": env,
            "client_id": client,
            "target": USER_TARGET,
            "last_modification_time": str(CACHED_AT),
        }
    doc["AppMetadata"] = {
        "appmetadata-{}-{}".format(env, client): {"client_id": client, "environment": env},
    }
    return doc


def cmd_gen(args):
    os.makedirs(args.out, exist_ok=True)
    docs = {
        "cc-1.json": app_doc(1, args.environment, args.client_id, args.tenant, args.scope, args.secret_bytes),
        "cc-100000.json": app_doc(100_000, args.environment, args.client_id, args.tenant, args.scope, args.secret_bytes),
        "silent-1000.json": user_doc(1_000, args.environment, args.client_id, args.tenant, args.secret_bytes),
        "at-10000.json": app_doc(10_000, args.environment, args.client_id, args.tenant, args.scope, args.secret_bytes),
        "at-10000-small.json": app_doc(10_000, args.environment, args.client_id, args.tenant, args.scope, args.small_secret_bytes),
        "at-100000-small.json": app_doc(100_000, args.environment, args.client_id, args.tenant, args.scope, args.small_secret_bytes),
        "mi-1.json": mi_doc(args.secret_bytes),
    }
    sizes = {}
    for name, doc in docs.items():
        text = json.dumps(doc, indent=4)  # what SerializableTokenCache.serialize() writes
        with open(os.path.join(args.out, name), "w", encoding="utf-8") as f:
            f.write(text)
        sizes[name] = len(text.encode("utf-8"))
    print(json.dumps({"documents": sizes, "secret_bytes": args.secret_bytes,
                      "small_secret_bytes": args.small_secret_bytes}))


# ---------------------------------------------------------------- timing


def measure(fn, min_batch, repeat, setup=None):
    """Per-call seconds: (median, min, calls per batch). `setup` runs before
    each batch, untimed."""
    number = 1
    while True:
        if setup:
            setup()
        start = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_batch or number >= 1 << 24:
            break
        number *= 2
    samples = []
    for _ in range(repeat):
        if setup:
            setup()
        gc.collect()
        gc.disable()  # as timeit does
        try:
            start = time.perf_counter()
            for _ in range(number):
                fn()
            samples.append((time.perf_counter() - start) / number)
        finally:
            gc.enable()
    return {"median_s": statistics.median(samples), "min_s": min(samples),
            "calls_per_batch": number, "batches": repeat}


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def cmd_time(args):
    import msal
    import requests

    secret = os.environ[args.secret_env]
    min_batch, repeat = (0.02, 3) if args.quick else (args.min_batch, args.repeat)
    session = requests.Session()  # verify= alone loses to REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE; trust_env=False keeps our CA
    session.verify = args.ca
    session.trust_env = False

    def app_with(cache):
        return msal.ConfidentialClientApplication(
            args.client_id,
            client_credential=secret,
            authority=args.authority,
            token_cache=cache,
            http_client=session,
            instance_discovery=False,
            azure_region=False,
        )

    def loaded(name):
        cache = msal.SerializableTokenCache()
        cache.deserialize(read(os.path.join(args.docs, name)))
        return cache

    results = {"msal_version": msal.__version__, "python": sys.version.split()[0]}
    scopes = [args.scope]

    # Client credentials cache hit, 1 and 100,000 tenants.
    for tenants in (1, 100_000):
        app = app_with(loaded("cc-%d.json" % tenants))
        first = app.acquire_token_for_client(scopes)
        assert first.get("token_source") == "cache", first
        results["cc_hit_%d" % tenants] = measure(
            lambda: app.acquire_token_for_client(scopes), min_batch, repeat)
        del app

    # Managed identity cache hit: a system-assigned token for one resource.
    mi = msal.ManagedIdentityClient(
        msal.SystemAssignedManagedIdentity(), http_client=session, token_cache=loaded("mi-1.json"))
    first = mi.acquire_token_for_client(resource=MI_RESOURCE)
    assert first.get("token_source") == "cache", first
    results["mi_hit_1"] = measure(
        lambda: mi.acquire_token_for_client(resource=MI_RESOURCE), min_batch, repeat)
    del mi

    # Client credentials cache hit through a shared cache file of 10,000 tokens:
    # msal-extensions' PersistedTokenCache, which reloads the file when its
    # modification time moves.
    import msal_extensions
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "cache.json")
        shutil.copyfile(os.path.join(args.docs, "at-10000.json"), path)
        app = app_with(msal_extensions.PersistedTokenCache(msal_extensions.FilePersistence(path)))
        first = app.acquire_token_for_client(scopes)
        assert first.get("token_source") == "cache", first
        results["cc_hit_file_10000"] = measure(
            lambda: app.acquire_token_for_client(scopes), min_batch, repeat)
        del app

    # Silent hit for one of 1,000 accounts, a subset of the cached scopes.
    app = app_with(loaded("silent-1000.json"))
    account = next(a for a in app.get_accounts()
                   if a["home_account_id"].startswith("{:08x}-".format(500)))
    wanted = ["User.Read", "Mail.Read"]  # MSAL Python matches scopes case-sensitively
    first = app.acquire_token_silent(wanted, account=account)
    assert first and first.get("token_source") == "cache", first
    results["silent_hit_1000"] = measure(
        lambda: app.acquire_token_silent(wanted, account=account), min_batch, repeat)
    del app

    # (De)serialization of 10,000 access tokens, JWT-sized and small secrets.
    for suffix in ("", "_small"):
        text = read(os.path.join(args.docs, "at-10000%s.json" % suffix.replace("_", "-")))
        cache = msal.SerializableTokenCache()
        results["deserialize_10000" + suffix] = measure(
            lambda: cache.deserialize(text), min_batch, repeat)
        cache.deserialize(text)
        assert cache.serialize() == text  # the generator wrote what MSAL writes
        results["serialize_10000" + suffix] = measure(cache.serialize, min_batch, repeat)
        del cache, text

    # Cache miss: an empty cache before every call, so each one goes to the token
    # endpoint (MSAL Python refuses force_refresh for client credentials).
    cache = msal.SerializableTokenCache()
    app = app_with(cache)

    def miss():
        cache.deserialize("")
        result = app.acquire_token_for_client(scopes)
        if result.get("token_source") != "identity_provider":
            raise RuntimeError("not a round trip: %r" % {k: result.get(k) for k in (
                "token_source", "error", "error_description")})
    miss()
    results["cc_miss_round_trip"] = measure(miss, min_batch, repeat)

    # The floor: the same form POSTed with the same requests.Session.
    form = {"client_id": args.client_id, "grant_type": "client_credentials",
            "client_info": "1", "scope": args.scope, "client_secret": secret}

    def floor():
        r = session.post(args.token_endpoint, data=form, headers={"Accept": "application/json"})
        if r.status_code != 200 or "access_token" not in r.json():
            raise RuntimeError("floor POST failed: HTTP %d" % r.status_code)
    floor()
    results["http_floor"] = measure(floor, min_batch, repeat)
    print(json.dumps(results))


# ---------------------------------------------------------------- memory


def proc_status_kb(field):
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def cmd_rss(args):
    import msal
    before_kb = proc_status_kb("VmRSS")
    cache = msal.SerializableTokenCache()
    cache.deserialize(read(args.doc))  # the document is freed once loaded, as in an app
    count = len(cache._cache.get("AccessToken", {}))  # only to check the load
    print(json.dumps({
        "access_tokens": count,
        "rss_before_load_kb": before_kb,
        "rss_after_load_kb": proc_status_kb("VmRSS"),
        "peak_rss_kb": proc_status_kb("VmHWM"),
    }))


# ---------------------------------------------------------------- processes


def cmd_processes(args):
    """Times whole processes. Several commands (separated by `--`) run in
    turns, one run of each per round, so that a change in the machine's load
    weighs on every side alike."""
    import subprocess
    commands, current = [], []
    for word in args.command:
        if word == "--":
            if current:
                commands.append(current)
            current = []
        else:
            current.append(word)
    if current:
        commands.append(current)

    def once(command):
        start = time.perf_counter()
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        elapsed = time.perf_counter() - start
        out = json.loads(done.stdout or b"null")
        if done.returncode != 0 or not isinstance(out, dict) or out.get("token_source") != "cache":
            sys.exit("not a cache hit (exit %d): %s %s" % (
                done.returncode, done.stdout.decode(errors="replace")[:300],
                done.stderr.decode(errors="replace")[:300]))
        return elapsed

    # Blocks, as hyperfine times each command's runs together: a run right
    # after another command's (a 100 ms Python start that leaves the CPU
    # caches cold and its memory being freed) would measure that command's
    # aftermath too. Blocks still take turns, so a change of load weighs on
    # every side alike.
    for command in commands:
        for _ in range(args.warmup):
            once(command)
    samples = [[] for _ in commands]
    while any(len(s) < args.runs for s in samples):
        for i, command in enumerate(commands):
            for _ in range(min(args.block, args.runs - len(samples[i]))):
                samples[i].append(once(command))
    print(json.dumps([{"median_s": statistics.median(s), "min_s": min(s), "runs": args.runs}
                      for s in samples]))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("--out", required=True)
    g.add_argument("--environment", required=True)
    g.add_argument("--client-id", required=True)
    g.add_argument("--tenant", required=True)
    g.add_argument("--scope", default="api://demo/.default")
    g.add_argument("--secret-bytes", type=int, default=1500)
    g.add_argument("--small-secret-bytes", type=int, default=64)
    t = sub.add_parser("time")
    t.add_argument("--docs", required=True)
    t.add_argument("--authority", required=True)
    t.add_argument("--client-id", required=True)
    t.add_argument("--secret-env", required=True)
    t.add_argument("--scope", required=True)
    t.add_argument("--ca", required=True)
    t.add_argument("--token-endpoint", required=True)
    t.add_argument("--min-batch", type=float, default=0.2)
    t.add_argument("--repeat", type=int, default=7)
    t.add_argument("--quick", action="store_true")
    r = sub.add_parser("rss")
    r.add_argument("--doc", required=True)
    w = sub.add_parser("processes")
    w.add_argument("--runs", type=int, default=30)
    w.add_argument("--warmup", type=int, default=2)
    w.add_argument("--block", type=int, default=5)
    w.add_argument("command", nargs=argparse.REMAINDER)
    args = p.parse_args()
    {"gen": cmd_gen, "time": cmd_time, "rss": cmd_rss,
     "processes": cmd_processes}[args.cmd](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
