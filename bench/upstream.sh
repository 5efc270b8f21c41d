#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Failover and forwarding benchmark (issue #6): the real printgated against the MyQ
# stand-in (tests/standin/myq-standin with its ippeveprinter queue). Prints figures
# and ratios; it is not a pass/fail test (targets are printed beside the figures).
# Exit status is non-zero only when the harness failed (a daemon that would not
# start, a state never reached, a job lost or duplicated, a count that does not match).
#
#   1. detection: ROUNDS (20) outages of each kind (down = connection refused,
#      blackhole, error = 503). Each round waits a random 0-1 s, sets the fault, polls
#      printgated's /healthz every 20 ms until upstream.state is "offline", clears
#      the fault and waits for "online". printgated runs with upstream.hold_down 1s
#      here (the way back is shorter; detection does not depend on it). Median, max.
#   2. failback with the default hold_down (10s): FAILBACK_ROUNDS (5) times, "down"
#      until offline, then the time from clearing it to "online".
#   3. flapping (up 2 s / down 2 s) for FLAP_S (60) s, default settings:
#      upstream.transitions before and after.
#   4. forwarding: a `mode: server` queue whose server_queue is the stand-in's queue.
#      (a) SMALL_JOBS (200) distinct 10240-byte one-page PDFs into printgate's raw 9100
#      listener at CONC (8) (bench/raw9100_client.c), (b) one BIG_MIB (200) MiB PDF;
#      the time runs from the submission's start until the queue has printed the last
#      document (its sink wrote the document's .env file). Then the same documents
#      straight to the same queue with CUPS's ipp backend run as cupsd runs it, CONC
#      at a time, with its default options (waitjob=true: it waits for the job to
#      complete, as a CUPS queue with this device URI would). Ratios printgate/direct.
#   5. every forwarding run: the stand-in's report lists exactly the documents sent
#      (count, distinct sha256, the same sha256 set); printgate's spool shows every
#      job completed.
#
# Usage: bench/upstream.sh          (from anywhere; ~11 min; needs build/printgated,
#                                    build/printgatectl, ippeveprinter, dbus-daemon,
#                                    openssl, argon2, cups-backend's ipp backend, cc)
# Environment: ROUNDS=20 FAILBACK_ROUNDS=5 FLAP_S=60 SMALL_JOBS=200 BIG_MIB=200 CONC=8
#              PRINTGATED=... PRINTGATECTL=... KEEP=0 TMPDIR=/tmp
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/standin_env.sh
. "$ROOT/bench/standin_env.sh"   # PGD_SRC PGCTL_SRC PY HELPER STANDIN BACKEND; copy_binaries, standin_up, pg_write_conf
ROUNDS=${ROUNDS:-20}
FAILBACK_ROUNDS=${FAILBACK_ROUNDS:-5}
FLAP_S=${FLAP_S:-60}
SMALL_JOBS=${SMALL_JOBS:-200}
SMALL_BYTES=10240
BIG_MIB=${BIG_MIB:-200}
BIG_BYTES=$((BIG_MIB * 1048576))
CONC=${CONC:-8}
PG_WAIT_S=300       # a printgate forwarding run must be done within this
DIRECT_WAIT_S=1200  # the direct runs (the ipp backend backs off on busy; see the README)

for b in "$PGD_SRC" "$PGCTL_SRC" "$PY" "$STANDIN" "$BACKEND"; do
    [[ -x $b ]] || { echo "missing $b (printgate: cmake --build build -j2 --target printgated printgatectl; cups-backend's ipp)" >&2; exit 2; }
done
for t in cc ippeveprinter dbus-daemon openssl argon2 split timeout; do
    command -v "$t" >/dev/null || { echo "need $t (.ci/install-deps installs it)" >&2; exit 2; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/upbench.XXXXXX")
HARNESS_FAIL=0
STARTED_PIDS=()   # only processes this script started; stopped by PID at exit
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"   # note, fail, kv, calc, yn, forget_pid, bench_cleanup
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

copy_binaries

# Stops one PID this script started (a child of this shell): TERM, up to 20 s, then
# KILL. Its exit status is left in HALT_RC.
HALT_RC=0
halt() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 200; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    HALT_RC=0
    wait "$pid" 2>/dev/null || HALT_RC=$?
    forget_pid "$pid"
}

