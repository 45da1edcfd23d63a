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

The window statistics are those of pandas: σ_d is `rolling(h).std()` (NaN if a session of
the window has no value), max/min `rolling(h).max()/.min()`, EMA_n `ewm(span=n).mean()`
(adjust=True, missing values skipped), the RMS `sqrt(rolling(252, min_periods=126).mean())`
of f² over the sessions that have a value. They are computed by numba kernels
(`macrostack.kernels.trend`) that port pandas' algorithms operation for operation, all instruments of a
block stepping together (vectorised), blocks of instruments in threads: the output equals
the pandas formulation to the last bit on the default dataset (tests/test_trend.py keeps
the pandas version as the reference). The kernels compile once (numba, cached on disk).
"""

from __future__ import annotations

import numpy as np

from macrostack.config import TrendParams
from macrostack.engines._columns import run_in_blocks as _run
from macrostack.kernels import kernel
from macrostack.rolling import cumsum_sessions

_FEATURES, _STANDARDISE, _SIGNAL = (kernel(name) for name in ("trend_features", "trend_standardise", "trend_signal"))

HORIZONS = {"long": (252, 21), "medium": (84, 10), "short": (21, 5)}
FEATURES = ("momentum", "breakout", "slope")


def log_index(returns: np.ndarray) -> np.ndarray:
    """Cumulative log return, NaN before each instrument's first return."""
    missing = np.isnan(returns)
    # A return <= −100% (a price crossing zero) has no log; count it as −99% for the index.
    x = np.ascontiguousarray(np.where(missing, 0.0, returns))  # C order (the input may be F), summed in place
    np.maximum(x, -0.99, out=x)
    np.log1p(x, out=x)
    cumsum_sessions(x, out=x)
    np.logical_not(missing, out=missing)
    x[~np.maximum.accumulate(missing, axis=0, out=missing)] = np.nan  # before the first return
    return x


def ewm_decay(span: float) -> float:
    """EWMA weight decay 1 − α of a span, computed as pandas computes it (com → α)."""
    com = (span - 1) / 2
    return 1.0 - 1.0 / (1.0 + com)


def _decays(h: int) -> tuple[float, float]:
    """Weight decays of the fast (span h/4, at least 2) and slow (span h) EWMAs."""
    return ewm_decay(max(h / 4.0, 2.0)), ewm_decay(float(h))


def _panel(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64)


def horizon_features(x: np.ndarray, daily: np.ndarray, h: int, skip: int) -> dict[str, np.ndarray]:
    """The three raw features of one horizon (see module docstring)."""
    x, daily = _panel(x), _panel(daily)
    if x.ndim != 2 or x.shape != daily.shape or h < 1 or skip < 0:
        raise ValueError(f"horizon_features needs two panels of one shape, h >= 1 and skip >= 0; got "
                         f"{x.shape} and {daily.shape}, h={h}, skip={skip}")
    out = {name: np.empty_like(x) for name in FEATURES}
    _run(lambda c0, c1: _FEATURES(x, daily, c0, c1, h, skip, *_decays(h), *out.values()),
         x.shape[1])
    return out


def standardise(feature: np.ndarray, p: TrendParams) -> np.ndarray:
    """`f / RMS_window(f)`, clipped to ±clip; NaN until `z_min_periods` values exist."""
    f = _panel(feature)
    z = np.empty_like(f)
    _run(lambda c0, c1: _STANDARDISE(f, c0, c1, p.z_window, p.z_min_periods, float(p.z_clip), z),
         f.shape[1])
    return z


def trend_signal(returns: np.ndarray, p: TrendParams) -> np.ndarray:
    """Trend signal [sessions × instruments] in [−z_clip, z_clip], NaN where not ready."""
    r = _panel(returns)
    hw = {k: v for k, v in p.horizons.items() if v > 0}
    fw = {k: v for k, v in p.feature_weights.items() if v > 0}
    h_total, f_total = sum(hw.values()), sum(fw.values())
    hs = np.array([HORIZONS[k][0] for k in hw], dtype=np.int64)
    skips = np.array([HORIZONS[k][1] for k in hw], dtype=np.int64)
    fast = np.array([_decays(h)[0] for h in hs])
    slow = np.array([_decays(h)[1] for h in hs])
    h_weights = np.array([w / h_total for w in hw.values()])
    f_use = np.array([FEATURES.index(f) for f in fw], dtype=np.int64)
    f_weights = np.array([w / f_total for w in fw.values()])
    signal = np.empty_like(r)
    _run(lambda c0, c1: _SIGNAL(r, c0, c1, hs, skips, fast, slow, h_weights, f_use, f_weights,
                                p.z_window, p.z_min_periods, float(p.z_clip), signal),
         r.shape[1])
    if p.cross_sectional:
        # z-score across the ready instruments of each session (population std); a session
        # with none ready stays NaN (nanmean would warn about the empty slice).
        ready = ~np.isnan(signal)
        count = ready.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            mu = np.where(ready, signal, 0.0).sum(axis=1, keepdims=True) / count
            sd = np.sqrt(np.where(ready, (signal - mu) ** 2, 0.0).sum(axis=1, keepdims=True) / count)
            signal = np.clip((signal - mu) / np.where(sd > 0, sd, np.nan), -p.z_clip, p.z_clip)
    return signal


def lookback(p: TrendParams) -> int:
    """Sessions of history the signal needs before it is ready."""
    longest = max(HORIZONS[k][0] for k, w in p.horizons.items() if w > 0)
    return longest + p.z_min_periods
