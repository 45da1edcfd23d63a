"""Performance metrics: how did the one net P&L series behave?

Every metric reads the daily NET return series of the P&L contract (SYSTEM.md §0):
`p[d] = pg[d] - c[d]`, simple returns as fractions of NAV, one value per session of the
run calendar (weekdays only, so annualising with `SESSIONS_PER_YEAR = 252` is right).
This module must not compute P&L, re-derive returns from levels, fill gaps or resample:
it takes the arrays it is given and summarises them.

Conventions shared by every function below:
- `net` is a float64 array [T] of daily simple returns (0.01 = +1% of NAV that session).
- Equity starts at 1 before the first session: `E[d] = prod_{s<=d} (1 + net[s])`.
- The drawdown peak includes that starting NAV of 1: a loss on the first session is a
  drawdown (`E / max(1, cummax(E)) - 1`).
- Annualised quantities use 252 sessions per year; "years" of a window is `n / 252`.
- A metric that is undefined (zero volatility, no sessions, no losing sessions for the
  Sortino denominator, ...) is NaN, never 0 and never an exception.

The pure functions take the window they must summarise; only `performance_metrics` knows
about the ready-period offset `start` and slices every input with it. Validation happens
in `performance_metrics` (the boundary); the pure functions trust their inputs.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pandas as pd

from macrostack.data.calendar import SESSIONS_PER_YEAR

__all__ = [
    "SESSIONS_PER_YEAR",
    "DrawdownEpisode",
    "equity",
    "drawdown",
    "max_drawdown",
    "max_drawdown_episode",
    "cagr",
    "ann_return",
    "ann_vol",
    "sharpe",
    "sortino",
    "calmar",
    "hit_rate",
    "skew",
    "monthly_returns",
    "rolling_vol",
    "rolling_sharpe",
    "performance_metrics",
]

_NAN = float("nan")
_SQRT_YEAR = math.sqrt(SESSIONS_PER_YEAR)
NOISE_VOL = 1e-10  # annualised vol below which a P&L series is rounding noise (no meaningful Sharpe)
# |net - (gross - costs)| above this means the net series is not the contract's net.
_CONTRACT_TOL = 1e-12
# No BLAS calls (np.dot, @) here: OpenBLAS wakes its thread pool for a 17,500-long dot
# product, which on a busy machine turned a ~1 ms evaluation into 20-40 ms.


# --------------------------------------------------------------------------- equity


def equity(net: np.ndarray) -> np.ndarray:
    """Equity curve `E[d] = prod_{s<=d} (1 + net[s])`, starting NAV 1 before session 0.

    net: daily simple returns [T] (fractions of NAV). Returns float64 [T], in units of the
    starting NAV (E = 1.10 means +10% since the start). `E[d] <= 0` means the NAV was lost.
    """
    return np.cumprod(1.0 + np.asarray(net, dtype=np.float64))


def drawdown(net: np.ndarray) -> np.ndarray:
    """Drawdown from the running peak, `DD[d] = E[d] / max(1, max_{s<=d} E[s]) - 1`.

    net: daily simple returns [T]. Returns float64 [T], fractions of the peak NAV, `<= 0`
    (-0.25 = 25% below the highest NAV so far). The starting NAV 1 counts as a peak, so a
    loss on the first session is a drawdown. Values below -1 only if the NAV went negative.
    """
    e = equity(net)
    if e.size == 0:
        return e
    peak = np.maximum(np.maximum.accumulate(e), 1.0)
    return e / peak - 1.0


def max_drawdown(net: np.ndarray) -> float:
    """Maximum drawdown `min_d DD[d]` (see `drawdown`), a number `<= 0`; NaN if T = 0.

    Units: fraction of the peak NAV (-0.5 = half the peak NAV lost at the worst point).
    """
    dd = drawdown(net)
    return float(dd.min()) if dd.size else _NAN


class DrawdownEpisode(NamedTuple):
    """The maximum-drawdown episode, as session indices into the window.

    depth: `min DD` (<= 0). peak: index of the last session at the peak NAV before the
    trough, or None when the peak is the starting NAV (the loss began on session 0).
    trough: index of the first session at the minimum DD. recovery: index of the first
    session after the trough with `E >= E_peak` (exact comparison), or None.
    When depth == 0 (never below a peak) peak, trough and recovery are all None.
    """

    depth: float
    peak: int | None
    trough: int | None
    recovery: int | None


def max_drawdown_episode(net: np.ndarray) -> DrawdownEpisode:
    """Locate the maximum drawdown: depth and the peak / trough / recovery sessions.

    net: daily simple returns [T]. Ties: the trough is the first session at the minimum
    drawdown; the peak is the last session before it whose equity equals the running peak
    (a flat stretch at the peak ends the session the decline starts). Recovery compares
    `E[d] >= E_peak` exactly (no tolerance). Empty input: depth NaN, all indices None.
    """
    e = equity(net)
    if e.size == 0:
        return DrawdownEpisode(_NAN, None, None, None)
    runmax = np.maximum(np.maximum.accumulate(e), 1.0)
    dd = e / runmax - 1.0
    trough = int(np.argmin(dd))
    depth = float(dd[trough])
    if not depth < 0.0:
        return DrawdownEpisode(0.0, None, None, None)
    level = runmax[trough]
    at_peak = np.flatnonzero(e[:trough] >= level)
    peak = int(at_peak[-1]) if at_peak.size else None
    back = np.flatnonzero(e[trough + 1 :] >= level)
    recovery = trough + 1 + int(back[0]) if back.size else None
    return DrawdownEpisode(depth, peak, trough, recovery)


# --------------------------------------------------------------------------- returns and risk


def cagr(net: np.ndarray) -> float:
    """Compound annual growth rate `E[T-1]^(252 / T) - 1`.

    net: daily simple returns [T]. Units: fraction per year (0.08 = 8%/yr). NaN if T = 0;
    -1.0 if the final NAV is <= 0 (ruin: a fractional power of a negative NAV is undefined).
    """
    x = np.asarray(net, dtype=np.float64)
    n = x.size
    if n == 0:
        return _NAN
    end = float(np.prod(1.0 + x))
    if end <= 0.0:
        return -1.0
    return end ** (SESSIONS_PER_YEAR / n) - 1.0


def ann_return(net: np.ndarray) -> float:
    """Arithmetic annualised return `mean(net) * 252`; fraction per year. NaN if T = 0."""
    x = np.asarray(net, dtype=np.float64)
    return float(x.mean()) * SESSIONS_PER_YEAR if x.size else _NAN


def _std(x: np.ndarray) -> float:
    """Sample std (ddof=1); exactly 0.0 for a constant series; NaN if fewer than 2 values."""
    if x.size < 2:
        return _NAN
    if x.max() == x.min():
        # np.std of a constant array can come out as ~1e-19, which would make a Sharpe
        # ratio of 1e16 instead of undefined.
        return 0.0
    return float(x.std(ddof=1))


def ann_vol(net: np.ndarray) -> float:
    """Annualised volatility `std(net, ddof=1) * sqrt(252)`; fraction per sqrt(year).

    Exactly 0.0 for a constant series; NaN if T < 2.
    """
    return _std(np.asarray(net, dtype=np.float64)) * _SQRT_YEAR


def sharpe(net: np.ndarray) -> float:
    """Annualised Sharpe ratio `mean(net) / std(net, ddof=1) * sqrt(252)`, zero risk-free.

    Dimensionless. NaN if T < 2 or the volatility is zero.
    """
    x = np.asarray(net, dtype=np.float64)
    sd = _std(x)
    if not sd > 0.0:
        return _NAN
    return float(x.mean()) / sd * _SQRT_YEAR


def sortino(net: np.ndarray) -> float:
    """Annualised Sortino ratio `mean(net)*252 / (sqrt(mean(min(net, 0)^2)) * sqrt(252))`.

    Downside deviation with target 0, averaged over ALL T sessions (not just the losing
    ones), as in empyrical. Dimensionless. NaN if T = 0 or no session lost money.
    """
    x = np.asarray(net, dtype=np.float64)
    if x.size == 0:
        return _NAN
    down = np.minimum(x, 0.0)
    dd = math.sqrt(float((down * down).sum()) / x.size)
    if not dd > 0.0:
        return _NAN
    return float(x.mean()) * SESSIONS_PER_YEAR / (dd * _SQRT_YEAR)


def hit_rate(net: np.ndarray) -> float:
    """Share of sessions with `net > 0` among sessions with `net != 0`, in [0, 1].

    Flat sessions (no position, no P&L) are excluded. NaN if every session is flat.
    """
    x = np.asarray(net, dtype=np.float64)
    moved = int(np.count_nonzero(x))
    if moved == 0:
        return _NAN
    return int(np.count_nonzero(x > 0.0)) / moved


def skew(net: np.ndarray) -> float:
    """Sample skewness of daily net returns, bias-corrected (adjusted Fisher-Pearson G1).

    `G1 = sqrt(n(n-1)) / (n-2) * m3 / m2^(3/2)` with `m_k = mean((x - mean(x))^k)`; the
    same estimator as `pandas.Series.skew()` and `scipy.stats.skew(bias=False)`.
    Dimensionless, of daily (not annualised) returns. NaN if n < 3 or zero variance.
    """
    x = np.asarray(net, dtype=np.float64)
    n = x.size
    if n < 3 or x.max() == x.min():
        return _NAN
    d = x - x.mean()
    scale = math.sqrt(float((d * d).sum()) / n)  # sqrt(m2)
    if not scale > 0.0:
        return _NAN
    z = d / scale  # standardise first: m2^(3/2) itself can underflow for tiny returns
    return math.sqrt(n * (n - 1.0)) / (n - 2.0) * float((z * z * z).sum()) / n


# --------------------------------------------------------------------------- calendar months


def _monthly(net: np.ndarray, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(months datetime64[M] [K], compounded returns [K]) for sorted sessions `days`."""
    months = days.astype("datetime64[M]")
    if months.size == 0:
        return months, np.zeros(0)
    starts = np.flatnonzero(np.r_[True, months[1:] != months[:-1]])
    rets = np.multiply.reduceat(1.0 + net, starts) - 1.0
    return months[starts], rets


