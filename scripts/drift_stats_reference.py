#!/usr/bin/env python3
"""Generate reference values for recwatch::drift::stats tests.

Writes tests/fixtures/drift/stats_samples.json (the input samples) and prints the expected
values that tests/drift_stats.rs pastes, each with the call that produced it.

Needs: pip install scipy numpy "pandas<3" evidently==0.7.23
"""
import json
import sys

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import distance
from scipy import special

from evidently.legacy.core import ColumnType
from evidently.legacy.calculations.stattests.z_stattest import _z_stat_test, proportions_diff_z_stat_ind
from evidently.legacy.calculations.stattests.chisquare_stattest import _chi_stat_test
from evidently.legacy.calculations.stattests.wasserstein_distance_norm import _wasserstein_distance_norm
from evidently.legacy.calculations.stattests.jensenshannon import _jensenshannon
from evidently.legacy.calculations.stattests.psi import _psi

rng = np.random.default_rng(20261128)
samples = {
    "norm50_a": rng.normal(0, 1, 50).round(6),
    "norm50_b": rng.normal(0.3, 1, 50).round(6),
    "ties200": rng.normal(0, 1, 200).round(1),
    "ties300": rng.normal(0.1, 1, 300).round(1),
    "n3000": rng.normal(0, 1, 3000).round(6),
    "n7000": rng.normal(0.05, 1.1, 7000).round(6),
    "n12000": rng.normal(0, 1, 12000).round(6),
    "n9000": rng.normal(0.02, 1, 9000).round(6),
    "n20000": rng.normal(0, 1, 20000).round(6),
    "n60": rng.normal(0.2, 1, 60).round(6),
    "n500": rng.normal(0, 1, 500).round(6),
    "n600": rng.normal(0.6, 1, 600).round(6),
    "n15000a": rng.normal(0, 1, 15000).round(6),
    "n15000b": rng.normal(0, 1, 15000).round(6),
    "cat_ref": rng.choice([0.0, 1.0, 2.0, 3.0], 800, p=[0.4, 0.3, 0.2, 0.1]).astype(float),
    "cat_cur": rng.choice([0.0, 1.0, 2.0, 3.0, 4.0], 500, p=[0.35, 0.3, 0.2, 0.1, 0.05]).astype(float),
    "bin_ref": rng.choice([0.0, 1.0], 900, p=[0.7, 0.3]).astype(float),
    "bin_cur": rng.choice([0.0, 1.0], 400, p=[0.62, 0.38]).astype(float),
}
with open(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/drift/stats_samples.json", "w") as f:
    json.dump({k: [float(x) for x in v] for k, v in samples.items()}, f)

S = samples


def show(expr):
    val = eval(expr)
    print(f"{expr}\n    -> {val!r}")


print("# KS")
for a, b in [("norm50_a", "norm50_b"), ("ties200", "ties300"), ("n3000", "n7000"), ("n12000", "n9000"),
             ("n20000", "n60"), ("n500", "n600"), ("n15000a", "n15000b")]:
    r = stats.ks_2samp(S[a], S[b], method="auto")
    print(f"stats.ks_2samp(S['{a}'], S['{b}'], method='auto') -> ({r.statistic!r}, {r.pvalue!r})")
print("# kstwo / smirnov")
for n, x in [(10, 0.3), (100, 0.05), (100, 0.15), (100, 0.3), (1000, 0.05), (1000, 0.02), (1000, 0.01),
             (500000, 0.001), (500000, 0.0025), (200000, 0.0005), (60, 0.1), (5143, 0.02), (7500, 0.012)]:
    show(f"stats.kstwo.sf({x}, {n})")
for n, x in [(10, 0.3), (1000, 0.05), (500000, 0.003)]:
    show(f"special.smirnov({n}, {x})")
print("# chisquare / contingency")
show("stats.chisquare([16, 18, 16, 14, 12, 12], [16, 16, 16, 16, 16, 8])")
show("stats.chi2_contingency([[10, 20, 30], [6, 9, 17]])[:2]")
show("stats.chi2_contingency([[12, 30], [25, 14]])[:2]")
show("stats.chi2_contingency([[12, 30], [25, 14]], correction=False)[:2]")
show("_chi_stat_test(pd.Series(S['cat_ref']), pd.Series(S['cat_ref'][:400]), ColumnType.Categorical, 0.05)")
show("_chi_stat_test(pd.Series(S['cat_ref'][:300]), pd.Series(S['cat_cur'][S['cat_cur'] < 4]), ColumnType.Categorical, 0.05)")
show("_chi_stat_test(pd.Series(S['cat_ref']), pd.Series(S['cat_cur']), ColumnType.Categorical, 0.05)")
cr, cc = pd.Series(S['cat_ref']), pd.Series(S['cat_cur'])
keys = sorted(set(cr) | set(cc))
table = [[int((cr == k).sum()) for k in keys], [int((cc == k).sum()) for k in keys]]
print("table", table)
show("stats.chi2_contingency(table)[:2]")
print("# z")
show("_z_stat_test(pd.Series(S['bin_ref']), pd.Series(S['bin_cur']), ColumnType.Categorical, 0.05)")
show("proportions_diff_z_stat_ind(pd.Series(S['bin_ref']), pd.Series(S['bin_cur']))")
show("(int(S['bin_ref'].sum()), len(S['bin_ref']), int(S['bin_cur'].sum()), len(S['bin_cur']))")
print("# wasserstein")
show("stats.wasserstein_distance(S['n3000'], S['n7000'])")
show("_wasserstein_distance_norm(pd.Series(S['n3000']), pd.Series(S['n7000']), ColumnType.Numerical, 0.1)")
show("_wasserstein_distance_norm(pd.Series(S['ties200']), pd.Series(S['ties300']), ColumnType.Numerical, 0.1)")
print("# jensenshannon")
show("distance.jensenshannon([0.1, 0.2, 0.7], [0.3, 0.3, 0.4])")
show("_jensenshannon(pd.Series(S['n3000']), pd.Series(S['n7000']), ColumnType.Numerical, 0.1)")
show("_jensenshannon(pd.Series(S['cat_ref']), pd.Series(S['cat_cur']), ColumnType.Categorical, 0.1)")
show("_jensenshannon(pd.Series(S['ties200']), pd.Series(S['ties300']), ColumnType.Numerical, 0.1)")
print("# psi (Evidently)")
show("_psi(pd.Series(S['n3000']), pd.Series(S['n7000']), ColumnType.Numerical, 0.1)")
show("_psi(pd.Series(S['cat_ref']), pd.Series(S['cat_cur']), ColumnType.Categorical, 0.1)")
show("_psi(pd.Series(S['n500']), pd.Series(S['n600']), ColumnType.Numerical, 0.1)")


def psi_quantile(ref, cur, n_bins=10, floor=1e-4):
    inner = np.quantile(ref, np.arange(1, n_bins) / n_bins)
    edges = [-np.inf]
    atoms = []
    for q in inner:
        if q > edges[-1]:
            edges.append(q)
        elif q == edges[-1]:
            atoms.append(q)
    # a repeated quantile (point mass) gets its own bin [q, nextafter(q, inf))
    for a in atoms:
        up = np.nextafter(a, np.inf)
        if up not in edges:
            edges.append(up)
    edges = [-np.inf] + sorted(edges[1:])
    edges.append(np.inf)
    def shares(x):
        idx = np.searchsorted(np.array(edges), x, side="right") - 1
        c = np.bincount(idx, minlength=len(edges) - 1)[: len(edges) - 1] / len(x)
        return np.where(c == 0, floor, c)
    r, c = shares(ref), shares(cur)
    return float(np.sum((r - c) * np.log(r / c)))


print("# psi (quantile bins)")
show("psi_quantile(S['n3000'], S['n7000'])")
show("psi_quantile(S['ties200'], S['ties300'])")
show("psi_quantile(S['n500'], S['n600'] + 3.0)")
