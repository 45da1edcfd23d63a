"""Layer 6, the allocator: a brake that scales the whole book by `0 < s <= 1` (SYSTEM.md §6).

- `profiles`: the H / M / L risk profiles (`get_profile`);
- `state`: daily state features (mean pairwise correlation, vectorised; portfolio features
  from the net P&L, incremental);
- `regime`: regime with hysteresis and the smoothed scalar (`Allocator`).
"""

from macrostack.layers.allocator.profiles import PROFILES, RiskProfile, get_profile
from macrostack.layers.allocator.regime import (
    DEFAULT_THRESHOLDS,
    REGIMES,
    INITIAL_SCALAR,
    Allocator,
    Regime,
    Thresholds,
)
from macrostack.layers.allocator.state import FEATURES, StateFeatures, mean_pairwise_correlation

__all__ = [
    "DEFAULT_THRESHOLDS",
    "FEATURES",
    "INITIAL_SCALAR",
    "PROFILES",
    "REGIMES",
    "Allocator",
    "Regime",
    "RiskProfile",
    "StateFeatures",
    "Thresholds",
    "get_profile",
    "mean_pairwise_correlation",
]
