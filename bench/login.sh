#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Login and release benchmark (issue #7): offline and online login latency through the
# terminal API with 100 synced users, a burst of 100 concurrent logins, and
# release-to-first-byte at a 9100 printer. The work is done by bench/login_client.py
# (its docstring says exactly what is measured); this script checks the tools, copies
# the binaries and cleans up. Not a pass/fail test: targets are printed beside figures.
#
# Usage: bench/login.sh     (~6-10 min on 2 cores; needs build/printgated, build/printgatectl,
#                            python3, openssl, argon2)
# Environment: USERS=100 PASSES=5 ROUNDS=20 PRINTGATED=... PRINTGATECTL=... KEEP=0 TMPDIR=/tmp
set -euo pipefail
export LC_ALL=C
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PGD_SRC=${PRINTGATED:-$ROOT/build/printgated}
PGCTL_SRC=${PRINTGATECTL:-$ROOT/build/printgatectl}
for b in "$PGD_SRC" "$PGCTL_SRC" /usr/bin/python3; do
    [[ -x $b ]] || { echo "missing $b (cmake --build build -j2 --target printgated printgatectl)" >&2; exit 2; }
done
for t in openssl argon2 timeout; do
    command -v "$t" >/dev/null || { echo "need $t (.ci/install-deps installs it)" >&2; exit 2; }
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/loginbench.XXXXXX")
HARNESS_FAIL=0
STARTED_PIDS=()
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$WORK/bin"
cp "$PGD_SRC" "$WORK/bin/printgated"
cp "$PGCTL_SRC" "$WORK/bin/printgatectl"
note "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
WORK=$WORK PGD=$WORK/bin/printgated PGCTL=$WORK/bin/printgatectl \
    timeout 1800 /usr/bin/python3 -I "$ROOT/bench/login_client.py" &
STARTED_PIDS+=("$!")
rc=0
wait "$!" || rc=$?
forget_pid "$!"
exit "$rc"
