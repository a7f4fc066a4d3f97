#!/usr/bin/env python3
"""ID tokens made by PyJWT (keys by `cryptography`), checked by `gatehouse oidc verify`.

Tokens from a library nobody here wrote: RS256, PS256 and ES256 must verify; alg none, HS256 keyed with the
provider's public key, another key, an unknown kid, wrong iss/aud/azp/nonce, expiry, an unverified email must
each be refused with their reason code. Then a key rotation: the provider publishes a new key and drops the
old, a token under the new key verifies and one under the old key is refused.
    python3 Tests/OIDC/jose_interop.py --binary .build/debug/gatehouse
"""
import argparse, base64, hashlib, hmac, json, os, subprocess, sys, tempfile, time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

ISSUER, CLIENT, NONCE = "https://op.interop.test", "gatehouse-interop", "nonce-7f3a"
NOW = 1_800_000_000


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwk(public_key, kid):
    d = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(public_key) if isinstance(public_key, rsa.RSAPublicKey)
                   else jwt.algorithms.ECAlgorithm.to_jwk(public_key))
    d.update(kid=kid, use="sig")
    return d


def claims(**changes):
    c = {"iss": ISSUER, "aud": CLIENT, "sub": "interop-user", "email": "ada@interop.test", "email_verified": True,
         "iat": NOW - 5, "exp": NOW + 600, "nonce": NONCE}
    for k, v in changes.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="gh-oidc-jose-")
    rsa1 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa2 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec1 = ec.generate_private_key(ec.SECP256R1())

    def jwks(*entries):
        path = os.path.join(work, "jwks-%d.json" % len(os.listdir(work)))
        with open(path, "w") as f:
            json.dump({"keys": list(entries)}, f)
        return path

    before = jwks(jwk(rsa1.public_key(), "k1"), jwk(ec1.public_key(), "e1"))
    after = jwks(jwk(rsa2.public_key(), "k2"), jwk(ec1.public_key(), "e1"))

    def sign(c, key, alg="RS256", kid="k1"):
        return jwt.encode(c, key, algorithm=alg, headers={"kid": kid} if kid else None)

    public_pem = rsa1.public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
    head = b64(json.dumps({"alg": "HS256", "kid": "k1", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims()).encode())
    hs_confusion = f"{head}.{body}." + b64(hmac.new(public_pem, f"{head}.{body}".encode(), hashlib.sha256).digest())

    cases = [
        ("RS256 by PyJWT", sign(claims(), rsa1), before, None),
        ("PS256 by PyJWT", sign(claims(), rsa1, "PS256"), before, None),
        ("ES256 by PyJWT", sign(claims(), ec1, "ES256", "e1"), before, None),
        ("alg none", jwt.encode(claims(), None, algorithm="none", headers={"kid": "k1"}), before, "alg_not_allowed"),
        ("HS256 keyed with the public key", hs_confusion, before, "alg_not_allowed"),
        ("HS256 with a shared secret", jwt.encode(claims(), "s" * 32, algorithm="HS256"), before, "alg_not_allowed"),
        ("another key under kid k1", sign(claims(), other), before, "bad_signature"),
        ("unknown kid", sign(claims(), other, kid="zz"), before, "unknown_kid"),
        ("expired", sign(claims(exp=NOW - 300), rsa1), before, "expired"),
        ("wrong issuer", sign(claims(iss="https://evil.test"), rsa1), before, "wrong_iss"),
        ("wrong audience", sign(claims(aud="another-app"), rsa1), before, "wrong_aud"),
        ("two audiences, azp another", sign(claims(aud=[CLIENT, "x"], azp="x"), rsa1), before, "wrong_azp"),
        ("wrong nonce", sign(claims(nonce="replayed"), rsa1), before, "nonce_mismatch"),
        ("email not verified", sign(claims(email_verified=False), rsa1), before, "email_not_verified"),
        # Rotation: the provider now publishes k2 only (and the EC key).
        ("after rotation: the new key", sign(claims(), rsa2, kid="k2"), after, None),
        ("after rotation: the old key", sign(claims(), rsa1), after, "unknown_kid"),
    ]
    failures = 0
    for name, token, keys, expected in cases:
        r = subprocess.run(
            [args.binary, "oidc", "verify", "--issuer", ISSUER, "--client-id", CLIENT, "--jwks", keys,
             "--nonce", NONCE, "--now", str(NOW), "-"], input=token.encode(), capture_output=True, timeout=30)
        out, err = r.stdout.decode(), r.stderr.decode().strip()
        if expected is None:
            ok = r.returncode == 0 and out.splitlines()[:2] == ["interop-user", "ada@interop.test"]
        else:
            ok = r.returncode == 1 and err.startswith("refused: " + expected + ":")
        print(("ok    " if ok else "FAIL  ") + name + ": " + (out.splitlines()[0] if r.returncode == 0 else err))
        failures += not ok
    print(f"{len(cases) - failures}/{len(cases)} PyJWT tokens decided correctly")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
