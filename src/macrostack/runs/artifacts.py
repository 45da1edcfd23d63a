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

PARQUET_OPTIONS = {"compression": "zstd", "use_dictionary": True, "write_statistics": False}


def write_table(path: Path, frame: pd.DataFrame) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata(None)  # pandas metadata is not needed and not stable
    pq.write_table(table, path, **PARQUET_OPTIONS)


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
    """A run's JSON file (manifest.json, audit.json); InputError when missing or unreadable."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise InputError("run file missing", str(path), RESTORE) from None
    except (OSError, ValueError) as exc:
        raise InputError(f"unreadable JSON ({str(exc).splitlines()[0]})", str(path), RESTORE) from None


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
