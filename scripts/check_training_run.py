#!/usr/bin/env python3
"""Acceptance check of `training_loop --epochs N` against the MLflow REST API (stdlib only).

    python3 scripts/check_training_run.py TRACKING_URI RUN_NAME EPOCHS

Fails (exit 1, with the reason) unless experiment `movie-recommendation` holds a FINISHED run
named RUN_NAME with `train_loss` and `val_loss` at one point per epoch, `rmse` and `mae`, at
least three params, the plots as artifacts and a version of `lora_recommendation_model` from it.
"""
import json
import sys
import urllib.parse
import urllib.request

uri, run_name, epochs = sys.argv[1].rstrip("/"), sys.argv[2], int(sys.argv[3])


def call(endpoint, query=None, body=None):
    url = f"{uri}/api/2.0/mlflow/{endpoint}"
    if query:
        url += "?" + urllib.parse.urlencode(query)
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as resp:
        return json.load(resp)


def check(cond, msg):
    if not cond:
        sys.exit(f"check_training_run: {msg}")


exp = call("experiments/get-by-name", {"experiment_name": "movie-recommendation"})["experiment"]
runs = call("runs/search", body={"experiment_ids": [exp["experiment_id"]],
                                 "filter": f"attributes.run_name = '{run_name}'"}).get("runs", [])
check(len(runs) == 1, f"expected one run named {run_name}, found {len(runs)}")
run = runs[0]
info, data = run["info"], run["data"]
run_id = info["run_id"]
check(info["status"] == "FINISHED", f"status is {info['status']}")
for key in ("train_loss", "val_loss"):
    hist = call("metrics/get-history", {"run_id": run_id, "metric_key": key})["metrics"]
    steps = sorted(m["step"] for m in hist)
    check(steps == list(range(epochs)), f"{key} steps are {steps}, expected 0..{epochs - 1}")
latest = {m["key"]: m["value"] for m in data.get("metrics", [])}
for key in ("rmse", "mae", "ndcg_at_10", "hit_rate_at_10", "diversity", "catalogue_coverage"):
    check(key in latest, f"metric {key} missing")
params = {p["key"]: p["value"] for p in data.get("params", [])}
check(len(params) >= 3, f"only {len(params)} params")
check(params.get("epochs") == str(epochs), f"param epochs is {params.get('epochs')}")
plots = [f["path"] for f in call("artifacts/list", {"run_id": run_id, "path": "plots"}).get("files", [])]
for name in ("predictions_vs_actual", "residuals", "rating_distributions", "error_distribution"):
    for ext in ("png", "svg"):
        check(f"plots/{name}.{ext}" in plots, f"artifact plots/{name}.{ext} missing (have {plots})")
versions = call("model-versions/search", {"filter": f"name='lora_recommendation_model' and run_id='{run_id}'"})
check(len(versions.get("model_versions", [])) == 1, "no version of lora_recommendation_model from the run")
print(f"check_training_run: run {run_name} ({run_id}) FINISHED, {epochs} epochs of train_loss/val_loss, "
      f"rmse {latest['rmse']:.4f}, {len(params)} params, {len(plots)} plots, model version "
      f"{versions['model_versions'][0]['version']}")
