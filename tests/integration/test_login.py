# SPDX-License-Identifier: Apache-2.0
"""Offline login, first slice (issue #7) against the MyQ stand-in (tests/standin/): the
gateway's user sync (on demand and on its schedule, with backoff after a failure) shows
this gateway's sync set in `printgatectl users --json` without a secret; a sync of 101
users keeps 100 and says so; a failed sync keeps the last good set; `users rm` forgets a
user; and nothing about a user is readable in state_dir."""
import json
import os
import subprocess
import sys

import pytest

import conftest
from conftest import BUILD, Daemon, wait_until
from test_standin import Standin, STANDIN_DIR

# The fixture's users (tests/standin/fixture.json) and every secret they have. "bob" is
# looked for in its longer forms only: any 3 bytes occur by chance in about 1 % of 200 KB
# of ciphertext, 4 bytes and more practically never.
NAMES = ["alice", "carol", "dave", "erin"]
PERSONAL = ["Alice Example", "alice@example.com", "EXAMPLE\\alice", "Bob Builder", "EXAMPLE\\bob",
            "bob@example.com", "Erin No-Password", "erin@example.com"]
PINS = ["1234", "5678", "2222", "3333", "4444", "5555", "5556", "5557"]
CARDS = ["04A1B2C3", "0B0B0B0B", "DEADBEEF", "0C0C0C0C", "0E0E0E01", "0E0E0E02", "0E0E0E03"]
PASSWORDS = ["alice-pw", "bob-pw", "carol-pw", "dave-pw"]
# gw-test's sync set is alice, bob, carol (disabled: never kept) and erin.
SYNCED = {"alice", "bob", "erin"}


def config(s, sync_interval="0", extra=""):
    return f"""\
state_dir: state
listen:
  raw: 127.0.0.1:0
{s.gateway_yaml(sync_interval)}{extra}log:
  level: debug
limits:
  shutdown_timeout: 5s
"""


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    s = Standin(str(tmp_path_factory.mktemp("standin")))
    s.args += ["--prehash", "8:1:1"]
    s.start()
    yield s
    s.stop()


@pytest.fixture
def gw(tmp_root, standin):
    """A gateway syncing on demand only; the stand-in without a fault before and after."""
    standin.fault(mode="none")
    yield Daemon(tmp_root, config(standin)).start()
    standin.fault(mode="none")


def users(d):
    return {u["name"]: u for u in json.loads(d.ctl("users", "--json").stdout)}


def sync(d, check=True):
    return d.ctl("users", "sync", check=check)


def assert_no_secret(text):
    conftest.assert_no_secret(text, PINS + CARDS + PASSWORDS + ["$argon2id$"])


def test_sync_shows_the_set_without_secrets(gw):
    r = sync(gw)
    assert "user sync (full) done" in r.stdout and "3 synced user(s)" in r.stdout, r.stdout
    raw = gw.ctl("users", "--json").stdout
    assert_no_secret(raw)
    assert "verifier" not in raw and "tag" not in raw
    got = {u["name"]: u for u in json.loads(raw)}
    assert set(got) == SYNCED
    alice = got["alice"]
    assert alice["id"] == "u-1001" and alice["full_name"] == "Alice Example"
    assert alice["source"] == "synced"
    assert {m["method"] for m in alice["methods"]} == {"card", "pin", "password", "card_pin", "card_password"}
    assert all(m["source"] == "synced" and m["expires"] for m in alice["methods"])
    assert alice["last_login"] is None and alice["locked_out"] is False and alice["expires"]
    # erin has no password: PIN, card and card+PIN only.
    assert {m["method"] for m in got["erin"]["methods"]} == {"card", "pin", "card_pin"}
    # The table form and status say the same, without a secret.
    table = gw.ctl("users").stdout
    assert_no_secret(table)
    assert table.splitlines()[0].split()[:2] == ["NAME", "SOURCE"]
    assert sum(1 for line in table.splitlines()[1:] if line.split()[1] == "synced") == 3
    status = gw.status()["offline_login"]
    assert status["synced_users"] == 3 and status["last_sync"] and status["sync_error"] == ""
    log = gw.log_text()
    assert "EVENT=lookup_key_registered" in log and "EVENT=user_sync:" in log
    assert_no_secret(log)
    # A second sync is a change sync from the kept cursor.
    assert "user sync (changes) done" in sync(gw).stdout


