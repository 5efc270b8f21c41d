# SPDX-License-Identifier: Apache-2.0
"""Integration harness: starts the real printgated in a temp root on loopback
ephemeral ports, waits for READY=1 on a NOTIFY_SOCKET we own (no sleeps), and
gives tests helpers to drive it with real clients."""
import glob
import json
import os
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


@pytest.fixture(autouse=True)
def reap_daemons():
    """A failing test must not leave its printgated running: kill what it started."""
    yield
    while _STARTED:
        proc = _STARTED.pop()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


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
    return d
