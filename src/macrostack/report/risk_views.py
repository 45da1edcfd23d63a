"""Report sections for the risk and benchmark views (issue 11 item 4): where is the risk, who trades, how
much does the book look like its benchmark?

Reads the run's `layers/risk_contributions.parquet`, `layers/trading.parquet` and
`layers/benchmark.parquet` (written by the run, `macrostack.risk_views` / `macrostack.benchmark`)
and the manifest's sleeve correlation matrix; cuts them to the report's sessions. A run made
before these tables gets no such sections. Nothing here recomputes risk or P&L, except the
benchmark summary of the reported window (`benchmark.benchmark_stats` of the net series).
The figures are plain dicts in Plotly's JSON schema, like `report.charts`'.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from macrostack.benchmark import benchmark_stats
from macrostack.errors import InputError
from macrostack.report.charts import NAVY, ORANGE, PALETTE, FONT, _days, _hline, _iso, _layout, _line, subplots
from macrostack.report.page import Section, esc, figure_html, num, pct, table
from macrostack.risk_views import ASSET_CLASS, SLEEVE, yearly_trading

SLEEVE_COLOURS = ["#1f3b73", "#e6550d", "#2ca25f", "#c0392b", "#8e44ad", "#f2c12e", "#16a085", "#7f7f7f"]
# plotly.py's "RdBu" (ColorBrewer) as it resolves the name: plotly.js's own "RdBu" is another scale.
RDBU = [[0.0, "rgb(103,0,31)"], [0.1, "rgb(178,24,43)"], [0.2, "rgb(214,96,77)"], [0.3, "rgb(244,165,130)"],
        [0.4, "rgb(253,219,199)"], [0.5, "rgb(247,247,247)"], [0.6, "rgb(209,229,240)"], [0.7, "rgb(146,197,222)"],
        [0.8, "rgb(67,147,195)"], [0.9, "rgb(33,102,172)"], [1.0, "rgb(5,48,97)"]]
MAX_POINTS = 1500  # per series: enough for the eye, keeps the page small (thins rows, never changes a value)


def _table(run, name: str, lo, hi) -> pd.DataFrame | None:
    """The run's layers/<name>.parquet, its rows with lo <= date <= hi; None if the run has none."""
    frame = run.table(f"layers/{name}.parquet")
    if frame is None:
        return None
    dates = pd.to_datetime(frame["date"])
    return frame.loc[(dates >= lo) & (dates <= hi)].reset_index(drop=True)


def _thin(dates: pd.DatetimeIndex) -> np.ndarray:
    """Every k-th of the sorted distinct dates (and the last), at most MAX_POINTS."""
    step = max(1, int(np.ceil(len(dates) / MAX_POINTS)))
    keep = np.arange(0, len(dates), step)
    return dates[np.unique(np.append(keep, len(dates) - 1))] if len(dates) else dates


def _grid_layout(fig: dict, title: str, height: int, x0=None, x1=None) -> dict:
    """The report's look with the legend below the grid; every x-axis spans x0 → x1 (no axis past the data)."""
    _layout(fig, title, height, legend=dict(orientation="h", y=-0.12))
    if x0 is not None:
        for key, axis in fig["layout"].items():
            if key.startswith("xaxis"):
                axis["range"] = [_iso(x0), _iso(x1)]
    return fig


def _wide(frame: pd.DataFrame, grouping: str, column: str) -> pd.DataFrame:
    """date × group of one column for one grouping, groups ordered by mean |value| (largest first)."""
    sub = frame[frame["grouping"] == grouping]
    wide = sub.pivot_table(index="date", columns="group", values=column, aggfunc="sum", sort=False)
    return wide[wide.abs().mean().sort_values(ascending=False).index]


def _stacked(fig: dict, wide: pd.DataFrame, row: int, col: int, colours: dict[str, str], fmt: str,
             legend: bool) -> None:
    """One stacked area per column of `wide` in the cell (row, col) of a 2-column grid, at `_thin` dates."""
    x = _thin(pd.DatetimeIndex(wide.index))
    part, days = wide.loc[x], _days(x)
    for name in part.columns:
        fig["data"].append(_line(days, part[name].to_numpy(), str(name), colours[name], 0.5, row=2 * (row - 1) + col,
                                 hover=fmt, stackgroup=f"s{row}{col}", legendgroup=str(name), showlegend=legend))


