"""The P&L contract (SYSTEM.md §0), in numpy: the definition the simulator's compiled loop books
(`kernels.book.book_period`, sums in index order) and the audit re-derives (`held_panel`).

Sessions d, rebalances t_j, execution lag L >= 1. The weights executed at rebalance j are
held on sessions `t_j + L <= d < t_{j+1} + L` (session arithmetic). Within a holding period:

- `constant`: the held weights are the executed weights on every session;
- `drift`: contract quantities are fixed, so on the k-th session of the period
  `w_i = w_exec,i · G_i / V`, with `G_i = Π (1 + r_i)` and `V = 1 + Σ_i w_exec,i (G_i − 1)`
  over the period's earlier sessions (V is the NAV growth from the positions' P&L).

Gross `pg[d] = Σ_i w[d,i] r[d,i]` (a missing return books 0). Costs
`c[d] = Σ_i k_i |w_exec,i − w_end,i|` on the first session of a period, where `w_end` are the
held weights after the previous period's last return (the weights actually being traded
away) and `k_i` the cost per unit notional on that session. Net `p = pg − c`; equity
`E[d] = E[d−1] (1 + p[d])`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def hold_factors(w_exec: np.ndarray, returns: np.ndarray, holding: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-instrument factors f [n, N] with held = w_exec · f, and the factors after the last return [N].

    `constant`: f = 1. `drift`: f = G_i / V after the period's earlier sessions (module
    docstring). The factors do not depend on how w_exec splits into sleeves, which is what
    makes sleeve attribution exact under drift too. `returns` come through `booked_returns`.
    """
    n, k = returns.shape
    if holding == "constant":
        return np.ones((n, k)), np.ones(k)
    growth = np.cumprod(1.0 + returns, axis=0)              # G after each session
    nav = 1.0 + (growth - 1.0) @ w_exec                     # V after each session
    after = growth / nav[:, None]
    factors = np.empty((n, k))
    if n:
        factors[0] = 1.0
        factors[1:] = after[:-1]
    return factors, (after[-1] if n else np.ones(k))


def hold(w_exec: np.ndarray, returns: np.ndarray, holding: str) -> tuple[np.ndarray, np.ndarray]:
    """Held weights on each session of one period [n, N], and the weights after its last return [N].

    `returns` are the period's sessions' returns [n, N] with missing returns already 0
    (`booked_returns`). Under `constant` holding every session holds `w_exec`: the held
    weights are returned as the row `w_exec[None, :]` [1, N], which broadcasts to [n, N]
    (the common case, once per rebalance, without materialising n equal rows).
    """
    if holding == "constant":
        return w_exec[None, :], w_exec
    factors, end = hold_factors(w_exec, returns, holding)
    return w_exec * factors, w_exec * end


@dataclass
class PeriodPnL:
    held: np.ndarray    # [n, N], or the row [1, N] that every session holds (constant holding)
    gross: np.ndarray   # [n]
    cost: float         # charged on the period's first session
    traded: float       # one-way turnover Σ|Δw|, on the first session
    w_end: np.ndarray   # [N], weights after the last return


def booked_returns(panel: np.ndarray) -> np.ndarray:
    """Returns (or costs) as the P&L books them: a missing value is 0, never filled from elsewhere.
    (`np.nan_to_num(panel, nan=0.0)`, without its ±inf passes when there is no inf: the usual case.)"""
    booked = np.where(np.isnan(panel), 0.0, panel)
    return booked if np.isfinite(booked).all() else np.nan_to_num(panel, nan=0.0)


def period_pnl(w_exec: np.ndarray, w_before: np.ndarray, returns: np.ndarray, cost_per_unit: np.ndarray,
               holding: str) -> PeriodPnL:
    """P&L of one holding period (see module docstring).

    `returns` [n, N] and `cost_per_unit` [N] (on the period's first session) come through
    `booked_returns` once per run, not per period: this runs once per rebalance.
    """
    held, w_end = hold(w_exec, returns, holding)
    # constant holding: Σ_i w_i r[d, i] is one matrix-vector product
    gross = returns @ w_exec if holding == "constant" else np.einsum("dn,dn->d", held, returns)
    delta = np.abs(w_exec - w_before)
    return PeriodPnL(held, gross, float(cost_per_unit @ delta), float(delta.sum()), w_end)


def period_bounds(rebalance_idx: np.ndarray, lag: int, n_sessions: int) -> np.ndarray:
    """[R, 2] session range [start, end) held by each rebalance's executed weights."""
    start = rebalance_idx + lag
    end = np.append(rebalance_idx[1:] + lag, n_sessions)
    return np.clip(np.stack([start, end], axis=1), 0, n_sessions)


def held_panel(w_exec: np.ndarray, rebalance_idx: np.ndarray, returns: np.ndarray, costs: np.ndarray,
               lag: int, holding: str, booked: bool = False) -> dict[str, np.ndarray]:
    """The whole run's P&L from the executed weights [R, N] (used by the audit to re-derive it).
    Under `constant` holding every period at once (`_constant_held_panel`), else period by period.
    `booked`: `returns` and `costs` already went through `booked_returns` (saves two panels)."""
    t, n = returns.shape
    if not booked:
        returns, costs = booked_returns(returns), booked_returns(costs)
    if holding == "constant":
        return _constant_held_panel(w_exec, period_bounds(rebalance_idx, lag, t), returns, costs)
    out = {"held": np.zeros((t, n)), "gross": np.zeros(t), "cost": np.zeros(t), "traded": np.zeros(t)}
    w_before = np.zeros(n)
    for j, (a, b) in enumerate(period_bounds(rebalance_idx, lag, t)):
        if a >= b:
            continue
        p = period_pnl(w_exec[j], w_before, returns[a:b], costs[a], holding)
        out["held"][a:b], out["gross"][a:b], out["cost"][a], out["traded"][a] = p.held, p.gross, p.cost, p.traded
        w_before = p.w_end
    out["net"] = out["gross"] - out["cost"]
    return out


def _constant_held_panel(w_exec: np.ndarray, bounds: np.ndarray, returns: np.ndarray,
                         costs: np.ndarray) -> dict[str, np.ndarray]:
    """`held_panel` under constant holding, all periods at once: session d holds the executed
    weights of the period [a_j, b_j) containing it (0 before the first); `gross[d] = Σ_i w_i r[d, i]`;
    on each period's first session `traded = Σ_i |w_j − w_prev|` and `cost = Σ_i k_i |w_j − w_prev|`,
    `w_prev` the previous non-empty period's weights (0 for the first). Same contract as the
    period loop, summed in another order (equal to rounding, ~1e-17)."""
    t, n = returns.shape
    live = np.flatnonzero(bounds[:, 0] < bounds[:, 1])
    starts = bounds[live, 0]
    k = np.searchsorted(starts, np.arange(t), side="right") - 1       # last period started by d
    sessions = np.flatnonzero(k >= 0)
    j = live[k[sessions]]
    inside = sessions < bounds[j, 1]
    held = np.zeros((t, n))
    held[sessions[inside]] = w_exec[j[inside]]
    weights = w_exec[live]
    delta = np.abs(weights - np.vstack([np.zeros((1, n)), weights[:-1]]))
    out = {"held": held, "gross": np.einsum("dn,dn->d", held, returns), "cost": np.zeros(t), "traded": np.zeros(t)}
    out["cost"][starts] = np.einsum("jn,jn->j", costs[starts], delta)
    out["traded"][starts] = delta.sum(axis=1)
    out["net"] = out["gross"] - out["cost"]
    return out
