#!/usr/bin/env python3
"""OpenID Connect interop with a real provider nobody here wrote: PyPI's `oidc-provider-mock` on loopback.

Against the real `gatehouse serve` binary (with a real SMTP server for the owner's invite): the owner saves an
OIDC connection (the secret is never returned; a wrong issuer is refused), proves example.com by DNS and
turns JIT on -> alice signs in through the provider (authorization code + PKCE): JIT makes her a member with
her names and a mapped claim, her session is `oidc:<org>` -> bob's SSO-only invite is accepted by OIDC ->
refusals, each a page and no session: the callback replayed (state used), a callback without the browser's
cookie, another org's state (mix-up), `email_verified: false`, a domain the connection does not allow ->
the provider restarts with a new key (rotation) and the next sign-in still works -> a sign-in through headless
Chromium.

    python3 Tests/OIDC/oidc_interop.py --binary .build/debug/gatehouse [--no-browser]
"""
import argparse, json, os, re, shutil, subprocess, sys, tempfile, time, urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "Tests", "E2E"))
import requests  # noqa: E402
from story import Client, Mailbox, Procs, SMTPServer, SMTP_PASS, SMTP_USER, csrf_of, free_port, make_cert  # noqa: E402
from dnstools import free_udp_port, prove_domain  # noqa: E402


