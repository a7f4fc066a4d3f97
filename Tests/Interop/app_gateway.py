#!/usr/bin/env python3
"""Apps behind the gateway, checked with parts nobody here wrote: a small upstream app that believes only a
JWT it verifies with PyJWT's JWKS client (keys fetched from Gatehouse's /.well-known/jwks.json), reached once
through Gatehouse's own proxy and once through nginx (Debian) with `auth_request` to /auth/verify.

Refused, both ways: a member without the app, a member failing the user-variable rule, a removed member (at once),
an SSO-only member with a password session, dot-segment and encoded paths that would cross into another app; a
client's spoofed X-Gatehouse-* headers never reach the upstream; the upstream refuses a forged JWT and an
expired one.

    python3 Tests/Interop/app_gateway.py --binary .build/debug/gatehouse
"""
import argparse, email, email.policy, glob, hashlib, http.server, json, os, re, shutil, socket, subprocess, sys, tempfile, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "Tests", "E2E"))
import jwt  # noqa: E402  (PyPI PyJWT)
import requests  # noqa: E402
from story import Client, Procs, free_port  # noqa: E402


class Upstream(http.server.BaseHTTPRequestHandler):
    """Answers 200 with the verified claims, or 401: it trusts nothing but a JWT that verifies."""
    jwks = None
    issuer = None
    seen = []
    reader_has_first = threading.Event()

    def handle_one(self):
        if self.path.endswith("/upload"):  # what arrived (after the JWT check below would be the same; kept short)
            n = int(self.headers.get("Content-Length", "0"))
            digest, left = hashlib.sha256(), n
            while left:
                chunk = self.rfile.read(min(left, 65536))
                if not chunk:
                    break
                digest.update(chunk)
                left -= len(chunk)
            body = json.dumps({"bytes": n - left, "sha256": digest.hexdigest(),
                               "verified": bool(Upstream.jwks.get_signing_key_from_jwt(self.headers.get("X-Gatehouse-Assertion", "")))}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if self.path.endswith("/stream"):  # HTTP/1.0, no length: the body ends with the connection
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"first\n")
            self.wfile.flush()
            Upstream.reader_has_first.wait(8)
            self.wfile.write(b"second\n" if Upstream.reader_has_first.is_set() else b"the reader never saw the first part\n")
            return
        token = self.headers.get("X-Gatehouse-Assertion", "")
        Upstream.seen.append({k.lower(): v for k, v in self.headers.items()} | {"path": self.path})
        leeway = -61 if self.path.endswith("/later") else 0  # as if read 61 s later: expired
        try:
            key = Upstream.jwks.get_signing_key_from_jwt(token)
            # The audience is the app this upstream serves: the first path segment (nginx and Gatehouse both
            # forward /apps/<slug>/x to /<slug>/x here).
            claims = jwt.decode(token, key.key, algorithms=["ES256"], audience=self.path.split("/")[1], issuer=Upstream.issuer,
                                leeway=leeway, options={"require": ["exp", "iat", "sub", "aud"]})
            body, status = json.dumps({"sub": claims["sub"], "email": claims["email"], "vars": claims["vars"], "path": self.path,
                                       "app_role": claims["app_role"], "aud": claims["aud"]}).encode(), 200
        except Exception as e:  # noqa: BLE001 -- every failure is a refusal here
            body, status = json.dumps({"refused": type(e).__name__}).encode(), 401
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = handle_one

    def log_message(self, *a):
        pass


# What Gatehouse answered /auth/verify with becomes the upstream's identity headers (replacing whatever the client
# sent under those names), and the Gatehouse session cookie stays behind.
IDENTITY = " ".join(
    f"auth_request_set $gh_{h.lower().replace('-', '_')} $upstream_http_x_gatehouse_{h.lower().replace('-', '_')}; "
    f"proxy_set_header X-Gatehouse-{h} $gh_{h.lower().replace('-', '_')};"
    for h in ["Assertion", "User", "Email", "Org", "App-Role"]) + " proxy_set_header Cookie $gh_app_cookie;"


