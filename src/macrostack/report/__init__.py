"""The run report: one self-contained HTML file answering "how did this stack behave, and why?"

`write_report(run_dir)` reads a run directory (never re-runs anything), builds every
chart's numbers with the pure functions in `macrostack.report.figures`, lays them out as
Plotly figure dicts (`charts`) and writes `report.html`, which works offline: Plotly JS is
written once per output folder (`OUT/.assets/plotly-<version>.min.js`), hard-linked into the
run folder and loaded from there by a relative path (`plotly_for`), or, with `embed=True`,
embedded in the page (one file to share).

It must not compute P&L another way: every series is a column of the run's artifacts or a
`macrostack.metrics` function of the net series, over the run's ready period.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from macrostack.attribution import sleeve_summary
from macrostack.errors import InputError
from macrostack.metrics import performance_metrics, periods_per_year
from macrostack.periods import tables_of_daily
from macrostack.report.checks import checks_section
from macrostack.report import charts, figures, risk_views
from macrostack.report.data import HEATMAP_STAGES, RunData, load_run, load_weights
from macrostack.report.page import (Section, badge, esc, figure_html, num, pct, plotly_tag, render_page, table, tile,
                                    write_page)

__all__ = ["write_report", "build_report_html", "load_run", "RunData"]


def _tiles(m: dict, target_vol, verdict, sub_periods: list[dict]) -> str:
    recent = [r for r in sub_periods if r["kind"] in ("since", "split", "last")]
    out = [
        tile("CAGR", pct(m.get("cagr")), f"arithmetic {pct(m.get('ann_return'))}/yr", "neg" if (m.get("cagr") or 0) < 0 else ""),
        tile("Volatility", pct(m.get("ann_vol")), f"{num(m.get('periods_per_year'), 1)} sessions/yr · target {pct(target_vol, 0)} · "
             f"ratio {num(m.get('realised_vol_ratio'))} (RT basis)" if target_vol else f"{num(m.get('periods_per_year'), 1)} sessions/yr"),
        tile("Sharpe", num(m.get("sharpe")), f"Sortino {num(m.get('sortino'))} · full period"),
        *([tile(f"Sharpe {recent[0]['period']}", num(recent[0]["sharpe"]),
                " · ".join(f"{r['period']} {num(r['sharpe'])}" for r in recent[1:]))] if recent else []),
        tile("Max drawdown", pct(m.get("max_drawdown")), f"{m.get('max_dd_peak') or '—'} → {m.get('max_dd_trough') or '—'}", "neg"),
        tile("Calmar", num(m.get("calmar")), f"recovered {m.get('max_dd_recovery') or 'not yet'}"),
        tile("Worst month", pct(m.get("worst_month")), m.get("worst_month_date") or "", "neg"),
        tile("Best month", pct(m.get("best_month")), m.get("best_month_date") or ""),
        tile("Avg gross leverage", num(m.get("avg_gross_leverage"), 2, "×"), f"net {num(m.get('avg_net_leverage'), 2, '×')}"),
        tile("Turnover", num(m.get("turnover_per_year"), 1, "×/yr"), "one-way, × NAV"),
        tile("Cost drag", pct(m.get("cost_drag"), 2), "per year"),
        tile("Hit rate", pct(m.get("hit_rate")), f"skew {num(m.get('skew'))}"),
        f'<div class="tile"><div class="k">Audit</div><div class="v">{badge(verdict)}</div>'
        f'<div class="d">weight lifecycle, {esc(m.get("n_sessions", "—"))} sessions</div></div>',
    ]
    return "".join(out)


def _audit_section(audit: dict | None) -> Section:
    if audit is None:
        return Section("audit", "Audit", "<p>No audit.json in this run directory.</p>")
    questions = table(["question", "verdict", "checks"],
                      [[q["question"], badge(q["verdict"]), ", ".join(map(str, q["checks"]))] for q in audit.get("questions", [])],
                      raw={1}, wide=True)
    checks = table(["#", "check", "result", "max error", "where", "evidence"],
                   [[c["check"], c["name"], badge("PASS" if c["passed"] else "FAIL"),
                     "—" if c.get("max_error") is None else f"{c['max_error']:.2e}", c.get("where") or "", c.get("evidence", "")]
                    for c in audit.get("checks", [])], numeric={0, 3}, raw={2}, wide=True)
    failed = audit.get("failed") or []
    head = f"<p>Verdict: {badge(audit.get('verdict'))}" + (f" — failed: {esc(', '.join(failed))}" if failed else "") + "</p>"
    return Section("audit", "Audit of the weight lifecycle", head + questions + "<br>" + checks,
                   "Each check re-derives a number from the run's files (weights, positions, returns, costs) and "
                   "compares it with what the run recorded; max error is the largest absolute difference, where is its date.")


def _manifest_section(run: RunData) -> Section:
    m = run.manifest
    data = m.get("data", {})
    statuses = " · ".join(f"{k}: {v}" for k, v in (m.get("stage_statuses") or {}).items())
    items = [
        ("run id", m.get("run_id")), ("macrostack version", m.get("macrostack_version")),
        ("config hash", m.get("config_hash")), ("dataset", data.get("dataset")), ("data hash", data.get("content_hash")),
        ("layers hash", m.get("layers_hash")), ("instruments", len(data.get("symbols", []))),
        ("data sessions", f"{data.get('first_session')} → {data.get('last_session')}"),
        ("ready from", f"{m.get('ready_date')} (session {m.get('ready_index')})"),
        ("rebalances", m.get("n_rebalances")), ("stage statuses", statuses),
        ("inert sleeves", ", ".join(m.get("inert_sleeves") or []) or "none"),
        ("P&L contract", (m.get("pnl_contract") or {}).get("definition", "")),
        ("execution lag / holding", f"{(m.get('pnl_contract') or {}).get('lag')} / {(m.get('pnl_contract') or {}).get('holding')}"),
    ]
    hashes = {"config hash", "data hash", "layers hash"}
    kv = "<dl class=\"kv\">" + "".join(
        f"<dt>{esc(k)}</dt><dd>{f'<code>{esc(v)}</code>' if k in hashes else esc(v)}</dd>" for k, v in items) + "</dl>"
    cfg = yaml.safe_dump(m.get("config", {}), sort_keys=False, allow_unicode=True)
    body = f'<div class="cols"><div>{kv}</div><div><pre>{esc(cfg)}</pre></div></div>'
    return Section("manifest", "Manifest: configuration and data", body, "The resolved configuration (every default made explicit).")


def _sleeve_table(attribution: dict | None) -> str:
    rows = (attribution or {}).get("sleeves") or {}
    if not rows:
        return ""
    return "<br>" + table(["part", "contribution / yr", "cost / yr", "vol", "Sharpe"],
                          [[k, pct(v.get("contribution"), 2), pct(v.get("cost"), 2), pct(v.get("vol")), num(v.get("sharpe"))]
                           for k, v in rows.items()], numeric={1, 2, 3, 4})


def run_ppy(run: RunData) -> float:
    """The run's periods per year (manifest), or, for a run made before it was recorded,
    the same `periods_per_year` of its ready-period calendar."""
    return run.manifest.get("periods_per_year") or periods_per_year(run.dates.to_numpy())


def _periods_section(tables: dict, ppy: float) -> Section:
    sub = table(["period", "from", "to", "sessions", "CAGR", "vol", "Sharpe", "max DD", "cost drag / yr", "turnover / yr"],
                [[r["period"] + (" (partial)" if r["partial"] else ""), r["first"], r["last"], f"{r['n_sessions']:,}",
                  pct(r["cagr"]), pct(r["ann_vol"]), num(r["sharpe"]), pct(r["max_drawdown"]), pct(r["cost_drag"], 2),
                  num(r["turnover_per_year"], 1, "×")] for r in tables["sub_periods"]], numeric=set(range(3, 10)), wide=True)
    trailing = table(["horizon", "from", "to", "return", "annualised"],
                     [[f"{r['years']} y", r["from"], r["to"], pct(r["return"]), pct(r["annualised"])]
                      for r in tables["trailing"]], numeric={3, 4})
    dds = table(["#", "depth", "peak", "trough", "recovery", "duration (sessions)"],
                [[i, pct(r["depth"]), r["peak"] or "start", r["trough"], r["recovery"] or "not recovered", f"{r['duration']:,}"]
                 for i, r in enumerate(tables["drawdowns"], 1)], numeric={0, 1, 5})
    trailing = trailing if tables["trailing"] else "<p>The run is shorter than a year.</p>"
    body = (f"{sub}<h3>Trailing returns</h3>{trailing}"
            f"<h3>Worst {len(tables['drawdowns'])} drawdowns</h3>{dds}")
    return Section("periods", "Sub-periods, trailing returns and worst drawdowns", body,
                   f"Each sub-period is summarised as a run of its own (equity 1 at its first session), annualised with this run's "
                   f"{ppy:.1f} sessions per year (sessions − 1 over the elapsed years of its calendar). A partial decade is one "
                   "the run covers only in part (see its dates). Cost drag and turnover are Σ per session / years. Trailing "
                   "returns compound the sessions after the same date N calendar years before the last session; over more "
                   "than 1 year they are annualised as (1 + return)^(1/N) − 1. A drawdown runs from the last session at the "
                   "peak (\"start\" = the starting NAV) to the first session back at that NAV; duration counts sessions "
                   "from the peak to the recovery, or to the last session when not recovered.")


def restricted(run: RunData, start: pd.Timestamp | None, end: pd.Timestamp | None) -> RunData:
    """The run cut to its sessions with `start <= date <= end`: daily tables, positions, returns,
    layer and sleeve tables; the manifest's metrics, attribution and sub-period / trailing /
    drawdown tables recomputed over that window (as a run of its own: equity 1 at `start`)
    with the run's periods per year, so every tile and chart of the report covers the window."""
    lo = start if start is not None else pd.Timestamp.min
    hi = end if end is not None else pd.Timestamp.max
    keep = np.asarray((run.dates >= lo) & (run.dates <= hi))
    if not keep.any():
        raise InputError(f"no ready sessions between {_day_text(start)} and {_day_text(end)}", "report --start/--end",
                         f"choose dates inside the run's ready period ({run.dates[0].date()} → {run.dates[-1].date()})")

    def cut(frame: pd.DataFrame | None) -> pd.DataFrame | None:
        if frame is None:
            return None
        dates = pd.to_datetime(frame["date"])
        return frame.loc[(dates >= lo) & (dates <= hi)].reset_index(drop=True)

    daily, sleeves, ppy = cut(run.daily), cut(run.sleeves), run_ppy(run)
    col = lambda c: daily[c].to_numpy(dtype=float)  # noqa: E731
    metrics = performance_metrics(col("net"), run.dates[keep].to_numpy(), gross=col("gross"), costs=col("cost"),
                                  gross_exposure=col("gross_exposure"), net_exposure=col("net_exposure"),
                                  traded=col("traded"), target_vol=run.target_vol, ppy=ppy)
    manifest = {**run.manifest, "metrics": metrics, "periods_per_year": ppy, **tables_of_daily(daily, ppy)}
    if sleeves is not None:
        names = [c for c in sleeves.columns if c != "date" and ":" not in c]
        parts = {n: {"net": sleeves[n].to_numpy(), "cost": sleeves[f"{n}:cost"].to_numpy()} for n in names}
        manifest["attribution"] = sleeve_summary(parts, 0, ppy)
    rt = cut(run.rt)
    manifest["n_rebalances"] = len(rt)
    return dataclasses.replace(run, manifest=manifest, dates=run.dates[keep], daily=daily, positions=run.positions[keep],
                               returns=run.returns[keep], rt=rt, alloc=cut(run.alloc), sleeves=sleeves)


