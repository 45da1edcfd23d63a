"""The whole rebalance cycle on synthetic data: no look-ahead at any stage, determinism."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from macrostack.config import parse_config
from macrostack.simulate import simulate
from tests.synthetic import market, random_returns


def config(mode="compute", holding="constant", buffer=0.0, schedule="W-FRI"):
    return parse_config({
        "data": {"dataset": "synthetic", "schedule": schedule},
        "risk_targeting": {"vol_lookback": 20},
        "allocator": {"mode": mode, "profile": "M"},
        "execution": {"holding": holding, "no_trade_buffer": buffer, "instrument_cap": 3.0},
    })


@settings(max_examples=12, deadline=None)
@given(st.integers(0, 10_000), st.integers(400, 470), st.sampled_from(["constant", "drift"]),
       st.sampled_from([0.0, 0.05]))
def test_no_look_ahead_at_any_stage(seed, t, holding, buffer):
    """Changing data after session t changes no weight decided at or before t (every stage),
    no allocator scalar at or before t, and no held weight or P&L on sessions <= t."""
    r = random_returns(seed, t=480, n=3, vol=0.015)
    cfg = config(holding=holding, buffer=buffer)
    base = simulate(cfg, market(r, cost=0.0005))
    r2 = r.copy()
    r2[t + 1:] = np.random.default_rng(seed + 7).normal(0, 0.06, r2[t + 1:].shape)
    other = simulate(cfg, market(r2, cost=0.0005))
    decided = base.rebalance_idx <= t
    assert decided.sum() > 0
    for stage, w in base.stages.items():
        np.testing.assert_array_equal(other.stages[stage][decided], w[decided], err_msg=stage)
    for layer, diag in base.layers.items():
        for name, values in diag.items():
            np.testing.assert_array_equal(other.layers[layer][name][decided], values[decided], err_msg=name)
    np.testing.assert_array_equal(other.held[: t + 1], base.held[: t + 1])
    np.testing.assert_array_equal(other.daily["net"][: t + 1], base.daily["net"][: t + 1])


def test_simulation_is_deterministic_and_weights_are_live_after_warmup():
    r = random_returns(3, t=480, n=4)
    a = simulate(config(), market(r, cost=0.001))
    b = simulate(config(), market(r, cost=0.001))
    for stage in a.stages:
        assert np.array_equal(a.stages[stage], b.stages[stage])
    assert np.array_equal(a.daily["net"], b.daily["net"])
    assert np.abs(a.stages["w_exec"][-5:]).sum() > 0
    assert a.ready_index > 378  # nothing is held before the trend signal is ready


def test_precomputed_scalars_replay_bit_identically():
    r = random_returns(5, t=480, n=4, vol=0.02)
    computed = simulate(config("compute"), market(r, cost=0.001))
    replay = simulate(parse_config({**config("off").resolved(),
                                    "allocator": {"mode": "precomputed", "precomputed_run": "x", "profile": "M"}}),
                      market(r, cost=0.001), computed.layers["allocator"]["scalar_at_rebalance"])
    for stage in ("w_rt", "w_alloc", "w_exec"):
        assert np.array_equal(replay.stages[stage], computed.stages[stage])
    assert np.array_equal(replay.daily["net"], computed.daily["net"])


def test_defect8_allocator_state_is_daily_even_with_monthly_rebalances():
    """Defect 8: the allocator reads the daily net series, not rebalance-period returns."""
    r = random_returns(9, t=480, n=3, vol=0.02)
    led = simulate(config(schedule="M"), market(r))
    rvol = led.daily["allocator_port_rvol_20"]
    net = led.daily["net"]
    d = len(net) - 1
    assert rvol[d] == pytest.approx(np.std(net[d - 19: d + 1], ddof=1) * np.sqrt(252), rel=1e-12)


def test_sanity_gate_sign_only_equal_weight_by_hand():
    """The sanity check's P&L is Σ sign(s)/n · r from the next session, by hand on real numbers."""
    from macrostack.config import load_config
    from macrostack.sanity import sanity_check

    rng = np.random.default_rng(11)
    r = rng.normal(0, 0.01, (700, 2)) + np.array([0.001, -0.001])  # one up-, one down-trend
    res = sanity_check(load_config("trend_only"), "trend", market(r))
    assert res["sharpe_gross"] > 1.0  # long the riser, short the faller
    assert res["sharpe_net"] == res["sharpe_gross"]  # zero costs in this market


