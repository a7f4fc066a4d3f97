#!/usr/bin/env python3
"""The console in a real browser: headless Chromium (Debian chromium + chromium-driver) driven by selenium,
against the real `gatehouse serve` binary and a real SMTP server (aiosmtpd) for the invite mails.

region admin provisions orgs in the region console (and deletes one with a typed confirmation) -> the owner
signs up through her mailed link -> owner invites by pasting three addresses -> each invitee follows their
link, signs up, confirms -> owner filters, sorts, bulk-changes roles (the confirmation names who and what),
removes one -> a manager tries what a manager may not -> a person in two orgs switches org -> "view as" ->
account page. Screenshots of the key pages at 1280 px and 375 px go to the artifacts directory.

    python3 Tests/Browser/console_story.py --binary .build/debug/gatehouse [--artifacts DIR]
"""
import argparse, json, os, re, shutil, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "Tests", "E2E"))
os.environ.setdefault("SE_OFFLINE", "true")
import http.server, threading  # noqa: E402
import jwt  # noqa: E402  (PyPI PyJWT)
import requests  # noqa: E402
from axe_selenium_python import Axe  # noqa: E402
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402
from story import Client, Mailbox, Procs, SMTPServer, SMTP_PASS, SMTP_USER, free_port, make_cert  # noqa: E402


class Browser:
    def __init__(self, base, artifacts):
        self.base, self.artifacts, self.shots, self.axe_pages, self.axe_failures = base, artifacts, [], 0, []
        chromium = shutil.which("chromium") or "/usr/lib/chromium/chromium"
        driver = shutil.which("chromedriver") or "/usr/lib/chromium/chromedriver"
        opts = webdriver.ChromeOptions()
        opts.binary_location = chromium
        for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900",
                    "--no-first-run", "--disable-extensions", "--disable-background-networking", "--password-store=basic"]:
            opts.add_argument(arg)
        self.d = webdriver.Chrome(service=Service(executable_path=driver), options=opts)
        self.d.implicitly_wait(3)

    def go(self, path):
        self.d.get(self.base + path if path.startswith("/") else path)

    def fill(self, field_id, value):
        el = self.d.find_element(By.ID, field_id)
        el.clear()
        el.send_keys(value)

    def click(self, text, tag="button"):
        """Clicks the visible button (or link) with that text and waits for the next page to load."""
        matches = [el for el in self.d.find_elements(By.TAG_NAME, tag) if el.is_displayed() and el.text.strip() == text]
        assert matches, f"no visible {tag} '{text}' on {self.d.current_url}: {self.text()[:1500]}"
        self.submit(matches[0])

    def submit(self, element):
        # A marker on the old page's window: gone once the browser has navigated to the next page.
        self.d.execute_script("window.__ghOldPage = true")
        element.click()
        WebDriverWait(self.d, 10).until(
            lambda d: d.execute_script("return window.__ghOldPage !== true && document.readyState === 'complete'"))

    def text(self):
        return self.d.find_element(By.TAG_NAME, "body").text

    def h1(self):
        return self.d.find_element(By.TAG_NAME, "h1").text

    def expect(self, *needles):
        t = self.text()
        for n in needles:
            assert n in t, f"'{n}' not on {self.d.current_url}:\n{t[:3000]}"

    def accessible(self, name):
        """axe-core (PyPI axe-selenium-python) on the page: no serious or critical violation."""
        axe = Axe(self.d)
        axe.inject()
        results = axe.run()
        bad = [v for v in results["violations"] if v.get("impact") in ("serious", "critical")]
        self.axe_pages += 1
        # Collected, and asserted at the end of the story: one run names every page's violations.
        self.axe_failures += [f"{name}: {v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
                              f" {[n.get('failureSummary', '')[:300] for n in v['nodes']][:1]}"
                              for v in bad]

    def shot(self, name):
        """Screenshots at 1280 px and 375 px wide (full page height), no horizontal overflow at 375, and axe-core
        finds no serious or critical violation."""
        self.accessible(name)
        for width in (1280, 375):
            self.d.set_window_size(width, 900)
            height = self.d.execute_script("return Math.max(document.body.scrollHeight, 600)")
            self.d.set_window_size(width, min(height + 120, 4000))
            path = os.path.join(self.artifacts, f"{name}-{width}.png")
            self.d.save_screenshot(path)
            self.shots.append(path)
            if width == 375:
                overflow = self.d.execute_script(
                    "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
                assert overflow <= 1, f"{name}: the page is {overflow}px wider than a 375px screen"
                # Nothing to act on is clipped: every visible button, link and field of every table lies within the
                # screen (tables become stacked rows on a phone).
                clipped = self.d.execute_script("""
                    const w = document.documentElement.clientWidth;
                    return [...document.querySelectorAll('table button, table a, table select, table input')]
                      .filter(e => e.offsetParent !== null && e.getBoundingClientRect().right > w + 1)
                      .map(e => e.textContent.trim() || e.name);""")
                assert not clipped, f"{name}: clipped at 375px: {clipped}"
        self.d.set_window_size(1280, 900)

    def sign_out(self):
        self.d.delete_all_cookies()

    def sign_in(self, email, password):
        self.sign_out()
        self.go("/login")
        self.fill("email", email)
        self.fill("password", password)
        self.click("Sign in")
        assert "/login" not in self.d.current_url, self.text()[:1000]

    def member_ids(self):
        ids = {}
        for row in self.d.find_elements(By.CSS_SELECTOR, "table#members tbody tr"):
            href = [a.get_attribute("href") for a in row.find_elements(By.TAG_NAME, "a") if "/members/" in a.get_attribute("href")][0]
            ids[row.find_elements(By.TAG_NAME, "td")[2].get_attribute("textContent")] = href.rsplit("/", 1)[1]
        return ids

    def rows(self, table="members"):
        return [r.text for r in self.d.find_elements(By.CSS_SELECTOR, f"table#{table} tbody tr")]


def sign_up_through_link(b, link, first, last, password):
    b.sign_out()
    b.go(link)
    b.expect("Join ")
    b.fill("first", first)
    b.fill("last", last)
    b.fill("password", password)
    b.click("Create account")
    b.expect("Join ")
    b.submit([el for el in b.d.find_elements(By.TAG_NAME, "button") if el.text.startswith("Join ")][0])


class PortalUpstream(http.server.BaseHTTPRequestHandler):
    """The org's Portal: a page for whoever Gatehouse's JWT (verified with PyJWT's JWKS client) says it is."""
    jwks, issuer = None, None

    def do_GET(self):
        try:
            token = self.headers.get("X-Gatehouse-Assertion", "")
            claims = jwt.decode(token, PortalUpstream.jwks.get_signing_key_from_jwt(token).key, algorithms=["ES256"],
                                audience="portal", issuer=PortalUpstream.issuer)
            body, status = (f"<!doctype html><html lang=en><head><title>Portal</title></head><body><main><h1>Portal</h1>"
                            f"<p id=who>Portal for {claims['email']} ({claims['app_role']})</p></main></body></html>"), 200
        except Exception as e:  # noqa: BLE001
            body, status = f"refused: {type(e).__name__}", 401
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *a):
        pass


