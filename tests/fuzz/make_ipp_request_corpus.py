#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the seed corpus of the ipp_request fuzz target (tests/fuzz/corpus/ipp_request/).

Each seed is what ipp_request_fuzz.cpp reads: up to four requests joined by
"@@NEXT@@", each a variant byte (HTTP target, TLS flags, body chunking) followed by
the HTTP body: an IPP request (RFC 8010 encoding) and any document data. The
requests are the ones real clients send (attribute order and syntax as CUPS'
ipptool and libcups write them), for every operation the service answers, plus the
malformed ones the service must refuse. A later request names the newest job of an
earlier one with the placeholder job-id 0x7FFFFF01 or "/jobs/2147483393"
(replaced by the harness).

Usage: tests/fuzz/make_ipp_request_corpus.py [OUT_DIR]   (default: next to this script)
Only the seeds this script writes are replaced; other files in OUT_DIR (inputs the
fuzzer found and were kept) stay.
"""
import gzip
import os
import struct
import sys
import zlib

SEPARATOR = b"@@NEXT@@"
JOB = 0x7FFFFF01          # "the newest job of this input"
JOB_URI = "ipp://printgate.test:631/jobs/2147483393"

# Variant byte (see ipp_request_fuzz.cpp): target index | tls | encrypted | chunking << 5.
T_DEFAULT, T_DIRECT, T_PRINTERS_DEFAULT, T_ROOT, T_JOBS, T_PRINTERS_DIRECT, T_NOSUCH, T_IPP_PRINT = range(8)
TLS = 0x08
ENCRYPTED = 0x10
WHOLE, AFTER_HEADER, HALVES, THIRDS, EDGES, READ_ERROR, GET, TEXT_PLAIN = (m << 5 for m in range(8))

# Value tags (RFC 8010 §3.5.2).
INTEGER, BOOLEAN, ENUM = 0x21, 0x22, 0x23
TEXT, NAME, KEYWORD, URI, CHARSET, LANGUAGE, MIME = 0x41, 0x42, 0x44, 0x45, 0x47, 0x48, 0x49
BEG_COLLECTION, END_COLLECTION, MEMBER_NAME = 0x34, 0x37, 0x4A
# Delimiter tags.
OPERATION, JOB_GROUP, END = 0x01, 0x02, 0x03

# Operations.
PRINT_JOB, PRINT_URI, VALIDATE_JOB, CREATE_JOB, SEND_DOCUMENT = 0x02, 0x03, 0x04, 0x05, 0x06
CANCEL_JOB, GET_JOB_ATTRIBUTES, GET_JOBS, GET_PRINTER_ATTRIBUTES = 0x08, 0x09, 0x0A, 0x0B
HOLD_JOB, RELEASE_JOB, PAUSE_PRINTER = 0x0C, 0x0D, 0x10
CUPS_GET_DEFAULT, CUPS_GET_PRINTERS = 0x4001, 0x4002

PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
       b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
       b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
       b"trailer<</Root 1 0 R>>\n%%EOF\n")
PS = b"%!PS-Adobe-3.0\n%%Pages: 1\n/Helvetica findfont 12 scalefont setfont\n72 720 moveto (printgate) show\nshowpage\n%%EOF\n"
PJL_PDF = b"\x1b%-12345X@PJL JOB NAME=\"x\"\r\n@PJL ENTER LANGUAGE = PDF\r\n" + PDF + b"\x1b%-12345X"


def value(tag, v):
    if tag in (INTEGER, ENUM):
        return struct.pack(">i", v)
    if tag == BOOLEAN:
        return bytes([1 if v else 0])
    return v if isinstance(v, bytes) else v.encode()


def attr(tag, name, *values):
    """One attribute: the first value carries the name, the others an empty one."""
    out = b""
    for i, v in enumerate(values):
        n = name.encode() if i == 0 else b""
        data = value(tag, v)
        out += bytes([tag]) + struct.pack(">H", len(n)) + n + struct.pack(">H", len(data)) + data
    return out


def members_of(members):
    """Collection members and the end: members is a list of (tag, member-name, value);
    a BEG_COLLECTION member's value is itself such a list."""
    out = b""
    for tag, member, v in members:
        out += bytes([MEMBER_NAME]) + b"\0\0" + struct.pack(">H", len(member)) + member.encode()
        if tag == BEG_COLLECTION:
            out += bytes([BEG_COLLECTION]) + b"\0\0\0\0" + members_of(v)
        else:
            data = value(tag, v)
            out += bytes([tag]) + b"\0\0" + struct.pack(">H", len(data)) + data
    return out + bytes([END_COLLECTION]) + b"\0\0\0\0"


