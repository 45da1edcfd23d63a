"""Layer 6, the allocator: features, regime with hysteresis, smoothed scalar.

Covers predecessor defects 5 (the configured profile is the profile used), 8 (state from
daily, not weekly, returns) and 9 (windows count sessions, annualised with 252).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from macrostack.errors import InputError
from macrostack.layers.allocator import (
    FEATURES,
    PROFILES,
    Allocator,
    Regime,
    RiskProfile,
    StateFeatures,
    get_profile,
    mean_pairwise_correlation,
)
from macrostack.kernels import kernel
from macrostack.layers.allocator.state import mean_pairwise_correlations
from macrostack.layers.allocator.regime import candidate, next_regime, score, smooth_scalar

N, E, S, C = (int(r) for r in Regime)


def no_corr(n: int) -> np.ndarray:
    return np.full(n, np.nan)


def run(net, profile="H", corr20=None, corr60=None, chunks=None, **kwargs) -> dict[str, np.ndarray]:
    """Diagnostics of an allocator fed `net` in one call (or at the `chunks` boundaries)."""
    net = np.asarray(net, dtype=float)
    n = len(net)
    alloc = Allocator(get_profile(profile) if isinstance(profile, str) else profile, n,
                      no_corr(n) if corr20 is None else corr20,
                      no_corr(n) if corr60 is None else corr60, **kwargs)
    for upto in (chunks or []) + [n - 1]:
        alloc.update(net, upto)
    return alloc.diagnostics()


def drawdown_path() -> np.ndarray:
    """10 flat sessions, then 12 losses of 2% (sessions 10..21): dd after k losses = 0.98^k − 1."""
    return np.array([0.0] * 10 + [-0.02] * 12)


# --------------------------------------------------------------------------------------
# Profiles
# --------------------------------------------------------------------------------------


def test_profile_table():
    assert PROFILES["H"] == RiskProfile("H", (1.00, 0.98, 0.85, 0.60), 0.15, 0.50)
    assert PROFILES["M"] == RiskProfile("M", (1.00, 0.90, 0.70, 0.45), 0.20, 0.35)
    assert PROFILES["L"] == RiskProfile("L", (1.00, 0.85, 0.55, 0.30), 0.25, 0.25)
    assert get_profile("M") is PROFILES["M"]
    assert get_profile(" l ") is PROFILES["L"]


def test_unknown_profile_is_an_input_error():
    with pytest.raises(InputError, match="allocator.profile.*unknown allocator profile 'X'.*use H, M or L"):
        get_profile("X")


@pytest.mark.parametrize("kwargs", [
    {"scalars": (1.0, 0.9, 0.8)},
    {"scalars": (1.0, 1.1, 0.8, 0.5)},
    {"scalars": (1.0, 0.8, 0.9, 0.5)},
    {"alpha": 0.0},
    {"minimum": 0.0},
])
def test_invalid_profile_is_an_input_error(kwargs):
    fields = {"name": "X", "scalars": (1.0, 0.9, 0.8, 0.5), "alpha": 0.2, "minimum": 0.3} | kwargs
    with pytest.raises(InputError):
        RiskProfile(**fields)


# --------------------------------------------------------------------------------------
# Features
# --------------------------------------------------------------------------------------


def test_rolling_vol_is_sample_std_of_the_last_sessions_annualised_with_252():
    # Defects 8/9: windows count sessions of the daily net series, annualised with 252.
    net = np.random.default_rng(1).normal(0.0, 0.01, 400)
    f = StateFeatures(len(net), no_corr(400), no_corr(400))
    f.update(net, 399)
    v = f.values
    for window, name in ((20, "port_rvol_20"), (60, "port_rvol_60")):
        assert np.isnan(v[name][: window - 1]).all()
        expected = [np.std(net[d - window + 1 : d + 1], ddof=1) * math.sqrt(252) for d in range(window - 1, 400)]
        np.testing.assert_allclose(v[name][window - 1 :], expected, rtol=1e-10)
    np.testing.assert_allclose(v["vol_accel"], v["port_rvol_20"] / v["port_rvol_60"], rtol=1e-14)


def test_a_constant_net_series_has_zero_vol_and_no_vol_flag():
    v = run(np.full(100, 0.001))
    assert (v["port_rvol_20"][19:] == 0.0).all() and (v["port_rvol_60"][59:] == 0.0).all()
    assert np.isnan(v["vol_accel"]).all() and (v["regime"] == N).all() and (v["scalar"] == 1.0).all()


def test_drawdown_level_and_slope():
    net = np.random.default_rng(2).normal(0.0, 0.02, 300)
    f = StateFeatures(300, no_corr(300), no_corr(300))
    f.update(net, 299)
    equity = np.cumprod(1.0 + net)
    dd = equity / np.maximum.accumulate(equity) - 1.0
    np.testing.assert_allclose(f.values["dd_level"], dd, rtol=0, atol=1e-12)
    assert np.isnan(f.values["dd_slope_10"][:10]).all()
    np.testing.assert_allclose(f.values["dd_slope_10"][10:], dd[10:] - dd[:-10], rtol=0, atol=1e-12)


def test_correlation_features_come_from_the_precomputed_arrays():
    rng = np.random.default_rng(3)
    c20, c60 = rng.uniform(-0.2, 0.9, 50), rng.uniform(-0.2, 0.9, 50)
    f = StateFeatures(50, c20, c60)
    f.update(np.zeros(50), 29)
    v = f.values
    np.testing.assert_array_equal(v["corr_20"][:30], c20[:30])
    np.testing.assert_array_equal(v["corr_shock"][:30], c20[:30] - c60[:30])
    assert np.isnan(v["corr_20"][30:]).all()  # not processed yet


def test_warm_up_sessions_before_start_are_not_in_any_window():
    net = np.r_[np.zeros(30), np.random.default_rng(4).normal(0.0, 0.01, 100)]
    f = StateFeatures(130, no_corr(130), no_corr(130), start=30)
    f.update(net, 129)
    v = f.values
    assert np.isnan(v["dd_level"][:30]).all() and np.isnan(v["port_rvol_20"][: 30 + 19]).all()
    assert v["port_rvol_20"][49] == pytest.approx(np.std(net[30:50], ddof=1) * math.sqrt(252), rel=1e-12)
    assert np.isnan(v["vol_accel"][: 30 + 59]).all()


# --------------------------------------------------------------------------------------
# Mean pairwise correlation
# --------------------------------------------------------------------------------------


def corrcoef_reference(returns: np.ndarray, window: int) -> np.ndarray:
    """Loop over sessions with np.corrcoef on the instruments valid on the whole window."""
    out = np.full(len(returns), np.nan)
    for d in range(window - 1, len(returns)):
        win = returns[d - window + 1 : d + 1]
        ok = np.isfinite(win).all(axis=0)
        ok[ok] = np.ptp(win[:, ok], axis=0) > 0
        k = ok.sum()
        if k >= 2:
            rho = np.corrcoef(win[:, ok].T)
            out[d] = (rho.sum() - k) / (k * (k - 1))
    return out


def awkward_returns(seed: int, n_sessions: int = 200, n: int = 8) -> np.ndarray:
    """Correlated returns with late listings, a delisting, gaps, constant runs and a smooth,
    almost constant series (std ~1e-6 around 8e-5: cancellation in one-pass variances)."""
    rng = np.random.default_rng(seed)
    returns = rng.normal(0, 0.01, (n_sessions, n)) + rng.normal(0, 0.01, (n_sessions, 1))
    returns[:70, 0] = np.nan  # listed late
    returns[: n_sessions - 15, 3] = np.nan  # listed 15 sessions before the end: never a full 20/60 window
    returns[120:, 4] = np.nan  # delisted
    returns[rng.random((n_sessions, n)) < 0.01] = np.nan  # scattered gaps
    returns[90:140, 1] = 0.0  # missing prices counted as zero returns: a constant stretch
    returns[150:185, 2] = 0.003  # a constant non-zero stretch
    returns[:, 5] = 8e-5 + 1e-6 * np.sin(np.arange(n_sessions) / 7) + rng.normal(0, 1e-7, n_sessions) * 0.1
    return returns


def test_mean_pairwise_correlation_matches_corrcoef_with_missing_and_constant_returns():
    for seed in (5, 6, 7):
        returns = awkward_returns(seed)
        for window in (5, 20, 60):
            got = mean_pairwise_correlation(returns, window)
            expected = corrcoef_reference(returns, window)
            np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
            assert np.isnan(got[: window - 1]).all()


def test_mean_pairwise_correlations_of_several_windows_equal_each_window_alone():
    returns = awkward_returns(8)
    both = mean_pairwise_correlations(returns, (20, 60))
    for window in (20, 60):
        np.testing.assert_array_equal(both[window], mean_pairwise_correlation(returns, window))


def test_mean_pairwise_correlation_of_a_panel_shorter_than_the_window_is_nan():
    returns = awkward_returns(9, n_sessions=40)
    assert np.isnan(mean_pairwise_correlation(returns, 60)).all()
    assert np.isnan(mean_pairwise_correlation(returns[:, :1], 5)).all()  # one instrument: no pair
    assert np.isfinite(mean_pairwise_correlation(returns, 20)[19:]).any()


def test_mean_pairwise_correlation_does_not_depend_on_the_blocks_of_sessions():
    """Each block of sessions starts its change and missing counts afresh (the threads split
    the sessions): any split gives the same bits as one pass."""
    returns = np.ascontiguousarray(awkward_returns(10, n_sessions=700), dtype=np.float64)
    windows = np.array([20, 60], dtype=np.int64)
    _mean_correlations = kernel("mean_correlations")
    whole = np.full((2, len(returns)), np.nan)
    _mean_correlations(returns, windows, 0, len(returns), whole)
    split = np.full((2, len(returns)), np.nan)
    cuts = [0, 1, 19, 61, 300, 301, 557, len(returns)]  # inside, at and past the windows, chunk sizes
    for d0, d1 in zip(cuts, cuts[1:]):
        _mean_correlations(returns, windows, d0, d1, split)
    np.testing.assert_array_equal(split, whole)


def test_mean_pairwise_correlation_needs_two_valid_instruments():
    returns = np.column_stack([np.random.default_rng(6).normal(0, 0.01, 30), np.full(30, np.nan)])
    assert np.isnan(mean_pairwise_correlation(returns, 20)).all()
    perfectly_correlated = np.column_stack([returns[:, 0], 2 * returns[:, 0]])
    assert mean_pairwise_correlation(perfectly_correlated, 20)[19:] == pytest.approx(1.0, abs=1e-12)


TICK_RETURNS = arrays(np.float64, st.tuples(st.integers(20, 80), st.integers(2, 6)),
                      elements=st.one_of(st.integers(-1000, 1000).map(lambda ticks: ticks * 1e-4), st.just(np.nan)))


@settings(max_examples=40, deadline=None)
@given(TICK_RETURNS, st.integers(2, 20))
def test_mean_pairwise_correlation_property(returns, window):
    got = mean_pairwise_correlation(returns, window)
    expected = corrcoef_reference(returns, window)
    # Returns on a tick grid (with ties and zeros, like real prices), not subnormal floats
    # where np.corrcoef itself underflows.
    both = np.isfinite(got) & np.isfinite(expected)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    assert np.all(np.abs(got[both] - expected[both]) < 1e-12)
    assert np.all((got[both] >= -1 - 1e-12) & (got[both] <= 1 + 1e-12))


@settings(max_examples=40, deadline=None)
@given(TICK_RETURNS, st.integers(2, 20), st.data())
def test_mean_pairwise_correlation_has_no_look_ahead(returns, window, data):
    d = data.draw(st.integers(0, len(returns) - 1))
    changed = returns.copy()
    later = changed[d + 1:]
    later[...] = data.draw(arrays(np.float64, later.shape, elements=st.one_of(
        st.floats(-0.5, 0.5, allow_subnormal=False), st.just(np.nan))))
    np.testing.assert_array_equal(mean_pairwise_correlation(returns, window)[: d + 1],
                                  mean_pairwise_correlation(changed, window)[: d + 1])


def test_from_returns_uses_20_and_60_session_correlations():
    returns = np.random.default_rng(8).normal(0, 0.01, (100, 4))
    alloc = Allocator.from_returns(get_profile("M"), returns)
    alloc.update(np.zeros(100), 99)
    v = alloc.diagnostics()
    np.testing.assert_array_equal(v["corr_20"], mean_pairwise_correlation(returns, 20))
    np.testing.assert_array_equal(v["corr_60"], mean_pairwise_correlation(returns, 60))


# --------------------------------------------------------------------------------------
# Regime: flags, candidates, hysteresis
# --------------------------------------------------------------------------------------


def test_flags_and_candidates():
    nan = math.nan
    assert score(nan, nan, nan, nan, 0) == 0  # NaN raises no flag
    assert score(1.31, 0.11, -0.11, -0.07, 0) == 4
    assert score(1.2, 0.07, -0.07, -0.04, 0) == 0
    assert score(1.2, 0.07, -0.07, -0.04, 1) == 4
    assert [candidate(k, 0.0) for k in range(5)] == [N, E, S, C, C]
    assert candidate(0, -0.13) == S and candidate(3, -0.13) == C and candidate(0, -0.21) == C
    assert next_regime(E, 0, S, S, 5) == S  # escalation at once
    assert next_regime(S, 4, N, N, 5) == S  # too early to de-escalate
    assert next_regime(S, 5, N, E, 5) == E  # down only as far as the exit flags allow
    assert next_regime(S, 5, E, S, 5) == S  # exit flags still at the current regime


def test_drawdown_escalates_elevated_then_stress_then_crisis_on_the_exact_sessions():
    v = run(drawdown_path())
    regime = v["regime"].tolist()
    # session 12: dd = 0.98^3−1 = −5.9%, slope −5.9%: no enter flag (exit flag only)
    # session 13: slope −7.8% <= −6%                  -> ELEVATED
    # session 15: dd −11.4% <= −10% and slope          -> STRESS (2 flags)
    # session 21: dd = 0.98^12−1 = −21.5% <= −20%      -> CRISIS (override)
    assert regime == [N] * 13 + [E] * 2 + [S] * 6 + [C]
    assert v["enter_score"][12] == 0 and v["exit_score"][12] == 1
    assert v["enter_score"][13] == 1 and v["enter_score"][15] == 2
    assert v["dd_level"][20] > -0.20 >= v["dd_level"][21]


def test_de_escalation_waits_five_sessions_then_drops_to_the_exit_candidate():
    net = drawdown_path()
    full_recovery = np.r_[net, 1.0 / 0.98**12 - 1.0, np.zeros(10)]  # back to the peak at 22
    regime = run(full_recovery)["regime"]
    assert (regime[21:26] == C).all()  # CRISIS entered at 21, held 21..25 despite exit score 0
    assert (regime[26:] == N).all()  # 5 sessions held: down to the exit candidate NORMAL

    partial = np.r_[net, 0.92 / 0.98**12 - 1.0, np.zeros(20)]  # back to dd = −8% at 22
    v = run(partial)
    assert (v["regime"][21:26] == C).all()
    assert (v["exit_score"][26:] == 1).all() and (v["enter_score"][26:] == 0).all()
    assert (v["regime"][26:] == E).all()  # dd −8% <= −6% keeps one exit flag: ELEVATED, not NORMAL


def test_the_five_sessions_restart_after_each_step_down():
    # STRESS by a one-day loss of 11.5% at session 10 (dd and slope flags); at session 20
    # the slope flag expires (exit score 1: dd −11.5% <= −6%) -> ELEVATED; the dd exit flag
    # stays, so ELEVATED holds.
    net = np.r_[np.zeros(10), -0.115, np.zeros(25)]
    regime = run(net)["regime"]
    assert (regime[10:20] == S).all() and (regime[20:] == E).all()
    # with min 12 sessions, the step down waits until session 22
    regime = run(net, min_sessions_in_regime=12)["regime"]
    assert (regime[10:22] == S).all() and (regime[22:] == E).all()


# --------------------------------------------------------------------------------------
# Scalar
# --------------------------------------------------------------------------------------


def test_scalar_ewma_by_hand_profile_h():
    # NORMAL -> STRESS at session 10, target 0.85, alpha 0.15
    s = run(np.r_[np.zeros(10), -0.115, np.zeros(5)], "H")["scalar"]
    assert (s[:10] == 1.0).all()
    assert s[10] == pytest.approx(1 + 0.15 * (0.85 - 1))  # 0.9775
    assert s[11] == pytest.approx(0.9775 + 0.15 * (0.85 - 0.9775))  # 0.958375
    assert s[12] == pytest.approx(0.958375 + 0.15 * (0.85 - 0.958375))  # 0.94211875

    # drawdown path: ELEVATED at 13 (0.98), STRESS at 15 (0.85)
    s = run(drawdown_path(), "H")["scalar"]
    assert s[12] == 1.0
    assert s[13] == pytest.approx(0.997)  # 1 + 0.15·(0.98 − 1)
    assert s[14] == pytest.approx(0.99445)  # 0.997 + 0.15·(0.98 − 0.997)
    assert s[15] == pytest.approx(0.9727825)  # 0.99445 + 0.15·(0.85 − 0.99445)


def test_scalar_is_clipped_at_the_profile_minimum():
    harsh = RiskProfile("X", (1.0, 0.5, 0.2, 0.0), alpha=0.5, minimum=0.3)
    s = run(np.r_[np.zeros(5), -0.25, np.zeros(4)], harsh)["scalar"]  # CRISIS at session 5
    assert s[5] == pytest.approx(0.5)  # 1 + 0.5·(0 − 1)
    assert (s[6:] == 0.3).all()  # 0.5 + 0.5·(0 − 0.5) = 0.25 -> clipped to 0.3, and stays
    assert smooth_scalar(0.3, 0.0, harsh) == 0.3
    assert smooth_scalar(0.9, 1.0, PROFILES["H"]) == pytest.approx(0.915)


def test_scalar_before_processing_is_refused():
    alloc = Allocator(get_profile("H"), 10, no_corr(10), no_corr(10))
    alloc.update(np.zeros(10), 4)
    assert alloc.scalar_at(4) == 1.0
    with pytest.raises(ValueError, match="not computed"):
        alloc.scalar_at(5)
    with pytest.raises(ValueError, match="not computed"):
        alloc.scalar_at(-1)
    with pytest.raises(ValueError, match="past the last session"):
        alloc.update(np.zeros(10), 10)
    with pytest.raises(ValueError, match="not finite at session 6"):
        alloc.update(np.r_[np.zeros(6), np.nan, np.zeros(3)], 8)


def test_diagnostics_mark_unprocessed_sessions():
    alloc = Allocator(get_profile("M"), 30, no_corr(30), no_corr(30))
    alloc.update(np.zeros(30), 9)
    v = alloc.diagnostics()
    assert set(v) == set(FEATURES) | {"regime", "enter_score", "exit_score", "target_scalar", "scalar"}
    assert all(len(a) == 30 for a in v.values())
    assert v["regime"].dtype == np.int8 and (v["regime"][10:] == -1).all() and (v["regime"][:10] == 0).all()
    assert np.isnan(v["scalar"][10:]).all() and (v["scalar"][:10] == 1.0).all()
    assert (v["enter_score"][10:] == -1).all()


def test_the_configured_profile_is_the_profile_used():
    # Defect 5: same inputs, H vs L profiles -> same regimes, different scalars, each from its table.
    net = drawdown_path()
    h, low = run(net, "H"), run(net, "L")
    np.testing.assert_array_equal(h["regime"], low["regime"])
    assert h["scalar"][-1] != low["scalar"][-1]
    assert h["target_scalar"][-1] == 0.60 and low["target_scalar"][-1] == 0.30
    assert low["scalar"][13] == pytest.approx(1 + 0.25 * (0.85 - 1))  # L: ELEVATED 0.85, alpha 0.25
    alloc = Allocator(get_profile("L"), len(net), no_corr(len(net)), no_corr(len(net)))
    assert alloc.profile is PROFILES["L"]


def test_allocator_refuses_a_profile_name():
    with pytest.raises(TypeError, match="get_profile"):
        Allocator("H", 10, no_corr(10), no_corr(10))


# --------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------

nets = arrays(np.float64, st.integers(1, 160), elements=st.floats(-0.12, 0.10))
profiles = st.sampled_from(sorted(PROFILES))


def corr_pair(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Correlation arrays with NaN warm-ups and shocks large enough to flag."""
    rng = np.random.default_rng(seed)
    c60 = rng.uniform(0.0, 0.5, n)
    c20 = c60 + rng.uniform(-0.1, 0.2, n)
    c20[:19] = np.nan
    c60[:59] = np.nan
    return c20, c60


