# SPDX-License-Identifier: Apache-2.0
"""LPD (RFC 1179) intake: receive-job in either file order, several data files,
the until-EOF data file, abort; queue state; remove; protocol abuse answered with
a NAK or a close and nothing stored; CUPS's own lpd backend as a real client."""
import json
import os
import socket
import subprocess

import pytest

from conftest import Daemon, wait_until

CONFIG = """\
state_dir: state
listen:
  lpd: 127.0.0.1:0
queues:
  lp: {}
  other: {}
default_queue: lp
limits:
  idle_timeout: 2s
  shutdown_timeout: 5s
"""

BACKEND = "/usr/lib/cups/backend/lpd"


@pytest.fixture
def lpd(tmp_root):
    d = Daemon(tmp_root, CONFIG).start()
    d.lpd_port = [l for l in d.status()["listeners"] if l["protocol"] == "lpd"][0]["port"]
    yield d
    if d.proc.poll() is None:
        d.stop()


class Client:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)

    def send(self, data):
        self.s.sendall(data)

    def ack(self):
        b = self.s.recv(1)
        return b == b"\0"

    def command(self, data):
        self.send(data)
        return self.ack()

    def file(self, kind, name, data):
        assert self.command(b"%c%d %s\n" % (kind, len(data), name))
        self.send(data + b"\0")
        return self.ack()

    def close(self):
        self.s.close()


def control(user=b"alice", title=b"Quarterly", files=((b"l", b"dfA001h"),)):
    cf = b"Hclient\nP" + user + b"\nJ" + title + b"\n"
    for letter, name in files:
        cf += letter + name + b"\nN" + name + b".txt\n"
    return cf


def test_receive_job_control_first_then_data(lpd):
    c = Client(lpd.lpd_port)
    assert c.command(b"\x02lp\n")
    assert c.file(2, b"cfA001client", control())
    data = os.urandom(300000)
    assert c.file(3, b"dfA001h", data)
    c.close()
    (job,) = lpd.jobs()
    assert job["user"] == "alice" and job["name"] == "Quarterly" and job["protocol"] == "lpd"
    assert lpd.cat(job["id"]).stdout == data


def test_data_first_several_files_and_until_eof(lpd):
    c = Client(lpd.lpd_port)
    assert c.command(b"\x02lp\n")
    a, b = b"first file\n", b"%!PS-Adobe-3.0\nsecond\n"
    assert c.file(3, b"dfA002h", a)
    assert c.file(3, b"dfB002h", b)
    assert c.file(2, b"cfA002client", control(files=((b"f", b"dfA002h"), (b"o", b"dfB002h"))))
    c.close()
    (job,) = lpd.jobs()
    assert lpd.cat(job["id"]).stdout == a + b
    import json
    show = json.loads(lpd.ctl("show", str(job["id"]), "--json").stdout)
    assert [p["format"] for p in show["documents"]] == ["text/plain", "application/postscript"]
    # Data file of length 0: everything up to the half-close.
    c = Client(lpd.lpd_port)
    assert c.command(b"\x02lp\n")
    assert c.file(2, b"cfA003client", control(user=b"bob", files=((b"l", b"dfA003h"),)))
    assert c.command(b"\x030 dfA003h\n")
    tail = os.urandom(100000)
    c.send(tail)
    c.s.shutdown(socket.SHUT_WR)
    c.s.recv(1)
    c.close()
    wait_until(lambda: len(lpd.jobs()) == 2, what="the until-EOF job")
    job = [j for j in lpd.jobs() if j["user"] == "bob"][0]
    assert lpd.cat(job["id"]).stdout == tail


