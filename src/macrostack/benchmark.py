"""Benchmark views: how much of the run is the benchmark (beta, correlation, rolling correlation)?

A benchmark is a symbol of the run's dataset (its daily USD returns from the market store,
whether or not the run's universe trades it) or a CSV/Parquet file `date,return` (simple
returns as fractions) or `date,close` (a price level > 0; returns `close[d]/close[d−1] − 1`).

Alignment on the run's sessions s_0 < s_1 < …: session d gets the benchmark return compounded
over the benchmark's dates in (s_{d−1}, s_d], `Π(1 + b) − 1`; a session with no benchmark date
inside the benchmark's coverage is no return (0), never a value filled backwards. Sessions
before the benchmark's first return or after its last date are NaN (not covered) and are left
out of every statistic. It must not touch the run's P&L: it only reads the net series.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from macrostack.data.dataset import check_price_steps, check_return_units
from macrostack.errors import InputError
from macrostack.userfiles import check_readable

FILE_SUFFIXES = (".csv", ".txt", ".parquet", ".pq")
MIN_OVERLAP = 20  # sessions: fewer cannot give a meaningful beta or correlation


@dataclass(frozen=True)
class BenchmarkSeries:
    name: str            # the symbol, or the file's name
    source: str          # "store:<dataset>" or the file path
    dates: np.ndarray    # datetime64[D], increasing: the benchmark's own dates
    returns: np.ndarray  # simple returns on those dates (NaN inside = no return)


def is_file_spec(spec: str) -> bool:
    """A `--benchmark` value names a file when it has a file suffix, a path separator, or exists."""
    return Path(spec).suffix.lower() in FILE_SUFFIXES or "/" in spec or Path(spec).exists()


def read_benchmark_file(path: str | Path) -> BenchmarkSeries:
    """A benchmark file: columns `date` and exactly one of `return`, `close` (names ignore case and spaces).

    Dates ISO (YYYY-MM-DD), unique, increasing. `return`: fractions (empty = no return that day);
    `close`: finite and > 0, returns `close[d]/close[d−1] − 1`. Units are checked like ingest
    (`dataset.check_return_units`, `check_price_steps`). Any problem: InputError naming the file and row.
    """
    path = check_readable(Path(path), "benchmark file", fix="pass an existing CSV/Parquet file, or a symbol of the run's dataset")
    where = str(path)
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        elif path.suffix.lower() in (".csv", ".txt"):
            frame = pd.read_csv(path)
        else:
            raise InputError(f"unknown file type {path.suffix!r}", where, "use .csv or .parquet")
    except InputError:
        raise
    except Exception as exc:  # any parser error: the file is broken
        raise InputError(f"cannot read benchmark file ({type(exc).__name__}: {exc})".splitlines()[0], where,
                         "check it is a valid CSV/Parquet file") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    cols = list(frame.columns)
    if len(set(cols)) != len(cols):
        raise InputError("a column appears twice (names ignore case)", where, "keep one of each")
    values = [c for c in ("return", "close") if c in cols]
    unknown = [c for c in cols if c not in ("date", "return", "close")]
    if "date" not in cols or len(values) != 1 or unknown:
        raise InputError(f"columns {cols}: need `date` and exactly one of `return`, `close`", where,
                         "give date,return (simple returns as fractions) or date,close (a price level)")
    if not len(frame):
        raise InputError("no rows", where, "add one row per date")
    dates = pd.to_datetime(frame["date"].astype("string"), errors="coerce", format="ISO8601")
    if dates.isna().any():
        i = int(np.flatnonzero(dates.isna())[0])
        raise InputError(f"row {i + 2}, column 'date': cannot parse {frame['date'].iloc[i]!r}", where, "use YYYY-MM-DD dates")
    if getattr(dates.dt, "tz", None) is not None or (dates != dates.dt.normalize()).any():
        raise InputError("dates carry a time zone or a time of day", where, "use plain YYYY-MM-DD dates")
    step = dates.diff() <= pd.Timedelta(0)
    if step.any():
        i = int(np.flatnonzero(step)[0])
        what = "duplicate date" if dates.iloc[i] == dates.iloc[i - 1] else "date is not after the previous one"
        raise InputError(f"row {i + 2}: {what} ({dates.iloc[i].date()})", where, "one row per date, sorted by date")
    kind = values[0]
    raw = frame[kind]
    x = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(x) & (raw.notna().to_numpy() if kind == "return" else True)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"row {i + 2}, column {kind!r}: value {raw.iloc[i]!r} is not a finite number", where,
                         "fix or drop the row" + (" (an empty return is no return)" if kind == "return" else ""))
    days = dates.to_numpy().astype("datetime64[D]")
    row = lambda i: f"{where}, row {i + 2}"  # noqa: E731  the header is row 1
    if kind == "close":
        if (x <= 0).any():
            i = int(np.flatnonzero(x <= 0)[0])
            raise InputError(f"row {i + 2}: close {x[i]:g} <= 0", where, "give a price level > 0, or a `return` column")
        check_price_steps(x, days, path.name, "close", row)
        ret = np.concatenate([[np.nan], x[1:] / x[:-1] - 1.0])
    else:
        ret = x
    check_return_units(ret, days, path.name, row)
    return BenchmarkSeries(path.name, where, days, ret)


def store_benchmark(store, dataset: str, symbol: str) -> BenchmarkSeries:
    """A symbol's daily USD returns from an open `MarketStore` (its `ret` column)."""
    known = list(store.instruments(dataset)["symbol"])
    if symbol not in known:
        close = [s for s in known if s.upper() == symbol.upper()]
        raise InputError(f"{symbol!r} is not a symbol of dataset {dataset!r} nor a file", "--benchmark",
                         f"use {close[0]!r}" if close else "pass a symbol from `macrostack data list`, or a CSV/Parquet file date,return")
    bars = store.bars(dataset, [symbol], ["ret"])
    return BenchmarkSeries(symbol, f"store:{dataset}", bars["date"].to_numpy().astype("datetime64[D]"),
                           bars["ret"].to_numpy(dtype=float))