@settings(max_examples=60, deadline=None)
@given(nets, profiles, st.integers(0, 2**16))
def test_scalar_is_in_minimum_to_one_and_follows_the_regime_ewma(net, name, seed):
    profile = PROFILES[name]
    v = run(net, profile, *corr_pair(len(net), seed))
    s = v["scalar"]
    assert np.all((s > 0) & (s <= 1.0) & (s >= profile.minimum))
    previous = 1.0
    # Exact: the same IEEE operations in the same order as the numba kernel (no transcendental
    # function; numba without fastmath never fuses a·b + c into an FMA).
    for d in range(len(net)):  # the recursion, from the regime path and this profile
        expected = min(1.0, max(profile.minimum, previous + profile.alpha * (profile.scalars[v["regime"][d]] - previous)))
        assert s[d] == expected
        previous = expected


@settings(max_examples=60, deadline=None)
@given(nets, st.integers(0, 2**16), st.integers(1, 8))
def test_hysteresis_invariants(net, seed, hold):
    v = run(net, "M", *corr_pair(len(net), seed), min_sessions_in_regime=hold)
    regime = v["regime"].astype(int)
    enter = [candidate(k, dd) for k, dd in zip(v["enter_score"], v["dd_level"])]
    exit_ = [candidate(k, dd) for k, dd in zip(v["exit_score"], v["dd_level"])]
    held, previous = 0, N
    for d in range(len(net)):
        assert regime[d] >= enter[d]  # never below what the enter flags demand
        if regime[d] > previous:
            assert regime[d] == enter[d]  # escalation goes straight to the enter candidate
        if regime[d] < previous:
            assert held >= hold and regime[d] == exit_[d]  # late, and only to the exit candidate
        held = held + 1 if regime[d] == previous else 1
        previous = regime[d]


@settings(max_examples=60, deadline=None)
@given(nets, st.data())
def test_no_look_ahead(net, data):
    n = len(net)
    d = data.draw(st.integers(0, n - 1))
    tail = data.draw(arrays(np.float64, n - d - 1, elements=st.floats(-0.12, 0.10)))
    changed = np.r_[net[: d + 1], tail]
    c20, c60 = corr_pair(n, d)
    before, after = run(net, "H", c20, c60), run(changed, "H", c20, c60)
    for name in before:
        np.testing.assert_array_equal(before[name][: d + 1], after[name][: d + 1], err_msg=name)


@settings(max_examples=60, deadline=None)
@given(nets, st.data())
def test_chunking_invariance(net, data):
    n = len(net)
    cuts = sorted(data.draw(st.lists(st.integers(0, n - 1), max_size=20)))
    c20, c60 = corr_pair(n, n)
    whole, chunked = run(net, "L", c20, c60), run(net, "L", c20, c60, chunks=cuts)
    for name in whole:
        np.testing.assert_array_equal(whole[name], chunked[name], err_msg=name)
