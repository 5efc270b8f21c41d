#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Raw 9100 intake benchmark: printgated versus p910nd (Debian), plus the machine's
# own ceilings. Prints figures; it is not a pass/fail test (targets are printed
# beside the figures). Exit status is non-zero only when the harness itself failed
# (a job lost or refused, a daemon that would not start, a count that does not match).
#
#   (a) one BIG_MIB (500) MiB incompressible job, printgate vs p910nd -f FILE
#       (p910nd also with `sync -f FILE` added), REPEAT (3) times, median MB/s
#   (b) SMALL_JOBS (2000) x 10 KB random jobs at concurrency 1 and 8: committed
#       jobs/s, jobs per fsync (commits / commit_batches); p910nd as a reference
#   (c) printgated VmRSS/VmHWM: idle, sampled every 100 ms during (a), after (a),
#       and during a MID_MIB (50) MiB job to see whether memory is flat in job size
#   (d) ceilings: openssl speed AES-256-GCM (64 KiB blocks) and dd 1 GiB conv=fsync
#
# Usage: bench/raw9100.sh            (from anywhere; needs build/printgated)
# Environment: BIG_MIB=500 MID_MIB=50 SMALL_JOBS=2000 REPEAT=3 KEEP=0
#              PRINTGATED=... PRINTGATECTL=... TMPDIR=/tmp (state, p910nd output
#              and dd file all go under one temp dir there, so on one disk)
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PGD=${PRINTGATED:-$ROOT/build/printgated}
PGCTL=${PRINTGATECTL:-$ROOT/build/printgatectl}
CONF=$ROOT/conf/printgate.yaml
P910ND=/usr/sbin/p910nd
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
BIG_MIB=${BIG_MIB:-500}
MID_MIB=${MID_MIB:-50}
SMALL_JOBS=${SMALL_JOBS:-2000}
SMALL_BYTES=10240
REPEAT=${REPEAT:-3}
CLIENT_TIMEOUT=900   # seconds; every client run is bounded by this
export RAW9100_DEADLINE_S=${RAW9100_DEADLINE_S:-300}   # `many` starts no new job after this (then: skipped=)

for b in "$PGD" "$PGCTL" "$P910ND" /usr/bin/systemd-socket-activate; do
    [[ -x $b ]] || { echo "missing $b (build: cmake --build build -j2 --target printgated printgatectl)" >&2; exit 2; }
