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


class Memo:
    """A dict of upstream results keyed by the JSON of what they depend on; `hits` and `misses` count use."""

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(*parts) -> str:
        return json.dumps(parts, sort_keys=True, default=str)

    def get(self, key: str, compute: Callable[[], Any]) -> Any:
        if key in self._values:
            self.hits += 1
            return self._values[key]
        self.misses += 1
        value = compute()
        _freeze(value)
        self._values[key] = value
        return value

    def __contains__(self, key: str) -> bool:
        return key in self._values


def cached(memo: Memo | None, key: str, compute: Callable[[], Any]) -> Any:
    """`compute()` through `memo` when there is one."""
    return compute() if memo is None else memo.get(key, compute)