# ------------------------------------------------------------------- stand-in
standin_up

# ----------------------------------------------------------------- printgated
CONF=$WORK/printgate.yaml
pg_write_conf "$CONF" "bench/upstream.sh: loopback only; state_dir is set per run with --set"

PG_PID="" PG_STATE="" RAW_PORT="" HEALTHZ="" PG_EXITS=()
pg_ctl() { "$PGCTL" --config "$CONF" --set state_dir="$PG_STATE" "$@"; }
pg_start() {   # $1: run name (fresh state dir and log); then --set KEY=VALUE ...
    local name=$1 i
    shift
    PG_STATE=$WORK/$name
    mkdir -p "$PG_STATE"
    "$PGD" --config "$CONF" --set state_dir="$PG_STATE" --log-target stderr "$@" >"$WORK/$name.log" 2>&1 &
    PG_PID=$!
    STARTED_PIDS+=("$PG_PID")
    for ((i = 0; i < 100; i++)); do   # at most ~10 s
        if pg_ctl status --json >"$WORK/status.json" 2>/dev/null; then
            read -r RAW_PORT admin_port < <("$PY" -I -c 'import json,sys
l = {x["protocol"]: x["port"] for x in json.load(open(sys.argv[1]))["listeners"]}
print(l["raw"], l["admin"])' "$WORK/status.json")
            HEALTHZ=http://127.0.0.1:$admin_port/healthz
            "${HELPER[@]}" wait-state "$HEALTHZ" online 15 || { fail "$name: upstream never online"; exit 1; }
            return 0
        fi
        kill -0 "$PG_PID" 2>/dev/null || break
        sleep 0.1
    done
    cat "$WORK/$name.log" >&2
    echo "printgated did not start" >&2
    exit 1
}
pg_stop() { halt "$PG_PID"; PG_EXITS+=("$HALT_RC"); PG_PID=""; }
health() { "$PY" -I -c 'import json,sys,urllib.request
u = json.load(urllib.request.urlopen(sys.argv[1], timeout=5))["upstream"]
print(" ".join(f"{k}={u.get(k)}" for k in sys.argv[2:]))' "$HEALTHZ" "$@"; }

# =============================================================== preparation
note "upstream failover and forwarding benchmark — $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
note "machine: $(nproc) cores, $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/{printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo), kernel $(uname -r)"
note "work dir: $WORK ($(findmnt -no FSTYPE,SOURCE --target "$WORK" | tr -s ' ' ' '))"
note "printgated: $PGD_SRC ($("$PGD" --version 2>/dev/null | head -1 || echo '?'), built $(date -u -r "$PGD_SRC" '+%Y-%m-%d %H:%M UTC'), copied for the run); ippeveprinter/ipp backend: cups $(dpkg-query -W -f '${Version}' cups-ipp-utils 2>/dev/null || echo '?') / $(dpkg-query -W -f '${Version}' cups-daemon 2>/dev/null || echo '?')"
note "stand-in: $SI_URL, queue $SI_QUEUE, admin $SI_ADMIN"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
note "load average at start: $LOAD_START (the machine may be shared; figures move with it)"
cc -O2 -pthread "$ROOT/bench/raw9100_client.c" -o "$WORK/raw9100_client"
"${HELPER[@]}" mkpdf "$WORK/small.bin" "$SMALL_BYTES" "$SMALL_JOBS" 1
"${HELPER[@]}" mkpdf "$WORK/big.pdf" "$BIG_BYTES" 1 2
mkdir -p "$WORK/direct"
split -b "$SMALL_BYTES" -d -a 4 "$WORK/small.bin" "$WORK/direct/s"
cp "$WORK/big.pdf" "$WORK/direct/big.pdf"
note "documents: ${SMALL_JOBS} distinct one-page PDFs of ${SMALL_BYTES} B, one of ${BIG_BYTES} B (random payload in an unused stream)"
note ""

# ================================================================ 1. detection
note "== 1. detection: ${ROUNDS} outages per kind; upstream.hold_down 1s for these rounds, the rest default (probe 1s, timeout 1s, fail_threshold 3)"
pg_start pg-detect --set upstream.hold_down=1s
declare -A DET_MED DET_MAX DET_MIN
for kind in down blackhole error; do
    "${HELPER[@]}" detect "$HEALTHZ" "$FAULT" "$kind" "$ROUNDS" >"$WORK/detect-$kind.txt" ||
        fail "detection rounds of kind $kind did not all complete (see below)"
    line=$(grep "^detect kind=$kind " "$WORK/detect-$kind.txt" || true)
    DET_MED[$kind]=$(kv median_s "$line") DET_MAX[$kind]=$(kv max_s "$line") DET_MIN[$kind]=$(kv min_s "$line")
    rec=$(grep "^recover" "$WORK/detect-$kind.txt" || true)
    note "$kind: detection median $(kv median_s "$line") s, min $(kv min_s "$line"), max $(kv max_s "$line") (n=$(kv n "$line"), timeouts $(kv timeouts "$line")); back online in median $(kv median_s "$rec") s"
    note "   each round (s): $(sed -n 's/.*detect_s=\([^ ]*\).*/\1/p' "$WORK/detect-$kind.txt" | tr '\n' ' ')"
done
note "printgated after the detection rounds: $(health transitions probes_ok probes_failed outage_seconds)"
note "offline reasons logged (count, reason):"
sed -n 's/.*EVENT=upstream_offline REASON=\(.*\): upstream offline (.*/\1/p' "$WORK/pg-detect.log" |
    sed 's/127\.0\.0\.1:[0-9]*/HOST:PORT/g' | sort | uniq -c | sed 's/^ */   /'
OFF_N=$(grep -c 'EVENT=upstream_offline' "$WORK/pg-detect.log" || true)
OTHER_N=$(grep ' warning \| error \| critical ' "$WORK/pg-detect.log" | grep -vc 'EVENT=upstream_offline' || true)
note "upstream_offline events: ${OFF_N} (rounds: $((3 * ROUNDS))); other warning/error lines in its log: ${OTHER_N}"
pg_stop
note ""

# ================================================================= 2. failback
note "== 2. failback, default hold_down (10s): ${FAILBACK_ROUNDS} rounds, clearing a 'down' fault -> online"
pg_start pg-fail
"${HELPER[@]}" failback "$HEALTHZ" "$FAULT" "$FAILBACK_ROUNDS" >"$WORK/failback.txt" || fail "failback rounds did not all complete"
line=$(grep '^failback ' "$WORK/failback.txt" || true)
FB_MED=$(kv median_s "$line") FB_MAX=$(kv max_s "$line") FB_MIN=$(kv min_s "$line")
note "failback median ${FB_MED} s, min ${FB_MIN}, max ${FB_MAX} (n=$(kv n "$line"), timeouts $(kv timeouts "$line"))"
note "   each round (s): $(sed -n 's/.*failback_s=\([^ ]*\).*/\1/p' "$WORK/failback.txt" | tr '\n' ' ')"
note ""

# ================================================================== 3. flapping
note "== 3. flapping: up 2000 ms / down 2000 ms (starting down) for ${FLAP_S} s, default settings (same daemon)"
"${HELPER[@]}" wait-state "$HEALTHZ" online 30 || fail "not online before flapping"
FLAP_LINE=$("${HELPER[@]}" flap "$HEALTHZ" "$FAULT" "$FLAP_S" 2000 2000) || fail "flap: $FLAP_LINE"
FLAP_N=$(kv transitions "$FLAP_LINE")
note "$FLAP_LINE"
FLAP_ALLOWED=$(( (FLAP_S + 9) / 10 ))   # at most one per hold_down (10 s) of the period
pg_stop
note ""

# =============================================================== 4. forwarding
note "== 4. forwarding to the stand-in's queue (ippeveprinter: one job at a time, server-error-busy while printing)"
declare -A ARRIVE ARRIVED CLIENT VERDICT
run_timed() {   # $1: label, $2: expected documents, $3: timeout, then the command
    local label=$1 n=$2 t=$3 out
    shift 3
    si_reset
    out=$("${HELPER[@]}" timed "$SINK" "$(sink_count)" "$n" "$t" -- "$@") || fail "$label: $out"
    ARRIVE[$label]=$(kv arrive_s "$out") ARRIVED[$label]=$(kv arrived "$out")
    CLIENT[$label]=${out#*cmd_out: }
    note "$label: all ${n} at the server's queue after ${ARRIVE[$label]} s (arrived ${ARRIVED[$label]}; submitter: ${CLIENT[$label]})"
}
check_report() {   # $1: label, $2: expected, then BLOB SIZE COUNT triples
    local label=$1 out
    out=$("${HELPER[@]}" verify "$REPORT" "${@:2}") || fail "$label: $out"
    VERDICT[$label]=$(kv verdict "$out")
    note "   check $label: $out"
}
pg_jobs() {   # prints "jobs completed other_states"
    pg_ctl jobs --json | "$PY" -I -c 'import collections,json,sys
j = json.load(sys.stdin); c = collections.Counter(x["state"] for x in j)
print(len(j), c.get("completed", 0), ",".join(f"{k}:{v}" for k, v in sorted(c.items()) if k != "completed") or "-")'
}

pg_start pg-fwd
run_timed pg-small "$SMALL_JOBS" "$PG_WAIT_S" "$WORK/raw9100_client" many 127.0.0.1 "$RAW_PORT" "$WORK/small.bin" "$SMALL_BYTES" "$SMALL_JOBS" "$CONC"
check_report pg-small "$SMALL_JOBS" "$WORK/small.bin" "$SMALL_BYTES" "$SMALL_JOBS"
run_timed pg-big 1 "$PG_WAIT_S" "$WORK/raw9100_client" one 127.0.0.1 "$RAW_PORT" "$WORK/big.pdf"
check_report pg-big 1 "$WORK/big.pdf" "$BIG_BYTES" 1
read -r PG_LISTED PG_DONE PG_OTHER < <(pg_jobs)
note "   printgate's spool: ${PG_LISTED} jobs, ${PG_DONE} completed, others: ${PG_OTHER}; $(health forwards forward_failures transitions jobs_waiting)"
[[ $PG_LISTED == $((SMALL_JOBS + 1)) && $PG_DONE == "$PG_LISTED" ]] || fail "printgate lists ${PG_LISTED} jobs, ${PG_DONE} completed; expected $((SMALL_JOBS + 1))"
pg_stop

mapfile -t DIRECT_FILES < <(find "$WORK/direct" -name 's*' ! -name '*.log' | sort)
run_timed direct-small "$SMALL_JOBS" "$DIRECT_WAIT_S" "${HELPER[@]}" backends "$SI_QUEUE" "$CONC" "$DIRECT_WAIT_S" "${DIRECT_FILES[@]}"
check_report direct-small "$SMALL_JOBS" "$WORK/small.bin" "$SMALL_BYTES" "$SMALL_JOBS"
BUSY_DIRECT=$(cat "$WORK"/direct/s*.log | grep -c 'server-error-busy' || true)
run_timed direct-big 1 "$DIRECT_WAIT_S" "${HELPER[@]}" backends "$SI_QUEUE" 1 "$DIRECT_WAIT_S" "$WORK/direct/big.pdf"
check_report direct-big 1 "$WORK/big.pdf" "$BIG_BYTES" 1
note "   the ipp backend saw server-error-busy ${BUSY_DIRECT} times over the ${SMALL_JOBS} direct small jobs"
note ""

# ================================================================== summary
JPS_PG=$(calc '%.2f' "$SMALL_JOBS / ${ARRIVE[pg-small]}")
JPS_DI=$(calc '%.2f' "$SMALL_JOBS / ${ARRIVE[direct-small]}")
MBS_PG=$(calc '%.1f' "$BIG_BYTES / 1e6 / ${ARRIVE[pg-big]}")
MBS_DI=$(calc '%.1f' "$BIG_BYTES / 1e6 / ${ARRIVE[direct-big]}")
R_SMALL=$(calc '%.2f' "$JPS_PG / $JPS_DI")
R_BIG=$(calc '%.2f' "$MBS_PG / $MBS_DI")
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
note "== summary (times in s; MB/s = 1e6 B/s; arrival = the stand-in queue printed the last document)"
row() { printf '%-50s %-36s %-14s %s\n' "$@"; }
row "figure" "value" "target" "status"
for kind in down blackhole error; do
    row "1. detection, ${kind} (${ROUNDS} rounds): median / max" "${DET_MED[$kind]} / ${DET_MAX[$kind]} (min ${DET_MIN[$kind]})" "<= 5 s" "$(yn "${DET_MAX[$kind]} <= 5")"
done
row "2. failback, hold_down 10s (${FAILBACK_ROUNDS} rounds): median / max" "${FB_MED} / ${FB_MAX} (min ${FB_MIN})" "" ""
row "3. transitions, flapping 2 s / 2 s for ${FLAP_S} s" "${FLAP_N:-n/a}" "<= ${FLAP_ALLOWED} (1/hold_down)" "$(yn "${FLAP_N:-99} <= $FLAP_ALLOWED")"
row "4a. ${SMALL_JOBS} x ${SMALL_BYTES} B c${CONC}, printgate (raw 9100)" "${JPS_PG} jobs/s (${ARRIVE[pg-small]} s)" "" ""
row "4a. same, direct (ipp backend, waitjob=true)" "${JPS_DI} jobs/s (${ARRIVE[direct-small]} s)" "" ""
row "4a. ratio printgate / direct" "${R_SMALL}" ">= 0.9" "$(yn "$R_SMALL >= 0.9")"
row "4b. ${BIG_MIB} MiB job, printgate (raw 9100)" "${MBS_PG} MB/s (${ARRIVE[pg-big]} s)" "" ""
row "4b. same, direct (ipp backend, waitjob=true)" "${MBS_DI} MB/s (${ARRIVE[direct-big]} s)" "" ""
row "4b. ratio printgate / direct" "${R_BIG}" ">= 0.9" "$(yn "$R_BIG >= 0.9")"
for l in pg-small pg-big direct-small direct-big; do
    row "5. lost / duplicated, ${l}" "${ARRIVED[$l]:-?} arrived, sha256 check ${VERDICT[$l]:-n/a}" "0 / 0" "$([[ ${VERDICT[$l]:-} == ok ]] && echo meets || echo BELOW)"
done
row "5. printgate spool after 4" "${PG_DONE:-?} of ${PG_LISTED:-?} jobs completed (${PG_OTHER:-?})" "" ""
note ""
note "both forwarding paths end at ippeveprinter, which prints one job at a time and answers server-error-busy"
note "while it prints (${BUSY_DIRECT} busy answers to the ipp backend's ${SMALL_JOBS} small jobs); printgate retries busy from 50 ms,"
note "the ipp backend after a growing sleep, and with waitjob=true each backend also polls its job until it completes"
note "printgated exit statuses on SIGTERM: ${PG_EXITS[*]} (0 = clean)"
note "load average at start: ${LOAD_START}; at end: ${LOAD_END}"
if ((HARNESS_FAIL)); then
    note ""
    note "the harness itself failed somewhere above (see HARNESS FAILURE lines)"
    exit 1
fi
