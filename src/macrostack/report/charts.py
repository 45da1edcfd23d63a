"""Figures of the report as plain dicts in Plotly's JSON schema, drawn from the pure builders in
`figures` (no numbers computed here beyond cumulating and choosing which sessions to draw).
Every figure has a title, axis units and hover values.

No plotly.py objects: a figure is `{"data": [...], "layout": {...}}` with numpy arrays, which
`page.figure_html` writes straight into the page (validation and the deep copies of plotly.py's
figure objects cost more than the rest of the report). A time chart (`"time": True`) spans exactly
its data (`xaxis.range` = first → last session) and joins the page's shared time axis; its
traces with `meta.rebase` are rebased by the page at the start of the visible window. Daily
series are drawn at `figures.display_index` (full resolution over the last 10 years, extremes
kept before): a subset of the sessions, never a changed value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from macrostack.report.data import REGIMES
from macrostack.report.figures import change_index, display_index

NAVY = "#1f3b73"
BLUE = "#2c7fb8"
RED = "#c0392b"
GREY = "#7f7f7f"
ORANGE = "#e6550d"
GREEN = "#2ca25f"
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#17becf", "#e377c2", "#bcbd22", "#7f7f7f", "#aec7e8"]
REGIME_COLOURS = ("#2ca25f", "#f2c12e", "#f16913", "#cb181d")
REGIME_SHADES = (None, "rgba(242,193,46,0.13)", "rgba(241,105,19,0.17)", "rgba(203,24,29,0.22)")  # NORMAL unshaded
# Red for losses, blue for gains, white at 0.
DIVERGING = [[0.0, "#b2182b"], [0.25, "#ef8a62"], [0.5, "#f7f7f7"], [0.75, "#67a9cf"], [1.0, "#2166ac"]]
FONT = "system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif"


def _dates(index) -> np.ndarray:
    """ISO dates (YYYY-MM-DD) as strings (plotly.py figures, e.g. sweep.html)."""
    return np.datetime_as_string(np.asarray(pd.DatetimeIndex(index), dtype="datetime64[D]"), unit="D")


def _days(index) -> np.ndarray:
    """Dates as datetime64[D] (the page sends them as int32 days)."""
    return np.asarray(pd.DatetimeIndex(index), dtype="datetime64[D]")


def _iso(value) -> str:
    return str(np.datetime64(pd.Timestamp(value), "D"))


def _layout(fig, title: str, height: int, **kw):
    """Common look, for a figure dict or a plotly.py figure. The page's section heading is the
    visible title; `title` names the figure for its PNG export (modebar camera) only, so it is
    not drawn twice. kw: more layout (nested dicts; plotly.py's magic underscores too)."""
    base = dict(height=height, margin=dict(l=80, r=30, t=44, b=36), font=dict(family=FONT, size=12),
                meta=dict(title=title),
                # top left: the modebar (shown on hover) sits top right
                legend=dict(orientation="h", yanchor="bottom", y=1.01, xanchor="left", x=0.0), hovermode="x unified")
    if isinstance(fig, dict):
        layout = fig.setdefault("layout", {})
        layout.update(base)
        layout.update(kw)
        return fig
    fig.update_layout(**{**base, **kw})
    return fig


def _grid(heights, spacing: float) -> dict:
    """Layout axes of rows stacked top to bottom with one shared x-axis (like make_subplots with
    shared_xaxes): row k on xaxis{k} / yaxis{k}; only the bottom row shows dates."""
    heights = np.asarray(heights, dtype=float)
    heights = heights / heights.sum() * (1.0 - spacing * (len(heights) - 1))
    layout, top = {}, 1.0
    n = len(heights)
    for k, h in enumerate(heights, 1):
        sfx = "" if k == 1 else str(k)
        layout[f"xaxis{sfx}"] = dict(anchor=f"y{sfx}", domain=[0.0, 1.0], showticklabels=k == n,
                                     **({"matches": "x"} if k > 1 else {}))
        layout[f"yaxis{sfx}"] = dict(anchor=f"x{sfx}", domain=[max(0.0, top - h), top])
        top -= h + spacing
    return layout


def subplots(rows: int, cols: int, spacing: float, col_spacing: float = 0.0, titles=()) -> dict:
    """Layout of a rows × cols grid of equal cells, as plotly.py's make_subplots(shared_xaxes=True,
    subplot_titles=titles) lays it out: cell k (row by row from the top left, 1-based) on xaxis{k} /
    yaxis{k}; each column's x-axes match its bottom cell's, which alone shows tick labels; each title
    centred above its cell."""
    w = (1.0 - col_spacing * (cols - 1)) / cols
    h = (1.0 - spacing * (rows - 1)) / rows
    layout, notes = {}, []
    for r in range(rows):
        for c in range(cols):
            k = r * cols + c + 1
            sfx = "" if k == 1 else str(k)
            x0, y1 = c * (w + col_spacing), 1.0 - r * (h + spacing)
            x = dict(anchor=f"y{sfx}", domain=[x0, x0 + w])
            if r < rows - 1:
                x.update(matches=f"x{(rows - 1) * cols + c + 1}", showticklabels=False)
            layout[f"xaxis{sfx}"], layout[f"yaxis{sfx}"] = x, dict(anchor=f"x{sfx}", domain=[max(0.0, y1 - h), y1])
            if k <= len(titles):
                notes.append(dict(text=titles[k - 1], x=x0 + w / 2, y=y1, xref="paper", yref="paper", xanchor="center",
                                  yanchor="bottom", showarrow=False, font=dict(size=16)))
    if notes:
        layout["annotations"] = notes
    return layout


def _time(fig: dict, dates) -> dict:
    """Mark a figure as a time chart spanning exactly `dates` (first → last): no axis past the data."""
    d = pd.DatetimeIndex(dates)
    if len(d):
        for key, axis in fig["layout"].items():
            if key.startswith("xaxis") and not axis.get("overlaying"):
                axis.update(type="date", range=[_iso(d[0]), _iso(d[-1])], autorange=False)
    fig["time"] = True
    return fig


def _line(x, y, name, color, width=1.2, row: int = 1, hover="%{y}", **kw) -> dict:
    sfx = "" if row == 1 else str(row)
    return dict(type="scatter", mode="lines", x=x, y=y, name=name, line=dict(color=color, width=width, **kw.pop("line", {})),
                hovertemplate=hover, xaxis=f"x{sfx}", yaxis=f"y{sfx}", **kw)


def _hline(fig: dict, y: float, row: int = 1, color: str = "#444", width: float = 0.8, dash: str | None = None,
           text: str | None = None) -> None:
    sfx = "" if row == 1 else str(row)
    layout = fig["layout"]
    layout.setdefault("shapes", []).append(dict(type="line", xref=f"x{sfx} domain", x0=0, x1=1, yref=f"y{sfx}", y0=y, y1=y,
                                                line=dict(color=color, width=width, **({"dash": dash} if dash else {}))))
    if text:
        layout.setdefault("annotations", []).append(dict(xref=f"x{sfx} domain", x=0, yref=f"y{sfx}", y=y, text=text,
                                                         showarrow=False, xanchor="left", yanchor="bottom"))


def regime_shading(fig: dict, dates, regime: np.ndarray, rows=(1,)) -> None:
    """Shade the sessions of each non-NORMAL allocator regime behind the given rows' data.

    One filled step trace per regime and row (1 in the regime, 0 outside) on a hidden [0, 1] axis
    laid over the row's y-axis; only the change points are sent (lossless), ~2 points per regime
    spell instead of a rectangle per spell. Legend: one entry per regime."""
    codes = np.asarray(regime, dtype=float)
    if not np.isfinite(codes).any():
        return
    d = pd.DatetimeIndex(dates)
    layout = fig["layout"]
    n_axes = sum(1 for k in layout if k.startswith("yaxis"))
    for r, row in enumerate(rows):
        sfx = "" if row == 1 else str(row)
        over = f"y{n_axes + r + 1}"
        layout[f"yaxis{n_axes + r + 1}"] = dict(overlaying=f"y{sfx}", range=[0, 1], visible=False, fixedrange=True)
        for code, name in enumerate(REGIMES):
            shade = REGIME_SHADES[code] if code < len(REGIME_SHADES) else None
            inside = (codes == code).astype(float)
            if shade is None or not inside.any():
                continue
            k = change_index(inside)
            fig["data"].append(dict(type="scatter", mode="lines", x=_days(d[k]), y=inside[k], name=f"{name} regime",
                                    legendgroup=name, showlegend=r == 0, fill="tozeroy", fillcolor=shade,
                                    line=dict(width=0, shape="hv"), hoverinfo="skip", xaxis=f"x{sfx}", yaxis=over,
                                    meta=dict(shade=True)))


def equity_figure(ed: pd.DataFrame, episode: dict | None = None, regime: np.ndarray | None = None) -> dict:
    """Equity (log scale, ×NAV at the window's start) above drawdown (% below the running peak),
    allocator regimes shaded behind both."""
    eq, dd = ed["equity"].to_numpy(), ed["drawdown"].to_numpy()
    idx = display_index(ed.index, extremes=(eq, dd))
    x = _days(ed.index[idx])
    fig = {"data": [
        _line(x, eq[idx], "equity", NAVY, 1.4, hover="%{y:,.3f}× start<extra>equity</extra>", meta=dict(rebase="ratio"),
              showlegend=False),
        _line(x, dd[idx], "drawdown", RED, 1.0, row=2, hover="%{y:.1%}<extra>drawdown</extra>", fill="tozeroy",
              fillcolor="rgba(192,57,43,0.25)", showlegend=False)],
        "layout": _grid([0.68, 0.32], 0.04)}
    lay = fig["layout"]
    if regime is not None:
        regime_shading(fig, ed.index, regime, rows=(1, 2))
    if episode and episode.get("trough"):
        late = len(ed) and pd.Timestamp(episode["trough"]) > ed.index[0] + (ed.index[-1] - ed.index[0]) / 2
        lay["annotations"] = [dict(x=episode["trough"], y=episode["depth"], xref="x2", yref="y2", showarrow=True,
                                   arrowhead=2, arrowcolor=RED, ax=-70 if late else 70, ay=30,  # the label stays inside font=dict(size=11, color=RED),
                                   bgcolor="rgba(255,255,255,0.85)",
                                   text=f"max drawdown {episode['depth']:.1%} on {episode['trough']}")]
    lay["yaxis"].update(type="log", title=dict(text="equity (× NAV at the window's start, log)"))
    lay["yaxis2"].update(tickformat=".0%", title=dict(text="drawdown"))
    return _time(_layout(fig, "Equity and drawdown (net of costs)", 560, showlegend=regime is not None), ed.index)


def rolling_figure(rs: pd.DataFrame, target_vol: float | None, window: int) -> dict:
    """Trailing 1-year (`window` sessions) return, vol (with the RT target, on the chart's
    annualisation) and Sharpe, in three panels."""
    idx = display_index(rs.index)
    x = _days(rs.index[idx])
    fig = {"data": [
        _line(x, rs["return"].to_numpy()[idx], "1y return", NAVY, hover="%{y:.1%}"),
        _line(x, rs["vol"].to_numpy()[idx], "1y vol", ORANGE, row=2, hover="%{y:.1%}"),
        _line(x, rs["sharpe"].to_numpy()[idx], "1y Sharpe", GREEN, row=3, hover="%{y:.2f}")],
        "layout": _grid([1, 1, 1], 0.04)}
    if target_vol:
        _hline(fig, target_vol, row=2, color=GREY, width=1, dash="dash", text=f"RT target {target_vol:.1%} on this calendar")
    for row in (1, 3):
        _hline(fig, 0.0, row=row)
    lay = fig["layout"]
    lay["yaxis"].update(tickformat=".0%", title=dict(text="1y return"))
    lay["yaxis2"].update(tickformat=".0%", rangemode="tozero", title=dict(text="1y realised vol"))
    lay["yaxis3"].update(title=dict(text="1y Sharpe"))
    return _time(_layout(fig, f"Rolling 1-year ({window} sessions) return, volatility and Sharpe", 620, showlegend=False),
                 rs.index)


def risk_targeting_figure(rts: pd.DataFrame, target_vol: float | None, cap: float | None, floor: float | None,
                          span=None) -> dict:
    """Leverage per rebalance (×NAV) and the ex-ante vols risk targeting sized it from.
    span: the dates of the page's time axis (default: the rebalances)."""
    lev, sig, exa = (rts[c].to_numpy() for c in ("leverage", "sigma_unit", "ex_ante_vol"))
    idx = display_index(rts.index, extremes=(lev, sig))
    x = _days(rts.index[idx])
    fig = {"data": [
        _line(x, lev[idx], "leverage", NAVY, hover="%{y:.2f}×", line=dict(shape="hv")),
        _line(x, sig[idx], "σ of unit-gross book", ORANGE, 1.1, row=2, hover="%{y:.2%}"),
        _line(x, exa[idx], "ex-ante vol of w_rt", BLUE, 1.1, row=2, hover="%{y:.2%}")],
        "layout": _grid([0.5, 0.5], 0.05)}
    for level, label in ((cap, "cap"), (floor, "floor")):
        if level:
            _hline(fig, level, row=1, color=GREY, width=1, dash="dot", text=f"{label} {level:g}×")
    if target_vol:
        _hline(fig, target_vol, row=2, color=GREY, width=1, dash="dash", text=f"target {target_vol:.0%}")
    lay = fig["layout"]
    lay["yaxis"].update(ticksuffix="×", rangemode="tozero", title=dict(text="leverage L = G(w_rt)"))
    lay["yaxis2"].update(tickformat=".0%", rangemode="tozero", title=dict(text="ex-ante vol (annual)"))
    return _time(_layout(fig, "Risk targeting: leverage and ex-ante volatility per rebalance", 560),
                 span if span is not None else rts.index)


def allocator_figure(al: pd.DataFrame) -> dict:
    """Risk scalar in force (step line), the allocator regimes shaded behind it.

    Both are piecewise constant, so only their change points are sent (lossless)."""
    dates = pd.DatetimeIndex(al.index)
    scalar = al["risk_scalar"].to_numpy(dtype=float)
    k = change_index(scalar)
    fig = {"data": [_line(_days(dates[k]), scalar[k], "risk scalar in force", NAVY, 1.3, hover="%{y:.3f}",
                          line=dict(shape="hv"))],
           "layout": _grid([1], 0.0)}
    regime_shading(fig, dates, al["regime"].to_numpy(dtype=float))
    fig["layout"]["yaxis"].update(title=dict(text="risk scalar s"), range=[0, 1.05], fixedrange=True)
    return _time(_layout(fig, "Allocator: risk scalar in force and regime", 360), dates)


def exposure_figure(ex: pd.DataFrame) -> dict:
    """Gross and net exposure of the held weights (×NAV)."""
    gross, net = ex["gross"].to_numpy(), ex["net"].to_numpy()
    idx = display_index(ex.index, extremes=(gross, net))
    x = _days(ex.index[idx])
    fig = {"data": [_line(x, gross[idx], "gross Σ|w|", NAVY, 1.1, hover="%{y:.2f}×", fill="tozeroy",
                          fillcolor="rgba(31,59,115,0.12)"),
                    _line(x, net[idx], "net Σw", ORANGE, 1.1, hover="%{y:.2f}×")],
           "layout": _grid([1], 0.0)}
    _hline(fig, 0.0)
    fig["layout"]["yaxis"].update(ticksuffix="×", title=dict(text="exposure (× NAV)"))
    return _time(_layout(fig, "Gross and net exposure of held positions", 380), ex.index)


def cumulative_figure(daily_pnl: pd.DataFrame, title: str, extra: dict[str, np.ndarray] | None = None,
                      total: np.ndarray | None = None, total_name: str = "total") -> dict:
    """Cumulative sums of daily P&L columns (fractions of NAV, not compounded), one line each, 0 at
    the window's start; `extra` lines (e.g. costs) dotted red and `total` thick black."""
    lines = [(str(c), np.cumsum(daily_pnl[c].to_numpy()), dict(color=PALETTE[k % len(PALETTE)], width=1.3))
             for k, c in enumerate(daily_pnl.columns)]
    lines += [(name, np.cumsum(v), dict(color=RED, width=1.2, dash="dot")) for name, v in (extra or {}).items()]
    if total is not None:
        lines.append((total_name, np.cumsum(total), dict(color="#111", width=1.8)))
    idx = display_index(daily_pnl.index, extremes=[lines[-1][1]])  # the total's (or last line's) peaks and troughs
    x = _days(daily_pnl.index[idx])
    fig = {"data": [dict(type="scatter", mode="lines", x=x, y=y[idx], name=name, line=line, hovertemplate="%{y:.1%}",
                         meta=dict(rebase="diff")) for name, y, line in lines],
           "layout": _grid([1], 0.0)}
    _hline(fig, 0.0)
    fig["layout"]["yaxis"].update(tickformat=".0%", title=dict(text="cumulative P&L (% of NAV, summed)"))
    return _time(_layout(fig, title, 440), daily_pnl.index)


def waterfall_figure(wf: pd.Series) -> dict:
    """Gross (before the brake) → allocator drag → costs → net, in annual return."""
    labels = ["gross P&L before allocator brake", "allocator brake", "trading costs", "net P&L"]
    values = [float(v) + 0.0 for v in (wf["gross_unbraked"], -wf["allocator_drag"], -wf["costs"], wf["net"])]  # no "-0.00%"
    top = max(wf["gross_unbraked"], wf["net"], 0.0)
    fig = {"data": [dict(
        type="waterfall", x=labels, y=values, measure=["absolute", "relative", "relative", "total"],
        text=[f"{v:+.2%}" for v in values], textposition="outside",
        increasing=dict(marker=dict(color=BLUE)), decreasing=dict(marker=dict(color=RED)),
        totals=dict(marker=dict(color=NAVY)), connector=dict(line=dict(color=GREY, width=1)),
        hovertemplate="%{x}: %{y:+.2%} per year<extra></extra>")],
        "layout": {"yaxis": dict(tickformat=".0%", title=dict(text="annual return (Σ daily / years)"),
                                 range=[min(0.0, wf["net"]) * 1.2, top * 1.18 + 1e-9])}}
    return _layout(fig, "Where the return goes: gross → allocator brake → costs → net", 420, showlegend=False,
                   hovermode="closest")


def monthly_figure(table: pd.DataFrame, yearly: pd.Series) -> dict:
    """Years × months heatmap of compounded monthly returns (chronological, top to bottom), with the
    year's compounded return in its own column; colours diverge at 0 (red loss, blue gain)."""
    years = [str(y) for y in table.index]
    z = table.to_numpy(dtype=float)
    zm = float(np.nanpercentile(np.abs(z), 98)) if np.isfinite(z).any() else 0.1
    zy = yearly.reindex(table.index).to_numpy(dtype=float)[:, None]
    zym = float(np.nanmax(np.abs(zy))) if np.isfinite(zy).any() else 0.1
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    fig = {"data": [
        dict(type="heatmap", z=z, x=months, y=years, colorscale=DIVERGING, zmid=0, zmin=-zm, zmax=zm, xgap=1, ygap=1,
             texttemplate="%{z:.1%}", textfont=dict(size=9), colorbar=dict(tickformat=".0%", title=dict(text="month"), x=1.02),
             hovertemplate="%{y} %{x}: %{z:.2%}<extra></extra>", xaxis="x", yaxis="y"),
        dict(type="heatmap", z=zy, x=["Year"], y=years, colorscale=DIVERGING, zmid=0, zmin=-zym, zmax=zym, xgap=1, ygap=1,
             texttemplate="%{z:.1%}", textfont=dict(size=9),
             showscale=False,  # its own range; every cell is labelled
             hovertemplate="%{y}: %{z:.2%}<extra>year</extra>", xaxis="x2", yaxis="y2")],
        "layout": {"xaxis": dict(domain=[0.0, 0.895], anchor="y", side="top"),
                   "xaxis2": dict(domain=[0.905, 1.0], anchor="y2", side="top"),
                   "yaxis": dict(domain=[0.0, 1.0], anchor="x", autorange="reversed", type="category"),
                   "yaxis2": dict(domain=[0.0, 1.0], anchor="x2", matches="y", showticklabels=False)}}
    height = max(300, 18 * len(years) + 120)
    fig = _layout(fig, "Monthly net returns (compounded within the month)", height, hovermode="closest")
    fig["layout"]["margin"] = dict(l=60, r=40, t=40, b=20)
    return fig


def weights_figure(matrices: dict[str, pd.DataFrame], classes: dict[str, str], default: str = "w_exec") -> dict:
    """Symbols × rebalance dates heatmap of weights (×NAV) per stage, stage chosen by a dropdown."""
    stages = list(matrices)
    default = default if default in matrices else stages[-1]
    order = list(next(iter(matrices.values())).index)

    def robust_max(frames) -> float:
        values = np.abs(np.concatenate([f.to_numpy(dtype=float).ravel() for f in frames]))
        values = values[np.isfinite(values) & (values > 0)]
        return float(np.percentile(values, 99)) if values.size else 1.0

    # w_rt, w_alloc and w_exec share one colour range so the brake and the caps show as fading;
    # w_pre (unit-risk sleeves mixed, another scale) has its own. 99th percentile of |w|.
    sized = [s for s in stages if s != "w_pre"]
    shared = robust_max([matrices[s] for s in sized]) if sized else 1.0
    data = []
    for stage in stages:
        m = matrices[stage]
        zm = robust_max([m]) if stage == "w_pre" else shared
        data.append(dict(type="heatmap", z=m.to_numpy(dtype=float), x=_days(m.columns), y=order, colorscale=DIVERGING, zmid=0,
                         zmin=-zm, zmax=zm, name=stage, visible=stage == default,
                         colorbar=dict(title=dict(text="× NAV"), tickformat=".2f"),
                         hovertemplate="%{y} %{x}<br>weight %{z:.3f}× NAV<extra>" + stage + "</extra>"))
    shapes, annotations = [], []
    bounds, start = [], 0  # asset-class separators and labels
    for k in range(1, len(order) + 1):
        if k == len(order) or classes.get(order[k]) != classes.get(order[start]):
            bounds.append((start, k - 1, classes.get(order[start], "")))
            start = k
    for a, b, name in bounds:
        if b + 0.5 < len(order) - 0.5:
            shapes.append(dict(type="line", xref="paper", x0=0, x1=1, yref="y", y0=b + 0.5, y1=b + 0.5,
                               line=dict(color="#333", width=1)))
        annotations.append(dict(xref="paper", x=-0.07, y=(a + b) / 2, yref="y", text=f"<b>{name}</b>", showarrow=False,
                                xanchor="right", font=dict(size=11), textangle=0))
    buttons = [dict(label=f"stage: {s}", method="update", args=[{"visible": [t == s for t in stages]}]) for s in stages]
    fig = {"data": data, "layout": {
        "shapes": shapes, "annotations": annotations, "xaxis": dict(type="date"),
        "yaxis": dict(type="category", autorange="reversed", tickfont=dict(size=9)),
        "updatemenus": [dict(buttons=buttons, active=stages.index(default), x=0.0, xanchor="left", y=1.01,
                             yanchor="bottom", direction="down", showactive=True, bgcolor="#f0f3f8")]}}
    height = max(400, 12 * len(order) + 140)
    fig = _layout(fig, "Weights by stage at each rebalance", height, hovermode="closest")
    fig["layout"]["margin"] = dict(l=170, r=30, t=50, b=40)
    return fig


def compare_equity_figure(dates, base_net: np.ndarray, other_net: np.ndarray, base_name: str, other_name: str,
                          vol_matched: np.ndarray | None = None, scale: float | None = None) -> dict:
    """Two equity curves (log), their ratio other / base (and the vol-matched ratio: other's returns
    × `scale` so its vol equals base's), and both drawdowns, on common sessions."""
    from macrostack.metrics import drawdown, equity

    eb, eo = equity(base_net), equity(other_net)
    db, do = drawdown(base_net), drawdown(other_net)
    ratio = eo / eb
    series = [eb, eo, ratio, db, do] + ([vol_matched] if vol_matched is not None else [])
    idx = display_index(dates, extremes=series)
    x = _days(pd.DatetimeIndex(dates)[idx])
    rebase = dict(rebase="ratio")
    data = [
        _line(x, eb[idx], f"base: {base_name}", GREY, 1.3, hover="%{y:,.3f}×", meta=rebase),
        _line(x, eo[idx], f"other: {other_name}", NAVY, 1.3, hover="%{y:,.3f}×", meta=rebase),
        _line(x, ratio[idx], "equity ratio other / base", GREEN, 1.3, row=2, hover="%{y:.3f}", meta=rebase)]
    if vol_matched is not None:
        data.append(_line(x, vol_matched[idx], f"vol-matched ratio (other × {scale:.3f})", ORANGE, 1.3, row=2,
                          hover="%{y:.3f}", meta=rebase, line=dict(dash="dash")))
    data += [_line(x, db[idx], "base drawdown", GREY, 1.0, row=3, hover="%{y:.1%}"),
             _line(x, do[idx], "other drawdown", NAVY, 1.0, row=3, hover="%{y:.1%}")]
    fig = {"data": data, "layout": _grid([0.45, 0.27, 0.28], 0.04)}
    _hline(fig, 1.0, row=2)
    lay = fig["layout"]
    lay["yaxis"].update(type="log", title=dict(text="equity (× window start, log)"))
    lay["yaxis2"].update(title=dict(text="other / base"))
    lay["yaxis3"].update(tickformat=".0%", title=dict(text="drawdown"))
    fig = _layout(fig, "Equity, equity ratio and drawdowns", 700)
    lay.update(legend=dict(yanchor="top", y=-0.05, xanchor="left", x=0.0), margin=dict(l=80, r=30, t=30, b=60))
    return _time(fig, dates)


def regime_share_figure(shares: dict[str, dict[str, float]]) -> dict:
    """Horizontal stacked bars: share of sessions in each regime, one bar per run."""
    runs = list(shares)
    data = []
    for name, colour in zip(REGIMES, REGIME_COLOURS):
        values = [shares[r].get(name, 0.0) for r in runs]
        data.append(dict(type="bar", y=runs, x=values, name=name, orientation="h", marker=dict(color=colour),
                         text=[f"{v:.0%}" if v >= 0.04 else "" for v in values], textposition="inside",
                         hovertemplate="%{y}: %{x:.1%}<extra>" + name + "</extra>"))
    fig = {"data": data, "layout": {"xaxis": dict(tickformat=".0%", range=[0, 1], title=dict(text="share of common sessions")),
                                    "yaxis": dict(automargin=True), "barmode": "stack"}}
    fig = _layout(fig, "Time in each allocator regime", 140 + 50 * len(runs), hovermode="closest")
    fig["layout"]["legend"]["traceorder"] = "normal"
    return fig


def regime_performance_figure(rows: list[dict], names: tuple[str, str]) -> dict:
    """Grouped bars: each run's annualised return (Σ net / years in the regime) per regime."""
    data = []
    for key, label, colour in (("base", names[0], GREY), ("other", names[1], NAVY)):
        data.append(dict(type="bar", x=[r["regime"] for r in rows], y=[r[key]["ann_return"] for r in rows], name=label,
                         marker=dict(color=colour), hovertemplate="%{x}: %{y:.1%} a year<extra>" + label + "</extra>"))
    fig = {"data": data, "layout": {"barmode": "group", "yaxis": dict(tickformat=".0%", title=dict(text="net return / yr in regime"))}}
    fig = _layout(fig, "Net return per year in each regime", 340, hovermode="closest")
    return fig
