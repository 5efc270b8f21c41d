# SPDX-License-Identifier: Apache-2.0
"""Raw 9100 intake into the encrypted spool, read back with printgatectl."""
import hashlib
import os
import random
import signal
import socket
import sqlite3
import struct
import subprocess
import threading
import time

import pytest

from conftest import DEFAULT_CONFIG, Daemon, send_raw, wait_until

MARKER = b"PG-PLAINTEXT-MARKER-4b1d"


def test_round_trip_sizes_with_nc(daemon):
    port = daemon.raw_port()
    docs = {}
    for size in [0, 1, 65535, 65536, 65537]:
        data = os.urandom(size)
        r = subprocess.run(["nc", "-N", "127.0.0.1", str(port)], input=data, timeout=60)
        assert r.returncode == 0
        docs[size] = data
    jobs = daemon.jobs()
    assert [j["size"] for j in jobs] == [0, 1, 65535, 65536, 65537]
    for j in jobs:
        assert j["state"] == "pending-held"
        assert j["protocol"] == "raw"
        assert j["queue"] == "default"
        assert j["user"] == "127.0.0.1"
        assert j["created"].endswith("Z") and "T" in j["created"]
        out = daemon.cat(j["id"])
        assert out.returncode == 0, out.stderr
        assert out.stdout == docs[j["size"]]


def test_round_trip_100mib_with_socat(daemon, tmp_root):
    port = daemon.raw_port()
    path = os.path.join(tmp_root, "big.bin")
    h = hashlib.sha256()
    with open(path, "wb") as f:
        for _ in range(100):
            chunk = os.urandom(1 << 20)
            h.update(chunk)
            f.write(chunk)
    # Bidirectional socat half-closes after the file's EOF, then waits (-t) for
    # the gateway's close, which comes only once the job is durable.
    with open(path, "rb") as f:
        r = subprocess.run(["socat", "-t", "300", "-", f"TCP:127.0.0.1:{port}"], stdin=f, timeout=300)
    assert r.returncode == 0
    jobs = daemon.jobs()
    assert len(jobs) == 1 and jobs[0]["size"] == 100 << 20
    out = daemon.cat(jobs[0]["id"])
    assert out.returncode == 0
    assert hashlib.sha256(out.stdout).hexdigest() == h.hexdigest()


def test_no_plaintext_at_rest(daemon):
    port = daemon.raw_port()
    small = MARKER + b" small document line\n"
    big = (MARKER + b" big document line\n") * 20000
    assert send_raw(port, small)
    assert send_raw(port, big)
    daemon.stop()
    for dirpath, _, files in os.walk(daemon.state):
        for name in files:
            p = os.path.join(dirpath, name)
            if os.path.islink(p) or not os.path.isfile(p):
                continue
            with open(p, "rb") as f:
                content = f.read()
            assert MARKER not in content, f"plaintext marker found in {p}"
            assert b"big document line" not in content, p


def test_kill9_after_close_keeps_job(tmp_root):
    d = Daemon(tmp_root).start()
    data = os.urandom(300_000)
    assert send_raw(d.raw_port(), data)
    d.kill9()
    d.start()
    jobs = d.jobs()
    assert len(jobs) == 1
    assert d.cat(jobs[0]["id"]).stdout == data
    d.stop()


def _feed_until_killed(port, data, half_close, started):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        view = memoryview(data)
        first = True
        while view:
            n = s.send(view[:65536])
            view = view[n:]
            if first:
                started.set()
                first = False
        if half_close:
            s.shutdown(socket.SHUT_WR)
            while s.recv(65536):
                pass
        s.close()
    except OSError:
        pass
    finally:
        started.set()


