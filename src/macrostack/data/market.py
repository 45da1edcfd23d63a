"""MarketData: the market store as aligned float64 panels (sessions × symbols).

Everything inside a run reads these arrays, in one symbol order. Missing values are NaN and
are never filled backwards: a NaN return means "no return on this session" (the P&L
contract books 0 there and the data check counts it). `cost` is carried forward from an
instrument's last known value, which is the cost in force.

Warm-up: `load(..., warmup=W)` includes W sessions before `start` so every rolling window
can be full on the first session that counts; `start_index` is that first session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from macrostack.data import cache
from macrostack.data.calendar import asof, rebalance_indices
from macrostack.data.store import DEFAULT_DATASET, MarketStore
from macrostack.errors import InputError

BAR_FIELDS = ("adjusted_close", "price", "carry", "forward", "ret", "cost",
              "price_contract", "carry_contract", "forward_contract")
# `fx`: USD per unit of each instrument's currency (1 for USD), carried forward, never back.
PANEL_FIELDS = (*BAR_FIELDS, "fx")
# Contract ids "YYYYMM00" load as months since year 0 (year·12 + month), so that the distance
# between two contracts in years is a difference / 12.
_CONTRACT_MONTHS = "CAST(substr({c}, 1, 4) AS INTEGER) * 12 + CAST(substr({c}, 5, 2) AS INTEGER)"
DEFAULT_FIELDS = ("adjusted_close", "ret", "cost")


@dataclass(frozen=True)
class MarketData:
    """Aligned panels of one dataset: `panels[field]` is float64 [sessions × symbols]."""

    dataset: str
    data_hash: str
    dates: np.ndarray  # datetime64[D], strictly increasing weekdays
    symbols: tuple[str, ...]
    panels: dict[str, np.ndarray]
    instruments: pd.DataFrame  # one row per symbol, in `symbols` order
    start_index: int = 0

    @property
    def returns(self) -> np.ndarray:
        """USD simple returns [sessions × symbols], NaN where there is no return."""
        return self.panels["ret"]

    @property
    def n_sessions(self) -> int:
        return len(self.dates)

    def field(self, name: str) -> np.ndarray:
        if name not in self.panels:
            raise KeyError(f"panel {name!r} was not loaded (loaded: {sorted(self.panels)})")
        return self.panels[name]

    def rebalances(self, schedule: str) -> np.ndarray:
        """Session indices of the rebalances at or after `start_index`."""
        idx = rebalance_indices(self.dates, schedule)
        return idx[idx >= self.start_index]


def _as_date(value, key: str) -> date | None:
    if value is None:
        return None
    try:
        return pd.Timestamp(value).date()
    except (TypeError, ValueError) as exc:
        raise InputError(f"cannot parse date {value!r}", key, "use YYYY-MM-DD") from exc


def _check_within(dates: np.ndarray, bounds: dict[str, date | None], dataset: str) -> None:
    """Refuse a start or end outside the data's sessions: a run would silently cover less
    than it says (an audited period is the period asked for)."""
    if not len(dates):
        raise InputError(f"dataset {dataset!r} has no bars for this universe", "data.universe",
                         "see `macrostack data list`")
    first, last = dates[0].item(), dates[-1].item()
    for key, day in bounds.items():
        if day is not None and not first <= day <= last:
            raise InputError(f"{key} {day} is outside the data: dataset {dataset!r} has sessions {first} → {last}",
                             f"data.{key} (--{key})", f"choose dates between {first} and {last}")


def load_market_data(
    store: MarketStore,
    dataset: str = DEFAULT_DATASET,
    symbols: list[str] | None = None,
    start=None,
    end=None,
    warmup: int = 0,
    fields: tuple[str, ...] = DEFAULT_FIELDS,
    include_derived: bool = False,
) -> MarketData:
    """Load `fields` of `dataset` for `symbols` from `start - warmup` sessions to `end`.

    `symbols=None` means every instrument of the dataset except derived ones (return basis
    `derived_*`, e.g. a volatility future's front contract built at ingest), which join only with
    `include_derived` (an engine that trades them is configured) or when named in `symbols`:
    other engines must not see a second copy of a market they already trade."""
    meta = store.require_dataset(dataset)
    unknown_fields = set(fields) - set(PANEL_FIELDS)
    if unknown_fields:
        raise InputError(f"unknown market data fields {sorted(unknown_fields)}", "fields", f"use {PANEL_FIELDS}")
    instruments = store.instruments(dataset)
    if symbols is None:
        basis = instruments["return_basis"].fillna("").astype(str)
        keep = np.ones(len(instruments), bool) if include_derived else ~basis.str.startswith("derived").to_numpy()
        symbols = list(instruments["symbol"][keep])
    else:
        missing = [s for s in symbols if s not in set(instruments["symbol"])]
        if missing:
            raise InputError(f"unknown symbols {missing} in dataset {dataset!r}", "universe",
                             "see `macrostack data list`")
        if len(set(symbols)) != len(symbols):
            raise InputError("duplicate symbols in universe", "universe", "list each symbol once")
    start_d, end_d = _as_date(start, "start"), _as_date(end, "end")
    if start_d and end_d and start_d > end_d:
        raise InputError(f"start {start_d} is after end {end_d}", "start/end", "swap them")
    content_hash = str(meta["content_hash"])
    key = _cache_key(dataset, content_hash, symbols, start_d, end_d, warmup, fields)
    hit = cache.read_arrays(store.path, content_hash, key)
    instruments = instruments.set_index("symbol").loc[symbols].reset_index()
    if hit is not None:
        dates = hit.pop("dates").astype("datetime64[D]")
        start_index = int(hit.pop("start_index")[0])
        panels = hit  # in the order they were computed
    else:
        dates, start_index, panels = _load_panels(store, dataset, symbols, start_d, end_d, warmup, fields, instruments)
        cache.write_arrays(store.path, content_hash, key, {"dates": dates.astype(np.int64),
                           "start_index": np.array([start_index]), **panels}, cache.live_hashes(store))
    return MarketData(
        dataset=dataset, data_hash=content_hash, dates=dates, symbols=tuple(symbols),
        panels=panels, instruments=instruments, start_index=start_index,
    )


def _cache_key(dataset: str, content_hash: str, symbols, start_d, end_d, warmup: int, fields) -> str:
    """The panels of one request, computed once per dataset content (`macrostack.data.cache`)."""
    import sys

    from macrostack.data import calendar, store

    code = cache.code_fingerprint(sys.modules[__name__], calendar, store)  # the loading code, its queries, `asof`
    return "panels-" + cache.entry_key(dataset, content_hash, "\x1e".join(symbols), str(start_d), str(end_d),
                                       str(int(warmup)), "\x1e".join(fields), code)


def _load_panels(store: MarketStore, dataset: str, symbols: list[str], start_d, end_d, warmup: int, fields,
                 instruments: pd.DataFrame) -> tuple[np.ndarray, int, dict[str, np.ndarray]]:
    """(dates, start_index, panels) of a request, from the store."""
    con = store.con

    # The session calendar: every date on which any instrument of the universe has a bar.
    cal = con.execute(
        "SELECT DISTINCT date FROM bars WHERE dataset = ? AND list_contains(?, symbol) ORDER BY date",
        [dataset, symbols],
    ).fetchnumpy()["date"]
    dates = np.asarray(cal).astype("datetime64[D]")
    _check_within(dates, {"start": start_d, "end": end_d}, dataset)
    if end_d:
        dates = dates[dates <= np.datetime64(end_d, "D")]
    first = 0 if start_d is None else int(np.searchsorted(dates, np.datetime64(start_d, "D")))
    lo = max(first - warmup, 0)
    dates = dates[lo:]
    start_index = first - lo

    bar_fields = [f for f in fields if f in BAR_FIELDS]
    cols = ", ".join(f"{_CONTRACT_MONTHS.format(c=f)} AS {f}" if f.endswith("_contract") else f for f in bar_fields)
    table = con.sql(
        f"SELECT list_position($symbols, symbol) - 1 AS col, date, {cols} FROM bars "
        "WHERE dataset = $dataset AND list_contains($symbols, symbol) AND date >= $lo AND date <= $hi",
        params={"symbols": symbols, "dataset": dataset, "lo": dates[0].item(), "hi": dates[-1].item()},
    ).to_arrow_table()
    col = table.column("col").to_numpy()
    row = np.searchsorted(dates, table.column("date").to_numpy().astype("datetime64[D]"))
    shape = (len(dates), len(symbols))
    panels = {}
    for name in bar_fields:
        panel = np.full(shape, np.nan)
        panel[row, col] = table.column(name).to_numpy(zero_copy_only=False).astype(float)
        panels[name] = panel
    if "cost" in panels:
        panels["cost"] = ffill(panels["cost"])
    if "fx" in fields:
        panels["fx"] = _fx_panel(store, dataset, dates, list(instruments["currency"].fillna("USD")))
    return dates, start_index, panels


def ffill(panel: np.ndarray) -> np.ndarray:
    """Forward-fill NaNs down each column (never backwards)."""
    idx = np.where(~np.isnan(panel), np.arange(panel.shape[0])[:, None], 0)
    np.maximum.accumulate(idx, axis=0, out=idx)
    # Where a column has no earlier value idx stays 0 and row 0 is NaN too.
    return panel[idx, np.arange(panel.shape[1])]


def _fx_panel(store: MarketStore, dataset: str, dates: np.ndarray, currencies: list[str]) -> np.ndarray:
    """[sessions × instruments] USD per unit of each instrument's currency, carried forward."""
    fx = store.fx(dataset)
    out = np.full((len(dates), len(currencies)), np.nan)
    for ccy in set(currencies):
        cols = [i for i, c in enumerate(currencies) if c == ccy]
        if ccy == "USD":
            out[:, cols] = 1.0
            continue
        rates = fx[fx["currency"] == ccy]
        if rates.empty:
            continue  # no FX series: the caller decides whether that matters
        # the last rate on or before each session
        col = asof(rates["date"].to_numpy().astype("datetime64[D]"), rates["usd_per_unit"].to_numpy(float), dates)
        out[:, cols] = col[:, None]
    return out
