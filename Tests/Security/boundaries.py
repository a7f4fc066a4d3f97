#!/usr/bin/env python3
"""Trust boundaries checked with parts nobody here wrote, against the real `gatehouse serve` binary:

1. SSO email domains are proven by DNS: dnsmasq (Debian) on a loopback port serves the TXT records; a claim
   verifies only with the org's own value, routes "Sign in with SSO" only once verified, public mail domains
   are refused, and a second org cannot claim a proven domain.
2. The sign-in `next` is a same-origin path: headless Chromium signs in through /login?next=<hostile> and must
   land on Gatehouse's own origin (browsers drop a TAB or newline in a URL, which is how `/%09/evil.host`
   escaped before).

    python3 Tests/Security/boundaries.py --binary .build/debug/gatehouse
"""
import argparse, json, os, re, shutil, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "Tests", "E2E"))
os.environ.setdefault("SE_OFFLINE", "true")
import requests  # noqa: E402
from story import Client, Procs, free_port  # noqa: E402
from dnstools import dnsmasq, free_udp_port  # noqa: E402


def self_signed_cert(work):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{work}/idp.key", "-out", f"{work}/idp.pem",
                    "-days", "2", "-subj", "/CN=idp.test"], check=True, capture_output=True)
    pem = open(f"{work}/idp.pem").read()
    return "".join(l for l in pem.splitlines() if "CERTIFICATE" not in l)


def domains(base, binary, admin_args, work, dns_port):
    out = subprocess.run([binary, "admin", "bootstrap", "--region", "eu", "--email", "ops@corp.test"] + admin_args,
                         check=True, capture_output=True, text=True).stdout
    ops = Client(base)
    ops.api("POST", "/api/v1/auth/bootstrap", {"token": re.search(r"/bootstrap/(\S+)", out).group(1), "password": "operator-pass-1"}, expect=200)
    orgs = []
    for name in ["Acme", "Globex"]:
        p = ops.api("POST", "/api/v1/regions/eu/orgs", {"name": name, "ownerEmail": "ops@corp.test"}, expect=201).json()
        token = p["ownerInviteURL"].split("/invite/")[1]
        ops.api("POST", f"/api/v1/invites/{token}/accept", expect=200)   # signed in as that address: no mail proof needed
        cert = self_signed_cert(work)
        ops.api("PUT", f"/api/v1/orgs/{p['org']['id']}/sso",
                {"idpEntityID": f"https://idp.{name.lower()}.test", "ssoURL": f"https://idp.{name.lower()}.test/sso", "certificates": [cert]}, expect=200)
        orgs.append(p["org"]["id"])
    acme, globex = orgs
    r = ops.api("POST", f"/api/v1/orgs/{acme}/sso/domains", {"domain": "gmail.com"}, expect=422)
    assert "public_domain" in r.text, r.text
    good = ops.api("POST", f"/api/v1/orgs/{acme}/sso/domains", {"domain": "acme.test"}, expect=201).json()
    bad = ops.api("POST", f"/api/v1/orgs/{acme}/sso/domains", {"domain": "wrong.test"}, expect=201).json()
    assert not good["verified"] and good["recordName"] == "_gatehouse-challenge.acme.test", good
    # Unverified: routes nothing.
    assert ops.page("GET", "/sso/start?who=ann%40acme.test").status_code == 404
    dns = dnsmasq(dns_port, [(good["recordName"], good["recordValue"]), (bad["recordName"], "gatehouse-domain-verification=someone-else")],
                  f"{work}/dnsmasq.log")
    try:
        v = ops.api("POST", f"/api/v1/orgs/{acme}/sso/domains/acme.test/verify", expect=200).json()
        assert v["verified"], v
        r = ops.api("POST", f"/api/v1/orgs/{acme}/sso/domains/wrong.test/verify", expect=422)
        assert "domain_unverified" in r.text, r.text
        r = ops.api("POST", f"/api/v1/orgs/{acme}/sso/domains/nothing-here.test/verify", expect=404)
    finally:
        dns.terminate()
        dns.wait(timeout=10)
    start = ops.page("GET", "/sso/start?who=ann%40acme.test")
    assert start.status_code == 302 and start.headers["Location"] == f"/sso/{acme}/login?next=%2F", (start.status_code, start.headers)
    assert ops.page("GET", "/sso/start?who=ann%40wrong.test").status_code == 404
    ops.api("POST", f"/api/v1/orgs/{globex}/sso/domains", {"domain": "acme.test"}, expect=409)
    print("  domains: dnsmasq proves acme.test; wrong value, public and taken domains refused")


