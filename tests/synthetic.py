"""Synthetic MarketData for unit and property tests (real-data tests use the store)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from macrostack.data.market import MarketData


def weekdays(n: int, start: str = "2000-01-03") -> np.ndarray:
    return pd.bdate_range(start, periods=n).to_numpy().astype("datetime64[D]")


def market(returns: np.ndarray, cost: float = 0.0, start_index: int = 0) -> MarketData:
    returns = np.asarray(returns, dtype=float)
    t, n = returns.shape
    symbols = tuple(f"S{i}" for i in range(n))
    instruments = pd.DataFrame({"symbol": symbols, "asset_class": "X", "cost": cost})
    return MarketData(dataset="synthetic", data_hash="synthetic", dates=weekdays(t), symbols=symbols,
                      panels={"ret": returns, "cost": np.full((t, n), cost)}, instruments=instruments,
                      start_index=start_index)


def random_returns(seed: int, t: int = 420, n: int = 4, vol: float = 0.01, drift: float = 0.0005) -> np.ndarray:
    rng = np.random.default_rng(seed)
    trend = np.sign(rng.standard_normal(n)) * drift
    return rng.standard_normal((t, n)) * vol + trend
