# SPDX-License-Identifier: Apache-2.0
"""The terminal API (issue #7, docs/terminal-api.md) end to end: the real printgated with
listen.release, the MyQ stand-in (tests/standin) as the central server and ippeveprinter -k
as the printer. Online logins with a PIN, a card and a password are verified at the stand-in
and cached without secrets; with the stand-in down the same user logs in offline with the
method used before and releases a held job (byte-exact at the printer, right owner and
title); an unused method, a revoked user and an entry past validity_hours are refused; a
terminal not named by a printer cannot release to it; bad API keys, sessions of another
terminal, throttling per terminal, the idle timeout and key files' rules."""
import http.client
import json
import os
import secrets
import signal
import ssl
import time

import pytest

import conftest
from conftest import Daemon, TestPrinter, wait_until
from test_forwarding import print_named, sha
from test_standin import Standin

FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"

# A user of the stand-in outside gw-test's sync set, so that only what they did online
# here lets them log in offline: a PIN, a card and a password.
FRANK = {"id": "u-1006", "name": "frank", "full_name": "Frank Fieldwork", "email": "frank@example.com",
         "aliases": ["EXAMPLE\\frank"], "accounts": [], "pins": ["6060"], "cards": ["0F0F0F0F"],
         "password": "frank-pw-9"}
SECRETS = ["6060", "0F0F0F0F", "0f0f0f0f", "frank-pw-9", "04A1B2C3", "DEADBEEF", "0E0E0E01", "1234", "991177",
           "$argon2id$"]


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    s = Standin(str(tmp_path_factory.mktemp("standin")))
    s.args += ["--prehash", "8:1:1"]
    s.start()
    s.admin_post("/_standin/users", {"user": FRANK})
    yield s
    s.stop()


@pytest.fixture(autouse=True)
def no_fault(standin):
    standin.fault(mode="none")
    yield
    standin.fault(mode="none")


def write_key(root, name, mode=0o600, key=None):
    path = os.path.join(root, f"{name}.key")
    key = key or secrets.token_hex(24)
    with open(path, "w") as f:
        f.write(key + "\n")
    os.chmod(path, mode)
    return path, key


def config(root, s, printer_uri, extra=""):
    keys = {}
    lines = []
    for t in ("t1", "t2", "t3"):
        path, keys[t] = write_key(root, t)
        lines.append(f"  {t}: {{key_file: {path}}}")
    terminals = "\n".join(lines)
    text = f"""\
state_dir: state
listen:
  ipp: 127.0.0.1:0
  release: 127.0.0.1:0
{s.gateway_yaml(validity_hours=1)}terminals:
{terminals}
printers:
  office: {{uri: {printer_uri}, terminals: [t1, t2]}}
  lobby: {{uri: "ipp://127.0.0.1:9/ipp/print", terminals: [t3]}}
queues:
  held: {{printer: office}}
release:
  session_idle: 10s
{extra}log:
  level: debug
limits:
  shutdown_timeout: 5s
"""
    return text, keys


class Api:
    """One terminal talking to the gateway's listen.release port (a connection per call)."""

    def __init__(self, d, key):
        port = [l for l in d.status()["listeners"] if l["protocol"] == "release"][0]["port"]
        self.port = port
        self.key = key
        self.session = None
        self.ctx = ssl.create_default_context(cafile=os.path.join(d.state, "tls", "server.crt"))
        self.ctx.check_hostname = False

    def call(self, method, path, body=None, session=None, key=None, ctype="application/json", raw=None):
        headers = {}
        key = self.key if key is None else key
        if key:
            headers["Authorization"] = f"Bearer {key}"
        session = self.session if session is None else session
        if session:
            headers["X-Session"] = session
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        if data is not None:
            headers["Content-Type"] = ctype
        c = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=30)
        try:
            c.request(method, path, body=data, headers=headers)
            r = c.getresponse()
            text = r.read()
            return r.status, dict(r.getheaders()), json.loads(text) if text else None
        finally:
            c.close()

    def login(self, **body):
        status, headers, got = self.call("POST", "/api/v1/sessions", body, session="")
        if status == 201:
            self.session = got["session"]
        return status, headers, got


def upstream_state(d):
    return d.status()["upstream"]["state"]


def logins_ok(s):
    return s.report()["logins"]["ok"]


def assert_no_secret(text):
    conftest.assert_no_secret(text, SECRETS)


def start(tmp_root, standin, printer_uri="ipp://127.0.0.1:9/ipp/print", extra="", env=None):
    text, keys = config(tmp_root, standin, printer_uri, extra)
    d = Daemon(tmp_root, text).start(env_extra=env)
    wait_until(lambda: upstream_state(d) == "online", timeout=30, what="the upstream online")
    return d, keys


