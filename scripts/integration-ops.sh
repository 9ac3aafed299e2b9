#!/usr/bin/env bash
# The operations kit against real servers (issue 13):
#   1. promtool checks and unit-tests the alert rules, checks the example Prometheus config;
#   2. amtool checks the Alertmanager config and where each severity is routed;
#   3. a real Prometheus (1 s scrape and evaluation) scrapes two instances of the example service,
#      one injecting errors (--fail-rate 0.3), evaluates a copy of the rules with `for:` cut to
#      1 s and alerts a real Alertmanager, whose webhook receiver lives in tests/ops_e2e.rs.
# Everything binds 127.0.0.1 on free ports, in a temporary directory removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh >/dev/null

ALERTMANAGER=${ALERTMANAGER:-$(command -v prometheus-alertmanager || command -v alertmanager || true)}
for tool in promtool prometheus amtool; do
    command -v "$tool" >/dev/null || { echo "$tool missing after install" >&2; exit 1; }
done
[[ -n "$ALERTMANAGER" ]] || { echo "alertmanager missing after install" >&2; exit 1; }

echo "-- promtool: rules, rule unit tests, example config"
promtool check rules docs/prometheus/alerts.yml
promtool test rules docs/prometheus/*test*.yml
promtool check config docs/prometheus/prometheus.yml >/dev/null

echo "-- amtool: Alertmanager config and routing by severity"
amtool check-config docs/prometheus/alertmanager.yml >/dev/null
route() { # route SEVERITY EXPECTED_RECEIVERS
    amtool config routes test --config.file=docs/prometheus/alertmanager.yml \
        --verify.receivers="$2" severity="$1" alertname=Test job=recommendation_service \
        >/dev/null 2>&1 || { echo "severity=$1 is not routed to $2" >&2; exit 1; }
}
route critical pagerduty,slack
route warning slack
route info webhook

echo "-- build"
cargo build --workspace --all-features --example recommendation_service
cargo test --workspace --all-features --test ops_e2e --no-run
bin=target/debug/examples/recommendation_service

work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

used=" "
free_port() { # a port nothing listens on (and not handed out before in this run)
    local p
    while :; do
        p=$((20000 + RANDOM % 40000))
        [[ "$used" == *" $p "* ]] && continue
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            used+="$p "
            echo "$p"
            return
        fi
    done
}
wait_http() { # wait_http URL WHAT
    for _ in $(seq 1 300); do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "$2 did not come up at $1" >&2
    exit 1
}

svc=127.0.0.1:$(free_port)
faulty=127.0.0.1:$(free_port)
prom=127.0.0.1:$(free_port)
am=127.0.0.1:$(free_port)
webhook=127.0.0.1:$(free_port)

"$bin" --addr "$svc" --movies 500 2>"$work/service.log" &
pids+=($!)
"$bin" --addr "$faulty" --movies 500 --fail-rate 0.3 2>"$work/faulty.log" &
pids+=($!)
wait_http "http://$svc/healthz" "example service"
wait_http "http://$faulty/healthz" "example service (--fail-rate 0.3)"

cat >"$work/alertmanager.yml" <<YAML
route:
  receiver: test-webhook
  group_by: [alertname, job]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: test-webhook
    webhook_configs:
      - url: http://$webhook/alerts
YAML
amtool check-config "$work/alertmanager.yml" >/dev/null
"$ALERTMANAGER" --config.file="$work/alertmanager.yml" --storage.path="$work/am" \
    --web.listen-address="$am" --cluster.listen-address= --log.level=warn \
    2>"$work/alertmanager.log" &
pids+=($!)
wait_http "http://$am/-/ready" "Alertmanager"

# The shipped rules with every `for:` cut to 1 s, so alerts fire within seconds.
sed -E 's/^([[:space:]]+for:[[:space:]]*).*/\11s/' docs/prometheus/alerts.yml >"$work/alerts.yml"
promtool check rules "$work/alerts.yml" >/dev/null
cat >"$work/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: ['$work/alerts.yml']
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['$am']
scrape_configs:
  - job_name: recommendation_service
    static_configs:
      - targets: ['$svc']
  - job_name: recommendation_service_faulty
    static_configs:
      - targets: ['$faulty']
YAML
promtool check config "$work/prometheus.yml" >/dev/null
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="$prom" --log.level=warn 2>"$work/prometheus.log" &
pids+=($!)
wait_http "http://$prom/-/ready" "Prometheus"

echo "-- end to end: tests/ops_e2e.rs (Prometheus $prom, Alertmanager $am)"
status=0
RECWATCH_OPS_PROMETHEUS="http://$prom" RECWATCH_OPS_SERVICE="$svc" \
    RECWATCH_OPS_FAULTY_SERVICE="$faulty" RECWATCH_OPS_WEBHOOK_ADDR="$webhook" \
    cargo test --workspace --all-features --test ops_e2e -- --ignored || status=$?
if ((status)); then
    for f in service faulty alertmanager prometheus; do
        echo "--- $f log (tail)" >&2
        tail -n 20 "$work/$f.log" >&2 || true
    done
fi
exit "$status"
