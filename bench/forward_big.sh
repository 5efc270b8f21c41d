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
# medians and the ratio pg/direct (MB/s over MB/s = direct time / pg time). Both
# daemons stay up for the whole run: a side's forwarding is over (the document
# printed) before the next run starts.
#
# Usage: bench/forward_big.sh     (needs build/printgated, build/printgatectl, as upstream.sh)
# Environment: REPEAT=5 BIG_MIB=200 PRINTGATED=... PRINTGATECTL=... KEEP=0 TMPDIR=/tmp
#              BASELINE=/path/to/printgated (printgatectl beside it): a second daemon,
#              run in each round before this build ("base"), on the same stand-in
#              PG_SET="KEY=VALUE ..." extra --set options for printgated
#              SERVER_TMP=/dev/shm: the stand-in's folder (its ippeveprinter spool and the
#              print command's copies) there, off the disk printgated's spool is on
#              WAN_RATE=1gbit: the stand-in behind an emulated WAN link
#              (bench/standin_env.sh; root): the direct send and printgated's forward
#              cross it, the client's send to printgated stays on loopback
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
EXTRA=()
for kvp in ${PG_SET:-}; do EXTRA+=(--set "$kvp"); done
# Starts printgated $2 (printgatectl $3) as daemon $1 on a fresh state dir; sets PORT[$1]
# to its raw port.
declare -A PORT
pg_daemon() {
    local name=$1 pgd=$2 pgctl=$3 i port admin_port
    mkdir -p "$WORK/$name"
    "$pgd" --config "$CONF" --set state_dir="$WORK/$name" --log-target stderr "${EXTRA[@]}" >"$WORK/$name.log" 2>&1 &
    STARTED_PIDS+=("$!")
    for ((i = 0; i < 100; i++)); do
        if "$pgctl" --config "$CONF" --set state_dir="$WORK/$name" status --json >"$WORK/$name.json" 2>/dev/null; then
            read -r port admin_port < <("$PY" -I -c 'import json,sys
l = {x["protocol"]: x["port"] for x in json.load(open(sys.argv[1]))["listeners"]}
print(l["raw"], l["admin"])' "$WORK/$name.json")
            "${HELPER[@]}" wait-state "http://127.0.0.1:$admin_port/healthz" online 15 >/dev/null || break
            PORT[$name]=$port
            return 0
        fi
        sleep 0.1
    done
    cat "$WORK/$name.log" >&2
    echo "printgated $name did not start" >&2
    exit 1
}
SIDES=(pg)
pg_daemon pg "$PGD" "$PGCTL"
if [[ -n ${BASELINE:-} ]]; then   # a second printgated (e.g. main's build), run side by side
    cp "$BASELINE" "$WORK/bin/printgated-base"
    cp "$(dirname "$BASELINE")/printgatectl" "$WORK/bin/printgatectl-base"
    SIDES=(base pg)
    pg_daemon base "$WORK/bin/printgated-base" "$WORK/bin/printgatectl-base"
fi

cc -O2 -pthread "$ROOT/bench/raw9100_client.c" -o "$WORK/raw9100_client"
"${HELPER[@]}" mkpdf "$WORK/big.pdf" "$BIG_BYTES" 1 2
note "forward_big: ${BIG_MIB} MiB PDF, ${REPEAT} rounds (${SIDES[*]} direct) interleaved; server ${WAN_RATE:+in a netns of its own behind a ${WAN_RATE} link}${WAN_RATE:-on loopback}; server folder on $(df --output=fstype "$WORK/standin/" | tail -1), printgated's spool on $(df --output=fstype "$WORK" | tail -1); load $(cut -d' ' -f1-3 /proc/loadavg)"

med() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
declare -A T I
DI_T=()
for ((r = 1; r <= REPEAT; r++)); do
    for side in "${SIDES[@]}"; do
        sync
        si_reset
        out=$("${HELPER[@]}" timed "$SINK" "$(sink_count)" 1 "$WAIT_S" -- "$WORK/raw9100_client" one 127.0.0.1 "${PORT[$side]}" "$WORK/big.pdf") ||
            fail "$side round $r: $out"
        v=$("${HELPER[@]}" verify "$REPORT" 1 "$WORK/big.pdf" "$BIG_BYTES" 1) || fail "$side round $r: $v"
        T[$side]+=" $(kv arrive_s "$out")" I[$side]+=" $(kv secs "${out#*cmd_out: }")"
        note "round $r $side: arrive $(kv arrive_s "$out") s, intake+commit $(kv secs "${out#*cmd_out: }") s ($(kv verdict "$v"))"
    done
    sync
    si_reset
    out=$("${HELPER[@]}" timed "$SINK" "$(sink_count)" 1 "$WAIT_S" -- "${HELPER[@]}" backends "$SI_QUEUE" 1 "$WAIT_S" "$WORK/big.pdf") ||
        fail "direct round $r: $out"
    v=$("${HELPER[@]}" verify "$REPORT" 1 "$WORK/big.pdf" "$BIG_BYTES" 1) || fail "direct round $r: $v"
    DI_T+=("$(kv arrive_s "$out")")
    note "round $r direct: arrive ${DI_T[-1]} s ($(kv verdict "$v"))"
done
MD=$(med "${DI_T[@]}")
note "median direct: arrive ${MD} s ($(calc '%.1f' "$BIG_BYTES / 1e6 / $MD") MB/s)"
for side in "${SIDES[@]}"; do
    # shellcheck disable=SC2086
    MP=$(med ${T[$side]}) MI=$(med ${I[$side]})
    note "median $side: arrive ${MP} s ($(calc '%.1f' "$BIG_BYTES / 1e6 / $MP") MB/s); intake+commit ${MI} s, the rest (forward + print) $(calc '%.3f' "$MP - $MI") s; ratio $side/direct $(calc '%.2f' "$MD / $MP") (target >= 0.9)"
done
note "load at end $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$HARNESS_FAIL"
