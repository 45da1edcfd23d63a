"""The run catalog: a DuckDB index of the run folders in an output directory.

The run folders' manifests are the source of truth; the catalog is an index of them that
can always be rebuilt. Why this design: DuckDB lets one process at a time open a file for
writing, and a reader (a notebook) blocks writers too. So writers take the output folder's
lock (`directory.out_lock`: any number of runs and sweep workers queue for a few ms each)
and retry a held DuckDB lock for a bounded time; a run whose row still cannot be written
(a reader held the file throughout) is complete on disk all the same, and `list_runs`
repairs the index on read: every complete run folder is listed, whether or not it has a
row, and rows of folders that are gone are dropped. Half-made runs live in hidden staging
folders and are never listed.
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd

from macrostack.errors import InputError
from macrostack.runs.directory import out_lock

CATALOG_NAME = "catalog.duckdb"
COLUMNS = ("run_id", "created_at", "profile", "config_hash", "data_hash", "dataset", "first_date", "last_date",
           "cagr", "ann_vol", "sharpe", "max_drawdown", "realised_vol_ratio", "audit", "path")
SCHEMA = """CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY, created_at TIMESTAMP, profile VARCHAR, config_hash VARCHAR,
    data_hash VARCHAR, dataset VARCHAR, first_date DATE, last_date DATE, cagr DOUBLE, ann_vol DOUBLE,
    sharpe DOUBLE, max_drawdown DOUBLE, realised_vol_ratio DOUBLE, audit VARCHAR, path VARCHAR)"""
SWEEP_SCHEMA = """CREATE TABLE IF NOT EXISTS sweep_points (
    sweep_id VARCHAR, point INTEGER, config_hash VARCHAR, "values" VARCHAR, status VARCHAR, error VARCHAR,
    sharpe DOUBLE, cagr DOUBLE, ann_vol DOUBLE, max_drawdown DOUBLE, created_at TIMESTAMP,
    PRIMARY KEY (sweep_id, config_hash))"""
BUSY_TIMEOUT_S = 2.0  # a reader (notebook) holding the file longer only defers indexing to the next `runs`
REBUILD = "move it away: `macrostack runs` rebuilds the catalog from the run folders"


def catalog_path(out: Path) -> Path:
    return Path(out) / CATALOG_NAME


def _is_lock_error(exc: duckdb.Error) -> bool:
    return "lock" in str(exc).lower()


def _connect(path: Path, read_only: bool, timeout: float = BUSY_TIMEOUT_S):
    """A connection to the catalog, retrying while another process holds DuckDB's file lock.
    None when it stays busy; InputError when the file is not a catalog."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.Error as exc:
            if not _is_lock_error(exc):
                raise InputError(f"not a usable run catalog ({str(exc).splitlines()[0]})", str(path), REBUILD) from None
            if time.monotonic() > deadline:
                return None
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
    try:
        tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()} - {"sweep_points"}
        if tables and "runs" not in tables:
            raise InputError(f"a DuckDB file of something else (tables: {', '.join(sorted(tables))[:80]})", str(path),
                             REBUILD)
        if "runs" in tables:
            cols = tuple(r[0] for r in con.execute("DESCRIBE runs").fetchall())
            if cols != COLUMNS:
                raise InputError("a run catalog with other columns (another macrostack version?)", str(path), REBUILD)
        elif not read_only:
            con.execute(SCHEMA)
    except BaseException:
        con.close()
        raise
    return con


def check(out: Path) -> None:
    """Refuse, before a run computes anything, a catalog that is damaged or not a catalog."""
    path = catalog_path(out)
    if path.exists():
        con = _connect(path, read_only=True, timeout=0)
        if con is not None:
            con.close()


def manifest_row(manifest: dict, path: Path, created_at: datetime) -> list:
    m = manifest["metrics"]
    return [manifest["run_id"], created_at, manifest["config"]["name"], manifest["config_hash"],
            manifest["data"]["content_hash"], manifest["data"]["dataset"], m.get("first_date"), m.get("last_date"),
            m.get("cagr"), m.get("ann_vol"), m.get("sharpe"), m.get("max_drawdown"), m.get("realised_vol_ratio"),
            manifest["audit"], str(Path(path).resolve())]


def _upsert(con, rows: list[list], drop: list[str] = ()) -> None:
    con.execute("BEGIN TRANSACTION")
    try:
        for run_id in drop:
            con.execute("DELETE FROM runs WHERE run_id = ?", [run_id])
        for row in rows:
            con.execute("INSERT OR REPLACE INTO runs VALUES (" + ", ".join("?" * len(row)) + ")", row)
        con.execute("COMMIT")
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass
        raise


