"""EWMAC engine (Layer 1): EWMA crossover trend forecasts, Carver style (SYSTEM.md §1).

A second trend engine. Everything is computed on the total-return log index
`X[t] = Σ_{k<=t} log(1 + r[k])` of each instrument (as `trend.log_index`: a NaN return inside
an instrument's history counts as 0; a return below −99%, possible for a futures notional
whose price goes negative, counts as −99% so the log stays finite). Per speed (f, s):

    raw_fs[t] = (EMA_f(X)[t] − EMA_s(X)[t]) / σ[t]

with EMA_n the exponentially weighted mean of span n (α = 2/(n+1), adjust=True: the same
formula as `rolling.ewma`, from the instrument's first return), and σ the "price vol" in the
units of X, i.e. the vol of daily log returns (not annualised):

    σ[t]² = rolling.ewma(Δx², span=vol_span)[t]      (vol_span 25 sessions)

an EWMA of squared daily log returns (zero-mean convention of `rolling.ewma_vol`) over the
sessions that have a return (pandas `ignore_na`: a missing return is skipped, not counted as
a zero-vol day).
Working on the log index makes raw forecasts comparable across instruments and price levels
(no back-adjusted price level, which can be negative, is ever divided by). `raw_fs` is NaN
until the instrument has `s` sessions of history (from its first return) and where σ = 0.

Forecast scaling (causal): `scaled_fs[t] = clip(raw_fs[t] · 10 / A_fs[t], ±cap)` with
`A_fs[t]` the pooled mean of |raw_fs| over every (session, instrument) value in the trailing
`scalar_window` sessions ending at t (2520, ~10 years), ready once at least
`scalar_min_periods` (252) of those sessions have a value. Pooled across instruments, so one
scalar per speed at each session (Carver's pooled forecast scalar, re-estimated with data
<= t only). The combined forecast is the equal-weight mean of the speeds (NaN unless every
speed is ready), re-scaled the same way (`· 10 / A_comb[t]`, trailing pooled mean of
|combined|) and capped: the combined forecast's average |value| is 10 (before capping),
which undoes the dilution of averaging imperfectly correlated speeds (a causal stand-in
for the forecast diversification multiplier).

Output in forecast units, [−cap, cap] (cap 20), NaN where not ready. The absolute scale is
a convention: the sleeve layer divides the signal by instrument vol and then scales the sleeve
to a unit risk, so a constant factor cancels at risk targeting; what matters is the
relative size across instruments and over time. Every value at session t reads returns <= t.

The EMAs and σ are computed in one pass by a numba kernel (`kernels.ewmac.raw_forecasts`,
pandas' EWM recursion, equal to `rolling.ewma` to the last bit on the same log index); the
forecast scaling is numpy over whole panels. The kernel's log1p is the C library's; numpy's
own (SIMD, on AVX-512 CPUs) differs by 1 ulp on a few % of returns, so a numpy-built log index
gives forecasts equal within 1e-9, not to the bit (tests/tolerances.py).
"""

from __future__ import annotations

import numpy as np

from macrostack.engines._columns import run_in_blocks
from macrostack.engines.trend import ewm_decay
from macrostack.kernels import kernel

_RAW_FORECASTS = kernel("ewmac_raw_forecasts")
_ABS_ROW_SUMS = kernel("ewmac_abs_row_sums")

SPEEDS: tuple[tuple[int, int], ...] = ((8, 32), (16, 64), (32, 128), (64, 256))
TARGET_ABS_FORECAST = 10.0
SCALAR_WINDOW = 2520
SCALAR_MIN_PERIODS = 252
SPEEDS_PER_PASS = 2  # raw speed panels made by one kernel pass (`signal`)


def pooled_abs_mean(f: np.ndarray, window: int = SCALAR_WINDOW,
                    min_periods: int = SCALAR_MIN_PERIODS) -> np.ndarray:
    """[T]: mean of |f| over all non-NaN values in the trailing `window` sessions (rows <= t).

    NaN until `min_periods` sessions of the window hold at least one value. Each row's sum is
    numpy's `np.sum(|f[t]|, where=~isnan)` to the bit, in one compiled pass (no |f| panel)."""
    row_sum, row_cnt = np.empty(len(f)), np.empty(len(f))
    _ABS_ROW_SUMS(np.ascontiguousarray(f, dtype=np.float64), row_sum, row_cnt)
    row_any = (row_cnt > 0).astype(float)

    def trailing(v: np.ndarray) -> np.ndarray:
        c = np.cumsum(v)
        w = c.copy()
        w[window:] -= c[:-window]
        return w

    s, c, k = trailing(row_sum), trailing(row_cnt), trailing(row_any)
    out = np.full(len(f), np.nan)
    good = (k >= min_periods) & (c > 0) & (s > 0)
    out[good] = s[good] / c[good]
    return out


