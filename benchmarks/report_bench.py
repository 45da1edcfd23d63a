"""Time the HTML report of a finished run: `python benchmarks/report_bench.py RUN_DIR [--repeat 5]`.

Prints JSON: the import of `macrostack.report` (this process, cold), then the median of
`--repeat` calls (after one warm-up call) of `write_report` (the default page, which loads Plotly
from the output folder's `.assets/`) and of its parts — `load_run` (reading the run folder) and
`build_report_html` (every chart and table, to the page text) — and the page's size, linked and
embedded (`embed=True`). The pages are written to a temporary folder, never into the run.
Run it against an older checkout with `PYTHONPATH=<old>/src` to compare like with like.
"""

from __future__ import annotations

import argparse
import inspect
import json
import statistics
import tempfile
import time
from pathlib import Path


CPU: dict[str, float] = {}


def median_time(fn, repeat: int, name: str = "") -> tuple[float, object]:
    """Median wall time of `repeat` calls after a warm-up; the median CPU time of this process
    goes to CPU[name] (steadier than wall time on a shared machine)."""
    out = fn()  # warm-up: lazy imports, page cache
    times, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    CPU[name] = round(statistics.median(cpu), 3)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    t0 = time.perf_counter()
    import macrostack.report as report
    imported = time.perf_counter() - t0
    embeds = "embed" in inspect.signature(report.write_report).parameters
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "run" / "report.html"
        write, path = median_time(lambda: report.write_report(args.run, page), args.repeat, "write_report_cpu_s")
        load, run = median_time(lambda: report.load_run(args.run), args.repeat, "load_run_cpu_s")
        build, _ = median_time(lambda: report.build_report_html(run), args.repeat, "build_report_html_cpu_s")
        size = Path(path).stat().st_size
        embedded = None
        if embeds:
            embedded = report.write_report(args.run, Path(tmp) / "share.html", embed=True).stat().st_size
    print(json.dumps({"report": report.__file__, "import_s": round(imported, 3), "write_report_s": round(write, 3),
                      "load_run_s": round(load, 3), "build_report_html_s": round(build, 3), "bytes": size,
                      "bytes_embedded": embedded if embeds else size, **CPU}))


if __name__ == "__main__":
    main()
