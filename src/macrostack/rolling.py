"""Causal rolling statistics over sessions (axis 0) of [sessions × instruments] panels.

Every value at row t uses rows <= t only; pandas' window functions or our numba kernels
(`kernels.rolling`) do the work. A window containing NaN gives NaN (windows count sessions; an
instrument without full history is not ready)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from macrostack.kernels import kernel

_CUMSUM = {"f": kernel("cumsum_rows_f8"), "i": kernel("cumsum_rows_i8")}
_EWMA_VOL = kernel("ewma_vol_rows")
_LAST_BAR = kernel("last_bar_rows")


def cumsum_sessions(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """`np.cumsum(x, axis=0)` of a 2-D panel, the same sums in the same order (bit-identical),
    row by row so that every row is one contiguous vector add: ~9× faster than numpy's axis-0
    cumsum on C-ordered [sessions × instruments] panels. Integer and bool panels sum as int64.
    `out=x` (a C-ordered float64 or int64 panel) sums in place: row t reads rows <= t only."""
    x = np.ascontiguousarray(x, dtype=np.float64 if x.dtype.kind == "f" else np.int64)
    if out is None:
        out = np.empty_like(x)
    elif out.shape != x.shape or out.dtype != x.dtype or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-ordered {x.dtype} panel of shape {x.shape}")
    if x.shape[0]:
        _CUMSUM[x.dtype.kind](x, out)
    return out


def _ascending_rows(rows: np.ndarray | None, n_sessions: int) -> np.ndarray:
    rows = np.arange(n_sessions) if rows is None else np.ascontiguousarray(rows, dtype=np.int64)
    if len(rows) and (rows[0] < 0 or rows[-1] >= n_sessions or (np.diff(rows) < 0).any()):
        raise ValueError("rows must be ascending session indices")
    return rows


def last_bar(x: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """[len(rows), N] int64: the last session <= each of `rows` (ascending; default all) where
    the panel has a value (not NaN), −1 before the first."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    rows = _ascending_rows(rows, x.shape[0])
    out = np.empty((len(rows), x.shape[1]), dtype=np.int64)
    _LAST_BAR(x, rows, out)
    return out


def rolling_std(x: np.ndarray, window: int) -> np.ndarray:
    """Sample standard deviation (ddof=1) over the trailing window; NaN if any value is NaN."""
    return pd.DataFrame(x).rolling(window).std().to_numpy()


def ewma(x: np.ndarray, span: float | None = None, halflife: float | None = None) -> np.ndarray:
    """Exponentially weighted mean (adjust=True), NaN rows ignored, NaN before the first value."""
    return pd.DataFrame(x).ewm(span=span, halflife=halflife, ignore_na=True).mean().to_numpy()


def ewma_vol(returns: np.ndarray, halflife: float, min_periods: int = 20, rows: np.ndarray | None = None) -> np.ndarray:
    """Annualised EWMA volatility sqrt(252 · EWMA(r²)) (zero-mean convention) at sessions `rows`
    (ascending; default all) [len(rows), N]. The same bits as
    `sqrt(252 · DataFrame(r²).ewm(halflife=, min_periods=, ignore_na=True).mean())[rows]`: a kernel
    with pandas' arithmetic (`kernels.rolling.ewma_vol_rows`); one thread (on core's panel, 5 ms
    alone against 7 ms in two column blocks on threads)."""
    r = np.ascontiguousarray(returns, dtype=np.float64)
    rows = _ascending_rows(rows, r.shape[0])
    decay = 1.0 - np.exp(np.log(0.5) / halflife)         # pandas' halflife → com → α, in its operations
    com = 1.0 / decay - 1.0
    out = np.empty((len(rows), r.shape[1]))
    _EWMA_VOL(r, 1.0 - 1.0 / (1.0 + com), max(int(min_periods), 1), rows, out)
    return out
