#!/usr/bin/env bash
# Benchmarks recwatch's non-blocking MLflow logging against a synchronous REST call per metric,
# against one real MLflow server (mlflow==3.17.2 from PyPI) started here on a free port.
set -euo pipefail
cd "$(dirname "$0")/.."
MLFLOW_BIN="$(bash scripts/install-mlflow.sh)"
export MLFLOW_BIN
DATA="$(mktemp -d "${TMPDIR:-/tmp}/recwatch-mlflow-bench.XXXXXX")"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
cleanup() {
    if [ -f "$DATA/server.pid" ]; then kill -- -"$(cat "$DATA/server.pid")" 2>/dev/null || true; fi
    rm -rf "$DATA"
}
trap cleanup EXIT
bash scripts/start-mlflow.sh "$PORT" "$DATA"
MLFLOW_TRACKING_URI="http://127.0.0.1:$PORT" \
    cargo bench --features tracking --bench tracking -- --warm-up-time 1 --measurement-time 5 "$@"
