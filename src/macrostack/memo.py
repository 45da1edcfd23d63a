"""Results that depend only on the data and their own parameters, computed once per sweep worker.

A sweep runs many configs over one MarketData. Engine signals, instrument vol and sleeve
sizing depend only on the data and their own config sections, and the allocator's
correlation state only on the returns; points that differ in later layers (risk targeting,
allocator, execution) reuse them. `simulate(..., memo=Memo())` asks the memo for each of these
by a key made of exactly the config it depends on (JSON, sorted), so a hit is the same array
the computation would return: a point's result is bit-identical to a run without the memo.
A memo belongs to one MarketData. Cached arrays are made read-only, so a later layer that
tried to change one in place would fail loudly instead of corrupting other points.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np


def _freeze(value: Any) -> None:
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
    elif isinstance(value, dict):
        for v in value.values():
            _freeze(v)
    elif isinstance(value, (tuple, list)):
        for v in value:
            _freeze(v)


def _nbytes(value: Any) -> int:
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, dict):
        return sum(_nbytes(v) for v in value.values())
    if isinstance(value, (tuple, list)):
        return sum(_nbytes(v) for v in value)
    return 0


class Memo:
    """Upstream results keyed by the JSON of what they depend on, least recently used dropped
    past `budget_bytes` (an engine sweep makes a new signal per point; a late-layer sweep
    reuses a handful). `hits` and `misses` count use."""

    def __init__(self, budget_bytes: int = 768 * 2**20) -> None:
        self._values: OrderedDict[str, Any] = OrderedDict()
        self._sizes: dict[str, int] = {}
        self.budget_bytes = budget_bytes
        self.nbytes = 0
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(*parts) -> str:
        return json.dumps(parts, sort_keys=True, default=str)

    def get(self, key: str, compute: Callable[[], Any]) -> Any:
        if key in self._values:
            self.hits += 1
            self._values.move_to_end(key)
            return self._values[key]
        self.misses += 1
        value = compute()
        _freeze(value)
        self._values[key] = value
        self._sizes[key] = _nbytes(value)
        self.nbytes += self._sizes[key]
        while self.nbytes > self.budget_bytes and len(self._values) > 1:
            old, _ = self._values.popitem(last=False)
            self.nbytes -= self._sizes.pop(old)
        return value

    def __contains__(self, key: str) -> bool:
        return key in self._values


def cached(memo: Memo | None, key: str, compute: Callable[[], Any]) -> Any:
    """`compute()` through `memo` when there is one."""
    return compute() if memo is None else memo.get(key, compute)
