"""The rebalance cycle: engines → construction → risk targeting → allocator → execution → P&L.

Layers that do not need their own past (engines, sleeve sizing, construction, risk
targeting) run vectorised over all rebalances at once. The allocator and execution run in
one loop over rebalances because the allocator's state is read from the net P&L that its
own earlier decisions produced; the loop is compiled (`kernels.book.book_rebalances`), with
no Python between rebalances. At rebalance j the loop:

1. books the P&L of the holding period of rebalance j−1 (sessions `t_{j−1}+L … t_j+L−1`;
   weights decided before t_j, so the P&L through t_j is known);
2. advances the allocator's daily state through session t_j (reads net[:t_j+1] only);
3. applies the scalar of the previous rebalance: `w_alloc[j] = w_rt[j] · s[t_{j−1}]`;
4. executes (caps, buffer) and records every weight in the Ledger.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from macrostack.config import StackConfig
from macrostack.data.market import MarketData, ffill
from macrostack.engines import CONTRACT_DATA_HINT, ENGINES
from macrostack.errors import InputError
from macrostack.memo import Memo, cached
from macrostack.layers import construction, overlay, policy, sleeves
from macrostack.layers.allocator.profiles import get_profile
from macrostack.layers.allocator.regime import Allocator
from macrostack.layers.allocator.state import CORR_LONG, CORR_SHORT, VOL_LONG, mean_pairwise_correlations
from macrostack.kernels import kernel
from macrostack.kernels.book_layout import RULE_LENGTH, SCALAR_COMPUTE, SCALAR_OFF, SCALAR_PRECOMPUTED
from macrostack.layers.execution import STEPS, ExecutionEvents, execution_params
from macrostack.layers.risk_targeting import RiskTargeting
from macrostack.pnl import booked_returns, period_bounds

@dataclass
class Ledger:
    """Everything a run decided: weights per stage per rebalance, diagnostics, daily P&L."""
    dates: np.ndarray                 # sessions, datetime64[D]
    symbols: tuple[str, ...]
    rebalance_idx: np.ndarray         # [R] session index of each rebalance
    stages: dict[str, np.ndarray]     # stage → [R, N]
    layers: dict[str, dict[str, np.ndarray]]  # layer → diagnostic → [R] (or [T] for daily ones)
    daily: dict[str, np.ndarray]      # gross, cost, net, traded … [T]
    held: np.ndarray                  # [T, N] weights used for P&L
    events: dict[str, list]           # execution constraint events
    ready_index: int                  # first session that holds weights from a ready stack
    timings: dict[str, float] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)
    sleeve_pre: dict[str, np.ndarray] = field(default_factory=dict)  # each sleeve's part of w_pre [R, N]
    inert: dict[str, str] = field(default_factory=dict)              # INERT sleeve → why and how to fix
    notes: dict[str, str] = field(default_factory=dict)              # effective sleeve → what its data stands for
    overlay_log: object = None                                       # applied tilts (DataFrame)

    @property
    def rebalance_dates(self) -> np.ndarray:
        return self.dates[self.rebalance_idx]


def warmup_needs(cfg: StackConfig) -> dict[str, int]:
    """Sessions of history each component needs before it is ready, keyed by its config key."""
    needs = {f"sleeves.{name}": ENGINES[s.engine].lookback(s.params) for name, s in cfg.sleeves.items() if s.weight > 0}
    needs["risk_targeting.vol_lookback"] = cfg.risk_targeting.vol_lookback
    if cfg.construction.method != "static":
        needs["construction.lookback"] = cfg.construction.lookback
    needs["allocator"] = max(VOL_LONG, CORR_LONG)  # its longest state window
    return needs


def warmup_sessions(cfg: StackConfig) -> int:
    """Sessions of history every component needs before `start` (the largest lookback)."""
    return max(warmup_needs(cfg).values()) + 1


def check_history(cfg: StackConfig, md: MarketData) -> None:
    """Refuse data too short to warm up the slowest component, naming it and what it needs.

    With `data.start`, the sessions before start must cover the warm-up (else the run would
    start later than asked); without it, the data must hold at least one session after it."""
    key, need = max(warmup_needs(cfg).items(), key=lambda kv: kv[1])
    warmup = need + 1
    sc = cfg.sleeves.get(key.removeprefix("sleeves."))
    who = f"sleeve {key.removeprefix('sleeves.')!r} ({sc.engine})" if key.startswith("sleeves.") and sc else key
    shorten = "the allocator's state windows are fixed" if key == "allocator" else f"or shorten the lookback of {key}"
    if cfg.data.start is None:
        if md.n_sessions > warmup:
            return
        raise InputError(f"{who} needs {warmup} sessions of history, but dataset {md.dataset!r} has {md.n_sessions} "
                         f"({md.dates[0]} → {md.dates[-1]})", key, f"use a dataset with more history, {shorten}")
    if md.start_index >= warmup:
        return
    later = f"start on or after {md.dates[warmup]}" if md.n_sessions > warmup else \
        f"start (and end) at least {warmup} sessions after {md.dates[0]}"
    raise InputError(f"{who} needs {warmup} sessions of history before start {cfg.data.start}, but dataset "
                     f"{md.dataset!r} has {md.start_index} (from {md.dates[0]})", "data.start", f"{later}, {shorten}")


def contract_notional(md: MarketData, rebalance_idx: np.ndarray) -> np.ndarray:
    """USD value of one contract [R, N]: held price (carried forward) × point size × FX."""
    point = md.instruments["point_size"].to_numpy(dtype=float)
    lacking = [s for s, p in zip(md.symbols, point) if not (np.isfinite(p) and p > 0)]
    if lacking or "price" not in md.panels or "fx" not in md.panels:
        raise InputError(f"contract rounding needs point sizes and contract prices; dataset {md.dataset!r} lacks them"
                         f"{' for ' + ', '.join(lacking[:5]) if lacking else ''}", "execution.capital",
                         "remove execution.capital, or use a contract-level dataset (pysystemtrade)")
    price = ffill(md.panels["price"])[rebalance_idx]
    return price * point[None, :] * md.panels["fx"][rebalance_idx]


def _inert(name: str, sc, why: str, hint: str, statuses: dict, notes: dict) -> None:
    message = f"sleeve {name!r} ({sc.engine}) is INERT: {why}"
    if sc.required:
        raise InputError(message, f"sleeves.{name}", f"{hint}, or set required: false")
    statuses[f"sleeve:{name}"] = "inert"
    notes[name] = f"{why}; {hint}"


def _exposures(held: np.ndarray, w_exec: np.ndarray, bounds: np.ndarray, holding: str) -> dict[str, np.ndarray]:
    """Gross `Σ|w|` and net `Σw` of the held weights per session. Under constant holding a period's
    sessions all hold its executed weights: their sums, repeated (the same bits, without two passes
    over the held panel)."""
    if holding != "constant":
        return {"gross_exposure": np.abs(held).sum(axis=1), "net_exposure": held.sum(axis=1)}
    out = {"gross_exposure": np.zeros(len(held)), "net_exposure": np.zeros(len(held))}
    lengths = bounds[:, 1] - bounds[:, 0]
    if len(bounds):  # consecutive periods from the first one's start
        a = bounds[0, 0]
        for name, per_period in (("gross_exposure", np.abs(w_exec).sum(axis=1)), ("net_exposure", w_exec.sum(axis=1))):
            filled = np.repeat(per_period, lengths)
            out[name][a: a + len(filled)] = filled
    return out


def simulate(cfg: StackConfig, md: MarketData, precomputed_scalars: np.ndarray | None = None,
             on_stage: Callable[[str], None] | None = None, memo: Memo | None = None) -> Ledger:
    """Run the stack over `md` and return the Ledger. See the module docstring for the cycle.
    `on_stage(name)` is told when each stage starts (for a progress display); `memo` (bound to
    `md`) shares the data-only stages between the configs of a sweep (`macrostack.memo`)."""
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    tell = on_stage or (lambda name: None)

    def lap(name: str, then: str | None = None) -> None:
        """Close stage `name` (its seconds go to `timings`); `then` is the stage that starts."""
        nonlocal clock
        now = time.perf_counter()
        timings[name] = timings.get(name, 0.0) + now - clock
        clock = now
        if then:
            tell(then)

    tell("instrument vol")

    returns, costs = md.returns, md.field("cost")
    n_sessions, n = returns.shape
    reb = md.rebalances(cfg.data.schedule)
    if len(reb) == 0:
        raise InputError("no rebalance sessions in the chosen period", "data.start/end", "widen the date range")

    # Layer 1: engines → signals; signal → sleeve weights at unit risk.
    schedule, signals_cfg = cfg.data.schedule, cfg.signals.model_dump(mode="json")
    trad, vol = cached(memo, Memo.key("instrument_vol", signals_cfg, schedule),
                       lambda: (sleeves.tradable(returns, cfg.signals.stale_after, reb),
                                sleeves.instrument_vol(returns, cfg.signals, reb)))
    lap("instrument_vol", then="engines")
    stages: dict[str, np.ndarray] = {}
    statuses: dict[str, str] = {}
    inert_notes: dict[str, str] = {}
    sleeve_notes: dict[str, str] = {}
    signals: dict[str, np.ndarray] = {}
    runnable = {}
    for name, sc in cfg.sleeves.items():
        if sc.weight == 0:
            statuses[f"sleeve:{name}"] = "off"
            continue
        why = ENGINES[sc.engine].inert_reason(md, sc.params)
        if why:
            _inert(name, sc, why, CONTRACT_DATA_HINT, statuses, inert_notes)
            continue
        runnable[name] = sc
    # Engines are independent and their numpy/numba kernels release the GIL: one thread per
    # engine (measured on 2 cores: 3 threads 0.18 s, 2 threads 0.21 s, 1 thread 0.24 s for
    # core). Results are gathered by name, so the outcome does not depend on scheduling.
    signal_key = {name: Memo.key("signal", sc.engine, sc.params.model_dump(mode="json"), schedule)
                  for name, sc in runnable.items()}
    todo = {name: sc for name, sc in runnable.items() if memo is None or signal_key[name] not in memo}
    with ThreadPoolExecutor(max_workers=max(1, len(todo))) as pool:
        futures = {name: pool.submit(ENGINES[sc.engine].compute, md, sc.params, reb) for name, sc in todo.items()}
        fresh = {name: f.result() for name, f in futures.items()}
    computed = {name: cached(memo, signal_key[name], lambda name=name: fresh[name]) for name in runnable}
    lap("engines", then="sleeve sizing")
    # Returns as the P&L books them (missing = 0), once: the risk estimators' windows and the P&L.
    # Made after the engines, which do not read it: one panel less at their peak.
    returns0 = cached(memo, Memo.key("booked_returns"), lambda: booked_returns(returns))
    # The allocator's correlations read only the returns: they are computed on another thread
    # while the sleeves are sized and risk-targeted (numpy on mostly one core). The pool is shut
    # down at once: its thread ends when they are done, whatever happens here meanwhile.
    # A memo's copy is taken now: the memo may drop it (least recently used) before the allocator asks.
    corr_key = Memo.key("correlations", CORR_SHORT, CORR_LONG)
    corr_known = memo.get(corr_key, lambda: None) if memo is not None and corr_key in memo else None
    corr_soon = None
    if cfg.allocator.mode == "compute" and corr_known is None:
        background = ThreadPoolExecutor(max_workers=1)
        corr_soon = background.submit(mean_pairwise_correlations, returns, (CORR_SHORT, CORR_LONG))
        background.shutdown(wait=False)
    for name, sc in runnable.items():
        signal = computed[name]
        if not np.isfinite(signal).any():
            lookback = ENGINES[sc.engine].lookback(sc.params)
            _inert(name, sc, "its signal is never ready in this period (data too short or absent)",
                   f"its instruments need {lookback} sessions of history: widen the period or the universe",
                   statuses, inert_notes)
            continue
        signals[name] = signal
        statuses[f"sleeve:{name}"] = "effective"
        if ENGINES[sc.engine].note:
            sleeve_notes[name] = ENGINES[sc.engine].note
    if not signals:
        raise InputError("no sleeve is effective: every sleeve is off or INERT", "sleeves",
                         "enable a sleeve whose data the dataset has")
    rt_cfg = cfg.risk_targeting
    spread = {k for k in signals if ENGINES[cfg.sleeves[k].engine].sizing == "spread"}
    sleeve_w = cached(memo, Memo.key("sleeve_weights", [(k, signal_key[k]) for k in signals], signals_cfg,
                                     rt_cfg.vol_lookback, rt_cfg.estimator, rt_cfg.ewma_lambda, rt_cfg.newey_west_lags,
                                     schedule),
                      lambda: sleeves.sleeve_weights(signals, vol, trad, returns0, reb, cfg.signals, rt_cfg, spread=spread,
                                                     zero_filled=True))
    for name, w in sleeve_w.items():
        stages[f"signal:{name}"] = cached(memo, Memo.key("signal_stage", signal_key[name]),
                                          lambda name=name: np.nan_to_num(signals[name]))
        stages[f"sleeve:{name}"] = w
    lap("sleeve_sizing", then="policy → construction → overlay")

    # Layer 2: engine policy gates (lagged one rebalance); Layer 3: construction; Layer 4: overlay.
    gates, policy_diag = policy.sleeve_gates(cfg.policy, list(sleeve_w), md, reb)
    statuses["policy"] = "effective" if cfg.policy.gates else "off"
    omega = construction.mixing_panel(cfg.construction, {k: cfg.sleeves[k].weight for k in sleeve_w}, sleeve_w,
                                      returns, reb)
    asset_class_of = dict(zip(md.instruments["symbol"], md.instruments["asset_class"].fillna("Unknown")))
    sleeve_tilt, inst_tilt, overlay_log = overlay.overlay_tilts(cfg.overlay, list(sleeve_w), md.symbols,
                                                                asset_class_of, md.dates[reb])
    statuses["construction"] = "effective"
    statuses["overlay"] = "effective" if cfg.overlay.file else "off"
    sleeve_pre = {k: (omega[k] * gates[k] * sleeve_tilt[k])[:, None] * sleeve_w[k] * inst_tilt
                  for k in omega}
    w_pre = sum(sleeve_pre.values())
    construction_diag = {**{f"omega:{k}": v for k, v in omega.items()},
                         **{f"tilt:{k}": v for k, v in sleeve_tilt.items()}}
    lap("policy+construction+overlay", then="risk targeting")

    # Layer 5: risk targeting (vectorised over rebalances).
    rt = RiskTargeting(cfg.risk_targeting).apply(w_pre, returns0, reb, zero_filled=True)
    statuses["risk_targeting"] = "effective"
    lap("risk_targeting", then="allocator state" if cfg.allocator.mode == "compute" else "rebalance loop")

    # Layer 6 set-up.
    mode = cfg.allocator.mode
    allocator = None
    if mode == "compute":
        corr = corr_known if corr_known is not None else cached(memo, corr_key, corr_soon.result)
        # The allocator's windows start where the book is first held: the flat warm-up is not P&L history.
        active_rt = np.flatnonzero(np.abs(rt.weights).sum(axis=1) > 0)
        first_held = int(min(reb[active_rt[0]] + cfg.execution.lag, n_sessions)) if len(active_rt) else n_sessions
        allocator = Allocator(get_profile(cfg.allocator.profile), n_sessions, corr[CORR_SHORT], corr[CORR_LONG],
                              cfg.allocator.min_sessions_in_regime, start=first_held)
        lap("allocator_state", then="rebalance loop (allocator → execution → P&L)")
    elif mode == "precomputed":
        if precomputed_scalars is None or len(precomputed_scalars) != len(reb):
            raise InputError("precomputed scalars do not match this run's rebalances", "allocator.precomputed_run",
                             "replay a run with the same data, dates and schedule")
    statuses["allocator"] = mode if mode != "compute" else "effective"

    # The loop: allocator (needs its own past P&L) → execution → P&L, compiled (`kernels.book`).
    bounds = period_bounds(reb, cfg.execution.lag, n_sessions)
    notional = contract_notional(md, reb) if cfg.execution.capital is not None else np.zeros((0, n))
    # Costs are charged on each period's first session only: those rows, not a whole panel.
    pnl_costs = booked_returns(costs[np.minimum(bounds[:, 0], n_sessions - 1)])
    steps = np.zeros((len(STEPS) + 1, len(reb), n))
    held, daily_pnl, scalars = np.zeros((n_sessions, n)), np.zeros((4, n_sessions)), np.zeros((2, len(reb)))
    if allocator is not None:
        state = allocator.loop_state()
    else:
        empty = np.zeros(0)
        state = (np.zeros(RULE_LENGTH), empty, empty, empty, 0, np.zeros((0, 0)), empty, np.zeros((0, 0)), empty)
    precomputed = np.zeros(0) if precomputed_scalars is None else np.ascontiguousarray(precomputed_scalars, dtype=float)
    scalar_source = {"compute": SCALAR_COMPUTE, "precomputed": SCALAR_PRECOMPUTED}.get(mode, SCALAR_OFF)
    bad = kernel("book_rebalances")(
        np.ascontiguousarray(rt.weights, dtype=float), np.ascontiguousarray(returns0, dtype=float),
        np.ascontiguousarray(pnl_costs, dtype=float), bounds.astype(np.int64),
        reb.astype(np.int64), scalar_source, precomputed, int(cfg.execution.holding == "drift"),
        execution_params(cfg.execution), notional, *state, steps, held, daily_pnl, scalars)
    if bad >= 0:
        raise ValueError(f"net P&L is not finite at session {bad}")
    if allocator is not None and len(reb):
        allocator.advanced_through(int(reb[-1]))
    w_alloc, w_exec = steps[0], steps[-1]
    gross, cost, traded, net = daily_pnl
    scalar_applied, scalar_at = scalars
    ev = ExecutionEvents.from_steps(steps, cfg.execution)
    lap("loop")

    stages.update({"w_pre": w_pre, "w_rt": rt.weights, "w_alloc": w_alloc, "w_exec": w_exec})
    layers = {"risk_targeting": rt.diagnostics(),
              "allocator": {"scalar_applied": scalar_applied, "scalar_at_rebalance": scalar_at},
              "policy": policy_diag, "construction": construction_diag}
    daily_extra = {}
    if allocator is not None:
        diag = allocator.diagnostics()
        layers["allocator"]["regime_at_rebalance"] = diag["regime"][reb].astype(float)
        daily_extra = {f"allocator_{k}": np.asarray(v, dtype=float) for k, v in diag.items()}
    statuses["execution"] = "effective"
    events = {"rebalance": ev.rebalance, "instrument": ev.instrument, "before": ev.before, "after": ev.after,
              "reason": ev.reason}

    active = np.flatnonzero(np.abs(w_exec).sum(axis=1) > 0)
    ready_index = int(min(bounds[active[0]][0], n_sessions - 1)) if len(active) else n_sessions - 1
    daily = {"gross": gross, "cost": cost, "net": net, "traded": traded,
             **_exposures(held, w_exec, bounds, cfg.execution.holding), **daily_extra}
    return Ledger(dates=md.dates, symbols=md.symbols, rebalance_idx=reb, stages=stages, layers=layers,
                  daily=daily, held=held, events=events, ready_index=ready_index, timings=timings,
                  statuses=statuses, sleeve_pre=sleeve_pre, inert=inert_notes, overlay_log=overlay_log,
                  notes=sleeve_notes)
