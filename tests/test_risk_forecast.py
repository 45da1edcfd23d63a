"""Risk forecasts that are checked: the newey_west estimator (hand-checked, = sample at lag 0) and
realised vs ex-ante vol at the daily / weekly / monthly horizon (`macrostack.risk_forecast`)."""

from __future__ import annotations

import numpy as np
import pytest

from macrostack.config import RiskTargetingConfig, load_config
from macrostack.errors import InputError
from macrostack.layers.risk_targeting import RiskTargeting, newey_west_variance, portfolio_variance
from macrostack.risk_forecast import block_sums, held_values, horizon_check, risk_forecast_check


def test_newey_west_by_hand():
    p = np.array([1.0, 2.0, 3.0, 4.0])
    # p̃ = [-1.5, -.5, .5, 1.5]; γ0 = 5/3, γ1 = 1.25/3, γ2 = (.5·-1.5 + 1.5·-.5)/3 = -.5
    assert newey_west_variance(p, 0) == pytest.approx(5 / 3, abs=1e-15)
    assert newey_west_variance(p, 1) == pytest.approx(5 / 3 + 2 * 0.5 * 1.25 / 3, abs=1e-15)
    assert newey_west_variance(p, 2) == pytest.approx(5 / 3 + 2 * (2 / 3) * 1.25 / 3 + 2 * (1 / 3) * -0.5, abs=1e-15)


def test_newey_west_on_a_tiny_matrix_and_equal_to_sample_at_lag_0():
    # 6 sessions × 2 instruments, one rebalance at the last session, lookback 4
    r = np.array([[0.01, 0.00], [0.02, -0.01], [-0.01, 0.03], [0.00, 0.01], [0.03, -0.02], [0.01, 0.02]])
    w = np.array([[0.5, -0.5]])
    idx = np.array([5])
    p = r[2:6] @ w[0]                                     # [-.02, -.005, .025, -.005]
    np.testing.assert_allclose(p, [-0.02, -0.005, 0.025, -0.005], atol=1e-15)
    pc = p - p.mean()
    g0, g1 = (pc @ pc) / 3, (pc[1:] @ pc[:-1]) / 3
    nw1 = portfolio_variance(w, r, idx, 4, "newey_west", newey_west_lags=1)
    assert nw1[0] == pytest.approx(252 * (g0 + 2 * 0.5 * g1), rel=1e-13)
    assert portfolio_variance(w, r, idx, 4, "newey_west", newey_west_lags=0)[0] == pytest.approx(
        portfolio_variance(w, r, idx, 4, "sample")[0], rel=1e-14)


def test_newey_west_lag_0_is_the_sample_estimator_and_never_negative():
    rng = np.random.default_rng(11)
    r = rng.standard_normal((400, 6)) * 0.01
    idx = np.arange(70, 400, 5)
    w = rng.standard_normal((len(idx), 6))
    np.testing.assert_allclose(portfolio_variance(w, r, idx, 63, "newey_west", newey_west_lags=0),
                               portfolio_variance(w, r, idx, 63, "sample"), rtol=1e-13)
    for lags in (1, 5, 20):
        assert (portfolio_variance(w, r, idx, 63, "newey_west", newey_west_lags=lags) >= 0).all()
    cfg0 = RiskTargetingConfig(estimator="newey_west", newey_west_lags=0)
    a = RiskTargeting(cfg0).apply(w, r, idx)
    b = RiskTargeting(RiskTargetingConfig(estimator="sample")).apply(w, r, idx)
    np.testing.assert_allclose(a.weights, b.weights, rtol=1e-12)


def test_newey_west_sees_serial_correlation():
    rng = np.random.default_rng(5)
    e = rng.standard_normal(1002) * 0.01
    r = ((e[2:] + e[1:-1] + e[:-2]) / 3)[:, None]           # positively autocorrelated
    idx, w = np.array([999]), np.ones((1, 1))
    ratio = portfolio_variance(w, r, idx, 900, "newey_west", newey_west_lags=5)[0] / portfolio_variance(w, r, idx, 900)[0]
    # 3-session average: ρ₁ = 2/3, ρ₂ = 1/3; Bartlett weights 5/6, 4/6 → 1 + 2(5/6·2/3 + 4/6·1/3) ≈ 2.56
    assert ratio == pytest.approx(1 + 2 * (5 / 6 * 2 / 3 + 4 / 6 * 1 / 3), rel=0.1)


