"""The `macrostack` command line: thin — parse, call the library, print with rich.

Every bad input ends as one line `error: …` on stderr and exit code 2.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from macrostack.errors import InputError, os_error

app = typer.Typer(help="macrostack: a layered, auditable backtester for systematic futures portfolios.",
                  no_args_is_help=True, add_completion=False)


def _version(value: bool) -> None:
    if value:
        from macrostack import __version__
        typer.echo(f"macrostack {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """macrostack: a layered, auditable backtester for systematic futures portfolios."""


data_app = typer.Typer(help="Market store: ingest, list, inspect and check datasets.", no_args_is_help=True)
app.add_typer(data_app, name="data")

console = Console()
err_console = Console(stderr=True)

StoreOpt = typer.Option(None, "--store", help="Market store file (default: $MACROSTACK_STORE or the user data dir).")
DatasetOpt = typer.Option("trendfollowing", "--dataset", "-d", help="Dataset name in the store.")


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that staging folders and transactions are cleaned up."""


def _on_sigterm(signum, frame):
    raise Terminated()


def _error_line(message: str, code: int):
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True, markup=True)
    return typer.Exit(code=code)


def _is_duckdb_io_error(exc: Exception) -> bool:
    """DuckDB's own I/O failures (full disk, permissions, corrupt file) without importing duckdb."""
    return type(exc).__module__.endswith("duckdb") and type(exc).__name__ in (
        "IOException", "PermissionException", "FatalException", "OutOfMemoryException")


def _is_interrupted_query(exc: Exception) -> bool:
    """DuckDB's answer to SIGINT during a query (it catches the signal itself)."""
    return type(exc).__name__ in ("InterruptException", "RuntimeError") and "interrupted" in str(exc).lower()


