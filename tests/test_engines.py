"""Engines ewmac, csmom, carry and vol carry: hand checks on real data, properties.

Real data: the default dataset (`tf_store`) for ewmac/csmom, and a subset of the shared
pysystemtrade sample (CRUDE_W, SP500, VIX, V2X; ingested once per module into a temporary
store) for carry. Expected carry inputs are read from the raw CSV rows with the `csv` module,
so they share no code with the loader.
"""

from __future__ import annotations

import csv
import math
import shutil
from datetime import date, timedelta
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from macrostack import rolling
from macrostack.data.market import load_market_data
from macrostack.engines import carry, csmom, ewmac
from macrostack.engines.trend import log_index
from tests.conftest import PYSYSTEMTRADE
from tests.synthetic import random_returns
from tests.tolerances import EWMAC_ATOL, EWMAC_RTOL

needs_pst = pytest.mark.skipif(not (PYSYSTEMTRADE / "multiple_prices_csv").is_dir(),
                               reason="shared pysystemtrade data not found")
PST_SYMBOLS = ["CRUDE_W", "SP500", "VIX", "V2X"]
CONTRACT_COLUMNS = ["price", "price_contract", "carry", "carry_contract", "forward", "forward_contract", "ret"]


def _index(dates) -> dict[str, int]:
    return {str(d): i for i, d in enumerate(dates)}


def _staggered_panel(seed: int, t: int, n: int) -> np.ndarray:
    """Random returns with staggered starts, holes and one market that stops early."""
    rng = np.random.default_rng(seed)
    r = rng.standard_t(4, (t, n)) * 0.01 + rng.normal(0, 0.0005, n)
    for j in range(n):
        r[: int(rng.integers(0, 60)), j] = np.nan
    r[rng.random((t, n)) < 0.03] = np.nan
    r[int(t * 0.8):, n - 1] = np.nan
    return r


# =========================================================================== ewmac


def _libm_log1p(x: np.ndarray) -> np.ndarray:
    """log1p from the C library (what `math.log1p` and numba's `np.log1p` call), elementwise."""
    return np.vectorize(math.log1p, otypes=[float])(x)


def _ewmac_raw_reference(r: np.ndarray, fast: int, slow: int, vol_span: int = 25, log1p=np.log1p) -> np.ndarray:
    """The raw crossover in pandas (module docstring of ewmac): EMAs of the log index from each
    instrument's first return, σ² the EWMA of squared daily log returns over sessions with one."""
    ok = ~np.isnan(r)
    dx = log1p(np.maximum(np.where(ok, r, 0.0), -0.99))
    x = np.cumsum(dx, axis=0)
    x[~np.maximum.accumulate(ok, axis=0)] = np.nan
    ema = {span: rolling.ewma(x, span=float(span)) for span in (fast, slow)}
    with np.errstate(divide="ignore"):
        inv_sigma = 1.0 / np.sqrt(rolling.ewma(np.where(ok, dx * dx, np.nan), span=float(vol_span)))
    inv_sigma[~np.isfinite(inv_sigma)] = np.nan
    raw = (ema[fast] - ema[slow]) * inv_sigma
    first = np.where(ok.any(axis=0), ok.argmax(axis=0), len(r))
    for j, a in enumerate(first):
        raw[: a + slow - 1, j] = np.nan
    return raw


def _ewmac_test_panel() -> np.ndarray:
    r = _staggered_panel(11, 900, 9)
    r[300:320, 2] = 0.0                # a flat stretch: zero vol
    r[:, 4] = np.nan                   # never trades
    r[500, 5] = -1.4                   # below −99%: counts as −99%
    return r


def _assert_ewmac_close(raw: np.ndarray, reference: np.ndarray) -> None:
    """Same NaN pattern; values within the EWMAC tolerances (tests/tolerances.py)."""
    np.testing.assert_array_equal(np.isnan(raw), np.isnan(reference))
    np.testing.assert_allclose(raw, reference, rtol=EWMAC_RTOL, atol=EWMAC_ATOL, equal_nan=True)


