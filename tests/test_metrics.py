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
    drawdown_episodes,
    equity,
    hit_rate,
    max_drawdown,
    max_drawdown_episode,
    monthly_returns,
    performance_metrics,
    periods_per_year,
    realised_vol_ratio,
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


def two_years_of_weekdays():
    """Every weekday from Mon 2000-01-03 to Mon 2001-12-31: 521 sessions, 104 weeks apart."""
    return pd.bdate_range("2000-01-03", "2001-12-31").values.astype("datetime64[D]")


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
    ppy = 260.0
    # mean 0.005; deviations .005 -.015 .015 -.005 -> sum sq 5e-4, var (ddof=1) 5e-4/3
    sd = math.sqrt(5e-4 / 3)
    assert ann_vol(net, ppy) == pytest.approx(sd * math.sqrt(260))
    assert sharpe(net, ppy) == pytest.approx(0.005 / sd * math.sqrt(260))
    # downside: mean(min(x,0)^2) = 1e-4/4 -> 0.005; sortino = 0.005*260 / (0.005*sqrt 260)
    assert sortino(net, ppy) == pytest.approx(math.sqrt(260))
    # Mon..Thu: 3 intervals over 3 days -> this window's own calendar has 365.25 sessions a year
    m = performance_metrics(net, weekdays(4))
    assert m["periods_per_year"] == pytest.approx(365.25)
    assert m["ann_return"] == pytest.approx(0.005 * 365.25)
    assert m["sharpe"] == pytest.approx(0.005 / sd * math.sqrt(365.25))
    assert performance_metrics(net, weekdays(4), ppy=260.0)["sharpe"] == pytest.approx(sharpe(net, ppy))


def test_cagr_and_calmar_by_hand():
    # Every weekday Mon 2000-01-03 .. Mon 2001-12-31: 521 sessions, 520 intervals over 728 days
    # (104 weeks) -> ppy = 520 / (728 / 365.25) = 365.25 * 5 / 7 = 260.892857...
    d = two_years_of_weekdays()
    assert d.size == 521
    net = np.zeros(521)
    net[10] = -0.5  # drawdown -50%
    net[20] = 2.42 - 1  # 0.5 * 2.42 = 1.21
    m = performance_metrics(net, d)
    years = 521 / (365.25 * 5 / 7)  # the 521 returns cover 521 intervals: 1.99692 years
    assert m["cagr"] == pytest.approx(1.21 ** (1 / years) - 1)  # 0.100169, not the 0.10 of exactly 2 years
    assert m["max_drawdown"] == pytest.approx(-0.5)
    assert m["calmar"] == pytest.approx(m["cagr"] / 0.5)


def test_turnover_and_cost_drag_over_two_years():
    n = 521  # years = 521 / 260.892857 (see test_cagr_and_calmar_by_hand)
    years = 521 / (365.25 * 5 / 7)
    traded = np.zeros(n)
    traded[::50] = 0.5  # 11 trades (sessions 0, 50, ..., 500) -> 5.5 of NAV traded
    costs = traded * 0.001  # 10 bps per unit traded -> 0.0055 of NAV in total
    rng = np.random.default_rng(0)
    gross = rng.normal(0.0004, 0.01, n)
    net = gross - costs
    gx = np.full(n, 3.0)
    nx = np.full(n, 0.5)
    m = performance_metrics(net, two_years_of_weekdays(), gross=gross, costs=costs, gross_exposure=gx,
                            net_exposure=nx, traded=traded, target_vol=0.2)
    assert m["turnover_per_year"] == pytest.approx(5.5 / years)  # 2.754, not 2.75 (2 years)
    assert m["cost_drag"] == pytest.approx(0.0055 / years)
    assert m["avg_gross_leverage"] == pytest.approx(3.0)
    assert m["avg_net_leverage"] == pytest.approx(0.5)
    assert m["ann_return_gross"] == pytest.approx(gross.mean() * 365.25 * 5 / 7)
    # realised over target on risk targeting's own basis (daily vol × sqrt(252)), not the calendar's
    assert m["realised_vol_ratio"] == pytest.approx(np.std(net, ddof=1) * math.sqrt(252) / 0.2)
    assert m["realised_vol_ratio"] == pytest.approx(m["ann_vol"] / 0.2 * math.sqrt(252 / (365.25 * 5 / 7)))


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


# --------------------------------------------------------------------------- calendar


def test_periods_per_year_of_a_weekday_calendar():
    # 5 sessions a week for 2 years (104 weeks): 520 intervals over 728 days
    assert periods_per_year(two_years_of_weekdays()) == pytest.approx(365.25 * 5 / 7)  # 260.89
    assert periods_per_year(two_years_of_weekdays()) == pytest.approx(260.892857, abs=1e-6)
    # the rate does not depend on the length of a regular calendar (n - 1 intervals, not n)
    assert periods_per_year(weekdays(6)) == pytest.approx(365.25 * 5 / 7)  # Mon .. Mon


