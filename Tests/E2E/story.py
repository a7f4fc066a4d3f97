#!/usr/bin/env python3
"""End-to-end story over real sockets, against the real `gatehouse` binary and a real SMTP server (aiosmtpd,
STARTTLS + AUTH required). Runs twice: all-in-one (`gatehouse serve`) and split (`gatehouse gateway` + three
`gatehouse region` processes sharing a keys directory).

region admin provisions an org in EU -> owner invite mail arrives over SMTP -> owner signs up through the
link (HTML pages) -> owner invites three people at once with roles, user variables and a starting page ->
each accepts through the link in their mail -> a manager tries to make someone admin (refused) -> a member
is removed and their API key stops working at once -> an old link after a resend fails -> an SSO-only
member cannot get in with a password session -> with the SMTP server down nothing is lost, and the mail
is delivered once it is back -> (split) a region that is down fails only its own orgs.

Usage: python3 Tests/E2E/story.py [--binary .build/debug/gatehouse] [--mode both|allinone|split]
"""
import argparse, email, email.policy, json, os, re, shutil, signal, socket, ssl, subprocess, sys, tempfile, threading, time
import logging, warnings
import requests
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

warnings.filterwarnings("ignore", message=".*login_data.*")
logging.getLogger("mail.log").setLevel(logging.ERROR)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SMTP_USER, SMTP_PASS = "gatehouse", "smtp-secret-1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """An aiosmtpd handler that keeps every message it is given."""
    def __init__(self):
        self.messages, self.lock = [], threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append((envelope.rcpt_tos, msg, session.authenticated, session.ssl is not None))
        return "250 OK"

    def newest_link(self, rcpt, path, timeout=20):
        """The link under /path/ in the newest mail to rcpt that has one (waits for it)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                found = [m for m in self.messages if rcpt in m[0]]
            for rcpts, msg, authed, tls in reversed(found):
                text = msg.get_body(("plain",)).get_content()
                m = re.search(r"(http://127\.0\.0\.1:\d+/" + path + r"/\S+)", text)
                if m:
                    assert authed and tls, "mail must arrive over STARTTLS with AUTH"
                    assert m.group(1) in msg.get_body(("html",)).get_content().replace("&amp;", "&")
                    return m.group(1)
            time.sleep(0.05)
        raise AssertionError(f"no mail with a /{path}/ link for {rcpt} within {timeout}s")

    def wait_for(self, rcpt, count=1, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                found = [m for m in self.messages if rcpt in m[0]]
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"no mail for {rcpt} within {timeout}s (have {len(found)})")

    def link(self, rcpt, count=1):
        rcpts, msg, authed, tls = self.wait_for(rcpt, count)[count - 1]
        assert authed and tls, "mail must arrive over STARTTLS with AUTH"
        text = msg.get_body(("plain",)).get_content()
        html = msg.get_body(("html",)).get_content()
        m = re.search(r"(http://127\.0\.0\.1:\d+/invite/\S+)", text)
        assert m, text
        assert m.group(1) in html.replace("&amp;", "&"), "the HTML part carries the same link"
        return m.group(1)


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == SMTP_USER.encode() and auth_data.password == SMTP_PASS.encode()
    return AuthResult(success=ok)


class SMTPServer:
    def __init__(self, port, mailbox, certdir, mechanisms_excluded):
        self.port, self.mailbox, self.certdir, self.excluded = port, mailbox, certdir, mechanisms_excluded

    def start(self):
        # A controller cannot be restarted: each start is a fresh server on the same port.
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(f"{self.certdir}/cert.pem", f"{self.certdir}/key.pem")
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, tls_context=ctx, require_starttls=True,
                                     authenticator=authenticator, auth_required=True, auth_require_tls=True,
                                     auth_exclude_mechanism=self.excluded)
        self.controller.start()

    def stop(self):
        self.controller.stop()


def make_cert(d):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:TRUE",
                    "-keyout", f"{d}/key.pem", "-out", f"{d}/cert.pem"], check=True, capture_output=True)