def test_online_then_offline_login_and_release(tmp_root, standin, docs):
    printer = TestPrinter(tmp_root).start()
    d, keys = start(tmp_root, standin, printer.uri)
    d.ctl("users", "sync")
    t1, t3 = Api(d, keys["t1"]), Api(d, keys["t3"])

    # Online: a PIN, a card and a password, each verified at the stand-in.
    before = logins_ok(standin)
    status, _, got = t1.login(method="pin", pin="6060")
    assert status == 201 and got["user"] == {"name": "frank", "full_name": "Frank Fieldwork"}, got
    assert got["offline"] is False and got["expires_in"] == 10 and len(got["session"]) >= 43
    assert t1.call("DELETE", "/api/v1/sessions/current")[0] == 200
    status, _, got = t1.login(method="card", card="0f 0f 0f 0f")
    assert status == 201 and got["user"]["name"] == "frank" and not got["offline"], got
    status, _, got = t1.login(method="password", username="frank", password="frank-pw-9")
    assert status == 201 and not got["offline"], got
    assert logins_ok(standin) == before + 3
    # Cached without a secret.
    raw = d.ctl("users", "--json").stdout
    assert_no_secret(raw)
    frank = next(u for u in json.loads(raw) if u["name"] == "frank")
    assert {m["method"] for m in frank["methods"]} == {"pin", "card", "password"}
    assert frank["last_login"]

    # bob is revoked at the server; the next sync tombstones him here.
    standin.admin_post("/_standin/users/u-1002/delete")
    d.ctl("users", "sync")
    assert "bob" not in {u["name"] for u in json.loads(d.ctl("users", "--json").stdout)}
    # frank's held job, waiting for release.
    pdf = os.path.join(docs, "document-a4.pdf")
    job_id = print_named(d, "held", pdf, owner="frank", title="Field notes 7")
    other = print_named(d, "held", pdf, owner="EXAMPLE\\frank", title="Second copy")
    # frank forgets the card: only PIN and password stay cached here.
    assert d.ctl("users", "rm", "frank").returncode == 0
    assert t1.login(method="pin", pin="6060")[0] == 201
    assert t1.login(method="password", username="frank", password="frank-pw-9")[0] == 201

    standin.fault(mode="down", seconds=300)
    wait_until(lambda: upstream_state(d) == "offline", timeout=30, what="the monitor offline")

    # Offline, with the method used last.
    status, _, got = t1.login(method="password", username="frank", password="frank-pw-9")
    assert status == 201 and got["offline"] is True, got
    status, _, listing = t1.call("GET", "/api/v1/jobs")
    assert status == 200
    jobs = {j["id"]: j for j in listing["jobs"]}
    assert set(jobs) == {job_id, other}
    j = jobs[job_id]
    assert j["title"] == "Field notes 7" and j["queue"] == "held" and j["printers"] == ["office"]
    assert j["size"] == os.path.getsize(pdf) and j["format"] == "application/pdf" and j["copies"] == 1
    assert j["submitted_at"].endswith("Z") and "T" in j["submitted_at"]
    status, _, got = t1.call("GET", "/api/v1/printers")
    assert status == 200 and [p["name"] for p in got["printers"]] == ["office"]

    # t3 is not one of office's terminals: it sees lobby only and cannot release to office.
    assert t3.login(method="pin", pin="6060")[0] == 201
    assert [p["name"] for p in t3.call("GET", "/api/v1/printers")[2]["printers"]] == ["lobby"]
    assert all("office" not in j["printers"] for j in t3.call("GET", "/api/v1/jobs")[2]["jobs"])
    status, _, got = t3.call("POST", "/api/v1/jobs/release", {"jobs": [other], "printer": "office"})
    assert status == 200 and got["results"][0]["status"] == "printer_refused", got
    # A session belongs to its terminal: t1's key with t3's token is refused.
    status, _, got = t1.call("GET", "/api/v1/jobs", session=t3.session)
    assert status == 401 and got["error"] == "no_session"

    # The release: byte-exact at the printer, with the owner and the title.
    status, _, got = t1.call("POST", "/api/v1/jobs/release", {"jobs": [job_id], "printer": "office"})
    assert status == 200 and got["results"] == [{"id": job_id, "status": "released",
                                                 "message": "released to office"}], got

    def final():
        s, _, st = t1.call("GET", f"/api/v1/jobs/{job_id}")
        assert s == 200, st
        return st if st["final"] else None
    wait_until(final, timeout=60, what="the released job to finish")
    st = final()
    assert st["state"] == "completed" and st["printer"] == "office", st
    kept = printer.kept()
    assert len(kept) == 1
    with open(pdf, "rb") as f:
        assert sha(kept[0][0]) == sha(f.read())
    assert kept[0][1]["IPP_JOB_ORIGINATING_USER_NAME"] == "frank"
    assert kept[0][1]["IPP_JOB_NAME"] == "Field notes 7"
    # Delete the other one.
    status, _, got = t1.call("DELETE", f"/api/v1/jobs/{other}")
    assert status == 200 and got["status"] == "deleted"
    assert t1.call("DELETE", f"/api/v1/jobs/{other}")[0] == 404

    # Refusals offline are all the same answer.
    status, _, refused = t1.login(method="card", card="0F0F0F0F")    # never used here since the rm
    assert status == 401 and refused == {"error": "login_refused", "message": "login refused"}
    assert t2_login(d, keys, method="pin", pin="991177") == (401, refused)            # unknown PIN
    assert t2_login(d, keys, method="card", card="DEADBEEF") == (401, refused)        # bob: revoked
    status, got = t2_login(d, keys, method="card", card="0E0E0E01")                   # erin: synced
    assert status == 201 and got["offline"] and got["user"]["name"] == "erin"

    # Bad API keys, logout.
    status, headers, got = t1.call("GET", "/api/v1/jobs", key="x" * 48)
    assert status == 401 and got["error"] == "unauthorized" and headers["WWW-Authenticate"].startswith("Bearer")
    assert t1.call("GET", "/api/v1/jobs", key="")[0] == 401
    assert t1.call("DELETE", "/api/v1/sessions/current")[0] == 200
    assert t1.call("GET", "/api/v1/jobs")[2]["error"] == "no_session"

    log = d.log_text()
    assert "EVENT=terminal_auth_failed PEER=127.0.0.1:" in log
    assert "EVENT=login_ok REASON=offline METHOD=password SOURCE=terminal:t1 USER=frank" in log
    assert "EVENT=job_released" in log and "SOURCE=terminal:t1" in log
    assert_no_secret(log)
    for k in keys.values():
        assert k not in log
    assert "x" * 48 not in log


