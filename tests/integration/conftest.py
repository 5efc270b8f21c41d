# SPDX-License-Identifier: Apache-2.0
"""Integration harness: starts the real printgated in a temp root on loopback
ephemeral ports, waits for READY=1 on a NOTIFY_SOCKET we own (no sleeps), and
gives tests helpers to drive it with real clients."""
import errno
import glob
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

BUILD = os.environ.get("PG_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
SOURCE = os.environ.get("PG_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
PRINTGATED = os.path.join(BUILD, "printgated")
PRINTGATECTL = os.path.join(BUILD, "printgatectl")

DEFAULT_CONFIG = """\
state_dir: state
listen:
  raw: 127.0.0.1:0
queues:
  default: {}
log:
  level: debug
limits:
  shutdown_timeout: 5s
"""


class Notify:
    """A NOTIFY_SOCKET for sd_notify messages from the daemon."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.messages = []

    def wait_for(self, key, timeout=30.0, proc=None):
        deadline = time.monotonic() + timeout
        while True:
            for m in self.messages:
                if key in m:
                    self.messages.remove(m)
                    return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {key!r} from printgated within {timeout}s")
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"printgated exited with {proc.returncode} before {key!r}")
            r, _, _ = select.select([self.sock], [], [], min(left, 0.2))
            if r:
                data = self.sock.recv(65536).decode()
                self.messages.extend(data.split("\n"))

    def close(self):
        self.sock.close()


_STARTED = []  # every printgated a test started, so teardown can reap it


class Daemon:
    def __init__(self, root, config_text=DEFAULT_CONFIG, state="state"):
        self.root = root
        self.config = os.path.join(root, "printgate.yaml")
        self.state = os.path.join(root, state)
        with open(self.config, "w") as f:
            f.write(config_text)
        self.proc = None
        self.notify = None
        self.stderr_path = os.path.join(root, "printgated.log")
        self.extra_args = []
        self.stderr = None

    def start(self, *args, env_extra=None, wait=True):
        if self.notify:
            self.notify.close()
        npath = os.path.join(self.root, f"notify-{time.monotonic_ns()}.sock")
        self.notify = Notify(npath)
        env = dict(os.environ)
        env["NOTIFY_SOCKET"] = npath
        env.pop("JOURNAL_STREAM", None)
        if env_extra:
            env.update(env_extra)
        self.stderr = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(
            [PRINTGATED, "--config", self.config, "--log-target", "stderr", *self.extra_args, *args],
            stdout=self.stderr, stderr=self.stderr, env=env)
        _STARTED.append(self.proc)
        if wait:
            self.notify.wait_for("READY=1", proc=self.proc)
        return self

    def ctl(self, *args, check=True, binary=False, timeout=120):
        r = subprocess.run([PRINTGATECTL, "--config", self.config, *args],
                           capture_output=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"printgatectl {args} failed ({r.returncode}): {r.stderr.decode()}")
        return r if binary else subprocess.CompletedProcess(
            r.args, r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace"))

    def status(self):
        return json.loads(self.ctl("status", "--json").stdout)

    def jobs(self):
        return json.loads(self.ctl("jobs", "--json").stdout)

    def cat(self, job_id):
        return self.ctl("cat", str(job_id), binary=True, check=False)

    def raw_port(self, index=0):
        return [l for l in self.status()["listeners"] if l["protocol"] == "raw"][index]["port"]

    def log_text(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        rc = self.proc.returncode if self.proc else None
        if self.stderr:
            self.stderr.close()
            self.stderr = None
        return rc

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.stderr.close()
        self.stderr = None


def send_raw(port, data, half_close=True, timeout=60.0):
    """Sends one raw job. With half_close, waits for the server's close and
    returns True when it was a clean close (job accepted), False on a reset."""
    s = None
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        view = memoryview(data)
        while view:
            n = s.send(view[:1 << 20])
            view = view[n:]
        if not half_close:
            return None
        s.shutdown(socket.SHUT_WR)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return False
    except OSError as e:
        # The reset can land before our half-close: shutdown() then says ENOTCONN.
        if e.errno == errno.ENOTCONN:
            return False
        raise
    finally:
        if s is not None:
            s.close()


def wait_until(predicate, timeout=30.0, what="condition"):
    """Polls `predicate` (a readiness check, not a fixed sleep) until true."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.02)


def assert_no_secret(text, secrets):
    """Fails if any secret shows up in `text` as a token of its own.

    A PIN such as 6060 may legitimately be part of a port number (127.0.0.1:60606), so a
    secret that starts (ends) with a letter or digit counts only when no letter or digit
    touches it on that side: `PIN=6060`, `"6060"` or `6060 ` all count. A marker such as
    `$argon2id$` or `pg_session=` has no such edge and is matched as it stands. Hex card
    numbers are matched in either case.
    """
    for secret in secrets:
        pattern = re.escape(secret)
        if secret[:1].isalnum():
            pattern = r"(?<![0-9A-Za-z])" + pattern
        if secret[-1:].isalnum():
            pattern += r"(?![0-9A-Za-z])"
        hit = re.search(pattern, text, re.IGNORECASE)
        assert hit is None, f"secret {secret!r} in: {text[max(0, hit.start() - 80):hit.end() + 80]!r}"


RIG = os.path.join(os.path.dirname(__file__), "rig")


def free_port():
    """A loopback TCP port nobody listens on right now (for peers that need one up front)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


class TestPrinter:
    """A real IPP Everywhere printer: ippeveprinter on loopback with a private D-Bus
    system bus. It keeps every document it prints, with the job's IPP_* environment,
    in `sink` (rig/printer-sink.sh) and reports PDF pages as impressions. Without
    `sink` it simulates printing (about 9 s per page) and keeps its spool files."""
    __test__ = False

    DEFAULT_FORMATS = "application/pdf,image/jpeg,image/pwg-raster,application/postscript,text/plain"

    def __init__(self, root, name="printer", sink=True, port=None, formats=DEFAULT_FORMATS):
        self.dir = os.path.join(root, name)
        os.makedirs(self.dir, exist_ok=True)
        self.spool = os.path.join(self.dir, "spool")
        self.sink_dir = os.path.join(self.dir, "sink")
        os.makedirs(self.spool, exist_ok=True)
        self.sink = sink
        self.port = port or free_port()
        self.bus = os.path.join(self.dir, "bus.sock")
        self.dbus = None
        self.proc = None
        self.log = os.path.join(self.dir, "ippeveprinter.log")
        self.formats = formats  # ippeveprinter -f: what it accepts

    @property
    def uri(self):
        return f"ipp://127.0.0.1:{self.port}/ipp/print"

    @property
    def ipps_uri(self):
        return f"ipps://127.0.0.1:{self.port}/ipp/print"

    def start(self):
        if self.dbus is None or self.dbus.poll() is not None:
            if os.path.exists(self.bus):
                os.unlink(self.bus)
            self.dbus = subprocess.Popen(
                ["dbus-daemon", "--config-file=" + os.path.join(RIG, "dbus-system.conf"),
                 "--address=unix:path=" + self.bus, "--nofork", "--nopidfile"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _PEERS.append(self.dbus)
            wait_until(lambda: os.path.exists(self.bus), what="the private D-Bus socket")
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS="unix:path=" + self.bus, SINK_DIR=self.sink_dir)
        args = ["ippeveprinter", "-n", "localhost", "-p", str(self.port), "-r", "off", "-d", self.spool, "-k",
                "-f", self.formats]
        if self.sink:
            args += ["-c", os.path.join(RIG, "printer-sink.sh")]
        args.append("PG Test Printer")
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=log, env=env)
        _PEERS.append(self.proc)
        wait_until(lambda: port_open(self.port) or self.proc.poll() is not None, what="ippeveprinter to listen")
        assert self.proc.poll() is None, open(self.log).read()
        return self

    def stop(self):
        for p in (self.proc, self.dbus):
            if p is not None and p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.proc = None
        self.dbus = None

    def kept(self):
        """[(document bytes, {IPP_* variable: value})] in the order printed."""
        out = []
        if not os.path.isdir(self.sink_dir):
            return out
        for env_file in sorted(glob.glob(os.path.join(self.sink_dir, "*.env"))):
            with open(env_file[:-4] + ".doc", "rb") as f:
                doc = f.read()
            env = {}
            with open(env_file) as f:
                for line in f:
                    k, _, v = line.rstrip("\n").partition("=")
                    env[k] = v
            out.append((doc, env))
        return out

    def spooled(self):
        """Documents ippeveprinter received (its -k spool), whatever the sink did."""
        return sorted(f for f in os.listdir(self.spool) if not f.startswith("."))


class PrivateCupsd:
    """A cupsd of the test's own (rig/cupsd.conf.in), for CUPS as printgate's client:
    queues made with lpadmin, jobs sent with lp, all with CUPS_SERVER pointing at it."""
    __test__ = False

    def __init__(self, root):
        self.root = os.path.join(root, "cups")
        for sub in ("etc", "spool/tmp", "cache", "run", "log"):
            os.makedirs(os.path.join(self.root, sub), exist_ok=True)
        # cupsd's filters and backends run as lp.
        for d in (root, self.root, os.path.join(self.root, "spool"), os.path.join(self.root, "spool/tmp")):
            os.chmod(d, 0o755 if d != os.path.join(self.root, "spool/tmp") else 0o1777)
        self.port = free_port()
        for name in ("cupsd.conf", "cups-files.conf"):
            with open(os.path.join(RIG, name + ".in")) as f:
                text = f.read().replace("@ROOT@", self.root).replace("@PORT@", str(self.port))
            with open(os.path.join(self.root, "etc", name), "w") as f:
                f.write(text)
        self.env = dict(os.environ, CUPS_SERVER=f"127.0.0.1:{self.port}")
        self.proc = None

    def start(self):
        etc = os.path.join(self.root, "etc")
        self.proc = subprocess.Popen(["cupsd", "-f", "-c", os.path.join(etc, "cupsd.conf"),
                                      "-s", os.path.join(etc, "cups-files.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _PEERS.append(self.proc)

        def running():
            assert self.proc.poll() is None, self.error_log()
            r = subprocess.run(["lpstat", "-r"], env=self.env, capture_output=True, text=True, timeout=30)
            return "is running" in r.stdout
        wait_until(running, what="the private cupsd")
        return self

    def run(self, *cmd, check=True):
        r = subprocess.run(list(cmd), env=self.env, capture_output=True, text=True, timeout=120)
        if check and r.returncode != 0:
            raise AssertionError(f"{cmd} failed ({r.returncode}): {r.stdout}{r.stderr}\n{self.error_log()[-4000:]}")
        return r

    def error_log(self):
        path = os.path.join(self.root, "log", "error_log")
        return open(path, errors="replace").read() if os.path.exists(path) else ""


_PEERS = []  # peer processes (printers, buses) tests started, reaped after each test


def _reap(procs, gentle):
    while procs:
        p = procs.pop()
        if p.poll() is not None:
            continue
        if gentle:
            p.terminate()
            try:
                p.wait(timeout=10)
                continue
            except subprocess.TimeoutExpired:
                pass
        p.kill()
        p.wait()


@pytest.fixture(autouse=True)
def reap_started():
    """A failing test must not leave what it started running: printgated is killed,
    peers (printers, buses) are asked to stop first."""
    yield
    _reap(_STARTED, gentle=False)
    _reap(_PEERS, gentle=True)


@pytest.fixture
def tmp_root():
    d = tempfile.mkdtemp(prefix="pg-it-")
    os.chmod(d, 0o755)
    yield d
    subprocess.run(["rm", "-rf", d])


@pytest.fixture
def daemon(tmp_root):
    d = Daemon(tmp_root)
    d.start()
    yield d
    if d.proc and d.proc.poll() is None:
        d.stop()


PS_PAGE = """%!PS-Adobe-3.0
%%BoundingBox: 0 0 595 842
%%Pages: 1
%%EndComments
%%Page: 1 1
/Helvetica findfont 24 scalefont setfont
72 742 moveto (printgate IPP test) show
showpage
%%EOF
"""


@pytest.fixture
def docs(tmp_root):
    """The documents Debian's ipptool .test files refer to, made with Ghostscript."""
    d = os.path.join(tmp_root, "docs")
    os.mkdir(d)
    for t in glob.glob("/usr/share/cups/ipptool/*.test"):
        shutil.copy(t, d)
    ps = os.path.join(d, "document-a4.ps")
    with open(ps, "w") as f:
        f.write(PS_PAGE)
    for name in ["document-letter.ps", "onepage-a4.ps", "onepage-letter.ps"]:
        shutil.copy(ps, os.path.join(d, name))
    subprocess.run(["ps2pdf", "-sPAPERSIZE=a4", ps, os.path.join(d, "document-a4.pdf")], check=True, timeout=120)
    shutil.copy(os.path.join(d, "document-a4.pdf"), os.path.join(d, "document-letter.pdf"))
    subprocess.run(["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=jpeg", "-r50",
                    "-sOutputFile=" + os.path.join(d, "color.jpg"), ps], check=True, timeout=120)
    subprocess.run(["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=jpeggray", "-r50",
                    "-sOutputFile=" + os.path.join(d, "gray.jpg"), ps], check=True, timeout=120)
    return d
