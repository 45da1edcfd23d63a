"""Risk views (Euler risk contributions, exposure, turnover and cost by group) and benchmark views."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from macrostack import risk_views as rv
from macrostack.benchmark import align, benchmark_of_run, benchmark_stats, read_benchmark_file, rolling_correlation
from macrostack.errors import InputError
from macrostack.layers.risk_targeting import portfolio_variance

ESTIMATORS = ("sample", "ewma", "newey_west", "ledoit_wolf")


def _panel():
    """3 instruments, 12 sessions, 3 rebalances with lookback 4 (the first window complete)."""
    rng = np.random.default_rng(7)
    r = rng.normal(0, 0.01, (12, 3))
    r[5, 2] = np.nan  # a missing return counts as 0, as in risk targeting
    w = rng.normal(0, 1, (3, 3))
    return r, w, np.array([3, 7, 11])


def test_two_instruments_by_hand():
    """r1 = (1, −1, 0)%, r2 = (0, 1, −1)%: var 1e-4 each, cov −0.5e-4 (ddof 1, means 0).
    w = (2, 1): Σw = (1.5e-4, 0), wᵀΣw = 3e-4 per session → σ_p = √(252·3e-4) = 27.50 %;
    RC_1 = 2·252·1.5e-4/σ_p = σ_p, RC_2 = 1·0/σ_p = 0: a position of gross 1 with no risk."""
    r = np.array([[0.01, 0.0], [-0.01, 0.01], [0.0, -0.01]])
    w = np.array([[2.0, 1.0]])
    _, m = rv.membership(["a", "b"])
    cross, var = rv.bilinear_risk(rv.split_by_class(w, m), w, r, np.array([2]), 3)
    rc, sigma = rv.euler_contributions(cross, var)
    assert sigma[0] == pytest.approx(math.sqrt(252 * 3e-4), rel=1e-12)
    assert rc[0, 0] == pytest.approx(sigma[0], rel=1e-12)
    assert rc[1, 0] == pytest.approx(0.0, abs=1e-15)


def test_sample_contributions_equal_the_matrix_formula():
    """RC_g = Σ_{i∈g} w_i (Σw)_i / σ_p with Σ = np.cov of the window (ddof 1), annualised with 252."""
    r, w, reb = _panel()
    groups, m = rv.membership(["x", "y", "x"])
    cross, var = rv.bilinear_risk(rv.split_by_class(w, m), w, r, reb, 4)
    rc, sigma = rv.euler_contributions(cross, var)
    r0 = np.nan_to_num(r)
    for j, t in enumerate(reb):
        cov = 252 * np.cov(r0[t - 3: t + 1].T, ddof=1)
        s = math.sqrt(w[j] @ cov @ w[j])
        per_instrument = w[j] * (cov @ w[j]) / s
        assert sigma[j] == pytest.approx(s, rel=1e-12)
        assert rc[0, j] == pytest.approx(per_instrument[0] + per_instrument[2], rel=1e-10, abs=1e-15)
        assert rc[1, j] == pytest.approx(per_instrument[1], rel=1e-10, abs=1e-15)


def test_ewma_and_ledoit_wolf_contributions_equal_the_matrix_formula():
    r, w, reb = _panel()
    r0 = np.nan_to_num(r)
    _, m = rv.membership(["x", "y", "z"])
    lam = 0.9
    for est in ("ewma", "ledoit_wolf"):
        rc, sigma = rv.euler_contributions(*rv.bilinear_risk(rv.split_by_class(w, m), w, r, reb, 4, est, lam))
        for j, t in enumerate(reb):
            x = r0[t - 3: t + 1]
            if est == "ewma":
                a = lam ** np.arange(4)[::-1]
                cov = (x * (a / a.sum())[:, None]).T @ x
            else:
                xc = x - x.mean(axis=0)
                s_ = xc.T @ xc / 4
                mu = np.trace(s_) / 3
                d2 = ((s_ - mu * np.eye(3)) ** 2).sum()
                b2 = min(sum(((np.outer(v, v) - s_) ** 2).sum() for v in xc) / 16, d2)
                cov = (1 - b2 / d2) * s_ + b2 / d2 * mu * np.eye(3)
            cov = 252 * cov
            s = math.sqrt(w[j] @ cov @ w[j])
            assert sigma[j] == pytest.approx(s, rel=1e-10)
            np.testing.assert_allclose(rc[:, j], w[j] * (cov @ w[j]) / s, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_contributions_sum_to_the_ex_ante_vol_of_risk_targeting(estimator):
    """The identity: Σ_g RC_g = σ_p, with σ_p the risk-targeting estimate `portfolio_variance` of the book,
    for an asset-class split and for sleeve parts that add up to the book (with a residual)."""
    r, w, reb = _panel()
    sleeve_a = 0.7 * w
    sleeve_b = np.roll(w, 1, axis=1)
    residual = w - sleeve_a - sleeve_b
    _, m = rv.membership(["x", "y", "x"])
    expected = np.sqrt(portfolio_variance(w, r, reb, 4, estimator, 0.9, 2))
    for parts in (rv.split_by_class(w, m), [sleeve_a, sleeve_b, residual]):
        rc, sigma = rv.euler_contributions(*rv.bilinear_risk(parts, w, r, reb, 4, estimator, 0.9, 2))
        np.testing.assert_allclose(sigma, expected, rtol=1e-12)
        np.testing.assert_allclose(rc.sum(axis=0), expected, rtol=1e-10)


def test_contributions_are_nan_before_the_window_and_zero_for_a_flat_book():
    r, w, _ = _panel()
    w[1] = 0.0
    rc, sigma = rv.euler_contributions(*rv.bilinear_risk([w], w, r, np.array([2, 7]), 4))
    assert np.isnan(sigma[0]) and np.isnan(rc[0, 0])
    assert sigma[1] == 0.0 and rc[0, 1] == 0.0


def test_turnover_and_cost_by_group_by_hand():
    """Book (1, −1) then (0.5, 1) under constant holding: Δw = (1, −1), then (−0.5, 2).
    k = (0.001, 0.002): costs 0.003 then 0.0045. Sleeves a = (1, 0) → (0.5, 0.5) and b = (0, −1) → (0, 0.5):
    signed shares of turnover: a = 1, b = 1; then a = 0.5·(−1)·(−1)… = (−0.5)(−1) + 0.5(+1) = 1.0, b = 1.5."""
    w = np.array([[1.0, -1.0], [0.5, 1.0]])
    parts = {"a": np.array([[1.0, 0.0], [0.5, 0.5]]), "b": np.array([[0.0, -1.0], [0.0, 0.5]])}
    r = np.zeros((6, 2))
    k = np.tile([0.001, 0.002], (6, 1))
    sessions, dw, dparts = rv.trade_deltas(w, parts, np.array([1, 3]), r, 1, "constant")
    assert sessions.tolist() == [2, 4]
    _, m = rv.membership(["A", "B"])
    out = rv.trading_by_group(dw, dparts, k[sessions], m)
    np.testing.assert_allclose(out["turnover_class"], [[1.0, 1.0], [0.5, 2.0]])
    np.testing.assert_allclose(out["cost_class"].sum(axis=1), [0.003, 0.0045])
    np.testing.assert_allclose(out["turnover_part"]["a"], [1.0, 1.0])
    np.testing.assert_allclose(out["turnover_part"]["b"], [1.0, 1.5])
    np.testing.assert_allclose(out["cost_part"]["a"] + out["cost_part"]["b"], [0.003, 0.0045])


# --------------------------------------------------------------------------- benchmark


def test_align_compounds_onto_the_next_session_and_never_fills_backwards():
    sessions = np.array(["2020-01-06", "2020-01-07", "2020-01-08", "2020-01-09", "2020-01-10", "2020-01-13"],
                        dtype="datetime64[D]")
    # the benchmark starts on the 7th, misses the 9th, trades on Saturday the 11th, ends on the 10th+1 (Sat)
    bdates = np.array(["2020-01-07", "2020-01-08", "2020-01-10", "2020-01-11"], dtype="datetime64[D]")
    b = np.array([0.01, 0.02, -0.01, 0.03])
    out = align(bdates, b, sessions)
    assert np.isnan(out[0])                       # before the benchmark's first return
    assert out[1] == pytest.approx(0.01)
    assert out[2] == pytest.approx(0.02)
    assert out[3] == 0.0                          # missing day: no return
    assert out[4] == pytest.approx(-0.01)
    assert np.isnan(out[5])                       # after the benchmark's last date (the 11th)
    # with a row on the 13th the Saturday return compounds into Monday
    out = align(np.append(bdates, np.datetime64("2020-01-13")), np.append(b, 0.02), sessions)
    assert out[5] == pytest.approx(1.03 * 1.02 - 1)


def test_align_drops_a_close_files_first_row_and_counts_an_empty_return_as_none():
    sessions = np.array(["2020-01-06", "2020-01-07", "2020-01-08"], dtype="datetime64[D]")
    out = align(np.array(["2020-01-06", "2020-01-07", "2020-01-08"], dtype="datetime64[D]"),
                np.array([np.nan, np.nan, 0.01]), sessions)
    assert np.isnan(out[:2]).all() and out[2] == pytest.approx(0.01)
    out = align(sessions, np.array([0.01, np.nan, 0.01]), sessions)
    np.testing.assert_allclose(out, [0.01, 0.0, 0.01])


def test_rolling_correlation_matches_pandas():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=50), rng.normal(size=50)
    y[20] = np.nan
    corr, beta = rolling_correlation(x, y, 10)
    sx, sy = pd.Series(x), pd.Series(y)
    np.testing.assert_allclose(corr, sx.rolling(10).corr(sy).to_numpy(), rtol=1e-10, equal_nan=True)
    np.testing.assert_allclose(beta, (sx.rolling(10).cov(sy) / sy.rolling(10).var()).to_numpy(), rtol=1e-10,
                               equal_nan=True)


def test_benchmark_stats_by_construction():
    """net = 0.5·b + 0.001 exactly: beta 0.5, correlation 1, alpha 0.001·ppy; uncovered sessions are left out."""
    rng = np.random.default_rng(3)
    b = rng.normal(0, 0.01, 300)
    net = 0.5 * b + 0.001
    b[:10] = np.nan
    net[:10] = 0.05  # would wreck the beta if the uncovered sessions were used
    dates = np.arange(np.datetime64("2020-01-01"), np.datetime64("2020-01-01") + 300)
    s, roll = benchmark_stats(net, b, dates, 260.0, 100)
    assert s["beta"] == pytest.approx(0.5, rel=1e-10)
    assert s["correlation"] == pytest.approx(1.0, rel=1e-12)
    assert s["alpha"] == pytest.approx(0.26, rel=1e-8)
    assert s["n_sessions"] == 290 and s["first"] == "2020-01-11"
    assert np.isnan(roll["rolling_corr"][:109]).all() and roll["rolling_corr"][109] == pytest.approx(1.0)


@pytest.mark.parametrize("text, where, what", [
    ("date,value\n2020-01-06,1\n", "", "exactly one of `return`, `close`"),
    ("date,return,close\n2020-01-06,0.1,1\n", "", "exactly one of"),
    ("date,return\n2020-01-06,0.01\n2020-13-07,0.01\n", "", "row 3, column 'date'"),
    ("date,return\n2020-01-06,0.01\n2020-01-06,0.01\n", "", "row 3: duplicate date"),
    ("date,return\n2020-01-07,0.01\n2020-01-06,0.01\n", "", "row 3: date is not after"),
    ("date,return\n2020-01-06,0.01\n2020-01-07,abc\n", "", "row 3, column 'return'"),
    ("date,close\n2020-01-06,100\n2020-01-07,-1\n", "", "row 3: close -1 <= 0"),
    ("date,close\n2020-01-06,100\n2020-01-07,\n", "", "row 3, column 'close'"),
    ("date,return\n2020-01-06,1.5\n2020-01-07,2.0\n2020-01-08,-1.2\n", "row 2", "look like percent"),
    ("date,close\n2020-01-06,100\n2020-01-07,1\n", "row 3", "jumps from 100 to 1"),
])
def test_benchmark_file_errors_name_the_file_and_row(tmp_path, text, where, what):
    path = tmp_path / "bench.csv"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        read_benchmark_file(path)
    msg = str(err.value)
    assert str(path) in msg and what in msg and where in msg and "\n" not in msg


def test_benchmark_file_close_and_return_forms_agree(tmp_path):
    (tmp_path / "c.csv").write_text("Date,Close\n2020-01-06,100\n2020-01-07,101\n2020-01-08,99.99\n")
    (tmp_path / "r.parquet").write_bytes(b"")
    pd.DataFrame({"date": ["2020-01-06", "2020-01-07", "2020-01-08"], "return": [np.nan, 0.01, -0.01]}).to_parquet(
        tmp_path / "r.parquet")
    c, r = read_benchmark_file(tmp_path / "c.csv"), read_benchmark_file(tmp_path / "r.parquet")
    np.testing.assert_allclose(c.returns, r.returns, equal_nan=True)
    with pytest.raises(InputError, match="benchmark file not found"):
        read_benchmark_file(tmp_path / "missing.csv")


# --------------------------------------------------------------------------- real data


def test_core_2016_2020_risk_views_add_up(short_runs):
    """On core 2016–2020: at every rebalance the class and sleeve contributions sum to the executed
    book's ex-ante vol (RT estimator, from the run's own weights and returns); turnover and cost by
    group add up to daily.parquet's, and the sleeves' costs are sleeves.parquet's."""
    from macrostack.api import Run
    from macrostack.runs.artifacts import read_json
    path = short_runs["core"]
    run = Run(path)
    manifest = read_json(path / "manifest.json")
    rc = pd.read_parquet(path / "layers" / "risk_contributions.parquet")
    w = run.weights("w_exec")
    returns = pd.read_parquet(path / "returns.parquet").set_index("date")
    dates = pd.DatetimeIndex(returns.index)
    rt = manifest["config"]["risk_targeting"]
    reb = dates.get_indexer(pd.DatetimeIndex(w.index))
    sigma = np.sqrt(portfolio_variance(w[manifest["data"]["symbols"]].to_numpy(), returns.to_numpy(), reb,
                                       rt["vol_lookback"], rt["estimator"]))
    for grouping in ("asset_class", "sleeve"):
        total = rc[rc["grouping"] == grouping].groupby("date")["risk"].sum(min_count=1)
        np.testing.assert_allclose(total.loc[w.index].to_numpy(), sigma, rtol=1e-9, atol=1e-14)
    assert set(rc.loc[rc["grouping"] == "sleeve", "group"]) == {"trend", "ewmac", "csmom", "residual"}
    assert set(rc.loc[rc["grouping"] == "asset_class", "group"]) == set(manifest["data"]["asset_classes"].values())
    # exposure: asset-class gross = Σ|w_exec|
    gross = rc[rc["grouping"] == "asset_class"].groupby("date")["gross"].sum()
    np.testing.assert_allclose(gross.loc[w.index].to_numpy(), np.abs(w.to_numpy()).sum(axis=1), rtol=1e-12)

    tr = pd.read_parquet(path / "layers" / "trading.parquet")
    daily = pd.read_parquet(path / "daily.parquet").set_index("date")
    sleeves = pd.read_parquet(path / "sleeves.parquet").set_index("date")
    for grouping in ("asset_class", "sleeve"):
        sums = tr[tr["grouping"] == grouping].groupby("date")[["turnover", "cost"]].sum()
        np.testing.assert_allclose(sums["turnover"], daily.loc[sums.index, "traded"], rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(sums["cost"], daily.loc[sums.index, "cost"], rtol=1e-10, atol=1e-15)
    assert daily.loc[~daily.index.isin(sums.index), "traded"].abs().max() == 0.0
    for name in ("trend", "ewmac", "csmom"):
        cost = tr[(tr["grouping"] == "sleeve") & (tr["group"] == name)].set_index("date")["cost"]
        np.testing.assert_allclose(cost, sleeves.loc[cost.index, f"{name}:cost"], rtol=1e-9, atol=1e-15)

    views = manifest["risk_views"]
    latest = views["latest"]
    assert sum(r["risk"] for r in latest["asset_class"].values()) == pytest.approx(latest["ex_ante_vol"])
    assert sum(r["share"] for r in latest["sleeve"].values()) == pytest.approx(1.0)
    # the point of the view: STIR carries notional, little risk
    stir = views["average"]["asset_class"]["STIR"]
    assert stir["gross"] > 0.1 and stir["risk_share"] < 0.05
    assert set(views["trading_per_year"]) == {"asset_class", "sleeve"}


def test_core_2016_2020_benchmark_es(short_runs, tf_store_path, tf_store):
    """Beta and correlation of core's net returns with ES over the ready period equal numpy's on the
    store's ES returns aligned by date (every ready session has an ES bar in the default data)."""
    from macrostack.runs.artifacts import read_json
    path = short_runs["core"]
    manifest = read_json(path / "manifest.json")
    summary, table = benchmark_of_run(path, manifest, "ES", tf_store_path)
    daily = pd.read_parquet(path / "daily.parquet").iloc[manifest["ready_index"]:]
    es = tf_store.bars("trendfollowing", ["ES"], ["ret"]).set_index("date")["ret"]
    es.index = pd.to_datetime(es.index)
    b = es.reindex(pd.to_datetime(daily["date"])).fillna(0.0).to_numpy()
    net = daily["net"].to_numpy()
    c = np.cov(net, b)
    assert summary["beta"] == pytest.approx(c[0, 1] / c[1, 1], rel=1e-10)
    assert summary["correlation"] == pytest.approx(np.corrcoef(net, b)[0, 1], rel=1e-10)
    assert summary["n_sessions"] == len(net) and summary["rolling_window"] == round(manifest["periods_per_year"])
    assert -0.5 < summary["correlation"] < 0.5  # a trend book is not the equity index
    assert len(table) == len(net) and table["rolling_corr"].notna().sum() == len(net) - summary["rolling_window"] + 1


def test_benchmark_errors_exit_2_on_one_line(short_runs, tf_store_path, tmp_path):
    from typer.testing import CliRunner

    from macrostack.cli import app
    bad = tmp_path / "idx.csv"
    bad.write_text("date,close\n2016-01-04,100\n2016-01-05,oops\n")
    for spec, text in ((str(bad), f"{bad}: row 3, column 'close'"), ("NOPE", "'NOPE' is not a symbol")):
        res = CliRunner().invoke(app, ["show", str(short_runs["core"]), "--benchmark", spec, "--store", str(tf_store_path)])
        assert res.exit_code == 2, res.output
        assert text in res.output and len(res.output.strip().splitlines()) == 1


def test_report_draws_the_risk_and_benchmark_sections_in_a_browser(short_runs, tf_store_path, tmp_path):
    """`report --benchmark ES` on core 2016–2020: the four new charts draw offline, no console errors,
    the time charts' x-range stays within the data; screenshots under tests/output/."""
    from typer.testing import CliRunner

    from macrostack.cli import app
    from tests import browser
    html = tmp_path / "views.html"
    res = CliRunner().invoke(app, ["report", str(short_runs["core"]), "--benchmark", "ES", "--store", str(tf_store_path),
                                   "--html", str(html)])
    assert res.exit_code == 0, res.output
    ids = ("fig-riskviews", "fig-sleevecorr", "fig-trading", "fig-benchmark")
    with browser.chromium() as driver:
        browser.open_page(driver, html)
        drawn = {s["id"]: s for s in browser.chart_status(driver)}
        assert all(drawn[i]["rendered"] and drawn[i]["traces"] for i in ids)
        assert browser.console_errors(driver) == []
        for fig in ("fig-riskviews", "fig-benchmark"):
            lo, hi = driver.execute_script(f"return document.getElementById('{fig}')._fullLayout.xaxis.range")
            assert lo[:10] >= "2016-01-01" and hi[:10] <= "2020-12-31"
        shots = [p for p in browser.section_screenshots(driver, "risk-views")
                 if p.stem.split("risk-views-")[1] in ("riskviews", "sleevecorr", "trading", "benchmark")]
        assert len(shots) == 4
