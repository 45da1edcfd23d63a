"""macrostack benchmarks: ingest, MarketData load, and the full `core` simulation.

Usage: python benchmarks/bench.py [--repeat 5] [--pysystemtrade ../shared/data/pysystemtrade]
Prints a Markdown table to paste into benchmarks/README.md. Times are wall-clock seconds,
best of `--repeat` warm runs unless marked cold. Peak memory is the process's max RSS.
"""

from __future__ import annotations

import argparse
import platform
import resource
import tempfile
import time
from pathlib import Path

from macrostack.config import load_config
from macrostack.data.ingest import ingest
from macrostack.data.market import load_market_data
from macrostack.data.store import MarketStore
from macrostack.runner import run_stack
from macrostack.simulate import simulate, warmup_sessions


def best(fn, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--pysystemtrade", default=str(Path(__file__).resolve().parents[2] / "shared/data/pysystemtrade"))
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        store_path = Path(tmp) / "market.duckdb"
        with MarketStore(store_path) as st:
            t = time.perf_counter()
            ingest(st, "trendfollowing")
            rows.append(("ingest trendfollowing (84 instruments, cold)", time.perf_counter() - t))
            if Path(args.pysystemtrade).exists():
                t = time.perf_counter()
                ingest(st, "pysystemtrade", args.pysystemtrade)
                rows.append(("ingest pysystemtrade sample (42 instruments, cold)", time.perf_counter() - t))
        with MarketStore(store_path, read_only=True) as st:
            load_market_data(st)  # warm the OS cache and DuckDB
            dt, md = best(lambda: load_market_data(st, fields=("ret", "cost")), args.repeat)
            rows.append((f"MarketData load, full default dataset ({md.returns.shape[1]} × {md.returns.shape[0]:,})", dt))
            for profile in ("core", "trend_only"):
                cfg = load_config(profile)
                simulate(cfg, md)  # warm-up
                dt, ledger = best(lambda: simulate(cfg, md), args.repeat)
                rows.append((f"simulate `{profile}` ({len(ledger.rebalance_idx):,} weekly rebalances)", dt))
                for layer, sec in ledger.timings.items():
                    rows.append((f"  · {layer}", sec))
                dt, _ = best(lambda: (load_market_data(st, fields=("ret", "cost"), warmup=warmup_sessions(cfg)),
                                      simulate(cfg, md)), args.repeat)
                rows.append((f"load + simulate `{profile}` (the 1.0 s goal)", dt))
        out = Path(tmp) / "runs"
        dt, res = best(lambda: run_stack("core", out=out, store=store_path, force=True), max(2, args.repeat // 2))
        rows.append(("`macrostack run core` in-process incl. artifacts + audit + report", dt))
        for k in ("artifacts+audit+report", "report"):
            rows.append((f"  · {k}", res.timings[k]))
        dt, res = best(lambda: run_stack("core", out=out, store=store_path, force=True, report=False),
                       max(2, args.repeat // 2))
        rows.append(("`macrostack run core --no-report` in-process", dt))
        rows.append(("  · artifacts+audit", res.timings["artifacts+audit+report"]))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"Machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
          f"{platform.system()} {platform.release()}; date {time.strftime('%Y-%m-%d')}\n")
    print("| workload | seconds |\n|---|---|")
    for name, sec in rows:
        print(f"| {name} | {sec:.3f} |")
    print(f"| peak memory (max RSS of the benchmark process) | {peak_mb:.0f} MB |")


if __name__ == "__main__":
    main()
