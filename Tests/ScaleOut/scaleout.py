#!/usr/bin/env python3
"""Scale-out against real parts: PostgreSQL (a throwaway cluster), two gateways and two replicas per region, all
behind haproxy (Debian) with health checks on /readyz, mail to a real SMTP server (aiosmtpd).

1. Replicas start together: each region's two replicas migrate one store at once (advisory lock).
2. The end-to-end story (Tests/E2E/story.py) runs through haproxy, requests spread over both gateways.
3. Races, 50 rounds each, one request through each gateway (each gateway's regions prefer a different replica):
   the last two owners demote each other at once (the last-owner rule: exactly one wins), and one invite is
   accepted twice at once (exactly one joins).
4. Revocation: a session signed out through gateway A is refused by gateway B within 1 s.
5. Failover under load: invites are written through haproxy while gateway A and one EU replica are killed with
   SIGKILL; every invite acknowledged with 2xx is in the store afterwards, sessions keep working through gateway
   B, and no invitation mail is sent twice (two EU replicas run the outbox).

Usage: python3 Tests/ScaleOut/scaleout.py --binary .build/debug/gatehouse [--postgres URL]
"""
import argparse, concurrent.futures, json, os, re, secrets, shutil, signal, subprocess, sys, tempfile, threading, time
import requests

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "Tests", "E2E"))
import story as e2e  # noqa: E402

REGIONS = ["us", "eu", "apac"]


