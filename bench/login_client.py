# SPDX-License-Identifier: Apache-2.0
"""The login benchmark's driver (bench/login.sh runs it; issue #7): printgated with
listen.release and the terminal API, the MyQ stand-in with 100 synced users (make-fixture
--users 100, every one with 3 PINs, 3 cards and a password), argon2id at printgate's
defaults (19 MiB, t=2, p=1) on both sides.

  1. offline logins (stand-in down, monitor offline) of users who never logged in here,
     from the synced set: PIN, card, password, each at concurrency 1 and 2, PASSES logins
     per user (500 per run by default, so that p99 is not just the slowest sample);
     p50/p99/max of the time from sending POST /api/v1/sessions on a kept-alive TLS
     connection to its answer;
  2. a burst: 100 logins at once (100 threads, one connection each, connected first):
     all answered? the slowest;
  3. the same logins online through the stand-in (each verified at the server, then
     cached here: one argon2id hash of the gateway's per login);
  4. release-to-first-byte: a hold queue whose printer is a 9100 listener in this
     process; a raw job owned by user0001 (peer_owners), POST /api/v1/jobs/release,
     and the time from its answer to the first byte at the listener; ROUNDS rounds.
Every loop is bounded in count and time. Prints one line per figure."""
import http.client
import importlib.machinery
import json
import os
import secrets
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import threading
import time
import types

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
WORK = os.environ["WORK"]
PGD = os.environ["PGD"]
PGCTL = os.environ["PGCTL"]
USERS = int(os.environ.get("USERS", "100"))
ROUNDS = int(os.environ.get("ROUNDS", "20"))
PASSES = int(os.environ.get("PASSES", "5"))
STANDIN = os.path.join(ROOT, "tests", "standin", "myq-standin")


def load_fixture_module():
    path = os.path.join(ROOT, "tests", "standin", "make-fixture")
    loader = importlib.machinery.SourceFileLoader("make_fixture", path)
    mod = types.ModuleType(loader.name)
    mod.__file__ = path
    loader.exec_module(mod)
    return mod


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise SystemExit(f"HARNESS FAILURE: timed out waiting for {what}")
        time.sleep(0.05)


class Standin:
    def __init__(self, fixture):
        self.out = open(os.path.join(WORK, "standin.out"), "w+")
        self.err = open(os.path.join(WORK, "standin.err"), "w")
        self.proc = subprocess.Popen([STANDIN, "--listen", "127.0.0.1:0", "--fixture", fixture, "--state-dir",
                                      os.path.join(WORK, "standin"), "--admin-listen", "127.0.0.1:0",
                                      "--prehash", "19456:2:1"], stdout=self.out, stderr=self.err)
        lines = {}

        def ready():
            assert self.proc.poll() is None, "stand-in exited"
            self.out.seek(0)
            for line in self.out.read().splitlines():
                k, _, v = line.partition(" ")
                lines[k] = v
            return "admin" in lines
        wait_for(ready, 600, "the stand-in (700 argon2id verifiers at 19 MiB)")
        self.url, self.ca, self.admin = lines["ready"], lines["ca"], lines["admin"]

    def fault(self, **spec):
        host, port = self.admin[len("http://"):].rsplit(":", 1)
        c = http.client.HTTPConnection(host, int(port), timeout=10)
        c.request("POST", "/_standin/fault", body=json.dumps(spec))
        c.getresponse().read()
        c.close()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


