#!/usr/bin/env python3
"""The OpenAPI document checked by PyPI schemathesis against the real binary: every operation of
/api/v1/openapi.json called with generated data (examples, coverage, fuzzing and stateful phases, every check on),
once with an org API key and once with a signed-in session (cookie and CSRF header). No 5xx, no answer that
violates the document, within a time budget.

The session run leaves out the two operations that end the session on purpose (logout, logout-everywhere): after
them every later call would test only the 401 path.

    python3 Tests/Interop/openapi.py --binary .build/debug/gatehouse [--max-time 60]

A failure prints schemathesis' seed; ST_SEED=<seed> runs the same generated cases again (while reproducing).
"""
import argparse, json, os, re, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "Tests", "E2E"))
import requests  # noqa: E402
from story import Procs, server_with_org  # noqa: E402


def schemathesis(base, headers, settings, auth, max_time, exclude, report):
    # Credentials through schemathesis' own OpenAPI-aware auth (matched to the document's security schemes).
    config = report + ".toml"
    open(config, "w").write(settings + "\n" + auth)
    cmd = [sys.executable, "-m", "schemathesis.cli", "--config-file", config, "run", f"{base}/api/v1/openapi.json", "--checks", "all", "--phases", "examples,coverage,fuzzing,stateful",
           "--max-time", str(max_time), "--request-timeout", "10",
           # One worker: hypothesis describes its filters with ast.parse, which is not thread-safe on Python 3.11.
           "--workers", "1", "--report", "junit", "--report-dir", report, "--output-truncate", "false", "--no-color"]
    if os.environ.get("ST_SEED"):
        cmd += ["--seed", os.environ["ST_SEED"]]
    for h in headers:
        cmd += ["-H", h]
    for e in exclude:
        cmd += ["--exclude-path", e]
    started = time.time()
    # In the report folder: schemathesis keeps a cache (.schemathesis/) in its working directory, not in the repository.
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=os.path.dirname(report))
    open(report + ".log", "w").write(r.stdout + r.stderr)
    print(r.stdout[-6000:])
    if r.returncode != 0:
        print(r.stderr[-3000:])
        raise AssertionError(f"schemathesis found problems (exit {r.returncode})")
    return time.time() - started


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build/debug/gatehouse"))
    ap.add_argument("--max-time", type=int, default=60)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="gh-openapi-")
    procs = Procs()
    try:
        base, ops, org, _, _ = server_with_org(a.binary, work, procs)
        ops.api("POST", f"/api/v1/orgs/{org}/invites", {"emails": ["mia@acme.test", "max@acme.test"], "roles": ["member"]}, expect=201)
        # A second org for the region admin's operations (suspend, delete…), so that they do not end the first.
        other = ops.api("POST", "/api/v1/regions/eu/orgs", {"name": "Other", "ownerEmail": "olga@other.test"}, expect=201).json()["org"]["id"]
        key = ops.api("POST", f"/api/v1/orgs/{org}/apikeys", {"name": "schemathesis"}, expect=201).json()
        secret = key.get("secret") or key.get("key") or key.get("token")
        assert secret and secret.startswith("ghk_"), key
        # Path parameters schemathesis cannot guess: the org and region exist.
        settings = f'[parameters]\n"path.org" = "{org}"\n"path.region" = "eu"\n\n'
        settings += f'[[operations]]\ninclude-path-regex = "^/api/v1/regions/"\nparameters = {{ "path.org" = "{other}", "path.region" = "eu" }}\n\n'
        settings += open(os.path.join(HERE, "schemathesis.toml")).read() if os.environ.get("ST_BARE") is None else ""
        # The session first: the key's run may end every session of its account (logout-everywhere).
        cookie = ops.s.cookies.get("gh_session")
        me = requests.get(f"{base}/api/v1/me", headers={"Cookie": f"gh_session={cookie}"}, timeout=5)
        assert me.status_code == 200, (me.status_code, me.text, ops.s.cookies)
        if os.environ.get("ST_DEBUG"):
            print("DEBUG", base, cookie, ops.csrf, org, flush=True)
            time.sleep(600)
        took = schemathesis(base, [f"X-CSRF-Token: {ops.csrf}"], settings, f'[auth.openapi.session]\napi_key = "{cookie}"\n', a.max_time,
                            ["/api/v1/auth/logout", "/api/v1/auth/logout-everywhere"], f"{work}/report-session")
        print(f"openapi: session run passed in {took:.0f} s")
        took = schemathesis(base, [], settings, f'[auth.openapi.apiKey]\nbearer = "{secret}"\n', a.max_time, [], f"{work}/report-key")
        print(f"openapi: API key run passed in {took:.0f} s")
        assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
    finally:
        procs.stop_all()
        if os.environ.get("KEEP") is None:
            import shutil
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
