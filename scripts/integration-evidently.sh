#!/usr/bin/env bash
# Re-derives the Evidently 0.7.23 expectations the drift tests hold recwatch to, with the real
# Evidently from PyPI, and fails when they differ from the committed fixtures
# (tests/fixtures/drift/evidently_suite_expected.json): the frames are regenerated from their
# seed and TestSuite / TargetDriftPreset are run on them again.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${EVIDENTLY_VENV:-target/evidently-venv}
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import evidently' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "evidently==0.7.23" "pandas<3" pyarrow scipy
fi
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
"$VENV/bin/python" scripts/drift_evidently_suite.py "$OUT" > /dev/null
"$VENV/bin/python" - "$OUT/evidently_suite_expected.json" tests/fixtures/drift/evidently_suite_expected.json <<'PY'
import json, math, sys
fresh, committed = (json.load(open(p)) for p in sys.argv[1:])
def same(a, b, path=""):
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), path
        for k in a:
            same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-15), (path, a, b)
    else:
        assert a == b, (path, a, b)
same(fresh, committed)
print("evidently 0.7.23 expectations: identical to tests/fixtures/drift/evidently_suite_expected.json")
PY
