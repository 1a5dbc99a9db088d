#!/usr/bin/env bash
# Load test of the interactions endpoint over the real command engine: one signed
# `/kaltura video search query:intro` interaction, answered by CommandEngine against the
# in-process fake Kaltura (benches/examples/commands_server.rs, release build).
#
# Checks that the signed interaction is answered inline (type 4, "Videos matching"), then
# runs wrk bounded in time with 16 and then 64 connections, and prints for each run the load
# average before it, requests/s, p99 and the server's CPU time per request. On the way out
# the server prints its counters by outcome and how many replies it deferred.
#
# Usage: scripts/load/commands-search.sh [DURATION] [WRK_THREADS] [SERVER_WORKERS] [CONNECTIONS...]
#        (defaults 10s 2 2 16 64). Needs wrk (apt-get install -y wrk), python3 with PyNaCl or
#        cryptography, curl. Env: PORT (default 3031), QUERY (default intro).
set -euo pipefail

DURATION=${1:-10s}
WRK_THREADS=${2:-2}
SERVER_WORKERS=${3:-2}
shift $(( $# < 3 ? $# : 3 ))
CONNECTIONS=("$@")
[[ ${#CONNECTIONS[@]} -gt 0 ]] || CONNECTIONS=(16 64)
PORT=${PORT:-3031}
QUERY=${QUERY:-intro}

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
for tool in wrk curl python3 cargo; do
    command -v "$tool" >/dev/null || { echo "missing $tool (wrk: apt-get install -y wrk)" >&2; exit 2; }
done

WORK=$(mktemp -d)
SERVER_PID=
stop_server() {
    if [[ -n $SERVER_PID ]]; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=
        grep -h '^requests:' "$WORK/server.log" || true
    fi
}
cleanup() { stop_server; rm -rf "$WORK"; }
trap cleanup EXIT

python3 scripts/load/sign_interaction.py "$WORK/search.lua" "$QUERY" > "$WORK/headers.txt"
SIG=$(sed -n 's/^X-Signature-Ed25519: //p' "$WORK/headers.txt")
TS=$(sed -n 's/^X-Signature-Timestamp: //p' "$WORK/headers.txt")

cargo build --quiet --release -p kaltura-discord-benches --example commands_server
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
"$TARGET_DIR/release/examples/commands_server" "127.0.0.1:$PORT" "$SERVER_WORKERS" 2> "$WORK/server.log" &
SERVER_PID=$!

URL="http://127.0.0.1:$PORT/interactions"
for _ in $(seq 1 100); do
    if curl -s -o /dev/null "$URL" 2>/dev/null; then break; fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
    sleep 0.1
done

# Sanity: the signed search is answered inline by the engine, a bad signature 401.
ANSWER=$(curl -s -X POST "$URL" -H 'Content-Type: application/json' \
    -H "X-Signature-Ed25519: $SIG" -H "X-Signature-Timestamp: $TS" --data-binary "@$WORK/search.lua.body")
python3 -c '
import json, sys
a = json.loads(sys.argv[1])
ok = a.get("type") == 4 and "Videos matching" in json.dumps(a)
sys.exit(0 if ok else 1)' "$ANSWER" || { echo "unexpected answer to the search: ${ANSWER:0:300}" >&2; exit 1; }
BAD=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL" -H 'Content-Type: application/json' \
    -H "X-Signature-Ed25519: ${SIG/#?/0}" -H "X-Signature-Timestamp: $TS" --data-binary "@$WORK/search.lua.body")
[[ $BAD == 401 ]] || { echo "a bad signature got $BAD, not 401" >&2; exit 1; }
echo "sanity: the signed search answers type 4 (\"Videos matching\"), a bad signature 401"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }
STATUS=0
for C in "${CONNECTIONS[@]}"; do
    LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
    TICKS_BEFORE=$(cpu_ticks)
    echo
    echo "== wrk -t$WRK_THREADS -c$C -d$DURATION --latency (server: $SERVER_WORKERS workers, $(nproc) cores; load average before: $LOAD_BEFORE)"
    wrk -t"$WRK_THREADS" -c"$C" -d"$DURATION" --latency -s "$WORK/search.lua" "$URL" | tee "$WORK/wrk-$C.txt"
    TICKS_AFTER=$(cpu_ticks)
    TOTAL=$(awk '/requests in/ {print $1}' "$WORK/wrk-$C.txt")
    CPU_US=$(python3 -c 'import sys, os; t, n = int(sys.argv[1]), int(sys.argv[2]); print(round(t / os.sysconf("SC_CLK_TCK") * 1e6 / max(n, 1), 1))' \
        "$((TICKS_AFTER - TICKS_BEFORE))" "$TOTAL")
    RPS=$(awk '/^Requests\/sec:/ {print $2}' "$WORK/wrk-$C.txt")
    P99=$(awk '$1 == "99%" {print $2}' "$WORK/wrk-$C.txt")
    NON2XX=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$WORK/wrk-$C.txt")
    echo "c=$C: requests/s $RPS, p99 $P99, server CPU per request ${CPU_US} us (user + system, $TOTAL requests), load average before $LOAD_BEFORE, after $(cut -d' ' -f1-3 /proc/loadavg)"
    if [[ -n $NON2XX ]]; then echo "c=$C: non-2xx responses: $NON2XX" >&2; STATUS=1; fi
done
echo
stop_server
exit $STATUS
