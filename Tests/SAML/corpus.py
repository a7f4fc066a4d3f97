#!/usr/bin/env python3
"""`gatehouse saml verify` against a corpus of real-tool signatures and attacks.

Valid responses are signed by xmlsec1 (Debian) and signxml (PyPI) in the shapes IdPs use; each attack is
made from a validly signed response (the XML Signature Wrapping variants XSW1-XSW8 of the SAML Raider
catalogue, removed signature, digest mismatch, another key, an attacker's embedded certificate, comment
injection, XXE and entity expansion, a second assertion, wrong audience/recipient/destination/issuer,
expired, not yet valid, an unknown InResponseTo, SHA-1 without permission) plus garbage input.
Each case states the exit code and, for refusals, the reason code it expects.

    python3 Tests/SAML/corpus.py --binary .build/debug/gatehouse [--keep DIR]
"""
import argparse
import copy
import os
import subprocess
import sys
import tempfile

from lxml import etree

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import samlfixtures as fx  # noqa: E402

NS = fx.NS


def parse(xml):
    return etree.fromstring(xml.encode())


def tostr(root):
    return etree.tostring(root).decode()


def assertion_of(root):
    return root.find("saml:Assertion", NS)


def set_name_id(assertion, value):
    assertion.find("saml:Subject/saml:NameID", NS).text = value


def strip_signature(el):
    for s in el.findall("ds:Signature", NS):
        el.remove(s)


# --- XML Signature Wrapping, after SAML Raider's catalogue -------------------------------------------------
# Response-signature variants (XSW1, XSW2) start from a response whose Response is signed; assertion
# variants (XSW3-XSW8) from one whose Assertion is signed. The evil content always names mallory.

def xsw1(signed_response):
    original = parse(signed_response)
    evil = copy.deepcopy(original)
    evil.set("ID", "_evil_response")
    set_name_id(assertion_of(evil), "mallory@evil.test")
    sig = evil.find("ds:Signature", NS)
    strip_signature(original)
    sig.append(original)            # the original, signed Response hides inside the Signature
    return tostr(evil)


def xsw2(signed_response):
    original = parse(signed_response)
    evil = copy.deepcopy(original)
    evil.set("ID", "_evil_response")
    set_name_id(assertion_of(evil), "mallory@evil.test")
    sig = evil.find("ds:Signature", NS)
    strip_signature(original)
    sig.addprevious(original)       # detached: the original Response becomes a sibling before the Signature
    return tostr(evil)


def xsw3(signed_assertion):
    root = parse(signed_assertion)
    original = assertion_of(root)
    evil = copy.deepcopy(original)
    strip_signature(evil)
    evil.set("ID", "_evil_assertion")
    set_name_id(evil, "mallory@evil.test")
    original.addprevious(evil)      # evil assertion first, original after it
    return tostr(root)


def xsw4(signed_assertion):
    root = parse(signed_assertion)
    original = assertion_of(root)
    evil = copy.deepcopy(original)
    strip_signature(evil)
    evil.set("ID", "_evil_assertion")
    set_name_id(evil, "mallory@evil.test")
    root.replace(original, evil)
    evil.append(original)           # the original becomes a child of the evil assertion
    return tostr(root)


def xsw5(signed_assertion):
    root = parse(signed_assertion)
    original = assertion_of(root)
    evil = copy.deepcopy(original)   # keeps the signature, content changed
    set_name_id(evil, "mallory@evil.test")
    stripped = copy.deepcopy(original)
    strip_signature(stripped)
    root.replace(original, evil)
    root.append(stripped)           # the original, unsigned, at the end of the response
    return tostr(root)


def xsw6(signed_assertion):
    root = parse(signed_assertion)
    original = assertion_of(root)
    evil = copy.deepcopy(original)
    evil.set("ID", "_evil_assertion")
    set_name_id(evil, "mallory@evil.test")
    root.replace(original, evil)
    stripped = copy.deepcopy(original)
    evil_sig = evil.find("ds:Signature", NS)
    strip_signature(stripped)
    evil_sig.append(stripped)       # the original inside the evil assertion's copied Signature
    return tostr(root)