def test_abort_cut_and_stalled_transfers_leave_nothing(lpd):
    c = Client(lpd.lpd_port)
    assert c.command(b"\x02lp\n")
    assert c.file(3, b"dfA004h", b"data")
    assert c.command(b"\x01\n")  # abort
    c.close()
    # Vanishes after the data file, before the control file.
    c = Client(lpd.lpd_port)
    assert c.command(b"\x02lp\n")
    assert c.file(3, b"dfA005h", b"data")
    c.close()
    # Vanishes in the middle of a data file.
    c = Client(lpd.lpd_port)
    assert c.command(b"\x02lp\n")
    assert c.file(2, b"cfA006client", control(files=((b"l", b"dfA006h"),)))
    assert c.command(b"\x03100000 dfA006h\n")
    c.send(b"x" * 5000)
    c.close()
    # Stalls: the idle timeout (2 s here) drops it.
    c = Client(lpd.lpd_port)
    assert c.command(b"\x02lp\n")
    assert c.command(b"\x0310 dfA007h\n")
    c.send(b"abc")
    assert c.s.recv(1) in (b"", b"\x01")
    c.close()
    wait_until(lambda: "nothing kept" in lpd.log_text(), what="the refusal log lines")
    assert lpd.jobs() == []


@pytest.mark.parametrize("request_line", [
    b"\x09lp\n",                        # unknown command
    b"\x02nosuchqueue\n",               # unknown queue
])
def test_bad_commands_get_a_nak(lpd, request_line):
    c = Client(lpd.lpd_port)
    c.send(request_line)
    assert c.s.recv(1) == b"\x01"
    c.close()
    assert lpd.jobs() == []


@pytest.mark.parametrize("sub", [
    b"\x02104857600 cfA001h\n",         # a 100 MB control file
    b"\x02-5 cfA001h\n",                # negative count
    b"\x02abc cfA001h\n",               # not a number
    b"\x03 dfA001h\n",                  # no count
    b"\x02 10 ../../etc/passwd\n",      # bad name
])
def test_bad_subcommands_get_a_nak_and_the_daemon_keeps_serving(lpd, sub):
    c = Client(lpd.lpd_port)
    assert c.command(b"\x02lp\n")
    c.send(sub)
    assert c.s.recv(1) == b"\x01"
    c.close()
    assert lpd.jobs() == []
    test_receive_job_control_first_then_data(lpd)


def test_queue_state_and_remove_by_owner(lpd):
    for user in (b"alice", b"bob"):
        c = Client(lpd.lpd_port)
        assert c.command(b"\x02lp\n")
        assert c.file(2, b"cfA010client", control(user=user, title=b"Secret plan"))
        assert c.file(3, b"dfA001h", b"doc of " + user)
        c.close()
    alice, bob = sorted(lpd.jobs(), key=lambda j: j["user"])

    def ask(line):
        c = Client(lpd.lpd_port)
        c.send(line)
        out = b""
        while chunk := c.s.recv(4096):
            out += chunk
        c.close()
        return out.decode()

    short = ask(b"\x03lp\n")
    assert "alice" in short and "bob" in short and "Secret plan" not in short
    long = ask(b"\x04lp bob\n")
    assert "bob" in long and "alice" not in long
    # bob may not remove alice's job; alice may.
    c = Client(lpd.lpd_port)
    c.send(b"\x05lp bob %d\n" % alice["id"])
    c.s.recv(1)
    c.close()
    assert {j["id"]: j["state"] for j in lpd.jobs()}[alice["id"]] == "pending-held"
    c = Client(lpd.lpd_port)
    c.send(b"\x05lp alice %d\n" % alice["id"])
    c.s.recv(1)
    c.close()
    states = {j["id"]: j["state"] for j in lpd.jobs()}
    assert states[alice["id"]] == "canceled" and states[bob["id"]] == "pending-held"