class Procs:
    def __init__(self):
        self.procs = {}

    def start(self, name, args, port, log):
        p = subprocess.Popen(args, stdout=open(log, "w"), stderr=subprocess.STDOUT)
        self.procs[name] = p
        deadline = time.time() + 30
        while time.time() < deadline:
            if p.poll() is not None:
                raise AssertionError(f"{name} exited with {p.returncode}: {open(log).read()[-2000:]}")
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.05)
        raise AssertionError(f"{name} did not come up")

    def stop(self, name):
        p = self.procs.pop(name)
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=30) == 0, f"{name} exit code {p.returncode}"

    def stop_all(self):
        for name in list(self.procs):
            try:
                self.stop(name)
            except Exception:
                self.procs.get(name) and self.procs[name].kill()


def server_with_org(binary, work, procs, extra=None):
    """A server on a free port (its config in `work`, `extra` merged in) whose EU region admin, ops@acme.test, also
    owns the org Acme. Returns (base URL, the operator's Client, the org id, the data directory, the config file)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cfg = f"{work}/config.json"
    conf = {"publicBaseURL": base, "passwords": {"scryptLogN": 10}, "log": {"level": "warning"}, "mail": {"transport": "off"}}
    conf.update(extra or {})
    json.dump(conf, open(cfg, "w"))
    data = f"{work}/data"
    procs.start("serve", [binary, "serve", "--port", str(port), "--data-dir", data, "--config", cfg], port, f"{work}/serve.log")
    out = subprocess.run([binary, "admin", "bootstrap", "--region", "eu", "--email", "ops@acme.test", "--data-dir", data, "--config", cfg],
                         check=True, capture_output=True, text=True).stdout
    ops = Client(base)
    ops.api("POST", "/api/v1/auth/bootstrap", {"token": re.search(r"/bootstrap/(\S+)", out).group(1), "password": "operator-pass-1"}, expect=200)
    made = ops.api("POST", "/api/v1/regions/eu/orgs", {"name": "Acme", "ownerEmail": "ops@acme.test"}, expect=201).json()
    ops.api("POST", f"/api/v1/invites/{made['ownerInviteURL'].split('/invite/')[1]}/accept", None, expect=200)
    return base, ops, made["org"]["id"], data, cfg


class Client:
    """A person: a cookie jar, the API's CSRF header, no automatic redirects."""
    def __init__(self, base):
        self.base, self.s, self.csrf = base, requests.Session(), None

    def api(self, method, path, body=None, expect=None):
        h = {"X-CSRF-Token": self.csrf} if self.csrf else {}
        r = self.s.request(method, self.base + path, json=body, headers=h, allow_redirects=False, timeout=30)
        if r.headers.get("content-type", "").startswith("application/json") and r.content:
            token = r.json().get("csrfToken") if isinstance(r.json(), dict) else None
            if token:
                self.csrf = token
        if expect is not None:
            assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text[:500]}"
        return r

    def page(self, method, path, form=None):
        return self.s.request(method, self.base + path, data=form, allow_redirects=False, timeout=30)


def csrf_of(html):
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, html[:2000]
    return m.group(1)


