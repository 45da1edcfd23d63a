"""The run catalog: a DuckDB index of the runs in an output directory."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd

SCHEMA = """CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY, created_at TIMESTAMP, profile VARCHAR, config_hash VARCHAR,
    data_hash VARCHAR, dataset VARCHAR, first_date DATE, last_date DATE, cagr DOUBLE, ann_vol DOUBLE,
    sharpe DOUBLE, max_drawdown DOUBLE, realised_vol_ratio DOUBLE, audit VARCHAR, path VARCHAR)"""


def catalog_path(out: Path) -> Path:
    return out / "catalog.duckdb"


def record(out: Path, manifest: dict, path: Path) -> None:
    m = manifest["metrics"]
    row = [manifest["run_id"], datetime.now(timezone.utc).replace(tzinfo=None), manifest["config"]["name"],
           manifest["config_hash"], manifest["data"]["content_hash"], manifest["data"]["dataset"],
           m.get("first_date"), m.get("last_date"), m.get("cagr"), m.get("ann_vol"), m.get("sharpe"),
           m.get("max_drawdown"), m.get("realised_vol_ratio"), manifest["audit"], str(path.resolve())]
    with duckdb.connect(str(catalog_path(out))) as con:
        con.execute(SCHEMA)
        con.execute("INSERT OR REPLACE INTO runs VALUES (" + ", ".join("?" * len(row)) + ")", row)


def list_runs(out: Path) -> pd.DataFrame:
    path = catalog_path(out)
    if not path.exists():
        return pd.DataFrame()
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("SELECT * FROM runs ORDER BY created_at").df()