@pytest.mark.skipif(not os.path.exists(BACKEND), reason="CUPS's lpd backend (package cups) is not installed")
@pytest.mark.parametrize("options", ["", "?mode=stream&reserve=none", "?order=data,control"])
def test_cups_lpd_backend_prints_with_owner_and_title(lpd, docs, options):
    pdf = os.path.join(docs, "document-a4.pdf")
    env = dict(os.environ, DEVICE_URI=f"lpd://127.0.0.1:{lpd.lpd_port}/lp{options}")
    r = subprocess.run([BACKEND, "17", "carol", "Budget 2027", "1", "", pdf], env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    # In mode=stream the backend closes without waiting for the last acknowledgement,
    # so it may exit before the commit.
    wait_until(lambda: len(lpd.jobs()) == 1, what="the job to be committed")
    (job,) = lpd.jobs()
    assert job["user"] == "carol" and job["name"] == "Budget 2027"
    with open(pdf, "rb") as f:
        assert lpd.cat(job["id"]).stdout == f.read()


SENDER = """\
state_dir: sender
listen:
  ipp: 127.0.0.1:0
queues:
  loose: {}
log:
  level: debug
limits:
  shutdown_timeout: 5s
"""

RECEIVER = """\
state_dir: receiver
listen:
  lpd: 127.0.0.1:0
  raw: 127.0.0.1:0
queues:
  lp: {}
limits:
  shutdown_timeout: 5s
"""


def ipp_print(d, pdf, owner, title):
    port = [l for l in d.status()["listeners"] if l["protocol"] == "ipp"][0]["port"]
    here = os.path.dirname(__file__)
    r = subprocess.run(["ipptool", "-t", "-f", pdf, "-d", f"owner={owner}", "-d", f"title={title}",
                        "-d", "format=application/pdf", f"ipp://127.0.0.1:{port}/ipp/print/loose",
                        os.path.join(here, "ipp", "pg-print-named.test")], capture_output=True, text=True, timeout=60)
    assert "[PASS]" in r.stdout, r.stdout + r.stderr
    return max(j["id"] for j in d.jobs())


@pytest.mark.parametrize("order", ["", "?order=data,control"])
def test_printgatectl_send_over_lpd_and_9100_with_pjl(tmp_root, docs, order):
    """printgate's LPD and 9100 clients, judged by a second printgate: LPD carries
    owner and title in the control file, 9100 in a PJL wrapper (?pjl=on)."""
    receiver = Daemon(tmp_root, RECEIVER, state="receiver")
    receiver.config = os.path.join(tmp_root, "receiver.yaml")
    with open(receiver.config, "w") as f:
        f.write(RECEIVER)
    receiver.start()
    ports = {l["protocol"]: l["port"] for l in receiver.status()["listeners"]}
    sender = Daemon(tmp_root, SENDER, state="sender").start()
    pdf = os.path.join(docs, "document-a4.pdf")
    with open(pdf, "rb") as f:
        data = f.read()
    first = ipp_print(sender, pdf, "alice", "Quarterly report")
    out = sender.ctl("send", str(first), f"lpd://127.0.0.1:{ports['lpd']}/lp{order}").stdout
    assert "completed" in out and "remote job id: lpd:" in out, out
    second = ipp_print(sender, pdf, "bob", "Minutes")
    out = sender.ctl("send", str(second), f"socket://127.0.0.1:{ports['raw']}?pjl=on").stdout
    assert "completed" in out and "remote job id: socket" in out, out
    got = sorted(receiver.jobs(), key=lambda j: j["id"])
    assert [(j["user"], j["name"], j["protocol"]) for j in got] == [
        ("alice", "Quarterly report", "lpd"), ("bob", "Minutes", "raw")]
    assert receiver.cat(got[0]["id"]).stdout == data
    wrapped = receiver.cat(got[1]["id"]).stdout
    assert wrapped.startswith(b"\x1b%-12345X@PJL JOB NAME=\"Minutes\"") and data in wrapped
    # A printer that is not there: the job waits (pending); send gives up waiting, exit 1.
    from conftest import free_port
    third = ipp_print(sender, pdf, "carol", "Nowhere")
    r = sender.ctl("send", str(third), f"lpd://127.0.0.1:{free_port()}/lp", "--timeout", "3", check=False)
    assert r.returncode == 1 and "completed" not in r.stdout, r.stdout + r.stderr
    # Between attempts it waits as pending and says why.
    wait_until(lambda: any(j["id"] == third and j["state"] == "pending" and "cannot connect" in j.get("message", "")
                           for j in sender.jobs()), what="the job to wait for its printer")


def test_9100_client_to_a_socat_sink_is_byte_exact(tmp_root, docs):
    from conftest import free_port, port_open
    port = free_port()
    sink_dir = os.path.join(tmp_root, "sink")
    os.mkdir(sink_dir)
    # One file per connection (the readiness probe makes an empty one).
    sink = subprocess.Popen(["socat", "-u", f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork",
                             f"SYSTEM:cat > {sink_dir}/$$.raw"])
    try:
        wait_until(lambda: port_open(port), what="the socat sink")
        sender = Daemon(tmp_root, SENDER, state="sender").start()
        pdf = os.path.join(docs, "document-a4.pdf")
        job_id = ipp_print(sender, pdf, "dave", "Plain")
        out = sender.ctl("send", str(job_id), f"socket://127.0.0.1:{port}").stdout
        assert "completed" in out, out
        kept = [open(os.path.join(sink_dir, n), "rb").read() for n in os.listdir(sink_dir)]
        with open(pdf, "rb") as f:
            assert [k for k in kept if k] == [f.read()]
    finally:
        if sink.poll() is None:
            sink.kill()
            sink.wait()


def test_a_thousand_connections_at_once_past_the_limit(tmp_root):
    """1,000 LPD connections opened at once against limits.max_connections: 200:
    the ones past the limit are closed at accept, the daemon keeps serving, and a
    job sent afterwards lands."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    d = Daemon(tmp_root, CONFIG.replace("  idle_timeout: 2s\n", "  idle_timeout: 30s\n  max_connections: 200\n")).start()
    port = [l for l in d.status()["listeners"] if l["protocol"] == "lpd"][0]["port"]
    socks = []
    try:
        for _ in range(1000):
            s = socket.socket()
            s.settimeout(30)
            s.connect(("127.0.0.1", port))
            socks.append(s)
        # Refused ones are closed by the daemon: a read sees EOF or a reset.
        def refused_count():
            n = 0
            for s in socks:
                s.setblocking(False)
                try:
                    if s.recv(1) == b"":
                        n += 1
                except BlockingIOError:
                    pass
                except ConnectionResetError:
                    n += 1
            return n
        wait_until(lambda: refused_count() >= 790, timeout=60, what="connections past the limit to be closed")
    finally:
        for s in socks:
            s.close()
    wait_until(lambda: d.status()["connections"] <= 1, timeout=60, what="the connections to go")
    assert "EVENT=connection_refused" in d.log_text()
    c = Client(port)
    assert c.command(b"\x02lp\n")
    assert c.file(2, b"cfA001client", control())
    assert c.file(3, b"dfA001h", b"after the storm")
    c.close()
    (job,) = d.jobs()
    assert d.cat(job["id"]).stdout == b"after the storm"


def test_admin_peers_may_remove_any_job(tmp_root):
    d = Daemon(tmp_root, CONFIG + "lpd:\n  admin_peers: [127.0.0.2]\n").start()
    port = [l for l in d.status()["listeners"] if l["protocol"] == "lpd"][0]["port"]
    c = Client(port)
    assert c.command(b"\x02lp\n")
    assert c.file(2, b"cfA001client", control(user=b"alice"))
    assert c.file(3, b"dfA001h", b"alice's")
    c.close()
    (job,) = d.jobs()

    def remove(source):
        s = socket.socket()
        s.bind((source, 0))
        s.connect(("127.0.0.1", port))
        s.sendall(b"\x05lp operator %d\n" % job["id"])
        s.recv(1)
        s.close()
    remove("127.0.0.1")  # not an admin peer: someone else's job stays
    assert d.jobs()[0]["state"] == "pending-held"
    remove("127.0.0.2")
    assert d.jobs()[0]["state"] == "canceled"