def story(base, binary, admin_args, mailbox, smtp, split_ctl):
    # Region admin, bootstrapped by the CLI's one-time link.
    out = subprocess.run([binary, "admin", "bootstrap", "--region", "eu", "--email", "ops@gatehouse.test"] + admin_args,
                         check=True, capture_output=True, text=True).stdout
    token = re.search(r"/bootstrap/(\S+)", out).group(1)
    ops = Client(base)
    ops.api("POST", "/api/v1/auth/bootstrap", {"token": token, "password": "operator-pass-1"}, expect=200)
    org = ops.api("POST", "/api/v1/regions/eu/orgs", {"name": "Acme EU", "ownerEmail": "olga@acme.test"}, expect=201).json()["org"]["id"]
    assert org.startswith("org_eu_")

    # The owner's invite arrives by mail; she signs up through the pages and confirms.
    link = mailbox.link("olga@acme.test")
    path = link[len(base):]
    olga = Client(base)
    page = olga.page("GET", path)
    assert page.status_code == 200 and "Join Acme EU as Owner?" in page.text, page.text[:1000]
    r = olga.page("POST", path + "/signup", {"csrf": csrf_of(page.text), "firstName": "Olga", "lastName": "Owner", "password": "olga-secret-pass"})
    assert r.status_code == 303, r.text[:500]
    confirm = olga.page("GET", path)
    assert "Join Acme EU</button>" in confirm.text
    r = olga.page("POST", path + "/accept", {"csrf": csrf_of(confirm.text)})
    assert r.status_code == 303 and r.headers["Location"] == "/console", r.headers
    olga.api("GET", "/api/v1/me", expect=200)

    # Three people at once, with roles, user variables and a starting page; each accepts from their mail.
    r = olga.api("POST", f"/api/v1/orgs/{org}/invites", {"emails": "mia@acme.test, max@acme.test\nvik@acme.test", "roles": ["manager"],
                                                         "userVariables": {"site": "berlin"}, "startingPage": "portal"}, expect=201)
    assert r.json()["invited"] == 3
    people = {}
    for name in ["mia", "max", "vik"]:
        link = mailbox.link(f"{name}@acme.test")
        c = Client(base)
        r = c.api("POST", f"/api/v1/invites/{link.split('/invite/')[1]}/accept", {"password": f"{name}-password-long"}, expect=200)
        assert r.json()["redirect"] == "/apps/portal/"
        c.id = c.api("GET", "/api/v1/me", expect=200).json()["account"]["id"]
        people[name] = c
    mia, mx = people["mia"], people["max"]
    assert olga.api("GET", f"/api/v1/orgs/{org}/members/{mia.id}", expect=200).json()["userVariables"] == {"site": "berlin"}
    assert mailbox.wait_for("mia@acme.test", 2), "the 'you were added' mail"

    # A manager may not make someone admin.
    olga.api("PATCH", f"/api/v1/orgs/{org}/members/{mx.id}", {"roles": ["member"]}, expect=200)
    r = mia.api("PATCH", f"/api/v1/orgs/{org}/members/{mx.id}", {"roles": ["admin"]}, expect=403)
    assert "role_above_you" in r.text

    # A removed member's API key stops working at once.
    olga.api("PATCH", f"/api/v1/orgs/{org}/members/{mia.id}", {"roles": ["admin"]}, expect=200)
    secret = mia.api("POST", f"/api/v1/orgs/{org}/apikeys", {"name": "ci"}, expect=201).json()["secret"]
    bearer = {"Authorization": f"Bearer {secret}"}
    assert requests.get(f"{base}/api/v1/orgs/{org}", headers=bearer).status_code == 200
    olga.api("DELETE", f"/api/v1/orgs/{org}/members/{mia.id}", expect=204)
    assert requests.get(f"{base}/api/v1/orgs/{org}", headers=bearer).status_code == 401

    # A resend: the old link fails, the new one works.
    r = olga.api("POST", f"/api/v1/orgs/{org}/invites", {"emails": ["late@acme.test"], "roles": ["viewer"]}, expect=201)
    invite_id = r.json()["results"][0]["inviteID"]
    old = mailbox.link("late@acme.test")
    olga.api("POST", f"/api/v1/orgs/{org}/invites/{invite_id}/resend", expect=200)
    new = mailbox.link("late@acme.test", count=2)
    assert new != old
    stale = requests.get(old, allow_redirects=False)
    assert stale.status_code == 410 and "newer invitation" in stale.text
    assert requests.get(new).status_code == 200

    # SSO-only: no password sign-up through the link, and a password session cannot reach the org.
    olga.api("POST", f"/api/v1/orgs/{org}/invites", {"emails": ["sso@acme.test"], "roles": ["member"], "ssoOnly": True}, expect=201)
    sso_link = mailbox.link("sso@acme.test")
    r = Client(base).api("POST", f"/api/v1/invites/{sso_link.split('/invite/')[1]}/accept", {"password": "a-fine-password"}, expect=403)
    assert "sso_required" in r.text
    olga.api("PATCH", f"/api/v1/orgs/{org}/members/{mx.id}", {"ssoOnly": True}, expect=200)
    assert "sso_required" in mx.api("GET", f"/api/v1/orgs/{org}", expect=403).text

    # The SMTP server goes away: the invite is acknowledged, the mail waits, and arrives once it is back.
    smtp.stop()
    olga.api("POST", f"/api/v1/orgs/{org}/invites", {"emails": ["patient@acme.test"], "roles": ["viewer"]}, expect=201)
    time.sleep(1.5)
    assert not [m for m in mailbox.messages if "patient@acme.test" in m[0]]
    smtp.start()
    link = mailbox.link("patient@acme.test")
    assert requests.get(link).status_code == 200

    if split_ctl:
        # A region that is down fails only its own orgs.
        us_token = re.search(r"/bootstrap/(\S+)", subprocess.run([binary, "admin", "bootstrap", "--region", "us", "--email", "us-ops@gatehouse.test"] + admin_args,
                                                                  check=True, capture_output=True, text=True).stdout).group(1)
        us = Client(base)
        us.api("POST", "/api/v1/auth/bootstrap", {"token": us_token, "password": "operator-pass-1"}, expect=200)
        us_org = us.api("POST", "/api/v1/regions/us/orgs", {"name": "Acme US", "ownerEmail": "u@acme.test"}, expect=201).json()["org"]["id"]
        split_ctl("eu")
        r = olga.api("GET", f"/api/v1/orgs/{org}", expect=503)
        assert "region_unavailable" in r.text
        assert any(o["id"] == us_org for o in us.api("GET", "/api/v1/regions/us/orgs", expect=200).json()["orgs"])
        assert olga.api("GET", "/api/v1/me", expect=200).json()["unavailableRegions"] == ["eu"]


