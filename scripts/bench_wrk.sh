#!/usr/bin/env bash
# Loopback throughput of a hello-world axum app: bare vs recwatch layer vs axum-prometheus layer.
# Runs each mode ROUNDS times, alternating, and prints the median requests/s and the ratio to bare.
#   usage: scripts/bench_wrk.sh [SECONDS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
rounds=${2:-3}
bash scripts/install-deps.sh --bench >/dev/null
cargo build --release --example hello_server >/dev/null 2>&1
bin=target/release/examples/hello_server
port=38080
declare -A results
for round in $(seq "$rounds"); do
    for mode in bare recwatch axum-prometheus; do
        "$bin" --mode "$mode" --addr "127.0.0.1:$port" &
        pid=$!
        for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/hello/x" >/dev/null && break; sleep 0.05; done
        rps=$(wrk -t1 -c16 -d"${secs}s" "http://127.0.0.1:$port/hello/world" | awk '/Requests\/sec/ {print $2}')
        kill "$pid"; wait "$pid" 2>/dev/null || true
        results[$mode]="${results[$mode]:-} $rps"
        echo "round $round $mode: $rps req/s"
    done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
bare=$(echo "${results[bare]}" | median)
for mode in bare recwatch axum-prometheus; do
    m=$(echo "${results[$mode]}" | median)
    awk -v m="$m" -v b="$bare" -v n="$mode" 'BEGIN {printf "%-16s median %10.0f req/s  ratio to bare %.3f\n", n, m, m/b}'
done
