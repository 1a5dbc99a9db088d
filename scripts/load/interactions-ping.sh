#!/usr/bin/env bash
# Load test of the HTTP interactions endpoint with signed PINGs.
#
# Builds and starts the loopback server (benches/examples/interactions_server.rs, release),
# checks one signed PING answers {"type":1} and one with a bad signature 401, then runs wrk
# bounded in time and prints requests/s and the p99 latency.
#
# Usage: scripts/load/interactions-ping.sh [DURATION] [CONNECTIONS] [WRK_THREADS] [SERVER_WORKERS]
#        (defaults 10s 64 2 2). Needs wrk (apt-get install -y wrk), python3 with PyNaCl or
#        cryptography, curl. Env: PORT (default 3030), TARGET_RPS (16000), TARGET_P99_MS (5).
set -euo pipefail

DURATION=${1:-10s}
CONNECTIONS=${2:-64}
WRK_THREADS=${3:-2}
SERVER_WORKERS=${4:-2}
PORT=${PORT:-3030}
TARGET_RPS=${TARGET_RPS:-16000}
TARGET_P99_MS=${TARGET_P99_MS:-5}

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
for tool in wrk curl python3 cargo; do
    command -v "$tool" >/dev/null || { echo "missing $tool (wrk: apt-get install -y wrk)" >&2; exit 2; }
done

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    if [[ -n $SERVER_PID ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

python3 scripts/load/sign_ping.py "$WORK/ping.lua" > "$WORK/headers.txt"
SIG=$(sed -n 's/^X-Signature-Ed25519: //p' "$WORK/headers.txt")
TS=$(sed -n 's/^X-Signature-Timestamp: //p' "$WORK/headers.txt")
BODY=$(sed -n 's/^wrk.body = \[\[\(.*\)\]\]$/\1/p' "$WORK/ping.lua")

cargo build --quiet --release -p kaltura-discord-benches --example interactions_server
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
"$TARGET_DIR/release/examples/interactions_server" "127.0.0.1:$PORT" "$SERVER_WORKERS" 2> "$WORK/server.log" &
SERVER_PID=$!

URL="http://127.0.0.1:$PORT/interactions"
for _ in $(seq 1 100); do
    if curl -s -o /dev/null "$URL" 2>/dev/null; then break; fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
    sleep 0.1
done

# Sanity: a signed PING is answered PONG, a bad signature 401.
PONG=$(curl -s -w ' %{http_code} %{content_type}' -X POST "$URL" -H 'Content-Type: application/json' \
    -H "X-Signature-Ed25519: $SIG" -H "X-Signature-Timestamp: $TS" --data-binary "$BODY")
[[ $PONG == '{"type":1} 200 application/json' ]] || { echo "unexpected PING answer: $PONG" >&2; exit 1; }
BAD=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL" -H 'Content-Type: application/json' \
    -H "X-Signature-Ed25519: ${SIG/#?/0}" -H "X-Signature-Timestamp: $TS" --data-binary "${BODY} ")
[[ $BAD == 401 ]] || { echo "a bad signature got $BAD, not 401" >&2; exit 1; }

# The server's CPU time (user + system, clock ticks) from /proc: CPU per request does not
# depend on what else runs on the machine, requests/s and latencies do.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }
LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
TICKS_BEFORE=$(cpu_ticks)
echo "load average before: $LOAD_BEFORE on $(nproc) cores"
echo "wrk -t$WRK_THREADS -c$CONNECTIONS -d$DURATION --latency (server: $SERVER_WORKERS workers, $(nproc) cores)"
wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$WORK/ping.lua" "$URL" | tee "$WORK/wrk.txt"

TICKS_AFTER=$(cpu_ticks)
TOTAL=$(awk '/requests in/ {print $1}' "$WORK/wrk.txt")
CPU_US=$(python3 -c 'import sys, os; t, n = int(sys.argv[1]), int(sys.argv[2]); print(round(t / os.sysconf("SC_CLK_TCK") * 1e6 / max(n, 1), 1))' \
    "$((TICKS_AFTER - TICKS_BEFORE))" "$TOTAL")
RPS=$(awk '/^Requests\/sec:/ {print $2}' "$WORK/wrk.txt")
P99=$(awk '$1 == "99%" {print $2}' "$WORK/wrk.txt")
NON2XX=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$WORK/wrk.txt")
P99_MS=$(python3 -c '
import re, sys
m = re.fullmatch(r"([0-9.]+)(us|ms|s)", sys.argv[1])
print(float(m[1]) * {"us": 0.001, "ms": 1, "s": 1000}[m[2]] if m else "nan")' "$P99")
echo
echo "server CPU per request: ${CPU_US} us (user + system, $TOTAL requests)"
echo "requests/s: $RPS (target >= $TARGET_RPS)"
echo "p99: $P99 = ${P99_MS} ms (target < $TARGET_P99_MS ms)"
[[ -z $NON2XX ]] || { echo "non-2xx responses: $NON2XX" >&2; exit 1; }
python3 -c 'import sys; rps, p99, trps, tp99 = map(float, sys.argv[1:]); sys.exit(0 if rps >= trps and p99 < tp99 else 3)' \
    "$RPS" "$P99_MS" "$TARGET_RPS" "$TARGET_P99_MS" && echo "targets met" || { echo "targets NOT met" >&2; exit 3; }
