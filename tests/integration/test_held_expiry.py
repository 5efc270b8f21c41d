# SPDX-License-Identifier: Apache-2.0
"""spool.held_job_ttl (issue #7): a job held longer than the ttl is canceled and
crypto-shredded with EVENT=job_expired; a job that left held (released, waiting for
its printer) is not. The configuration refuses a ttl under 1m, so the daemon runs with
the test-only PG_TEST_HELD_JOB_TTL_MS (docs/job-states.md)."""
import os

from conftest import Daemon, send_raw, wait_until

CONFIG = """\
state_dir: state
listen:
  raw: [127.0.0.1:0, {address: 127.0.0.1:0, queue: out}]
printers:
  gone: ipp://127.0.0.1:9/ipp/print
queues:
  held: {}
  out: {printer: gone}
default_queue: held
log:
  level: debug
limits:
  shutdown_timeout: 5s
"""


def test_held_jobs_expire_and_are_shredded(tmp_root):
    d = Daemon(tmp_root, CONFIG).start(env_extra={"PG_TEST_HELD_JOB_TTL_MS": "3000"})
    assert "PG_TEST_HELD_JOB_TTL_MS is set" in d.log_text()
    send_raw(d.raw_port(0), b"expiring job\n")
    send_raw(d.raw_port(1), b"released job\n")
    jobs = {j["queue"]: j for j in d.jobs()}
    held, out = jobs["held"]["id"], jobs["out"]["id"]
    assert jobs["held"]["state"] == "pending-held" and jobs["out"]["state"] == "pending-held"
    # Released to a printer that never answers: pending, not held, so it never expires.
    d.ctl("release", str(out))
    wait_until(lambda: held not in {j["id"] for j in d.jobs()}, timeout=30, what="the held job to expire")
    remaining = {j["id"]: j for j in d.jobs()}
    assert out in remaining and remaining[out]["state"] == "pending", remaining
    assert d.cat(held).returncode != 0
    log = d.log_text()
    line = next(l for l in log.splitlines() if "EVENT=job_expired" in l and f"JOB_ID={held}" in l)
    assert "REASON=held_job_ttl" in line and "held longer than 3s" in line and "shredded" in line, line
    assert "expiring job" not in log
    # The spool holds nothing of it at rest any more.
    d.stop()
    for root, _, names in os.walk(d.state):
        for name in names:
            with open(os.path.join(root, name), "rb") as f:
                assert b"expiring job" not in f.read(), name
