# SPDX-License-Identifier: Apache-2.0
"""The server's print queue: `ippeveprinter -k` on a loopback port, the way
tests/integration/conftest.py runs its test printers (a private D-Bus system bus from
tests/integration/rig/dbus-system.conf, DNS-SD off) and with the same sink script,
tests/integration/rig/printer-sink.sh, which keeps each document and its IPP_*
environment in STATE_DIR/queue/. Jobs forwarded "to the server" land there and can be
checked byte for byte."""
import ctypes
import glob
import hashlib
import os
import signal
import socket
import struct
import subprocess
import time
import urllib.request

RIG = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "integration", "rig"))
FORMATS = "application/pdf,image/pwg-raster,image/jpeg,application/octet-stream,text/plain"


def _die_with_parent():
    # PR_SET_PDEATHSIG: a stand-in killed with -9 does not leave its printer behind.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    except OSError:
        pass


def _free_port(host):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _get_printer_attributes(uri):
    """The IPP status code of a minimal Get-Printer-Attributes (RFC 8011 §4.2.5)."""
    def attr(tag, name, value):
        return struct.pack(">BH", tag, len(name)) + name + struct.pack(">H", len(value)) + value
    body = (struct.pack(">BBHI", 2, 0, 0x000B, 1) + b"\x01"
            + attr(0x47, b"attributes-charset", b"utf-8")
            + attr(0x48, b"attributes-natural-language", b"en")
            + attr(0x45, b"printer-uri", uri.encode()) + b"\x03")
    req = urllib.request.Request(uri.replace("ipp://", "http://", 1), data=body,
                                 headers={"Content-Type": "application/ipp"})
    with urllib.request.urlopen(req, timeout=2) as r:
        return struct.unpack(">H", r.read(4)[2:4])[0]


class Queue:
    NAME = "MyQ Standin Queue"

    def __init__(self, state_dir, host="127.0.0.1", name="localhost", tls=None):
        # host: the IPv4 address of the queue's URI; name: what ippeveprinter listens on
        # (-n), which must resolve to host and to an IPv6 address (ippeveprinter opens an
        # IPv6 listener too). Other than 127.0.0.1/localhost only for a stand-in in a
        # network namespace of its own (bench/standin_env.sh's WAN_RATE).
        self.host = host
        self.name = name
        # tls: {"cert", "key"} PEM paths: ippeveprinter answers TLS (ipps:// on the same
        # port) with them instead of a certificate it makes itself, so a client that
        # verifies against the stand-in's CA (upstream.ca_file) accepts the queue.
        self.tls = tls
        self.dir = os.path.join(state_dir, "ippeveprinter")
        self.sink = os.path.join(state_dir, "queue")
        self.spool = os.path.join(self.dir, "spool")
        for d in (self.dir, self.sink, self.spool):
            os.makedirs(d, exist_ok=True)
        self.port = None
        self.procs = []
        self.hidden = set()

    @property
    def uri(self):
        return f"ipp://{self.host}:{self.port}/ipp/print"

    def start(self, timeout=30.0):
        bus = os.path.join(self.dir, "bus.sock")
        if os.path.exists(bus):
            os.unlink(bus)
        log = open(os.path.join(self.dir, "ippeveprinter.log"), "ab")
        dbus = subprocess.Popen(
            ["dbus-daemon", "--config-file=" + os.path.join(RIG, "dbus-system.conf"),
             "--address=unix:path=" + bus, "--nofork", "--nopidfile"],
            stdout=subprocess.DEVNULL, stderr=log, preexec_fn=_die_with_parent)
        self.procs.append(dbus)
        deadline = time.monotonic() + timeout
        while not os.path.exists(bus):
            if dbus.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the private D-Bus for ippeveprinter did not start")
            time.sleep(0.02)
        self.port = _free_port(self.host)
        keys = []
        if self.tls:
            # ippeveprinter -K DIR looks for DIR/NAME.crt and DIR/NAME.key (NAME: its -n).
            kdir = os.path.join(self.dir, "keys")
            os.makedirs(kdir, mode=0o700, exist_ok=True)
            os.chmod(kdir, 0o700)  # a reused state dir keeps whatever mode it had
            for src, ext in ((self.tls["cert"], ".crt"), (self.tls["key"], ".key")):
                with open(src, "rb") as f:
                    data = f.read()
                dst = os.path.join(kdir, self.name + ext)
                with open(os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
                    os.fchmod(f.fileno(), 0o600)
                    f.write(data)
            keys = ["-K", kdir]
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS="unix:path=" + bus, SINK_DIR=self.sink)
        proc = subprocess.Popen(
            ["ippeveprinter", "-k", "-n", self.name, *keys, "-p", str(self.port), "-r", "off", "-d", self.spool,
             "-f", FORMATS, "-c", os.path.join(RIG, "printer-sink.sh"), self.NAME],
            stdout=log, stderr=log, env=env, preexec_fn=_die_with_parent)
        self.procs.append(proc)
        while True:  # ready = it answers IPP, not merely listens
            if proc.poll() is not None:
                raise RuntimeError(f"ippeveprinter exited with {proc.returncode}; see {log.name}")
            try:
                if _get_printer_attributes(self.uri) == 0:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("ippeveprinter did not answer IPP in time")
            time.sleep(0.05)
        log.close()

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for p in reversed(self.procs):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs = []

    def documents(self):
        """What the queue printed: [{name, user, title, format, sha256, size}]."""
        out = []
        for env_file in sorted(glob.glob(os.path.join(self.sink, "*.env"))):
            doc = env_file[:-4] + ".doc"
            name = os.path.basename(doc)
            if name in self.hidden or not os.path.exists(doc):
                continue
            env = {}
            with open(env_file, errors="replace") as f:
                for line in f:
                    k, _, v = line.rstrip("\n").partition("=")
                    env[k] = v
            h = hashlib.sha256()
            with open(doc, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            out.append({"name": name, "path": doc, "user": env.get("IPP_JOB_ORIGINATING_USER_NAME", ""),
                        "title": env.get("IPP_JOB_NAME", ""), "format": env.get("CONTENT_TYPE", ""),
                        "sha256": h.hexdigest(), "size": os.path.getsize(doc)})
        return out

    def hide_current(self):
        """reset-report: documents so far drop out of the report (the files stay)."""
        self.hidden.update(d["name"] for d in self.documents())
