#!/usr/bin/env bash
# Load test of the API gateway: GET /api/v1/guilds/{id}/meetings with a valid JWT, on loopback.
#
#   scripts/load/gateway-meetings.sh [DURATION] [CONNECTIONS] [WRK_THREADS]   (defaults 10s 32 2)
#
# Builds `kaltura-gateway` (release), starts it on 127.0.0.1 with a temporary SQLite database
# and the fake Kaltura in process (no credentials), the rate limits raised far above the load
# (their code still runs on every request), mints a token with `--issue-token`, checks one
# request (200) and one without a token (401), starts two meetings so the list is not empty
# (each list then checks them against the fake Kaltura, in the same process),
# then runs `wrk --latency` and prints requests/s, p99 and the load average before the run.
set -euo pipefail
cd "$(dirname "$0")/../.."

duration="${1:-10s}"
connections="${2:-32}"
threads="${3:-2}"
port="${PORT:-18480}"
guild=613425648685547541
user=80351110224678912

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install -y wrk)" >&2; exit 2; }
command -v curl >/dev/null || { echo "curl is not installed" >&2; exit 2; }

# PROFILE=debug measures the debug build (quicker to build; slower to run).
profile="${PROFILE:-release}"
if [ "$profile" = release ]; then
  cargo build --release --quiet -p kaltura-discord-examples --bin kaltura-gateway
else
  cargo build --quiet -p kaltura-discord-examples --bin kaltura-gateway
fi
bin="target/$profile/kaltura-gateway"

work="$(mktemp -d)"
secret="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export KD_GATEWAY_JWT_SECRET="$secret"
export KD__DATABASE__URL="sqlite://$work/gateway.db"
export RUST_LOG="${RUST_LOG:-warn}"
# Everyone may start meetings here, so the script can create the two it lists.
export KD__GUILD_DEFAULTS__RBAC__EVERYONE=moderator

"$bin" --listen "127.0.0.1:$port" --rate-per-minute 1000000000 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { echo "the gateway exited" >&2; exit 1; }
  sleep 0.1
done

token="$("$bin" --issue-token "$user" "$guild")"
url="http://127.0.0.1:$port/api/v1/guilds/$guild/meetings"

status="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$url")"
[ "$status" = 200 ] || { echo "GET meetings with the token answered $status" >&2; exit 1; }
status="$(curl -s -o /dev/null -w '%{http_code}' "$url")"
[ "$status" = 401 ] || { echo "GET meetings without a token answered $status" >&2; exit 1; }
for title in "Load test A" "Load test B"; do
  status="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' -d "{\"title\": \"$title\"}" "$url")"
  [ "$status" = 201 ] || { echo "POST meetings answered $status" >&2; exit 1; }
done
count="$(curl -s -H "Authorization: Bearer $token" "$url" | grep -o '"id"' | wc -l)"
[ "$count" = 2 ] || { echo "the list has $count meetings, expected 2" >&2; exit 1; }

echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrk: $duration, $connections connections, $threads threads, GET $url"
out="$(wrk --latency -t"$threads" -c"$connections" -d"$duration" -H "Authorization: Bearer $token" "$url")"
echo "$out"
rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
non2xx="$(awk '/Non-2xx/ {print $NF}' <<<"$out")"
echo "requests/s: $rps  p99: $p99  non-2xx: ${non2xx:-0}"
