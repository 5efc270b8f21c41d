# SPDX-License-Identifier: Apache-2.0
"""A released job whose printer stays unreachable goes back to held (issue #7).

Two printers nobody listens on yet: `desk` (IPP, later an ippeveprinter) and `box`
(9100, later socat). With `release.printer_wait: 2s`, jobs released to them come back
to held with `held_by: printer_unreachable` and a message that says why, visible to
the owner over IPP (Get-Job-Attributes); the job queued behind the one being tried
comes back too. A direct queue's job on the same printer keeps waiting for it. Once
the printers are up, the direct job prints by itself and the held ones print when
released again: byte-exact, each once."""
import os
import subprocess

import pytest

from conftest import Daemon, TestPrinter, free_port, wait_until
from test_convert import SOCAT, socat_sink
from test_forwarding import HERE, job, print_named, queue_uri, sha, wait_state


def config(desk_port, box_port):
    return f"""\
state_dir: state
listen:
  ipp: 127.0.0.1:0
printers:
  desk: ipp://127.0.0.1:{desk_port}/ipp/print
  box: socket://127.0.0.1:{box_port}
queues:
  direct: {{mode: direct, printer: desk}}
  held: {{printer: desk}}
  held9100: {{printer: box}}
default_queue: held
release:
  printer_wait: 2s
log:
  level: debug
limits:
  shutdown_timeout: 5s
"""


def held_again(d, job_id):
    j = job(d, job_id)
    return j if j["state"] == "pending-held" and "unreachable for" in j.get("message", "") else None


def ipp_says_held_again(d, queue, job_id, owner):
    r = subprocess.run(["ipptool", "-t", "-T", "30", "-d", f"job={job_id}", "-d", f"owner={owner}",
                        queue_uri(d, queue), os.path.join(HERE, "ipp", "pg-held-again.test")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.skipif(not os.path.exists(SOCAT), reason="socat is missing")
def test_unreachable_printer_gives_released_jobs_back(tmp_root, docs):
    desk = TestPrinter(tmp_root, name="desk")
    box_port = free_port()
    d = Daemon(tmp_root, config(desk.port, box_port)).start()
    pdf_path = os.path.join(docs, "document-a4.pdf")
    with open(pdf_path, "rb") as f:
        pdf = f.read()
    txt_path = os.path.join(tmp_root, "note.txt")
    txt = b"".join(b"line %d of a plain text job for a printer that was down\n" % i for i in range(2000))
    with open(txt_path, "wb") as f:
        f.write(txt)

    direct = print_named(d, "direct", pdf_path, owner="dora", title="Direct one")
    first = print_named(d, "held", pdf_path, owner="alice", title="Held one")
    second = print_named(d, "held", txt_path, owner="alice", title="Held two", fmt="text/plain")
    raw = print_named(d, "held9100", txt_path, owner="bob", title="Raw one", fmt="text/plain")
    for held in (first, second, raw):
        d.ctl("release", str(held))

    # Both printers fail for 2 s: the released jobs come back to held, the direct one waits.
    for held in (first, second, raw):
        wait_until(lambda: held_again(d, held), timeout=60, what=f"job {held} held again")
    assert job(d, direct)["state"] == "pending", job(d, direct)
    assert "printer desk unreachable for" in job(d, first)["message"], job(d, first)
    assert "printer box unreachable for" in job(d, raw)["message"], job(d, raw)
    ipp_says_held_again(d, "held", first, "alice")
    ipp_says_held_again(d, "held9100", raw, "bob")
    log = d.log_text()
    for held in (first, second, raw):
        assert f"EVENT=job_held JOB_ID={held}" in log, log
        assert f"job {held} goes back to held" in log
    assert f"job {direct} goes back to held" not in log

    # The printers come up: the direct job prints on its own; the held ones only once released.
    desk.start()
    wait_state(d, direct, "completed", timeout=120)
    received = os.path.join(tmp_root, "box.out")
    port, sink = socat_sink(received, port=box_port)
    assert port == box_port
    for held in (first, second, raw):
        assert job(d, held)["state"] == "pending-held", job(d, held)
        d.ctl("release", str(held))
    for held in (first, second, raw):
        wait_state(d, held, "completed", timeout=120)
    sink.wait(timeout=30)
    with open(received, "rb") as f:
        assert f.read() == txt

    kept = desk.kept()
    assert sorted((e["IPP_JOB_NAME"], sha(doc)) for doc, e in kept) == sorted(
        [("Direct one", sha(pdf)), ("Held one", sha(pdf)), ("Held two", sha(txt))])
    # Released again: the reason is gone.
    assert "unreachable" not in job(d, first).get("message", "")
