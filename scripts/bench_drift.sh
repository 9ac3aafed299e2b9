#!/usr/bin/env bash
# Whole-process time and peak memory of `drift_report` (with its data-quality suite, and with
# `--no-tests`) against scipy's per-column tests (and, with EVIDENTLY=1, Evidently 0.7.23's
# DataDriftPreset) on the same 1M x 12 Parquet files, in the same run. Prints one line per
# tool and the ratios.
#
# usage: scripts/bench_drift.sh [N_ROWS=1000000]
# needs: python3 with numpy, "pandas<3", pyarrow, scipy (and evidently==0.7.23 for EVIDENTLY=1)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
PY=${PYTHON:-python3}
DATA=${DATA_DIR:-target/drift-bench-$N}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}

cargo build --quiet --release --no-default-features --features drift --example drift_report
BIN="$CARGO_TARGET_DIR/release/examples/drift_report"
[ -f "$DATA/current.parquet" ] || "$PY" scripts/drift_bench_data.py "$DATA" "$N"

# measure LABEL CMD...: wall seconds and peak RSS (MiB) of the whole process tree
measure() {
  local label=$1; shift
  "$PY" - "$label" "$@" <<'PYEOF'
import resource, subprocess, sys, time
label, cmd = sys.argv[1], sys.argv[2:]
t = time.perf_counter()
subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
wall = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"{label:<12} wall {wall:7.2f} s   peak RSS {rss:7.0f} MiB")
with open("/tmp/recwatch_drift_bench.txt", "a") as f:
    f.write(f"{label} {wall} {rss}\n")
PYEOF
}

rm -f /tmp/recwatch_drift_bench.txt
for i in 1 2 3; do
  measure recwatch "$BIN" --reference "$DATA/reference.parquet" --current "$DATA/current.parquet" --json "$DATA/report.json"
  measure no-suite "$BIN" --reference "$DATA/reference.parquet" --current "$DATA/current.parquet" --json "$DATA/report.json" --no-tests
  measure scipy "$PY" scripts/drift_bench_peer.py scipy "$DATA/reference.parquet" "$DATA/current.parquet"
done
if [ "${EVIDENTLY:-0}" = 1 ]; then
  measure evidently "$PY" scripts/drift_bench_peer.py evidently "$DATA/reference.parquet" "$DATA/current.parquet"
fi
"$PY" - <<'PYEOF'
import collections
best = collections.defaultdict(lambda: (1e9, 0))
for line in open("/tmp/recwatch_drift_bench.txt"):
    label, wall, rss = line.split()
    w, r = best[label]
    best[label] = (min(w, float(wall)), max(r, float(rss)))
rw, rr = best["recwatch"]
sw, sr = best["scipy"]
nw, nr = best["no-suite"]
print(f"best of 3: recwatch {rw:.2f} s / {rr:.0f} MiB (without the suite {nw:.2f} s / {nr:.0f} MiB, "
      f"suite on/off {rw / nw:.3f}), scipy {sw:.2f} s / {sr:.0f} MiB, "
      f"recwatch/scipy time ratio {rw / sw:.3f} (goal <= 0.25), peak memory goal < 600 MB")
if "evidently" in best:
    ew, er = best["evidently"]
    print(f"evidently {ew:.2f} s / {er:.0f} MiB, recwatch/evidently {rw / ew:.3f}")
PYEOF
