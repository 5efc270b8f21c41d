# SPDX-License-Identifier: Apache-2.0
"""Tests of the MyQ stand-in itself (tests/standin/myq-standin) against its real HTTPS,
with the CA it generates: every endpoint of docs/upstream-protocol.md, every fault
mode as a client sees it, and its print queue. Other tests rely on the stand-in
behaving like this, so it is checked on its own first."""
import base64
import ctypes
import hashlib
import hmac
import http.client
import importlib.machinery
import json
import os
import select
import signal
import socket
import ssl
import subprocess
import time
import types
import uuid

import pytest

from conftest import wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
STANDIN_DIR = os.path.normpath(os.path.join(HERE, "..", "standin"))
STANDIN = os.path.join(STANDIN_DIR, "myq-standin")
FIXTURE = os.path.join(STANDIN_DIR, "fixture.json")
GW = "gw-test"
SECRET = "gw-test-secret"
KEY = bytes(range(32))
FAST = "argon2_m_kib=64&argon2_t=1&argon2_p=1"



def tag(key, method, secret):
    mac = hmac.new(key, f"{method}:{secret}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


_ARGON2 = ctypes.CDLL("libargon2.so.1")
_ARGON2.argon2id_verify.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t]


def argon2_ok(phc, secret):
    pw = secret.encode()
    return _ARGON2.argon2id_verify(phc.encode(), pw, len(pw)) == 0


class Resp:
    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers
        self.raw = raw
        try:
            self.json = json.loads(raw) if raw else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return f"Resp({self.status}, {self.raw[:200]!r})"


class Standin:
    """One myq-standin process; the lines it prints tell its URLs."""

    def __init__(self, root, fixture=FIXTURE, ippeveprinter=False, admin=True):
        self.state = os.path.join(root, "standin")
        self.args = [STANDIN, "--listen", "127.0.0.1:0", "--fixture", fixture, "--state-dir", self.state]
        if ippeveprinter:
            self.args.append("--ippeveprinter")
        if admin:
            self.args += ["--admin-listen", "127.0.0.1:0"]
        self.err_path = os.path.join(root, "standin.err")
        self.lines = {}
        self.proc = None

    def start(self, timeout=60.0):
        want = {"ready", "ca"} | ({"queue"} if "--ippeveprinter" in self.args else set()) \
            | ({"admin"} if "--admin-listen" in self.args else set())
        with open(self.err_path, "ab") as err:
            self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=err)
        deadline = time.monotonic() + timeout
        buf = b""
        while not want <= set(self.lines):
            left = deadline - time.monotonic()
            assert left > 0, f"stand-in not ready: {self.lines}, {open(self.err_path).read()}"
            r, _, _ = select.select([self.proc.stdout], [], [], min(left, 0.5))
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                assert chunk, f"stand-in exited: {open(self.err_path).read()}"
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    word, _, rest = line.decode().partition(" ")
                    self.lines[word] = rest
        self.url = self.lines["ready"]
        self.host, port = self.url[len("https://"):].rsplit(":", 1)
        self.port = int(port)
        self.ca = self.lines["ca"]
        self.admin = self.lines.get("admin")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    # -- clients ---------------------------------------------------------------------
    def credentials_file(self):
        """printgate's client credentials for the fixture's gateway gw-test (mode 0600), next to the state."""
        path = os.path.join(os.path.dirname(self.state), "creds")
        with open(path, "w") as f:
            f.write(f"# printgate's client at the stand-in\nclient_id: {GW}\nclient_secret: {SECRET}\n")
        os.chmod(path, 0o600)
        return path

    def gateway_yaml(self, sync_interval="0", validity_hours=None):
        """The `upstream:` and `offline_login:` sections of a printgated configuration
        that uses this stand-in as gateway gw-test. Cheap argon2id keeps the hashing in
        tests short; production uses the defaults."""
        validity = f"  validity_hours: {validity_hours}\n" if validity_hours is not None else ""
        return f"""\
upstream:
  url: {self.url}
  credentials_file: {self.credentials_file()}
  ca_file: {self.ca}
  gateway_id: gw-test
  hold_down: 1s
offline_login:
  sync_interval: {sync_interval}
  argon2_memory: 8KiB
  argon2_iterations: 1
{validity}"""

    def ctx(self):
        return ssl.create_default_context(cafile=self.ca)

    def conn(self, timeout=10.0):
        return http.client.HTTPSConnection(self.host, self.port, context=self.ctx(), timeout=timeout)

    def call(self, method, path, body=None, token=None, headers=None, timeout=10.0, gateway=GW, conn=None):
        h = {"X-Request-Id": uuid.uuid4().hex, "X-Gateway-Id": gateway}
        if token:
            h["Authorization"] = "Bearer " + token
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        h = {k: v for k, v in h.items() if v is not None}
        own = conn is None
        c = conn or self.conn(timeout)
        try:
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            return Resp(r.status, r.headers, r.read())
        finally:
            if own:
                c.close()

    def token(self, client=GW, secret=SECRET, scope="gateway users accounting", gateway=GW):
        r = self.call("POST", "/api/auth/token", {"grant_type": "client_credentials", "client_id": client,
                                                  "client_secret": secret, "scope": scope}, gateway=gateway)
        assert r.status == 200, r
        return r.json["access_token"]

    def login(self, token, info, gateway=GW):
        return self.call("POST", "/api/auth/token", {"grant_type": "login_info", "login_info": info},
                         token=token, gateway=gateway)

    def admin_call(self, method, path, body=None, timeout=10.0):
        host, port = self.admin[len("http://"):].rsplit(":", 1)
        c = http.client.HTTPConnection(host, int(port), timeout=timeout)
        try:
            c.request(method, path, body=json.dumps(body).encode() if body is not None else None,
                      headers={"Content-Type": "application/json"})
            r = c.getresponse()
            return Resp(r.status, r.headers, r.read())
        finally:
            c.close()

    def admin_post(self, path, body=None):
        r = self.admin_call("POST", path, body if body is not None else {})
        assert r.status == 200, r
        return r.json

    def report(self):
        r = self.admin_call("GET", "/_standin/report")
        assert r.status == 200, r
        return r.json

    def fault(self, **spec):
        return self.admin_post("/_standin/fault", spec)


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    s = Standin(str(tmp_path_factory.mktemp("standin")), ippeveprinter=True).start()
    yield s
    queue_port = int(s.lines["queue"].split(":")[2].split("/")[0])
    assert s.stop() == 0
    # SIGTERM took the print queue down with it.
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", queue_port), timeout=2).close()