def compound(returns) -> float:
    """`prod(1 + r) − 1` of simple returns (e.g. a year's or a quarter's months)."""
    return float(np.prod(1.0 + np.asarray(returns, dtype=np.float64)) - 1.0)


def monthly_returns(net: np.ndarray, dates: np.ndarray) -> pd.Series:
    """Compounded calendar-month returns `prod_{d in month} (1 + net[d]) - 1`.

    net: daily simple returns [T]; dates: sorted session dates [T] (datetime64). Returns a
    float Series indexed by a monthly `PeriodIndex`, one row per month that has at least
    one session; a partial first or last month is compounded over the sessions it has.
    Units: fraction of the NAV at the start of the month.
    """
    x = np.asarray(net, dtype=np.float64)
    months, rets = _monthly(x, np.asarray(dates).astype("datetime64[D]"))
    index = pd.PeriodIndex(months.astype("datetime64[ns]"), freq="M", name="month")
    return pd.Series(rets, index=index, name="return")


# --------------------------------------------------------------------------- rolling


def _windows(net: np.ndarray, window: int) -> np.ndarray | None:
    x = np.asarray(net, dtype=np.float64)
    if window < 2:
        raise ValueError(f"window must be >= 2 sessions, got {window}")
    if x.size < window:
        return None
    return np.lib.stride_tricks.sliding_window_view(x, window)