def load_benchmark(spec: str, dataset: str, store_path=None) -> BenchmarkSeries:
    """`--benchmark SPEC`: a file (`is_file_spec`) or a symbol of `dataset` in the store."""
    if is_file_spec(spec):
        return read_benchmark_file(spec)
    from macrostack.data.store import MarketStore
    with MarketStore(store_path, read_only=True) as st:
        st.require_dataset(dataset)
        return store_benchmark(st, dataset, spec)


def align(bench_dates: np.ndarray, bench_returns: np.ndarray, sessions: np.ndarray) -> np.ndarray:
    """The benchmark's return on each session [T] (module docstring): `Π_{D ∈ (s_{d−1}, s_d]} (1 + b_D) − 1`.

    Leading rows without a return (a close file's first row) are dropped; a missing return
    inside is 0. NaN on sessions before the first benchmark return's date or after the last
    benchmark date (not covered). The first session takes only benchmark dates equal to it.
    """
    d = np.asarray(bench_dates).astype("datetime64[D]")
    b = np.asarray(bench_returns, dtype=float)
    known = np.flatnonzero(np.isfinite(b))
    s = np.asarray(sessions).astype("datetime64[D]")
    out = np.full(len(s), np.nan)
    if not len(known) or not len(s):
        return out
    d, b = d[known[0]:], np.nan_to_num(b[known[0]:], nan=0.0)
    slot = np.searchsorted(s, d, side="left")  # the first session on or after each benchmark date
    inside = (slot < len(s)) & ((slot > 0) | (d == s[0]))
    growth = np.ones(len(s))
    np.multiply.at(growth, slot[inside], 1.0 + b[inside])
    covered = (s >= d[0]) & (s <= d[-1])
    out[covered] = growth[covered] - 1.0
    return out


