# SPDX-License-Identifier: Apache-2.0
"""IPPS (IPP over TLS from the first byte) and RFC 2817 upgrades on the IPP port:
the self-signed pair made on first start, a configured pair, ipptool over ipps://
and `ipptool -E`, the TLS 1.2 floor, and hostile handshakes."""
import hashlib
import os
import socket
import ssl
import stat
import subprocess
import warnings

import pytest

from conftest import Daemon, wait_until

IPPS_CONFIG = """\
state_dir: state
listen:
  ipp: 127.0.0.1:0
  ipps: 127.0.0.1:0
queues:
  default: {}
log:
  level: debug
limits:
  shutdown_timeout: 5s
"""

def ports(d):
    listeners = d.status()["listeners"]
    return ({l["protocol"]: l["port"] for l in listeners if l["protocol"] in ("ipp", "ipps")})


@pytest.fixture
def ipps_daemon(tmp_root):
    d = Daemon(tmp_root, IPPS_CONFIG).start()
    p = ports(d)
    d.ipp_port, d.ipps_port = p["ipp"], p["ipps"]
    d.ipps_uri = f"ipps://127.0.0.1:{d.ipps_port}/ipp/print/default"
    yield d
    if d.proc.poll() is None:
        d.stop()


def ipptool(docs, uri, test, *extra, timeout=120):
    r = subprocess.run(["ipptool", *extra, "-T", "30", "-f", os.path.join(docs, "document-a4.pdf"), uri, test],
                       capture_output=True, text=True, cwd=docs, timeout=timeout)
    out = r.stdout + r.stderr
    return out.count("[PASS]"), out.count("[FAIL]"), out


