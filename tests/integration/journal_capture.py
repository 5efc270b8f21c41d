# SPDX-License-Identifier: Apache-2.0
"""Runs inside a private mount namespace (unshare -m): puts a tmpfs on
/run/systemd, listens on /run/systemd/journal/socket like journald, runs the
command given, and writes every datagram it received (journald's native
protocol, one FIELD=value per line) to the output file, separated by "\\x1e\\n"."""
import os
import signal
import socket
import subprocess
import sys

out_path, cmd = sys.argv[1], sys.argv[2:]
subprocess.run(["mount", "--make-rprivate", "/"], check=True)
os.makedirs("/run/systemd", exist_ok=True)
subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/run/systemd"], check=True)
os.makedirs("/run/systemd/journal")
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind("/run/systemd/journal/socket")
sock.settimeout(0.2)
proc = subprocess.Popen(cmd)
# SIGTERM to this helper is passed on to the command, which then exits.
signal.signal(signal.SIGTERM, lambda *_: proc.send_signal(signal.SIGTERM))
with open(out_path, "wb") as out:
    while True:
        try:
            data = sock.recv(1 << 20)
            out.write(data + b"\x1e\n")
            out.flush()
        except socket.timeout:
            if proc.poll() is not None:
                break
sys.exit(proc.returncode)
