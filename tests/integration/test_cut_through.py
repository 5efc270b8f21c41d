# SPDX-License-Identifier: Apache-2.0
"""Cut-through forwarding (docs/job-states.md, "Cut-through"): a raw 9100 job of a server
queue goes to the stand-in's ippeveprinter queue while it arrives. It arrives byte-exact
with its owner (peer_owners; ippeveprinter refuses a stream that starts with PJL, whose
format it cannot detect, so these raw jobs have no title); a SIGKILL mid-transfer leaves
no job here and only an aborted job at the queue (never a completed truncated one); a kill
after the commit leaves a job in doubt that reconciliation settles, never lost; a server
queue that refuses connections, or upstream.cut_through: false, gives the store-and-forward
path of before."""
import os
import re
import socket

import pytest

from conftest import Daemon, free_port, send_raw, wait_until
from test_forwarding import ipptool, sha, wait_state
from test_upstream import HERE, big_pdf, config, documents, health, healthy, port, standin  # noqa: F401 (fixtures)

MIB = 1 << 20
CHUNK = 4 * MIB  # IppClient's chunk limit


def server_states(s):
    """{job-id: job-state} of every job of the server queue (ippeveprinter lists finished
    ones for a minute), from Get-Jobs which-jobs=all."""
    out = ipptool(s.lines["queue"], os.path.join(HERE, "ipp", "pg-get-all-jobs.test"), "-v")

    def values(attr):
        return [l.split(" = ", 1)[1] for l in out.splitlines() if l.strip().startswith(attr + " (")]
    return dict(zip((int(i) for i in values("job-id")), values("job-state")))


def events(d, job_id, event):
    return [l for l in d.log_text().splitlines() if f"EVENT={event}" in l and f"JOB_ID={job_id} " in l]


def server_queue(standin, scheme):
    """The stand-in's queue over ipp:// or ipps:// (ippeveprinter answers TLS on the same port)."""
    return standin.lines["queue"].replace("ipp://", scheme + "://", 1)


@pytest.mark.parametrize("scheme", ["ipp", "ipps"])
def test_cut_through_arrives_byte_exact_with_its_owner(tmp_root, standin, docs, scheme):
    d = Daemon(tmp_root, config(standin, server_queue=server_queue(standin, scheme))).start()
    body = big_pdf(docs, "ct", 40 * MIB)
    before = server_states(standin)
    assert send_raw(port(d, "raw"), body)
    job = max(j["id"] for j in d.jobs())
    try:
        wait_state(d, job, "completed")
    except TimeoutError:
        print(d.log_text()[-6000:])
        raise
    wait_until(lambda: [x for x in documents(standin) if x["sha256"] == sha(body)], what="the document printed")
    kept = [x for x in documents(standin) if x["sha256"] == sha(body)]
    assert len(kept) == 1 and kept[0]["user"] == "dave", kept
    new = {i: st for i, st in server_states(standin).items() if i not in before}
    assert list(new.values()) == ["completed"], new
    forwarded = events(d, job, "job_forwarded")
    assert len(forwarded) == 1 and "forwarded cut-through" in forwarded[0], forwarded
    assert not events(d, job, "cut_through_abandoned")
    assert not events(d, job, "destination_unavailable")
    d.stop()


def test_cut_through_off_is_store_and_forward(tmp_root, standin, docs):
    d = Daemon(tmp_root, config(standin, upstream_extra="  cut_through: false\n")).start()
    body = big_pdf(docs, "off", 2 * MIB)
    assert send_raw(port(d, "raw"), body)
    job = max(j["id"] for j in d.jobs())
    wait_state(d, job, "completed")
    wait_until(lambda: [x for x in documents(standin) if x["sha256"] == sha(body)], what="the document printed")
    assert not events(d, job, "job_forwarded")
    assert "cut-through" not in d.log_text()
    d.stop()


def test_server_queue_refusing_falls_back_to_store_and_forward(tmp_root, standin, docs):
    """The server queue refuses connections (the API answers, so the monitor is online):
    the cut-through is abandoned, the client gets its clean close, and the job waits here
    for the forwarder as before."""
    dead = f"ipp://127.0.0.1:{free_port()}/ipp/print/nowhere"
    d = Daemon(tmp_root, config(standin, server_queue=dead)).start()
    body = big_pdf(docs, "refused", 3 * MIB)
    assert send_raw(port(d, "raw"), body)
    job = max(j["id"] for j in d.jobs())
    abandoned = events(d, job, "cut_through_abandoned")
    assert len(abandoned) == 1, abandoned
    wait_until(lambda: events(d, job, "destination_unavailable"), what="the forwarder tried the job")
    state = next(j for j in d.jobs() if j["id"] == job)["state"]
    assert state in ("pending", "pending-held", "processing"), state
    assert health(d)["upstream"]["forward_failures"] >= 1
    assert d.cat(job).stdout == body
    d.stop()