def wait_ready(port, proc, name, path="/readyz", timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{name} exited with {proc.returncode}")
        try:
            if requests.get(f"http://127.0.0.1:{port}{path}", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{name} not ready on {port}")


def haproxy_config(gw_front, gateways, region_fronts, replicas):
    """One frontend for people (both gateways), and per region two frontends, `a` preferring replica 1 and `b`
    replica 2 (the other is the backup): gateway A uses the `a` ones, gateway B the `b` ones."""
    lines = ["global", "    maxconn 4000", "defaults", "    mode http", "    timeout connect 2s", "    timeout client 30s",
             "    timeout server 30s", "    retries 3", "    option redispatch", "",
             f"frontend people", f"    bind 127.0.0.1:{gw_front}", "    default_backend gateways", "",
             "backend gateways", "    balance roundrobin", "    option httpchk GET /readyz",
             "    http-response set-header X-Served-By %s",
             "    default-server inter 200ms fall 2 rise 2"]
    lines += [f"    server gw{i} 127.0.0.1:{p} check" for i, p in enumerate(gateways)]
    for r in REGIONS:
        for side, (first, second) in (("a", (0, 1)), ("b", (1, 0))):
            lines += ["", f"frontend {r}_{side}", f"    bind 127.0.0.1:{region_fronts[r][side]}",
                      f"    default_backend {r}_{side}", "", f"backend {r}_{side}", "    option httpchk GET /readyz",
                      "    default-server inter 200ms fall 2 rise 2",
                      f"    server {r}{first} 127.0.0.1:{replicas[r][first]} check",
                      f"    server {r}{second} 127.0.0.1:{replicas[r][second]} check backup"]
    return "\n".join(lines) + "\n"


class Cluster:
    def __init__(self, binary, work, postgres, mailbox, smtp_port, certdir):
        self.binary, self.work, self.procs = binary, work, {}
        self.gw_front = e2e.free_port()
        self.base = f"http://127.0.0.1:{self.gw_front}"
        prefix = "so" + secrets.token_hex(4)
        self.config = {
            "publicBaseURL": self.base,
            "passwords": {"scryptLogN": 10},
            # Every request comes from 127.0.0.1: the per-address limits (per gateway process) would stop the races.
            "rateLimits": {"inviteAcceptsPerAddress": 100000, "signInFailuresPerAddress": 100000},
            "log": {"level": "warning"},
            "store": {"backend": "postgres", "schemaPrefix": prefix,
                      "databases": {name: postgres for name in ["gateway"] + REGIONS}},
            "mail": {"transport": "smtp", "from": "gatehouse@acme.test", "retryBaseSeconds": 0.3, "retryMaxSeconds": 1,
                     "pollSeconds": 0.1, "claimSeconds": 5,
                     "smtp": {"host": "127.0.0.1", "port": smtp_port, "security": "starttls", "username": e2e.SMTP_USER,
                              "password": e2e.SMTP_PASS, "caFile": f"{certdir}/cert.pem", "timeoutSeconds": 5}},
        }
        self.cfg = f"{work}/config.json"
        json.dump(self.config, open(self.cfg, "w"))
        self.keys = f"{work}/keys"

    def spawn(self, name, args):
        log = open(f"{self.work}/{name}.log", "w")
        self.procs[name] = subprocess.Popen([self.binary] + args, stdout=log, stderr=subprocess.STDOUT)
        return self.procs[name]

    def start(self):
        self.replicas = {r: [e2e.free_port(), e2e.free_port()] for r in REGIONS}
        # Both replicas of a region at once: they race for the same migrations.
        for r in REGIONS:
            for i, port in enumerate(self.replicas[r]):
                self.spawn(f"{r}{i}", ["region", "--region", r, "--port", str(port), "--data-dir", f"{self.work}/{r}{i}",
                                       "--keys-dir", self.keys, "--config", self.cfg])
        for r in REGIONS:
            for i, port in enumerate(self.replicas[r]):
                wait_ready(port, self.procs[f"{r}{i}"], f"{r}{i}")
        self.region_fronts = {r: {"a": e2e.free_port(), "b": e2e.free_port()} for r in REGIONS}
        self.gateways = [e2e.free_port(), e2e.free_port()]
        with open(f"{self.work}/haproxy.cfg", "w") as f:
            f.write(haproxy_config(self.gw_front, self.gateways, self.region_fronts, self.replicas))
        self.procs["haproxy"] = subprocess.Popen(["haproxy", "-f", f"{self.work}/haproxy.cfg"],
                                                 stdout=open(f"{self.work}/haproxy.log", "w"), stderr=subprocess.STDOUT)
        for i, port in enumerate(self.gateways):
            side = "ab"[i]
            urls = sum(([f"--{r}", f"http://127.0.0.1:{self.region_fronts[r][side]}"] for r in REGIONS), [])
            self.spawn(f"gw{i}", ["gateway", "--port", str(port), "--data-dir", f"{self.work}/gw{i}", "--keys-dir", self.keys,
                                  "--config", self.cfg] + urls)
        for i, port in enumerate(self.gateways):
            wait_ready(port, self.procs[f"gw{i}"], f"gw{i}")
        wait_ready(self.gw_front, None, "haproxy")

    def kill(self, name):
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait()

    def stop(self):
        for name, p in self.procs.items():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()

    def admin_args(self):
        return ["--data-dir", f"{self.work}/gw0", "--keys-dir", self.keys, "--config", self.cfg]


def sign_in(base, email, password):
    c = e2e.Client(base)
    c.api("POST", "/api/v1/auth/login", {"email": email, "password": password}, expect=200)
    return c


def on(client, base):
    """The same person (cookie, CSRF token) talking to another address."""
    c = e2e.Client(base)
    c.s.cookies.update(client.s.cookies)
    c.csrf = client.csrf
    return c


def join(mailbox, base, email, count=1):
    link = mailbox.link(email, count)
    c = e2e.Client(base)
    c.api("POST", f"/api/v1/invites/{link.split('/invite/')[1]}/accept", {"password": "a-long-password-1"}, expect=200)
    c.id = c.api("GET", "/api/v1/me", expect=200).json()["account"]["id"]
    return c


def invite_links(mailbox, rcpt):
    """The invitation links mailed to `rcpt` so far, oldest first."""
    with mailbox.lock:
        msgs = [m for rcpts, m, _, _ in mailbox.messages if rcpt in rcpts]
    links = []
    for m in msgs:
        found = re.search(r"(http://\S+/invite/\S+)", m.get_body(("plain",)).get_content())
        if found:
            links.append(found.group(1))
    return links


def next_invite_link(mailbox, rcpt, before, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        links = invite_links(mailbox, rcpt)
        if len(links) > len(before):
            return links[len(before)]
        time.sleep(0.02)
    raise AssertionError(f"no new invitation for {rcpt}")


def races(cl, mailbox, ops):
    gw = [f"http://127.0.0.1:{p}" for p in cl.gateways]
    org = ops.api("POST", "/api/v1/regions/eu/orgs", {"name": "Race EU", "ownerEmail": "ann@race.test"}, expect=201).json()["org"]["id"]
    ann = join(mailbox, cl.base, "ann@race.test")
    ann.api("POST", f"/api/v1/orgs/{org}/invites", {"emails": ["bob@race.test"], "roles": ["owner"]}, expect=201)
    bob = join(mailbox, cl.base, "bob@race.test")
    a, b = on(ann, gw[0]), on(bob, gw[1])
    pool = concurrent.futures.ThreadPoolExecutor(4)
    wins = {"ann": 0, "bob": 0}
    for round in range(50):
        fa = pool.submit(a.api, "PATCH", f"/api/v1/orgs/{org}/members/{bob.id}", {"roles": ["member"]})
        fb = pool.submit(b.api, "PATCH", f"/api/v1/orgs/{org}/members/{ann.id}", {"roles": ["member"]})
        ra, rb = fa.result(), fb.result()
        codes = sorted([ra.status_code, rb.status_code])
        assert codes[0] == 200 and codes[1] in (403, 409), f"round {round}: {ra.status_code} {ra.text[:200]} / {rb.status_code} {rb.text[:200]}"
        owners = [m for m in ann.api("GET", f"/api/v1/orgs/{org}/members?role=owner&limit=10", expect=200).json()["members"]]
        assert len(owners) == 1, f"round {round}: owners {owners}"
        winner, loser = (a, bob) if ra.status_code == 200 else (b, ann)
        wins["ann" if winner is a else "bob"] += 1
        winner.api("PATCH", f"/api/v1/orgs/{org}/members/{loser.id}", {"roles": ["owner"]}, expect=200)
    print(f"scale-out: 50 rounds of the last two owners demoting each other: exactly one won each (ann {wins['ann']}, bob {wins['bob']})")

    # The same rule by removal: each removes the other at once; the loser is invited back as owner and accepts.
    wins = {"ann": 0, "bob": 0}
    for round in range(50):
        fa = pool.submit(a.api, "DELETE", f"/api/v1/orgs/{org}/members/{bob.id}")
        fb = pool.submit(b.api, "DELETE", f"/api/v1/orgs/{org}/members/{ann.id}")
        ra, rb = fa.result(), fb.result()
        codes = sorted([ra.status_code, rb.status_code])
        assert codes[0] == 204 and codes[1] in (403, 404, 409), f"removal round {round}: {ra.status_code} {ra.text[:200]} / {rb.status_code} {rb.text[:200]}"
        survivor = a if ra.status_code == 204 else b
        owners = survivor.api("GET", f"/api/v1/orgs/{org}/members?role=owner&limit=10", expect=200).json()["members"]
        assert len(owners) == 1, f"removal round {round}: owners {owners}"
        winner, loser, name = (a, b, "bob") if ra.status_code == 204 else (b, a, "ann")
        wins["ann" if winner is a else "bob"] += 1
        before = invite_links(mailbox, f"{name}@race.test")
        winner.api("POST", f"/api/v1/orgs/{org}/invites", {"emails": [f"{name}@race.test"], "roles": ["owner"]}, expect=201)
        link = next_invite_link(mailbox, f"{name}@race.test", before)
        loser.api("POST", f"/api/v1/invites/{link.split('/invite/')[1]}/accept", expect=200)
    print(f"scale-out: 50 rounds of the last two owners removing each other: exactly one won each (ann {wins['ann']}, bob {wins['bob']})")

    joined = 0
    for round in range(50):
        email = f"racer{round}@race.test"
        ann.api("POST", f"/api/v1/orgs/{org}/invites", {"emails": [email], "roles": ["member"]}, expect=201)
        token = mailbox.link(email).split("/invite/")[1]
        clients = [e2e.Client(g) for g in gw]
        futures = [pool.submit(c.api, "POST", f"/api/v1/invites/{token}/accept", {"password": "a-long-password-1"}) for c in clients]
        answers = [f.result() for f in futures]
        codes = sorted(r.status_code for r in answers)
        # The loser is refused: the invite is used (409/410), or the address now has an account it must sign in to
        # (401) — whichever check it reached first; never a second 2xx.
        assert codes[0] == 200 and 400 <= codes[1] < 500, f"accept round {round}: {[(r.status_code, r.text[:200]) for r in answers]}"
        joined += 1
    members = ann.api("GET", f"/api/v1/orgs/{org}/members?q=racer&limit=100", expect=200).json()["members"]
    assert len(members) == 50 == joined, len(members)
    print("scale-out: 50 rounds of one invite accepted twice at once through two gateways: exactly one joined each")
    return org, ann


def revocation(cl, mailbox):
    gw = [f"http://127.0.0.1:{p}" for p in cl.gateways]
    c = sign_in(gw[0], "ann@race.test", "a-long-password-1")
    other = on(c, gw[1])
    other.api("GET", "/api/v1/me", expect=200)  # gateway B knows (and remembers) the session
    c.api("POST", "/api/v1/auth/logout", expect=204)
    t0 = time.time()
    while other.api("GET", "/api/v1/me").status_code != 401:
        assert time.time() - t0 < 1.0, "gateway B still accepts a session revoked through gateway A after 1 s"
        time.sleep(0.01)
    print(f"scale-out: a session signed out through gateway A was refused by gateway B after {1000 * (time.time() - t0):.0f} ms")


def in_doubt(cl, region):
    """Recipients of mail a region's outbox marked "in doubt" (a sender died between starting and marking it)."""
    schema = f"{cl.config['store']['schemaPrefix']}_{region}"
    out = subprocess.run(["psql", cl.config["store"]["databases"][region], "-Atc",
                          f"SELECT recipient FROM {schema}.outbox WHERE last_error LIKE 'in doubt%'"],
                         capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if line]


def failover(cl, mailbox, org, ann):
    acknowledged, failures, stop = [], [], threading.Event()
    lock = threading.Lock()

    def writer(n):
        c = on(ann, cl.base)
        i = 0
        while not stop.is_set():
            email = f"load{n}-{i}@load.test"
            i += 1
            try:
                r = c.api("POST", f"/api/v1/orgs/{org}/invites", {"emails": [email], "roles": ["member"]})
            except requests.RequestException as e:
                with lock:
                    failures.append(str(e)[:100])
                continue
            with lock:
                (acknowledged if r.status_code == 201 else failures).append(email if r.status_code == 201 else r.status_code)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    time.sleep(2)
    cl.kill("gw0")
    cl.kill("eu0")
    killed_at = len(acknowledged)
    time.sleep(4)
    stop.set()
    for t in threads:
        t.join()
    after = len(acknowledged) - killed_at
    assert after > 20, f"writes stopped after the kills ({after} acknowledged since)"
    # Every acknowledged invite is in the store (read through the surviving gateway and replica).
    listed = set()
    cursor = None
    while True:
        r = ann.api("GET", f"/api/v1/orgs/{org}/invites?status=pending&limit=200" + (f"&cursor={cursor}" if cursor else ""), expect=200).json()
        listed |= {i["email"] for i in r["invites"]}
        cursor = r.get("nextCursor")
        if not cursor:
            break
    missing = [e for e in acknowledged if e not in listed]
    assert not missing, f"{len(missing)} acknowledged invites are missing: {missing[:5]}"
    ann.api("GET", "/api/v1/me", expect=200)
    # Every acknowledged invitation is mailed once, though two replicas (then one) ran the outbox: never twice. A
    # mail whose delivery the killed replica had started (the SMTP server may or may not have it) is not sent
    # again: it is marked "in doubt" in the store once the claim lease ends (at most one per killed sender).
    deadline = time.time() + 40
    doubtful = set()
    while time.time() < deadline:
        with mailbox.lock:
            got = {}
            for rcpts, _, _, _ in mailbox.messages:
                for rc in rcpts:
                    got[rc] = got.get(rc, 0) + 1
        doubtful = set(in_doubt(cl, "eu"))
        if all(got.get(e, 0) >= 1 or e in doubtful for e in acknowledged):
            break
        time.sleep(0.5)
    twice = {e: n for e, n in got.items() if n > 1 and e.endswith("@load.test")}
    unsent = [e for e in acknowledged if got.get(e, 0) == 0]
    assert not twice, f"mailed more than once: {list(twice.items())[:5]}"
    assert all(e in doubtful for e in unsent), f"never mailed and not marked in doubt: {[e for e in unsent if e not in doubtful][:5]}"
    assert len(unsent) <= 1, f"more mail in doubt than one killed sender can leave: {unsent}"
    print(f"scale-out: failover under load: {len(acknowledged)} invites acknowledged ({after} after kill -9 of gateway A and"
          f" an EU replica), all in the store, none mailed twice ({len(unsent)} left in doubt by the killed sender);"
          f" {len(failures)} requests failed during the switch")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build/debug/gatehouse"))
    ap.add_argument("--postgres", default=os.environ.get("GATEHOUSE_TEST_POSTGRES"))
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="gh-scaleout-")
    pgdir = None
    postgres = a.postgres
    if not postgres:
        pgdir = tempfile.mkdtemp(prefix="gh-scaleout-pg-")
        os.chmod(pgdir, 0o755)
        postgres = subprocess.run([os.path.join(ROOT, "Tests/Postgres/cluster.sh"), "start", pgdir, str(e2e.free_port())],
                                  check=True, capture_output=True, text=True).stdout.strip()
    certdir = f"{work}/certs"
    os.makedirs(certdir)
    e2e.make_cert(certdir)
    mailbox = e2e.Mailbox()
    smtp_port = e2e.free_port()
    smtp = e2e.SMTPServer(smtp_port, mailbox, certdir, ["LOGIN"])
    smtp.start()
    cl = Cluster(a.binary, work, postgres, mailbox, smtp_port, certdir)
    ok = False
    try:
        cl.start()
        print("scale-out: 2 gateways and 2 replicas per region up behind haproxy on PostgreSQL")
        e2e.story(cl.base, a.binary, cl.admin_args(), mailbox, smtp, None)
        s = requests.Session()  # one keep-alive connection, as a browser would hold
        served = [s.get(f"{cl.base}/healthz").headers.get("X-Served-By") for _ in range(20)]
        assert {"gw0", "gw1"} <= set(served), served
        print(f"scale-out: the end-to-end story passed through haproxy (requests of one connection go to"
              f" gw0 {served.count('gw0')} and gw1 {served.count('gw1')} times in 20)")
        out = subprocess.run([a.binary, "admin", "bootstrap", "--region", "eu", "--email", "race-ops@gatehouse.test"] + cl.admin_args(),
                             check=True, capture_output=True, text=True).stdout
        ops = e2e.Client(cl.base)
        ops.api("POST", "/api/v1/auth/bootstrap", {"token": re.search(r"/bootstrap/(\S+)", out).group(1), "password": "operator-pass-1"}, expect=200)
        org, ann = races(cl, mailbox, ops)
        revocation(cl, mailbox)
        failover(cl, mailbox, org, ann)
        # Every process not killed on purpose is still running: a debug build stops on an assertion (among them:
        # no PostgreSQL round trip on an event loop).
        dead = {n: p.returncode for n, p in cl.procs.items() if n not in ("gw0", "eu0") and p.poll() is not None}
        assert not dead, f"processes died: {dead}"
        ok = True
    finally:
        cl.stop()
        try:
            smtp.stop()
        except Exception:
            pass
        if pgdir:
            subprocess.run([os.path.join(ROOT, "Tests/Postgres/cluster.sh"), "stop", pgdir])
            shutil.rmtree(pgdir, ignore_errors=True)
        if ok:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"scale-out: logs kept in {work}", file=sys.stderr)
    print("scale-out: all checks passed")


if __name__ == "__main__":
    main()
