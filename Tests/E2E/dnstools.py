"""dnsmasq (Debian) on a loopback UDP port, answering TXT records given on its command line: the DNS server
that proves SSO email domains in the script suites."""
import shutil, socket, subprocess, time


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def dnsmasq(port, records, log):
    """Starts dnsmasq with only these TXT records: no /etc/hosts, no upstream, loopback only. Returns the process."""
    binary = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
    args = [binary, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--bind-interfaces",
            "--listen-address=127.0.0.1", f"--port={port}", "--user=root", "--pid-file=", "--log-facility=-"]
    args += [f"--txt-record={name},{value}" for name, value in records]
    p = subprocess.Popen(args, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    time.sleep(0.5)
    assert p.poll() is None, open(log).read()
    return p


def prove_domain(client, org, domain, port, log):
    """Claims `domain` for `org` through the API, serves its TXT record from dnsmasq, and verifies it."""
    claim = client.api("POST", f"/api/v1/orgs/{org}/sso/domains", {"domain": domain}, expect=201).json()
    p = dnsmasq(port, [(claim["recordName"], claim["recordValue"])], log)
    try:
        v = client.api("POST", f"/api/v1/orgs/{org}/sso/domains/{domain}/verify", expect=200).json()
        assert v["verified"], v
    finally:
        p.terminate()
        p.wait(timeout=10)
