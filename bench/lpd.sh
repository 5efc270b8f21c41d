#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# LPD intake benchmark: printgated versus cups-lpd in front of a private cupsd, and
# raw 9100 jobs with a PJL header into printgated. Prints figures and ratios; not a
# pass/fail test (targets are printed beside the figures). Exit status is non-zero
# only when the harness itself failed (a job lost or refused, a daemon that would
# not start, a count that does not match).
#
#   (a) SMALL_JOBS (2000) x 10 KB LPD jobs at concurrency 1 and 8: printgate vs
#       cups-lpd (inetd-style, systemd-socket-activate --inetd -a) -> cupsd
#   (b) one BIG_MIB (200) MiB LPD job: printgate vs cups-lpd -> cupsd
#   (c) SMALL_JOBS x 10 KB raw 9100 jobs, each opening with a PJL header (JOB NAME,
#       SET USERNAME), at concurrency 1 and 8, into printgate
#
# Each run gets a fresh printgated state dir or a fresh cupsd (its queue is
# stopped, so jobs stay queued in both, as printgate holds them).
#
# Usage: bench/lpd.sh               (from anywhere; needs build/printgated)
# Environment: SMALL_JOBS=2000 BIG_MIB=200 KEEP=0 PRINTGATED=... PRINTGATECTL=...
#              TMPDIR=/tmp (state dirs, cupsd and inputs all go under one temp dir)
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PGD=${PRINTGATED:-$ROOT/build/printgated}
PGCTL=${PRINTGATECTL:-$ROOT/build/printgatectl}
CONF=$ROOT/conf/printgate.yaml
RIG=$ROOT/tests/integration/rig
CUPS_LPD=/usr/lib/cups/daemon/cups-lpd
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
SMALL_JOBS=${SMALL_JOBS:-2000}
SMALL_BYTES=10240
BIG_MIB=${BIG_MIB:-200}
BIG_BYTES=$((BIG_MIB * 1048576))
CLIENT_TIMEOUT=900   # seconds; every client run is bounded by this
export LPD_DEADLINE_S=${LPD_DEADLINE_S:-300} RAW9100_DEADLINE_S=${RAW9100_DEADLINE_S:-300}

for b in "$PGD" "$PGCTL" "$CUPS_LPD" /usr/sbin/cupsd /usr/bin/systemd-socket-activate; do
    [[ -x $b ]] || { echo "missing $b (build: cmake --build build -j2 --target printgated printgatectl)" >&2; exit 2; }
