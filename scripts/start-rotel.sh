#!/usr/bin/env bash
# Starts a real OTLP collector (rotel, from PyPI) on 127.0.0.1 that prints every span it receives.
#
#   scripts/start-rotel.sh [HTTP_PORT] [GRPC_PORT] [LOG_FILE]
#
# Defaults: 4318, 4317, target/rotel.log. Installs rotel when missing, waits until both ports
# listen, writes the pid to LOG_FILE.pid and prints `ROTEL_PID=... ROTEL_LOG=...`.
# Stop it with: kill "$(cat LOG_FILE.pid)".
set -euo pipefail
cd "$(dirname "$0")/.."
HTTP_PORT="${1:-4318}"
GRPC_PORT="${2:-4317}"
LOG="${3:-target/rotel.log}"
ROTEL_VERSION="${ROTEL_VERSION:-0.0.1a15}"

rotel_bin() {
    python3 - <<'PY' 2>/dev/null
import os, rotel
print(os.path.join(os.path.dirname(rotel.__file__), "rotel-agent"))
PY
}

BIN="${ROTEL_AGENT:-}"
if [ -z "$BIN" ]; then
    BIN="$(command -v rotel-agent || true)"
fi
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
    BIN="$(rotel_bin || true)"
fi
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
    python3 -m pip install --quiet "rotel==${ROTEL_VERSION}" >&2
    BIN="$(rotel_bin)"
fi
[ -x "$BIN" ] || { echo "rotel-agent not found after install" >&2; exit 1; }

mkdir -p "$(dirname "$LOG")"
"$BIN" start \
    --otlp-http-endpoint "127.0.0.1:${HTTP_PORT}" \
    --otlp-grpc-endpoint "127.0.0.1:${GRPC_PORT}" \
    --exporter blackhole \
    --debug-log traces --debug-log-verbosity detailed \
    >"$LOG" 2>&1 </dev/null &
PID=$!
echo "$PID" >"$LOG.pid"

for _ in $(seq 1 150); do
    if (exec 3<>"/dev/tcp/127.0.0.1/${HTTP_PORT}") 2>/dev/null \
        && (exec 3<>"/dev/tcp/127.0.0.1/${GRPC_PORT}") 2>/dev/null; then
        echo "ROTEL_PID=$PID ROTEL_LOG=$LOG ROTEL_AGENT=$BIN"
        exit 0
    fi
    kill -0 "$PID" 2>/dev/null || { echo "rotel exited:" >&2; cat "$LOG" >&2; exit 1; }
    sleep 0.1
done
echo "rotel did not listen on 127.0.0.1:${HTTP_PORT}/${GRPC_PORT}" >&2
kill "$PID" 2>/dev/null || true
exit 1
