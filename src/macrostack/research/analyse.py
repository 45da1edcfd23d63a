"""A finished sweep, judged: robustness statistics, an optional walk-forward, and sweep.html.

Reads the sweep folder's parts (never the running sweep's memory), labels each point `#k`
(its number in the sweep file's expansion), compares the points on their common period
(`robustness.common_period`), and writes `sweep.html` beside the results.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from macrostack.research.report import write_sweep_html
from macrostack.research.results import read_points, read_returns, read_sweep_file
from macrostack.research.robustness import common_period, robustness
from macrostack.research.walkforward import walk_forward


def labelled_returns(folder: Path) -> pd.DataFrame:
    """Finished points' daily net returns over their common period, columns `#<point>`."""
    points = read_points(folder)
    ok = points[points["status"] == "ok"]
    returns = read_returns(folder, list(ok["config_hash"]))
    returns.columns = [f"#{p}" for p in ok["point"]]
    return common_period(returns)


def analyse(folder: Path, walk: dict | None = None, splits=None, html: bool = True) -> dict:
    """{"robustness": …, "walkforward": … (when `walk` gives train/test/step/anchored/select),
    "html": path of sweep.html}; robustness needs at least two finished points."""
    meta = read_sweep_file(folder)
    returns = labelled_returns(folder)
    rob = robustness(returns, splits=splits) if returns.shape[1] >= 2 else None
    wf = None
    if walk is not None:
        result = walk_forward(returns, returns.index.to_numpy(), **walk)
        wf = result._asdict()
    out = {"sweep_id": meta["sweep_id"], "robustness": rob, "walkforward": wf}
    if html:
        out["html"] = str(write_sweep_html(folder, rob, wf))
    return out
