"""Signal → sleeve weights: what exposure does each engine's signal ask for?

At each rebalance t, per instrument: `w_i = s_i / σ_i` with σ_i the annualised EWMA
volatility (half-life `vol_halflife` sessions) floored at `vol_floor`, so every market
contributes risk in proportion to its signal. The sleeve is then scaled to a common unit
ex-ante risk (`sleeve_unit_risk`, e.g. 10%) with the risk-targeting covariance estimator,
so that the construction weights mix sleeves of comparable size. Spread engines (curve RV, the
VRP calendar spread) emit leg weights that are already vol-normalised per spread: dividing
each leg by its own σ_i would break the hedge ratios, so they skip that step.

An instrument is tradable at t only if it has a bar within the last `stale_after` sessions
(a market whose data has stopped must not keep a position forever).
"""

from __future__ import annotations

import numpy as np

from macrostack import rolling
from macrostack.config import RiskTargetingConfig, SignalConfig
from macrostack.layers.risk_targeting import portfolio_variances


def tradable(returns: np.ndarray, stale_after: int, rows: np.ndarray | None = None) -> np.ndarray:
    """[sessions × instruments] bool (or at sessions `rows` only, ascending): a bar within the
    last `stale_after` sessions, i.e. the last bar at or before t is later than t − stale_after."""
    rows = np.arange(len(returns)) if rows is None else np.asarray(rows, dtype=np.int64)
    last = rolling.last_bar(returns, rows)                     # −1: no bar yet
    return (last >= 0) & (last > (rows - stale_after)[:, None])


def instrument_vol(returns: np.ndarray, cfg: SignalConfig, rows: np.ndarray | None = None) -> np.ndarray:
    """Annualised EWMA vol per session (or at sessions `rows` only) and instrument, floored at `vol_floor`."""
    return np.maximum(rolling.ewma_vol(returns, cfg.vol_halflife, rows=rows), cfg.vol_floor)


def spread_leg_weights(legs: np.ndarray, tradable_at_rebalance: np.ndarray) -> np.ndarray:
    """A spread engine's leg weights as they are (NaN → 0); a rebalance on which any leg it
    wants to hold is untradable trades none of them (one leg alone would be unhedged)."""
    w = np.nan_to_num(legs, nan=0.0)
    broken = ((w != 0) & ~tradable_at_rebalance).any(axis=1)
    w[broken] = 0.0
    return w


def sleeve_weights(signals: dict[str, np.ndarray], vol_at_rebalance: np.ndarray, tradable_at_rebalance: np.ndarray,
                   returns: np.ndarray, rebalance_idx: np.ndarray, cfg: SignalConfig,
                   rt: RiskTargetingConfig, spread: set[str] = frozenset(),
                   zero_filled: bool = False) -> dict[str, np.ndarray]:
    """Each sleeve's weights [R, N] at unit ex-ante risk, from its signal at the rebalances.

    Sleeves named in `spread` emit leg weights already vol-normalised per spread (hedge
    ratios, equal-and-opposite contracts): they are not divided by each leg's σ_i, only scaled
    to the unit risk like every sleeve. `zero_filled`: the returns' missing values are already 0."""
    raw = {k: spread_leg_weights(s, tradable_at_rebalance) if k in spread else
           np.where(tradable_at_rebalance & np.isfinite(s) & np.isfinite(vol_at_rebalance), s / vol_at_rebalance, 0.0)
           for k, s in signals.items()}
    variances = portfolio_variances(list(raw.values()), returns, rebalance_idx, rt.vol_lookback, rt.estimator,
                                    rt.ewma_lambda, rt.newey_west_lags, zero_filled)
    out = {}
    for (k, w), var in zip(raw.items(), variances):
        sigma = np.sqrt(var)
        scale = np.where(np.isfinite(sigma) & (sigma > 0), cfg.sleeve_unit_risk / np.where(sigma > 0, sigma, 1.0), 0.0)
        out[k] = w * scale[:, None]
    return out
