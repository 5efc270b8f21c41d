# SPDX-License-Identifier: Apache-2.0
"""Reconciliation over LPD (issue #6; docs/job-states.md, "Reconciliation over LPD"):
a server queue `lpd://` to the real cups-lpd in front of a private cupsd whose queue
is stopped, so every job it takes stays listed (lpq shows only queued jobs).

The gateway is made to die right after the LPD server acknowledged the whole job
and before it recorded that (PG_FAULT_INJECT=die_after_ack). After the restart the
job must be found in cups-lpd's queue listing (exactly one NEW job with the same
owner, title and size than before the send) and not sent again; a job of the same
shape that was there before the send must never be taken for it; a job that is not
there (canceled at cupsd meanwhile) is sent again. Outcomes are read from cupsd
itself (ipptool Get-Jobs), never from the gateway alone."""
import os
import re
import subprocess

import pytest

from conftest import Daemon, PrivateCupsd, free_port, send_raw, wait_until
from test_forwarding import ipptool, queue_uri
from test_standin import Standin
from test_stream_peers import ACTIVATE, CUPS_LPD, cupsd_jobs, socket_activate
from test_upstream import config, port

HERE = os.path.dirname(os.path.abspath(__file__))
TITLE = "Lost acknowledgement over LPD"

pytestmark = [
    pytest.mark.skipif(ACTIVATE is None, reason="systemd-socket-activate (package systemd) is missing"),
    pytest.mark.skipif(not os.path.exists(CUPS_LPD), reason="cups-lpd (package cups-daemon) is missing"),
]


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    """The upstream the gateway probes (server queues forward only while it answers)."""
    s = Standin(str(tmp_path_factory.mktemp("standin"))).start()
    yield s
    s.stop()


class LpdServer:
    """cups-lpd (inetd-style) in front of a private cupsd whose queue `sink` is
    stopped: jobs are accepted and stay queued, so lpq keeps listing them."""

    def __init__(self, root):
        self.cups = PrivateCupsd(root).start()
        # Nothing listens on port 9: the queue is stopped and never prints.
        self.cups.run("lpadmin", "-p", "sink", "-E", "-v", "ipp://127.0.0.1:9/ipp/print", "-m", "raw")
        self.cups.run("cupsdisable", "sink")
        self.port = free_port()
        socket_activate(self.port, [CUPS_LPD, "-o", "document-format=application/octet-stream"],
                        env=[f"CUPS_SERVER=127.0.0.1:{self.cups.port}"])
        self.uri = f"lpd://127.0.0.1:{self.port}/sink"

    def queued(self):
        """[(job-id, job-name, owner)] of the jobs cupsd holds (not completed)."""
        return cupsd_jobs(self.cups, "sink", "get-jobs.test")

    def wait_queued(self, n):
        wait_until(lambda: len(self.queued()) == n, timeout=60, what=f"{n} job(s) queued at cupsd")
        return self.queued()


@pytest.fixture
def server(tmp_root):
    return LpdServer(tmp_root)


def document(tmp_root, tag):
    """3,000 bytes (cupsd lists them as 3072: job-k-octets x 1024)."""
    path = os.path.join(tmp_root, f"{tag}.bin")
    body = (f"printgate LPD reconciliation test {tag}\n".encode() * 100)[:3000]
    with open(path, "wb") as f:
        f.write(body)
    return path


def submit_and_die(tmp_root, standin, server, doc):
    """Starts the gateway with the fault injected, prints `doc` as alice and waits for
    the gateway to die right after the LPD server acknowledged it."""
    d = Daemon(tmp_root, config(standin, server_queue=server.uri))
    d.start(env_extra={"PG_FAULT_INJECT": "die_after_ack"})
    ipptool(queue_uri(d, "office"), os.path.join(HERE, "ipp", "pg-print-named.test"), "-d", "owner=alice",
            "-d", f"title={TITLE}", "-d", "format=application/octet-stream", doc=doc)
    d.proc.wait(timeout=120)
    assert d.proc.returncode == 137, d.log_text()[-3000:]
    d.stderr.close()
    d.stderr = None
    return d


