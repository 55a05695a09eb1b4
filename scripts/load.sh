#!/usr/bin/env bash
# Load on `quill serve`: 1, 8, 32 and 128 concurrent clients for 60 s each, every request asking for
# 200 characters (scripts/load.lua), plus the time to the first character of streamed requests
# (scripts/load_stream.py) and the server's peak RSS.
# Usage: scripts/load.sh MODEL [SECONDS]      (builds nothing: run `make build` first)
set -euo pipefail
model="$1"; seconds="${2:-60}"
root="$(cd "$(dirname "$0")/.." && pwd)"
port=18080
"$root/.build/release/quill" serve "$model" --port "$port" --concurrency 128 --queue 256 2>/dev/null &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "localhost:$port/health" >/dev/null && break; sleep 0.1; done
for clients in 1 8 32 128; do
  echo "== $clients clients, ${seconds}s"
  wrk -t "$(( clients < 2 ? 1 : 2 ))" -c "$clients" -d "${seconds}s" --timeout 60s --latency -s "$root/scripts/load.lua" "http://127.0.0.1:$port" | grep -E "requests/s|characters/s|latency p|errors|Non-2xx"
  python3 "$root/scripts/load_stream.py" --port "$port" --clients "$clients" --seconds 10
  echo "server peak RSS: $(grep VmHWM /proc/$server/status | awk '{print $2, $3}')"
done