def xsw7(signed_assertion):
    root = parse(signed_assertion)
    original = assertion_of(root)
    evil = copy.deepcopy(original)
    strip_signature(evil)
    set_name_id(evil, "mallory@evil.test")
    ext = etree.SubElement(root, "{%s}Extensions" % fx.SAMLP)
    root.replace(original, evil)
    ext.append(original)            # the signed original inside samlp:Extensions
    root.remove(ext)
    root.find("saml:Issuer", NS).addnext(ext)
    return tostr(root)


def xsw8(signed_assertion):
    root = parse(signed_assertion)
    original = assertion_of(root)
    evil = copy.deepcopy(original)
    set_name_id(evil, "mallory@evil.test")
    root.replace(original, evil)
    obj = etree.SubElement(evil.find("ds:Signature", NS), "{%s}Object" % fx.DS)
    stripped = copy.deepcopy(original)
    strip_signature(stripped)
    obj.append(stripped)            # the original, unsigned, inside ds:Object of the evil assertion's Signature
    return tostr(root)


def unique_ids(xml):
    """Renames every repeated ID after its first occurrence in document order."""
    root = parse(xml)
    seen = set()
    for i, el in enumerate(root.iter()):
        v = el.get("ID") if isinstance(el.tag, str) else None
        if v is not None:
            if v in seen:
                el.set("ID", f"{v}_copy{i}")
            seen.add(v)
    return tostr(root)


