"""Risk targeting (Layer 5): hand cases, estimators, invariants and defect 1."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from macrostack.config import RiskTargetingConfig
from macrostack.layers.risk_targeting import RiskTargeting, portfolio_variance

R = np.array([[0.01, 0.02], [-0.01, 0.00], [0.02, -0.01], [0.00, 0.01], [0.005, -0.015]])


def test_sample_estimator_by_hand():
    w_pre = np.array([[3.0, -1.0]])  # G = 4 → u = [0.75, −0.25]
    cfg = RiskTargetingConfig(target_vol=0.10, vol_lookback=5, leverage_floor=0.0, leverage_cap=100, vol_floor=0.0001)
    res = RiskTargeting(cfg).apply(w_pre, R, np.array([4]))
    p = R @ np.array([0.75, -0.25])
    sigma = np.sqrt(252 * np.var(p, ddof=1))
    assert res.sigma_unit[0] == pytest.approx(sigma, rel=1e-14)
    assert res.leverage[0] == pytest.approx(0.10 / sigma, rel=1e-14)
    np.testing.assert_allclose(res.weights[0], res.leverage[0] * np.array([0.75, -0.25]), rtol=1e-15)
    assert np.abs(res.weights[0]).sum() == pytest.approx(res.leverage[0], rel=1e-14)  # G(w_rt) = L
    assert res.ex_ante_vol[0] == pytest.approx(0.10, rel=1e-14)
    assert res.clipped[0] == 0


def test_leverage_is_clipped_and_recorded():
    w_pre = np.array([[1.0, 0.0]])
    lo = RiskTargeting(RiskTargetingConfig(target_vol=0.0001, vol_lookback=5, leverage_floor=1.0, leverage_cap=7.0)).apply(w_pre, R, np.array([4]))
    hi = RiskTargeting(RiskTargetingConfig(target_vol=2.0, vol_lookback=5, leverage_floor=1.0, leverage_cap=7.0)).apply(w_pre, R, np.array([4]))
    assert lo.leverage[0] == 1.0 and lo.clipped[0] == -1
    assert hi.leverage[0] == 7.0 and hi.clipped[0] == 1


def test_vol_floor_limits_leverage_on_quiet_books():
    w_pre = np.array([[1.0, 0.0]])
    quiet = np.full((5, 2), 1e-6)
    quiet[::2] *= -1
    res = RiskTargeting(RiskTargetingConfig(target_vol=0.2, vol_lookback=5, leverage_cap=7.0, vol_floor=0.05)).apply(w_pre, quiet, np.array([4]))
    assert res.leverage[0] == pytest.approx(0.2 / 0.05)


def test_flat_book_and_short_history_give_no_leverage():
    res = RiskTargeting(RiskTargetingConfig(vol_lookback=5)).apply(np.array([[0.0, 0.0], [1.0, 1.0]]), R, np.array([4, 3]))
    assert np.isnan(res.leverage).all() and (res.weights == 0).all()


def test_ewma_and_ledoit_wolf_by_hand():
    u = np.array([[0.75, -0.25]])
    lam = 0.9
    a = lam ** np.arange(4, -1, -1)
    a /= a.sum()
    p = R @ u[0]
    assert portfolio_variance(u, R, np.array([4]), 5, "ewma", lam)[0] == pytest.approx(252 * (a @ (p * p)), rel=1e-13)
    # Ledoit-Wolf with the identity target, from the textbook formulas
    x = R - R.mean(axis=0)
    t, n = x.shape
    s = x.T @ x / t
    mu = np.trace(s) / n
    d2 = np.sum((s - mu * np.eye(n)) ** 2)
    b2 = min(sum(np.sum((np.outer(xt, xt) - s) ** 2) for xt in x) / t**2, d2)
    delta = b2 / d2
    sigma = (1 - delta) * s + delta * mu * np.eye(n)
    assert portfolio_variance(u, R, np.array([4]), 5, "ledoit_wolf")[0] == pytest.approx(252 * u[0] @ sigma @ u[0], rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.01, 100.0), st.sampled_from(["sample", "ewma", "ledoit_wolf"]))
def test_scale_invariance_bounds_and_direction(seed, k, estimator):
    rng = np.random.default_rng(seed)
    r = rng.normal(0, 0.01, (80, 5))
    w = rng.normal(0, 1, (3, 5))
    reb = np.array([40, 60, 79])
    cfg = RiskTargetingConfig(vol_lookback=30, estimator=estimator)
    base = RiskTargeting(cfg).apply(w, r, reb)
    scaled = RiskTargeting(cfg).apply(k * w, r, reb)
    # RT sees only the direction of w_pre: scaling the input changes nothing
    np.testing.assert_allclose(scaled.weights, base.weights, rtol=1e-10, atol=1e-14)
    assert ((base.leverage >= cfg.leverage_floor) & (base.leverage <= cfg.leverage_cap)).all()
    np.testing.assert_allclose(np.abs(base.weights).sum(axis=1), base.leverage, rtol=1e-12)
    # scale direction: twice the market vol → leverage never higher (half where unclipped)
    louder = RiskTargeting(cfg).apply(w, 2 * r, reb)
    assert (louder.leverage <= base.leverage + 1e-12).all()
    free = (base.clipped == 0) & (louder.clipped == 0) & (base.sigma_unit >= cfg.vol_floor) & (louder.sigma_unit >= cfg.vol_floor)
    np.testing.assert_allclose(louder.leverage[free], base.leverage[free] / 2, rtol=1e-10)


def test_defect1_realised_vol_comes_out_near_target():
    """Defect 1: vol measured on the weights that are levered, so realised ≈ target (iid market)."""
    rng = np.random.default_rng(7)
    cov = np.array([[1.0, 0.3, 0.0], [0.3, 1.0, -0.2], [0.0, -0.2, 1.0]]) * 0.01**2
    r = rng.multivariate_normal(np.zeros(3), cov, size=20_000)
    reb = np.arange(252, 20_000 - 1, 5)
    w_pre = np.tile([2.0, -1.0, 0.5], (len(reb), 1))  # un-normalised on purpose
    res = RiskTargeting(RiskTargetingConfig(target_vol=0.20, vol_lookback=252, leverage_cap=100)).apply(w_pre, r, reb)
    held = np.repeat(res.weights, 5, axis=0)[: len(r) - reb[0] - 1]
    pnl = np.einsum("dn,dn->d", held, r[reb[0] + 1: reb[0] + 1 + len(held)])  # lag 1
    realised = pnl.std(ddof=1) * np.sqrt(252)
    assert realised == pytest.approx(0.20, rel=0.05)


@pytest.mark.parametrize("estimator", ["sample", "ewma", "newey_west", "ledoit_wolf"])
def test_zero_filled_returns_give_the_same_bits(estimator):
    # simulate passes its returns with missing values already 0 (`zero_filled`): the same panel
    # the estimators would make themselves, so the same variances, bit for bit.
    rng = np.random.default_rng(3)
    r = rng.normal(0, 0.01, (300, 6))
    r[rng.random(r.shape) < 0.1] = np.nan
    w = rng.normal(0, 1, (4, 6))
    reb = np.array([40, 120, 200, 299])
    a = portfolio_variance(w, r, reb, 30, estimator)
    b = portfolio_variance(w, np.where(np.isnan(r), 0.0, r), reb, 30, estimator, zero_filled=True)
    assert np.isfinite(a).all()
    np.testing.assert_array_equal(a, b)
