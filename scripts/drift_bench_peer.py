#!/usr/bin/env python3
"""The peers for scripts/bench_drift.sh: the same per-column tests as recwatch's defaults for a
large reference (normed Wasserstein for numerical columns, Jensen-Shannon on Evidently's bins for
categorical ones), done with pandas + scipy; or Evidently 0.7's DataDriftPreset itself.

usage: drift_bench_peer.py scipy|evidently REFERENCE.parquet CURRENT.parquet
"""
import sys

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import distance

which, ref_path, cur_path = sys.argv[1:4]
ref = pd.read_parquet(ref_path)
cur = pd.read_parquet(cur_path)

if which == "evidently":
    from evidently import Report
    from evidently.presets import DataDriftPreset

    snap = Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref)
    value = snap.dict()["metrics"][0]["value"]
    print(f"evidently: drifted {value['count']} share {value['share']}")
    sys.exit(0)

drifted = 0
for name in ref.columns:
    r = ref[name].replace([np.inf, -np.inf], np.nan).dropna()
    c = cur[name].replace([np.inf, -np.inf], np.nan).dropna()
    if pd.api.types.is_float_dtype(r):
        score = stats.wasserstein_distance(r, c) / max(float(np.std(r)), 0.001)
    else:
        keys = list(set(r.unique()) | set(c.unique()))
        rc, cc = r.value_counts(), c.value_counts()
        p = np.array([rc.get(k, 0) / len(r) for k in keys])
        q = np.array([cc.get(k, 0) / len(c) for k in keys])
        score = distance.jensenshannon(p, q)
    drifted += score >= 0.1
    print(f"{name}: {float(score)!r}")
print(f"scipy: drifted {drifted} of {len(ref.columns)}")
