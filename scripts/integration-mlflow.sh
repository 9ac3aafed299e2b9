#!/usr/bin/env bash
# Experiment tracking against a real MLflow server (mlflow==3.17.2 from PyPI, sqlite backend,
# mlflow-artifacts proxy): installs it, starts it once on a free 127.0.0.1 port, runs the
# ignored tests/tracking_mlflow.rs (the outage test starts and restarts a server of its own)
# and the acceptance check of `training_loop --epochs 3`. Fails loudly if anything is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
FEATURES="${FEATURES:---all-features}"

MLFLOW_BIN="$(bash scripts/install-mlflow.sh)"
export MLFLOW_BIN
"$MLFLOW_BIN" --version

DATA="$(mktemp -d "${TMPDIR:-/tmp}/recwatch-mlflow.XXXXXX")"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
cleanup() {
    if [ -f "$DATA/server.pid" ]; then kill -- -"$(cat "$DATA/server.pid")" 2>/dev/null || true; fi
    rm -rf "$DATA"
}
trap cleanup EXIT
bash scripts/start-mlflow.sh "$PORT" "$DATA"
export MLFLOW_TRACKING_URI="http://127.0.0.1:$PORT"

# shellcheck disable=SC2086
cargo build --workspace $FEATURES --example training_loop
# shellcheck disable=SC2086
cargo test --workspace $FEATURES --test tracking_mlflow -- --ignored --test-threads=2

# Acceptance: training_loop --epochs 3 leaves a complete run in `movie-recommendation`.
WORK="$DATA/training"
mkdir -p "$WORK"
LOG="$WORK/training.log"
(cd "$WORK" && "$OLDPWD/target/debug/examples/training_loop" --epochs 3) 2>&1 | tee "$LOG"
RUN_NAME="$(sed -n 's/^run \(training_[0-9_]*\)$/\1/p' "$LOG")"
[ -n "$RUN_NAME" ] || { echo "training_loop printed no run name" >&2; exit 1; }
grep -q "delivered" "$LOG" || { echo "training_loop did not deliver its run" >&2; exit 1; }
python3 scripts/check_training_run.py "$MLFLOW_TRACKING_URI" "$RUN_NAME" 3

# A panic in the training loop ends the run FAILED on the server.
(cd "$WORK" && "$OLDPWD/target/debug/examples/training_loop" --epochs 3 --panic-at-epoch 1) >"$WORK/panic.log" 2>&1 && {
    echo "training_loop --panic-at-epoch did not fail" >&2; exit 1; }
PANIC_RUN="$(sed -n 's/^run \(training_[0-9_]*\)$/\1/p' "$WORK/panic.log")"
python3 - "$MLFLOW_TRACKING_URI" "$PANIC_RUN" <<'PY'
import json, sys, urllib.request
uri, name = sys.argv[1], sys.argv[2]
def post(ep, body):
    req = urllib.request.Request(f"{uri}/api/2.0/mlflow/{ep}", json.dumps(body).encode(), {"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req))
exp = json.load(urllib.request.urlopen(f"{uri}/api/2.0/mlflow/experiments/get-by-name?experiment_name=movie-recommendation"))
runs = post("runs/search", {"experiment_ids": [exp["experiment"]["experiment_id"]], "filter": f"attributes.run_name = '{name}'"})["runs"]
status = runs[0]["info"]["status"]
assert status == "FAILED", f"panicked run {name} is {status}"
print(f"panicked run {name} is FAILED")
PY
echo "integration-mlflow: OK"
