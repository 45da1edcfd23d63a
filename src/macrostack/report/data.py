"""Read a run directory for reporting: the ready-period slices of its artifacts.

Everything a report shows comes from the files of one run directory (ARCHITECTURE.md "A
run on disk"); nothing here re-runs a layer or recomputes P&L. Daily tables are cut to the
ready period (sessions `manifest["ready_index"]:`), the window the manifest's metrics
summarise, so every chart agrees with the headline numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from macrostack.layers.allocator import REGIMES
from macrostack.runs.artifacts import read_audit, read_manifest, read_run, read_table, session_panel

__all__ = ["REGIMES", "HEATMAP_STAGES", "RunData", "load_run", "load_weights"]


# The stages after construction whose weights a PM compares (sizes in multiples of NAV).
HEATMAP_STAGES = ("w_pre", "w_rt", "w_alloc", "w_exec")


@dataclass
class RunData:
    """The artifacts of one run, ready period only (daily tables aligned on `dates`).

    daily: the daily.parquet columns (gross, cost, net, equity, traded, gross_exposure,
    net_exposure, leverage, risk_scalar, regime), one row per ready session.
    positions / returns: sessions × symbols (held weights in multiples of NAV; simple
    returns, NaN = no return). rt / alloc: per-rebalance layer tables (ready period; alloc
    None for a run directory without one).
    sleeves: sleeves.parquet (ready period) or None. asset_classes: symbol → class.
    tables: frames a run handed over as it wrote them, by file name (`load_run`); `table` reads the rest.
    """

    path: Path
    manifest: dict
    audit: dict | None
    dates: pd.DatetimeIndex
    daily: pd.DataFrame
    symbols: list[str]
    positions: np.ndarray
    returns: np.ndarray
    rt: pd.DataFrame
    alloc: pd.DataFrame | None
    sleeves: pd.DataFrame | None
    asset_classes: dict[str, str]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    def table(self, name: str) -> pd.DataFrame | None:
        """The whole table `name` of the run folder (e.g. "layers/trading.parquet"), None if it has none."""
        return _frame(self.path, self.tables, name, optional=True)

    @property
    def run_id(self) -> str:
        return str(self.manifest["run_id"])

    @property
    def target_vol(self) -> float | None:
        return self.manifest["config"].get("risk_targeting", {}).get("target_vol")

    @property
    def lag(self) -> int:
        return int(self.manifest.get("pnl_contract", {}).get("lag", 1))

    @property
    def allocator_mode(self) -> str:
        return str(self.manifest["config"].get("allocator", {}).get("mode", "off"))


def _ready(frame: pd.DataFrame, first: pd.Timestamp) -> pd.DataFrame:
    return frame.loc[pd.to_datetime(frame["date"]) >= first].reset_index(drop=True)


def _as_read(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame as reading the Parquet file it was written to gives it back: timestamps in ms
    (Parquet has no seconds unit); every value unchanged."""
    seconds = [c for c in frame.columns if frame[c].dtype == "datetime64[s]"]
    return frame.astype({c: "datetime64[ms]" for c in seconds}) if seconds else frame


def _frame(run_dir: Path, tables: dict, name: str, optional: bool = False) -> pd.DataFrame | None:
    """Table `name` of a run folder: the frame in `tables` as its file reads back, else the file
    (None when `optional` and there is none)."""
    if name in tables:
        return _as_read(tables[name])
    if optional and not (run_dir / name).exists():
        return None
    return read_table(run_dir / name)


def load_run(run_dir: Path, tables: dict[str, pd.DataFrame] | None = None, returns: np.ndarray | None = None) -> RunData:
    """Load a run directory (ready period). InputError (naming the file) if it is not a complete,
    consistent run directory (`artifacts.read_run`; session tables on daily.parquet's dates).

    tables / returns: what a run just wrote into `run_dir` (the frames by file name; the returns panel
    whose sha256 the manifest records), used instead of decoding those files again — the run checks
    its files itself. The data is the same either way, so the report is too. `macrostack report` reads
    the folder."""
    run_dir = Path(run_dir)
    tables = tables or {}
    if tables:
        manifest, audit = read_manifest(run_dir / "manifest.json"), read_audit(run_dir / "audit.json")
    else:
        manifest, audit = read_run(run_dir)
    symbols = list(manifest["data"]["symbols"])

    daily_all = _frame(run_dir, tables, "daily.parquet")
    all_dates = pd.DatetimeIndex(daily_all["date"])
    ready = manifest["ready_index"]

    def panel(name: str, given: np.ndarray | None = None) -> np.ndarray:
        if given is not None:  # column-major, as read from disk: sums add in the same order
            return np.asfortranarray(given)[ready:]
        return session_panel(run_dir, name, symbols, all_dates, tables)[ready:]

    daily = daily_all.iloc[ready:].reset_index(drop=True)
    dates = pd.DatetimeIndex(pd.to_datetime(daily["date"]))
    first = dates[0] if len(dates) else pd.Timestamp.max
    classes = manifest["data"].get("asset_classes") or {}
    asset_classes = {s: str(classes.get(s) or "Unknown") for s in symbols} if classes else {s: "all" for s in symbols}

    def ready_table(name: str, optional: bool = False) -> pd.DataFrame | None:
        frame = _frame(run_dir, tables, name, optional)
        return None if frame is None else _ready(frame, first)

    return RunData(
        path=run_dir, manifest=manifest, audit=audit, dates=dates, daily=daily, symbols=symbols,
        positions=panel("positions.parquet"), returns=panel("returns.parquet", returns),
        rt=ready_table("layers/risk_targeting.parquet"), alloc=ready_table("layers/allocator.parquet", optional=True),
        sleeves=ready_table("sleeves.parquet", optional=True), asset_classes=asset_classes, tables=tables,
    )


def load_weights(run_dir: Path, stages=HEATMAP_STAGES, start=None, end=None, weights: pd.DataFrame | None = None) -> pd.DataFrame:
    """Rows of weights.parquet for `stages` with `start <= date <= end` (long: stage, date, symbol, weight).

    pyarrow filters the rows while reading (a full core run holds ~2.9M rows); `weights`: the frame
    the run wrote to that file, filtered in memory instead (the same rows, as the file reads back).
    """
    if weights is not None:
        keep = weights["stage"].isin(list(stages)).to_numpy()
        if start is not None:
            keep = keep & (weights["date"] >= pd.Timestamp(start)).to_numpy()
        if end is not None:
            keep = keep & (weights["date"] <= pd.Timestamp(end)).to_numpy()
        return _labels(_as_read(weights.loc[keep].reset_index(drop=True)))
    filters = [("stage", "in", list(stages))]
    if start is not None:
        filters.append(("date", ">=", pd.Timestamp(start)))
    if end is not None:
        filters.append(("date", "<=", pd.Timestamp(end)))
    return _labels(pq.read_table(Path(run_dir) / "weights.parquet", filters=filters).to_pandas())


def _labels(frame: pd.DataFrame) -> pd.DataFrame:
    """Stage and symbol as plain strings (not categories)."""
    frame["stage"] = frame["stage"].astype(str)
    frame["symbol"] = frame["symbol"].astype(str)
    return frame
