"""Capture the report's figure data of a short real run, as the golden the report tests compare with.

Run once, before a change to the charts, from the repository root:

    python tests/golden/capture_report_figures.py tests/golden/report_figures.npz

It runs `core` on 2016–2020 (like the tests' `short_runs` fixture, into a temporary folder,
on the store of $MACROSTACK_STORE or the default store), builds the report with every
figure's data captured, and stores per figure and trace its full x / y / z arrays, plus the
run's net series (so a test can tell "the run changed" from "the report changed") and the
page's tables, as HTML.
Captured at 3f24d2f (before the report was thinned and written as JSON).
"""

from __future__ import annotations

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
        for axis in ("x", "y", "z"):
            arr = _array(trace.get(axis))
            if arr is not None:
                out[f"{k}:{trace.get('name') or trace.get('type')}:{axis}"] = arr
    return out


def main(dest: Path) -> None:
    import macrostack.report as report
    from macrostack.runner import run_stack

    captured: dict[str, np.ndarray] = {}
    original = report.figure_html

    def capture(fig, div_id):
        data = fig if isinstance(fig, dict) else fig.to_plotly_json()
        for key, arr in figure_arrays(data).items():
            captured[f"{div_id}|{key}"] = arr
        return original(fig, div_id)

    report.figure_html = capture
    with tempfile.TemporaryDirectory() as out:
        path = run_stack("core", start="2016-01-01", end="2020-12-31", out=Path(out), report=False).path
        run = report.load_run(path)
        html = report.build_report_html(run)
        captured["run|net"] = run.daily["net"].to_numpy()
        captured["page|tables"] = np.array(re.findall(r"<table.*?</table>", html, flags=re.S))
    np.savez_compressed(dest, **captured)
    print(f"{len(captured)} arrays → {dest} ({dest.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