def _rolling_moments(net: np.ndarray, window: int):
    """(windows [T−w+1, w], their ddof=1 std, a mask of constant windows), or None if too short."""
    w = _windows(np.asarray(net, dtype=np.float64), window)
    if w is None:
        return None
    return w, w.std(axis=1, ddof=1), w.max(axis=1) == w.min(axis=1)


def rolling_vol(net: np.ndarray, window: int = SESSIONS_PER_YEAR) -> np.ndarray:
    """Causal rolling annualised vol: `out[d] = std(net[d-window+1 : d+1], ddof=1) * sqrt(252)`.

    net: daily simple returns [T]; window: sessions (>= 2). Returns float64 [T], NaN for
    the first `window - 1` sessions (window not yet full); exactly 0.0 on a constant window.
    A NaN in the window gives NaN.
    """
    out = np.full(np.size(net), np.nan)
    moments = _rolling_moments(net, window)
    if moments is not None:
        _, sd, constant = moments
        sd[constant] = 0.0
        out[window - 1 :] = sd * _SQRT_YEAR
    return out


def rolling_sharpe(net: np.ndarray, window: int = SESSIONS_PER_YEAR) -> np.ndarray:
    """Causal rolling Sharpe: `out[d] = mean(win) / std(win, ddof=1) * sqrt(252)`,
    `win = net[d-window+1 : d+1]`, zero risk-free.

    net: daily simple returns [T]; window: sessions (>= 2). Returns float64 [T],
    dimensionless, NaN for the first `window - 1` sessions and where the window's vol is 0.
    """
    out = np.full(np.size(net), np.nan)
    moments = _rolling_moments(net, window)
    if moments is not None:
        w, sd, constant = moments
        sd[constant] = np.nan
        with np.errstate(invalid="ignore", divide="ignore"):
            out[window - 1 :] = w.mean(axis=1) / sd * _SQRT_YEAR
    return out