@pytest.mark.parametrize("half_close", [False, True])
def test_kill9_mid_transfer_never_leaves_half_job(tmp_root, half_close):
    """SIGKILL printgated while a client is sending: after each restart every
    listed job is complete and byte-exact, and no partial data is left behind."""
    d = Daemon(tmp_root).start()
    rng = random.Random(1234 + half_close)
    complete = {}
    for round_no in range(50):
        port = d.raw_port()
        # A complete job first, so the spool is never trivially empty.
        ok_doc = os.urandom(rng.randint(0, 200_000))
        assert send_raw(port, ok_doc)
        complete[hashlib.sha256(ok_doc).hexdigest()] = len(ok_doc)
        partial = os.urandom(rng.randint(1, 6) << 20)
        started = threading.Event()
        t = threading.Thread(target=_feed_until_killed, args=(port, partial, half_close, started))
        t.start()
        started.wait(30)
        d.kill9()
        t.join(30)
        d.start()
        jobs = d.jobs()
        for j in jobs:
            out = d.cat(j["id"])
            assert out.returncode == 0, out.stderr
            digest = hashlib.sha256(out.stdout).hexdigest()
            if digest not in complete:
                # Only possible if the kill came after the commit: then it must be the whole document.
                assert out.stdout == partial, f"round {round_no}: job {j['id']} is a half job"
                complete[digest] = len(partial)
        files = os.listdir(os.path.join(d.state, "spool", "jobs"))
        assert all(f.endswith(".job") for f in files)
        assert len(files) <= len(jobs)
    assert len(d.jobs()) >= 50
    assert d.stop() == 0


def _flip(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x01]))


def test_tampered_segment_makes_cat_fail(daemon):
    port = daemon.raw_port()
    data = os.urandom(5 * 65536 + 1234)
    assert send_raw(port, data)
    job = daemon.jobs()[0]
    path = os.path.join(daemon.state, "spool", "jobs", f"{job['id']}.job")
    size = os.path.getsize(path)
    seg = 65536 + 16
    for offset in [0, seg - 1, 2 * seg + 100, size - 1]:
        _flip(path, offset)
        out = daemon.cat(job["id"])
        assert out.returncode != 0
        assert b"authentication" in out.stderr or b"corrupt" in out.stderr
        good = (offset // seg) * 65536
        # At most the authenticated segments before the tampered one were written;
        # nothing from it on.
        assert len(out.stdout) <= good
        assert out.stdout == data[:len(out.stdout)]
        _flip(path, offset)
        assert daemon.cat(job["id"]).stdout == data
    # Truncation at a segment boundary and extension are caught too.
    with open(path, "rb") as f:
        original = f.read()
    with open(path, "wb") as f:
        f.write(original[:4 * seg])
    assert daemon.cat(job["id"]).returncode != 0
    with open(path, "wb") as f:
        f.write(original + original[-seg:])
    assert daemon.cat(job["id"]).returncode != 0
    with open(path, "wb") as f:
        f.write(original)
    assert daemon.cat(job["id"]).stdout == data


@pytest.mark.parametrize("column", ["meta", "wrapped_key", "doc"])
def test_tampered_index_row_makes_cat_fail(daemon, column):
    port = daemon.raw_port()
    data = b"small inline job " * 10
    assert send_raw(port, data)
    job = daemon.jobs()[0]
    db = sqlite3.connect(os.path.join(daemon.state, "spool", "index.db"))
    (blob,) = db.execute(f"SELECT {column} FROM jobs WHERE id=?", (job["id"],)).fetchone()
    assert blob is not None and len(blob) > 0
    pos = len(blob) // 2
    bad = blob[:pos] + bytes([blob[pos] ^ 0x80]) + blob[pos + 1:]
    db.execute(f"UPDATE jobs SET {column}=? WHERE id=?", (bad, job["id"]))
    db.commit()
    out = daemon.cat(job["id"])
    assert out.returncode != 0
    assert out.stdout == b""
    db.execute(f"UPDATE jobs SET {column}=? WHERE id=?", (blob, job["id"]))
    db.commit()
    db.close()
    assert daemon.cat(job["id"]).stdout == data


def test_rm_shreds_job(daemon):
    port = daemon.raw_port()
    big = os.urandom(400_000)
    assert send_raw(port, big)
    assert send_raw(port, b"small")
    jobs = daemon.jobs()
    db = sqlite3.connect(os.path.join(daemon.state, "spool", "index.db"))
    keys = [db.execute("SELECT wrapped_key FROM jobs WHERE id=?", (j["id"],)).fetchone()[0] for j in jobs]
    db.close()
    for j in jobs:
        assert "removed" in daemon.ctl("rm", str(j["id"])).stdout
    assert daemon.jobs() == []
    assert os.listdir(os.path.join(daemon.state, "spool", "jobs")) == []
    for dirpath, _, files in os.walk(os.path.join(daemon.state, "spool")):
        for name in files:
            with open(os.path.join(dirpath, name), "rb") as f:
                content = f.read()
            for k in keys:
                assert k not in content, f"wrapped key survives in {name}"
    r = daemon.ctl("cat", str(jobs[0]["id"]), check=False)
    assert r.returncode == 1 and "no job" in r.stderr


def test_peer_that_drops_without_half_close_still_leaves_a_job(daemon):
    port = daemon.raw_port()
    # A peer that resets after sending (no half-close, no FIN): still a job.
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"appsocket job then reset")
    wait_until(lambda: daemon.status()["spool"]["receiving_bytes"] > 0, what="bytes received")
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    # A plain close() after the data (FIN, no shutdown first): a job too.
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"appsocket job then close")
    s.close()
    # An empty connection that resets leaves nothing.
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    wait_until(lambda: len(daemon.jobs()) == 2, what="two jobs")
    docs = sorted(daemon.cat(j["id"]).stdout for j in daemon.jobs())
    assert docs == [b"appsocket job then close", b"appsocket job then reset"]
    assert daemon.status()["connections"] <= 1  # only this status call