def handles_input_errors(func):
    """Every failure a user can act on is one line on stderr: bad input and OS failures exit 2,
    Ctrl-C exits 130 and SIGTERM 143 (after the `finally` blocks removed what was half-made)."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        import signal

        signal.signal(signal.SIGTERM, _on_sigterm)
        if hasattr(signal, "SIGXFSZ"):  # past `ulimit -f` a write fails with EFBIG instead of killing us
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        try:
            return func(*args, **kwargs)
        except InputError as exc:
            raise _error_line(escape(str(exc)), 2) from None
        except Terminated:
            raise _error_line("terminated (SIGTERM) — nothing half-made was left behind", 143) from None
        except KeyboardInterrupt:
            raise _error_line("interrupted (Ctrl-C) — nothing half-made was left behind", 130) from None
        except BrokenPipeError:  # `macrostack … | head`: the reader left; not an error of ours
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - so that the interpreter's final flush is silent
            raise typer.Exit(code=0) from None
        except OSError as exc:
            raise _error_line(escape(str(os_error(exc))), 2) from None
        except Exception as exc:
            if _is_interrupted_query(exc):  # DuckDB turns Ctrl-C during a query into its own error
                raise _error_line("interrupted (Ctrl-C) — nothing half-made was left behind", 130) from None
            if not _is_duckdb_io_error(exc):
                raise
            what = " ".join(str(exc).split())[:300]  # DuckDB breaks its messages over lines
            raise _error_line(escape(f"{what} — fix: check the disk, the store or catalog file and other "
                                     "processes using it; a failed write leaves the last committed data"), 2) from None
    return wrapper


def _day(value) -> str:
    """A date or timestamp as YYYY-MM-DD ('—' when missing)."""
    return "—" if value is None or value != value else str(value)[:10]


def progress_bar(total: int, description: str, enabled: bool = True):
    """A rich progress bar (on stderr, only on a terminal) and the `progress(advance, description)` callback."""
    bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                   TimeElapsedColumn(), console=err_console, transient=True,
                   disable=not (enabled and sys.stderr.isatty()))
    task = bar.add_task(description, total=total)

    def advance(n: int, text: str) -> None:
        bar.update(task, advance=n, description=f"{description}: {text}")
    return bar, advance


def _ingest(store: Optional[Path], fmt: str, path=None, name=None, **options) -> None:
    from macrostack.data.ingest import ingest_into
    from macrostack.data.store import default_store_path

    total = {"trendfollowing": 4, "pysystemtrade": len(list(Path(path or ".").glob("adjusted_prices_csv/*.csv")))}.get(fmt, 1)
    bar, advance = progress_bar(total, f"ingest {fmt}")
    with bar:
        row = ingest_into(store, fmt, path, name, progress=advance, **options)
    console.print(f"ingested [bold]{row['dataset']}[/]: {row['n_instruments']} instruments, {row['n_bars']:,} bars, "
                  f"{row['first_date']} → {row['last_date']} into {store or default_store_path()}")
    _level_return_note(store, row["dataset"])


def _level_return_note(store: Optional[Path], dataset: str) -> None:
    """Say which instruments have returns from a back-adjusted level, and that runs exclude them."""
    from macrostack.data.quality import LEVEL_BASIS, LEVEL_RETURNS_KEY
    from macrostack.data.store import MarketStore

    with MarketStore(store, read_only=True) as st:
        ins = st.instruments(dataset)
    level = sorted(ins.loc[ins["return_basis"] == LEVEL_BASIS, "symbol"])
    if level:
        console.print(f"[yellow]note[/]: {len(level)} instruments have no contract prices, so their returns come from "
                      f"the back-adjusted level (mis-scaled against real returns): {', '.join(level)}. Runs exclude "
                      f"them unless the config sets `{LEVEL_RETURNS_KEY}: true`.", highlight=False)


@data_app.command("init")
@handles_input_errors
def data_init(store: Optional[Path] = StoreOpt) -> None:
    """Ingest the default dataset (84 continuous futures from the trendfollowing package)."""
    _ingest(store, "trendfollowing")


@data_app.command("ingest")
@handles_input_errors
def data_ingest(
    fmt: str = typer.Argument(..., metavar="FORMAT", help="trendfollowing | pysystemtrade | generic"),
    path: Optional[Path] = typer.Argument(None, help="Folder (pysystemtrade) or file (generic)."),
    name: Optional[str] = typer.Option(None, "--name", help="Dataset name (default: the format)."),
    instruments: Optional[Path] = typer.Option(None, "--instruments", help="generic: instruments file."),
    cost: Optional[float] = typer.Option(None, "--cost",
                                         help="generic: cost per unit notional traded when the instruments file has none (default 0)."),
    store: Optional[Path] = StoreOpt,
) -> None:
    """Ingest a dataset; re-ingesting a name replaces it atomically."""
    options = {k: v for k, v in (("instruments_path", instruments), ("cost", cost)) if v is not None}
    _ingest(store, fmt, path, name, **options)


@data_app.command("list")
@handles_input_errors
def data_list(dataset: Optional[str] = typer.Option(None, "--dataset", "-d"), store: Optional[Path] = StoreOpt) -> None:
    """List datasets, or the instruments of one dataset."""
    from macrostack.data.store import MarketStore

    with MarketStore(store, read_only=True) as st:
        ds = st.datasets()
        if dataset is None:
            table = Table(title=f"datasets in {st.path}")
            for col in ("dataset", "source", "instruments", "bars", "first", "last", "ingested (UTC)", "hash"):
                table.add_column(col)
            for r in ds.itertuples():
                table.add_row(r.dataset, r.source, str(r.n_instruments), f"{r.n_bars:,}", _day(r.first_date),
                              _day(r.last_date), str(r.ingested_at)[:19], r.content_hash[:12])
            console.print(table)
            if len(ds) == 1:
                dataset = ds["dataset"].iloc[0]
        if dataset is not None:
            _instrument_table(st, dataset)


def _instrument_table(st, dataset: str) -> None:
    ins = st.instruments(dataset)
    span = st.con.execute("SELECT symbol, min(date) AS first, max(date) AS last, count(*) AS rows FROM bars "
                          "WHERE dataset = $d GROUP BY symbol", {"d": dataset}).df().set_index("symbol")
    table = Table(title=f"{dataset}: {len(ins)} instruments")
    for col in ("symbol", "name", "asset class", "ccy", "cost (bp)", "first", "last", "sessions", "ticker"):
        table.add_column(col, justify="right" if col in ("cost (bp)", "sessions") else "left")
    for r in ins.itertuples():
        s = span.loc[r.symbol] if r.symbol in span.index else None
        table.add_row(r.symbol, r.name or "", r.asset_class or "", r.currency or "",
                      f"{r.cost * 1e4:.2f}" if r.cost == r.cost else "—",
                      _day(s["first"]) if s is not None else "—", _day(s["last"]) if s is not None else "—",
                      f"{int(s['rows']):,}" if s is not None else "0", r.source_ticker or "")
    console.print(table)


def _known_symbol(symbol: str, symbols: list[str], dataset: str) -> str:
    """`symbol` as the dataset spells it (case-insensitive); InputError with close matches otherwise."""
    import difflib

    by_upper = {s.upper(): s for s in symbols}
    if symbol.upper() in by_upper:
        return by_upper[symbol.upper()]
    close = [by_upper[m] for m in difflib.get_close_matches(symbol.upper(), list(by_upper), n=3, cutoff=0.6)]
    hint = f"did you mean {', '.join(close)}?" if close else "see `macrostack data list -d " + dataset + "`"
    raise InputError(f"unknown symbol {symbol!r} in dataset {dataset!r}", "data info", hint)


@data_app.command("info")
@handles_input_errors
def data_info(symbol: str, dataset: str = DatasetOpt, store: Optional[Path] = StoreOpt) -> None:
    """Show one instrument: metadata, coverage and return statistics."""
    from macrostack.data.check import check_dataset
    from macrostack.data.store import MarketStore

    from macrostack.data.check import quality_evidence

    with MarketStore(store, read_only=True) as st:
        ins = st.instruments(dataset).set_index("symbol")
        symbol = _known_symbol(symbol, list(ins.index), dataset)
        evidence = quality_evidence(st, dataset, [symbol])
        rep = check_dataset(st, dataset).set_index("symbol").loc[symbol]
        stats = st.con.execute("SELECT stddev_samp(ret) * sqrt(252) AS vol, avg(ret) * 252 AS mean FROM bars "
                               "WHERE dataset = $d AND symbol = $s", {"d": dataset, "s": symbol}).fetchone()
    table = Table(title=f"{symbol} ({dataset})", show_header=False)
    for key, value in ins.loc[symbol].items():
        table.add_row(key, str(value))
    for key in ("first", "last", "max_move_date"):
        table.add_row(key, _day(rep[key]))
    for key in ("rows", "missing", "no_return", "flags"):
        table.add_row(key, str(rep[key]))
    table.add_row("largest move", f"{rep['max_move']:+.2%}")
    table.add_row("annualised vol", f"{stats[0]:.2%}" if stats[0] is not None else "—")
    table.add_row("annualised mean return", f"{stats[1]:.2%}" if stats[1] is not None else "—")
    table.add_row("longest zero-return run", f"{rep['longest_zero_run']} sessions ({rep['stale_sessions']} stale sessions, "
                                             f"{rep['zero_share']:.1%} of returns are 0)")
    table.add_row("before listing", f"{rep['pre_listing']:,} sessions" if _day(rep["listing_date"]) != "—" else "no listing date")
    console.print(table)
    console.print(_decade_table(evidence.decades, f"{symbol}: serial correlation by decade"))


def _decade_table(decades, title: str) -> Table:
    """Per decade: returns, lag-1 autocorrelation, VR(5) and the smoothed flag (one instrument's rows)."""
    from macrostack.data.quality import SMOOTH_AC1, SMOOTH_VR, VR_Q

    table = Table(title=title, caption=f"smoothed: ρ₁ > {SMOOTH_AC1} and VR({VR_Q}) > {SMOOTH_VR}, both ≥ 3 standard "
                                       "errors (macrostack.data.quality)")
    for col in ("decade", "returns", "lag-1 autocorr", f"VR({VR_Q})", "smoothed"):
        table.add_column(col, justify="left" if col == "decade" else "right")
    for r in decades.itertuples():
        table.add_row(f"{r.decade}s", f"{r.n:,}", _num(r.ac1, "+.3f"), _num(r.vr, ".2f"), "yes" if r.smoothed else "",
                      style="yellow" if r.smoothed else None)
    return table


@data_app.command("check")
@handles_input_errors
def data_check(dataset: str = DatasetOpt, store: Optional[Path] = StoreOpt) -> None:
    """Per instrument: first/last session, rows, missing sessions, largest move; flags suspicious ones."""
    from macrostack.data.check import check_dataset
    from macrostack.data.store import MarketStore

    from macrostack.data.check import quality_evidence
    from macrostack.data.quality import LEVEL_BASIS, LEVEL_RETURNS_KEY, STALE_RUN, decade_summary

    with MarketStore(store, read_only=True) as st:
        evidence = quality_evidence(st, dataset)
        rep = check_dataset(st, dataset, evidence)
    table = Table(title=f"data check: {dataset}")
    numeric = ("rows", "missing", "no return", "largest move", "zero run", "stale", "pre-listing")
    for col in ("symbol", "first", "last", "rows", "missing", "no return", "largest move", "on", "zero run", "stale",
                "pre-listing", "smoothed decades", "flags"):
        table.add_column(col, justify="right" if col in numeric else "left")
    for r in rep.itertuples():
        style = "yellow" if r.flags else None
        table.add_row(r.symbol, _day(r.first), _day(r.last), f"{r.rows:,}", f"{r.missing:,}", f"{r.no_return:,}",
                      f"{r.max_move:+.1%}" if r.max_move == r.max_move else "—", _day(r.max_move_date),
                      str(r.longest_zero_run), f"{r.stale_sessions:,}",
                      f"{r.pre_listing:,}" if _day(r.listing_date) != "—" else "—", r.smoothed_decades, r.flags,
                      style=style)
    console.print(table)
    dec = Table(title=f"{dataset}: serial correlation of daily returns by decade (instruments with ≥ 2 years in it)",
                caption="a decade is flagged when ≥ 25 % of its instruments are smoothed (macrostack.data.quality)")
    for col in ("decade", "instruments", "smoothed", "median lag-1 autocorr", "median VR(5)", "flagged"):
        dec.add_column(col, justify="left" if col == "decade" else "right")
    for r in decade_summary(evidence.decades).itertuples():
        dec.add_row(r.decade, str(r.instruments), f"{r.smoothed} ({r.share:.0%})", _num(r.median_ac1, "+.3f"),
                    _num(r.median_vr, ".2f"), "SMOOTHED" if r.flagged else "", style="yellow" if r.flagged else None)
    console.print(dec)
    n_flag = int((rep["flags"] != "").sum())
    console.print(f"{len(rep)} instruments, {n_flag} flagged (read the dates: real crashes are flagged too; "
                  f"stale = a run of ≥ {STALE_RUN} zero returns and the session after it)")
    level = sorted(rep.loc[rep["return_basis"] == LEVEL_BASIS, "symbol"])
    if level:
        console.print(f"[yellow]approx-return[/]: {len(level)} instruments ({', '.join(level)}) have returns from the "
                      f"back-adjusted level; runs exclude them unless the config sets `{LEVEL_RETURNS_KEY}: true`.",
                      highlight=False)



# ---------------------------------------------------------------------------- runs
OutOpt = typer.Option(None, "--out", help="Folder of run folders and the run catalog "
                                          "(default: $MACROSTACK_RUNS, else the user data dir's runs/).")
JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON instead of tables.")
QuietOpt = typer.Option(False, "--quiet", "-q", help="No progress bars or tables; errors still print.")


def _print_json(data) -> None:
    import json

    from macrostack.runs.artifacts import jsonable
    typer.echo(json.dumps(jsonable(data), indent=2, sort_keys=True, default=str))


def _run_summary(manifest: dict, audit: dict, path: Path) -> dict:
    return {"run_id": manifest["run_id"], "path": str(path), "metrics": manifest["metrics"],
            **{k: manifest.get(k) for k in ("periods_per_year", "sub_periods", "trailing", "drawdowns")},
            "risk_forecast": manifest.get("risk_forecast"),
            "risk_views": manifest.get("risk_views"), "benchmark": manifest.get("benchmark"),
            "data_quality": {k: v for k, v in (manifest.get("data_quality") or {}).items() if k != "instruments"},
            "attribution": manifest.get("attribution"), "stage_statuses": manifest["stage_statuses"],
            "inert_sleeves": manifest.get("inert_sleeves", {}), "ready_date": manifest["ready_date"],
            "audit": {"verdict": audit["verdict"], "failed": audit["failed"]}}
config_app = typer.Typer(help="Stack configurations: bundled profiles and YAML files.", no_args_is_help=True)
app.add_typer(config_app, name="config")


def _metrics_table(m: dict, title: str) -> Table:
    rows = [("CAGR", "cagr", "{:.2%}/yr"), ("annualised vol", "ann_vol", "{:.2%}"), ("Sharpe", "sharpe", "{:.2f}"),
            ("Sortino", "sortino", "{:.2f}"), ("max drawdown", "max_drawdown", "{:.2%}"),
            ("Calmar", "calmar", "{:.2f}"), ("worst month", "worst_month", "{:.2%}"), ("hit rate", "hit_rate", "{:.1%}"),
            ("skew", "skew", "{:.2f}"), ("avg gross leverage", "avg_gross_leverage", "{:.2f}×"),
            ("avg net leverage", "avg_net_leverage", "{:.2f}×"), ("turnover", "turnover_per_year", "{:.1f}× NAV/yr"),
            ("cost drag", "cost_drag", "{:.2%}/yr"), ("realised / target vol (RT basis, 252)", "realised_vol_ratio", "{:.2f}×"),
            ("sessions / year (this calendar)", "periods_per_year", "{:.1f}")]
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for label, key, fmt in rows:
        v = m.get(key)
        text = "—" if v is None or v != v else fmt.format(v)
        if key == "max_drawdown" and m.get("max_dd_trough"):
            text += f"  ({m['max_dd_peak']} → {m['max_dd_trough']})"
        if key == "worst_month" and m.get("worst_month_date"):
            text += f"  ({m['worst_month_date']})"
        table.add_row(label, text)
    table.add_row("period", f"{m.get('first_date')} → {m.get('last_date')} ({m.get('n_sessions')} sessions)")
    return table


SplitsOpt = typer.Option(None, "--splits", help="Sub-period table cut at these dates (YYYY-MM-DD,YYYY-MM-DD,…) "
                                                   "instead of since 2000 / since 2010 / last 5 y.")


BenchmarkOpt = typer.Option(None, "--benchmark", help="A symbol of the run's dataset (e.g. ES) or a CSV/Parquet file "
                            "date,return or date,close: beta, correlation, rolling 1-year correlation of the net returns.")


def _splits(text: Optional[str]) -> Optional[list[str]]:
    """`--splits 2000-01-01,2010-01-01` as ISO dates (None when not given)."""
    if text is None:
        return None
    import numpy as np

    out = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            out.append(str(np.datetime64(part, "D")))
        except ValueError:
            raise InputError(f"cannot parse date {part!r}", "--splits", "give dates as YYYY-MM-DD,YYYY-MM-DD") from None
    if not out:
        raise InputError("no dates given", "--splits", "give dates as YYYY-MM-DD,YYYY-MM-DD")
    return out


def _with_tables(manifest: dict, path: Path, splits: Optional[list[str]]) -> dict:
    """The manifest, with the sub-period / trailing / drawdown tables recomputed from daily.parquet
    when `splits` are given or the run predates them (same functions, the run's periods per year)."""
    if splits is None and "sub_periods" in manifest:
        return manifest
    from macrostack.periods import tables_of_daily
    from macrostack.runs.artifacts import read_table

    daily = read_table(path / "daily.parquet").iloc[int(manifest.get("ready_index", 0)):]
    return {**manifest, **tables_of_daily(daily, manifest.get("periods_per_year"), splits)}


def _num(v, spec: str) -> str:
    """`format(v, spec)`, '—' when missing; a negative that rounds to zero prints without its sign."""
    if v is None or v != v:
        return "—"
    text = format(v, spec)
    return text[1:] if text.startswith("-") and not text.strip("-0.,%") else text


def _sub_period_table(rows: list[dict], ppy) -> Table:
    from rich import box

    table = Table(title=f"sub-periods (each compounds from its own start; annualised with {_num(ppy, '.1f')} sessions/yr; "
                        "cost and turnover per year)",
                  box=box.SIMPLE_HEAD, padding=0, show_edge=False,
                  caption="* partial decade: the run covers it only from / to the dates shown")
    for col in ("period", "from", "to", "CAGR", "vol", "Sharpe", "max DD", "cost", "turnover"):
        table.add_column(col, justify="left" if col in ("period", "from", "to") else "right", no_wrap=True)
    last_decade = max((i for i, r in enumerate(rows) if r["kind"] == "decade"), default=None)
    for i, r in enumerate(rows):
        table.add_row(r["period"] + ("*" if r["partial"] else ""), r["first"], r["last"], _num(r["cagr"], ".1%"),
                      _num(r["ann_vol"], ".1%"), _num(r["sharpe"], ".2f"), _num(r["max_drawdown"], ".1%"),
                      _num(r["cost_drag"], ".2%"), _num(r["turnover_per_year"], ".1f"),
                      end_section=r["kind"] == "full" or i == last_decade)
    return table


def _trailing_table(rows: list[dict]) -> Table:
    table = Table(title="trailing returns to the last session (annualised = compound per calendar year, horizons > 1 y)")
    for col in ("horizon", "from", "to", "return", "annualised"):
        table.add_column(col, justify="right" if col in ("return", "annualised") else "left")
    for r in rows:
        table.add_row(f"{r['years']} y", r["from"], r["to"], _num(r["return"], ".2%"),
                      _num(r["annualised"], ".2%") + ("" if r["years"] > 1 else " (1 y)"))
    return table


def _drawdown_table(rows: list[dict]) -> Table:
    table = Table(title=f"worst {len(rows)} drawdowns (duration: sessions from peak to recovery, or to the last session)")
    for col in ("#", "depth", "peak", "trough", "recovery", "duration"):
        table.add_column(col, justify="right" if col in ("#", "depth", "duration") else "left")
    for i, r in enumerate(rows, 1):
        table.add_row(str(i), _num(r["depth"], ".2%"), r["peak"] or "start", r["trough"],
                      r["recovery"] or "not recovered", f"{r['duration']:,}")
    return table


def _risk_forecast_table(rf: dict) -> Table:
    lags = f", {rf['newey_west_lags']} lags" if "newey_west_lags" in rf else ""
    table = Table(title=f"risk forecast check: realised vs ex-ante vol of the executed book ({rf['estimator']} "
                        f"estimator{lags}; non-overlapping blocks, annualised with 252 like risk targeting)")
    for col in ("horizon", "blocks", "realised vol", "ex-ante vol", "realised / ex-ante", "bias (std of z)"):
        table.add_column(col, justify="left" if col == "horizon" else "right")
    for name, r in sorted(rf["horizons"].items(), key=lambda kv: kv[1]["sessions"]):  # the manifest sorts keys
        table.add_row(f"{name} ({r['sessions']} sessions)", f"{r['blocks']:,}", _num(r["realised_vol"], ".2%"),
                      _num(r["ex_ante_vol"], ".2%"), _num(r["ratio"], ".2f") + "×", _num(r["bias"], ".2f"))
    return table


def _data_quality_lines(dq: dict) -> list[str]:
    """The run summary's data-quality evidence: P&L share on flagged data, flagged decades, exclusions."""
    f = dq["flagged_pnl"]
    flagged = [s for s, r in dq["instruments"].items() if r.get("flags")]
    decades = [r["decade"] for r in dq.get("decades", []) if r["flagged"]]
    lines = [f"data quality: {_num(f['share'], '.1%')} of gross P&L earned on flagged instrument-sessions "
             f"({_num(f['abs_share'], '.1%')} of |P&L|, {_num(f['exposure_share'], '.1%')} of gross exposure; "
             f"{len(flagged)} of {len(dq['instruments'])} instruments flagged: smoothed decades, stale runs, "
             "pre-listing, level returns)"
             + (f"; smoothed decades of the universe: {', '.join(decades)}" if decades else "")]
    if dq.get("excluded"):
        lines.append(f"[yellow]excluded[/]: {', '.join(dq['excluded'])} — level-based returns "
                     "(set data.allow_level_returns: true to include)")
    return lines


def _benchmark_line(b: dict) -> str:
    rc = b.get("rolling_corr") or {}
    roll = (f"; rolling {b['rolling_window']}-session correlation last {_num(rc.get('last'), '.2f')}, "
            f"range {_num(rc.get('min'), '.2f')} … {_num(rc.get('max'), '.2f')}") if rc else ""
    return (f"benchmark {b['name']} ({b['first']} → {b['last']}, {b['n_sessions']:,} sessions): beta "
            f"{_num(b['beta'], '.2f')}, correlation {_num(b['correlation'], '.2f')}, alpha {_num(b['alpha'], '.2%')}/yr{roll}; "
            f"benchmark {_num(b['benchmark_ann_return'], '.2%')}/yr at {_num(b['benchmark_ann_vol'], '.2%')} vol")


def _risk_views_table(rv: dict) -> Table:
    """The latest rebalance's Euler risk contributions and exposure by asset class and by sleeve."""
    latest = rv.get("latest") or {}
    avg = rv.get("average") or {}
    table = Table(title=f"ex-ante risk at {latest.get('date')} (Euler contributions, {rv['estimator']} "
                        f"{rv['lookback']} sessions; book {_num(latest.get('ex_ante_vol'), '.2%')}; avg = ready-period mean share)")
    for col in ("group", "risk", "share", "avg share", "gross", "net"):
        table.add_column(col, justify="left" if col == "group" else "right")
    for grouping in ("asset_class", "sleeve"):
        rows = latest.get(grouping) or {}
        for i, (name, r) in enumerate(sorted(rows.items(), key=lambda kv: -abs(kv[1]["risk"]))):
            a = (avg.get(grouping) or {}).get(name, {})
            table.add_row(f"{grouping.replace('_', ' ')}: {name}" if i == 0 else f"  {name}", _num(r["risk"], ".2%"),
                          _num(r["share"], ".0%"), _num(a.get("risk_share"), ".0%"), _num(r["gross"], ".2f") + "×",
                          _num(r["net"], "+.2f") + "×", end_section=i == len(rows) - 1)
    return table


def _print_run(manifest: dict, audit: dict, path: Path) -> None:
    console.print(_metrics_table(manifest["metrics"], f"run {manifest['run_id']}"))
    if manifest.get("risk_forecast"):
        console.print(_risk_forecast_table(manifest["risk_forecast"]))
    if (manifest.get("risk_views") or {}).get("latest"):
        console.print(_risk_views_table(manifest["risk_views"]))
    if manifest.get("benchmark"):
        console.print(_benchmark_line(manifest["benchmark"]), highlight=False)
    for line in _data_quality_lines(manifest["data_quality"]) if manifest.get("data_quality") else []:
        console.print(line, highlight=False)
    console.print(_sub_period_table(manifest["sub_periods"], manifest.get("periods_per_year")))
    if manifest["trailing"]:
        console.print(_trailing_table(manifest["trailing"]))
    if manifest["drawdowns"]:
        console.print(_drawdown_table(manifest["drawdowns"]))
    st = Table(title="stage statuses")
    st.add_column("stage")
    st.add_column("status")
    for k, v in manifest["stage_statuses"].items():
        st.add_row(k, v)
    console.print(st)
    attribution = manifest.get("attribution")
    if attribution and attribution.get("sleeves"):
        at = Table(title="sleeves (exact attribution of net P&L; residual = caps, buffer)")
        for col in ("sleeve", "contribution / yr", "cost / yr", "vol", "Sharpe"):
            at.add_column(col, justify="left" if col == "sleeve" else "right")
        for name, row in attribution["sleeves"].items():
            sharpe = row["sharpe"]
            at.add_row(name, f"{row['contribution']:.2%}", f"{row['cost']:.2%}", f"{row['vol']:.2%}",
                       "—" if sharpe is None or sharpe != sharpe else f"{sharpe:.2f}")
        console.print(at)
    for name, why in (manifest.get("inert_sleeves") or {}).items():
        console.print(f"[yellow]INERT[/] sleeve {name}: {why}", highlight=False)
    colour = "green" if audit["verdict"] == "PASS" else "red"
    console.print(f"audit: [bold {colour}]{audit['verdict']}[/]" +
                  (f" — failed: {'; '.join(audit['failed'])}" if audit["failed"] else "")
                  + f"   ready from {manifest['ready_date']}, {manifest['n_rebalances']} rebalances")
    console.print(f"run directory: {path}")
    if (path / "report.html").exists():
        console.print(f"report: {path / 'report.html'}")


@app.command("run")
@handles_input_errors
def run_cmd(
    config: str = typer.Argument("core", help="A bundled profile (core, trend_only, …) or a YAML file."),
    start: Optional[str] = typer.Option(None, "--start", help="First session that counts (YYYY-MM-DD)."),
    end: Optional[str] = typer.Option(None, "--end", help="Last session (YYYY-MM-DD)."),
    run_id: Optional[str] = typer.Option(None, "--run-id", help="Run id (default: profile + content hash)."),
    out: Optional[Path] = OutOpt,
    store: Optional[Path] = StoreOpt,
    no_report: bool = typer.Option(False, "--no-report", help="Skip report.html (faster sweeps)."),
    as_json: bool = JsonOpt,
    quiet: bool = QuietOpt,
    force: bool = typer.Option(False, "--force", help="Replace an existing run of the same id (atomically)."),
    splits: Optional[str] = SplitsOpt,
    benchmark: Optional[str] = BenchmarkOpt,
) -> None:
    """Run a stack over real data: ingest the default dataset if needed, simulate, audit, write artifacts and report."""
    import gc

    from macrostack.runner import run_stack

    # The ~0.5 M objects of the imported libraries never become garbage: out of the collector's
    # way, its full collections scan only what the run makes (~0.06 s of a run; this process ends
    # with the run, so nothing else is affected).
    gc.freeze()

    live = not (quiet or as_json) and sys.stderr.isatty()
    if live:
        from macrostack.kernels import kernels_cold
        if kernels_cold():
            err_console.print("compiling kernels with numba (~10 s, then cached): they were not compiled at install "
                              "or were edited since; reinstall (pip install -e .) to compile them ahead of time …",
                              highlight=False)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err_console,
                  transient=True, disable=not live) as bar:
        task = bar.add_task(f"run {config}")
        result = run_stack(config, start=start, end=end, run_id=run_id, out=out, store=store, report=not no_report,
                           force=force, splits=_splits(splits), benchmark=benchmark, on_stage=lambda text: bar.update(task, description=f"run {config}: {text}"))
    if not result.catalogued:
        err_console.print(f"[yellow]note:[/] the run catalog in {result.path.parent} was busy; `macrostack runs` "
                          "lists the run all the same", highlight=False)
    if as_json:
        _print_json(_run_summary(result.manifest, result.audit, result.path))
    elif quiet:
        typer.echo(str(result.path))
    else:
        _print_run(result.manifest, result.audit, result.path)
        console.print("time: " + " · ".join(f"{k} {v:.2f} s" for k, v in result.timings.items() if v >= 0.005),
                      highlight=False, markup=False)
    if result.audit["verdict"] != "PASS":
        raise typer.Exit(code=1)


