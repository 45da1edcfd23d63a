"""research.robustness: a sweep's returns -> the DSR / PBO / bootstrap / sub-period evidence."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from macrostack import metrics
from macrostack.errors import InputError
from macrostack.research import stats
from macrostack.research.report import robustness_sections, walkforward_section
from macrostack.research.robustness import common_period, robustness
from macrostack.research.walkforward import walk_forward


def _sweep_returns(n_points=12, seed=0):
    """Sessions × config hash as `results.read_returns` gives them: NaN before each point is ready."""
    dates = pd.DatetimeIndex(pd.bdate_range("1998-01-01", "2009-12-31"), name="date")
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0002, 0.01, (dates.size, n_points))
    for j in range(n_points):
        x[: 20 * j, j] = np.nan  # longer look-backs start later
    return pd.DataFrame(x, index=dates, columns=[f"h{j:02d}" for j in range(n_points)])


def test_common_period_starts_when_every_point_is_ready():
    r = _sweep_returns()
    r["failed"] = np.nan  # a point with no returns at all
    common = common_period(r)
    assert "failed" not in common.columns and common.index[0] == r.index[20 * 11]
    assert common.notna().to_numpy().all() and common.index[-1] == r.index[-1]
    holed = r.drop(columns="failed")
    holed.iloc[500, 3] = np.nan
    with pytest.raises(InputError, match="h03 has a missing return"):
        common_period(holed)
    with pytest.raises(InputError, match="no point has any return"):
        common_period(r[["failed"]])


def test_robustness_is_the_statistics_on_the_common_period():
    r = _sweep_returns()
    out = robustness(r, n_blocks=8, top=3, n_boot=200)
    common = common_period(r)
    x = common.to_numpy()
    srs = [metrics.sharpe(c, 1.0) for c in x.T]
    best = int(np.argmax(srs))
    assert out["best"] == common.columns[best]
    assert out["dsr"] == stats.deflated_sharpe(x[:, best], srs).dsr
    assert out["pbo"] == stats.pbo_cscv(x, n_blocks=8).pbo and len(out["logits"]) == math.comb(8, 4)
    assert out["sub_periods"].shape == (3, 3)  # the top 3 points × 3 windows
    assert list(out["sub_periods"].columns) == ["full period", "1990s", "2000s"]
    assert out["sub_periods"].index[0] == common.columns[best]
    assert out["evidence"]["best point"] == common.columns[best]
    assert out["evidence"]["deflated Sharpe (DSR = PSR(SR0))"] == f"{out['dsr']:.3f}"
    assert out["bootstrap"]["sharpe"].estimate == metrics.sharpe(x[:, best], out["ppy"])


def test_noise_points_are_not_believed():
    """40 points of the same noise law: deflating for the 40 tries leaves the best unbelieved."""
    r = _sweep_returns(n_points=40, seed=3)
    out = robustness(r, n_blocks=8, n_boot=100)
    assert out["dsr"] < out["deflated"].psr0
    assert out["dsr"] < 0.95


def test_report_sections_render_robustness_and_walk_forward():
    """The dicts plug into sweep.html's sections (research.report) unchanged."""
    r = _sweep_returns()
    rob = robustness(r, n_blocks=8, top=3, n_boot=100)
    html = "".join(s.body for s in robustness_sections(rob))
    assert "deflated Sharpe" in html and "CSCV logits" in html
    common = common_period(r)
    wf = walk_forward(common, common.index.to_numpy(), train="3y", test="1y")._asdict()
    section = walkforward_section(wf, common)
    assert str(wf["selections"]["chosen"][0]) in section.body
