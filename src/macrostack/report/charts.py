"""Plotly figures of the report, drawn from the pure builders in `figures` (no numbers computed here
beyond cumulating and formatting). Every figure has a title, axis units and hover values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from macrostack.report.data import REGIMES
from macrostack.report.figures import change_index, thin_index

NAVY = "#1f3b73"
BLUE = "#2c7fb8"
RED = "#c0392b"
GREY = "#7f7f7f"
ORANGE = "#e6550d"
GREEN = "#2ca25f"
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#17becf", "#e377c2", "#bcbd22", "#7f7f7f", "#aec7e8"]
REGIME_COLOURS = ("#2ca25f", "#f2c12e", "#f16913", "#cb181d")
# Red for losses, blue for gains, white at 0.
DIVERGING = [[0.0, "#b2182b"], [0.25, "#ef8a62"], [0.5, "#f7f7f7"], [0.75, "#67a9cf"], [1.0, "#2166ac"]]
FONT = "system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif"
RANGE_BUTTONS = [dict(count=1, label="1y", step="year", stepmode="backward"),
                 dict(count=5, label="5y", step="year", stepmode="backward"),
                 dict(count=10, label="10y", step="year", stepmode="backward"),
                 dict(step="all", label="all")]


def _dates(index) -> np.ndarray:
    """ISO dates (YYYY-MM-DD): half the bytes of Plotly's default timestamp strings."""
    return np.datetime_as_string(np.asarray(pd.DatetimeIndex(index), dtype="datetime64[D]"), unit="D")


def _layout(fig: go.Figure, title: str, height: int, **kw) -> go.Figure:
    """Common look. The page's section heading is the visible title; `title` names the figure
    for its PNG export (modebar camera) only, so it is not drawn twice."""
    fig.update_layout(template="plotly_white", height=height, margin=dict(l=80, r=30, t=44, b=36),
                      font=dict(family=FONT, size=12), meta=dict(title=title),
                      # top left: the modebar (shown on hover) sits top right
                      legend=dict(orientation="h", yanchor="bottom", y=1.01, xanchor="left", x=0.0),
                      **{"hovermode": "x unified", **kw})
    return fig


def equity_figure(ed: pd.DataFrame, episode: dict | None = None) -> go.Figure:
    """Equity (log scale, ×starting NAV) above drawdown (% below the running peak)."""
    x = _dates(ed.index)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.68, 0.32], vertical_spacing=0.04)
    fig.add_trace(go.Scatter(x=x, y=ed["equity"].to_numpy(), name="equity", line=dict(color=NAVY, width=1.4),
                             hovertemplate="%{y:,.3f}× start NAV<extra>equity</extra>"), row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=ed["drawdown"].to_numpy(), name="drawdown", fill="tozeroy",
                             line=dict(color=RED, width=1), fillcolor="rgba(192,57,43,0.25)",
                             hovertemplate="%{y:.1%}<extra>drawdown</extra>"), row=2, col=1)
    if episode and episode.get("trough"):
        fig.add_annotation(x=episode["trough"], y=episode["depth"], xref="x2", yref="y2", showarrow=True,
                           arrowhead=2, arrowcolor=RED, ax=70, ay=30, font=dict(size=11, color=RED),
                           bgcolor="rgba(255,255,255,0.85)",
                           text=f"max drawdown {episode['depth']:.1%} on {episode['trough']}")
    fig.update_yaxes(type="log", title_text="equity (× start NAV, log)", row=1, col=1)
    fig.update_yaxes(tickformat=".0%", title_text="drawdown", row=2, col=1)
    fig.update_xaxes(rangeselector=dict(buttons=RANGE_BUTTONS, x=0, y=1.02), row=1, col=1)
    return _layout(fig, "Equity and drawdown (net of costs)", 560, showlegend=False)


