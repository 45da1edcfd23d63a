"""The normalised form every source produces before it reaches the market store.

A source module reads its own format and returns a `Dataset`: three pandas tables with
fixed columns (below). `Dataset.validate()` (run by the store before any write) enforces what
every source must guarantee, so
the store never sees a duplicate session, a non-finite return or a non-positive contract
price. Prices and returns:

- `adjusted_close`: continuous (back-adjusted) price in the instrument's price units; may
  be <= 0 for Panama-adjusted series, so it is never used for percentage returns.
- `price`: price of the contract actually held (> 0), `price_contract` its id.
- `ret`: simple daily return in USD, close d-1 → close d. NaN means "no return on this
  session" (missing price or FX) and is counted by `data check`, never filled backwards.
- `cost`: cost per unit of notional traded (fraction, e.g. 0.0006 = 6 bp), on that session.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from macrostack.errors import InputError

INSTRUMENT_COLUMNS = {
    "symbol": "string",
    "name": "string",
    "asset_class": "string",
    "currency": "string",
    "point_size": "float64",
    "cost": "float64",
    "source_ticker": "string",
    "return_basis": "string",
}

BAR_COLUMNS = {
    "symbol": "string",
    "date": "datetime64[us]",
    "adjusted_close": "float64",
    "price": "float64",
    "price_contract": "string",
    "carry": "float64",
    "carry_contract": "string",
    "forward": "float64",
    "forward_contract": "string",
    "ret": "float64",
    "cost": "float64",
}

FX_COLUMNS = {"currency": "string", "date": "datetime64[us]", "usd_per_unit": "float64"}


def _conform(frame: pd.DataFrame, columns: dict[str, str], what: str) -> pd.DataFrame:
    """Return `frame` with exactly `columns` (missing optional ones added as null)."""
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    for name, dtype in columns.items():
        if name in frame.columns:
            values = frame[name].to_numpy()
        else:
            values = np.full(len(frame), np.nan if dtype == "float64" else None, dtype=object)
        try:
            out[name] = pd.Series(values).astype(dtype)
        except (TypeError, ValueError) as exc:  # a source bug, not user input
            raise TypeError(f"{what}.{name} cannot be {dtype}: {exc}") from exc
    return out


@dataclass
class Dataset:
    """One ingestible dataset: instruments, daily bars and FX, plus provenance."""

    name: str
    source: str
    parameters: dict
    instruments: pd.DataFrame
    bars: pd.DataFrame
    fx: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(FX_COLUMNS)))
    content_hash: str = ""

    def __post_init__(self) -> None:
        self.instruments = _conform(self.instruments, INSTRUMENT_COLUMNS, "instruments")
        self.bars = _conform(self.bars, BAR_COLUMNS, "bars")
        self.fx = _conform(self.fx, FX_COLUMNS, "fx")

    def validate(self) -> Dataset:
        """Check the guarantees every source must give; raise InputError naming the dataset."""
        where = f"dataset {self.name!r}"
        ins = self.instruments
        if ins.empty:
            raise InputError("no instruments found", where, "check the path and format")
        for table, frame in (("instruments", ins), ("bars", self.bars)):
            blank = frame["symbol"].isna() | (frame["symbol"].astype("string").str.strip() == "")
            if blank.any():
                raise InputError(f"{table} row {int(np.flatnonzero(blank.to_numpy())[0]) + 1} has no symbol", where,
                                 "give every row a symbol")
        dup = ins["symbol"][ins["symbol"].duplicated()]
        if len(dup):
            raise InputError(f"duplicate instrument symbol {dup.iloc[0]!r}", where, "make symbols unique")
        bad_cost = ins["cost"].notna() & ~(np.isfinite(ins["cost"].astype(float)) & (ins["cost"] >= 0))
        if bad_cost.any():
            sym = ins.loc[bad_cost, "symbol"].iloc[0]
            raise InputError(f"instrument {sym}: cost must be a finite number >= 0", where)
        unknown = set(self.bars["symbol"].unique()) - set(ins["symbol"])
        if unknown:
            raise InputError(f"bars for unknown symbols {sorted(unknown)[:5]}", where)
        bars = self.bars
        if bars["date"].isna().any():
            raise InputError("bar with no date", where)
        if bars.duplicated(["symbol", "date"]).any():
            row = bars[bars.duplicated(["symbol", "date"])].iloc[0]
            raise InputError(f"duplicate session {row['date'].date()} for {row['symbol']}", where)
        weekend = bars["date"].dt.day_of_week >= 5
        if weekend.any():
            row = bars[weekend].iloc[0]
            raise InputError(f"weekend session {row['date'].date()} for {row['symbol']}", where)
        for col in ("ret", "adjusted_close", "price", "carry", "forward", "cost"):
            values = bars[col].to_numpy(dtype=float)
            bad = np.isinf(values)
            if bad.any():
                row = bars[bad].iloc[0]
                raise InputError(f"non-finite {col} on {row['date'].date()} for {row['symbol']}", where)
        negative_cost = bars["cost"].to_numpy(dtype=float) < 0
        if negative_cost.any():
            row = bars[negative_cost].iloc[0]
            raise InputError(f"negative cost on {row['date'].date()} for {row['symbol']}", where,
                             "costs per unit notional traded are >= 0")
        for col in ("price", "carry", "forward"):
            values = bars[col].to_numpy(dtype=float)
            bad = values <= 0
            if bad.any():
                row = bars[bad].iloc[0]
                raise InputError(
                    f"non-positive contract price {col}={values[bad][0]} on {row['date'].date()} for {row['symbol']}",
                    where,
                    "contract prices must be > 0; fix or drop the row",
                )
        fx = self.fx
        if fx.duplicated(["currency", "date"]).any():
            raise InputError("duplicate FX session", where)
        if (~np.isfinite(fx["usd_per_unit"].to_numpy(float)) | (fx["usd_per_unit"].to_numpy(float) <= 0)).any():
            raise InputError("FX rates must be finite and > 0", where)
        return self


def hash_files(paths, extra: str = "") -> str:
    """SHA-256 over the bytes of `paths` (sorted by name) and `extra` (parameters that change
    the data), the dataset's content hash."""
    digest = hashlib.sha256(extra.encode())
    for path in sorted(paths, key=lambda p: str(p)):
        digest.update(str(getattr(path, "name", path)).encode())
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()
