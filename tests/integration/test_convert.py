# SPDX-License-Identifier: Apache-2.0
"""Release to printers that do not take the job's format (issue #7): a held PDF job
released with IPP Release-Job is converted by Ghostscript (a sandboxed child of
printgated) for an IPP printer that takes only PostScript (ippeveprinter -f
application/postscript) and for a 9100 printer (socat writing what it receives to a
file) with the PJL wrapper carrying copies and duplex; a printer that neither takes
PDF nor converts refuses the release with a clear message, and a job routed to it
anyway (printgatectl release) is aborted with that message."""
import os
import subprocess

import pytest

from conftest import _PEERS, Daemon, TestPrinter, free_port, wait_until
from test_forwarding import HERE, ipptool, job, queue_uri, wait_state
from test_stream_peers import listening

SOCAT = "/usr/bin/socat"


def config(ps_printer_uri, port_9100):
    return f"""\
state_dir: state
listen:
  ipp: 127.0.0.1:0
printers:
  psconv:
    uri: {ps_printer_uri}
    formats: [application/postscript]
    convert: ghostscript
  laser:
    uri: socket://127.0.0.1:{port_9100}?pjl=on
    formats: [application/vnd.hp-pclxl, application/postscript]
    convert: ghostscript
    color: false
  psonly:
    uri: {ps_printer_uri}
    formats: [application/postscript]
queues:
  toconvert: {{printer: psconv}}
  tolaser: {{printer: laser}}
  refused: {{printer: psonly}}
default_queue: toconvert
log:
  level: debug
limits:
  shutdown_timeout: 5s
"""


def print_with_options(d, queue, doc, fmt="application/pdf", copies=2, sides="two-sided-long-edge",
                       color="color"):
    ipptool(queue_uri(d, queue), os.path.join(HERE, "ipp", "pg-print-options.test"),
            "-d", "owner=alice", "-d", "title=Converted report", "-d", f"format={fmt}", "-d", f"copies={copies}",
            "-d", f"sides={sides}", "-d", f"color={color}", doc=doc)
    return max(j["id"] for j in d.jobs())


def release(d, queue, job_id, expect_ok=True):
    r = subprocess.run(["ipptool", "-tv", "-T", "30", "-d", f"job={job_id}", "-d", "owner=alice",
                        queue_uri(d, queue), os.path.join(HERE, "ipp", "pg-release-job.test")],
                       capture_output=True, text=True, timeout=60)
    if expect_ok:
        assert r.returncode == 0 and "[PASS]" in r.stdout, r.stdout + r.stderr
    return r.stdout + r.stderr


def socat_sink(path, port=None):
    """socat on a loopback port (a free one unless given) writing the one connection
    it takes to `path`; ready once the port is in LISTEN state (no probe connection)."""
    port = port or free_port()
    proc = subprocess.Popen([SOCAT, "-u", f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr", f"CREATE:{path}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _PEERS.append(proc)
    wait_until(lambda: listening(port) or proc.poll() is not None, what="socat to listen")
    assert proc.poll() is None
    return port, proc


@pytest.mark.skipif(not os.path.exists("/usr/bin/gs"), reason="ghostscript is missing")
@pytest.mark.skipif(not os.path.exists(SOCAT), reason="socat is missing")
def test_release_converts_refuses_and_carries_options(tmp_root, docs):
    printer = TestPrinter(tmp_root, formats="application/postscript").start()
    received = os.path.join(tmp_root, "laser.bin")
    port, socat = socat_sink(received)
    d = Daemon(tmp_root, config(printer.uri, port)).start()
    pdf = os.path.join(docs, "document-a4.pdf")

    # 1. IPP printer that takes only PostScript: the PDF arrives as PostScript.
    held = print_with_options(d, "toconvert", pdf)
    assert job(d, held)["state"] == "pending-held"
    release(d, "toconvert", held)
    done = wait_state(d, held, "completed", timeout=120)
    assert done["printer"] == "psconv"
    ((doc, env),) = printer.kept()
    assert doc.startswith(b"%!PS"), doc[:40]
    assert env["CONTENT_TYPE"] == "application/postscript"
    assert env["IPP_JOB_ORIGINATING_USER_NAME"] == "alice"
    assert env["IPP_COPIES"] == "2", env
    log = d.log_text()
    assert "EVENT=job_convert" in log and "converted from application/pdf to application/postscript" in log

    # 2. 9100 with PJL: PCL XL (the first format Ghostscript writes), copies and
    #    duplex in the PJL header, grey because the printer has color: false.
    laser = print_with_options(d, "tolaser", pdf, copies=3, sides="two-sided-short-edge")
    release(d, "tolaser", laser)
    wait_state(d, laser, "completed", timeout=120)
    socat.wait(timeout=30)
    with open(received, "rb") as f:
        data = f.read()
    head = data[:400]
    assert head.startswith(b"\x1b%-12345X@PJL JOB NAME=\"Converted report\"\r\n"), head
    assert b"@PJL SET USERNAME=\"alice\"\r\n" in head
    assert b"@PJL SET COPIES=3\r\n" in head
    assert b"@PJL SET DUPLEX=ON\r\n@PJL SET BINDING=SHORTEDGE\r\n" in head
    assert b"@PJL SET RENDERMODE=GRAYSCALE\r\n" in head
    assert b") HP-PCL XL" in data  # the PCL XL stream header, after Ghostscript's own PJL
    assert data.endswith(b"\x1b%-12345X@PJL EOJ\r\n\x1b%-12345X")

    # 3. A printer that takes neither PDF nor converts: Release-Job is refused with
    #    the reason and the job stays held. (The PDF is sent as octet-stream: the
    #    queue only advertises PostScript, and printgate sniffs it as PDF.)
    refused = print_with_options(d, "refused", pdf, fmt="application/octet-stream")
    out = release(d, "refused", refused, expect_ok=False)
    assert "client-error-not-possible" in out, out
    assert "printer psonly does not take application/pdf" in out, out
    assert job(d, refused)["state"] == "pending-held"
    # Routed anyway by an administrator: the forwarder aborts it with the reason.
    d.ctl("release", str(refused))
    aborted = wait_state(d, refused, "aborted")
    assert "printer psonly does not take application/pdf" in aborted["message"], aborted
    assert aborted["reason"] == "document-format-error"
    assert len(printer.kept()) == 1
    assert d.stop() == 0


@pytest.mark.skipif(not os.path.exists("/usr/bin/gs"), reason="ghostscript is missing")
def test_unconvertible_document_is_aborted_with_a_clear_message(tmp_root, docs):
    printer = TestPrinter(tmp_root, formats="application/postscript").start()
    d = Daemon(tmp_root, config(printer.uri, free_port())).start()
    bogus = os.path.join(tmp_root, "bogus.pdf")
    with open(bogus, "wb") as f:
        f.write(b"%PDF-1.4\nnot really a PDF\n%%EOF\n")
    held = print_with_options(d, "toconvert", bogus)
    release(d, "toconvert", held)
    aborted = wait_state(d, held, "aborted", timeout=120)
    assert aborted["reason"] == "document-unprintable-error"
    assert "could not be converted for psconv" in aborted["message"], aborted
    assert printer.kept() == [] and printer.spooled() == []
    log = d.log_text()
    assert "EVENT=job_convert" in log and "gs stderr" in log
    assert d.stop() == 0
