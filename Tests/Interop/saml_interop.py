#!/usr/bin/env python3
"""SAML interop with a real identity provider: SimpleSAMLphp, run by this directory's own harness (idp.py).

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
import argparse, base64, json, os, re, subprocess, sys, tempfile, time, urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "Tests", "E2E"))
import requests  # noqa: E402
from story import Client, Mailbox, Procs, SMTPServer, SMTP_PASS, SMTP_USER, csrf_of, free_port, make_cert  # noqa: E402
from dnstools import free_udp_port, prove_domain  # noqa: E402

sys.path.insert(0, HERE)
from idp import IdP, SP, Agent, Forms, browser_sign_in  # noqa: E402


def xmlsec_verify(xml, cert_file, work):
    """An independent check of what the IdP signed: xmlsec1 verifies the Response's signature with the IdP cert."""
    path = os.path.join(work, "checked-response.xml")
    open(path, "w").write(xml)
    r = subprocess.run(["xmlsec1", "--verify", "--pubkey-cert-pem", cert_file, "--id-attr:ID",
                        "urn:oasis:names:tc:SAML:2.0:protocol:Response", path], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]


def sign_in(login, user, expect_text=None):
    """An SP-initiated sign-in by a fresh agent; returns it with its Gatehouse session ready for API calls."""
    agent = Agent()
    page = agent.sign_in(login, user)
    assert agent.cookie("gh_session"), f"{user}: no session after the ACS (HTTP {page.status_code} at {page.url}): {page.text[:1500]}"
    if expect_text:
        assert expect_text in page.text, page.text[:1500]
    return agent, agent.last("Response")["xml"]


