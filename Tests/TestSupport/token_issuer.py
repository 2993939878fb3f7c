"""A loopback test token service for the Docker registry token protocol (tests only).

Usage: token_issuer.py DIR

DIR/users.json: {"USER": {"password": "...", "actions": ["pull", "push"]}, ...}; the entry
"" (empty name) is what anonymous requests get (absent: nothing).

On start it writes into DIR: ca.pem (a test CA; the notary server's rootcertbundle and the TLS
CA for clients), tls.pem + tls-key.pem (a server certificate for 127.0.0.1 issued by that CA),
signer.pem (the token-signing certificate, issued by the CA), then serves
GET /token?service=S&scope=repository:NAME:ACTIONS[&scope=...] on 127.0.0.1 (plain http, an
ephemeral port) and writes the port into DIR/port last. Tokens are ES256 JWTs with an x5c header
holding the signing certificate, claims iss/sub/aud/exp/nbf/iat/jti/access; each scope grants
the requested actions the account has. Wrong passwords get 401. Runs until killed.
"""
import base64
import datetime
import http.server
import json
import os
import secrets
import sys
import time
import urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID
import ipaddress

ISSUER = "trustvault-test-issuer"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_cert(subject_cn, key, issuer_name, issuer_key, ca, san_ip=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)]))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
    if san_ip:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(san_ip)), x509.DNSName("localhost")]),
            critical=False)
        builder = builder.add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def write(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def main():
    directory = sys.argv[1]
    with open(os.path.join(directory, "users.json")) as f:
        users = json.load(f)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "trustvault test CA")])
    ca = make_cert("trustvault test CA", ca_key, ca_name, ca_key, True)
    tls_key = ec.generate_private_key(ec.SECP256R1())
    tls = make_cert("127.0.0.1", tls_key, ca_name, ca_key, False, san_ip="127.0.0.1")
    signer_key = ec.generate_private_key(ec.SECP256R1())
    signer = make_cert("trustvault test token signer", signer_key, ca_name, ca_key, False)

    write(os.path.join(directory, "ca.pem"), pem(ca))
    write(os.path.join(directory, "tls.pem"), pem(tls))
    write(os.path.join(directory, "tls-key.pem"), tls_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    write(os.path.join(directory, "signer.pem"), pem(signer))
    x5c = [base64.b64encode(signer.public_bytes(serialization.Encoding.DER)).decode()]

    def issue(subject, service, access):
        now = int(time.time())
        header = {"typ": "JWT", "alg": "ES256", "x5c": x5c}
        claims = {"iss": ISSUER, "sub": subject, "aud": service, "exp": now + 300, "nbf": now - 10,
                  "iat": now, "jti": secrets.token_hex(8), "access": access}
        signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
        der = signer_key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return signing_input + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def answer(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            if url.path != "/token":
                return self.answer(404, {"error": "not found"})
            query = urllib.parse.parse_qs(url.query)
            service = (query.get("service") or [""])[0]
            name, account = "", users.get("")
            header = self.headers.get("Authorization", "")
            if header.startswith("Basic "):
                try:
                    name, _, password = base64.b64decode(header[6:]).decode().partition(":")
                except Exception:
                    return self.answer(400, {"error": "bad basic auth"})
                account = users.get(name)
                if account is None or not secrets.compare_digest(account["password"], password):
                    return self.answer(401, {"details": "incorrect username or password"})
            allowed = set(account["actions"]) if account else set()
            access = []
            for scope in query.get("scope", []):
                for one in scope.split(" "):
                    parts = one.split(":")
                    if len(parts) < 3:
                        continue
                    kind, repo, actions = parts[0], ":".join(parts[1:-1]), parts[-1].split(",")
                    granted = [a for a in actions if a in allowed]
                    access.append({"type": kind, "name": repo, "actions": granted})
            token = issue(name, service, access)
            self.answer(200, {"token": token, "access_token": token, "expires_in": 300})

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    write(os.path.join(directory, "port"), str(server.server_address[1]).encode())
    server.serve_forever()


if __name__ == "__main__":
    main()
