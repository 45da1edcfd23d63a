"""Sub-periods, trailing returns and the worst drawdowns: is the headline true of every era?

A full-period Sharpe can be earned mostly in one era (on the default data, mostly before
2000, where histories are back-filled and smoothed). These tables cut the run's one net
series (SYSTEM.md §0) by calendar so the headline can be read against each part of it.

Every function is pure: it takes the ready-period arrays of a run (net returns, costs and
one-way turnover, fractions of NAV per session; sorted weekday dates) and the run's
periods per year `ppy` (`metrics.periods_per_year` of the whole ready period, so every row
is annualised alike), and returns plain dicts of Python values (dates as ISO strings, NaN
when undefined). Each window is summarised as if it were a run on its own: its equity
starts at 1 on its first session. Nothing here computes P&L: the arrays are summarised
with `macrostack.metrics`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from macrostack import metrics

__all__ = ["Window", "decade_windows", "since_windows", "split_windows", "last_years_window", "period_row",
           "sub_period_table", "trailing_returns", "worst_drawdowns", "headline_tables", "tables_of_daily", "DEFAULT_SINCE",
           "TRAILING_YEARS"]

DEFAULT_SINCE = ("2000-01-01", "2010-01-01")  # the "since" rows when no splits are given
LAST_YEARS = 5
TRAILING_YEARS = (1, 3, 5, 10)
WORST_DRAWDOWNS = 10
# A decade whose run starts more than a week after its 1 January (or ends more than a week
# before its 31 December) is partial: a week absorbs New Year holidays and weekends.
_EDGE = np.timedelta64(7, "D")


class Window(NamedTuple):
    """A slice of sessions `lo:hi` of the ready period, with its label and kind.

    kind: "full", "decade", "since" (from a date to the end), "split" (between user split
    dates) or "last" (the last N years). partial: a decade the run covers only in part.
    """

    label: str
    kind: str
    lo: int
    hi: int
    partial: bool = False


def _days(dates) -> np.ndarray:
    return np.asarray(dates).astype("datetime64[D]")


def decade_windows(dates) -> list[Window]:
    """One window per calendar decade with sessions (1960s = 1960-01-01 .. 1969-12-31).

    dates: sorted sessions [T]. A decade is `partial` when the run's first session is more
    than 7 days after its 1 January or its last session more than 7 days before its
    31 December (the table shows the dates it covers).
    """
    days = _days(dates)
    if days.size == 0:
        return []
    years = days.astype("datetime64[Y]").astype(np.int64) + 1970
    decades = years // 10 * 10
    starts = np.flatnonzero(np.r_[True, decades[1:] != decades[:-1]])
    ends = np.r_[starts[1:], days.size]
    out = []
    for lo, hi in zip(starts.tolist(), ends.tolist()):
        dec = int(decades[lo])
        first, last = np.datetime64(f"{dec}-01-01"), np.datetime64(f"{dec + 9}-12-31")
        partial = bool(days[lo] - first > _EDGE or last - days[hi - 1] > _EDGE)
        out.append(Window(f"{dec}s", "decade", lo, hi, partial))
    return out


def since_windows(dates, since=DEFAULT_SINCE) -> list[Window]:
    """"since D" = sessions with date >= D to the end, for each D inside the run (first < D <= last)."""
    days = _days(dates)
    out = []
    for d in since:
        d = np.datetime64(str(d), "D")
        if days.size and days[0] < d <= days[-1]:
            out.append(Window(f"since {str(d)[:4] if str(d)[4:] == '-01-01' else d}", "since",
                              int(np.searchsorted(days, d)), days.size))
    return out


def split_windows(dates, splits) -> list[Window]:
    """Consecutive windows cut at the split dates: [first, s1), [s1, s2), ..., [sk, last].

    Splits outside the run (not `first < s <= last`) cut nothing and are dropped.
    Labels: "to s1" (sessions before s1), "s1 – s2", "from sk".
    """
    days = _days(dates)
    cuts = sorted({np.datetime64(str(s), "D") for s in splits})
    cuts = [c for c in cuts if days.size and days[0] < c <= days[-1]]
    if not cuts:
        return []
    idx = [0] + [int(np.searchsorted(days, c)) for c in cuts] + [days.size]
    labels = [f"to {cuts[0]}"] + [f"{a} – {b}" for a, b in zip(cuts, cuts[1:])] + [f"from {cuts[-1]}"]
    return [Window(lab, "split", lo, hi) for lab, lo, hi in zip(labels, idx, idx[1:])]


def _years_before(day: np.datetime64, years: int) -> np.datetime64:
    """`day` minus whole calendar years (29 February → 28 February)."""
    return np.datetime64((pd.Timestamp(day) - pd.DateOffset(years=years)).date(), "D")


def last_years_window(dates, years: int = LAST_YEARS) -> Window | None:
    """The sessions after `last − years` (calendar years); None if the run is not longer."""
    days = _days(dates)
    if days.size == 0:
        return None
    anchor = _years_before(days[-1], years)
    if days[0] > anchor:
        return None
    return Window(f"last {years} y", "last", int(np.searchsorted(days, anchor, side="right")), days.size)


def period_row(window: Window, net, costs, traded, dates, ppy: float) -> dict:
    """The headline of one window, as if it were a run of its own (equity 1 at its start).

    Keys: period (label), kind, partial, first, last (ISO), n_sessions, cagr, ann_vol,
    sharpe, max_drawdown (`metrics` functions with the run's `ppy`), cost_drag
    (`per_year(costs)`, fraction of NAV per year), turnover_per_year (`per_year(traded)`,
    multiples of NAV per year).
    """
    sl = slice(window.lo, window.hi)
    x, days = np.asarray(net, dtype=np.float64)[sl], _days(dates)[sl]
    return {
        "period": window.label, "kind": window.kind, "partial": window.partial,
        "first": str(days[0]) if days.size else None, "last": str(days[-1]) if days.size else None,
        "n_sessions": int(x.size),
        "cagr": metrics.cagr(x, ppy), "ann_vol": metrics.ann_vol(x, ppy), "sharpe": metrics.sharpe(x, ppy),
        "max_drawdown": metrics.max_drawdown(x),
        "cost_drag": metrics.per_year(np.asarray(costs)[sl], ppy),
        "turnover_per_year": metrics.per_year(np.asarray(traded)[sl], ppy),
    }


def sub_period_table(net, costs, traded, dates, ppy: float, splits=None) -> list[dict]:
    """The full period, then each decade, then either "since 2000" / "since 2010" / "last 5 y"
    (the default) or the windows between the user's `splits` (dates); one `period_row` each."""
    days = _days(dates)
    windows = [Window("full period", "full", 0, days.size)] + decade_windows(days)
    if splits:
        windows += split_windows(days, splits)
    else:
        last = last_years_window(days)
        windows += since_windows(days) + ([last] if last is not None else [])
    return [period_row(w, net, costs, traded, days, ppy) for w in windows]


def trailing_returns(net, dates, years=TRAILING_YEARS) -> list[dict]:
    """Trailing N-year returns to the last session, for the N the run covers in full.

    For each N: anchor = last date − N calendar years; the window is the sessions after the
    anchor, so the base NAV is the close of the last session on or before it (the run must
    have one, else N is left out rather than shortened). return = `prod(1 + net) − 1` over
    the window (fraction); annualised = `(1 + return)^(1/N) − 1` (compound, per calendar
    year) for N > 1, the return itself for N = 1. Keys: years, from, to (the window's
    first and last sessions, ISO), n_sessions, return, annualised.
    """
    days, x = _days(dates), np.asarray(net, dtype=np.float64)
    out = []
    for n in years:
        w = last_years_window(days, n)
        if w is None:
            continue
        total = metrics.compound(x[w.lo:w.hi])
        annualised = total if n == 1 or total <= -1.0 else (1.0 + total) ** (1.0 / n) - 1.0
        out.append({"years": n, "from": str(days[w.lo]), "to": str(days[-1]), "n_sessions": w.hi - w.lo,
                    "return": total, "annualised": annualised})
    return out


def worst_drawdowns(net, dates, n: int = WORST_DRAWDOWNS) -> list[dict]:
    """The `n` deepest drawdown episodes (`metrics.drawdown_episodes`), deepest first.

    Keys: depth (fraction of the peak NAV, < 0), peak (ISO date of the last session at the
    peak, None when the peak is the starting NAV before the first session), trough (first
    session at the episode's minimum), recovery (first session back at the peak NAV, None
    when not recovered), duration (sessions from the peak to the recovery, or to the last
    session when not recovered; the starting NAV counts as session −1), recovered (bool).
    """
    days = _days(dates)
    episodes = sorted(metrics.drawdown_episodes(net), key=lambda e: e.depth)[:n]
    iso = lambda i: str(days[i]) if i is not None else None  # noqa: E731
    return [{"depth": e.depth, "peak": iso(e.peak), "trough": iso(e.trough), "recovery": iso(e.recovery),
             "duration": (e.recovery if e.recovery is not None else days.size - 1) - (-1 if e.peak is None else e.peak),
             "recovered": e.recovery is not None} for e in episodes]


def headline_tables(net, costs, traded, dates, ppy: float, splits=None) -> dict:
    """The three tables for a run's ready period, under the manifest keys they are stored at:
    `sub_periods` (`sub_period_table`), `trailing` (`trailing_returns`), `drawdowns`
    (`worst_drawdowns`)."""
    return {"sub_periods": sub_period_table(net, costs, traded, dates, ppy, splits),
            "trailing": trailing_returns(net, dates), "drawdowns": worst_drawdowns(net, dates)}


def tables_of_daily(daily: pd.DataFrame, ppy: float | None = None, splits=None) -> dict:
    """`headline_tables` of a ready-period daily.parquet frame (columns date, net, cost,
    traded); ppy None = `metrics.periods_per_year` of its dates (what a run records)."""
    dates = _days(pd.to_datetime(daily["date"]).to_numpy())
    ppy = metrics.periods_per_year(dates) if ppy is None else ppy
    return headline_tables(*(daily[c].to_numpy(dtype=np.float64) for c in ("net", "cost", "traded")), dates, ppy, splits)
