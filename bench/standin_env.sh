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

# WAN_RATE (a tc rate: 1gbit, 100mbit) puts the stand-in in a network namespace of its
# own, behind a veth pair shaped to that rate each way (a token bucket; this kernel has
# no netem, so no added delay): the server across the WAN, as a branch sees it. printgated's
# clients stay on loopback (the branch LAN); printgated's forward and the direct send
# both cross the link. Needs root (ip netns, tc). Sets SI_HOST; wan_down undoes it.
SI_HOST=127.0.0.1
SI_RUN=()
SI_ARGS=()
WAN_NS='' WAN_IF=''   # set by wan_up only: wan_down never touches what it did not make
if [[ -n ${WAN_RATE:-} && $EUID -ne 0 ]]; then
    echo "WAN_RATE needs root (ip netns, tc)" >&2
    exit 2
fi
wan_up() {
    [[ -n ${WAN_RATE:-} ]] || return 0
    local n=$(($$ % 250 + 1)) i
    # A /24 no other run (or a killed run's leftovers) has a route for.
    for ((i = 0; i < 250; i++)); do
        [[ -z $(ip -4 route show "10.231.$n.0/24") ]] && break
        n=$((n % 250 + 1))
    done
    [[ -z $(ip -4 route show "10.231.$n.0/24") ]] || { echo "no free 10.231.N.0/24 for the WAN link" >&2; exit 1; }
    SI_HOST=10.231.$n.2
    ip netns add "pgwan$$"
    WAN_NS=pgwan$$
    ip link add "pgw$$h" type veth peer name pgwan0 netns "$WAN_NS"
    WAN_IF=pgw$$h
    ip addr add "10.231.$n.1/24" dev "$WAN_IF"
    ip link set "$WAN_IF" up
    ip -n "$WAN_NS" addr add "$SI_HOST/24" dev pgwan0
    # ippeveprinter listens on a name with an IPv4 and an IPv6 address: the namespace's
    # own hosts file (ip netns exec mounts /etc/netns/NAME/hosts over /etc/hosts).
    ip -n "$WAN_NS" addr add "fd00:231:$n::2/64" dev pgwan0 nodad
    mkdir -p "/etc/netns/$WAN_NS"
    printf '127.0.0.1 localhost\n::1 localhost\n%s pgwan-server\nfd00:231:%s::2 pgwan-server\n' "$SI_HOST" "$n" \
        >"/etc/netns/$WAN_NS/hosts"
    SI_ARGS=(--queue-name pgwan-server --admin-from "10.231.$n.1")
    ip -n "$WAN_NS" link set pgwan0 up
    ip -n "$WAN_NS" link set lo up
    # burst: 512 KiB (a few 64 KiB segments of the veth's offload); latency: how long
    # a packet may wait in the bucket's queue before it is dropped.
    tc qdisc add dev "$WAN_IF" root tbf rate "$WAN_RATE" burst 512kb latency 100ms
    tc -n "$WAN_NS" qdisc add dev pgwan0 root tbf rate "$WAN_RATE" burst 512kb latency 100ms
    SI_RUN=(ip netns exec "$WAN_NS")
}
wan_down() {
    if [[ -n $WAN_IF ]]; then ip link del "$WAN_IF" 2>/dev/null || true; fi
    [[ $WAN_NS =~ ^pgwan[0-9]+$ ]] || return 0
    ip netns del "$WAN_NS" 2>/dev/null || true
    rm -rf "/etc/netns/$WAN_NS"
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
    wan_up
    "${SI_RUN[@]}" "$PY" "$STANDIN" --listen "$SI_HOST:0" --fixture "$ROOT/tests/standin/fixture.json" \
        --state-dir "$WORK/standin" --ippeveprinter --admin-listen "$SI_HOST:0" "${SI_ARGS[@]}" \
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