def test_idle_peer_ends_job(tmp_root):
    d = Daemon(tmp_root).start("--set", "limits.idle_timeout=1s")
    s = socket.create_connection(("127.0.0.1", d.raw_port()), timeout=30)
    s.sendall(b"idle client data")
    # The gateway ends the job after the idle timeout and closes: recv sees EOF.
    assert s.recv(10) == b""
    s.close()
    jobs = d.jobs()
    assert len(jobs) == 1 and d.cat(jobs[0]["id"]).stdout == b"idle client data"
    assert "EVENT=job_committed" in d.log_text()
    d.stop()


def test_job_too_large_is_refused(tmp_root):
    d = Daemon(tmp_root).start("--set", "spool.max_job_size=1MiB")
    port = d.raw_port()
    assert send_raw(port, os.urandom(3 << 20)) is False
    assert d.jobs() == []
    assert os.listdir(os.path.join(d.state, "spool", "jobs")) == []
    assert send_raw(port, b"fits")
    assert len(d.jobs()) == 1
    assert "EVENT=job_refused" in d.log_text()
    d.stop()


def test_sigterm_aborts_stalled_client_and_exits_zero(tmp_root):
    d = Daemon(tmp_root).start("--set", "limits.shutdown_timeout=1s")
    port = d.raw_port()
    assert send_raw(port, b"committed before shutdown")
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(b"stalled, never finished")
    # Wait until the daemon holds the stalled connection's bytes.
    while d.status()["spool"]["receiving_bytes"] == 0:
        pass
    d.proc.send_signal(signal.SIGTERM)
    d.notify.wait_for("STOPPING=1", proc=None)
    assert d.proc.wait(timeout=20) == 0
    with pytest.raises(ConnectionResetError):
        while s.recv(100):
            pass
    s.close()
    d.start()
    jobs = d.jobs()
    assert len(jobs) == 1
    assert d.cat(jobs[0]["id"]).stdout == b"committed before shutdown"
    d.stop()


def test_printgatectl_without_daemon(tmp_root):
    d = Daemon(tmp_root)
    r = d.ctl("jobs", check=False)
    assert r.returncode == 69
    assert "is printgated running?" in r.stderr


def test_second_daemon_on_same_state_dir_refused(daemon):
    r = subprocess.run([daemon.proc.args[0], "--config", daemon.config, "--log-target", "stderr"],
                       capture_output=True, timeout=30)
    assert r.returncode == 1
    assert b"in use by another printgated" in r.stderr
    assert daemon.status()["state"] == "running"


def test_watchdog_pings(tmp_root):
    d = Daemon(tmp_root).start(env_extra={"WATCHDOG_USEC": "200000"})
    d.notify.wait_for("WATCHDOG=1", timeout=10)
    d.notify.wait_for("WATCHDOG=1", timeout=10)
    d.stop()


def test_pjl_header_names_owner_and_title_and_bytes_stay(daemon):
    body = (b"\x1b%-12345X@PJL JOB NAME=\"Budget 2027\"\r\n@PJL SET USERNAME=\"dave\"\r\n"
            b"@PJL ENTER LANGUAGE=PDF\r\n%PDF-1.4\n" + os.urandom(70000) + b"\x1b%-12345X@PJL EOJ\r\n\x1b%-12345X")
    assert send_raw(daemon.raw_port(), body)
    plain = os.urandom(1000)
    assert send_raw(daemon.raw_port(), plain)
    jobs = sorted(daemon.jobs(), key=lambda j: j["id"])
    assert jobs[0]["user"] == "dave" and jobs[0]["name"] == "Budget 2027"
    assert daemon.cat(jobs[0]["id"]).stdout == body
    # Without PJL the owner is the peer address.
    assert jobs[1]["user"] == "127.0.0.1" and jobs[1]["name"] == ""


