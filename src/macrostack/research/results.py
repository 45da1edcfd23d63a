"""A sweep's results on disk: streamed as they finish, read back for statistics.

    OUT/sweeps/<sweep id>/
      sweep.json              the sweep: id, source, resolved spec, base config hash, the points
      points/part-*.parquet   one row per finished point: index, config hash, values (JSON),
                              headline metrics, status, error, seconds, data hash
      returns/part-*.parquet  the points' daily net returns (float64): date × config hash

Each finished chunk of points adds one part of each, written to a temporary name and
renamed, so a killed sweep leaves only whole parts and resumes from them. Nothing is held in
memory across chunks.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from macrostack.errors import InputError
from macrostack.runs.artifacts import jsonable, read_json, read_table, write_json, write_table

SWEEPS_DIR = "sweeps"
METRICS = ("cagr", "ann_vol", "sharpe", "sortino", "max_drawdown", "calmar", "worst_month", "hit_rate", "skew",
           "avg_gross_leverage", "turnover_per_year", "cost_drag", "realised_vol_ratio", "periods_per_year",
           "n_sessions", "first_date", "last_date")


def sweep_folder(out: Path, sweep_id: str) -> Path:
    return Path(out) / SWEEPS_DIR / sweep_id


def write_sweep_file(folder: Path, sweep) -> None:
    """sweep.json (once): the id, the resolved spec and every point's values and config hash."""
    if (folder / "sweep.json").is_file():
        return
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".sweep.json.tmp-{os.getpid()}"
    write_json(tmp, {"sweep_id": sweep.sweep_id, "name": sweep.name, "source": sweep.source,
                     "spec": sweep.spec.model_dump(mode="json"), "base_config_hash": sweep.base.config_hash(),
                     "base_config": sweep.base.resolved(), "varied": sweep.varied,
                     "points": [{"point": p.index, "config_hash": p.config_hash, "values": p.values}
                                for p in sweep.points]})
    tmp.rename(folder / "sweep.json")


def _part_name() -> str:
    return f"part-{time.time_ns():020d}-{os.getpid()}.parquet"


def _write_atomically(path: Path, frame: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write_table(tmp, frame)
        tmp.rename(path)
    finally:
        tmp.unlink(missing_ok=True)


def write_part(folder: Path, rows: list[dict], values: dict[int, dict]) -> None:
    """Append one chunk's results: a points part and, for the points that finished, a returns part."""
    name = _part_name()
    ok = [r for r in rows if r["status"] == "ok"]
    if ok:
        series = {r["config_hash"]: pd.Series(r["net"], index=pd.DatetimeIndex(r["dates"])) for r in ok}
        wide = pd.DataFrame(series).sort_index()
        wide.index.name = "date"
        _write_atomically(folder / "returns" / name, wide.reset_index())
    table = pd.DataFrame({
        "point": [int(r["point"]) for r in rows],
        "config_hash": [r["config_hash"] for r in rows],
        "values": [json.dumps(jsonable(values[int(r["point"])]), sort_keys=True) for r in rows],
        **{m: [_metric(r["metrics"].get(m)) for r in rows] for m in METRICS},
        "status": [r["status"] for r in rows], "error": [r["error"] for r in rows],
        "seconds": [float(r["seconds"]) for r in rows], "data_hash": [r["data_hash"] or "" for r in rows],
    })
    _write_atomically(folder / "points" / name, table)


def _metric(value):
    if value is None:
        return np.nan
    return str(value) if isinstance(value, str) else float(value)


def _parts(folder: Path, kind: str) -> list[Path]:
    return sorted((folder / kind).glob("part-*.parquet")) if (folder / kind).is_dir() else []


def read_sweep_file(folder: Path) -> dict:
    path = folder / "sweep.json"
    if not path.is_file():
        raise InputError("not a sweep folder (no sweep.json)", str(folder), "see `macrostack sweeps`")
    return read_json(path)


def read_points(folder: Path) -> pd.DataFrame:
    """Every finished point (the last result of a point that was re-run wins), ordered by point."""
    parts = [read_table(p) for p in _parts(folder, "points")]
    if not parts:
        return pd.DataFrame(columns=["point", "config_hash", "values", *METRICS, "status", "error", "seconds",
                                     "data_hash"])
    frame = pd.concat(parts, ignore_index=True)
    return frame.drop_duplicates("config_hash", keep="last").sort_values("point").reset_index(drop=True)


def read_returns(folder: Path, hashes: list[str] | None = None) -> pd.DataFrame:
    """Daily net returns, sessions × config hash (NaN where a point's ready period has not begun)."""
    frames = []
    for part in _parts(folder, "returns"):
        frame = read_table(part).set_index("date")
        if hashes is not None:
            frame = frame[[c for c in frame.columns if c in set(hashes)]]
        frames.append(frame)
    if not frames:
        return pd.DataFrame(index=pd.DatetimeIndex([], name="date"))
    wide = pd.concat(frames, axis=1).sort_index()
    wide = wide.loc[:, ~wide.columns.duplicated(keep="last")]
    return wide[hashes] if hashes is not None else wide


def list_sweeps(out: Path) -> list[dict]:
    """Every sweep folder under OUT/sweeps: id, points, finished, failed, best Sharpe."""
    root = Path(out) / SWEEPS_DIR
    rows = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        if not (folder / "sweep.json").is_file():
            continue
        meta = read_sweep_file(folder)
        pts = read_points(folder)
        ok = pts[pts["status"] == "ok"]
        rows.append({"sweep_id": meta["sweep_id"], "source": meta["source"], "points": len(meta["points"]),
                     "finished": len(ok), "failed": int((pts["status"] == "failed").sum()),
                     "best_sharpe": float(ok["sharpe"].max()) if len(ok) else None, "varied": meta["varied"]})
    return rows