def run(mode, binary, work):
    certdir = f"{work}/certs"
    os.makedirs(certdir, exist_ok=True)
    make_cert(certdir)
    smtp_port = free_port()
    mailbox = Mailbox()
    # AUTH PLAIN for the all-in-one run, AUTH LOGIN (PLAIN not offered) for the split run.
    smtp = SMTPServer(smtp_port, mailbox, certdir, ["LOGIN"] if mode == "allinone" else ["PLAIN"])
    smtp.start()
    gw_port = free_port()
    base = f"http://127.0.0.1:{gw_port}"
    config = {
        "publicBaseURL": base,
        "passwords": {"scryptLogN": 10},
        "store": {"synchronous": "NORMAL"},
        "log": {"level": "warning"},
        "mail": {"transport": "smtp", "from": "gatehouse@acme.test", "retryBaseSeconds": 0.3, "retryMaxSeconds": 1, "pollSeconds": 0.1,
                 "smtp": {"host": "127.0.0.1", "port": smtp_port, "security": "starttls", "username": SMTP_USER, "password": SMTP_PASS,
                          "caFile": f"{certdir}/cert.pem", "timeoutSeconds": 5}},
    }
    cfg = f"{work}/config.json"
    json.dump(config, open(cfg, "w"))
    procs = Procs()
    keys = f"{work}/keys"
    try:
        if mode == "allinone":
            data = f"{work}/data"
            procs.start("serve", [binary, "serve", "--port", str(gw_port), "--data-dir", data, "--config", cfg], gw_port, f"{work}/serve.log")
            admin_args, ctl = ["--data-dir", data, "--config", cfg], None
        else:
            urls = []
            for r in ["us", "eu", "apac"]:
                p = free_port()
                procs.start(r, [binary, "region", "--region", r, "--port", str(p), "--data-dir", f"{work}/{r}", "--keys-dir", keys, "--config", cfg],
                            p, f"{work}/{r}.log")
                urls += [f"--{r}", f"http://127.0.0.1:{p}"]
            data = f"{work}/gateway"
            procs.start("gateway", [binary, "gateway", "--port", str(gw_port), "--data-dir", data, "--keys-dir", keys, "--config", cfg] + urls,
                        gw_port, f"{work}/gateway.log")
            admin_args, ctl = ["--data-dir", data, "--keys-dir", keys, "--config", cfg], procs.stop
        story(base, binary, admin_args, mailbox, smtp, ctl)
    finally:
        procs.stop_all()
        try:
            smtp.stop()
        except Exception:
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build/debug/gatehouse"))
    ap.add_argument("--mode", default="both", choices=["both", "allinone", "split"])
    a = ap.parse_args()
    for mode in (["allinone", "split"] if a.mode == "both" else [a.mode]):
        work = tempfile.mkdtemp(prefix=f"gh-e2e-{mode}-")
        t = time.time()
        try:
            run(mode, a.binary, work)
        except BaseException:
            for log in sorted(os.listdir(work)):
                if log.endswith(".log"):
                    print(f"--- {log}\n" + open(f"{work}/{log}").read()[-3000:], file=sys.stderr)
            raise
        shutil.rmtree(work, ignore_errors=True)
        print(f"e2e story ({mode}): passed in {time.time() - t:.1f}s")


if __name__ == "__main__":
    main()