done
command -v cc >/dev/null || { echo "need a C compiler (cc)" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/lpdbench.XXXXXX")
chmod 755 "$WORK"   # cupsd's backends run as lp
HARNESS_FAIL=0
STARTED_PIDS=()   # only processes this script started; stopped by PID

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"   # note, fail, kv, calc, yn, forget_pid, bench_cleanup
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

free_port() { "$PY" -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
stop_pid() {   # $1: a PID this script started
    local i
    kill -TERM "$1" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$1" 2>/dev/null && kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    forget_pid "$1"
}
lpd_client() { timeout "$CLIENT_TIMEOUT" "$WORK/lpd_client" "$@"; }
raw_client() { timeout "$CLIENT_TIMEOUT" "$WORK/raw9100_client" "$@"; }

# ---------------------------------------------------------------- printgated
PG_PID="" PG_STATE="" PG_LPD="" PG_RAW=""
pg_ctl() { "$PGCTL" --config "$CONF" --set state_dir="$PG_STATE" "$@"; }
pg_start() {   # $1: state dir (fresh)
    PG_STATE=$1
    mkdir -p "$PG_STATE"
    "$PGD" --config "$CONF" --set state_dir="$PG_STATE" --set listen.lpd=127.0.0.1:0 \
        --set listen.raw=127.0.0.1:0 --set listen.ipp=127.0.0.1:0 --set spool.max_total_size=8GiB \
        --set spool.max_job_size=4GiB --set log.level=warning >>"$WORK/printgated.log" 2>&1 &
    PG_PID=$!
    STARTED_PIDS+=("$PG_PID")
    local i
    for ((i = 0; i < 100; i++)); do   # at most ~10 s
        if pg_ctl status --json >"$WORK/status.json" 2>/dev/null; then
            read -r PG_LPD PG_RAW < <("$PY" -c 'import json,sys
l={x["protocol"]:x["port"] for x in json.load(open(sys.argv[1]))["listeners"]}
print(l["lpd"], l["raw"])' "$WORK/status.json")
            return 0
        fi
        kill -0 "$PG_PID" 2>/dev/null || break
        sleep 0.1
    done
    cat "$WORK/printgated.log" >&2
    echo "printgated did not start" >&2
    exit 1
}
pg_stop() { [[ -z $PG_PID ]] || stop_pid "$PG_PID"; PG_PID=""; rm -rf "$PG_STATE"; }
pg_count() {   # $1: size, $2: user (or ""): committed jobs that match; then spool commits
    pg_ctl jobs --json | "$PY" -c 'import json,sys
j=json.load(sys.stdin); size=int(sys.argv[1]); user=sys.argv[2]
print(sum(1 for x in j if x["size"]==size and (not user or x["user"]==user)))' "$1" "$2"
}
pg_commits() { pg_ctl status --json | "$PY" -c 'import json,sys;s=json.load(sys.stdin)["spool"];print(s["commits"],s["commit_batches"])'; }

# ------------------------------------------------ cupsd + cups-lpd (inetd-style)
CUPS_PID="" SA_PID="" CUPS_PORT="" CUPS_LPD_PORT="" CUPS_ROOT=""
cups_env() { CUPS_SERVER=127.0.0.1:$CUPS_PORT "$@"; }
cups_start() {   # $1: root (fresh)
    CUPS_ROOT=$1
    local d i
    for d in etc spool/tmp cache run log; do mkdir -p "$CUPS_ROOT/$d"; done
    chmod 755 "$CUPS_ROOT" "$CUPS_ROOT/spool"
    chmod 1777 "$CUPS_ROOT/spool/tmp"
    CUPS_PORT=$(free_port)
    # The tests' private cupsd, quieter (LogLevel warn) and without job limits
    # (2000 queued jobs would pass the default MaxJobs of 500).
    sed -e "s|@ROOT@|$CUPS_ROOT|g" -e "s|@PORT@|$CUPS_PORT|g" -e 's/^LogLevel .*/LogLevel warn/' \
        "$RIG/cupsd.conf.in" >"$CUPS_ROOT/etc/cupsd.conf"
    printf 'MaxJobs 0\nMaxJobsPerPrinter 0\nMaxJobsPerUser 0\n' >>"$CUPS_ROOT/etc/cupsd.conf"
    sed -e "s|@ROOT@|$CUPS_ROOT|g" "$RIG/cups-files.conf.in" >"$CUPS_ROOT/etc/cups-files.conf"
    cupsd -f -c "$CUPS_ROOT/etc/cupsd.conf" -s "$CUPS_ROOT/etc/cups-files.conf" >>"$WORK/cupsd.log" 2>&1 &
    CUPS_PID=$!
    STARTED_PIDS+=("$CUPS_PID")
    for ((i = 0; i < 100; i++)); do   # lpstat -r exits 0 either way
        cups_env lpstat -r 2>/dev/null | grep -q 'is running' && break
        kill -0 "$CUPS_PID" 2>/dev/null || break
        sleep 0.1
    done
    cups_env lpstat -r 2>/dev/null | grep -q 'is running' || { echo "cupsd did not start" >&2; exit 1; }
    cups_env lpadmin -p bench -E -v file:///dev/null -m raw 2>/dev/null
    cups_env cupsdisable bench   # accepting, not printing: jobs stay queued
    CUPS_LPD_PORT=$(free_port)
    systemd-socket-activate --inetd -a -l "127.0.0.1:$CUPS_LPD_PORT" -E "CUPS_SERVER=127.0.0.1:$CUPS_PORT" \
        "$CUPS_LPD" -o document-format=application/octet-stream >"$WORK/sa.log" 2>&1 &
    SA_PID=$!
    STARTED_PIDS+=("$SA_PID")
    for ((i = 0; i < 100; i++)); do
        [[ -n $(ss -Hltn "sport = :$CUPS_LPD_PORT" 2>/dev/null) ]] && return 0
        kill -0 "$SA_PID" 2>/dev/null || break
        sleep 0.05
    done
    cat "$WORK/sa.log" >&2
    echo "systemd-socket-activate (cups-lpd) did not start" >&2
    exit 1
}
cups_stop() {
    [[ -z $SA_PID ]] || stop_pid "$SA_PID"
    [[ -z $CUPS_PID ]] || stop_pid "$CUPS_PID"
    SA_PID="" CUPS_PID=""
    rm -rf "$CUPS_ROOT"
}
cups_count() {   # jobs queued on "bench" (one line each)
    cups_env lpstat -o bench 2>/dev/null | grep -c '^bench-' || true
}
cups_wait_count() {   # $1: expected; cups-lpd's last submissions may still be in flight
    local i n=0
    for ((i = 0; i < 300; i++)); do
        n=$(cups_count)
        [[ $n -ge $1 ]] && break
        sleep 0.1
    done
    echo "$n"
}

# ============================================================== preparation
cc -O2 -Wall -pthread "$ROOT/bench/lpd_client.c" -o "$WORK/lpd_client"
cc -O2 -Wall -pthread "$ROOT/bench/raw9100_client.c" -o "$WORK/raw9100_client"

note "lpd benchmark — $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
note "machine: $(nproc) cores, $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/{printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo), kernel $(uname -r)"
note "work dir: $WORK ($(findmnt -no FSTYPE,SOURCE --target "$WORK" | tr -s ' ' ' '))"
note "printgated: $PGD; cups-lpd/cupsd: $(dpkg-query -W -f '${Version}' cups-daemon 2>/dev/null || echo '?')"
note "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (the machine may be shared; figures move with it)"
note "sizes: ${SMALL_JOBS} x ${SMALL_BYTES} B small jobs, big job ${BIG_MIB} MiB; one run each"
note ""

head -c "$((SMALL_JOBS * SMALL_BYTES))" /dev/urandom >"$WORK/small.bin"   # job i = slice i
head -c "$BIG_BYTES" /dev/urandom >"$WORK/big.bin"
# 9100 jobs: a PJL header as a Windows driver writes it, then random bytes; 10240 B each.
"$PY" - "$WORK/pjl.bin" "$SMALL_JOBS" "$SMALL_BYTES" <<'PY'
import os, sys
path, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, "wb") as f:
    for i in range(n):
        head = (b"\x1b%%-12345X@PJL JOB NAME=\"bench %d\"\r\n@PJL SET USERNAME=\"pjluser\"\r\n"
                b"@PJL ENTER LANGUAGE=PCL\r\n" % i)
        f.write(head + os.urandom(size - len(head)))
PY

declare -A PG_JPS CUPS_JPS RAW_JPS

# ======================================================= (a) small LPD jobs
note "== (a) ${SMALL_JOBS} x ${SMALL_BYTES} B LPD jobs; wall time until the last client saw the server close"
for c in 1 8; do
    pg_start "$WORK/pg-a$c"
    out=$(lpd_client many 127.0.0.1 "$PG_LPD" default "$WORK/small.bin" "$SMALL_BYTES" "$SMALL_JOBS" "$c") ||
        fail "printgate LPD c$c: $out"
    listed=$(pg_count "$SMALL_BYTES" bench)
    read -r commits batches < <(pg_commits)
    pg_stop
    PG_JPS[$c]=$(kv jobs_per_s "$out")
    note "printgate c$c: $(kv ok "$out") ok, $(kv fail "$out") failed, $(kv secs "$out") s -> ${PG_JPS[$c]} jobs/s; latency p50 $(kv p50_ms "$out") ms, p90 $(kv p90_ms "$out") ms, p99 $(kv p99_ms "$out") ms, max $(kv max_ms "$out") ms"
    note "              commits ${commits} in ${batches} fsynced batches ($(calc '%.2f' "$commits / ($batches > 0 ? $batches : 1)") jobs per fsync); every job committed before its last acknowledgement"
    [[ $listed == "$SMALL_JOBS" ]] && note "              verified: printgatectl jobs lists ${listed} jobs of ${SMALL_BYTES} B by user bench" ||
        fail "printgate c$c lists ${listed} jobs of ${SMALL_BYTES} B by bench, expected ${SMALL_JOBS}"

    cups_start "$WORK/cups-a$c"
    out=$(lpd_client many 127.0.0.1 "$CUPS_LPD_PORT" bench "$WORK/small.bin" "$SMALL_BYTES" "$SMALL_JOBS" "$c") ||
        fail "cups-lpd c$c: $out"
    queued=$(cups_wait_count "$SMALL_JOBS")
    cups_stop
    CUPS_JPS[$c]=$(kv jobs_per_s "$out")
    note "cups-lpd  c$c: $(kv ok "$out") ok, $(kv fail "$out") failed, $(kv secs "$out") s -> ${CUPS_JPS[$c]} jobs/s; latency p50 $(kv p50_ms "$out") ms, p90 $(kv p90_ms "$out") ms, p99 $(kv p99_ms "$out") ms, max $(kv max_ms "$out") ms"
    [[ $queued == "$SMALL_JOBS" ]] && note "              verified: lpstat -o lists ${queued} jobs queued in cupsd" ||
        fail "cupsd has ${queued} jobs queued after cups-lpd c$c, expected ${SMALL_JOBS}"
done
note ""

# ========================================================= (b) one big LPD job
note "== (b) one ${BIG_MIB} MiB LPD job, connect -> server close (MB/s = 1e6 B/s)"
sync
pg_start "$WORK/pg-b"
out=$(lpd_client one 127.0.0.1 "$PG_LPD" default "$WORK/big.bin") || fail "printgate big job: $out"
PG_MBPS=$(kv mbps "$out")
listed=$(pg_count "$BIG_BYTES" "")
pg_stop
note "printgate: $(kv secs "$out") s -> ${PG_MBPS} MB/s (committed, fsynced, before the last acknowledgement)"
[[ $listed == 1 ]] || fail "printgate lists ${listed} jobs of ${BIG_BYTES} B, expected 1"
sync
cups_start "$WORK/cups-b"
out=$(lpd_client one 127.0.0.1 "$CUPS_LPD_PORT" bench "$WORK/big.bin") || fail "cups-lpd big job: $out"
CUPS_MBPS=$(kv mbps "$out")
queued=$(cups_wait_count 1)
size=$(find "$CUPS_ROOT/spool" -maxdepth 1 -name 'd*-001' -printf '%s\n' | head -1)
cups_stop
note "cups-lpd:  $(kv secs "$out") s -> ${CUPS_MBPS} MB/s (in cupsd's spool, not fsynced)"
[[ $queued == 1 && ${size:-0} == "$BIG_BYTES" ]] || fail "cupsd has ${queued} jobs, spool file of ${size:-no} bytes"
note ""

# ================================================ (c) small 9100 jobs with PJL
note "== (c) ${SMALL_JOBS} x ${SMALL_BYTES} B raw 9100 jobs with a PJL header, into printgate"
for c in 1 8; do
    pg_start "$WORK/pg-c$c"
    out=$(raw_client many 127.0.0.1 "$PG_RAW" "$WORK/pjl.bin" "$SMALL_BYTES" "$SMALL_JOBS" "$c") ||
        fail "printgate 9100 c$c: $out"
    listed=$(pg_count "$SMALL_BYTES" pjluser)
    pg_stop
    RAW_JPS[$c]=$(kv jobs_per_s "$out")
    note "printgate c$c: $(kv ok "$out") ok, $(kv fail "$out") failed, $(kv secs "$out") s -> ${RAW_JPS[$c]} jobs/s; latency p50 $(kv p50_ms "$out") ms, p99 $(kv p99_ms "$out") ms"
    [[ $listed == "$SMALL_JOBS" ]] && note "              verified: ${listed} jobs owned by pjluser (from the PJL header)" ||
        fail "printgate 9100 c$c lists ${listed} jobs owned by pjluser, expected ${SMALL_JOBS}"
done
note ""

# ================================================================= summary
r1=$(calc '%.2f' "${PG_JPS[1]} / ${CUPS_JPS[1]}")
r8=$(calc '%.2f' "${PG_JPS[8]} / ${CUPS_JPS[8]}")
rb=$(calc '%.2f' "$PG_MBPS / $CUPS_MBPS")
note "== summary (one run)"
row() { printf '%-44s %-26s %-12s %s\n' "$@"; }
row "figure" "value" "target" "status"
row "(a) LPD small jobs c1 printgate / cups-lpd" "${PG_JPS[1]} / ${CUPS_JPS[1]} jobs/s" "" ""
row "(a) ratio c1" "${r1}" "" ""
row "(a) LPD small jobs c8 printgate / cups-lpd" "${PG_JPS[8]} / ${CUPS_JPS[8]} jobs/s" "" ""
row "(a) ratio c8" "${r8}" ">= 5.00" "$(yn "$r8 >= 5")"
row "(b) ${BIG_MIB} MiB LPD job printgate / cups-lpd" "${PG_MBPS} / ${CUPS_MBPS} MB/s" "" ""
row "(b) ratio" "${rb}" ">= 3.00" "$(yn "$rb >= 3")"
row "(c) 9100+PJL small jobs c1 / c8" "${RAW_JPS[1]} / ${RAW_JPS[8]} jobs/s" "" ""
note ""
note "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
if ((HARNESS_FAIL)); then
    note "the harness itself failed somewhere above (see HARNESS FAILURE lines)"
    exit 1
fi
