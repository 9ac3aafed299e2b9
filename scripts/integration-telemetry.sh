#!/usr/bin/env bash
# Telemetry against a real OTLP collector: installs rotel (PyPI) and runs the ignored
# tests/telemetry_rotel.rs, which start rotel themselves and assert trace id, parent span id,
# span names and service name from what rotel prints; then tests/access_log_service.rs, which
# drives the example service with RECWATCH_LOG_FORMAT=ecs and checks its access log lines
# against the ECS logging specification. Fails loudly if anything is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROTEL_VERSION="${ROTEL_VERSION:-0.0.1a15}"

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
"$ROTEL_AGENT" --version

FEATURES="${FEATURES:---all-features}"
# shellcheck disable=SC2086
cargo build --workspace $FEATURES --example recommendation_service
# shellcheck disable=SC2086
cargo test --workspace $FEATURES --test telemetry_rotel -- --ignored --test-threads=1
# shellcheck disable=SC2086
cargo test --workspace $FEATURES --test access_log_service -- --ignored --test-threads=1
