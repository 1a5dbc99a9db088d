#!/usr/bin/env bash
# Property-based check of the API gateway against its own OpenAPI document, with schemathesis.
#
#   scripts/api-check.sh [EXTRA SCHEMATHESIS RUN OPTIONS]…
#
# Builds the debug `kaltura-gateway`, starts it on a free loopback port with a temporary SQLite
# database and the fake Kaltura in process (no credentials, no network but loopback), the rate
# limits raised so that 429 does not hide the answers, mints a token for one member of one guild
# (everyone is `admin` there, so every operation is authorized), creates one meeting and looks
# up one video so that path ids can name real resources, then runs `schemathesis run` on
# /api/v1/openapi.json: every operation, positive and negative inputs, at most
# API_CHECK_MAX_EXAMPLES (default 30) examples per operation and phase, a fixed seed, the whole
# run bounded by API_CHECK_TIMEOUT seconds (default 300). Checks: no 5xx, documented statuses,
# content types and headers, bodies matching the schemas.
#
# Path ids take the token's guild (and the known meeting and video) most of the time and
# generated values otherwise, so both the authorized paths and the refusals are exercised.
#
# API_CHECK_WORKERS (default 1) sets schemathesis' workers; more than one can trip CPython
# 3.11's ast.parse, which hypothesis calls from every worker, and makes the order vary.
#
# Exits non-zero when schemathesis reports a failure (or the run exceeds its time bound). The
# report (JUnit XML) is left in API_CHECK_REPORT_DIR when that is set.
set -euo pipefail
cd "$(dirname "$0")/.."

max_examples="${API_CHECK_MAX_EXAMPLES:-30}"
time_bound="${API_CHECK_TIMEOUT:-300}"
seed="${API_CHECK_SEED:-20261130}"
workers="${API_CHECK_WORKERS:-1}"
guild=613425648685547541
user=80351110224678912

command -v curl >/dev/null || { echo "curl is not installed" >&2; exit 2; }
# The pinned version is installed by .ci/run; run through python3 so a user-site install
# without its scripts on PATH works too.
schemathesis=(python3 -m schemathesis.cli)
"${schemathesis[@]}" --version >/dev/null 2>&1 || {
  echo "schemathesis is not installed (python3 -m pip install 'schemathesis==4.32.5')" >&2
  exit 2
}

cargo build --quiet --locked -p kaltura-discord-examples --bin kaltura-gateway
bin="target/debug/kaltura-gateway"

work="$(mktemp -d)"
server=""
cleanup() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
base="http://127.0.0.1:$port"

secret="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export KD_GATEWAY_JWT_SECRET="$secret"
export KD__DATABASE__URL="sqlite://$work/gateway.db"
export RUST_LOG="${RUST_LOG:-warn}"
# Every member is an admin here: every operation is authorized for the token.
export KD__GUILD_DEFAULTS__RBAC__EVERYONE=admin
# The Discord login is on, so its endpoints answer as in production. Discord itself is never
# reached: a generated `state` is never one the gateway issued, so no code is exchanged (the
# endpoints point at a closed loopback port all the same).
export KD__HTTP__GATEWAY_PUBLIC_URL="$base"
export KD__DISCORD__APPLICATION_ID=1100000000000000001
export KD__DISCORD__CLIENT_SECRET="$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export KD_DISCORD_OAUTH_URL=http://127.0.0.1:9
# Nothing but loopback: no proxy in between.
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
unset HTTP_PROXY HTTPS_PROXY ALL_PROXY http_proxy https_proxy all_proxy

"$bin" --listen "127.0.0.1:$port" --rate-per-minute 1000000000 2>"$work/gateway.log" &
server=$!

ready=""
for _ in $(seq 1 300); do
  if curl -fsS "$base/healthz" >/dev/null 2>&1; then
    ready=yes
    break
  fi
  kill -0 "$server" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$ready" ]; then
  echo "the gateway did not start:" >&2
  cat "$work/gateway.log" >&2
  exit 1
fi

token="$("$bin" --issue-token "$user" "$guild")"
api="$base/api/v1/guilds/$guild"

# One meeting and one video id, for the path dictionaries.
meeting="$(curl -fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"title": "API check"}' "$api/meetings" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')"
entry="$(curl -fsS -H "Authorization: Bearer $token" "$api/videos?q=rust" \
  | python3 -c 'import json, sys; hits = json.load(sys.stdin)["hits"]; print(hits[0]["entry_id"] if hits else "0_missing")')"

cat >"$work/schemathesis.toml" <<EOF
# No state kept between runs (no replay of earlier failures): each run is the seed's alone.
[cache]
enabled = false

# Path ids: mostly the token's guild and the known meeting and video, else generated.
[dictionaries.guilds]
values = ["$guild"]
[dictionaries.meetings]
values = ["$meeting"]
[dictionaries.entries]
values = ["$entry"]

[parameters]
"path.guild_id" = { dictionary = "guilds", probability = 0.8 }
"path.meeting_id" = { dictionary = "meetings", probability = 0.6 }
"path.entry_id" = { dictionary = "entries", probability = 0.6 }
EOF

report_args=()
if [ -n "${API_CHECK_REPORT_DIR:-}" ]; then
  mkdir -p "$API_CHECK_REPORT_DIR"
  report_args=(--report junit --report-dir "$API_CHECK_REPORT_DIR")
fi

echo "schemathesis $("${schemathesis[@]}" --version | awk '{print $NF}') against $base (seed $seed, at most $max_examples examples per operation, ${time_bound}s)"
started="$(date +%s)"
status=0
timeout --kill-after=10 "$time_bound" \
  "${schemathesis[@]}" --config-file "$work/schemathesis.toml" --no-color run \
  "$base/api/v1/openapi.json" \
  --header "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --max-examples "$max_examples" \
  --seed "$seed" \
  --generation-database none \
  --workers "$workers" \
  --request-timeout 20 \
  --suppress-health-check too_slow,filter_too_much \
  --output-sanitize true \
  "${report_args[@]}" \
  "$@" || status=$?
echo "schemathesis finished in $(( $(date +%s) - started ))s with status $status"
# What the gateway answered, per operation and status (from its own metrics).
echo "answers (route method status count):"
curl -fsS "$base/metrics" \
  | sed -n 's/^kd_gateway_requests_total{\(.*\)} \([0-9]*\)$/\1 \2/p' \
  | sed 's/[a-z]*="\([^"]*\)"/\1/g; s/,/ /g' | sort | sed 's/^/  /' || true
if [ "$status" = 124 ] || [ "$status" = 137 ]; then
  echo "the API check did not finish within ${time_bound}s" >&2
fi
if [ "$status" != 0 ] && grep -q ' ERROR ' "$work/gateway.log"; then
  echo "gateway errors:" >&2
  grep ' ERROR ' "$work/gateway.log" | tail -20 >&2
fi
exit "$status"
