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

The EMAs are computed by `decayed_sum` (a blocked cumulative sum in numpy, same formula as
pandas' EWM, several times faster; equal to `rolling.ewma` to ~1e-13 relative).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from macrostack import rolling

SPEEDS: tuple[tuple[int, int], ...] = ((8, 32), (16, 64), (32, 128), (64, 256))
TARGET_ABS_FORECAST = 10.0
SCALAR_WINDOW = 2520
SCALAR_MIN_PERIODS = 252


def decayed_sum(x0: np.ndarray, span: float, scale: float = 1.0) -> np.ndarray:
    """`scale · S[t]`, `S[t] = Σ_{k<=t} β^(t−k) x0[k]` down axis 0 of a finite panel, β = 1 − 2/(span+1).

    Computed in blocks of B rows, `S[a+j] = β^j (β S[a−1] + Σ_{i<=j} β^(−i) x0[a+i])`: one
    cumulative sum per block, B chosen so that β^(−B) stays below 1e120 (no overflow, and the
    rounding error stays relative to |S|). Row t reads rows <= t only; the block boundaries
    depend on the panel length alone, so the result at t does not depend on later values."""
    t_len, n = x0.shape
    beta = 1.0 - 2.0 / (float(span) + 1.0)
    block = int(max(1, min(t_len, np.floor(276.0 / -np.log(beta)))))
    grow = beta ** -np.arange(block, dtype=float)                  # β^(−i)
    shrink = beta ** np.arange(block, dtype=float) * scale         # scale · β^j
    out = np.empty((t_len, n))
    carry = np.zeros(n)                                            # β S[a−1], unscaled
    for a in range(0, t_len, block):
        b = min(a + block, t_len)
        cs = out[a:b]
        np.multiply(grow[: b - a, None], x0[a:b], out=cs)
        cs[0] += carry
        np.cumsum(cs, axis=0, out=cs)
        carry = beta ** (b - a) * cs[-1]
        cs *= shrink[: b - a, None]
    return out


def _normalise(s: np.ndarray, beta: float, start: np.ndarray, nan_before: bool = True) -> np.ndarray:
    """In place: `s[t, j] / (1 − β^k)`, k = t − start[j] + 1 values so far (s already carries
    the factor 1 − β). Beyond the first K values (β^K < 1e-17) the divisor rounds to 1, so only
    the first K rows after each start need the correction; rows before the start become NaN
    (left as they are, 0, with `nan_before=False` when the caller masks them anyway)."""
    t_len = s.shape[0]
    k_max = int(min(t_len, np.ceil(np.log(1e-17) / np.log(beta)) + 1))
    divisor = 1.0 - beta ** np.arange(1, k_max + 1, dtype=float)
    for j, a in enumerate(start):
        a = int(a)
        m = min(k_max, t_len - a)
        if m > 0:
            s[a:a + m, j] /= divisor[:m]
        if nan_before:
            s[:a, j] = np.nan
    return s


def _first_rows(x: np.ndarray) -> np.ndarray:
    """Row of each column's first non-NaN value (T if none)."""
    ok = ~np.isnan(x)
    first = ok.argmax(axis=0)
    first[~ok.any(axis=0)] = x.shape[0]
    return first


def ema(x: np.ndarray, span: float, start: np.ndarray | None = None) -> np.ndarray:
    """EMA (adjust=True, same formula as `rolling.ewma`) of each column from its row `start[j]`
    (default: its first non-NaN value). `x` must be finite from `start[j]` on; the result is
    NaN before it. `EMA[t] = S[t] (1 − β) / (1 − β^(t−start+1))`, S the `decayed_sum` of the
    column zeroed before its start."""
    start = _first_rows(x) if start is None else np.asarray(start)
    before = np.arange(x.shape[0])[:, None] < start[None, :]
    beta = 1.0 - 2.0 / (float(span) + 1.0)
    return _normalise(decayed_sum(np.where(before, 0.0, x), span, 1.0 - beta), beta, start)


def pooled_abs_mean(f: np.ndarray, window: int = SCALAR_WINDOW,
                    min_periods: int = SCALAR_MIN_PERIODS) -> np.ndarray:
    """[T]: mean of |f| over all non-NaN values in the trailing `window` sessions (rows <= t).

    NaN until `min_periods` sessions of the window hold at least one value."""
    a = np.abs(f)
    ok = ~np.isnan(a)
    row_sum = np.sum(a, axis=1, where=ok)
    row_cnt = np.count_nonzero(ok, axis=1).astype(float)
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
                   min_periods: int = SCALAR_MIN_PERIODS) -> np.ndarray:
    """`clip(raw · 10 / pooled_abs_mean(raw), ±cap)`: causal forecast scaling (a new array)."""
    scalar = TARGET_ABS_FORECAST / pooled_abs_mean(raw, window, min_periods)
    out = raw * scalar[:, None]
    np.minimum(out, cap, out=out)
    np.maximum(out, -cap, out=out)
    return out


