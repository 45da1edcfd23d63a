"""Portfolio construction (Layer 3): what is the baseline composition?

Static mixing: `w_pre = Σ_k ω_k · w_k` with the sleeve weights ω normalised to sum to 1
(a zero weight drops the sleeve). Sleeves arrive at a common unit risk, so ω means what
it says. It must not rescale the book: that is risk targeting's job.
"""

from __future__ import annotations

import numpy as np


def mixing_weights(weights: dict[str, float]) -> dict[str, float]:
    total = sum(weights.values())
    return {k: w / total for k, w in weights.items() if w > 0}


def static_mix(sleeves: dict[str, np.ndarray], omega: dict[str, float]) -> np.ndarray:
    """`Σ_k ω_k w_k` over the sleeves in `omega` (normalised)."""
    mix = mixing_weights(omega)
    first = next(iter(sleeves.values()))
    out = np.zeros_like(first)
    for name, w in mix.items():
        out += w * sleeves[name]
    return out