def _axis(fig: dict, row: int, col: int, title: str, **kw) -> None:
    """Title and format of the y-axis of the cell (row, col) of a 2-column grid."""
    k = 2 * (row - 1) + col
    fig["layout"][f"yaxis{'' if k == 1 else k}"].update(title=dict(text=title), **kw)


def risk_figure(risk: pd.DataFrame, x0, x1) -> dict:
    """Stacked areas per rebalance: Euler risk contributions (annualised vol) and gross exposure (× NAV),
    by asset class (top) and by sleeve (bottom)."""
    fig = {"data": [], "layout": subplots(2, 2, 0.08, 0.08, ("ex-ante risk contribution by asset class",
                                                              "gross exposure by asset class",
                                                              "ex-ante risk contribution by sleeve", "gross exposure by sleeve"))}
    for row, grouping in ((1, ASSET_CLASS), (2, SLEEVE)):
        rc = _wide(risk, grouping, "risk")
        if rc.empty:
            continue
        palette = PALETTE if grouping == ASSET_CLASS else SLEEVE_COLOURS  # a sleeve never shares a class's colour
        colours = {g: palette[i % len(palette)] for i, g in enumerate(rc.columns)}
        _stacked(fig, rc, row, 1, colours, "%{y:.2%}", True)
        _stacked(fig, _wide(risk, grouping, "gross")[rc.columns], row, 2, colours, "%{y:.2f}×", False)
        _axis(fig, row, 1, "vol (annualised)", tickformat=".0%")
        _axis(fig, row, 2, "× NAV", ticksuffix="×")
    return _grid_layout(fig, "Ex-ante risk contribution and gross exposure", 720, x0, x1)


def _risk_table(risk: pd.DataFrame) -> str:
    """Per group: latest risk and share, ready-period mean share, mean gross exposure."""
    ok = risk.dropna(subset=["risk"])
    if ok.empty:
        return ""
    total = ok.groupby(["grouping", "date"])["risk"].transform("sum")
    ok = ok.assign(share=np.where(total > 0, ok["risk"] / total, np.nan))
    last = ok["date"].max()
    rows = []
    for grouping in (ASSET_CLASS, SLEEVE):
        sub = ok[ok["grouping"] == grouping]
        if sub.empty:
            continue
        mean = sub.groupby("group", sort=False)[["share", "gross"]].mean()
        now = sub[sub["date"] == last].set_index("group")
        for g in mean.sort_values("share", ascending=False).index:
            rows.append([grouping.replace("_", " "), g, pct(now["risk"].get(g), 2), pct(now["share"].get(g), 0),
                         num(now["gross"].get(g), 2, "×"), pct(mean.loc[g, "share"], 0), num(mean.loc[g, "gross"], 2, "×")])
    return table(["by", "group", f"risk {pd.Timestamp(last).date()}", "share", "gross", "mean share", "mean gross"], rows,
                 numeric={2, 3, 4, 5, 6}, wide=True)


def correlation_figure(corr: dict[str, dict[str, float]]) -> dict:
    """The sleeves' correlation matrix as a heatmap, each cell labelled with its value."""
    names = list(corr)
    z = np.array([[corr[a][b] for b in names] for a in names])
    size = 160 + 60 * len(names)
    return {"data": [dict(type="heatmap", z=z, x=names, y=names, zmin=-1, zmax=1, colorscale=RDBU, reversescale=True,
                          text=np.vectorize(lambda v: f"{v:.2f}")(z), texttemplate="%{text}",
                          hovertemplate="%{y} × %{x}: %{z:.3f}<extra></extra>", colorbar=dict(title=dict(text="ρ")))],
            "layout": dict(yaxis=dict(autorange="reversed"), height=size, width=size + 140,
                           margin=dict(l=90, r=30, t=30, b=60), font=dict(family=FONT, size=12),
                           meta=dict(title="Sleeve correlation matrix"))}


def _bar(x, y, name: str, colour: str, k: int, hover: str, **kw) -> dict:
    """A bar trace in cell k (row by row) of a grid."""
    sfx = "" if k == 1 else str(k)
    return dict(type="bar", x=x, y=y, name=name, marker=dict(color=colour), hovertemplate=hover, xaxis=f"x{sfx}",
                yaxis=f"y{sfx}", **kw)