def t2_login(d, keys, **body):
    status, _, got = Api(d, keys["t2"]).login(**body)
    return status, got


def test_validity_hours_past_is_refused(tmp_root, standin):
    """validity_hours: 1, and the daemon's wall clock moved 2 hours on (libfaketime; the
    monotonic clock stays real): frank's cached PIN is refused offline; erin's synced card
    (bounded by max_offline_age, not validity_hours) still works."""
    offset = os.path.join(tmp_root, "faketime")
    with open(offset, "w") as f:
        f.write("+0\n")
    env = {"LD_PRELOAD": FAKETIME, "FAKETIME_TIMESTAMP_FILE": offset, "FAKETIME_NO_CACHE": "1",
           "FAKETIME_DONT_FAKE_MONOTONIC": "1", "DONT_FAKE_MONOTONIC": "1"}
    d, keys = start(tmp_root, standin, env=env)
    d.ctl("users", "sync")
    t1 = Api(d, keys["t1"])
    assert t1.login(method="pin", pin="6060")[0] == 201
    standin.fault(mode="down", seconds=300)
    wait_until(lambda: upstream_state(d) == "offline", timeout=30, what="the monitor offline")
    status, _, got = t1.login(method="pin", pin="6060")
    assert status == 201 and got["offline"], got
    with open(offset, "w") as f:
        f.write("+7200\n")
    status, _, got = t1.login(method="pin", pin="6060")
    assert status == 401 and got["error"] == "login_refused", got
    assert "EVENT=login_refused REASON=expired METHOD=pin SOURCE=terminal:t1" in d.log_text()
    status, got = t2_login(d, keys, method="card", card="0E0E0E01")
    assert status == 201 and got["offline"], got


def test_wrong_pins_throttle_one_terminal_only(tmp_root, standin):
    d, keys = start(tmp_root, standin)
    t1 = Api(d, keys["t1"])
    throttled = None
    for i in range(12):
        status, headers, got = t1.login(method="pin", pin=f"99{i:04d}")
        if status == 429:
            throttled = (headers, got)
            break
        assert status == 401, got
    assert throttled, "no 429 within 12 wrong PINs"
    headers, got = throttled
    assert got["error"] == "throttled" and int(headers["Retry-After"]) >= 1 and got["retry_after"] >= 1
    # Still throttled for a right PIN there; another terminal logs in at once.
    assert t1.login(method="pin", pin="6060")[0] == 429
    started = time.monotonic()
    status, got = t2_login(d, keys, method="pin", pin="6060")
    assert status == 201, got
    assert time.monotonic() - started < 2.0
    assert "EVENT=login_refused REASON=throttled METHOD=pin SOURCE=terminal:t1" in d.log_text()