def _prepare(returns: np.ndarray, speeds, vol_span: int, pool: ThreadPoolExecutor):
    """EMAs of the log index by span, 1/σ, first rows — shared by every speed."""
    returns = np.asarray(returns, dtype=float)
    n = returns.shape[1]
    ok = ~np.isnan(returns)
    start = _first_rows(returns)
    # Log index, 0 before each start; a return below −99% (possible for a futures notional
    # whose price goes negative) counts as −99% so the log stays finite.
    dx = np.log1p(np.maximum(np.where(ok, returns, 0.0), -0.99))
    x0 = np.cumsum(dx, axis=0)

    def ema_of(span: float) -> np.ndarray:
        beta = 1.0 - 2.0 / (span + 1.0)
        return _normalise(decayed_sum(x0, span, 1.0 - beta), beta, start, nan_before=False)

    def inverse_vol() -> np.ndarray:
        # σ² = EWMA of squared daily log returns over the sessions with a return (pandas,
        # ignore_na: a missing return is skipped, not a zero); runs without the GIL.
        sq = np.where(ok, dx * dx, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            inv = 1.0 / np.sqrt(rolling.ewma(sq, span=float(vol_span)))
        inv[~np.isfinite(inv)] = np.nan                           # no vol yet, or zero vol
        return inv

    spans = sorted({float(v) for pair in speeds for v in pair}, reverse=True)
    vol_job = pool.submit(inverse_vol)
    emas = dict(zip(spans, pool.map(ema_of, spans)))
    return emas, vol_job.result(), start


def _raw(emas, inv_sigma, start, fast: int, slow: int) -> np.ndarray:
    raw = emas[float(fast)] - emas[float(slow)]
    raw *= inv_sigma
    for j, a in enumerate(start):                                 # fewer than `slow` sessions
        raw[: int(a) + int(slow) - 1, j] = np.nan
    return raw


def raw_forecasts(returns: np.ndarray, speeds=SPEEDS, vol_span: int = 25) -> list[np.ndarray]:
    """Unscaled crossovers `(EMA_f(X) − EMA_s(X)) / σ`, one panel per speed (module docstring)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        emas, inv_sigma, start = _prepare(returns, speeds, vol_span, pool)
    return [_raw(emas, inv_sigma, start, f, s) for f, s in speeds]


def signal(returns: np.ndarray, speeds=SPEEDS, vol_span: int = 25, forecast_cap: float = 20.0,
           scalar_window: int = SCALAR_WINDOW, scalar_min_periods: int = SCALAR_MIN_PERIODS) -> np.ndarray:
    """Combined EWMAC forecast [sessions × instruments] in [−cap, cap], NaN where not ready."""
    speeds = [(int(f), int(s)) for f, s in speeds]

    # numpy kernels release the GIL, so two threads use both cores; the speeds are summed in a
    # fixed order, so the result does not depend on scheduling.
    with ThreadPoolExecutor(max_workers=2) as pool:
        emas, inv_sigma, start = _prepare(returns, speeds, vol_span, pool)
        scaled = list(pool.map(lambda fs: scale_forecast(_raw(emas, inv_sigma, start, *fs), forecast_cap,
                                                         scalar_window, scalar_min_periods), speeds))
    combined = scaled[0]
    for part in scaled[1:]:  # a NaN speed makes the sum NaN: every speed is required
        combined += part
    combined /= len(speeds)
    return scale_forecast(combined, forecast_cap, scalar_window, scalar_min_periods)


def lookback(speeds=SPEEDS, vol_span: int = 25, scalar_min_periods: int = SCALAR_MIN_PERIODS) -> int:
    """Sessions of history before the first forecast (an upper bound): the slowest EMA, then
    the speed scalars' and the combined scalar's minimum history (`scalar_min_periods` each)."""
    slowest = max(max(int(s), int(vol_span)) for _, s in speeds)
    return slowest + 2 * scalar_min_periods