def _day_text(value) -> str:
    return str(value.date()) if value is not None else "…"


def build_report_html(run: RunData, start=None, end=None, splits=None, benchmark=None, plotly: str | None = None) -> str:
    """The report page of a loaded run; `start`/`end` bound the weights heatmaps (default: last 2 years);
    `splits` (dates) cut the sub-period table instead of since 2000 / 2010 / last 5 y; `plotly` the
    tag that loads Plotly (`page.plotly_tag`; default: embedded)."""
    d = run.daily
    if not len(d):
        raise InputError("the run has no ready sessions to report", str(run.path), "run over a longer period")
    net, gross, cost = (d[c].to_numpy(dtype=float) for c in ("net", "gross", "cost"))
    m = run.manifest.get("metrics", {})
    cfg = run.manifest.get("config", {})
    rtc = cfg.get("risk_targeting", {})
    ppy = run_ppy(run)
    manifest = run.manifest
    tables = (manifest if splits is None and "sub_periods" in manifest
              else tables_of_daily(d, ppy, splits))  # a run made before the tables, or other splits
    sections: list[Section] = []

    ed = figures.equity_drawdown(net, run.dates)
    episode = {"depth": m.get("max_drawdown"), "trough": m.get("max_dd_trough")}
    regime = d["regime"].to_numpy(dtype=float)
    shaded = np.isfinite(regime).any()
    sections.append(Section("equity", "Equity and drawdown",
                            figure_html(charts.equity_figure(ed, episode, regime if shaded else None), "fig-equity"),
                            "Equity compounds the daily net return (after costs) from 1 at the start of the window shown "
                            "(the close before its first session; the starting NAV for “all”; the window buttons above "
                            "rebase it); log scale, so equal vertical "
                            "distances are equal percentage moves. Drawdown = equity / running peak since the ready date − 1."
                            + (" Shaded: the allocator's regime in force (yellow ELEVATED, orange STRESS, red CRISIS; "
                               "unshaded NORMAL)." if shaded else "")
                            + " Every time chart shares one time axis: zoom one, or use the window buttons, and all follow; "
                            "before the last 10 years a chart draws each series' extremes and one session per "
                            "bucket of ~1/600 of the history (hover values are the exact numbers of those sessions)."))
    sections.append(_periods_section(tables, ppy))
    checks = checks_section(manifest)
    if checks is not None:
        sections.append(checks)

    window = figures.year_window(ppy)
    rs = figures.rolling_stats(net, run.dates, ppy, window)
    target = figures.target_on_calendar(run.target_vol, ppy) if run.target_vol else None
    sections.append(Section("rolling", "Rolling 1-year statistics", figure_html(charts.rolling_figure(rs, target, window), "fig-rolling"),
                            f"Trailing {window} sessions (one year of this run's calendar, {ppy:.1f} sessions/yr): compounded "
                            "net return, realised vol annualised with the same calendar, and Sharpe (zero risk-free rate). "
                            "The dashed line is the risk-targeting target on that basis: RT sizes to a daily vol of "
                            "target/√252, which is target·√(sessions per year/252) a year on this calendar."))

    wf = figures.drag_waterfall(gross, cost, net, d["risk_scalar"].to_numpy(dtype=float), ppy)
    sections.append(Section("drag", "Return drag: gross → allocator → costs → net",
                            figure_html(charts.waterfall_figure(wf), "fig-drag"),
                            "Annual returns as Σ daily / years (arithmetic, so the bars add up exactly: "
                            f"{pct(wf['gross_unbraked'], 2)} − {pct(wf['allocator_drag'], 2)} − {pct(wf['costs'], 2)} = "
                            f"{pct(wf['net'], 2)}). The allocator brake is approximated as the gross P&L it removed: "
                            "Σ over sessions of (held / s − held)·r = gross · (1/s − 1), with s the risk scalar in force — the "
                            "same executed weights without the brake (caps and the extra trading of an unbraked book are "
                            "ignored). Costs are the trading costs charged to the net series."))

    table_m, yearly = figures.monthly_table(net, run.dates)
    sections.append(Section("monthly", "Monthly returns", figure_html(charts.monthly_figure(table_m, yearly), "fig-monthly"),
                            "Net returns compounded within each calendar month; the Year column compounds the months. "
                            "Colours are clipped at the 98th percentile of |monthly return| so ordinary months stay readable."))

    rts = figures.risk_targeting_series(run.rt)
    if len(rts):
        fig = charts.risk_targeting_figure(rts, run.target_vol, rtc.get("leverage_cap"), rtc.get("leverage_floor"), run.dates)
        clipped = int(rts["clipped"].sum()) if "clipped" in rts else 0
        sections.append(Section("risk", "Risk targeting", figure_html(fig, "fig-risk"),
                                f"At each rebalance L = clip(target / max(σ_unit, vol floor {rtc.get('vol_floor')}), floor, cap); "
                                f"σ_unit is the ex-ante vol of the unit-gross book ({rtc.get('estimator')}, "
                                f"{rtc.get('vol_lookback')} sessions). Where L is unclipped the ex-ante vol of w_rt equals the "
                                f"target; {clipped} of {len(rts)} rebalances were clipped."))
    else:
        sections.append(Section("risk", "Risk targeting", "<p>Risk targeting did not size any rebalance in the ready period.</p>"))

    al = figures.allocator_series(d)
    if al is not None:
        rs_ = figures.regime_shares(al["regime"].to_numpy(), ppy)
        shares = ", ".join(f"{name} {pct(v)}" for name, v in rs_["shares"].items())
        sections.append(Section("allocator", "Allocator: regime and risk scalar", figure_html(charts.allocator_figure(al), "fig-allocator"),
                                f"Profile {esc(cfg.get('allocator', {}).get('profile'))}. The scalar s (0 < s ≤ 1) scales the whole "
                                f"book; it is decided at a rebalance from the previous one's state and is in force from the next "
                                f"session on. Shaded: the regime (yellow ELEVATED, orange STRESS, red CRISIS). Time in regime: {shares}; {num(rs_['transitions_per_year'], 1)} regime changes per year."))
    else:
        sections.append(Section("allocator", "Allocator: regime and risk scalar",
                                f"<p>The allocator is <b>{esc(run.allocator_mode)}</b> in this run: no regime, the scalar is 1.</p>"))

    sections.append(Section("exposure", "Gross and net exposure", figure_html(charts.exposure_figure(figures.exposures(d)), "fig-exposure"),
                            "Exposure of the held weights, in multiples of NAV: gross Σ|w| (the leverage actually carried) "
                            "and net Σw (directional tilt: positive = net long)."))

    sp = figures.sleeve_pnl(run.sleeves)
    if sp is not None:
        fig = charts.cumulative_figure(sp, "Cumulative net P&L per sleeve", total=net, total_name="portfolio net")
        sections.append(Section("sleeves", "P&L by sleeve", figure_html(fig, "fig-sleeves") + _sleeve_table(run.manifest.get("attribution")),
                                "Exact attribution of the net P&L (sleeves.parquet): each sleeve's share of the executed weights "
                                "times returns, minus its share of costs; the residual is what execution constraints (caps, "
                                "buffer) changed. Parts sum to the portfolio every session. Cumulative = sum of daily P&L (not compounded)."))

    ac = figures.asset_class_pnl(run.positions, run.returns, run.symbols, run.asset_classes, run.dates)
    fig = charts.cumulative_figure(ac, "Cumulative gross P&L per asset class", extra={"costs (all classes)": -cost},
                                   total=net, total_name="portfolio net")
    summary = figures.pnl_summary(ac, ppy)
    counts = pd.Series(run.asset_classes).value_counts()
    class_table = table(["asset class", "instruments", "gross contribution / yr", "share of gross", "vol", "Sharpe"],
                        [[c, int(counts.get(c, 0)), pct(r.contribution, 2), pct(r.share, 0), pct(r.vol), num(r.sharpe)]
                         for c, r in summary.iterrows()], numeric={1, 2, 3, 4, 5})
    sections.append(Section("classes", "P&L by asset class", figure_html(fig, "fig-classes") + "<br>" + class_table,
                            "Gross P&L of each class = Σ over its instruments of held weight × return, exactly (the classes sum "
                            "to the portfolio gross every session). Costs are shown as one line; classes + costs = net. "
                            "Cumulative = sum of daily P&L (not compounded)."))

    reb = pd.DatetimeIndex(run.rt["date"])  # the rebalances of the ready period
    if len(reb):
        w_start, w_end = figures.default_weights_window(reb, start, end)
        w = load_weights(run.path, HEATMAP_STAGES, w_start, w_end, weights=run.tables.get("weights.parquet"))
        if len(w):
            order = figures.symbol_order(run.symbols, run.asset_classes)
            mats = {s: figures.weights_matrix(w, s, order) for s in HEATMAP_STAGES if (w["stage"] == s).any()}
            body = figure_html(charts.weights_figure(mats, run.asset_classes), "fig-weights")
            note = (f"Rebalances from {w_start.date()} to {w_end.date()} ({w['date'].nunique()} rebalances). w_pre: after "
                    "construction (unit risk sleeves mixed); w_rt: after risk targeting (gross = leverage); w_alloc: after "
                    "the allocator scalar; w_exec: executed (after caps). w_rt, w_alloc and w_exec share one colour scale (so the "
                    "brake shows as fading), w_pre has its own; scales are symmetric at 0 and clipped at the 99th percentile "
                    "of |w|; hover for exact values.")
        else:
            body, note = f"<p>No rebalances between {w_start.date()} and {w_end.date()}.</p>", ""
        sections.append(Section("weights", "Weights by stage", body, note))

    sections.extend(risk_views.sections(run, ppy, benchmark))  # risk, sleeve correlation, trading, benchmark
    sections.append(_audit_section(run.audit))
    sections.append(_manifest_section(run))

    verdict = run.audit.get("verdict") if run.audit else run.manifest.get("audit")
    sub = (f"{esc(cfg.get('description') or cfg.get('name', ''))} · dataset {esc(run.manifest['data'].get('dataset'))} · "
           f"{esc(m.get('first_date'))} → {esc(m.get('last_date'))} ({esc(m.get('n_sessions'))} sessions, "
           f"{esc(run.manifest.get('n_rebalances'))} rebalances) · macrostack {esc(run.manifest.get('macrostack_version'))}")
    span = (str(run.dates[0].date()), str(run.dates[-1].date()))
    return render_page(f"macrostack report — {run.run_id}", sub, _tiles(m, run.target_vol, verdict, tables["sub_periods"]),
                       sections, plotly=plotly, span=span,
                       missing_hint=MISSING_HINT.format(run=esc(run.run_id)))


