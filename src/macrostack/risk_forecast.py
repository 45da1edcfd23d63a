"""Risk forecasts that are checked: did the book run at the risk it was sized for?

Risk targeting sizes each rebalance's weights for an ex-ante vol (SYSTEM.md §5). This module
compares that forecast with the P&L that followed, at the daily, weekly and monthly
horizon. When daily P&L is serially correlated (trend books are: positions persist while
prices trend), the variance of an h-session sum is not h times the daily variance, and a
book sized on daily returns runs hotter (or colder) at longer horizons than its target.

Definitions (ready period only, sessions `d >= start`):
- the forecast: `v[d]`, the ex-ante DAILY variance of the weights held on session d —
  the run's own estimator applied to the executed weights of the rebalance that holds on d,
  `σ²_ann / 252` (risk targeting's annualisation, `metrics.RT_PERIODS_PER_YEAR`);
- for a horizon of h sessions, consecutive non-overlapping blocks b of h sessions from the
  first ready session (a trailing partial block is dropped): realised `S_b = Σ_{d∈b} net[d]`
  and forecast `V_b = Σ_{d∈b} v[d]` (= h · v when the weights are constant: σ scaled by √h);
  blocks with no finite positive forecast are left out;
- `realised_vol = std(S_b, ddof=1) · √(252 / h)`, `ex_ante_vol = √(mean(V_b) · 252 / h)`,
  `ratio = realised_vol / ex_ante_vol` (1 = the forecast was right at that horizon);
- `bias = std(S_b / √V_b, ddof=1)`, the risk-model bias statistic: the same question asked
  block by block, so a period of high forecast does not hide a period of low.
This module only summarises arrays it is given; it computes no P&L and no covariance.
"""

from __future__ import annotations

import numpy as np

from macrostack.metrics import RT_PERIODS_PER_YEAR
from macrostack.pnl import period_bounds

__all__ = ["HORIZONS", "held_values", "block_sums", "horizon_check", "risk_forecast_check"]

HORIZONS = {"daily": 1, "weekly": 5, "monthly": 21}


def held_values(at_rebalance: np.ndarray, rebalance_idx: np.ndarray, lag: int, n_sessions: int) -> np.ndarray:
    """A per-rebalance value [R] on every session its weights are held [T] (`pnl.period_bounds`:
    sessions `t + lag .. t_next + lag − 1`); NaN before the first holding period."""
    out = np.full(n_sessions, np.nan)
    bounds = period_bounds(np.asarray(rebalance_idx), lag, n_sessions)
    lengths = bounds[:, 1] - bounds[:, 0]
    rows = np.repeat(np.arange(len(bounds)), lengths)
    sessions = np.repeat(bounds[:, 0] - (np.cumsum(lengths) - lengths), lengths) + np.arange(lengths.sum())
    out[sessions] = np.asarray(at_rebalance, dtype=float)[rows]
    return out


def block_sums(x: np.ndarray, h: int) -> np.ndarray:
    """Sums of consecutive non-overlapping blocks of h values [len(x) // h]; the tail is dropped."""
    b = len(x) // h
    return np.asarray(x[: b * h], dtype=float).reshape(b, h).sum(axis=1)


def horizon_check(net: np.ndarray, daily_var: np.ndarray, h: int) -> dict:
    """Realised vs ex-ante vol at a horizon of h sessions (module docstring), from the ready
    period's net returns [T] and daily variance forecasts [T]. NaN where fewer than 2 blocks."""
    s, v = block_sums(net, h), block_sums(daily_var, h)
    keep = np.isfinite(v) & (v > 0) & np.isfinite(s)
    s, v = s[keep], v[keep]
    if len(s) < 2:
        nan = float("nan")
        return {"sessions": h, "blocks": int(len(s)), "realised_vol": nan, "ex_ante_vol": nan, "ratio": nan, "bias": nan}
    annualise = RT_PERIODS_PER_YEAR / h
    realised = float(np.std(s, ddof=1) * np.sqrt(annualise))
    ex_ante = float(np.sqrt(v.mean() * annualise))
    return {"sessions": h, "blocks": int(len(s)), "realised_vol": realised, "ex_ante_vol": ex_ante,
            "ratio": realised / ex_ante, "bias": float(np.std(s / np.sqrt(v), ddof=1))}


def risk_forecast_check(net: np.ndarray, ex_ante_var_at_rebalance: np.ndarray, rebalance_idx: np.ndarray,
                        lag: int, start: int, horizons: dict[str, int] = HORIZONS) -> dict[str, dict]:
    """`horizon_check` at each horizon: net [T] daily net returns; ex_ante_var_at_rebalance [R]
    annualised (×252) ex-ante variance of each rebalance's executed weights; the ready period
    starts at session `start`."""
    daily_var = held_values(ex_ante_var_at_rebalance, rebalance_idx, lag, len(net)) / RT_PERIODS_PER_YEAR
    return {name: horizon_check(net[start:], daily_var[start:], h) for name, h in horizons.items()}
