# SPDX-License-Identifier: Apache-2.0
"""Forwarding pipeline and IPP client: direct and hold queues delivering to a real
IPP Everywhere printer (ippeveprinter), over IPP and IPPS; waiting while the printer
is down; resuming after a restart without printing twice; printgatectl send."""
import hashlib
import json
import os
import subprocess

import pytest

from conftest import Daemon, TestPrinter, free_port, wait_until

HERE = os.path.dirname(__file__)


def config(printer_uri, history="1h"):
    return f"""\
state_dir: state
listen:
  ipp: 127.0.0.1:0
printers:
  office:
    uri: {printer_uri}
queues:
  direct: {{mode: direct, printer: office}}
  held: {{printer: office}}
  loose: {{}}
default_queue: direct
spool:
  job_history: {history}
log:
  level: debug
limits:
  shutdown_timeout: 5s
"""


def queue_uri(d, queue):
    port = [l for l in d.status()["listeners"] if l["protocol"] == "ipp"][0]["port"]
    return f"ipp://127.0.0.1:{port}/ipp/print/{queue}"


def ipptool(uri, test, *args, doc=None, cwd=None):
    cmd = ["ipptool", "-t", "-T", "30"]
    if doc:
        cmd += ["-f", doc]
    cmd += list(args) + [uri, test]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=cwd)
    out = r.stdout + r.stderr
    assert r.returncode == 0 and "[FAIL]" not in out and "[PASS]" in out, out
    return out


def print_named(d, queue, doc, owner="alice", title="Quarterly report", fmt="application/pdf"):
    ipptool(queue_uri(d, queue), os.path.join(HERE, "ipp", "pg-print-named.test"),
            "-d", f"owner={owner}", "-d", f"title={title}", "-d", f"format={fmt}", doc=doc)
    return max(j["id"] for j in d.jobs())


def job(d, job_id):
    return next(j for j in d.jobs() if j["id"] == job_id)


def wait_state(d, job_id, state, timeout=60):
    wait_until(lambda: job(d, job_id)["state"] == state, timeout=timeout, what=f"job {job_id} {state}")
    return job(d, job_id)


def sha(data):
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("scheme", ["ipp", "ipps"])
def test_direct_queue_delivers_byte_exact_with_owner_and_title(tmp_root, docs, scheme):
    printer = TestPrinter(tmp_root).start()
    d = Daemon(tmp_root, config(printer.uri if scheme == "ipp" else printer.ipps_uri)).start()
    pdf = os.path.join(docs, "document-a4.pdf")
    jpg = os.path.join(docs, "color.jpg")
    first = print_named(d, "direct", pdf)
    second = print_named(d, "direct", jpg, owner="bob", title="Photo", fmt="image/jpeg")
    done = wait_state(d, first, "completed")
    assert done["printer"] == "office" and done["attempts"] == 1 and done["impressions"] == 1
    assert done["remote_job_id"]
    wait_state(d, second, "completed")
    kept = printer.kept()
    assert len(kept) == 2
    with open(pdf, "rb") as f:
        assert sha(kept[0][0]) == sha(f.read())
    with open(jpg, "rb") as f:
        assert sha(kept[1][0]) == sha(f.read())
    assert kept[0][1]["IPP_JOB_ORIGINATING_USER_NAME"] == "alice"
    assert kept[0][1]["IPP_JOB_NAME"] == "Quarterly report"
    assert kept[0][1]["CONTENT_TYPE"] == "application/pdf"
    assert kept[1][1]["IPP_JOB_ORIGINATING_USER_NAME"] == "bob"
    assert kept[1][1]["CONTENT_TYPE"] == "image/jpeg"
    log = d.log_text()
    assert "EVENT=job_sent" in log and "EVENT=job_done" in log
    # Get-Jobs which-jobs=completed on printgate lists both, with the printer's impressions.
    out = ipptool(queue_uri(d, "direct"), "get-completed-jobs.test")
    assert "PASS" in out
    assert d.stop() == 0


def test_hold_queue_releases_with_release_job(tmp_root, docs):
    printer = TestPrinter(tmp_root).start()
    d = Daemon(tmp_root, config(printer.uri)).start()
    pdf = os.path.join(docs, "document-a4.pdf")
    # ipptool's own suite: Print-Job with job-hold-until=indefinite, then Release-Job.
    ipptool(queue_uri(d, "held"), "print-job-hold.test", doc=pdf, cwd=docs)
    job_id = max(j["id"] for j in d.jobs())
    done = wait_state(d, job_id, "completed")
    assert done["printer"] == "office"
    kept = printer.kept()
    assert len(kept) == 1
    with open(pdf, "rb") as f:
        assert sha(kept[0][0]) == sha(f.read())
    # A plain Print-Job to a hold queue stays held; Release-Job on a queue without a printer is refused.
    held = print_named(d, "held", pdf)
    assert job(d, held)["state"] == "pending-held"
    loose = print_named(d, "loose", pdf)
    r = subprocess.run(["ipptool", "-tv", "-d", f"job-id={loose}", queue_uri(d, "loose"),
                        os.path.join(HERE, "ipp", "pg-hold-release.test")], capture_output=True, text=True,
                       timeout=60)
    assert "client-error-not-possible" in r.stdout
    assert job(d, loose)["state"] == "pending-held"
    assert len(printer.kept()) == 1


