# SPDX-License-Identifier: Apache-2.0
"""A full disk refuses the job cleanly, deletes its partial data, and the
daemon keeps serving. Uses a small tmpfs (the test suite runs as root, as CI does)."""
import os
import subprocess

import pytest

from conftest import Daemon, send_raw

CONFIG = """\
state_dir: small/state
listen:
  raw: 127.0.0.1:0
queues:
  default: {}
limits:
  shutdown_timeout: 5s
"""


@pytest.fixture
def small_fs(tmp_root):
    mnt = os.path.join(tmp_root, "small")
    os.mkdir(mnt)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=0755", "tmpfs", mnt], capture_output=True)
    assert r.returncode == 0, f"mounting a tmpfs needs root: {r.stderr.decode()}"
    yield mnt
    subprocess.run(["umount", "-l", mnt])


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


@pytest.mark.parametrize("floor", ["0", "4MiB"])
def test_full_disk_refuses_cleanly_and_keeps_serving(tmp_root, small_fs, floor):
    d = Daemon(tmp_root, CONFIG, state="small/state").start("--set", f"spool.min_free_space={floor}")
    port = d.raw_port()
    assert send_raw(port, b"before the disk filled up")
    before = free_bytes(small_fs)
    # 24 MiB cannot fit in a 16 MiB file system: ENOSPC (floor 0) or the floor stops it.
    assert send_raw(port, os.urandom(24 << 20)) is False
    jobs = d.jobs()
    assert len(jobs) == 1
    assert os.listdir(os.path.join(d.state, "spool", "jobs")) == []
    # The partial data is gone again: free space is back (within a few pages).
    assert free_bytes(small_fs) >= before - (256 << 10)
    log = d.log_text()
    assert "EVENT=job_refused" in log
    if floor == "0":
        assert "file system full (ENOSPC)" in log
    else:
        assert "free disk space below spool.min_free_space" in log
    # Still serving, and the first job is intact.
    assert send_raw(port, b"after")
    docs = sorted(d.cat(j["id"]).stdout for j in d.jobs())
    assert docs == [b"after", b"before the disk filled up"]
    assert d.stop() == 0


def test_job_refused_up_front_below_floor(tmp_root, small_fs):
    d = Daemon(tmp_root, CONFIG, state="small/state").start("--set", "spool.min_free_space=64MiB")
    assert send_raw(d.raw_port(), b"no room") is False
    assert d.jobs() == []
    assert "free disk space below spool.min_free_space" in d.log_text()
    assert d.stop() == 0