def collection(name, members):
    """A collection attribute (RFC 8010 §3.1.6)."""
    return bytes([BEG_COLLECTION]) + struct.pack(">H", len(name)) + name.encode() + b"\0\0" + members_of(members)


def request(op, attrs=b"", job=b"", version=(2, 0), request_id=1, charset="utf-8", printer="default",
            user="alice", data=b""):
    """An IPP request: header, operation group (charset, language, printer-uri, user, attrs), job group."""
    head = bytes(version) + struct.pack(">Hi", op, request_id)
    ops = attr(CHARSET, "attributes-charset", charset) + attr(LANGUAGE, "attributes-natural-language", "en")
    if printer is not None:
        ops += attr(URI, "printer-uri", f"ipp://printgate.test:631/ipp/print/{printer}")
    if user is not None:
        ops += attr(NAME, "requesting-user-name", user)
    body = head + bytes([OPERATION]) + ops + attrs
    if job:
        body += bytes([JOB_GROUP]) + job
    return body + bytes([END]) + data


def job_id(v=JOB):
    return attr(INTEGER, "job-id", v)


def seed(*requests):
    """requests: (variant, body) pairs."""
    return SEPARATOR.join(bytes([variant]) + body for variant, body in requests)


def raw_deflate(data):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def seeds():
    fmt = lambda f: attr(MIME, "document-format", f)
    name = lambda n: attr(NAME, "job-name", n)
    last = lambda b: attr(BOOLEAN, "last-document", b)
    hold = lambda k: attr(KEYWORD, "job-hold-until", k)
    wanted = lambda *a: attr(KEYWORD, "requested-attributes", *a)
    s = {}

    # Print-Job in every flavour.
    s["print_job_pdf"] = seed((T_DEFAULT | WHOLE, request(PRINT_JOB, name("report") + fmt("application/pdf"), data=PDF)))
    s["print_job_ps_direct_thirds"] = seed(
        (T_DIRECT | THIRDS, request(PRINT_JOB, name("memo") + fmt("application/postscript"), printer="direct", data=PS)))
    s["print_job_octet_detect_edges"] = seed(
        (T_PRINTERS_DEFAULT | EDGES, request(PRINT_JOB, fmt("application/octet-stream"), data=PJL_PDF)))
    s["print_job_gzip"] = seed((T_DEFAULT | AFTER_HEADER, request(
        PRINT_JOB, attr(KEYWORD, "compression", "gzip") + fmt("application/postscript"), data=gzip.compress(PS, mtime=0))))
    s["print_job_deflate"] = seed((T_DIRECT | HALVES, request(
        PRINT_JOB, attr(KEYWORD, "compression", "deflate") + fmt("application/pdf"), printer="direct",
        data=raw_deflate(PDF))))
    s["print_job_gzip_too_large"] = seed((T_DEFAULT | WHOLE, request(
        PRINT_JOB, attr(KEYWORD, "compression", "gzip"), data=gzip.compress(b"\0" * (1100 * 1024), 9, mtime=0))))
    s["print_job_gzip_truncated"] = seed((T_DEFAULT | WHOLE, request(
        PRINT_JOB, attr(KEYWORD, "compression", "gzip"), data=gzip.compress(PS, mtime=0)[:40])))
    s["print_job_compression_unsupported"] = seed(
        (T_DEFAULT | WHOLE, request(PRINT_JOB, attr(KEYWORD, "compression", "compress"), data=PS)))
    s["print_job_read_error"] = seed((T_DEFAULT | READ_ERROR, request(PRINT_JOB, fmt("application/pdf"), data=PDF)))
    s["print_job_media_col_copies"] = seed((T_DIRECT | WHOLE, request(
        PRINT_JOB, fmt("application/pdf") + attr(NAME, "document-name", "scan\x07\u00e9t\u00e9.pdf"),
        job=attr(INTEGER, "copies", 2) + attr(KEYWORD, "sides", "two-sided-long-edge") +
        collection("media-col", [(KEYWORD, "media-source", "tray-1"),
                                 (BEG_COLLECTION, "media-size",
                                  [(INTEGER, "x-dimension", 21000), (INTEGER, "y-dimension", 29700)])]),
        printer="direct", user="b\u00f6b\tx", data=PDF)))
    s["print_job_unsupported_format_direct"] = seed(
        (T_DIRECT | WHOLE, request(PRINT_JOB, fmt("text/plain"), printer="direct", data=b"hello\n")))

    # Hold/release/cancel on jobs the same input created.
    s["print_job_held_release_get"] = seed(
        (T_DIRECT | WHOLE, request(PRINT_JOB, fmt("application/pdf"), job=hold("indefinite"), printer="direct", data=PDF)),
        (T_DIRECT | WHOLE, request(RELEASE_JOB, job_id(), printer="direct")),
        (T_DIRECT | WHOLE, request(GET_JOB_ATTRIBUTES, job_id(), printer="direct")),
        (T_DIRECT | WHOLE, request(GET_JOBS, attr(KEYWORD, "which-jobs", "all") + wanted("all"), printer="direct")))
    s["print_job_direct_hold_release"] = seed(
        (T_DIRECT | WHOLE, request(PRINT_JOB, fmt("application/pdf"), printer="direct", data=PDF)),
        (T_DIRECT | WHOLE, request(HOLD_JOB, job_id(), printer="direct")),
        (T_DIRECT | WHOLE, request(RELEASE_JOB, job_id(), printer="direct")),
        (T_DIRECT | WHOLE, request(HOLD_JOB, job_id(), printer="direct")))
    s["print_job_release_no_printer"] = seed(
        (T_DEFAULT | WHOLE, request(PRINT_JOB, data=PS)),
        (T_DEFAULT | WHOLE, request(RELEASE_JOB, job_id())),
        (T_DEFAULT | WHOLE, request(HOLD_JOB, job_id())))
    s["print_job_cancel_completed"] = seed(
        (T_DEFAULT | WHOLE, request(PRINT_JOB, data=PDF)),
        (T_DEFAULT | WHOLE, request(CANCEL_JOB, job_id())),
        (T_DEFAULT | WHOLE, request(CANCEL_JOB, job_id())),
        (T_DEFAULT | WHOLE, request(GET_JOBS, attr(KEYWORD, "which-jobs", "completed") +
                                    wanted("job-id", "job-state", "job-state-reasons", "job-name"))))
    s["print_job_cancel_not_owner_job_uri"] = seed(
        (T_DEFAULT | WHOLE, request(PRINT_JOB, data=PDF)),
        (T_JOBS | WHOLE, request(CANCEL_JOB, attr(URI, "job-uri", JOB_URI), printer=None, user="mallory")),
        (T_JOBS | WHOLE, request(GET_JOB_ATTRIBUTES, attr(URI, "job-uri", JOB_URI) +
                                 wanted("job-state", "job-originating-user-name", "job-printer-uri"),
                                 printer=None, user="mallory")))

    # Create-Job and its documents.
    s["create_job_send_documents"] = seed(
        (T_DEFAULT | WHOLE, request(CREATE_JOB, name("two parts"))),
        (T_DEFAULT | HALVES, request(SEND_DOCUMENT, job_id() + last(False) + fmt("application/pdf") +
                                     attr(NAME, "document-name", "part one"), data=PDF)),
        (T_DEFAULT | THIRDS, request(SEND_DOCUMENT, job_id() + last(True) + fmt("application/postscript"), data=PS)),
        (T_DEFAULT | WHOLE, request(GET_JOB_ATTRIBUTES, job_id() + wanted("all"))))
    s["create_job_send_document_empty_last"] = seed(
        (T_DIRECT | WHOLE, request(CREATE_JOB, printer="direct")),
        (T_DIRECT | WHOLE, request(SEND_DOCUMENT, job_id() + last(True), printer="direct")))
    s["create_job_open_then_cleanup"] = seed(
        (T_DEFAULT | WHOLE, request(CREATE_JOB, job=hold("no-hold"))),
        (T_DEFAULT | WHOLE, request(GET_JOB_ATTRIBUTES, job_id())),
        (T_DEFAULT | WHOLE, request(SEND_DOCUMENT, job_id(), data=PS)),
        (T_DEFAULT | WHOLE, request(SEND_DOCUMENT, job_id() + last(False) + attr(KEYWORD, "compression", "bzip2"))))
    s["create_job_cancel"] = seed(
        (T_DEFAULT | WHOLE, request(CREATE_JOB)),
        (T_DEFAULT | WHOLE, request(CANCEL_JOB, job_id())),
        (T_DEFAULT | WHOLE, request(SEND_DOCUMENT, job_id() + last(True), data=PS)))
    s["send_document_no_job"] = seed((T_DEFAULT | WHOLE, request(SEND_DOCUMENT, job_id(42) + last(True), data=PS)))

    # Validate-Job.
    s["validate_job"] = seed((T_DEFAULT | WHOLE, request(VALIDATE_JOB, name("check") + fmt("application/pdf"))))
    s["validate_job_bad_format_direct"] = seed(
        (T_PRINTERS_DIRECT | WHOLE, request(VALIDATE_JOB, fmt("image/jpeg"), printer="direct")))

    # Listings and printer attributes.
    s["get_jobs_mine_limit"] = seed(
        (T_DEFAULT | WHOLE, request(PRINT_JOB, data=PS)),
        (T_DEFAULT | WHOLE, request(PRINT_JOB, data=PDF, user="bob")),
        (T_DEFAULT | WHOLE, request(GET_JOBS, attr(KEYWORD, "which-jobs", "not-completed") +
                                    attr(BOOLEAN, "my-jobs", True) + attr(INTEGER, "limit", 1) +
                                    wanted("job-id", "job-uri", "job-k-octets", "time-at-creation"))),
        (T_DEFAULT | WHOLE, request(GET_JOBS, attr(KEYWORD, "which-jobs", "pending"))))
    s["get_printer_attributes_all"] = seed((T_ROOT | TLS | ENCRYPTED, request(
        GET_PRINTER_ATTRIBUTES, wanted("all", "media-col-database") + fmt("application/pdf"), version=(1, 1))))
    s["get_printer_attributes_groups_direct"] = seed((T_DIRECT | WHOLE, request(
        GET_PRINTER_ATTRIBUTES, wanted("printer-description", "job-template", "printer-state-reasons",
                                       "queued-job-count", "document-format-supported"), printer="direct")))
    s["cups_get_default"] = seed((T_ROOT | WHOLE, request(CUPS_GET_DEFAULT, wanted("printer-name", "printer-uri-supported"),
                                                          printer=None)))
    s["cups_get_printers"] = seed((T_ROOT | WHOLE, request(CUPS_GET_PRINTERS, printer=None, user=None)))

    # Refusals.
    s["unsupported_operations"] = seed(
        (T_DEFAULT | WHOLE, request(PAUSE_PRINTER)),
        (T_DEFAULT | WHOLE, request(PRINT_URI, attr(URI, "document-uri", "http://example.com/a.pdf"))))
    s["bad_version_3_0"] = seed((T_DEFAULT | WHOLE, request(GET_PRINTER_ATTRIBUTES, version=(3, 0))))
    s["version_1_0_request_id_0"] = seed(
        (T_DEFAULT | WHOLE, request(GET_JOBS, version=(1, 0))),
        (T_DEFAULT | WHOLE, request(GET_JOBS, request_id=0)))
    s["charset_unsupported"] = seed((T_DEFAULT | WHOLE, request(GET_JOBS, charset="iso-8859-1")))
    s["missing_charset"] = seed((T_DEFAULT | WHOLE, bytes([2, 0, 0, GET_JOBS, 0, 0, 0, 7, OPERATION]) +
                                 attr(LANGUAGE, "attributes-natural-language", "en") +
                                 attr(URI, "printer-uri", "ipp://localhost/ipp/print/default") + bytes([END])))
    s["missing_printer_uri_and_nosuch"] = seed(
        (T_DEFAULT | WHOLE, request(GET_PRINTER_ATTRIBUTES, printer=None)),
        (T_NOSUCH | WHOLE, request(GET_PRINTER_ATTRIBUTES, printer="nosuch")),
        (T_IPP_PRINT | WHOLE, request(GET_JOBS, attr(KEYWORD, "which-jobs", "fetchable"), printer="")))
    s["duplicate_attribute"] = seed(
        (T_DEFAULT | WHOLE, request(PRINT_JOB, name("one") + name("two"), data=PS)))
    s["truncated_and_not_ipp"] = seed(
        (T_DEFAULT | WHOLE, request(GET_JOBS)[:-9]),
        (T_DEFAULT | WHOLE, b"GET / HTTP/1.1\r\n"),
        (T_DEFAULT | GET, b""),
        (T_DEFAULT | TEXT_PLAIN, request(GET_JOBS)))
    return s


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                            "corpus", "ipp_request")
    os.makedirs(out, exist_ok=True)
    for name, data in sorted(seeds().items()):
        with open(os.path.join(out, f"seed_{name}.bin"), "wb") as f:
            f.write(data)
        print(f"{len(data):7d}  seed_{name}.bin")


if __name__ == "__main__":
    main()
