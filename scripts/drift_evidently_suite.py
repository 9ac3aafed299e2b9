#!/usr/bin/env python3
"""Write recommendation-shaped fixture frames and Evidently 0.7.23's legacy results for them.

For each case, writes tests/fixtures/drift/<case>_reference.parquet and _current.parquet
(columns of the original design's ColumnMapping: target `rating`, prediction
`predicted_rating`, numerical `avg_rating`, `rating_count`, `popularity_score`, categorical
`genres`, `user_type`, plus columns that exercise the data-quality tests) and records, in
tests/fixtures/drift/evidently_suite_expected.json:

- `tests`: the legacy TestSuite's status and value for the seven data-quality tests plus
  TestNumberOfRows and TestShareOfMissingValues, with default (reference-derived) conditions,
  and (`tests_no_reference`) the current frame alone with the reference-free defaults;
- `target` / `prediction`: what the legacy TargetDriftPreset's ColumnDriftMetric reports for
  the target and the prediction (test name, score, threshold, verdict).

Needs: pip install numpy "pandas<3" pyarrow evidently==0.7.23
"""
import json
import os
import sys
import warnings

import numpy as np
import pandas as pd
from evidently.legacy.metric_preset import TargetDriftPreset
from evidently.legacy.metrics import ColumnDriftMetric
from evidently.legacy.pipeline.column_mapping import ColumnMapping
from evidently.legacy.report import Report
from evidently.legacy.test_suite import TestSuite
from evidently.legacy.tests import (
    TestColumnsType,
    TestNumberOfColumnsWithMissingValues,
    TestNumberOfConstantColumns,
    TestNumberOfDriftedColumns,
    TestNumberOfDuplicatedColumns,
    TestNumberOfDuplicatedRows,
    TestNumberOfRows,
    TestNumberOfRowsWithMissingValues,
    TestShareOfMissingValues,
)

warnings.filterwarnings("ignore")
OUT = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/drift"
TESTS = [
    TestNumberOfColumnsWithMissingValues,
    TestNumberOfRowsWithMissingValues,
    TestNumberOfConstantColumns,
    TestNumberOfDuplicatedRows,
    TestNumberOfDuplicatedColumns,
    TestColumnsType,
    TestNumberOfDriftedColumns,
    TestNumberOfRows,
    TestShareOfMissingValues,
]
NAMES = {
    "K-S p_value": "ks",
    "chi-square p_value": "chisquare",
    "Z-test p_value": "z",
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
    "PSI": "psi",
}


def mapping():
    return ColumnMapping(
        target="rating",
        prediction="predicted_rating",
        numerical_features=["avg_rating", "rating_count", "popularity_score"],
        categorical_features=["genres", "user_type"],
    )


def frame(rng, n, shift, quirks):
    rating = rng.choice([1, 2, 3, 4, 5], n, p=[0.05, 0.1, 0.25, 0.35, 0.25] if shift == 0 else [0.2, 0.2, 0.2, 0.2, 0.2])
    pred = np.clip(rating + rng.normal(0, 0.6, n) + shift * 1.5, 0.5, 5.5).round(3)
    avg = (3.6 + rng.normal(0, 0.4, n) + shift * 0.1).round(2)
    genres = rng.choice(["drama", "comedy", "action", "sci-fi", "horror"], n,
                        p=[0.3, 0.25, 0.2, 0.15, 0.1] if shift == 0 else [0.15, 0.2, 0.2, 0.15, 0.3])
    df = pd.DataFrame({
        "avg_rating": avg,
        "rating_count": rng.integers(0, 500 + int(shift * 400), n),
        "popularity_score": rng.exponential(1.0 + shift, n).round(4),
        "genres": genres,
        "user_type": rng.choice(["new", "casual", "power"], n, p=[0.2, 0.5, 0.3]),
        "rating": rating,
        "predicted_rating": pred,
    })
    if quirks.get("missing"):
        m = rng.random(n) < quirks["missing"]
        df.loc[m, "avg_rating"] = np.nan
        g = df["genres"].astype(object)
        g[rng.random(n) < quirks["missing"] / 2] = None
        g[rng.random(n) < quirks["missing"] / 4] = ""
        df["genres"] = g
    if quirks.get("inf"):
        df.loc[rng.random(n) < quirks["inf"], "popularity_score"] = np.inf
    if quirks.get("constant"):
        df["region"] = "eu"
    else:
        df["region"] = rng.choice(["eu", "us"], n)
    if quirks.get("dup_column"):
        df["popularity_copy"] = df["popularity_score"]
    else:
        df["popularity_copy"] = rng.exponential(1.0, n).round(4)
    if quirks.get("dup_rows"):
        k = int(n * quirks["dup_rows"])
        idx = rng.integers(0, n, k)
        df.iloc[n - k:] = df.iloc[idx].values
        df = df.astype({"rating_count": "int64", "rating": "int64"})
    if quirks.get("float_count"):
        df["rating_count"] = df["rating_count"].astype(float)
    return df