def test_scheduled_sync_runs_at_start(tmp_root, standin):
    standin.fault(mode="none")
    d = Daemon(tmp_root, config(standin, sync_interval="1h")).start()
    wait_until(lambda: set(users(d)) == SYNCED, timeout=30, what="the first scheduled sync")
    d.stop()


def test_failed_sync_keeps_the_last_good_set(gw, standin):
    sync(gw)
    before = users(gw)
    assert set(before) == SYNCED
    standin.fault(mode="error", status=503)
    r = sync(gw, check=False)
    assert r.returncode == 1
    assert "user sync failed" in r.stdout and "503" in r.stdout and "the last good set stays" in r.stdout
    assert users(gw) == before
    assert gw.status()["offline_login"]["sync_error"]
    assert "EVENT=user_sync_failed" in gw.log_text()
    standin.fault(mode="none")
    assert "user sync (changes) done" in sync(gw).stdout


def test_failed_scheduled_sync_is_retried_with_backoff(tmp_root, standin):
    standin.fault(mode="error", status=503, seconds=600)
    try:
        d = Daemon(tmp_root, config(standin, sync_interval="1h")).start()
        wait_until(lambda: "EVENT=user_sync_failed" in d.log_text(), timeout=30, what="the failed first sync")
        wait_until(lambda: "EVENT=user_sync_retry" in d.log_text(), timeout=30, what="a retry to be scheduled")
        assert users(d) == {}
    finally:
        standin.fault(mode="none")
    # Backoff grows while the server fails (and the monitor is offline), so this waits
    # for the monitor to come back and the next retry: bounded by the backoff's cap.
    wait_until(lambda: set(users(d)) == SYNCED, timeout=120, what="a retried sync to succeed")
    d.stop()


def test_sync_of_101_users_keeps_100(tmp_root):
    fixture = os.path.join(tmp_root, "users101.json")
    subprocess.run([sys.executable, os.path.join(STANDIN_DIR, "make-fixture"), "--users", "101", "--gateway",
                    "gw-test", "--out", fixture], check=True, timeout=60)
    s = Standin(os.path.join(tmp_root, "big"), fixture=fixture)
    os.makedirs(os.path.join(tmp_root, "big"))
    s.args += ["--prehash", "8:1:1"]
    s.start(timeout=180)
    try:
        d = Daemon(tmp_root, config(s))
        d.start()
        r = sync(d)
        assert "100 synced user(s)" in r.stdout and "1 user(s) over offline_login.sync_limit not kept" in r.stdout
        got = users(d)
        assert len(got) == 100
        # The first 100 in the server's order are kept.
        assert "user0101" not in got and "user0001" in got and "user0100" in got
        log = d.log_text()
        assert "EVENT=user_sync_over_limit" in log and "1 not kept" in log
        d.stop()
    finally:
        s.stop()


def test_users_rm(gw):
    sync(gw)
    r = gw.ctl("users", "rm", "bob")
    assert r.stdout.strip() == "1 cache entry of bob removed"
    assert set(users(gw)) == SYNCED - {"bob"}
    # By alias, ignoring ASCII case.
    gw.ctl("users", "rm", "example\\ALICE")
    assert set(users(gw)) == {"erin"}
    r = gw.ctl("users", "rm", "nobody", check=False)
    assert r.returncode == 1 and "no cached or synced user is named nobody" in r.stderr
    assert gw.ctl("users", "rm", check=False).returncode == 2
    assert "EVENT=user_removed" in gw.log_text() and "USER=bob" in gw.log_text()


def grep_files(top, prefix=""):
    """(file, needle) for every user name, personal detail or secret found in the files
    under `top` whose names start with `prefix`; asserts that there were files."""
    needles = NAMES + PERSONAL + PINS + CARDS + [c.lower() for c in CARDS] + PASSWORDS
    found = []
    files = 0
    for root, _, names in os.walk(top):
        for name in (n for n in names if n.startswith(prefix)):
            files += 1
            with open(os.path.join(root, name), "rb") as f:
                data = f.read()
            found += [(name, n) for n in needles if n.encode() in data]
    assert files >= 1
    return found


