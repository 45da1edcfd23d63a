"""Generic long-format prices: one CSV or Parquet file with `date,symbol,close[,return]`.

`close` is the instrument's price level. When the file has no `return` column the daily
return is `close[d] / close[d-1] − 1` per symbol (so `close` must then be > 0: a
back-adjusted level that can cross zero needs an explicit `return` column). Returns are
taken to be in USD. An optional instruments file (CSV/Parquet, column `symbol` plus any of
`name, asset_class, currency, point_size, cost, listing_date`) adds metadata; `cost` (per unit of
notional traded) otherwise comes from the `cost` argument, recorded in the dataset's
parameters. `listing_date` (YYYY-MM-DD, may be empty) is the instrument's first exchange
listing: `data check` and runs flag history before it (`macrostack.data.quality`).

Column names are matched without case or surrounding spaces (`Close` is `close`); any other
column is an error, so a misspelt `returns` is never dropped silently. Values in the wrong
units are refused with their row (thresholds in `macrostack.data.dataset`): returns that
look like percent or move 1,000 % in a day, and, when returns come from `close`, a close
that changes ×10 or more in one session. `close` next to a `return` column may be
back-adjusted (near zero such levels change by any factor), so it is not checked then.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from macrostack.data.dataset import Dataset, check_price_steps, check_return_units, hash_files
from macrostack.errors import InputError
from macrostack.userfiles import check_readable

REQUIRED = ("date", "symbol", "close")
OPTIONAL = ("return",)
MAX_COST = 0.02  # 200 bp per unit traded: above any futures market; a larger value is surely in bp or %
INSTRUMENT_OPTIONAL = ("name", "asset_class", "currency", "point_size", "cost", "listing_date")


def _read_table(path: Path) -> pd.DataFrame:
    check_readable(path)
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if path.suffix.lower() in (".csv", ".txt"):
            return pd.read_csv(path)
    except Exception as exc:  # parser errors of either library: the file is broken
        raise InputError(f"cannot read file ({type(exc).__name__}: {exc})".splitlines()[0], str(path),
                         "check it is a valid CSV/Parquet file") from exc
    raise InputError(f"unknown file type {path.suffix!r}", str(path), "use .csv or .parquet")


def _numeric(frame: pd.DataFrame, column: str, path: Path, optional: bool = False) -> np.ndarray:
    """A column as float64. Text and ±inf are errors; so are empty cells unless `optional`
    (then they are NaN)."""
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values) & (raw.notna().to_numpy() if optional else True)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"row {i + 2}, column {column!r}: value {raw.iloc[i]!r} is not a finite number",
                         str(path), "fix or drop the row" + (", or leave the cell empty" if optional else ""))
    return values


def _optional_dates(frame: pd.DataFrame, column: str, path: Path) -> pd.Series:
    """An optional ISO date column (empty cells are NaT); anything else that does not parse is an error."""
    raw = frame[column]
    text = raw.astype("string").str.strip()
    parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
    bad = parsed.isna() & text.notna() & (text != "")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"row {i + 2}, column {column!r}: cannot parse {raw.iloc[i]!r}", str(path),
                         "use YYYY-MM-DD dates (or leave the cell empty)")
    return parsed.astype("datetime64[us]")


def _check_units(data: pd.DataFrame, path: Path, close_is_return_basis: bool) -> None:
    """Refuse values in the wrong units, naming the file row (`dataset.check_return_units`).
    Without a `return` column, `close` is the return basis, so its day-to-day factor is
    checked too (a ÷50 close is a −98 % return, inside the return bound)."""
    for symbol, pos in data.groupby("symbol", sort=False).indices.items():
        def where(i, pos=pos):
            return f"{path}, row {pos[i] + 2}"  # file row: the header is row 1; data rows are in file order
        dates = data["date"].to_numpy()[pos]
        if close_is_return_basis:
            check_price_steps(data["adjusted_close"].to_numpy()[pos], dates, symbol, "close", where)
        check_return_units(data["ret"].to_numpy()[pos], dates, symbol, where)


def load(path: str | Path, instruments_path: str | Path | None = None, name: str = "generic",
         cost: float = 0.0, progress=None) -> Dataset:
    """Read a long-format price file (and optional instruments file) into a `Dataset`."""
    path = Path(path)
    frame = _read_table(path)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    repeated = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
    if repeated:
        raise InputError(f"column(s) {repeated} appear twice (names ignore case)", str(path), "keep one of each")
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise InputError(f"missing column(s) {missing} (have {list(frame.columns)})", str(path),
                         "the file needs date,symbol,close[,return]")
    unknown = [c for c in frame.columns if c not in (*REQUIRED, *OPTIONAL)]
    if unknown:  # a misspelt `returns` would otherwise be dropped and the returns recomputed from close
        raise InputError(f"unknown column(s) {unknown}", str(path),
                         f"use {', '.join(REQUIRED)} and optionally {', '.join(OPTIONAL)}; rename or drop the others")
    try:  # ISO 8601 only: a day-first or month-first date is ambiguous
        dates = pd.to_datetime(frame["date"].astype("string"), errors="coerce", format="ISO8601")
    except (TypeError, ValueError) as exc:  # e.g. mixed time zones
        raise InputError(f"column 'date': {str(exc).splitlines()[0]}", str(path), "use YYYY-MM-DD dates") from None
    if getattr(dates.dt, "tz", None) is not None:
        raise InputError("dates carry a time zone", str(path), "use plain YYYY-MM-DD session dates")
    if dates.isna().any():
        i = int(np.flatnonzero(dates.isna())[0])
        raise InputError(f"row {i + 2}, column 'date': cannot parse {frame['date'].iloc[i]!r}", str(path),
                         "use YYYY-MM-DD dates")
    if (dates != dates.dt.normalize()).any():
        raise InputError("dates carry a time of day", str(path), "give one row per session with a plain date")
    symbols = frame["symbol"].astype("string").str.strip()
    close = _numeric(frame, "close", path)
    data = pd.DataFrame({"symbol": symbols, "date": dates, "adjusted_close": close})
    if "return" in frame.columns:
        data["ret"] = _numeric(frame, "return", path, optional=True)  # empty = no return on that session
    dup = data.duplicated(["symbol", "date"])
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise InputError(f"row {i + 2}: duplicate date {dates.iloc[i].date()} for {symbols.iloc[i]}", str(path),
                         "keep one row per symbol and date")
    unordered = data.groupby("symbol", sort=False)["date"].diff() <= pd.Timedelta(0)
    if unordered.any():
        i = int(np.flatnonzero(unordered)[0])
        raise InputError(f"row {i + 2}: date {dates.iloc[i].date()} of {symbols.iloc[i]} is not after the previous one",
                         str(path), "sort rows by symbol and date")
    weekend = dates.dt.day_of_week >= 5
    if weekend.any():
        i = int(np.flatnonzero(weekend)[0])
        raise InputError(f"row {i + 2}: {dates.iloc[i].date()} is a weekend", str(path),
                         "macrostack sessions are weekdays: move or drop weekend rows")
    if "ret" not in data.columns:
        if (close <= 0).any():
            i = int(np.flatnonzero(close <= 0)[0])
            raise InputError(f"row {i + 2}: close {close[i]} <= 0 and no 'return' column", str(path),
                             "add a 'return' column for levels that can be <= 0")
        data["ret"] = data.groupby("symbol", sort=False)["adjusted_close"].pct_change()
    _check_units(data, path, close_is_return_basis="return" not in frame.columns)
    if not (np.isfinite(cost) and 0 <= cost <= MAX_COST):
        raise InputError(f"cost {cost} is not a cost per unit of notional traded in [0, {MAX_COST}]", "--cost",
                         "give a fraction of notional: 0.0005 is 5 bp")

    ins = pd.DataFrame({"symbol": pd.unique(data["symbol"])})
    files = [path]
    if instruments_path is not None:
        ipath = Path(instruments_path)
        meta = _read_table(ipath)
        meta.columns = [str(c).strip().lower() for c in meta.columns]
        if "symbol" not in meta.columns:
            raise InputError("missing column 'symbol'", str(ipath), "the instruments file needs a symbol column")
        unknown = set(meta.columns) - {"symbol", *INSTRUMENT_OPTIONAL}
        if unknown:
            raise InputError(f"unknown column(s) {sorted(unknown)}", str(ipath),
                             f"use symbol and any of {', '.join(INSTRUMENT_OPTIONAL)}")
        meta["symbol"] = meta["symbol"].astype("string").str.strip()
        for column in ("point_size", "cost"):
            if column in meta.columns:
                meta[column] = _numeric(meta, column, ipath, optional=True)
        if "listing_date" in meta.columns:
            meta["listing_date"] = _optional_dates(meta, "listing_date", ipath)
        ins = ins.merge(meta, on="symbol", how="left")
        files.append(ipath)
    ins["source_ticker"] = ins["symbol"]
    ins["name"] = ins.get("name", ins["symbol"])
    ins["asset_class"] = ins.get("asset_class", pd.Series("Unknown", index=ins.index)).fillna("Unknown")
    ins["currency"] = ins.get("currency", pd.Series("USD", index=ins.index)).fillna("USD")
    ins["cost"] = ins.get("cost", pd.Series(cost, index=ins.index)).fillna(cost)
    ins["return_basis"] = "source_return" if "return" in frame.columns else "close_pct_change"
    data = data.merge(ins[["symbol", "cost"]], on="symbol", how="left")
    data = data.sort_values(["symbol", "date"], kind="stable").reset_index(drop=True)
    if progress:
        progress(1, "read")
    return Dataset(name=name, source="generic", parameters={"path": str(path.resolve()), "cost": cost,
                   "instruments": str(Path(instruments_path).resolve()) if instruments_path else None},
                   # the --cost default changes the data, so it is part of its identity
                   instruments=ins, bars=data, content_hash=hash_files(files, extra=f"cost={cost!r}"),
                   origin=str(path))