def test_ewmac_kernel_equals_libm_reference_bit_for_bit():
    """With the reference's log1p taken from the C library, as the numba kernel's is, both sides
    run the same IEEE operations in the same order (pandas' EWM recursion, a sequential
    cumsum): equal to the last bit on any CPU. This pins the only source of the CPU-dependent
    difference in the tests below: numpy's own log1p."""
    r = _ewmac_test_panel()
    for (fast, slow), raw in zip(ewmac.SPEEDS, ewmac.raw_forecasts(r)):
        np.testing.assert_array_equal(raw, _ewmac_raw_reference(r, fast, slow, log1p=_libm_log1p))


def test_numpy_log1p_is_within_one_ulp_of_libm():
    """Root cause of the EWMAC tolerance: on CPUs with AVX-512 numpy dispatches its own SIMD
    log1p (and exp, log), which differs from the C library's `log1p` by 1 ulp on a few % of
    inputs (measured on an Intel Xeon with AVX-512: 352 of 7,495 returns of this panel, 4.7%;
    3.9% of the real dataset's returns; none with NPY_DISABLE_CPU_FEATURES=X86_V4 or on CPUs
    without AVX-512). Never more than 1 ulp: that bound is what EWMAC_RTOL/ATOL rely on."""
    x = np.maximum(_ewmac_test_panel().ravel(), -0.99)
    x = x[np.isfinite(x)]
    ulps = np.abs(np.log1p(x).view(np.int64) - _libm_log1p(x).view(np.int64))
    assert ulps.max() <= 1


def test_ewmac_kernel_equals_pandas_reference():
    """Kernel vs the numpy/pandas reference: within EWMAC_RTOL/ATOL, not bit for bit, because
    numpy's log1p is CPU-dependent (test above); on an AVX-512 Xeon 1,815 of the 6,765 values of
    the fastest speed differ, max abs 2.4e-14 over the four speeds."""
    r = _ewmac_test_panel()
    for (fast, slow), raw in zip(ewmac.SPEEDS, ewmac.raw_forecasts(r)):
        _assert_ewmac_close(raw, _ewmac_raw_reference(r, fast, slow))


def test_ewmac_kernel_equals_pandas_on_real_data(tf_store):
    """The whole real dataset: within EWMAC_RTOL/ATOL (on an AVX-512 Xeon ~42% of the values
    differ in the last bits, max abs 1.0e-12 and max rel 7.7e-9 for speed 16/64)."""
    md = load_market_data(tf_store)
    raws = ewmac.raw_forecasts(md.returns, speeds=[(16, 64), (64, 256)])
    for (fast, slow), raw in zip([(16, 64), (64, 256)], raws):
        _assert_ewmac_close(raw, _ewmac_raw_reference(md.returns, fast, slow))


def test_ewmac_sign_bounds_and_readiness_on_synthetic_trends():
    rng = np.random.default_rng(1)
    r = rng.normal(0, 0.01, (1500, 6)) + np.array([0.002, -0.002, 0.0, 0.0, 0.0, 0.0])
    s = ewmac.signal(r)
    assert np.isnan(s[: 256 + 252]).all()                       # slowest EMA, then the scalars
    assert np.isfinite(s[ewmac.lookback():]).all()
    assert (s[-300:, 0] > 5).all() and (s[-300:, 1] < -5).all()
    assert np.nanmax(np.abs(s)) <= 20.0


def test_ewmac_forecasts_average_abs_10():
    """Each speed and the combination are scaled to an average |forecast| of 10 (before caps)."""
    r = random_returns(7, t=3000, n=20, drift=0.0003)
    raws = ewmac.raw_forecasts(r)
    for raw in raws:
        scaled = ewmac.scale_forecast(raw, cap=1e9)
        assert 9.0 < np.nanmean(np.abs(scaled[-1000:])) < 11.0
    s = ewmac.signal(r)
    assert 8.0 < np.nanmean(np.abs(s[-1000:])) < 10.5              # capped at 20 after scaling


