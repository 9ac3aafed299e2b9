#!/usr/bin/env bash
# Exemplars against real tools: the Python prometheus_client OpenMetrics parser and promtool
# check both expositions; a real Prometheus (Debian's, with --enable-feature=exemplar-storage)
# scrapes the example service built with telemetry while rotel (PyPI) receives its spans, and
# the exemplars Prometheus stores must name traces rotel received. Runs the ignored tests of
# tests/exemplars.rs, which start Prometheus and rotel themselves on free 127.0.0.1 ports.
set -euo pipefail
cd "$(dirname "$0")/.."
ROTEL_VERSION="${ROTEL_VERSION:-0.0.1a15}"
PROMETHEUS_CLIENT_VERSION="${PROMETHEUS_CLIENT_VERSION:-0.26.0}"

bash scripts/install-deps.sh >/dev/null
command -v prometheus >/dev/null || { echo "prometheus missing after install" >&2; exit 1; }
command -v promtool >/dev/null || { echo "promtool missing after install" >&2; exit 1; }

if ! python3 -c 'import prometheus_client.openmetrics.parser' 2>/dev/null; then
    python3 -m pip install --quiet "prometheus_client==${PROMETHEUS_CLIENT_VERSION}"
fi
python3 -c 'import prometheus_client.openmetrics.parser'

ROTEL_AGENT="$(python3 - <<'PY' 2>/dev/null || true
import os, rotel
print(os.path.join(os.path.dirname(rotel.__file__), "rotel-agent"))
PY
)"
if [ -z "$ROTEL_AGENT" ] || [ ! -x "$ROTEL_AGENT" ]; then
    python3 -m pip install --quiet "rotel==${ROTEL_VERSION}"
    ROTEL_AGENT="$(python3 -c 'import os, rotel; print(os.path.join(os.path.dirname(rotel.__file__), "rotel-agent"))')"
fi
[ -x "$ROTEL_AGENT" ] || { echo "rotel-agent missing after install" >&2; exit 1; }
export ROTEL_AGENT

# The same feature set as the other integration scripts, so CI builds once.
FEATURES="${FEATURES:---all-features}"
# shellcheck disable=SC2086
cargo build --workspace $FEATURES --example recommendation_service
# shellcheck disable=SC2086
cargo test --workspace $FEATURES --test exemplars -- --ignored --test-threads=1 --nocapture