def test_session_idle_timeout(tmp_root, standin):
    d, keys = start(tmp_root, standin)
    t1 = Api(d, keys["t1"])
    assert t1.login(method="pin", pin="6060")[0] == 201
    # Use renews it: a call 6 s after the login and another 6 s later both work (12 s > 10 s).
    last = time.monotonic()
    for _ in range(2):
        wait_until(lambda: time.monotonic() - last >= 6, timeout=10, what="6 s of idleness")
        assert t1.call("GET", "/api/v1/jobs")[0] == 200
        last = time.monotonic()
    # Unused for release.session_idle (10 s, counted from the last answer): gone.
    wait_until(lambda: time.monotonic() - last > 10.2, timeout=15, what="the idle timeout")
    status, _, got = t1.call("GET", "/api/v1/jobs")
    assert status == 401 and got["error"] == "no_session"


def test_requests_and_routes(tmp_root, standin):
    d, keys = start(tmp_root, standin)
    t1 = Api(d, keys["t1"])
    post = lambda raw, ctype="application/json": t1.call("POST", "/api/v1/sessions", raw=raw, ctype=ctype,
                                                        session="")
    status, _, got = post(b'{"method":"pin","pin":"1","pin":"2"}')
    assert status == 400 and got["error"] == "bad_request" and got["field"] == "pin", got
    assert post(b'{"method":"pin","pin":6060}')[0] == 400
    assert post(b'{"method":"password","username":"fr\xffnk","password":"x"}')[0] == 400
    assert post(b'{"method":"pin","pin":"6060"}', ctype="text/plain")[0] == 415
    status, _, got = post(b'{"method":"pin","pin":"' + b"1" * 20000 + b'"}')
    assert status == 413, got
    status, headers, _ = t1.call("GET", "/api/v1/sessions")
    assert status == 405 and headers["Allow"] == "POST"
    assert t1.call("GET", "/api/v1/nothing")[0] == 404
    # Without a key, nothing is told, not even which paths exist.
    assert t1.call("GET", "/api/v1/nothing", key="")[2]["error"] == "unauthorized"
    assert t1.login(method="pin", pin="6060")[0] == 201
    status, _, got = t1.call("POST", "/api/v1/jobs/release", {"jobs": [1, 1], "printer": "office"})
    assert status == 400 and got["error"] == "bad_request"
    status, _, got = t1.call("POST", "/api/v1/jobs/release", {"jobs": "all", "printer": "office"})
    assert status == 200 and got["results"] == []
    assert t1.call("GET", "/api/v1/jobs/424242")[0] == 404
    assert_no_secret(d.log_text())


def test_key_files_refused_at_start_and_reloaded_on_sighup(tmp_root, standin):
    text, keys = config(tmp_root, standin, "ipp://127.0.0.1:9/ipp/print")
    os.chmod(os.path.join(tmp_root, "t2.key"), 0o640)
    d = Daemon(tmp_root, text)
    d.start(wait=False)
    assert d.proc.wait(timeout=60) != 0
    log = d.log_text()
    assert "terminals.t2.key_file" in log and "chmod 600" in log and keys["t2"] not in log
    d.stop()
    os.chmod(os.path.join(tmp_root, "t2.key"), 0o600)
    with open(os.path.join(tmp_root, "t3.key"), "w") as f:
        f.write("too-short\n")
    d.start(wait=False)
    assert d.proc.wait(timeout=60) != 0 and "at least 32" in d.log_text() and "too-short" not in d.log_text()
    d.stop()
    write_key(tmp_root, "t3", key=keys["t3"])
    d.start()
    t1 = Api(d, keys["t1"])
    assert t1.call("GET", "/api/v1/printers")[2]["error"] == "no_session"   # a known key
    # A new key for t1, then SIGHUP: the old key is refused, the new one works.
    _, new = write_key(tmp_root, "t1")
    d.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "EVENT=reloaded" in d.log_text(), what="the reload")
    assert t1.call("GET", "/api/v1/printers")[2]["error"] == "unauthorized"
    assert t1.call("GET", "/api/v1/printers", key=new)[2]["error"] == "no_session"
    # A bad key file on reload keeps the running keys.
    os.chmod(os.path.join(tmp_root, "t1.key"), 0o644)
    d.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "EVENT=reload_failed" in d.log_text(), what="the refused reload")
    assert t1.call("GET", "/api/v1/printers", key=new)[2]["error"] == "no_session"
    assert new not in d.log_text()
    assert d.stop() == 0


