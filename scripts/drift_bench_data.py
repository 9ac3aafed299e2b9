#!/usr/bin/env python3
"""Generate the drift benchmark data: reference and current Parquet files of N rows x 12 columns
(8 numerical, 4 categorical), the current one with drift in some columns.

usage: drift_bench_data.py OUT_DIR [N_ROWS=1000000]
"""
import os
import sys

import numpy as np
import pandas as pd

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
os.makedirs(out, exist_ok=True)


def frame(seed, shift):
    rng = np.random.default_rng(seed)
    cols = {}
    for i in range(8):
        s = shift if i % 2 == 0 else 0.0
        if i < 4:
            cols[f"num{i}"] = rng.normal(s, 1.0 + s, n)
        else:
            cols[f"num{i}"] = rng.exponential(1.0 + s, n)
    cats = [
        (["a", "b", "c"], [0.5, 0.3, 0.2]),
        (["web", "ios", "android", "tv", "other"], [0.4, 0.25, 0.2, 0.1, 0.05]),
        ([f"genre_{k}" for k in range(20)], None),
        (["yes", "no"], [0.7, 0.3]),
    ]
    for i, (values, p) in enumerate(cats):
        if p is not None and shift and i % 2 == 0:
            p = list(np.roll(p, 1))
        cols[f"cat{i}"] = rng.choice(values, n, p=p)
    return pd.DataFrame(cols)


frame(1, 0.0).to_parquet(os.path.join(out, "reference.parquet"), index=False)
frame(2, 0.1).to_parquet(os.path.join(out, "current.parquet"), index=False)
print(f"wrote {out}/reference.parquet and {out}/current.parquet ({n} rows x 12 columns)")