def rolling_figure(rs: pd.DataFrame, target_vol: float | None, window: int) -> go.Figure:
    """Trailing 1-year (`window` sessions) return, vol (with the RT target, on the chart's
    annualisation) and Sharpe, in three panels."""
    idx = thin_index(len(rs))
    x = _dates(rs.index[idx])
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.04)
    fig.add_trace(go.Scatter(x=x, y=rs["return"].to_numpy()[idx], name="1y return", line=dict(color=NAVY, width=1.2),
                             hovertemplate="%{y:.1%}"), row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=rs["vol"].to_numpy()[idx], name="1y vol", line=dict(color=ORANGE, width=1.2),
                             hovertemplate="%{y:.1%}"), row=2, col=1)
    if target_vol:
        fig.add_hline(y=target_vol, line=dict(color=GREY, dash="dash", width=1), row=2, col=1,
                      annotation_text=f"RT target {target_vol:.1%} on this calendar", annotation_position="top left")
    fig.add_trace(go.Scatter(x=x, y=rs["sharpe"].to_numpy()[idx], name="1y Sharpe", line=dict(color=GREEN, width=1.2),
                             hovertemplate="%{y:.2f}"), row=3, col=1)
    for row in (1, 3):
        fig.add_hline(y=0, line=dict(color="#444", width=0.8), row=row, col=1)
    fig.update_yaxes(tickformat=".0%", title_text="1y return", row=1, col=1)
    fig.update_yaxes(tickformat=".0%", rangemode="tozero", title_text="1y realised vol", row=2, col=1)
    fig.update_yaxes(title_text="1y Sharpe", row=3, col=1)
    return _layout(fig, f"Rolling 1-year ({window} sessions) return, volatility and Sharpe", 620, showlegend=False)


def risk_targeting_figure(rts: pd.DataFrame, target_vol: float | None, cap: float | None, floor: float | None) -> go.Figure:
    """Leverage per rebalance (×NAV) and the ex-ante vols risk targeting sized it from."""
    x = _dates(rts.index)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.05, row_heights=[0.5, 0.5])
    fig.add_trace(go.Scatter(x=x, y=rts["leverage"].to_numpy(), name="leverage", line=dict(color=NAVY, width=1.2, shape="hv"),
                             hovertemplate="%{y:.2f}×"), row=1, col=1)
    for level, label in ((cap, "cap"), (floor, "floor")):
        if level:
            fig.add_hline(y=level, line=dict(color=GREY, dash="dot", width=1), row=1, col=1,
                          annotation_text=f"{label} {level:g}×", annotation_position="top left")
    fig.add_trace(go.Scatter(x=x, y=rts["sigma_unit"].to_numpy(), name="σ of unit-gross book", line=dict(color=ORANGE, width=1.1),
                             hovertemplate="%{y:.2%}"), row=2, col=1)
    fig.add_trace(go.Scatter(x=x, y=rts["ex_ante_vol"].to_numpy(), name="ex-ante vol of w_rt", line=dict(color=BLUE, width=1.1),
                             hovertemplate="%{y:.2%}"), row=2, col=1)
    if target_vol:
        fig.add_hline(y=target_vol, line=dict(color=GREY, dash="dash", width=1), row=2, col=1,
                      annotation_text=f"target {target_vol:.0%}", annotation_position="top left")
    fig.update_yaxes(ticksuffix="×", rangemode="tozero", title_text="leverage L = G(w_rt)", row=1, col=1)
    fig.update_yaxes(tickformat=".0%", rangemode="tozero", title_text="ex-ante vol (annual)", row=2, col=1)
    return _layout(fig, "Risk targeting: leverage and ex-ante volatility per rebalance", 560)


def allocator_figure(al: pd.DataFrame) -> go.Figure:
    """Risk scalar in force (step line) above a colour strip of the allocator regime.

    Both are piecewise constant, so only their change points are sent (lossless): the scalar
    as a step line, the regime as heatmap bricks whose edges are the first session of each
    run and the session after the last.
    """
    dates = pd.DatetimeIndex(al.index)
    scalar = al["risk_scalar"].to_numpy(dtype=float)
    codes = al["regime"].to_numpy(dtype=float)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.05, row_heights=[0.74, 0.26])
    k = change_index(scalar)
    fig.add_trace(go.Scatter(x=_dates(dates[k]), y=scalar[k], name="risk scalar in force",
                             line=dict(color=NAVY, width=1.3, shape="hv"), hovertemplate="%{y:.3f}"), row=1, col=1)
    starts = change_index(codes, include_last=False)
    ends = np.append(starts[1:], len(codes)) - 1
    edges = np.append(_dates(dates[starts]), _dates([dates[-1] + pd.Timedelta(days=1)]))
    run_codes = codes[starts]
    names = np.array(REGIMES + ("n/a",), dtype=object)[np.where(np.isfinite(run_codes), run_codes, len(REGIMES)).astype(int)]
    text = [f"{name} {a} → {b} ({n} sessions)" for name, a, b, n in
            zip(names, _dates(dates[starts]), _dates(dates[ends]), ends - starts + 1)]
    n = len(REGIMES)
    scale = []
    for j, colour in enumerate(REGIME_COLOURS):
        scale += [[j / n, colour], [(j + 1) / n, colour]]
    fig.add_trace(go.Heatmap(x=edges, y=["regime"], z=run_codes[None, :], text=[text], zmin=-0.5, zmax=n - 0.5,
                             colorscale=scale, hovertemplate="%{text}<extra></extra>",
                             colorbar=dict(tickvals=list(range(n)), ticktext=list(REGIMES), len=0.32, y=0.0,
                                           yanchor="bottom", thickness=14)),
                  row=2, col=1)
    fig.update_yaxes(title_text="risk scalar s", range=[0, 1.05], row=1, col=1)
    fig.update_yaxes(title_text="regime", showticklabels=False, row=2, col=1)
    return _layout(fig, "Allocator: risk scalar in force and regime", 440, showlegend=False)


