# SPDX-License-Identifier: Apache-2.0
"""Configuration errors, --check-config, printgatectl check-config, SIGHUP reload."""
import os
import re
import signal
import subprocess

from conftest import PRINTGATECTL, PRINTGATED, SOURCE, Daemon, send_raw, wait_until

BROKEN = """\
state_dir: state
listen:
  raw: 300.1.1.1:9100
queues:
  default: {}
spool:
  max_job_size: lots
lgo:
  level: info
"""


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def test_check_config_reports_every_error_with_line_and_column(tmp_root):
    path = os.path.join(tmp_root, "broken.yaml")
    write(path, BROKEN)
    for cmd in ([PRINTGATED, "--check-config", "--config", path], [PRINTGATECTL, "--config", path, "check-config"]):
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        assert r.returncode == 78, r.stderr
        lines = [l for l in r.stderr.splitlines() if l.startswith(path + ":")]
        located = {int(m.group(1)) for l in lines if (m := re.match(re.escape(path) + r":(\d+):(\d+): ", l))}
        assert {3, 7, 8} <= located, r.stderr


def test_repository_default_config_is_valid():
    path = os.path.join(SOURCE, "conf", "printgate.yaml")
    r = subprocess.run([PRINTGATED, "--check-config", "--config", path], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([PRINTGATECTL, "--config", path, "check-config"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr


def test_config_from_environment_and_missing_file(tmp_root):
    env = dict(os.environ, PRINTGATE_CONFIG=os.path.join(tmp_root, "nope.yaml"))
    r = subprocess.run([PRINTGATED, "--check-config"], capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 78
    assert "nope.yaml" in r.stderr and "cannot read" in r.stderr


def test_set_override_errors_exit_78(tmp_root):
    d = Daemon(tmp_root)
    r = subprocess.run([PRINTGATED, "--config", d.config, "--set", "spool.max_job_size=abc"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 78
    assert "--set" in r.stderr and "spool.max_job_size" in r.stderr


def test_sighup_reloads_limits_and_keeps_running_config_when_broken(tmp_root):
    d = Daemon(tmp_root).start()
    port = d.raw_port()
    assert send_raw(port, os.urandom(2 << 20))
    with open(d.config) as f:
        good = f.read()
    write(d.config, good + "spool:\n  max_job_size: 1MiB\n")
    d.proc.send_signal(signal.SIGHUP)
    d.notify.wait_for("STATUS=", proc=d.proc)
    assert send_raw(port, os.urandom(2 << 20)) is False
    assert d.status()["spool"]["max_job_size"] == 1 << 20
    # A broken file on reload is reported and the running configuration kept.
    # (printgatectl refuses a broken file too, so it reads a good copy from here on.)
    daemon_config = d.config
    d.config = os.path.join(tmp_root, "ctl.yaml")
    write(d.config, good)
    write(daemon_config, BROKEN)
    d.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "keeping the running configuration" in d.log_text(), what="reload refusal")
    assert d.status()["spool"]["max_job_size"] == 1 << 20
    assert send_raw(port, b"still serving")
    assert "EVENT=reload_failed" in d.log_text()
    assert d.stop() == 0


def test_log_lines_carry_structured_fields(tmp_root):
    d = Daemon(tmp_root).start()
    assert send_raw(d.raw_port(), b"x")
    job = d.jobs()[0]
    assert d.stop() == 0
    line = next(l for l in d.log_text().splitlines() if "EVENT=job_committed" in l)
    assert f"JOB_ID={job['id']}" in line
    assert "QUEUE=default" in line and "PROTO=raw" in line and "PEER=127.0.0.1:" in line
