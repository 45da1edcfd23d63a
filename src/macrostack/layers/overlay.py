"""Discretionary overlay (Layer 4): bounded, dated, logged tilts.

A tilt file (CSV, or YAML with a list under `tilts:`) has rows
`start, end, scope, target, tilt, reason`: from `start` to `end` (inclusive, rebalance
dates) the weights of `target` are multiplied by `tilt`, where scope is `asset_class`,
`sleeve` or `symbol`. Tilts must lie in [min_tilt, max_tilt] (default [0.5, 1.5]) and carry
a reason. Several tilts on one weight multiply (and the product is bounded again).
Multiplicative tilts cannot re-enable a gated engine: a sleeve gated to 0 stays 0.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from macrostack.config import OverlayConfig, load_yaml
from macrostack.errors import InputError
from macrostack.userfiles import read_text

COLUMNS = ("start", "end", "scope", "target", "tilt", "reason")
SCOPES = ("asset_class", "sleeve", "symbol")


def read_tilts(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise InputError("overlay file not found", str(path), "check overlay.file")
    try:
        if path.suffix.lower() in (".yaml", ".yml"):  # the config's loader: duplicate keys are errors too
            raw = load_yaml(read_text(path, "overlay file"), str(path)) or {}
            frame = pd.DataFrame(raw.get("tilts", []) if isinstance(raw, dict) else raw)
        else:
            frame = pd.read_csv(path)
    except InputError:
        raise
    except (yaml.YAMLError, pd.errors.ParserError, ValueError) as exc:
        raise InputError(f"cannot read overlay file ({str(exc).splitlines()[0]})", str(path)) from None
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"missing column(s) {missing}", str(path), f"tilts need {', '.join(COLUMNS)}")
    return frame[list(COLUMNS)]


def validate_tilts(frame: pd.DataFrame, cfg: OverlayConfig, sleeves, symbols, asset_classes, where: str) -> pd.DataFrame:
    rows = []
    for i, row in enumerate(frame.itertuples(index=False)):
        line = f"{where} row {i + 1}"
        try:
            start, end = pd.Timestamp(row.start), pd.Timestamp(row.end)
        except (TypeError, ValueError):
            raise InputError(f"cannot parse start/end {row.start!r}/{row.end!r}", line, "use YYYY-MM-DD") from None
        if start > end:
            raise InputError("start is after end", line)
        if row.scope not in SCOPES:
            raise InputError(f"unknown scope {row.scope!r}", line, f"use one of {', '.join(SCOPES)}")
        known = {"sleeve": sleeves, "symbol": symbols, "asset_class": asset_classes}[row.scope]
        if row.target not in set(known):
            raise InputError(f"unknown {row.scope} {row.target!r}", line, f"use one of {', '.join(map(str, sorted(set(known))))}")
        try:
            tilt = float(row.tilt)
        except (TypeError, ValueError):
            tilt = float("nan")
        if not (np.isfinite(tilt) and cfg.min_tilt <= tilt <= cfg.max_tilt):
            raise InputError(f"tilt {row.tilt} outside [{cfg.min_tilt}, {cfg.max_tilt}]", line,
                             "tilts are bounded: change the tilt or overlay.min_tilt/max_tilt")
        if not isinstance(row.reason, str) or not row.reason.strip():
            raise InputError("a tilt needs a reason", line)
        rows.append({"start": start, "end": end, "scope": row.scope, "target": row.target, "tilt": tilt,
                     "reason": row.reason.strip()})
    return pd.DataFrame(rows, columns=list(COLUMNS))


def overlay_tilts(cfg: OverlayConfig, sleeves: list[str], symbols, asset_class_of: dict[str, str],
                  rebalance_dates: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray, pd.DataFrame]:
    """Sleeve tilts {sleeve: [R]}, instrument tilts [R, N], and the log of applied tilts."""
    n_reb, n = len(rebalance_dates), len(symbols)
    sleeve_tilt = {k: np.ones(n_reb) for k in sleeves}
    inst_tilt = np.ones((n_reb, n))
    log = pd.DataFrame(columns=["date", *COLUMNS[2:]])
    if not cfg.file:
        return sleeve_tilt, inst_tilt, log
    tilts = validate_tilts(read_tilts(cfg.file), cfg, sleeves, symbols, set(asset_class_of.values()), cfg.file)
    dates = pd.DatetimeIndex(rebalance_dates)
    rows = []
    for t in tilts.itertuples(index=False):
        on = (dates >= t.start) & (dates <= t.end)
        if not on.any():
            continue
        if t.scope == "sleeve":
            sleeve_tilt[t.target][on] *= t.tilt
        else:
            cols = [j for j, s in enumerate(symbols) if (s == t.target if t.scope == "symbol" else asset_class_of[s] == t.target)]
            inst_tilt[np.ix_(on, cols)] *= t.tilt
        rows.append(pd.DataFrame({"date": dates[on], "scope": t.scope, "target": t.target, "tilt": t.tilt,
                                  "reason": t.reason}))
    for k in sleeve_tilt:  # the product of several tilts stays within the bounds
        sleeve_tilt[k] = np.clip(sleeve_tilt[k], cfg.min_tilt, cfg.max_tilt)
    inst_tilt = np.clip(inst_tilt, cfg.min_tilt, cfg.max_tilt)
    if rows:
        log = pd.concat(rows, ignore_index=True).sort_values(["date", "scope", "target"], kind="stable")
    return sleeve_tilt, inst_tilt, log
