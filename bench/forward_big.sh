#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The 200 MiB part of bench/upstream.sh (4b), repeated and interleaved, with the
# printgate run split into its phases. One stand-in (tests/standin/myq-standin with
# its ippeveprinter queue), one printgated (fresh state dir), REPEAT rounds of:
#   pg:     raw9100_client one -> printgated's raw listener (mode: server queue);
#           "intake" = the client saw printgated's close (job committed: sealed,
#           fdatasync'ed, indexed); "arrive" = the queue's sink wrote the .env file
#           (ippeveprinter received the whole document and its print command copied it).
#   direct: CUPS's ipp backend with the same PDF straight to the same queue, as
#           cupsd runs it (default options, waitjob=true); "arrive" as above.
# The clock starts when the submitter starts in both. Each run is checked against
# the stand-in's report (the document's sha256). Prints one line per run, then
# medians and the ratio pg/direct (MB/s over MB/s = direct time / pg time).
#
# Usage: bench/forward_big.sh     (needs build/printgated, build/printgatectl, as upstream.sh)
# Environment: REPEAT=5 BIG_MIB=200 PRINTGATED=... PRINTGATECTL=... KEEP=0 TMPDIR=/tmp
#              PG_SET="KEY=VALUE ..." extra --set options for printgated
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/standin_env.sh
. "$ROOT/bench/standin_env.sh"   # PGD_SRC PGCTL_SRC PY HELPER STANDIN BACKEND; copy_binaries, standin_up, pg_write_conf
REPEAT=${REPEAT:-5}
BIG_MIB=${BIG_MIB:-200}
BIG_BYTES=$((BIG_MIB * 1048576))
WAIT_S=300

for b in "$PGD_SRC" "$PGCTL_SRC" "$PY" "$STANDIN" "$BACKEND"; do
    [[ -x $b ]] || { echo "missing $b" >&2; exit 2; }
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/fwdbig.XXXXXX")
HARNESS_FAIL=0
STARTED_PIDS=()
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

copy_binaries

standin_up
CONF=$WORK/printgate.yaml
pg_write_conf "$CONF" "bench/forward_big.sh: loopback only"
PG_STATE=$WORK/pg
mkdir -p "$PG_STATE"
EXTRA=()
for kvp in ${PG_SET:-}; do EXTRA+=(--set "$kvp"); done
"$PGD" --config "$CONF" --set state_dir="$PG_STATE" --log-target stderr "${EXTRA[@]}" >"$WORK/pg.log" 2>&1 &
PG_PID=$!
STARTED_PIDS+=("$PG_PID")
RAW_PORT=""
for ((i = 0; i < 100; i++)); do
    if "$PGCTL" --config "$CONF" --set state_dir="$PG_STATE" status --json >"$WORK/status.json" 2>/dev/null; then
        read -r RAW_PORT admin_port < <("$PY" -I -c 'import json,sys
l = {x["protocol"]: x["port"] for x in json.load(open(sys.argv[1]))["listeners"]}
print(l["raw"], l["admin"])' "$WORK/status.json")
        "${HELPER[@]}" wait-state "http://127.0.0.1:$admin_port/healthz" online 15 || { echo "upstream never online" >&2; exit 1; }
        break
    fi
    sleep 0.1
done
[[ -n $RAW_PORT ]] || { cat "$WORK/pg.log" >&2; echo "printgated did not start" >&2; exit 1; }
echo "pid printgated $PG_PID; ippeveprinter $(pgrep -P "$SI_PID" -x ippeveprinter || echo '?')"

cc -O2 -pthread "$ROOT/bench/raw9100_client.c" -o "$WORK/raw9100_client"
"${HELPER[@]}" mkpdf "$WORK/big.pdf" "$BIG_BYTES" 1 2
note "forward_big: ${BIG_MIB} MiB PDF, ${REPEAT} rounds pg/direct interleaved; load $(cut -d' ' -f1-3 /proc/loadavg)"

PG_T=() PG_I=() DI_T=()
for ((r = 1; r <= REPEAT; r++)); do
    sync
    si_reset
    out=$("${HELPER[@]}" timed "$SINK" "$(sink_count)" 1 "$WAIT_S" -- "$WORK/raw9100_client" one 127.0.0.1 "$RAW_PORT" "$WORK/big.pdf") ||
        fail "pg round $r: $out"
    v=$("${HELPER[@]}" verify "$REPORT" 1 "$WORK/big.pdf" "$BIG_BYTES" 1) || fail "pg round $r: $v"
    PG_T+=("$(kv arrive_s "$out")") PG_I+=("$(kv secs "${out#*cmd_out: }")")
    note "round $r pg:     arrive ${PG_T[-1]} s, intake+commit ${PG_I[-1]} s ($(kv verdict "$v"))"
    sync
    si_reset
    out=$("${HELPER[@]}" timed "$SINK" "$(sink_count)" 1 "$WAIT_S" -- "${HELPER[@]}" backends "$SI_QUEUE" 1 "$WAIT_S" "$WORK/big.pdf") ||
        fail "direct round $r: $out"
    v=$("${HELPER[@]}" verify "$REPORT" 1 "$WORK/big.pdf" "$BIG_BYTES" 1) || fail "direct round $r: $v"
    DI_T+=("$(kv arrive_s "$out")")
    note "round $r direct: arrive ${DI_T[-1]} s ($(kv verdict "$v"))   ratio $(calc '%.2f' "${DI_T[-1]} / ${PG_T[-1]}")"
done
med() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
MP=$(med "${PG_T[@]}") MI=$(med "${PG_I[@]}") MD=$(med "${DI_T[@]}")
note "median pg arrive ${MP} s ($(calc '%.1f' "$BIG_BYTES / 1e6 / $MP") MB/s; intake+commit ${MI} s, forward+print $(calc '%.3f' "$MP - $MI") s)"
note "median direct arrive ${MD} s ($(calc '%.1f' "$BIG_BYTES / 1e6 / $MD") MB/s)"
note "ratio pg/direct (medians) $(calc '%.2f' "$MD / $MP")   target >= 0.9"
note "load at end $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$HARNESS_FAIL"