def test_ewmac_scalar_is_pooled_trailing_mean():
    f = np.array([[1.0, -3.0], [np.nan, 2.0], [4.0, np.nan], [-2.0, -2.0]])
    np.testing.assert_allclose(ewmac.pooled_abs_mean(f, window=2, min_periods=2),
                               [np.nan, 6 / 3, 6 / 2, 8 / 3])


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 300), st.floats(0.0, 0.9))
def test_ewmac_abs_row_sums_are_numpys_masked_sums_to_the_bit(seed, n, missing):
    """The compiled row sums of |f| (runs of values, each summed pairwise) are numpy's
    `np.sum(|f|, axis=1, where=~isnan)` exactly, at any width (pairwise blocks of 8, the 128 split)."""
    from macrostack.kernels import kernel

    rng = np.random.default_rng(seed)
    f = rng.standard_normal((40, n)) * 10.0 ** rng.uniform(-4, 4, (40, n))
    f[rng.random((40, n)) < missing] = np.nan
    f[0] = np.nan                                                # a row without values
    row_sum, row_count = np.empty(40), np.empty(40)
    kernel("ewmac_abs_row_sums")(f, row_sum, row_count)
    ok = ~np.isnan(f)
    np.testing.assert_array_equal(row_sum, np.sum(np.abs(f), axis=1, where=ok))
    np.testing.assert_array_equal(row_count, ok.sum(axis=1))


def test_ewmac_in_place_scaling_and_rebalance_rows_give_the_same_bits(tf_store):
    """The signal scales the speeds in place, sums |f| per block of rows and may return the
    rebalance rows only: the same bits as scaling whole panels into new arrays."""
    def pooled_abs_mean(f):                                     # whole-panel row sums
        a = np.abs(f)
        ok = ~np.isnan(a)
        s, c = np.sum(a, axis=1, where=ok), np.count_nonzero(ok, axis=1).astype(float)
        k = (c > 0).astype(float)
        s, c, k = ((lambda x: np.concatenate([x[:2520], x[2520:] - x[:-2520]]))(np.cumsum(v)) for v in (s, c, k))
        return np.where((k >= 252) & (c > 0) & (s > 0), s / np.where(c > 0, c, 1), np.nan)

    def scaled(raw):
        return np.clip(raw * (10.0 / pooled_abs_mean(raw))[:, None], -20.0, 20.0)

    md = load_market_data(tf_store)
    returns = np.vstack([md.returns, md.returns[:3000]])       # > 2 blocks of rows past the scalar window
    expected = scaled(sum(scaled(raw) for raw in ewmac.raw_forecasts(returns)) / 4)
    np.testing.assert_array_equal(ewmac.signal(returns), expected)
    rows = md.rebalances("W-FRI")
    np.testing.assert_array_equal(ewmac.signal(returns, rows=rows), expected[rows])


def test_ewmac_real_data_known_trends(tf_store):
    """S&P 500 late in the steady 2017 rally: long; crude oil after its 2014 collapse: short."""
    md = load_market_data(tf_store, symbols=["CL", "ES", "GC", "TY"], start="2012-01-01", end="2018-01-31",
                          warmup=ewmac.lookback() + 250)
    s = ewmac.signal(md.returns)
    day = _index(md.dates)
    assert s[day["2017-12-29"], 1] > 10                            # ES strongly long
    assert s[day["2015-01-30"], 0] < -10                           # CL strongly short
    assert np.nanmax(np.abs(s)) <= 20


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.integers(360, 469))
def test_ewmac_no_look_ahead(seed, t):
    r = _staggered_panel(seed, 480, 4)
    kw = {"scalar_min_periods": 20}
    base = ewmac.signal(r, **kw)
    assert np.isfinite(base[t]).any()
    r2 = r.copy()
    r2[t + 1:] = np.random.default_rng(seed + 1).normal(0, 0.05, r2[t + 1:].shape)
    np.testing.assert_array_equal(ewmac.signal(r2, **kw)[: t + 1], base[: t + 1])


