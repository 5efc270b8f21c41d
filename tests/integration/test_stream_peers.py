# SPDX-License-Identifier: Apache-2.0
"""printgate's LPD and 9100 clients judged by the real servers, and CUPS's socket
backend judging printgate's 9100 listener (shared conformance notes §2.4, §2.5):

  printgatectl send ID lpd://...   -> cups-lpd (inetd-style) -> a private cupsd whose
                                      raw queue prints to ippeveprinter's sink: bytes,
                                      user and title in cupsd and at the printer
  printgatectl send ID socket://.. -> p910nd (inetd-style) writing into a FIFO: bytes,
                                      plain and with the PJL wrapper
  /usr/lib/cups/backend/socket     -> printgate's raw listener: bytes (the backend
                                      adds no PJL, conformance notes §3.5)

cups-lpd and p910nd both run under systemd-socket-activate --inetd -a, one process
per connection, on a random loopback port. Readiness is the port's LISTEN entry in
/proc/net/tcp, never a probe connection (that would be a job to p910nd)."""
import os
import shutil
import subprocess
import threading

import pytest

from conftest import Daemon, PrivateCupsd, TestPrinter, _PEERS, free_port, wait_until
from test_lpd import SENDER, ipp_print

CUPS_LPD = "/usr/lib/cups/daemon/cups-lpd"
SOCKET_BACKEND = "/usr/lib/cups/backend/socket"
P910ND = "/usr/sbin/p910nd"
ACTIVATE = shutil.which("systemd-socket-activate")

needs_activate = pytest.mark.skipif(ACTIVATE is None, reason="systemd-socket-activate (package systemd) is missing")


def listening(port):
    """Whether something listens on 127.0.0.1:port, from /proc/net/tcp (no connection)."""
    want = "0100007F:%04X" % port
    with open("/proc/net/tcp") as f:
        next(f)
        return any(line.split()[1] == want and line.split()[3] == "0A" for line in f)