done
command -v cc >/dev/null || { echo "need a C compiler (cc)" >&2; exit 2; }
command -v openssl >/dev/null || { echo "need openssl" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/raw9100.XXXXXX")
HARNESS_FAIL=0
STARTED_PIDS=()   # only processes this script started; killed by PID at exit

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }
status_of() { awk -v k="$2" '$1==k":"{print $2}' "/proc/$1/status" 2>/dev/null; }   # kB
free_port() { "$PY" -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# ---------------------------------------------------------------- printgated
PG_PID="" PG_STATE="" PG_PORT=""
pg_ctl() { "$PGCTL" --config "$CONF" --set state_dir="$PG_STATE" "$@"; }

pg_start() {   # $1: state dir (fresh)
    PG_STATE=$1
    mkdir -p "$PG_STATE"
    "$PGD" --config "$CONF" --set state_dir="$PG_STATE" --set listen.raw=127.0.0.1:0 \
        --set spool.max_total_size=8GiB --set spool.max_job_size=4GiB --set log.level=warning \
        >>"$WORK/printgated.log" 2>&1 &
    PG_PID=$!
    STARTED_PIDS+=("$PG_PID")
    local i
    for ((i = 0; i < 100; i++)); do   # at most ~10 s
        if pg_ctl status --json >"$WORK/status.json" 2>/dev/null; then
            PG_PORT=$("$PY" -c 'import json,sys;print(json.load(open(sys.argv[1]))["listeners"][0]["port"])' \
                "$WORK/status.json")
            return 0
        fi
        kill -0 "$PG_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "printgated did not start; log:" >&2
    cat "$WORK/printgated.log" >&2
    exit 1
}

pg_stop() {
    [[ -n $PG_PID ]] || return 0
    kill -TERM "$PG_PID" 2>/dev/null || true
    local i
    for ((i = 0; i < 150; i++)); do kill -0 "$PG_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$PG_PID" 2>/dev/null && kill -KILL "$PG_PID" 2>/dev/null || true
    wait "$PG_PID" 2>/dev/null || true
    forget_pid "$PG_PID"
    PG_PID=""
}

pg_spool() {   # prints "jobs commits commit_batches"
    pg_ctl status --json | "$PY" -c 'import json,sys;s=json.load(sys.stdin)["spool"];print(s["jobs"],s["commits"],s["commit_batches"])'
}

pg_job_sizes() {   # committed jobs, one size a line
    pg_ctl jobs --json | "$PY" -c 'import json,sys;[print(j["size"]) for j in json.load(sys.stdin)]'
}

# ------------------------------------------------------------- p910nd (inetd)
SA_PID="" SA_PORT=""
p9_start() {   # $1: output file (created fresh: p910nd does not create or truncate it)
    : >"$1"
    mkdir -p /var/lock/p910nd
    SA_PORT=$(free_port)
    systemd-socket-activate --inetd -a -l "127.0.0.1:$SA_PORT" "$P910ND" -f "$1" >"$WORK/sa.log" 2>&1 &
    SA_PID=$!
    STARTED_PIDS+=("$SA_PID")
    local i
    for ((i = 0; i < 100; i++)); do   # at most ~5 s
        if grep -q "^Listening on" "$WORK/sa.log" 2>/dev/null &&
            [[ -n $(ss -Hltn "sport = :$SA_PORT" 2>/dev/null) ]]; then
            return 0
        fi
        kill -0 "$SA_PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "systemd-socket-activate did not start:" >&2
    cat "$WORK/sa.log" >&2
    exit 1
}

p9_stop() {
    [[ -n $SA_PID ]] || return 0
    # Each connection's p910nd child has exited by the time its client saw the close.
    kill -TERM "$SA_PID" 2>/dev/null || true
    wait "$SA_PID" 2>/dev/null || true
    forget_pid "$SA_PID"
    SA_PID=""
}

client() { timeout "$CLIENT_TIMEOUT" "$WORK/raw9100_client" "$@"; }

p9_diag() {   # why did a p910nd run fail? (shown with the failure)
    note "  p910nd diagnostics: socket-activate pid $SA_PID $(kill -0 "$SA_PID" 2>/dev/null && echo alive || echo gone)," \
        "listener on :$SA_PORT: $(ss -Hltn "sport = :$SA_PORT" 2>/dev/null | wc -l), last log lines:"
    tail -n 5 "$WORK/sa.log" 2>/dev/null | sed 's/^/    /'
}

# One p910nd run on a fresh instance and output file ($1); the client's arguments
# follow, with PORT standing for the instance's port. A failed run is shown with
# diagnostics and retried once on a fresh instance. Sets P9_OUT and P9_SYNC_S
# (time of `sync -f FILE` right after the client saw the close).
p9_run() {
    local file=$1 attempt a args
    shift
    for attempt in 1 2; do
        p9_start "$file"
        args=()
        for a in "$@"; do [[ $a == PORT ]] && args+=("$SA_PORT") || args+=("$a"); done
        sync
        if P9_OUT=$(client "${args[@]}"); then
            local t0 t1
            t0=$(now); sync -f "$file"; t1=$(now)
            P9_SYNC_S=$(calc '%.4f' "$t1 - $t0")
            p9_stop
            return 0
        fi
        note "  p910nd run failed (attempt $attempt): $P9_OUT"
        p9_diag
        p9_stop
    done
    return 1
}

# ============================================================== preparation
cc -O2 -Wall -pthread "$ROOT/bench/raw9100_client.c" -o "$WORK/raw9100_client"

note "raw9100 benchmark — $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
note "machine: $(nproc) cores, $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/{printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo), kernel $(uname -r)"
note "work dir: $WORK ($(findmnt -no FSTYPE,SOURCE --target "$WORK" | tr -s ' ' ' '))"
note "printgated: $PGD ($("$PGD" --version 2>/dev/null | head -1 || echo '?')); p910nd: $(dpkg-query -W -f '${Version}' p910nd 2>/dev/null || echo '?')"
note "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (the machine may be shared; figures move with it)"
note "sizes: big job ${BIG_MIB} MiB, mid job ${MID_MIB} MiB, ${SMALL_JOBS} x ${SMALL_BYTES} B small jobs, ${REPEAT} repeats"
note ""

head -c "$((BIG_MIB * 1048576))" /dev/urandom >"$WORK/big.bin"
head -c "$((MID_MIB * 1048576))" /dev/urandom >"$WORK/mid.bin"
head -c "$((SMALL_JOBS * SMALL_BYTES))" /dev/urandom >"$WORK/small.bin"   # job i = slice i
BIG_BYTES=$((BIG_MIB * 1048576))

# ======================================================== (d) machine ceilings
note "== (d) machine ceilings"
openssl speed -evp aes-256-gcm -bytes 65536 -seconds 3 >"$WORK/openssl.txt" 2>&1
# "AES-256-GCM  4443009.81k": 1000s of bytes per second for 65536-byte blocks
AES_MBPS=$(awk 'toupper($1)=="AES-256-GCM" && $NF ~ /k$/ {v=$NF; sub(/k$/,"",v); printf "%.0f", v/1000}' "$WORK/openssl.txt")
[[ -n $AES_MBPS ]] || { cat "$WORK/openssl.txt"; fail "could not parse openssl speed"; AES_MBPS=0; }
note "openssl speed -evp aes-256-gcm, 64 KiB blocks, 1 thread: ${AES_MBPS} MB/s"
sync
DD_OUT=$(dd if=/dev/zero of="$WORK/dd.bin" bs=1M count=1024 conv=fsync 2>&1 | tail -1)
DD_MBPS=$(awk '{for(i=1;i<=NF;i++) if($i=="s,"){printf "%.0f", $1/$(i-1)/1e6}}' <<<"$DD_OUT")
rm -f "$WORK/dd.bin"
note "dd bs=1M count=1024 conv=fsync: ${DD_MBPS} MB/s   ($DD_OUT)"
sync
DDD_OUT=$(dd if=/dev/zero of="$WORK/dd.bin" bs=1M count=1024 oflag=direct conv=fsync 2>&1 | tail -1) || DDD_OUT="oflag=direct not supported"
DDD_MBPS=$(awk '{for(i=1;i<=NF;i++) if($i=="s,"){printf "%.0f", $1/$(i-1)/1e6}}' <<<"$DDD_OUT")
rm -f "$WORK/dd.bin"
note "(info) dd ... oflag=direct conv=fsync, the device without the page cache: ${DDD_MBPS:-?} MB/s (not used in the ratios)"
CEIL=$(( AES_MBPS < DD_MBPS ? AES_MBPS : DD_MBPS ))
note "ceiling min(AES, disk) = ${CEIL} MB/s"
note ""

# ============================================= (a)+(c) one big job, and RSS
note "== (a) one ${BIG_MIB} MiB incompressible job, connect -> server close (MB/s = 1e6 B/s)"
pg_start "$WORK/pg-a"
sleep 1
IDLE_RSS=$(status_of "$PG_PID" VmRSS) IDLE_HWM=$(status_of "$PG_PID" VmHWM)
note "(c) printgated idle after start: VmRSS ${IDLE_RSS} kB, VmHWM ${IDLE_HWM} kB"

sync
out=$(client one 127.0.0.1 "$PG_PORT" "$WORK/mid.bin" "$PG_PID") || fail "printgate ${MID_MIB} MiB job: $out"
MID_PEAK=$(kv rss_peak_kb "$out") MID_HWM=$(kv hwm_kb "$out")
note "(c) printgate ${MID_MIB} MiB job: $(kv mbps "$out") MB/s; VmRSS peak ${MID_PEAK} kB, VmHWM ${MID_HWM} kB ($(kv rss_samples "$out") samples)"

PG_MBPS=() P9_MBPS=() P9S_MBPS=() BIG_PEAKS=() PAIRS=()
for ((r = 1; r <= REPEAT; r++)); do
    sync
    if out=$(client one 127.0.0.1 "$PG_PORT" "$WORK/big.bin" "$PG_PID"); then
        PG_MBPS+=("$(kv mbps "$out")")
    else
        fail "printgate big job run $r: $out"
    fi
    BIG_PEAKS+=("$(kv rss_peak_kb "$out")")
    note "run $r printgate : $(kv secs "$out") s  $(kv mbps "$out") MB/s  (load $(cut -d' ' -f1 /proc/loadavg); VmRSS peak $(kv rss_peak_kb "$out") kB, VmHWM $(kv hwm_kb "$out") kB, $(kv rss_samples "$out") samples)"

    if ! p9_run "$WORK/p910nd.out" one 127.0.0.1 PORT "$WORK/big.bin"; then
        fail "p910nd big job run $r: $P9_OUT"
        continue
    fi
    out=$P9_OUT
    secs=$(kv secs "$out") sync_s=$P9_SYNC_S
    got=$(stat -c %s "$WORK/p910nd.out")
    [[ $got == "$BIG_BYTES" ]] || fail "p910nd wrote $got bytes, expected $BIG_BYTES"
    P9_MBPS+=("$(kv mbps "$out")")
    P9S_MBPS+=("$(calc '%.1f' "$BIG_BYTES / 1e6 / ($secs + $sync_s)")")
    note "run $r p910nd    : ${secs} s  $(kv mbps "$out") MB/s;  + sync -f ${sync_s} s -> ${P9S_MBPS[-1]} MB/s  (load $(cut -d' ' -f1 /proc/loadavg))"
    # Back-to-back pairs drift less with the machine's load than the medians do.
    PAIRS+=("$(calc '%.2f' "${PG_MBPS[-1]:-0} / ${P9_MBPS[-1]}")/$(calc '%.2f' "${PG_MBPS[-1]:-0} / ${P9S_MBPS[-1]}")")
    rm -f "$WORK/p910nd.out"
done
sleep 0.5
AFTER_RSS=$(status_of "$PG_PID" VmRSS) AFTER_HWM=$(status_of "$PG_PID" VmHWM)
note "(c) printgated after (a): VmRSS ${AFTER_RSS} kB, VmHWM ${AFTER_HWM} kB"
mapfile -t sizes < <(pg_job_sizes)
want=$((REPEAT + 1))
if [[ ${#sizes[@]} -ne $want ]]; then
    fail "printgate has ${#sizes[@]} committed jobs after (a), expected $want"
else
    bad=0
    for s in "${sizes[@]}"; do [[ $s == "$BIG_BYTES" || $s == "$((MID_MIB * 1048576))" ]] || bad=1; done
    ((bad == 0)) && note "verified: printgatectl jobs lists $want jobs of the sent sizes" || fail "job sizes ${sizes[*]}"
fi
pg_stop
rm -rf "$WORK/pg-a"

PG_MED=$(median "${PG_MBPS[@]}") P9_MED=$(median "${P9_MBPS[@]}") P9S_MED=$(median "${P9S_MBPS[@]}")
PG_MED=${PG_MED:-n/a} P9_MED=${P9_MED:-n/a} P9S_MED=${P9S_MED:-n/a}
BIG_PEAK=$(printf '%s\n' "${BIG_PEAKS[@]}" | sort -n | tail -1)
# Peak per job size: the larger of the 100 ms samples and VmHWM right after (VmHWM
# also catches a spike between samples; it only grows, so the mid job comes first).
MID_TOP=$(( MID_PEAK > MID_HWM ? MID_PEAK : MID_HWM ))
BIG_TOP=$(( BIG_PEAK > AFTER_HWM ? BIG_PEAK : AFTER_HWM ))
range() { printf '%s\n' "$@" | sort -g | awk 'NF{a[++n]=$1} END{if(n) printf "%s-%s", a[1], a[n]; else printf "n/a"}'; }
note "median: printgate ${PG_MED} MB/s | p910nd ${P9_MED} MB/s | p910nd+sync ${P9S_MED} MB/s"
note "range:  printgate $(range "${PG_MBPS[@]}") | p910nd $(range "${P9_MBPS[@]}") | p910nd+sync $(range "${P9S_MBPS[@]}")"
note "per-run pairs printgate/p910nd / printgate/(p910nd+sync): ${PAIRS[*]:-n/a}"
note ""

# ===================================================== (b) many small jobs
note "== (b) ${SMALL_JOBS} x ${SMALL_BYTES} B random jobs; wall time until the last client saw the server close"
declare -A SMALL_JPS SMALL_PER_FSYNC P9_JPS
for c in 1 8; do
    pg_start "$WORK/pg-b$c"
    out=$(client many 127.0.0.1 "$PG_PORT" "$WORK/small.bin" "$SMALL_BYTES" "$SMALL_JOBS" "$c") ||
        fail "printgate c$c: $out"   # no retry: every job counts
    read -r sjobs commits batches < <(pg_spool)
    listed=$(pg_job_sizes | grep -c "^${SMALL_BYTES}\$" || true)
    pg_stop
    rm -rf "$WORK/pg-b$c"
    SMALL_JPS[$c]=$(kv jobs_per_s "$out")
    SMALL_PER_FSYNC[$c]=$(calc '%.2f' "$commits / ($batches > 0 ? $batches : 1)")
    note "printgate c$c: $(kv ok "$out") ok, $(kv fail "$out") failed, $(kv secs "$out") s -> ${SMALL_JPS[$c]} committed jobs/s; latency mean $(kv mean_ms "$out") ms, p50 $(kv p50_ms "$out") ms, p90 $(kv p90_ms "$out") ms, p99 $(kv p99_ms "$out") ms, max $(kv max_ms "$out") ms"
    note "              commits ${commits}, commit_batches ${batches} -> ${SMALL_PER_FSYNC[$c]} jobs per fsync"
    if [[ $listed == "$SMALL_JOBS" && $sjobs == "$SMALL_JOBS" ]]; then
        note "              verified: printgatectl jobs lists ${listed} jobs of ${SMALL_BYTES} B"
    else
        fail "printgate c$c: printgatectl jobs lists ${listed} jobs of ${SMALL_BYTES} B (spool.jobs ${sjobs}), expected ${SMALL_JOBS}"
    fi
done
for c in 1 8; do
    if ! p9_run "$WORK/p910nd-small.out" many 127.0.0.1 PORT "$WORK/small.bin" "$SMALL_BYTES" "$SMALL_JOBS" "$c"; then
        fail "p910nd c$c: $P9_OUT"
        P9_JPS[$c]="n/a"
        continue
    fi
    out=$P9_OUT
    rm -f "$WORK/p910nd-small.out"
    P9_JPS[$c]=$(kv jobs_per_s "$out")
    note "p910nd    c$c: $(kv ok "$out") ok, $(kv fail "$out") failed, $(kv secs "$out") s -> ${P9_JPS[$c]} jobs/s (written, not synced; one connection at a time)"
    note "              latency mean $(kv mean_ms "$out") ms, p50 $(kv p50_ms "$out") ms, p90 $(kv p90_ms "$out") ms, p99 $(kv p99_ms "$out") ms, max $(kv max_ms "$out") ms"
done
note ""

# ================================================================= summary
ceil_pct=$(calc '%.0f' "100 * $PG_MED / $CEIL")
r_raw=$(calc '%.2f' "$PG_MED / $P9_MED")
r_sync=$(calc '%.2f' "$PG_MED / $P9S_MED")
peak_kb=$BIG_TOP
mib() { calc '%.1f' "$1 / 1024"; }
flat_delta=$(( BIG_TOP - MID_TOP ))   # flat: within max(2 MiB, 10%)
flat_tol=$(( MID_TOP / 10 > 2048 ? MID_TOP / 10 : 2048 ))
flat=$([[ $flat_delta -le $flat_tol ]] && echo yes || echo no)

note "== summary (median of ${REPEAT} for (a); MB/s = 1e6 B/s; RSS in MiB)"
printf '%-44s %-28s %-22s %s\n' "figure" "value" "target" "status"
row() { printf '%-44s %-28s %-22s %s\n' "$@"; }
row "(a) printgate ${BIG_MIB} MiB job" "${PG_MED} MB/s" "" ""
row "(a) p910nd -f file" "${P9_MED} MB/s" "" ""
row "(a) p910nd -f file + sync -f" "${P9S_MED} MB/s" "" ""
row "(a) ratio printgate / p910nd" "${r_raw}" ">= 1.00" "$(yn "$r_raw >= 1")"
row "(a) ratio printgate / (p910nd + sync)" "${r_sync}" ">= 1.00" "$(yn "$r_sync >= 1")"
row "(d) AES-256-GCM (openssl, 1 thread)" "${AES_MBPS} MB/s" "" ""
row "(d) disk (dd 1 GiB conv=fsync)" "${DD_MBPS} MB/s" "" ""
row "(a/d) printgate / min(AES, disk)" "${ceil_pct}% of ${CEIL} MB/s" ">= 70%" "$(yn "$ceil_pct >= 70")"
row "(b) printgate small jobs, c1" "${SMALL_JPS[1]} jobs/s" "" ""
row "(b) printgate small jobs, c8" "${SMALL_JPS[8]} jobs/s" ">= 1000 jobs/s" "$(yn "${SMALL_JPS[8]} >= 1000")"
row "(b) jobs per fsync c1 / c8" "${SMALL_PER_FSYNC[1]} / ${SMALL_PER_FSYNC[8]}" "" ""
row "(b) p910nd small jobs c1 / c8 (no fsync)" "${P9_JPS[1]} / ${P9_JPS[8]} jobs/s" "" ""
row "(c) RSS idle (VmRSS)" "$(mib "$IDLE_RSS") MiB" "< 30 MiB" "$(yn "$IDLE_RSS < 30720")"
row "(c) RSS peak (${BIG_MIB} MiB jobs, max VmRSS/HWM)" "$(mib "$peak_kb") MiB" "< 30 MiB" "$(yn "$peak_kb < 30720")"
row "(c) peak RSS ${MID_MIB} MiB vs ${BIG_MIB} MiB job" "$(mib "$MID_TOP") vs $(mib "$BIG_TOP") MiB" "flat" "$([[ $flat == yes ]] && echo meets || echo BELOW)"

note ""
note "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
if ((HARNESS_FAIL)); then
    note ""
    note "the harness itself failed somewhere above (see HARNESS FAILURE lines)"
    exit 1
fi