@pytest.mark.parametrize("scheme", ["ipp", "ipps"])
def test_sigkill_mid_cut_through_leaves_no_job_and_an_aborted_copy(tmp_root, standin, docs, scheme):
    """The client sends part of a job and waits; printgated is killed with SIGKILL while
    those bytes are at the server queue: before the first chunk was announced, inside the
    first chunk, and inside later ones (after one and two chunk boundaries). After the
    restart there is no job here, the client never saw a clean close, and the queue has
    no new completed job, only aborted ones (or none). Over ipps the cut also ends a TLS
    stream without its close_notify."""
    spool = os.path.join(standin.state, "ippeveprinter", "spool")
    d = Daemon(tmp_root, config(standin, server_queue=server_queue(standin, scheme)))
    for round_no, sent in enumerate([MIB, 2 * CHUNK - MIB, 2 * CHUNK + MIB, 3 * CHUNK + MIB, 4 * CHUNK - 1]):
        d.start()
        body = big_pdf(docs, f"kill{round_no}", 24 * MIB)
        before = set(os.listdir(spool))
        jobs_before = server_states(standin)
        docs_before = len(documents(standin))
        s = socket.create_connection(("127.0.0.1", port(d, "raw")), timeout=60)
        try:
            s.sendall(body[:sent])
            # What reaches the server before the end: every full chunk in hand but its last byte.
            expect = (sent // CHUNK) * CHUNK - 64 * 1024

            def arrived():
                total = 0
                for name in set(os.listdir(spool)) - before:
                    try:
                        total += os.path.getsize(os.path.join(spool, name))
                    except FileNotFoundError:
                        pass
                return total >= expect

            if expect > 0:
                wait_until(arrived, timeout=60, what=f"{expect} bytes at the server queue")
            else:
                wait_until(lambda: re.search(r"EVENT=job_forwarding .*cut-through", d.log_text()),
                           what="the cut-through started")
            d.kill9()
            try:
                s.sendall(body[sent:])
                s.shutdown(socket.SHUT_WR)
                clean = s.recv(1) == b""  # the close that would say "accepted"
            except OSError:
                clean = False
            assert not clean
        finally:
            s.close()

        def new_states():
            return [st for i, st in server_states(standin).items() if i not in jobs_before]

        wait_until(lambda: all(st in ("completed", "aborted", "canceled") for st in new_states()), timeout=60,
                   what="the cut job settled at the server queue")
        states = new_states()
        print(f"round {round_no}: {sent} bytes sent, the queue has {states}")
        assert "completed" not in states, states
        assert len(documents(standin)) == docs_before
    d.start()
    assert d.jobs() == []
    d.stop()


def test_kill_after_commit_leaves_a_job_in_doubt_that_is_reconciled(tmp_root, standin, docs):
    """PG_FAULT_INJECT=die_after_ack: printgated dies once the server queue acknowledged
    the cut-through job, before recording it. The job was committed first (processing, in
    doubt): after the restart reconciliation finds it at the server queue by the name it
    was sent with (an untitled job's names this gateway and the job), so it is not sent
    again: one copy there, none lost."""
    d = Daemon(tmp_root, config(standin))
    d.start(env_extra={"PG_FAULT_INJECT": "die_after_ack"})
    body = big_pdf(docs, "ack", 6 * MIB)
    # printgated dies after the commit, before it closes towards the client: the kernel's
    # close is clean (the job is safe here), so the client does not send it again.
    assert send_raw(port(d, "raw"), body)
    d.proc.wait(timeout=60)
    d.kill9()
    d.start()
    [job] = d.jobs()
    assert job["state"] in ("processing", "pending", "completed"), job
    wait_state(d, job["id"], "completed")
    log = d.log_text()
    assert re.search(rf"EVENT=job_committed JOB_ID={job['id']} .*state processing", log)
    assert re.search(rf"EVENT=job_reconciled .*job {job['id']} .*not sent again", log), log
    assert "sending it again" not in log
    assert d.stop() == 0
    wait_until(lambda: len([x for x in documents(standin) if x["sha256"] == sha(body)]) >= 1,
               what="the copy at the server queue")
    assert len([x for x in documents(standin) if x["sha256"] == sha(body)]) == 1


def test_stalled_server_queue_abandons_and_the_client_sees_nothing(tmp_root, standin, docs):
    """The server queue accepts the connection and never reads: the buffer fills, the
    cut-through is abandoned after its 2 s stall limit, and the client's job is stored
    and acknowledged as usual."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    try:
        uri = f"ipp://127.0.0.1:{silent.getsockname()[1]}/ipp/print/silent"
        d = Daemon(tmp_root, config(standin, server_queue=uri)).start()
        body = big_pdf(docs, "stall", 24 * MIB)
        assert send_raw(port(d, "raw"), body, timeout=30)
        job = max(j["id"] for j in d.jobs())
        abandoned = events(d, job, "cut_through_abandoned")
        assert len(abandoned) == 1, abandoned
        assert "took no data" in abandoned[0] or "timed out" in abandoned[0], abandoned
        assert d.cat(job).stdout == body
        d.stop()
    finally:
        silent.close()


def test_shutdown_mid_cut_through_resets_the_server_side(tmp_root, standin, docs):
    """SIGTERM while a client is mid-job: after limits.shutdown_timeout the connection is
    aborted, the job is discarded, the server queue's job is aborted (its body was cut
    inside a chunk), and printgated exits 0."""
    spool = os.path.join(standin.state, "ippeveprinter", "spool")
    d = Daemon(tmp_root, config(standin)).start()
    before = server_states(standin)
    files = set(os.listdir(spool))
    body = big_pdf(docs, "term", 24 * MIB)
    s = socket.create_connection(("127.0.0.1", port(d, "raw")), timeout=60)
    try:
        s.sendall(body[:2 * CHUNK + MIB])
        wait_until(lambda: any(os.path.getsize(os.path.join(spool, n)) > 0 for n in set(os.listdir(spool)) - files),
                   timeout=60, what="bytes at the server queue")
        assert d.stop(timeout=30) == 0
        try:
            s.sendall(body[2 * CHUNK + MIB:])
            s.shutdown(socket.SHUT_WR)
            clean = s.recv(1) == b""
        except OSError:
            clean = False
        assert not clean
    finally:
        s.close()
    wait_until(lambda: all(st in ("aborted", "canceled", "completed")
                           for i, st in server_states(standin).items() if i not in before),
               what="the server queue's job settled")
    states = [st for i, st in server_states(standin).items() if i not in before]
    assert states == ["aborted"], states
    d.start()
    assert d.jobs() == []
    d.stop()
