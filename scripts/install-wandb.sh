#!/usr/bin/env bash
# Installs the official W&B client (wandb from PyPI) that the W&B integration tests read runs with,
# into its own virtual environment, once. Idempotent and quiet; prints the `wandb` path.
#
#   scripts/install-wandb.sh         # venv in target/wandb-venv (or $WANDB_VENV)
set -euo pipefail
cd "$(dirname "$0")/.."
# The client version whose offline format recwatch::tracking::wandb follows.
WANDB_VERSION="${WANDB_VERSION:-0.31.0}"
VENV="${WANDB_VENV:-target/wandb-venv}"
PY="${PYTHON:-python3}"

if [ -x "$VENV/bin/wandb" ] \
    && [ "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("wandb"))' 2>/dev/null)" = "$WANDB_VERSION" ]; then
    echo "$VENV/bin/wandb"
    exit 0
fi
mkdir -p "$(dirname "$VENV")"
if ! "$PY" -m venv "$VENV" >/dev/null 2>&1; then
    # Debian ships venv separately.
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "wandb==${WANDB_VERSION}" >&2
[ -x "$VENV/bin/wandb" ] || { echo "wandb missing after install" >&2; exit 1; }
echo "$VENV/bin/wandb"
