#!/usr/bin/env bash
# Starts a real MLflow tracking server (mlflow from PyPI, sqlite backend, mlflow-artifacts proxy)
# on 127.0.0.1 and waits until it answers.
#
#   scripts/start-mlflow.sh PORT DATA_DIR
#
# DATA_DIR holds mlflow.db, artifacts/ and server.log; starting again on the same DATA_DIR keeps
# everything. Prints `MLFLOW_PID=... MLFLOW_TRACKING_URI=...`; the pid is also in
# DATA_DIR/server.pid. Stop it with: kill "$(cat DATA_DIR/server.pid)".
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${1:?port}"
DATA="${2:?data dir}"
MLFLOW="${MLFLOW_BIN:-$(bash scripts/install-mlflow.sh)}"
mkdir -p "$DATA/artifacts"
DATA="$(cd "$DATA" && pwd)"

# setsid: the server's gunicorn/uvicorn workers share one process group, stopped as a whole.
MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false setsid "$MLFLOW" server \
    --backend-store-uri "sqlite:///$DATA/mlflow.db" \
    --artifacts-destination "$DATA/artifacts" \
    --host 127.0.0.1 --port "$PORT" --workers 1 \
    >>"$DATA/server.log" 2>&1 </dev/null &
PID=$!
echo "$PID" >"$DATA/server.pid"
for _ in $(seq 1 1200); do
    if curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; then
        echo "MLFLOW_PID=$PID MLFLOW_TRACKING_URI=http://127.0.0.1:$PORT"
        exit 0
    fi
    kill -0 "$PID" 2>/dev/null || { echo "mlflow server exited:" >&2; tail -50 "$DATA/server.log" >&2; exit 1; }
    sleep 0.1
done
echo "mlflow server did not answer on 127.0.0.1:$PORT" >&2
kill -- -"$PID" 2>/dev/null || true
exit 1
