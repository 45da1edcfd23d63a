"""Walk-forward selection: what would choosing the settings as time went by have earned?

Every point's daily net series is causal (decisions at t use data <= t), so a walk-forward
needs no re-running (RESEARCH.md "Walk-forward"): at each boundary b_k, score every point on
its returns in the train window ending at b_k, hold the best one over (b_k, b_k + test], and
stitch those held stretches into one out-of-sample series.

No look-ahead, by construction: the select function is handed a COPY of the rows dated
<= b_k (and inside the train window), never the matrix, so nothing after the boundary is
reachable from it; tests corrupt every row after b_k and check that no choice changes.
"""

from __future__ import annotations

import re
from typing import Callable, NamedTuple

import numpy as np
import pandas as pd

from macrostack import metrics
from macrostack.errors import InputError
from macrostack.research.stats import dated_matrix

__all__ = ["SELECTORS", "WalkForward", "parse_period", "walk_forward"]

_PERIOD = re.compile(r"^\s*(\d+)\s*([ymwd])\s*$", re.IGNORECASE)
_UNITS = {"y": "years", "m": "months", "w": "weeks", "d": "days"}
_PERIOD_FIX = "write a whole number and a unit, e.g. 10y, 6m, 26w or 90d (years, months, weeks, days)"


def parse_period(text, where: str = "period") -> pd.DateOffset:
    """A calendar period such as "10y", "2y", "6m", "26w", "90d" as a `pandas.DateOffset`.

    Years and months are calendar steps (2000-02-29 + 1y = 2001-02-28). A `DateOffset` is
    returned unchanged. Anything else (no unit, zero, negative, fractional) raises
    InputError naming `where` (the option, e.g. "--train").
    """
    if isinstance(text, pd.DateOffset):
        return text
    found = _PERIOD.match(text) if isinstance(text, str) else None
    if found is None or int(found.group(1)) == 0:
        raise InputError(f"{text!r} is not a period", where, _PERIOD_FIX)
    return pd.DateOffset(**{_UNITS[found.group(2).lower()]: int(found.group(1))})


def _calmar(net: np.ndarray, ppy: float) -> float:
    """`cagr / |max drawdown|`, NaN without a drawdown (as `metrics.performance_metrics`)."""
    dd = metrics.max_drawdown(net)
    return metrics.cagr(net, ppy) / abs(dd) if dd < 0.0 else float("nan")


# Per-column metrics a walk-forward can select on, each `f(net [t], ppy) -> float`.
SELECTORS: dict[str, Callable[[np.ndarray, float], float]] = {
    "sharpe": metrics.sharpe,
    "sortino": metrics.sortino,
    "calmar": _calmar,
    "cagr": metrics.cagr,
    "ann_return": metrics.ann_return,
}


def _per_column(fn: Callable[[np.ndarray, float], float], ppy: float) -> Callable[[np.ndarray], np.ndarray]:
    def score(window: np.ndarray) -> np.ndarray:
        return np.array([fn(col, ppy) for col in np.ascontiguousarray(window.T)])
    return score


def _selector(select, ppy: float) -> Callable[[np.ndarray], np.ndarray]:
    if callable(select):
        return select
    if select in SELECTORS:
        return _per_column(SELECTORS[select], ppy)
    raise InputError(f"unknown select metric {select!r}", "--select",
                     f"use one of {', '.join(SELECTORS)} (or pass a function window -> one score per point)")


class WalkForward(NamedTuple):
    """stitched: the out-of-sample daily net returns (Series indexed by session date).
    selections: one row per boundary — boundary (calendar date b_k), train_first /
    train_last / test_first / test_last (session dates), column (index into the matrix, -1
    when no point had a finite score: the stretch is held flat, 0 returns), chosen (that
    point's label: the DataFrame column, else the index), is_metric / oos_metric (the select metric in and out of sample), is_sharpe /
    oos_sharpe (annualised). is_sharpe: mean in-sample Sharpe of the choices; oos_sharpe:
    Sharpe of the stitched series; gap = is_sharpe − oos_sharpe (the degradation); ppy: the
    sessions per year every figure is annualised with (`metrics.periods_per_year(dates)`)."""

    stitched: pd.Series
    selections: pd.DataFrame
    is_sharpe: float
    oos_sharpe: float
    gap: float
    ppy: float


def _boundaries(first: pd.Timestamp, last: pd.Timestamp, train: pd.DateOffset, step: pd.DateOffset) -> list:
    """b_k = first + train + k·step (k = 0, 1, …) for every b_k before the last session."""
    out, k = [], 0
    while (b := first + train + k * step) < last:
        out.append(b)
        k += 1
    return out