def client_context(maximum=None):
    """Trust-on-first-use, as printers are used: no verification of the self-signed pair."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if maximum is not None:
        # Let the client offer old versions at all, so the refusal is the server's.
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = maximum
    return ctx


def tls_connect(port, ctx=None):
    raw = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        return (ctx or client_context()).wrap_socket(raw, server_hostname="localhost")
    except Exception:
        raw.close()
        raise


def read_all(s):
    out = b""
    while True:
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, ssl.SSLError):
            break
        if not chunk:
            break
        out += chunk
    return out


def get_root(s):
    s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    return read_all(s)


def test_self_signed_pair_is_made_once_and_private(ipps_daemon):
    tls_dir = os.path.join(ipps_daemon.state, "tls")
    key = os.path.join(tls_dir, "server.key")
    crt = os.path.join(tls_dir, "server.crt")
    assert stat.S_IMODE(os.stat(tls_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    with open(key) as f:
        key_text = f.read()
    assert "PRIVATE KEY" in key_text
    text = subprocess.run(["openssl", "x509", "-in", crt, "-noout", "-text"], capture_output=True, text=True,
                          check=True).stdout
    assert "prime256v1" in text and "Version: 3" in text
    assert "DNS:localhost" in text and "IP Address:127.0.0.1" in text and "IP Address:0:0:0:0:0:0:0:1" in text
    # The server presents that certificate; the log names its fingerprint, never the key.
    with open(crt) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    with tls_connect(ipps_daemon.ipps_port) as s:
        assert s.getpeercert(binary_form=True) == der
        assert s.version() in ("TLSv1.2", "TLSv1.3")
    fingerprint = ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())
    log = ipps_daemon.log_text()
    assert "EVENT=tls_certificate_created" in log and fingerprint in log
    assert key_text.splitlines()[1] not in log
    # A restart keeps the pair.
    ipps_daemon.stop()
    ipps_daemon.start()
    with open(crt) as f:
        assert ssl.PEM_cert_to_DER_cert(f.read()) == der
    assert ipps_daemon.log_text().count("EVENT=tls_certificate_created") == 1


def test_ipptool_over_ipps(ipps_daemon, docs):
    passed, failed, out = ipptool(docs, ipps_daemon.ipps_uri, "get-printer-attributes.test", "-tI")
    assert failed == 0 and passed >= 1, out
    _, _, out = ipptool(docs, ipps_daemon.ipps_uri, "get-printer-attributes.test", "-tv")
    assert "uri-security-supported (keyword) = tls" in out, out
    assert f"ipps://localhost:{ipps_daemon.ipps_port}/ipp/print/default" in out, out
    passed, failed, out = ipptool(docs, ipps_daemon.ipps_uri, "print-job.test", "-tI")
    assert failed == 0 and passed >= 1, out
    with open(os.path.join(docs, "document-a4.pdf"), "rb") as f:
        pdf = f.read()
    jobs = ipps_daemon.jobs()
    assert len(jobs) == 1
    assert ipps_daemon.cat(jobs[0]["id"]).stdout == pdf


def test_plain_ipp_port_upgrades_to_tls(ipps_daemon, docs):
    uri = f"ipp://127.0.0.1:{ipps_daemon.ipp_port}/ipp/print/default"
    passed, failed, out = ipptool(docs, uri, "print-job.test", "-E", "-tI")
    assert failed == 0 and passed >= 1, out
    assert "EVENT=tls_upgrade" in ipps_daemon.log_text()
    with open(os.path.join(docs, "document-a4.pdf"), "rb") as f:
        pdf = f.read()
    jobs = ipps_daemon.jobs()
    assert len(jobs) == 1 and ipps_daemon.cat(jobs[0]["id"]).stdout == pdf
    # Without -E the same port stays plain.
    passed, failed, out = ipptool(docs, uri, "get-printer-attributes.test", "-tv")
    assert failed == 0 and "uri-security-supported (keyword) = none" in out, out


def test_configured_pair_is_used(tmp_root):
    crt = os.path.join(tmp_root, "conf-server.crt")
    key = os.path.join(tmp_root, "conf-server.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=printgate-test",
                    "-addext", "subjectAltName=DNS:localhost"], check=True, capture_output=True, timeout=60)
    config = IPPS_CONFIG + "tls:\n  certificate: conf-server.crt\n  private_key: conf-server.key\n"
    d = Daemon(tmp_root, config).start()
    with open(crt) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    with tls_connect(ports(d)["ipps"]) as s:
        assert s.getpeercert(binary_form=True) == der
    assert not os.path.exists(os.path.join(d.state, "tls"))
    fingerprint = ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())
    assert fingerprint in d.log_text()
    d.stop()


def test_bad_tls_config_fails_start(tmp_root):
    key = os.path.join(tmp_root, "only.key")
    with open(key, "w") as f:
        f.write("not a key\n")
    d = Daemon(tmp_root, IPPS_CONFIG + "tls:\n  certificate: missing.crt\n  private_key: only.key\n")
    d.start(wait=False)
    assert d.proc.wait(timeout=60) != 0
    assert "missing.crt" in d.log_text()


def test_tls_1_1_is_refused(ipps_daemon):
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        with tls_connect(ipps_daemon.ipps_port, client_context(ssl.TLSVersion.TLSv1_1)):
            pass
    # The server refused it (not the client's own policy).
    wait_until(lambda: "unsupported protocol" in ipps_daemon.log_text(), what="handshake failure logged")
    assert "EVENT=tls_handshake_failed" in ipps_daemon.log_text()
    with tls_connect(ipps_daemon.ipps_port, client_context(ssl.TLSVersion.TLSv1_2)) as s:
        assert s.version() == "TLSv1.2"
        assert get_root(s).startswith(b"HTTP/1.1 ")


def test_handshake_garbage_is_closed_and_daemon_keeps_serving(ipps_daemon, docs):
    # Bytes that are no TLS record (first byte 0xff, not an SSLv2 hello either).
    garbage = b"\xff\xfe\xfd" + os.urandom(509)
    s = socket.create_connection(("127.0.0.1", ipps_daemon.ipps_port), timeout=30)
    s.sendall(garbage)
    reply = read_all(s)
    s.close()
    assert not reply.startswith(b"HTTP/")
    wait_until(lambda: "EVENT=tls_handshake_failed" in ipps_daemon.log_text(), what="handshake failure logged")
    # A client that connects and says nothing, then leaves, does not stop anything either.
    socket.create_connection(("127.0.0.1", ipps_daemon.ipps_port), timeout=30).close()
    assert ipps_daemon.proc.poll() is None
    passed, failed, out = ipptool(docs, ipps_daemon.ipps_uri, "get-printer-attributes.test", "-tI")
    assert failed == 0 and passed >= 1, out


def test_plain_http_on_ipps_port_fails_cleanly(ipps_daemon):
    s = socket.create_connection(("127.0.0.1", ipps_daemon.ipps_port), timeout=30)
    s.sendall(b"POST /ipp/print/default HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/ipp\r\n"
              b"Content-Length: 0\r\n\r\n")
    reply = read_all(s)
    s.close()
    assert reply.startswith(b"HTTP/1.1 400 "), reply
    assert b"TLS" in reply
    # And a TLS client still gets served.
    with tls_connect(ipps_daemon.ipps_port) as t:
        assert get_root(t).startswith(b"HTTP/1.1 ")
    assert ipps_daemon.stop() == 0
