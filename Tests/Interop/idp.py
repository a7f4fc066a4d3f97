#!/usr/bin/env python3
"""Gatehouse's own test identity provider: SimpleSAMLphp (Debian package `simplesamlphp`) on loopback.

Everything it needs lives in this directory or is made at run time in a state directory of the caller's
choosing: the SimpleSAMLphp configuration is written there from Python values (no template files, nothing
looked up elsewhere), the IdP's RSA key and certificate are generated there (never committed), and PHP's
built-in server is started in its own process group so `stop` ends it and its workers together.

As a library (what Tests/Interop/saml_interop.py does):

    idp = IdP(state_dir, port, sps=[SP(entity_id, acs_url, slo_url=..., cert_file=..., encrypt=True)])
    idp.start()                    # writes config, starts php -S, waits for the metadata
    agent = Agent()                # a browser without a browser: requests + the IdP's HTML forms
    result = agent.sign_in(login_url, "alice@example.com")
    idp.stop()

As a command, for trying an SP by hand:

    python3 Tests/Interop/idp.py start --state-dir /tmp/idp --port 8089 --sp-entity-id ID --sp-acs-url URL \
        [--sp-slo-url URL] [--sp-cert PEM] [--encrypt] [--sp-binding post]
    python3 Tests/Interop/idp.py stop --state-dir /tmp/idp

Test users (username = email, password = the part before @ + "-pass") are in users.json beside this file.
"""
import argparse, base64, html.parser, json, os, re, shutil, signal, subprocess, sys, time, urllib.parse, zlib

HERE = os.path.dirname(os.path.abspath(__file__))
USERS_FILE = os.path.join(HERE, "users.json")
SSP_DIR = "/usr/share/simplesamlphp"
DEBIAN_PACKAGES = ["simplesamlphp", "php-cli", "php-xml", "php-mbstring"]

REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"