def comment_injection(signed_assertion):
    # The IdP signed "alice@example.com.evil.test"; a comment that splits it keeps the digest valid.
    return signed_assertion.replace(">alice@example.com.evil.test<", ">alice@example.com<!---->.evil.test<")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--keep", help="write every case's input here")
    args = ap.parse_args()
    work = args.keep or tempfile.mkdtemp(prefix="gatehouse-saml-corpus-")
    os.makedirs(work, exist_ok=True)
    keys = fx.make_keys(os.path.join(work, "keys"))
    idp_key, idp_crt = keys["idp"]
    att_key, att_crt = keys["attacker"]
    base_args = ["--idp-cert", idp_crt, "--audience", fx.AUDIENCE, "--acs", fx.ACS, "--idp-entity-id", fx.IDP,
                 "--now", "2026-11-23T12:01:00Z"]

    def xs(xml=None, what="assertion", key=(idp_key, idp_crt), **kw):
        return fx.xmlsec_sign(xml or fx.response_xml(), *key, what=what, workdir=work, **kw)

    signed_assertion = xs()
    signed_response = xs(what="response")
    irt = fx.response_xml(in_response_to="_req42")

    cases = []   # (name, input text, extra args, expected exit, expected code or None)

    def ok(name, text, extra=(), expect_name="alice@example.com"):
        cases.append((name, text, list(extra), 0, expect_name))

    def bad(name, text, code, extra=()):
        cases.append((name, text, list(extra), 1, code))

    # Valid, signed by tools nobody here wrote.
    ok("xmlsec1 assertion rsa-sha256", signed_assertion)
    ok("xmlsec1 response rsa-sha256", signed_response)
    ok("xmlsec1 both signed", xs(what="both"))
    ok("xmlsec1 rsa-sha384", xs(alg="rsa-sha384"))
    ok("xmlsec1 rsa-sha512 response", xs(alg="rsa-sha512", what="response"))
    ok("xmlsec1 exc-c14n WithComments SignedInfo", xs(c14n="http://www.w3.org/2001/10/xml-exc-c14n#WithComments"))
    ok("xmlsec1 InclusiveNamespaces PrefixList", xs(prefix_list="xs xsi"))
    ok("signxml assertion rsa-sha256", fx.signxml_sign(fx.response_xml(), idp_key, idp_crt))
    ok("signxml response rsa-sha512", fx.signxml_sign(fx.response_xml(), idp_key, idp_crt, what="response", alg="rsa-sha512", digest="sha512"))
    ok("signxml ecdsa-sha256 (P-256)", fx.signxml_sign(fx.response_xml(), *keys["ec"], alg="ecdsa-sha256"), ["--idp-cert", keys["ec"][1]])
    ok("signxml ecdsa-sha384 (P-384)", fx.signxml_sign(fx.response_xml(), *keys["ec384"], alg="ecdsa-sha384", digest="sha384"), ["--idp-cert", keys["ec384"][1]])
    ok("base64 as posted to an ACS", fx.b64(signed_assertion))
    ok("answers our request", xs(irt), ["--in-response-to", "_req42"])
    ok("rotation: second certificate", xs(key=(att_key, att_crt)), ["--idp-cert", att_crt])
    ok("SHA-1 allowed explicitly", xs(alg="rsa-sha1"), ["--allow-sha1"])
    ok("within clock skew", signed_assertion, ["--now", "2026-11-23T12:06:30Z"])
    ok("non-ASCII and escaped values", xs(fx.response_xml(name_id="zoe@example.com", attributes={"sn": ["O'Brien & Søn <QA>"]})),
       expect_name="zoe@example.com")
    ok("whole NameID read", xs(fx.response_xml(name_id="alice@example.com.evil.test")), expect_name="alice@example.com.evil.test")

    # Signature wrapping.
    bad("XSW1", xsw1(signed_response), "duplicate_id")
    bad("XSW2", xsw2(signed_response), "duplicate_id")
    bad("XSW3", xsw3(signed_assertion), "multiple_assertions")
    bad("XSW4", xsw4(signed_assertion), "multiple_assertions")
    bad("XSW5", xsw5(signed_assertion), "duplicate_id")
    bad("XSW6", xsw6(signed_assertion), "multiple_assertions")
    bad("XSW7", xsw7(signed_assertion), "duplicate_id")
    bad("XSW8", xsw8(signed_assertion), "duplicate_id")
    # The same wraps after removing the second copy's tell-tale: the signed ID moved or duplicated.
    moved = parse(signed_assertion)
    a = assertion_of(moved)
    orig_id = a.get("ID")
    a.set("ID", "_other")
    bad("moved ID", tostr(moved), "reference_refused")
    dup = parse(signed_response)
    dup.find("samlp:Status", NS).set("ID", dup.get("ID"))
    bad("duplicated ID", tostr(dup), "duplicate_id")
    obj = parse(signed_assertion)
    etree.SubElement(assertion_of(obj).find("ds:Signature", NS), "{%s}Object" % fx.DS)
    bad("ds:Object in signature", tostr(obj), "signature_malformed")
    # An unsigned assertion next to a signed response is impossible to express without a second assertion; an
    # unsigned sibling element carrying the signed assertion's content is refused as a signature elsewhere.
    sib = parse(signed_assertion)
    holder = etree.SubElement(sib, "{%s}Extensions" % fx.SAMLP)
    holder.append(copy.deepcopy(assertion_of(sib).find("ds:Signature", NS)))
    bad("signature in an unsigned sibling", tostr(sib), "unexpected_signature")

    # Signature problems.
    removed = parse(signed_assertion)
    strip_signature(assertion_of(removed))
    bad("removed signature", tostr(removed), "unsigned")
    bad("unsigned response", fx.response_xml(), "unsigned")
    tampered = parse(signed_assertion)
    set_name_id(assertion_of(tampered), "mallory@evil.test")
    bad("digest mismatch (NameID changed)", tostr(tampered), "digest_mismatch")
    bad("signed by another key", xs(key=(att_key, att_crt)), "signature_invalid")
    embedded = parse(xs(key=(att_key, att_crt)))
    bad("attacker's certificate embedded in KeyInfo", tostr(embedded), "signature_invalid")
    sv = parse(signed_assertion)
    el = assertion_of(sv).find("ds:Signature/ds:SignatureValue", NS)
    el.text = el.text.strip()[:-8] + "AAAAAAA="
    bad("signature value altered", tostr(sv), "signature_invalid")
    bad("SHA-1 without permission", xs(alg="rsa-sha1"), "sha1_refused")
    bad("comment injection in NameID", comment_injection(xs(fx.response_xml(name_id="alice@example.com.evil.test"))), "name_id_tampered")

    # Parser attacks.
    body = signed_assertion.split("?>", 1)[1] if signed_assertion.startswith("<?xml") else signed_assertion
    xxe = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           + body.replace(">alice@example.com<", ">&x;<", 1))
    bad("XXE", xxe, "DOCTYPE is not allowed")
    lol = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
           '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
           + body.replace(">alice@example.com<", ">&d;<", 1))
    bad("entity expansion", lol, "xml_refused")
    bad("internal entity reference without DOCTYPE", body.replace(">alice@example.com<", ">&lt;&amp;&#x41;<", 1), "digest_mismatch")
    second = parse(signed_assertion)
    extra = copy.deepcopy(assertion_of(second))
    strip_signature(extra)
    extra.set("ID", "_second")
    second.append(extra)
    bad("second assertion", tostr(second), "multiple_assertions")

    # Wrong addressing, all validly signed.
    bad("wrong audience", xs(fx.response_xml(audience="http://other.test/sp")), "wrong_audience")
    bad("wrong recipient", xs(fx.response_xml(recipient="http://other.test/acs")), "wrong_recipient")
    bad("wrong destination", xs(fx.response_xml(destination="http://other.test/acs")), "wrong_destination")
    bad("wrong issuer", xs(fx.response_xml(issuer="http://other-idp.test/")), "wrong_issuer")
    bad("expired", signed_assertion, "expired", ["--now", "2026-11-23T12:08:00Z"])
    bad("not yet valid", signed_assertion, "not_yet_valid", ["--now", "2026-11-23T11:55:00Z"])
    bad("InResponseTo never sent (IdP-initiated mode)", xs(irt), "unknown_request")
    bad("InResponseTo of another request", xs(irt), "unknown_request", ["--in-response-to", "_req43"])
    bad("request sent but unsolicited answer", signed_assertion, "unknown_request", ["--in-response-to", "_req42"])
    bad("IdP error status", fx.response_xml(status="urn:oasis:names:tc:SAML:2.0:status:Requester"), "status_not_success")

    # Encrypted assertions (XML Encryption made with PyPI cryptography, as IdPs shape it): each opened with the SP
    # key given by --sp-key and then checked exactly like a plain assertion.
    sp_key, sp_crt = keys["sp"]
    old_key, old_crt = keys["sp-previous"]
    spk = ["--sp-key", sp_key]
    ok("encrypted aes128-cbc + rsa-oaep-mgf1p (SimpleSAMLphp's choice)", fx.encrypt_assertion(signed_assertion, sp_crt), spk)
    ok("encrypted aes256-gcm + rsa-oaep sha256/mgf1sha256",
       fx.encrypt_assertion(signed_assertion, sp_crt, "aes256-gcm", "rsa-oaep", "sha256", "sha256"), spk)
    ok("encrypted aes128-gcm + rsa-oaep-mgf1p sha256 digest",
       fx.encrypt_assertion(signed_assertion, sp_crt, "aes128-gcm", oaep_digest="sha256"), spk)
    ok("encrypted aes256-cbc, EncryptedKey beside EncryptedData",
       fx.encrypt_assertion(signed_assertion, sp_crt, "aes256-cbc", key_beside=True), spk)
    ok("encrypted, unsigned inside, Response signed over the ciphertext",
       xs(fx.encrypt_assertion(fx.response_xml(), sp_crt), what="response"), spk)
    ok("encrypted to the previous SP key during a rotation", fx.encrypt_assertion(signed_assertion, old_crt),
       spk + ["--sp-key", old_key])
    enc = fx.encrypt_assertion(signed_assertion, sp_crt)
    bad("encrypted, no SP key configured", enc, "encrypted_assertion")
    bad("encrypted, inner signature missing, Response unsigned", fx.encrypt_assertion(fx.response_xml(), sp_crt),
        "unsigned", spk)
    bad("encrypted, signed by another key", fx.encrypt_assertion(xs(key=(att_key, att_crt)), sp_crt),
        "signature_invalid", spk)
    bad("tampered ciphertext (CBC)", fx.tamper_ciphertext(enc), "decryption_failed", spk)
    bad("tampered ciphertext (GCM)", fx.tamper_ciphertext(fx.encrypt_assertion(signed_assertion, sp_crt, "aes128-gcm")),
        "decryption_failed", spk)
    bad("key encrypted for another SP", fx.encrypt_assertion(signed_assertion, att_crt), "decryption_failed", spk)
    bad("RSA PKCS#1 v1.5 key transport", fx.encrypt_assertion(signed_assertion, sp_crt, key_alg="rsa-1_5"),
        "decryption_failed", spk)
    tampered_inner = parse(fx.encrypt_assertion(tostr(tampered), sp_crt))
    bad("encrypted, inner NameID changed after signing", tostr(tampered_inner), "digest_mismatch", spk)
    # Wrapping around an EncryptedAssertion: a signed Response over the ciphertext plus an unsigned plain
    # assertion beside it, or the ciphertext moved into Extensions.
    signed_enc = xs(fx.encrypt_assertion(fx.response_xml(), sp_crt), what="response")
    wrap = parse(signed_enc)
    evil = parse(fx.response_xml(name_id="mallory@evil.test"))
    wrap.append(copy.deepcopy(assertion_of(evil)))
    bad("plain assertion beside a signed EncryptedAssertion", tostr(wrap), "multiple_assertions", spk)
    moved_enc = parse(signed_enc)
    ea = moved_enc.find("saml:EncryptedAssertion", NS)
    ext = etree.SubElement(moved_enc, "{%s}Extensions" % fx.SAMLP)
    ext.append(ea)
    bad("EncryptedAssertion moved into Extensions", tostr(moved_enc), "assertion_misplaced", spk)

    # Legacy IdP keys: a 1024-bit RSA key is refused unless the org lowered the floor.
    legacy = xs(key=keys["legacy1024"])
    bad("1024-bit IdP key under the default floor", legacy, "shorter than 2048 bits", ["--idp-cert", keys["legacy1024"][1]])
    ok("1024-bit IdP key with --min-rsa-bits 1024", legacy, ["--idp-cert", keys["legacy1024"][1], "--min-rsa-bits", "1024"])

    # Garbage never crashes.
    bad("empty input", "", "empty")
    bad("not XML, not base64", "%%% nope %%%", "not_base64")
    bad("truncated XML", signed_assertion[: len(signed_assertion) // 2], "xml_refused")
    bad("random bytes as base64", fx.b64("\x00\x01binary\xff" * 50), "xml_refused")
    bad("wrong root", "<foo/>", "not_a_response")
    deep = "<a>" * 5000 + "</a>" * 5000
    bad("deep nesting", deep, "xml_refused")
    # The XSW variants once more with every ID made unique, so the duplicate-ID check is not what stops them.
    for n, maker, src in [(1, xsw1, signed_response), (2, xsw2, signed_response), (5, xsw5, signed_assertion),
                          (7, xsw7, signed_assertion), (8, xsw8, signed_assertion)]:
        bad(f"XSW{n} with unique IDs", unique_ids(maker(src)), "multiple_assertions")

    failures = 0
    for i, (name, text, extra, want_rc, want) in enumerate(cases):
        path = os.path.join(work, f"case-{i:02d}.xml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        argv = [args.binary, "saml", "verify", *base_args, *extra, path]
        # Later flags win for --now; extra certificates add to the pinned set.
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        first = r.stdout.splitlines()[0] if r.stdout else ""
        good = r.returncode == want_rc and (first == want if want_rc == 0 else (want in r.stderr and r.stdout == ""))
        if r.returncode not in (0, 1):
            good = False
        print(("ok    " if good else "FAIL  ") + f"{name}: exit {r.returncode} {first or r.stderr.strip()}")
        failures += 0 if good else 1
    print(f"{len(cases) - failures}/{len(cases)} corpus cases decided correctly")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
