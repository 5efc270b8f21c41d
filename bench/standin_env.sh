# SPDX-License-Identifier: Apache-2.0
# Shared by bench/upstream.sh and bench/forward_big.sh (sourced, never run): the
# programs they use, copying printgated for a run, starting the MyQ stand-in with its
# ippeveprinter queue and writing printgated's configuration with a `mode: server`
# queue on it. The caller sets ROOT before sourcing it, and WORK, STARTED_PIDS=()
# and sources bench/lib.sh before calling the functions.

PGD_SRC=${PRINTGATED:-$ROOT/build/printgated}
PGCTL_SRC=${PRINTGATECTL:-$ROOT/build/printgatectl}
PY=/usr/bin/python3
HELPER=("$PY" -I "$ROOT/bench/upstream_client.py")
STANDIN=$ROOT/tests/standin/myq-standin
BACKEND=/usr/lib/cups/backend/ipp

# The binaries are copied: a rebuild in the checkout during the run neither removes
# them nor mixes two builds in one run. Sets PGD and PGCTL.
copy_binaries() {
    mkdir -p "$WORK/bin"
    cp "$PGD_SRC" "$WORK/bin/printgated"
    cp "$PGCTL_SRC" "$WORK/bin/printgatectl"
    PGD=$WORK/bin/printgated
    PGCTL=$WORK/bin/printgatectl
}

# Starts the stand-in under $WORK/standin and waits (at most ~60 s) until it prints
# its admin URL. Sets SI_PID, SI_URL, SI_CA, SI_QUEUE, SI_ADMIN, FAULT, REPORT, SINK.
standin_up() {
    local i
    if [[ -n ${SERVER_TMP:-} ]]; then
        # The "server" (its ippeveprinter spool and print-command copies) on a folder of
        # its own, e.g. a tmpfs: a real MyQ server does not share the branch appliance's disk.
        SERVER_DIR=$(mktemp -d "$SERVER_TMP/pg-standin.XXXXXX")
        ln -s "$SERVER_DIR" "$WORK/standin"
    fi
    "$PY" "$STANDIN" --listen 127.0.0.1:0 --fixture "$ROOT/tests/standin/fixture.json" \
        --state-dir "$WORK/standin" --ippeveprinter --admin-listen 127.0.0.1:0 \
        >"$WORK/standin.out" 2>"$WORK/standin.err" &
    SI_PID=$!
    STARTED_PIDS+=("$SI_PID")
    for ((i = 0; i < 600; i++)); do   # certificates, ippeveprinter
        grep -q '^admin ' "$WORK/standin.out" && break
        kill -0 "$SI_PID" 2>/dev/null || break
        sleep 0.1
    done
    grep -q '^admin ' "$WORK/standin.out" || { cat "$WORK/standin.err" >&2; echo "the stand-in did not start" >&2; exit 1; }
    SI_URL=$(sed -n 's/^ready //p' "$WORK/standin.out")
    SI_CA=$(sed -n 's/^ca //p' "$WORK/standin.out")
    SI_QUEUE=$(sed -n 's/^queue //p' "$WORK/standin.out")
    SI_ADMIN=$(sed -n 's/^admin //p' "$WORK/standin.out")
    FAULT=$SI_ADMIN/_standin/fault
    REPORT=$SI_ADMIN/_standin/report
    SINK=$WORK/standin/queue
    mkdir -p "$SINK"
}
si_reset() { "$PY" -I -c 'import sys,urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=b"{}"), timeout=120).read()' "$SI_ADMIN/_standin/reset-report"; }
sink_count() { find "$SINK" -maxdepth 1 -name '*.env' | wc -l; }

# Writes the client credentials and printgated's configuration to $1 (loopback raw
# and admin listeners, the upstream, queue `secure` in server mode; state_dir is set
# per run with --set). $2: the comment line at its top.
pg_write_conf() {
    printf 'client_id: gw-test\nclient_secret: gw-test-secret\n' >"$WORK/upstream.credentials"
    chmod 600 "$WORK/upstream.credentials"
    cat >"$1" <<EOF
# $2
listen:
  raw: 127.0.0.1:0
  admin: 127.0.0.1:0
upstream:
  url: $SI_URL
  gateway_id: gw-test
  credentials_file: $WORK/upstream.credentials
  ca_file: $SI_CA
  pinned_cert: $(cat "$WORK/standin/tls/server.pin")
queues:
  secure:
    mode: server
    server_queue: $SI_QUEUE
spool:
  max_job_size: 1GiB
log:
  level: info
EOF
}