def exposure_figure(ex: pd.DataFrame) -> go.Figure:
    """Gross and net exposure of the held weights (×NAV)."""
    idx = thin_index(len(ex))
    x = _dates(ex.index[idx])
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=ex["gross"].to_numpy()[idx], name="gross Σ|w|", line=dict(color=NAVY, width=1.1),
                             fill="tozeroy", fillcolor="rgba(31,59,115,0.12)", hovertemplate="%{y:.2f}×"))
    fig.add_trace(go.Scatter(x=x, y=ex["net"].to_numpy()[idx], name="net Σw", line=dict(color=ORANGE, width=1.1),
                             hovertemplate="%{y:.2f}×"))
    fig.add_hline(y=0, line=dict(color="#444", width=0.8))
    fig.update_yaxes(ticksuffix="×", title_text="exposure (× NAV)")
    return _layout(fig, "Gross and net exposure of held positions", 380)


def cumulative_figure(daily_pnl: pd.DataFrame, title: str, extra: dict[str, np.ndarray] | None = None,
                      total: np.ndarray | None = None, total_name: str = "total") -> go.Figure:
    """Cumulative sums of daily P&L columns (fractions of NAV, not compounded), one line each;
    `extra` lines (e.g. costs) dotted red and `total` thick black."""
    idx = thin_index(len(daily_pnl))
    x = _dates(daily_pnl.index[idx])
    fig = go.Figure()
    for k, col in enumerate(daily_pnl.columns):
        fig.add_trace(go.Scatter(x=x, y=np.cumsum(daily_pnl[col].to_numpy())[idx], name=str(col),
                                 line=dict(color=PALETTE[k % len(PALETTE)], width=1.3), hovertemplate="%{y:.1%}"))
    for name, values in (extra or {}).items():
        fig.add_trace(go.Scatter(x=x, y=np.cumsum(values)[idx], name=name, line=dict(color=RED, width=1.2, dash="dot"),
                                 hovertemplate="%{y:.1%}"))
    if total is not None:
        fig.add_trace(go.Scatter(x=x, y=np.cumsum(total)[idx], name=total_name, line=dict(color="#111", width=1.8),
                                 hovertemplate="%{y:.1%}"))
    fig.add_hline(y=0, line=dict(color="#444", width=0.8))
    fig.update_yaxes(tickformat=".0%", title_text="cumulative P&L (% of NAV, summed)")
    return _layout(fig, title, 440)


def waterfall_figure(wf: pd.Series) -> go.Figure:
    """Gross (before the brake) → allocator drag → costs → net, in annual return."""
    labels = ["gross P&L before allocator brake", "allocator brake", "trading costs", "net P&L"]
    values = [float(v) + 0.0 for v in (wf["gross_unbraked"], -wf["allocator_drag"], -wf["costs"], wf["net"])]  # no "-0.00%"
    fig = go.Figure(go.Waterfall(
        x=labels, y=values, measure=["absolute", "relative", "relative", "total"],
        text=[f"{v:+.2%}" for v in values], textposition="outside",
        increasing=dict(marker=dict(color=BLUE)), decreasing=dict(marker=dict(color=RED)),
        totals=dict(marker=dict(color=NAVY)), connector=dict(line=dict(color=GREY, width=1)),
        hovertemplate="%{x}: %{y:+.2%} per year<extra></extra>"))
    top = max(wf["gross_unbraked"], wf["net"], 0.0)
    fig.update_yaxes(tickformat=".0%", title_text="annual return (Σ daily / years)", range=[min(0.0, wf["net"]) * 1.2, top * 1.18 + 1e-9])
    return _layout(fig, "Where the return goes: gross → allocator brake → costs → net", 420, showlegend=False, hovermode="closest")


