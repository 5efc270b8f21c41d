# SPDX-License-Identifier: Apache-2.0
"""Journal output: structured fields through sd_journal_sendv, captured by a
journald stand-in socket in a private mount namespace (needs root, as CI)."""
import os
import signal
import subprocess

import json

from conftest import DEFAULT_CONFIG, PRINTGATED, Notify, send_raw, wait_until


def parse(path):
    with open(path, "rb") as f:
        raw = f.read()
    entries = []
    for chunk in raw.split(b"\x1e\n"):
        if not chunk:
            continue
        fields = {}
        for line in chunk.split(b"\n"):
            if b"=" in line:
                k, v = line.split(b"=", 1)
                fields[k.decode()] = v.decode(errors="replace")
        entries.append(fields)
    return entries


def test_events_carry_journal_fields(tmp_root):
    config = os.path.join(tmp_root, "printgate.yaml")
    with open(config, "w") as f:
        f.write(DEFAULT_CONFIG)
    out = os.path.join(tmp_root, "journal.bin")
    notify = Notify(os.path.join(tmp_root, "notify.sock"))
    env = dict(os.environ, NOTIFY_SOCKET=notify.path)
    helper = os.path.join(os.path.dirname(__file__), "journal_capture.py")
    proc = subprocess.Popen(["unshare", "-m", "/usr/bin/python3", helper, out,
                             PRINTGATED, "--config", config, "--log-target", "journal"], env=env)
    try:
        notify.wait_for("READY=1", proc=proc)
        ctl = [os.path.join(os.path.dirname(PRINTGATED), "printgatectl"), "--config", config]
        status = json.loads(subprocess.run([*ctl, "status", "--json"], capture_output=True, check=True).stdout)
        port = status["listeners"][0]["port"]
        assert send_raw(port, b"journal test job")
        wait_until(lambda: any(e.get("EVENT") == "job_committed" for e in parse(out)), what="job_committed entry")
    finally:
        # unshare execs python, so proc is the capture helper; it passes SIGTERM on.
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        notify.close()
    entries = parse(out)
    committed = [e for e in entries if e.get("EVENT") == "job_committed"]
    assert len(committed) == 1
    e = committed[0]
    assert e["JOB_ID"] == "1"
    assert e["QUEUE"] == "default"
    assert e["PROTO"] == "raw"
    assert e["PEER"].startswith("127.0.0.1:")
    assert e["PRIORITY"] == "6"
    assert e["SYSLOG_IDENTIFIER"] == "printgated"
    assert "job committed" in e["MESSAGE"]
    assert any(x.get("EVENT") == "ready" for x in entries)
    assert all("journal test job" not in v for x in entries for v in x.values())