def trading_figure(yearly: pd.DataFrame) -> dict:
    """Stacked yearly bars: cost (% of NAV) and turnover (× NAV) by asset class and by sleeve."""
    fig = {"data": [], "layout": subplots(2, 2, 0.1, 0.08, ("cost per year by asset class", "turnover per year by asset class",
                                                            "cost per year by sleeve", "turnover per year by sleeve"))}
    for row, grouping in ((1, ASSET_CLASS), (2, SLEEVE)):
        if grouping not in yearly.index.get_level_values(0):
            continue
        cost, turn = yearly.loc[grouping, "cost"], yearly.loc[grouping, "turnover"]
        palette = PALETTE if grouping == ASSET_CLASS else SLEEVE_COLOURS
        years = [str(y) for y in cost.columns]
        for i, g in enumerate(cost.index):
            colour = palette[i % len(palette)]
            fig["data"] += [_bar(years, cost.loc[g].to_numpy(), str(g), colour, 2 * row - 1, "%{y:.2%}", legendgroup=f"{row}{g}"),
                            _bar(years, turn.loc[g].to_numpy(), str(g), colour, 2 * row, "%{y:.1f}×", legendgroup=f"{row}{g}",
                                 showlegend=False)]
        _axis(fig, row, 1, "% of NAV", tickformat=".1%")
        _axis(fig, row, 2, "× NAV", ticksuffix="×")
    fig["layout"]["barmode"] = "relative"
    return _grid_layout(fig, "Costs and turnover per year", 720)


def _trading_table(yearly: pd.DataFrame, ppy_years: pd.Series) -> str:
    """Rows: group; columns: the last 10 calendar years' cost (and turnover), and the whole period per year."""
    years = list(yearly["cost"].columns)[-10:]
    rows = []
    for (grouping, g) in yearly.index:
        c, t = yearly.loc[(grouping, g), "cost"], yearly.loc[(grouping, g), "turnover"]
        rows.append([grouping.replace("_", " "), g, *[f"{pct(c[y], 2)} · {num(t[y], 1)}×" for y in years],
                     f"{pct(c.sum() / ppy_years.sum(), 2)} · {num(t.sum() / ppy_years.sum(), 1)}×"])
    return table(["by", "group", *map(str, years), "whole period / yr"], rows, numeric=set(range(2, len(years) + 3)), wide=True)


def benchmark_figure(bench: pd.DataFrame, name: str, window: int, x0, x1) -> dict:
    """Rolling correlation (top) and beta (bottom) of the run's net returns with the benchmark."""
    x = _thin(pd.DatetimeIndex(bench["date"]))
    b = bench.set_index("date").loc[x]
    days = _days(x)
    fig = {"data": [_line(days, b["rolling_corr"].to_numpy(), "correlation", NAVY, hover="%{y:.2f}"),
                    _line(days, b["rolling_beta"].to_numpy(), "beta", ORANGE, row=2, hover="%{y:.2f}")],
           "layout": subplots(2, 1, 0.08, titles=(f"rolling {window}-session correlation with {name}",
                                                  f"rolling beta to {name}"))}
    for row in (1, 2):
        _hline(fig, 0, row=row)
    fig["layout"]["yaxis"]["range"] = [-1, 1]
    return _grid_layout(fig, f"Benchmark {name}", 520, x0, x1)


def _benchmark_section(run, ppy: float, bench: pd.DataFrame, meta: dict) -> Section:
    net = run.daily["net"].to_numpy(dtype=float)
    aligned = bench.set_index(pd.to_datetime(bench["date"]))["benchmark"].reindex(run.dates)
    window = int(meta.get("rolling_window") or round(ppy))
    name = meta.get("name", "benchmark")
    try:
        s, _ = benchmark_stats(net, aligned.to_numpy(dtype=float), run.dates.to_numpy(), ppy, window)
    except InputError as exc:  # too few covered sessions in the reported window
        return Section("benchmark", f"Benchmark: {name}", f"<p>{esc(str(exc))}</p>")
    rc = s.get("rolling_corr") or {}
    rows = [["beta", num(s["beta"])], ["correlation", num(s["correlation"])], ["alpha / yr (arithmetic)", pct(s["alpha"], 2)],
            ["rolling correlation: last · min · median · max",
             " · ".join(num(rc.get(k)) for k in ("last", "min", "median", "max")) if rc else "—"],
            [f"{name}: return / yr · vol · Sharpe",
             f"{pct(s['benchmark_ann_return'], 2)} · {pct(s['benchmark_ann_vol'])} · {num(s['benchmark_sharpe'])}"],
            ["sessions covered", f"{s['n_sessions']:,} ({s['first']} → {s['last']})"], ["source", meta.get("source", "")]]
    body = figure_html(benchmark_figure(bench, name, window, run.dates[0], run.dates[-1]), "fig-benchmark") + table(
        ["statistic", "value"], rows, numeric={1})
    return Section("benchmark", f"Benchmark: {name}", body,
                   f"The run's daily net returns p against {name}'s b on the run's sessions (a benchmark return on a date "
                   "the run does not trade compounds into the next session; a session without one is no return, never "
                   "filled backwards; sessions outside the benchmark's dates are left out). beta = cov(p, b)/var(b), "
                   f"correlation = cov/(σ_p σ_b), alpha = (mean p − β mean b)·{ppy:.1f}; rolling: trailing {window} "
                   "sessions (one year of this calendar).")