def php(value):
    """A Python value as a PHP literal (strings single-quoted, so nothing in them is interpolated)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(php(v) for v in value) + "]"
    if isinstance(value, dict):
        return "[" + ", ".join(f"{php(k)} => {php(v)}" for k, v in value.items()) + "]"
    raise TypeError(f"no PHP literal for {type(value)}")


def pem_body(path):
    m = re.search(r"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", open(path).read(), re.S)
    if not m:
        raise ValueError(f"no PEM certificate in {path}")
    return re.sub(r"\s+", "", m.group(1))


class SP:
    """A service provider as the IdP knows it. `cert_file` lets the IdP check signed requests (and makes it require
    them unless `require_signed` says otherwise) and, with `encrypt`, encrypt assertions to it."""

    def __init__(self, entity_id, acs_url, slo_url=None, cert_file=None, require_signed=None, encrypt=False):
        self.entity_id, self.acs_url, self.slo_url, self.cert_file = entity_id, acs_url, slo_url, cert_file
        self.require_signed = bool(cert_file) if require_signed is None else require_signed
        self.encrypt = encrypt
        if encrypt and not cert_file:
            raise ValueError("encrypting assertions needs the SP's certificate")

    def metadata_entry(self):
        entry = {
            "AssertionConsumerService": [{"Binding": POST, "Location": self.acs_url, "index": 0, "isDefault": True}],
            "NameIDFormat": EMAIL_FORMAT,
            "simplesaml.nameidattribute": "email",
        }
        if self.slo_url:
            entry["SingleLogoutService"] = [{"Binding": REDIRECT, "Location": self.slo_url},
                                            {"Binding": POST, "Location": self.slo_url}]
        if self.cert_file:
            entry["certData"] = pem_body(self.cert_file)
            entry["validate.authnrequest"] = self.require_signed
            entry["validate.logout"] = self.require_signed
        entry["assertion.encryption"] = self.encrypt
        return entry


def ensure_installed():
    """Installs SimpleSAMLphp and PHP when absent (Tests/run.sh normally has already), naming what it installs."""
    missing = [p for p in DEBIAN_PACKAGES
               if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode != 0]
    if not missing:
        return
    print(f"idp.py: installing missing Debian packages: {' '.join(missing)}", file=sys.stderr)
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    # simplesamlphp depends on "apache2 | httpd"; lighttpd + php-cgi satisfy it without starting anything big.
    subprocess.run(sudo + ["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "php-cgi", "lighttpd"]
                   + missing, check=True, env=env, stdout=subprocess.DEVNULL)


class IdP:
    def __init__(self, state_dir, port, sps=(), users_file=USERS_FILE, sign_response=True, sign_assertion=True,
                 host="127.0.0.1"):
        self.state = os.path.abspath(state_dir)
        self.port, self.host, self.sps, self.users_file = port, host, list(sps), users_file
        self.sign_response, self.sign_assertion = sign_response, sign_assertion
        self.base = f"http://{host}:{port}/simplesaml/"
        self.entity_id = self.base + "saml2/idp/metadata.php"
        self.sso_url = self.base + "saml2/idp/SSOService.php"
        self.slo_url = self.base + "saml2/idp/SingleLogoutService.php"
        self.metadata_url = self.entity_id
        self.cert_file = os.path.join(self.state, "cert", "idp.crt")
        self.key_file = os.path.join(self.state, "cert", "idp.key")
        self.metadata_file = os.path.join(self.state, "idp-metadata.xml")
        self.log_file = os.path.join(self.state, "log", "simplesamlphp.log")
        self.pid_file = os.path.join(self.state, "idp.pid")

    # -------------------------------------------------------------- configuration
    def write_config(self):
        for d in ["cert", "log", "data", "tmp", "sessions", "www", "config/metadata"]:
            os.makedirs(os.path.join(self.state, d), exist_ok=True)
        os.chmod(self.state, 0o700)
        if not os.path.exists(self.key_file):
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-sha256", "-nodes", "-days", "30",
                            "-subj", "/O=Gatehouse tests/CN=Gatehouse test IdP", "-keyout", self.key_file,
                            "-out", self.cert_file], check=True, capture_output=True)
            os.chmod(self.key_file, 0o600)
        link = os.path.join(self.state, "www", "simplesaml")
        if not os.path.islink(link):
            os.symlink(os.path.join(SSP_DIR, "www"), link)
        secret = base64.b16encode(os.urandom(24)).decode().lower()
        state = self.state
        config = {
            "baseurlpath": self.base,
            "certdir": f"{state}/cert/", "loggingdir": f"{state}/log/", "datadir": f"{state}/data/",
            "tempdir": f"{state}/tmp",
            "technicalcontact_name": "Gatehouse tests", "technicalcontact_email": "na@example.org",
            "timezone": "UTC", "secretsalt": secret, "auth.adminpassword": secret[:16],
            "admin.protectindexpage": False, "admin.protectmetadata": False, "admin.checkforupdates": False,
            "trusted.url.domains": [f"{self.host}:{p}" for p in [self.port, *self._sp_hostports()]],
            "showerrors": True, "errorreporting": False,
            # Every SAML message at DEBUG in the log: what makes an interop failure readable.
            "debug": {"saml": True, "backtraces": True, "validatexml": False},
            "logging.handler": "file", "logging.logfile": "simplesamlphp.log", "logging.processname": "gatehouse-idp",
            "enable.saml20-idp": True, "enable.shib13-idp": False, "enable.adfs-idp": False,
            "module.enable": {"exampleauth": True, "core": True, "saml": True, "admin": True},
            # The IdP's cookies stay under /simplesaml/ so the SP on the same host never receives them.
            "store.type": "phpsession", "session.phpsession.savepath": f"{state}/sessions",
            "session.phpsession.cookiename": "GatehouseTestIdP", "session.cookie.name": "GatehouseTestIdPID",
            "session.authtoken.cookiename": "GatehouseTestIdPAuth", "session.cookie.path": "/simplesaml/",
            "session.cookie.secure": False, "session.cookie.samesite": "Lax", "session.phpsession.httponly": True,
            "language.default": "en", "language.cookie.path": "/simplesaml/", "theme.use": "default",
            "metadata.sources": [{"type": "flatfile", "directory": f"{state}/config/metadata/"}],
            "metadata.sign.enable": False,
        }
        # exampleauth:UserPass: its module name at index 0, then "username:password" => attributes.
        userpass = {0: "exampleauth:UserPass"}
        for u in json.load(open(self.users_file)):
            if ":" in u["username"]:
                raise ValueError("exampleauth splits username:password on the first colon")
            userpass[u["username"] + ":" + u["password"]] = u["attributes"]
        hosted = {
            self.entity_id: {
                "host": "__DEFAULT__", "privatekey": self.key_file, "certificate": self.cert_file,
                "auth": "gatehouse-users",
                # Both bindings advertised: Gatehouse picks POST for its requests when an IdP offers only that.
                "SingleSignOnServiceBinding": [REDIRECT, POST], "SingleLogoutServiceBinding": [REDIRECT, POST],
                "signature.algorithm": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                "saml20.sign.response": self.sign_response, "saml20.sign.assertion": self.sign_assertion,
                # Logout messages signed both ways (Gatehouse refuses unsigned ones).
                "sign.logout": True,
                "assertion.lifetime": 300,
                "NameIDFormat": [EMAIL_FORMAT, "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
                                 "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
                                 "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"],
                "simplesaml.nameidattribute": "email", "userid.attribute": "email",
                "attributes.NameFormat": "urn:oasis:names:tc:SAML:2.0:attrname-format:basic",
            }
        }
        remote = {sp.entity_id: sp.metadata_entry() for sp in self.sps}

        def write(rel, var, value):
            path = os.path.join(state, "config", rel)
            with open(path, "w") as f:
                f.write(f"<?php\n// Written by Tests/Interop/idp.py for one test run.\n${var} = {php(value)};\n")
            os.chmod(path, 0o600)

        write("config.php", "config", config)
        write("authsources.php", "config", {"admin": ["core:AdminPassword"], "gatehouse-users": userpass})
        write("metadata/saml20-idp-hosted.php", "metadata", hosted)
        write("metadata/saml20-sp-remote.php", "metadata", remote)

    def _sp_hostports(self):
        ports = set()
        for sp in self.sps:
            p = urllib.parse.urlsplit(sp.acs_url)
            if p.port:
                ports.add(p.port)
        return sorted(ports)

    # -------------------------------------------------------------- process
    def start(self, timeout=30):
        ensure_installed()
        self.stop()
        self.write_config()
        env = dict(os.environ, SIMPLESAMLPHP_CONFIG_DIR=os.path.join(self.state, "config"), PHP_CLI_SERVER_WORKERS="4")
        log = open(os.path.join(self.state, "log", "php-server.log"), "a")
        p = subprocess.Popen(["php", "-d", "display_errors=0", "-d", "log_errors=1",
                              "-d", f"error_log={self.state}/log/php-errors.log", "-d", "date.timezone=UTC",
                              "-d", f"session.save_path={self.state}/sessions", "-d", "session.gc_probability=0",
                              "-S", f"{self.host}:{self.port}", "-t", f"{self.state}/www"],
                             stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                             start_new_session=True)
        open(self.pid_file, "w").write(str(p.pid))
        import requests
        deadline = time.time() + timeout
        while True:
            if p.poll() is not None:
                raise RuntimeError(f"the IdP exited at start: {self.tail()}")
            try:
                r = requests.get(self.metadata_url, timeout=5)
                if r.status_code == 200 and f'entityID="{self.entity_id}"' in r.text:
                    open(self.metadata_file, "w").write(r.text)
                    return self
            except requests.RequestException:
                pass
            if time.time() > deadline:
                self.stop()
                raise RuntimeError(f"the IdP did not answer {self.metadata_url} in {timeout} s: {self.tail()}")
            time.sleep(0.2)

    def stop(self):
        try:
            pid = int(open(self.pid_file).read())
        except (OSError, ValueError):
            return
        try:
            os.killpg(pid, signal.SIGTERM)
            for _ in range(50):
                os.killpg(pid, 0)
                time.sleep(0.1)
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.remove(self.pid_file)

    def tail(self, n=3000):
        out = []
        for name in ["php-server.log", "php-errors.log", "simplesamlphp.log"]:
            path = os.path.join(self.state, "log", name)
            if os.path.exists(path):
                out.append(f"--- {name}\n" + open(path, errors="replace").read()[-n:])
        return "\n".join(out)

    @property
    def metadata_xml(self):
        return open(self.metadata_file).read()


# ------------------------------------------------------------------ the probe: a browser without a browser
class Forms(html.parser.HTMLParser):
    """The <form>s of a page with their named inputs (enough for SimpleSAMLphp's and Gatehouse's pages)."""

    def __init__(self, text):
        super().__init__()
        self.forms, self._form = [], None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {"action": a.get("action") or "", "method": (a.get("method") or "get").lower(), "fields": {}}
            self.forms.append(self._form)
        elif tag in ("input", "button") and self._form is not None and a.get("name"):
            if a.get("type") not in ("submit", "button") or tag == "input":
                self._form["fields"].setdefault(a["name"], a.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None

    def with_field(self, name):
        return next((f for f in self.forms if name in f["fields"]), None)


def decode_redirect(value):
    return zlib.decompress(base64.b64decode(value), -15).decode()


def decode_post(value):
    return base64.b64decode(value).decode()


class Agent:
    """Follows redirects and auto-posting forms between Gatehouse and the IdP, types the IdP password, and keeps
    every SAML message it carried (`messages`: (direction, kind, xml, binding, signed)) for assertions."""

    def __init__(self, users_file=USERS_FILE):
        import requests
        self.s = requests.Session()
        self.users = {u["username"]: u["password"] for u in json.load(open(users_file))}
        self.messages = []

    def _note(self, url, params, binding):
        for kind in ("SAMLRequest", "SAMLResponse"):
            if kind in params:
                raw = params[kind]
                xml = decode_redirect(raw) if binding == "redirect" else decode_post(raw)
                signed = ("Signature" in params) if binding == "redirect" else ("<ds:Signature" in xml or ":Signature" in xml)
                root = re.search(r"<(?:\w+:)?(\w+)[\s>]", xml.split("?>", 1)[-1]).group(1)
                self.messages.append({"to": url.split("?")[0], "url": url, "kind": root, "xml": xml, "binding": binding,
                                      "signed": signed, "params": params})

    def walk(self, method, url, data=None, user=None, limit=25):
        """Goes where the servers send the agent until a page that is not a redirect, an auto-posting SAML form or
        the IdP's login form; returns the last response."""
        for _ in range(limit):
            if method == "GET":
                q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
                self._note(url, q, "redirect")
                r = self.s.get(url, allow_redirects=False, timeout=30)
            else:
                self._note(url, data or {}, "post")
                r = self.s.post(url, data=data, allow_redirects=False, timeout=30)
            if r.status_code in (301, 302, 303, 307):
                url, method, data = urllib.parse.urljoin(url, r.headers["Location"]), "GET", None
                continue
            forms = Forms(r.text)
            saml = forms.with_field("SAMLResponse") or forms.with_field("SAMLRequest")
            if r.status_code == 200 and saml is not None:
                url, method, data = urllib.parse.urljoin(r.url, saml["action"]), "POST", dict(saml["fields"])
                continue
            login = forms.with_field("password")
            if r.status_code == 200 and login is not None and user is not None:
                fields = dict(login["fields"], username=user, password=self.users[user])
                url, method, data = urllib.parse.urljoin(r.url, login["action"] or r.url), login["method"].upper(), fields
                user = None  # the password is typed once; a second form means it was refused
                if method == "GET":
                    url = url.split("?")[0] + "?" + urllib.parse.urlencode(fields)
                continue
            return r
        raise AssertionError(f"more than {limit} hops, last at {url}")

    def sign_in(self, login_url, user):
        """SP-initiated sign-in; returns the final response (Gatehouse's page after the ACS)."""
        self.messages.clear()
        return self.walk("GET", login_url, user=user)

    def last(self, kind):
        return next((m for m in reversed(self.messages) if m["kind"] == kind), None)

    def cookie(self, name):
        return next((c.value for c in self.s.cookies if c.name == name), None)


