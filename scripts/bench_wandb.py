#!/usr/bin/env python3
"""Time spent by the training loop in W&B logging: recwatch vs the official Python client.

    python3 scripts/bench_wandb.py [--rows N] [--repeat R] [--wandb-python PY] [--example BIN]

Both write an offline run of N rows (train_loss, val_loss, epoch), then finish. Reports the time
the logging loop spends in `log` calls (what training waits for) and the time `finish` takes,
best of R runs each, and the ratios. recwatch runs target/debug/examples/wandb_offline (build it
with `cargo build --features wandb --example wandb_offline`); the peer runs in the venv of
scripts/install-wandb.sh.
"""
import argparse
import re
import subprocess
import sys
import tempfile

PEER = r"""
import sys, time, wandb
n = int(sys.argv[1])
run = wandb.init(mode="offline", project="bench", dir=sys.argv[2],
                 config={"learning_rate": 0.01, "embedding_dim": 64, "dataset": "movielens"})
t = time.perf_counter()
for epoch in range(n):
    train = 1.0 / (epoch + 1)
    run.log({"train_loss": train, "val_loss": train * 1.1 + 0.05, "epoch": epoch})
log_s = time.perf_counter() - t
t = time.perf_counter()
run.finish()
print(f"timing: rows={n} log_seconds={log_s:.6f} finish_seconds={time.perf_counter() - t:.6f}")
"""


def parse(text):
    m = re.search(r"timing: rows=(\d+) log_seconds=([\d.]+) finish_seconds=([\d.]+)", text)
    if not m:
        sys.exit(f"no timing line in: {text}")
    return float(m.group(2)), float(m.group(3))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--wandb-python", default="target/wandb-venv/bin/python")
    ap.add_argument("--example", default="target/debug/examples/wandb_offline")
    a = ap.parse_args()
    ours, peer = [], []
    for _ in range(a.repeat):
        with tempfile.TemporaryDirectory() as d:
            p = subprocess.run(
                [a.example, "--steps", str(a.rows), "--queue", str(a.rows + 16)],
                env={"WANDB_MODE": "offline", "WANDB_DIR": d, "PATH": "/usr/bin:/bin"},
                capture_output=True, text=True, check=True)
            ours.append(parse(p.stderr))
        with tempfile.TemporaryDirectory() as d:
            p = subprocess.run([a.wandb_python, "-c", PEER, str(a.rows), d],
                               env={"WANDB_SILENT": "true", "PATH": "/usr/bin:/bin"},
                               capture_output=True, text=True, check=True)
            peer.append(parse(p.stdout))
    o_log, o_fin = min(x[0] for x in ours), min(x[1] for x in ours)
    p_log, p_fin = min(x[0] for x in peer), min(x[1] for x in peer)
    n = a.rows
    print(f"rows per run: {n}, best of {a.repeat}")
    print(f"{'':24}{'recwatch':>14}{'wandb (Python)':>16}{'ratio':>10}")
    print(f"{'log, per row':24}{o_log / n * 1e6:>12.2f}us{p_log / n * 1e6:>14.2f}us{p_log / o_log:>9.1f}x")
    print(f"{'finish':24}{o_fin * 1e3:>12.1f}ms{p_fin * 1e3:>14.1f}ms{p_fin / o_fin:>9.1f}x")
    print(f"{'log + finish, total':24}{(o_log + o_fin):>13.3f}s{(p_log + p_fin):>15.3f}s"
          f"{(p_log + p_fin) / (o_log + o_fin):>9.1f}x")


if __name__ == "__main__":
    main()