def sections(run, ppy: float, benchmark: tuple[dict, pd.DataFrame] | None = None) -> list[Section]:
    """The report's risk-view sections for a loaded (possibly restricted) run: risk contributions and
    exposure, sleeve correlation, costs and turnover, and the benchmark (the run's, or `benchmark` =
    (summary, table) from `report --benchmark`)."""
    if not len(run.dates):
        return []
    lo, hi = run.dates[0], run.dates[-1]
    out: list[Section] = []
    risk = _table(run, "risk_contributions", lo, hi)
    if risk is not None and len(risk.dropna(subset=["risk"])):
        m = run.manifest.get("risk_views") or {}
        out.append(Section("riskviews", "Ex-ante risk and exposure by asset class and by sleeve",
                           figure_html(risk_figure(risk, lo, hi), "fig-riskviews") + _risk_table(risk),
                           f"At each rebalance, with the risk-targeting covariance estimate ({m.get('estimator', 'RT')} "
                           f"estimator, {m.get('lookback', '')} sessions, ×252), the executed book w has ex-ante vol "
                           "σ_p = √(wᵀΣw); a group with weights c_g (an asset class's positions, or a sleeve's share of the "
                           "book; the residual is what caps and buffers changed) contributes RC_g = c_gᵀΣw / σ_p, and the "
                           "contributions add up to σ_p exactly (Euler). A negative contribution hedges the rest of the book. "
                           "Gross exposure Σ|c_g| (× NAV) is shown beside it: notional is not risk (STIR and bonds carry "
                           "large notionals at small risk). Sleeve gross exposures are before netting across sleeves."))
    corr = (run.manifest.get("attribution") or {}).get("correlation") or {}
    if len(corr) > 1:
        out.append(Section("sleevecorr", "Sleeve correlation", figure_html(correlation_figure(corr), "fig-sleevecorr"),
                           "Pearson correlation of the sleeves' daily net P&L (sleeves.parquet) over the reported sessions "
                           "(the manifest's attribution.correlation)."))
    trading = _table(run, "trading", lo, hi)
    if trading is not None and len(trading):
        yearly = yearly_trading(trading)
        years = pd.Series(run.dates.year).value_counts().sort_index() / ppy  # years of the calendar, by sessions
        out.append(Section("trading", "Costs and turnover by asset class and by sleeve",
                           figure_html(trading_figure(yearly), "fig-trading") + _trading_table(yearly, years),
                           "Per calendar year: cost (fraction of NAV, summed) · one-way turnover Σ|Δw| (× NAV, summed) of the "
                           "trades on each holding period's first session. By asset class each instrument's trade; by sleeve "
                           "its signed share sign(Δw)·Δc of the book's trade, so sleeves + residual add up to the book's cost "
                           "and turnover exactly (a sleeve whose trade another sleeve netted away gets a negative share). "
                           "Whole period / yr: sums over the sessions' years (sessions / sessions per year)."))
    if benchmark is not None:
        meta, bench = benchmark
        bench = bench.loc[(pd.to_datetime(bench["date"]) >= lo) & (pd.to_datetime(bench["date"]) <= hi)]
    else:
        meta, bench = run.manifest.get("benchmark") or {}, _table(run, "benchmark", lo, hi)
    if bench is not None and len(bench):
        out.append(_benchmark_section(run, ppy, bench.reset_index(drop=True), meta))
    return out
