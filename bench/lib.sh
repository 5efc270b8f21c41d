# SPDX-License-Identifier: Apache-2.0
# Helpers shared by the bench scripts (sourced, never run). The caller sets WORK
# (its temp dir), HARNESS_FAIL=0 and STARTED_PIDS=() (PIDs it started) first.

note() { printf '%s\n' "$*"; }
fail() { printf 'HARNESS FAILURE: %s\n' "$*"; HARNESS_FAIL=1; }
kv() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }                # key=value from a line
calc() { awk "BEGIN{printf \"$1\", $2}" 2>/dev/null || echo "n/a"; }   # n/a: missing figure
yn() { awk "BEGIN{print ($1) ? \"meets\" : \"BELOW\"}" 2>/dev/null || echo "n/a"; }

# Drops a PID from STARTED_PIDS once it has been stopped.
forget_pid() {
    local keep=() p
    for p in "${STARTED_PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    STARTED_PIDS=("${keep[@]}")
}

# EXIT trap: stops what the script started (by PID; these are its own children)
# and removes WORK unless KEEP=1.
bench_cleanup() {
    local p
    for p in "${STARTED_PIDS[@]}"; do
        if kill -0 "$p" 2>/dev/null; then
            kill -TERM "$p" 2>/dev/null || true
            wait "$p" 2>/dev/null || true
        fi
    done
    if declare -F wan_down >/dev/null; then wan_down; fi
    if [[ ${KEEP:-0} == 1 ]]; then
        echo "kept $WORK ${SERVER_DIR:-}"
    else
        rm -rf "$WORK"
        if [[ -n ${SERVER_DIR:-} ]]; then rm -rf "$SERVER_DIR"; fi
    fi
}
