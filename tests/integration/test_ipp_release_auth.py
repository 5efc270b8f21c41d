# SPDX-License-Identifier: Apache-2.0
"""IPP Release-Job and Cancel-Job on an auth: basic queue with an upstream (issue #7):
the Basic credentials are a password login at a release point (the MyQ stand-in
while it answers, the offline cache when it does not), the job must be the user's
(owner or alias) unless the user is an admin or an operator, and the release takes
ReleaseService's one path to the queue's printer. No users file is configured."""
import base64
import http.client
import json
import os
import ssl
import subprocess

import pytest

import conftest
from conftest import Daemon, TestPrinter, wait_until
from test_login import standin  # noqa: F401  (the stand-in fixture, module scope)

HERE = os.path.dirname(__file__)
RELEASE = os.path.join(HERE, "ipp", "pg-release-job.test")
CANCEL = os.path.join(HERE, "ipp", "pg-cancel-job.test")


def config(s, printer, operators="[]", admins="[]"):
    return f"""\
state_dir: state
listen:
  ipps: 127.0.0.1:0
printers:
  office: {printer.uri}
queues:
  secure: {{auth: basic, printer: office, operators: {operators}}}
{s.gateway_yaml()}release:
  admins: {admins}
log:
  level: debug
limits:
  shutdown_timeout: 5s
"""


@pytest.fixture
def rig(tmp_root, standin):  # noqa: F811
    standin.fault(mode="none")
    printer = TestPrinter(tmp_root).start()
    d = Daemon(tmp_root, config(standin, printer)).start()
    d.ipps_port = {l["protocol"]: l["port"] for l in d.status()["listeners"]}["ipps"]
    wait_until(lambda: d.status()["upstream"]["state"] == "online", timeout=30, what="the upstream online")
    yield d, printer
    standin.fault(mode="none")
    if d.proc.poll() is None:
        d.stop()
    printer.stop()


def uri(d, user=None, password=None):
    cred = f"{user}:{password.replace(' ', '%20')}@" if user else ""
    return f"ipps://{cred}127.0.0.1:{d.ipps_port}/ipp/print/secure"


def ipptool(target, test, *extra, doc=None):
    args = ["ipptool", "-tv", "-T", "30", *extra]
    if doc:
        args += ["-f", doc]
    r = subprocess.run(args + [target, test], capture_output=True, text=True, timeout=120)
    return r.stdout + r.stderr


def submit(d, docs, user, password):
    """A job held on the secure queue, owned by the authenticated user; its id."""
    before = {j["id"] for j in d.jobs()}
    out = ipptool(uri(d, user, password), "print-job.test", doc=os.path.join(docs, "document-a4.pdf"))
    assert "[PASS]" in out, out
    (job,) = [j for j in d.jobs() if j["id"] not in before]
    assert job["state"] == "pending-held" and job["user"] == user, job
    return job["id"]


def release(d, job, user, password):
    return ipptool(uri(d, user, password), RELEASE, "-d", f"job={job}", "-d", f"owner={user}")


def job_state(d, job):
    return {j["id"]: j for j in d.jobs()}[job]["state"]