def test_unreachable_printer_job_waits_then_survives_restart(tmp_root, docs):
    port = free_port()
    printer = TestPrinter(tmp_root, port=port)  # not started: nothing listens there
    d = Daemon(tmp_root, config(printer.uri)).start()
    pdf = os.path.join(docs, "document-a4.pdf")
    job_id = print_named(d, "direct", pdf)
    wait_until(lambda: job(d, job_id).get("attempts", 0) >= 2, what="two delivery attempts")
    waiting = job(d, job_id)
    assert waiting["state"] in ("pending", "processing")
    assert "remote_job_id" not in waiting
    status = d.status()
    office = next(p for p in status["printers"] if p["printer"] == "office")
    assert office["reasons"] == ["offline-report"] and "cannot connect" in office["message"]
    # Hold, release and cancel while it waits; GPA reports the unreachable printer.
    ipptool(queue_uri(d, "direct"), os.path.join(HERE, "ipp", "pg-hold-release.test"), "-d", f"job-id={job_id}")
    assert job(d, job_id)["state"] == "canceled"
    # A second job waits, survives a restart, and is delivered once the printer is up.
    job2 = print_named(d, "direct", pdf, title="After restart")
    wait_until(lambda: job(d, job2).get("attempts", 0) >= 1, what="a delivery attempt")
    assert d.stop() == 0
    printer.start()
    d.start()
    done = wait_state(d, job2, "completed")
    assert "remote_job_id" in done
    kept = printer.kept()
    assert len(kept) == 1 and kept[0][1]["IPP_JOB_NAME"] == "After restart"
    assert job(d, job_id)["state"] == "canceled"


def test_acknowledged_job_is_followed_not_resent_after_kill9(tmp_root, docs):
    # Without a sink command ippeveprinter "prints" slowly, so the job stays
    # processing there long enough to kill printgated after the acknowledgement.
    printer = TestPrinter(tmp_root, sink=False).start()
    d = Daemon(tmp_root, config(printer.uri)).start()
    pdf = os.path.join(docs, "document-a4.pdf")
    job_id = print_named(d, "direct", pdf)
    wait_until(lambda: "remote_job_id" in job(d, job_id), what="the printer's acknowledgement")
    acked = job(d, job_id)
    assert acked["state"] == "processing"
    d.kill9()
    d.start()
    done = wait_state(d, job_id, "completed", timeout=120)
    assert done["remote_job_id"] == acked["remote_job_id"] and done["attempts"] == 1
    assert len(printer.spooled()) == 1, printer.spooled()


def test_printgatectl_send_reports_remote_job_and_impressions(tmp_root, docs):
    printer = TestPrinter(tmp_root).start()
    d = Daemon(tmp_root, config(printer.uri, history="2s")).start()
    pdf = os.path.join(docs, "document-a4.pdf")
    job_id = print_named(d, "loose", pdf, title="Sent by hand")
    r = d.ctl("send", str(job_id), printer.ipps_uri)
    assert f"job {job_id}: completed on {printer.ipps_uri}" in r.stdout
    assert "remote job id: 1" in r.stdout and "impressions: 1" in r.stdout
    kept = printer.kept()
    assert len(kept) == 1 and kept[0][1]["IPP_JOB_NAME"] == "Sent by hand"
    with open(pdf, "rb") as f:
        assert sha(kept[0][0]) == sha(f.read())
    # Only held jobs can be sent; targets must be printers or IPP URIs.
    again = d.ctl("send", str(job_id), printer.uri, check=False)
    assert again.returncode == 1 and "is not held" in again.stderr
    other = print_named(d, "loose", pdf)
    bad = d.ctl("send", str(other), "smb://127.0.0.1/q", check=False)
    assert bad.returncode == 1 and "neither a configured printer" in bad.stderr
    usage = d.ctl("send", str(other), check=False)
    assert usage.returncode == 2
    # `release` sends a held job to its queue's printer without waiting.
    held = print_named(d, "held", pdf)
    assert f"job {held} released to office" in d.ctl("release", str(held)).stdout
    wait_state(d, held, "completed")
    # Finished jobs leave the history after spool.job_history (2 s here), shredded.
    wait_until(lambda: all(j["id"] not in (job_id, held) for j in d.jobs()), timeout=30,
               what="the job history to expire")
    assert "EVENT=job_expired" in d.log_text()