def _with_contracts(md, seed):
    """`md` with contract prices (a random walk from 100), FX 1 and point sizes, for contract rounding."""
    from dataclasses import replace

    rng = np.random.default_rng(seed)
    t, n = md.returns.shape
    price = 100.0 * np.cumprod(1.0 + rng.normal(0, 0.01, (t, n)), axis=0)
    price[: 30, 0] = np.nan  # no contract price yet: that instrument gets 0
    instruments = md.instruments.assign(point_size=rng.choice([10.0, 50.0, 1000.0], n))
    return replace(md, panels={**md.panels, "price": price, "fx": np.ones((t, n))}, instruments=instruments)


def _reference_execution(c, j, w_alloc, w_prev, notional=None, nav=None, events=None):
    """Layer 7's rule in numpy, step by step (`layers.execution` docstring), independent of the
    compiled kernel: the oracle of the loop's executed weights and events."""
    w = w_alloc.copy()

    def record(after, reason):
        changed = np.flatnonzero((after != w) & ~(np.isnan(after) & np.isnan(w)))
        events.extend((j, int(i), float(w[i]), float(after[i]), reason) for i in changed)
        return after

    if c.instrument_cap is not None:
        w = record(np.minimum(np.maximum(w, -c.instrument_cap), c.instrument_cap), "instrument_cap")
    if c.gross_cap is not None:
        gross = sum(abs(float(x)) for x in w)  # index order, as the rule sums
        if gross > c.gross_cap:
            w = record(w * (c.gross_cap / gross), "gross_cap")
    if c.no_trade_buffer > 0:
        small = (np.abs(w - w_prev) < c.no_trade_buffer) & (w != w_prev)
        w = record(np.where(small, w_prev, w), "no_trade_buffer")
    if c.capital is not None:
        ok = np.isfinite(notional) & (notional > 0)
        contracts = np.where(ok, np.round(w * nav / np.where(ok, notional, 1.0)), 0.0)
        w = record(contracts * np.where(ok, notional, 0.0) / nav, "contract_rounding")
    return w


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(["constant", "drift"]), st.sampled_from([0.0, 0.03]),
       st.sampled_from([None, 1.5, 0.6]), st.sampled_from(["compute", "off"]), st.sampled_from(["W-FRI", "M"]),
       st.booleans())
