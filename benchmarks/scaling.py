"""Scaling of the stack with instruments N and sessions T, on synthetic panels (not a test).

Usage: python benchmarks/scaling.py [--sizes 84x17500,300x17500,1000x17500,84x50000,300x50000,1000x50000]
                                    [--profile core] [--artifacts]

Each size runs in its own process (so peak RSS is that size's): random returns with a little
drift, a constant cost, weekly rebalances, `--profile` (default `core`) on every instrument.
Per layer: wall seconds (the Ledger's timings) and the peak memory traced by tracemalloc
while the layer ran (numpy's allocations and numba's, which go through PyMem_RawMalloc), as MB and
as panels' worth (one panel = T × N float64); the simulation's total; the process's max RSS
and its growth during the simulation (above the RSS with the data built and kernels loaded). `--artifacts` also writes the run's tables (`write_ledger`).
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

SIZES = "84x17500,300x17500,1000x17500,84x50000,300x50000,1000x50000"


def one(n: int, t: int, profile: str, artifacts: bool) -> dict:
    import numpy as np
    import pandas as pd

    from macrostack.config import load_config
    from macrostack.data.market import MarketData
    from macrostack.simulate import simulate

    rng = np.random.default_rng(7)
    dates = pd.bdate_range("1830-01-01", periods=t).to_numpy().astype("datetime64[D]")
    returns = rng.standard_normal((t, n)) * 0.01 + np.sign(rng.standard_normal(n)) * 2e-4
    returns[np.arange(t)[:, None] < rng.integers(0, t // 5, n)] = np.nan  # instruments start over the first fifth
    symbols = tuple(f"S{i:04d}" for i in range(n))
    md = MarketData(dataset="synthetic", data_hash="synthetic", dates=dates, symbols=symbols,
                    panels={"ret": returns, "cost": np.full((t, n), 2e-4)},
                    instruments=pd.DataFrame({"symbol": symbols, "asset_class": "X", "cost": 2e-4}), start_index=0)
    cfg = load_config(profile)
    small = rng.standard_normal((2000, 8)) * 0.01
    simulate(cfg, MarketData(**{**md.__dict__, "dates": dates[:2000], "panels": {"ret": small, "cost": np.full_like(small, 2e-4)},
                                "symbols": symbols[:8], "instruments": md.instruments.iloc[:8]}))  # load the kernels
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peaks: list[tuple[str, float]] = []
    tracemalloc.start()

    def stage(name: str) -> None:
        peaks.append((name, tracemalloc.get_traced_memory()[1] / 2**20))
        tracemalloc.reset_peak()

    t0 = time.perf_counter()
    ledger = simulate(cfg, md, on_stage=stage)
    total = time.perf_counter() - t0
    stage("end")
    tracemalloc.stop()
    # on_stage(x) is told when stage x starts: the peak read there belongs to the stage before it
    stage_peak = [p for _, p in peaks[1:]]
    out = {"n": n, "t": t, "rebalances": len(ledger.rebalance_idx), "total": total,
           "timings": ledger.timings, "stage_peaks_mb": stage_peak, "stage_names": [s for s, _ in peaks[:-1]],
           "panel_mb": t * n * 8 / 2**20}
    if artifacts:
        from macrostack.runs.writer import write_ledger
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "layers").mkdir()
            t1 = time.perf_counter()
            write_ledger(Path(tmp), ledger, cfg.execution.lag)
            out["artifacts"] = time.perf_counter() - t1
    out["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["rss_before_mb"] = rss0
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default=SIZES)
    ap.add_argument("--profile", default="core")
    ap.add_argument("--artifacts", action="store_true")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        n, t = map(int, args.one.split("x"))
        print(json.dumps(one(n, t, args.profile, args.artifacts)))
        return
    rows = []
    for size in args.sizes.split(","):
        cmd = [sys.executable, __file__, "--one", size, "--profile", args.profile] + (["--artifacts"] if args.artifacts else [])
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode:
            print(f"{size}: failed\n{done.stderr[-2000:]}", file=sys.stderr)
            continue
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"done {size}", file=sys.stderr, flush=True)
    if not rows:
        return
    layers = list(rows[0]["timings"])
    print(f"`{args.profile}`, weekly rebalances; per layer: seconds / peak traced MB (panels' worth)\n")
    head = ["N × T", "panel MB", *layers, "simulate s", *(["artifacts s"] if args.artifacts else []),
            "max RSS MB", "RSS growth MB (panels)"]
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for r in rows:
        peaks = dict(zip(r["stage_names"], r["stage_peaks_mb"]))
        names = list(peaks)
        cells = []
        for i, layer in enumerate(layers):
            # timings keys follow the stage order; peaks are keyed by the stage names told
            mb = r["stage_peaks_mb"][i] if i < len(names) else float("nan")
            cells.append(f"{r['timings'][layer]:.3f} / {mb:.0f} ({mb / r['panel_mb']:.1f})")
        print(f"| {r['n']} × {r['t']:,} | {r['panel_mb']:.0f} | " + " | ".join(cells) + f" | {r['total']:.2f} | "
              + (f"{r['artifacts']:.2f} | " if args.artifacts else "")
              + f"{r['max_rss_mb']:.0f} | {r['max_rss_mb'] - r['rss_before_mb']:.0f} "
              f"({(r['max_rss_mb'] - r['rss_before_mb']) / r['panel_mb']:.1f}) |")


if __name__ == "__main__":
    main()
