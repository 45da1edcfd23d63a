"""sweep.html: what a sweep says, and how much of its best result is luck (offline, like report.html).

Sections: the distribution of Sharpe across points; heatmaps of Sharpe over two varied
parameters (each cell the best, and the median, over the other parameters); each parameter's
marginal effect; the equity of the top points; the robustness statistics (deflated Sharpe of
the best point, PBO by CSCV with its logit distribution, bootstrap intervals, Sharpe per
sub-period); and the walk-forward's stitched out-of-sample equity with its selections, when
one was made. Every number comes from the sweep folder's parts (`research.results`).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from macrostack.report.charts import _dates, _layout
from macrostack.report.page import Section, esc, figure_html, num, pct, plotly_tag, render_page, table, tile, write_page

TOP = 5


def varied_frame(points: pd.DataFrame, varied: list[str]) -> pd.DataFrame:
    """The finished points with one column per varied path (values from their JSON)."""
    ok = points[points["status"] == "ok"].reset_index(drop=True)
    # A value that is a list (e.g. a universe) is shown and grouped by its JSON text.
    values = pd.DataFrame([{k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in json.loads(t).items()}
                           for t in ok["values"]], columns=varied)
    return pd.concat([ok, values.rename(columns=lambda c: f"v:{c}")], axis=1)


def sharpe_histogram(frame: pd.DataFrame) -> go.Figure:
    fig = go.Figure(go.Histogram(x=frame["sharpe"], nbinsx=min(60, max(10, len(frame) // 5)), marker_color="#1f3b73",
                                 hovertemplate="Sharpe %{x}<br>%{y} points<extra></extra>"))
    fig.add_vline(x=float(frame["sharpe"].median()), line_dash="dot", annotation_text="median")
    return _layout(fig, "Sharpe across points", 320, hovermode="closest", xaxis_title="Sharpe (net, annualised)",
                   yaxis_title="points")


def heatmap(frame: pd.DataFrame, x: str, y: str, how: str) -> go.Figure:
    """Sharpe over two varied paths; each cell aggregates (`how`: max or median) the other paths."""
    grid = frame.pivot_table(index=f"v:{y}", columns=f"v:{x}", values="sharpe", aggfunc=how)
    fig = go.Figure(go.Heatmap(z=grid.to_numpy(), x=[str(c) for c in grid.columns], y=[str(i) for i in grid.index],
                               colorscale="RdYlGn", colorbar=dict(title="Sharpe"), texttemplate="%{z:.2f}",
                               hovertemplate=f"{x} %{{x}}<br>{y} %{{y}}<br>Sharpe %{{z:.3f}}<extra></extra>"))
    fig = _layout(fig, f"Sharpe ({how}) over {x} × {y}", 360, hovermode="closest", xaxis_title=x, yaxis_title=y)
    return fig.update_layout(title=dict(text=("best" if how == "max" else "median") + " over the other parameters",
                                        font=dict(size=12), x=0.01))


def marginal_figure(frame: pd.DataFrame, path: str) -> go.Figure:
    """Sharpe by value of one path, over every other setting (box per value)."""
    fig = go.Figure()
    for value, group in frame.groupby(f"v:{path}", sort=True):
        fig.add_trace(go.Box(y=group["sharpe"], name=str(value), boxpoints=False, marker_color="#1f3b73"))
    return _layout(fig, f"Sharpe by {path}", 300, hovermode="closest", showlegend=False, xaxis_title=path,
                   yaxis_title="Sharpe")


def equity_curves(returns: pd.DataFrame, labels: dict[str, str], title: str) -> go.Figure:
    fig = go.Figure()
    for column, label in labels.items():
        r = returns[column].dropna()
        fig.add_trace(go.Scatter(x=_dates(r.index), y=np.cumprod(1.0 + r.to_numpy()), name=label, mode="lines"))
    return _layout(fig, title, 380, yaxis_type="log", yaxis_title="equity (× start)")


def _label(row, varied: list[str]) -> str:
    values = json.loads(row["values"])
    return f"#{int(row['point'])} " + ", ".join(f"{k.split('.')[-1]}={values[k]}" for k in varied)


def build_sweep_html(meta: dict, points: pd.DataFrame, returns: pd.DataFrame, robustness: dict | None = None,
                     walkforward: dict | None = None, plotly: str | None = None) -> str:
    varied = meta["varied"]
    frame = varied_frame(points, varied)
    best = frame.sort_values("sharpe", ascending=False)
    sections = [Section("distribution", "Sharpe across points", figure_html(sharpe_histogram(frame), "hist"),
                        f"{len(frame)} finished points. The best of many is biased upwards: read it against the "
                        "deflated Sharpe and PBO below.")]
    multi = [p for p in varied if frame[f"v:{p}"].nunique() > 1]
    if len(multi) >= 2:
        figs = "".join(figure_html(heatmap(frame, x, y, how), f"heat-{i}-{how}")
                       for i, (x, y) in enumerate(itertools.islice(itertools.combinations(multi, 2), 3))
                       for how in ("max", "median"))
        sections.append(Section("heatmaps", "Sharpe over two parameters", f'<div class="cols">{figs}</div>',
                                "Left: the best over the other parameters; right: their median. A lone bright cell "
                                "amid dull ones is a fit to noise, a broad plateau is a robust region."))
    if multi:
        figs = "".join(figure_html(marginal_figure(frame, p), f"marginal-{i}") for i, p in enumerate(multi))
        sections.append(Section("marginal", "Each parameter's marginal effect", f'<div class="cols">{figs}</div>'))
    top = best.head(TOP)
    labels = {r["config_hash"]: _label(r, varied) for _, r in top.iterrows() if r["config_hash"] in returns.columns}
    rows = [[_label(r, varied), num(r["sharpe"]), pct(r["cagr"]), pct(r["ann_vol"]), pct(r["max_drawdown"])]
            for _, r in best.head(10).iterrows()]
    sections.append(Section("top", "Top points", figure_html(equity_curves(returns, labels, "top points"), "top")
                            + table(["point", "Sharpe", "CAGR", "vol", "max DD"], rows, numeric={1, 2, 3, 4})))
    tiles = [tile("points", f"{len(frame)} / {len(meta['points'])}", "finished / planned"),
             tile("best Sharpe", num(best["sharpe"].iloc[0]) if len(best) else "—"),
             tile("median Sharpe", num(frame["sharpe"].median()))]
    if robustness:
        tiles += [tile("deflated Sharpe (best)", num(robustness["dsr"], 3), "P(true Sharpe > 0) after selection"),
                  tile("PBO", pct(robustness["pbo"], 0), "probability of backtest overfitting")]
        sections.extend(robustness_sections(robustness))
    if walkforward:
        tiles.append(tile("walk-forward OOS Sharpe", num(walkforward["oos_sharpe"]),
                          f"in-sample {num(walkforward['is_sharpe'])}"))
        sections.append(walkforward_section(walkforward, returns))
    sub = f"{esc(meta['sweep_id'])} · base {esc(meta['spec']['base'])} · varied: {esc(', '.join(varied))}"
    return render_page(f"macrostack sweep — {meta['sweep_id']}", sub, "".join(tiles), sections, plotly=plotly,
                       missing_hint="The charts need the Plotly bundle in the output folder's <code>.assets/</code>, and "
                                    "it was not found: the page was copied or moved without it.")


def robustness_sections(rob: dict) -> list[Section]:
    """DSR / PBO evidence, as tables and the logit histogram (filled by `research.robustness`)."""
    rows = [[k, v] for k, v in rob["evidence"].items()]
    body = table(["quantity", "value"], rows, numeric={1})
    if rob.get("logits") is not None and len(rob["logits"]):
        fig = go.Figure(go.Histogram(x=rob["logits"], nbinsx=40, marker_color="#b3261e"))
        fig.add_vline(x=0.0, line_dash="dot")
        body += figure_html(_layout(fig, "CSCV logits", 280, hovermode="closest", xaxis_title="logit of the chosen "
                                    "point's out-of-sample rank (≤ 0: below median)", yaxis_title="combinations"),
                            "logits")
    out = [Section("robustness", "How much of the best result is luck", body, rob.get("note", ""))]
    if rob.get("sub_periods") is not None:
        sp = rob["sub_periods"]
        rows = [[lbl, *(num(v) for v in sp.loc[lbl])] for lbl in sp.index]
        out.append(Section("stability", "Sharpe per sub-period (top points)", table(["point", *sp.columns], rows,
                                                                                   numeric=set(range(1, len(sp.columns) + 1)))))
    return out


def walkforward_section(wf: dict, returns: pd.DataFrame) -> Section:
    stitched = wf["stitched"]
    fig = go.Figure(go.Scatter(x=_dates(stitched.index), y=np.cumprod(1.0 + stitched.to_numpy()), name="walk-forward",
                               mode="lines"))
    for b in wf["selections"]["boundary"]:
        fig.add_vline(x=str(pd.Timestamp(b).date()), line_width=1, line_dash="dot", line_color="#999")
    rows = [[str(pd.Timestamp(r.boundary).date()), str(r.chosen), num(r.is_metric), num(r.oos_metric)]
            for r in wf["selections"].itertuples()]
    body = figure_html(_layout(fig, "walk-forward", 360, yaxis_type="log", yaxis_title="equity (× start)"), "wf")
    body += table(["boundary", "chosen point", "in-sample", "out-of-sample"], rows, numeric={2, 3})
    return Section("walkforward", "Walk-forward: choosing as time went by", body,
                   f"Out-of-sample Sharpe {num(wf['oos_sharpe'])} against in-sample {num(wf['is_sharpe'])} of the "
                   "points chosen: the gap is what selection cost.")


def write_sweep_html(folder: Path, robustness: dict | None = None, walkforward: dict | None = None,
                     path: Path | None = None, embed: bool = False) -> Path:
    """Write sweep.html (default `OUT/sweeps/<id>/sweep.html`), loading Plotly JS from the sweep
    folder's hard link to the output folder's `OUT/.assets/plotly-<v>.min.js` (beside a custom
    `path`: its own `.assets/`), or embedded."""
    from macrostack.research.results import read_points, read_returns, read_sweep_file

    meta, points = read_sweep_file(folder), read_points(folder)
    ok = points[points["status"] == "ok"].sort_values("sharpe", ascending=False)
    returns = read_returns(folder, list(ok["config_hash"].head(TOP)))
    page = Path(path) if path is not None else Path(folder) / "sweep.html"
    assets = Path(folder).parent.parent / ".assets" if path is None else page.parent / ".assets"
    tag = plotly_tag(None if embed else assets, page, local=Path(folder) if path is None else None)
    return write_page(page, build_sweep_html(meta, points, returns, robustness, walkforward, plotly=tag))