def test_ewmac_no_look_ahead_default_parameters():
    r = _staggered_panel(5, 1000, 5)
    base = ewmac.signal(r)
    r2 = r.copy()
    r2[901:] *= -3.0
    np.testing.assert_array_equal(ewmac.signal(r2)[:901], base[:901])


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.001, 0.2), st.floats(1.5, 10.0))
def test_ewmac_bounded_by_cap(seed, vol, df):
    rng = np.random.default_rng(seed)
    r = np.clip(rng.standard_t(df, (400, 3)) * vol, -0.95, None)
    s = ewmac.signal(r, scalar_min_periods=20, forecast_cap=20.0)
    assert np.nanmax(np.abs(s)) <= 20.0


def test_ewmac_lookback():
    assert ewmac.lookback() == 256 + 2 * 252
    assert ewmac.lookback(speeds=[(2, 8)], vol_span=25, scalar_min_periods=10) == 25 + 20


# =========================================================================== csmom


def _check_neutral(s: np.ndarray) -> None:
    ready = ~np.isnan(s)
    count = ready.sum(axis=1)
    assert (count != 1).all()                                      # fewer than 2 ready → none
    sums = np.nansum(s, axis=1)
    assert np.abs(sums[count >= 2]).max() < 1e-12


def test_csmom_sums_to_zero_every_session_on_real_data(tf_store):
    md = load_market_data(tf_store)
    s = csmom.signal(md.returns)
    _check_neutral(s)
    assert (~np.isnan(s)).sum(axis=1).max() >= 70                 # most of the universe ranked
    assert np.nanmax(np.abs(s)) <= 2.0


def test_csmom_at_rebalance_rows_equals_every_session_bit_for_bit(tf_store):
    """The simulator asks csmom for the rebalance sessions only; those rows must be the same
    numbers as the full panel's (the run would otherwise depend on the schedule)."""
    md = load_market_data(tf_store)
    full = csmom.signal(md.returns)
    for schedule in ("W-FRI", "M"):
        rows = md.rebalances(schedule)
        np.testing.assert_array_equal(csmom.signal(md.returns, rows=rows), full[rows])
    np.testing.assert_array_equal(csmom.signal(md.returns, rows=np.array([0, 5, 252, 253])), full[[0, 5, 252, 253]])


def test_log_index_and_csmom_take_column_major_panels():
    """Panels read from disk may be column-major; the in-place sums must see C order."""
    r = random_returns(3, t=600, n=12)
    r[:100, 3] = np.nan
    f = np.asfortranarray(r)
    np.testing.assert_array_equal(log_index(f), log_index(r))
    np.testing.assert_array_equal(csmom.signal(f), csmom.signal(r))


def test_csmom_real_data_named_dates(tf_store):
    """Crude oil at the end of January 2015 (−50% in six months) ranks at the bottom; the S&P
    500 at the end of 2017 (a steady, low-vol rally) ranks in the top half."""
    md = load_market_data(tf_store, start="2014-01-01", end="2018-01-31", warmup=300)
    s = csmom.signal(md.returns)
    day, cl, es = _index(md.dates), md.symbols.index("CL"), md.symbols.index("ES")
    row = s[day["2015-01-30"]]
    assert row[cl] < -0.4 and row[cl] <= np.nanquantile(row, 0.1)
    row = s[day["2017-12-29"]]
    assert row[es] > 0.3 and row[es] >= np.nanmedian(row)


def test_csmom_ranks_by_vol_adjusted_momentum():
    rng = np.random.default_rng(0)
    drift = np.array([0.002, 0.001, 0.0, -0.001, -0.002])
    r = rng.normal(0, 0.005, (600, 5)) + drift
    s = csmom.signal(r)
    assert np.isnan(s[:252]).all() and np.isfinite(s[253:]).all()
    last = s[-100:].mean(axis=0)
    assert (np.diff(last) < 0).all()                               # ordered like the drifts
    _check_neutral(s)