def browser_sign_in(login_url, user, screenshot=None, idp_screenshot=None, expect_text=None, timeout=30):
    """The same sign-in in headless Chromium: types into the IdP's real form and waits for Gatehouse's page."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    password = {u["username"]: u["password"] for u in json.load(open(USERS_FILE))}[user]
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium") or "/usr/lib/chromium/chromium"
    for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900",
                "--no-first-run", "--disable-extensions", "--password-store=basic"]:
        opts.add_argument(arg)
    d = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/lib/chromium/chromedriver"), options=opts)
    try:
        d.get(login_url)
        WebDriverWait(d, timeout).until(lambda d: d.find_elements(By.NAME, "password"))
        if idp_screenshot:
            d.save_screenshot(idp_screenshot)
        d.find_element(By.NAME, "username").send_keys(user)
        d.find_element(By.NAME, "password").send_keys(password)
        d.find_element(By.NAME, "password").submit()
        origin = login_url.split("/sso/")[0]
        WebDriverWait(d, timeout).until(lambda d: d.current_url.startswith(origin) and "/sso/" not in d.current_url)
        if expect_text:
            WebDriverWait(d, timeout).until(lambda d: expect_text in d.find_element(By.TAG_NAME, "body").text)
        if screenshot:
            d.save_screenshot(screenshot)
        return {"url": d.current_url, "cookies": {c["name"]: c["value"] for c in d.get_cookies()}}
    finally:
        d.quit()


def main():
    ap = argparse.ArgumentParser(description="Gatehouse's test SAML IdP (SimpleSAMLphp)")
    ap.add_argument("command", choices=["start", "stop"])
    ap.add_argument("--state-dir", required=True)
    ap.add_argument("--port", type=int, default=8089)
    ap.add_argument("--sp-entity-id")
    ap.add_argument("--sp-acs-url")
    ap.add_argument("--sp-slo-url")
    ap.add_argument("--sp-cert")
    ap.add_argument("--encrypt", action="store_true")
    a = ap.parse_args()
    sps = [SP(a.sp_entity_id, a.sp_acs_url, a.sp_slo_url, a.sp_cert, encrypt=a.encrypt)] if a.sp_entity_id else []
    idp = IdP(a.state_dir, a.port, sps)
    if a.command == "stop":
        idp.stop()
        return
    idp.start()
    print(f"IDP_ENTITY_ID={idp.entity_id}\nIDP_SSO_URL={idp.sso_url}\nIDP_SLO_URL={idp.slo_url}\n"
          f"IDP_METADATA_FILE={idp.metadata_file}\nIDP_CERT_FILE={idp.cert_file}\nIDP_LOG_FILE={idp.log_file}")


if __name__ == "__main__":
    main()