@app.command("runs")
@handles_input_errors
def runs_cmd(out: Optional[Path] = OutOpt, as_json: bool = JsonOpt) -> None:
    """List every complete run in the output folder (the catalog, repaired from the run folders)."""
    from macrostack.runs.address import runs_dir
    from macrostack.runs.catalog import list_runs, run_folders

    out = runs_dir(out)
    runs = list_runs(out)
    damaged = sorted(set(run_folders(out)) - set(runs["run_id"]))
    if damaged:
        err_console.print(f"note: {len(damaged)} folder(s) with a damaged manifest.json are not listed: "
                          f"{', '.join(damaged[:5])} — `macrostack show ID` says what is wrong", highlight=False,
                          markup=False)
    if as_json:
        _print_json(runs.astype(object).where(runs.notna(), None).to_dict(orient="records"))
        return
    if runs.empty:
        console.print(f"no runs in {out} yet: make one with `macrostack run`, or pass --out (or set MACROSTACK_RUNS)",
                      highlight=False, markup=False)
        return
    table = Table(title=f"runs in {out}")
    for col in ("run id", "created (UTC)", "profile", "dataset", "period", "CAGR", "vol", "Sharpe", "max DD", "audit"):
        table.add_column(col)
    fmt = lambda v, spec: "—" if v is None or v != v else format(v, spec)  # noqa: E731
    for r in runs.itertuples():
        table.add_row(r.run_id, str(r.created_at)[:19], r.profile, r.dataset, f"{_day(r.first_date)} → {_day(r.last_date)}",
                      fmt(r.cagr, ".2%"), fmt(r.ann_vol, ".2%"), fmt(r.sharpe, ".2f"), fmt(r.max_drawdown, ".2%"), r.audit)
    console.print(table)


