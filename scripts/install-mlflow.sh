#!/usr/bin/env bash
# Installs the real MLflow tracking server the tracking integration tests use (mlflow from PyPI)
# into its own virtual environment, once. Idempotent and quiet; prints the `mlflow` path.
#
#   scripts/install-mlflow.sh        # venv in target/mlflow-venv (or $MLFLOW_VENV)
set -euo pipefail
cd "$(dirname "$0")/.."
MLFLOW_VERSION="${MLFLOW_VERSION:-3.17.2}"
VENV="${MLFLOW_VENV:-target/mlflow-venv}"
PY="${PYTHON:-python3}"

if [ -x "$VENV/bin/mlflow" ] \
    && [ "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("mlflow"))' 2>/dev/null)" = "$MLFLOW_VERSION" ]; then
    echo "$VENV/bin/mlflow"
    exit 0
fi
mkdir -p "$(dirname "$VENV")"
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "mlflow==${MLFLOW_VERSION}" >&2
[ -x "$VENV/bin/mlflow" ] || { echo "mlflow missing after install" >&2; exit 1; }
echo "$VENV/bin/mlflow"
