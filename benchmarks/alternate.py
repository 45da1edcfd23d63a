"""Whole-process timings measured alternately against a reference, for a noisy shared machine.

Usage:
  python benchmarks/alternate.py --rounds 5 --ref /tmp/speed-base [--peer] [-- run core --quiet --force]

Each round runs the `macrostack` command of this tree and of the reference tree (another
worktree with its own `.venv`), in alternating order, and with `--peer` the peer system once
(`../shared/bench/peer_tsmom.py`, in the reference's venv, which must have `trendfollowing`).
Each tree uses its own store and runs folder (`/tmp/<tree name>-store/market.duckdb` and
`/tmp/<tree name>-runs`, or $THIS_STORE/$THIS_RUNS and $REF_STORE/$REF_RUNS), warmed by one
untimed run. Prints every round, the medians, the ratios and the load average.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
PEER = HERE.parent / "shared" / "bench" / "peer_tsmom.py"


def timed(cmd: list[str], env: dict | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds user + system) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--ref", required=True, help="the reference tree (a worktree with its own .venv)")
    ap.add_argument("--peer", action="store_true")
    ap.add_argument("command", nargs="*", default=["run", "core", "--quiet", "--force"])
    args = ap.parse_args()
    trees = {"this": HERE, "ref": Path(args.ref).resolve()}
    envs = {}
    for name, tree in trees.items():
        tag = f"/tmp/{tree.name}"
        envs[name] = dict(os.environ, MACROSTACK_STORE=os.environ.get(f"{name.upper()}_STORE", f"{tag}-store/market.duckdb"),
                          MACROSTACK_RUNS=os.environ.get(f"{name.upper()}_RUNS", f"{tag}-runs"))
        subprocess.run([str(tree / ".venv/bin/macrostack"), *args.command], env=envs[name], check=True,
                       stdout=subprocess.DEVNULL)  # warm: store ingested, kernels compiled, caches built
    times = {k: [] for k in (*trees, *(["peer"] if args.peer else []))}
    for i in range(args.rounds):
        order = list(trees) if i % 2 == 0 else list(reversed(trees))
        for name in order:
            times[name].append(timed([str(trees[name] / ".venv/bin/macrostack"), *args.command], envs[name]))
        if args.peer:
            times["peer"].append(timed([str(trees["ref"] / ".venv/bin/python"), str(PEER)]))
        print(f"round {i}: " + ", ".join(f"{k} {v[-1][0]:.2f} s (cpu {v[-1][1]:.2f})" for k, v in times.items())
              + f"; load {os.getloadavg()[0]:.1f}", flush=True)
    for j, what in enumerate(("wall", "cpu")):
        med = {k: statistics.median(x[j] for x in v) for k, v in times.items()}
        print(f"{what} medians: " + ", ".join(f"{k} {v:.2f} s" for k, v in med.items()) + f"; this / ref = "
              f"{med['this'] / med['ref']:.3f}" + (f"; this / peer = {med['this'] / med['peer']:.3f}; ref / peer = "
                                                   f"{med['ref'] / med['peer']:.3f}" if args.peer else ""))


if __name__ == "__main__":
    sys.exit(main())
