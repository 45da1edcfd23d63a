"""Trend engine: sign on known trends, readiness, no look-ahead; real-data spot check;
equality with the pandas reference implementation (random and real data)."""

import warnings

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from macrostack import rolling
from macrostack.config import TrendParams
from macrostack.engines.trend import (HORIZONS, horizon_features, log_index, lookback, standardise,
                                      trend_signal)
from tests.synthetic import random_returns
from tests.tolerances import TREND_ATOL

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


# --- Equality with the pandas reference -----------------------------------------------------
# The engine runs numba kernels (`macrostack.kernels.trend`) that port pandas' window
# algorithms. The reference below is the original pandas implementation of the definition in
# the module docstring (`macrostack.rolling`); the kernels must reproduce it up to
# floating-point noise, with the same NaN pattern. They port pandas 3 (its rolling variance
# recomputes a window after a catastrophic cancellation, where pandas 2 zeroed windows of
# repeated values), so the comparison needs pandas >= 3 (pyproject pins it).


def _ref_shift(x, k):
    out = np.full_like(x, np.nan)
    if k < len(x):              # (the original `trend._shift` raised for panels shorter than k)
        out[k:] = x[: len(x) - k] if k else x
    return out


def _ref_horizon_features(x, daily, h, skip):
    sigma = rolling.rolling_std(daily, h)
    with np.errstate(invalid="ignore", divide="ignore"):
        momentum = (_ref_shift(x, skip) - _ref_shift(x, h)) / (sigma * np.sqrt(h - skip))
        hi, lo = (pd.DataFrame(x).rolling(h).max().to_numpy(), pd.DataFrame(x).rolling(h).min().to_numpy())
        breakout = 2.0 * (x - lo) / (hi - lo) - 1.0
        fast = rolling.ewma(x, span=max(h / 4.0, 2.0))
        slow = rolling.ewma(x, span=float(h))
        slope = (fast - slow) / (sigma * np.sqrt(h))
    ready = ~np.isnan(_ref_shift(x, h))
    return {name: np.where(ready & np.isfinite(f), f, np.nan)
            for name, f in (("momentum", momentum), ("breakout", breakout), ("slope", slope))}


def _ref_standardise(feature, p):
    rms = np.sqrt(pd.DataFrame(feature * feature).rolling(p.z_window, min_periods=p.z_min_periods).mean().to_numpy())
    with np.errstate(invalid="ignore", divide="ignore"):
        z = feature / rms
    return np.clip(np.where(np.isfinite(z), z, np.nan), -p.z_clip, p.z_clip)


def _ref_trend_signal(returns, p):
    x = log_index(returns)
    daily = np.where(np.isnan(returns) & ~np.isnan(x), 0.0, returns)
    hw = {k: v for k, v in p.horizons.items() if v > 0}
    fw = {k: v for k, v in p.feature_weights.items() if v > 0}
    h_total, f_total = sum(hw.values()), sum(fw.values())
    signal = np.zeros_like(returns)
    for name, h_weight in hw.items():
        h, skip = HORIZONS[name]
        feats = _ref_horizon_features(x, daily, h, skip)
        part = sum((f_weight / f_total) * _ref_standardise(feats[f], p) for f, f_weight in fw.items())
        signal += (h_weight / h_total) * part
    if p.cross_sectional:
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mu = np.nanmean(signal, axis=1, keepdims=True)
            sd = np.nanstd(signal, axis=1, keepdims=True)
            signal = np.clip((signal - mu) / np.where(sd > 0, sd, np.nan), -p.z_clip, p.z_clip)
    return signal


def _assert_same(actual, expected, atol=TREND_ATOL):
    assert actual.shape == expected.shape
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    ok = ~np.isnan(expected)
    if ok.any():
        assert np.max(np.abs(actual[ok] - expected[ok])) <= atol