def scale_forecast(raw: np.ndarray, cap: float, window: int = SCALAR_WINDOW,
                   min_periods: int = SCALAR_MIN_PERIODS, out: np.ndarray | None = None) -> np.ndarray:
    """`clip(raw · 10 / pooled_abs_mean(raw), ±cap)`: causal forecast scaling, into `out`
    (a new array by default; `out=raw` scales in place)."""
    scalar = TARGET_ABS_FORECAST / pooled_abs_mean(raw, window, min_periods)
    out = np.multiply(raw, scalar[:, None], out=out)
    return np.clip(out, -cap, cap, out=out)  # = maximum(minimum(out, cap), −cap), NaN kept; one SIMD pass


def raw_forecasts(returns: np.ndarray, speeds=SPEEDS, vol_span: int = 25) -> list[np.ndarray]:
    """Unscaled crossovers `(EMA_f(X) − EMA_s(X)) / σ`, one panel per speed (module docstring)."""
    r = np.ascontiguousarray(returns, dtype=np.float64)
    spans = sorted({float(v) for pair in speeds for v in pair})
    decays = np.array([ewm_decay(span) for span in spans])
    fast = np.array([spans.index(float(f)) for f, _ in speeds], dtype=np.int64)
    slow = np.array([spans.index(float(s)) for _, s in speeds], dtype=np.int64)
    slow_spans = np.array([int(s) for _, s in speeds], dtype=np.int64)
    out = np.empty((len(speeds), *r.shape))
    run_in_blocks(lambda c0, c1: _RAW_FORECASTS(r, c0, c1, decays, fast, slow, slow_spans,
                                                ewm_decay(float(vol_span)), out), r.shape[1])
    return list(out)


def signal(returns: np.ndarray, speeds=SPEEDS, vol_span: int = 25, forecast_cap: float = 20.0,
           scalar_window: int = SCALAR_WINDOW, scalar_min_periods: int = SCALAR_MIN_PERIODS,
           rows: np.ndarray | None = None) -> np.ndarray:
    """Combined EWMAC forecast [sessions × instruments] in [−cap, cap], NaN where not ready.

    With `rows` (session indices), only those sessions' forecasts [len(rows) × instruments]:
    `signal(returns)[rows]`, the same bits (the scalars still pool every session)."""
    speeds = [(int(f), int(s)) for f, s in speeds]
    combined = None
    # Two speeds at a time (the kernel's EMAs of shared spans are computed once per pair): at most
    # two raw panels and the running sum exist at once, not every speed (peak memory; the pairs
    # cost ~40 % more kernel time than one pass). The sum runs in speed order, as one pass would.
    for k0 in range(0, len(speeds), SPEEDS_PER_PASS):
        raws = raw_forecasts(returns, speeds[k0: k0 + SPEEDS_PER_PASS], vol_span)  # views of one array
        for raw in raws:  # scaled in place; a NaN speed makes the sum NaN: all required
            scale_forecast(raw, forecast_cap, scalar_window, scalar_min_periods, out=raw)
            if combined is None:
                combined = raw.copy()
            else:
                combined += raw
        del raws, raw
    combined /= len(speeds)
    scale_forecast(combined, forecast_cap, scalar_window, scalar_min_periods, out=combined)
    return combined if rows is None else combined[rows]


def lookback(speeds=SPEEDS, vol_span: int = 25, scalar_min_periods: int = SCALAR_MIN_PERIODS) -> int:
    """Sessions of history before the first forecast (an upper bound): the slowest EMA, then
    the speed scalars' and the combined scalar's minimum history (`scalar_min_periods` each)."""
    slowest = max(max(int(s), int(vol_span)) for _, s in speeds)
    return slowest + 2 * scalar_min_periods
