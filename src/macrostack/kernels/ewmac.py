"""Numba kernel of the EWMAC engine (`macrostack.engines.ewmac`): the raw crossovers.

One pass over the sessions; per instrument it carries the log index, one EWMA per distinct
span and the EWMA of squared daily log returns, with pandas' `ewm(adjust=True)` recursion
(`_trend_kernel._ewm`: the same IEEE operations as pandas, so the EMAs equal
`rolling.ewma` of the same log index to the last bit; `np.log1p` here is the C library's, which
numpy's SIMD log1p matches only within 1 ulp on AVX-512 CPUs): a mean starts at the instrument's first return; the price
EMAs step on every later session (a missing return adds 0 to the log index, so the index is
flat there), the vol EMA only on sessions with a return (pandas `ignore_na`). The kernel
takes a block of instruments [c0, c1) and releases the GIL: the caller runs blocks in
threads. Every output at session t reads returns <= t only.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from macrostack.kernels.trend import _ewm
from macrostack.kernels import preload_blas

preload_blas()  # before numba's first compile: its BLAS probe would import all of scipy.linalg

_JIT = dict(cache=True, nogil=True, error_model="numpy")


@njit(**_JIT)
def raw_forecasts(r, c0, c1, decays, fast, slow, slow_spans, vol_decay, out):
    """`out[k, t, i] = (EMA_fast_k(X) − EMA_slow_k(X))[t] / σ[t]` for instruments c0 <= i < c1.

    `decays[s]` is the weight decay 1 − α of distinct span s; speed k uses spans `fast[k]`
    and `slow[k]` (indices into `decays`) and needs `slow_spans[k]` sessions of history
    (from the first return) before it is ready. σ² = EWMA(Δx², `vol_decay`) over the
    sessions with a return. NaN before readiness and where σ is 0 or not yet defined.
    """
    n_sessions = r.shape[0]
    n = c1 - c0
    n_spans = decays.shape[0]
    n_speeds = fast.shape[0]
    ema = np.zeros((n_spans, n))
    weight = np.zeros((n_spans, n))
    vol = np.full(n, np.nan)
    vol_weight = np.zeros(n)
    x = np.zeros(n)
    first = np.full(n, -1)
    for t in range(n_sessions):
        for i in range(n):
            v = r[t, c0 + i]
            missing = np.isnan(v)
            if first[i] < 0:
                if missing:
                    for k in range(n_speeds):
                        out[k, t, c0 + i] = np.nan
                    continue
                first[i] = t
            dx = 0.0 if missing else np.log1p(v if v > -0.99 else -0.99)
            x[i] += dx
            for s in range(n_spans):
                if t == first[i]:
                    ema[s, i] = x[i]
                    weight[s, i] = 1.0
                else:
                    ema[s, i], weight[s, i] = _ewm(ema[s, i], weight[s, i], x[i], decays[s])
            if not missing:
                if np.isnan(vol[i]):
                    vol[i] = dx * dx
                    vol_weight[i] = 1.0
                else:
                    vol[i], vol_weight[i] = _ewm(vol[i], vol_weight[i], dx * dx, vol_decay)
            inv_sigma = 1.0 / np.sqrt(vol[i])
            if not np.isfinite(inv_sigma):  # no vol yet, or zero vol
                inv_sigma = np.nan
            history = t - first[i] + 1
            for k in range(n_speeds):
                if history < slow_spans[k]:
                    out[k, t, c0 + i] = np.nan
                else:
                    out[k, t, c0 + i] = (ema[fast[k], i] - ema[slow[k], i]) * inv_sigma


_PAIRWISE_BLOCK = 128  # numpy's PW_BLOCKSIZE


@njit(**_JIT)
def _pairwise_abs(row, lo, n):
    """Σ |row[lo : lo + n]| in numpy's pairwise order (`pairwise_sum` in numpy's loops: fewer than 8
    terms in sequence from −0.0, up to 128 in 8 interleaved partial sums, else two halves split
    at a multiple of 8), so the sum is numpy's to the last bit."""
    if n < 8:
        res = -0.0
        for i in range(lo, lo + n):
            res += abs(row[i])
        return res
    if n <= _PAIRWISE_BLOCK:
        r0, r1, r2, r3 = abs(row[lo]), abs(row[lo + 1]), abs(row[lo + 2]), abs(row[lo + 3])
        r4, r5, r6, r7 = abs(row[lo + 4]), abs(row[lo + 5]), abs(row[lo + 6]), abs(row[lo + 7])
        i = 8
        while i < n - n % 8:
            k = lo + i
            r0 += abs(row[k])
            r1 += abs(row[k + 1])
            r2 += abs(row[k + 2])
            r3 += abs(row[k + 3])
            r4 += abs(row[k + 4])
            r5 += abs(row[k + 5])
            r6 += abs(row[k + 6])
            r7 += abs(row[k + 7])
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n:
            res += abs(row[lo + i])
            i += 1
        return res
    half = n // 2
    half -= half % 8
    return _pairwise_abs(row, lo, half) + _pairwise_abs(row, lo + half, n - half)


@njit(**_JIT)
def abs_row_sums(f, row_sum, row_count):
    """`row_sum[t] = np.sum(|f[t]|, where=~isnan(f[t]))` and `row_count[t]` = its number of values,
    to the bit: numpy's masked sum adds, from 0, the pairwise sum of each run of unmasked values."""
    n_rows, n = f.shape
    for t in range(n_rows):
        row = f[t]
        total, count, i = 0.0, 0, 0
        while i < n:
            while i < n and np.isnan(row[i]):
                i += 1
            j = i
            while j < n and not np.isnan(row[j]):
                j += 1
            if j > i:
                total += _pairwise_abs(row, i, j - i)
                count += j - i
            i = j
        row_sum[t] = total
        row_count[t] = count
