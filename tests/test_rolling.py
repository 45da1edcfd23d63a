"""rolling.cumsum_sessions: numpy's axis-0 cumulative sum, bit for bit, on every panel dtype used;
rolling.ewma_vol: pandas' ewm, bit for bit; rolling.last_bar and sleeves.tradable."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import pandas as pd
import pytest

from macrostack.data.market import load_market_data
from macrostack.layers.sleeves import tradable
from macrostack.rolling import cumsum_sessions, ewma_vol, last_bar


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(0, 60), st.integers(1, 7)),
              elements=st.floats(-1e6, 1e6) | st.just(np.nan)))
def test_cumsum_sessions_equals_numpy_bit_for_bit(x):
    # Bit-exact on any CPU: an accumulate is sequential by definition (out[t] = out[t−1] + x[t],
    # no pairwise or SIMD reordering is possible), so both sides do the same additions in order.
    np.testing.assert_array_equal(cumsum_sessions(x), np.cumsum(x, axis=0))


@settings(max_examples=30, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 60), st.integers(1, 7)),
              elements=st.floats(-1e6, 1e6) | st.just(np.nan)))
def test_cumsum_sessions_in_place_equals_numpy_bit_for_bit(x):
    expected = np.cumsum(x, axis=0)
    assert cumsum_sessions(x, out=x) is x
    np.testing.assert_array_equal(x, expected)


def test_cumsum_sessions_counts_bool_and_int_panels_exactly():
    rng = np.random.default_rng(0)
    flags = rng.random((500, 9)) < 0.3
    np.testing.assert_array_equal(cumsum_sessions(flags), np.cumsum(flags, axis=0))
    ints = rng.integers(-3, 4, (500, 9)).astype(np.int32)
    out = cumsum_sessions(ints)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, np.cumsum(ints, axis=0))


def _pandas_ewma_vol(r: np.ndarray, halflife: float, min_periods: int) -> np.ndarray:
    """The former implementation of `ewma_vol`, the reference."""
    var = pd.DataFrame(r * r).ewm(halflife=halflife, min_periods=min_periods, ignore_na=True).mean()
    return np.sqrt(252.0 * var.to_numpy())


# Runs of equal values exercise pandas' "mean kept when it equals the value" branch.
_RETURNS = st.sampled_from([0.0, 0.01, -0.02, 1e-300]) | st.floats(-0.5, 0.5) | st.just(np.nan)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(0, 80), st.integers(1, 20)), elements=_RETURNS),
       st.sampled_from([1.0, 2.5, 10.0, 63.0]), st.integers(0, 25), st.data())
def test_ewma_vol_equals_pandas_bit_for_bit(r, halflife, min_periods, data):
    expected = _pandas_ewma_vol(r, halflife, min_periods)
    np.testing.assert_array_equal(ewma_vol(r, halflife, min_periods), expected)
    rows = np.flatnonzero(data.draw(arrays(np.bool_, len(r))))
    np.testing.assert_array_equal(ewma_vol(r, halflife, min_periods, rows=rows), expected[rows])


def test_ewma_vol_equals_pandas_bit_for_bit_on_the_default_dataset(tf_store):
    r = load_market_data(tf_store, fields=("ret",)).returns
    for halflife in (63, 25):
        expected = _pandas_ewma_vol(r, halflife, 20)
        assert np.isfinite(expected).sum() > 900_000
        np.testing.assert_array_equal(ewma_vol(r, halflife), expected)


def test_ewma_vol_refuses_rows_out_of_order():
    with pytest.raises(ValueError, match="ascending"):
        ewma_vol(np.ones((10, 2)), 5.0, rows=np.array([3, 1]))


def _tradable_by_counts(r: np.ndarray, stale_after: int) -> np.ndarray:
    """The former `sleeves.tradable`: bars counted over the last `stale_after` sessions."""
    c = np.cumsum(~np.isnan(r), axis=0)
    recent = c.copy()
    recent[stale_after:] = c[stale_after:] - c[:-stale_after]
    return recent > 0


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(0, 60), st.integers(1, 6)), elements=st.just(0.01) | st.just(np.nan)),
       st.integers(1, 12), st.data())
def test_tradable_and_last_bar_agree_with_counting_bars(r, stale_after, data):
    expected = _tradable_by_counts(r, stale_after)
    np.testing.assert_array_equal(tradable(r, stale_after), expected)
    rows = np.flatnonzero(data.draw(arrays(np.bool_, len(r))))
    np.testing.assert_array_equal(tradable(r, stale_after, rows), expected[rows])
    seen = np.where(~np.isnan(r), np.arange(len(r))[:, None], -1)
    np.testing.assert_array_equal(last_bar(r, rows), np.maximum.accumulate(seen, axis=0)[rows] if len(r) else seen)
