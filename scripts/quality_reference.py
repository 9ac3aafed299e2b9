#!/usr/bin/env python3
"""Golden values for tests/quality_golden.rs, computed independently of recwatch.

Writes the inputs to tests/fixtures/quality_inputs.json and prints every expected value with
the call that produced it. Needs numpy and scikit-learn (`pip install numpy scikit-learn`; the
MLflow venv of scripts/install-mlflow.sh has both):

    python3 scripts/quality_reference.py
"""
import itertools
import json
import math
import os

import numpy as np
from sklearn.metrics import mean_absolute_error, mean_squared_error, ndcg_score
from sklearn.metrics.pairwise import cosine_similarity

rng = np.random.default_rng(20261201)
N_USERS, N_ITEMS, K, LIST_LEN = 40, 60, 5, 8
CATALOGUE = 80  # items N_ITEMS.. are never recommended
GENRES = ["action", "comedy", "crime", "drama", "horror", "romance"]

# Rating prediction: half-star ratings, predictions rounded to 0.1 (so some repeat).
actual = rng.choice(np.arange(1, 11) / 2, size=200)
predicted = np.round(np.clip(actual + rng.normal(0, 0.7, size=200), 0.5, 5.0), 1)

# Ranking: a distinct list of LIST_LEN items per user (best first) and graded relevance 1..5.
recommended = [rng.choice(N_ITEMS, size=LIST_LEN, replace=False).tolist() for _ in range(N_USERS)]
relevance = []
for u in range(N_USERS):
    n_rel = int(rng.integers(0, 7))  # some users have no relevant item
    # Bias relevance towards recommended items so the metrics are not all near zero.
    pool = list(dict.fromkeys(recommended[u][:6] + rng.choice(N_ITEMS, size=10).tolist()))
    items = rng.choice(pool, size=min(n_rel, len(pool)), replace=False).tolist()
    relevance.append([[int(i), int(rng.integers(1, 6))] for i in items])

genres = {i: sorted(rng.choice(GENRES, size=int(rng.integers(1, 4)), replace=False).tolist())
          for i in range(N_ITEMS)}
popularity = {i: int(rng.integers(1, N_USERS + 1)) for i in range(N_ITEMS)}

os.makedirs("tests/fixtures", exist_ok=True)
with open("tests/fixtures/quality_inputs.json", "w") as f:
    json.dump({
        "actual": actual.tolist(), "predicted": predicted.tolist(), "k": K,
        "catalogue_size": CATALOGUE, "users": N_USERS,
        "recommended": recommended, "relevance": relevance,
        "genres": {str(k): v for k, v in genres.items()},
        "popularity": {str(k): v for k, v in popularity.items()},
    }, f)

out = {}
out["rmse"] = math.sqrt(mean_squared_error(actual, predicted))
out["mae"] = mean_absolute_error(actual, predicted)
out["prediction_variance"] = float(np.var(predicted))
out["prediction_value_coverage"] = len(set(predicted.tolist())) / len(predicted)


def ndcg_sklearn(rec, rel, k, gain):
    """scikit-learn's ndcg_score over the union of recommended and relevant items."""
    grades = dict((i, g) for i, g in rel)
    items = list(dict.fromkeys(rec + list(grades)))
    # Recommended items score by rank; relevant items never recommended score below all of them.
    score = [len(rec) - rec.index(i) if i in rec else -1 for i in items]
    g = [grades.get(i, 0) for i in items]
    if gain == "binary":
        g = [1 if x > 0 else 0 for x in g]
    elif gain == "exponential":
        g = [2 ** x - 1 for x in g]
    return ndcg_score([g], [score], k=k)


def per_user(rec, rel_items, k):
    top = rec[:k]
    hits = [1 if i in rel_items else 0 for i in top]
    precision = sum(hits) / k
    recall = sum(hits) / len(rel_items)
    ap = sum(sum(hits[: i + 1]) / (i + 1) for i in range(len(top)) if hits[i]) / min(len(rel_items), k)
    rr = next((1 / (i + 1) for i, h in enumerate(hits) if h), 0.0)
    return precision, recall, ap, rr, 1.0 if any(hits) else 0.0


rows, nd = [], {"binary": [], "exponential": [], "linear": []}
for rec, rel in zip(recommended, relevance):
    if not rel:
        continue
    rows.append(per_user(rec, {i for i, _ in rel}, K))
    for gain in nd:
        nd[gain].append(ndcg_sklearn(rec, rel, K, gain))
rows = np.array(rows)
out["ranking_users"] = len(rows)
out["skipped_users"] = N_USERS - len(rows)
for name, col in zip(["precision", "recall", "map", "mrr", "hit_rate"], rows.T):
    out[name] = float(col.mean())
for gain, v in nd.items():
    out[f"ndcg_{gain}"] = float(np.mean(v))

flat = [i for lst in recommended for i in lst]
out["catalogue_coverage"] = len(set(flat)) / CATALOGUE
out["diversity"] = len(set(flat)) / len(flat)


def jaccard_distance(a, b):
    a, b = set(a), set(b)
    return 0.0 if not (a | b) else 1 - len(a & b) / len(a | b)


out["intra_list_diversity"] = float(np.mean([
    np.mean([jaccard_distance(genres[a], genres[b]) for a, b in itertools.combinations(lst, 2)])
    for lst in recommended]))

counts = {}
for i in flat:
    for g in genres[i]:
        counts[g] = counts.get(g, 0) + 1
total = sum(counts.values())
out["genre_distribution"] = {g: c / total for g, c in sorted(counts.items())}

# recmetrics.novelty: mean over lists of sum(-log2(pop/u)) / n.
out["novelty"] = float(np.mean([sum(-np.log2(popularity[i] / N_USERS) for i in lst) / len(lst)
                                 for lst in recommended]))

# recmetrics.personalization: 1 - mean of the upper triangle of the cosine similarity matrix.
m = np.zeros((N_USERS, N_ITEMS))
for u, lst in enumerate(recommended):
    m[u, lst] = 1
sim = cosine_similarity(m)
out["personalization"] = float(1 - sim[np.triu_indices(N_USERS, k=1)].mean())


def gini_mean_difference(x):
    """Gini as relative mean absolute difference: sum |xi - xj| / (2 n^2 mean)."""
    x = np.asarray(x, dtype=float)
    return float(np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean()))


exposure = np.bincount(flat, minlength=CATALOGUE)
out["gini_catalogue"] = gini_mean_difference(exposure)
out["gini_recommended"] = gini_mean_difference(exposure[exposure > 0])

print(json.dumps(out, indent=1))
