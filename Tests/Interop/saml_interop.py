#!/usr/bin/env python3
"""SAML interop with a real identity provider: SimpleSAMLphp, started by ../shared/interop/saml-idp/start.sh.

Against the real `gatehouse serve` binary on loopback (with a real SMTP server for the owner's invite):
region admin provisions "Acme SSO" -> the owner signs up through her invite link -> the IdP is started
with the org's SP entity id and ACS -> the owner uploads the IdP's metadata (JIT on, default role member,
groups and uid mapped to user variables) and invites bob SSO-only as manager -> alice signs in through the
IdP (requests probe): JIT makes her a member with her names and mapped attributes, her session is
`saml:<org>` -> her Response posted a second time is refused (replay) -> bob signs in: his pending invite is
accepted by SSO and the SSO-only org opens to him -> zoe (non-ASCII, escaped names) -> admin signs in
through the IdP in headless Chromium (browser probe) and a screenshot is kept.

    python3 Tests/Interop/saml_interop.py --binary .build/debug/gatehouse [--artifacts DIR] [--no-browser]
"""
import argparse, base64, json, os, re, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "Tests", "E2E"))
import requests  # noqa: E402
from story import Client, Mailbox, Procs, SMTPServer, SMTP_PASS, SMTP_USER, csrf_of, free_port, make_cert  # noqa: E402
from dnstools import free_udp_port, prove_domain  # noqa: E402


def interop_dir():
    for d in [os.environ.get("GATEHOUSE_INTEROP_DIR"), os.path.join(os.path.dirname(ROOT), "shared", "interop")]:
        if d and os.path.exists(os.path.join(d, "saml-idp", "start.sh")):
            return os.path.join(d, "saml-idp")
    sys.exit("saml_interop: ../shared/interop/saml-idp not found (set GATEHOUSE_INTEROP_DIR)")


def probe(idp_dir, login_url, user, work, extra=()):
    out = os.path.join(work, f"response-{user.split('@')[0]}.xml")
    r = subprocess.run([sys.executable, os.path.join(idp_dir, "sp_probe.py"), login_url, "--user", user, "--json", "--save-response", out, *extra],
                       capture_output=True, text=True, timeout=120)
    try:
        report = json.loads(r.stdout)
    except ValueError:
        raise AssertionError(f"probe output for {user}: rc={r.returncode} {r.stdout[-2000:]} {r.stderr[-2000:]}")
    assert r.returncode == 0 and report.get("ok"), f"probe for {user} failed: {json.dumps(report, indent=1)[:4000]}"
    return report, open(out).read()


