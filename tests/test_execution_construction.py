"""Execution (Layer 7) and construction (Layer 3) on hand-computed cases."""

import numpy as np
import pytest

from macrostack.config import ExecutionConfig
from macrostack.config import ConstructionConfig
from macrostack.layers.construction import mixing_panel, mixing_weights
from macrostack.layers.execution import Execution


def test_no_constraint_means_exactly_the_allocator_weights():
    ex = Execution(ExecutionConfig())
    w = np.array([0.3, -2.0, 5.0])
    assert np.array_equal(ex.apply(0, w, np.zeros(3)), w) and len(ex.events) == 0


def test_instrument_cap_then_gross_cap_by_hand():
    ex = Execution(ExecutionConfig(instrument_cap=1.0, gross_cap=2.0))
    out = ex.apply(4, np.array([1.5, -0.5, 0.25]), np.zeros(3))
    # cap: [1, −0.5, 0.25] (G 1.75 <= 2 → no gross event)
    np.testing.assert_array_equal(out, [1.0, -0.5, 0.25])
    assert ex.events.reason == ["instrument_cap"] and ex.events.before == [1.5] and ex.events.rebalance == [4]
    out = ex.apply(5, np.array([1.0, -1.0, 1.0]), np.zeros(3))  # G 3 → × 2/3
    np.testing.assert_allclose(out, [2 / 3, -2 / 3, 2 / 3])
    assert ex.events.reason[1:] == ["gross_cap"] * 3


def test_no_trade_buffer_keeps_small_changes_and_records_them():
    ex = Execution(ExecutionConfig(no_trade_buffer=0.05))
    out = ex.apply(1, np.array([0.52, 0.30, -0.01]), np.array([0.50, 0.10, 0.0]))
    np.testing.assert_array_equal(out, [0.50, 0.30, 0.0])
    assert ex.events.reason == ["no_trade_buffer", "no_trade_buffer"]
    assert ex.events.instrument == [0, 2] and ex.events.after == [0.5, 0.0]


def test_static_mix_normalises_and_drops_zero_weights():
    assert mixing_weights({"a": 2.0, "b": 2.0, "c": 0.0}) == {"a": 0.5, "b": 0.5}
    a, b = np.array([[1.0, 0.0]]), np.array([[0.0, 4.0]])
    omega = mixing_panel(ConstructionConfig(), {"a": 3.0, "b": 1.0}, {"a": a, "b": b}, np.zeros((5, 2)), np.array([4]))
    np.testing.assert_array_equal(omega["a"][:, None] * a + omega["b"][:, None] * b, [[0.75, 1.0]])
    single = mixing_panel(ConstructionConfig(), {"a": 5.0}, {"a": a}, np.zeros((5, 2)), np.array([4]))
    assert single["a"][0] == pytest.approx(1.0)


def test_contract_rounding_by_hand():
    ex = Execution(ExecutionConfig(capital=1_000_000))
    notional = np.array([250_000.0, 100_000.0, np.nan])   # USD per contract; no price yet for the third
    out = ex.apply(0, np.array([0.6, -0.26, 0.3]), np.zeros(3), notional, nav=1_000_000.0)
    # 0.6 × 1e6 / 2.5e5 = 2.4 → 2 contracts → 0.5; −0.26 × 1e6 / 1e5 = −2.6 → −3 → −0.3; no price → 0
    np.testing.assert_allclose(out, [0.5, -0.3, 0.0])
    assert ex.events.reason == ["contract_rounding"] * 3


def test_contract_rounding_is_half_to_even_and_gross_cap_sums_in_index_order():
    """The compiled rule rounds like numpy (2.5 → 2, 3.5 → 4, −2.5 → −2) and scales by cap / G."""
    ex = Execution(ExecutionConfig(capital=1_000_000))
    out = ex.apply(0, np.array([0.25, 0.35, -0.25]), np.zeros(3), np.full(3, 100_000.0), nav=1_000_000.0)
    np.testing.assert_allclose(out, [0.2, 0.4, -0.2])
    ex = Execution(ExecutionConfig(gross_cap=1.0))
    w = np.array([0.1, -0.7, 0.3, 0.2])
    gross = ((0.1 + 0.7) + 0.3) + 0.2
    np.testing.assert_array_equal(ex.apply(0, w, np.zeros(4)), w * (1.0 / gross))


def test_execution_boundaries_and_step_order_by_hand():
    """A change of exactly the buffer trades (strict <); a gross exactly at the cap is not scaled
    (strict >); the buffer compares the gross-capped weights with the previous executed ones."""
    ex = Execution(ExecutionConfig(no_trade_buffer=0.25))
    np.testing.assert_array_equal(ex.apply(0, np.array([0.75, 0.2]), np.array([0.5, 0.0])), [0.75, 0.0])
    assert ex.events.instrument == [1]                       # |0.75 − 0.5| = 0.25 is not < 0.25
    ex = Execution(ExecutionConfig(gross_cap=1.0))
    np.testing.assert_array_equal(ex.apply(0, np.array([0.5, -0.5]), np.zeros(2)), [0.5, -0.5])
    assert len(ex.events) == 0
    ex = Execution(ExecutionConfig(gross_cap=1.0, no_trade_buffer=0.1))
    out = ex.apply(3, np.array([1.0, -1.0]), np.array([0.45, -0.7]))  # capped to [0.5, −0.5]
    np.testing.assert_array_equal(out, [0.45, -0.5])         # 0.5 vs 0.45 < 0.1: kept; −0.5 vs −0.7 trades
    assert ex.events.reason == ["gross_cap", "gross_cap", "no_trade_buffer"]
    assert ex.events.before == [1.0, -1.0, 0.5] and ex.events.after == [0.5, -0.5, 0.45]


def test_execution_refuses_mismatched_shapes_and_ignores_nan_left_nan():
    ex = Execution(ExecutionConfig(no_trade_buffer=0.05))
    with pytest.raises(ValueError, match="one length"):
        ex.apply(0, np.full(5, 0.3), np.zeros(2))
    ex = Execution(ExecutionConfig(capital=1e6))
    with pytest.raises(ValueError, match="notional"):
        ex.apply(0, np.full(6, 0.3), np.zeros(6), np.full(2, 1e5), 1e6)
    ex = Execution(ExecutionConfig(instrument_cap=1.0, gross_cap=2.0))
    ex.apply(0, np.array([np.nan, 0.5, 3.0]), np.zeros(3))
    assert ex.events.reason == ["instrument_cap"] and ex.events.instrument == [2]
