"""Read a run directory for reporting: the ready-period slices of its artifacts.

Everything a report shows comes from the files of one run directory (ARCHITECTURE.md "A
run on disk"); nothing here re-runs a layer or recomputes P&L. Daily tables are cut to the
ready period (sessions `manifest["ready_index"]:`), the window the manifest's metrics
summarise, so every chart agrees with the headline numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from macrostack.layers.allocator import REGIMES
from macrostack.runs.artifacts import read_run, read_session_panel, read_table

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


def _optional_table(path: Path, first: pd.Timestamp) -> pd.DataFrame | None:
    return _ready(read_table(path), first) if path.exists() else None


def load_run(run_dir: Path) -> RunData:
    """Load a run directory (ready period). InputError (naming the file) if it is not a complete,
    consistent run directory (`artifacts.read_run`; session tables on daily.parquet's dates)."""
    run_dir = Path(run_dir)
    manifest, audit = read_run(run_dir)
    symbols = list(manifest["data"]["symbols"])

    daily_all = read_table(run_dir / "daily.parquet")
    all_dates = pd.DatetimeIndex(daily_all["date"])
    ready = manifest["ready_index"]
    daily = daily_all.iloc[ready:].reset_index(drop=True)
    dates = pd.DatetimeIndex(pd.to_datetime(daily["date"]))
    first = dates[0] if len(dates) else pd.Timestamp.max
    positions = read_session_panel(run_dir / "positions.parquet", symbols, all_dates)[ready:]
    returns = read_session_panel(run_dir / "returns.parquet", symbols, all_dates)[ready:]

    layers = run_dir / "layers"
    classes = manifest["data"].get("asset_classes") or {}
    asset_classes = {s: str(classes.get(s) or "Unknown") for s in symbols} if classes else {s: "all" for s in symbols}
    return RunData(
        path=run_dir, manifest=manifest, audit=audit, dates=dates, daily=daily, symbols=symbols,
        positions=positions, returns=returns,
        rt=_ready(read_table(layers / "risk_targeting.parquet"), first),
        alloc=_optional_table(layers / "allocator.parquet", first),
        sleeves=_optional_table(run_dir / "sleeves.parquet", first),
        asset_classes=asset_classes,
    )


def load_weights(run_dir: Path, stages=HEATMAP_STAGES, start=None, end=None) -> pd.DataFrame:
    """Rows of weights.parquet for `stages` with `start <= date <= end` (long: stage, date, symbol, weight).

    pyarrow filters the rows while reading (a full core run holds ~2.9M rows).
    """
    filters = [("stage", "in", list(stages))]
    if start is not None:
        filters.append(("date", ">=", pd.Timestamp(start)))
    if end is not None:
        filters.append(("date", "<=", pd.Timestamp(end)))
    frame = pq.read_table(Path(run_dir) / "weights.parquet", filters=filters).to_pandas()
    frame["stage"] = frame["stage"].astype(str)
    frame["symbol"] = frame["symbol"].astype(str)
    return frame
