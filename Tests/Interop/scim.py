#!/usr/bin/env python3
"""SCIM 2.0 checked by PyPI scim2-tester (and its scim2-client) against the real binary, then an Okta-style
provisioning story: create user → add to group → deactivate → reactivate → delete, each seen in the console
(its members page) and in the audit log as `scim:<token name>`.

    python3 Tests/Interop/scim.py --binary .build/debug/gatehouse
"""
import argparse, json, os, re, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "Tests", "E2E"))
import httpx2  # noqa: E402  (scim2-client's HTTP engine)
import requests  # noqa: E402
from scim2_client.engines.httpx2 import SyncSCIMClient  # noqa: E402
from scim2_tester import Status, check_server  # noqa: E402
from story import Procs, server_with_org  # noqa: E402

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build/debug/gatehouse"))
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="gh-scim-")
    procs = Procs()
    try:
        base, ops, org, _, _ = server_with_org(a.binary, work, procs)
        token = ops.api("POST", f"/api/v1/orgs/{org}/scim-tokens", {"name": "Okta", "roleCeiling": "admin"}, expect=201).json()["secret"]
        scim = f"{base}/scim/v2/orgs/{org}"

        # 1. scim2-tester: discovery, then create/read/replace/delete of every resource type it finds.
        http = httpx2.Client(base_url=scim, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        client = SyncSCIMClient(http)
        results = check_server(client)
        failed = [f"{r.status.name:10} {r.resource_type or '-':6} {r.title}: {r.reason or ''}" for r in results
                  if r.status in (Status.ERROR, Status.CRITICAL, Status.DEVIATION)]
        skipped = [r for r in results if r.status == Status.SKIPPED]
        print(f"scim2-tester: {len(results)} checks, {len(results) - len(failed) - len(skipped)} passed, "
              f"{len(skipped)} skipped, {len(failed)} failed")
        for r in skipped:
            print(f"  skipped: {r.title}: {r.reason}")
        for line in failed:
            print("  " + line[:400])
        assert not failed, "scim2-tester found problems"

        # 2. The provisioning story, as Okta runs it.
        h = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
        def scim_call(method, path, body=None, expect=None):
            r = requests.request(method, scim + path, headers=h, data=json.dumps(body) if body is not None else None, timeout=10)
            assert expect is None or r.status_code == expect, (method, path, r.status_code, r.text)
            return r
        patch = lambda ops_: {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops_}
        found = scim_call("GET", '/Users?filter=userName eq "dana@acme.test"', expect=200).json()
        assert found["totalResults"] == 0
        user = scim_call("POST", "/Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "dana@acme.test",
                                            "name": {"givenName": "Dana", "familyName": "Diaz"}, "externalId": "00u1dana",
                                            "emails": [{"value": "dana@acme.test", "type": "work", "primary": True}], "active": True}, expect=201).json()
        uid = user["id"]
        console = lambda: ops.page("GET", f"/console/{org}/members").text
        assert "Dana Diaz" in console(), "the new member is in the console"
        scim_call("PATCH", "/Groups/manager", patch([{"op": "add", "path": "members", "value": [{"value": uid}]}]), expect=200)
        assert "manager" in ops.api("GET", f"/api/v1/orgs/{org}/members/{uid}", expect=200).json()["roles"]
        scim_call("PATCH", f"/Users/{uid}", patch([{"op": "replace", "value": {"active": False}}]), expect=200)
        page = console()
        assert re.search(r"Dana Diaz.{0,2000}Deactivated", page, re.S), "deactivated shows in the console"
        scim_call("PATCH", f"/Users/{uid}", patch([{"op": "replace", "path": "active", "value": True}]), expect=200)
        assert not re.search(r"Dana Diaz.{0,2000}Deactivated", console(), re.S)
        scim_call("DELETE", f"/Users/{uid}", expect=204)
        assert "Dana Diaz" not in console()
        audit = ops.api("GET", f"/api/v1/orgs/{org}/audit?limit=50", expect=200).json()
        events = [(e["action"], e["actor"]) for e in audit["events"] if e.get("target") == uid]
        for action in ["member.provisioned", "member.roles_changed", "member.deactivated", "member.reactivated", "member.removed"]:
            assert (action, "scim:Okta") in events, (action, events)
        print("scim: provisioning story passed (create, group, deactivate, reactivate, delete; console and audit)")
    finally:
        procs.stop_all()


if __name__ == "__main__":
    main()