def monthly_figure(table: pd.DataFrame, yearly: pd.Series) -> go.Figure:
    """Years × months heatmap of compounded monthly returns (chronological, top to bottom), with the
    year's compounded return in its own column; colours diverge at 0 (red loss, blue gain)."""
    years = [str(y) for y in table.index]
    z = table.to_numpy(dtype=float)
    zm = float(np.nanpercentile(np.abs(z), 98)) if np.isfinite(z).any() else 0.1
    zy = yearly.reindex(table.index).to_numpy(dtype=float)[:, None]
    zym = float(np.nanmax(np.abs(zy))) if np.isfinite(zy).any() else 0.1
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, column_widths=[0.9, 0.1], horizontal_spacing=0.01)
    fig.add_trace(go.Heatmap(z=z, x=months, y=years, colorscale=DIVERGING, zmid=0, zmin=-zm, zmax=zm, xgap=1, ygap=1,
                             texttemplate="%{z:.1%}", textfont=dict(size=9),
                             colorbar=dict(tickformat=".0%", title=dict(text="month"), x=1.02),
                             hovertemplate="%{y} %{x}: %{z:.2%}<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Heatmap(z=zy, x=["Year"], y=years, colorscale=DIVERGING, zmid=0, zmin=-zym, zmax=zym, xgap=1, ygap=1,
                             texttemplate="%{z:.1%}", textfont=dict(size=9),
                             showscale=False,  # its own range; every cell is labelled
                             hovertemplate="%{y}: %{z:.2%}<extra>year</extra>"), row=1, col=2)
    fig.update_yaxes(autorange="reversed", type="category", row=1, col=1)
    fig.update_xaxes(side="top", row=1, col=1)
    fig.update_xaxes(side="top", row=1, col=2)
    height = max(300, 18 * len(years) + 120)
    fig = _layout(fig, "Monthly net returns (compounded within the month)", height, hovermode="closest")
    fig.update_layout(margin=dict(l=60, r=40, t=40, b=20))
    return fig


def weights_figure(matrices: dict[str, pd.DataFrame], classes: dict[str, str], default: str = "w_exec") -> go.Figure:
    """Symbols × rebalance dates heatmap of weights (×NAV) per stage, stage chosen by a dropdown."""
    stages = list(matrices)
    default = default if default in matrices else stages[-1]
    fig = go.Figure()
    order = list(next(iter(matrices.values())).index)
    def robust_max(frames) -> float:
        values = np.abs(np.concatenate([f.to_numpy(dtype=float).ravel() for f in frames]))
        values = values[np.isfinite(values) & (values > 0)]
        return float(np.percentile(values, 99)) if values.size else 1.0

    # w_rt, w_alloc and w_exec share one colour range so the brake and the caps show as fading;
    # w_pre (unit-risk sleeves mixed, another scale) has its own. 99th percentile of |w|.
    sized = [s for s in stages if s != "w_pre"]
    shared = robust_max([matrices[s] for s in sized]) if sized else 1.0
    for stage in stages:
        m = matrices[stage]
        z = m.to_numpy(dtype=float)
        zm = robust_max([m]) if stage == "w_pre" else shared
        fig.add_trace(go.Heatmap(z=z, x=_dates(m.columns), y=order, colorscale=DIVERGING, zmid=0, zmin=-zm,
                                 zmax=zm, name=stage, visible=stage == default,
                                 colorbar=dict(title=dict(text="× NAV"), tickformat=".2f"),
                                 hovertemplate="%{y} %{x}<br>weight %{z:.3f}× NAV<extra>" + stage + "</extra>"))
    # asset-class separators and labels
    bounds, start = [], 0
    for k in range(1, len(order) + 1):
        if k == len(order) or classes.get(order[k]) != classes.get(order[start]):
            bounds.append((start, k - 1, classes.get(order[start], "")))
            start = k
    for a, b, name in bounds:
        if b + 0.5 < len(order) - 0.5:
            fig.add_shape(type="line", xref="paper", x0=0, x1=1, yref="y", y0=b + 0.5, y1=b + 0.5,
                          line=dict(color="#333", width=1))
        fig.add_annotation(xref="paper", x=-0.07, y=(a + b) / 2, yref="y", text=f"<b>{name}</b>", showarrow=False,
                           xanchor="right", font=dict(size=11), textangle=0)
    buttons = [dict(label=f"stage: {s}", method="update", args=[{"visible": [t == s for t in stages]}]) for s in stages]
    fig.update_layout(updatemenus=[dict(buttons=buttons, active=stages.index(default), x=0.0, xanchor="left", y=1.01,
                                        yanchor="bottom", direction="down", showactive=True, bgcolor="#f0f3f8")])
    fig.update_yaxes(type="category", autorange="reversed", tickfont=dict(size=9))
    height = max(400, 12 * len(order) + 140)
    fig = _layout(fig, "Weights by stage at each rebalance", height, hovermode="closest")
    fig.update_layout(margin=dict(l=170, r=30, t=50, b=40))
    return fig