@app.command("show")
@handles_input_errors
def show_cmd(run: str, out: Optional[Path] = OutOpt, as_json: bool = JsonOpt, splits: Optional[str] = SplitsOpt,
             benchmark: Optional[str] = BenchmarkOpt, store: Optional[Path] = StoreOpt) -> None:
    """Summarise one run: metrics, sub-periods, trailing returns, worst drawdowns, stage statuses, audit verdict."""
    from macrostack.runs.address import resolve_run
    from macrostack.runs.artifacts import read_run

    path = resolve_run(out, run)
    manifest, audit = read_run(path)
    manifest = _with_tables(manifest, path, _splits(splits))
    if benchmark:
        from macrostack.benchmark import benchmark_of_run
        manifest = {**manifest, "benchmark": benchmark_of_run(path, manifest, benchmark, store)[0]}
    if as_json:
        _print_json(_run_summary(manifest, audit, path))
        return
    _print_run(manifest, audit, path)


@app.command("audit")
@handles_input_errors
def audit_cmd(run: str, out: Optional[Path] = OutOpt, as_json: bool = JsonOpt) -> None:
    """Re-check a run's weight lifecycle from its artifacts alone; exit 1 if a check fails."""
    from macrostack.audit import audit_run
    from macrostack.runs.address import resolve_run
    from macrostack.runs.artifacts import read_run

    path = resolve_run(out, run)
    manifest, _ = read_run(path)
    result = audit_run(path, manifest, write=False)
    if as_json:
        _print_json(result)
        if result["verdict"] != "PASS":
            raise typer.Exit(code=1)
        return
    table = Table(title=f"audit of {manifest['run_id']} (re-derived from {path})")
    for col in ("#", "check", "result", "max error", "where"):
        table.add_column(col)
    for c in result["checks"]:
        table.add_row(str(c["check"]), c["name"], "[green]PASS[/]" if c["passed"] else "[red]FAIL[/]",
                      f"{c['max_error']:.1e}", c["where"])
    console.print(table)
    for q in result["questions"]:
        console.print(f"{q['question']} [bold]{q['verdict']}[/]")
    console.print(f"verdict: [bold]{result['verdict']}[/]")
    if result["verdict"] != "PASS":
        raise typer.Exit(code=1)


