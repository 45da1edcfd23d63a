"""Sweep benchmark (issue 9): N late-layer points of `core` on the full default dataset.

    python benchmarks/sweep_bench.py [--points 1000] [--workers 2] [--engine-points 0]

Late-layer points vary risk targeting, the allocator profile and the no-trade buffer, so every
point shares its engine signals, sleeve sizing and correlations (the worker's memo); engine
points vary trend's z-window, so each needs its own signals. Prints wall time, points per
second, seconds per point per worker, and the peak resident memory of the driver and its
worker processes (sampled every 0.2 s with psutil, which Dask brings). Each run uses a fresh
output folder (`--keep DIR` keeps it), so nothing is resumed.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import threading
import time
from pathlib import Path

import psutil

from macrostack.research.spec import load_sweep
from macrostack.research.sweep import run_sweep


def late_layer_grid(n: int) -> str:
    """A grid of about `n` points over target vol, leverage cap, allocator profile and buffer."""
    profiles, buffers, caps = ["H", "M", "L"], [0.0, 0.01, 0.02, 0.05, 0.1], [3.0, 5.0, 7.0, 10.0]
    vols = max(1, round(n / (len(profiles) * len(buffers) * len(caps))))
    targets = [round(0.05 + 0.25 * i / max(1, vols - 1), 6) for i in range(vols)] if vols > 1 else [0.2]
    return ("name: bench-late\nbase: core\ngrid:\n"
            f"  risk_targeting.target_vol: {targets}\n  risk_targeting.leverage_cap: {caps}\n"
            f"  allocator.profile: {profiles}\n  execution.no_trade_buffer: {buffers}\n")


def engine_grid(n: int) -> str:
    windows = [130 + 10 * i for i in range(n)]  # z_min_periods is 126
    return f"name: bench-engine\nbase: core\ngrid:\n  sleeves.trend.params.z_window: {windows}\n"


class PeakMemory:
    """Peak summed RSS of this process and its children while running."""

    def __init__(self):
        self.peak, self._stop = 0, threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self):
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for p in itertools.chain([me], me.children(recursive=True)):
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            time.sleep(0.2)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def bench(text: str, workers: int, label: str, keep: Path | None = None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{label.split()[0]}.yaml"
        path.write_text(text)
        sweep = load_sweep(path)
        with PeakMemory() as mem:
            t0 = time.perf_counter()
            result = run_sweep(sweep, out=folder / f"runs-{workers}w", workers=workers)
            wall = time.perf_counter() - t0
    n = result["ran"]
    print(f"{label}: {n} points ({result['failed']} failed), {workers} workers: {wall:.1f} s wall, "
          f"{n / wall:.1f} points/s, {wall * workers / n:.3f} s per point per worker, "
          f"peak RSS {mem.peak / 2**30:.2f} GiB")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=1000)
    ap.add_argument("--workers", type=int, nargs="+", default=[2])
    ap.add_argument("--engine-points", type=int, default=0)
    ap.add_argument("--keep", type=Path, help="keep the sweep files and results here (e.g. to walk forward after)")
    args = ap.parse_args()
    for w in args.workers:
        if args.points:
            bench(late_layer_grid(args.points), w, "late-layer sweep", args.keep)
        if args.engine_points:
            bench(engine_grid(args.engine_points), w, "engine sweep", args.keep)


if __name__ == "__main__":
    main()
