# SPDX-License-Identifier: Apache-2.0
"""IPP server: ipptool's suites and printgate's own, against a hold queue."""
import json
import os
import socket
import struct
import subprocess

import pytest

from conftest import Daemon, PrivateCupsd, send_raw, wait_until

IPP_CONFIG = """\
state_dir: state
listen:
  raw: 127.0.0.1:0
  ipp: 127.0.0.1:0
queues:
  default:
    description: IPP test queue
  second: {}
default_queue: default
limits:
  shutdown_timeout: 5s
"""

HERE = os.path.dirname(__file__)
SUITES = ["get-printer-attributes", "get-printer-description-attributes", "get-job-template-attributes",
          "ipp-backend", "validate-job", "print-job", "print-job-gzip", "print-job-deflate", "print-job-media-col",
          "create-job", "create-job-format",
          "get-jobs", "get-completed-jobs"]

@pytest.fixture
def ipp_daemon(tmp_root):
    d = Daemon(tmp_root, IPP_CONFIG).start()
    ipp = [l for l in d.status()["listeners"] if l["protocol"] == "ipp"][0]
    d.ipp_uri = f"ipp://127.0.0.1:{ipp['port']}/ipp/print/default"
    d.ipp_port = ipp["port"]
    yield d
    if d.proc.poll() is None:
        d.stop()


def ipptool(docs, uri, test, timeout=120):
    r = subprocess.run(["ipptool", "-tI", "-T", "30", "-f", os.path.join(docs, "document-a4.pdf"), uri, test],
                       capture_output=True, text=True, cwd=docs, timeout=timeout)
    out = r.stdout + r.stderr
    return out.count("[PASS]"), out.count("[FAIL]"), out


@pytest.mark.parametrize("suite", SUITES)
def test_ipptool_suite(ipp_daemon, docs, suite):
    passed, failed, out = ipptool(docs, ipp_daemon.ipp_uri, suite + ".test")
    assert failed == 0 and passed > 0, out


def test_printgate_basics_suite(ipp_daemon, docs):
    passed, failed, out = ipptool(docs, ipp_daemon.ipp_uri, os.path.join(HERE, "ipp", "pg-ipp-basics.test"))
    assert failed == 0 and passed == 21, out
    with open(os.path.join(docs, "document-a4.pdf"), "rb") as f:
        pdf = f.read()
    jobs = ipp_daemon.jobs()
    printed = [j for j in jobs if j["name"] == "pg basics print"]
    assert len(printed) == 1
    assert printed[0]["user"] == "alice" and printed[0]["protocol"] == "ipp"
    assert printed[0]["state"] == "canceled"
    assert ipp_daemon.cat(printed[0]["id"]).stdout == pdf
    sent = [j for j in jobs if j["state"] == "pending-held"]
    assert len(sent) == 1 and ipp_daemon.cat(sent[0]["id"]).stdout == pdf


def test_second_queue_by_printer_uri_on_root(ipp_daemon, docs):
    # lp -h posts to / with a /printers/Q printer-uri: the job lands in Q.
    uri = ipp_daemon.ipp_uri.replace("/ipp/print/default", "/printers/second")
    passed, failed, out = ipptool(docs, uri, "print-job.test")
    assert failed == 0 and passed == 1, out
    assert [j["queue"] for j in ipp_daemon.jobs()] == ["second"]