def suite_results(ref, cur):
    suite = TestSuite(tests=[t() for t in TESTS])
    suite.run(reference_data=ref, current_data=cur, column_mapping=mapping())
    out = {}
    for t, r in zip(TESTS, suite.as_dict()["tests"]):
        params = r.get("parameters") or {}
        value = params.get("value")
        if t is TestNumberOfDriftedColumns:
            value = sum(1 for f in params["features"].values() if f["detected"])
        if t is TestColumnsType:
            cols = params.get("columns") or []
            value = sum(1 for c in cols if c["actual_type"] != c["expected_type"]) if cols else None
        out[t.__name__] = {"status": r["status"], "value": None if value is None else float(value)}
    return out


def target_results(ref, cur):
    # TargetDriftPreset tests the target; with a categorical target it takes a numerical
    # prediction for class probabilities and leaves it out, so the prediction's drift is
    # ColumnDriftMetric's on it (the test and score the preset gives a numerical prediction).
    rep = Report(metrics=[TargetDriftPreset(), ColumnDriftMetric(column_name="predicted_rating")])
    rep.run(reference_data=ref, current_data=cur, column_mapping=mapping())
    out = {}
    for m in rep.as_dict()["metrics"]:
        if m["metric"] != "ColumnDriftMetric":
            continue
        r = m["result"]
        if r["column_name"] in ("rating" if "target" in out else "", "predicted_rating" if "prediction" in out else ""):
            continue
        role = "target" if r["column_name"] == "rating" else "prediction"
        out[role] = {"column_name": r["column_name"], "column_type": r["column_type"],
                     "stattest_name": NAMES[r["stattest_name"]], "drift_score": float(r["drift_score"]),
                     "threshold": float(r["stattest_threshold"]), "drift_detected": bool(r["drift_detected"])}
    return out


def run(case, ref, cur):
    ref.to_parquet(os.path.join(OUT, f"{case}_reference.parquet"), index=False)
    cur.to_parquet(os.path.join(OUT, f"{case}_current.parquet"), index=False)
    no_ref = TestSuite(tests=[t() for t in TESTS])
    no_ref.run(reference_data=None, current_data=cur, column_mapping=mapping())
    tests_no_ref = {}
    for t, r in zip(TESTS, no_ref.as_dict()["tests"]):
        v = (r.get("parameters") or {}).get("value")
        tests_no_ref[t.__name__] = {"status": r["status"],
                                    "value": None if v is None or t is TestColumnsType else float(v)}
    return {"tests": suite_results(ref, cur), "tests_no_reference": tests_no_ref,
            **target_results(ref, cur)}


rng = np.random.default_rng(10)
expected = {
    "recsys_small": run("recsys_small",
                        frame(rng, 800, 0.0, {"missing": 0.05, "dup_rows": 0.02}),
                        frame(rng, 600, 0.3, {"missing": 0.12, "dup_rows": 0.05, "constant": True,
                                              "dup_column": True, "float_count": True})),
    "recsys_small_same": run("recsys_small_same",
                             frame(rng, 700, 0.0, {"missing": 0.05}),
                             frame(rng, 650, 0.0, {"missing": 0.05})),
    "recsys_large": run("recsys_large",
                        frame(rng, 4000, 0.0, {"dup_column": True, "inf": 0.01}),
                        frame(rng, 3000, 0.3, {"dup_column": True, "missing": 0.02, "inf": 0.01,
                                               "dup_rows": 0.01})),
    "recsys_large_same": run("recsys_large_same",
                             frame(rng, 3000, 0.0, {"missing": 0.03, "dup_rows": 0.01}),
                             frame(rng, 2800, 0.0, {"missing": 0.03, "dup_rows": 0.01})),
}
with open(os.path.join(OUT, "evidently_suite_expected.json"), "w") as f:
    json.dump(expected, f, indent=1, sort_keys=True)
print(json.dumps(expected, indent=1, sort_keys=True))


# Frames with the dtypes a default polars build lacks (Int8, Int16, UInt8, UInt16, Decimal),
# and a filtered frame whose Parquet file carries pandas' `__index_level_0__`.
def dtypes_frame(rng, n, shift):
    import decimal
    return pd.DataFrame({
        "i8": rng.integers(0, 100, n).astype("int8"),
        "i16": (rng.integers(0, 1000, n) + int(shift * 300)).astype("int16"),
        "u8": rng.integers(0, 200, n).astype("uint8"),
        "u16": rng.integers(0, 5000, n).astype("uint16"),
        "price": [decimal.Decimal(str(round(x, 2))) for x in rng.normal(10 + shift, 2, n)],
        "score": rng.normal(shift, 1, n).round(4),
    })


dref = dtypes_frame(rng, 500, 0.0)
dcur = dtypes_frame(rng, 400, 1.0)
dref.to_parquet(os.path.join(OUT, "dtypes_reference.parquet"), index=False)
dcur.to_parquet(os.path.join(OUT, "dtypes_current.parquet"), index=False)
fref = dtypes_frame(rng, 600, 0.0).drop(columns=["price"])
fref[fref["score"] > -0.5].to_parquet(os.path.join(OUT, "indexed_reference.parquet"))
fref[fref["score"] > -0.4].to_parquet(os.path.join(OUT, "indexed_current.parquet"))
