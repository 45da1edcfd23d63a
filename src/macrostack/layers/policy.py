"""Engine policy (Layer 2): is this engine valid in this environment?

Per-sleeve gates from daily stress features of a named instrument (data <= d only):
- `realised_vol_percentile`: σ_w[d] = std(r[d−w+1..d])·√252, as the share of the trailing
  `lookback` values of σ_w that are <= σ_w[d] (1.0 = highest of the year);
- `vol_level_percentile`: the same percentile of a volatility future's held-contract price;
- `term_structure_inversion`: `(P_front − P_next) / P_next` of a volatility future, with the
  next contract chosen as the vol-carry engine chooses it (`carry.next_later_contract`:
  FORWARD if later than the held contract, else CARRY if later); > 0 means inverted
  (backwardation: stress).
Gate value at a rebalance: `binary` → 0 when the feature >= threshold, else 1; `throttle` →
`clip((full_off − x) / (full_off − threshold), 0, 1)`. A gate decided at rebalance j−1
applies at rebalance j (one-rebalance lag). Several gates on one sleeve multiply. A
missing feature value leaves the gate open (1) and is counted in the diagnostics.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from macrostack import rolling
from macrostack.config import GateConfig, PolicyConfig
from macrostack.data.market import MarketData
from macrostack.engines.carry import next_later_contract
from macrostack.errors import InputError


def trailing_percentile(x: np.ndarray, lookback: int) -> np.ndarray:
    """Share of the trailing `lookback` values (incl. today) that are <= x[d]; NaN if any missing."""
    out = np.full(len(x), np.nan)
    if len(x) < lookback:
        return out
    win = sliding_window_view(x, lookback)                   # [T−L+1, L], row k ends at k+L−1
    pct = (win <= win[:, -1:]).mean(axis=1)
    pct[np.isnan(win).any(axis=1)] = np.nan
    out[lookback - 1:] = pct
    return out


def gate_feature(gate: GateConfig, md: MarketData) -> np.ndarray:
    """The daily stress feature of one gate [sessions]."""
    if gate.symbol not in md.symbols:
        raise InputError(f"policy gate needs {gate.symbol!r}, which is not in the universe of {md.dataset!r}",
                         "policy.gates.symbol", "add it to data.universe or pick another symbol")
    i = md.symbols.index(gate.symbol)
    if gate.feature == "realised_vol_percentile":
        r = md.returns[:, i: i + 1]
        vol = rolling.rolling_std(np.where(np.isnan(r), 0.0, r), gate.window)[:, 0] * np.sqrt(252)
        vol[np.cumsum(~np.isnan(r[:, 0])) < gate.window] = np.nan
        return trailing_percentile(vol, gate.lookback)
    needs = ("price",) if gate.feature == "vol_level_percentile" else (
        "price", "carry", "forward", "price_contract", "carry_contract", "forward_contract")
    missing = [f for f in needs if f not in md.panels or np.isnan(md.panels[f][:, i]).all()]
    if missing:
        raise InputError(f"policy gate {gate.feature} needs contract data {missing} for {gate.symbol!r}",
                         "policy.gates", "use a contract-level dataset (macrostack data ingest pysystemtrade PATH)")
    front = md.panels["price"][:, i]
    if gate.feature == "vol_level_percentile":
        return trailing_percentile(front, gate.lookback)
    nxt, _ = next_later_contract(*(md.panels[f][:, i] for f in
                                   ("carry", "forward", "price_contract", "carry_contract", "forward_contract")))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (front - nxt) / nxt


def gate_values(gate: GateConfig, feature_at_rebalance: np.ndarray) -> np.ndarray:
    """Gate in [0, 1] decided at each rebalance (before the lag); NaN feature → open."""
    x = feature_at_rebalance
    if gate.mode == "binary":
        g = np.where(x >= gate.threshold, 0.0, 1.0)
    else:
        g = np.clip((gate.full_off - x) / (gate.full_off - gate.threshold), 0.0, 1.0)
    return np.where(np.isnan(x), 1.0, g)


def sleeve_gates(cfg: PolicyConfig, sleeves: list[str], md: MarketData, rebalance_idx: np.ndarray
                 ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Applied gate per sleeve per rebalance (lagged one rebalance), and diagnostics."""
    applied = {k: np.ones(len(rebalance_idx)) for k in sleeves}
    diagnostics: dict[str, np.ndarray] = {}
    for n, gate in enumerate(cfg.gates):
        if gate.sleeve not in applied:
            continue
        feature = gate_feature(gate, md)[rebalance_idx]
        decided = gate_values(gate, feature)
        lagged = np.append(1.0, decided[:-1])
        applied[gate.sleeve] = applied[gate.sleeve] * lagged
        diagnostics[f"gate{n}:{gate.sleeve}:{gate.feature}"] = feature
        diagnostics[f"gate{n}:{gate.sleeve}:decided"] = decided
    for k, g in applied.items():
        diagnostics[f"applied:{k}"] = g
    return applied, diagnostics
