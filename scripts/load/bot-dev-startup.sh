#!/usr/bin/env bash
# `kaltura-bot dev`: time from start to the endpoint answering a signed PING, and idle RSS.
#
# Builds the bot (debug, or release with PROFILE=release), then RUNS times: starts
# `kaltura-bot dev --listen 127.0.0.1:0 --data-dir <fresh temp dir> --discord-public-key <seed-[7;32]
# public key>` with its standard input kept open (an idle console), reads the endpoint URL
# from its banner, POSTs a PING signed with the seed [7] * 32 (sign_ping.py's signer) until
# it answers {"type":1}, and reports the milliseconds from the spawn to that answer. It then
# lets the bot idle IDLE_SECS and reads VmRSS (and the peak, VmHWM) from /proc/<pid>/status.
# Prints one line per run, the median, and the load average; exits 3 when the median idle
# RSS is not under TARGET_RSS_MB (default 30).
#
# Usage: scripts/load/bot-dev-startup.sh [RUNS] (default 3). Env: PROFILE (debug|release),
#        IDLE_SECS (default 3), TARGET_RSS_MB (30). Needs python3 with PyNaCl or cryptography.
set -euo pipefail

RUNS=${1:-3}
PROFILE=${PROFILE:-debug}
IDLE_SECS=${IDLE_SECS:-3}
TARGET_RSS_MB=${TARGET_RSS_MB:-30}

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
command -v python3 >/dev/null || { echo "missing python3" >&2; exit 2; }

if [[ $PROFILE == release ]]; then
    cargo build --quiet --release -p kaltura-discord-examples --bin kaltura-bot
else
    cargo build --quiet -p kaltura-discord-examples --bin kaltura-bot
fi
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
BOT="$TARGET_DIR/$PROFILE/kaltura-bot"
[[ -x $BOT ]] || { echo "no binary at $BOT" >&2; exit 1; }

echo "kaltura-bot dev ($PROFILE, $(stat -c %s "$BOT") bytes), $(nproc) cores, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
PYTHONPATH="$ROOT/scripts/load" python3 - "$BOT" "$RUNS" "$IDLE_SECS" "$TARGET_RSS_MB" <<'PY'
import os, re, shutil, signal, statistics, subprocess, sys, tempfile, threading, time
import urllib.request

from sign_ping import BODY, EXPECTED_PUBLIC_KEY, sign

bot, runs, idle, target = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
TS = "1764500000"
public, signature = sign(TS.encode() + BODY)
assert public == EXPECTED_PUBLIC_KEY, public
BOUND = 120.0  # seconds; reaching it is a failure


def status_kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


def ping(url: str) -> bool:
    req = urllib.request.Request(url, data=BODY, method="POST", headers={
        "Content-Type": "application/json",
        "X-Signature-Ed25519": signature,
        "X-Signature-Timestamp": TS,
    })
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status == 200 and r.read() == b'{"type":1}'
    except OSError:
        return False


results = []
for run in range(1, runs + 1):
    data = tempfile.mkdtemp(prefix="kaltura-bot-dev-")
    env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "warn"))
    start = time.monotonic()
    proc = subprocess.Popen(
        [bot, "dev", "--listen", "127.0.0.1:0", "--data-dir", data,
         "--discord-public-key", EXPECTED_PUBLIC_KEY],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    url = None
    found = threading.Event()

    def read_banner():
        global url
        for raw in proc.stdout:
            m = re.search(rb"endpoint\s+(http://\S+/interactions)", raw)
            if m and url is None:
                url = m.group(1).decode()
                found.set()
        found.set()

    threading.Thread(target=read_banner, daemon=True).start()
    try:
        if not found.wait(BOUND) or url is None:
            raise SystemExit(f"run {run}: no endpoint line from the bot (exit {proc.poll()})")
        while not ping(url):
            if proc.poll() is not None or time.monotonic() - start > BOUND:
                raise SystemExit(f"run {run}: the endpoint never answered PONG")
            time.sleep(0.005)
        ready_ms = (time.monotonic() - start) * 1000
        time.sleep(idle)  # let it idle before reading the RSS (not a timing measurement)
        rss = status_kb(proc.pid, "VmRSS") / 1024
        hwm = status_kb(proc.pid, "VmHWM") / 1024
        threads = len(os.listdir(f"/proc/{proc.pid}/task"))
        results.append((ready_ms, rss, hwm))
        print(f"run {run}: PONG after {ready_ms:.0f} ms; idle VmRSS {rss:.1f} MiB "
              f"(peak VmHWM {hwm:.1f} MiB, {threads} threads)")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdin:
            proc.stdin.close()
        shutil.rmtree(data, ignore_errors=True)

ready = statistics.median(r[0] for r in results)
rss = statistics.median(r[1] for r in results)
print(f"median: PONG after {ready:.0f} ms, idle VmRSS {rss:.1f} MiB (target < {target:g} MiB); "
      f"load average after: {' '.join(open('/proc/loadavg').read().split()[:3])}")
sys.exit(0 if rss < target else 3)
PY