def test_periods_per_year_of_a_calendar_with_holidays():
    d = two_years_of_weekdays()
    # 9 exchange holidays a year (never the first or last session): 18 fewer sessions
    holidays = np.array(["2000-01-17", "2000-02-21", "2000-04-21", "2000-05-29", "2000-07-04", "2000-09-04",
                         "2000-11-23", "2000-12-25", "2000-01-24",
                         "2001-01-15", "2001-02-19", "2001-04-13", "2001-05-28", "2001-07-04", "2001-09-03",
                         "2001-11-22", "2001-12-25", "2001-09-11"], dtype="datetime64[D]")
    kept = d[~np.isin(d, holidays)]
    assert kept.size == 521 - 18
    assert periods_per_year(kept) == pytest.approx((520 - 18) / (728 / 365.25))  # 251.86


def test_periods_per_year_undefined_without_two_sessions():
    assert math.isnan(periods_per_year(sessions("2024-01-01")))
    assert math.isnan(periods_per_year(sessions()))


def test_realised_vol_ratio_is_on_the_risk_targeting_basis():
    net = np.array([0.01, -0.01, 0.02, 0.0])
    assert realised_vol_ratio(net, 0.2) == pytest.approx(math.sqrt(5e-4 / 3) * math.sqrt(252) / 0.2)
    assert math.isnan(realised_vol_ratio(net, 0.0))


# --------------------------------------------------------------------------- drawdown episodes


def test_drawdown_episodes_by_hand():
    # equity 1.1, 0.99, 1.1, 1.21, 0.968, 1.1616, 1.21, 1.2705, 1.143
    net = np.array([0.1, -0.1, 1.1 / 0.99 - 1, 0.1, -0.2, 0.2, 1.21 / 1.1616 - 1, 0.05, -0.1])
    eps = drawdown_episodes(net)
    assert [(e.peak, e.trough, e.recovery) for e in eps] == [(0, 1, 2), (3, 4, 6), (7, 8, None)]
    assert [e.depth for e in eps] == pytest.approx([-0.1, -0.2, -0.1])
    assert max_drawdown_episode(net) == eps[1]
    # a loss on the first session starts from the starting NAV (no peak session)
    assert drawdown_episodes(np.array([-0.1, 0.2]))[0] == (pytest.approx(-0.1), None, 0, 1)
    assert drawdown_episodes(np.array([0.01, 0.0])) == []
    assert drawdown_episodes(np.zeros(0)) == []


@given(st.lists(st.floats(-0.5, 0.5, allow_nan=False), min_size=1, max_size=200))
def test_drawdown_episodes_cover_every_underwater_session(xs):
    x = np.array(xs)
    dd = drawdown(x)
    eps = drawdown_episodes(x)
    covered = np.zeros(x.size, dtype=bool)
    for e in eps:
        end = e.recovery if e.recovery is not None else x.size
        first = 0 if e.peak is None else e.peak + 1
        assert (dd[first:end] < 0).all() and dd[e.trough] == e.depth == dd[first:end].min()
        covered[first:end] = True
    assert np.array_equal(covered, dd < 0)
    if eps:
        assert max_drawdown_episode(x).depth == dd.min()


# --------------------------------------------------------------------------- rolling


def test_rolling_vol_and_sharpe_are_causal_and_match_pandas():
    x = np.random.default_rng(3).normal(0.0005, 0.01, 400)
    rv = rolling_vol(x, 63, 252)
    rs = rolling_sharpe(x, 63, 252)
    assert np.isnan(rv[:62]).all() and np.isnan(rs[:62]).all()
    s = pd.Series(x).rolling(63)
    assert rv[62:] == pytest.approx((s.std() * math.sqrt(252)).to_numpy()[62:], rel=1e-10)
    assert rs[62:] == pytest.approx((s.mean() / s.std() * math.sqrt(252)).to_numpy()[62:], rel=1e-10)
    # causal: changing the future does not change the past
    y = x.copy()
    y[300:] = 0.5
    assert np.array_equal(rolling_vol(y, 63, 252)[:300], rv[:300], equal_nan=True)


def test_rolling_short_series_and_constant_window():
    assert np.isnan(rolling_vol(np.ones(10) * 0.01, 252, 252)).all()
    x = np.r_[np.full(5, 0.001), 0.02]
    assert rolling_vol(x, 5, 252)[4] == 0.0
    assert math.isnan(rolling_sharpe(x, 5, 252)[4])
    assert rolling_vol(x, 5, 252)[5] > 0


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
    assume(ann_vol(x, 252) > 1e-6)
    assert ann_vol(k * x, 252) == pytest.approx(k * ann_vol(x, 252), rel=1e-9)
    assert sharpe(k * x, 252) == pytest.approx(sharpe(x, 252), rel=1e-9, abs=1e-9)


@given(st.lists(st.floats(-0.999, 1.0, allow_nan=False), min_size=1, max_size=300))
def test_max_drawdown_is_between_minus_one_and_zero(xs):
    x = np.array(xs)
    mdd = max_drawdown(x)
    assert -1.0 <= mdd <= 0.0
    dd = drawdown(x)
    assert (dd <= 0.0).all() and dd.min() == mdd


@given(st.floats(-0.01, 0.01), st.integers(1, 2000), st.floats(200.0, 366.0))
def test_cagr_of_a_constant_return(r, n, ppy):
    assert cagr(np.full(n, r), ppy) == pytest.approx((1 + r) ** ppy - 1, rel=1e-9, abs=1e-12)


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