def _awkward_returns(seed: int, t: int, n: int) -> np.ndarray:
    """Returns with what real panels have: late starts, missing sessions inside the history
    (counted as 0), runs of zero returns (constant windows: pandas' recompute of a cancelled
    variance, its repeated-value mean), jumps, and returns below −99% (the log index floors
    them)."""
    rng = np.random.default_rng(seed)
    r = rng.standard_normal((t, n)) * rng.uniform(0.002, 0.03, n) + rng.normal(0, 0.001, n)
    for j in range(n):
        start = int(rng.integers(0, t // 2 + 1)) if rng.random() < 0.7 else 0
        r[:start, j] = np.nan
        for _ in range(int(rng.integers(0, 4))):           # missing runs inside the history
            a = int(rng.integers(start, t))
            r[a:a + int(rng.integers(1, 30)), j] = np.nan
        for _ in range(int(rng.integers(0, 4))):           # flat runs (stale prices)
            a = int(rng.integers(start, t))
            r[a:a + int(rng.integers(5, 300)), j] = 0.0
        for _ in range(int(rng.integers(0, 3))):           # jumps, some below −100%
            r[int(rng.integers(start, t)), j] = rng.choice([-1.5, -0.995, -0.4, 0.5, 3.0])
    return r


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 700), st.integers(1, 12))
def test_trend_signal_matches_pandas_reference(seed, t, n):
    r = _awkward_returns(seed, t, n)
    _assert_same(trend_signal(r, P), _ref_trend_signal(r, P))


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**32 - 1),
       st.dictionaries(st.sampled_from(["long", "medium", "short"]), st.sampled_from([0.0, 0.2, 1.0]),
                       min_size=3, max_size=3).filter(lambda w: sum(w.values()) > 0),
       st.dictionaries(st.sampled_from(["momentum", "breakout", "slope"]), st.sampled_from([0.0, 0.3, 1.0]),
                       min_size=3, max_size=3).filter(lambda w: sum(w.values()) > 0),
       st.sampled_from([(252, 126), (60, 20), (20, 20)]), st.booleans())
def test_trend_signal_matches_pandas_reference_for_any_params(seed, horizons, features, z, cross):
    p = TrendParams(horizons=horizons, feature_weights=features, z_window=z[0], z_min_periods=z[1],
                    z_clip=2.5, cross_sectional=cross)
    r = _awkward_returns(seed, 500, 7)
    _assert_same(trend_signal(r, p), _ref_trend_signal(r, p))


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(list(HORIZONS.values())))
def test_features_and_standardise_match_pandas_reference(seed, horizon):
    """The public building blocks, on inputs the signal never produces: a log index with
    NaN and ±inf inside the history (pandas' window functions read inf as missing)."""
    h, skip = horizon
    rng = np.random.default_rng(seed)
    r = _awkward_returns(seed, 600, 5)
    x = log_index(r)
    daily = np.where(np.isnan(r) & ~np.isnan(x), 0.0, r)
    holes = rng.random(x.shape) < 0.01
    x[holes] = rng.choice([np.nan, np.inf, -np.inf], holes.sum())
    daily[rng.random(x.shape) < 0.01] = np.inf
    ours, ref = horizon_features(x, daily, h, skip), _ref_horizon_features(x, daily, h, skip)
    for name in ref:
        _assert_same(ours[name], ref[name])
        f = ref[name].copy()
        f[rng.random(f.shape) < 0.01] = np.inf
        _assert_same(standardise(f, P), _ref_standardise(f, P))


def test_real_data_matches_pandas_reference(tf_store):
    """The full default dataset (every session, every instrument)."""
    from macrostack.data.market import load_market_data
    r = load_market_data(tf_store).returns
    assert r.shape[1] >= 80 and r.shape[0] > 10_000
    for p in (P, TrendParams(cross_sectional=True)):
        expected = _ref_trend_signal(r, p)
        assert np.isfinite(expected).mean() > 0.5
        _assert_same(trend_signal(r, p), expected)
