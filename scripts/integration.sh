#!/usr/bin/env bash
# Integration checks against real tools: promtool validates the example service's exposition
# under mixed load. Installs what it needs first; fails loudly if anything is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh >/dev/null
command -v promtool >/dev/null || { echo "promtool missing after install" >&2; exit 1; }

cargo build --workspace --all-features --example recommendation_service
cargo test --workspace --all-features --test service_e2e --test service_feedback -- --ignored --test-threads=1