def test_compiled_loop_is_the_layers_step_by_step(seed, holding, buffer, gross_cap, mode, schedule, contracts):
    """The compiled rebalance loop (`kernels.book`) against its definition, step by step with the
    Python API of each layer on the ledger's own P&L: the scalar at t_j is an `Allocator` advanced
    through t_j on the net P&L (exactly), `w_alloc = w_rt · s[t_{j−1}]` (exactly), `w_exec` and the
    events are the numpy rule's (`_reference_execution`; exactly, to rounding of the NAV under
    contract rounding), net = gross − cost exactly, and
    each period's P&L is `pnl.period_pnl`'s (to rounding: the loop sums in index order, not BLAS's)."""
    from macrostack.layers.allocator.profiles import get_profile
    from macrostack.layers.allocator.regime import Allocator
    from macrostack.layers.allocator.state import CORR_LONG, CORR_SHORT, mean_pairwise_correlations
    from macrostack.pnl import booked_returns, period_bounds, period_pnl

    raw = config(mode, holding, buffer, schedule).resolved()
    raw["execution"]["gross_cap"] = gross_cap
    raw["execution"]["capital"] = 3e6 if contracts else None
    cfg = parse_config(raw)
    md = market(random_returns(seed, t=480, n=4, vol=0.02), cost=0.001)
    md = _with_contracts(md, seed) if contracts else md
    led = simulate(cfg, md)
    reb, net, t_all = led.rebalance_idx, led.daily["net"], len(md.dates)
    w_rt, w_alloc, w_exec = led.stages["w_rt"], led.stages["w_alloc"], led.stages["w_exec"]
    applied, at = led.layers["allocator"]["scalar_applied"], led.layers["allocator"]["scalar_at_rebalance"]
    if mode == "compute":
        corr = mean_pairwise_correlations(md.returns, (CORR_SHORT, CORR_LONG))
        active = np.flatnonzero(np.abs(w_rt).sum(axis=1) > 0)
        start = int(min(reb[active[0]] + cfg.execution.lag, t_all)) if len(active) else t_all
        allocator = Allocator(get_profile("M"), t_all, corr[CORR_SHORT], corr[CORR_LONG], start=start)
    events = []
    equity, s_prev = np.cumprod(1.0 + net), 1.0
    for j, t in enumerate(reb.tolist()):
        if mode == "compute":
            allocator.update(net, t)
            assert at[j] == allocator.scalar_at(t) and applied[j] == s_prev
            s_prev = at[j]
        else:
            assert at[j] == 1.0 and applied[j] == 1.0
        np.testing.assert_array_equal(w_alloc[j], w_rt[j] * applied[j])
        prev = w_exec[j - 1] if j else np.zeros(md.returns.shape[1])
        if contracts:
            notional = md.panels["price"][t] * md.instruments["point_size"].to_numpy()
            np.testing.assert_allclose(_reference_execution(cfg.execution, j, w_alloc[j], prev, notional,
                                                            3e6 * equity[t], events), w_exec[j], rtol=1e-12, atol=1e-15)
        else:
            np.testing.assert_array_equal(_reference_execution(cfg.execution, j, w_alloc[j], prev, events=events),
                                          w_exec[j])
    if not contracts:
        assert list(zip(*led.events.values())) == events
    np.testing.assert_array_equal(led.daily["net"], led.daily["gross"] - led.daily["cost"])
    np.testing.assert_array_equal(led.daily["gross_exposure"], np.abs(led.held).sum(axis=1))
    np.testing.assert_array_equal(led.daily["net_exposure"], led.held.sum(axis=1))
    r0, c0 = booked_returns(md.returns), booked_returns(md.field("cost"))
    w_before = np.zeros(md.returns.shape[1])
    for j, (a, b) in enumerate(period_bounds(reb, cfg.execution.lag, t_all).tolist()):
        if a >= b:
            continue
        p = period_pnl(w_exec[j], w_before, r0[a:b], c0[a], holding)
        np.testing.assert_allclose(led.held[a:b], np.broadcast_to(p.held, (b - a, len(w_before))), rtol=0, atol=1e-15)
        np.testing.assert_allclose(led.daily["gross"][a:b], p.gross, rtol=0, atol=1e-15)
        assert led.daily["cost"][a] == pytest.approx(p.cost, abs=1e-17)
        assert led.daily["traded"][a] == pytest.approx(p.traded, abs=1e-15)
        w_before = p.w_end


def test_a_memo_that_drops_the_correlations_midway_still_simulates():
    """The correlations start on a thread only when the memo lacks them after the engines; a small
    memo can drop them again before the allocator asks (regression: this crashed). Same results."""
    from macrostack.memo import Memo

    md = market(random_returns(3, t=480, n=4), cost=0.001)
    raws = [config().resolved() for _ in range(3)]
    for raw, z in zip(raws, (3.0, 2.5, 2.0)):
        raw["sleeves"]["trend"]["params"]["z_clip"] = z
    for budget in (30_000, 32_000, 34_000):
        memo = Memo(budget_bytes=budget)
        for raw in raws:
            cfg = parse_config(raw)
            np.testing.assert_array_equal(simulate(cfg, md, memo=memo).daily["net"], simulate(cfg, md).daily["net"])


def test_column_major_or_float32_panels_simulate_like_the_usual_ones():
    """Panels from `DataFrame.to_numpy()` may be column-major or float32: they simulate (the loop's
    kernel takes C-ordered float64, made for it), to the results of C-ordered float64 panels of the
    same values (to rounding: BLAS sums column-major data in another order upstream)."""
    from dataclasses import replace

    md = market(random_returns(4, t=480, n=4), cost=0.001)
    base = simulate(config(), md)
    fortran = simulate(config(), replace(md, panels={k: np.asfortranarray(v) for k, v in md.panels.items()}))
    np.testing.assert_allclose(fortran.daily["net"], base.daily["net"], rtol=0, atol=1e-15)
    single = {k: v.astype(np.float32) for k, v in md.panels.items()}
    as_double = simulate(config(), replace(md, panels={k: v.astype(float) for k, v in single.items()}))
    np.testing.assert_allclose(simulate(config(), replace(md, panels=single)).daily["net"], as_double.daily["net"],
                               rtol=0, atol=1e-15)