def walk_forward(returns_matrix, dates, train="10y", test="2y", step=None, anchored: bool = False,
                 select="sharpe") -> WalkForward:
    """Choose the best point at each boundary from past rows only, hold it, stitch the holdings.

    returns_matrix: daily net returns [T, N] (sessions × points; a DataFrame keeps its column
    labels as point names). dates: sorted session dates [T]. train / test / step: periods
    ("10y", "2y", "6m"; step defaults to test). Boundaries b_k = first date + train + k·step
    while b_k < last date. At b_k the train window is the sessions dated in (b_k − train, b_k]
    (anchored: every session <= b_k); `select` scores each point on a copy of exactly those
    rows and the best finite score wins (ties: the lowest column). The winner is held over the
    sessions in (b_k, b_k + test], cut short at b_{k+1} when step < test; with step > test the
    sessions between test windows are not in the stitched series.

    select: a name in SELECTORS ("sharpe", "sortino", "calmar", "cagr", "ann_return"; each
    the `metrics` helper with the run's ppy) or a function `window [t, N] -> scores [N]`.
    After each choice, the same metric of the held stretch is reported as `oos_metric` (a
    function is then called once more with that stretch as a one-column window [t, 1]; the
    choice is already made).
    """
    labels, x, days = dated_matrix(returns_matrix, dates)
    if days.size > 1 and not (days[1:] > days[:-1]).all():
        raise InputError("dates are not strictly increasing", "dates", "sort the sessions and drop duplicates")
    train_, test_ = parse_period(train, "--train"), parse_period(test, "--test")
    step_ = test_ if step is None else parse_period(step, "--step")
    ppy = metrics.periods_per_year(days)
    score = _selector(select, ppy)
    if days.size < 2:
        raise InputError(f"{days.size} session(s): nothing to walk forward over", "returns_matrix",
                         "pass the points' daily returns over their whole history")
    bounds = _boundaries(pd.Timestamp(days[0]), pd.Timestamp(days[-1]), train_, step_)
    if not bounds:
        raise InputError(f"the data ({days[0]} – {days[-1]}) is not longer than the train period {train!r}",
                         "--train", "use a shorter train period or a longer history")

    stamps = pd.DatetimeIndex(days)
    rows, pieces, held_days = [], [], []
    for k, b in enumerate(bounds):
        hi = int(stamps.searchsorted(b, side="right"))  # rows [0, hi) are dated <= b
        lo = 0 if anchored else int(stamps.searchsorted(b - train_, side="right"))
        end = b + test_
        if k + 1 < len(bounds):
            end = min(end, bounds[k + 1])
        stop = int(stamps.searchsorted(end, side="right"))
        if stop <= hi:  # no session in (b, end]
            continue
        window = np.array(x[lo:hi])  # a copy: the select function cannot reach later rows
        scores = np.asarray(score(window), dtype=np.float64)
        finite = np.isfinite(scores)
        col = int(np.argmax(np.where(finite, scores, -np.inf))) if finite.any() else -1
        held = x[hi:stop, col] if col >= 0 else np.zeros(stop - hi)
        pieces.append(held)
        held_days.append(days[hi:stop])
        oos_metric = float(np.asarray(score(x[hi:stop, [col]]), dtype=np.float64)[0]) if col >= 0 else np.nan
        rows.append({
            "boundary": b, "train_first": stamps[lo] if hi > lo else pd.NaT, "train_last": stamps[hi - 1] if hi else pd.NaT,
            "test_first": stamps[hi], "test_last": stamps[stop - 1], "column": col,
            "chosen": (labels[col] if labels is not None else col) if col >= 0 else None,
            "is_metric": float(scores[col]) if col >= 0 else np.nan, "oos_metric": oos_metric,
            "is_sharpe": metrics.sharpe(window[:, col], ppy) if col >= 0 else np.nan,
            "oos_sharpe": metrics.sharpe(held, ppy) if col >= 0 else np.nan,
        })
    table = pd.DataFrame(rows)
    stitched = pd.Series(np.concatenate(pieces), index=pd.DatetimeIndex(np.concatenate(held_days), name="date"),
                         name="walk-forward")
    is_sharpe = float(np.nanmean(table["is_sharpe"])) if np.isfinite(table["is_sharpe"]).any() else float("nan")
    oos_sharpe = metrics.sharpe(stitched.to_numpy(), ppy)
    return WalkForward(stitched, table, is_sharpe, oos_sharpe, is_sharpe - oos_sharpe, ppy)
