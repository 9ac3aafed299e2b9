#!/usr/bin/env bash
# W&B offline runs written by recwatch, read by the official tools: installs wandb (PyPI, the
# version recwatch's format follows), runs the ignored tests/tracking_wandb.rs against its CLI, then
# checks runs of the wandb_offline example (finished, failed by a panic, killed mid-run, online
# mode refused) with scripts/check_wandb_run.py. Fails loudly if anything is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

WANDB_BIN="$(realpath "$(bash scripts/install-wandb.sh)")"
export WANDB_BIN
PY="$(dirname "$WANDB_BIN")/python"
"$WANDB_BIN" --version

FEATURES="${FEATURES:---all-features}"
# shellcheck disable=SC2086
cargo build --workspace $FEATURES --example wandb_offline
# shellcheck disable=SC2086
cargo test --workspace $FEATURES --test tracking_wandb -- --ignored --test-threads=2

EXAMPLE=target/debug/examples/wandb_offline
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
check() { "$PY" scripts/check_wandb_run.py --wandb "$WANDB_BIN" "$@"; }

echo "-- a finished run"
WANDB_MODE=offline WANDB_DIR="$WORK/ok" WANDB_PROJECT=movie-recommendation WANDB_TAGS=ci,rust \
    "$EXAMPLE" --steps 3
check "$WORK/ok/wandb/latest-run" --state finished --project movie-recommendation --min-config 3 \
    --history-keys train_loss,val_loss --rows 3 --summary-keys rmse,mae --media --sync

echo "-- a run whose training loop panicked"
if WANDB_MODE=offline WANDB_DIR="$WORK/panic" "$EXAMPLE" --steps 5 --panic-after 2 2>/dev/null; then
    echo "the example did not panic" >&2
    exit 1
fi
check "$WORK/panic/wandb/latest-run" --state failed --history-keys train_loss --rows 2

echo "-- a process killed mid-run"
if WANDB_MODE=offline WANDB_DIR="$WORK/killed" "$EXAMPLE" --steps 5 --abort-after 2; then
    echo "the example did not abort" >&2
    exit 1
fi
check "$WORK/killed/wandb/latest-run" --state running --sync

echo "-- online mode is refused with a pointer to offline mode"
if WANDB_MODE=online WANDB_DIR="$WORK/online" "$EXAMPLE" 2>"$WORK/online.err"; then
    echo "online mode was not refused" >&2
    exit 1
fi
grep -q "WANDB_MODE=offline" "$WORK/online.err" || { cat "$WORK/online.err" >&2; exit 1; }
[ ! -e "$WORK/online" ] || { echo "online mode wrote files" >&2; exit 1; }
echo "W&B integration passed"
