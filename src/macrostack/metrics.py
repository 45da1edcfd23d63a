"""Performance metrics: how did the one net P&L series behave?

Every metric reads the daily NET return series of the P&L contract (SYSTEM.md §0):
`p[d] = pg[d] - c[d]`, simple returns as fractions of NAV, one value per session of the
run calendar (weekdays the data trades). This module must not compute P&L, re-derive
returns from levels, fill gaps or resample: it takes the arrays it is given and
summarises them.

Conventions shared by every function below:
- `net` is a float64 array [T] of daily simple returns (0.01 = +1% of NAV that session).
- Equity starts at 1 before the first session: `E[d] = prod_{s<=d} (1 + net[s])`.
- The drawdown peak includes that starting NAV of 1: a loss on the first session is a
  drawdown (`E / max(1, cummax(E)) - 1`).
- Annualised quantities use `ppy`, the periods (sessions) per year of the run's own
  calendar (`periods_per_year`: ~260.9 for a weekday calendar, not a conventional 252);
  "years" of a window is `n / ppy`. Every annualising function takes `ppy` explicitly, so
  no caller can fall back on a convention silently.
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
    "RT_PERIODS_PER_YEAR",
    "DrawdownEpisode",
    "periods_per_year",
    "equity",
    "drawdown",
    "max_drawdown",
    "drawdown_episodes",
    "max_drawdown_episode",
    "cagr",
    "per_year",
    "ann_return",
    "ann_vol",
    "sharpe",
    "sortino",
    "realised_vol_ratio",
    "hit_rate",
    "skew",
    "monthly_returns",
    "rolling_vol",
    "rolling_sharpe",
    "rolling_vol_sharpe",
    "performance_metrics",
]

_NAN = float("nan")
# Risk targeting annualises its ex-ante vol with this convention (SYSTEM.md §5); only
# `realised_vol_ratio` uses it, so that realised and targeted vol are on the same basis.
RT_PERIODS_PER_YEAR = SESSIONS_PER_YEAR
DAYS_PER_YEAR = 365.25
NOISE_VOL = 1e-10  # annualised vol below which a P&L series is rounding noise (no meaningful Sharpe)
# |net - (gross - costs)| above this means the net series is not the contract's net.
_CONTRACT_TOL = 1e-12
# No BLAS calls (np.dot, @) here: OpenBLAS wakes its thread pool for a 17,500-long dot
# product, which on a busy machine turned a ~1 ms evaluation into 20-40 ms.


# --------------------------------------------------------------------------- calendar


def periods_per_year(dates: np.ndarray) -> float:
    """Sessions per year of a calendar: `(n - 1) / elapsed_years`, `elapsed_years =
    (last - first) in days / 365.25`.

    dates: sorted session dates [n] (datetime64). Counts the n - 1 intervals between
    sessions over the time they span, so a regular calendar gives its exact rate whatever
    its length (5 sessions a week: 365.25 * 5 / 7 = 260.89); counting n sessions would
    overstate a short window by n / (n - 1). Units: sessions per year. NaN if n < 2 or
    the dates span no time.
    """
    days = np.asarray(dates).astype("datetime64[D]")
    if days.size < 2:
        return _NAN
    elapsed = int((days[-1] - days[0]).astype(np.int64))
    return (days.size - 1) / (elapsed / DAYS_PER_YEAR) if elapsed > 0 else _NAN


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
    """A drawdown episode, as session indices into the window.

    depth: `min DD` over the episode (<= 0). peak: index of the last session at the peak
    NAV before the decline, or None when the peak is the starting NAV (the loss began on
    session 0). trough: index of the first session at the episode's minimum DD.
    recovery: index of the first session after the trough with `E >= E_peak` (exact
    comparison), or None if the NAV never got back. For a series that is never below a
    peak, `max_drawdown_episode` gives depth 0 and peak, trough, recovery all None.
    """

    depth: float
    peak: int | None
    trough: int | None
    recovery: int | None


def drawdown_episodes(net: np.ndarray) -> list[DrawdownEpisode]:
    """Every drawdown episode, in time order: each maximal run of sessions with `DD < 0`.

    net: daily simple returns [T]; DD as in `drawdown` (the starting NAV 1 is a peak). An
    episode starts on the first session below the running peak (so its peak is the session
    before, or the starting NAV) and ends at its recovery, the first session with DD = 0
    again (`E >= E_peak` exactly), or with the series when it never recovers. Its trough
    is the first session at its minimum DD. Empty list if T = 0 or never below a peak.
    """
    dd = drawdown(net)
    under = dd < 0.0
    starts = np.flatnonzero(under & ~np.r_[False, under[:-1]])
    if starts.size == 0:
        return []
    ends = np.flatnonzero(~under & np.r_[False, under[:-1]])  # recovery sessions
    stops = np.r_[ends, dd.size][: starts.size]  # each start's recovery (or T)
    lengths = np.diff(np.r_[starts, dd.size])  # segments [start_k, start_k+1): the tail is >= 0
    depths = np.minimum.reduceat(dd, starts)
    seg_min = np.full(dd.size, np.nan)
    seg_min[starts[0]:] = np.repeat(depths, lengths)
    hits = np.flatnonzero(dd == seg_min)  # sessions at their segment's minimum (>= 1 per segment)
    seg = np.searchsorted(starts, hits, side="right") - 1
    troughs = hits[np.r_[True, seg[1:] != seg[:-1]]]  # the first one of each segment
    return [DrawdownEpisode(depth, s - 1 if s > 0 else None, trough, e if e < dd.size else None)
            for s, e, depth, trough in zip(starts.tolist(), stops.tolist(), depths.tolist(), troughs.tolist())]


def max_drawdown_episode(net: np.ndarray) -> DrawdownEpisode:
    """The deepest of `drawdown_episodes` (the earliest on a tie): depth and the peak /
    trough / recovery sessions of the maximum drawdown.

    net: daily simple returns [T]. A flat stretch at the peak ends the session the decline
    starts. Never below a peak: depth 0.0 and all indices None. Empty input: depth NaN.
    """
    if np.size(net) == 0:
        return DrawdownEpisode(_NAN, None, None, None)
    episodes = drawdown_episodes(net)
    if not episodes:
        return DrawdownEpisode(0.0, None, None, None)
    return min(episodes, key=lambda ep: ep.depth)


# --------------------------------------------------------------------------- returns and risk


def cagr(net: np.ndarray, ppy: float) -> float:
    """Compound annual growth rate `E[T-1]^(ppy / T) - 1` (years = T / ppy).

    net: daily simple returns [T]; ppy: sessions per year. Units: fraction per year
    (0.08 = 8%/yr). NaN if T = 0;
    -1.0 if the final NAV is <= 0 (ruin: a fractional power of a negative NAV is undefined).
    """
    x = np.asarray(net, dtype=np.float64)
    n = x.size
    if n == 0:
        return _NAN
    end = float(np.prod(1.0 + x))
    if end <= 0.0:
        return -1.0
    return end ** (ppy / n) - 1.0


def per_year(x: np.ndarray, ppy: float) -> float:
    """A daily quantity's yearly rate `sum(x) / years = mean(x) * ppy`, years = T / ppy.

    x: per-session amounts [T] (returns, costs or turnover, fractions of NAV); ppy: sessions
    per year. Units: those of x per year. NaN if T = 0.
    """
    x = np.asarray(x, dtype=np.float64)
    return float(x.mean()) * ppy if x.size else _NAN


def ann_return(net: np.ndarray, ppy: float) -> float:
    """Arithmetic annualised return `mean(net) * ppy` (`per_year` of the returns); fraction
    per year. NaN if T = 0."""
    return per_year(net, ppy)


def _std(x: np.ndarray) -> float:
    """Sample std (ddof=1); exactly 0.0 for a constant series; NaN if fewer than 2 values."""
    if x.size < 2:
        return _NAN
    if x.max() == x.min():
        # np.std of a constant array can come out as ~1e-19, which would make a Sharpe
        # ratio of 1e16 instead of undefined.
        return 0.0
    return float(x.std(ddof=1))


def ann_vol(net: np.ndarray, ppy: float) -> float:
    """Annualised volatility `std(net, ddof=1) * sqrt(ppy)`; fraction per sqrt(year).

    Exactly 0.0 for a constant series; NaN if T < 2.
    """
    return _std(np.asarray(net, dtype=np.float64)) * math.sqrt(ppy)


def realised_vol_ratio(net: np.ndarray, target_vol: float) -> float:
    """Realised over targeted vol, `std(net, ddof=1) * sqrt(252) / target_vol`, on the
    basis risk targeting sizes with (ex-ante `sigma = sqrt(252 * w' S w)`, SYSTEM.md §5).

    Risk targeting aims at a DAILY vol of `target_vol / sqrt(252)`; this is the realised
    daily vol over that aim. Annualising the realised side with the calendar's ppy instead
    would show a book that hits its daily aim exactly as `sqrt(ppy / 252)` (~1.018) off
    target. Dimensionless; NaN if T < 2 or target_vol is not > 0.
    """
    if not target_vol > 0:
        return _NAN
    return ann_vol(net, RT_PERIODS_PER_YEAR) / target_vol


def sharpe(net: np.ndarray, ppy: float) -> float:
    """Annualised Sharpe ratio `mean(net) / std(net, ddof=1) * sqrt(ppy)`, zero risk-free.

    Dimensionless. NaN if T < 2 or the volatility is zero.
    """
    x = np.asarray(net, dtype=np.float64)
    sd = _std(x)
    if not sd > 0.0:
        return _NAN
    return float(x.mean()) / sd * math.sqrt(ppy)


def sortino(net: np.ndarray, ppy: float) -> float:
    """Annualised Sortino ratio `mean(net)*ppy / (sqrt(mean(min(net, 0)^2)) * sqrt(ppy))`.

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
    return float(x.mean()) * math.sqrt(ppy) / dd


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


