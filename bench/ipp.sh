#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# IPP intake benchmark: printgated versus a private Debian cupsd (a stopped but
# accepting raw queue: jobs stay queued, like printgate's held jobs), plus the
# machine's own ceilings. Prints figures; it is not a pass/fail test (targets are
# printed beside the figures). Exit status is non-zero only when the harness itself
# failed (a job lost or refused where it must not be, a daemon that would not start,
# a count that does not match).
#
#   (b) SMALL_JOBS (2000) Print-Jobs of a ~10 KB PDF (made with ps2pdf) at
#       concurrency 1 and 8, each client thread on its own keep-alive connection:
#       jobs/s and latency percentiles; printgate's jobs per fsync. REPEAT (3)
#       rounds, printgate and cupsd interleaved, each on a fresh daemon; medians.
#       cupsd runs with MaxJobs 0: its default (500 active jobs) cannot queue 2000
#       jobs on a stopped queue. A default-settings cupsd is measured too with 500
#       jobs (its limit), and its refusal of the 501st is shown.
#   (a) one BIG_MIB (500) MiB Print-Job of random bytes (application/octet-stream),
#       first request byte -> response, REPEAT times each; cupsd also with a
#       `sync -f` after the response (printgate's reply means fsynced).
#   (c) VmRSS/VmHWM: printgated idle and with HELD_JOBS (10000) small held jobs
#       (sent at c8); cupsd idle, with its default maximum of 500 queued jobs, and
#       (a labelled variant with MaxJobs 0) with HELD_JOBS queued jobs.
#   (d) ceilings: openssl speed AES-256-GCM (64 KiB blocks, -elapsed) and dd 1 GiB
#       conv=fsync.
#
# Usage: bench/ipp.sh                 (from anywhere; needs build/printgated, root)
# Environment: SMALL_JOBS=2000 HELD_JOBS=10000 BIG_MIB=500 REPEAT=3 KEEP=0
#              PRINTGATED=... PRINTGATECTL=... TMPDIR=/tmp (state dirs, cupsd's
#              spool and the dd file all go under one temp dir there, one disk)
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PGD_SRC=${PRINTGATED:-$ROOT/build/printgated}
PGCTL_SRC=${PRINTGATECTL:-$ROOT/build/printgatectl}
CONF=$ROOT/conf/printgate.yaml
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
PYI=("$PY" -I)   # isolated: a stray select.py or json.py in the cwd must not shadow the stdlib
SMALL_JOBS=${SMALL_JOBS:-2000}
HELD_JOBS=${HELD_JOBS:-10000}
BIG_MIB=${BIG_MIB:-500}
REPEAT=${REPEAT:-3}
CUPS_DEFAULT_MAXJOBS=500     # cupsd.conf(5): MaxJobs default
CLIENT_TIMEOUT=900           # seconds; every client run is bounded by this
export IPP_BENCH_DEADLINE_S=${IPP_BENCH_DEADLINE_S:-300}   # `many` starts no new job after this (skipped=)
PDF_TARGET=10240             # bytes, the "10 KB PDF"

for b in "$PGD_SRC" "$PGCTL_SRC" /usr/sbin/cupsd /usr/sbin/lpadmin /usr/sbin/cupsdisable /usr/bin/lpstat; do
    [[ -x $b ]] || { echo "missing $b (printgate: cmake --build build -j2 --target printgated printgatectl; cups: apt-get install cups-daemon cups-client)" >&2; exit 2; }
done
for t in cc openssl ps2pdf timeout; do
    command -v "$t" >/dev/null || { echo "need $t" >&2; exit 2; }