def test_peer_owners_name_the_owner_of_raw_jobs_without_pjl(tmp_root):
    d = Daemon(tmp_root, DEFAULT_CONFIG + "peer_owners:\n  127.0.0.0/8: frontdesk\n  127.0.0.2: kiosk\n").start()
    port = d.raw_port()
    assert send_raw(port, b"from 127.0.0.1")
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    s.connect(("127.0.0.1", port))
    s.sendall(b"from 127.0.0.2")
    s.shutdown(socket.SHUT_WR)
    assert s.recv(1) == b""
    s.close()
    owners = [j["user"] for j in sorted(d.jobs(), key=lambda j: j["id"])]
    assert owners == ["frontdesk", "kiosk"]


def test_cupsd_pjl_driver_to_9100_names_owner_and_title(tmp_root, docs):
    """A private cupsd queue with a PJL PDF driver (cups-filters' HP CM3530 PPD)
    printing with CUPS's socket backend to printgate's 9100 port: the job's owner
    and title come from the PJL header the driver writes."""
    from conftest import PrivateCupsd
    d = Daemon(tmp_root).start()
    cups = PrivateCupsd(tmp_root).start()
    ppd = "/usr/share/ppd/cupsfilters/HP-Color_LaserJet_CM3530_MFP-PDF.ppd"
    cups.run("lpadmin", "-p", "pjl", "-E", "-v", f"socket://127.0.0.1:{d.raw_port()}/?snmp=false", "-P", ppd)
    cups.run("lp", "-d", "pjl", "-U", "erin", "-t", "Board minutes", os.path.join(docs, "document-a4.pdf"))
    wait_until(lambda: len(d.jobs()) == 1 and d.jobs()[0]["user"] == "erin", timeout=120,
               what="the PJL job from cupsd")
    (job,) = d.jobs()
    assert job["name"] == "Board minutes"
    assert d.cat(job["id"]).stdout.startswith(b"\x1b%-12345X@PJL")


def _send_then_half_close(port, data, closed, outcome):
    """Sends `data`, half-closes (sets `closed`), then records how the gateway ended the
    connection: "eof" (a clean close: a 9100 client takes it for "job accepted") or "reset"."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        closed.set()
        while s.recv(65536):
            pass
        outcome.append("eof")
        s.close()
    except OSError:
        outcome.append("reset")
    finally:
        closed.set()


def _file_of_at_least(folder, size):
    for f in os.listdir(folder):
        try:
            if f.endswith(".job") and os.path.getsize(os.path.join(folder, f)) >= size:
                return True
        except FileNotFoundError:
            pass
    return False


def test_kill9_after_half_close_never_tells_the_client_a_lost_job_was_accepted(tmp_root):
    """SIGKILL printgated just after a client's half-close, while the job is being
    finished and committed: a client that saw a clean close must find its job after the
    restart. (A process death closes the socket with a reset until the commit: a FIN
    there would tell a 9100 client the job was accepted.)"""
    d = Daemon(tmp_root).start()
    outcomes = []
    for round_no in range(12):
        data = os.urandom(24 << 20)
        closed = threading.Event()
        outcome = []
        t = threading.Thread(target=_send_then_half_close, args=(d.raw_port(), data, closed, outcome))
        t.start()
        assert closed.wait(60)
        # Kill once every byte is in the job's file (the gateway is finishing and committing
        # it), or at once in every third round (the gateway may still be reading).
        jobs_dir = os.path.join(d.state, "spool", "jobs")
        deadline = time.monotonic() + 60
        while round_no % 3 and t.is_alive() and not _file_of_at_least(jobs_dir, len(data)):
            assert time.monotonic() < deadline, "the document never reached the job's file"
        d.kill9()
        t.join(60)
        assert not t.is_alive()
        d.start()
        kept = [j for j in d.jobs() if j["size"] == len(data) and d.cat(j["id"]).stdout == data]
        outcomes.append((outcome[0], len(kept)))
        if outcome[0] == "eof":
            assert len(kept) == 1, f"round {round_no}: the client saw a clean close, but the job is not in the spool"
    print("outcomes (client saw, jobs kept):", outcomes)
    assert d.stop() == 0
