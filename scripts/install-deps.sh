#!/usr/bin/env bash
# Installs what the integration tests and benchmark scripts need on a fresh Debian machine:
# promtool and prometheus (Debian's `prometheus` package), amtool and alertmanager (Debian's
# `prometheus-alertmanager`) and, with --bench, wrk.
set -euo pipefail

need=()
{ command -v promtool && command -v prometheus; } >/dev/null 2>&1 || need+=(prometheus)
{ command -v amtool && command -v prometheus-alertmanager; } >/dev/null 2>&1 || need+=(prometheus-alertmanager)
command -v curl >/dev/null 2>&1 || need+=(curl)
if [[ "${1:-}" == "--bench" ]]; then
    command -v wrk >/dev/null 2>&1 || need+=(wrk)
fi
if ((${#need[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # The packages try to start their services (on their default ports); the scripts here start
    # their own instances on free ports, so those services neither help nor get in the way.
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
promtool --version | head -1
