"""Metrics read the one net series: hand-computed cases and properties."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from macrostack.metrics import (
    ann_vol,
    cagr,
    drawdown,
    equity,
    hit_rate,
    max_drawdown,
    max_drawdown_episode,
    monthly_returns,
    performance_metrics,
    rolling_sharpe,
    rolling_vol,
    sharpe,
    skew,
    sortino,
)


def sessions(*days):
    return np.array(days, dtype="datetime64[D]")


def weekdays(n, first="2000-01-03"):
    return pd.bdate_range(first, periods=n).values.astype("datetime64[D]")


def same(a, b):
    """Equality of metric dicts with NaN == NaN."""
    assert a.keys() == b.keys()
    for k in a:
        va, vb = a[k], b[k]
        if isinstance(va, float) and isinstance(vb, float) and math.isnan(va) and math.isnan(vb):
            continue
        assert va == vb, k


# --------------------------------------------------------------------------- hand-computed


def test_equity_and_drawdown_without_recovery():
    net = np.array([0.1, -0.5, 0.2])
    assert equity(net) == pytest.approx([1.1, 0.55, 0.66])
    assert drawdown(net) == pytest.approx([0.0, -0.5, -0.4])
    m = performance_metrics(net, sessions("2024-01-01", "2024-01-02", "2024-01-03"))
    assert m["max_drawdown"] == pytest.approx(-0.5)
    assert m["max_dd_peak"] == "2024-01-01"
    assert m["max_dd_trough"] == "2024-01-02"
    assert m["max_dd_recovery"] is None
    assert m["n_sessions"] == 3
    assert (m["first_date"], m["last_date"]) == ("2024-01-01", "2024-01-03")


def test_drawdown_recovery_date_is_first_session_back_at_the_peak():
    # equity 1.1, 0.55, 1.21 (above the 1.1 peak), 1.089, 1.14345 (a smaller later dip)
    net = np.array([0.1, -0.5, 1.2, -0.1, 0.05])
    d = sessions("2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05")
    m = performance_metrics(net, d)
    assert m["max_drawdown"] == pytest.approx(-0.5)
    assert (m["max_dd_peak"], m["max_dd_trough"], m["max_dd_recovery"]) == (
        "2024-01-01", "2024-01-02", "2024-01-03")


def test_flat_stretch_at_the_peak_dates_the_peak_at_its_last_session():
    net = np.array([0.1, 0.0, 0.0, -0.2, 0.25])  # 1.1 1.1 1.1 0.88 1.1 (exactly back)
    ep = max_drawdown_episode(net)
    assert (ep.peak, ep.trough) == (2, 3)
    assert ep.recovery == 4
    assert ep.depth == pytest.approx(-0.2)


def test_a_loss_on_the_first_session_is_a_drawdown_from_the_starting_nav():
    net = np.array([-0.2, 0.1, 0.2])  # equity 0.8, 0.88, 1.056
    assert max_drawdown(net) == pytest.approx(-0.2)
    ep = max_drawdown_episode(net)
    assert (ep.peak, ep.trough, ep.recovery) == (None, 0, 2)
    m = performance_metrics(net, sessions("2024-01-01", "2024-01-02", "2024-01-03"))
    assert (m["max_dd_peak"], m["max_dd_trough"], m["max_dd_recovery"]) == (
        "2024-01-01", "2024-01-01", "2024-01-03")


def test_no_drawdown_gives_zero_and_no_dates():
    m = performance_metrics(np.array([0.01, 0.0, 0.02]), sessions("2024-01-01", "2024-01-02", "2024-01-03"))
    assert m["max_drawdown"] == 0.0
    assert m["max_dd_peak"] is m["max_dd_trough"] is m["max_dd_recovery"] is None
    assert math.isnan(m["calmar"])


def test_worst_month_is_compounded_over_calendar_months():
    # January: three -2% sessions -> 0.98^3 - 1 = -0.058808 (the sum would be -0.06);
    # February: -5% then flat -> -0.05. The worst DAY is in February, the worst MONTH in January.
    d = sessions("2024-01-29", "2024-01-30", "2024-01-31", "2024-02-01", "2024-02-02")
    net = np.array([-0.02, -0.02, -0.02, -0.05, 0.0])
    m = performance_metrics(net, d)
    assert m["worst_month"] == pytest.approx(-0.058808)
    assert m["worst_month_date"] == "2024-01"
    assert m["best_month"] == pytest.approx(-0.05)
    assert m["best_month_date"] == "2024-02"
    s = monthly_returns(net, d)
    assert list(s.index.astype(str)) == ["2024-01", "2024-02"]
    assert isinstance(s.index, pd.PeriodIndex)
    assert s.to_numpy() == pytest.approx([-0.058808, -0.05])


def test_hit_rate_excludes_flat_sessions():
    assert hit_rate(np.array([0.01, 0.0, -0.01, 0.02, 0.0])) == pytest.approx(2 / 3)
    assert math.isnan(hit_rate(np.zeros(4)))


def test_sharpe_sortino_vol_by_hand():
    net = np.array([0.01, -0.01, 0.02, 0.0])
    # mean 0.005; deviations .005 -.015 .015 -.005 -> sum sq 5e-4, var (ddof=1) 5e-4/3
    sd = math.sqrt(5e-4 / 3)
    assert ann_vol(net) == pytest.approx(sd * math.sqrt(252))
    assert sharpe(net) == pytest.approx(0.005 / sd * math.sqrt(252))
    # downside: mean(min(x,0)^2) = 1e-4/4 -> 0.005; sortino = 0.005*252 / (0.005*sqrt 252)
    assert sortino(net) == pytest.approx(math.sqrt(252))
    m = performance_metrics(net, weekdays(4))
    assert m["ann_return"] == pytest.approx(0.005 * 252)
    assert m["sharpe"] == pytest.approx(sharpe(net))


def test_cagr_and_calmar_by_hand():
    # 504 sessions (2 years) ending at 1.21: cagr = 1.21^(1/2) - 1 = 0.10
    net = np.zeros(504)
    net[10] = -0.5  # drawdown -50%
    net[20] = 2.42 - 1  # 0.5 * 2.42 = 1.21
    m = performance_metrics(net, weekdays(504))
    assert m["cagr"] == pytest.approx(0.10)
    assert m["max_drawdown"] == pytest.approx(-0.5)
    assert m["calmar"] == pytest.approx(0.20)


def test_turnover_and_cost_drag_over_two_years():
    n = 504  # years = 2
    traded = np.zeros(n)
    traded[::50] = 0.5  # 11 trades (sessions 0, 50, ..., 500) -> 5.5 of NAV traded
    costs = traded * 0.001  # 10 bps per unit traded -> 0.0055 of NAV in total
    rng = np.random.default_rng(0)
    gross = rng.normal(0.0004, 0.01, n)
    net = gross - costs
    gx = np.full(n, 3.0)
    nx = np.full(n, 0.5)
    m = performance_metrics(net, weekdays(n), gross=gross, costs=costs, gross_exposure=gx,
                            net_exposure=nx, traded=traded, target_vol=0.2)
    assert m["turnover_per_year"] == pytest.approx(2.75)
    assert m["cost_drag"] == pytest.approx(0.00275)
    assert m["avg_gross_leverage"] == pytest.approx(3.0)
    assert m["avg_net_leverage"] == pytest.approx(0.5)
    assert m["ann_return_gross"] == pytest.approx(gross.mean() * 252)
    assert m["realised_vol_ratio"] == pytest.approx(m["ann_vol"] / 0.2)


def test_missing_optional_inputs_give_nan():
    m = performance_metrics(np.array([0.01, -0.02, 0.03]), weekdays(3))
    for k in ("avg_gross_leverage", "avg_net_leverage", "turnover_per_year", "cost_drag",
              "ann_return_gross", "realised_vol_ratio"):
        assert math.isnan(m[k]), k


def test_zero_vol_is_nan_not_infinite():
    net = np.full(300, 0.0003)
    m = performance_metrics(net, weekdays(300))
    assert m["ann_vol"] == 0.0
    for k in ("sharpe", "sortino", "skew", "calmar"):
        assert math.isnan(m[k]), k
    assert m["hit_rate"] == 1.0


def test_skew_is_bias_corrected_like_pandas():
    x = np.random.default_rng(1).standard_exponential(200) - 1.0
    assert skew(x) == pytest.approx(pd.Series(x).skew(), rel=1e-12)
    assert math.isnan(skew(np.array([0.1, 0.2])))


def test_empty_ready_period():
    m = performance_metrics(np.array([0.01, 0.02]), weekdays(2), start=2)
    assert m["n_sessions"] == 0
    assert m["first_date"] is None and m["max_dd_trough"] is None
    assert math.isnan(m["cagr"]) and math.isnan(m["max_drawdown"])


def test_metrics_values_are_plain_python_types():
    rng = np.random.default_rng(2)
    n = 600
    m = performance_metrics(rng.normal(0, 0.01, n), weekdays(n), gross_exposure=np.ones(n), target_vol=0.1)
    for k, v in m.items():
        assert v is None or type(v) in (float, int, str), (k, type(v))


# --------------------------------------------------------------------------- rolling


def test_rolling_vol_and_sharpe_are_causal_and_match_pandas():
    x = np.random.default_rng(3).normal(0.0005, 0.01, 400)
    rv = rolling_vol(x, 63)
    rs = rolling_sharpe(x, 63)
    assert np.isnan(rv[:62]).all() and np.isnan(rs[:62]).all()
    s = pd.Series(x).rolling(63)
    assert rv[62:] == pytest.approx((s.std() * math.sqrt(252)).to_numpy()[62:], rel=1e-10)
    assert rs[62:] == pytest.approx((s.mean() / s.std() * math.sqrt(252)).to_numpy()[62:], rel=1e-10)
    # causal: changing the future does not change the past
    y = x.copy()
    y[300:] = 0.5
    assert np.array_equal(rolling_vol(y, 63)[:300], rv[:300], equal_nan=True)


def test_rolling_short_series_and_constant_window():
    assert np.isnan(rolling_vol(np.ones(10) * 0.01, 252)).all()
    x = np.r_[np.full(5, 0.001), 0.02]
    assert rolling_vol(x, 5)[4] == 0.0
    assert math.isnan(rolling_sharpe(x, 5)[4])
    assert rolling_vol(x, 5)[5] > 0


# --------------------------------------------------------------------------- validation


def test_net_must_equal_gross_minus_costs():
    n = 5
    gross = np.full(n, 0.01)
    costs = np.full(n, 0.001)
    with pytest.raises(ValueError, match="gross - costs"):
        performance_metrics(gross, weekdays(n), gross=gross, costs=costs)  # costs never reached net


@pytest.mark.parametrize("bad", ["weekend", "order", "nan", "length"])
def test_bad_inputs_are_refused(bad):
    net = np.array([0.01, 0.02, -0.01])
    d = sessions("2024-01-01", "2024-01-02", "2024-01-03")
    kw = {}
    if bad == "weekend":
        d = sessions("2024-01-05", "2024-01-06", "2024-01-08")
    elif bad == "order":
        d = sessions("2024-01-01", "2024-01-03", "2024-01-02")
    elif bad == "nan":
        net[1] = np.nan
    else:
        kw["traded"] = np.zeros(2)
    with pytest.raises(ValueError):
        performance_metrics(net, d, **kw)


# --------------------------------------------------------------------------- properties

returns = st.lists(st.floats(-0.2, 0.2, allow_nan=False), min_size=3, max_size=300)


@given(returns, st.floats(0.01, 20.0))
def test_scaling_net_scales_vol_and_keeps_sharpe(xs, k):
    x = np.array(xs)
    assume(ann_vol(x) > 1e-6)
    assert ann_vol(k * x) == pytest.approx(k * ann_vol(x), rel=1e-9)
    assert sharpe(k * x) == pytest.approx(sharpe(x), rel=1e-9, abs=1e-9)


@given(st.lists(st.floats(-0.999, 1.0, allow_nan=False), min_size=1, max_size=300))
def test_max_drawdown_is_between_minus_one_and_zero(xs):
    x = np.array(xs)
    mdd = max_drawdown(x)
    assert -1.0 <= mdd <= 0.0
    dd = drawdown(x)
    assert (dd <= 0.0).all() and dd.min() == mdd


@given(st.floats(-0.01, 0.01), st.integers(1, 2000))
def test_cagr_of_a_constant_return(r, n):
    assert cagr(np.full(n, r)) == pytest.approx((1 + r) ** 252 - 1, rel=1e-9, abs=1e-12)


@settings(max_examples=50)
@given(returns, st.integers(0, 299), st.floats(-0.5, 0.5))
def test_metrics_ignore_sessions_before_start(xs, start, junk):
    x = np.array(xs)
    n = x.size
    start = min(start, n - 1)
    d = weekdays(n, "2023-12-20")
    rng = np.random.default_rng(start)
    traded = rng.uniform(0, 1, n)
    costs = traded * 0.0005
    gross = x + costs
    kw = dict(gross_exposure=np.abs(x) * 10, net_exposure=x * 5, traded=traded, target_vol=0.15)
    ref = performance_metrics(x[start:], d[start:], gross=gross[start:], costs=costs[start:],
                              **{k: (v[start:] if isinstance(v, np.ndarray) else v) for k, v in kw.items()})
    same(performance_metrics(x, d, gross=gross, costs=costs, start=start, **kw), ref)
    # rewriting the warm-up sessions changes nothing
    y, g2 = x.copy(), gross.copy()
    y[:start] = junk
    g2[:start] = junk + costs[:start]
    same(performance_metrics(y, d, gross=g2, costs=costs, start=start, **kw), ref)


@given(returns)
def test_monthly_returns_compound_to_the_final_equity(xs):
    x = np.array(xs)
    d = weekdays(x.size, "2024-01-22")
    assert np.prod(1 + monthly_returns(x, d).to_numpy()) == pytest.approx(equity(x)[-1], rel=1e-9)
