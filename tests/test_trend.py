"""Trend engine: sign on known trends, readiness, no look-ahead; real-data spot check."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from macrostack.config import TrendParams
from macrostack.engines.trend import log_index, lookback, trend_signal
from tests.synthetic import random_returns

P = TrendParams()


def test_steady_uptrend_is_long_and_downtrend_short():
    rng = np.random.default_rng(1)
    n = 900
    noise = rng.normal(0, 0.01, (n, 2))
    r = noise + np.array([0.002, -0.002])
    s = trend_signal(r, P)
    assert np.isnan(s[: 252]).all()                 # not ready before a full long horizon
    assert (s[-200:, 0] > 0).all() and (s[-200:, 1] < 0).all()
    assert np.nanmax(np.abs(s)) <= P.z_clip


def test_log_index_is_nan_before_first_return_and_flat_over_missing():
    r = np.array([[np.nan], [0.1], [np.nan], [-0.5]])
    x = log_index(r)
    assert np.isnan(x[0, 0])
    np.testing.assert_allclose(x[1:, 0], [np.log(1.1), np.log(1.1), np.log(1.1) + np.log(0.5)])


def test_lookback_covers_longest_horizon_and_standardisation():
    assert lookback(P) == 252 + 126


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.integers(300, 399))
def test_no_look_ahead(seed, t):
    """Changing returns after session t changes no signal at or before t."""
    r = random_returns(seed, t=420, n=3)
    base = trend_signal(r, P)
    r2 = r.copy()
    r2[t + 1:] = np.random.default_rng(seed + 1).normal(0, 0.05, r2[t + 1:].shape)
    np.testing.assert_array_equal(trend_signal(r2, P)[: t + 1], base[: t + 1])


def test_real_data_trend_signs_on_named_dates(tf_store):
    """Crude oil after the 2014 collapse, and the S&P 500 late in the 2017 rally."""
    from macrostack.data.market import load_market_data
    md = load_market_data(tf_store, symbols=["CL", "ES"], start="2012-01-01", end="2018-01-31", warmup=600)
    s = trend_signal(md.returns, P)
    day = {str(d): i for i, d in enumerate(md.dates)}
    assert s[day["2015-01-30"], 0] < -1.0   # oil had halved since mid-2014: strongly short
    assert s[day["2017-12-29"], 1] > 1.0    # equities in a steady 2017 uptrend: strongly long
