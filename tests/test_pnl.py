"""The P&L contract (SYSTEM.md §0) on hand-computed cases, and its defects."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from macrostack.pnl import booked_returns, held_panel, hold, period_bounds, period_pnl


def test_weights_decided_at_t_earn_the_next_return_not_the_same_session():
    """Defect 2: weights decided at close t must not earn the return ending at close t."""
    r = np.array([[0.10], [0.20], [0.30], [0.40]])
    out = held_panel(np.array([[1.0]]), np.array([1]), r, np.zeros_like(r), lag=1, holding="constant")
    # decided at session 1 → held from session 2: earns 0.30 and 0.40, never 0.20
    np.testing.assert_array_equal(out["gross"], [0.0, 0.0, 0.30, 0.40])
    out = held_panel(np.array([[1.0]]), np.array([1]), r, np.zeros_like(r), lag=2, holding="constant")
    np.testing.assert_array_equal(out["gross"], [0.0, 0.0, 0.0, 0.40])


def test_constant_holding_costs_and_net_by_hand():
    r = np.array([[0.0, 0.0], [0.01, -0.02], [0.02, 0.01], [-0.01, 0.03], [0.0, 0.0]])
    k = np.tile([0.001, 0.002], (5, 1))
    w = np.array([[0.5, -1.0], [1.0, 0.0]])
    out = held_panel(w, np.array([0, 2]), r, k, lag=1, holding="constant")
    # periods: rebalance 0 → sessions 1,2 ; rebalance 2 → sessions 3,4
    np.testing.assert_allclose(out["gross"], [0, 0.5 * 0.01 + 1.0 * 0.02, 0.5 * 0.02 - 0.01, -0.01, 0.0], atol=1e-15)
    cost1 = 0.001 * 0.5 + 0.002 * 1.0          # from flat
    cost3 = 0.001 * 0.5 + 0.002 * 1.0          # |1-0.5|, |0-(-1)|
    np.testing.assert_allclose(out["cost"], [0, cost1, 0, cost3, 0], atol=1e-15)
    np.testing.assert_array_equal(out["net"], out["gross"] - out["cost"])
    np.testing.assert_allclose(out["traded"], [0, 1.5, 0, 1.5, 0])


def test_simple_not_log_returns():
    """Defect 4: P&L is Σ w·r on simple returns, not exp(Σ w·log(1+r)) − 1."""
    r = np.array([[0.5, -0.5]])
    w = np.array([1.0, 1.0])
    p = period_pnl(w, np.zeros(2), r, np.zeros(2), "constant")
    assert p.gross[0] == 0.0  # log version would give exp(log 1.5 + log 0.5) − 1 = −0.25


def test_drift_holding_matches_a_step_by_step_position_ledger():
    rng = np.random.default_rng(0)
    r = rng.normal(0, 0.02, (6, 3))
    w0 = np.array([0.8, -0.5, 1.2])
    held, w_end = hold(w0, r, "drift")
    # step by step: notional positions V_i and NAV in currency
    nav, pos = 1.0, w0.copy()
    for d in range(6):
        np.testing.assert_allclose(held[d], pos / nav, rtol=1e-12)
        pnl = pos @ r[d]
        pos = pos * (1 + r[d])
        nav += pnl
    np.testing.assert_allclose(w_end, pos / nav, rtol=1e-12)


def test_drift_cost_is_charged_against_the_drifted_weights():
    r = np.array([[0.0], [0.10], [0.0]])
    w = np.array([[1.0], [1.0]])
    out = held_panel(w, np.array([0, 1]), r, np.full((3, 1), 0.01), lag=1, holding="drift")
    # after +10% the single position is still 100% of NAV: no trade needed
    assert out["cost"][2] == pytest.approx(0.0, abs=1e-15)
    two = np.array([[0.5, 0.5], [0.5, 0.5]])
    r2 = np.array([[0.0, 0.0], [0.10, 0.0], [0.0, 0.0]])
    out = held_panel(two, np.array([0, 1]), r2, np.full((3, 2), 0.01), lag=1, holding="drift")
    drifted = np.array([0.55, 0.5]) / 1.05
    assert out["cost"][2] == pytest.approx(0.01 * np.abs(np.array([0.5, 0.5]) - drifted).sum(), rel=1e-12)


def test_period_bounds_session_arithmetic():
    np.testing.assert_array_equal(period_bounds(np.array([2, 5, 9]), 1, 10), [[3, 6], [6, 10], [10, 10]])


@settings(max_examples=50, deadline=None)
@given(st.floats(0.1, 10), st.integers(0, 10_000), st.sampled_from(["constant", "drift"]))
def test_gross_is_linear_in_held_weights(k, seed, holding):
    rng = np.random.default_rng(seed)
    r = rng.normal(0, 0.01, (30, 4))
    w = rng.normal(0, 1, (3, 4))
    reb = np.array([0, 9, 19])
    base = held_panel(w, reb, r, np.zeros_like(r), 1, holding)
    # the map held weights → gross P&L is linear under any holding mode
    np.testing.assert_allclose(np.einsum("dn,dn->d", k * base["held"], r), k * base["gross"], rtol=1e-12, atol=1e-15)
    if holding == "constant":  # and executed weights → gross P&L is linear for constant holding
        scaled = held_panel(k * w, reb, r, np.zeros_like(r), 1, holding)
        np.testing.assert_allclose(scaled["gross"], k * base["gross"], rtol=1e-12, atol=1e-15)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 40), st.integers(1, 5), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_constant_held_panel_at_once_is_the_period_loop(t, n, lag, seed):
    """`held_panel` books every constant-holding period at once; the contract's period loop
    (`period_pnl`, as the simulator books) gives the same held weights and turnover exactly and
    the same gross P&L and costs to rounding (summed in another order)."""
    rng = np.random.default_rng(seed)
    r = rng.standard_normal((t, n)) * 0.01
    r[rng.random(r.shape) < 0.2] = np.nan
    c = np.abs(rng.standard_normal((t, n))) * 1e-4
    reb = np.unique(rng.integers(0, t + 3, size=int(rng.integers(1, 8))))
    w = rng.standard_normal((len(reb), n))
    got = held_panel(w, reb, r, c, lag, "constant")
    want = {k: np.zeros(t) for k in ("gross", "cost", "traded")}
    want["held"] = np.zeros((t, n))
    w_before = np.zeros(n)
    for j, (a, b) in enumerate(period_bounds(reb, lag, t)):
        if a < b:
            p = period_pnl(w[j], w_before, booked_returns(r)[a:b], booked_returns(c)[a], "constant")
            want["held"][a:b], want["gross"][a:b], want["cost"][a], want["traded"][a] = p.held, p.gross, p.cost, p.traded
            w_before = p.w_end
    np.testing.assert_array_equal(got["held"], want["held"])
    np.testing.assert_array_equal(got["traded"], want["traded"])
    np.testing.assert_allclose(got["gross"], want["gross"], rtol=0, atol=1e-15)
    np.testing.assert_allclose(got["cost"], want["cost"], rtol=0, atol=1e-17)
    np.testing.assert_array_equal(got["net"], got["gross"] - got["cost"])
