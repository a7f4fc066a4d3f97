#!/usr/bin/env python3
"""Prometheus metrics, read by PyPI prometheus-client's own parser, from the real binary: /metrics is not public
(404 without a configured token, 401 without the right one), its text parses, the families operators expect are
there, and no label value carries an email, an org name, a token, a session or an address.

    python3 Tests/Interop/metrics.py --binary .build/debug/gatehouse
"""
import argparse, json, os, re, shutil, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "Tests", "E2E"))
import requests  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402  (PyPI prometheus-client)
from story import Client, Procs, free_port  # noqa: E402

TOKEN = "metrics-token-for-the-test-0123456789"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build/debug/gatehouse"))
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="gh-metrics-")
    procs = Procs()
    t0 = time.time()
    try:
        # Without a token configured, /metrics does not exist.
        port = free_port()
        cfg = f"{work}/plain.json"
        json.dump({"publicBaseURL": f"http://127.0.0.1:{port}", "log": {"level": "warning"}, "mail": {"transport": "off"}}, open(cfg, "w"))
        procs.start("plain", [a.binary, "serve", "--port", str(port), "--data-dir", f"{work}/plain", "--config", cfg], port, f"{work}/plain.log")
        assert requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).status_code == 404
        procs.stop_all()

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        cfg = f"{work}/config.json"
        json.dump({"publicBaseURL": base, "passwords": {"scryptLogN": 10}, "log": {"level": "warning"}, "mail": {"transport": "off"},
                   "metrics": {"token": TOKEN}}, open(cfg, "w"))
        data = f"{work}/data"
        procs = Procs()
        procs.start("serve", [a.binary, "serve", "--port", str(port), "--data-dir", data, "--config", cfg], port, f"{work}/serve.log")
        # Traffic that would leak if anything request-made reached a label.
        out = subprocess.run([a.binary, "admin", "bootstrap", "--region", "eu", "--email", "secret.person@acme.test", "--data-dir", data,
                              "--config", cfg], check=True, capture_output=True, text=True).stdout
        ops = Client(base)
        ops.api("POST", "/api/v1/auth/bootstrap", {"token": re.search(r"/bootstrap/(\S+)", out).group(1), "password": "operator-pass-1"}, expect=200)
        org = ops.api("POST", "/api/v1/regions/eu/orgs", {"name": "Very Secret Org", "ownerEmail": "secret.person@acme.test"}, expect=201).json()
        Client(base).api("POST", "/api/v1/auth/login", {"email": "secret.person@acme.test", "password": "operator-pass-1"}, expect=200)
        for _ in range(12):  # past the free failures: delays (rate-limited)
            Client(base).api("POST", "/api/v1/auth/login", {"email": "secret.person@acme.test", "password": "wrong-password"})
        requests.get(f"{base}/no/such/path/secret.person@acme.test", timeout=5)
        requests.request("BREW", f"{base}/healthz", timeout=5)
        requests.get(f"{base}/sso/{org['org']['id']}/oidc/callback?error=x&state=y", timeout=5)

        assert requests.get(f"{base}/metrics", timeout=5).status_code == 401
        assert requests.get(f"{base}/metrics", headers={"Authorization": "Bearer wrong-token-0123456789"}, timeout=5).status_code == 401
        r = requests.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers
        families = {f.name: f for f in text_string_to_metric_families(r.text)}
        for name in ["gatehouse_http_requests", "gatehouse_http_request_duration_seconds", "gatehouse_open_connections",
                     "gatehouse_store_write_seconds", "gatehouse_outbox_depth", "gatehouse_outbox_oldest_seconds",
                     "gatehouse_sign_ins", "gatehouse_rate_limited"]:
            assert name in families, f"{name} missing: {sorted(families)}"
        samples = [s for f in families.values() for s in f.samples]
        outcomes = {s.labels.get("outcome"): s.value for s in samples if s.name == "gatehouse_sign_ins_total"}
        assert outcomes.get("ok", 0) >= 1 and outcomes.get("wrong", 0) >= 1, outcomes
        methods = {s.labels.get("method") for s in samples if s.name == "gatehouse_http_requests_total"}
        assert "other" in methods and "BREW" not in methods, methods
        # No label value carries anything a request or a person made.
        secrets = ["@", "secret", "Very Secret Org", TOKEN, "ghk_", "gh_session", "127.0.0.1", org["org"]["id"]]
        for s in samples:
            for k, v in s.labels.items():
                for bad in secrets:
                    assert bad not in v, f"{s.name}{{{k}={v!r}}} carries {bad!r}"
        routes = {s.labels["route"] for s in samples if s.name == "gatehouse_http_requests_total"}
        assert "(unmatched)" in routes and "/api/v1/auth/login" in routes, routes
        print(f"  {len(families)} metric families, {len(samples)} samples parsed by prometheus-client; no label carries a person's data")
    except BaseException:
        for log in sorted(os.listdir(work)):
            if log.endswith(".log"):
                print(f"--- {log}\n" + open(f"{work}/{log}").read()[-3000:], file=sys.stderr)
        raise
    finally:
        procs.stop_all()
    shutil.rmtree(work, ignore_errors=True)
    print(f"metrics (prometheus-client): passed in {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
