"""Spread engines' common parts: trailing statistics on an instrument's own sessions, and a
spread (several legs traded together) turned into leg weights.

A *spread* is a set of leg columns with per-session leg coefficients (notional per unit of
spread notional, the long leg +1), a signal in [−1, 1] and the annualised vol of the spread's
own daily return. Its weights on the legs are

    w_legs[t] = signal[t] / max(σ_spread[t], floor) · legs[t]          (vol-normalised)

and its sign-only weights (the promotion gate) `sign(signal[t]) · legs[t] / Σ|legs[t]|`, so
each spread has unit gross. A spread engine's output is the sum over its spreads: weights on
real instruments, already vol-normalised at the spread level, so the sleeve layer must not
divide them by each leg's own vol (that would undo the hedge ratios): `Engine.sizing = "spread"`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from macrostack import rolling

VOL_HALFLIFE = 63          # sessions, as the sleeve layer's instrument vol
SPREAD_VOL_FLOOR = 0.01    # annualised: a duration-neutral spread is far quieter than its legs


@dataclass(frozen=True)
class Spread:
    cols: np.ndarray        # [k] column indices of the legs
    legs: np.ndarray        # [T, k] leg coefficients (NaN where not defined)
    signal: np.ndarray      # [T] in [−1, 1], NaN where not ready
    vol: np.ndarray         # [T] annualised vol of the spread's daily return, NaN where not ready


def on_own_rows(x: np.ndarray, ok: np.ndarray, fn) -> np.ndarray:
    """Apply `fn` (1-D → 1-D of the same length) to the rows where `ok`, and carry each result
    forward to the following rows without one (forward only; NaN before the first)."""
    out = np.full(len(x), np.nan)
    idx = np.flatnonzero(ok)
    if not len(idx):
        return out
    out[idx] = fn(x[idx])
    pos = np.maximum.accumulate(np.where(ok, np.arange(len(x)), -1))
    have = pos >= 0
    out[have] = out[pos[have]]
    return out


def rolling_std(x: np.ndarray, window: int, min_periods: int) -> np.ndarray:
    """Sample std (ddof 1) of the trailing `window` values (1-D, no NaN inside)."""
    return pd.Series(x).rolling(int(window), min_periods=int(min_periods)).std().to_numpy()


def trailing_z(x: np.ndarray, window: int, min_periods: int, clip: float) -> np.ndarray:
    """`(x[t] − mean) / std` over the trailing `window` values ending at t (ddof 1), clipped at
    ±clip; NaN below `min_periods` values or where std is 0. 1-D, no NaN inside."""
    s = pd.Series(x).rolling(int(window), min_periods=int(min_periods))
    mean, std = s.mean().to_numpy(), s.std().to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (x - mean) / std
    z[~(std > 0)] = np.nan
    return np.clip(z, -clip, clip)


def last_row_within(ok: np.ndarray, stale_after: int) -> np.ndarray:
    """[T] bool: some row <= t within the last `stale_after` rows is `ok`."""
    t = np.arange(len(ok))
    last = np.maximum.accumulate(np.where(ok, t, -10 ** 9))
    return (t - last) < stale_after


def spread_vol(spread_returns: np.ndarray) -> np.ndarray:
    """Annualised EWMA vol of a spread's daily returns (half-life VOL_HALFLIFE, >= 20 returns)."""
    return rolling.ewma_vol(spread_returns[:, None], VOL_HALFLIFE)[:, 0]


def leg_weights(spreads: list[Spread], n_sessions: int, n: int, floor: float = SPREAD_VOL_FLOOR) -> np.ndarray:
    """Σ over spreads of signal / max(σ, floor) · legs → [T, N]; NaN on columns no spread is ready on."""
    out = np.zeros((n_sessions, n))
    ready = np.zeros((n_sessions, n), dtype=bool)
    for sp in spreads:
        with np.errstate(invalid="ignore"):
            size = sp.signal / np.maximum(sp.vol, floor)
        w = size[:, None] * sp.legs
        ok = np.isfinite(w).all(axis=1)
        out[:, sp.cols] += np.where(ok[:, None], w, 0.0)
        ready[:, sp.cols] |= ok[:, None]
    out[~ready] = np.nan
    return out


def sign_weights(spreads: list[Spread], n_sessions: int, n: int) -> np.ndarray:
    """Sign-only, equal weight across the ready spreads, each spread at unit gross → [T, N]."""
    out = np.zeros((n_sessions, n))
    active = np.zeros(n_sessions)
    parts = []
    for sp in spreads:
        with np.errstate(invalid="ignore", divide="ignore"):
            w = np.sign(sp.signal)[:, None] * sp.legs / np.abs(sp.legs).sum(axis=1, keepdims=True)
        ok = np.isfinite(w).all(axis=1) & (np.abs(w).sum(axis=1) > 0)
        active += ok
        parts.append((sp.cols, np.where(ok[:, None], w, 0.0)))
    for cols, w in parts:
        out[:, cols] += w / np.maximum(active, 1.0)[:, None]
    return out
