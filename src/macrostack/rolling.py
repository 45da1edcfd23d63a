"""Causal rolling statistics over sessions (axis 0) of [sessions × instruments] panels.

Every value at row t uses rows <= t only; pandas' window kernels do the work. A window
containing NaN gives NaN (windows count sessions; an instrument without full history is
not ready)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def rolling_std(x: np.ndarray, window: int) -> np.ndarray:
    """Sample standard deviation (ddof=1) over the trailing window; NaN if any value is NaN."""
    return pd.DataFrame(x).rolling(window).std().to_numpy()


def ewma(x: np.ndarray, span: float | None = None, halflife: float | None = None) -> np.ndarray:
    """Exponentially weighted mean (adjust=True), NaN rows ignored, NaN before the first value."""
    return pd.DataFrame(x).ewm(span=span, halflife=halflife, ignore_na=True).mean().to_numpy()


def ewma_vol(returns: np.ndarray, halflife: float, min_periods: int = 20) -> np.ndarray:
    """Annualised EWMA volatility sqrt(252 · EWMA(r²)) (zero-mean convention)."""
    var = pd.DataFrame(returns * returns).ewm(halflife=halflife, min_periods=min_periods, ignore_na=True).mean()
    return np.sqrt(252.0 * var.to_numpy())