MISSING_HINT = ("The charts need the Plotly bundle beside this page (<code>plotly-*.min.js</code> in the run folder, "
                "or <code>.assets/</code>), and it was not found: the page was copied or moved without it. Copy the "
                "whole run folder, or write a self-contained page with <code>macrostack report {run} --embed</code>.")


def plotly_for(run_dir: Path, out: Path, embed: bool) -> str:
    """The tag that loads Plotly into the report `out` of the run in `run_dir`.

    embed: in the page. A report in its run folder: the output folder's `.assets/plotly-<v>.min.js`
    (written once) hard-linked into the run folder and loaded from there, so the run folder stays
    self-contained (copy it anywhere) at the disk cost of one bundle per output folder; the run's
    staging folder becomes the run folder by a rename, so the link moves with it. Elsewhere
    (`--html`): `.assets/` beside the page."""
    if embed:
        return plotly_tag(None)
    run_dir, out = Path(run_dir), Path(out)
    if out.resolve().parent == run_dir.resolve():
        return plotly_tag(run_dir.parent / ".assets", out, local=run_dir)
    return plotly_tag(out.parent / ".assets", out)


def write_report(run_dir: Path, out: Path | None = None, start=None, end=None, splits=None, benchmark=None,
                 embed: bool = False, run: RunData | None = None) -> Path:
    """Write the HTML report of the run in `run_dir`; returns its path (default `run_dir/report.html`).

    start / end: the report covers only the ready sessions in [start, end] (every tile, table
    and chart, see `restricted`; default: the whole ready period) and so do the weights-by-stage
    heatmaps (default: the last 2 years of rebalances). The audit and manifest sections describe
    the whole run. The page needs no network: Plotly JS is loaded from the run folder's link to the
    output folder's `.assets/plotly-<version>.min.js` (written once, `plotly_for`), or embedded in
    the page with `embed` (~4.8 MB more; for a file to send). Written atomically. splits: dates cutting the
    sub-period table (default: the manifest's table, since 2000 / 2010 / last 5 y). benchmark: (summary,
    table) of `benchmark.benchmark_of_run` to show instead of the run's own (`report --benchmark`).
    run: the run in `run_dir` already loaded (`load_run`; a run reporting on itself, from memory).
    """
    run_dir = Path(run_dir)
    start, end = _day(start, "report --start"), _day(end, "report --end")
    run = run if run is not None else load_run(run_dir)
    if start is not None or end is not None:
        run = restricted(run, start, end)
    out = Path(out) if out is not None else run_dir / "report.html"
    return write_page(out, build_report_html(run, start, end, splits, benchmark, plotly=plotly_for(run_dir, out, embed)))


def _day(value, where: str) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        return pd.Timestamp(value)
    except (TypeError, ValueError):
        raise InputError(f"cannot parse date {value!r}", where, "use YYYY-MM-DD") from None