def record(out: Path, manifest: dict, path: Path, timeout: float = BUSY_TIMEOUT_S) -> bool:
    """Index one published run. Call it holding `out_lock`. False when another process held the
    catalog for `timeout` seconds (the run is listed all the same: `list_runs` repairs)."""
    con = _connect(catalog_path(out), read_only=False, timeout=timeout)
    if con is None:
        return False
    with con:
        _upsert(con, [manifest_row(manifest, path, datetime.now(timezone.utc).replace(tzinfo=None))])
    return True


def record_sweep_points(out: Path, sweep_id: str, rows: list[dict], values: dict[int, dict]) -> bool:
    """One catalog row per finished sweep point (the sweep folder's parts are the source of truth;
    False when the catalog stayed busy)."""
    import json

    from macrostack.runs.artifacts import jsonable

    now = datetime.now(timezone.utc).replace(tzinfo=None)
    records = [[sweep_id, int(r["point"]), r["config_hash"], json.dumps(jsonable(values[int(r["point"])]), sort_keys=True),
                r["status"], r["error"], *(jsonable(r["metrics"].get(k)) for k in ("sharpe", "cagr", "ann_vol", "max_drawdown")),
                now] for r in rows]
    with out_lock(out):
        con = _connect(catalog_path(out), read_only=False)
        if con is None:
            return False
        with con:
            con.execute(SWEEP_SCHEMA)
            con.executemany("INSERT OR REPLACE INTO sweep_points VALUES (" + ", ".join("?" * 11) + ")", records)
    return True


def run_folders(out: Path) -> dict[str, Path]:
    """The complete run folders under `out` (hidden staging folders are never complete)."""
    if not Path(out).is_dir():
        return {}
    return {p.name: p for p in Path(out).iterdir()
            if not p.name.startswith(".") and p.is_dir() and (p / "manifest.json").is_file()}


def _folder_row(folder: Path) -> list | None:
    """A catalog row rebuilt from a run folder's manifest (None when the manifest is damaged).
    The folder's name is the id it is found by (a copied or renamed run keeps its manifest)."""
    from macrostack.runs.artifacts import read_manifest

    manifest_file = folder / "manifest.json"
    try:
        manifest = read_manifest(manifest_file)
        created = datetime.fromtimestamp(os.stat(manifest_file).st_mtime, timezone.utc).replace(tzinfo=None)
        return [folder.name, *manifest_row(manifest, folder, created)[1:]]
    except (InputError, KeyError, TypeError, AttributeError, OSError):
        return None


def list_runs(out: Path) -> pd.DataFrame:
    """Every complete run folder under `out`, one catalog row each, oldest first.

    Rows missing from the catalog are rebuilt from the manifests and written back when the
    catalog is free; rows of folders that no longer exist are dropped."""
    out = Path(out)
    folders = run_folders(out)
    path = catalog_path(out)
    if not folders and not path.exists():
        return pd.DataFrame(columns=list(COLUMNS))
    # A folder someone else owns (shared read-only) is listed without repairing its catalog.
    writable = os.access(path if path.exists() else out, os.W_OK)
    with out_lock(out):
        con = _connect(path, read_only=not writable, timeout=2.0) if writable or path.exists() else None
        if con is None:  # held by a reader (or nothing to read): list from the folders alone
            rows = {}
        else:
            with con:
                has_table = "runs" in {r[0] for r in con.execute("SHOW TABLES").fetchall()}
                rows = {r[0]: list(r) for r in con.execute("SELECT * FROM runs").fetchall()} if has_table else {}
                missing = {k: _folder_row(folders[k]) for k in folders.keys() - rows.keys()}
                repaired = [row for row in missing.values() if row is not None]
                gone = sorted(rows.keys() - folders.keys())
                if writable and (repaired or gone):
                    _upsert(con, repaired, gone)
                rows.update({row[0]: row for row in repaired})
        for k in folders.keys() - rows.keys():
            row = _folder_row(folders[k])
            if row is not None:
                rows[k] = row
    listed = [rows[k] for k in folders if k in rows]
    frame = pd.DataFrame(listed, columns=list(COLUMNS))
    frame["path"] = [str(folders[k].resolve()) for k in frame["run_id"]]  # where it is now, even if `out` moved
    return frame.sort_values(["created_at", "run_id"], kind="stable").reset_index(drop=True)
