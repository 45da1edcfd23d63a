"""Trend engine (Layer 1): does each market trend, over several horizons?

Time-series momentum, directional (SYSTEM.md §1). On the total-return log index
`X[t] = Σ_{k<=t} log(1 + r[k])` of each instrument (NaN returns inside its history count
as 0; before its first bar X is NaN), per horizon `h` with skip `k`:

- momentum  `(X[t−k] − X[t−h]) / (σ_d[t] · sqrt(h − k))`, σ_d the sample std of daily
  returns over the last h sessions — a t-statistic-like move over the horizon;
- breakout  `2 (X[t] − min) / (max − min) − 1` over the last h sessions, in [−1, 1];
- slope     `(EMA_{h/4}(X) − EMA_h(X)) / (σ_d[t] · sqrt(h))`.

Each feature is standardised on its own history: divided by its trailing root mean square
(window 252, at least 126 values) and clipped to ±3. We scale rather than demean on
purpose: subtracting the trailing mean of a year-long momentum feature would turn a
persistent trend into a flat or contrarian signal, the opposite of what this sleeve is for.
Features are combined 0.5/0.3/0.2 within a horizon and horizons 0.5/0.3/0.2 (weights
normalised to sum 1). Output in [−3, 3]; NaN where the instrument is not ready.
Every value at session t reads returns <= t only.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from macrostack import rolling
from macrostack.config import TrendParams

HORIZONS = {"long": (252, 21), "medium": (84, 10), "short": (21, 5)}


def log_index(returns: np.ndarray) -> np.ndarray:
    """Cumulative log return, NaN before each instrument's first return."""
    started = np.maximum.accumulate(~np.isnan(returns), axis=0)
    # A return <= −100% (a price crossing zero) has no log; count it as −99% for the index.
    x = np.cumsum(np.log1p(np.maximum(np.where(np.isnan(returns), 0.0, returns), -0.99)), axis=0)
    x[~started] = np.nan
    return x


def _shift(x: np.ndarray, k: int) -> np.ndarray:
    out = np.full_like(x, np.nan)
    out[k:] = x[: len(x) - k] if k else x
    return out


def horizon_features(x: np.ndarray, daily: np.ndarray, h: int, skip: int) -> dict[str, np.ndarray]:
    """The three raw features of one horizon (see module docstring)."""
    sigma = rolling.rolling_std(daily, h)
    with np.errstate(invalid="ignore", divide="ignore"):
        momentum = (_shift(x, skip) - _shift(x, h)) / (sigma * np.sqrt(h - skip))
        hi, lo = rolling.rolling_max(x, h), rolling.rolling_min(x, h)
        breakout = 2.0 * (x - lo) / (hi - lo) - 1.0
        fast = rolling.ewma(x, span=max(h / 4.0, 2.0))
        slow = rolling.ewma(x, span=float(h))
        slope = (fast - slow) / (sigma * np.sqrt(h))
    ready = ~np.isnan(_shift(x, h))  # a full horizon of history
    return {name: np.where(ready & np.isfinite(f), f, np.nan)
            for name, f in (("momentum", momentum), ("breakout", breakout), ("slope", slope))}


def standardise(feature: np.ndarray, p: TrendParams) -> np.ndarray:
    """`f / RMS_window(f)`, clipped to ±clip; NaN until `z_min_periods` values exist."""
    rms = rolling.rolling_rms(feature, p.z_window, p.z_min_periods)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = feature / rms
    return np.clip(np.where(np.isfinite(z), z, np.nan), -p.z_clip, p.z_clip)


def trend_signal(returns: np.ndarray, p: TrendParams) -> np.ndarray:
    """Trend signal [sessions × instruments] in [−z_clip, z_clip], NaN where not ready."""
    x = log_index(returns)
    daily = np.where(np.isnan(returns) & ~np.isnan(x), 0.0, returns)
    hw = {k: v for k, v in p.horizons.items() if v > 0}
    fw = {k: v for k, v in p.feature_weights.items() if v > 0}
    h_total, f_total = sum(hw.values()), sum(fw.values())

    def horizon_signal(name: str) -> np.ndarray:
        h, skip = HORIZONS[name]
        feats = horizon_features(x, daily, h, skip)
        return sum((f_weight / f_total) * standardise(feats[f], p) for f, f_weight in fw.items())

    # Horizons are independent and numpy/pandas release the GIL in their kernels, so threads
    # use both cores. The sum is taken in a fixed order, so the result is deterministic.
    with ThreadPoolExecutor(max_workers=len(hw)) as pool:
        parts = dict(zip(hw, pool.map(horizon_signal, hw)))
    signal = np.zeros_like(returns)
    for name, h_weight in hw.items():
        signal += (h_weight / h_total) * parts[name]
    if p.cross_sectional:
        with np.errstate(invalid="ignore"):
            mu = np.nanmean(signal, axis=1, keepdims=True)
            sd = np.nanstd(signal, axis=1, keepdims=True)
            signal = np.clip((signal - mu) / np.where(sd > 0, sd, np.nan), -p.z_clip, p.z_clip)
    return signal


def lookback(p: TrendParams) -> int:
    """Sessions of history the signal needs before it is ready."""
    longest = max(HORIZONS[k][0] for k, w in p.horizons.items() if w > 0)
    return longest + p.z_min_periods