@pytest.fixture
def fresh(tmp_path):
    s = Standin(str(tmp_path)).start()
    yield s
    assert s.stop() == 0


@pytest.fixture(autouse=True)
def no_fault_after(request):
    yield
    if "standin" in request.fixturenames:
        s = request.getfixturevalue("standin")
        s.fault(mode="none")
        assert s.call("GET", "/api/v1/status").status == 401  # the HTTPS port answers again


# -- tokens --------------------------------------------------------------------------
def test_ready_line_and_ca_verify_the_server(standin):
    assert standin.url.startswith("https://127.0.0.1:")
    with socket.create_connection((standin.host, standin.port), timeout=5) as raw:
        with standin.ctx().wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            der = tls.getpeercert(binary_form=True)
    assert standin.report()["tls"]["pin"] == "sha256:" + hashlib.sha256(der).hexdigest()


def test_token_issue_and_admin_expiry(standin):
    r = standin.call("POST", "/api/auth/token", {"grant_type": "client_credentials", "client_id": GW,
                                                 "client_secret": SECRET, "scope": "gateway users accounting"})
    assert r.status == 200 and r.headers["Cache-Control"] == "no-store"
    assert r.json["token_type"] == "Bearer" and r.json["expires_in"] == 3600
    assert r.json["scope"] == "gateway users accounting"
    tok = r.json["access_token"]
    assert standin.call("GET", "/api/v1/status", token=tok).status == 200
    before = standin.report()["tokens_issued"]
    assert standin.admin_post("/_standin/expire-tokens")["expired"] >= 1
    r = standin.call("GET", "/api/v1/status", token=tok)
    assert r.status == 401 and r.json == {"error": "invalid_token"}
    assert r.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert standin.call("GET", "/api/v1/status", token=standin.token()).status == 200
    assert standin.report()["tokens_issued"] == before + 1


