# SPDX-License-Identifier: Apache-2.0
"""auth: basic queues: argon2id users file (made with printgate-passwd), HTTP Basic
only over TLS (426 Upgrade Required in cleartext, which libcups clients follow),
the authenticated name owns the job, failures are logged without the secret."""
import base64
import http.client
import os
import ssl
import subprocess

import pytest

from conftest import BUILD, Daemon

CONFIG = """\
state_dir: state
listen:
  ipp: 127.0.0.1:0
  ipps: 127.0.0.1:0
queues:
  secure: {auth: basic}
  open: {}
default_queue: open
auth:
  users_file: users.txt
limits:
  shutdown_timeout: 5s
"""


def make_users(root, entries):
    lines = []
    for name, password in entries:
        r = subprocess.run([os.path.join(BUILD, "printgate-passwd"), name], input=password + "\n",
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        lines.append(r.stdout.strip())
    with open(os.path.join(root, "users.txt"), "w") as f:
        f.write("# printgate users\n" + "\n".join(lines) + "\n")


@pytest.fixture
def auth_daemon(tmp_root):
    make_users(tmp_root, [("alice", "correct horse"), ("bob", "battery staple")])
    d = Daemon(tmp_root, CONFIG).start()
    ports = {l["protocol"]: l["port"] for l in d.status()["listeners"]}
    d.ipp_port, d.ipps_port = ports["ipp"], ports["ipps"]
    yield d
    if d.proc.poll() is None:
        d.stop()


def ipptool(uri, test, doc, *extra):
    r = subprocess.run(["ipptool", "-tv", "-T", "30", "-f", doc, *extra, uri, test], capture_output=True,
                       text=True, timeout=120)
    return r.returncode, r.stdout + r.stderr


def post(port, tls, headers):
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
    else:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    # A minimal Print-Job header: the guard answers before the attributes matter.
    body = bytes.fromhex("0200000200000001") + b"\x01\x47\x00\x12attributes-charset\x00\x05utf-8" + \
        b"\x48\x00\x1battributes-natural-language\x00\x02en" + \
        b"\x45\x00\x0bprinter-uri\x00\x20ipp://localhost/ipp/print/secure" + b"\x03%!PS\n"
    c.request("POST", "/ipp/print/secure", body=body, headers={"Content-Type": "application/ipp", **headers})
    r = c.getresponse()
    r.read()
    c.close()
    return r


def basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_authenticated_user_owns_the_job_over_ipps_and_upgraded_ipp(auth_daemon, docs):
    d = auth_daemon
    pdf = os.path.join(docs, "document-a4.pdf")
    rc, out = ipptool(f"ipps://alice:correct%20horse@127.0.0.1:{d.ipps_port}/ipp/print/secure", "print-job.test", pdf,
                      "-d", "user=mallory")
    assert "[PASS]" in out, out
    # Cleartext ipp://: printgate answers 426, libcups upgrades the connection and retries.
    rc, out = ipptool(f"ipp://bob:battery%20staple@127.0.0.1:{d.ipp_port}/ipp/print/secure", "print-job.test", pdf)
    assert "[PASS]" in out, out
    owners = sorted(j["user"] for j in d.jobs())
    assert owners == ["alice", "bob"]
    # The open queue still trusts requesting-user-name; anyone may read printer attributes.
    rc, out = ipptool(f"ipp://127.0.0.1:{d.ipp_port}/ipp/print/open", "print-job.test", pdf)
    assert "[PASS]" in out, out
    rc, out = ipptool(f"ipp://127.0.0.1:{d.ipp_port}/ipp/print/secure", "get-printer-attributes.test", pdf)
    assert "[PASS]" in out and "uri-authentication-supported (keyword) = basic" in out, out
    assert "uri-security-supported (keyword) = tls" in out


def test_credentials_refused_in_cleartext_and_wrong_ones_over_tls(auth_daemon):
    d = auth_daemon
    plain = post(d.ipp_port, False, basic("alice", "correct horse"))
    assert plain.status == 426 and "TLS/1.2" in plain.getheader("Upgrade")
    assert post(d.ipps_port, True, {}).status == 401
    wrong = post(d.ipps_port, True, basic("alice", "not the password"))
    assert wrong.status == 401 and wrong.getheader("WWW-Authenticate").startswith("Basic realm=")
    unknown = post(d.ipps_port, True, basic("nobody", "whatever"))
    assert unknown.status == 401
    assert post(d.ipps_port, True, {"Authorization": "Basic !!!notbase64"}).status == 401
    assert d.jobs() == []
    log = d.log_text()
    assert "EVENT=auth_failed" in log and "EVENT=auth_refused" in log
    assert "not the password" not in log and "correct horse" not in log and "whatever" not in log


def test_broken_users_file_fails_start_with_line_and_column(tmp_root):
    with open(os.path.join(tmp_root, "users.txt"), "w") as f:
        f.write("# users\nalice:$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA\nbob\n")
    d = Daemon(tmp_root, CONFIG)
    d.start(wait=False)
    rc = d.proc.wait(timeout=30)
    assert rc != 0
    log = d.log_text()
    assert "users.txt:2:" in log or "users.txt:3:" in log, log
    # A queue with auth: basic needs a users file.
    bad = Daemon(tmp_root, CONFIG.replace("auth:\n  users_file: users.txt\n", ""), state="state2")
    r = subprocess.run([os.path.join(BUILD, "printgated"), "--config", bad.config, "--check-config"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 78 and "auth.users_file must name the users file" in r.stderr + r.stdout


def test_operators_pause_and_resume_a_queue(tmp_root, docs):
    from conftest import TestPrinter, wait_until
    make_users(tmp_root, [("alice", "correct horse"), ("bob", "battery staple")])
    printer = TestPrinter(tmp_root).start()
    config = CONFIG.replace("  secure: {auth: basic}\n",
                            "  secure: {auth: basic, mode: direct, printer: office, operators: [alice]}\n")
    config += f"printers:\n  office: {printer.uri}\n"
    d = Daemon(tmp_root, config).start()
    ports = {l["protocol"]: l["port"] for l in d.status()["listeners"]}
    alice = f"ipps://alice:correct%20horse@127.0.0.1:{ports['ipps']}/ipp/print/secure"
    bob = f"ipps://bob:battery%20staple@127.0.0.1:{ports['ipps']}/ipp/print/secure"
    here = os.path.dirname(__file__)
    pause = os.path.join(here, "ipp", "pg-pause-printer.test")
    resume = os.path.join(here, "ipp", "pg-resume-printer.test")
    pdf = os.path.join(docs, "document-a4.pdf")
    # bob is no operator; without credentials nobody is.
    rc, out = ipptool(bob, pause, pdf)
    assert "[FAIL]" in out and "client-error-not-authorized" in out, out
    rc, out = ipptool(alice, pause, pdf)
    assert "[PASS]" in out, out
    rc, out = ipptool(bob, "print-job.test", pdf)
    assert "[PASS]" in out, out
    (job,) = d.jobs()
    rc, out = ipptool(alice, "get-printer-attributes.test", pdf)
    assert "printer-state (enum) = stopped" in out and "paused" in out, out
    assert job["state"] == "pending" and printer.kept() == []
    rc, out = ipptool(alice, resume, pdf)
    assert "[PASS]" in out, out
    wait_until(lambda: d.jobs()[0]["state"] == "completed", timeout=60, what="the job after resume")
    assert len(printer.kept()) == 1
    log = d.log_text()
    assert "EVENT=queue_paused" in log and "EVENT=queue_resumed" in log