def test_csmom_hand_check_one_row():
    """Single lookback: z of the vol-adjusted returns, re-standardised, clipped, /3, demeaned."""
    rng = np.random.default_rng(2)
    r = rng.normal(0, 0.01, (30, 4))
    h = 20
    s = csmom.signal(r, lookbacks={h: 1.0})
    t = 29
    window = r[t - h + 1: t + 1]
    m = np.log1p(window).sum(axis=0) / (window.std(axis=0, ddof=1) * math.sqrt(h))
    z = (m - m.mean()) / m.std()
    z = (z - z.mean()) / z.std()
    expected = np.clip(z, -3, 3) / 3
    expected -= expected.mean()
    np.testing.assert_allclose(s[t], expected, atol=1e-12)


def test_csmom_excludes_stale_and_single_instrument_rows():
    rng = np.random.default_rng(4)
    r = rng.normal(0, 0.01, (400, 3))
    r[300:, 2] = np.nan                                            # stops trading
    r[:, 1] = np.nan                                               # never trades
    s = csmom.signal(r, stale_after=10)
    assert np.isfinite(s[300:309, 2]).all() and np.isnan(s[310:, 2]).all()
    assert np.isnan(s[:, 1]).all()
    assert np.isnan(s[310:]).all()                                 # only one market left: not ranked
    _check_neutral(s)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000), st.integers(260, 399), st.integers(2, 8))
def test_csmom_no_look_ahead_and_neutral(seed, t, n):
    r = _staggered_panel(seed, 420, n)
    base = csmom.signal(r)
    _check_neutral(base)
    r2 = r.copy()
    r2[t + 1:] = np.random.default_rng(seed + 1).normal(0, 0.05, r2[t + 1:].shape)
    again = csmom.signal(r2)
    np.testing.assert_array_equal(again[: t + 1], base[: t + 1])
    _check_neutral(again)


def test_csmom_lookback():
    assert csmom.lookback() == 253
    assert csmom.lookback({21: 1.0, 63: 0.0}) == 22


# =========================================================================== carry: helpers


def test_contract_months():
    ids = np.array([["20240600", None], ["19911200", ""], [np.nan, "20241300"], ["202403", " 20240300 "]],
                   dtype=object)
    out = carry.contract_months(ids)
    assert out.shape == (4, 2)
    np.testing.assert_array_equal(out, [[2024 * 12 + 6, np.nan], [1991 * 12 + 12, np.nan],
                                        [np.nan, np.nan], [2024 * 12 + 3, 2024 * 12 + 3]])


def test_roll_yield_sign_convention_both_carry_offsets():
    m = lambda y, mo: y * 12 + mo  # noqa: E731
    # Carry contract nearer (CarryOffset −1): held Dec, carry Nov.
    back_near = carry.roll_yield([[100.0]], [[102.0]], [[m(2020, 12)]], [[m(2020, 11)]])
    cont_near = carry.roll_yield([[100.0]], [[98.0]], [[m(2020, 12)]], [[m(2020, 11)]])
    # Carry contract further (CarryOffset +1): held Mar, carry Jun.
    back_far = carry.roll_yield([[100.0]], [[98.0]], [[m(2020, 3)]], [[m(2020, 6)]])
    cont_far = carry.roll_yield([[100.0]], [[102.0]], [[m(2020, 3)]], [[m(2020, 6)]])
    np.testing.assert_allclose([back_near[0, 0], cont_near[0, 0], back_far[0, 0], cont_far[0, 0]],
                               [0.24, -0.24, 0.08, -0.08])
    # Missing price, same month, or no carry contract → NaN.
    out = carry.roll_yield([[100.0, np.nan, 100.0]], [[101.0, 101.0, 101.0]],
                           [[m(2020, 3)] * 3], [[m(2020, 3), m(2020, 6), np.nan]])
    assert np.isnan(out).all()