def invite_token(mailbox, rcpt, org_name, timeout=20):
    """The token of the invite link in the mail that invites `rcpt` to `org_name`."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for _, msg, _, _ in mailbox.wait_for(rcpt):
            text = msg.get_body(("plain",)).get_content()
            m = re.search(r"/invite/(\S+)", text)
            if m and org_name in text:
                return m.group(1)
        time.sleep(0.1)
    raise AssertionError(f"no invite to {org_name} for {rcpt}")


def session_client(base, agent):
    c = Client(base)
    c.s.cookies.set("gh_session", agent.cookie("gh_session"), domain="127.0.0.1")
    me = c.api("GET", "/api/v1/me", expect=200).json()
    c.csrf = me.get("csrfToken")
    return c, me


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--artifacts", default=os.path.join(ROOT, ".build", "test-artifacts", "saml"))
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--keep-idp-logs", action="store_true", help="print the IdPs' logs at the end")
    a = ap.parse_args()
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
    idps = []
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
        idp = IdP(f"{work}/idp", idp_port, [SP(sp["entityID"], sp["acsURL"])])
        idps.append(idp)
        idp.start()
        print(f"IdP up at {idp.sso_url} after {time.time() - t0:.1f} s")

        # Wrong metadata is refused by name; the real metadata is accepted.
        r = olga.api("PUT", f"/api/v1/orgs/{org}/sso", {"metadataXML": "<nope/>"}, expect=422)
        assert r.json()["error"]["code"] == "invalid_metadata", r.text
        settings = olga.api("PUT", f"/api/v1/orgs/{org}/sso", {
            "metadataXML": idp.metadata_xml,
            "jit": {"enabled": True, "defaultRole": "member"},
            "attributes": {"firstName": "givenName", "lastName": "sn", "variables": {"groups": "groups", "uid": "uid"}}}, expect=200).json()
        assert settings["settings"]["idp"]["entityID"] == idp.entity_id, settings
        olga.api("POST", f"/api/v1/orgs/{org}/invites", {"emails": "bob@example.com", "roles": ["manager"], "ssoOnly": True}, expect=201)
        # JIT creates accounts only in a domain the org has proven: example.com, by a TXT record dnsmasq serves.
        prove_domain(olga, org, "example.com", dns_port, f"{work}/dnsmasq.log")

        login = f"{base}/sso/{org}/login?next=/"
        # alice: JIT provisioning with names and mapped attributes.
        agent, alice_xml = sign_in(login, "alice@example.com", "Acme SSO")
        xmlsec_verify(alice_xml, idp.cert_file, work)
        alice, me = session_client(base, agent)
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
        agent, _ = sign_in(login, "bob@example.com", "Acme SSO")
        bob, me = session_client(base, agent)
        m = [x for x in me["memberships"] if x["orgID"] == org]
        assert m and m[0]["roles"] == ["manager"] and m[0]["ssoOnly"] is True, me
        bob.api("GET", f"/api/v1/orgs/{org}", expect=200)
        invites = olga.api("GET", f"/api/v1/orgs/{org}/invites", expect=200).json()
        assert any(i["email"] == "bob@example.com" and i["status"] == "joined" for i in invites["invites"]), invites
        print("bob: invite accepted through SSO, SSO-only org reachable")

        # zoe: non-ASCII and escaped characters arrive intact.
        agent, _ = sign_in(login, "zoe@example.com")
        _, me = session_client(base, agent)
        member = olga.api("GET", f"/api/v1/orgs/{org}/members/{me['account']['id']}", expect=200).json()
        assert (member["firstName"], member["lastName"]) == ("Zoë", "O'Brien & Søn <QA>"), member
        print("zoe: names intact")

        # Signed AuthnRequests: a second org whose IdP (another SimpleSAMLphp) refuses unsigned requests.
        org2 = ops.api("POST", "/api/v1/regions/eu/orgs", {"name": "Beta Signed", "ownerEmail": "olga@acme.test"}, expect=201).json()["org"]["id"]
        token = mailbox.link("olga@acme.test", 3).split("/invite/")[1]
        olga.api("POST", f"/api/v1/invites/{token}/accept", {}, expect=200)
        sp2 = olga.api("GET", f"/api/v1/orgs/{org2}/sso", expect=200).json()["sp"]
        # Another IdP that knows the SP's certificate and therefore refuses unsigned requests.
        idp2 = IdP(f"{work}/idp2", free_port(), [SP(sp2["entityID"], sp2["acsURL"], cert_file=f"{work}/sp.crt")])
        idps.append(idp2)
        idp2.start()
        olga.api("PUT", f"/api/v1/orgs/{org2}/sso", {"metadataXML": idp2.metadata_xml, "signRequests": True,
                                                     "jit": {"enabled": True, "defaultRole": "viewer"}}, expect=200)
        assert 'AuthnRequestsSigned="true"' in requests.get(sp2["metadataURL"]).text
        # Beta's IdP is trusted for Beta only: it signs in a newcomer Beta invited (alice's account, made by Acme's
        # IdP and linked to it, would be sent to link her account first).
        olga.api("POST", f"/api/v1/orgs/{org2}/invites", {"emails": "admin@example.com", "roles": ["viewer"]}, expect=201)
        agent, _ = sign_in(f"{base}/sso/{org2}/login?next=/", "admin@example.com", "Beta Signed")
        assert agent.last("AuthnRequest")["signed"], agent.last("AuthnRequest")
        # Proof that this IdP checks: the same login with unsigned requests is turned away by it.
        olga.api("PUT", f"/api/v1/orgs/{org2}/sso", {"signRequests": False}, expect=200)
        agent = Agent()
        page = agent.sign_in(f"{base}/sso/{org2}/login?next=/", "bob@example.com")
        assert not agent.last("AuthnRequest")["signed"] and agent.cookie("gh_session") is None, page.text[:1500]
        assert agent.last("Response") is None, "the IdP answered an unsigned request"
        print("signed AuthnRequests accepted by an IdP that requires them (unsigned ones refused by it)")

        # Gamma: an IdP that takes sign-in requests over HTTP-POST only, requires them signed, encrypts every
        # assertion to the SP's certificate, and does Single Logout (signed both ways).
        org3 = ops.api("POST", "/api/v1/regions/eu/orgs", {"name": "Gamma Secure", "ownerEmail": "olga@acme.test"}, expect=201).json()["org"]["id"]
        token = invite_token(mailbox, "olga@acme.test", "Gamma Secure")
        olga.api("POST", f"/api/v1/invites/{token}/accept", {}, expect=200)
        sp3 = olga.api("GET", f"/api/v1/orgs/{org3}/sso", expect=200).json()["sp"]
        sp3_metadata = requests.get(sp3["metadataURL"]).text
        assert 'use="encryption"' in sp3_metadata and f'Location="{sp3["sloURL"]}"' in sp3_metadata, sp3_metadata
        idp3 = IdP(f"{work}/idp3", free_port(), [SP(sp3["entityID"], sp3["acsURL"], slo_url=sp3["sloURL"],
                                                    cert_file=f"{work}/sp.crt", encrypt=True)])
        idps.append(idp3)
        idp3.start()
        post_only = re.sub(r'<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"[^>]*/>', "",
                           idp3.metadata_xml)
        assert post_only != idp3.metadata_xml and "SingleLogoutService" in post_only
        s3 = olga.api("PUT", f"/api/v1/orgs/{org3}/sso", {"metadataXML": post_only, "signRequests": True}, expect=200).json()
        assert s3["settings"]["idp"]["ssoBinding"].endswith("HTTP-POST") and s3["settings"]["idp"]["sloURL"] == idp3.slo_url, s3
        olga.api("POST", f"/api/v1/orgs/{org3}/invites", {"emails": "carol@example.com, dave@example.com", "roles": ["member"]}, expect=201)
        login3 = f"{base}/sso/{org3}/login?next=/"

        # carol: a POST-binding request signed inside the XML, an encrypted assertion, then SP-initiated logout.
        carol, _ = sign_in(login3, "carol@example.com", "Gamma Secure")
        req = carol.last("AuthnRequest")
        assert req["binding"] == "post" and "<ds:Signature" in req["xml"], req
        assert "EncryptedAssertion" in carol.last("Response")["xml"] and "carol@example.com" not in carol.last("Response")["xml"]
        cookie = carol.cookie("gh_session")
        home = carol.s.get(f"{base}/")
        form = next(f for f in Forms(home.text).forms if f["action"] == "/logout")
        page = carol.walk("POST", f"{base}/logout", data=form["fields"])
        lreq, lres = carol.last("LogoutRequest"), carol.last("LogoutResponse")
        assert lreq and lreq["signed"] and lreq["to"] == idp3.slo_url, carol.messages[-3:]
        assert lres and lres["signed"] and lres["to"] == sp3["sloURL"], lres
        assert "signed out of Gatehouse and of your organization" in page.text, page.text[:1500]
        assert requests.get(f"{base}/api/v1/me", cookies={"gh_session": cookie}).status_code == 401
        again = carol.walk("GET", login3)  # the IdP's session ended too: it asks for the password again
        assert Forms(again.text).with_field("password") is not None, again.text[:800]
        print("carol: POST-binding request, encrypted assertion, SP-initiated single logout at both ends")

        # dave: IdP-initiated logout ends his Gatehouse session; replayed and unsigned LogoutRequests are refused.
        dave, _ = sign_in(login3, "dave@example.com", "Gamma Secure")
        cookie = dave.cookie("gh_session")
        assert requests.get(f"{base}/api/v1/me", cookies={"gh_session": cookie}).status_code == 200
        page = dave.walk("GET", idp3.slo_url + "?ReturnTo=" + urllib.parse.quote(f"{base}/login", safe=""))
        lreq, lres = dave.last("LogoutRequest"), dave.last("LogoutResponse")
        assert lreq and lreq["signed"] and lreq["to"] == sp3["sloURL"], dave.messages[-3:]
        assert lres and lres["signed"] and lres["to"] == idp3.slo_url, lres
        assert requests.get(f"{base}/api/v1/me", cookies={"gh_session": cookie}).status_code == 401
        r = requests.get(lreq["url"], allow_redirects=False)
        assert r.status_code == 403 and "not accepted" in r.text, (r.status_code, r.text[:500])
        unsigned = re.sub(r"&(SigAlg|Signature)=[^&]*", "", lreq["url"])
        assert unsigned != lreq["url"]
        r = requests.get(unsigned, allow_redirects=False)
        assert r.status_code == 403, r.status_code
        time.sleep(0.2)
        log = open(f"{work}/serve.log").read()
        assert "this logout message was already used" in log and "logout messages must be signed" in log
        print("dave: IdP-initiated single logout; replayed and unsigned LogoutRequests refused")

        if not a.no_browser:
            shot = os.path.join(a.artifacts, "saml-after-login.png")
            seen = browser_sign_in(login, "admin@example.com", screenshot=shot, expect_text="Acme SSO",
                                   idp_screenshot=os.path.join(a.artifacts, "saml-idp-login.png"))
            assert seen["url"].startswith(base + "/") and "gh_session" in seen["cookies"], seen
            print(f"admin: signed in through headless Chromium; screenshot {shot}")
        print(f"SAML interop passed in {time.time() - t0:.1f} s")
    except Exception:
        log = f"{work}/serve.log"
        if os.path.exists(log):
            print(open(log).read()[-4000:], file=sys.stderr)
        for idp in idps:
            print(idp.tail(), file=sys.stderr)
        raise
    finally:
        procs.stop_all()
        for idp in idps:
            if a.keep_idp_logs:
                print(idp.tail(), file=sys.stderr)
            idp.stop()
        try:
            smtp.stop()
        except Exception:
            pass


if __name__ == "__main__":
    main()
