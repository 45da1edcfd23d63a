"""Margin and execution (Layer 7): which hard external constraints bind?

Applied in order to the allocator's output at each rebalance:
1. per-instrument cap: `w_i ← clip(w_i, −cap, cap)`;
2. gross cap (margin-to-equity proxy): if `G(w) > gross_cap`, `w ← w · gross_cap / G(w)`;
3. no-trade buffer: if `|w_i − w_prev,i| < buffer`, keep `w_prev,i` (the previous executed
   weight) — small trades cost more than they earn;
4. contract rounding (when `capital` is set): `n_i = round(w_i · NAV / notional_i)` contracts,
   `w_i ← n_i · notional_i / NAV`, with `notional_i = price_i × point size_i × FX_i` (USD per
   contract) and `NAV = capital × equity[t]`. An instrument with no contract price yet gets 0.
Every change is recorded as an event (rebalance, instrument, before, after, reason). Where
no constraint binds, the executed weights are the allocator's weights exactly; this layer
never renormalises otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from macrostack.config import ExecutionConfig

@dataclass
class ExecutionEvents:
    """Constraint events as parallel lists (rebalance index, instrument index, before, after, reason)."""
    rebalance: list[int] = field(default_factory=list)
    instrument: list[int] = field(default_factory=list)
    before: list[float] = field(default_factory=list)
    after: list[float] = field(default_factory=list)
    reason: list[str] = field(default_factory=list)

    def add(self, j: int, idx: np.ndarray, before: np.ndarray, after: np.ndarray, reason: str) -> None:
        for i in idx:
            self.rebalance.append(j)
            self.instrument.append(int(i))
            self.before.append(float(before[i]))
            self.after.append(float(after[i]))
            self.reason.append(reason)

    def __len__(self) -> int:
        return len(self.reason)


class Execution:
    def __init__(self, cfg: ExecutionConfig):
        self.cfg = cfg
        self.events = ExecutionEvents()

    def apply(self, j: int, w_alloc: np.ndarray, w_prev: np.ndarray, notional: np.ndarray | None = None,
              nav: float | None = None) -> np.ndarray:
        """Executed weights for rebalance j from the allocator's weights and the previous executed ones.

        `notional` (USD per contract [N]) and `nav` (USD) are needed when `capital` is set."""
        c = self.cfg
        w = w_alloc.copy()
        if c.instrument_cap is not None:
            capped = np.minimum(np.maximum(w, -c.instrument_cap), c.instrument_cap)
            w = self._record(j, w, capped, "instrument_cap")
        if c.gross_cap is not None:
            gross = np.abs(w).sum()
            if gross > c.gross_cap:
                w = self._record(j, w, w * (c.gross_cap / gross), "gross_cap")
        if c.no_trade_buffer > 0:
            small = (np.abs(w - w_prev) < c.no_trade_buffer) & (w != w_prev)
            w = self._record(j, w, np.where(small, w_prev, w), "no_trade_buffer")
        if c.capital is not None:
            ok = np.isfinite(notional) & (notional > 0)
            contracts = np.where(ok, np.round(w * nav / np.where(ok, notional, 1.0)), 0.0)
            w = self._record(j, w, contracts * np.where(ok, notional, 0.0) / nav, "contract_rounding")
        return w

    def _record(self, j: int, before: np.ndarray, after: np.ndarray, reason: str) -> np.ndarray:
        """Log every instrument that `reason` changed at rebalance j; return `after`."""
        changed = after != before
        if changed.any():
            self.events.add(j, np.flatnonzero(changed), before, after, reason)
        return after