@config_app.command("show")
@handles_input_errors
def config_show(name: str = typer.Argument("core", help="Profile name or YAML file.")) -> None:
    """Print a resolved config (every default filled in) as YAML commented with each key's meaning,
    then its hash as a comment: `config show core > mine.yaml`, edit, `run mine.yaml`."""
    from macrostack.config import load_config
    from macrostack.config_text import commented_yaml

    cfg = load_config(name)
    # typer.echo, not rich: the output must be exact YAML (`config show core > my.yaml` then
    # `run my.yaml`), and rich wraps long lines at the terminal width.
    typer.echo(commented_yaml(cfg), nl=False)
    typer.echo(f"# config hash: {cfg.config_hash()}")


@config_app.command("list")
@handles_input_errors
def config_list() -> None:
    """List the bundled profiles."""
    from macrostack.config import bundled_profiles, load_config

    names = bundled_profiles()
    width = max(map(len, names))
    for name in names:
        typer.echo(f"{name:<{width}}  {load_config(name).description}")


# ---------------------------------------------------------------------------- sweeps
def _sweep_progress(enabled: bool):
    """A rich progress bar for sweep points: done/total, failed, rate and ETA (stderr, terminal only)."""
    from rich.progress import MofNCompleteColumn, ProgressColumn, TimeRemainingColumn
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task):
            return Text(f"{task.speed:.1f} points/s" if task.speed else "… points/s")

    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), Rate(),
                    TimeRemainingColumn(), console=err_console, transient=True, disable=not enabled)


