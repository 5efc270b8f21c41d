#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Helper of bench/upstream.sh (not run by CI). Standard library only; run it with
/usr/bin/python3 -I. Every loop is bounded in count and in time.

  mkpdf OUT SIZE COUNT SEED
      COUNT one-page PDFs of exactly SIZE bytes each, concatenated into OUT. Each
      carries SIZE-minus-overhead random bytes (seeded) in an unused stream object,
      so every document is distinct, is typed application/pdf by ippeveprinter's
      sniffing (it starts with %PDF-) and opens in pdfinfo (correct xref).
  detect HEALTHZ FAULT_URL KIND ROUNDS
      ROUNDS times: wait a random 0-1 s (the outage lands at a random point of the
      probe schedule), set the fault KIND (down, blackhole, error), poll HEALTHZ every
      20 ms until upstream.state is "offline" (detection time), clear the fault and
      poll until "online" (recovery time). One line per round, then a summary line.
  failback HEALTHZ FAULT_URL ROUNDS
      ROUNDS times: set "down", wait for "offline", wait a random 0-1 s, clear it and
      time the way back to "online".
  flap HEALTHZ FAULT_URL SECONDS UP_MS DOWN_MS
      upstream.transitions before and after SECONDS of flapping, and each state change
      seen (polled every 50 ms).
  wait-state HEALTHZ STATE TIMEOUT_S
      polls until upstream.state is STATE; exit 1 on timeout.
  timed SINK BASE EXPECT TIMEOUT_S -- CMD...
      starts CMD, then counts the *.env files the stand-in queue's sink writes (one per
      document printed, written after the document) every 20 ms until BASE+EXPECT are
      there. Prints arrive_s (CMD start -> last arrival), cmd_s, cmd_rc and cmd's last
      output line. CMD is killed (by its PID) if TIMEOUT_S passes first.
  backends URI CONC TIMEOUT_S FILE...
      runs CUPS's ipp backend once per FILE, CONC at a time, as cupsd runs it
      (DEVICE_URI, CONTENT_TYPE=FINAL_CONTENT_TYPE=application/pdf; argv JOBID USER
      TITLE COPIES OPTIONS FILE; default options, so waitjob=true). stderr of each goes
      to FILE.log. Prints ok= fail= secs=.
  verify REPORT_URL EXPECT BLOB SIZE COUNT [BLOB SIZE COUNT ...]
      the stand-in's report: the queue's documents (since the last reset-report) must
      be EXPECT, their sha256 distinct, and equal to the sha256 set of the COUNT slices
      of SIZE bytes of each BLOB (the documents sent). Exit 1 otherwise.
