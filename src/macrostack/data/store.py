"""The market store: one embedded DuckDB file holding every ingested dataset.

Location: `--store PATH`, else `$MACROSTACK_STORE`, else `<user data dir>/macrostack/market.duckdb`.
An ingest is one transaction that replaces the dataset of the same name atomically; a
failed ingest leaves the store exactly as it was. Runs open the store read-only.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd
from platformdirs import user_data_dir

from macrostack.data.dataset import BAR_COLUMNS, FX_COLUMNS, INSTRUMENT_COLUMNS, Dataset
from macrostack.errors import InputError
from macrostack.locks import file_lock

DEFAULT_DATASET = "trendfollowing"
LOCK_TIMEOUT_S = 600.0  # a run waits this long for another process's ingest (the default one takes ~10 s)

SCHEMA = """
CREATE TABLE IF NOT EXISTS datasets (
    dataset VARCHAR PRIMARY KEY, source VARCHAR NOT NULL, parameters VARCHAR NOT NULL,
    content_hash VARCHAR NOT NULL, ingested_at TIMESTAMP NOT NULL,
    n_instruments INTEGER NOT NULL, n_bars BIGINT NOT NULL, first_date DATE, last_date DATE);
CREATE TABLE IF NOT EXISTS instruments (
    dataset VARCHAR NOT NULL, symbol VARCHAR NOT NULL, name VARCHAR, asset_class VARCHAR,
    currency VARCHAR, point_size DOUBLE, cost DOUBLE, source_ticker VARCHAR, return_basis VARCHAR,
    listing_date DATE, PRIMARY KEY (dataset, symbol));
CREATE TABLE IF NOT EXISTS bars (
    dataset VARCHAR NOT NULL, symbol VARCHAR NOT NULL, date DATE NOT NULL,
    adjusted_close DOUBLE, price DOUBLE, price_contract VARCHAR, carry DOUBLE,
    carry_contract VARCHAR, forward DOUBLE, forward_contract VARCHAR, ret DOUBLE, cost DOUBLE,
    PRIMARY KEY (dataset, symbol, date));
CREATE TABLE IF NOT EXISTS fx (
    dataset VARCHAR NOT NULL, currency VARCHAR NOT NULL, date DATE NOT NULL, usd_per_unit DOUBLE,
    PRIMARY KEY (dataset, currency, date));