class Printer9100:
    """Accepts connections; records when the first byte of each arrives."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.first_bytes = []
        self.cv = threading.Condition()
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while True:
            conn, _ = self.sock.accept()
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        conn.settimeout(60)
        first = True
        try:
            while True:
                data = conn.recv(65536)
                if first and data:
                    with self.cv:
                        self.first_bytes.append(time.monotonic())
                        self.cv.notify_all()
                    first = False
                if not data:
                    break
        except OSError:
            pass
        conn.close()


def ctl(config, *args):
    return subprocess.run([PGCTL, "--config", config, *args], capture_output=True, text=True, timeout=300)


class Api:
    def __init__(self, port, key):
        self.port, self.key = port, key
        self.ctx = ssl.create_default_context(cafile=os.path.join(WORK, "state", "tls", "server.crt"))
        self.ctx.check_hostname = False
        self.conn = None

    def connect(self):
        self.conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=60)
        self.conn.connect()

    def call(self, method, path, body=None, session=None):
        if self.conn is None:
            self.connect()
        headers = {"Authorization": f"Bearer {self.key}"}
        if session:
            headers["X-Session"] = session
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.conn.request(method, path, body=data, headers=headers)
        r = self.conn.getresponse()
        text = r.read()
        return r.status, json.loads(text) if text else None


def login_body(method, n, mod):
    pins, cards, password = mod.secrets_of(n, "7")
    if method == "pin":
        return {"method": "pin", "pin": pins[0]}
    if method == "card":
        return {"method": "card", "card": cards[0]}
    return {"method": "password", "username": f"user{n:04d}", "password": password}


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(p / 100.0 * len(xs) + 0.5)) - 1))]


def run_logins(port, keys, method, conc, users, mod, want_offline):
    """One login per entry of `users` (a user may come back), `conc` workers (each its own
    terminal and connection)."""
    lat, errors, started = [], [], []
    lock = threading.Lock()
    todo = list(users)

    def worker(i):
        api = Api(port, keys[i % len(keys)])
        api.connect()
        while True:
            with lock:
                if not todo:
                    return
                n = todo.pop(0)
            t0 = time.monotonic()
            status, got = api.call("POST", "/api/v1/sessions", login_body(method, n, mod))
            dt = time.monotonic() - t0
            with lock:
                if status == 201 and got["offline"] == want_offline:
                    lat.append(dt)
                    started.append(t0)
                else:
                    errors.append((n, status, got))
            if status == 201:
                api.call("DELETE", "/api/v1/sessions/current", session=got["session"])
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(conc)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    where = ""
    if lat:  # where the slowest sample fell: a first-call cost or a periodic stall?
        k = max(range(len(lat)), key=lambda j: lat[j])
        where = (f"slowest: sample {k + 1} of {len(lat)}, {started[k] - min(started):.2f} s into the run "
                 f"(CLOCK_MONOTONIC {started[k]:.3f})")
    return lat, errors, where


def report(label, lat, errors, target_ms=None, where=""):
    if not lat:
        print(f"{label}: no successful login; errors {errors[:3]}")
        return
    ms = [x * 1000 for x in lat]
    line = (f"{label}: n={len(ms)} p50={percentile(ms, 50):.1f} ms p99={percentile(ms, 99):.1f} ms "
            f"max={max(ms):.1f} ms mean={statistics.mean(ms):.1f} ms errors={len(errors)}")
    if target_ms:
        line += f" (target p99 < {target_ms} ms: {'meets' if percentile(ms, 99) < target_ms else 'BELOW'})"
    if where:
        line += f"; {where}"
    print(line, flush=True)


def main():
    mod = load_fixture_module()
    fixture = os.path.join(WORK, "users100.json")
    with open(fixture, "w") as f:
        json.dump(mod.build(USERS, "gw-test", "7"), f)
    print(f"stand-in: {USERS} users, prehashing verifiers at m=19456 KiB t=2 p=1 ...", flush=True)
    t0 = time.monotonic()
    standin = Standin(fixture)
    print(f"stand-in ready in {time.monotonic() - t0:.1f} s", flush=True)
    printer = Printer9100()
    creds = os.path.join(WORK, "creds")
    with open(creds, "w") as f:
        f.write("client_id: gw-test\nclient_secret: gw-test-secret\n")
    os.chmod(creds, 0o600)
    keys = []
    term_lines = []
    for i in range(4):
        path = os.path.join(WORK, f"b{i}.key")
        key = secrets.token_hex(24)
        with open(path, "w") as f:
            f.write(key + "\n")
        os.chmod(path, 0o600)
        keys.append(key)
        term_lines.append(f"  b{i}: {{key_file: {path}}}")
    terms = "\n".join(term_lines)
    config = os.path.join(WORK, "printgate.yaml")
    with open(config, "w") as f:
        f.write(f"""\
state_dir: {WORK}/state
listen:
  raw: [{{address: 127.0.0.1:0, queue: held}}]
  release: 127.0.0.1:0
upstream:
  url: {standin.url}
  credentials_file: {creds}
  ca_file: {standin.ca}
  gateway_id: gw-test
  hold_down: 1s
offline_login:
  sync_interval: 0
terminals:
{terms}
printers:
  p9100: {{uri: "socket://127.0.0.1:{printer.port}", terminals: [b0, b1, b2, b3]}}
queues:
  held: {{printer: p9100}}
peer_owners:
  127.0.0.1/32: user0001
log:
  level: warning
limits:
  shutdown_timeout: 5s
