"""Layers 2–4 and exact sleeve attribution: hand cases, no look-ahead, identity."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from macrostack.attribution import RESIDUAL, attribute, sleeve_contributions
from macrostack.config import ConstructionConfig, GateConfig, OverlayConfig, PolicyConfig, parse_config
from macrostack.errors import InputError
from macrostack.layers.construction import _erc, mixing_panel
from macrostack.layers.overlay import overlay_tilts
from macrostack.layers.policy import gate_feature, gate_values, sleeve_gates, trailing_percentile
from macrostack.simulate import simulate
from tests.synthetic import market, random_returns


def test_trailing_percentile_by_hand():
    x = np.array([1.0, 3.0, 2.0, 5.0, 4.0])
    np.testing.assert_array_equal(trailing_percentile(x, 3), [np.nan, np.nan, 2 / 3, 1.0, 2 / 3])


def test_binary_and_throttle_gates():
    g = GateConfig(sleeve="t", feature="realised_vol_percentile", symbol="S0", threshold=0.9)
    np.testing.assert_array_equal(gate_values(g, np.array([0.5, 0.9, 1.0, np.nan])), [1, 0, 0, 1])
    th = GateConfig(sleeve="t", feature="realised_vol_percentile", symbol="S0", threshold=0.8, mode="throttle", full_off=1.0)
    np.testing.assert_allclose(gate_values(th, np.array([0.5, 0.8, 0.9, 1.0])), [1, 1, 0.5, 0])


def test_gate_is_applied_one_rebalance_later():
    r = random_returns(1, t=400, n=2, vol=0.01)
    r[300:310, 0] = 0.08 * np.array([1, -1] * 5)  # a volatility spike in S0
    md = market(r)
    reb = np.arange(280, 400, 5)
    cfg = PolicyConfig(gates=[GateConfig(sleeve="t", feature="realised_vol_percentile", symbol="S0", threshold=0.95)])
    applied, diag = sleeve_gates(cfg, ["t"], md, reb)
    decided = diag["gate0:t:decided"]
    assert decided.min() == 0.0                      # the spike closes the gate
    np.testing.assert_array_equal(applied["t"][1:], decided[:-1])
    assert applied["t"][0] == 1.0


def test_term_structure_inversion_uses_the_vol_carry_next_contract():
    """(P_front − P_next)/P_next with the next contract as vol carry picks it: FORWARD when later
    than the held contract, else CARRY when later; no later contract → NaN (gate open)."""
    md = market(random_returns(2, t=4, n=1))
    m = 2024 * 12 + 1                                   # held contract month
    md.panels.update({
        "price": np.array([[20.0], [20.0], [20.0], [20.0]]),
        "price_contract": np.full((4, 1), float(m)),
        "carry": np.array([[19.0], [16.0], [18.0], [18.0]]),
        "carry_contract": np.array([[m - 1], [m + 1], [m + 1], [m - 1]], dtype=float),
        "forward": np.array([[22.0], [np.nan], [25.0], [21.0]]),
        "forward_contract": np.array([[m + 1], [m + 2], [m + 2], [m - 2]], dtype=float),
    })
    gate = GateConfig(sleeve="t", feature="term_structure_inversion", symbol="S0", threshold=0.0)
    got = gate_feature(gate, md)
    np.testing.assert_allclose(got[:3], [(20 - 22) / 22, (20 - 16) / 16, (20 - 25) / 25])
    assert np.isnan(got[3])


def test_policy_gate_needs_its_symbol():
    cfg = PolicyConfig(gates=[GateConfig(sleeve="t", feature="realised_vol_percentile", symbol="ES")])
    with pytest.raises(InputError, match="not in the universe"):
        sleeve_gates(cfg, ["t"], market(random_returns(0, t=50, n=2)), np.array([10, 20]))


def test_overlay_tilts_bounded_dated_logged(tmp_path):
    f = tmp_path / "tilts.csv"
    f.write_text("start,end,scope,target,tilt,reason\n"
                 "2000-01-10,2000-01-20,asset_class,Rates,0.5,central bank meeting\n"
                 "2000-01-03,2000-01-31,sleeve,trend,1.2,conviction\n")
    dates = pd.bdate_range("2000-01-03", periods=25).to_numpy()[::5]
    sleeve_t, inst_t, log = overlay_tilts(OverlayConfig(file=str(f)), ["trend"], ("A", "B"), {"A": "Rates", "B": "FX"}, dates)
    np.testing.assert_array_equal(sleeve_t["trend"], [1.2] * 5)
    on = (dates >= np.datetime64("2000-01-10")) & (dates <= np.datetime64("2000-01-20"))
    np.testing.assert_array_equal(inst_t[:, 0], np.where(on, 0.5, 1.0))
    assert (inst_t[:, 1] == 1.0).all() and set(log["reason"]) == {"central bank meeting", "conviction"}
    f.write_text("start,end,scope,target,tilt,reason\n2000-01-10,2000-01-20,symbol,A,3.0,yolo\n")
    with pytest.raises(InputError, match="row 1: tilt 3.0 outside"):
        overlay_tilts(OverlayConfig(file=str(f)), ["trend"], ("A", "B"), {"A": "Rates", "B": "FX"}, dates)
    f.write_text("start,end,scope,target,tilt,reason\n2000-01-10,2000-01-20,symbol,Z,1.1,x\n")
    with pytest.raises(InputError, match="unknown symbol 'Z'"):
        overlay_tilts(OverlayConfig(file=str(f)), ["trend"], ("A", "B"), {"A": "Rates", "B": "FX"}, dates)


def test_overlay_bounds_must_admit_no_tilt():
    """The bounds clip every weight's tilt product, untilted ones (1) too: bounds that exclude 1
    would tilt the whole book without a tilt row, so they are refused."""
    for bounds in ({"min_tilt": 1.1, "max_tilt": 1.5}, {"min_tilt": 0.2, "max_tilt": 0.9}):
        with pytest.raises(InputError, match="overlay.*min_tilt must be <= 1 <= max_tilt"):
            parse_config({"overlay": bounds})
    parse_config({"overlay": {"min_tilt": 1.0, "max_tilt": 1.0}})


def test_erc_equalises_risk_contributions():
    cov = np.array([[[0.04, 0.01, 0.0], [0.01, 0.09, 0.02], [0.0, 0.02, 0.01]]])
    w = _erc(cov, np.full(3, 1 / 3))[0]
    rc = w * (cov[0] @ w)
    np.testing.assert_allclose(rc / rc.sum(), [1 / 3] * 3, atol=1e-10)
    assert w.sum() == pytest.approx(1.0)


def test_inverse_vol_mixing_weights_the_quieter_sleeve_more():
    rng = np.random.default_rng(3)
    r = rng.normal(0, 0.01, (300, 2))
    reb = np.arange(10, 300, 5)
    loud = np.tile([[2.0, 0.0]], (len(reb), 1))
    quiet = np.tile([[0.0, 0.5]], (len(reb), 1))
    om = mixing_panel(ConstructionConfig(method="inverse_vol", lookback=60), {"a": 1.0, "b": 1.0},
                      {"a": loud, "b": quiet}, r, reb)
    assert om["a"][0] == 0.5                       # not enough history: static budgets
    assert om["b"][-1] == pytest.approx(0.8, abs=0.05) and om["a"][-1] + om["b"][-1] == pytest.approx(1.0)


def two_sleeve_config(holding="constant", buffer=0.0, method="static"):
    return parse_config({
        "data": {"dataset": "synthetic"},
        "sleeves": {"trend": {"engine": "trend", "weight": 0.6}, "fast": {"engine": "trend", "weight": 0.4,
                    "params": {"horizons": {"long": 0.0, "medium": 0.0, "short": 1.0}}}},
        "construction": {"method": method, "lookback": 40},
        "risk_targeting": {"vol_lookback": 20},
        "allocator": {"mode": "compute", "profile": "L"},
        "execution": {"holding": holding, "no_trade_buffer": buffer, "instrument_cap": 2.0},
    })


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 1000), st.sampled_from(["constant", "drift"]), st.sampled_from([0.0, 0.03]),
       st.sampled_from(["static", "erc"]))
def test_sleeves_plus_residual_equal_the_portfolio(seed, holding, buffer, method):
    r = random_returns(seed, t=480, n=4, vol=0.015)
    md = market(r, cost=0.0007)
    led = simulate(two_sleeve_config(holding, buffer, method), md)
    contrib = sleeve_contributions(led.sleeve_pre, led.stages["w_pre"], led.layers["risk_targeting"]["leverage"],
                                   led.layers["allocator"]["scalar_applied"])
    np.testing.assert_allclose(sum(contrib.values()), led.stages["w_alloc"], atol=1e-12)
    parts = attribute(contrib, led.stages["w_exec"], led.rebalance_idx, md.returns, md.field("cost"), 1, holding)
    assert set(parts) == {"trend", "fast", RESIDUAL}
    for key in ("gross", "cost", "net"):
        total = sum(p[key] for p in parts.values())
        np.testing.assert_allclose(total, led.daily[key], atol=1e-12, rtol=0)
    if buffer == 0.0:  # without non-linear execution events the residual is (numerically) nothing
        if not led.events["reason"]:
            assert np.abs(parts[RESIDUAL]["net"]).max() < 1e-12


def test_inert_sleeve_is_reported_or_fails_when_required():
    md = market(random_returns(2, t=480, n=3))
    raw = {"data": {"dataset": "synthetic"}, "risk_targeting": {"vol_lookback": 20}, "allocator": {"mode": "off"},
           "sleeves": {"trend": {"engine": "trend"}, "carry": {"engine": "carry", "weight": 0.5, "required": False}}}
    led = simulate(parse_config(raw), md)
    assert led.statuses["sleeve:carry"] == "inert" and led.statuses["sleeve:trend"] == "effective"
    assert "price" in led.inert["carry"] and "pysystemtrade" in led.inert["carry"]
    assert "sleeve:carry" not in led.stages  # no silent zero sleeve in the ledger
    raw["sleeves"]["carry"]["required"] = True
    with pytest.raises(InputError, match="sleeve 'carry' \\(carry\\) is INERT"):
        simulate(parse_config(raw), md)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 1000), t=st.integers(400, 470))
def test_policy_and_overlay_have_no_look_ahead(tmp_path_factory, seed, t):
    tilts = tmp_path_factory.mktemp("ov") / "tilts.yaml"
    tilts.write_text("tilts:\n  - {start: 2001-06-01, end: 2001-09-28, scope: symbol, target: S1, tilt: 0.6, reason: test}\n"
                     "  - {start: 2001-07-02, end: 2001-12-31, scope: sleeve, target: trend, tilt: 1.3, reason: test}\n")
    raw = {"data": {"dataset": "synthetic"}, "risk_targeting": {"vol_lookback": 20},
           "allocator": {"mode": "compute"}, "overlay": {"file": str(tilts)},
           "policy": {"gates": [{"sleeve": "trend", "feature": "realised_vol_percentile", "symbol": "S0",
                                 "threshold": 0.7, "mode": "throttle", "full_off": 1.0}]}}
    cfg = parse_config(raw)
    r = random_returns(seed, t=480, n=3, vol=0.015)
    base = simulate(cfg, market(r))
    r2 = r.copy()
    r2[t + 1:] *= 4.0
    other = simulate(cfg, market(r2))
    decided = base.rebalance_idx <= t
    for stage in ("w_pre", "w_rt", "w_alloc", "w_exec"):
        np.testing.assert_array_equal(other.stages[stage][decided], base.stages[stage][decided])
    for name, v in base.layers["policy"].items():
        np.testing.assert_array_equal(other.layers["policy"][name][decided], v[decided])
    assert base.statuses["policy"] == "effective" and base.statuses["overlay"] == "effective"
    assert len(base.overlay_log)