class Provider:
    """oidc-provider-mock in its own process; `restart` gives it a new signing key on the same port."""

    def __init__(self, port, log):
        self.port, self.log, self.proc = port, log, None
        self.issuer = f"http://127.0.0.1:{port}"

    def start(self):
        exe = shutil.which("oidc-provider-mock")
        cmd = [exe] if exe else [sys.executable, "-m", "oidc_provider_mock"]
        self.proc = subprocess.Popen(cmd + ["--port", str(self.port), "--require-nonce", "true"],
                                     stdout=open(self.log, "a"), stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                if requests.get(self.issuer + "/.well-known/openid-configuration", timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise AssertionError("oidc-provider-mock did not start: " + open(self.log).read()[-2000:])

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            self.proc.wait(timeout=10)

    def restart(self):
        self.stop()
        self.start()

    def user(self, sub, **claims):
        r = requests.put(f"{self.issuer}/users/{urllib.parse.quote(sub)}", json=claims, timeout=5)
        assert r.status_code == 204, r.text

    def kid(self):
        return requests.get(self.issuer + "/jwks", timeout=5).json()["keys"][0].get("kid")


def invite_path(mailbox, rcpt, org_name, base, timeout=20):
    """The path of the invite link in the mail that invites `rcpt` to `org_name`."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for _, msg, _, _ in mailbox.wait_for(rcpt):
            text = msg.get_body(("plain",)).get_content()
            m = re.search(r"(http://127\.0\.0\.1:\d+/invite/\S+)", text)
            if m and org_name in text:
                return m.group(1)[len(base):]
        time.sleep(0.1)
    raise AssertionError(f"no invite to {org_name} for {rcpt}")


def sign_in(base, org, sub, next_path="/"):
    """A browser (requests) through login -> the provider's form -> callback; returns (session, final response,
    the callback URL it was sent to)."""
    s = requests.Session()
    page = s.get(f"{base}/sso/{org}/oidc/login?next={urllib.parse.quote(next_path)}", timeout=10)
    assert page.status_code == 200 and "sub" in page.text, (page.status_code, page.url, page.text[:500])
    seen = []
    s.hooks["response"].append(lambda r, *a, **k: seen.append(r.url))
    final = s.post(page.url, data={"sub": sub}, timeout=10)
    callback = next((u for u in seen if "/oidc/callback" in u), None)
    return s, final, callback


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--no-browser", action="store_true")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="gh-oidc-interop-")
    certdir = f"{work}/certs"
    os.makedirs(certdir)
    make_cert(certdir)
    mailbox = Mailbox()
    smtp_port = free_port()
    smtp = SMTPServer(smtp_port, mailbox, certdir, [])
    smtp.start()
    port, op_port, dns_port = free_port(), free_port(), free_udp_port()
    base = f"http://127.0.0.1:{port}"
    cfg = f"{work}/config.json"
    json.dump({"publicBaseURL": base, "sso": {"dnsResolver": f"127.0.0.1:{dns_port}"}, "passwords": {"scryptLogN": 10},
               "log": {"level": "info"},
               "mail": {"transport": "smtp", "from": "gatehouse@acme.test", "pollSeconds": 0.1,
                        "smtp": {"host": "127.0.0.1", "port": smtp_port, "security": "starttls", "username": SMTP_USER,
                                 "password": SMTP_PASS, "caFile": f"{certdir}/cert.pem", "timeoutSeconds": 5}}},
              open(cfg, "w"))
    procs = Procs()
    op = Provider(op_port, f"{work}/op.log")
    t0 = time.time()
    try:
        op.start()
        data = f"{work}/data"
        procs.start("serve", [a.binary, "serve", "--port", str(port), "--data-dir", data, "--config", cfg], port,
                    f"{work}/serve.log")
        out = subprocess.run([a.binary, "admin", "bootstrap", "--region", "eu", "--email", "ops@gatehouse.test",
                              "--data-dir", data, "--config", cfg], check=True, capture_output=True, text=True).stdout
        ops = Client(base)
        ops.api("POST", "/api/v1/auth/bootstrap",
                {"token": re.search(r"/bootstrap/(\S+)", out).group(1), "password": "operator-pass-1"}, expect=200)
        org = ops.api("POST", "/api/v1/regions/eu/orgs", {"name": "Acme OIDC", "ownerEmail": "olga@acme.test"},
                      expect=201).json()["org"]["id"]
        path = mailbox.link("olga@acme.test")[len(base):]
        olga = Client(base)
        page = olga.page("GET", path)
        olga.page("POST", path + "/signup", {"csrf": csrf_of(page.text), "firstName": "Olga", "lastName": "Owner",
                                             "password": "olga-secret-pass"})
        page = olga.page("GET", path)
        assert olga.page("POST", path + "/accept", {"csrf": csrf_of(page.text)}).status_code == 303
        olga.api("GET", "/api/v1/me", expect=200)
        # A second org of hers, with its own connection to the same provider (for the mix-up case).
        other = ops.api("POST", "/api/v1/regions/eu/orgs", {"name": "Other Co", "ownerEmail": "olga@acme.test"},
                        expect=201).json()["org"]["id"]
        path = invite_path(mailbox, "olga@acme.test", "Other Co", base)
        page = olga.page("GET", path)
        assert olga.page("POST", path + "/accept", {"csrf": csrf_of(page.text)}).status_code == 303

        # The connection: a wrong issuer is refused (discovery must name it); the secret never comes back.
        view = olga.api("GET", f"/api/v1/orgs/{org}/sso/oidc", expect=200).json()
        assert view["configured"] is False and view["redirectURI"] == f"{base}/sso/{org}/oidc/callback", view
        r = olga.api("PUT", f"/api/v1/orgs/{org}/sso/oidc", {"issuer": op.issuer + "/wrong", "clientID": "gh",
                                                              "clientSecret": "s3cret-value"}, expect=422)
        assert "discovery" in r.text, r.text
        r = olga.api("PUT", f"/api/v1/orgs/{org}/sso/oidc", {"issuer": "ftp://op.test", "clientID": "gh",
                                                              "clientSecret": "x"}, expect=422)
        settings = {"issuer": op.issuer, "clientID": "gatehouse-acme", "clientSecret": "s3cret-value",
                    "jit": {"enabled": True, "defaultRole": "member"},
                    "claims": {"firstName": "given_name", "lastName": "family_name", "variables": {"department": "dept"}}}
        saved = olga.api("PUT", f"/api/v1/orgs/{org}/sso/oidc", settings, expect=200)
        assert "s3cret-value" not in saved.text and saved.json()["clientSecretSet"] is True, saved.text
        assert "s3cret-value" not in olga.api("GET", f"/api/v1/orgs/{org}/sso/oidc", expect=200).text
        assert "sso.saved" in olga.api("GET", f"/api/v1/orgs/{org}/audit", expect=200).text
        olga.api("PUT", f"/api/v1/orgs/{other}/sso/oidc", dict(settings, clientID="gatehouse-other"), expect=200)
        # The console's SSO page offers both protocols: the redirect URI, the connection, never the secret; its
        # form saves through the same checks (the claim mapping is edited there).
        page = olga.page("GET", f"/console/{org}/sso")
        assert page.status_code == 200 and f"/sso/{org}/oidc/callback" in page.text and op.issuer in page.text
        assert "s3cret-value" not in page.text
        r = olga.page("POST", f"/console/{org}/sso/oidc", {
            "csrf": csrf_of(page.text), "preset": "", "issuer": op.issuer, "clientID": "gatehouse-acme", "clientSecret": "",
            "firstName": "given_name", "lastName": "family_name", "variables": "department=dept\nlevel=level",
            "oidcJit": "1", "jitRole": "member", "allowedDomains": "", "hostedDomain": ""})
        assert r.status_code == 303, (r.status_code, r.text[:500])
        view = olga.api("GET", f"/api/v1/orgs/{org}/sso/oidc", expect=200).json()
        assert view["claims"]["variables"] == {"department": "dept", "level": "level"} and view["clientSecretSet"], view
        olga.api("POST", f"/api/v1/orgs/{org}/invites",
                 {"emails": "bob@example.com", "roles": ["manager"], "ssoOnly": True}, expect=201)
        prove_domain(olga, org, "example.com", dns_port, f"{work}/dnsmasq.log")
        # The sign-in page's "use SSO" box finds the org by the proven domain and sends the browser to OIDC.
        r = requests.get(f"{base}/sso/start?who=alice%40example.com&next=/", allow_redirects=False, timeout=10)
        assert r.status_code == 302 and r.headers["Location"].startswith(f"/sso/{org}/oidc/login"), r.headers
        print(f"connection saved, domain proven, /sso/start routes to OIDC after {time.time() - t0:.1f} s")

        # alice: JIT, names and a mapped claim, an oidc:<org> session.
        op.user("alice@example.com", email="alice@example.com", email_verified=True, given_name="Alice",
                family_name="Anderson", department="engineering")
        s, final, callback = sign_in(base, org, "alice@example.com", "/")
        assert s.cookies.get("gh_session"), (final.status_code, final.url, final.text[:800])
        alice = Client(base)
        alice.s.cookies.set("gh_session", s.cookies.get("gh_session"), domain="127.0.0.1")
        me = alice.api("GET", "/api/v1/me", expect=200).json()
        assert me["authMethod"] == f"oidc:{org}" and me["account"]["email"] == "alice@example.com", me
        member = olga.api("GET", f"/api/v1/orgs/{org}/members/{me['account']['id']}", expect=200).json()
        assert (member["firstName"], member["lastName"]) == ("Alice", "Anderson"), member
        assert member["roles"] == ["member"] and member["userVariables"] == {"dept": "engineering"}, member
        # Her org-scoped session opens this org only.
        alice.api("GET", f"/api/v1/orgs/{org}", expect=200)
        print("alice: JIT member with names and a mapped claim, session oidc:<org>")

        # The same callback again: the state was used, nothing happens.
        r = s.get(callback, allow_redirects=False, timeout=10)
        assert r.status_code == 403 and "gh_session" not in r.headers.get("Set-Cookie", ""), (r.status_code, r.text[:300])
        # A callback from another browser (no gh_oidc cookie): refused, and the state is gone for good.
        t = requests.Session()
        page = t.get(f"{base}/sso/{org}/oidc/login", timeout=10)
        t.hooks["response"].append(lambda r, *x, **k: None)
        redirect = t.post(page.url, data={"sub": "alice@example.com"}, allow_redirects=False, timeout=10)
        stolen = redirect.headers["Location"]
        r = requests.get(stolen, allow_redirects=False, timeout=10)
        assert r.status_code == 403 and "gh_session" not in r.headers.get("Set-Cookie", ""), r.text[:300]
        r = t.get(stolen, allow_redirects=False, timeout=10)
        assert r.status_code == 403, "a state tried by another browser is spent"
        # Mix-up: a code and state from the other org's sign-in delivered to this org's callback.
        u = requests.Session()
        page = u.get(f"{base}/sso/{other}/oidc/login", timeout=10)
        redirect = u.post(page.url, data={"sub": "alice@example.com"}, allow_redirects=False, timeout=10)
        crossed = redirect.headers["Location"].replace(f"/sso/{other}/", f"/sso/{org}/")
        r = u.get(crossed, allow_redirects=False, timeout=10)
        assert r.status_code == 403 and "gh_session" not in r.headers.get("Set-Cookie", ""), r.text[:300]
        # An address the provider has not verified; a domain the connection does not allow.
        op.user("eve@example.com", email="eve@example.com", email_verified=False)
        s2, final, _ = sign_in(base, org, "eve@example.com")
        assert final.status_code == 403 and not s2.cookies.get("gh_session"), final.text[:300]
        olga.api("PUT", f"/api/v1/orgs/{org}/sso/oidc", {"clientID": "gatehouse-acme", "allowedDomains": ["example.com"]},
                 expect=200)
        op.user("mallory@evil.test", email="mallory@evil.test", email_verified=True)
        s3, final, _ = sign_in(base, org, "mallory@evil.test")
        assert final.status_code == 403 and not s3.cookies.get("gh_session"), final.text[:300]
        time.sleep(0.3)
        log = open(f"{work}/serve.log").read()
        for code in ("bad_state", "email_not_verified", "domain_not_allowed"):
            assert code in log, f"{code} not logged"
        print("refused: replayed callback, another browser, another org's state, unverified email, domain")

        # bob: his SSO-only invite is accepted by the OIDC sign-in.
        op.user("bob@example.com", email="bob@example.com", email_verified=True, given_name="Bob")
        s, final, _ = sign_in(base, org, "bob@example.com")
        assert s.cookies.get("gh_session"), final.text[:500]
        bob = Client(base)
        bob.s.cookies.set("gh_session", s.cookies.get("gh_session"), domain="127.0.0.1")
        me = bob.api("GET", "/api/v1/me", expect=200).json()
        m = [x for x in me["memberships"] if x["orgID"] == org]
        assert m and m[0]["roles"] == ["manager"] and m[0]["ssoOnly"] is True, me
        bob.api("GET", f"/api/v1/orgs/{org}", expect=200)
        print("bob: SSO-only invite accepted by OIDC")

        # carol has a password account (member of the other org); her SSO-only invite here is accepted by OIDC,
        # and her password session is still refused in this org.
        olga.api("POST", f"/api/v1/orgs/{other}/invites", {"emails": "carol@example.com", "roles": ["member"]}, expect=201)
        path = invite_path(mailbox, "carol@example.com", "Other Co", base)
        carol = Client(base)
        page = carol.page("GET", path)
        carol.page("POST", path + "/signup", {"csrf": csrf_of(page.text), "firstName": "Carol", "lastName": "C",
                                              "password": "carol-secret-pass"})
        page = carol.page("GET", path)
        assert carol.page("POST", path + "/accept", {"csrf": csrf_of(page.text)}).status_code == 303
        olga.api("POST", f"/api/v1/orgs/{org}/invites",
                 {"emails": "carol@example.com", "roles": ["member"], "ssoOnly": True}, expect=201)
        op.user("carol@example.com", email="carol@example.com", email_verified=True)
        s, final, _ = sign_in(base, org, "carol@example.com")
        assert s.cookies.get("gh_session"), final.text[:500]
        carol.api("GET", "/api/v1/me", expect=200)
        r = carol.api("GET", f"/api/v1/orgs/{org}")
        assert r.status_code == 403 and r.json()["error"]["code"] == "sso_required", r.text
        oidc_carol = Client(base)
        oidc_carol.s.cookies.set("gh_session", s.cookies.get("gh_session"), domain="127.0.0.1")
        oidc_carol.api("GET", f"/api/v1/orgs/{org}", expect=200)
        print("carol: SSO-only invite accepted by OIDC; her password session is refused in this org")

        # Rotation: the provider restarts with a new key; the next sign-in fetches the key set again.
        old_kid = op.kid()
        op.restart()
        assert op.kid() != old_kid, "the provider's key did not change"
        op.user("alice@example.com", email="alice@example.com", email_verified=True, given_name="Alice",
                family_name="Anderson", department="engineering")
        s, final, _ = sign_in(base, org, "alice@example.com")
        assert s.cookies.get("gh_session"), final.text[:500]
        print("key rotation: signed in under the provider's new key")

        if not a.no_browser:
            browser_sign_in(base, org)
        print(f"OIDC interop passed in {time.time() - t0:.1f} s")
    except BaseException:
        for name in ("serve.log", "op.log"):
            p = os.path.join(work, name)
            if os.path.exists(p):
                print(f"--- {name}\n" + open(p).read()[-4000:], file=sys.stderr)
        raise
    finally:
        op.stop()
        procs.stop_all()
        smtp.stop()


def browser_sign_in(base, org):
    """The same sign-in in headless Chromium: the provider's form, the callback, a page of the console."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium") or "/usr/lib/chromium/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                 "--disable-extensions", "--disable-background-networking", "--password-store=basic"):
        opts.add_argument(flag)
    d = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/lib/chromium/chromedriver"), options=opts)
    try:
        d.get(f"{base}/sso/{org}/oidc/login?next=/")
        field = d.find_element(By.NAME, "sub")
        field.send_keys("alice@example.com")
        field.submit()
        deadline = time.time() + 15
        while time.time() < deadline and not d.get_cookie("gh_session"):
            time.sleep(0.1)
        assert d.get_cookie("gh_session"), d.page_source[:800]
        print("browser: signed in through the provider in headless Chromium")
    finally:
        d.quit()


if __name__ == "__main__":
    main()
