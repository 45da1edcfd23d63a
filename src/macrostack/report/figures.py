"""The data behind every chart of the report, as pure functions returning pandas/numpy.

No Plotly here: each function takes arrays from a run directory and returns the numbers a
chart draws, so they can be tested against the P&L contract (SYSTEM.md §0) exactly.
Metrics come from `macrostack.metrics`; nothing here re-derives P&L another way.

Units: returns and P&L are fractions of NAV (0.01 = 1%), vols are annualised fractions,
leverage and exposures are multiples of NAV, years are `sessions / ppy` with `ppy` the
run's periods per year (`metrics.periods_per_year` of its calendar, in the manifest).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from macrostack import metrics
from macrostack.layers.allocator import REGIMES
from macrostack.metrics import drawdown, equity, monthly_returns, rolling_vol_sharpe
from macrostack.pnl import booked_returns

__all__ = [
    "display_index",
    "change_index",
    "equity_drawdown",
    "rolling_stats",
    "risk_targeting_series",
    "allocator_series",
    "regime_shares",
    "exposures",
    "asset_class_pnl",
    "sleeve_pnl",
    "pnl_summary",
    "drag_waterfall",
    "monthly_table",
    "symbol_order",
    "weights_matrix",
    "default_weights_window",
]


def display_index(dates, extremes=(), full_years: float = 10.0, buckets: int = 600) -> np.ndarray:
    """Indices of the sessions a time chart draws: a subset of the series, never a changed value.

    Every session of the last `full_years` calendar years before the last date (what the 1y /
    5y / 10y buttons show, at full resolution); before that, the sessions are cut into at most
    `buckets` runs of equal length and each run keeps its first session and, for each array of
    `extremes` (same length as `dates`; NaN ignored), the session of its minimum and maximum. So
    the whole-period view keeps every peak and trough (e.g. the maximum drawdown) while sending
    a few thousand points instead of 17,500. Sorted, unique; the first and last session always in,
    and the session before the full-resolution part (a 10-year window's equity is rebased at its close).
    """
    d = np.asarray(pd.DatetimeIndex(dates), dtype="datetime64[D]")
    n = d.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    cut = np.datetime64(pd.Timestamp(d[-1]) - pd.DateOffset(years=full_years), "D") if full_years else d[-1]
    m = int(np.searchsorted(d, cut, side="left"))  # sessions [0, m) are thinned
    if m <= buckets:
        return np.arange(n)
    size = int(np.ceil(m / buckets))
    starts = np.arange(0, m, size)
    keep = [starts, np.arange(m - 1, n), [n - 1]]  # m - 1: the close a 10-year window is rebased at
    pad = starts.size * size - m
    for values in extremes:
        v = np.asarray(values, dtype=np.float64)[:m]
        block = np.concatenate([v, np.full(pad, np.nan)]).reshape(starts.size, size)
        finite = np.isfinite(block)
        rows = finite.any(axis=1)
        lo = np.argmin(np.where(finite, block, np.inf), axis=1)
        hi = np.argmax(np.where(finite, block, -np.inf), axis=1)
        keep += [(starts + lo)[rows], (starts + hi)[rows]]
    return np.unique(np.concatenate(keep).astype(np.int64))


def change_index(values: np.ndarray, include_last: bool = True) -> np.ndarray:
    """Indices where a step series starts a new value (0 always; NaN equals NaN), plus the
    last index when `include_last`.

    Drawing a piecewise-constant daily series (risk scalar, regime) through these points with
    a step shape is lossless; without the last index they are the starts of the runs.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return np.zeros(0, dtype=np.int64)
    same = (v[1:] == v[:-1]) | (np.isnan(v[1:]) & np.isnan(v[:-1]))
    idx = np.flatnonzero(np.r_[True, ~same])
    if include_last and idx[-1] != v.size - 1:
        idx = np.append(idx, v.size - 1)
    return idx


def equity_drawdown(net: np.ndarray, dates) -> pd.DataFrame:
    """Equity (starting NAV 1) and drawdown from the running peak, per session.

    Columns: equity (multiple of the starting NAV), drawdown (fraction of the peak, <= 0);
    `drawdown.min()` equals `metrics.max_drawdown(net)`.
    """
    return pd.DataFrame({"equity": equity(net), "drawdown": drawdown(net)}, index=pd.DatetimeIndex(dates, name="date"))


def year_window(ppy: float) -> int:
    """One year of sessions for rolling windows: `round(ppy)` (261 on a weekday calendar)."""
    return int(round(ppy))


def target_on_calendar(target_vol: float, ppy: float) -> float:
    """The risk-targeting vol target on a calendar of `ppy` sessions a year:
    `target * sqrt(ppy / 252)`. Risk targeting aims at a daily vol of `target / sqrt(252)`
    (SYSTEM.md §5); annualised like every metric here, that daily aim is this number."""
    return target_vol * float(np.sqrt(ppy / metrics.RT_PERIODS_PER_YEAR))


def rolling_stats(net: np.ndarray, dates, ppy: float, window: int | None = None) -> pd.DataFrame:
    """Trailing `window`-session compounded return, annualised vol and Sharpe, per session;
    window defaults to one year, `year_window(ppy)`.

    return[d] = prod(1 + net[d-window+1 .. d]) - 1 (fraction), vol / sharpe from
    `metrics.rolling_vol` / `metrics.rolling_sharpe` on the same window. NaN until the
    window is full (the first `window - 1` sessions).
    """
    x = np.asarray(net, dtype=np.float64)
    window = year_window(ppy) if window is None else window
    e = np.concatenate([[1.0], equity(x)])
    ret = np.full(x.size, np.nan)
    if x.size >= window:
        ret[window - 1:] = e[window:] / e[:-window] - 1.0
    vol, sharpe = rolling_vol_sharpe(x, window, ppy)
    return pd.DataFrame({"return": ret, "vol": vol, "sharpe": sharpe},
                        index=pd.DatetimeIndex(dates, name="date"))


def risk_targeting_series(rt: pd.DataFrame | None) -> pd.DataFrame:
    """Per rebalance with a leverage: leverage (×NAV), sigma_unit (ex-ante vol of the unit-gross
    book), ex_ante_vol (of w_rt), clipped (bool). Empty when risk targeting never acted."""
    cols = ["leverage", "sigma_unit", "ex_ante_vol", "clipped"]
    if rt is None or "leverage" not in rt:
        return pd.DataFrame(columns=cols, index=pd.DatetimeIndex([], name="date"))
    frame = rt.loc[np.isfinite(rt["leverage"].to_numpy(dtype=float))]
    out = pd.DataFrame({c: frame[c].to_numpy(dtype=float) for c in cols if c in frame},
                       index=pd.DatetimeIndex(frame["date"], name="date"))
    if "clipped" in out:
        out["clipped"] = out["clipped"] != 0
    return out


def allocator_series(daily: pd.DataFrame) -> pd.DataFrame | None:
    """Per session: regime code (0 NORMAL .. 3 CRISIS) and the risk scalar in force.

    None when the run has no regime (allocator off): there is nothing to draw.
    """
    regime = daily["regime"].to_numpy(dtype=float)
    if not np.isfinite(regime).any():
        return None
    scalar = daily["risk_scalar"].to_numpy(dtype=float)
    return pd.DataFrame({"regime": regime, "risk_scalar": scalar}, index=pd.DatetimeIndex(daily["date"], name="date"))


def regime_shares(regime: np.ndarray, ppy: float, names=REGIMES) -> dict:
    """Share of sessions in each regime (fractions summing to 1 over finite codes) and the
    number of regime changes per year (`changes / (sessions / ppy)`)."""
    r = np.asarray(regime, dtype=float)
    r = r[np.isfinite(r)]
    n = r.size
    shares = {name: (float((r == code).sum()) / n if n else float("nan")) for code, name in enumerate(names)}
    changes = int((r[1:] != r[:-1]).sum()) if n > 1 else 0
    years = n / ppy
    return {"shares": shares, "transitions": changes, "transitions_per_year": changes / years if years else float("nan")}


def exposures(daily: pd.DataFrame) -> pd.DataFrame:
    """Gross `Σ|w|` and net `Σw` exposure of the held weights, multiples of NAV, per session."""
    return pd.DataFrame({"gross": daily["gross_exposure"].to_numpy(dtype=float),
                         "net": daily["net_exposure"].to_numpy(dtype=float)},
                        index=pd.DatetimeIndex(daily["date"], name="date"))


def asset_class_pnl(positions: np.ndarray, returns: np.ndarray, symbols, classes: dict[str, str], dates) -> pd.DataFrame:
    """Daily gross P&L per asset class: `Σ_{i in class} w[d,i] r[d,i]` (fractions of NAV).

    positions: held weights [T, N]; returns: simple returns [T, N] (NaN = no return = 0, as
    in the P&L contract). Columns ordered by class name; rows sum to the portfolio gross.
    """
    pnl = np.asarray(positions, dtype=np.float64) * booked_returns(np.asarray(returns, dtype=np.float64))
    labels = np.array([classes.get(s, "Unknown") for s in symbols], dtype=object)
    out = {c: pnl[:, labels == c].sum(axis=1) for c in sorted(set(labels))}
    return pd.DataFrame(out, index=pd.DatetimeIndex(dates, name="date"))


def sleeve_pnl(sleeves: pd.DataFrame | None) -> pd.DataFrame | None:
    """Daily net P&L per sleeve part (sleeves + residual) from sleeves.parquet; None if absent.

    Columns are the parts' net columns (names without ':'); rows sum to the portfolio net.
    """
    if sleeves is None:
        return None
    names = [c for c in sleeves.columns if c != "date" and ":" not in c]
    if not names:
        return None
    return pd.DataFrame({n: sleeves[n].to_numpy(dtype=float) for n in names},
                        index=pd.DatetimeIndex(sleeves["date"], name="date"))


def pnl_summary(daily_pnl: pd.DataFrame, ppy: float) -> pd.DataFrame:
    """Per column of daily P&L (fractions of NAV), with `metrics`: contribution per year
    (`ann_return`), its share of the columns' total contribution, annualised vol and Sharpe
    (NaN when the vol is rounding noise, below `metrics.NOISE_VOL`)."""
    cols = [daily_pnl[c].to_numpy(dtype=np.float64) for c in daily_pnl.columns]
    contribution = np.array([metrics.ann_return(x, ppy) for x in cols])
    vol = np.array([metrics.ann_vol(x, ppy) for x in cols])
    sharpe = np.array([metrics.sharpe(x, ppy) if v > metrics.NOISE_VOL else np.nan for x, v in zip(cols, vol)])
    total = contribution.sum()
    share = contribution / total if total != 0 else np.full(len(cols), np.nan)
    return pd.DataFrame({"contribution": contribution, "share": share, "vol": vol, "sharpe": sharpe},
                        index=daily_pnl.columns)


def drag_waterfall(gross: np.ndarray, cost: np.ndarray, net: np.ndarray, scalar: np.ndarray, ppy: float) -> pd.Series:
    """From gross P&L before the allocator brake to net, in annual return (Σ daily / years).

    allocator_drag[d] = (held/s − held)·r = gross[d] · (1/s[d] − 1) where the scalar in force
    `s[d]` is finite and > 0 (else 0): the gross P&L the brake removed, holding the executed
    weights otherwise fixed (an approximation: caps and the extra trading of an unbraked book
    are ignored). gross_unbraked = gross + allocator_drag. Returns a Series with
    gross_unbraked, allocator_drag, costs, net (each `sum / years`, years = T / ppy), which
    satisfies `gross_unbraked − allocator_drag − costs = net` up to rounding (net = gross − cost
    exactly by the P&L contract).
    """
    g = np.asarray(gross, dtype=np.float64)
    s = np.asarray(scalar, dtype=np.float64)
    ok = np.isfinite(s) & (s > 0)
    drag_daily = np.zeros_like(g)
    drag_daily[ok] = g[ok] * (1.0 / s[ok] - 1.0)
    years = g.size / ppy
    if years == 0:
        return pd.Series({"gross_unbraked": np.nan, "allocator_drag": np.nan, "costs": np.nan, "net": np.nan})
    drag = float(drag_daily.sum()) / years
    gross_ann = float(g.sum()) / years
    return pd.Series({"gross_unbraked": gross_ann + drag, "allocator_drag": drag,
                      "costs": float(np.asarray(cost, dtype=np.float64).sum()) / years,
                      "net": float(np.asarray(net, dtype=np.float64).sum()) / years})


def monthly_table(net: np.ndarray, dates) -> tuple[pd.DataFrame, pd.Series]:
    """Compounded calendar-month returns as a years × months (1..12) table (years ascending), and the year's
    compounded return (`prod(1 + month) − 1`, over the months the year has).

    Months without sessions are NaN. Uses `metrics.monthly_returns`.
    """
    m = monthly_returns(np.asarray(net, dtype=np.float64), np.asarray(pd.DatetimeIndex(dates), dtype="datetime64[D]"))
    frame = pd.DataFrame({"year": m.index.year, "month": m.index.month, "ret": m.to_numpy()})
    table = frame.pivot(index="year", columns="month", values="ret").reindex(columns=range(1, 13))
    yearly = frame.groupby("year")["ret"].apply(metrics.compound)
    return table, yearly


def symbol_order(symbols, classes: dict[str, str]) -> list[str]:
    """Symbols grouped by asset class (classes alphabetical, symbols alphabetical within)."""
    return sorted(symbols, key=lambda s: (classes.get(s, "Unknown"), s))


def weights_matrix(weights: pd.DataFrame, stage: str, order: list[str]) -> pd.DataFrame:
    """One stage of long weights (stage, date, symbol, weight) as symbols × rebalance dates,
    rows in `order`. Weights in multiples of NAV."""
    w = weights.loc[weights["stage"] == stage]
    table = w.pivot(index="symbol", columns="date", values="weight")
    return table.reindex(index=order)


def default_weights_window(rebalance_dates: pd.DatetimeIndex, start=None, end=None) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The weights-heatmap date range: [start, end] when given, else the last 2 years of
    rebalances (end = last rebalance, start = end − 2 years)."""
    if len(rebalance_dates) == 0:
        raise ValueError("no rebalance dates")
    end_ts = pd.Timestamp(end) if end is not None else rebalance_dates.max()
    start_ts = pd.Timestamp(start) if start is not None else end_ts - pd.DateOffset(years=2)
    return start_ts, end_ts
