"""The report's "are the numbers trustworthy?" section: the risk forecast check and the data-quality
evidence, both read from the run's manifest (computed once by the run; nothing recomputed here)."""

from __future__ import annotations

from macrostack.report.page import Section, esc, num, pct, table


def checks_section(manifest: dict) -> Section | None:
    """Realised vs ex-ante vol by horizon, the P&L share on flagged data and the smoothed decades;
    None for a run made before they were recorded."""
    rf, dq = manifest.get("risk_forecast"), manifest.get("data_quality")
    if not rf and not dq:
        return None
    body = ""
    if rf:
        body += "<h3>Risk forecast check</h3>" + table(
            ["horizon", "sessions", "blocks", "realised vol", "ex-ante vol", "realised / ex-ante", "bias (std of z)"],
            [[name, r["sessions"], f"{r['blocks']:,}", pct(r["realised_vol"]), pct(r["ex_ante_vol"]),
              num(r["ratio"], 2, "×"), num(r["bias"])] for name, r in sorted(rf["horizons"].items(), key=lambda kv: kv[1]["sessions"])], numeric=set(range(1, 7)))
    if dq:
        f = dq["flagged_pnl"]
        flagged = sorted((s, r["flags"]) for s, r in dq["instruments"].items() if r.get("flags"))
        body += (f"<h3>Data quality</h3><p><b>{pct(f['share'])}</b> of the gross P&amp;L was earned on flagged "
                 f"instrument-sessions ({pct(f['abs_share'])} of |P&amp;L|, {pct(f['exposure_share'])} of gross exposure). "
                 f"Flagged instruments ({len(flagged)} of {len(dq['instruments'])}): "
                 f"{esc(', '.join(f'{s} ({why})' for s, why in flagged)) or 'none'}.</p>")
        if dq.get("excluded"):
            body += (f"<p>Excluded (level-based returns; <code>data.allow_level_returns: true</code> includes them): "
                     f"{esc(', '.join(dq['excluded']))}.</p>")
        body += table(["decade", "instruments", "smoothed", "median lag-1 autocorr", "median VR(5)", "flagged"],
                      [[r["decade"], r["instruments"], f"{r['smoothed']} ({pct(r['share'], 0)})", num(r["median_ac1"], 3),
                        num(r["median_vr"]), "smoothed" if r["flagged"] else ""] for r in dq.get("decades", [])],
                      numeric={1, 2, 3, 4})
    t = (dq or {}).get("thresholds", {})
    return Section("checks", "Risk forecasts and data quality (whole run)", body,
                   "Risk forecast: the ex-ante vol of the executed weights (the run's own estimator, annualised with 252 "
                   "like risk targeting) against the realised vol of non-overlapping 1-, 5- and 21-session sums of net "
                   "returns over the ready period; a ratio above 1 at 5 or 21 sessions means serially correlated P&L ran "
                   "hotter than its daily forecast. Bias = std of each block's return over its own forecast. Data quality: "
                   f"an instrument-decade is smoothed when lag-1 autocorrelation > {t.get('smooth_ac1')} and VR(5) > "
                   f"{t.get('smooth_vr')} (each ≥ 3 standard errors); stale = a run of ≥ {t.get('stale_run')} zero "
                   "returns and the session after it; pre-listing = bars before the instrument's listing date. Share = "
                   "Σ held weight × return on flagged sessions / Σ held weight × return. Not restricted by --start/--end.")