""")
    err = open(os.path.join(WORK, "printgated.log"), "w")
    pgd = subprocess.Popen([PGD, "--config", config, "--log-target", "stderr"], stdout=err, stderr=err)

    def status():
        r = ctl(config, "status", "--json")
        return json.loads(r.stdout) if r.returncode == 0 else None
    try:
        wait_for(lambda: pgd.poll() is None and status() is not None, 60, "printgated")
        st = status()
        port = [l for l in st["listeners"] if l["protocol"] == "release"][0]["port"]
        raw_port = [l for l in st["listeners"] if l["protocol"] == "raw"][0]["port"]
        wait_for(lambda: status()["upstream"]["state"] == "online", 60, "upstream online")
        r = ctl(config, "users", "sync")
        print("sync:", r.stdout.strip().splitlines()[-1] if r.stdout.strip() else r.stderr.strip(), flush=True)
        users = list(range(1, USERS + 1))

        standin.fault(mode="down")
        wait_for(lambda: status()["upstream"]["state"] == "offline", 60, "upstream offline")
        for method in ("pin", "card", "password"):
            for conc in (1, 2):
                lat, errors, where = run_logins(port, keys, method, conc, users * PASSES, mod, True)
                report(f"offline {method:8s} c={conc}", lat, errors, target_ms=250, where=where)
        # The burst: 100 threads, connected first, released together.
        barrier = threading.Barrier(USERS)
        lat, errors = [], []
        lock = threading.Lock()

        def one(n):
            api = Api(port, keys[n % len(keys)])
            api.connect()
            barrier.wait(timeout=120)
            t = time.monotonic()
            s, got = api.call("POST", "/api/v1/sessions", login_body("pin", n, mod))
            with lock:
                (lat if s == 201 else errors).append(time.monotonic() - t if s == 201 else (n, s, got))
        t0 = time.monotonic()
        threads = [threading.Thread(target=one, args=(n,)) for n in users]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        wall = time.monotonic() - t0
        print(f"burst of {USERS} concurrent offline PIN logins: {len(lat)} ok, {len(errors)} refused/failed, "
              f"slowest {max(lat) if lat else float('nan'):.2f} s, all done in {wall:.2f} s (target: all within 15 s: "
              f"{'meets' if lat and len(lat) == USERS and max(lat) < 15 else 'BELOW'})", flush=True)

        standin.fault(mode="none")
        wait_for(lambda: status()["upstream"]["state"] == "online", 120, "upstream online again")
        for method in ("pin", "card", "password"):
            for conc in (1, 2):
                lat, errors, where = run_logins(port, keys, method, conc, users, mod, False)
                report(f"online  {method:8s} c={conc}", lat, errors, where=where)

        # Release to first byte.
        api = Api(port, keys[0])
        s, got = api.call("POST", "/api/v1/sessions", login_body("pin", 1, mod))
        assert s == 201, got
        session = got["session"]
        rtfb, from_sent = [], []
        for i in range(ROUNDS):
            with socket.create_connection(("127.0.0.1", raw_port), timeout=30) as c:
                c.sendall(b"%!PS\n% release to first byte\nshowpage\n" + os.urandom(4096))
                c.shutdown(socket.SHUT_WR)
                while c.recv(4096):
                    pass
            s, listing = api.call("GET", "/api/v1/jobs", session=session)
            job = max(j["id"] for j in listing["jobs"])
            seen = len(printer.first_bytes)
            sent = time.monotonic()
            s, got = api.call("POST", "/api/v1/jobs/release", {"jobs": [job], "printer": "p9100"}, session=session)
            answered = time.monotonic()
            assert s == 200 and got["results"][0]["status"] == "released", got
            with printer.cv:
                printer.cv.wait_for(lambda: len(printer.first_bytes) > seen, timeout=30)
            if len(printer.first_bytes) > seen:
                rtfb.append(printer.first_bytes[seen] - answered)
                from_sent.append(printer.first_bytes[seen] - sent)
        if rtfb:
            ms = [x * 1000 for x in rtfb]
            print(f"release to first byte (9100): n={len(ms)} p50={percentile(ms, 50):.1f} ms "
                  f"p99={percentile(ms, 99):.1f} ms max={max(ms):.1f} ms (from the answer; negative = the byte "
                  f"came first)", flush=True)
            ms = [x * 1000 for x in from_sent]
            print(f"release request sent to first byte (9100): p50={percentile(ms, 50):.1f} ms "
                  f"p99={percentile(ms, 99):.1f} ms max={max(ms):.1f} ms", flush=True)
    finally:
        pgd.send_signal(signal.SIGTERM)
        try:
            pgd.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pgd.kill()
            pgd.wait()
        standin.fault(mode="none")
        standin.stop()


if __name__ == "__main__":
    sys.exit(main())