def portal_story(b, org, base, upstream_port):
    """Apps behind the gateway (issue 19): the owner puts the Portal behind Gatehouse for managers, asks "would Max
    get in?", grants it; a manager opens it (the upstream verifies who she is with PyJWT), a member is told why not."""
    PortalUpstream.jwks, PortalUpstream.issuer = jwt.PyJWKClient(f"{base}/.well-known/jwks.json"), base
    b.sign_in("olga@acme.test", "olga-secret-pass")
    # The Portal is one of every org's starting pages: it is there, served at /apps/portal/ once connected.
    b.go(f"/console/{org}/apps")
    b.click("Portal", tag="a")
    b.expect("Not behind the gateway yet")
    assert b.d.find_element(By.ID, "slug").get_attribute("value") == "portal"
    b.fill("upstream", f"http://127.0.0.1:{upstream_port}")
    b.d.find_element(By.CSS_SELECTOR, "input[name=ruleRole][value=manager]").click()
    b.shot("app-gateway")
    b.click("Save")
    b.expect("Served at", "/apps/portal/")
    b.go(f"/console/{org}/members")
    ids = b.member_ids()
    for who in ["mia@acme.test", "max@acme.test"]:
        b.go(f"/console/{org}/members/{ids[who]}")
        Select(b.d.find_element(By.ID, "grant-app")).select_by_visible_text("Portal")
        b.click("Grant access")
        b.expect("App access updated")
    b.go(f"/console/{org}/apps")
    b.click("Portal", tag="a")
    Select(b.d.find_element(By.ID, "check-member")).select_by_visible_text("Max Mustermann (max@acme.test)")
    b.click("Check")
    b.expect("No. Your role Member may not open Portal.")
    b.sign_in("mia@acme.test", "mia-password-long")
    # She works in two orgs: the switcher says which one her /apps/ belong to.
    b.go("/")
    Select(b.d.find_element(By.ID, "org-switch")).select_by_visible_text(
        [o.text for o in b.d.find_elements(By.CSS_SELECTOR, "#org-switch option") if o.text.startswith("Acme")][0])
    b.click("Switch")
    b.go("/apps/portal/")
    b.expect("Portal for mia@acme.test (viewer)")
    b.sign_in("max@acme.test", "max-password-long")
    b.go("/apps/portal/")
    b.expect("Not allowed", "Your role Member may not open Portal.")
    b.shot("app-refused")
    b.sign_out()


