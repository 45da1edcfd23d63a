"""Numba kernel of the allocator's mean pairwise correlation of asset returns
(`macrostack.layers.allocator.state.mean_pairwise_correlation`, whose docstring defines it)."""

from __future__ import annotations

import numpy as np
from numba import njit

from macrostack.kernels import preload_blas

preload_blas()  # before numba's first compile: its BLAS probe would import all of scipy.linalg

_JIT = dict(cache=True, nogil=True, error_model="numpy")
_CORR_CHUNK = 256  # sessions per chunk of the transposed copy of the returns


@njit(**_JIT)
def mean_correlations(r, windows, d0, d1, out):
    """`out[j, d]` = mean pairwise correlation of `r` over the `windows[j]` sessions ending at
    `d` (see `mean_pairwise_correlation`), for `d0 <= d < d1` where the window is full; the
    rest of `out` is left as it is.

    Per window, the missing returns and the changes between consecutive sessions are exact
    integer counts carried from session to session (+ the session that enters, − the one
    that leaves), started from 0 at `s0 = max(0, d0 − longest window)`, so a block of sessions
    needs nothing from the block before it. The sums are recomputed from the window's rows,
    so nothing drifts: per instrument `m_i = Σ_t r/w`, `s_i² = Σ_t (r − m_i)² / (w − 1)` (two
    passes), then `Y[t] = Σ_i r[t,i]/s_i` over the k valid instruments and `Var(Y)` in two
    passes. The instruments' sums step over rows (all instruments at once); `Y` steps over
    sessions, from a transposed copy of the rows the current chunk of sessions reads
    (`_CORR_CHUNK` sessions plus the longest window)."""
    n = r.shape[1]
    n_w = windows.shape[0]
    w_max = windows.max()
    rt = np.empty((n, _CORR_CHUNK + w_max - 1))  # rt[i, t - lo] = r[t, i]
    missing = np.zeros((n_w, n), np.int64)  # sessions without a return in the window
    changes = np.zeros((n_w, n), np.int64)  # r[t] != r[t-1] for t - 1, t in the window
    mean = np.empty(n)
    ssd = np.empty(n)
    inv_std = np.empty(n)
    y = np.empty(w_max)
    s0 = max(0, d0 - w_max)
    for c0 in range(s0, d1, _CORR_CHUNK):
        c1 = min(c0 + _CORR_CHUNK, d1)
        lo = max(0, c0 - w_max + 1)
        for t in range(lo, c1):
            for i in range(n):
                rt[i, t - lo] = r[t, i]
        for d in range(c0, c1):
            for j in range(n_w):
                w = windows[j]
                first = d - w + 1
                for i in range(n):  # session d enters the window, first − 1 leaves it
                    missing[j, i] += 0 if np.isfinite(r[d, i]) else 1
                    if d > s0:
                        changes[j, i] += 1 if r[d, i] != r[d - 1, i] else 0
                    if first > s0:
                        missing[j, i] -= 0 if np.isfinite(r[first - 1, i]) else 1
                        changes[j, i] -= 1 if r[first, i] != r[first - 1, i] else 0
                if first < 0 or d < d0:
                    continue
                mean[:] = 0.0
                ssd[:] = 0.0
                for t in range(first, d + 1):
                    for i in range(n):
                        mean[i] += r[t, i]
                mean /= w
                for t in range(first, d + 1):
                    for i in range(n):
                        dev = r[t, i] - mean[i]
                        ssd[i] += dev * dev
                k = 0
                for i in range(n):
                    var = ssd[i] / (w - 1)
                    use = (missing[j, i] == 0) & (changes[j, i] > 0) & (var > 0.0)
                    inv_std[i] = 1.0 / np.sqrt(var) if use else 0.0
                    k += 1 if use else 0
                if k < 2:
                    out[j, d] = np.nan
                    continue
                y[:w] = 0.0
                for i in range(n):
                    if inv_std[i] != 0.0:
                        a = inv_std[i]
                        row = rt[i, first - lo: d + 1 - lo]
                        for t in range(w):
                            y[t] += row[t] * a
                y_mean = 0.0
                for t in range(w):
                    y_mean += y[t]
                y_mean /= w
                y_ssd = 0.0
                for t in range(w):
                    y_ssd += (y[t] - y_mean) * (y[t] - y_mean)
                out[j, d] = (y_ssd / (w - 1) - k) / (k * (k - 1.0))