def _points_table(frame, varied: list[str], title: str, limit: int = 10) -> Table:
    import json

    table = Table(title=title)
    for col in ("#", *varied, "Sharpe", "CAGR", "vol", "max DD", "status"):
        table.add_column(col, justify="left" if col in ("status",) else "right")
    fmt = lambda v, spec: "—" if v is None or v != v else format(v, spec)  # noqa: E731
    for r in frame.head(limit).itertuples():
        vals = json.loads(r.values)
        table.add_row(str(r.point), *(str(vals.get(k)) for k in varied), fmt(r.sharpe, ".2f"), fmt(r.cagr, ".2%"),
                      fmt(r.ann_vol, ".2%"), fmt(r.max_drawdown, ".2%"), r.status if r.status == "ok" else r.error[:60])
    return table


def _find_sweep(out, ref: str) -> Path:
    from macrostack.research.results import SWEEPS_DIR
    from macrostack.runs.address import runs_dir

    root = runs_dir(out) / SWEEPS_DIR
    names = sorted(p.name for p in root.iterdir() if (p / "sweep.json").is_file()) if root.is_dir() else []
    exact = [n for n in names if n == ref] or [n for n in names if n.startswith(ref)]
    if len(exact) != 1:
        what = "matches several sweeps: " + ", ".join(exact[:8]) if exact else f"no sweep {ref!r} in {root}"
        raise InputError(what, "sweep show", "see `macrostack sweeps`")
    return root / exact[0]


def _sweep_show(ref: Optional[str], out, as_json: bool, walk: dict | None = None) -> None:
    from macrostack.research.results import read_points, read_sweep_file

    if not ref:
        raise InputError("`sweep show` needs a sweep id (or a unique prefix)", "sweep show", "see `macrostack sweeps`")
    folder = _find_sweep(out, ref)
    meta, points = read_sweep_file(folder), read_points(folder)
    ok = points[points["status"] == "ok"].sort_values("sharpe", ascending=False)
    summary = {"sweep_id": meta["sweep_id"], "folder": str(folder), "points": len(meta["points"]), "finished": len(ok),
               "failed": int((points["status"] == "failed").sum()), "varied": meta["varied"],
               "best": ok.head(10).to_dict(orient="records")}
    analysis = _analyse(folder, walk) if len(ok) else None
    if analysis:
        summary |= {k: analysis[k] for k in ("html",)}
        if analysis["robustness"]:
            summary["robustness"] = {"dsr": analysis["robustness"]["dsr"], "pbo": analysis["robustness"]["pbo"],
                                     "evidence": analysis["robustness"]["evidence"]}
        if analysis["walkforward"]:
            wf = analysis["walkforward"]
            summary["walkforward"] = {"is_sharpe": wf["is_sharpe"], "oos_sharpe": wf["oos_sharpe"], "gap": wf["gap"],
                                      "selections": wf["selections"].astype(str).to_dict(orient="records")}
    if as_json:
        _print_json(summary)
        return
    console.print(f"sweep {meta['sweep_id']}: {len(meta['points'])} points, {len(ok)} finished, "
                  f"{summary['failed']} failed — {folder}", highlight=False, markup=False)
    console.print(_points_table(ok, meta["varied"], "best points by Sharpe"))
    bad = points[points["status"] != "ok"]
    if len(bad):
        console.print(_points_table(bad, meta["varied"], "failed points"))
    if analysis and analysis["robustness"]:
        table = Table(title="how much of the best result is luck")
        table.add_column("quantity")
        table.add_column("value", justify="right")
        for k, v in analysis["robustness"]["evidence"].items():
            table.add_row(k, v)
        console.print(table)
    if analysis and analysis["walkforward"]:
        wf = analysis["walkforward"]
        table = Table(title="walk-forward selections")
        for col in ("boundary", "chosen", "in-sample", "out-of-sample"):
            table.add_column(col, justify="left" if col in ("boundary", "chosen") else "right")
        for r in wf["selections"].itertuples():
            table.add_row(str(pd_date(r.boundary)), str(r.chosen), f"{r.is_metric:.2f}", f"{r.oos_metric:.2f}")
        console.print(table)
        console.print(f"walk-forward Sharpe: in-sample {wf['is_sharpe']:.2f}, out-of-sample {wf['oos_sharpe']:.2f} "
                      f"(gap {wf['gap']:.2f})", highlight=False)
    if analysis:
        console.print(f"sweep report: {analysis['html']}", highlight=False, markup=False)


