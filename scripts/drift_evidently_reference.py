#!/usr/bin/env python3
"""Write detector fixtures and Evidently 0.7.23 DataDriftPreset results for them.

For each case, writes tests/fixtures/drift/<case>_reference.parquet and _current.parquet and
records, in tests/fixtures/drift/evidently_expected.json, what
`Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref)` reports: per column the
test name, the drift score and the verdict (Evidently's comparison operator), and the dataset
verdict (DriftedColumnsCount share >= 0.5).

Needs: pip install scipy numpy "pandas<3" evidently==0.7.23 pyarrow
"""
import json
import os
import sys

import numpy as np
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset

OUT = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/drift"
NAMES = {
    "K-S p_value": "ks",
    "chi-square p_value": "chisquare",
    "Z-test p_value": "z",
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
    "PSI": "psi",
}


def drifted(name, score, threshold):
    if name == "ks":
        return score <= threshold
    if name in ("chisquare", "z"):
        return score < threshold
    return score >= threshold


def frame(rng, n, shift):
    x = rng.normal(0, 1, n)
    f_nan = rng.normal(5, 2, n)
    f_nan[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame({
        "num_same": rng.normal(10, 3, n).round(4),
        "num_shift": (rng.normal(0, 1, n) + shift).round(4),
        "num_nan": f_nan.round(3),
        "int_wide": rng.integers(0, 60 + int(shift * 20), n),
        "int_narrow": rng.choice([1, 2, 3, 4], n, p=[0.4, 0.3, 0.2, 0.1] if shift == 0 else [0.3, 0.3, 0.2, 0.2]),
        "float_few": rng.choice([0.5, 1.5, 2.5, 3.5], n),
        "float_two": rng.choice([0.0, 1.0], n, p=[0.5, 0.5] if shift == 0 else [0.42, 0.58]),
        "city": rng.choice(["paris", "lyon", "nice"], n, p=[0.5, 0.3, 0.2] if shift == 0 else [0.4, 0.35, 0.25]),
        "flag": rng.choice([True, False], n),
        "grade": rng.choice(["a", "b"], n, p=[0.7, 0.3]),
        "x_tail": (x ** 3 * (1 + shift)).round(5),
    })


def run(case, ref, cur):
    ref.to_parquet(os.path.join(OUT, f"{case}_reference.parquet"), index=False)
    cur.to_parquet(os.path.join(OUT, f"{case}_current.parquet"), index=False)
    snap = Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref)
    d = snap.dict()
    cols = {}
    dataset = None
    for m in d["metrics"]:
        cfg = m["config"]
        if cfg["type"].endswith("DriftedColumnsCount"):
            dataset = {"count": m["value"]["count"], "share": m["value"]["share"],
                       "dataset_drift": m["value"]["share"] >= cfg["drift_share"]}
        elif cfg["type"].endswith("ValueDrift"):
            name = NAMES[cfg["method"]]
            cols[cfg["column"]] = {"stattest_name": name, "drift_score": m["value"],
                                   "threshold": cfg["threshold"],
                                   "drift_detected": bool(drifted(name, m["value"], cfg["threshold"]))}
    return {"columns": cols, "dataset": dataset}


def awkward(rng, n, shift):
    grow = 8 if shift == 0 else 12
    w = rng.normal(0, 1, n) + shift
    w[rng.random(n) < 0.05] = np.inf
    w[rng.random(n) < 0.05] = -np.inf
    cats = ["red", "green", "blue"] + (["violet"] if shift else [])
    return pd.DataFrame({
        "const": np.full(n, 7.0),
        "int_grow": rng.integers(0, grow, n),
        "with_inf": w.round(4),
        "new_cat": rng.choice(cats, n),
        "flag": rng.choice([True, False], n, p=[0.5, 0.5] if shift == 0 else [0.4, 0.6]),
        "three": rng.choice([1.0, 2.0, 3.0], n),
    })


rng = np.random.default_rng(7)
expected = {
    "small": run("small", frame(rng, 800, 0.0), frame(rng, 600, 0.25)),
    "small_same": run("small_same", frame(rng, 500, 0.0), frame(rng, 400, 0.0)),
    "large": run("large", frame(rng, 5000, 0.0), frame(rng, 4000, 0.25)),
    "large_same": run("large_same", frame(rng, 3000, 0.0), frame(rng, 3000, 0.0)),
    "awkward_small": run("awkward_small", awkward(rng, 700, 0.0), awkward(rng, 500, 0.3)),
    "awkward_large": run("awkward_large", awkward(rng, 4000, 0.0), awkward(rng, 2500, 0.3)),
}
with open(os.path.join(OUT, "evidently_expected.json"), "w") as f:
    json.dump(expected, f, indent=1, sort_keys=True)
print(json.dumps(expected, indent=1, sort_keys=True))