def nginx_conf(work, port, gatehouse, upstream):
    identity = IDENTITY
    return f"""
daemon off;
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {work}/tmp; proxy_temp_path {work}/tmp; fastcgi_temp_path {work}/tmp;
  uwsgi_temp_path {work}/tmp; scgi_temp_path {work}/tmp;
  # Gatehouse's session cookie is a credential for Gatehouse, not for the app: dropped on the way to the upstream.
  map $http_cookie $gh_app_cookie {{
    default $http_cookie;
    "~^(?<gh_before>.*?)(?:^|;\\s*)gh_session=[^;]*(?<gh_after>.*)$" "$gh_before$gh_after";
  }}
  server {{
    listen 127.0.0.1:{port};
    # Apps: nginx asks Gatehouse first, then sends the request on with the identity Gatehouse gave.
    location /apps/portal/ {{
      auth_request /_gatehouse_verify;
      {identity}
      proxy_pass http://127.0.0.1:{upstream}/portal/;
    }}
    location /apps/other/ {{
      auth_request /_gatehouse_verify;
      {identity}
      proxy_pass http://127.0.0.1:{upstream}/other/;
    }}
    location = /_gatehouse_verify {{
      internal;
      proxy_pass http://127.0.0.1:{gatehouse}/auth/verify;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
    }}
    # Everything else is Gatehouse itself (sign-in and the rest).
    location / {{ proxy_pass http://127.0.0.1:{gatehouse}; }}
  }}
}}
"""