def rolling_vol(net: np.ndarray, window: int, ppy: float) -> np.ndarray:
    """Causal rolling annualised vol: `out[d] = std(net[d-window+1 : d+1], ddof=1) * sqrt(ppy)`.

    net: daily simple returns [T]; window: sessions (>= 2; one year is `round(ppy)`); ppy:
    sessions per year. Returns float64 [T], NaN for
    the first `window - 1` sessions (window not yet full); exactly 0.0 on a constant window.
    A NaN in the window gives NaN.
    """
    return rolling_vol_sharpe(net, window, ppy)[0]


def rolling_sharpe(net: np.ndarray, window: int, ppy: float) -> np.ndarray:
    """Causal rolling Sharpe: `out[d] = mean(win) / std(win, ddof=1) * sqrt(ppy)`,
    `win = net[d-window+1 : d+1]`, zero risk-free.

    net: daily simple returns [T]; window: sessions (>= 2); ppy: sessions per year. Returns
    float64 [T], dimensionless, NaN for the first `window - 1` sessions and where the window's vol is 0.
    """
    return rolling_vol_sharpe(net, window, ppy)[1]


def rolling_vol_sharpe(net: np.ndarray, window: int, ppy: float) -> tuple[np.ndarray, np.ndarray]:
    """(`rolling_vol`, `rolling_sharpe`) of one series from one pass over its windows (the window
    std is most of the cost): the same numbers as calling both."""
    vol, sharpe = np.full(np.size(net), np.nan), np.full(np.size(net), np.nan)
    moments = _rolling_moments(net, window)
    if moments is not None:
        w, sd, constant = moments
        vol[window - 1 :] = np.where(constant, 0.0, sd) * math.sqrt(ppy)
        with np.errstate(invalid="ignore", divide="ignore"):
            sharpe[window - 1 :] = w.mean(axis=1) / np.where(constant, np.nan, sd) * math.sqrt(ppy)
    return vol, sharpe


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
    ppy: float | None = None,
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
    - ppy: sessions per year to annualise with; None = `periods_per_year(dates[start:])`,
      the window's own calendar. Pass the run's value to summarise a sub-period of it.

    Returns a dict (Python floats; NaN when undefined or when the optional input is absent):
    cagr, ann_return, ann_vol, sharpe, sortino, max_drawdown (<= 0), max_dd_peak,
    max_dd_trough, max_dd_recovery (ISO dates or None), calmar, worst_month,
    worst_month_date ("YYYY-MM"), best_month, best_month_date, hit_rate, skew
    (bias-corrected), avg_gross_leverage, avg_net_leverage, turnover_per_year
    (`sum(traded) / years`, multiples of NAV per year), cost_drag (`sum(costs) / years`,
    fraction of NAV per year), ann_return_gross (`mean(gross) * ppy`), realised_vol_ratio
    (see `realised_vol_ratio`: on the risk-targeting basis of 252), periods_per_year (the
    ppy used), n_sessions (int), first_date, last_date (ISO or None);
    `years = n_sessions / ppy`. When the drawdown starts from the starting NAV (a loss on
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
        raise ValueError(f"weekend session {bad}: the session calendar has weekdays only (data/calendar.py)")

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
    ppy = periods_per_year(days) if ppy is None else float(ppy)
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

    vol = ann_vol(x, ppy)
    c_agr = cagr(x, ppy)
    calmar_ = c_agr / abs(ep.depth) if ep.depth < 0.0 else _NAN

    return {
        "cagr": c_agr,
        "ann_return": ann_return(x, ppy),
        "ann_vol": vol,
        "sharpe": sharpe(x, ppy),
        "sortino": sortino(x, ppy),
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
        "turnover_per_year": per_year(tr, ppy) if tr is not None else _NAN,
        "cost_drag": per_year(c, ppy) if c is not None else _NAN,
        "ann_return_gross": ann_return(g, ppy) if g is not None else _NAN,
        "realised_vol_ratio": realised_vol_ratio(x, float(target_vol)) if target_vol is not None else _NAN,
        "periods_per_year": ppy,
        "n_sessions": int(n),
        "first_date": str(days[0]) if n else None,
        "last_date": str(days[-1]) if n else None,
    }
