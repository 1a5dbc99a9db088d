#!/usr/bin/env bash
# Load test of webhook ingest: verify + parse + durable commit + 200, against the real
# `kaltura-webhooks serve` binary (release build) with SQLite in WAL mode in a temp dir.
#
# A Python generator pre-computes N distinct signed notifications (distinct
# eventNotificationJobId, sha256 signatures over the partner's admin secret), a wrk Lua script
# cycles through them, and the script prints throughput and latency percentiles.
# The server runs with --no-deliver (receiver only: nothing is routed or posted), so the
# figure is ingest alone; delivery throughput is measured by the process tests
# (examples/tests/webhooks_cli.rs prints it).
#
# Usage: scripts/load/webhooks-ingest.sh [DURATION] [CONNECTIONS] [WRK_THREADS] [N]
#        (defaults 10s 32 2 120000). Needs wrk (apt-get install -y wrk), python3, curl.
#        Env: PORT (default 3081), TARGET_RPS (5000), TARGET_P99_MS (20).
# Exits 3 when the targets are not met.
set -euo pipefail

DURATION=${1:-10s}
CONNECTIONS=${2:-32}
WRK_THREADS=${3:-2}
N=${4:-120000}
PORT=${PORT:-3081}
TARGET_RPS=${TARGET_RPS:-5000}
TARGET_P99_MS=${TARGET_P99_MS:-20}
PARTNER=12345
SECRET=load-test-admin-secret-0123456789abcdef

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

echo "generating $N signed notifications..."
python3 scripts/load/gen_webhooks.py "$N" "$SECRET" "$WORK/requests.tsv"
# One more, outside the file, for the sanity checks below.
python3 scripts/load/gen_webhooks.py 1 "$SECRET" "$WORK/check.tsv" 1
CHECK_SIG=$(cut -f1 "$WORK/check.tsv")
CHECK_BODY=$(cut -f2- "$WORK/check.tsv")

cat > "$WORK/config.json" <<JSON
{
  "discord": {"token": "load-test-token-not-used"},
  "kaltura": {"service_url": "http://127.0.0.1:9", "partner_id": $PARTNER, "admin_secret": "$SECRET"},
  "database": {"url": "sqlite://$WORK/data/kd.db"},
  "http": {"webhooks_listen": "127.0.0.1:$PORT"}
}
JSON

cargo build --quiet --release -p kaltura-discord-examples --bin kaltura-webhooks
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
RUST_LOG=warn "$TARGET_DIR/release/kaltura-webhooks" --config "$WORK/config.json" serve --no-deliver \
    > "$WORK/server.out" 2> "$WORK/server.log" &
SERVER_PID=$!

URL="http://127.0.0.1:$PORT/webhooks/kaltura/$PARTNER"
for _ in $(seq 1 100); do
    if curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" 2>/dev/null; then break; fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
    sleep 0.1
done

# Sanity: signed → 200 (twice: the duplicate is acknowledged too); the same signature over a
# different body (one trailing space) → 401.
for _ in 1 2; do
    OK=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL" -H 'Content-Type: application/json' \
        -H "X-KALTURA-SIGNATURE: $CHECK_SIG" -H 'X-KALTURA-HASH-ALGO: sha256' --data-binary "$CHECK_BODY")
    [[ $OK == 200 ]] || { echo "a signed notification got $OK, not 200" >&2; cat "$WORK/server.log" >&2; exit 1; }
done
BAD=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL" -H 'Content-Type: application/json' \
    -H "X-KALTURA-SIGNATURE: $CHECK_SIG" -H 'X-KALTURA-HASH-ALGO: sha256' --data-binary "$CHECK_BODY ")
[[ $BAD == 401 ]] || { echo "a bad signature got $BAD, not 401" >&2; exit 1; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
BEFORE=$(cpu_ticks)
WEBHOOKS_FILE="$WORK/requests.tsv" WEBHOOKS_PATH="/webhooks/kaltura/$PARTNER" WRK_THREADS="$WRK_THREADS" \
    wrk --latency -t "$WRK_THREADS" -c "$CONNECTIONS" -d "$DURATION" -s scripts/load/webhooks-ingest.lua "$URL" \
    | tee "$WORK/wrk.out"
AFTER=$(cpu_ticks)
echo "load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"

RPS=$(awk '/^Requests\/sec:/ {print $2}' "$WORK/wrk.out")
REQS=$(awk '/requests in/ {print $1}' "$WORK/wrk.out")
P99=$(awk '/^latency p99:/ {print $3}' "$WORK/wrk.out")
NON200=$(awk '/^non-200 answers:/ {print $3}' "$WORK/wrk.out")
HZ=$(getconf CLK_TCK)
CPU_US=$(python3 -c "print(f'{($AFTER - $BEFORE) / $HZ / max($REQS, 1) * 1e6:.1f}')")
METRICS=$(curl -s "http://127.0.0.1:$PORT/metrics" | grep -E '^kd_webhooks_(received|duplicates)' || true)
echo
echo "ingest: $RPS notifications/s, p99 $P99 ms, $NON200 non-200, server CPU ${CPU_US} µs/notification"
echo "$METRICS"
python3 - "$RPS" "$P99" "$TARGET_RPS" "$TARGET_P99_MS" "$NON200" <<'PY'
import sys
rps, p99, target_rps, target_p99, non200 = map(float, sys.argv[1:])
ok = rps >= target_rps and p99 < target_p99 and non200 == 0
print(("targets met" if ok else "targets NOT met") + f" (≥ {target_rps:.0f}/s, p99 < {target_p99:.0f} ms, no errors)")
sys.exit(0 if ok else 3)
PY