def mail_link(maildir, rcpt, path="invite"):
    deadline = time.time() + 20
    while time.time() < deadline:
        for f in sorted(glob.glob(f"{maildir}/*.eml"), reverse=True):
            msg = email.message_from_binary_file(open(f, "rb"), policy=email.policy.default)
            if rcpt in (msg["To"] or ""):
                m = re.search(r"(http://\S+/" + path + r"/\S+)", msg.get_body(("plain",)).get_content())
                if m:
                    return m.group(1)
        time.sleep(0.1)
    raise AssertionError(f"no mail for {rcpt}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build/debug/gatehouse"))
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="gh-apps-")
    os.makedirs(f"{work}/tmp")
    port, nginx_port, up_port = free_port(), free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    cfg = f"{work}/config.json"
    maildir = f"{work}/mail"
    json.dump({"publicBaseURL": base, "passwords": {"scryptLogN": 10}, "log": {"level": "warning"},
               "mail": {"transport": "dev", "directory": maildir, "pollSeconds": 0.1},
               "apps": {"upstreams": [f"127.0.0.1:{up_port}"]}}, open(cfg, "w"))
    procs = Procs()
    t0 = time.time()
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", up_port), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    Upstream.jwks = jwt.PyJWKClient(f"{base}/.well-known/jwks.json")
    Upstream.issuer = base
    nginx = None
    try:
        data = f"{work}/data"
        procs.start("serve", [a.binary, "serve", "--port", str(port), "--data-dir", data, "--config", cfg], port, f"{work}/serve.log")
        open(f"{work}/nginx.conf", "w").write(nginx_conf(work, nginx_port, port, up_port))
        nginx = subprocess.Popen(["nginx", "-c", f"{work}/nginx.conf", "-p", work], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", nginx_port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        front = f"http://127.0.0.1:{nginx_port}"

        # An org, its owner, and two members (Mia and Sam) who sign up from their mail.
        out = subprocess.run([a.binary, "admin", "bootstrap", "--region", "eu", "--email", "olga@acme.test", "--data-dir", data, "--config", cfg],
                             check=True, capture_output=True, text=True).stdout
        olga = Client(base)
        olga.api("POST", "/api/v1/auth/bootstrap", {"token": re.search(r"/bootstrap/(\S+)", out).group(1), "password": "olga-password-1"}, expect=200)
        p = olga.api("POST", "/api/v1/regions/eu/orgs", {"name": "Acme", "ownerEmail": "olga@acme.test"}, expect=201).json()
        org = p["org"]["id"]
        olga.api("POST", f"/api/v1/invites/{p['ownerInviteURL'].split('/invite/')[1]}/accept", expect=200)
        people = {}
        for name in ["mia", "sam"]:
            olga.api("POST", f"/api/v1/orgs/{org}/invites", {"emails": [f"{name}@acme.test"], "roles": ["member"]}, expect=201)
            token = mail_link(maildir, f"{name}@acme.test").split("/invite/")[1]
            c = Client(base)
            c.api("POST", f"/api/v1/invites/{token}/accept", {"password": f"{name}-password-long"}, expect=200)
            people[name] = (c, c.api("GET", "/api/v1/me", expect=200).json()["account"]["id"])
        (mia, mia_id), (sam, sam_id) = people["mia"], people["sam"]
        apps = {}
        existing = {a.get("slug"): a["id"] for a in olga.api("GET", f"/api/v1/orgs/{org}/apps", expect=200).json()}
        for name, slug in [("Portal", "portal"), ("Other", "other")]:
            # The Portal is one of every org's starting pages; Other is made here.
            app = existing.get(slug) or olga.api("POST", f"/api/v1/orgs/{org}/apps", {"name": name}, expect=201).json()["id"]
            rule = {"roles": [], "appRoles": [], "conditions": [{"variable": "team", "op": "equals", "values": ["blue"]}]}
            olga.api("PATCH", f"/api/v1/orgs/{org}/apps/{app}", {"slug": slug, "upstream": f"http://127.0.0.1:{up_port}/{slug}", "rule": rule}, expect=200)
            apps[slug] = app
        # Mia: Portal, team blue. Sam: Portal, team red (fails the rule). Nobody has Other.
        for who, team in [(mia_id, "blue"), (sam_id, "red")]:
            olga.api("POST", f"/api/v1/orgs/{org}/apps/{apps['portal']}/grants", {"member": who, "role": "editor"}, expect=204)
            olga.api("PATCH", f"/api/v1/orgs/{org}/members/{who}", {"userVariables": {"team": team}}, expect=200)

        def get(client, origin, path, headers=None):
            return client.s.get(origin + path, headers=headers or {}, allow_redirects=False, timeout=10)

        for label, origin in [("built-in proxy", base), ("nginx auth_request", front)]:
            Upstream.seen.clear()
            r = get(mia, origin, "/apps/portal/hello?x=1", {"X-Gatehouse-Assertion": "forged", "X-Gatehouse-User": "olga"})
            assert r.status_code == 200, (label, r.status_code, r.text[:300])
            claims = r.json()
            assert claims["sub"] == mia_id and claims["email"] == "mia@acme.test" and claims["vars"] == {"team": "blue"}, claims
            assert claims["path"] == "/portal/hello?x=1" and claims["aud"] == "portal", claims
            seen = Upstream.seen[-1]
            assert "gh_session" not in seen.get("cookie", ""), f"{label}: the session reached the upstream"
            assert seen.get("x-gatehouse-user") in (None, mia_id), f"{label}: a spoofed header reached the upstream"
            # The upstream refuses the same token read 61 s later (expired).
            assert get(mia, origin, "/apps/portal/later").status_code == 401, label
            # Refused: the rule (Sam), no grant (Other), path tricks into Other, signed out.
            assert get(sam, origin, "/apps/portal/hello").status_code == 403, label
            assert get(mia, origin, "/apps/other/x").status_code == 403, label
            for trick in ["/apps/portal/../other/x", "/apps/portal/%2e%2e/other/x", "/apps/portal/%2E%2E%2Fother%2Fx",
                          "/apps/portal/..%2Fother/x"]:
                s = socket.create_connection(("127.0.0.1", int(origin.rsplit(":", 1)[1])), timeout=5)
                cookie = "; ".join(f"{k}={v}" for k, v in mia.s.cookies.items())
                s.sendall(f"GET {trick} HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n".encode())
                reply = b""
                while chunk := s.recv(65536):
                    reply += chunk
                s.close()
                status = int(reply.split(b" ", 2)[1])
                assert status != 200 or b'"aud": "other"' not in reply, f"{label}: {trick} crossed into another app"
                assert b'"aud": "other"' not in reply, (label, trick, reply[:300])
            anon = Client(base)
            r = get(anon, origin, "/apps/portal/hello")
            assert r.status_code in (303, 401), (label, r.status_code)
            print(f"  {label}: PyJWT verified the identity; rule, grant, path tricks and signed-out refused")

        # Streamed both ways through the built-in proxy: an upload five times `http.maxBodyBytes` arrives whole, and
        # a download's first part reaches the browser while the upstream still holds the rest.
        blob = os.urandom(5 << 20)
        r = mia.s.post(f"{base}/apps/portal/upload", data=blob, timeout=30, headers={"X-CSRF-Token": mia.csrf or ""})
        assert r.status_code == 200, (r.status_code, r.text[:300])
        assert r.json() == {"bytes": len(blob), "sha256": hashlib.sha256(blob).hexdigest(), "verified": True}, r.text
        with mia.s.get(f"{base}/apps/portal/stream", stream=True, timeout=5) as r:
            assert r.status_code == 200 and r.headers.get("Transfer-Encoding") == "chunked", r.headers
            lines = r.iter_lines()
            assert next(lines) == b"first", "the first part arrives before the upstream sends the rest"
            Upstream.reader_has_first.set()
            assert next(lines) == b"second"
        print("  built-in proxy: a 5 MiB upload arrived whole; a download's first part arrived before the rest was sent")

        # Forged tokens straight at the upstream, refused by PyJWT: signed by another P-256 key under our key id,
        # and HS256 keyed with a guess.
        from cryptography.hazmat.primitives.asymmetric import ec
        kid = requests.get(f"{base}/.well-known/jwks.json", timeout=5).json()["keys"][0]["kid"]
        claims = {"sub": mia_id, "aud": "portal", "iss": base, "exp": int(time.time()) + 60, "iat": int(time.time())}
        for forged in [jwt.encode(claims, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers={"kid": kid}),
                       jwt.encode(claims, "a-guessed-shared-secret-of-32-bytes!", algorithm="HS256", headers={"kid": kid})]:
            r = requests.get(f"http://127.0.0.1:{up_port}/portal/direct", headers={"X-Gatehouse-Assertion": forged}, timeout=5)
            assert r.status_code == 401, r.text
        # An SSO-only member with a password session is refused; a removed member at once.
        olga.api("PATCH", f"/api/v1/orgs/{org}/members/{mia_id}", {"ssoOnly": True}, expect=200)
        assert get(mia, base, "/apps/portal/hello").status_code in (303, 401, 403)
        assert get(mia, front, "/apps/portal/hello").status_code in (401, 403)
        olga.api("PATCH", f"/api/v1/orgs/{org}/members/{mia_id}", {"ssoOnly": False}, expect=200)
        assert get(mia, base, "/apps/portal/hello").status_code == 200
        olga.api("DELETE", f"/api/v1/orgs/{org}/members/{mia_id}", expect=204)
        assert get(mia, base, "/apps/portal/hello").status_code == 404
        assert get(mia, front, "/apps/portal/hello").status_code in (401, 403, 404, 500)
        print("  forged JWT refused by the upstream; SSO-only with a password session and a removed member refused at once")
    except BaseException:
        for log in sorted(os.listdir(work)):
            if log.endswith(".log"):
                print(f"--- {log}\n" + open(f"{work}/{log}").read()[-3000:], file=sys.stderr)
        raise
    finally:
        procs.stop_all()
        if nginx:
            nginx.terminate()
            nginx.wait(timeout=10)
        upstream.shutdown()
    shutil.rmtree(work, ignore_errors=True)
    print(f"apps behind the gateway (PyJWT, nginx): passed in {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
