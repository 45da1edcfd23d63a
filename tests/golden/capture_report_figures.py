"""Capture the report's figure data of a short real run, as the golden the report tests compare with.

Run once, before a change to the charts, from the repository root:

    python tests/golden/capture_report_figures.py tests/golden/report_figures.npz
    python tests/golden/capture_report_figures.py --risk-views tests/golden/risk_view_figures.npz

It runs `core` on 2016–2020 (like the tests' `short_runs` fixture, into a temporary folder,
on the store of $MACROSTACK_STORE or the default store), builds the report with every
figure's data captured, and stores per figure and trace its full x / y / z arrays, plus the
run's net series (so a test can tell "the run changed" from "the report changed") and the
page's tables, as HTML.
Captured at 3f24d2f (before the report was thinned and written as JSON), again at 5445114 (the
short run had changed since).

`--risk-views`: the four figures of `report.risk_views` (risk and exposure, sleeve correlation,
costs and turnover, and the benchmark of `report --benchmark ES`) of the same run: their arrays as
above, and per figure everything else it draws with (trace names, colours, stacking, axes, subplot
titles; `|spec`, JSON with the arrays left out). Captured at 5445114 (plotly.py figures).
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path

import numpy as np


def _array(value):
    if value is None:
        return None
    if isinstance(value, dict) and "bdata" in value:  # plotly's base64 typed array
        import base64

        out = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        return out.reshape([int(s) for s in str(value["shape"]).split(",")]) if "shape" in value else out
    arr = np.asarray(value)
    if arr.dtype == object:
        try:
            arr = arr.astype(float)
        except (TypeError, ValueError):
            arr = arr.astype(str)
    return arr


def figure_arrays(fig_json: dict) -> dict[str, np.ndarray]:
    out = {}
    for k, trace in enumerate(fig_json["data"]):
        for axis in ARRAYS:
            arr = _array(trace.get(axis)) if axis != "text" or trace.get(axis) is None else np.asarray(trace[axis], dtype=str)
            if arr is not None:
                out[f"{k}:{trace.get('name') or trace.get('type')}:{axis}"] = arr
    return out


ARRAYS = ("x", "y", "z", "text")


def figure_spec(fig_json: dict) -> str:
    """A figure's JSON without its arrays (`ARRAYS`) and template: what it draws them with."""
    data = [{k: v for k, v in t.items() if k not in ARRAYS} for t in fig_json["data"]]
    layout = {k: v for k, v in fig_json.get("layout", {}).items() if k != "template"}
    return json.dumps({"data": data, "layout": layout}, sort_keys=True, default=str)


def main(dest: Path, risk_views: bool = False) -> None:
    import macrostack.report as report
    from macrostack.benchmark import benchmark_of_run
    from macrostack.runner import run_stack

    captured: dict[str, np.ndarray] = {}
    module = report.risk_views if risk_views else report
    original = module.figure_html

    def capture(fig, div_id):
        data = fig if isinstance(fig, dict) else fig.to_plotly_json()
        for key, arr in figure_arrays(data).items():
            captured[f"{div_id}|{key}"] = arr
        if risk_views:
            captured[f"{div_id}|spec"] = np.array(figure_spec(data))
        return original(fig, div_id)

    module.figure_html = capture
    with tempfile.TemporaryDirectory() as out:
        path = run_stack("core", start="2016-01-01", end="2020-12-31", out=Path(out), report=False).path
        run = report.load_run(path)
        if risk_views:
            report.risk_views.sections(run, report.run_ppy(run), benchmark_of_run(path, run.manifest, "ES"))
        else:
            html = report.build_report_html(run)
            captured["page|tables"] = np.array(re.findall(r"<table.*?</table>", html, flags=re.S))
        captured["run|net"] = run.daily["net"].to_numpy()
    np.savez_compressed(dest, **captured)
    print(f"{len(captured)} arrays → {dest} ({dest.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main(Path(sys.argv[-1]), risk_views="--risk-views" in sys.argv)
