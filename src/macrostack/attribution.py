"""Exact sleeve attribution: what did each sleeve earn and cost?

The stack is linear from sleeve weights to the allocator's output: at rebalance j the
contribution of sleeve k is `c_k = ω_k g_k m_k (w_k ⊙ M) · (L / G(w_pre)) · s`, with ω the
construction weight, g the policy gate, m and M the overlay tilts, L the RT leverage and s
the applied risk scalar; `Σ_k c_k = w_alloc`. Execution is not linear (caps, buffer), so
`w_exec − Σ_k c_k` goes to a named `residual`. Held weights split the same way: the
holding factors f (1 for constant holding, G/V for drift) are per instrument and common to
all parts. Gross P&L `Σ_i c_{k,i} f_i r_i` is then exact per part. Costs `k_i |Δw_i|` split
exactly by signed shares `k_i · sign(Δw_i) · Δc_{k,i}` (a sleeve whose trade another sleeve
netted away gets a negative share). So sleeves + residual = portfolio, session by session.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from macrostack import metrics
from macrostack.pnl import booked_returns, hold_factors, period_bounds

RESIDUAL = "residual"


def sleeve_contributions(sleeve_pre: dict[str, np.ndarray], w_pre: np.ndarray, leverage: np.ndarray,
                         scalar: np.ndarray) -> dict[str, np.ndarray]:
    """Each sleeve's part of the allocator output [R, N]: `c_k = w_pre,k · L/G(w_pre) · s`."""
    gross = np.abs(w_pre).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where((gross > 0) & np.isfinite(leverage), leverage / gross, 0.0) * scalar
    return {k: w * scale[:, None] for k, w in sleeve_pre.items()}


def attribute(parts: dict[str, np.ndarray], w_exec: np.ndarray, rebalance_idx: np.ndarray, returns: np.ndarray,
              costs: np.ndarray, lag: int, holding: str) -> dict[str, dict[str, np.ndarray]]:
    """Daily gross, cost and net P&L per part (sleeves + residual); parts sum to the portfolio."""
    r, k = booked_returns(returns), booked_returns(costs)
    t, n = r.shape
    parts = {**parts, RESIDUAL: w_exec - sum(parts.values())}
    bounds = period_bounds(rebalance_idx, lag, t)
    factors = np.zeros((t, n))
    period_of = np.full(t, -1)
    end_factor = np.ones((len(rebalance_idx), n))
    for j, (a, b) in enumerate(bounds):
        if a >= b:
            continue
        period_of[a:b] = j
        if holding == "constant":
            factors[a:b] = 1.0
        else:
            factors[a:b], end_factor[j] = hold_factors(w_exec[j], r[a:b], holding)
    live = period_of >= 0
    j_of = np.clip(period_of, 0, None)

    # trade of each period: the total Δw decides the sign, each part's Δc its share
    valid = np.flatnonzero(bounds[:, 0] < bounds[:, 1])
    starts = bounds[valid, 0]
    prev_valid = np.concatenate([[-1], valid[:-1]])
    out = {}
    total_before = np.zeros((len(valid), n))
    total_before[1:] = w_exec[prev_valid[1:]] * end_factor[prev_valid[1:]]
    sign = np.sign(w_exec[valid] - total_before)
    for name, c in parts.items():
        held = np.where(live[:, None], c[j_of] * factors, 0.0)
        gross = np.einsum("dn,dn->d", held, r)
        before = np.zeros((len(valid), n))
        before[1:] = c[prev_valid[1:]] * end_factor[prev_valid[1:]]
        cost = np.zeros(t)
        cost[starts] = np.einsum("jn,jn->j", k[starts] * sign, c[valid] - before)
        out[name] = {"gross": gross, "cost": cost, "net": gross - cost}
    return out


def sleeves_frame(dates: np.ndarray, parts: dict[str, dict[str, np.ndarray]]) -> pd.DataFrame:
    """Wide table: date, then per part `<name>` (net), `<name>:gross`, `<name>:cost`."""
    cols = {"date": pd.to_datetime(dates)}
    for name, p in parts.items():
        cols[name] = p["net"]
        cols[f"{name}:gross"] = p["gross"]
        cols[f"{name}:cost"] = p["cost"]
    return pd.DataFrame(cols)


def sleeve_summary(parts: dict[str, dict[str, np.ndarray]], start: int, ppy: float) -> dict:
    """Per part: annualised contribution, cost, vol, Sharpe of its P&L (`metrics`, `ppy`
    sessions per year); and their correlation matrix."""
    rows = {}
    series = {}
    for name, p in parts.items():
        x = p["net"][start:]
        vol = metrics.ann_vol(x, ppy)
        rows[name] = {"contribution": metrics.ann_return(x, ppy), "cost": metrics.per_year(p["cost"][start:], ppy),
                      "vol": vol,
                      # a residual of rounding noise (daily σ ≈ 1e-18) has no meaningful Sharpe
                      "sharpe": metrics.sharpe(x, ppy) if vol > metrics.NOISE_VOL else float("nan")}
        series[name] = x
    names = [k for k in series if k != RESIDUAL]
    corr = np.corrcoef(np.stack([series[k] for k in names])) if len(names) > 1 else np.ones((1, 1))
    return {"sleeves": rows, "correlation": {a: {b: float(corr[i, j]) for j, b in enumerate(names)}
                                             for i, a in enumerate(names)}}