def compare_equity_figure(dates, base_net: np.ndarray, other_net: np.ndarray, base_name: str, other_name: str) -> go.Figure:
    """Two equity curves (log), their ratio other / base, and both drawdowns, on common sessions."""
    from macrostack.metrics import drawdown, equity

    x = _dates(dates)
    eb, eo = equity(base_net), equity(other_net)
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.04, row_heights=[0.45, 0.27, 0.28])
    fig.add_trace(go.Scatter(x=x, y=eb, name=f"base: {base_name}", line=dict(color=GREY, width=1.3),
                             hovertemplate="%{y:,.3f}×"), row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=eo, name=f"other: {other_name}", line=dict(color=NAVY, width=1.3),
                             hovertemplate="%{y:,.3f}×"), row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=eo / eb, name="equity ratio other / base", line=dict(color=GREEN, width=1.3),
                             hovertemplate="%{y:.3f}"), row=2, col=1)
    fig.add_hline(y=1.0, line=dict(color="#444", width=0.8), row=2, col=1)
    fig.add_trace(go.Scatter(x=x, y=drawdown(base_net), name="base drawdown", line=dict(color=GREY, width=1),
                             hovertemplate="%{y:.1%}"), row=3, col=1)
    fig.add_trace(go.Scatter(x=x, y=drawdown(other_net), name="other drawdown", line=dict(color=NAVY, width=1),
                             hovertemplate="%{y:.1%}"), row=3, col=1)
    fig.update_yaxes(type="log", title_text="equity (× start, log)", row=1, col=1)
    fig.update_yaxes(title_text="other / base", row=2, col=1)
    fig.update_yaxes(tickformat=".0%", title_text="drawdown", row=3, col=1)
    fig.update_xaxes(rangeselector=dict(buttons=RANGE_BUTTONS, x=0, y=1.02), row=1, col=1)
    fig = _layout(fig, "Equity, equity ratio and drawdowns", 700)
    fig.update_layout(legend=dict(yanchor="top", y=-0.05, xanchor="left", x=0.0), margin=dict(b=60))
    return fig


def regime_share_figure(shares: dict[str, dict[str, float]]) -> go.Figure:
    """Horizontal stacked bars: share of sessions in each regime, one bar per run."""
    runs = list(shares)
    fig = go.Figure()
    for name, colour in zip(REGIMES, REGIME_COLOURS):
        values = [shares[r].get(name, 0.0) for r in runs]
        fig.add_trace(go.Bar(y=runs, x=values, name=name, orientation="h", marker=dict(color=colour),
                             text=[f"{v:.0%}" if v >= 0.04 else "" for v in values], textposition="inside",
                             hovertemplate="%{y}: %{x:.1%}<extra>" + name + "</extra>"))
    fig.update_xaxes(tickformat=".0%", range=[0, 1], title_text="share of common sessions")
    fig.update_yaxes(automargin=True)
    fig.update_layout(barmode="stack", legend=dict(traceorder="normal"))
    return _layout(fig, "Time in each allocator regime", 140 + 50 * len(runs), hovermode="closest")