def redirects(base, work):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    # An account to sign in with (a person with a password, made through the bootstrap path).
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium") or "/usr/lib/chromium/chromium"
    for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run", "--password-store=basic"]:
        opts.add_argument(arg)
    d = webdriver.Chrome(service=Service(executable_path=shutil.which("chromedriver") or "/usr/lib/chromium/chromedriver"), options=opts)
    d.set_page_load_timeout(10)
    try:
        # Another origin that really answers (localhost is not 127.0.0.1 to a browser), so an escape would land.
        import http.server, threading
        class Evil(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200); self.end_headers(); self.wfile.write(b"<h1>evil</h1>")
            def log_message(self, *a):
                pass
        evil_port = free_port()
        evil_server = http.server.ThreadingHTTPServer(("127.0.0.1", evil_port), Evil)
        threading.Thread(target=evil_server.serve_forever, daemon=True).start()
        e = f"localhost:{evil_port}"
        hostile = [f"/%09/{e}/path", f"/%0A/{e}", f"/%0D%0A/{e}", f"/%5C{e}", f"/%5C%5C{e}", f"//{e}", f"http://{e}/", f"/%20/{e}",
                   f"/%E2%80%A8/{e}", f"/%09%09/{e}"]
        # Signed in once; then each link `/login?next=<hostile>` is what a phishing mail would send a signed-in
        # person (the page answers with a plain redirect: no form, so no CSP form-action to stop it).
        d.get(f"{base}/login")
        d.find_element(By.ID, "email").send_keys("ops@corp.test")
        d.find_element(By.ID, "password").send_keys("operator-pass-1")
        d.find_element(By.CSS_SELECTOR, "form[action='/login'] button[type=submit]").click()
        WebDriverWait(d, 10).until(lambda x: "/login" not in x.current_url)
        for n in hostile:
            d.get(f"{base}/login?next={n}")
            WebDriverWait(d, 10).until(lambda x: x.execute_script("return document.readyState") == "complete")
            assert d.current_url.startswith(base + "/"), f"next={n} left the origin: {d.current_url}"
    finally:
        d.quit()
        evil_server.shutdown()
    print(f"  redirects: {len(hostile)} hostile next values stay on {base} in Chromium")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build/debug/gatehouse"))
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="gh-boundaries-")
    port, dns_port = free_port(), free_udp_port()
    base = f"http://127.0.0.1:{port}"
    cfg = f"{work}/config.json"
    json.dump({"publicBaseURL": base, "passwords": {"scryptLogN": 10}, "store": {"synchronous": "NORMAL"}, "log": {"level": "warning"},
               "mail": {"transport": "off"}, "sso": {"dnsResolver": f"127.0.0.1:{dns_port}"}}, open(cfg, "w"))
    procs = Procs()
    t = time.time()
    try:
        data = f"{work}/data"
        procs.start("serve", [a.binary, "serve", "--port", str(port), "--data-dir", data, "--config", cfg], port, f"{work}/serve.log")
        domains(base, a.binary, ["--data-dir", data, "--config", cfg], work, dns_port)
        redirects(base, work)
    except BaseException:
        for log in sorted(os.listdir(work)):
            if log.endswith(".log"):
                print(f"--- {log}\n" + open(f"{work}/{log}").read()[-3000:], file=sys.stderr)
        raise
    finally:
        procs.stop_all()
    shutil.rmtree(work, ignore_errors=True)
    print(f"trust boundaries (dnsmasq, Chromium): passed in {time.time() - t:.1f}s")


if __name__ == "__main__":
    main()
