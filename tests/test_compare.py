"""Comparing two runs (the two-pass allocator audit): numbers, JSON, refusal, and the page in a browser."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from macrostack.compare import (HEADLINE, _tone, aligned, compare_runs, derisking_events, metric_deltas,
                                quarterly_returns, regime_performance, vol_matched, worst_periods)
from macrostack.errors import InputError
from macrostack.metrics import equity, monthly_returns
from macrostack.report import load_run
from macrostack.runs.artifacts import read_table, write_table
from tests import browser

@pytest.fixture(scope="module")
def runs(short_runs):
    """The two-pass audit: trend_only (allocator off) as base, core (allocator on) as other."""
    return short_runs["trend_only"], short_runs["core"]


@pytest.fixture(scope="module")
def result(runs, tmp_path_factory):
    html = tmp_path_factory.mktemp("compare_html") / "compare.html"
    return compare_runs(runs[0], runs[1], html)


def test_result_is_json_serialisable_without_nan(result):
    text = json.dumps(result, allow_nan=False)  # raises on NaN / inf
    assert json.loads(text) == result
    assert set(result) >= {"base", "other", "overlap", "metrics", "equity_ratio_end", "worst_months", "worst_quarters",
                           "derisking", "regimes", "vol_matched", "regime_performance", "html"}


def test_metric_deltas_are_other_minus_base_over_the_overlap(result, runs):
    base, other = load_run(runs[0]), load_run(runs[1])
    assert result["overlap"]["sessions"] == len(base.dates.intersection(other.dates))
    assert set(result["metrics"]) == {k for k, *_ in HEADLINE}
    for key, row in result["metrics"].items():
        assert row["delta"] == pytest.approx(row["other"] - row["base"], abs=1e-15)
    # same ready period here, so the metrics are the manifests' metrics
    if base.dates.equals(other.dates):
        for key in ("cagr", "ann_vol", "sharpe", "max_drawdown", "turnover_per_year", "cost_drag"):
            assert result["metrics"][key]["base"] == pytest.approx(base.manifest["metrics"][key], abs=1e-12)
            assert result["metrics"][key]["other"] == pytest.approx(other.manifest["metrics"][key], abs=1e-12)


def test_equity_ratio_is_other_over_base(result, runs):
    base, other = load_run(runs[0]), load_run(runs[1])
    dates = base.dates.intersection(other.dates)
    nb, no = aligned(base, dates)["net"].to_numpy(), aligned(other, dates)["net"].to_numpy()
    assert result["equity_ratio_end"] == pytest.approx(equity(no)[-1] / equity(nb)[-1], rel=1e-12)


def test_worst_periods_side_by_side(result, runs):
    wm = result["worst_months"]
    assert len(wm["base_worst"]) == len(wm["other_worst"]) == 5
    base_vals = [r["base"] for r in wm["base_worst"]]
    assert base_vals == sorted(base_vals)
    base = load_run(runs[0])
    monthly = monthly_returns(base.daily["net"].to_numpy(), np.asarray(base.dates, dtype="datetime64[D]"))
    assert base_vals[0] == pytest.approx(monthly.min(), abs=1e-15)
    for row in wm["other_worst"]:
        assert row["difference"] == pytest.approx(row["other"] - row["base"], abs=1e-15)
    assert re.fullmatch(r"\d{4}Q[1-4]", result["worst_quarters"]["base_worst"][0]["period"])


def test_quarterly_returns_compound_the_months():
    idx = pd.period_range("2020-01", "2020-06", freq="M")
    m = pd.Series([0.01, -0.02, 0.03, 0.0, 0.05, -0.01], index=idx)
    q = quarterly_returns(m)
    assert list(q.index.astype(str)) == ["2020Q1", "2020Q2"]
    assert q.iloc[0] == pytest.approx(1.01 * 0.98 * 1.03 - 1)
    assert q.iloc[1] == pytest.approx(1.0 * 1.05 * 0.99 - 1)
    w = worst_periods(m, m * 2, n=2)
    assert [r["period"] for r in w["base_worst"]] == ["2020-02", "2020-06"]
    assert w["other_worst"][0]["other"] == pytest.approx(-0.04)


def test_metric_deltas_with_missing_values():
    out = metric_deltas({"cagr": 0.1, "calmar": None}, {"cagr": 0.12, "calmar": 1.0}, keys=("cagr", "calmar"))
    assert out["cagr"]["delta"] == pytest.approx(0.02)
    assert np.isnan(out["calmar"]["delta"])


def test_derisking_events_are_the_deepest_cuts_of_the_braked_run(result, runs):
    d = result["derisking"]
    assert d["run"] == "other"
    events = d["events"]
    assert 0 < len(events) <= 10
    scalars = [e["scalar"] for e in events]
    assert scalars == sorted(scalars) and all(0 < s < 0.99 for s in scalars)
    other = load_run(runs[1])
    alloc = other.alloc.set_index("date")
    base = load_run(runs[0])
    for e in events:
        assert alloc.loc[pd.Timestamp(e["date"]), "scalar_applied"] == pytest.approx(e["scalar"])
        assert e["episode_start"] <= e["date"] <= e["episode_end"]
        assert e["regime"] in ("NORMAL", "ELEVATED", "STRESS", "CRISIS")
        first = other.dates.get_loc(pd.Timestamp(e["held_from"]))
        assert first == other.dates.get_loc(pd.Timestamp(e["date"])) + other.lag
        window = slice(first, first + 20)
        assert e["other_pnl_after"] == pytest.approx(np.prod(1 + other.daily["net"].to_numpy()[window]) - 1, abs=1e-12)
        assert e["base_pnl_after"] == pytest.approx(np.prod(1 + base.daily["net"].to_numpy()[window]) - 1, abs=1e-12)
    episodes = [(e["episode_start"], e["episode_end"]) for e in events]
    assert len(set(episodes)) == len(episodes)  # one event per episode


def test_derisking_events_on_known_scalars():
    dates = pd.bdate_range("2020-01-01", periods=60)
    reb = dates[::5]
    s = np.array([1.0, 0.9, 0.7, 0.8, 1.0, 0.995, 0.6, 0.6, 0.95, 1.0, 0.5, 1.0])
    alloc = pd.DataFrame({"date": reb, "scalar_applied": s, "regime_at_rebalance": [0, 1, 2, 2, 0, 0, 3, 3, 1, 0, 3, 0]})
    net_b, net_o = np.full(60, 0.001), np.full(60, 0.0005)
    ev = derisking_events(alloc, dates, net_b, net_o, lag=1, n=10, horizon=20)
    assert [e["scalar"] for e in ev] == [0.5, 0.6, 0.7]  # three episodes; 0.995 is back at full risk
    assert ev[1]["date"] == str(reb[6].date()) and ev[1]["episode_rebalances"] == 3
    assert ev[1]["regime"] == "NORMAL"  # decided at the previous rebalance (regime 0)
    assert ev[0]["held_from"] == str(dates[51].date())
    assert ev[0]["base_pnl_after"] == pytest.approx(1.001 ** 9 - 1)  # only 9 sessions left
    assert ev[2]["other_pnl_after"] == pytest.approx(1.0005 ** 20 - 1)
    assert derisking_events(alloc.assign(scalar_applied=1.0), dates, net_b, net_o) == []


def test_regime_shares_only_for_the_run_with_an_allocator(result):
    assert result["regimes"]["base"] is None
    shares = result["regimes"]["other"]["shares"]
    assert sum(shares.values()) == pytest.approx(1.0)
    assert result["regimes"]["other"]["transitions_per_year"] >= 0


def test_compare_without_html_writes_nothing(runs, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = compare_runs(runs[1], runs[0])
    assert out["html"] is None and not list(tmp_path.iterdir())
    assert out["derisking"]["run"] == "base"  # the braked run is found on either side


def test_runs_without_common_sessions_are_refused(runs, tmp_path):
    shifted = tmp_path / "shifted"
    shutil.copytree(runs[0], shifted)
    for path in shifted.rglob("*.parquet"):  # every table, so the run stays consistent in itself
        table = read_table(path)
        table["date"] = table["date"] + pd.DateOffset(years=30)
        write_table(path, table)
    with pytest.raises(InputError, match="no sessions in common") as err:
        compare_runs(runs[1], shifted, tmp_path / "c.html")
    assert "fix:" in str(err.value)
    assert not (tmp_path / "c.html").exists()


def test_vol_matched_ratio_levers_the_other_run_to_the_base_vol():
    rng = np.random.default_rng(5)
    base, other = rng.normal(0.0004, 0.01, 500), rng.normal(0.0003, 0.005, 500)
    scale, ratio = vol_matched(base, other)
    assert scale == pytest.approx(np.std(base, ddof=1) / np.std(other, ddof=1))
    assert np.std(scale * other, ddof=1) == pytest.approx(np.std(base, ddof=1), rel=1e-12)
    np.testing.assert_allclose(ratio, np.cumprod(1 + scale * other) / np.cumprod(1 + base), rtol=1e-12)


def test_regime_performance_on_known_numbers():
    regime = np.array([0, 0, 3, 3, 3, np.nan])
    base = np.array([0.01, 0.02, -0.03, -0.01, 0.0, 0.5])
    other = np.array([0.005, 0.01, -0.01, 0.0, 0.001, 0.5])
    rows = regime_performance(regime, base, other, 250.0)
    assert [r["regime"] for r in rows] == ["NORMAL", "CRISIS"]
    crisis = rows[1]
    assert crisis["sessions"] == 3 and crisis["share"] == pytest.approx(3 / 5)
    assert crisis["base"]["ann_return"] == pytest.approx(-0.04 / (3 / 250))
    assert crisis["other"]["compounded"] == pytest.approx(0.99 * 1.0 * 1.001 - 1)
    assert crisis["difference"] == pytest.approx(crisis["other"]["ann_return"] - crisis["base"]["ann_return"])
    assert crisis["base"]["ann_vol"] == pytest.approx(np.std([-0.03, -0.01, 0.0], ddof=1) * np.sqrt(250))


def test_colours_follow_the_rounded_delta():
    assert _tone("cagr", -0.00004, "pct") == ""  # prints as 0.00%: neither better nor worse
    assert _tone("cagr", -0.00006, "pct") == "neg"
    assert _tone("sharpe", 0.004) == "" and _tone("sharpe", 0.006) == "pos"
    assert _tone("turnover_per_year", 0.04, "mult") == "" and _tone("turnover_per_year", 0.06, "mult") == "neg"


def test_per_regime_performance_of_the_braked_run(result, runs):
    rp = result["regime_performance"]
    assert rp["run"] == "other"
    other = load_run(runs[1])
    assert sum(r["sessions"] for r in rp["rows"]) == int(np.isfinite(other.daily["regime"]).sum())
    assert result["vol_matched"]["scale"] > 0 and result["vol_matched"]["ratio_end"] > 0


def test_compare_html_loads_the_shared_bundle(result):
    text = open(result["html"]).read()
    sources = re.findall(r'<script[^>]+src="([^"]+)"', text)
    assert len(sources) == 1 and sources[0].startswith(".assets/plotly-")
    assert (Path(result["html"]).parent / sources[0]).is_file()
    assert text.count('class="plotly-graph-div"') == 3
    for section in ("metrics", "equity", "worst", "derisking", "regimes", "regime-performance"):
        assert f'<section id="{section}">' in text


def test_compare_embed_is_self_contained(runs, tmp_path):
    out = compare_runs(runs[0], runs[1], tmp_path / "c.html", embed=True)
    text = open(out["html"]).read()
    assert not re.search(r"<script[^>]+src=", text) and not (tmp_path / ".assets").exists()


def test_compare_renders_in_a_headless_browser_offline(result):
    with browser.chromium() as driver:
        browser.open_page(driver, result["html"])
        charts = browser.chart_status(driver)
        errors = browser.console_errors(driver)
        browser.screenshot(driver, "compare_core_vs_trend_only.png")
        browser.section_screenshots(driver, "compare")
        span = driver.execute_script("return MS.span()")
        driver.execute_script("document.querySelectorAll('nav .range button')[0].click()")  # 1y
        import time
        time.sleep(0.8)
        x_range = driver.execute_script("return document.getElementById('fig-compare-equity')._fullLayout.xaxis.range")
        first = driver.execute_script("const gd = document.getElementById('fig-compare-equity'); "
                                      "const r = gd._fullLayout.xaxis.range[0]; const i = gd.data[2].x.findIndex((x) => x >= r);"
                                      " return [gd.data[2].y[i - 1], gd.data[3].y[i - 1]];")  # ratios at the window's start
        browser.section_screenshots(driver, "compare_1y")
        errors += browser.console_errors(driver)
    assert not errors, errors
    assert span == [result["overlap"]["first"], result["overlap"]["last"]]
    assert x_range[1] == span[1] and x_range[0] > span[0]
    assert first == pytest.approx([1.0, 1.0], abs=1e-12)  # equity ratio and vol-matched ratio rebased to 1
    assert [c["id"] for c in charts] == ["fig-compare-equity", "fig-compare-regimes", "fig-compare-regime-performance"]
    for chart in charts:
        assert chart["rendered"] and chart["traces"]
        for trace in chart["traces"]:
            assert trace["points"] > 0, f"{chart['id']}: {trace['name']} has no points"