def pd_date(value) -> str:
    return str(value)[:10]


def _analyse(folder: Path, walk: dict | None):
    from macrostack.research.analyse import analyse
    return analyse(folder, walk)


@app.command("sweep")
@handles_input_errors
def sweep_cmd(
    spec: str = typer.Argument(..., metavar="SWEEP.yaml|show", help="A sweep file, or `show` to summarise a sweep."),
    ref: Optional[str] = typer.Argument(None, metavar="[ID]", help="With `show`: a sweep id or unique prefix."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate every point, print the count and the first points."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Address of an existing Dask scheduler."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, max=256,
                                         help="Embedded cluster size (default: cores)."),
    chunk_size: Optional[int] = typer.Option(None, "--chunk-size", min=1, help="Points per task (default: automatic)."),
    out: Optional[Path] = OutOpt,
    store: Optional[Path] = StoreOpt,
    as_json: bool = JsonOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Sweep a stack over a grid or a random search on Dask; results stream to OUT/sweeps/<id>/ and resume."""
    if spec == "show":
        _sweep_show(ref, out, as_json)
        return
    if ref is not None:
        raise InputError(f"unexpected argument {ref!r}", "sweep", "macrostack sweep SWEEP.yaml (or sweep show ID)")
    from macrostack.research.spec import load_sweep

    sweep = load_sweep(spec)
    if dry_run:
        if as_json:
            _print_json({"sweep_id": sweep.sweep_id, "points": len(sweep.points), "duplicates": sweep.dropped_duplicates,
                         "first": [p.values for p in sweep.points[:10]]})
            return
        console.print(f"sweep {sweep.sweep_id}: {len(sweep.points)} valid points"
                      + (f" ({sweep.dropped_duplicates} duplicates dropped)" if sweep.dropped_duplicates else ""),
                      highlight=False, markup=False)
        table = Table(title="first points")
        for col in ("#", *sweep.varied):
            table.add_column(col)
        for p in sweep.points[:10]:
            table.add_row(str(p.index), *(str(p.values[k]) for k in sweep.varied))
        console.print(table)
        return
    from macrostack.research.sweep import run_sweep

    live = not (quiet or as_json) and sys.stderr.isatty()
    with _sweep_progress(live) as bar:
        task = bar.add_task(f"sweep {sweep.sweep_id}", total=len(sweep.points))
        failed = [0]

        def started(to_run: int, skipped: int) -> None:
            bar.update(task, total=to_run, description=f"sweep {sweep.sweep_id}"
                       + (f" (resumed: {skipped} done before)" if skipped else ""))

        def advance(done: int, bad: int) -> None:
            failed[0] += bad
            bar.update(task, advance=done, description=f"sweep {sweep.sweep_id}"
                       + (f" ({failed[0]} failed)" if failed[0] else ""))
        result = run_sweep(sweep, out=out, store=store, scheduler=scheduler, workers=workers, chunk_size=chunk_size,
                           on_progress=advance, on_start=started)
    if as_json:
        _print_json(result)
    elif quiet:
        typer.echo(result["folder"])
    else:
        console.print(f"sweep {result['sweep_id']}: {result['ran']} points run, {result['skipped']} already done, "
                      f"{result['failed']} failed — {result['folder']}", highlight=False, markup=False)
        _sweep_show(result["sweep_id"], out, False)


@app.command("walkforward")
@handles_input_errors
def walkforward_cmd(
    spec: Path = typer.Argument(..., metavar="SWEEP.yaml", help="A sweep file (run or resumed first)."),
    train: str = typer.Option("10y", "--train", help="Training window: 10y, 18m, 26w, 90d."),
    test: str = typer.Option("2y", "--test", help="Out-of-sample window held after each choice."),
    step: Optional[str] = typer.Option(None, "--step", help="Between boundaries (default: --test)."),
    anchored: bool = typer.Option(False, "--anchored", help="Train on everything up to each boundary."),
    select: str = typer.Option("sharpe", "--select", help="sharpe | sortino | calmar | cagr | ann_return"),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, max=256,
                                         help="Embedded cluster size (default: cores)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Address of an existing Dask scheduler."),
    out: Optional[Path] = OutOpt,
    store: Optional[Path] = StoreOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Walk forward over a sweep: at each boundary pick the best point on past returns only, hold it, stitch."""
    from macrostack.research.spec import load_sweep
    from macrostack.research.sweep import run_sweep
    from macrostack.research.walkforward import SELECTORS, parse_period

    for value, where in ((train, "--train"), (test, "--test"), (step, "--step")):
        if value is not None:
            parse_period(value, where)
    if select not in SELECTORS:
        raise InputError(f"unknown --select {select!r}", "walkforward", f"use one of {', '.join(SELECTORS)}")
    sweep = load_sweep(spec)
    live = not as_json and sys.stderr.isatty()
    with _sweep_progress(live) as bar:
        task = bar.add_task(f"sweep {sweep.sweep_id}", total=len(sweep.points))
        run_sweep(sweep, out=out, store=store, scheduler=scheduler, workers=workers,
                  on_start=lambda n, skipped: bar.update(task, total=n),
                  on_progress=lambda n, bad: bar.update(task, advance=n))
    _sweep_show(sweep.sweep_id, out, as_json,
                walk={"train": train, "test": test, "step": step, "anchored": anchored, "select": select})


@app.command("sweeps")
@handles_input_errors
def sweeps_cmd(out: Optional[Path] = OutOpt, as_json: bool = JsonOpt) -> None:
    """List the sweeps in the output folder."""
    from macrostack.research.results import list_sweeps
    from macrostack.runs.address import runs_dir

    rows = list_sweeps(runs_dir(out))
    if as_json:
        _print_json(rows)
        return
    if not rows:
        console.print(f"no sweeps in {runs_dir(out)} yet: `macrostack sweep SWEEP.yaml`", highlight=False, markup=False)
        return
    table = Table(title=f"sweeps in {runs_dir(out)}")
    for col in ("sweep id", "points", "finished", "failed", "best Sharpe", "varied"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["sweep_id"], str(r["points"]), str(r["finished"]), str(r["failed"]),
                      "—" if r["best_sharpe"] is None else f"{r['best_sharpe']:.2f}", ", ".join(r["varied"]))
    console.print(table)


@app.command("sanity")
@handles_input_errors
def sanity_cmd(
    sleeve: str = typer.Argument(..., help="A sleeve of the profile (e.g. trend)."),
    profile: str = typer.Option("core", "--profile", help="Profile or YAML file defining the sleeve."),
    start: Optional[str] = typer.Option(None, "--start"),
    end: Optional[str] = typer.Option(None, "--end"),
    store: Optional[Path] = StoreOpt,
    min_sharpe: float = typer.Option(0.2, "--min-sharpe", help="PASS when the net Sharpe is at least this.",
                                     min=-10.0, max=10.0),
    as_json: bool = JsonOpt,
) -> None:
    """Promotion gate: sign-only, equal-weight, daily check of one sleeve; PASS/FAIL on its net Sharpe (exit 1 on FAIL)."""
    from macrostack.config import load_config
    from macrostack.runner import load_run_data, with_dates
    from macrostack.sanity import sanity_check

    cfg = with_dates(load_config(profile), start, end)
    md = load_run_data(cfg, store)
    res = sanity_check(cfg, sleeve, md)
    passed = res["sharpe_net"] == res["sharpe_net"] and res["sharpe_net"] >= min_sharpe
    if as_json:
        _print_json({**res, "dataset": md.dataset, "min_sharpe": min_sharpe, "gate": "PASS" if passed else "FAIL"})
        if not passed:
            raise typer.Exit(code=1)
        return
    table = Table(title=f"sanity: sleeve {sleeve} ({res['engine']}) on {md.dataset}, sign-only equal-weight daily")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("Sharpe (gross)", f"{res['sharpe_gross']:.2f}")
    table.add_row("Sharpe (net of costs)", f"{res['sharpe_net']:.2f}")
    table.add_row("annual return (net)", f"{res['ann_return_net']:.2%}")
    table.add_row("annual vol", f"{res['ann_vol']:.2%}")
    table.add_row("turnover / year", f"{res['turnover_per_year']:.1f}")
    table.add_row("period", f"{res['first_date']} → {res['last_date']}")
    console.print(table)
    console.print(f"gate: [bold {'green' if passed else 'red'}]{'PASS' if passed else 'FAIL'}[/] "
                  f"(net Sharpe {res['sharpe_net']:.2f} {'>=' if passed else '<'} {min_sharpe:.2f})", highlight=False)
    if not passed:
        raise typer.Exit(code=1)


@app.command("report")
@handles_input_errors
def report_cmd(
    run: str,
    out: Optional[Path] = OutOpt,
    html: Optional[Path] = typer.Option(None, "--html", help="Output file (default: RUN/report.html)."),
    start: Optional[str] = typer.Option(None, "--start", help="Report only the sessions from this date (every tile, table and chart)."),
    end: Optional[str] = typer.Option(None, "--end", help="Report only the sessions to this date."),
    splits: Optional[str] = SplitsOpt,
    benchmark: Optional[str] = BenchmarkOpt,
    store: Optional[Path] = StoreOpt,
    embed: bool = typer.Option(False, "--embed", help="Embed Plotly JS (+4.8 MB): one file to send. Default: the "
                                                      "output folder's shared .assets/plotly-*.min.js."),
    force: bool = typer.Option(False, "--force", help="Replace an existing --html file."),
) -> None:
    """Write the HTML report of a run (works offline; --embed for a file to share)."""
    from macrostack.report import write_report
    from macrostack.runs.address import resolve_run

    _check_html_target(html, force)
    run_dir = resolve_run(out, run)
    bench = None
    if benchmark:
        from macrostack.benchmark import benchmark_of_run
        from macrostack.runs.artifacts import read_run
        bench = benchmark_of_run(run_dir, read_run(run_dir)[0], benchmark, store)
    bar, advance = progress_bar(1, "report")
    with bar:
        path = write_report(run_dir, html, start, end, splits=_splits(splits), benchmark=bench, embed=embed)
        advance(1, "done")
    console.print(f"report: {path}")


def _check_html_target(html: Optional[Path], force: bool) -> None:
    """An explicit --html path: a file, never a folder, and an existing one only with --force."""
    if html is not None and html.is_dir():
        raise InputError("is a folder", str(html), "give --html a file name, e.g. page.html")
    if html is not None and html.exists() and not force:
        raise InputError("exists and would be replaced", str(html), "pass --force to replace it, or another --html")


@app.command("compare")
@handles_input_errors
def compare_cmd(
    base: str = typer.Argument(..., help="Baseline run (e.g. allocator off)."),
    other: str = typer.Argument(..., help="Other run (e.g. allocator on)."),
    out: Optional[Path] = OutOpt,
    html: Optional[Path] = typer.Option(None, "--html",
                                        help="Output HTML file (default: OUT/compare-BASE-vs-OTHER.html)."),
    as_json: bool = JsonOpt,
    force: bool = typer.Option(False, "--force", help="Replace an existing --html file."),
    embed: bool = typer.Option(False, "--embed", help="Embed Plotly JS in the HTML (one file to send)."),
) -> None:
    """Two-pass audit: headline deltas, equity ratio (raw and vol-matched), worst periods, de-risking events,
    regimes and each run's performance per regime."""
    from macrostack.compare import HEADLINE, compare_runs
    from macrostack.runs.address import resolve_run

    if as_json and html is not None:
        raise InputError("--json prints the comparison and writes no HTML", "compare --html", "drop one of them")
    _check_html_target(html, force)
    base_dir, other_dir = resolve_run(out, base), resolve_run(out, other)
    if html is None and not as_json:
        from macrostack.runs.address import runs_dir
        html = runs_dir(out) / f"compare-{base_dir.name}-vs-{other_dir.name}.html"
    result = compare_runs(base_dir, other_dir, html, embed=embed)
    if as_json:
        _print_json(result)
        return
    table = Table(title=f"compare: {result['base']['run_id'] if isinstance(result.get('base'), dict) else base} → "
                        f"{result['other']['run_id'] if isinstance(result.get('other'), dict) else other}")
    for col in ("metric", "base", "other", "delta"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    formats = {"pct": "{:.2%}", "ratio": "{:.2f}", "mult": "{:.1f}×"}
    # signs from the rounded value: a delta that prints as 0 has none (never -0.00)
    signed = lambda v, d: f"{v:+.{d}f}" if round(v, d) != 0 else f"{0.0:.{d}f}"  # noqa: E731
    deltas = {"pct": lambda v: f"{signed(v * 100, 2)} pp", "ratio": lambda v: signed(v, 2), "mult": lambda v: f"{signed(v, 1)}×"}
    for key, label, kind, _ in HEADLINE:
        row = result["metrics"][key]
        table.add_row(label, *("—" if v is None else formats[kind].format(v) for v in (row["base"], row["other"])),
                      "—" if row["delta"] is None else deltas[kind](row["delta"]))
    console.print(table)
    if result.get("html"):
        console.print(f"compare report: {result['html']}")


def main() -> None:
    """The `macrostack` command. Once the command is over (done, failed or interrupted), SIGINT and
    SIGTERM are ignored: the interpreter's teardown has nothing left to interrupt, and a signal there
    used to kill the process silently (exit −2) after a run had already been published."""
    import signal

    try:
        app(prog_name="macrostack")
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


if __name__ == "__main__":
    main()
