#!/usr/bin/env bash
# Installs what the integration tests and benchmark scripts need on a fresh Debian machine:
# promtool (Debian's `prometheus` package) and, with --bench, wrk.
set -euo pipefail

need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v curl >/dev/null 2>&1 || need+=(curl)
if [[ "${1:-}" == "--bench" ]]; then
    command -v wrk >/dev/null 2>&1 || need+=(wrk)
fi
if ((${#need[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # The prometheus package tries to start its service; nothing here needs it running.
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
promtool --version | head -1