def export_import_story(b, org, base, admin, work):
    """App export → import between an EU and a US org (issue 19): a second operator runs the US region (its link
    from `gatehouse admin bootstrap`), provisions Acme US for Olga; she downloads the Portal from the EU org and
    uploads it into the US one, which says what stayed behind."""
    out = subprocess.run([admin[0], "admin", "bootstrap", "--region", "us", "--email", "usops@gatehouse.test"] + admin[1:],
                         check=True, capture_output=True, text=True).stdout
    b.sign_out()
    b.go("/bootstrap/" + re.search(r"/bootstrap/(\S+)", out).group(1))
    b.fill("password", "us-operator-pass-1")
    b.click("Set password and sign in")
    b.expect("Region US")
    b.fill("org-name", "Acme US")
    b.fill("owner-email", "olga@acme.test")
    b.click("Provision")
    b.expect("Organization created")
    b.sign_in("olga@acme.test", "olga-secret-pass")
    b.go("/")
    inv = [li for li in b.d.find_elements(By.CSS_SELECTOR, "#invitations li") if "Acme US" in li.text][0]
    b.submit(inv.find_element(By.XPATH, ".//button[text()='Accept']"))
    us = [o.get_attribute("value") for o in b.d.find_elements(By.CSS_SELECTOR, "#org-switch option") if o.text.startswith("Acme US")][0]
    # Download the Portal from the EU org (the link on its page), as the browser would save it.
    b.go(f"/console/{org}/apps")
    b.click("Portal", tag="a")
    href = b.d.find_element(By.LINK_TEXT, "Download as ZIP").get_attribute("href")
    cookies = {c["name"]: c["value"] for c in b.d.get_cookies()}
    zip_bytes = requests.get(href, cookies=cookies, timeout=10).content
    path = os.path.join(work, "portal.gatehouse-app.zip")
    open(path, "wb").write(zip_bytes)
    assert zip_bytes[:2] == b"PK", zip_bytes[:40]
    b.go(f"/console/{us}/apps")
    b.d.find_element(By.ID, "app-file").send_keys(path)
    b.shot("app-import")
    b.click("Import app")
    # Acme US has its own Portal (a starting page) at /apps/portal/: the import says to choose another slug.
    b.expect("App imported", "Imported Portal", "Left behind", "members and their access", "slug portal is taken")
    b.shot("app-imported")
    b.go(f"/console/{us}/apps")
    assert sum(r.startswith("Portal") for r in b.rows("apps")) == 2, b.rows("apps")
    b.sign_out()


