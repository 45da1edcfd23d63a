"""Numba kernels of the trend engine (`macrostack.engines.trend`).

Each kernel ports, operation for operation, the pandas window algorithm that the pandas
implementation of the engine called (pandas 3.x, `pandas/_libs/window/aggregations.pyx`),
so the results equal pandas to the last bit on real data, special cases included:

- window functions see ±inf as NaN (pandas `_prep_values`);
- `rolling(h).std()`: Welford with a Kahan-compensated mean (separate compensations for
  adds and removes); the window is recomputed from scratch whenever an add or a remove
  shrinks the sum of squares below `INV_COND_TOL` times its previous value (catastrophic
  cancellation, e.g. a window that has just become constant: pandas then returns exactly 0,
  where the running update would leave a residual like 1e-18); a negative variance gives
  std 0 (`zsqrt`);
- `rolling(w, min_periods=m).mean()`: Kahan sums; exactly the repeated value when the last
  `nobs` values added are equal, and 0 if an all-positive window sums below 0;
- `ewm(span, adjust=True, ignore_na=True).mean()`: pandas' recursion on (mean, old weight);
  a NaN row changes neither; the mean is not recomputed when the new value equals it;
- `rolling(h).max()/.min()`: exact; NaN if the window holds a NaN. Computed with van Herk /
  Gil-Werman blocks (no data-dependent branches): sessions are cut in blocks of h; the
  window ending at t is the suffix, from t − h + 1, of the previous block (its suffix extrema
  are computed once that block is complete, from sessions <= t) plus the prefix of the
  current block up to t; NaN propagates through both.

Layout: the kernels take [sessions × instruments] panels (C order) and a block of
instruments [c0, c1); they work on local panels of the block. Every recursion steps all
instruments of the block at once, in a short loop with one state per instrument (rows of
small state arrays) and selects instead of branches, so that LLVM vectorises it (4
instruments per AVX2 instruction: the same IEEE operations lane by lane, hence the same
bits) and the chains of dependent divisions of different instruments overlap. `signal`
takes the sessions in chunks through the stages (log index, features, standardisation,
weighted sum), each stage resuming from its state, so the intermediates stay in cache.
Every output at session t reads sessions <= t only. The kernels release the GIL: the
caller runs column blocks in threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from macrostack.kernels import preload_blas

preload_blas()  # before numba's first compile: its BLAS probe would import all of scipy.linalg

_JIT = dict(cache=True, nogil=True, error_model="numpy")
_STEP = dict(_JIT, inline="always")         # helpers inlined into the session loop

# pandas' rolling variance recomputes its window when an update shrinks the sum of squares
# below this fraction of its previous value (`InvCondTol` in pandas' aggregations.pyx).
INV_COND_TOL = float(np.finfo(np.float64).eps * 1e3)

# Rows of the per-instrument state of a horizon.
_NOBS, _MEAN, _SSQ, _C_ADD, _C_REM, _UNSTABLE = 0, 1, 2, 3, 4, 5          # rolling variance
_E_FAST, _E_SLOW, _W_FAST, _W_SLOW = 6, 7, 8, 9                           # EWMAs
_P_MAX, _P_MIN = 10, 11                                                   # block prefix extrema
_N_STATE = 12
_SIGMA, _HI, _LO = 0, 1, 2                                                # per-session scratch rows
# Rows of the per-instrument state of a standardised feature.
_Z_TOTAL, _Z_C_ADD, _Z_C_REM, _Z_PREV, _Z_NOBS, _Z_SAME = 0, 1, 2, 3, 4, 5
_N_Z = 6


@njit(**_JIT)
def _ring_size(n):
    """Smallest power of two > n: a ring buffer that still holds the value n steps back."""
    size = 1
    while size <= n:
        size *= 2
    return size


@njit(**_STEP)
def _clean(v):
    """pandas `_prep_values`: ±inf becomes NaN."""
    return v if np.isfinite(v) else np.nan


@njit(**_STEP)
def _max(a, b):
    """max(a, b), NaN if either is NaN."""
    m = a if a > b else b
    return m if (a == a) & (b == b) else np.nan


@njit(**_STEP)
def _min(a, b):
    """min(a, b), NaN if either is NaN."""
    m = a if a < b else b
    return m if (a == a) & (b == b) else np.nan


@njit(**_STEP)
def _add_var(val, nobs, mean, ssq, comp):
    """pandas `add_var` of a non-NaN value; returns the new state and the instability flag."""
    nobs_new = nobs + 1.0
    prev_mean = mean - comp
    y = val - comp
    tt = y - mean
    comp_new = tt + mean - y
    mean_new = mean + tt / nobs_new
    ssq_new = ssq + (val - prev_mean) * (val - mean_new)
    return nobs_new, mean_new, ssq_new, comp_new, ssq * INV_COND_TOL > ssq_new


@njit(**_STEP)
def _remove_var(val, nobs, mean, ssq, comp):
    """pandas `remove_var` of a non-NaN value; returns the new state and the instability flag
    (an emptied window resets mean and sum of squares to 0 and the flag to False)."""
    nobs_new = nobs - 1.0
    prev_mean = mean - comp
    y = val - comp
    tt = y - mean
    comp_new = tt + mean - y
    mean_new = mean - tt / nobs_new
    ssq_new = ssq - (val - prev_mean) * (val - mean_new)
    unstable = ssq * INV_COND_TOL > ssq_new
    empty = nobs_new == 0.0
    return (nobs_new, 0.0 if empty else mean_new, 0.0 if empty else ssq_new,
            comp if empty else comp_new, unstable & (not empty))


@njit(**_STEP)
def _sigma(nobs, ssq, h):
    """pandas `rolling(h).std()` from the variance state: NaN until h values, negative
    variance → 0 (`zsqrt`)."""
    var = ssq / (nobs - 1.0)
    sigma = 0.0 if var < 0.0 else np.sqrt(var)
    return sigma if (nobs >= h) & (nobs > 1.0) else np.nan


@njit(**_STEP)
def _ewm(e, w, xv, decay):
    """pandas ewm mean step (adjust=True) on an observation xv, for a started mean e."""
    w = w * decay
    e_new = (w * e + xv) / (w + 1.0)
    return (e if e == xv else e_new), w + 1.0


@njit(**_JIT)
def _take(a, c0, c1):
    """Columns [c0, c1) of a [sessions × instruments] panel, as a new contiguous panel."""
    out = np.empty((a.shape[0], c1 - c0))
    for t in range(a.shape[0]):
        for i in range(c1 - c0):
            out[t, i] = a[t, c0 + i]
    return out


@njit(**_JIT)
def _put(src, n_rows, dst, t0, c0):
    """Write the first n_rows rows of the panel `src` into `dst` from row t0, column c0."""
    for t in range(n_rows):
        for i in range(src.shape[1]):
            dst[t0 + t, c0 + i] = src[t, i]


@njit(**_JIT)
def _log_index_rows(r, c0, t0, t1, acc, started, x, d, mask):
    """Sessions [t0, t1) of the log index `x` (`trend.log_index`) and of the daily returns
    `d` (a NaN return inside an instrument's history → 0; NaN before its first return), session
    t in row `t & mask` (a ring buffer; mask −1: row t)."""
    for t in range(t0, t1):
        row = t & mask
        for i in range(x.shape[1]):
            v = r[t, c0 + i]
            missing = np.isnan(v)
            if not missing:
                started[i] = True
            w = 0.0 if missing else v
            l = np.log1p(w if w > -0.99 else -0.99)
            s = l if t == 0 else acc[i] + l       # numpy's cumsum, from row 0
            acc[i] = s
            if started[i]:
                x[row, i] = s
                d[row, i] = 0.0 if missing else v
            else:
                x[row, i] = np.nan
                d[row, i] = v


@njit(**_JIT)
def _features_rows(x, d, mask, t0, t1, k, h, skip, fast_decay, slow_decay, st, suf_max, suf_min, block,
                   work, feats, f_row):
    """Sessions [t0, t1) of horizon k (h, skip) of every instrument: raw momentum, breakout,
    slope into feats[f_row + 0/1/2, t − t0] (NaN until a full horizon of history, and where
    not finite). Session s of x and d is row `s & mask` (a ring buffer holding sessions
    t − h .. t1 − 1 at least; mask −1: row s). State: `st[k]`, the suffix extrema of the last
    complete block, and `block`, the first session of the current block (returned, updated)."""
    n = x.shape[1]
    h_f = float(h)
    sq_mom = np.sqrt(float(h - skip))
    sq_slope = np.sqrt(h_f)
    for t in range(t0, t1):
        tr = t - t0
        full = t >= h                               # session t − h exists
        th = t - h if full else 0
        tk = t - skip if t >= skip else 0
        rt, rth, rtk = t & mask, th & mask, tk & mask  # their rows in x and d

        # rolling variance of d: remove session t − h, add session t
        for i in range(n):
            nobs, mean, ssq = st[k, _NOBS, i], st[k, _MEAN, i], st[k, _SSQ, i]
            c_add, c_rem = st[k, _C_ADD, i], st[k, _C_REM, i]
            val = _clean(d[rth, i])
            take = full & (val == val)
            n2, m2, s2, c2, u2 = _remove_var(val, nobs, mean, ssq, c_rem)
            nobs = n2 if take else nobs
            mean = m2 if take else mean
            ssq = s2 if take else ssq
            c_rem = c2 if take else c_rem
            unstable = u2 & take
            val = _clean(d[rt, i])
            take = val == val
            n2, m2, s2, c2, u2 = _add_var(val, nobs, mean, ssq, c_add)
            st[k, _NOBS, i] = n2 if take else nobs
            st[k, _MEAN, i] = m2 if take else mean
            st[k, _SSQ, i] = s2 if take else ssq
            st[k, _C_ADD, i] = c2 if take else c_add
            st[k, _C_REM, i] = c_rem
            st[k, _UNSTABLE, i] = 1.0 if unstable | (u2 & take) else 0.0
            work[_SIGMA, i] = _sigma(n2 if take else nobs, s2 if take else ssq, h_f)
        for i in range(n):                          # rare: recompute the window, as pandas
            if st[k, _UNSTABLE, i] != 0.0:
                nobs = mean = ssq = c_add = 0.0
                for s in range(max(0, t - h + 1), t + 1):
                    val = _clean(d[s & mask, i])
                    if not np.isnan(val):
                        nobs, mean, ssq, c_add, _ = _add_var(val, nobs, mean, ssq, c_add)
                st[k, _NOBS, i], st[k, _MEAN, i], st[k, _SSQ, i] = nobs, mean, ssq
                st[k, _C_ADD, i], st[k, _C_REM, i] = c_add, 0.0
                work[_SIGMA, i] = _sigma(nobs, ssq, h_f)

        # window extrema, EWMAs, features (separate loops: each vectorises)
        pos = t - block                             # position in the current block
        start = pos == 0
        whole = pos == h - 1                        # the window is the current block
        after = pos + 1 if pos + 1 < h else 0
        for i in range(n):                          # NaN (or inf) in the window → NaN
            xv = _clean(x[rt, i])
            p_max = xv if start else _max(st[k, _P_MAX, i], xv)
            p_min = xv if start else _min(st[k, _P_MIN, i], xv)
            st[k, _P_MAX, i] = p_max
            st[k, _P_MIN, i] = p_min
            work[_HI, i] = p_max if whole else _max(suf_max[k, after, i], p_max)
            work[_LO, i] = p_min if whole else _min(suf_min[k, after, i], p_min)
        for i in range(n):
            xv = _clean(x[rt, i])
            seen = xv == xv
            e_fast, e_slow = st[k, _E_FAST, i], st[k, _E_SLOW, i]
            w_fast, w_slow = st[k, _W_FAST, i], st[k, _W_SLOW, i]
            fresh = e_fast != e_fast                                    # no value yet
            step = seen & (not fresh)
            e2, w2 = _ewm(e_fast, w_fast, xv, fast_decay)
            e3, w3 = _ewm(e_slow, w_slow, xv, slow_decay)
            st[k, _E_FAST, i] = xv if fresh else (e2 if step else e_fast)
            st[k, _E_SLOW, i] = xv if fresh else (e3 if step else e_slow)
            st[k, _W_FAST, i] = w2 if step else w_fast
            st[k, _W_SLOW, i] = w3 if step else w_slow
        for i in range(n):
            x_t = x[rt, i]
            x_old = x[rth, i] if full else np.nan
            sigma = work[_SIGMA, i]
            hi, lo = work[_HI, i], work[_LO, i]
            ready = x_old == x_old                                      # a full horizon of history
            mom = (x[rtk, i] - x_old) / (sigma * sq_mom)
            brk = 2.0 * (x_t - lo) / (hi - lo) - 1.0
            slope = (st[k, _E_FAST, i] - st[k, _E_SLOW, i]) / (sigma * sq_slope)
            feats[f_row, tr, i] = mom if ready & np.isfinite(mom) else np.nan
            feats[f_row + 1, tr, i] = brk if ready & np.isfinite(brk) else np.nan
            feats[f_row + 2, tr, i] = slope if ready & np.isfinite(slope) else np.nan

        if whole:                                   # block complete: its suffix extrema
            for i in range(n):
                xv = _clean(x[rt, i])
                suf_max[k, h - 1, i] = xv
                suf_min[k, h - 1, i] = xv
            for p in range(h - 2, -1, -1):
                for i in range(n):
                    xv = _clean(x[(block + p) & mask, i])
                    suf_max[k, p, i] = _max(xv, suf_max[k, p + 1, i])
                    suf_min[k, p, i] = _min(xv, suf_min[k, p + 1, i])
            block += h
    return block


@njit(**_JIT)
def _standardise_rows(src, s_row, t0, t1, q, window, min_periods, clip, zs, past, dst, d_row):
    """Sessions [t0, t1) of standardisation q of every instrument: the feature is
    `src[s_row, t − t0]`; `clip(f / sqrt(rolling mean of f²), ±clip)` (non-finite → NaN)
    goes to `dst[d_row, t − t0]`. State: `zs[q]`, and `past[q]`, the feature over the last
    (power of two > window) sessions."""
    n = src.shape[2]
    mask = past.shape[1] - 1
    min_p = float(min_periods)
    for t in range(t0, t1):
        tr = t - t0
        drop = t >= window
        old_slot = (t - window) & mask
        slot = t & mask
        for i in range(n):
            total, c_add, c_rem = zs[q, _Z_TOTAL, i], zs[q, _Z_C_ADD, i], zs[q, _Z_C_REM, i]
            prev, nobs, same = zs[q, _Z_PREV, i], zs[q, _Z_NOBS, i], zs[q, _Z_SAME, i]
            old = past[q, old_slot, i]
            val = _clean(old * old)
            take = drop & (val == val)
            y = -val - c_rem
            tt = total + y
            c_rem = (tt - total - y) if take else c_rem
            total = tt if take else total
            nobs = nobs - 1.0 if take else nobs
            f = src[s_row, tr, i]
            val = _clean(f * f)
            take = val == val
            y = val - c_add
            tt = total + y
            c_add = (tt - total - y) if take else c_add
            total = tt if take else total
            nobs = nobs + 1.0 if take else nobs
            same = ((same + 1.0) if val == prev else 1.0) if take else same
            prev = val if take else prev
            mean = total / nobs
            mean = prev if same >= nobs else (0.0 if mean < 0.0 else mean)
            mean = mean if (nobs >= min_p) & (nobs > 0.0) else np.nan
            z = f / np.sqrt(mean)
            z = (clip if z > clip else (-clip if z < -clip else z)) if np.isfinite(z) else np.nan
            zs[q, _Z_TOTAL, i], zs[q, _Z_C_ADD, i], zs[q, _Z_C_REM, i] = total, c_add, c_rem
            zs[q, _Z_PREV, i], zs[q, _Z_NOBS, i], zs[q, _Z_SAME, i] = prev, nobs, same
            past[q, slot, i] = f
            dst[d_row, tr, i] = z


@njit(**_JIT)
def _horizon_state(n_h, n, max_h):
    st = np.zeros((n_h, _N_STATE, n))
    st[:, _E_FAST] = np.nan
    st[:, _E_SLOW] = np.nan
    st[:, _W_FAST] = 1.0
    st[:, _W_SLOW] = 1.0
    return st, np.full((n_h, max_h, n), -np.inf), np.full((n_h, max_h, n), np.inf)


@njit(**_JIT)
def _standardise_state(n_q, n, window):
    zs = np.zeros((n_q, _N_Z, n))
    zs[:, _Z_PREV] = np.nan
    return zs, np.full((n_q, _ring_size(window), n), np.nan)


@njit(**_JIT)
def _combine_rows(z, f_weights, h_weight, first, n_rows, part, acc):
    """acc[r] = (0 if first else acc[r]) + h_weight · Σ_j f_weights[j] · z[j, r] for the
    first n_rows rows, the sum from 0 in the order of j (as `trend.trend_signal`)."""
    n = acc.shape[1]
    for r in range(n_rows):
        for j in range(f_weights.shape[0]):
            w = f_weights[j]
            for i in range(n):
                part[i] = (0.0 if j == 0 else part[i]) + w * z[j, r, i]
        for i in range(n):
            acc[r, i] = (0.0 if first else acc[r, i]) + h_weight * part[i]


_CHUNK = 128                                    # sessions per pass: intermediates stay in cache


@njit(**_JIT)
def signal(r, c0, c1, hs, skips, fast_decays, slow_decays, h_weights, f_use, f_weights,
           window, min_periods, clip, out):
    """`trend.trend_signal` (before the cross-sectional option) of the returns `r`, columns
    [c0, c1), into `out`: per horizon k (hs[k], skips[k]) the features f_use[j] (0 momentum,
    1 breakout, 2 slope) are standardised and summed, part_k = Σ_j f_weights[j] · z_kj, then
    out = Σ_k h_weights[k] · part_k, both sums from 0 in the order given. Sessions go in
    chunks through the stages (log index, features, standardisation, sum), whose states
    carry over from chunk to chunk. The log index and the daily returns live in ring buffers of
    the last (power of two > longest horizon + chunk) sessions: the features read sessions
    t − h .. t only."""
    n_t, n = r.shape[0], c1 - c0
    n_h, n_f = hs.shape[0], f_use.shape[0]
    ring = _ring_size(max(hs.max(), 1) + _CHUNK)
    mask = ring - 1
    x = np.empty((ring, n))
    d = np.empty((ring, n))
    log_sum = np.zeros(n)
    started = np.zeros(n, np.bool_)
    st, suf_max, suf_min = _horizon_state(n_h, n, max(hs.max(), 1))
    blocks = np.zeros(n_h, np.int64)
    zs, past = _standardise_state(n_h * n_f, n, window)
    work = np.empty((3, n))
    feats = np.empty((3, _CHUNK, n))
    z = np.empty((n_f, _CHUNK, n))
    part = np.empty(n)
    acc = np.empty((_CHUNK, n))
    for t0 in range(0, n_t, _CHUNK):
        t1 = min(t0 + _CHUNK, n_t)
        _log_index_rows(r, c0, t0, t1, log_sum, started, x, d, mask)
        for k in range(n_h):
            blocks[k] = _features_rows(x, d, mask, t0, t1, k, hs[k], skips[k], fast_decays[k],
                                       slow_decays[k], st, suf_max, suf_min, blocks[k], work, feats, 0)
            for j in range(n_f):
                _standardise_rows(feats, f_use[j], t0, t1, k * n_f + j, window, min_periods, clip,
                                  zs, past, z, j)
            _combine_rows(z, f_weights, h_weights[k], k == 0, t1 - t0, part, acc)
        _put(acc, t1 - t0, out, t0, c0)


@njit(**_JIT)
def features(x_all, d_all, c0, c1, h, skip, fast_decay, slow_decay, mom, brk, slope):
    """`trend.horizon_features` of columns [c0, c1) into mom, brk, slope."""
    x, d = _take(x_all, c0, c1), _take(d_all, c0, c1)
    n_t, n = x.shape
    st, suf_max, suf_min = _horizon_state(1, n, max(h, 1))
    feats = np.empty((3, n_t, n))
    _features_rows(x, d, -1, 0, n_t, 0, h, skip, fast_decay, slow_decay, st, suf_max, suf_min, 0,
                   np.empty((3, n)), feats, 0)
    _put(feats[0], n_t, mom, 0, c0)
    _put(feats[1], n_t, brk, 0, c0)
    _put(feats[2], n_t, slope, 0, c0)


@njit(**_JIT)
def standardise(f_all, c0, c1, window, min_periods, clip, z_all):
    """`trend.standardise` of columns [c0, c1) of f_all into z_all."""
    f = _take(f_all, c0, c1)
    n_t, n = f.shape
    zs, past = _standardise_state(1, n, window)
    z = np.empty((1, n_t, n))
    _standardise_rows(f.reshape((1, n_t, n)), 0, 0, n_t, 0, window, min_periods, clip, zs, past,
                      z, 0)
    _put(z[0], n_t, z_all, 0, c0)