def test_eleven_wrong_passwords_lock_the_user_out_offline(tmp_root, standin):
    """Offline, 11 wrong passwords for one user name (spread over the terminals, each
    terminal's throttling honoured through Retry-After) lock frank out: the 12th
    attempt, with his right password, is refused too; another user still logs in."""
    d, keys = start(tmp_root, standin)
    t1 = Api(d, keys["t1"])
    assert t1.login(method="password", username="frank", password="frank-pw-9")[0] == 201
    assert t1.login(method="pin", pin="6060")[0] == 201
    standin.fault(mode="down", seconds=300)
    wait_until(lambda: upstream_state(d) == "offline", timeout=30, what="the monitor offline")
    terminals = [Api(d, keys[t]) for t in ("t1", "t2", "t3")]
    failures = 0
    deadline = time.monotonic() + 120
    i = 0
    while failures < 11:
        assert time.monotonic() < deadline, f"only {failures} failures counted in 120 s"
        t = terminals[i % 3]
        i += 1
        status, headers, got = t.login(method="password", username="frank", password=f"Wrong-{i}")
        if status == 429:
            # That terminal waits; the others go on. Honour its Retry-After.
            retry = time.monotonic() + int(headers["Retry-After"])
            wait_until(lambda: time.monotonic() >= retry, timeout=70, what="Retry-After")
            continue
        assert status == 401 and got["error"] == "login_refused", got
        failures += 1
    # The 12th, right password: refused like any wrong one (same reply), logged as locked.
    for t in terminals:
        status, headers, got = t.login(method="password", username="frank", password="frank-pw-9")
        if status == 429:
            continue
        assert status == 401 and got["error"] == "login_refused", got
        break
    else:
        raise AssertionError("every terminal throttled")
    assert "EVENT=login_lockout" in d.log_text()
    listed = {u["name"]: u for u in json.loads(d.ctl("users", "--json").stdout)}
    assert listed["frank"]["locked_out"] is True, listed["frank"]

    # A crash and a restart do not unlock him: the failures are kept, sealed, in the
    # credential cache (and the plain user name is not in state_dir).
    d.kill9()
    d.start()
    wait_until(lambda: upstream_state(d) == "offline", timeout=30, what="the monitor offline after the restart")
    assert "kept login failures restored: 1 user(s), 1 locked out" in d.log_text()
    status, _, got = Api(d, keys["t1"]).login(method="password", username="frank", password="frank-pw-9")
    assert status == 401 and got["error"] == "login_refused", got
    assert {u["name"]: u for u in json.loads(d.ctl("users", "--json").stdout)}["frank"]["locked_out"] is True
    d.stop()
    for root, _, names in os.walk(d.state):
        for name in names:
            with open(os.path.join(root, name), "rb") as f:
                assert b"frank" not in f.read(), name
    assert_no_secret(d.log_text())


def test_release_to_an_unreachable_printer_comes_back_with_the_reason(tmp_root, standin, docs):
    # office (port 9) never answers; release.printer_wait is 2 s.
    d, keys = start(tmp_root, standin, extra="  printer_wait: 2s\n")
    t1 = Api(d, keys["t1"])
    assert t1.login(method="pin", pin="6060")[0] == 201
    job_id = print_named(d, "held", os.path.join(docs, "document-a4.pdf"), owner="frank", title="Site plan")
    listed = t1.call("GET", "/api/v1/jobs")[2]["jobs"]
    assert [j["held_reason"] for j in listed if j["id"] == job_id] == [None]
    status, _, got = t1.call("POST", "/api/v1/jobs/release", {"jobs": [job_id], "printer": "office"})
    assert status == 200 and got["results"][0]["status"] == "released", got

    def held_again():
        status, _, got = t1.call("GET", "/api/v1/jobs")
        assert status == 200, got
        return next((j for j in got["jobs"] if j["id"] == job_id and j["held_reason"]), None)
    wait_until(held_again, timeout=60, what="the job back in the held list")
    j = held_again()
    assert j["held_reason"].startswith("printer office unreachable for "), j
    assert "release it to this or another printer" in j["held_reason"]
    status, _, st = t1.call("GET", f"/api/v1/jobs/{job_id}")
    assert status == 200 and st["state"] == "pending-held" and st["printer"] is None, st
    assert st["reason"] == "job-hold-until-specified" and st["message"] == j["held_reason"], st
    assert "EVENT=job_held JOB_ID=" in d.log_text()