def test_token_expires_after_its_ttl(standin):
    standin.admin_post("/_standin/config", {"token_ttl": 1})
    try:
        r = standin.call("POST", "/api/auth/token", {"grant_type": "client_credentials", "client_id": GW,
                                                     "client_secret": SECRET})
        assert r.json["expires_in"] == 1
        tok = r.json["access_token"]
        assert standin.call("GET", "/api/v1/status", token=tok).status == 200
        wait_until(lambda: standin.call("GET", "/api/v1/status", token=tok).status == 401,
                   timeout=10, what="the token to expire")
    finally:
        standin.admin_post("/_standin/config", {"token_ttl": 3600})


def test_bad_client_and_scopes(standin):
    for client, secret in ((GW, "wrong"), ("nobody", SECRET)):
        r = standin.call("POST", "/api/auth/token", {"grant_type": "client_credentials", "client_id": client,
                                                     "client_secret": secret})
        assert (r.status, r.json) == (401, {"error": "invalid_client"})
    r = standin.call("POST", "/api/auth/token", {"grant_type": "client_credentials", "client_id": "gw-probe-only",
                                                 "client_secret": "probe-secret", "scope": "gateway users"})
    assert r.status == 200 and r.json["scope"] == "gateway"
    r = standin.call("POST", "/api/auth/token", {"grant_type": "client_credentials", "client_id": "gw-probe-only",
                                                 "client_secret": "probe-secret", "scope": "accounting"})
    assert (r.status, r.json["error"]) == (400, "invalid_scope")
    r = standin.call("POST", "/api/auth/token", {"grant_type": "password"})
    assert (r.status, r.json["error"]) == (400, "unsupported_grant_type")
    r = standin.call("POST", "/api/auth/token", b"grant_type=client_credentials",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert (r.status, r.json["error"]) == (415, "unsupported_media_type")


# -- user verification -------------------------------------------------------------
ALICE = {"id": "u-1001", "name": "alice", "full_name": "Alice Example", "email": "alice@example.com",
         "aliases": ["EXAMPLE\\alice", "alice@example.com"], "accounts": [{"id": "a-1", "name": "Sales"}]}


@pytest.mark.parametrize("info", [
    {"type": 1, "card": "04A1B2C3"},
    {"type": 1, "card": "04 a1 b2 c3"},
    {"type": 2, "pin": "5678"},
    {"type": 3, "username": "alice", "password": "alice-pw"},
    {"type": 3, "username": "example\\ALICE", "password": "alice-pw"},
    {"type": 4, "card": "04a1b2c3", "pin": "1234"},
    {"type": 5, "card": "04A1B2C3", "password": "alice-pw"},
])
def test_each_login_type(standin, info):
    r = standin.login(standin.token(), info)
    assert r.status == 200, r
    assert r.json["token_type"] == "Bearer" and r.json["expires_in"] == 300 and r.json["access_token"]
    assert r.json["user"] == ALICE


def test_wrong_secret_and_unknown_user_answer_alike(standin):
    tok = standin.token()
    answers = [standin.login(tok, info) for info in (
        {"type": 3, "username": "alice", "password": "not-it"},
        {"type": 3, "username": "nobody", "password": "alice-pw"},
        {"type": 2, "pin": "0000"},
        {"type": 1, "card": "FFFFFFFF"},
        {"type": 1, "card": "not a card"},
        {"type": 4, "card": "04A1B2C3", "pin": "2222"},
        {"type": 5, "card": "0B0B0B0B", "password": "alice-pw"},
    )]
    assert {(a.status, a.raw) for a in answers} == {(401, b'{"error":"invalid_grant"}')}


def test_disabled_user_and_login_errors(standin):
    tok = standin.token()
    r = standin.login(tok, {"type": 3, "username": "carol", "password": "carol-pw"})
    assert (r.status, r.json) == (403, {"error": "user_disabled"})
    r = standin.login(tok, {"type": 2, "pin": "3333"})
    assert r.status == 403
    assert standin.login(tok, {"type": 3, "username": "carol", "password": "nope"}).status == 401
    assert standin.login(tok, {"type": 6, "pin": "1"}).json["error"] == "unsupported_login_type"
    assert standin.login(tok, {"type": 4, "card": "04A1B2C3"}).json["error"] == "invalid_request"
    r = standin.login(None, {"type": 2, "pin": "1234"})
    assert (r.status, r.json["error"]) == (401, "invalid_token")
    r = standin.login(standin.token("gw-probe-only", "probe-secret", "gateway"), {"type": 2, "pin": "1234"})
    assert (r.status, r.json["error"]) == (403, "insufficient_scope")
    assert "insufficient_scope" in r.headers["WWW-Authenticate"]


# -- status and request headers ------------------------------------------------------
def test_status_with_and_without_token(standin):
    r = standin.call("GET", "/api/v1/status")
    assert (r.status, r.json) == (401, {"error": "invalid_token"})
    tok = standin.token()
    r = standin.call("GET", "/api/v1/status", token=tok, headers={"X-Request-Id": "req-status-1"})
    assert r.status == 200 and r.json["status"] == "ok" and r.json["version"]
    assert r.json["server_time"].endswith("Z") and r.headers["X-Request-Id"] == "req-status-1"
    assert standin.call("GET", "/api/v1/status", token=tok, headers={"X-Request-Id": None}).status == 400
    assert standin.call("GET", "/api/v1/status", token=tok, gateway=None).status == 400
    r = standin.call("GET", "/api/v1/status", token=tok, gateway="gw-other")
    assert (r.status, r.json["error"]) == (403, "gateway_mismatch")
    assert standin.call("POST", "/api/v1/status", {}, token=tok).status == 405
    assert standin.call("GET", "/api/v1/nothing", token=tok).status == 404


def test_report_keeps_request_headers_without_secrets(standin):
    tok = standin.token()
    standin.call("GET", "/api/v1/status", token=tok, headers={"X-Request-Id": "req-report-1"})
    rep = standin.report()
    mine = [e for e in rep["recent_requests"] if e["headers"].get("X-Request-Id") == "req-report-1"]
    assert len(mine) == 1 and mine[0]["status"] == 200
    assert mine[0]["headers"]["X-Gateway-Id"] == GW and mine[0]["headers"]["Authorization"] == "<redacted>"
    text = json.dumps(rep)
    assert tok not in text and SECRET not in text
    assert rep["requests"]["GET /api/v1/status"] >= 1


def test_keep_alive_and_body_limit(standin):
    tok = standin.token()
    c = standin.conn()
    try:
        assert standin.call("GET", "/api/v1/status", token=tok, conn=c).status == 200
        first = c.sock
        assert standin.call("GET", "/api/v1/status", token=tok, conn=c).status == 200
        assert c.sock is first  # the same connection served both
    finally:
        c.close()
    r = standin.call("POST", "/api/v1/accounting/batches", b"{" + b" " * (1 << 20) + b"}", token=tok,
                     headers={"Idempotency-Key": "big"})
    assert (r.status, r.json["error"]) == (413, "payload_too_large")


# -- lookup key, sync, tombstones ----------------------------------------------------------
def put_key(s, tok, key_id="k1", key=KEY, idem=None):
    return s.call("PUT", f"/api/v1/gateways/{GW}/lookup-key",
                  {"key_id": key_id, "key": base64.b64encode(key).decode()}, token=tok,
                  headers={"Idempotency-Key": idem or "lookup-" + key_id})


def sync_all(s, tok, cursor=None, limit=50, params=FAST):
    """Every page of one sync: (users by id, tombstones merged, final cursor, pages)."""
    users, tomb, pages = {}, {"users": [], "pins": [], "cards": []}, 0
    while True:
        q = f"?limit={limit}&{params}" + (f"&cursor={cursor}" if cursor else "")
        r = s.call("GET", f"/api/v1/gateways/{GW}/sync{q}", token=tok, timeout=120)
        assert r.status == 200, r
        pages += 1
        for u in r.json["users"]:
            users[u["id"]] = u
        for k in tomb:
            tomb[k] += r.json["tombstones"][k]
        cursor = r.json["cursor"]
        if r.json["complete"]:
            return users, tomb, cursor, pages


def test_sync_full_then_tombstones(fresh):
    s = fresh
    tok = s.token()
    r = s.call("GET", f"/api/v1/gateways/{GW}/sync", token=tok)
    assert (r.status, r.json["error"]) == (409, "no_lookup_key")
    assert put_key(s, tok).json == {"key_id": "k1"}

    users, tomb, cursor, pages = sync_all(s, tok, limit=2)
    assert pages == 2 and sorted(users) == ["u-1001", "u-1002", "u-1003", "u-1005"]
    assert tomb == {"users": [], "pins": [], "cards": []}
    alice = users["u-1001"]
    assert {k: alice[k] for k in ALICE} == ALICE and alice["disabled"] is False
    assert [p["tag"] for p in alice["pins"]] == [tag(KEY, "pin", "1234"), tag(KEY, "pin", "5678")]
    assert [c["tag"] for c in alice["cards"]] == [tag(KEY, "card", "04A1B2C3")]
    assert alice["pins"][0]["tag"] == "CkXqijBgKGip-0AYjZVYydrfQtXY8UPO0j6otj7bnd4"  # the doc's test vector
    assert argon2_ok(alice["pins"][0]["verifier"], "1234") and not argon2_ok(alice["pins"][0]["verifier"], "5678")
    assert argon2_ok(alice["cards"][0]["verifier"], "04A1B2C3")
    assert argon2_ok(alice["password"]["verifier"], "alice-pw")
    assert alice["password"]["verifier"].startswith("$argon2id$v=19$m=64,t=1,p=1$")
    carol = users["u-1003"]
    assert carol["disabled"] is True and carol["pins"] == [] and carol["cards"] == [] and carol["password"] is None
    erin = users["u-1005"]
    assert erin["password"] is None and len(erin["pins"]) == 3 and len(erin["cards"]) == 3

    # Nothing changed: an empty, complete change page.
    same, tomb, cursor2, _ = sync_all(s, tok, cursor)
    assert same == {} and tomb == {"users": [], "pins": [], "cards": []}

    s.admin_post("/_standin/revoke", {"user": "u-1001", "pin": "1234"})
    s.admin_post("/_standin/users/u-1002/disable")
    s.admin_post("/_standin/users/u-1005/delete")
    changed, tomb, cursor3, _ = sync_all(s, tok, cursor2)
    assert sorted(changed) == ["u-1001", "u-1002"]
    assert [p["tag"] for p in changed["u-1001"]["pins"]] == [tag(KEY, "pin", "5678")]
    assert changed["u-1002"]["disabled"] is True and changed["u-1002"]["cards"] == []
    assert tomb["users"] == ["u-1005"]
    assert sorted(tomb["pins"]) == sorted(tag(KEY, "pin", p) for p in ("1234", "2222", "5555", "5556", "5557"))
    assert sorted(tomb["cards"]) == sorted(tag(KEY, "card", c) for c in
                                           ("0B0B0B0B", "DEADBEEF", "0E0E0E01", "0E0E0E02", "0E0E0E03"))
    assert s.login(tok, {"type": 2, "pin": "1234"}).status == 401
    assert s.login(tok, {"type": 2, "pin": "2222"}).status == 403

    # A new user in the set, then a revoked-and-returned PIN: record and tombstone both come.
    s.admin_post("/_standin/users", {"user": {"id": "u-1009", "name": "frank", "pins": ["9090"]},
                                     "sync_sets": [GW]})
    s.admin_post("/_standin/revoke", {"user": "u-1001", "pin": "5678"})
    s.admin_post("/_standin/users", {"user": {"id": "u-1001", "name": "alice", "pins": ["5678"]}})
    changed, tomb, _, _ = sync_all(s, tok, cursor3)
    assert sorted(changed) == ["u-1001", "u-1009"] and tag(KEY, "pin", "5678") in tomb["pins"]
    assert [p["tag"] for p in changed["u-1001"]["pins"]] == [tag(KEY, "pin", "5678")]

    # A new key id replaces the key: old cursors expire; same id with another key conflicts.
    assert put_key(s, tok, "k2", bytes(32)).status == 200
    r = s.call("GET", f"/api/v1/gateways/{GW}/sync?cursor={cursor3}", token=tok)
    assert (r.status, r.json["error"]) == (410, "cursor_expired")
    r = put_key(s, tok, "k2", bytes(range(1, 33)), idem="lookup-k2-again")
    assert (r.status, r.json["error"]) == (409, "key_id_conflict")
    r = s.call("GET", f"/api/v1/gateways/{GW}/sync?cursor=garbage", token=tok)
    assert r.status == 410
    r = s.call("GET", "/api/v1/gateways/gw-other/sync", token=tok)
    assert (r.status, r.json["error"]) == (403, "gateway_mismatch")
    assert s.call("GET", f"/api/v1/gateways/{GW}/sync?limit=x", token=tok).status == 400


def test_sync_clamps_argon2_parameters(fresh):
    tok = fresh.token()
    put_key(fresh, tok)
    r = fresh.call("GET", f"/api/v1/gateways/{GW}/sync?limit=1&argon2_m_kib=1&argon2_t=0&argon2_p=1", token=tok)
    assert r.status == 200 and len(r.json["users"]) == 1 and r.json["complete"] is False
    assert r.json["users"][0]["pins"][0]["verifier"].startswith("$argon2id$v=19$m=8,t=1,p=1$")


def test_lookup_key_idempotency(standin):
    tok = standin.token()
    first = put_key(standin, tok, "kid-1", idem="idem-kid-1")
    dups = standin.report()["duplicates"]["idempotency"]
    again = put_key(standin, tok, "kid-1", idem="idem-kid-1")
    assert (again.status, again.raw) == (first.status, first.raw)
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert standin.report()["duplicates"]["idempotency"] == dups + 1
    r = put_key(standin, tok, "kid-2", idem="idem-kid-1")
    assert (r.status, r.json["error"]) == (422, "idempotency_key_reused")
    r = standin.call("PUT", f"/api/v1/gateways/{GW}/lookup-key", {"key_id": "k", "key": "AAAA"}, token=tok)
    assert (r.status, r.json["error"]) == (400, "idempotency_key_required")
    r = put_key(standin, tok, "kid-3", key=b"short", idem="idem-kid-3")
    assert (r.status, r.json["error"]) == (400, "invalid_request")


def test_hundred_user_fixture_syncs(tmp_path):
    loader = importlib.machinery.SourceFileLoader("make_fixture", os.path.join(STANDIN_DIR, "make-fixture"))
    gen = types.ModuleType(loader.name)
    loader.exec_module(gen)
    path = str(tmp_path / "users100.json")
    subprocess.run([os.path.join(STANDIN_DIR, "make-fixture"), "--users", "100", "--out", path], check=True)
    s = Standin(str(tmp_path), fixture=path, admin=False).start()
    try:
        tok = s.token()
        put_key(s, tok)
        users, _, _, pages = sync_all(s, tok, limit=100, params="argon2_m_kib=8&argon2_t=1&argon2_p=1")
        assert pages == 1 and len(users) == 100
        assert all(len(u["pins"]) == 3 and len(u["cards"]) == 3 and u["password"] for u in users.values())
        tags = [e["tag"] for u in users.values() for e in u["pins"] + u["cards"]]
        assert len(set(tags)) == 600
        pins, cards, password = gen.secrets_of(57, "7")
        u57 = users["u-20057"]
        assert u57["pins"][2]["tag"] == tag(KEY, "pin", pins[2]) and argon2_ok(u57["pins"][2]["verifier"], pins[2])
        assert s.login(tok, {"type": 4, "card": cards[1], "pin": pins[0]}).json["user"]["name"] == "user0057"
        assert s.login(tok, {"type": 3, "username": "user0057", "password": password}).status == 200
    finally:
        assert s.stop() == 0


# -- accounting ----------------------------------------------------------------------------
def record(rid, **kw):
    r = {"record_id": rid, "user": "alice", "queue": "secure", "printer": "hall-mfp", "pages": 3, "sheets": 2,
         "color": False, "duplex": True, "copies": 1, "bytes": 48213, "submitted_at": "2025-01-31T09:10:00Z",
         "finished_at": "2025-01-31T09:12:41Z", "offline": True, "outcome": "completed"}
    r.update(kw)
    return r


def batch(s, tok, bid, records):
    return s.call("POST", "/api/v1/accounting/batches", {"batch_id": bid, "records": records}, token=tok,
                  headers={"Idempotency-Key": bid})


def test_accounting_dedup(standin):
    tok = standin.token()
    before = standin.report()
    r1 = batch(standin, tok, "b-1", [record("r-1"), record("r-2")])
    assert r1.json == {"batch_id": "b-1", "accepted": 2, "duplicates": 0}
    again = batch(standin, tok, "b-1", [record("r-1"), record("r-2")])
    assert (again.status, again.raw) == (200, r1.raw) and again.headers["Idempotent-Replayed"] == "true"
    r2 = batch(standin, tok, "b-2", [record("r-2"), record("r-3", printer=None, outcome="expired"), record("r-3")])
    assert r2.json == {"batch_id": "b-2", "accepted": 1, "duplicates": 2}
    bad = batch(standin, tok, "b-3", [record("r-4"), record("r-5", pages=-1)])
    assert (bad.status, bad.json["error"], bad.json["record_id"], bad.json["field"]) == \
        (400, "invalid_record", "r-5", "pages")
    r = standin.call("POST", "/api/v1/accounting/batches", {"batch_id": "b-4", "records": []}, token=tok,
                     headers={"Idempotency-Key": "b-5"})
    assert r.status == 400
    r = standin.call("POST", "/api/v1/accounting/batches", {"batch_id": "b-6", "records": []},
                     token=standin.token("gw-probe-only", "probe-secret", "gateway"), headers={"Idempotency-Key": "b-6"})
    assert (r.status, r.json["error"]) == (403, "insufficient_scope")
    after = standin.report()
    assert after["accounting_records_accepted"] - before["accounting_records_accepted"] == 3
    assert after["duplicates"]["accounting_records"] - before["duplicates"]["accounting_records"] == 2
    assert after["duplicates"]["idempotency"] - before["duplicates"]["idempotency"] == 1
    assert [x["record_id"] for x in after["accounting_records"][-3:]] == ["r-1", "r-2", "r-3"]


# -- faults --------------------------------------------------------------------------------
def connect(s, timeout=2.0):
    with socket.create_connection((s.host, s.port), timeout=timeout):
        return True


def test_fault_down_refuses_connections(standin):
    tok = standin.token()
    standin.fault(mode="down")
    with pytest.raises(ConnectionRefusedError):
        connect(standin)
    assert standin.report()["fault"]["mode"] == "down"  # the admin port stays up
    standin.fault(mode="none")
    assert standin.call("GET", "/api/v1/status", token=tok).status == 200
    standin.fault(mode="down", seconds=0.5)
    with pytest.raises(ConnectionRefusedError):
        connect(standin)
    wait_until(lambda: _connects(standin), timeout=10, what="the timed outage to end")


def _connects(s):
    try:
        return connect(s)
    except OSError:
        return False


def test_fault_over_the_https_port_without_admin_listener(tmp_path):
    s = Standin(str(tmp_path), admin=False).start()
    try:
        def post(spec):
            c = http.client.HTTPSConnection(s.host, s.port, context=s.ctx(), timeout=10)
            try:
                c.request("POST", "/_standin/fault", json.dumps(spec), {"Content-Type": "application/json"})
                r = c.getresponse()
                return r.status, json.loads(r.read())
            finally:
                c.close()
        status, body = post({"mode": "down"})
        assert status == 409 and "admin-listen" in body["error_description"]
        status, body = post({"mode": "down", "seconds": 0.5})
        assert status == 200 and body["fault"]["mode"] == "down"
        with pytest.raises(ConnectionRefusedError):
            connect(s)
        wait_until(lambda: _connects(s), timeout=10, what="the timed outage to end")
        assert post({"mode": "none"})[0] == 200
    finally:
        assert s.stop() == 0


def test_fault_blackhole_times_out(standin):
    tok = standin.token()
    standin.fault(mode="blackhole")
    t0 = time.monotonic()
    with pytest.raises((socket.timeout, TimeoutError)):
        standin.call("GET", "/api/v1/status", token=tok, timeout=1.0)
    assert time.monotonic() - t0 < 5
    assert standin.report()["requests"]["GET /api/v1/status"] >= 1


@pytest.mark.parametrize("status,code", [(503, "unavailable"), (500, "server_error")])
def test_fault_error_status(standin, status, code):
    tok = standin.token()
    standin.fault(mode="error", status=status)
    r = standin.call("GET", "/api/v1/status", token=tok)
    assert (r.status, r.json["error"]) == (status, code)
    assert standin.call("POST", "/api/auth/token", {"grant_type": "client_credentials"}).status == status


def test_fault_ratelimit(standin):
    tok = standin.token()
    standin.fault(mode="ratelimit", retry_after=3)
    r = standin.call("GET", "/api/v1/status", token=tok)
    assert (r.status, r.json["error"], r.headers["Retry-After"]) == (429, "rate_limited", "3")


def test_fault_slow(standin):
    tok = standin.token()
    standin.fault(mode="slow", delay_ms=400)
    t0 = time.monotonic()
    assert standin.call("GET", "/api/v1/status", token=tok).status == 200
    assert time.monotonic() - t0 >= 0.38


def test_fault_flap_alternates(standin):
    tok = standin.token()
    standin.fault(mode="flap", up_ms=300, down_ms=300)
    seen = set()

    def both():
        try:
            seen.add(standin.call("GET", "/api/v1/status", token=tok, timeout=2).status)
        except OSError:
            seen.add("refused")
        return {"refused", 200} <= seen
    wait_until(both, timeout=15, what="both phases of the flap")
    assert standin.report()["fault"]["phase"] in ("up", "down")


def test_fault_token_fail(standin):
    tok = standin.token()
    standin.fault(mode="token_fail")
    r = standin.call("POST", "/api/auth/token", {"grant_type": "client_credentials", "client_id": GW,
                                                 "client_secret": SECRET})
    assert (r.status, r.json["error"]) == (500, "server_error")
    assert standin.call("GET", "/api/v1/status", token=tok).status == 200


def test_fault_bad_cert(standin):
    tok = standin.token()
    old = standin.conn()
    try:
        assert standin.call("GET", "/api/v1/status", token=tok, conn=old).status == 200
        standin.fault(mode="bad_cert")
        with pytest.raises(ssl.SSLCertVerificationError):
            standin.call("GET", "/api/v1/status", token=tok)
        # A connection made before keeps its certificate.
        assert standin.call("GET", "/api/v1/status", token=tok, conn=old).status == 200
    finally:
        old.close()
    standin.fault(mode="none")
    assert standin.call("GET", "/api/v1/status", token=tok).status == 200


def test_fault_validation(standin):
    r = standin.admin_call("POST", "/_standin/fault", {"mode": "sideways"})
    assert r.status == 400
    r = standin.admin_call("POST", "/_standin/fault", {"mode": "slow", "delay_ms": -1})
    assert r.status == 400


# -- print queue ---------------------------------------------------------------------------
PRINT_TEST = """{
  NAME "stand-in queue: Print-Job"
  OPERATION Print-Job
  GROUP operation-attributes-tag
  ATTR charset attributes-charset utf-8
  ATTR language attributes-natural-language en
  ATTR uri printer-uri $uri
  ATTR name requesting-user-name alice
  ATTR name job-name "standin byte test"
  ATTR mimeMediaType document-format text/plain
  FILE $filename
  STATUS successful-ok
}
"""


def test_queue_receives_print_job_byte_exact(standin, tmp_path):
    # text/plain, as CUPS 2.4's ippeveprinter refuses a Print-Job in application/octet-stream
    # although it lists it; it does not look inside text/plain, so any bytes do.
    doc = os.urandom(300 * 1024) + b"\x00\r\n\x1b%-12345X end"
    (tmp_path / "doc.bin").write_bytes(doc)
    (tmp_path / "print.test").write_text(PRINT_TEST)
    r = subprocess.run(["ipptool", "-t", "-f", str(tmp_path / "doc.bin"), standin.lines["queue"],
                        str(tmp_path / "print.test")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    want = hashlib.sha256(doc).hexdigest()

    def arrived():
        return [d for d in standin.report()["queue"]["documents"] if d["sha256"] == want]
    wait_until(arrived, timeout=30, what="the document at the stand-in's queue")
    d = arrived()[0]
    assert (d["user"], d["title"], d["size"]) == ("alice", "standin byte test", len(doc))
    with open(d["path"], "rb") as f:
        assert f.read() == doc
    standin.admin_post("/_standin/reset-report")
    assert standin.report()["queue"]["documents"] == []
