"""The weight-lifecycle audit (SYSTEM.md §8), computed from a run directory's artifacts alone.

Each check re-derives a number from the files and compares it with what the run recorded;
it reports the largest error and where it occurred. A run whose audit fails exits
non-zero and names the failed check. The four questions of the report:

- Are the RT-scaled weights the weights in P&L?   (checks 3, 4, 5, 6)
- Is there any renormalisation after RT?          (check 8)
- Any transformation that neutralises leverage?   (checks 2, 8)
- Is the path from RT output to P&L linear?        (check 7)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from macrostack.config import parse_config
from macrostack.errors import InputError
from macrostack.layers.risk_targeting import portfolio_variance
from macrostack.metrics import performance_metrics
from macrostack.pnl import booked_returns, held_panel
from macrostack.runs.panels import panels_key
from macrostack.runs.artifacts import (RESTORE, check_dates, check_run_tables, expected_tables, session_panel,
                                       read_table, write_json)

TOL = 1e-10  # absolute tolerance for re-derived floating-point quantities
STAGES = ("w_pre", "w_rt", "w_alloc", "w_exec")


@dataclass
class Check:
    number: int
    name: str
    passed: bool
    max_error: float
    where: str
    evidence: str

    def as_dict(self) -> dict:
        return {"check": self.number, "name": self.name, "passed": self.passed, "max_error": self.max_error,
                "where": self.where, "evidence": self.evidence}


def _worst(err: np.ndarray, dates) -> tuple[float, str]:
    if err.size == 0:
        return 0.0, ""
    # The largest |error|, a NaN counting as inf and an inf as the largest float (what
    # np.nan_to_num(|err|, nan=inf) would give), found without building that copy.
    flat = np.abs(err).reshape(-1)
    bad = ~np.isfinite(flat)
    if bad.any():
        nan = np.isnan(flat)
        k = int(np.argmax(nan)) if nan.any() else int(np.argmax(bad))
        value = np.inf if nan.any() else np.finfo(float).max
    else:
        k = int(np.argmax(flat))
        value = float(flat[k])
    row = np.unravel_index(k, err.shape)[0]
    return float(value), str(pd.Timestamp(dates[row]).date())


def _factorized(column: pd.Series) -> tuple[np.ndarray, pd.Index, np.ndarray | None]:
    """`pd.factorize(column, sort=False)`: codes by order of first appearance, −1 for missing,
    and where the codes change (None when not computed). For the categorical column a run writes
    (stages in contiguous blocks) it is read off the categorical's codes at the block boundaries
    instead of hashing ~3 M values."""
    if not isinstance(column.dtype, pd.CategoricalDtype):
        return *pd.factorize(column, sort=False), None
    codes = column.cat.codes.to_numpy()
    starts = np.concatenate([[0], np.flatnonzero(codes[1:] != codes[:-1]) + 1]) if len(codes) else np.zeros(0, int)
    order = list(dict.fromkeys(int(c) for c in codes[starts] if c >= 0))  # categories in order of appearance
    rank = np.full(len(column.cat.categories) + 1, -1, dtype=np.int64)
    rank[np.array(order, dtype=np.int64)] = np.arange(len(order))
    return rank[codes], pd.Index(column.cat.categories[order]), starts


class RunFiles:
    """The artifacts of one run directory, as arrays. InputError (naming the file) when a table is
    missing, unreadable, short of a column or a row, or its dates disagree with the others."""

    def __init__(self, path: Path, manifest: dict, tables: dict[str, pd.DataFrame] | None = None,
                 panels: dict[str, np.ndarray] | None = None, check_files: bool = True):
        """`tables` (file name relative to `path` → the frame just encoded into that file) and
        `panels` ("returns", "costs" → the arrays the run just hashed into the manifest's market_panels)
        let a run audit what it wrote without decoding it again; every other table is read
        from `path`. `macrostack audit RUN` passes neither: everything is read from disk.
        `check_files=False`: the caller checks the files' footers (`check_run_tables`) itself,
        once they are written (a run writes them while its audit reads `tables`)."""
        self.path = path
        self.manifest = manifest
        self._tables = tables or {}
        if check_files:
            check_run_tables(path, manifest)
        self.cfg = parse_config(manifest["config"], f"{path}/manifest.json")
        tables = expected_tables(manifest)
        w = self._read("weights.parquet")
        self.symbols = list(manifest["data"]["symbols"])
        self.reb_dates = pd.DatetimeIndex(pd.unique(w["date"]))
        n_reb, n = len(self.reb_dates), len(self.symbols)
        if n_reb != manifest["n_rebalances"]:
            raise InputError(f"{n_reb} rebalance dates, the manifest says {manifest['n_rebalances']}",
                             str(path / "weights.parquet"), RESTORE)
        # The rows of each stage in file order (what a groupby gives, without its sort and copies).
        codes, names, starts = _factorized(w["stage"])
        counts = np.bincount(codes[codes >= 0], minlength=len(names))
        self.stage_counts = {str(s): int(k) for s, k in zip(names, counts) if k}
        uneven = [s for s, k in self.stage_counts.items() if k != n_reb * n]
        if uneven:
            raise InputError(f"stage(s) {uneven[:3]} lack rows (expected {n_reb} rebalances × {n} symbols)",
                             str(path / "weights.parquet"), RESTORE)
        weight = w["weight"].to_numpy()
        block = n_reb * n
        if starts is None:  # where the codes change
            starts = np.concatenate([[0], np.flatnonzero(codes[1:] != codes[:-1]) + 1]) if len(codes) else np.zeros(0, int)
        # Stage k in rows [k·block, (k+1)·block): the codes change exactly there, to 0, 1, 2, ...
        contiguous = (len(names) * block == len(codes) and len(starts) == len(names)
                      and (starts == np.arange(len(names)) * block).all() and (codes[starts] == np.arange(len(names))).all())
        self.stages = {str(s): (weight[k * block:(k + 1) * block] if contiguous else weight[codes == k]).reshape(n_reb, n)
                       for k, s in enumerate(names)}
        self.daily = self._read("daily.parquet")
        self.dates = pd.DatetimeIndex(self.daily["date"])
        self.held = self._session_panel("positions.parquet")
        if panels is not None:  # in the layout a table read from disk has, so both audits compute alike
            self.returns, self.costs = np.asfortranarray(panels["returns"]), np.asfortranarray(panels["costs"])
        else:
            self.returns = self._session_panel("returns.parquet")
            self.costs = self._session_panel("costs.parquet")
        # Missing returns and costs as the P&L books them (0), once for every check that re-derives P&L.
        self.returns0, self.costs0 = booked_returns(self.returns), booked_returns(self.costs)
        key = manifest.get("market_panels")  # sha256 of the panels the run used (runs made before it have none)
        if key is not None and panels is None and panels_key(self.dates, self.symbols, self.returns, self.costs) != key:
            raise InputError("returns.parquet or costs.parquet differ from the market data the run used "
                             "(their sha256 is not the manifest's market_panels)", str(path), RESTORE)
        self.rt = self._rebalance_table("risk_targeting")
        self.alloc = self._rebalance_table("allocator")
        self.events = self._read("layers/execution_events.parquet")
        self._check_events()
        self.reb_idx = self.dates.get_indexer(self.reb_dates)
        self.sleeves = None
        if "sleeves.parquet" in tables:
            self.sleeves = self._read("sleeves.parquet", list(tables["sleeves.parquet"][0]))
            check_dates(self.sleeves, self.dates, path / "sleeves.parquet", "daily.parquet")

    def _read(self, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        frame = self._tables.get(name)
        if frame is None:
            return read_table(self.path / name, columns)
        if columns is None:
            return frame
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise InputError(f"missing column(s) {missing[:5]}", str(self.path / name), RESTORE)
        return frame[list(columns)]

    def _session_panel(self, name: str) -> np.ndarray:
        return session_panel(self.path, name, self.symbols, self.dates, self._tables)

    def _rebalance_table(self, layer: str) -> pd.DataFrame:
        path = self.path / "layers" / f"{layer}.parquet"
        frame = self._read(f"layers/{layer}.parquet")
        check_dates(frame, self.reb_dates, path, "the rebalances of weights.parquet")
        return frame

    def _check_events(self) -> None:
        ev, where = self.events, str(self.path / "layers" / "execution_events.parquet")
        reb = pd.to_numeric(ev["rebalance"], errors="coerce").to_numpy(dtype=float)
        if not ((reb >= 0) & (reb < len(self.reb_dates)) & (reb == np.round(reb))).all():
            raise InputError("a rebalance number is not one of the run's rebalances", where, RESTORE)
        unknown = sorted(set(ev["symbol"].astype(str)) - set(self.symbols))
        if unknown:
            raise InputError(f"unknown symbol(s) {unknown[:3]}", where, RESTORE)


def run_checks(f: RunFiles) -> list[Check]:
    cfg, checks = f.cfg, []
    n_reb, n = len(f.reb_dates), len(f.symbols)
    rtc, ex = cfg.risk_targeting, cfg.execution

    # 1. every stage recorded for every rebalance
    missing = [s for s in STAGES if f.stage_counts.get(s, 0) != n_reb * n]
    nonfinite = [s for s in STAGES if s in f.stages and not np.isfinite(f.stages[s]).all()]
    checks.append(Check(1, "every stage recorded at every rebalance", not missing and not nonfinite and (f.reb_idx >= 0).all(),
                        float(len(missing) + len(nonfinite)), ", ".join(missing + nonfinite),
                        f"{len(STAGES)} stages × {n_reb} rebalances × {n} symbols"))

    # 2. RT: G(w_rt) = L; ex-ante vol = target where unclipped and σ_u >= vol floor
    lev = f.rt["leverage"].to_numpy()
    w_rt = f.stages["w_rt"]
    active = np.isfinite(lev)
    g_err = np.where(active, np.abs(w_rt).sum(axis=1) - np.nan_to_num(lev), np.abs(w_rt).sum(axis=1))
    vol = np.sqrt(portfolio_variance(w_rt, f.returns0, f.reb_idx, rtc.vol_lookback, rtc.estimator, rtc.ewma_lambda,
                                     rtc.newey_west_lags, zero_filled=True))
    unclipped = active & (f.rt["clipped"].to_numpy() == 0) & (f.rt["sigma_unit"].to_numpy() >= rtc.vol_floor)
    v_err = np.where(unclipped, vol - rtc.target_vol, 0.0)
    w_pre = f.stages["w_pre"]
    with np.errstate(invalid="ignore", divide="ignore"):  # the layer's own operations: u = w_pre / G, w_rt = u · L
        rt_err = w_rt - np.where(active[:, None], w_pre / np.abs(w_pre).sum(axis=1)[:, None] * np.nan_to_num(lev)[:, None], 0.0)
    e1, d1 = _worst(g_err, f.reb_dates)
    e2, d2 = _worst(v_err, f.reb_dates)
    e3, d3 = _worst(rt_err, f.reb_dates)
    worst = max((e1, d1), (e2, d2), (e3, d3))
    checks.append(Check(2, "risk targeting: w_rt = L · w_pre / G(w_pre), G(w_rt) = L, ex-ante vol = target where unclipped",
                        max(e1, e2, e3) <= TOL, worst[0], worst[1],
                        f"|w_rt − L·w_pre/G| max {e3:.2e}; |G−L| max {e1:.2e}; ex-ante vol re-estimated from returns.parquet ({rtc.estimator}, "
                        f"{rtc.vol_lookback} sessions) minus target max {e2:.2e} over {int(unclipped.sum())} unclipped "
                        f"rebalances; {int((f.rt['clipped'] != 0).sum())} clipped"))

    # 3. allocator: w_alloc = w_rt · s exactly, 0 < s <= 1
    s = f.alloc["scalar_applied"].to_numpy()
    a_err = f.stages["w_alloc"] - w_rt * s[:, None]
    e, d = _worst(a_err, f.reb_dates)
    in_range = bool(((s > 0) & (s <= 1)).all())
    checks.append(Check(3, "allocator: w_alloc = w_rt · s, 0 < s <= 1", e == 0.0 and in_range, e, d,
                        f"max |w_alloc − w_rt·s| = {e:.1e}; s in [{s.min():.4f}, {s.max():.4f}]"))

    # 4. execution: executed = allocator output except at recorded events
    diff = f.stages["w_exec"] != f.stages["w_alloc"]
    evented = np.zeros_like(diff)
    if len(f.events):
        cols = pd.Index(f.symbols).get_indexer(f.events["symbol"])
        evented[f.events["rebalance"].to_numpy(dtype=int), cols] = True
    unexplained = diff & ~evented
    e = float(np.abs(np.where(unexplained, f.stages["w_exec"] - f.stages["w_alloc"], 0.0)).max(initial=0.0))
    rows = np.flatnonzero(unexplained.any(axis=1))
    checks.append(Check(4, "execution: executed = allocator output except at recorded constraint events",
                        not unexplained.any(), e, str(f.reb_dates[rows[0]].date()) if len(rows) else "",
                        f"{int(diff.sum())} changed cells, {len(f.events)} recorded events "
                        f"({', '.join(f'{k}: {v}' for k, v in f.events['reason'].value_counts().items()) or 'none'}), "
                        f"{int(unexplained.sum())} unexplained"))

    # 5. held panel = executed panel under lag and holding mode
    derived = held_panel(f.stages["w_exec"], f.reb_idx, f.returns0, f.costs0, ex.lag, ex.holding, booked=True)
    e, d = _worst(derived["held"] - f.held, f.dates)
    checks.append(Check(5, f"held weights = executed weights under lag {ex.lag} and '{ex.holding}' holding",
                        e <= TOL, e, d, f"max |held − derived| = {e:.2e} over {len(f.dates)} sessions"))

    # 6. pg = Σ w r, p = pg − c exactly, c >= 0
    gross, cost, net = (f.daily[c].to_numpy() for c in ("gross", "cost", "net"))
    e_g, d_g = _worst(np.einsum("dn,dn->d", f.held, f.returns0)[:, None] - gross[:, None], f.dates)
    e_c, _ = _worst((derived["cost"] - cost)[:, None], f.dates)
    e_n = float(np.abs(net - (gross - cost)).max(initial=0.0))
    ok = e_g <= TOL and e_c <= TOL and e_n == 0.0 and (cost >= 0).all()
    checks.append(Check(6, "P&L: gross = Σ w·r, net = gross − costs, costs >= 0", ok, max(e_g, e_c, e_n), d_g,
                        f"|gross − Σw·r| {e_g:.2e}; |cost − Σk|Δw|| {e_c:.2e}; |net − (gross − cost)| {e_n:.1e}; "
                        f"min cost {cost.min():.2e}; total cost {cost.sum():.4f} reaches net"))

    # 7. linearity: scaling the executed weights by k scales gross P&L by k
    k = 2.0
    if ex.holding == "constant":
        scaled = held_panel(k * f.stages["w_exec"], f.reb_idx, f.returns0, f.costs0, ex.lag, ex.holding, booked=True)["gross"]
        basis = "executed weights → gross P&L"
    else:  # drift: held weights depend on the path; the map held → P&L must still be linear
        scaled = np.einsum("dn,dn->d", k * f.held, f.returns0)
        basis = "held weights → gross P&L (drift holding)"
    e, d = _worst((scaled - k * gross)[:, None], f.dates)
    checks.append(Check(7, "linearity: k·w gives k·gross P&L", e <= TOL, e, d, f"k = {k}, {basis}, max error {e:.2e}"))

    # 8. no renormalisation after RT: G(w_exec)/G(w_rt) = s except at recorded events
    g_rt = np.abs(w_rt).sum(axis=1)
    g_ex = np.abs(f.stages["w_exec"]).sum(axis=1)
    clean = (g_rt > 0) & ~evented.any(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r_err = np.where(clean, g_ex / g_rt - s, 0.0)
    e, d = _worst(r_err[:, None], f.reb_dates)
    checks.append(Check(8, "no renormalisation after RT: G(w_exec)/G(w_rt) = s except at events", e <= TOL, e, d,
                        f"{int(clean.sum())} rebalances without events, max |ratio − s| {e:.2e}; "
                        f"{int(((g_rt > 0) & evented.any(axis=1)).sum())} rebalances with events excluded"))

    # 9. the reported metrics are the metrics of the exported net series (one P&L path)
    start = int(f.manifest["ready_index"])
    recomputed = performance_metrics(net, f.dates.to_numpy().astype("datetime64[D]"), start=start)
    reported = f.manifest["metrics"]
    diffs = [abs(recomputed[k] - reported[k]) for k in ("cagr", "ann_vol", "sharpe", "max_drawdown")
             if isinstance(reported.get(k), float) and np.isfinite(recomputed[k])]
    e = max(diffs, default=0.0)
    checks.append(Check(9, "metrics are computed from the exported net series", e <= 1e-12, e, "",
                        f"CAGR, vol, Sharpe, max drawdown recomputed from daily.parquet: max diff {e:.1e}"))

    # 10. exact attribution: sleeves + residual = portfolio, gross, costs and net, every session
    if f.sleeves is not None:
        names = [c for c in f.sleeves.columns if c != "date" and ":" not in c]
        errs = {part: np.abs(f.sleeves[[f"{n}{suffix}" for n in names]].to_numpy().sum(axis=1) - f.daily[col].to_numpy())
                for part, suffix, col in (("gross", ":gross", "gross"), ("cost", ":cost", "cost"), ("net", "", "net"))}
        e = max(float(v.max(initial=0.0)) for v in errs.values())
        d = str(f.dates[int(np.argmax(errs["net"]))].date()) if len(f.dates) else ""
        checks.append(Check(10, "attribution: sleeves + residual = portfolio (gross, costs, net)", e <= 1e-12, e, d,
                            f"parts: {', '.join(names)}; max |Σ parts − portfolio| {e:.1e} over {len(f.dates)} sessions"))
    return checks


QUESTIONS = [
    ("Are the RT-scaled weights the weights in P&L?", (3, 4, 5, 6)),
    ("Is there any renormalisation after RT?", (8,)),
    ("Is there any transformation that neutralises leverage?", (2, 8)),
    ("Is the path from RT output to P&L linear?", (7,)),
]


def audit_run(path: Path, manifest: dict, write: bool = True, tables: dict[str, pd.DataFrame] | None = None,
              panels: dict[str, np.ndarray] | None = None, check_files: bool = True) -> dict:
    """Run every check on the artifacts in `path`; write audit.json and audit.md there if `write`.
    `tables`, `panels`, `check_files`: what a run just wrote there, audited without decoding it
    (`RunFiles`)."""
    checks = run_checks(RunFiles(path, manifest, tables, panels, check_files))
    by_number = {c.number: c for c in checks}
    answers = []
    for question, numbers in QUESTIONS:
        ok = all(by_number[n].passed for n in numbers)
        answers.append({"question": question, "verdict": "PASS" if ok else "FAIL", "checks": list(numbers)})
    verdict = "PASS" if all(c.passed for c in checks) else "FAIL"
    result = {"verdict": verdict, "failed": [c.name for c in checks if not c.passed],
              "checks": [c.as_dict() for c in checks], "questions": answers}
    if write:
        write_json(path / "audit.json", result)
        (path / "audit.md").write_text(render_markdown(manifest["run_id"], result))
    return result


def render_markdown(run_id: str, result: dict) -> str:
    lines = [f"# Weight-lifecycle audit — {run_id}", "", f"**Verdict: {result['verdict']}**", ""]
    for a in result["questions"]:
        lines.append(f"- **{a['question']}** {a['verdict']} (checks {', '.join(map(str, a['checks']))})")
    lines += ["", "| # | check | result | max error | where | evidence |", "|---|---|---|---|---|---|"]
    for c in result["checks"]:
        lines.append(f"| {c['check']} | {c['name']} | {'PASS' if c['passed'] else 'FAIL'} | {c['max_error']:.2e} | "
                     f"{c['where']} | {c['evidence']} |")
    return "\n".join(lines) + "\n"