"""
import concurrent.futures
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.request

POLL_S = 0.020
HTTP_TIMEOUT_S = 2.0


def http_json(url, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="GET" if body is None else "POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_S) as r:
        return json.loads(r.read() or b"null")


def upstream(healthz):
    """upstream object of /healthz, or None when the admin port does not answer."""
    try:
        return http_json(healthz)["upstream"]
    except (OSError, ValueError, KeyError):
        return None


def wait_state(healthz, state, timeout_s):
    """Seconds until upstream.state == state (polled every POLL_S), or None."""
    t0 = time.monotonic()
    for _ in range(int(timeout_s / POLL_S) + 1):
        u = upstream(healthz)
        if u is not None and u.get("state") == state:
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout_s:
            break
        time.sleep(POLL_S)
    return None


FAULTS = {
    "down": {"mode": "down", "seconds": 600},
    "blackhole": {"mode": "blackhole", "seconds": 600},
    "error": {"mode": "error", "status": 503, "seconds": 600},
}


def set_fault(fault_url, body):
    http_json(fault_url, body)


def fmt(v):
    return "n/a" if v is None else f"{v:.3f}"


def summary(label, values, failed):
    good = [v for v in values if v is not None]
    med = statistics.median(good) if good else None
    mx = max(good) if good else None
    mn = min(good) if good else None
    print(f"{label} n={len(good)} timeouts={failed} median_s={fmt(med)} min_s={fmt(mn)} max_s={fmt(mx)}")


def cmd_detect(healthz, fault_url, kind, rounds):
    rng = random.Random(f"detect-{kind}")
    det, rec, timeouts = [], [], 0
    for i in range(1, int(rounds) + 1):
        if wait_state(healthz, "online", 60) is None:
            print(f"round={i} not online before the fault; stopping")
            timeouts += 1
            break
        time.sleep(rng.uniform(0, 1))
        set_fault(fault_url, FAULTS[kind])
        d = wait_state(healthz, "offline", 30)
        set_fault(fault_url, {"mode": "none"})
        r = wait_state(healthz, "online", 60)
        timeouts += (d is None) + (r is None)
        det.append(d)
        rec.append(r)
        u = upstream(healthz) or {}
        print(f"round={i} kind={kind} detect_s={fmt(d)} recover_s={fmt(r)} transitions={u.get('transitions')}",
              flush=True)
    summary(f"detect kind={kind}", det, sum(1 for v in det if v is None))
    summary(f"recover(hold_down as configured) kind={kind}", rec, sum(1 for v in rec if v is None))
    return 1 if timeouts else 0


def cmd_failback(healthz, fault_url, rounds):
    rng = random.Random("failback")
    back, bad = [], 0
    for i in range(1, int(rounds) + 1):
        if wait_state(healthz, "online", 60) is None:
            print(f"round={i} not online before the fault; stopping")
            bad += 1
            break
        set_fault(fault_url, FAULTS["down"])
        d = wait_state(healthz, "offline", 30)
        time.sleep(rng.uniform(0, 1))
        set_fault(fault_url, {"mode": "none"})
        r = wait_state(healthz, "online", 60)
        bad += (d is None) + (r is None)
        back.append(r)
        print(f"round={i} detect_s={fmt(d)} failback_s={fmt(r)}", flush=True)
    summary("failback", back, sum(1 for v in back if v is None))
    return 1 if bad else 0


def cmd_flap(healthz, fault_url, seconds, up_ms, down_ms):
    seconds = float(seconds)
    before = upstream(healthz)
    if before is None:
        print("healthz does not answer")
        return 1
    set_fault(fault_url, {"mode": "flap", "up_ms": int(up_ms), "down_ms": int(down_ms), "seconds": seconds})
    t0 = time.monotonic()
    last, changes = before.get("state"), []
    for _ in range(int(seconds / 0.05) + 100):
        now = time.monotonic() - t0
        if now >= seconds:
            break
        u = upstream(healthz)
        if u is not None and u.get("state") != last:
            last = u.get("state")
            changes.append(f"{now:.1f}s:{last}")
        time.sleep(0.05)
    after = upstream(healthz) or {}
    set_fault(fault_url, {"mode": "none"})
    n = (after.get("transitions") or 0) - (before.get("transitions") or 0)
    print(f"flap seconds={seconds:.0f} up_ms={up_ms} down_ms={down_ms} transitions={n} "
          f"before={before.get('transitions')} after={after.get('transitions')} state_at_end={after.get('state')} "
          f"probes_failed={(after.get('probes_failed') or 0) - (before.get('probes_failed') or 0)} "
          f"changes_seen={','.join(changes) or 'none'}")
    return 0


def count_env(sink):
    try:
        return sum(1 for n in os.listdir(sink) if n.endswith(".env"))
    except OSError:
        return 0


def cmd_timed(sink, base, expect, timeout_s, cmd):
    base, expect, timeout_s = int(base), int(expect), float(timeout_s)
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    arrive = None
    for _ in range(int(timeout_s / POLL_S) + 1):
        if count_env(sink) >= base + expect:
            arrive = time.monotonic() - t0
            break
        if time.monotonic() - t0 > timeout_s:
            break
        time.sleep(POLL_S)
    try:
        out, _ = proc.communicate(timeout=max(1.0, timeout_s - (time.monotonic() - t0)))
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    cmd_s = time.monotonic() - t0
    lines = [ln for ln in (out or "").splitlines() if ln.strip()]
    last = lines[-1] if lines else ""
    print(f"arrive_s={fmt(arrive)} arrived={count_env(sink) - base} cmd_s={cmd_s:.3f} cmd_rc={proc.returncode} "
          f"cmd_out: {last}")
    return 0 if arrive is not None and proc.returncode == 0 else 1


def cmd_backends(uri, conc, timeout_s, files):
    env = dict(os.environ, DEVICE_URI=uri, CONTENT_TYPE="application/pdf", FINAL_CONTENT_TYPE="application/pdf",
               PRINTER="standin")

    def one(item):
        n, path = item
        with open(path + ".log", "wb") as log:
            try:
                r = subprocess.run(["/usr/lib/cups/backend/ipp", str(n), "bench", f"direct-{n}", "1", "", path],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log, env=env,
                                   timeout=float(timeout_s))
                return r.returncode
            except subprocess.TimeoutExpired:
                return -1

    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=int(conc)) as ex:
        rcs = list(ex.map(one, enumerate(files, 1)))
    secs = time.monotonic() - t0
    ok = sum(1 for rc in rcs if rc == 0)
    print(f"ok={ok} fail={len(rcs) - ok} secs={secs:.3f} first_bad_rc={next((rc for rc in rcs if rc != 0), 'none')}")
    return 0 if ok == len(rcs) else 1


def cmd_verify(report_url, expect, triples):
    want = []
    for i in range(0, len(triples), 3):
        blob, size, count = triples[i], int(triples[i + 1]), int(triples[i + 2])
        with open(blob, "rb") as f:
            for _ in range(count):
                want.append(hashlib.sha256(f.read(size)).hexdigest())
    req = urllib.request.Request(report_url)
    with urllib.request.urlopen(req, timeout=120) as r:   # it hashes every document
        docs = json.loads(r.read())["queue"]["documents"]
    got = [d["sha256"] for d in docs]
    distinct = len(set(got))
    missing = len(set(want) - set(got))
    foreign = len(set(got) - set(want))
    ok = len(got) == int(expect) and distinct == len(got) and missing == 0 and foreign == 0
    print(f"documents={len(got)} expected={expect} distinct_sha256={distinct} duplicates={len(got) - distinct} "
          f"missing={missing} unexpected={foreign} verdict={'ok' if ok else 'MISMATCH'}")
    return 0 if ok else 1


def cmd_mkpdf(out, size, count, seed):
    size, count = int(size), int(count)
    rng = random.Random(int(seed))
    content = b"2 w 72 72 m 523 770 l S 72 770 m 523 72 l S"
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"]
    head, offsets = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", []
    for num, o in enumerate(objs, 1):
        offsets.append(len(head))
        head += b"%d 0 obj\n" % num + o + b"\nendobj\n"
    offsets.append(len(head))   # object 5: the payload stream, never drawn

    def parts(n):   # (bytes before the payload, bytes after it) for an n-byte payload
        before = head + b"5 0 obj\n<< /Length %d >>\nstream\n" % n
        after = b"\nendstream\nendobj\n"
        xref = len(before) + n + len(after)
        after += b"xref\n0 6\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
        after += b"trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
        return before, after

    n = size
    for _ in range(6):   # /Length and startxref gain digits with n: settles in a few steps
        before, after = parts(max(n, 0))
        n = size - len(before) - len(after)
    before, after = parts(max(n, 0))
    if n < 0 or len(before) + n + len(after) != size:
        raise SystemExit(f"cannot make a {size}-byte PDF")
    with open(out, "wb") as f:
        for _ in range(count):
            f.write(before)
            left = n
            for _ in range(n // (1 << 20) + 1):   # payload in 1 MiB pieces
                piece = min(left, 1 << 20)
                f.write(rng.randbytes(piece))
                left -= piece
            f.write(after)
    return 0


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    cmd, args = argv[1], argv[2:]
    if cmd == "mkpdf" and len(args) == 4:
        return cmd_mkpdf(*args)
    if cmd == "detect" and len(args) == 4:
        return cmd_detect(*args)
    if cmd == "failback" and len(args) == 3:
        return cmd_failback(*args)
    if cmd == "flap" and len(args) == 5:
        return cmd_flap(*args)
    if cmd == "wait-state" and len(args) == 3:
        return 0 if wait_state(args[0], args[1], float(args[2])) is not None else 1
    if cmd == "timed" and len(args) >= 6 and args[4] == "--":
        return cmd_timed(args[0], args[1], args[2], args[3], args[5:])
    if cmd == "backends" and len(args) >= 4:
        return cmd_backends(args[0], args[1], args[2], args[3:])
    if cmd == "verify" and len(args) >= 5 and (len(args) - 2) % 3 == 0:
        return cmd_verify(args[0], args[1], args[2:])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
