"""Numba kernels of `macrostack.rolling`: axis-0 cumulative sums of a panel, row by row, and the
EWMA volatility with pandas' arithmetic, the last session with a bar."""

from __future__ import annotations

import numpy as np
from numba import njit

from macrostack.kernels import preload_blas

preload_blas()  # before numba's first compile: its BLAS probe would import all of scipy.linalg


@njit(cache=True, nogil=True, error_model="numpy")
def cumsum_rows(x, out):
    """`out = np.cumsum(x, axis=0)`: the same additions in the same order, each row one
    contiguous vector add."""
    out[0] = x[0]
    for t in range(1, x.shape[0]):
        for j in range(x.shape[1]):
            out[t, j] = out[t - 1, j] + x[t, j]


@njit(cache=True, nogil=True, error_model="numpy")
def ewma_vol_rows(r, decay, min_periods, rows, out):
    """`out[k] = sqrt(252 · m[rows[k]])` (`rows` ascending), m the EWMA of
    x = r² as pandas' `ewm(com, min_periods, ignore_na=True).mean()` (adjust=True) computes it,
    bit for bit: on each observed x, `w ← w · decay`, `m ← (w · m + x) / (w + 1)` (m kept when
    m == x), `w ← w + 1`; the first observation starts m = x, w = 1; NaN x is skipped; NaN until
    `min_periods` observations."""
    n = r.shape[1]
    m = np.full(n, np.nan)
    w = np.ones(n)
    seen = np.zeros(n, np.int64)
    k = 0
    last = rows[rows.shape[0] - 1] + 1 if rows.shape[0] else 0
    for t in range(last):
        for i in range(n):
            v = r[t, i]
            x = v * v
            if x == x:
                seen[i] += 1
                if m[i] == m[i]:
                    w[i] *= decay
                    if m[i] != x:
                        m[i] = (w[i] * m[i] + x) / (w[i] + 1.0)
                    w[i] += 1.0
                else:
                    m[i] = x
        while k < rows.shape[0] and rows[k] == t:
            for i in range(n):
                out[k, i] = np.sqrt(252.0 * m[i]) if seen[i] >= min_periods else np.nan
            k += 1


@njit(cache=True, nogil=True, error_model="numpy")
def last_bar_rows(r, rows, out):
    """`out[k, i]`: the last session <= rows[k] (`rows` ascending) where `r[·, i]` is not NaN,
    −1 when there is none."""
    n = r.shape[1]
    last = np.full(n, -1, np.int64)
    k = 0
    end = rows[rows.shape[0] - 1] + 1 if rows.shape[0] else 0
    for t in range(end):
        for i in range(n):
            if r[t, i] == r[t, i]:
                last[i] = t
        while k < rows.shape[0] and rows[k] == t:
            for i in range(n):
                out[k, i] = last[i]
            k += 1
