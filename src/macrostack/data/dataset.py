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
from collections.abc import Callable
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
    "listing_date": "datetime64[us]",  # optional: first exchange listing (`data.quality` flags history before it)
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
    origin: str = ""  # the file or folder it was read from, named in every error

    def __post_init__(self) -> None:
        self.instruments = _conform(self.instruments, INSTRUMENT_COLUMNS, "instruments")
        self.bars = _conform(self.bars, BAR_COLUMNS, "bars")
        self.fx = _conform(self.fx, FX_COLUMNS, "fx")

    def validate(self) -> Dataset:
        """Check the guarantees every source must give; raise InputError naming the dataset."""
        where = f"{self.origin} (dataset {self.name!r})" if self.origin else f"dataset {self.name!r}"
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


# ------------------------------------------------------------------ units: refuse, don't guess
#
# Measured on the real data (max over instruments): trendfollowing median |daily return|
# 0.017 (NG), largest |return| 0.46 (NG 2022-01-27; CL 2020-04-21 0.45); pysystemtrade
# median 0.029 (GASOILINE, a level-based return), largest 0.50; from one session to the next
# a contract price changes at most ×1.55 (PRICE, GAS_US) or ×2.7 (FORWARD, VIX, across a
# roll). The thresholds sit far outside that, so they refuse only what cannot be a daily
# futures move in these units. Moves that a real market can make (a 30 % crash day, oil's −300 % when it went negative) are not
# refused: `data check` flags every move above 25 % for a human to read.
MAX_MEDIAN_ABS_RETURN = 0.10  # a symbol's median |daily return| above 10 %: returns in percent
MAX_ABS_RETURN = 10.0         # one daily return of 1,000 % or more: wrong units or a broken row
MAX_PRICE_FACTOR = 10.0       # a contract price ×10 (or ÷10) from one session to the next


def check_return_units(ret, dates, symbol: str, where: Callable[[int], str]) -> None:
    """Refuse daily returns that are almost surely not fractions (0.015 = 1.5 %).

    - median |r| > MAX_MEDIAN_ABS_RETURN over the symbol's returns: percent (1.5 for 1.5 %);
    - any |r| >= MAX_ABS_RETURN: a move of thousands of percent.
    `where(i)` is the location (file, row) of return i; NaN returns are ignored."""
    ret = np.asarray(ret, dtype=float)
    size = np.abs(ret)
    known = np.isfinite(size)
    fix = "give returns as fractions (0.015 = 1.5 %)"
    if known.any() and np.median(size[known]) > MAX_MEDIAN_ABS_RETURN:
        median = float(np.median(size[known]))
        i = int(np.flatnonzero(known & (size > MAX_MEDIAN_ABS_RETURN))[0])
        raise InputError(f"{symbol}: median |daily return| is {median:.3g} (e.g. {ret[i]:g} on {_day(dates[i])}): "
                         "the returns look like percent", where(i), f"{fix}: divide them by 100")
    huge = np.flatnonzero(known & (size >= MAX_ABS_RETURN))
    if len(huge):
        i = int(huge[0])
        raise InputError(f"{symbol} on {_day(dates[i])}: daily return {ret[i]:g} is a move of {ret[i]:+,.0%}",
                         where(i), f"{fix}; fix the units or the row")


def check_price_steps(prices, dates, symbol: str, column: str, where: Callable[[int], str]) -> None:
    """Refuse a contract price that changes by a factor >= MAX_PRICE_FACTOR between two
    consecutive sessions that have one (e.g. cents then dollars: ×100). Only for prices of
    a contract, > 0; a back-adjusted level near zero changes by such factors legitimately."""
    prices = np.asarray(prices, dtype=float)
    idx = np.flatnonzero(np.isfinite(prices) & (prices > 0))
    if len(idx) < 2:
        return
    factor = prices[idx[1:]] / prices[idx[:-1]]
    bad = np.flatnonzero((factor >= MAX_PRICE_FACTOR) | (factor <= 1 / MAX_PRICE_FACTOR))
    if len(bad):
        prev, i = int(idx[bad[0]]), int(idx[bad[0] + 1])
        raise InputError(f"{symbol} on {_day(dates[i])}: {column} jumps from {prices[prev]:g} to {prices[i]:g} "
                         f"(×{prices[i] / prices[prev]:.3g}) in one session", where(i),
                         "check the units of the row (a price in cents among dollars?) and fix or drop it")


def _day(value) -> str:
    return str(pd.Timestamp(value).date())


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


SPIKE_FACTOR = 1.5


def drop_reverting_spikes(price: np.ndarray, contract: np.ndarray, factor: float = SPIKE_FACTOR) -> np.ndarray:
    """A copy of `price` [T] without one-session spikes: a price that is ×/÷ `factor` or more
    away from both the previous and the next session's price of the same contract, in the same
    direction (it jumps and comes straight back), is a bad tick → NaN. Reads t−1, t, t+1: for
    data cleaning at ingest or on a whole series, not for a signal at t."""
    price = np.array(price, dtype=float)
    contract = np.asarray(contract, dtype=float)
    if len(price) < 3:
        return price
    with np.errstate(invalid="ignore", divide="ignore"):
        up = np.log(price[1:-1] / price[:-2])
        down = np.log(price[1:-1] / price[2:])
    limit = np.log(factor)
    same = (contract[1:-1] == contract[:-2]) & (contract[1:-1] == contract[2:])
    spike = same & (np.abs(up) >= limit) & (np.abs(down) >= limit) & (np.sign(up) == np.sign(down))
    price[1:-1][spike] = np.nan
    return price