done
[[ -r /usr/include/cups/cups.h ]] || { echo "need libcups2-dev (cups/cups.h)" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "run as root: cupsd runs in the foreground as root (User lp)" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ippbench.XXXXXX")
chmod 755 "$WORK"   # cupsd's helpers run as lp and must reach its dirs
HARNESS_FAIL=0
STARTED_PIDS=()     # only processes this script started; stopped by PID at exit
declare -A DIRECT=()   # those that are this shell's children (the others are waited for by polling)

cleanup() {
    local p i
    for p in "${STARTED_PIDS[@]}"; do
        if kill -0 "$p" 2>/dev/null; then
            kill -TERM "$p" 2>/dev/null || true
            for ((i = 0; i < 150; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
            kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null || true
        fi
        [[ -n ${DIRECT[$p]:-} ]] && { wait "$p" 2>/dev/null || true; }
    done
    if [[ ${KEEP:-0} == 1 ]]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"   # note, fail, kv, calc, yn, forget_pid (ipp.sh keeps its own cleanup)
median() { printf '%s\n' "$@" | awk 'NF' | sort -g | awk '{a[NR]=$1} END{if(NR) print a[int((NR+1)/2)]; else print "n/a"}'; }
range() { printf '%s\n' "$@" | awk 'NF' | sort -g | awk '{a[NR]=$1} END{if(NR) printf "%s-%s", a[1], a[NR]; else printf "n/a"}'; }
now() { date +%s.%N; }
status_of() { awk -v k="$2" '$1==k":"{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }   # kB; 0: gone
CLK_TCK=$(getconf CLK_TCK)
cpu_of() { awk -v t="$CLK_TCK" '{sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / t}' "/proc/$1/stat" 2>/dev/null || echo 0; }   # utime+stime, s
free_port() { "${PYI[@]}" -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
mib() { calc '%.1f' "$1 / 1024"; }          # kB -> MiB
mb() { calc '%.1f' "$1 * 1024 / 1e6"; }     # kB -> MB (1e6 B)

stop_pid() {   # TERM, wait up to 15 s, then KILL; only PIDs this script started
    local pid=$1 i
    [[ -n $pid ]] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    [[ -n ${DIRECT[$pid]:-} ]] && { wait "$pid" 2>/dev/null || true; }
    forget_pid "$pid"
}

client() { timeout "$CLIENT_TIMEOUT" "$WORK/ipp_client" "$@"; }

# The binaries are copied once, so that a rebuild by someone else during the run
# (the checkout is shared) neither removes them nor mixes two builds in one run.
mkdir -p "$WORK/bin"
cp "$PGD_SRC" "$WORK/bin/printgated"
cp "$PGCTL_SRC" "$WORK/bin/printgatectl"
PGD=$WORK/bin/printgated
PGCTL=$WORK/bin/printgatectl

# ---------------------------------------------------------------- printgated
PG_PID="" PG_STATE="" PG_PORT=""
pg_ctl() { "$PGCTL" --config "$CONF" --set state_dir="$PG_STATE" "$@"; }

PG_WRAP="" PG_STOPS=0 PG_BAD_EXITS=() PG_LAST_WORDS=""
pg_start() {   # $1: state dir (fresh)
    PG_STATE=$1
    mkdir -p "$PG_STATE"
    rm -f "$WORK/pg.pid" "$WORK/pg.rc"
    # A small wrapper subshell waits for printgated and records its exit status, so
    # that an abnormal exit is reported once in the summary (its own stderr, where
    # bash reports a daemon killed by a signal, goes to the log, not the output).
    (
        "$PGD" --config "$CONF" --set state_dir="$PG_STATE" --set listen.raw=127.0.0.1:0 \
            --set listen.ipp=127.0.0.1:0 --set log.level=warning \
            --set spool.max_job_size=4GiB --set spool.max_total_size=16GiB \
            >>"$WORK/printgated.log" 2>&1 &
        echo $! >"$WORK/pg.pid"
        rc=0
        wait $! || rc=$?
        echo "$rc" >"$WORK/pg.rc"
    ) 2>>"$WORK/printgated.log" &
    PG_WRAP=$!
    STARTED_PIDS+=("$PG_WRAP")
    DIRECT[$PG_WRAP]=1
    local i
    for ((i = 0; i < 50; i++)); do [[ -s $WORK/pg.pid ]] && break; sleep 0.1; done
    PG_PID=$(cat "$WORK/pg.pid" 2>/dev/null || true)
    [[ -n $PG_PID ]] || { echo "printgated did not start" >&2; exit 1; }
    STARTED_PIDS=("$PG_PID" "${STARTED_PIDS[@]}")   # stopped before its wrapper at exit
    for ((i = 0; i < 100; i++)); do   # at most ~10 s
        if pg_ctl status --json >"$WORK/status.json" 2>/dev/null; then
            PG_PORT=$("${PYI[@]}" -c 'import json,sys
print([l["port"] for l in json.load(open(sys.argv[1]))["listeners"] if l["protocol"] == "ipp"][0])' \
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
    stop_pid "$PG_PID"   # printgated is the wrapper's child: polled with kill -0, reaped by the wrapper
    local rc i
    # The wrapper exits by itself once printgated has (it writes pg.rc first).
    for ((i = 0; i < 50; i++)); do kill -0 "$PG_WRAP" 2>/dev/null || break; sleep 0.1; done
    stop_pid "$PG_WRAP"
    rc=$(cat "$WORK/pg.rc" 2>/dev/null || echo "?")
    PG_STOPS=$((PG_STOPS + 1))
    if [[ $rc != 0 ]]; then
        PG_BAD_EXITS+=("$rc")
        PG_LAST_WORDS=$(grep -v '^\s*$' "$WORK/printgated.log" | grep -v 'Aborted\|Segmentation\|core dumped' | tail -1)
    fi
    PG_PID="" PG_WRAP=""
}

pg_spool() {   # prints "jobs commits commit_batches"
    pg_ctl status --json | "${PYI[@]}" -c 'import json,sys;s=json.load(sys.stdin)["spool"];print(s["jobs"],s["commits"],s["commit_batches"])'
}

pg_count() {   # $1: size; prints "jobs_listed jobs_of_that_size_and_held"
    pg_ctl jobs --json | "${PYI[@]}" -c 'import json,sys
j = json.load(sys.stdin)
print(len(j), sum(1 for x in j if x["size"] == int(sys.argv[1]) and x["state"] == "pending-held"))' "$1"
}

PG_URI_PATH=/ipp/print/default

# ------------------------------------------------------------- private cupsd
CUPS_PID="" CUPS_PORT="" CUPS_DIR=""
CUPS_URI_PATH=/printers/bench

cups_start() {   # $1: fresh dir; $2: MaxJobs ("" = cupsd's default)
    CUPS_DIR=$1
    local maxjobs=${2:-}
    mkdir -p "$CUPS_DIR"/{etc,spool/tmp,cache,run,log}
    CUPS_PORT=$(free_port)
    # Defaults throughout (LogLevel warn, AccessLogLevel actions, KeepAlive, no
    # SyncOnClose), except what a private, unauthenticated loopback instance needs.
    {
        echo "# private cupsd for bench/ipp.sh: defaults except loopback, no browsing, anonymous access"
        echo "Listen 127.0.0.1:$CUPS_PORT"
        echo "Browsing No"
        echo "BrowseLocalProtocols none"
        echo "WebInterface No"
        echo "DefaultAuthType None"
        [[ -n $maxjobs ]] && echo "MaxJobs $maxjobs"
        printf '<Location />\n  Order allow,deny\n  Allow all\n</Location>\n'
        printf '<Location /admin>\n  Order allow,deny\n  Allow all\n</Location>\n'
        printf '<Policy default>\n  <Limit All>\n    Order deny,allow\n  </Limit>\n</Policy>\n'
    } >"$CUPS_DIR/etc/cupsd.conf"
    cat >"$CUPS_DIR/etc/cups-files.conf" <<EOF
ServerRoot $CUPS_DIR/etc
RequestRoot $CUPS_DIR/spool
TempDir $CUPS_DIR/spool/tmp
CacheDir $CUPS_DIR/cache
StateDir $CUPS_DIR/run
AccessLog $CUPS_DIR/log/access_log
ErrorLog $CUPS_DIR/log/error_log
PageLog $CUPS_DIR/log/page_log
User lp
Group lp
SystemGroup root
FileDevice Yes
EOF
    /usr/sbin/cupsd -f -c "$CUPS_DIR/etc/cupsd.conf" -s "$CUPS_DIR/etc/cups-files.conf" >>"$WORK/cupsd.out" 2>&1 &
    CUPS_PID=$!
    STARTED_PIDS+=("$CUPS_PID")
    DIRECT[$CUPS_PID]=1
    local i up=0
    for ((i = 0; i < 100; i++)); do   # at most ~10 s plus lpstat's own time
        if lpstat -h "127.0.0.1:$CUPS_PORT" -r 2>/dev/null | grep -q "scheduler is running"; then
            up=1
            break
        fi
        kill -0 "$CUPS_PID" 2>/dev/null || break
        sleep 0.1
    done
    if ((up == 0)); then
        echo "cupsd did not start; its output and error_log:" >&2
        cat "$WORK/cupsd.out" "$CUPS_DIR/log/error_log" >&2 2>/dev/null || true
        exit 1
    fi
    # A raw queue (no PPD) to /dev/null, enabled and accepting, then stopped: jobs stay queued.
    lpadmin -h "127.0.0.1:$CUPS_PORT" -p bench -v file:///dev/null -E >>"$WORK/lpadmin.log" 2>&1 ||
        { cat "$WORK/lpadmin.log" >&2; echo "lpadmin failed" >&2; exit 1; }
    cupsdisable -h "127.0.0.1:$CUPS_PORT" bench >>"$WORK/lpadmin.log" 2>&1 ||
        { cat "$WORK/lpadmin.log" >&2; echo "cupsdisable failed" >&2; exit 1; }
    local st
    st=$(lpstat -h "127.0.0.1:$CUPS_PORT" -p bench -a bench 2>&1 || true)
    if ! grep -q "disabled" <<<"$st" || ! grep -q "accepting" <<<"$st"; then
        echo "queue bench is not stopped-but-accepting: $st" >&2
        exit 1
    fi
}

cups_stop() { stop_pid "$CUPS_PID"; CUPS_PID=""; }

cups_count() {   # $1: size; prints "queued_jobs d_files_of_that_size"
    local queued files
    queued=$(lpstat -h "127.0.0.1:$CUPS_PORT" -o bench 2>/dev/null | wc -l)
    files=$(find "$CUPS_DIR/spool" -maxdepth 1 -name 'd*-001' -size "$1c" | wc -l)
    echo "$queued $files"
}

# ============================================================== preparation
cc -O2 -Wall -pthread "$ROOT/bench/ipp_client.c" -o "$WORK/ipp_client" -lcups

note "IPP benchmark — $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
note "machine: $(nproc) cores, $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/{printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo), kernel $(uname -r)"
note "work dir: $WORK ($(findmnt -no FSTYPE,SOURCE --target "$WORK" | tr -s ' ' ' '))"
note "printgated: $PGD_SRC ($("$PGD" --version 2>/dev/null | head -1 || echo '?'), built $(date -u -r "$PGD_SRC" '+%H:%M:%S UTC'), copied for the run); cupsd: $(dpkg-query -W -f '${Version}' cups-daemon 2>/dev/null || echo '?'); libcups client: $(dpkg-query -W -f '${Version}' libcups2 2>/dev/null || echo '?')"
note "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (the machine may be shared; figures move with it)"

# The ~10 KB PDF: one A4 page of stroked lines and text, through ps2pdf. The number
# of lines is adjusted (at most 5 tries) until the PDF is within 3 % of 10240 B.
make_ps() {   # $1: number of lines
    awk -v n="$1" 'BEGIN {
        srand(42)
        print "%!PS-Adobe-3.0"; print "%%BoundingBox: 0 0 595 842"; print "%%Pages: 1"
        print "%%EndComments"; print "%%Page: 1 1"; print "/Helvetica findfont 9 scalefont setfont"
        for (i = 0; i < n; i++)
            printf "%.3f %.3f %.3f setrgbcolor %.1f %.1f moveto %.1f %.1f lineto %.2f setlinewidth stroke\n",
                rand(), rand(), rand(), rand() * 595, rand() * 842, rand() * 595, rand() * 842, 0.2 + rand() * 2
        for (i = 0; i < 60; i++)
            printf "0 0 0 setrgbcolor 40 %d moveto (Line %d of the printgate IPP benchmark page: %08x %08x) show\n",
                800 - i * 12, i, int(rand() * 2^31), int(rand() * 2^31)
        print "showpage"; print "%%EOF" }'
}
lines=270
for ((try = 0; try < 5; try++)); do
    make_ps "$lines" >"$WORK/small.ps"
    ps2pdf "$WORK/small.ps" "$WORK/small.pdf"
    PDF_BYTES=$(stat -c %s "$WORK/small.pdf")
    (( PDF_BYTES * 100 >= PDF_TARGET * 97 && PDF_BYTES * 100 <= PDF_TARGET * 103 )) && break
    lines=$(( lines + (PDF_TARGET - PDF_BYTES) / 23 ))   # ~23 B of PDF per stroked line
    (( lines < 10 )) && lines=10
done
head -c 5 "$WORK/small.pdf" | grep -q '%PDF-' || { fail "ps2pdf did not make a PDF"; exit 1; }
note "document: ${PDF_BYTES} B PDF (1 page, ${lines} stroked lines + 60 lines of text, ps2pdf $(gs --version 2>/dev/null)), application/pdf"
BIG_BYTES=$((BIG_MIB * 1048576))
head -c "$BIG_BYTES" /dev/urandom >"$WORK/big.bin"
note "big job: ${BIG_MIB} MiB from /dev/urandom, application/octet-stream"
note "sizes: ${SMALL_JOBS} small jobs x c1/c8, ${REPEAT} rounds; ${HELD_JOBS} held jobs for RSS; cupsd's default MaxJobs is ${CUPS_DEFAULT_MAXJOBS}"
note ""

# ======================================================== (d) machine ceilings
note "== (d) machine ceilings"
openssl speed -elapsed -evp aes-256-gcm -bytes 65536 -seconds 3 >"$WORK/openssl.txt" 2>&1 || true
# "AES-256-GCM  4443009.81k": 1000s of bytes per second for 65536-byte blocks
AES_MBPS=$(awk 'toupper($1)=="AES-256-GCM" && $NF ~ /k$/ {v=$NF; sub(/k$/,"",v); printf "%.0f", v/1000}' "$WORK/openssl.txt")
[[ -n $AES_MBPS ]] || { cat "$WORK/openssl.txt"; fail "could not parse openssl speed"; AES_MBPS=0; }
note "openssl speed -elapsed -evp aes-256-gcm, 64 KiB blocks, 1 thread: ${AES_MBPS} MB/s"
sync
DD_OUT=$(dd if=/dev/zero of="$WORK/dd.bin" bs=1M count=1024 conv=fsync 2>&1 | tail -1)
DD_MBPS=$(awk '{for(i=1;i<=NF;i++) if($i=="s,"){printf "%.0f", $1/$(i-1)/1e6}}' <<<"$DD_OUT")
rm -f "$WORK/dd.bin"
note "dd if=/dev/zero bs=1M count=1024 conv=fsync: ${DD_MBPS:-?} MB/s   ($DD_OUT)"
DD_MBPS=${DD_MBPS:-0}
CEIL=$(( AES_MBPS < DD_MBPS ? AES_MBPS : DD_MBPS ))
note "ceiling for an encrypted, fsynced big job: min(AES, disk) = ${CEIL} MB/s"
note ""

# ===================================================== (b) many small jobs
note "== (b) ${SMALL_JOBS} Print-Jobs of the ${PDF_BYTES} B PDF; c threads, each with one keep-alive connection and one request in flight"
note "   jobs/s = accepted jobs / wall time until the last response; latency = first request byte -> whole response"
note "   cupsd: stopped raw queue, defaults + MaxJobs 0 (the default ${CUPS_DEFAULT_MAXJOBS} cannot queue ${SMALL_JOBS}); fresh daemon per run"
declare -A PG_JPS PG_P99 PG_P50 PG_FSYNC PG_CPUJ CU_JPS CU_P99 CU_P50 CU_CPUJ PAIRS
small_pg() {   # $1: conc, $2: round
    local c=$1 r=$2 out cpu0 cpu1 sjobs commits batches listed held
    pg_start "$WORK/pg-b$c-$r"
    cpu0=$(cpu_of "$PG_PID")
    out=$(client many 127.0.0.1 "$PG_PORT" "$PG_URI_PATH" "$WORK/small.pdf" application/pdf "$SMALL_JOBS" "$c") ||
        fail "printgate c$c round $r: $out"
    cpu1=$(cpu_of "$PG_PID")
    read -r sjobs commits batches < <(pg_spool)
    read -r listed held < <(pg_count "$PDF_BYTES")
    pg_stop
    rm -rf "$WORK/pg-b$c-$r"
    PG_JPS[$c]+=" $(kv jobs_per_s "$out")"
    PG_P50[$c]+=" $(kv p50_ms "$out")"
    PG_P99[$c]+=" $(kv p99_ms "$out")"
    PG_FSYNC[$c]+=" $(calc '%.2f' "$commits / ($batches > 0 ? $batches : 1)")"
    PG_CPUJ[$c]+=" $(calc '%.0f' "($cpu1 - $cpu0) * 1e6 / $SMALL_JOBS")"
    note "round $r printgate c$c: $(kv ok "$out") ok, $(kv fail "$out") failed, $(kv secs "$out") s -> $(kv jobs_per_s "$out") jobs/s; latency p50 $(kv p50_ms "$out") ms, p90 $(kv p90_ms "$out") ms, p99 $(kv p99_ms "$out") ms, max $(kv max_ms "$out") ms"
    note "                      job-state $(kv job_state "$out") in the response; ${commits} commits in ${batches} batches ($(calc '%.2f' "$commits / ($batches > 0 ? $batches : 1)") jobs/fsync); printgated CPU $(calc '%.2f' "$cpu1 - $cpu0") s ($(calc '%.0f' "($cpu1 - $cpu0) * 1e6 / $SMALL_JOBS") us/job), client CPU $(kv client_cpu_s "$out") s; load $(cut -d' ' -f1 /proc/loadavg)"
    if [[ $sjobs == "$SMALL_JOBS" && $listed == "$SMALL_JOBS" && $held == "$SMALL_JOBS" ]]; then
        note "                      verified: printgatectl jobs lists ${held} pending-held jobs of ${PDF_BYTES} B"
    else
        fail "printgate c$c: spool.jobs ${sjobs}, listed ${listed}, pending-held of ${PDF_BYTES} B ${held}; expected ${SMALL_JOBS}"
    fi
    LAST_JPS=$(kv jobs_per_s "$out")
}
small_cups() {   # $1: conc, $2: round
    local c=$1 r=$2 out cpu0 cpu1 queued files
    cups_start "$WORK/cups-b$c-$r" 0
    cpu0=$(cpu_of "$CUPS_PID")
    out=$(client many 127.0.0.1 "$CUPS_PORT" "$CUPS_URI_PATH" "$WORK/small.pdf" application/pdf "$SMALL_JOBS" "$c") ||
        fail "cupsd c$c round $r: $out"
    cpu1=$(cpu_of "$CUPS_PID")
    read -r queued files < <(cups_count "$PDF_BYTES")
    cups_stop
    rm -rf "$WORK/cups-b$c-$r"
    CU_JPS[$c]+=" $(kv jobs_per_s "$out")"
    CU_P50[$c]+=" $(kv p50_ms "$out")"
    CU_P99[$c]+=" $(kv p99_ms "$out")"
    CU_CPUJ[$c]+=" $(calc '%.0f' "($cpu1 - $cpu0) * 1e6 / $SMALL_JOBS")"
    note "round $r cupsd     c$c: $(kv ok "$out") ok, $(kv fail "$out") failed, $(kv secs "$out") s -> $(kv jobs_per_s "$out") jobs/s; latency p50 $(kv p50_ms "$out") ms, p90 $(kv p90_ms "$out") ms, p99 $(kv p99_ms "$out") ms, max $(kv max_ms "$out") ms"
    note "                      job-state $(kv job_state "$out") in the response; cupsd CPU $(calc '%.2f' "$cpu1 - $cpu0") s ($(calc '%.0f' "($cpu1 - $cpu0) * 1e6 / $SMALL_JOBS") us/job), client CPU $(kv client_cpu_s "$out") s; load $(cut -d' ' -f1 /proc/loadavg)"
    if [[ $queued == "$SMALL_JOBS" && $files == "$SMALL_JOBS" ]]; then
        note "                      verified: lpstat -o lists ${queued} queued jobs, ${files} spool files of ${PDF_BYTES} B"
    else
        fail "cupsd c$c: lpstat -o lists ${queued}, ${files} spool files of ${PDF_BYTES} B; expected ${SMALL_JOBS}"
    fi
    LAST_JPS=$(kv jobs_per_s "$out")
}
for ((r = 1; r <= REPEAT; r++)); do
    for c in 1 8; do
        # Alternate who goes first, so a drift in the machine's load favours neither.
        if ((r % 2)); then
            small_pg "$c" "$r"; a=$LAST_JPS; small_cups "$c" "$r"; b=$LAST_JPS
        else
            small_cups "$c" "$r"; b=$LAST_JPS; small_pg "$c" "$r"; a=$LAST_JPS
        fi
        PAIRS[$c]+=" $(calc '%.2f' "$a / $b")"
    done
done
note "medians: printgate c1 $(median ${PG_JPS[1]}) c8 $(median ${PG_JPS[8]}) jobs/s | cupsd c1 $(median ${CU_JPS[1]}) c8 $(median ${CU_JPS[8]}) jobs/s"
note "ranges:  printgate c1 $(range ${PG_JPS[1]}) c8 $(range ${PG_JPS[8]}) | cupsd c1 $(range ${CU_JPS[1]}) c8 $(range ${CU_JPS[8]})"
note "per-round ratios printgate/cupsd: c1${PAIRS[1]} | c8${PAIRS[8]}"
note ""

note "-- (b') cupsd with default settings (MaxJobs ${CUPS_DEFAULT_MAXJOBS}): ${CUPS_DEFAULT_MAXJOBS} jobs, within its limit, then one more"
declare -A CD_JPS
for c in 1 8; do
    cups_start "$WORK/cups-def$c"
    out=$(client many 127.0.0.1 "$CUPS_PORT" "$CUPS_URI_PATH" "$WORK/small.pdf" application/pdf "$CUPS_DEFAULT_MAXJOBS" "$c") ||
        fail "default cupsd c$c: $out"
    CD_JPS[$c]=$(kv jobs_per_s "$out")
    note "default cupsd c$c: $(kv ok "$out") ok, $(kv fail "$out") failed, $(kv secs "$out") s -> ${CD_JPS[$c]} jobs/s; latency p50 $(kv p50_ms "$out") ms, p99 $(kv p99_ms "$out") ms"
    if [[ $c == 8 ]]; then
        CD_RSS500=$(status_of "$CUPS_PID" VmRSS) CD_HWM500=$(status_of "$CUPS_PID" VmHWM)
        over=$(client one 127.0.0.1 "$CUPS_PORT" "$CUPS_URI_PATH" "$WORK/small.pdf" application/pdf || true)
        CD_REFUSAL=$(kv first_error "$over")
        note "job $((CUPS_DEFAULT_MAXJOBS + 1)): ok=$(kv ok "$over") ${CD_REFUSAL}"
        note "default cupsd with ${CUPS_DEFAULT_MAXJOBS} queued jobs: VmRSS ${CD_RSS500} kB, VmHWM ${CD_HWM500} kB"
    fi
    cups_stop
    rm -rf "$WORK/cups-def$c"
done
note ""

# ============================================================ (a) one big job
note "== (a) one ${BIG_MIB} MiB Print-Job (random, application/octet-stream, Content-Length), first byte -> response (MB/s = 1e6 B/s)"
pg_start "$WORK/pg-a"
cups_start "$WORK/cups-a"   # default settings: only ${REPEAT} jobs
PGA_MBPS=() CUA_MBPS=() CUAS_MBPS=() PGA_PEAK=() CUA_PEAK=() APAIRS=()
for ((r = 1; r <= REPEAT; r++)); do
    sync
    if out=$(client one 127.0.0.1 "$PG_PORT" "$PG_URI_PATH" "$WORK/big.bin" application/octet-stream "$PG_PID"); then
        PGA_MBPS+=("$(kv mbps "$out")")
    else
        fail "printgate big job run $r: $out"
    fi
    PGA_PEAK+=("$(kv rss_peak_kb "$out")" "$(kv hwm_kb "$out")")
    note "run $r printgate: $(kv secs "$out") s  $(kv mbps "$out") MB/s  (job-state $(kv job_state "$out"); VmRSS peak $(kv rss_peak_kb "$out") kB, VmHWM $(kv hwm_kb "$out") kB; load $(cut -d' ' -f1 /proc/loadavg))"
    sync
    if out=$(client one 127.0.0.1 "$CUPS_PORT" "$CUPS_URI_PATH" "$WORK/big.bin" application/octet-stream "$CUPS_PID"); then
        t0=$(now)
        sync -f "$CUPS_DIR/spool"
        t1=$(now)
        secs=$(kv secs "$out")
        CUA_MBPS+=("$(kv mbps "$out")")
        CUAS_MBPS+=("$(calc '%.1f' "$BIG_BYTES / 1e6 / ($secs + $t1 - $t0)")")
        note "run $r cupsd    : ${secs} s  $(kv mbps "$out") MB/s; + sync -f $(calc '%.3f' "$t1 - $t0") s -> ${CUAS_MBPS[-1]} MB/s  (job-state $(kv job_state "$out"); VmRSS peak $(kv rss_peak_kb "$out") kB, VmHWM $(kv hwm_kb "$out") kB; load $(cut -d' ' -f1 /proc/loadavg))"
        APAIRS+=("$(calc '%.2f' "${PGA_MBPS[-1]:-0} / ${CUA_MBPS[-1]}")/$(calc '%.2f' "${PGA_MBPS[-1]:-0} / ${CUAS_MBPS[-1]}")")
    else
        fail "cupsd big job run $r: $out"
    fi
    CUA_PEAK+=("$(kv rss_peak_kb "$out")" "$(kv hwm_kb "$out")")
done
read -r listed held < <(pg_count "$BIG_BYTES")
[[ $held == "$REPEAT" ]] && note "verified: printgatectl jobs lists ${held} pending-held jobs of ${BIG_BYTES} B" ||
    fail "printgate lists ${listed} jobs, ${held} pending-held of ${BIG_BYTES} B; expected ${REPEAT}"
read -r queued files < <(cups_count "$BIG_BYTES")
[[ $files == "$REPEAT" ]] && note "verified: cupsd holds ${queued} queued jobs, ${files} spool files of ${BIG_BYTES} B" ||
    fail "cupsd: ${queued} queued, ${files} spool files of ${BIG_BYTES} B; expected ${REPEAT}"
pg_stop
cups_stop
rm -rf "$WORK/pg-a" "$WORK/cups-a"
PGA_MED=$(median "${PGA_MBPS[@]}") CUA_MED=$(median "${CUA_MBPS[@]}") CUAS_MED=$(median "${CUAS_MBPS[@]}")
PGA_TOP=$(printf '%s\n' "${PGA_PEAK[@]}" | awk 'NF' | sort -n | tail -1)
CUA_TOP=$(printf '%s\n' "${CUA_PEAK[@]}" | awk 'NF' | sort -n | tail -1)
note "median: printgate ${PGA_MED} MB/s | cupsd ${CUA_MED} MB/s | cupsd+sync ${CUAS_MED} MB/s"
note "range:  printgate $(range "${PGA_MBPS[@]}") | cupsd $(range "${CUA_MBPS[@]}") | cupsd+sync $(range "${CUAS_MBPS[@]}")"
note "per-run pairs printgate/cupsd / printgate/(cupsd+sync): ${APAIRS[*]:-n/a}"
note ""

# ================================================================= (c) RSS
note "== (c) memory (VmRSS/VmHWM from /proc/PID/status), ${HELD_JOBS} held jobs sent at c8"
pg_start "$WORK/pg-c"
sleep 1
PG_IDLE=$(status_of "$PG_PID" VmRSS) PG_IDLE_HWM=$(status_of "$PG_PID" VmHWM)
note "printgated idle (1 s after start): VmRSS ${PG_IDLE} kB, VmHWM ${PG_IDLE_HWM} kB"
out=$(client many 127.0.0.1 "$PG_PORT" "$PG_URI_PATH" "$WORK/small.pdf" application/pdf "$HELD_JOBS" 8) ||
    fail "printgate ${HELD_JOBS} jobs: $out"
note "printgate ${HELD_JOBS} jobs c8: $(kv ok "$out") ok, $(kv fail "$out") failed, $(kv secs "$out") s -> $(kv jobs_per_s "$out") jobs/s; p50 $(kv p50_ms "$out") ms, p99 $(kv p99_ms "$out") ms"
sleep 1
PG_HELD=$(status_of "$PG_PID" VmRSS) PG_HELD_HWM=$(status_of "$PG_PID" VmHWM)
note "printgated with ${HELD_JOBS} held jobs (1 s after the last): VmRSS ${PG_HELD} kB, VmHWM ${PG_HELD_HWM} kB"
read -r listed held < <(pg_count "$PDF_BYTES")
[[ $held == "$HELD_JOBS" ]] && note "verified: printgatectl jobs lists ${held} pending-held jobs of ${PDF_BYTES} B" ||
    fail "printgate lists ${listed}, ${held} pending-held of ${PDF_BYTES} B; expected ${HELD_JOBS}"
note "(info) printgated after serving that jobs --json listing: VmRSS $(status_of "$PG_PID" VmRSS) kB, VmHWM $(status_of "$PG_PID" VmHWM) kB"
pg_stop
rm -rf "$WORK/pg-c"

cups_start "$WORK/cups-c"
sleep 1
CU_IDLE=$(status_of "$CUPS_PID" VmRSS) CU_IDLE_HWM=$(status_of "$CUPS_PID" VmHWM)
note "cupsd (default settings) idle (1 s after the queue was set up): VmRSS ${CU_IDLE} kB, VmHWM ${CU_IDLE_HWM} kB"
cups_stop
rm -rf "$WORK/cups-c"
note "cupsd (default settings) with ${CUPS_DEFAULT_MAXJOBS} queued jobs, its maximum (from (b')): VmRSS ${CD_RSS500:-?} kB, VmHWM ${CD_HWM500:-?} kB"
cups_start "$WORK/cups-c0" 0
sleep 1
CU0_IDLE=$(status_of "$CUPS_PID" VmRSS)
out=$(client many 127.0.0.1 "$CUPS_PORT" "$CUPS_URI_PATH" "$WORK/small.pdf" application/pdf "$HELD_JOBS" 8) ||
    fail "cupsd (MaxJobs 0) ${HELD_JOBS} jobs: $out"
note "cupsd variant MaxJobs 0: idle VmRSS ${CU0_IDLE} kB; ${HELD_JOBS} jobs c8: $(kv ok "$out") ok, $(kv fail "$out") failed, $(kv secs "$out") s -> $(kv jobs_per_s "$out") jobs/s; p50 $(kv p50_ms "$out") ms, p99 $(kv p99_ms "$out") ms"
sleep 1
CU_HELD=$(status_of "$CUPS_PID" VmRSS) CU_HELD_HWM=$(status_of "$CUPS_PID" VmHWM)
note "cupsd variant MaxJobs 0 with ${HELD_JOBS} queued jobs (1 s after the last): VmRSS ${CU_HELD} kB, VmHWM ${CU_HELD_HWM} kB"
read -r queued files < <(cups_count "$PDF_BYTES")
[[ $files == "$HELD_JOBS" && $queued == "$HELD_JOBS" ]] && note "verified: lpstat -o lists ${queued} queued jobs, ${files} spool files of ${PDF_BYTES} B" ||
    fail "cupsd: lpstat -o lists ${queued}, ${files} spool files; expected ${HELD_JOBS}"
cups_stop
rm -rf "$WORK/cups-c0"
note ""

# ================================================================= summary
PG1=$(median ${PG_JPS[1]}) PG8=$(median ${PG_JPS[8]}) CU1=$(median ${CU_JPS[1]}) CU8=$(median ${CU_JPS[8]})
r1=$(calc '%.2f' "$PG1 / $CU1") r8=$(calc '%.2f' "$PG8 / $CU8")
ra=$(calc '%.2f' "$PGA_MED / $CUA_MED") ras=$(calc '%.2f' "$PGA_MED / $CUAS_MED")
ceil_pct=$(calc '%.0f' "100 * $PGA_MED / $CEIL")
held_mb=$(mb "$PG_HELD")
note "== summary (medians of ${REPEAT} rounds for (a) and (b); MB/s = 1e6 B/s; RSS in MiB, and MB = 1e6 B where the target says MB)"
row() { printf '%-48s %-34s %-26s %s\n' "$@"; }
row "figure" "value" "target" "status"
row "(b) printgate ${SMALL_JOBS} x ${PDF_BYTES} B PDF, c1" "${PG1} jobs/s, p99 $(median ${PG_P99[1]}) ms" "" ""
row "(b) cupsd (MaxJobs 0), c1" "${CU1} jobs/s, p99 $(median ${CU_P99[1]}) ms" "" ""
row "(b) printgate, c8" "${PG8} jobs/s, p99 $(median ${PG_P99[8]}) ms" "" ""
row "(b) cupsd (MaxJobs 0), c8" "${CU8} jobs/s, p99 $(median ${CU_P99[8]}) ms" "" ""
row "(b) ratio printgate / cupsd, c1" "${r1}" "" ""
row "(b) ratio printgate / cupsd, c8" "${r8}" ">= 1.00 (fsynced vs not)" "$(yn "$r8 >= 1")"
row "(b) printgate jobs per fsync c1 / c8" "$(median ${PG_FSYNC[1]}) / $(median ${PG_FSYNC[8]})" "" ""
row "(b) server CPU per job c8, printgate / cupsd" "$(median ${PG_CPUJ[8]}) / $(median ${CU_CPUJ[8]}) us" "" ""
row "(b') default cupsd, ${CUPS_DEFAULT_MAXJOBS} jobs c1 / c8" "${CD_JPS[1]} / ${CD_JPS[8]} jobs/s" "" ""
row "(b') ratio printgate c8 / default cupsd c8" "$(calc '%.2f' "$PG8 / ${CD_JPS[8]}")" "(>= 1.00, ${CUPS_DEFAULT_MAXJOBS} jobs only)" "$(yn "$PG8 >= ${CD_JPS[8]}")"
row "(a) printgate ${BIG_MIB} MiB job" "${PGA_MED} MB/s" ">= 500 MB/s" "$(yn "$PGA_MED >= 500")"
row "(a) cupsd ${BIG_MIB} MiB job (not fsynced)" "${CUA_MED} MB/s" "" ""
row "(a) cupsd ${BIG_MIB} MiB job + sync -f" "${CUAS_MED} MB/s" "" ""
row "(a) ratio printgate / cupsd, / (cupsd + sync)" "${ra} / ${ras}" "" ""
row "(a/d) printgate / min(AES, disk)" "${ceil_pct}% of ${CEIL} MB/s" "" ""
row "(a) peak RSS during ${BIG_MIB} MiB jobs, pg / cupsd" "$(mib "$PGA_TOP") / $(mib "$CUA_TOP") MiB" "" ""
row "(c) printgate RSS idle" "$(mib "$PG_IDLE") MiB" "" ""
row "(c) printgate RSS, ${HELD_JOBS} held jobs" "$(mib "$PG_HELD") MiB = ${held_mb} MB (HWM $(mib "$PG_HELD_HWM") MiB)" "< 50 MB" "$(yn "$held_mb < 50")"
row "(c) cupsd RSS idle (default)" "$(mib "$CU_IDLE") MiB" "" ""
row "(c) cupsd RSS, ${CUPS_DEFAULT_MAXJOBS} jobs (default maximum)" "$(mib "${CD_RSS500:-0}") MiB" "" ""
row "(c) cupsd RSS, ${HELD_JOBS} jobs (variant MaxJobs 0)" "$(mib "$CU_HELD") MiB (HWM $(mib "$CU_HELD_HWM") MiB)" "" ""
row "(c) ratio printgate / cupsd at ${HELD_JOBS} jobs" "$(calc '%.2f' "$PG_HELD / $CU_HELD")" "" ""
row "(d) AES-256-GCM (openssl -elapsed, 1 thread)" "${AES_MBPS} MB/s" "" ""
row "(d) disk (dd 1 GiB conv=fsync)" "${DD_MBPS} MB/s" "" ""
note ""
note "cupsd's default MaxJobs (${CUPS_DEFAULT_MAXJOBS}) refused job $((CUPS_DEFAULT_MAXJOBS + 1)) on the stopped queue with: ${CD_REFUSAL:-?}"
if ((${#PG_BAD_EXITS[@]})); then
    note "NOTE: printgated did not exit cleanly on SIGTERM in ${#PG_BAD_EXITS[@]} of ${PG_STOPS} stops (exit status ${PG_BAD_EXITS[*]}; 134 = SIGABRT); last log line: ${PG_LAST_WORDS:-?}"
    note "      (after the measurements of that daemon; jobs were verified before each stop)"
fi
note "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
if ((HARNESS_FAIL)); then
    note ""
    note "the harness itself failed somewhere above (see HARNESS FAILURE lines)"
    exit 1
fi
