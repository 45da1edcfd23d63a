"""The run directory: Parquet tables + JSON manifest, written so it appears only complete.

Layout (ARCHITECTURE.md "A run on disk"): manifest.json, weights.parquet (long: stage,
date, symbol, weight), daily.parquet, positions.parquet (held weights, sessions × symbols),
returns.parquet and costs.parquet (the market data the run used, so the audit can re-derive
the P&L from the artifacts alone), layers/*.parquet, audit.md, audit.json.

Files are byte-for-byte reproducible: no timestamps inside, fixed column order, fixed
Parquet writer options.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from macrostack.errors import InputError

# zstd level 1: the same size as the default level 3 on these tables at a third of the time.
PARQUET_OPTIONS = {"compression": "zstd", "compression_level": 1, "write_statistics": False}


def write_table(path: Path, frame: pd.DataFrame) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata(None)  # pandas metadata is not needed and not stable
    # Dictionary encoding for labels and dates only: float columns (weights, returns) have nearly
    # as many distinct values as rows, so their dictionaries were built only to be thrown away.
    dictionary = [f.name for f in table.schema if not pa.types.is_floating(f.type)]
    pq.write_table(table, path, use_dictionary=dictionary, **PARQUET_OPTIONS)


RESTORE = "re-run it with `macrostack run`, or restore the file"


def read_table(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """A run table (with only `columns`, in that order, when given). A missing or unreadable
    file, or a missing column, is one InputError naming the file."""
    try:
        frame = pq.read_table(path).to_pandas()
    except FileNotFoundError:
        raise InputError("run file missing", str(path), RESTORE) from None
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"unreadable Parquet ({str(exc).splitlines()[0]})", str(path), RESTORE) from None
    if columns is None:
        return frame
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"missing column(s) {missing[:5]}", str(path), RESTORE)
    return frame[list(columns)]


def read_json(path: Path) -> dict:
    """A run's JSON file (manifest.json, audit.json): a JSON object. InputError when missing,
    unreadable, or not an object."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise InputError("run file missing", str(path), RESTORE) from None
    except (OSError, ValueError) as exc:
        raise InputError(f"unreadable JSON ({str(exc).splitlines()[0]})", str(path), RESTORE) from None
    if not isinstance(data, dict):
        raise InputError(f"not a JSON object (found {type(data).__name__})", str(path), RESTORE)
    return data


