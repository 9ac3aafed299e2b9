#!/usr/bin/env python3
"""Checks a W&B offline run with the official `wandb` CLI; exits non-zero on the first failure.

    check_wandb_run.py RUN [--wandb BIN] [--state finished] [--project P] [--min-config N]
                       [--history-keys a,b] [--rows N] [--summary-keys a,b] [--media] [--sync]

RUN is a run directory, its .wandb file or a wandb/ directory (its latest run). Reads the run
with `wandb leet inspect --json` (every record) and `wandb leet inspect --summary --json`
(state, config, tags, summary) and, with --sync, lists it with `wandb sync --dry-run`.
"""
import argparse
import json
import os
import subprocess
import sys


def fail(msg):
    print(f"check_wandb_run: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        fail(f"{' '.join(cmd)} exited {p.returncode}: {p.stdout}{p.stderr}")
    return p.stdout, p.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--wandb", default="wandb")
    ap.add_argument("--state")
    ap.add_argument("--project")
    ap.add_argument("--min-config", type=int, default=0)
    ap.add_argument("--history-keys", default="")
    ap.add_argument("--rows", type=int, default=0)
    ap.add_argument("--summary-keys", default="")
    ap.add_argument("--media", action="store_true")
    ap.add_argument("--sync", action="store_true")
    a = ap.parse_args()

    out, _ = run([a.wandb, "leet", "inspect", "--json", a.run])
    records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    if not records or records[0].get("type") != "header":
        fail(f"no header record first: {records[:1]}")
    nums = [r["num"] for r in records]
    if nums != list(range(1, len(records) + 1)):
        fail(f"record numbers are not 1..{len(records)}: {nums}")
    if not any(r["type"] == "run" for r in records):
        fail("no run record")

    out, _ = run([a.wandb, "leet", "inspect", "--summary", "--json", a.run])
    summary = json.loads(out[out.index("{"):])
    if a.state and summary.get("state") != a.state:
        fail(f"state {summary.get('state')!r}, expected {a.state!r}")
    if a.project and summary.get("project") != a.project:
        fail(f"project {summary.get('project')!r}, expected {a.project!r}")
    config = summary.get("config") or {}
    if len(config) < a.min_config:
        fail(f"{len(config)} config keys, expected at least {a.min_config}: {config}")

    history = [r["history"] for r in records if r["type"] == "history"]
    keys = [k for k in a.history_keys.split(",") if k]
    if keys:
        rows = [h for h in history if all(k in h.get("item", {}) for k in keys)]
        if len(rows) < a.rows:
            fail(f"{len(rows)} history rows with {keys}, expected at least {a.rows}")
        steps = [h.get("step", {}).get("num", 0) for h in rows]
        if steps != sorted(set(steps)):
            fail(f"history steps are not increasing: {steps}")
    for k in [k for k in a.summary_keys.split(",") if k]:
        if k not in summary.get("summary", {}):
            fail(f"summary has no {k!r}: {sorted(summary.get('summary', {}))}")

    if a.media:
        run_file = summary["file"]
        files = os.path.join(os.path.dirname(run_file), "files")
        paths = [
            v
            for h in history
            for k, v in h.get("item", {}).items()
            if k.endswith(".path") and h["item"].get(k[: -len("path")] + "_type") == "image-file"
        ]
        if not paths:
            fail("no image-file values in the history")
        for p in paths:
            if not os.path.isfile(os.path.join(files, p)):
                fail(f"image {p} is not under {files}")

    if a.sync:
        out, err = run([a.wandb, "sync", "--dry-run", a.run])
        if "Would sync 1 run" not in out + err:
            fail(f"wandb sync --dry-run does not list the run: {out}{err}")

    print(
        f"check_wandb_run: ok: {len(records)} records, state {summary.get('state')}, "
        f"{len(history)} history rows, {len(config)} config keys"
    )


if __name__ == "__main__":
    main()