def test_nothing_about_a_user_is_readable_in_state_dir(gw):
    sync(gw)
    gw.ctl("users", "rm", "bob")
    gw.stop()  # everything flushed and checkpointed as at rest
    assert os.path.exists(os.path.join(gw.state, "credentials.db"))
    assert grep_files(gw.state) == []


class LoginCheck:
    """tests/tools/login_check.cpp: LoginService with the real MyqUpstream and monitor,
    one JSON command per line."""

    def __init__(self, root, config_text):
        os.makedirs(root, exist_ok=True)
        self.config = os.path.join(root, "printgate.yaml")
        with open(self.config, "w") as f:
            f.write(config_text)
        self.stderr_path = os.path.join(root, "login-check.log")
        self.stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [os.path.join(BUILD, "tests", "pg-login-check"), "--config", self.config,
             "--cache", os.path.join(root, "credentials.db")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, text=True)

    def __call__(self, **cmd):
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, open(self.stderr_path).read()
        return json.loads(line)

    def login(self, method, source="terminal:t1", **secrets):
        return self(cmd="login", method=method, source=source, **secrets)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.stderr.close()
        return open(self.stderr_path).read()


def test_authenticate_online_then_offline_against_the_standin(tmp_root, standin):
    """The login service end to end (in one process): online logins are verified by the
    stand-in and cached; with the server down the same methods log in from the cache,
    others are refused, and a synced user logs in without ever having logged in here."""
    standin.fault(mode="none")
    check = LoginCheck(os.path.join(tmp_root, "check"), config(standin))
    try:
        assert check(cmd="wait", state="online")["state"] == "online"
        ok = check.login("pin", pin="1234")
        assert ok["status"] == "ok" and not ok["offline"], ok
        assert ok["user"]["id"] == "u-1001" and ok["user"]["aliases"] == ["EXAMPLE\\alice", "alice@example.com"]
        assert ok["user"]["accounts"] == ["Sales"]
        assert check.login("password", username="alice", password="alice-pw")["status"] == "ok"
        assert check.login("pin", pin="918273")["status"] == "refused"         # unknown PIN
        assert check.login("password", source="terminal:t2", username="alice",
                           password="Wr0ng-pass-77")["status"] == "refused"     # wrong secret, same answer
        assert check.login("pin", source="terminal:t3", pin="3333")["status"] == "refused"   # carol is disabled
        assert check(cmd="sync")["synced_users"] == 3

        standin.fault(mode="down", seconds=120)
        assert check(cmd="wait", state="offline")["state"] == "offline"
        cached = check.login("pin", source="terminal:t4", pin="1234")
        assert cached["status"] == "ok" and cached["offline"] and cached["user"]["name"] == "alice"
        assert check.login("password", source="terminal:t4", username="ALICE", password="alice-pw")["offline"]
        # bob never logged in here: his synced card works offline.
        bob = check.login("card", source="terminal:t5", card="de ad be ef")
        assert bob["status"] == "ok" and bob["user"]["name"] == "bob", bob
        assert check.login("pin", source="terminal:t6", pin="918273")["status"] == "refused"
        assert check.login("password", source="terminal:t7", username="alice",
                           password="Wr0ng-pass-77")["status"] == "refused"
        print("offline PIN login", cached["ms"], "ms; online", ok["ms"], "ms")
    finally:
        standin.fault(mode="none")
        log = check.close()
    assert "EVENT=login_ok METHOD=pin SOURCE=terminal:t1 USER=alice" in log
    assert "EVENT=login_ok REASON=offline METHOD=card SOURCE=terminal:t5 USER=bob" in log
    assert "EVENT=login_refused REASON=invalid_credentials" in log
    conftest.assert_no_secret(log, ["alice-pw", "918273", "Wr0ng-pass-77", "DEADBEEF", "de ad be ef", "1234"])
    # The cache now holds methods cached from online logins as well as the synced set:
    # still nothing readable in it.
    assert grep_files(os.path.join(tmp_root, "check"), prefix="credentials.db") == []