"""
# Columns added after a store format shipped: a store opened for writing gains them (NULL for
# the datasets already in it). `listing_date` (first exchange listing of the instrument, optional)
# is a column of `instruments`, not a table of its own, so it is replaced with its dataset in
# the one ingest transaction like every other instrument attribute. A store only ever opened
# read-only since keeps the old shape; every reader treats a missing column as no dates.
MIGRATIONS = ("ALTER TABLE instruments ADD COLUMN IF NOT EXISTS listing_date DATE",)


def default_store_path() -> Path:
    """`$MACROSTACK_STORE` if set, else the per-user data directory."""
    env = os.environ.get("MACROSTACK_STORE")
    if env:
        return Path(env).expanduser()
    return Path(user_data_dir("macrostack", appauthor=False)) / "market.duckdb"


class MarketStore:
    """Thin wrapper over a DuckDB connection with the market schema."""

    def __init__(self, path: str | Path | None = None, read_only: bool = False):
        self.path = Path(path).expanduser() if path else default_store_path()
        self.read_only = read_only
        if read_only and not self.path.exists():
            raise InputError(
                "market store not found", str(self.path), "run `macrostack data init` (or pass --store)"
            )
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.is_dir():
            raise InputError("is a folder, not a market store file", str(self.path), "pass the .duckdb file (--store)")
        # macrostack processes queue here (ingests exclusive, runs shared) instead of failing on DuckDB's lock.
        self._lock = file_lock(self.path.with_name(self.path.name + ".lock"), exclusive=not read_only,
                               timeout=LOCK_TIMEOUT_S, what="market store")
        self._lock.__enter__()
        try:
            self._connect()
        except BaseException:
            self._lock.__exit__(None, None, None)
            raise

    def _connect(self) -> None:
        try:
            self.con = duckdb.connect(str(self.path), read_only=self.read_only)
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0]
            fix = ("close the other process using it (one writer at a time), and run again" if "lock" in first.lower()
                   else "check the path; a damaged store can be rebuilt with `macrostack data init` / `data ingest`")
            raise InputError(f"cannot open market store ({first})", str(self.path), fix) from None
        tables = {r[0] for r in self.con.execute("SHOW TABLES").fetchall()}
        if tables and "datasets" not in tables:  # never add our schema to someone else's database
            self.con.close()
            raise InputError(f"a DuckDB file of something else, not a market store (tables: "
                             f"{', '.join(sorted(tables))[:80]})", str(self.path), "pass a macrostack store (--store)")
        if not self.read_only:
            self.con.execute(SCHEMA)
            for statement in MIGRATIONS:
                self.con.execute(statement)

    def close(self) -> None:
        try:
            self.con.close()
        finally:
            self._lock.__exit__(None, None, None)

    def __enter__(self) -> MarketStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------
    def ingest(self, dataset: Dataset) -> dict:
        """Validate and write `dataset` in one transaction, replacing any of the same name."""
        dataset.validate()
        bars = dataset.bars.copy()
        bars.insert(0, "dataset", dataset.name)
        bars["date"] = bars["date"].dt.date
        ins = dataset.instruments.copy()
        ins.insert(0, "dataset", dataset.name)
        fx = dataset.fx.copy()
        fx.insert(0, "dataset", dataset.name)
        fx["date"] = fx["date"].dt.date
        first = bars["date"].min() if len(bars) else None
        last = bars["date"].max() if len(bars) else None
        meta = pd.DataFrame([{
            "dataset": dataset.name, "source": dataset.source,
            "parameters": json.dumps(dataset.parameters, sort_keys=True),
            "content_hash": dataset.content_hash,
            "ingested_at": datetime.now(timezone.utc).replace(tzinfo=None),
            "n_instruments": len(ins), "n_bars": len(bars), "first_date": first, "last_date": last,
        }])
        con = self.con
        con.execute("BEGIN TRANSACTION")  # outside the try: no ROLLBACK of a transaction that never began
        try:
            for table in ("bars", "instruments", "fx", "datasets"):
                con.execute(f"DELETE FROM {table} WHERE dataset = ?", [dataset.name])
            self._insert("instruments", ins, ["dataset", *INSTRUMENT_COLUMNS])
            self._insert("bars", bars, ["dataset", *BAR_COLUMNS])
            self._insert("fx", fx, ["dataset", *FX_COLUMNS])
            self._insert("datasets", meta, list(meta.columns))
            con.execute("COMMIT")
        except BaseException:
            try:
                con.execute("ROLLBACK")
            except duckdb.Error:  # the failure already ended the transaction (or the connection): keep its error
                pass
            raise
        return meta.iloc[0].to_dict()

    def _insert(self, table: str, frame: pd.DataFrame, columns: list[str]) -> None:
        if frame.empty:
            return
        # No `finally`: after a failed INSERT the transaction is aborted and unregister would
        # raise over the real error; the caller rolls back, and the next register replaces the view.
        self.con.register("_incoming", frame[columns])
        cols = ", ".join(columns)
        self.con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _incoming")
        self.con.unregister("_incoming")

    # -- reading ---------------------------------------------------------------------
    def datasets(self) -> pd.DataFrame:
        return self.con.execute("SELECT * FROM datasets ORDER BY dataset").df()

    def has_dataset(self, name: str) -> bool:
        if not self._has_schema():
            return False
        return bool(self.con.execute("SELECT count(*) FROM datasets WHERE dataset = ?", [name]).fetchone()[0])

    def require_dataset(self, name: str) -> dict:
        # Read-only, the store cannot change while open (an ingest waits for the lock): a run
        # asks this several times, so its answer and the instruments are remembered.
        memo = self._memo() if self.read_only else None
        if memo is not None and ("dataset", name) in memo:
            return dict(memo[("dataset", name)])
        if not self.has_dataset(name):
            known = ", ".join(self.datasets()["dataset"]) if self._has_schema() else ""
            raise InputError(
                f"dataset {name!r} is not in the store (have: {known or 'none'})", str(self.path),
                "run `macrostack data init` or `macrostack data ingest FORMAT PATH`",
            )
        row = self.con.execute("SELECT * FROM datasets WHERE dataset = ?", [name]).df().iloc[0].to_dict()
        if memo is not None:
            memo[("dataset", name)] = dict(row)
        return row

    def _memo(self) -> dict:
        if not hasattr(self, "_memo_store"):
            self._memo_store = {}
        return self._memo_store

    def _has_schema(self) -> bool:
        return "datasets" in {r[0] for r in self.con.execute("SHOW TABLES").fetchall()}

    def instruments(self, dataset: str) -> pd.DataFrame:
        self.require_dataset(dataset)
        memo = self._memo() if self.read_only else None
        if memo is not None and ("instruments", dataset) in memo:
            return memo[("instruments", dataset)].copy()
        frame = self.con.execute(
            "SELECT * EXCLUDE (dataset) FROM instruments WHERE dataset = ? ORDER BY symbol", [dataset]
        ).df()
        if memo is not None:
            memo[("instruments", dataset)] = frame.copy()
        return frame

    def fx(self, dataset: str) -> pd.DataFrame:
        return self.con.execute(
            "SELECT currency, date, usd_per_unit FROM fx WHERE dataset = ? ORDER BY currency, date", [dataset]
        ).df()

    def bars(self, dataset: str, symbols: list[str] | None = None, columns: list[str] | None = None) -> pd.DataFrame:
        """Long bars of `dataset` ordered by symbol, date (optionally a subset of symbols/columns)."""
        cols = ", ".join(["symbol", "date", *(columns or list(BAR_COLUMNS)[2:])])
        sql = f"SELECT {cols} FROM bars WHERE dataset = ?"
        params: list = [dataset]
        if symbols is not None:
            sql += " AND list_contains(?, symbol)"
            params.append(list(symbols))
        return self.con.execute(sql + " ORDER BY symbol, date", params).df()
