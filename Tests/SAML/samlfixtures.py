"""SAML Response fixtures for Gatehouse's tests: keys, a Response template, and signing with tools nobody
here wrote (xmlsec1, the Debian command, and signxml from PyPI). Shared by the attack corpus, the benchmark
and the ACS tests."""
import base64
import copy
import datetime as dt
import os
import subprocess
import uuid

from lxml import etree

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
NS = {"samlp": SAMLP, "saml": SAML, "ds": DS}

AUDIENCE = "http://127.0.0.1:9000/sp"
ACS = "http://127.0.0.1:9000/acs"
IDP = "http://idp.example.test/metadata"
NOW = dt.datetime(2026, 11, 23, 12, 0, 0, tzinfo=dt.timezone.utc)


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def make_keys(directory):
    """RSA-2048 IdP key, an attacker's RSA key, and an EC P-256 key, each with a self-signed certificate."""
    os.makedirs(directory, exist_ok=True)
    out = {}
    for name, alg in [("idp", ["-newkey", "rsa:2048"]), ("attacker", ["-newkey", "rsa:2048"]),
                      ("sp", ["-newkey", "rsa:2048"]), ("sp-previous", ["-newkey", "rsa:2048"]),
                      ("legacy1024", ["-newkey", "rsa:1024"]),
                      ("ec", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]),
                      ("ec384", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:secp384r1"])]:
        key, crt = os.path.join(directory, name + ".key"), os.path.join(directory, name + ".crt")
        if not os.path.exists(crt):
            subprocess.run(["openssl", "req", "-x509", *alg, "-nodes", "-keyout", key, "-out", crt, "-days", "3650",
                            "-subj", "/CN=Gatehouse test " + name], check=True, capture_output=True)
        out[name] = (key, crt)
    return out


def response_xml(name_id="alice@example.com", in_response_to=None, audience=AUDIENCE, recipient=ACS, destination=ACS,
                 issuer=IDP, now=NOW, lifetime=300, attributes=None, status="urn:oasis:names:tc:SAML:2.0:status:Success",
                 padding=0):
    """A Response shaped like SimpleSAMLphp's, unsigned."""
    rid, aid = "_" + uuid.uuid4().hex, "_" + uuid.uuid4().hex
    irt = f' InResponseTo="{in_response_to}"' if in_response_to else ""
    attributes = attributes if attributes is not None else {
        "email": [name_id], "givenName": ["Alice"], "sn": ["Anderson"], "groups": ["users", "engineering"]}
    if padding:
        attributes = dict(attributes, notes=["x" * padding])
    attrs = "".join(
        f'<saml:Attribute Name="{n}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">'
        + "".join(f'<saml:AttributeValue xsi:type="xs:string">{escape(v)}</saml:AttributeValue>' for v in vs)
        + "</saml:Attribute>" for n, vs in attributes.items())
    nb, na = iso(now - dt.timedelta(seconds=30)), iso(now + dt.timedelta(seconds=lifetime))
    return f'''<samlp:Response xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" ID="{rid}" Version="2.0" IssueInstant="{iso(now)}" Destination="{destination}"{irt}><saml:Issuer>{issuer}</saml:Issuer><samlp:Status><samlp:StatusCode Value="{status}"/></samlp:Status><saml:Assertion xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xs="http://www.w3.org/2001/XMLSchema" ID="{aid}" Version="2.0" IssueInstant="{iso(now)}"><saml:Issuer>{issuer}</saml:Issuer><saml:Subject><saml:NameID SPNameQualifier="{audience}" Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{escape(name_id)}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="{na}" Recipient="{recipient}"{irt}/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{nb}" NotOnOrAfter="{na}"><saml:AudienceRestriction><saml:Audience>{audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="{iso(now)}" SessionNotOnOrAfter="{iso(now + dt.timedelta(hours=8))}" SessionIndex="_s{uuid.uuid4().hex}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement>{attrs}</saml:AttributeStatement></saml:Assertion></samlp:Response>'''


def escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


SIG_ALGS = {
    "rsa-sha1": ("http://www.w3.org/2000/09/xmldsig#rsa-sha1", "http://www.w3.org/2000/09/xmldsig#sha1"),
    "rsa-sha256": ("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", "http://www.w3.org/2001/04/xmlenc#sha256"),
    "rsa-sha384": ("http://www.w3.org/2001/04/xmldsig-more#rsa-sha384", "http://www.w3.org/2001/04/xmldsig-more#sha384"),
    "rsa-sha512": ("http://www.w3.org/2001/04/xmldsig-more#rsa-sha512", "http://www.w3.org/2001/04/xmlenc#sha512"),
    "ecdsa-sha256": ("http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256", "http://www.w3.org/2001/04/xmlenc#sha256"),
}


def signature_template(ref_id, alg="rsa-sha256", c14n="http://www.w3.org/2001/10/xml-exc-c14n#", prefix_list=None):
    sig, dig = SIG_ALGS[alg]
    inc = f'<ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="{prefix_list}"/>' if prefix_list else ""
    return (f'<ds:Signature xmlns:ds="{DS}"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="{c14n}"/>'
            f'<ds:SignatureMethod Algorithm="{sig}"/><ds:Reference URI="#{ref_id}"><ds:Transforms>'
            f'<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>'
            f'<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#">{inc}</ds:Transform></ds:Transforms>'
            f'<ds:DigestMethod Algorithm="{dig}"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo>'
            f'<ds:SignatureValue></ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate></ds:X509Certificate>'
            f'</ds:X509Data></ds:KeyInfo></ds:Signature>')


def _insert_after_issuer(xml, element, template):
    root = etree.fromstring(xml.encode())
    target = root if element == "response" else root.find("saml:Assertion", NS)
    issuer = target.find("saml:Issuer", NS)
    issuer.addnext(etree.fromstring(template))
    return etree.tostring(root).decode()


def xmlsec_sign(xml, key, crt, what="assertion", alg="rsa-sha256", c14n="http://www.w3.org/2001/10/xml-exc-c14n#", prefix_list=None, workdir="/tmp"):
    """Signs the assertion, the response, or both (assertion first), with the xmlsec1 command."""
    steps = ["assertion", "response"] if what == "both" else [what]
    for step in steps:
        root = etree.fromstring(xml.encode())
        target = root if step == "response" else root.find("saml:Assertion", NS)
        xml = _insert_after_issuer(xml, step, signature_template(target.get("ID"), alg, c14n, prefix_list))
        path = os.path.join(workdir, f"tosign-{uuid.uuid4().hex}.xml")
        with open(path, "w") as f:
            f.write(xml)
        node = "urn:oasis:names:tc:SAML:2.0:protocol:Response" if step == "response" else "urn:oasis:names:tc:SAML:2.0:assertion:Assertion"
        r = subprocess.run(["xmlsec1", "--sign", "--privkey-pem", f"{key},{crt}", "--id-attr:ID", node,
                            "--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion", "--output", "/dev/stdout", path],
                           capture_output=True, text=True)
        os.unlink(path)
        if r.returncode != 0:
            raise RuntimeError("xmlsec1 --sign failed: " + r.stderr)
        xml = r.stdout
    return xml


def signxml_sign(xml, key, crt, what="assertion", alg="rsa-sha256", digest="sha256", prefixes=None):
    """Signs with signxml (PyPI): enveloped, exclusive C14N, certificate in KeyInfo."""
    from signxml import XMLSigner, methods
    root = etree.fromstring(xml.encode())
    target = root if what == "response" else root.find("saml:Assertion", NS)
    issuer = target.find("saml:Issuer", NS)
    issuer.addnext(etree.fromstring(f'<ds:Signature xmlns:ds="{DS}" Id="placeholder"/>'))
    signer = XMLSigner(method=methods.enveloped, signature_algorithm=alg, digest_algorithm=digest,
                       c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#")
    signer.namespaces = {"ds": DS}
    kwargs = {"inclusive_ns_prefixes": prefixes} if prefixes else {}
    signed = signer.sign(target, key=open(key, "rb").read(), cert=open(crt).read(), reference_uri=target.get("ID"), **kwargs)
    if what == "response":
        return etree.tostring(signed).decode()
    target.getparent().replace(target, signed)
    return etree.tostring(root).decode()


def b64(xml):
    return base64.b64encode(xml.encode()).decode()


# ------------------------------------------------------------------ XML Encryption (the IdP side, for the corpus)
XENC = "http://www.w3.org/2001/04/xmlenc#"
XENC11 = "http://www.w3.org/2009/xmlenc11#"
DATA_ALGS = {"aes128-cbc": (XENC, 16), "aes256-cbc": (XENC, 32), "aes128-gcm": (XENC11, 16), "aes256-gcm": (XENC11, 32)}


def encrypt_assertion(xml, sp_crt, data_alg="aes128-cbc", key_alg="rsa-oaep-mgf1p", oaep_digest="sha1", mgf="sha1",
                      key_beside=False):
    """Replaces the Response's saml:Assertion by a saml:EncryptedAssertion for the SP's certificate, as an IdP
    does: a fresh AES key (CBC with XML Encryption padding, or GCM), wrapped with RSA-OAEP (PyPI cryptography).
    `key_alg` "rsa-1_5" makes the legacy PKCS#1 v1.5 key transport that a careful SP refuses."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    root = etree.fromstring(xml.encode())
    assertion = root.find("saml:Assertion", NS)
    plain = etree.tostring(assertion)
    ns, size = DATA_ALGS[data_alg]
    key = os.urandom(size)
    if data_alg.endswith("gcm"):
        iv = os.urandom(12)
        cipher = iv + AESGCM(key).encrypt(iv, plain, None)
    else:
        iv = os.urandom(16)
        pad = 16 - len(plain) % 16
        padded = plain + os.urandom(pad - 1) + bytes([pad])
        enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
        cipher = iv + enc.update(padded) + enc.finalize()
    public = x509.load_pem_x509_certificate(open(sp_crt, "rb").read()).public_key()
    h = {"sha1": hashes.SHA1(), "sha256": hashes.SHA256(), "sha512": hashes.SHA512()}
    if key_alg == "rsa-1_5":
        wrapped, method = public.encrypt(key, padding.PKCS1v15()), f'<xenc:EncryptionMethod Algorithm="{XENC}rsa-1_5"/>'
    else:
        wrapped = public.encrypt(key, padding.OAEP(mgf=padding.MGF1(h[mgf]), algorithm=h[oaep_digest], label=None))
        digest_uri = {"sha1": DS + "sha1", "sha256": XENC + "sha256", "sha512": XENC + "sha512"}[oaep_digest]
        uri = XENC + "rsa-oaep-mgf1p" if key_alg == "rsa-oaep-mgf1p" else XENC11 + "rsa-oaep"
        mgf_el = f'<xenc11:MGF xmlns:xenc11="{XENC11}" Algorithm="{XENC11}mgf1{mgf}"/>' if key_alg == "rsa-oaep" else ""
        method = f'<xenc:EncryptionMethod Algorithm="{uri}"><ds:DigestMethod Algorithm="{digest_uri}"/>{mgf_el}</xenc:EncryptionMethod>'
    ek = (f'<xenc:EncryptedKey xmlns:xenc="{XENC}" xmlns:ds="{DS}">{method}<xenc:CipherData><xenc:CipherValue>'
          f'{base64.b64encode(wrapped).decode()}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey>')
    data = (f'<xenc:EncryptedData xmlns:xenc="{XENC}" xmlns:ds="{DS}" Type="{XENC}Element">'
            f'<xenc:EncryptionMethod Algorithm="{ns}{data_alg}"/>'
            + ("" if key_beside else f"<ds:KeyInfo>{ek}</ds:KeyInfo>")
            + f'<xenc:CipherData><xenc:CipherValue>{base64.b64encode(cipher).decode()}</xenc:CipherValue>'
            '</xenc:CipherData></xenc:EncryptedData>')
    encrypted = etree.fromstring(f'<saml:EncryptedAssertion xmlns:saml="{SAML}">{data}{ek if key_beside else ""}'
                                 '</saml:EncryptedAssertion>')
    assertion.getparent().replace(assertion, encrypted)
    return etree.tostring(root).decode()


def tamper_ciphertext(xml, offset=20):
    """Flips one byte of the EncryptedData's ciphertext (just after a 16-byte IV: the first block)."""
    root = etree.fromstring(xml.encode())
    cv = root.find("saml:EncryptedAssertion/{%s}EncryptedData/{%s}CipherData/{%s}CipherValue" % (XENC, XENC, XENC), NS)
    raw = bytearray(base64.b64decode(cv.text))
    raw[offset] ^= 0x40
    cv.text = base64.b64encode(bytes(raw)).decode()
    return etree.tostring(root).decode()