def basic_post(d, job, user, password, op=0x000D):
    """Release-Job (0x000D) or Cancel-Job (0x0008) by hand: the HTTP status and the body."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    c = http.client.HTTPSConnection("127.0.0.1", d.ipps_port, context=ctx, timeout=30)
    printer_uri = f"ipps://127.0.0.1:{d.ipps_port}/ipp/print/secure".encode()

    def attr(tag, name, value):
        return bytes([tag]) + len(name).to_bytes(2, "big") + name + len(value).to_bytes(2, "big") + value

    body = bytes([2, 0]) + op.to_bytes(2, "big") + (7).to_bytes(4, "big") + b"\x01" + \
        attr(0x47, b"attributes-charset", b"utf-8") + attr(0x48, b"attributes-natural-language", b"en") + \
        attr(0x45, b"printer-uri", printer_uri) + attr(0x21, b"job-id", job.to_bytes(4, "big")) + b"\x03"
    headers = {"Content-Type": "application/ipp"}
    if user is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    c.request("POST", "/ipp/print/secure", body=body, headers=headers)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r, data


def test_owner_releases_online_and_others_are_refused(rig, docs):
    d, printer = rig
    job = submit(d, docs, "alice", "alice-pw")
    # bob is a real user, not the owner: refused, the job stays held.
    out = release(d, job, "bob", "bob-pw")
    assert "[FAIL]" in out and "client-error-not-authorized" in out, out
    assert job_state(d, job) == "pending-held"
    # A wrong password and no credentials: 401 with a Basic challenge.
    r, _ = basic_post(d, job, "alice", "Wr0ng-pass-77")
    assert r.status == 401 and r.getheader("WWW-Authenticate").startswith("Basic realm="), r.status
    r, _ = basic_post(d, job, None, None)
    assert r.status == 401
    assert job_state(d, job) == "pending-held"
    # The owner, verified by the server: the job goes to the queue's printer.
    out = release(d, job, "alice", "alice-pw")
    assert "[PASS]" in out, out
    wait_until(lambda: job_state(d, job) == "completed", timeout=60, what="the released job to print")
    ((doc, env),) = printer.kept()
    with open(os.path.join(docs, "document-a4.pdf"), "rb") as f:
        assert doc == f.read()
    assert env["IPP_JOB_ORIGINATING_USER_NAME"] == "alice"
    log = d.log_text()
    assert "EVENT=job_released" in log and "SOURCE=ipp" in log
    assert "EVENT=login_ok METHOD=password SOURCE=ipp:127.0.0.1 USER=alice" in log
    conftest.assert_no_secret(log, ["alice-pw", "bob-pw", "Wr0ng-pass-77"])
    # The online login was cached: users --json has its time (item 3c of the brief).
    alice = {u["name"]: u for u in json.loads(d.ctl("users", "--json").stdout)}["alice"]
    assert alice["last_login"] and alice["last_login_offline"] is False
    assert {m["method"] for m in alice["methods"]} == {"password"}


def test_owner_releases_offline_with_the_password_last_used(rig, docs, standin):  # noqa: F811
    d, printer = rig
    first = submit(d, docs, "alice", "alice-pw")      # online: caches alice's password
    second = submit(d, docs, "alice", "alice-pw")
    standin.fault(mode="down", seconds=120)
    wait_until(lambda: d.status()["upstream"]["state"] == "offline", timeout=30, what="the upstream offline")
    # Another user who never logged in here cannot log in offline; a wrong password neither.
    r, _ = basic_post(d, first, "bob", "bob-pw")
    assert r.status == 401
    r, _ = basic_post(d, first, "alice", "Wr0ng-pass-77")
    assert r.status == 401
    out = release(d, first, "alice", "alice-pw")
    assert "[PASS]" in out, out
    wait_until(lambda: job_state(d, first) == "completed", timeout=60, what="the job released offline")
    assert len(printer.kept()) == 1
    # Cancel-Job of a held job by its owner, offline too.
    out = ipptool(uri(d, "alice", "alice-pw"), CANCEL, "-d", f"job={second}", "-d", "owner=alice")
    assert "[PASS]" in out, out
    assert job_state(d, second) == "canceled"
    log = d.log_text()
    assert "EVENT=login_ok REASON=offline METHOD=password SOURCE=ipp:127.0.0.1 USER=alice" in log
    assert "(offline login)" in log
    alice = {u["name"]: u for u in json.loads(d.ctl("users", "--json").stdout)}["alice"]
    assert alice["last_login"] and alice["last_login_offline"] is True


def test_admins_and_operators_act_on_any_job_others_cannot_cancel(tmp_root, standin, docs):  # noqa: F811
    standin.fault(mode="none")
    printer = TestPrinter(tmp_root).start()
    d = Daemon(tmp_root, config(standin, printer, operators="[bob]", admins="[dave]")).start()
    try:
        d.ipps_port = {l["protocol"]: l["port"] for l in d.status()["listeners"]}["ipps"]
        wait_until(lambda: d.status()["upstream"]["state"] == "online", timeout=30, what="the upstream online")
        job = submit(d, docs, "alice", "alice-pw")
        other = submit(d, docs, "alice", "alice-pw")
        # dave (release.admins) releases alice's job ...
        out = release(d, job, "dave", "dave-pw")
        assert "[PASS]" in out, out
        wait_until(lambda: job_state(d, job) == "completed", timeout=60, what="the job an admin released")
        # ... bob (an operator of the queue) cancels the other one.
        r, data = basic_post(d, other, "bob", "bob-pw", op=0x0008)
        assert r.status == 200 and data[2:4] == b"\x00\x00", data[:8]
        assert job_state(d, other) == "canceled"
        # alice cannot act on a job of bob's.
        bobs = submit(d, docs, "bob", "bob-pw")
        r, data = basic_post(d, bobs, "alice", "alice-pw", op=0x0008)
        assert r.status == 200 and data[2:4] == bytes.fromhex("0403"), data[:8]  # client-error-not-authorized
        assert job_state(d, bobs) == "pending-held"
    finally:
        d.stop()
        printer.stop()


def test_failed_logins_from_one_address_are_throttled(rig, docs):
    d, _ = rig
    job = submit(d, docs, "alice", "alice-pw")
    seen = []
    for _ in range(10):
        r, data = basic_post(d, job, "alice", "Wr0ng-pass-77")
        seen.append(r.status)
        if r.status == 200:
            break
    # Some 401s, then the address waits: server-error-busy with the time to wait.
    assert seen[0] == 401 and seen[-1] == 200, seen
    assert data[2:4] == bytes.fromhex("0507"), data[:8]
    assert b"too many failed logins from this address; try again in" in data
    assert int(r.getheader("Retry-After")) >= 1
    assert job_state(d, job) == "pending-held"
    log = d.log_text()
    assert "EVENT=login_refused REASON=throttled METHOD=password SOURCE=ipp:127.0.0.1" in log
    assert "Wr0ng-pass-77" not in log
