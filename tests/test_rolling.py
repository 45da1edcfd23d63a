"""rolling.cumsum_sessions: numpy's axis-0 cumulative sum, bit for bit, on every panel dtype used."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from macrostack.rolling import cumsum_sessions


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