def rolling_correlation(x: np.ndarray, y: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Causal rolling correlation and beta of x on y over `window` sessions [T] (NaN before the window
    is full, where it holds a NaN, or where a series is constant in it).

    `corr = cov(x, y) / (σ_x σ_y)`, `beta = cov(x, y) / σ_y²`, sample moments of the window.
    """
    n = len(x)
    corr, beta = np.full(n, np.nan), np.full(n, np.nan)
    if n < window or window < 2:
        return corr, beta
    wx = np.lib.stride_tricks.sliding_window_view(np.asarray(x, dtype=float), window)
    wy = np.lib.stride_tricks.sliding_window_view(np.asarray(y, dtype=float), window)
    xc = wx - wx.mean(axis=1, keepdims=True)
    yc = wy - wy.mean(axis=1, keepdims=True)
    sxy, sxx, syy = (xc * yc).sum(axis=1), (xc * xc).sum(axis=1), (yc * yc).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr[window - 1:] = np.where((sxx > 0) & (syy > 0), sxy / np.sqrt(sxx * syy), np.nan)
        beta[window - 1:] = np.where(syy > 0, sxy / syy, np.nan)
    return corr, beta


def benchmark_stats(net: np.ndarray, bench: np.ndarray, dates: np.ndarray, ppy: float, window: int) -> tuple[dict, dict]:
    """Beta, correlation and rolling correlation of the run's net returns with the benchmark.

    net, bench [T] on the same sessions (the run's ready period; bench NaN = not covered).
    Over the covered sessions: `beta = cov(p, b)/var(b)`, `correlation = cov/(σ_p σ_b)` (ddof 1),
    `alpha = (mean(p) − β mean(b)) · ppy` (arithmetic, per year), the benchmark's annualised
    return (`mean·ppy`), vol (`std·√ppy`) and Sharpe. Rolling: `window` sessions (one year =
    round(ppy)), windows inside the covered span only. Returns (summary dict, rolling series
    {"date", "benchmark", "rolling_corr", "rolling_beta"} [T]).
    """
    net, bench = np.asarray(net, dtype=float), np.asarray(bench, dtype=float)
    ok = np.isfinite(bench) & np.isfinite(net)
    corr_r, beta_r = rolling_correlation(net, bench, window)
    series = {"date": np.asarray(dates), "benchmark": bench, "rolling_corr": corr_r, "rolling_beta": beta_r}
    n = int(ok.sum())
    if n < MIN_OVERLAP:
        raise InputError(f"the benchmark covers {n} of the run's {len(net)} ready sessions", "--benchmark",
                         f"use a benchmark with at least {MIN_OVERLAP} sessions inside the run's period")
    p, b = net[ok], bench[ok]
    cov = float(np.cov(p, b, ddof=1)[0, 1])
    var_b, var_p = float(b.var(ddof=1)), float(p.var(ddof=1))
    nan = float("nan")
    beta = cov / var_b if var_b > 0 else nan
    corr = cov / math.sqrt(var_b * var_p) if var_b > 0 and var_p > 0 else nan
    days = np.asarray(dates)[ok]
    rc = corr_r[np.isfinite(corr_r)]
    summary = {
        "n_sessions": n, "first": str(pd.Timestamp(days[0]).date()), "last": str(pd.Timestamp(days[-1]).date()),
        "beta": beta, "correlation": corr, "alpha": (p.mean() - beta * b.mean()) * ppy if beta == beta else nan,
        "benchmark_ann_return": float(b.mean() * ppy), "benchmark_ann_vol": float(math.sqrt(var_b * ppy)),
        "benchmark_sharpe": float(b.mean() / math.sqrt(var_b) * math.sqrt(ppy)) if var_b > 0 else nan,
        "rolling_window": int(window),
        "rolling_corr": {"last": float(rc[-1]), "min": float(rc.min()), "median": float(np.median(rc)),
                         "max": float(rc.max())} if len(rc) else None,
    }
    return summary, series


def benchmark_view(spec: str, dataset: str, store_path, net: np.ndarray, dates: np.ndarray, ppy: float) -> tuple[dict, pd.DataFrame]:
    """The manifest's `benchmark` and the `layers/benchmark.parquet` table of a run's ready period."""
    series = load_benchmark(spec, dataset, store_path)
    bench = align(series.dates, series.returns, dates)
    summary, rolling = benchmark_stats(net, bench, dates, ppy, max(2, round(ppy)))
    summary = {"name": series.name, "source": series.source, **summary}
    table = pd.DataFrame({**rolling, "date": pd.to_datetime(np.asarray(dates))})
    return summary, table


def benchmark_of_run(run_dir: Path, manifest: dict, spec: str, store_path=None) -> tuple[dict, pd.DataFrame]:
    """`benchmark_view` of a finished run from its daily.parquet (ready period): `show`/`report --benchmark`."""
    from macrostack.runs.artifacts import read_table
    daily = read_table(Path(run_dir) / "daily.parquet").iloc[int(manifest.get("ready_index", 0)):]
    dates = pd.to_datetime(daily["date"]).to_numpy().astype("datetime64[D]")
    ppy = manifest.get("periods_per_year")
    if not ppy:
        from macrostack.metrics import periods_per_year
        ppy = periods_per_year(dates)
    return benchmark_view(spec, manifest["data"]["dataset"], store_path, daily["net"].to_numpy(dtype=float), dates, ppy)