def test_config_rejects_lags_not_below_lookback():
    with pytest.raises(ValueError, match="newey_west_lags"):
        RiskTargetingConfig(estimator="newey_west", vol_lookback=10, newey_west_lags=10)
    with pytest.raises(InputError, match="newey_west_lags"):
        load_config("core").with_(**{"risk_targeting.estimator": "newey_west", "risk_targeting.newey_west_lags": 63})
    RiskTargetingConfig(vol_lookback=5)  # the lags of an estimator not in use are not checked


# --------------------------------------------------------------------------- realised vs ex-ante

def test_held_values_follow_the_execution_lag():
    np.testing.assert_array_equal(held_values(np.array([1.0, 2.0]), np.array([0, 2]), 1, 5), [np.nan, 1, 1, 2, 2])


def test_block_sums_and_horizon_check_by_hand():
    np.testing.assert_array_equal(block_sums(np.arange(7.0), 3), [3.0, 12.0])      # tail (6) dropped
    net = np.array([0.01, 0.01, -0.02, 0.00, 0.03, -0.01])
    var = np.full(6, 1e-4)                                                        # σ = 1 % a day
    r = horizon_check(net, var, 2)
    s = np.array([0.02, -0.02, 0.02])
    assert r["blocks"] == 3 and r["sessions"] == 2
    assert r["realised_vol"] == pytest.approx(np.std(s, ddof=1) * np.sqrt(252 / 2))
    assert r["ex_ante_vol"] == pytest.approx(0.01 * np.sqrt(252))                # σ·√h annualised with 252/h
    assert r["ratio"] == pytest.approx(r["realised_vol"] / r["ex_ante_vol"])
    assert r["bias"] == pytest.approx(np.std(s / np.sqrt(2e-4), ddof=1))
    assert np.isnan(horizon_check(net[:2], var[:2], 2)["ratio"])                  # < 2 blocks


def test_forecast_right_for_iid_and_low_at_long_horizons_for_correlated_pnl():
    rng = np.random.default_rng(2)
    n = 21 * 2000
    iid = rng.standard_normal(n) * 0.01
    var_at_reb = np.array([0.01 ** 2 * 252])
    out = risk_forecast_check(iid, var_at_reb, np.array([0]), 0, 0)
    for h in out.values():
        assert h["ratio"] == pytest.approx(1.0, abs=0.06)
    e = rng.standard_normal(n + 1)
    ar = (e[1:] + 0.5 * e[:-1]) * 0.01 / np.sqrt(1.25)                          # daily σ 1 %, ρ₁ = 0.4
    out = risk_forecast_check(ar, var_at_reb, np.array([0]), 0, 0)
    assert out["daily"]["ratio"] == pytest.approx(1.0, abs=0.05)
    assert out["monthly"]["ratio"] == pytest.approx(np.sqrt(1 + 2 * 0.4 * 20 / 21), abs=0.1)   # ≈ 1.34


def test_core_run_records_the_risk_forecast_and_data_quality(short_runs):
    from macrostack.runs.artifacts import read_json

    m = read_json(short_runs["core"] / "manifest.json")
    h = m["risk_forecast"]["horizons"]
    assert m["risk_forecast"]["estimator"] == "sample" and set(h) == {"daily", "weekly", "monthly"}
    assert all(0.5 < v["ratio"] < 2.5 and v["blocks"] > 10 for v in h.values())
    f = m["data_quality"]["flagged_pnl"]
    assert 0 <= f["abs_share"] <= 1 and m["data_quality"]["excluded"] == {}
    assert {"thresholds", "decades", "instruments"} <= set(m["data_quality"])
