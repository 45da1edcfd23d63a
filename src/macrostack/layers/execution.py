"""Margin and execution (Layer 7): which hard external constraints bind?

Applied in order to the allocator's output at each rebalance:
1. per-instrument cap: `w_i ← clip(w_i, −cap, cap)`;
2. gross cap (margin-to-equity proxy): if `G(w) > gross_cap`, `w ← w · gross_cap / G(w)`;
3. no-trade buffer: if `|w_i − w_prev,i| < buffer`, keep `w_prev,i` (the previous executed
   weight) — small trades cost more than they earn;
4. contract rounding (when `capital` is set): `n_i = round(w_i · NAV / notional_i)` contracts
   (half to even), `w_i ← n_i · notional_i / NAV`, with `notional_i = price_i × point size_i × FX_i`
   (USD per contract) and `NAV = capital × equity[t]`. An instrument with no contract price yet gets 0.
Every change is recorded as an event (rebalance, instrument, before, after, reason). Where
no constraint binds, the executed weights are the allocator's weights exactly; this layer
never renormalises otherwise.

The rule runs compiled (`kernels.book.execute`), inside the simulator's rebalance loop; the
loop keeps the weights after every step, and the events are read off them afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from macrostack.config import ExecutionConfig
from macrostack.kernels import kernel

# The steps, in the order they run: the event reason of each.
STEPS = ("instrument_cap", "gross_cap", "no_trade_buffer", "contract_rounding")


def execution_params(cfg: ExecutionConfig) -> np.ndarray:
    """The kernel's parameters (`kernels.book`): instrument cap, gross cap, buffer, capital; NaN = off."""
    off = float("nan")
    return np.array([off if cfg.instrument_cap is None else float(cfg.instrument_cap),
                     off if cfg.gross_cap is None else float(cfg.gross_cap),
                     float(cfg.no_trade_buffer), off if cfg.capital is None else float(cfg.capital)])


def steps_on(cfg: ExecutionConfig) -> tuple[bool, ...]:
    """Which of `STEPS` are configured (an off step changes nothing and records nothing)."""
    return (cfg.instrument_cap is not None, cfg.gross_cap is not None, cfg.no_trade_buffer > 0,
            cfg.capital is not None)


@dataclass
class ExecutionEvents:
    """Constraint events as parallel lists (rebalance index, instrument index, before, after, reason)."""
    rebalance: list[int] = field(default_factory=list)
    instrument: list[int] = field(default_factory=list)
    before: list[float] = field(default_factory=list)
    after: list[float] = field(default_factory=list)
    reason: list[str] = field(default_factory=list)

    @classmethod
    def from_steps(cls, steps: np.ndarray, cfg: ExecutionConfig) -> ExecutionEvents:
        """Every instrument that a configured step changed, from `steps` [5, R, N] (the weights
        before the first step, then after each), ordered by rebalance, then step, then instrument."""
        parts = []
        for k, on in enumerate(steps_on(cfg)):
            if on:  # a NaN weight left NaN is no change
                before, after = steps[k], steps[k + 1]
                j, i = np.nonzero((after != before) & ~(np.isnan(after) & np.isnan(before)))
                parts.append((j, np.full(len(j), k), i, steps[k][j, i], steps[k + 1][j, i]))
        if not parts:
            return cls()
        j, k, i, before, after = (np.concatenate(c) for c in zip(*parts))
        order = np.lexsort((i, k, j))
        return cls(j[order].tolist(), i[order].tolist(), before[order].tolist(), after[order].tolist(),
                   [STEPS[s] for s in k[order].tolist()])

    def __len__(self) -> int:
        return len(self.reason)


class Execution:
    """The execution rule of one rebalance at a time (what the loop runs, for a caller outside it)."""

    def __init__(self, cfg: ExecutionConfig):
        self.cfg = cfg
        self._params = execution_params(cfg)
        self.events = ExecutionEvents()

    def apply(self, j: int, w_alloc: np.ndarray, w_prev: np.ndarray, notional: np.ndarray | None = None,
              nav: float | None = None) -> np.ndarray:
        """Executed weights for rebalance j from the allocator's weights and the previous executed ones;
        the events go to `self.events`. `notional` (USD per contract [N]) and `nav` (USD) are needed
        when `capital` is set."""
        w_alloc = np.ascontiguousarray(w_alloc, dtype=float)
        n = len(w_alloc)
        if w_alloc.ndim != 1 or np.shape(w_prev) != (n,):
            raise ValueError(f"w_alloc and w_prev must be vectors of one length, got {w_alloc.shape} and {np.shape(w_prev)}")
        if self.cfg.capital is not None:
            if notional is None or nav is None:
                raise ValueError("contract rounding needs notional and nav")
            if np.shape(notional) != (n,):
                raise ValueError(f"notional must have the weights' shape ({n},), got {np.shape(notional)}")
        steps = np.empty((5, 1, n))
        steps[0, 0] = w_alloc
        rows = np.empty((4, n))
        kernel("book_execute")(w_alloc, np.ascontiguousarray(w_prev, dtype=float),
                               np.ascontiguousarray(notional if notional is not None else np.zeros(n), dtype=float),
                               float(nav if nav is not None else 1.0), self._params, rows)
        steps[1:, 0] = rows
        new = ExecutionEvents.from_steps(steps, self.cfg)
        self.events.rebalance += [j] * len(new)
        for name in ("instrument", "before", "after", "reason"):
            getattr(self.events, name).extend(getattr(new, name))
        return rows[3].copy()
