"""Causal rolling statistics over sessions (axis 0) of [sessions × instruments] panels.

Every value at row t uses rows <= t only. A window containing NaN gives NaN (windows
count sessions, and an instrument without full history is not ready). Sums use cumulative
sums in float64, which is exact enough for windows of a few hundred sessions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _window_sum(x: np.ndarray, window: int) -> np.ndarray:
    """Sum over the trailing `window` rows; NaN until `window` rows exist or if any is NaN."""
    nan = np.isnan(x)
    c = np.cumsum(np.where(nan, 0.0, x), axis=0)
    n = np.cumsum(nan, axis=0)
    out = np.full_like(c, np.nan)
    out[window - 1] = c[window - 1]
    out[window:] = c[window:] - c[:-window]
    bad = n.copy()
    bad[window:] = n[window:] - n[:-window]
    out[bad > 0] = np.nan
    out[: window - 1] = np.nan
    return out


def rolling_mean(x: np.ndarray, window: int) -> np.ndarray:
    return _window_sum(x, window) / window


def rolling_std(x: np.ndarray, window: int) -> np.ndarray:
    """Sample standard deviation (ddof=1) over the trailing window; NaN if any value is NaN."""
    return pd.DataFrame(x).rolling(window).std().to_numpy()


def rolling_rms(x: np.ndarray, window: int, min_periods: int) -> np.ndarray:
    """Root mean square over the trailing window, counting only non-NaN rows (>= min_periods)."""
    return np.sqrt(pd.DataFrame(x * x).rolling(window, min_periods=min_periods).mean().to_numpy())


def rolling_max(x: np.ndarray, window: int) -> np.ndarray:
    return pd.DataFrame(x).rolling(window).max().to_numpy()


def rolling_min(x: np.ndarray, window: int) -> np.ndarray:
    return pd.DataFrame(x).rolling(window).min().to_numpy()


def ewma(x: np.ndarray, span: float | None = None, halflife: float | None = None) -> np.ndarray:
    """Exponentially weighted mean (adjust=True), NaN rows ignored, NaN before the first value."""
    return pd.DataFrame(x).ewm(span=span, halflife=halflife, ignore_na=True).mean().to_numpy()


def ewma_vol(returns: np.ndarray, halflife: float, min_periods: int = 20) -> np.ndarray:
    """Annualised EWMA volatility sqrt(252 · EWMA(r²)) (zero-mean convention)."""
    var = pd.DataFrame(returns * returns).ewm(halflife=halflife, min_periods=min_periods, ignore_na=True).mean()
    return np.sqrt(252.0 * var.to_numpy())
