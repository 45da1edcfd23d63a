"""Compare two runs on their common sessions: what did the other run change relative to the base?

The two-pass audit of the allocator (off in `base`, on in `other`) is the main use, but any
two runs work as long as they share sessions. Everything is computed from the two run
directories' net series (the P&L contract, SYSTEM.md §0) over the sessions both runs have
in their ready periods; metrics come from `macrostack.metrics`.

`compare_runs` returns a JSON-serialisable dict (NaN → None) and, given a path, writes a
self-contained `compare.html` like the run report. It must not re-run anything.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from macrostack.errors import InputError
from macrostack.metrics import compound, equity, monthly_returns, performance_metrics
from macrostack.report import charts
from macrostack.report.data import REGIMES, RunData, load_run
from macrostack.report.figures import regime_shares
from macrostack.report.page import (Section, badge, esc, figure_html, num, pct, plotly_tag, render_page, table, tile,
                                    write_page)
from macrostack.runs.artifacts import jsonable

__all__ = ["HEADLINE", "compare_runs", "aligned", "metric_deltas", "quarterly_returns", "worst_periods",
           "derisking_events", "vol_matched", "regime_performance", "build_compare_html"]

# (key in performance_metrics, label, kind, better) — kind picks the formatting; better is +1
# when a higher value is better, -1 when lower is better, 0 when neither (vol).
HEADLINE = (
    ("cagr", "CAGR", "pct", 1), ("ann_vol", "volatility", "pct", 0), ("sharpe", "Sharpe", "ratio", 1),
    ("max_drawdown", "max drawdown", "pct", 1), ("calmar", "Calmar", "ratio", 1), ("worst_month", "worst month", "pct", 1),
    ("turnover_per_year", "turnover / yr (× NAV)", "mult", -1), ("cost_drag", "cost drag / yr", "pct", -1),
)
_BETTER = {k: b for k, _, _, b in HEADLINE}
FULL_RISK = 0.99  # a risk scalar below this is a de-risking (the EWMA never quite reaches 1)
_COLUMNS = ("net", "gross", "cost", "traded", "gross_exposure", "net_exposure", "risk_scalar", "regime")


def aligned(run: RunData, dates: pd.DatetimeIndex) -> pd.DataFrame:
    """The run's daily table (net, gross, cost, traded, exposures, risk_scalar, regime) on `dates`
    (a subset of its ready sessions), indexed by date."""
    frame = run.daily.set_index(pd.DatetimeIndex(run.daily["date"]))
    return frame.loc[dates, list(_COLUMNS)].astype(float)


def _metrics(frame: pd.DataFrame, target_vol) -> dict:
    return performance_metrics(
        frame["net"].to_numpy(), frame.index.to_numpy().astype("datetime64[D]"), gross=frame["gross"].to_numpy(),
        costs=frame["cost"].to_numpy(), gross_exposure=frame["gross_exposure"].to_numpy(),
        net_exposure=frame["net_exposure"].to_numpy(), traded=frame["traded"].to_numpy(), target_vol=target_vol)


def metric_deltas(base: dict, other: dict, keys=tuple(h[0] for h in HEADLINE)) -> dict:
    """{key: {base, other, delta}} with delta = other − base (NaN when either is missing)."""
    out = {}
    for k in keys:
        b, o = base.get(k), other.get(k)
        b = float(b) if b is not None else float("nan")
        o = float(o) if o is not None else float("nan")
        out[k] = {"base": b, "other": o, "delta": o - b}
    return out


def quarterly_returns(monthly: pd.Series) -> pd.Series:
    """Compound monthly returns (PeriodIndex, freq M) into calendar quarters: `prod(1 + m) − 1`."""
    quarters = monthly.index.asfreq("Q")
    return monthly.groupby(quarters).apply(compound)


def worst_periods(base: pd.Series, other: pd.Series, n: int = 5) -> dict:
    """The n worst periods of each series with the other's value for the same period.

    base / other: period returns on the same PeriodIndex. Returns {"base_worst": [...],
    "other_worst": [...]}, rows {period, base, other, difference (other − base)}, worst first.
    """
    def rows(key: pd.Series) -> list[dict]:
        worst = key.sort_values(kind="stable").head(n)
        return [{"period": str(p), "base": float(base[p]), "other": float(other[p]),
                 "difference": float(other[p] - base[p])} for p in worst.index]
    return {"base_worst": rows(base), "other_worst": rows(other)}


def _window_return(net: np.ndarray, a: int, length: int) -> float:
    b = min(a + length, net.size)
    return float(np.prod(1.0 + net[a:b]) - 1.0) if a < b else float("nan")


def derisking_events(alloc: pd.DataFrame, dates: pd.DatetimeIndex, base_net: np.ndarray, other_net: np.ndarray,
                     lag: int = 1, n: int = 10, horizon: int = 20, full_risk: float = FULL_RISK) -> list[dict]:
    """The n deepest de-risking episodes of a braked run and what both runs earned after them.

    alloc: the braked run's layers/allocator table (date, scalar_applied, regime_at_rebalance);
    only rebalances inside `dates` (the common sessions) count. The risk scalar is an EWMA
    that approaches 1 without reaching it, so an episode is a run of consecutive rebalances
    with scalar_applied < `full_risk` (back within 1% of full risk ends it); its event is the
    rebalance with the lowest scalar (the deepest cut). Episodes are ranked by that scalar
    (lowest first), ties by the episode's total cut Σ(1 − s) (larger first). The scalar
    applied at rebalance j was decided at rebalance j−1, so `regime` is the regime at j−1.

    P&L (compounded net returns, fractions of NAV) of each run: `*_pnl_after` over the
    `horizon` sessions from the first session the cut book is held (event session + `lag`);
    `*_pnl_episode` from the first held session of the episode to the last session before
    the first rebalance after it is held.
    """
    if alloc is None or not len(alloc):
        return []
    a = alloc.loc[pd.DatetimeIndex(alloc["date"]).isin(dates)].reset_index(drop=True)
    s = a["scalar_applied"].to_numpy(dtype=float)
    cut = s < full_risk
    if not cut.any():
        return []
    regime = a["regime_at_rebalance"].to_numpy(dtype=float) if "regime_at_rebalance" in a else np.full(len(a), np.nan)
    starts = np.flatnonzero(cut & ~np.r_[False, cut[:-1]])
    ends = np.flatnonzero(cut & ~np.r_[cut[1:], False])
    episodes = []
    for st, en in zip(starts, ends):
        j = st + int(np.argmin(s[st:en + 1]))
        episodes.append((s[j], -float((1.0 - s[st:en + 1]).sum()), j, st, en))
    episodes.sort(key=lambda e: (round(e[0], 6), e[1]))  # float noise at the profile minimum is a tie
    positions = dates.get_indexer(pd.DatetimeIndex(a["date"]))
    out = []
    for scalar, neg_area, j, st, en in episodes[:n]:
        first = positions[j] + lag
        code = regime[j - 1] if j > 0 else np.nan
        b, o = _window_return(base_net, first, horizon), _window_return(other_net, first, horizon)
        ep_a = positions[st] + lag
        ep_b = positions[en + 1] + lag if en + 1 < len(positions) else len(dates)
        out.append({
            "date": str(pd.Timestamp(a["date"][j]).date()), "scalar": float(scalar),
            "regime": REGIMES[int(code)] if np.isfinite(code) and 0 <= code < len(REGIMES) else None,
            "held_from": str(dates[first].date()) if first < len(dates) else None,
            "episode_start": str(pd.Timestamp(a["date"][st]).date()), "episode_end": str(pd.Timestamp(a["date"][en]).date()),
            "episode_rebalances": int(en - st + 1), "episode_cut": -neg_area,
            "base_pnl_after": b, "other_pnl_after": o, "difference": o - b, "horizon_sessions": horizon,
            "base_pnl_episode": _window_return(base_net, ep_a, ep_b - ep_a),
            "other_pnl_episode": _window_return(other_net, ep_a, ep_b - ep_a),
        })
    return out


def vol_matched(base_net: np.ndarray, other_net: np.ndarray) -> tuple[float, np.ndarray]:
    """The other run levered to the base run's volatility, against the base.

    scale = std(base) / std(other) (daily net returns over the common sessions, ddof 1); returns
    (scale, equity(scale · other) / equity(base)) per session. A ratio that still rises says the
    other run earns more per unit of risk, not merely by taking more (or less) of it."""
    sb, so = float(np.std(base_net, ddof=1)), float(np.std(other_net, ddof=1))
    scale = sb / so if so > 0 else float("nan")
    return scale, equity(scale * np.asarray(other_net)) / equity(base_net)


def regime_performance(regime: np.ndarray, base_net: np.ndarray, other_net: np.ndarray, ppy: float,
                       names=REGIMES) -> list[dict]:
    """Each run's net performance over the sessions in each regime (of the braked run's allocator).

    regime: codes per common session (0 NORMAL .. 3 CRISIS, NaN none). Per regime with sessions:
    {regime, sessions, share, base: {...}, other: {...}, difference} with, per run, ann_return =
    Σ net / years in the regime (years = sessions / ppy), ann_vol = std · √ppy, sharpe =
    ann_return / ann_vol (NaN at zero vol), compounded = Π(1 + net) − 1 over those sessions; and
    difference = other − base ann_return. Does the brake pay: it should cost a little in NORMAL
    and save more than that in STRESS / CRISIS."""
    codes = np.asarray(regime, dtype=float)
    n = int(np.isfinite(codes).sum())
    out = []
    for code, name in enumerate(names):
        mask = codes == code
        k = int(mask.sum())
        if not k:
            continue

        def stats(net):
            x = np.asarray(net, dtype=float)[mask]
            vol = float(np.std(x, ddof=1) * np.sqrt(ppy)) if k > 1 else float("nan")
            ann = float(x.sum()) / (k / ppy)
            return {"ann_return": ann, "ann_vol": vol, "sharpe": ann / vol if vol > 0 else float("nan"),
                    "compounded": float(np.prod(1.0 + x) - 1.0)}

        b, o = stats(base_net), stats(other_net)
        out.append({"regime": name, "sessions": k, "share": k / n, "base": b, "other": o,
                    "difference": o["ann_return"] - b["ann_return"]})
    return out


def _run_info(run: RunData) -> dict:
    cfg = run.manifest.get("config", {})
    alloc = cfg.get("allocator", {})
    return {"run_id": run.run_id, "path": str(run.path), "config": cfg.get("name"), "description": cfg.get("description"),
            "allocator_mode": alloc.get("mode"), "allocator_profile": alloc.get("profile"),
            "target_vol": run.target_vol, "audit": (run.audit or {}).get("verdict", run.manifest.get("audit"))}


def _regimes(frame: pd.DataFrame, ppy: float) -> dict | None:
    regime = frame["regime"].to_numpy()
    return regime_shares(regime, ppy, REGIMES) if np.isfinite(regime).any() else None


def compare_runs(base_dir: Path, other_dir: Path, out_html: Path | None = None, embed: bool = False) -> dict:
    """Compare `other` against `base` over their common ready sessions.

    Returns a JSON-serialisable dict (NaN → None): base / other (run ids, configs), overlap
    (first, last, sessions), metrics ({key: {base, other, delta}} over the overlap: CAGR, vol,
    Sharpe, max DD, Calmar, worst month, turnover, cost drag), equity_ratio_end (other/base
    equity at the last common session), worst_months / worst_quarters (5 worst of each run
    with the other's value), derisking (run whose brake is shown and its top-10 events),
    regimes ({base, other}: time shares and transitions per year, None without a regime),
    vol_matched ({scale, ratio_end}: `vol_matched`), regime_performance (`regime_performance` on the
    regimes of the braked run, else of the run that has any; [] without) and html (the path
    written, or None). Writes the HTML page to `out_html` when given: Plotly JS from `.assets/`
    beside it (written once), or embedded with `embed`.
    InputError when the runs share no session.
    """
    base, other = load_run(Path(base_dir)), load_run(Path(other_dir))
    dates = base.dates.intersection(other.dates)
    if len(dates) == 0:
        span = lambda r: f"{r.run_id} {r.dates[0].date()}→{r.dates[-1].date()}" if len(r.dates) else f"{r.run_id} (empty)"  # noqa: E731
        raise InputError(f"the runs have no sessions in common ({span(base)}; {span(other)})", "compare",
                         "compare two runs over overlapping dates, e.g. the same stack with the allocator off and on")
    fb, fo = aligned(base, dates), aligned(other, dates)
    mb, mo = _metrics(fb, base.target_vol), _metrics(fo, other.target_vol)  # both annualise with the overlap's calendar
    nb, no = fb["net"].to_numpy(), fo["net"].to_numpy()
    day = np.asarray(dates, dtype="datetime64[D]")
    monthly_b, monthly_o = monthly_returns(nb, day), monthly_returns(no, day)

    def braked_in_overlap(run: RunData) -> bool:
        a = run.alloc
        return a is not None and bool((a["scalar_applied"][pd.DatetimeIndex(a["date"]).isin(dates)] < FULL_RISK).any())

    braked = "other" if braked_in_overlap(other) else "base" if braked_in_overlap(base) else None
    events = derisking_events((other if braked == "other" else base).alloc, dates, nb, no,
                              lag=(other if braked == "other" else base).lag) if braked else []

    scale, vm = vol_matched(nb, no)
    side = braked or ("other" if np.isfinite(fo["regime"].to_numpy()).any() else
                      "base" if np.isfinite(fb["regime"].to_numpy()).any() else None)
    by_regime = (regime_performance((fo if side == "other" else fb)["regime"].to_numpy(), nb, no, mb["periods_per_year"])
                 if side else [])
    result = {
        "base": _run_info(base), "other": _run_info(other),
        "overlap": {"first": str(dates[0].date()), "last": str(dates[-1].date()), "sessions": len(dates),
                    "years": len(dates) / mb["periods_per_year"]},
        "metrics": metric_deltas(mb, mo),
        "equity_ratio_end": float(equity(no)[-1] / equity(nb)[-1]),
        "worst_months": worst_periods(monthly_b, monthly_o),
        "worst_quarters": worst_periods(quarterly_returns(monthly_b), quarterly_returns(monthly_o)),
        "derisking": {"run": braked, "events": events},
        "regimes": {"base": _regimes(fb, mb["periods_per_year"]), "other": _regimes(fo, mo["periods_per_year"])},
        "vol_matched": {"scale": scale, "ratio_end": float(vm[-1])},
        "regime_performance": {"run": side, "rows": by_regime},
        "html": None,
    }
    if out_html is not None:
        out_html = Path(out_html)
        tag = plotly_tag(None if embed else out_html.parent / ".assets", out_html)
        result["html"] = str(write_page(out_html, build_compare_html(result, dates, nb, no, plotly=tag)))
    return jsonable(result)


# --------------------------------------------------------------------------- HTML


def _fmt(kind: str, value, sign: bool = False) -> str:
    if kind == "pct":
        return pct(value, 2, sign)
    if kind == "mult":
        return num(value, 1, "×", sign)
    return num(value, 2, sign=sign)


_DIGITS = {"pct": 4, "ratio": 2, "mult": 1}  # decimals of the value as shown (a percentage's 2 decimals = 4)
_KIND = {k: kind for k, _, kind, _ in HEADLINE}


def _shown(value, kind: str) -> float:
    """The value as the page prints it (rounded like `_fmt`), so a sign or colour never disagrees
    with the digits next to it: a delta shown as +0.00 is neither better nor worse."""
    return round(float(value), _DIGITS[kind]) + 0.0


def _tone(key: str, delta, kind: str | None = None) -> str:
    """CSS class of a delta: 'pos' when the other run is better on that metric, 'neg' when worse,
    judged on the delta as shown (rounded), none when it rounds to 0."""
    if delta is None or not np.isfinite(delta) or not _BETTER.get(key):
        return ""
    shown = _shown(delta, kind or _KIND.get(key, "ratio"))
    if shown == 0:
        return ""
    return "pos" if shown * _BETTER[key] > 0 else "neg"


def _period_table(rows: list[dict], first: str) -> str:
    return table(["period", f"{first}", "other" if first == "base" else "base", "other − base"],
                 [[r["period"], pct(r[first], 2), pct(r["other" if first == "base" else "base"], 2), pct(r["difference"], 2, True)]
                  for r in rows], numeric={1, 2, 3})


def build_compare_html(result: dict, dates: pd.DatetimeIndex, base_net: np.ndarray, other_net: np.ndarray,
                       plotly: str | None = None) -> str:
    """The comparison page of a `compare_runs` result (numbers before JSON conversion); `plotly`
    the tag that loads Plotly (default: embedded)."""
    b, o = result["base"], result["other"]
    m = result["metrics"]
    sections = []

    rows = [[label, _fmt(kind, m[k]["base"]), _fmt(kind, m[k]["other"]),
             f'<span class="{_tone(k, m[k]["delta"], kind)}">{esc(_fmt(kind, m[k]["delta"], True))}</span>']
            for k, label, kind, _ in HEADLINE]
    sections.append(Section("metrics", "Headline metrics", table(["metric", f"base: {b['run_id']}", f"other: {o['run_id']}",
                                                                  "other − base"], rows, numeric={1, 2, 3}, raw={3}),
                            f"Over the {result['overlap']['sessions']} sessions both runs have in their ready periods "
                            f"({result['overlap']['first']} → {result['overlap']['last']}). Turnover is one-way, in multiples "
                            "of NAV per year; cost drag is Σ costs / years. Green: the other run is better on that "
                            "metric, red: worse."))

    scale, vm = vol_matched(base_net, other_net)
    fig = charts.compare_equity_figure(dates, base_net, other_net, b["run_id"], o["run_id"], vm, scale)
    sections.append(Section("equity", "Equity, ratio and drawdowns", figure_html(fig, "fig-compare-equity"),
                            "Both equity curves start at 1 at the start of the window shown (the close before its first session; "
                            "log scale; the window buttons above rebase them, and the ratios, to 1 there). The ratio other / base rises when the other run "
                            f"does better; its end value is {num(result['equity_ratio_end'], 3)}. The vol-matched ratio (dashed) "
                            f"levers the other run's daily returns by {num(scale, 3)} = std(base) / std(other), so both carry the "
                            "same realised vol over the common sessions: it rises only where the other run earns more per unit "
                            f"of risk; its end value is {num(result['vol_matched']['ratio_end'], 3)}. Before the last 10 years the "
                            "chart draws each series' extremes and one session per bucket (exact values of those sessions)."))

    wm, wq = result["worst_months"], result["worst_quarters"]
    body = (f'<div class="cols"><div><h3>5 worst months of base</h3>{_period_table(wm["base_worst"], "base")}</div>'
            f'<div><h3>5 worst months of other</h3>{_period_table(wm["other_worst"], "other")}</div></div>'
            f'<div class="cols"><div><h3>5 worst quarters of base</h3>{_period_table(wq["base_worst"], "base")}</div>'
            f'<div><h3>5 worst quarters of other</h3>{_period_table(wq["other_worst"], "other")}</div></div>')
    sections.append(Section("worst", "Worst months and quarters", body,
                            "Calendar months / quarters, net returns compounded within the period, each run's worst with "
                            "the other run's return in the same period."))

    d = result["derisking"]
    if d["events"]:
        rows = [[e["date"], num(e["scalar"], 3), e["regime"] or "—", f"{e['episode_start']} → {e['episode_end']}",
                 e["episode_rebalances"], pct(e["base_pnl_after"], 2), pct(e["other_pnl_after"], 2),
                 pct(e["difference"], 2, True), pct(e["base_pnl_episode"], 2), pct(e["other_pnl_episode"], 2)]
                for e in d["events"]]
        body = table(["deepest cut", "scalar", "regime", "episode (rebalances)", "n", "base next 20",
                      "other next 20", "other − base", "base episode", "other episode"], rows, numeric={1, 4, 5, 6, 7, 8, 9},
                     wide=True)
        note = (f"The {len(d['events'])} deepest de-risking episodes of the {d['run']} run ({esc(result[d['run']]['run_id'])}): "
                "an episode is a run of rebalances with scalar_applied &lt; 0.99 (the scalar is an EWMA that approaches 1), "
                "shown at its lowest scalar; ties (e.g. at the profile minimum) by larger total cut Σ(1 − s). The regime is "
                "the one at the previous rebalance, when the scalar was decided. P&L = compounded net return of each run: "
                "“next 20” over the 20 sessions from the first session the cut book is held; “episode” over the "
                "sessions the episode's books are held.")
    else:
        body, note = "<p>Neither run's allocator scaled the book below 1 on the common sessions.</p>", ""
    sections.append(Section("derisking", "Top de-risking events", body, note))

    regimes = result["regimes"]
    present = {k: v for k, v in regimes.items() if v is not None}
    if present:
        rows = [[f"{k}: {result[k]['run_id']}"] + [pct(v["shares"][r]) for r in REGIMES] + [num(v["transitions_per_year"], 1)]
                for k, v in present.items()]
        body = (figure_html(charts.regime_share_figure({f"{k}: {result[k]['run_id']}": v["shares"] for k, v in present.items()}),
                            "fig-compare-regimes")
                + table(["run"] + list(REGIMES) + ["transitions / yr"], rows, numeric=set(range(1, len(REGIMES) + 2))))
        absent = [k for k, v in regimes.items() if v is None]
        note = "Share of common sessions spent in each allocator regime, and regime changes per year."
        if absent:
            note += f" No regime in the {' and '.join(absent)} run (allocator off)."
    else:
        body, note = "<p>Neither run has an allocator regime (allocator off in both).</p>", ""
    sections.append(Section("regimes", "Regime time shares", body, note))
    sections.append(_regime_performance_section(result))

    tiles = "".join([
        tile("Δ CAGR", pct(m["cagr"]["delta"], 2, True), f"{pct(m['cagr']['base'])} → {pct(m['cagr']['other'])}",
             _tone("cagr", m["cagr"]["delta"])),
        tile("Δ volatility", pct(m["ann_vol"]["delta"], 2, True), f"{pct(m['ann_vol']['base'])} → {pct(m['ann_vol']['other'])}"),
        tile("Δ Sharpe", num(m["sharpe"]["delta"], 2, sign=True), f"{num(m['sharpe']['base'])} → {num(m['sharpe']['other'])}",
             _tone("sharpe", m["sharpe"]["delta"])),
        tile("Δ max drawdown", pct(m["max_drawdown"]["delta"], 2, True),
             f"{pct(m['max_drawdown']['base'])} → {pct(m['max_drawdown']['other'])}", _tone("max_drawdown", m["max_drawdown"]["delta"])),
        tile("Δ Calmar", num(m["calmar"]["delta"], 2, sign=True), f"{num(m['calmar']['base'])} → {num(m['calmar']['other'])}",
             _tone("calmar", m["calmar"]["delta"])),
        tile("Equity ratio", num(result["equity_ratio_end"], 3), "other / base at the end"),
        tile("Vol-matched ratio", num(result["vol_matched"]["ratio_end"], 3),
             f"other × {num(result['vol_matched']['scale'], 3)} / base at the end"),
        f'<div class="tile"><div class="k">Audits</div><div class="v">{badge(b["audit"])} {badge(o["audit"])}</div>'
        f'<div class="d">base · other</div></div>',
    ])
    desc = lambda r: f"{esc(r['run_id'])} (allocator {esc(r['allocator_mode'])}{' ' + esc(r['allocator_profile']) if r['allocator_mode'] != 'off' else ''})"  # noqa: E731
    sub = (f"base {desc(b)} vs other {desc(o)} · {result['overlap']['first']} → {result['overlap']['last']} "
           f"({result['overlap']['sessions']} common sessions)")
    return render_page(f"macrostack compare — {b['run_id']} vs {o['run_id']}", sub, tiles, sections, plotly=plotly,
                       span=(result["overlap"]["first"], result["overlap"]["last"]),
                       missing_hint="The charts need the Plotly bundle in <code>.assets/</code> beside this page, and it was "
                                    "not found: the page was copied or moved without it. Write a self-contained copy with "
                                    "<code>macrostack compare BASE OTHER --embed</code>.")


def _signed(value, digits: int = 2) -> str:
    """A signed percentage with a colour from its value as shown (none when it rounds to 0)."""
    text = pct(value, digits, True)
    if value is None or not np.isfinite(value) or round(float(value), digits + 2) == 0:
        return esc(text)
    return f'<span class="{"pos" if value > 0 else "neg"}">{esc(text)}</span>'


def _regime_performance_section(result: dict) -> Section:
    rp = result["regime_performance"]
    if not rp["rows"]:
        return Section("regime-performance", "Performance per regime: does the brake pay?",
                       "<p>Neither run has an allocator regime (allocator off in both).</p>")
    rows = [[r["regime"], f"{r['sessions']:,}", pct(r["share"]), pct(r["base"]["ann_return"], 2), pct(r["other"]["ann_return"], 2),
             _signed(r["difference"]), pct(r["base"]["ann_vol"]), pct(r["other"]["ann_vol"]), num(r["base"]["sharpe"]),
             num(r["other"]["sharpe"])] for r in rp["rows"]]
    body = table(["regime", "sessions", "share", "base return / yr", "other return / yr", "other − base", "base vol",
                  "other vol", "base Sharpe", "other Sharpe"], rows, numeric=set(range(1, 10)), raw={5}, wide=True)
    body += figure_html(charts.regime_performance_figure(rp["rows"], (f"base: {result['base']['run_id']}",
                                                                       f"other: {result['other']['run_id']}")),
                        "fig-compare-regime-performance")
    return Section("regime-performance", "Performance per regime: does the brake pay?", body,
                   f"Sessions grouped by the regime in force in the {rp['run']} run ({esc(result[rp['run']]['run_id'])}); "
                   "each run's net returns over those sessions: return / yr = Σ net / years in the regime (sessions / "
                   "sessions per year), vol = std · √(sessions per year), Sharpe = their ratio (the JSON also has the compounded "
                   "return Π(1 + net) − 1 over those sessions). "
                   "A brake that pays gives up a little in NORMAL and loses less in STRESS and CRISIS. Green / red: the other "
                   "run earned more / less, judged on the digits shown.")
