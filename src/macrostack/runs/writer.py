"""Write a Ledger into a (staging) run directory (the market panels go to `runs.panels`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from macrostack.metrics import equity
from macrostack.pnl import period_bounds
from macrostack.runs.artifacts import panel_frame, write_table
from macrostack.simulate import Ledger


def _in_force(ledger: Ledger, per_rebalance: np.ndarray, lag: int) -> np.ndarray:
    """A per-rebalance value carried onto the sessions its weights are held (NaN before).

    The holding periods (`pnl.period_bounds`) are consecutive, so the values repeated by
    period length fill the sessions from the first period's start on."""
    n = len(ledger.dates)
    bounds = period_bounds(ledger.rebalance_idx, lag, n)
    out = np.full(n, np.nan)
    if len(bounds):
        filled = np.repeat(np.asarray(per_rebalance, dtype=float), bounds[:, 1] - bounds[:, 0])
        out[bounds[0, 0]: bounds[0, 0] + len(filled)] = filled
    return out


def write_ledger(tmp: Path, ledger: Ledger, lag: int, keep: dict | None = None, writer=write_table) -> None:
    """Write the ledger's tables into `tmp`; `keep` (a dict) receives each frame written, by its
    path relative to `tmp`, so that the run's audit reads what was encoded instead of decoding it.
    `writer(path, frame)` writes one table (a run passes one that queues it on a thread)."""
    def write(name: str, frame: pd.DataFrame) -> None:
        writer(tmp / name, frame)
        if keep is not None:
            keep[name] = frame

    dates = pd.to_datetime(ledger.dates)
    reb_dates = dates[ledger.rebalance_idx]
    n_reb, n = len(ledger.rebalance_idx), len(ledger.symbols)

    # weights.parquet: long, every stage, every rebalance, every symbol.
    stage_names = list(ledger.stages)
    # Categoricals from integer codes: building them from ~3 M strings took ~1.8 s.
    weights = pd.DataFrame({
        "stage": pd.Categorical.from_codes(np.repeat(np.arange(len(stage_names)), n_reb * n), stage_names),
        "date": np.tile(np.repeat(reb_dates.to_numpy(), n), len(stage_names)),
        "symbol": pd.Categorical.from_codes(np.tile(np.arange(n), n_reb * len(stage_names)), list(ledger.symbols)),
        "weight": np.concatenate([ledger.stages[s].reshape(-1) for s in stage_names]),
    })
    write("weights.parquet", weights)

    d = ledger.daily
    leverage = _in_force(ledger, ledger.layers["risk_targeting"]["leverage"], lag)
    scalar = _in_force(ledger, ledger.layers["allocator"]["scalar_applied"], lag)
    daily = pd.DataFrame({
        "date": dates, "gross": d["gross"], "cost": d["cost"], "net": d["net"], "equity": equity(d["net"]),
        "traded": d["traded"], "gross_exposure": d["gross_exposure"], "net_exposure": d["net_exposure"],
        "leverage": leverage, "risk_scalar": scalar,
        "regime": d.get("allocator_regime", np.full(len(dates), np.nan)),
    })
    write("daily.parquet", daily)
    write("positions.parquet", panel_frame(ledger.dates, ledger.symbols, ledger.held))

    if ledger.overlay_log is not None and len(ledger.overlay_log):
        write("layers/overlay.parquet", ledger.overlay_log.reset_index(drop=True))
    for layer, diag in ledger.layers.items():
        frame = pd.DataFrame({"date": reb_dates, **{k: np.asarray(v, dtype=float) for k, v in diag.items()}})
        write(f"layers/{layer}.parquet", frame)
    allocator_daily = {k.removeprefix("allocator_"): v for k, v in d.items() if k.startswith("allocator_")}
    if allocator_daily:
        write("layers/allocator_daily.parquet", pd.DataFrame({"date": dates, **allocator_daily}))
    ev = ledger.events
    write("layers/execution_events.parquet", pd.DataFrame({
        "date": pd.to_datetime(np.asarray(ledger.rebalance_dates)[np.asarray(ev["rebalance"], dtype=int)]),
        "rebalance": np.asarray(ev["rebalance"], dtype=np.int64),
        "symbol": np.asarray(ledger.symbols, dtype=object)[np.asarray(ev["instrument"], dtype=int)],
        "before": np.asarray(ev["before"], dtype=float), "after": np.asarray(ev["after"], dtype=float),
        "reason": np.asarray(ev["reason"], dtype=object),
    }))
