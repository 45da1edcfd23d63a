"""Numba kernels of the allocator's portfolio features (`macrostack.layers.allocator.state`):
the session loop that fills the feature table from the net P&L, reading `net[start .. d]` only."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from macrostack.data.calendar import SESSIONS_PER_YEAR
from macrostack.kernels import preload_blas
from macrostack.kernels.allocator_layout import (
    CORR_L, CORR_S, CORR_SHOCK, DD_LEVEL, DD_SLOPE, DD_SLOPE_LAG, RVOL_LONG, RVOL_SHORT, VOL_ACCEL, VOL_LONG, VOL_SHORT,
)

preload_blas()  # before numba's first compile: its BLAS probe would import all of scipy.linalg

_JIT = dict(cache=True, nogil=True, error_model="numpy")

_ANNUALISE = math.sqrt(SESSIONS_PER_YEAR)
# A constant window computed in two passes keeps at most ~(w ε)² Σx² of rounding in its sum of
# squared deviations; below this fraction of Σx² the window is constant.
_NOISE = (4 * VOL_LONG * np.finfo(float).eps) ** 2


@njit(**_JIT)
def window_std(x: np.ndarray, d: int, window: int) -> float:
    """Sample std (ddof=1) of `x[d-window+1 .. d]`, in two passes (mean, then squared
    deviations), so nothing drifts across sessions. Exactly 0 for a constant window (e.g. a
    flat book), so that vol_accel is never a ratio of two rounding errors."""
    lo = d - window + 1
    total = 0.0
    for i in range(lo, d + 1):
        total += x[i]
    mean = total / window
    sum_sq_dev = 0.0
    sum_sq = 0.0
    for i in range(lo, d + 1):
        dev = x[i] - mean
        sum_sq_dev += dev * dev
        sum_sq += x[i] * x[i]
    if sum_sq_dev <= _NOISE * sum_sq:
        return 0.0
    return math.sqrt(sum_sq_dev / (window - 1))


@njit(**_JIT)
def advance_features(net, first, upto, start, corr20, corr60, table, wealth):
    """Fill `table[first .. upto]` (see `StateFeatures`); `wealth = [equity, peak]` carries
    the drawdown state from one call to the next. Session d reads `net[start .. d]` only."""
    for d in range(max(first, start), upto + 1):
        seen = d - start + 1
        rvol_short = window_std(net, d, VOL_SHORT) * _ANNUALISE if seen >= VOL_SHORT else np.nan
        rvol_long = window_std(net, d, VOL_LONG) * _ANNUALISE if seen >= VOL_LONG else np.nan
        wealth[0] *= 1.0 + net[d]
        if wealth[0] > wealth[1]:
            wealth[1] = wealth[0]
        # A peak <= 0 means the book was wiped out on its first session: total drawdown.
        dd = wealth[0] / wealth[1] - 1.0 if wealth[1] > 0.0 else -1.0
        row = table[d]
        row[RVOL_SHORT] = rvol_short
        row[RVOL_LONG] = rvol_long
        row[VOL_ACCEL] = rvol_short / rvol_long if rvol_long > 0.0 else np.nan  # NaN compares False: no 0/0
        row[DD_LEVEL] = dd
        row[DD_SLOPE] = dd - table[d - DD_SLOPE_LAG, DD_LEVEL] if d - DD_SLOPE_LAG >= start else np.nan
        row[CORR_S] = corr20[d]
        row[CORR_L] = corr60[d]
        row[CORR_SHOCK] = corr20[d] - corr60[d]