def socket_activate(port, argv, env=()):
    """Runs argv inetd-style for each connection to 127.0.0.1:port; returns the process."""
    args = [ACTIVATE, "--inetd", "-a", "-l", f"127.0.0.1:{port}"]
    for e in env:
        args += ["-E", e]
    proc = subprocess.Popen(args + list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _PEERS.append(proc)
    wait_until(lambda: listening(port) or proc.poll() is not None, what=f"{argv[0]} on port {port}")
    assert proc.poll() is None, f"systemd-socket-activate for {argv[0]} exited with {proc.returncode}"
    return proc


def held_job(tmp_root, docs, owner, title):
    """A sender printgate (IPP intake) holding one PDF job by `owner` named `title`."""
    sender = Daemon(tmp_root, SENDER, state="sender").start()
    pdf = os.path.join(docs, "document-a4.pdf")
    with open(pdf, "rb") as f:
        data = f.read()
    return sender, ipp_print(sender, pdf, owner, title), data


def cupsd_jobs(cups, queue, test="get-completed-jobs.test"):
    """[(job-id, job-name, job-originating-user-name)] of the queue's jobs that CUPS's
    ipptool `test` lists (completed ones by default, get-jobs.test: not completed)."""
    r = cups.run("ipptool", "-tv", f"ipp://127.0.0.1:{cups.port}/printers/{queue}",
                 f"/usr/share/cups/ipptool/{test}")

    def values(attr):
        return [l.split(" = ", 1)[1] for l in r.stdout.splitlines() if l.strip().startswith(attr + " (")]
    return list(zip([int(v) for v in values("job-id")], values("job-name"), values("job-originating-user-name")))


def completed_jobs(cups, queue):
    """[(job-name, job-originating-user-name)] of the queue's completed jobs, via ipptool."""
    return [(name, user) for _, name, user in cupsd_jobs(cups, queue)]


@needs_activate
@pytest.mark.skipif(not os.path.exists(CUPS_LPD), reason="cups-lpd (package cups-daemon) is missing")
@pytest.mark.parametrize("order", ["", "?order=data,control"])
def test_send_over_lpd_to_cups_lpd_in_front_of_cupsd(tmp_root, docs, order):
    """LPD -> cups-lpd -> a private cupsd whose raw queue prints with the ipp
    backend to ippeveprinter, which keeps each document and its IPP_* attributes.
    (A raw queue on a file: device runs no filter and writes nothing in CUPS 2.4.2.)"""
    printer = TestPrinter(tmp_root).start()
    cups = PrivateCupsd(tmp_root).start()
    cups.run("lpadmin", "-p", "sink", "-E", "-v", printer.uri, "-m", "raw")
    lpd_port = free_port()
    socket_activate(lpd_port, [CUPS_LPD, "-o", "document-format=application/octet-stream"],
                    env=[f"CUPS_SERVER=127.0.0.1:{cups.port}"])

    sender, job_id, data = held_job(tmp_root, docs, "alice", "Quarterly report 2027")
    r = sender.ctl("send", str(job_id), f"lpd://127.0.0.1:{lpd_port}/sink{order}")
    assert "completed" in r.stdout and "remote job id: lpd:" in r.stdout, r.stdout + r.stderr

    # cups-lpd acknowledges before cupsd has printed: wait for cupsd to finish the job.
    wait_until(lambda: completed_jobs(cups, "sink"), timeout=120, what="the job to complete in cupsd")
    assert completed_jobs(cups, "sink") == [("Quarterly report 2027", "alice")]
    wait_until(lambda: printer.kept(), timeout=60, what="the printer to keep the document")
    ((doc, env),) = printer.kept()
    assert doc == data
    assert env["IPP_JOB_NAME"] == "Quarterly report 2027"
    assert env["IPP_JOB_ORIGINATING_USER_NAME"] == "alice"


class FifoSink:
    """Drains a FIFO that p910nd writes into: one document per open-write-close,
    kept in order. The reader thread stops after `max_docs` or on close()."""

    def __init__(self, path, max_docs=8):
        self.path = path
        os.mkfifo(path, 0o600)
        self.docs = []
        self.stopping = False
        self.max_docs = max_docs
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping and len(self.docs) < self.max_docs:
            with open(self.path, "rb") as f:  # blocks until a writer opens it
                data = f.read()
            if not self.stopping:
                self.docs.append(data)

    def close(self):
        self.stopping = True
        if self.thread.is_alive():
            # Unblocks the reader's open() when it waits for a writer.
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
                os.close(fd)
            except OSError:
                pass
        self.thread.join(timeout=10)


@needs_activate
@pytest.mark.skipif(not os.path.exists(P910ND), reason="p910nd is missing")
def test_send_over_9100_to_p910nd(tmp_root, docs):
    # p910nd exits silently without its lock folder (conformance notes §7).
    try:
        os.makedirs("/var/lock/p910nd", exist_ok=True)
    except PermissionError:
        pytest.skip("p910nd needs /var/lock/p910nd/, which this user cannot create")
    sink = FifoSink(os.path.join(tmp_root, "p910nd.fifo"))
    try:
        port = free_port()
        socket_activate(port, [P910ND, "-f", sink.path])
        sender, first, data = held_job(tmp_root, docs, "bob", "Minutes")
        r = sender.ctl("send", str(first), f"socket://127.0.0.1:{port}")
        assert "completed" in r.stdout and "the printer closed" in r.stdout, r.stdout + r.stderr
        wait_until(lambda: len(sink.docs) == 1, what="p910nd to close the FIFO")
        assert sink.docs == [data]
        # A shorter second job does not carry the first one's tail (p910nd does not
        # truncate a plain -f file; the FIFO shows exactly what it wrote).
        short = os.path.join(tmp_root, "short.txt")
        with open(short, "wb") as f:
            f.write(b"short job\n")
        port_ipp = [l for l in sender.status()["listeners"] if l["protocol"] == "ipp"][0]["port"]
        r = subprocess.run(["ipptool", "-t", "-f", short, "-d", "owner=carol", "-d", "title=Short", "-d",
                            "format=text/plain", f"ipp://127.0.0.1:{port_ipp}/ipp/print/loose",
                            os.path.join(os.path.dirname(__file__), "ipp", "pg-print-named.test")],
                           capture_output=True, text=True, timeout=60)
        assert "[PASS]" in r.stdout, r.stdout + r.stderr
        second = max(j["id"] for j in sender.jobs())
        r = sender.ctl("send", str(second), f"socket://127.0.0.1:{port}?pjl=on")
        assert "completed" in r.stdout, r.stdout + r.stderr
        wait_until(lambda: len(sink.docs) == 2, what="p910nd to close the FIFO again")
        assert sink.docs[1] == (b"\x1b%-12345X@PJL JOB NAME=\"Short\"\r\n@PJL SET USERNAME=\"carol\"\r\n"
                                b"short job\n\x1b%-12345X@PJL EOJ\r\n\x1b%-12345X")
    finally:
        sink.close()


@pytest.mark.skipif(not os.path.exists(SOCKET_BACKEND), reason="CUPS's socket backend (package cups) is missing")
@pytest.mark.parametrize("size", [1, 300_000, 5 * 1024 * 1024 + 7])
def test_cups_socket_backend_to_the_raw_port_is_byte_exact(daemon, tmp_root, size):
    doc = os.path.join(tmp_root, "doc.bin")
    data = os.urandom(size)
    with open(doc, "wb") as f:
        f.write(data)
    # As cupsd runs it: job id, user, title, copies, options, file.
    env = dict(os.environ, DEVICE_URI=f"socket://127.0.0.1:{daemon.raw_port()}/?snmp=false")
    r = subprocess.run([SOCKET_BACKEND, "1", "alice", "title", "1", "", doc], env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    # The backend waits for printgate's close, which follows the commit.
    (job,) = daemon.jobs()
    assert daemon.cat(job["id"]).stdout == data