def _field(obj: dict, key: str, kind: type, where: str, label: str | None = None):
    """`obj[key]`, which must be a `kind` (a bool is not an int); InputError naming the key."""
    label = label or key
    if key not in obj:
        raise InputError(f"missing key {label!r}", where, RESTORE)
    value = obj[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise InputError(f"key {label!r} is {type(value).__name__}, expected {kind.__name__}", where, RESTORE)
    return value


# The manifest keys the commands read, and their JSON types.
MANIFEST_KEYS = {"run_id": str, "config": dict, "config_hash": str, "data": dict, "metrics": dict, "ready_index": int,
                 "ready_date": str, "n_rebalances": int, "stage_statuses": dict, "pnl_contract": dict, "audit": str}


def read_manifest(path: Path) -> dict:
    """A run's manifest.json, checked: an object with every key of MANIFEST_KEYS of its type,
    `data.symbols` a non-empty list of names and `metrics.n_sessions` an integer."""
    where = str(path)
    manifest = read_json(path)
    for key, kind in MANIFEST_KEYS.items():
        _field(manifest, key, kind, where)
    symbols = _field(manifest["data"], "symbols", list, where, "data.symbols")
    if not symbols or not all(isinstance(s, str) for s in symbols):
        raise InputError("key 'data.symbols' must be a non-empty list of names", where, RESTORE)
    _field(manifest["metrics"], "n_sessions", int, where, "metrics.n_sessions")
    if manifest.get("attribution") is not None:
        _field(manifest, "attribution", dict, where)
        _field(manifest["attribution"], "sleeves", dict, where, "attribution.sleeves")
    return manifest


def read_audit(path: Path) -> dict:
    """A run's audit.json, checked: verdict PASS/FAIL, the failed names, checks and questions
    with the keys the summaries print."""
    where = str(path)
    audit = read_json(path)
    if _field(audit, "verdict", str, where) not in ("PASS", "FAIL"):
        raise InputError(f"verdict {audit['verdict']!r} is not PASS or FAIL", where, RESTORE)
    _field(audit, "failed", list, where)
    for name, keys in (("checks", ("check", "name", "passed")), ("questions", ("question", "verdict", "checks"))):
        for i, item in enumerate(_field(audit, name, list, where)):
            if not isinstance(item, dict) or any(k not in item for k in keys):
                raise InputError(f"{name}[{i}] lacks one of the keys {list(keys)}", where, RESTORE)
    return audit


DAILY_COLUMNS = ("date", "gross", "cost", "net", "equity", "traded", "gross_exposure", "net_exposure", "leverage",
                 "risk_scalar", "regime")
# Rebalance tables of layers/ and the columns the audit and the reports read.
LAYER_COLUMNS = {"risk_targeting": ("date", "leverage", "sigma_unit", "ex_ante_vol", "clipped"),
                 "allocator": ("date", "scalar_applied", "scalar_at_rebalance"),
                 "policy": ("date",), "construction": ("date",)}
EVENT_COLUMNS = ("date", "rebalance", "symbol", "before", "after", "reason")


def expected_tables(manifest: dict) -> dict[str, tuple[tuple[str, ...], str | None]]:
    """{file: (required columns, row rule)} of a complete run directory, from its manifest.

    Row rules: "sessions" (one row per session: ready_index + metrics.n_sessions), "rebalances"
    (n_rebalances), "weights" (a whole number >= 4 of n_rebalances × symbols blocks), None.
    sleeves.parquet belongs to runs whose manifest records an attribution."""
    symbols = tuple(manifest["data"]["symbols"])
    tables = {"daily.parquet": (DAILY_COLUMNS, "sessions"), "weights.parquet": (("stage", "date", "symbol", "weight"), "weights")}
    for name in ("positions", "returns", "costs"):
        tables[f"{name}.parquet"] = (("date", *symbols), "sessions")
    for layer, columns in LAYER_COLUMNS.items():
        tables[f"layers/{layer}.parquet"] = (columns, "rebalances")
    tables["layers/execution_events.parquet"] = (EVENT_COLUMNS, None)
    if manifest.get("attribution") is not None:
        parts = [*manifest["attribution"]["sleeves"], "residual"]
        tables["sleeves.parquet"] = (("date", *(f"{p}{s}" for p in dict.fromkeys(parts) for s in ("", ":gross", ":cost"))),
                                     "sessions")
    return tables


def check_run_tables(run_dir: Path, manifest: dict) -> None:
    """Every table of a complete run (`expected_tables`) is present, readable (its Parquet footer),
    has its columns and its number of rows. Reads footers only; InputError naming the file."""
    run_dir = Path(run_dir)
    tables = expected_tables(manifest)
    missing = [f for f in tables if not (run_dir / f).is_file()]
    if missing:
        raise InputError(f"run file missing: {', '.join(missing)} (not a complete run directory)", str(run_dir), RESTORE)
    n_reb, n_sym = manifest["n_rebalances"], len(manifest["data"]["symbols"])
    rows = {"sessions": manifest["ready_index"] + manifest["metrics"]["n_sessions"], "rebalances": n_reb}
    for name, (columns, rule) in tables.items():
        path = run_dir / name
        try:
            meta = pq.read_metadata(path)
            names = pq.read_schema(path).names
        except (OSError, pa.ArrowException) as exc:
            raise InputError(f"unreadable Parquet ({str(exc).splitlines()[0]})", str(path), RESTORE) from None
        absent = [c for c in columns if c not in names]
        if absent:
            raise InputError(f"missing column(s) {absent[:5]}", str(path), RESTORE)
        n = meta.num_rows
        if rule == "weights":
            block = n_reb * n_sym
            if block == 0 or n % block or n // block < 4:
                raise InputError(f"{n} rows, expected a multiple (>= 4 stages) of {n_reb} rebalances × {n_sym} symbols",
                                 str(path), RESTORE)
        elif rule is not None and n != rows[rule]:
            raise InputError(f"{n} rows, expected {rows[rule]} (one per {rule[:-1]} of the manifest)", str(path), RESTORE)


def check_dates(frame: pd.DataFrame, dates: pd.DatetimeIndex, path: Path, of: str) -> None:
    """InputError naming `path` unless its `date` column is `dates` (the dates of `of`)."""
    got = pd.DatetimeIndex(frame["date"])
    if len(got) != len(dates) or not (got == dates).all():
        k = next((i for i, (a, b) in enumerate(zip(got, dates)) if a != b), min(len(got), len(dates)))
        seen = got[k].date() if k < len(got) else "no row"
        want = dates[k].date() if k < len(dates) else "no row"
        raise InputError(f"dates differ from {of} at row {k} ({seen} vs {want})", str(path), RESTORE)


def read_session_panel(path: Path, symbols: list[str], dates: pd.DatetimeIndex) -> np.ndarray:
    """[sessions × symbols] of a per-session table (positions, returns, costs), checked to be on
    `dates` (daily.parquet's)."""
    frame = read_table(path, ["date", *symbols])
    check_dates(frame, dates, path, "daily.parquet")
    return frame[list(symbols)].to_numpy()


def session_panel(run_dir: Path, name: str, symbols: list[str], dates: pd.DatetimeIndex,
                  tables: dict[str, pd.DataFrame] | None = None) -> np.ndarray:
    """`read_session_panel` of `run_dir/name`, or of the frame a run has just written there (`tables`,
    by file name) without decoding it again: checked alike, and column-major as a Parquet read gives
    it, so that sums over the panel add in the same order either way."""
    frame = (tables or {}).get(name)
    if frame is None:
        return read_session_panel(run_dir / name, symbols, dates)
    missing = [c for c in ["date", *symbols] if c not in frame.columns]
    if missing:
        raise InputError(f"missing column(s) {missing[:5]}", str(run_dir / name), RESTORE)
    check_dates(frame, dates, run_dir / name, "daily.parquet")
    return np.asfortranarray(frame[list(symbols)].to_numpy())


def read_run(run_dir: Path) -> tuple[dict, dict]:
    """(manifest, audit) of a complete, consistent run directory: checked manifest.json and
    audit.json, and every table's footer (`check_run_tables`). InputError naming the file."""
    run_dir = Path(run_dir)
    if not (run_dir / "manifest.json").is_file():
        raise InputError("run file missing: manifest.json (not a complete run directory)", str(run_dir), RESTORE)
    manifest = read_manifest(run_dir / "manifest.json")
    audit = read_audit(run_dir / "audit.json")
    check_run_tables(run_dir, manifest)
    return manifest, audit


def panel_frame(dates: np.ndarray, symbols, panel: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame(panel, columns=list(symbols))
    frame.insert(0, "date", pd.to_datetime(dates))
    return frame


def jsonable(value):
    """NaN/inf → None, numpy scalars → Python, recursively (JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(jsonable(data), indent=2, sort_keys=True) + "\n")