def http_post(port, body, chunked=False, extra=b""):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = b"POST /ipp/print/default HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/ipp\r\n" + extra
    if chunked:
        s.sendall(head + b"Transfer-Encoding: chunked\r\n\r\n" + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
    else:
        s.sendall(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
    return s


def read_response(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    while len(rest) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head + b"\r\n\r\n" + rest


def gpa_request(request_id=1):
    def attr(tag, name, value):
        return bytes([tag]) + struct.pack(">H", len(name)) + name + struct.pack(">H", len(value)) + value
    body = struct.pack(">BBHI", 2, 0, 0x000B, request_id) + b"\x01"
    body += attr(0x47, b"attributes-charset", b"utf-8")
    body += attr(0x48, b"attributes-natural-language", b"en")
    body += attr(0x45, b"printer-uri", b"ipp://localhost/ipp/print/default")
    return body + b"\x03"


def test_hostile_requests_get_errors_and_daemon_keeps_serving(ipp_daemon):
    port = ipp_daemon.ipp_port
    # A 2 GB declared value length: refused at the length field, nothing allocated.
    evil = struct.pack(">BBHI", 2, 0, 0x0002, 7) + b"\x01\x47" + struct.pack(">H", 18) + b"attributes-charset" + \
        b"\xff\xff" + b"x" * 100
    s = http_post(port, evil)
    resp = read_response(s)
    assert resp.startswith(b"HTTP/1.1 200") or resp.startswith(b"HTTP/1.1 400"), resp[:100]
    s.close()
    # 10,000 attributes: over the frame limit, an error, not a crash.
    many = struct.pack(">BBHI", 2, 0, 0x000B, 8) + b"\x01" + b"\x44\x00\x01a\x00\x01b" * 10000 + b"\x03"
    s = http_post(port, many, chunked=True)
    assert read_response(s).startswith(b"HTTP/1.1 ")
    s.close()
    # Body shorter than Content-Length, then the client goes away: no job.
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(b"POST /ipp/print/default HTTP/1.1\r\nHost: x\r\nContent-Type: application/ipp\r\n"
              b"Content-Length: 100000\r\n\r\n" + gpa_request()[:-1])
    s.close()
    # TLS handshake garbage on the plain port.
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(200))
    assert s.recv(4096).startswith(b"HTTP/1.1 400")
    s.close()
    # Keep-alive: an error, then a good request on the same connection.
    s = http_post(port, b"\x02\x00", chunked=False)
    first = read_response(s)
    assert first.startswith(b"HTTP/1.1 400")
    s.close()
    s = http_post(port, gpa_request(41))
    first = read_response(s)
    assert first.startswith(b"HTTP/1.1 200")
    s.sendall(b"POST /ipp/print/default HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/ipp\r\n"
              b"Content-Length: %d\r\n\r\n" % len(gpa_request(42)) + gpa_request(42))
    second = read_response(s)
    assert second.startswith(b"HTTP/1.1 200")
    body = second.split(b"\r\n\r\n", 1)[1]
    assert struct.unpack(">I", body[4:8])[0] == 42 and body[2:4] == b"\x00\x00"
    s.close()
    assert ipp_daemon.jobs() == []
    assert send_raw(ipp_daemon.raw_port(), b"still serving")


def test_lp_and_lpr_print_to_printgate(ipp_daemon, docs):
    """cups-client's lp -h and cups-bsd's lpr -H are IPP clients: POST / with a
    /printers/Q printer-uri, Create-Job, chunked Send-Document as octet-stream."""
    pdf = os.path.join(docs, "document-a4.pdf")
    host = f"127.0.0.1:{ipp_daemon.ipp_port}"
    env = dict(os.environ)
    env.pop("CUPS_SERVER", None)
    r = subprocess.run(["lp", "-h", host, "-d", "second", "-t", "quarterly report", "-U", "bob", pdf],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(["lpr", "-H", host, "-P", "default", "-U", "carol", "-T", "lpr title", pdf],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    with open(pdf, "rb") as f:
        data = f.read()
    jobs = {j["user"]: j for j in ipp_daemon.jobs()}
    assert jobs["bob"]["name"] == "quarterly report" and jobs["bob"]["queue"] == "second"
    assert jobs["carol"]["name"] == "lpr title" and jobs["carol"]["queue"] == "default"
    for j in jobs.values():
        assert ipp_daemon.cat(j["id"]).stdout == data
        assert json.loads(ipp_daemon.ctl("show", str(j["id"]), "--json").stdout)["document_format"] == \
            "application/pdf"


def test_cupsd_adds_printgate_driverless_and_prints_to_it(ipp_daemon, docs, tmp_root):
    """A real cupsd adds printgate with `lpadmin -m everywhere` (the PPD is built from
    printgate's Get-Printer-Attributes), then `lp -d Q` sends through CUPS's ipp
    backend: the job lands in printgate with its owner and title, byte for byte."""
    cups = PrivateCupsd(tmp_root).start()
    cups.run("lpadmin", "-p", "branch", "-E", "-v", ipp_daemon.ipp_uri, "-m", "everywhere")
    # cupsd builds the PPD in the background; "PPD creation failed" would be in its log.
    wait_until(lambda: os.path.exists(os.path.join(cups.root, "etc", "ppd", "branch.ppd")) or
               "PPD creation failed" in cups.error_log(), timeout=60, what="cupsd's PPD for printgate")
    assert "PPD creation failed" not in cups.error_log()
    jpg = os.path.join(docs, "color.jpg")
    pdf = os.path.join(docs, "document-a4.pdf")
    cups.run("lp", "-d", "branch", "-t", "Holiday photo", "-U", "dave", jpg)
    # -o raw: no CUPS filter touches the PDF on its way (pdftopdf would rewrite it).
    cups.run("lp", "-d", "branch", "-t", "Quarterly report", "-U", "erin", "-o", "raw", pdf)
    wait_until(lambda: len(ipp_daemon.jobs()) == 2, timeout=120, what="both jobs to arrive through cupsd")
    jobs = {j["user"]: j for j in ipp_daemon.jobs()}
    assert jobs["dave"]["name"] == "Holiday photo" and jobs["erin"]["name"] == "Quarterly report"
    for user, path in (("dave", jpg), ("erin", pdf)):
        with open(path, "rb") as f:
            assert ipp_daemon.cat(jobs[user]["id"]).stdout == f.read()
    assert all(j["queue"] == "default" and j["state"] == "pending-held" for j in jobs.values())
    # cupsd saw its jobs through: completed on its side once printgate accepted them.
    wait_until(lambda: "branch-" not in cups.run("lpstat", "-o").stdout, timeout=120,
               what="cupsd to finish its jobs")


@pytest.mark.parametrize("suite", ["print-job-gzip", "print-job-deflate"])
def test_compressed_documents_are_stored_decompressed(ipp_daemon, docs, suite):
    passed, failed, out = ipptool(docs, ipp_daemon.ipp_uri, suite + ".test")
    assert failed == 0 and passed == 1, out
    with open(os.path.join(docs, "document-a4.pdf"), "rb") as f:
        pdf = f.read()
    (job,) = ipp_daemon.jobs()
    assert ipp_daemon.cat(job["id"]).stdout == pdf


def print_job_request(compression, request_id=5):
    def attr(tag, name, value):
        return bytes([tag]) + struct.pack(">H", len(name)) + name + struct.pack(">H", len(value)) + value
    body = struct.pack(">BBHI", 2, 0, 0x0002, request_id) + b"\x01"
    body += attr(0x47, b"attributes-charset", b"utf-8")
    body += attr(0x48, b"attributes-natural-language", b"en")
    body += attr(0x45, b"printer-uri", b"ipp://localhost/ipp/print/default")
    body += attr(0x42, b"requesting-user-name", b"eve")
    body += attr(0x44, b"compression", compression)
    return body + b"\x03"


def ipp_status(response):
    body = response.split(b"\r\n\r\n", 1)[1]
    return struct.unpack(">H", body[2:4])[0]


def test_gzip_bomb_and_corrupt_gzip_are_refused(tmp_root):
    import gzip
    d = Daemon(tmp_root, IPP_CONFIG).start("--set", "spool.max_job_size=1MiB")
    port = [l for l in d.status()["listeners"] if l["protocol"] == "ipp"][0]["port"]
    bomb = gzip.compress(b"\0" * (64 << 20))  # 64 MiB of zeros in ~64 KiB
    s = http_post(port, print_job_request(b"gzip") + bomb)
    assert ipp_status(read_response(s)) == 0x0408  # client-error-request-entity-too-large
    s.close()
    s = http_post(port, print_job_request(b"gzip") + b"\x1f\x8b\x08\x00garbage" * 10)
    assert ipp_status(read_response(s)) == 0x0410  # client-error-compression-error
    s.close()
    s = http_post(port, print_job_request(b"compress") + b"data")
    assert ipp_status(read_response(s)) == 0x040F  # client-error-compression-not-supported
    s.close()
    assert d.jobs() == []
    assert os.listdir(os.path.join(d.state, "spool", "jobs")) == []
    s = http_post(port, print_job_request(b"gzip") + gzip.compress(b"%PDF-1.4 fine"))
    assert ipp_status(read_response(s)) == 0
    s.close()
    (job,) = d.jobs()
    assert d.cat(job["id"]).stdout == b"%PDF-1.4 fine"
    assert json.loads(d.ctl("show", str(job["id"]), "--json").stdout)["document_format"] == "application/pdf"
    d.stop()


def test_client_stalling_mid_body_is_dropped_and_leaves_no_job(tmp_root):
    d = Daemon(tmp_root, IPP_CONFIG).start("--set", "limits.idle_timeout=1s")
    port = [l for l in d.status()["listeners"] if l["protocol"] == "ipp"][0]["port"]
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    req = print_job_request(b"none")
    s.sendall(b"POST /ipp/print/default HTTP/1.1\r\nHost: x\r\nContent-Type: application/ipp\r\n"
              b"Content-Length: %d\r\n\r\n" % (len(req) + 100000) + req + b"%PDF-1.4 partial")
    # The deadline frees the connection: the gateway closes it (EOF or reset).
    try:
        assert s.recv(4096) == b""
    except ConnectionResetError:
        pass
    s.close()
    assert d.jobs() == []
    assert os.listdir(os.path.join(d.state, "spool", "jobs")) == []
    s = http_post(port, gpa_request(9))
    assert read_response(s).startswith(b"HTTP/1.1 200")
    s.close()
    assert d.stop() == 0