@pytest.mark.parametrize("suite", ["ipp-1.1", "ipp-2.0"])
def test_ipptool_conformance_suite_on_a_direct_queue(tmp_root, docs, suite):
    """Debian's ipptool suites with real documents, against a direct queue whose
    printer is ippeveprinter: every job is really printed, so the completed-job
    tests run too. Skips are the options printgate does not advertise (Print-URI,
    Send-URI, job-sheets, number-up, 4x6 media)."""
    printer = TestPrinter(tmp_root).start()
    d = Daemon(tmp_root, config(printer.uri)).start()
    r = subprocess.run(["ipptool", "-tI", "-T", "30", "-f", os.path.join(docs, "document-a4.pdf"),
                        queue_uri(d, "direct"), suite + ".test"], capture_output=True, text=True,
                       cwd=docs, timeout=300)
    out = r.stdout + r.stderr
    assert out.count("[FAIL]") == 0 and out.count("[PASS]") >= 44, out
    assert "cannot be read" not in out, out
    jobs = d.jobs()
    wait_until(lambda: all(j["state"] in ("completed", "canceled", "aborted") for j in d.jobs()), timeout=120,
               what="every job to finish")
    assert len(printer.kept()) >= 10
    assert all(j["state"] != "aborted" for j in d.jobs()), jobs


def test_queue_advertises_its_printer_profile(tmp_root, docs):
    d = Daemon(tmp_root, config("ipp://127.0.0.1:9/ipp/print").replace(
        "    uri: ipp://127.0.0.1:9/ipp/print\n",
        "    uri: ipp://127.0.0.1:9/ipp/print\n    formats: [application/pdf]\n    color: false\n    duplex: false\n"
        "    media: [na_letter_8.5x11in, iso_a4_210x297mm]\n    resolutions: [600, 1200]\n")
    ).start()
    ipptool(queue_uri(d, "direct"), os.path.join(HERE, "ipp", "pg-profile.test"), doc=os.path.join(docs, "color.jpg"))
    assert d.jobs() == []
    # A queue without a printer keeps the default formats.
    ipptool(queue_uri(d, "loose"), "get-printer-attributes.test")


def test_multi_document_job_prints_each_document(tmp_root, docs):
    printer = TestPrinter(tmp_root).start()
    d = Daemon(tmp_root, config(printer.uri)).start()
    ipptool(queue_uri(d, "direct"), os.path.join(HERE, "ipp", "pg-multi-document.test"), cwd=docs)
    (j,) = d.jobs()
    done = wait_state(d, j["id"], "completed")
    assert done["name"] == "Two documents" and done["impressions"] == 2
    assert len(done["remote_job_id"].split(",")) == 2
    with open(os.path.join(docs, "document-a4.pdf"), "rb") as f:
        pdf = f.read()
    with open(os.path.join(docs, "color.jpg"), "rb") as f:
        jpg = f.read()
    # The spool holds the documents one after another; the printer got one job each.
    assert d.cat(j["id"]).stdout == pdf + jpg
    kept = printer.kept()
    assert [sha(k[0]) for k in kept] == [sha(pdf), sha(jpg)]
    assert [k[1]["CONTENT_TYPE"] for k in kept] == ["application/pdf", "image/jpeg"]
    assert all(k[1]["IPP_JOB_ORIGINATING_USER_NAME"] == "alice" for k in kept)
    show = json.loads(d.ctl("show", str(j["id"]), "--json").stdout)
    assert [p["format"] for p in show["documents"]] == ["application/pdf", "image/jpeg"]


def test_raw_and_lpd_jobs_on_a_direct_queue_go_to_the_printer(tmp_root, docs):
    """Routing a direct queue's jobs is part of every protocol's commit, not IPP's only."""
    from conftest import send_raw
    printer = TestPrinter(tmp_root).start()
    d = Daemon(tmp_root, config(printer.uri).replace("  ipp: 127.0.0.1:0\n",
                                                     "  ipp: 127.0.0.1:0\n  raw: [{address: 127.0.0.1:0, queue: direct}]\n"
                                                     "  lpd: 127.0.0.1:0\n")).start()
    ports = {l["protocol"]: l["port"] for l in d.status()["listeners"]}
    with open(os.path.join(docs, "document-a4.pdf"), "rb") as f:
        pdf = f.read()
    assert send_raw(ports["raw"], pdf)
    import socket
    s = socket.create_connection(("127.0.0.1", ports["lpd"]), timeout=30)
    cf = b"Hh\nPerin\nJBy LPD\nldfA001h\n"
    for line, payload in ((b"\x02direct\n", None), (b"\x02%d cfA001h\n" % len(cf), cf), (b"\x03%d dfA001h\n" % len(pdf), pdf)):
        s.sendall(line)
        assert s.recv(1) == b"\0"
        if payload is not None:
            s.sendall(payload + b"\0")
            assert s.recv(1) == b"\0"
    s.close()
    wait_until(lambda: len(d.jobs()) == 2 and all(j["state"] == "completed" for j in d.jobs()), timeout=60,
               what="both jobs printed")
    kept = printer.kept()
    assert [sha(k[0]) for k in kept] == [sha(pdf), sha(pdf)]
    assert sorted(k[1]["IPP_JOB_ORIGINATING_USER_NAME"] for k in kept) == ["127.0.0.1", "erin"]