def test_term_structure_uses_later_of_forward_then_carry():
    m = lambda mo: 2020 * 12 + mo  # noqa: E731
    price = np.array([[20.0, 20.0, 20.0, 20.0]])
    carry_p = np.array([[19.0, 22.0, 22.0, 19.0]])
    forward = np.array([[21.0, np.nan, 21.0, np.nan]])
    slope = carry.term_structure_slope(
        price, carry_p, forward,
        np.array([[m(2)] * 4]), np.array([[m(1), m(3), m(3), m(1)]]), np.array([[m(3), m(3), m(2), m(3)]]))
    # 1: forward later → (21−20)/20·12; 2: forward missing → carry (later); 3: forward not
    # later → carry; 4: forward missing and carry nearer → NaN.
    np.testing.assert_allclose(slope, [[0.6, 1.2, 1.2, np.nan]])


def test_carry_inert_without_contract_prices():
    nan = np.full((300, 3), np.nan)
    r = random_returns(1, t=300, n=3)
    assert np.isnan(carry.carry_signal(nan, nan, nan, nan, r)).all()
    assert np.isnan(carry.vol_carry_signal(nan, nan, nan, nan, nan, nan, r, np.array([True, True, False]))).all()


def _random_contract_panel(seed: int, t: int = 300, n: int = 3):
    rng = np.random.default_rng(seed)
    r = rng.normal(0, 0.02, (t, n))
    price = 50 * np.exp(np.cumsum(r, axis=0))
    held = np.repeat((2000 * 12 + np.arange(t) // 60)[:, None], n, axis=1).astype(float)
    offset = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    carry_m = held + offset
    carry_p = price * (1 + rng.normal(0, 0.02, (t, n)))
    fwd_m = held + 1
    fwd_p = price * (1 + rng.normal(0.01, 0.02, (t, n)))
    for a in (carry_p, fwd_p, price):
        a[rng.random((t, n)) < 0.1] = np.nan
    return SimpleNamespace(r=r, price=price, held=held, carry_p=carry_p, carry_m=carry_m, fwd_p=fwd_p, fwd_m=fwd_m)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.integers(100, 290))
def test_carry_and_vol_carry_no_look_ahead(seed, t):
    p = _random_contract_panel(seed)
    q = _random_contract_panel(seed + 1)
    is_vol = np.array([True, False, True])

    def both(a):
        return (carry.carry_signal(a.price, a.carry_p, a.held, a.carry_m, a.r),
                carry.vol_carry_signal(a.price, a.carry_p, a.fwd_p, a.held, a.carry_m, a.fwd_m, a.r, is_vol))

    base = both(p)
    changed = SimpleNamespace(**{k: np.concatenate([getattr(p, k)[: t + 1], getattr(q, k)[t + 1:]])
                                 for k in vars(p)})
    for b, c in zip(base, both(changed)):
        assert np.isfinite(b[t]).any()
        np.testing.assert_array_equal(c[: t + 1], b[: t + 1])
    assert np.isnan(base[1][:, 1]).all()                           # not a vol future
    assert np.nanmax(np.abs(base[0])) <= 3 and np.nanmax(np.abs(base[1])) <= 3


def test_carry_smoothing_needs_20_values():
    t = 120
    price = np.full((t, 1), 100.0)
    carry_p = np.full((t, 1), 101.0)
    held = np.full((t, 1), 2020 * 12 + 12.0)
    carry_m = held - 1
    carry_p[::2] = np.nan                                          # every other session missing
    r = np.random.default_rng(0).normal(0, 0.01, (t, 1))
    s = carry.carry_signal(price, carry_p, held, carry_m, r, smooth=90)
    first = int(np.argmax(np.isfinite(s[:, 0])))
    assert first == 39                                             # the 20th valid value (rows 1, 3, …, 39)
    assert (s[first:, 0] > 0).all()


def test_lookbacks():
    assert carry.lookback(90) == 90 + 63
    assert carry.vol_carry_lookback(10) == 10 + 63
    assert carry.min_valid(90) == 20 and carry.min_valid(10) == 5


# =========================================================================== carry: real data


@pytest.fixture(scope="module")
def pst(tmp_path_factory):
    """CRUDE_W, SP500, VIX, V2X of the shared pysystemtrade sample as aligned panels."""
    if not (PYSYSTEMTRADE / "multiple_prices_csv").is_dir():
        pytest.skip("shared pysystemtrade data not found")
    from macrostack.data.ingest import ingest
    from macrostack.data.store import MarketStore

    root = tmp_path_factory.mktemp("pst_subset")
    for sub in ("adjusted_prices_csv", "multiple_prices_csv"):
        (root / sub).mkdir()
        for code in PST_SYMBOLS:
            shutil.copy(PYSYSTEMTRADE / sub / f"{code}.csv", root / sub / f"{code}.csv")
    for sub in ("csvconfig", "fx_prices_csv"):
        shutil.copytree(PYSYSTEMTRADE / sub, root / sub)
    path = root / "market.duckdb"
    with MarketStore(path) as store:
        ingest(store, "pysystemtrade", root)
        md = load_market_data(store, "pysystemtrade", symbols=PST_SYMBOLS,
                              fields=("ret", "price_contract", "carry_contract", "forward_contract"))
        bars = store.bars("pysystemtrade", symbols=PST_SYMBOLS, columns=CONTRACT_COLUMNS)
    bars["date"] = pd.to_datetime(bars["date"]).to_numpy().astype("datetime64[D]")
    panels = {}
    for col in CONTRACT_COLUMNS:
        values = bars[col].to_numpy()
        if col.endswith("_contract"):
            values = carry.contract_months(values)
        wide = (bars.assign(v=values.astype(float)).pivot(index="date", columns="symbol", values="v")
                .reindex(index=md.dates, columns=PST_SYMBOLS))
        panels[col] = wide.to_numpy(dtype=float)
    return SimpleNamespace(dates=md.dates, symbols=PST_SYMBOLS, p=panels, md=md)


def _signals(pst):
    p = pst.p
    c = carry.carry_signal(p["price"], p["carry"], p["price_contract"], p["carry_contract"], p["ret"])
    is_vol = np.array([s in ("VIX", "V2X") for s in pst.symbols])
    v = carry.vol_carry_signal(p["price"], p["carry"], p["forward"], p["price_contract"], p["carry_contract"],
                               p["forward_contract"], p["ret"], is_vol)
    return c, v


def test_pivoted_panels_match_the_loader(pst):
    """Our contract_months gives the same months as MarketData's loader, and returns agree."""
    for col in ("price_contract", "carry_contract", "forward_contract"):
        np.testing.assert_array_equal(pst.p[col], pst.md.panels[col])
    np.testing.assert_array_equal(pst.p["ret"], pst.md.returns)


def _session_row(code: str, day: str) -> dict:
    """Last raw row of session `day` with a PRICE (weekend rows belong to the next Monday)."""
    d = date.fromisoformat(day)
    days = {day}
    if d.weekday() == 0:
        days |= {str(d - timedelta(days=1)), str(d - timedelta(days=2))}
    found = None
    with open(PYSYSTEMTRADE / "multiple_prices_csv" / f"{code}.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["DATETIME"][:10] in days and row["PRICE"].strip():
                found = row
    assert found is not None
    return found


def _months(contract_id: str) -> int:
    return int(contract_id[:4]) * 12 + int(contract_id[4:6])


@needs_pst
@pytest.mark.parametrize("code, day, expected", [
    ("CRUDE_W", "2008-02-15", +0.0270),   # carry contract nearer (Nov vs Dec), backwardation
    ("CRUDE_W", "2020-04-27", -0.6039),   # carry nearer, steep contango
    ("SP500", "2008-02-15", -0.0074),     # carry contract further (Jun vs Mar), contango
    ("SP500", "2009-02-13", +0.0146),     # carry further, backwardation (dividends > rates)
])
def test_hand_checked_roll_yield_from_raw_csv(pst, code, day, expected):
    row = _session_row(code, day)
    p_h, p_c = float(row["PRICE"]), float(row["CARRY"])
    m_h, m_c = _months(row["PRICE_CONTRACT"]), _months(row["CARRY_CONTRACT"])
    by_hand = (p_c - p_h) / p_h / ((m_h - m_c) / 12)
    assert by_hand == pytest.approx(expected, abs=5e-5)
    i, j = _index(pst.dates)[day], pst.symbols.index(code)
    p = pst.p
    roll = carry.roll_yield(p["price"], p["carry"], p["price_contract"], p["carry_contract"])
    assert roll[i, j] == pytest.approx(by_hand, rel=1e-12)


@needs_pst
def test_hand_checked_carry_signal_crude_2020_04_27(pst):
    """Smoothing (90 sessions, NaN-aware) and vol normalisation recomputed by hand."""
    p = pst.p
    i, j = _index(pst.dates)["2020-04-27"], pst.symbols.index("CRUDE_W")
    roll = carry.roll_yield(p["price"], p["carry"], p["price_contract"], p["carry_contract"])[:, j]
    window = roll[i - 89: i + 1]
    smooth = np.mean(window[~np.isnan(window)])
    assert (~np.isnan(window)).sum() >= 20
    r = p["ret"][: i + 1, j]
    r = r[~np.isnan(r)]
    alpha = 1 - math.exp(-math.log(2) / 63)
    w = (1 - alpha) ** np.arange(len(r))[::-1]
    vol = math.sqrt(252 * np.sum(w * r * r) / np.sum(w))
    expected = float(np.clip(smooth / max(vol, 0.05), -3, 3))
    c, _ = _signals(pst)
    assert c[i, j] == pytest.approx(expected, rel=1e-9)
    assert expected < -0.1                                          # contango since March: negative


@needs_pst
def test_crude_carry_negative_in_april_2020_contango(pst):
    c, _ = _signals(pst)
    p = pst.p
    j = pst.symbols.index("CRUDE_W")
    roll = carry.roll_yield(p["price"], p["carry"], p["price_contract"], p["carry_contract"])[:, j]
    april = (pst.dates >= np.datetime64("2020-04-14")) & (pst.dates <= np.datetime64("2020-04-30"))
    roll = roll[april][~np.isnan(roll[april])]
    assert len(roll) >= 6 and (roll < -0.15).all() and roll.mean() < -0.3   # > 15%/yr roll-down daily
    day = _index(pst.dates)
    assert c[day["2020-04-30"], j] < -0.1
    assert c[day["2020-05-29"], j] < c[day["2020-04-30"], j]        # the smoothing catches up
    assert c[day["2008-02-15"], j] > 0                              # and it was positive in 2008


@needs_pst
def test_vix_vol_carry_short_most_of_2012_2019(pst):
    _, v = _signals(pst)
    span = (pst.dates >= np.datetime64("2012-01-01")) & (pst.dates <= np.datetime64("2019-12-31"))
    for code, share in (("VIX", 0.8), ("V2X", 0.6)):
        x = v[span, pst.symbols.index(code)]
        x = x[~np.isnan(x)]
        assert len(x) > 1000
        assert np.mean(x < 0) > share, code
    # February 2018 (Volmageddon) and March 2020: inverted curves → long vol signal.
    day, j = _index(pst.dates), pst.symbols.index("VIX")
    assert v[day["2020-03-20"], j] > 0
    assert np.isnan(v[:, pst.symbols.index("CRUDE_W")]).all()      # not a vol future
    assert np.nanmax(np.abs(v)) <= 3
