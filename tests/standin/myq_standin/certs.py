# SPDX-License-Identifier: Apache-2.0
"""Test certificates made with the `openssl` command in STATE_DIR/tls/: a CA, a server
certificate it signed for 127.0.0.1, ::1, localhost (and the listen host), and a
"rogue" self-signed certificate for the same names that no client trusts (the bad_cert
fault). Kept across restarts with the same state dir, so a gateway's ca_file and pin
stay valid when a test restarts the stand-in."""
import hashlib
import ipaddress
import os
import secrets
import ssl
import subprocess

DAYS = "30"


def _run(args, cwd):
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (args[0], r.stderr.decode(errors="replace").strip()))


def _san(host):
    names = {"DNS:localhost", "IP:127.0.0.1", "IP:::1"}
    if host:
        try:
            ipaddress.ip_address(host)
            names.add("IP:" + host)
        except ValueError:
            names.add("DNS:" + host)
    return ",".join(sorted(names))


def _key_args(keyfile):
    return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", keyfile]


def make(tls_dir, host):
    """Paths {'ca', 'cert', 'key', 'rogue_cert', 'rogue_key'}, made once."""
    os.makedirs(tls_dir, exist_ok=True)
    p = {n: os.path.join(tls_dir, f) for n, f in (
        ("ca", "ca.pem"), ("ca_key", "ca.key"), ("cert", "server.pem"), ("key", "server.key"),
        ("rogue_cert", "rogue.pem"), ("rogue_key", "rogue.key"))}
    san = _san(host)
    if not (os.path.exists(p["ca"]) and os.path.exists(p["cert"])):
        _run(["req", "-x509", *_key_args("ca.key"), "-out", "ca.pem", "-days", DAYS,
              "-subj", "/CN=myq-standin test CA",
              "-addext", "basicConstraints=critical,CA:TRUE",
              "-addext", "keyUsage=critical,keyCertSign,cRLSign"], tls_dir)
        _run(["req", "-new", *_key_args("server.key"), "-out", "server.csr", "-subj", "/CN=localhost"], tls_dir)
        with open(os.path.join(tls_dir, "server.ext"), "w") as f:
            f.write(f"subjectAltName={san}\nbasicConstraints=critical,CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
        _run(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
              "-set_serial", "0x" + secrets.token_hex(12), "-days", DAYS,
              "-extfile", "server.ext", "-out", "server.pem"], tls_dir)
    if not os.path.exists(p["rogue_cert"]):
        _run(["req", "-x509", *_key_args("rogue.key"), "-out", "rogue.pem", "-days", DAYS,
              "-subj", "/CN=localhost", "-addext", "subjectAltName=" + san,
              "-addext", "extendedKeyUsage=serverAuth"], tls_dir)
    for k in ("ca_key", "key", "rogue_key"):
        os.chmod(p[k], 0o600)
    return p


def pin(cert_path):
    """sha256:HEX of the leaf's DER, the protocol's pinned_cert form."""
    with open(cert_path) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    return "sha256:" + hashlib.sha256(der).hexdigest()


def server_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    return ctx