def settle(d):
    """Restarts the gateway without the fault and waits for its one job to end."""
    d.start()
    wait_until(lambda: d.jobs() and all(j["state"] == "completed" for j in d.jobs()), timeout=120,
               what="the job to settle")
    (job,) = d.jobs()
    return job


def test_a_job_the_server_already_has_is_found_and_not_sent_again(tmp_root, standin, server):
    d = submit_and_die(tmp_root, standin, server, document(tmp_root, "found"))
    # The precondition: the server has the job the gateway did not record.
    ((remote, name, owner),) = server.wait_queued(1)
    assert (name, owner) == (TITLE, "alice")
    job = settle(d)
    assert re.search(r"EVENT=job_reconciled .*: not sent again", d.log_text())
    assert job["remote_job_id"] == f"lpq:{remote}"
    assert server.queued() == [(remote, TITLE, "alice")]
    d.stop()


def test_a_lookalike_queued_before_the_send_is_never_taken_for_the_job(tmp_root, standin, server):
    """The same owner, title and size already queued before the send (CUPS's own lpd
    backend, as another sender): after the restart the job is recognised as the NEW
    one, never as the old one, and the server holds exactly one more copy."""
    doc = document(tmp_root, "lookalike")
    env = dict(os.environ, DEVICE_URI=f"{server.uri}?reserve=none")
    r = subprocess.run(["/usr/lib/cups/backend/lpd", "7", "alice", TITLE, "1", "", doc], capture_output=True,
                       text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    ((old, _, _),) = server.wait_queued(1)

    d = submit_and_die(tmp_root, standin, server, doc)
    jobs = server.wait_queued(2)
    (new,) = [i for i, _, _ in jobs if i != old]
    job = settle(d)
    assert job["remote_job_id"] == f"lpq:{new}", job
    assert sorted(server.queued()) == [(old, TITLE, "alice"), (new, TITLE, "alice")]
    d.stop()


def test_a_job_gone_from_the_server_is_sent_again(tmp_root, standin, server):
    """The cut send's job is not in the listing any more (canceled at cupsd): nothing
    new looks like it, so it is sent again, once."""
    d = submit_and_die(tmp_root, standin, server, document(tmp_root, "gone"))
    ((first, _, _),) = server.wait_queued(1)
    server.cups.run("cancel", str(first))
    server.wait_queued(0)
    job = settle(d)
    assert re.search(r"EVENT=job_reconciled .*is not at .*: sending it again", d.log_text())
    ((again, name, owner),) = server.wait_queued(1)
    assert again != first and (name, owner) == (TITLE, "alice")
    assert job["remote_job_id"].startswith("lpd:"), job
    d.stop()


def test_an_untitled_job_the_server_already_has_is_found_by_the_name_it_was_sent_with(tmp_root, standin, server):
    """A raw 9100 job without a PJL header has no title: it goes to the LPD server
    named after this gateway and the job, and after the restart it is found in the
    listing under that name, not sent again."""
    d = Daemon(tmp_root, config(standin, server_queue=server.uri))
    d.start(env_extra={"PG_FAULT_INJECT": "die_after_ack"})
    with open(document(tmp_root, "untitled"), "rb") as f:
        send_raw(port(d, "raw"), f.read())  # the answer may not come: the gateway dies
    d.proc.wait(timeout=120)
    assert d.proc.returncode == 137, d.log_text()[-3000:]
    d.stderr.close()
    d.stderr = None
    ((remote, name, owner),) = server.wait_queued(1)
    assert owner == "dave"  # peer_owners: 127.0.0.1 is dave
    job = settle(d)
    assert name == f"untitled (printgate gw-test job {job['id']})"
    assert re.search(r"EVENT=job_reconciled .*: not sent again", d.log_text())
    assert job["remote_job_id"] == f"lpq:{remote}"
    assert server.queued() == [(remote, name, "dave")]
    d.stop()
