#!/usr/bin/env bash
# The built-in dashboard in a real browser and against a real Prometheus.
#
# 1. Headless Chromium (Debian `chromium`) loads /dashboard of the example service after some
#    traffic: the rendered DOM must name every panel and hold at least four drawn charts, the
#    console must stay silent, and every request the page makes must stay on 127.0.0.1 (read
#    from Chromium's net log); the page as served (scripts disabled) must hold the same panels
#    and charts. Desktop and phone
#    screenshots go to docs/screenshots/.
# 2. Two replicas of the example service are scraped by a real Prometheus (Debian
#    `prometheus`, own port and tsdb dir); the ignored test tests/dashboard_prometheus.rs checks
#    that replica A's dashboard in Prometheus mode shows the fleet's request rate exactly as
#    Prometheus's own query computes it.
#
# Installs what it needs; fails loudly if anything is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v curl >/dev/null 2>&1 || need+=(curl)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
if ((${#need[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # The prometheus package tries to start its service; nothing here needs it running.
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
for tool in chromium prometheus python3 curl; do
    command -v "$tool" >/dev/null || { echo "$tool missing after install" >&2; exit 1; }
done

FEATURES="${FEATURES:---all-features}"
# shellcheck disable=SC2086
cargo build --workspace $FEATURES --example recommendation_service
BIN=target/debug/examples/recommendation_service
SHOTS=docs/screenshots

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_up() {
    for _ in $(seq 1 300); do
        curl -fs "$1/healthz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "service at $1 did not come up" >&2
    exit 1
}

# Mixed traffic for $2 seconds at a slowly varying rate: recommendations, movie look-ups,
# unknown movies (404), malformed bodies (4xx) and a few injected failures (500).
traffic() {
    python3 - "$1" "$2" <<'PY'
import http.client, json, math, random, sys, time, urllib.parse
base, seconds = urllib.parse.urlparse(sys.argv[1]), float(sys.argv[2])
conn = http.client.HTTPConnection(base.hostname, base.port, timeout=10)
random.seed(7)
start = time.time()
while time.time() - start < seconds:
    t = time.time() - start
    burst = int(20 + 15 * math.sin(t / 4))
    for _ in range(burst):
        r = random.random()
        if r < 0.6:
            body = json.dumps({"user_id": random.randint(1, 400), "k": random.choice([5, 10, 50])})
            conn.request("POST", "/recommend", body, {"content-type": "application/json"})
        elif r < 0.88:
            conn.request("GET", "/movies/%d" % random.randint(0, 5200))
        elif r < 0.9:
            conn.request("GET", "/faults/error")
        else:
            conn.request("POST", "/recommend", "{bad", {"content-type": "application/json"})
        conn.getresponse().read()
    time.sleep(0.2)
PY
}

CHROME_FLAGS=(--headless --no-sandbox --disable-gpu --disable-background-networking
    --disable-component-update --disable-sync --no-first-run --disable-extensions
    --disable-default-apps --hide-scrollbars --mute-audio)

# Loads $1 with the given extra flags; DOM to $2.html, console to $2.log, net log to $2.net.json.
browse() {
    local url="$1" out="$2"
    shift 2
    rm -rf "$WORK/profile"
    timeout 120 chromium "${CHROME_FLAGS[@]}" --user-data-dir="$WORK/profile" \
        --enable-logging=stderr --v=0 --log-net-log="$out.net.json" \
        --virtual-time-budget=12000 "$@" --dump-dom "$url" >"$out.html" 2>"$out.log"
}

# Checks one dumped page: panels named, >= 4 charts, console silent, nothing off the machine.
check_page() {
    python3 - "$1" "$2" "$3" <<'PY'
import json, re, sys
out, min_charts, expect_refresh = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
html = open(out + ".html", encoding="utf-8").read()
problems = []
for name in ["Requests / min", "Avg response time", "Error rate", "Active users", "CPU and memory",
             "Recommendation quality score", "Inference time distribution", "Drift score",
             "Response time"]:
    if name not in html:
        problems.append("panel %r missing from the DOM" % name)
charts = re.findall(r'<div class="chart" id="([a-z-]+)"[^>]*><svg', html)
if len(charts) < min_charts:
    problems.append("only %d drawn charts (%s), want >= %d" % (len(charts), charts, min_charts))
for kpi in ["kpi-requests", "kpi-response-time", "kpi-error-rate", "kpi-active-users"]:
    m = re.search(r'id="%s">([^<]*)<' % kpi, html)
    if not m or m.group(1) in ("", "–", "0.00 %"):
        problems.append("key number %s is empty or zero (%r)" % (kpi, m and m.group(1)))
import os
if not os.path.exists(out + ".net.json"):
    # The page as served (scripts disabled): DOM checks only.
    if problems:
        print("\n".join("FAIL %s: %s" % (out, p) for p in problems))
        sys.exit(1)
    print("ok %s (as served, no scripts): %d charts" % (out.rsplit("/", 1)[-1], len(charts)))
    sys.exit(0)
console = [l for l in open(out + ".log", encoding="utf-8", errors="replace")
           if "CONSOLE" in l or "Uncaught" in l]
problems += ["console: " + l.strip() for l in console]
net = json.load(open(out + ".net.json"))
types = {v: k for k, v in net["constants"]["logEventTypes"].items()}
page_urls = []
for e in net["events"]:
    p = e.get("params") or {}
    # Requests made for the page carry its site (127.0.0.1) in their network isolation key;
    # the browser's own housekeeping requests do not.
    if types.get(e["type"]) == "URL_REQUEST_START_JOB" and "127.0.0.1" in p.get("network_isolation_key", ""):
        page_urls.append(p["url"])
outside = [u for u in page_urls if not re.match(r"^(http://127\.0\.0\.1[:/]|data:)", u)]
problems += ["requested from outside the machine: " + u for u in outside]
if not any("/dashboard" in u for u in page_urls):
    problems.append("the net log shows no request for the page itself")
refreshed = any("/dashboard/data.json" in u for u in page_urls)
if expect_refresh and not refreshed:
    problems.append("the page's script never refreshed from data.json")
if not expect_refresh and refreshed:
    problems.append("data.json was fetched with scripts disabled")
if problems:
    print("\n".join("FAIL %s: %s" % (out, p) for p in problems))
    sys.exit(1)
print("ok %s: %d charts (%s), %d page requests, all on 127.0.0.1, console silent%s" % (
    out.rsplit("/", 1)[-1], len(charts), ", ".join(charts), len(page_urls),
    ", refreshed from data.json" if refreshed else ""))
PY
}

echo "== dashboard in headless Chromium"
PORT_A="$(free_port)"
"$BIN" --addr "127.0.0.1:$PORT_A" --fault-routes >"$WORK/a.log" 2>&1 &
PIDS+=($!)
wait_up "http://127.0.0.1:$PORT_A"
grep -q "dashboard at http://127.0.0.1:$PORT_A/dashboard" "$WORK/a.log" \
    || { echo "the service did not print its dashboard URL" >&2; cat "$WORK/a.log" >&2; exit 1; }
traffic "http://127.0.0.1:$PORT_A" "${TRAFFIC_SECONDS:-40}"
sleep 6 # one more sample after the traffic
URL="http://127.0.0.1:$PORT_A/dashboard"
browse "$URL" "$WORK/desktop" --window-size=1280,1800
check_page "$WORK/desktop" 4 1
# Scripts disabled: headless Chromium neither dumps nor screenshots a page then, so what is
# checked is the page as served, which is all such a browser shows: panels and charts are there.
curl -fsS "$URL" -o "$WORK/noscript.html"
check_page "$WORK/noscript" 4 0
mkdir -p "$SHOTS"
rm -rf "$WORK/profile"
timeout 120 chromium "${CHROME_FLAGS[@]}" --user-data-dir="$WORK/profile" --window-size=1280,1560 \
    --virtual-time-budget=3000 --screenshot="$SHOTS/dashboard-desktop.png" "$URL" 2>/dev/null
rm -rf "$WORK/profile"
timeout 120 chromium "${CHROME_FLAGS[@]}" --user-data-dir="$WORK/profile" --window-size=390,2100 \
    --virtual-time-budget=3000 --screenshot="$SHOTS/dashboard-phone.png" "$URL" 2>/dev/null
for shot in "$SHOTS/dashboard-desktop.png" "$SHOTS/dashboard-phone.png"; do
    [ -s "$shot" ] || { echo "no screenshot $shot" >&2; exit 1; }
done
echo "screenshots: $SHOTS/dashboard-desktop.png $SHOTS/dashboard-phone.png"

echo "== dashboard in Prometheus mode, two replicas, real Prometheus"
PROM_PORT="$(free_port)"
PORT_B1="$(free_port)"
PORT_B2="$(free_port)"
cat >"$WORK/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: recommendation_service
    static_configs:
      - targets: ["127.0.0.1:$PORT_B1", "127.0.0.1:$PORT_B2"]
YML
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
    --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn >"$WORK/prometheus.log" 2>&1 &
PIDS+=($!)
"$BIN" --addr "127.0.0.1:$PORT_B1" --prometheus-url "http://127.0.0.1:$PROM_PORT" >"$WORK/b1.log" 2>&1 &
PIDS+=($!)
"$BIN" --addr "127.0.0.1:$PORT_B2" >"$WORK/b2.log" 2>&1 &
PIDS+=($!)
wait_up "http://127.0.0.1:$PORT_B1"
wait_up "http://127.0.0.1:$PORT_B2"
for _ in $(seq 1 300); do
    curl -fs "http://127.0.0.1:$PROM_PORT/-/ready" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -fs "http://127.0.0.1:$PROM_PORT/-/ready" >/dev/null \
    || { echo "prometheus did not start" >&2; cat "$WORK/prometheus.log" >&2; exit 1; }
export RECWATCH_PROMETHEUS_URL="http://127.0.0.1:$PROM_PORT"
export RECWATCH_DASHBOARD_REPLICAS="http://127.0.0.1:$PORT_B1,http://127.0.0.1:$PORT_B2"
# shellcheck disable=SC2086
cargo test --workspace $FEATURES --test dashboard_prometheus -- --ignored --test-threads=1 --nocapture