def agency_story(b, mailbox, org, base):
    """Agencies (issue 18), with nothing but the console: the owner asks the region to register an agency, the
    region admin approves, the owner grants two apps to three agency addresses (one already a member), the newcomers
    join from their mail, an agency person passes one of her apps to a colleague and is refused for an outsider,
    the owner revokes, and her API key dies."""
    b.sign_in("olga@acme.test", "olga-secret-pass")
    for app in ["Web", "Ads"]:
        b.go(f"/console/{org}/apps")
        b.fill("app-name", app)
        b.click("Create app")
        b.expect("App created")
    # Dora is already a member, with an address of the agency.
    b.go(f"/console/{org}/invites")
    b.fill("emails", "dora@blue.test")
    b.click("Send invites")
    b.expect("1 of 1 invited")
    sign_up_through_link(b, mailbox.link("dora@blue.test"), "Dora", "Blue", "dora-password-long")
    b.sign_in("olga@acme.test", "olga-secret-pass")
    b.go(f"/console/{org}/agency")
    b.expect("No agency works for this organization yet")
    b.fill("request-name", "Blue Agency")
    b.fill("request-domains", "blue.test")
    b.shot("agency-empty")
    b.click("Ask to register")
    b.expect("Request sent", "Pending")
    # The region admin approves; the owner is told by mail.
    b.sign_in("ops@gatehouse.test", "operator-pass-1")
    b.go("/region/eu")
    b.expect("Requests waiting for you", "Blue Agency")
    b.shot("region-agency-request")
    b.click("Approve")
    b.expect("Request approved")
    deadline = time.time() + 20
    while time.time() < deadline and not any("Agency Blue Agency: request approved" in (m[1]["subject"] or "")
                                               for m in mailbox.messages if "olga@acme.test" in m[0]):
        time.sleep(0.05)
    assert any("request approved" in (m[1]["subject"] or "") for m in mailbox.messages if "olga@acme.test" in m[0])
    # The owner grants Web and Ads to three agency addresses: Dora gets them at once, the others are invited.
    b.sign_in("olga@acme.test", "olga-secret-pass")
    b.go(f"/console/{org}/agency")
    b.expect("Blue Agency", "Domains: blue.test")
    b.d.find_element(By.CSS_SELECTOR, "details.panel summary").click()
    form = b.d.find_element(By.CSS_SELECTOR, "form[id^=grant-]")
    for label in form.find_elements(By.TAG_NAME, "label"):
        if label.text.strip() in ("Web", "Ads"):
            label.click()
    Select(form.find_element(By.CSS_SELECTOR, "select[name=appRole]")).select_by_visible_text("Editor")
    form.find_element(By.TAG_NAME, "textarea").send_keys("ann@blue.test, ben@blue.test\ndora@blue.test")
    b.shot("agency-grant")
    b.click("Grant access")
    b.expect("Grant results")
    results = dict(r.split(" ", 1) for r in b.rows("grant-results"))
    assert results == {"ann@blue.test": "Invited (72 hours)", "ben@blue.test": "Invited (72 hours)",
                       "dora@blue.test": "Access granted"}, results
    for name in ["ann", "ben"]:
        sign_up_through_link(b, mailbox.link(f"{name}@blue.test"), name.capitalize(), "Blue", f"{name}-password-long")
    # An API key for Ann: the owner gives her a role that may create keys (agency people cannot change roles).
    b.sign_in("olga@acme.test", "olga-secret-pass")
    b.go(f"/console/{org}/roles")
    b.fill("role-name", "Agency dev")
    for perm in ["org.view", "members.view", "apikeys.create"]:
        b.d.find_element(By.CSS_SELECTOR, f"input[name=permissions][value='{perm}']").click()
    b.click("Create role")
    b.go(f"/console/{org}/members?q=ann")
    ann_id = b.member_ids()["ann@blue.test"]
    Select(b.d.find_element(By.NAME, f"role-{ann_id}")).select_by_visible_text("Agency dev")
    b.submit(b.d.find_element(By.CSS_SELECTOR, f"button[name=row-role][value='{ann_id}']"))
    b.expect("Done: change the role of 1 member to Agency dev.")
    # Ann: her agency only; she passes Web to a colleague and is refused for an outsider.
    b.sign_in("ann@blue.test", "ann-password-long")
    b.go(f"/console/{org}/members")
    assert {r.split()[0] for r in b.rows()} == {"Ann", "Ben", "Dora"}, b.rows()
    b.go(f"/console/{org}/agency")
    b.expect("Blue Agency", "Web — Editor")
    assert "Add an agency" not in b.text() and "Remove Blue Agency" not in b.text()
    b.shot("agency-person")
    b.d.find_element(By.CSS_SELECTOR, "details.panel summary").click()
    form = b.d.find_element(By.CSS_SELECTOR, "form[id^=grant-]")
    web = [l for l in form.find_elements(By.TAG_NAME, "label") if l.text.strip() == "Web"][0]
    web.click()
    form.find_element(By.TAG_NAME, "textarea").send_keys("cat@blue.test eve@evil.test")
    b.click("Grant access")
    results = dict(r.split(" ", 1) for r in b.rows("grant-results"))
    assert results["cat@blue.test"] == "Invited (72 hours)", results
    assert "not in one of your agency" in results["eve@evil.test"], results
    b.shot("agency-person-results")
    b.go(f"/console/{org}/apikeys")
    b.fill("key-name", "ann-ci")
    b.click("Create key")
    secret = b.d.find_element(By.ID, "new-key").get_attribute("value")
    api = lambda: requests.get(f"{base}/api/v1/orgs/{org}/apps", headers={"Authorization": f"Bearer {secret}"}, timeout=5)
    assert api().status_code == 200
    # The owner revokes Web from Ann: her key dies at once.
    b.sign_in("olga@acme.test", "olga-secret-pass")
    b.go(f"/console/{org}/agency")
    b.submit(b.d.find_element(By.CSS_SELECTOR, "button[aria-label='Revoke Web — Editor from Ann Blue']"))
    b.expect("Access revoked")
    assert api().status_code == 401, api().text
    # Removing the agency asks first and names everyone who loses access.
    b.click("Remove Blue Agency from the organization…")
    b.expect("Remove Blue Agency?", "ann@blue.test", "ben@blue.test", "dora@blue.test")
    b.shot("agency-remove-confirm")
    b.click("Cancel", tag="a")
    b.sign_out()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--artifacts", default=os.path.join(ROOT, ".build", "test-artifacts", "console"))
    a = ap.parse_args()
    os.makedirs(a.artifacts, exist_ok=True)
    work = tempfile.mkdtemp(prefix="gh-browser-")
    certdir = f"{work}/certs"
    os.makedirs(certdir)
    make_cert(certdir)
    mailbox = Mailbox()
    smtp_port = free_port()
    smtp = SMTPServer(smtp_port, mailbox, certdir, [])
    smtp.start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cfg = f"{work}/config.json"
    upstream_port = free_port()
    portal = http.server.ThreadingHTTPServer(("127.0.0.1", upstream_port), PortalUpstream)
    threading.Thread(target=portal.serve_forever, daemon=True).start()
    json.dump({"publicBaseURL": base, "passwords": {"scryptLogN": 10}, "log": {"level": "warning"},
               "apps": {"upstreams": [f"127.0.0.1:{upstream_port}"]},
               "mail": {"transport": "smtp", "from": "gatehouse@acme.test", "pollSeconds": 0.1,
                        "smtp": {"host": "127.0.0.1", "port": smtp_port, "security": "starttls", "username": SMTP_USER, "password": SMTP_PASS,
                                 "caFile": f"{certdir}/cert.pem", "timeoutSeconds": 5}}}, open(cfg, "w"))
    procs = Procs()
    b = None
    t0 = time.time()
    try:
        data = f"{work}/data"
        procs.start("serve", [a.binary, "serve", "--port", str(port), "--data-dir", data, "--config", cfg], port, f"{work}/serve.log")
        b = Browser(base, a.artifacts)

        # First run, with nothing but the links the product shows: the setup link `serve` printed, the operator's
        # email and region, a password, and the region console's first-organization form.
        deadline, setup = time.time() + 20, None
        while time.time() < deadline and not setup:
            m = re.search(r"First run: set up the first operator at (http\S+)", open(f"{work}/serve.log").read())
            setup = m and m.group(1)
            time.sleep(0.05)
        assert setup and setup.startswith(base + "/setup/"), open(f"{work}/serve.log").read()[-2000:]
        b.go(setup[len(base):])
        b.expect("Set up Gatehouse")
        b.shot("00-setup")
        b.fill("setup-email", "ops@gatehouse.test")
        b.d.find_element(By.CSS_SELECTOR, "input[name=region][value=eu]").click()
        b.click("Continue")
        b.expect("Choose the password")
        b.shot("00-bootstrap-password")
        b.fill("password", "operator-pass-1")
        b.click("Set password and sign in")
        b.expect("Region EU", "Provision your first organization")
        b.shot("00-first-run-region-console")
        for name, owner in [("Acme", "olga@acme.test"), ("Beta", "mia@acme.test"), ("Temp", "tim@acme.test")]:
            b.fill("org-name", name)
            b.fill("owner-email", owner)
            b.click("Provision")
            b.expect("Organization created")
        assert len(b.rows("region-orgs")) == 3
        # Delete with typed confirmation: a wrong name is refused, the right one deletes.
        temp_row = [r for r in b.d.find_elements(By.CSS_SELECTOR, "table#region-orgs tbody tr") if r.text.startswith("Temp")][0]
        b.submit(temp_row.find_element(By.XPATH, ".//button[text()='Delete…']"))
        # The confirmation names the org; a wrong name keeps the form with the reason (it dropped back to the list).
        b.expect("Type Temp to confirm")
        b.shot("region-delete-confirm")
        b.fill("confirm-name", "Tmp")
        b.click("Delete organization")
        b.expect("That is not the organization's name. Type Temp exactly.")
        b.fill("confirm-name", "Temp")
        b.click("Delete organization")
        b.expect("Organization deleted")
        assert not any(r.startswith("Temp") for r in b.rows("region-orgs"))
        beta_row = [r for r in b.d.find_elements(By.CSS_SELECTOR, "table#region-orgs tbody tr") if r.text.startswith("Beta")][0]
        b.submit(beta_row.find_element(By.XPATH, ".//button[text()='Suspend']"))
        b.expect("Suspend Beta?", "refused at once")
        b.shot("suspend-confirm")
        b.click("Suspend organization")
        b.expect("Organization suspended")
        beta_row = [r for r in b.d.find_elements(By.CSS_SELECTOR, "table#region-orgs tbody tr") if r.text.startswith("Beta")][0]
        b.submit(beta_row.find_element(By.XPATH, ".//button[text()='Reactivate']"))
        b.expect("Organization reactivated")
        # Beta's owner has not joined: the region admin copies the invitation's link, then sends it again.
        def beta_row():
            return [r for r in b.d.find_elements(By.CSS_SELECTOR, "table#region-orgs tbody tr") if r.text.startswith("Beta")][0]
        b.submit(beta_row().find_element(By.XPATH, ".//button[text()='Copy link']"))
        b.expect("Give this link to the owner yourself")
        copied = b.d.find_element(By.ID, "owner-link").get_attribute("value")
        assert copied.startswith(base + "/invite/"), copied
        b.shot("owner-link")
        b.go("/region/eu")
        b.submit(beta_row().find_element(By.XPATH, ".//button[text()='Resend invitation']"))
        b.expect("Invitation sent again")
        resent = mailbox.link("mia@acme.test", 2)
        assert resent != copied and resent.startswith(base + "/invite/"), (resent, copied)
        b.shot("region-console")

        # The owner signs up through her mailed link and lands in the console.
        olga_link = mailbox.link("olga@acme.test")
        b.sign_out()
        b.go(olga_link)
        b.expect("Join Acme as Owner?")
        b.shot("invite-join")
        sign_up_through_link(b, olga_link, "Olga", "Owner", "olga-secret-pass")
        assert "/console/" in b.d.current_url, b.d.current_url
        org = b.d.current_url.split("/console/")[1].split("/")[0]

        # Invite by pasting three addresses.
        b.go(f"/console/{org}/invites")
        b.fill("emails", "Mia Manager <mia@acme.test>, max@acme.test\nvik@acme.test; oops@")
        # Roles are checkboxes, each saying what it lets someone do; Member is ticked by default.
        boxes = {e.get_attribute("value"): e for e in b.d.find_elements(By.CSS_SELECTOR, "#invite-roles input")}
        assert "Invites, edits and removes members" in b.d.find_element(By.ID, "invite-roles").text
        boxes["member"].click()
        boxes["manager"].click()
        b.shot("invite-form")
        b.click("Send invites")
        b.expect("3 of 4 invited", "Not a valid email address")
        b.shot("invite-results")
        b.go(f"/console/{org}/invites")
        assert sum("Pending" in r for r in b.rows("invites")) == 3, b.rows("invites")
        b.shot("invites")

        # Each follows their link, signs up, confirms.
        for name, last in [("mia", "Manager"), ("max", "Mustermann"), ("vik", "Viewer")]:
            # Mia had two mails before: Beta's owner invitation, and the same sent again by the region admin.
            link = mailbox.link(f"{name}@acme.test", 3 if name == "mia" else 1)
            sign_up_through_link(b, link, name.capitalize(), last, f"{name}-password-long")
            assert "/studio" in b.d.current_url or "Acme" in b.text(), b.d.current_url

        # Owner: filter, sort, bulk-change roles, remove one.
        b.sign_in("olga@acme.test", "olga-secret-pass")
        b.go(f"/console/{org}/members")
        Select(b.d.find_element(By.ID, "role")).select_by_visible_text("Manager")
        Select(b.d.find_element(By.ID, "order")).select_by_visible_text("Descending")
        b.click("Apply")
        rows = b.rows()
        assert len(rows) == 3 and [r.split()[0] for r in rows] == ["Vik", "Mia", "Max"], rows
        ids = b.member_ids()
        for email in ["max@acme.test", "vik@acme.test"]:
            b.d.find_element(By.ID, f"sel-{ids[email]}").click()
        # The bulk form shows the fields of the chosen action only ("New role" for Change role).
        assert not b.d.find_element(By.ID, "bulk-role").is_displayed(), "New role shown for Copy emails"
        Select(b.d.find_element(By.ID, "bulk-action")).select_by_visible_text("Change role")
        assert b.d.find_element(By.ID, "bulk-role").is_displayed()
        for app_role in b.d.find_elements(By.ID, "bulk-app-role"):
            assert not app_role.is_displayed(), "App role shown for Change role"
        Select(b.d.find_element(By.ID, "bulk-role")).select_by_visible_text("Member")
        b.click("Continue…")
        b.expect("Change the role of 2 members to Member?", "Max Mustermann (max@acme.test)", "Vik Viewer (vik@acme.test)")
        b.shot("bulk-confirm")
        b.click("Yes, change the role of 2 members to Member")
        b.expect("Done: change the role of 2 members to Member.")
        b.go(f"/console/{org}/members?role=member")
        assert len(b.rows()) == 2, b.rows()
        b.go(f"/console/{org}/members")
        # Select-all (progressive JavaScript) selects every row; then narrow to vik and remove.
        b.d.find_element(By.CSS_SELECTOR, "input[data-select-all]").click()
        assert all(c.is_selected() for c in b.d.find_elements(By.CSS_SELECTOR, "input[name=member]"))
        b.d.find_element(By.CSS_SELECTOR, "input[data-select-all]").click()
        b.d.find_element(By.ID, f"sel-{ids['vik@acme.test']}").click()
        Select(b.d.find_element(By.ID, "bulk-action")).select_by_visible_text("Remove from organization")
        b.click("Continue…")
        b.expect("Remove 1 member from Acme?", "Vik Viewer")
        b.click("Yes, remove 1 member from Acme")
        b.expect("Done: remove 1 member from Acme.")
        assert not any("vik@acme.test" in r for r in b.rows()), b.rows()
        # In the row: Max's role at once (no confirmation: one member, reversible), then back.
        for role, shown in [("viewer", "Viewer"), ("member", "Member")]:
            Select(b.d.find_element(By.NAME, f"role-{ids['max@acme.test']}")).select_by_value(role)
            b.submit(b.d.find_element(By.CSS_SELECTOR, f"button[name=row-role][value='{ids['max@acme.test']}']"))
            b.expect(f"Done: change the role of 1 member to {shown}.")
            max_row = [r for r in b.rows() if "max@acme.test" in r][0]
            assert shown in max_row, max_row
        # In the row: Remove… asks first, naming only that member (whatever else is ticked); Cancel keeps him.
        b.d.find_element(By.ID, f"sel-{ids['mia@acme.test']}").click()
        b.submit(b.d.find_element(By.CSS_SELECTOR, f"button[name=row-remove][value='{ids['max@acme.test']}']"))
        b.expect("Remove 1 member from Acme?", "Max Mustermann (max@acme.test)")
        assert "mia@acme.test" not in b.d.find_element(By.ID, "confirm-list").text
        b.shot("row-remove-confirm")
        b.click("Cancel", tag="a")
        assert any("max@acme.test" in r for r in b.rows()), b.rows()
        b.shot("members")
        b.go(f"/console/{org}/members/{ids['max@acme.test']}")
        b.shot("member-edit")

        # "View as" Max: read-only, bannered, with his permissions (no selection, no invite form).
        b.go(f"/console/{org}/view-as/{ids['max@acme.test']}")
        b.expect("Viewing as Max Mustermann", "read-only")
        assert not b.d.find_elements(By.CSS_SELECTOR, "input[name=member]")
        b.shot("view-as")
        # It lasts across tabs, says what he may do, and every control is disabled until stopped.
        b.go(f"/console/{org}/invites")
        b.expect("Viewing as Max Mustermann")
        b.d.find_element(By.CSS_SELECTOR, "#view-as-may summary").click()
        b.expect("Change data in the org's apps")
        assert all(not e.is_enabled() for e in b.d.find_elements(By.CSS_SELECTOR, "main button, main select"))
        b.shot("view-as-invites")
        b.click("Stop viewing as", tag="a")
        assert "Viewing as" not in b.text()

        # Every other tab of the org as its owner, and an error page: screenshots at both widths, no overflow at
        # 375 px, and axe-core on each.
        for tab in ["roles", "apps", "audit", "settings", "sso", "sso/scim", "apikeys"]:
            b.go(f"/console/{org}/{tab}")
            b.shot(f"tab-{tab.replace('/', '-')}")
        b.go("/console/org_eu_zzzzzzzzzzzzzzzz/members")
        b.expect("Not found", "does not exist or you are not a member", "Home")
        b.shot("not-found")

        # A manager is offered only what a manager may do: no Admin or Owner role, no renaming of the org.
        b.sign_in("mia@acme.test", "mia-password-long")
        b.go(f"/console/{org}/members/{ids['max@acme.test']}")
        # Only the roles she may give are offered (the region would refuse Admin or Owner from a manager).
        offered = {e.get_attribute("value") for e in b.d.find_elements(By.CSS_SELECTOR, "input[name=roles]")}
        assert {"manager", "member", "viewer"} <= offered and not offered & {"admin", "owner"}, offered
        b.shot("manager-panel")
        b.go(f"/console/{org}/settings")
        b.expect("Only owners and admins can rename")
        assert not b.d.find_elements(By.XPATH, "//button[text()='Save name']")

        # Mia is in two orgs: she accepts Beta from her notifications, then switches with the header switcher.
        b.go("/")
        b.expect("Invitations", "Beta")
        b.shot("home")
        inv = [li for li in b.d.find_elements(By.CSS_SELECTOR, "#invitations li") if "Beta" in li.text][0]
        b.submit(inv.find_element(By.XPATH, ".//button[text()='Accept']"))
        b.go("/")
        Select(b.d.find_element(By.ID, "org-switch")).select_by_visible_text([o.text for o in b.d.find_elements(By.CSS_SELECTOR, "#org-switch option") if o.text.startswith("Beta")][0])
        b.click("Switch")
        b.go("/console")
        b.expect("Beta")
        assert "Acme ·" not in b.d.find_element(By.CSS_SELECTOR, ".console-head").text
        Select(b.d.find_element(By.ID, "org-switch")).select_by_visible_text([o.text for o in b.d.find_elements(By.CSS_SELECTOR, "#org-switch option") if o.text.startswith("Acme")][0])
        b.click("Switch")
        b.go("/console")
        assert b.d.find_element(By.CSS_SELECTOR, ".console-head").text.startswith("Acme"), b.text()[:500]

        # Account page.
        b.go("/account")
        b.expect("Sessions", "This browser")
        b.shot("account")
        b.sign_out()
        b.go("/login")
        b.shot("login")

        # Vik forgot his password: the sign-in page leads to a mailed one-time link, which sets a new one.
        b.click("Forgot your password?", tag="a")
        b.fill("email", "vik@acme.test")
        b.shot("forgot")
        b.click("Send me a link")
        b.expect("Check your mail", "works once")
        reset = mailbox.newest_link("vik@acme.test", "reset")
        b.go(reset)
        b.expect("Choose a new password", "vik@acme.test")
        b.fill("password", "vik-new-password")
        b.fill("confirm", "vik-new-password")
        b.shot("reset")
        b.click("Set new password")
        b.expect("Password changed")
        b.go(reset)
        b.expect("Link not valid", "already used")
        b.sign_in("vik@acme.test", "vik-new-password")
        assert "/login" not in b.d.current_url, b.d.current_url
        b.sign_out()
        portal_story(b, org, base, upstream_port)
        export_import_story(b, org, base, [a.binary, "--data-dir", data, "--config", cfg], work)
        agency_story(b, mailbox, org, base)
        assert not b.axe_failures, "axe-core found serious or critical violations:\n" + "\n".join(b.axe_failures)
        print(f"browser story passed in {time.time() - t0:.1f} s; {len(b.shots)} screenshots in {a.artifacts};"
              f" axe-core: no serious or critical violation on {b.axe_pages} pages")
    except Exception:
        if b:
            try:
                b.d.save_screenshot(os.path.join(a.artifacts, "failure.png"))
                print("failed at", b.d.current_url, file=sys.stderr)
            except Exception:
                pass
        log = f"{work}/serve.log"
        if os.path.exists(log):
            print(open(log).read()[-3000:], file=sys.stderr)
        raise
    finally:
        if b:
            b.d.quit()
        procs.stop_all()
        try:
            smtp.stop()
        except Exception:
            pass


if __name__ == "__main__":
    main()