def session_client(base, report):
    c = Client(base)
    cookie = report["sp_cookies"]["gh_session"]
    c.s.cookies.set("gh_session", cookie, domain="127.0.0.1")
    me = c.api("GET", "/api/v1/me", expect=200).json()
    c.csrf = me.get("csrfToken")
    return c, me


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--artifacts", default=os.path.join(ROOT, ".build", "test-artifacts", "saml"))
    ap.add_argument("--no-browser", action="store_true")
    a = ap.parse_args()
    idp_dir = interop_dir()
    work = tempfile.mkdtemp(prefix="gh-saml-interop-")
    os.makedirs(a.artifacts, exist_ok=True)
    certdir = f"{work}/certs"
    os.makedirs(certdir)
    make_cert(certdir)
    mailbox = Mailbox()
    smtp_port = free_port()
    smtp = SMTPServer(smtp_port, mailbox, certdir, [])
    smtp.start()
    port, idp_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    cfg = f"{work}/config.json"
    # The SP key that signs AuthnRequests (made now, test-only, never committed).
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{work}/sp.key", "-out", f"{work}/sp.crt",
                    "-days", "2", "-subj", "/CN=gatehouse interop SP"], check=True, capture_output=True)
    dns_port = free_udp_port()
    json.dump({"publicBaseURL": base, "sso": {"dnsResolver": f"127.0.0.1:{dns_port}"}, "saml": {"spKeyFile": f"{work}/sp.key", "spCertFile": f"{work}/sp.crt"}, "passwords": {"scryptLogN": 10}, "log": {"level": "info"},
               "mail": {"transport": "smtp", "from": "gatehouse@acme.test", "pollSeconds": 0.1,
                        "smtp": {"host": "127.0.0.1", "port": smtp_port, "security": "starttls", "username": SMTP_USER, "password": SMTP_PASS,
                                 "caFile": f"{certdir}/cert.pem", "timeoutSeconds": 5}}}, open(cfg, "w"))
    procs = Procs()
    idp_state = f"{work}/idp"
    stop_later = [dict(os.environ, IDP_STATE_DIR=idp_state)]
    t0 = time.time()
    try:
        data = f"{work}/data"
        procs.start("serve", [a.binary, "serve", "--port", str(port), "--data-dir", data, "--config", cfg], port, f"{work}/serve.log")
        out = subprocess.run([a.binary, "admin", "bootstrap", "--region", "eu", "--email", "ops@gatehouse.test", "--data-dir", data, "--config", cfg],
                             check=True, capture_output=True, text=True).stdout
        ops = Client(base)
        ops.api("POST", "/api/v1/auth/bootstrap", {"token": re.search(r"/bootstrap/(\S+)", out).group(1), "password": "operator-pass-1"}, expect=200)
        org = ops.api("POST", "/api/v1/regions/eu/orgs", {"name": "Acme SSO", "ownerEmail": "olga@acme.test"}, expect=201).json()["org"]["id"]
        path = mailbox.link("olga@acme.test")[len(base):]
        olga = Client(base)
        page = olga.page("GET", path)
        olga.page("POST", path + "/signup", {"csrf": csrf_of(page.text), "firstName": "Olga", "lastName": "Owner", "password": "olga-secret-pass"})
        page = olga.page("GET", path)
        assert olga.page("POST", path + "/accept", {"csrf": csrf_of(page.text)}).status_code == 303
        olga.api("GET", "/api/v1/me", expect=200)

        # The SP facts come from Gatehouse; the IdP is registered with them.
        sp = olga.api("GET", f"/api/v1/orgs/{org}/sso", expect=200).json()
        assert sp["configured"] is False
        sp = sp["sp"]
        metadata = requests.get(sp["metadataURL"]).text
        assert 'entityID="%s"' % sp["entityID"] in metadata and sp["acsURL"] in metadata
        env = dict(os.environ, IDP_STATE_DIR=idp_state, IDP_PORT=str(idp_port))
        started = subprocess.run([os.path.join(idp_dir, "start.sh"), "--sp-entity-id", sp["entityID"], "--sp-acs-url", sp["acsURL"]],
                                 capture_output=True, text=True, env=env, timeout=600)
        assert started.returncode == 0, started.stderr[-3000:]
        idp = dict(line.split("=", 1) for line in started.stdout.splitlines() if "=" in line)
        print(f"IdP up at {idp['IDP_SSO_URL']} after {time.time() - t0:.1f} s")

        # Wrong metadata is refused by name; the real metadata is accepted.
        r = olga.api("PUT", f"/api/v1/orgs/{org}/sso", {"metadataXML": "<nope/>"}, expect=422)
        assert r.json()["error"]["code"] == "invalid_metadata", r.text
        settings = olga.api("PUT", f"/api/v1/orgs/{org}/sso", {
            "metadataXML": open(idp["IDP_METADATA_FILE"]).read(),
            "jit": {"enabled": True, "defaultRole": "member"},
            "attributes": {"firstName": "givenName", "lastName": "sn", "variables": {"groups": "groups", "uid": "uid"}}}, expect=200).json()
        assert settings["settings"]["idp"]["entityID"] == idp["IDP_ENTITY_ID"], settings
        olga.api("POST", f"/api/v1/orgs/{org}/invites", {"emails": "bob@example.com", "roles": ["manager"], "ssoOnly": True}, expect=201)
        # JIT creates accounts only in a domain the org has proven: example.com, by a TXT record dnsmasq serves.
        prove_domain(olga, org, "example.com", dns_port, f"{work}/dnsmasq.log")

        login = f"{base}/sso/{org}/login?next=/"
        # alice: JIT provisioning with names and mapped attributes.
        report, alice_xml = probe(idp_dir, login, "alice@example.com", work, ["--expect-text", "Acme SSO", "--verify-cert", idp["IDP_CERT_FILE"]])
        alice, me = session_client(base, report)
        assert me["account"]["email"] == "alice@example.com", me
        m = [x for x in me["memberships"] if x["orgID"] == org]
        assert m and m[0]["roles"] == ["member"], me
        member = olga.api("GET", f"/api/v1/orgs/{org}/members/{me['account']['id']}", expect=200).json()
        assert (member["firstName"], member["lastName"]) == ("Alice", "Anderson"), member
        assert member["userVariables"] == {"groups": "users,engineering", "uid": "alice"}, member
        audit = olga.api("GET", f"/api/v1/orgs/{org}/audit", expect=200).text
        assert "member.provisioned" in audit
        print("alice: JIT member with names and mapped attributes")

        # The same Response posted again is refused.
        r = requests.post(sp["acsURL"], data={"SAMLResponse": base64.b64encode(alice_xml.encode()).decode()}, allow_redirects=False)
        # The browser gets a generic page with a reference; the precise reason is in the server's log only.
        assert r.status_code == 403 and "not accepted" in r.text and "already used" not in r.text, (r.status_code, r.text[:800])
        time.sleep(0.2)
        assert "already used" in open(f"{work}/serve.log").read(), "the refusal reason is logged"
        # A tampered copy of a real, IdP-signed Response is refused.
        tampered = alice_xml.replace(">alice@example.com<", ">olga@acme.test<")
        assert tampered != alice_xml
        r = requests.post(sp["acsURL"], data={"SAMLResponse": base64.b64encode(tampered.encode()).decode()}, allow_redirects=False)
        assert r.status_code == 403 and "gh_session" not in r.headers.get("Set-Cookie", ""), r.text[:800]
        print("replayed and tampered responses refused")

        # bob: his SSO-only invite is accepted by the SSO login; the org opens to a saml:<org> session only.
        report, _ = probe(idp_dir, login, "bob@example.com", work, ["--expect-text", "Acme SSO"])
        bob, me = session_client(base, report)
        m = [x for x in me["memberships"] if x["orgID"] == org]
        assert m and m[0]["roles"] == ["manager"] and m[0]["ssoOnly"] is True, me
        bob.api("GET", f"/api/v1/orgs/{org}", expect=200)
        invites = olga.api("GET", f"/api/v1/orgs/{org}/invites", expect=200).json()
        assert any(i["email"] == "bob@example.com" and i["status"] == "joined" for i in invites["invites"]), invites
        print("bob: invite accepted through SSO, SSO-only org reachable")

        # zoe: non-ASCII and escaped characters arrive intact.
        report, _ = probe(idp_dir, login, "zoe@example.com", work)
        _, me = session_client(base, report)
        member = olga.api("GET", f"/api/v1/orgs/{org}/members/{me['account']['id']}", expect=200).json()
        assert (member["firstName"], member["lastName"]) == ("Zoë", "O'Brien & Søn <QA>"), member
        print("zoe: names intact")

        # Signed AuthnRequests: a second org whose IdP (another SimpleSAMLphp) refuses unsigned requests.
        org2 = ops.api("POST", "/api/v1/regions/eu/orgs", {"name": "Beta Signed", "ownerEmail": "olga@acme.test"}, expect=201).json()["org"]["id"]
        token = mailbox.link("olga@acme.test", 3).split("/invite/")[1]
        olga.api("POST", f"/api/v1/invites/{token}/accept", {}, expect=200)
        sp2 = olga.api("GET", f"/api/v1/orgs/{org2}/sso", expect=200).json()["sp"]
        idp2_state = f"{work}/idp2"
        env2 = dict(os.environ, IDP_STATE_DIR=idp2_state, IDP_PORT=str(free_port()))
        started = subprocess.run([os.path.join(idp_dir, "start.sh"), "--sp-entity-id", sp2["entityID"], "--sp-acs-url", sp2["acsURL"],
                                  "--sp-cert", f"{work}/sp.crt"], capture_output=True, text=True, env=env2, timeout=600)
        stop_later.append(env2)
        assert started.returncode == 0, started.stderr[-3000:]
        idp2 = dict(line.split("=", 1) for line in started.stdout.splitlines() if "=" in line)
        assert idp2["SP_SIGNED_AUTHNREQUESTS_REQUIRED"] == "yes", idp2
        olga.api("PUT", f"/api/v1/orgs/{org2}/sso", {"metadataXML": open(idp2["IDP_METADATA_FILE"]).read(), "signRequests": True,
                                                     "jit": {"enabled": True, "defaultRole": "viewer"}}, expect=200)
        assert 'AuthnRequestsSigned="true"' in requests.get(sp2["metadataURL"]).text
        # Beta's IdP is trusted for Beta only: it signs in a newcomer Beta invited (alice's account, made by Acme's
        # IdP and linked to it, would be sent to link her account first).
        olga.api("POST", f"/api/v1/orgs/{org2}/invites", {"emails": "admin@example.com", "roles": ["viewer"]}, expect=201)
        report, _ = probe(idp_dir, f"{base}/sso/{org2}/login?next=/", "admin@example.com", work, ["--expect-text", "Beta Signed"])
        assert report["authn_request"]["query_signature"], report["authn_request"]
        # Proof that this IdP checks: the same login with unsigned requests is turned away by it.
        olga.api("PUT", f"/api/v1/orgs/{org2}/sso", {"signRequests": False}, expect=200)
        r = subprocess.run([sys.executable, os.path.join(idp_dir, "sp_probe.py"), f"{base}/sso/{org2}/login?next=/", "--user", "bob@example.com", "--json"],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode != 0 and "gh_session" not in r.stdout, r.stdout[-2000:]
        print("signed AuthnRequests accepted by an IdP that requires them (unsigned ones refused by it)")

        if not a.no_browser:
            shot = os.path.join(a.artifacts, "saml-after-login.png")
            r = subprocess.run([sys.executable, os.path.join(idp_dir, "browser_probe.py"), login, "--user", "admin@example.com",
                                "--screenshot", shot, "--idp-screenshot", os.path.join(a.artifacts, "saml-idp-login.png"),
                                "--expect-text", "Acme SSO", "--expect-url-prefix", base + "/", "--json"],
                               capture_output=True, text=True, timeout=180)
            assert r.returncode == 0, f"browser probe: {r.stdout[-3000:]} {r.stderr[-2000:]}"
            print(f"admin: signed in through headless Chromium; screenshot {shot}")
        print(f"SAML interop passed in {time.time() - t0:.1f} s")
    except Exception:
        log = f"{work}/serve.log"
        if os.path.exists(log):
            print(open(log).read()[-4000:], file=sys.stderr)
        raise
    finally:
        procs.stop_all()
        for env in stop_later:
            subprocess.run([os.path.join(idp_dir, "stop.sh")], env=env, capture_output=True)
        try:
            smtp.stop()
        except Exception:
            pass


if __name__ == "__main__":
    main()