def _optional(name: str, values, n_total: int, start: int) -> np.ndarray | None:
    if values is None:
        return None
    arr = np.asarray(values, dtype=np.float64)
    if arr.shape != (n_total,):
        raise ValueError(f"{name} must have shape ({n_total},) like net, got {arr.shape}")
    return arr[start:]


def _mean_or_nan(x: np.ndarray | None) -> float:
    return float(x.mean()) if x is not None and x.size else _NAN


def performance_metrics(
    net: np.ndarray,
    dates: np.ndarray,
    *,
    gross: np.ndarray | None = None,
    costs: np.ndarray | None = None,
    gross_exposure: np.ndarray | None = None,
    net_exposure: np.ndarray | None = None,
    traded: np.ndarray | None = None,
    target_vol: float | None = None,
    start: int = 0,
) -> dict:
    """Headline metrics of a run over its ready period, sessions `start:`.

    Inputs (all [T], aligned on the session calendar `dates`):
    - net: daily net simple returns, fractions of NAV (the P&L contract's `p`); finite.
    - dates: strictly increasing weekday sessions (datetime64, converted to [D]).
    - gross, costs: gross return `pg` and cost `c` (fractions of NAV). When both are given
      `net == gross - costs` must hold (|error| <= 1e-12), else ValueError: the costs
      must be the ones that reached the net series.
    - gross_exposure `sum|w|`, net_exposure `sum w` of the held weights (multiples of NAV).
    - traded: one-way turnover `sum_i |dw_i|` charged that session (0 on non-trade days).
    - target_vol: the risk-targeting annual vol target (fraction per sqrt(year)).
    - start: index of the first ready session; every metric uses only sessions `start:`.

    Returns a dict (Python floats; NaN when undefined or when the optional input is absent):
    cagr, ann_return, ann_vol, sharpe, sortino, max_drawdown (<= 0), max_dd_peak,
    max_dd_trough, max_dd_recovery (ISO dates or None), calmar, worst_month,
    worst_month_date ("YYYY-MM"), best_month, best_month_date, hit_rate, skew
    (bias-corrected), avg_gross_leverage, avg_net_leverage, turnover_per_year
    (`sum(traded) / years`, multiples of NAV per year), cost_drag (`sum(costs) / years`,
    fraction of NAV per year), ann_return_gross (`mean(gross) * 252`), realised_vol_ratio
    (`ann_vol / target_vol`), n_sessions (int), first_date, last_date (ISO or None);
    `years = n_sessions / 252`. When the drawdown starts from the starting NAV (a loss on
    the first ready session), max_dd_peak is the first ready session's date.
    """
    x_all = np.asarray(net, dtype=np.float64)
    if x_all.ndim != 1:
        raise ValueError(f"net must be 1-D, got shape {x_all.shape}")
    n_total = x_all.size
    days_all = np.asarray(dates).astype("datetime64[D]")
    if days_all.shape != (n_total,):
        raise ValueError(f"dates must have shape ({n_total},) like net, got {days_all.shape}")
    if not 0 <= start <= n_total:
        raise ValueError(f"start must be in [0, {n_total}], got {start}")
    x = x_all[start:]
    days = days_all[start:]
    if not np.isfinite(x).all():
        bad = int(np.flatnonzero(~np.isfinite(x))[0]) + start
        raise ValueError(f"net is not finite at session {bad} ({days_all[bad]})")
    if days.size > 1 and not (days[1:] > days[:-1]).all():
        raise ValueError("dates must be strictly increasing")
    weekday = (days.astype(np.int64) + 3) % 7  # 0 = Monday (1970-01-01 was a Thursday)
    if (weekday >= 5).any():
        bad = days[int(np.flatnonzero(weekday >= 5)[0])]
        raise ValueError(f"weekend session {bad}: annualising with 252 needs weekday sessions")

    g = _optional("gross", gross, n_total, start)
    c = _optional("costs", costs, n_total, start)
    gx = _optional("gross_exposure", gross_exposure, n_total, start)
    nx = _optional("net_exposure", net_exposure, n_total, start)
    tr = _optional("traded", traded, n_total, start)
    if g is not None and c is not None and x.size:
        err = np.abs(x - (g - c))
        if err.max() > _CONTRACT_TOL:
            i = int(np.argmax(err))
            raise ValueError(
                f"net != gross - costs at {days[i]} (error {err[i]:.3g}): "
                "costs must be the ones that reached the net series"
            )

    n = x.size
    years = n / SESSIONS_PER_YEAR
    ep = max_drawdown_episode(x)
    iso = lambda i: str(days[i]) if i is not None else None  # noqa: E731
    if ep.trough is not None:
        peak_date = iso(ep.peak if ep.peak is not None else 0)
    else:
        peak_date = None

    months, mret = _monthly(x, days)
    if mret.size:
        lo, hi = int(np.argmin(mret)), int(np.argmax(mret))
        worst, worst_date = float(mret[lo]), str(months[lo])
        best, best_date = float(mret[hi]), str(months[hi])
    else:
        worst = best = _NAN
        worst_date = best_date = None

    vol = ann_vol(x)
    c_agr = cagr(x)
    calmar_ = c_agr / abs(ep.depth) if ep.depth < 0.0 else _NAN
    has_target = target_vol is not None and target_vol > 0

    return {
        "cagr": c_agr,
        "ann_return": ann_return(x),
        "ann_vol": vol,
        "sharpe": sharpe(x),
        "sortino": sortino(x),
        "max_drawdown": ep.depth,
        "max_dd_peak": peak_date,
        "max_dd_trough": iso(ep.trough),
        "max_dd_recovery": iso(ep.recovery),
        "calmar": calmar_,
        "worst_month": worst,
        "worst_month_date": worst_date,
        "best_month": best,
        "best_month_date": best_date,
        "hit_rate": hit_rate(x),
        "skew": skew(x),
        "avg_gross_leverage": _mean_or_nan(gx),
        "avg_net_leverage": _mean_or_nan(nx),
        "turnover_per_year": float(tr.sum()) / years if tr is not None and n else _NAN,
        "cost_drag": float(c.sum()) / years if c is not None and n else _NAN,
        "ann_return_gross": ann_return(g) if g is not None else _NAN,
        "realised_vol_ratio": vol / float(target_vol) if has_target else _NAN,
        "n_sessions": int(n),
        "first_date": str(days[0]) if n else None,
        "last_date": str(days[-1]) if n else None,
    }
