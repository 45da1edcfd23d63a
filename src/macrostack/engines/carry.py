"""Carry and volatility-carry engines (Layer 1): what does holding the future earn if prices
do not move? (SYSTEM.md §1). Both need contract prices (a contract-level dataset such as
pysystemtrade); on a dataset without them every value is NaN, so the caller can declare the
sleeve INERT.

Contract panels are months since year 0 (`year·12 + month`, see `contract_months`, the same
convention as `MarketData` loads), so a distance in years is a difference / 12.

Carry (all instruments). Per session, from the held contract (price P_h, month M_h) and the
carry contract (P_c, M_c):

    roll[t] = (P_c − P_h) / P_h / ((M_h − M_c) / 12)

an annualised roll yield (a fraction per year). It is positive in backwardation (the nearer
contract above the further one) whichever side the carry contract is on: carry contract nearer
(pysystemtrade CarryOffset −1, M_c < M_h) → backwardation means P_c > P_h, both factors > 0;
carry contract further (CarryOffset +1, M_c > M_h) → P_c < P_h, both factors < 0. NaN where
either price is missing, P_h <= 0, or the two contracts are the same month. Then

    smooth[t] = mean of the non-NaN roll values in the trailing `smooth` sessions (90)
                (NaN unless at least min(20, ceil(smooth/2)) of them exist)
    carry[t]  = clip(smooth[t] / max(σ[t], 5%), ±3)

with σ the instrument's annualised EWMA vol (`rolling.ewma_vol`, half-life 63 sessions like
the sleeve layer, at least 20 returns). The ratio is an expected carry return per unit of
risk, a Sharpe-like number: 3 means the roll alone pays three times the annual vol, which
only happens in extreme term structures (hence the clip). Note that the 5% floor caps the
carry signal of very low-vol markets (short-rate futures, 2-year bonds) at roll / 5%.

Vol carry (volatility futures only, `is_vol[i]`). The term structure from the held contract
(front, P_f) to the next later contract: FORWARD when its contract is later than the held one
and it has a price, else CARRY when later (pysystemtrade VIX/V2X hold the second month and
carry the first, CarryOffset −1, so FORWARD is the next month there):

    slope[t] = (P_next − P_f) / P_f / ((M_next − M_f) / 12)     (> 0: contango)
    vol_carry[t] = clip(mean_smooth(−slope)[t] / max(σ[t], 5%), ±3)

so contango → negative (short volatility, collecting the roll-down), backwardation →
positive (long; `long_in_backwardation=False` makes it flat instead). Smoothing as above
(10 sessions by default, at least ceil(smooth/2) values). NaN for non-vol instruments.

Every value at session t reads data <= t only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from macrostack import rolling

VOL_HALFLIFE = 63
VOL_FLOOR = 0.05
CLIP = 3.0


def contract_months(ids) -> np.ndarray:
    """Contract ids "YYYYMMDD" (e.g. "20240600") → months since year 0 (2024·12 + 6), float.

    Anything else (None, NaN, "", a malformed id, a month outside 1..12) → NaN. Any shape."""
    a = np.asarray(ids, dtype=object)
    s = pd.Series(a.ravel(), dtype="object").astype("string").str.strip()
    year = pd.to_numeric(s.str.slice(0, 4), errors="coerce").astype("float64").to_numpy()
    month = pd.to_numeric(s.str.slice(4, 6), errors="coerce").astype("float64").to_numpy()
    valid = s.str.fullmatch(r"\d{6}(\d{2})?").fillna(False).to_numpy(dtype=bool) & (month >= 1) & (month <= 12)
    return np.where(valid, year * 12.0 + month, np.nan).reshape(a.shape)


def min_valid(smooth: int) -> int:
    """Non-NaN values a smoothing window needs: min(20, ceil(smooth / 2))."""
    return int(min(20, -(-int(smooth) // 2)))


def nan_rolling_mean(x: np.ndarray, window: int, min_periods: int) -> np.ndarray:
    """Mean of the non-NaN values in the trailing `window` rows (rows <= t), NaN below `min_periods`."""
    return pd.DataFrame(x).rolling(int(window), min_periods=int(min_periods)).mean().to_numpy()


def annualised_slope(near_price: np.ndarray, far_price: np.ndarray, near_month: np.ndarray,
                     far_month: np.ndarray, base_price: np.ndarray) -> np.ndarray:
    """`(P_far − P_near) / base / ((M_far − M_near) / 12)`; NaN if anything is missing or M equal."""
    with np.errstate(invalid="ignore", divide="ignore"):
        years = (far_month - near_month) / 12.0
        out = (far_price - near_price) / base_price / years
    bad = ~np.isfinite(out) | ~(base_price > 0) | (years == 0)
    out[bad] = np.nan
    return out


def _normalise(smoothed: np.ndarray, returns: np.ndarray, vol_halflife: float, vol_floor: float,
               clip: float) -> np.ndarray:
    vol = np.maximum(rolling.ewma_vol(np.asarray(returns, dtype=float), vol_halflife), vol_floor)
    with np.errstate(invalid="ignore"):
        out = smoothed / vol          # NaN vol (too few returns) stays NaN: max() propagates NaN
    return np.clip(out, -clip, clip)


def roll_yield(price, carry, price_contract, carry_contract) -> np.ndarray:
    """Annualised roll yield `(P_c − P_h) / P_h / ((M_h − M_c)/12)`, > 0 in backwardation.

    It is minus the term-structure slope from the held to the carry contract."""
    price = np.asarray(price, float)
    return -annualised_slope(price, np.asarray(carry, float), np.asarray(price_contract, float),
                             np.asarray(carry_contract, float), price)


def carry_signal(price: np.ndarray, carry: np.ndarray, price_contract: np.ndarray, carry_contract: np.ndarray,
                 returns: np.ndarray, smooth: int = 90, vol_halflife: float = VOL_HALFLIFE,
                 vol_floor: float = VOL_FLOOR, clip: float = CLIP) -> np.ndarray:
    """Vol-normalised smoothed roll yield [sessions × instruments] in [−clip, clip], NaN where not ready."""
    roll = roll_yield(price, carry, price_contract, carry_contract)
    smoothed = nan_rolling_mean(roll, smooth, min_valid(smooth))
    return _normalise(smoothed, returns, vol_halflife, vol_floor, clip)


def next_later_contract(carry, forward, price_contract, carry_contract, forward_contract
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Price and month of the next contract after the held one: FORWARD when its contract is
    later than the held one and it has a price, else CARRY when later; NaN otherwise."""
    carry, forward = np.asarray(carry, float), np.asarray(forward, float)
    m_h, m_c, m_f = (np.asarray(a, float) for a in (price_contract, carry_contract, forward_contract))
    use_fwd = (m_f > m_h) & np.isfinite(forward)
    use_carry = ~use_fwd & (m_c > m_h) & np.isfinite(carry)
    next_price = np.where(use_fwd, forward, np.where(use_carry, carry, np.nan))
    next_month = np.where(use_fwd, m_f, np.where(use_carry, m_c, np.nan))
    return next_price, next_month


def term_structure_slope(price, carry, forward, price_contract, carry_contract, forward_contract) -> np.ndarray:
    """Annualised slope from the held contract to the next later one (> 0 in contango)."""
    price = np.asarray(price, float)
    next_price, next_month = next_later_contract(carry, forward, price_contract, carry_contract, forward_contract)
    return annualised_slope(price, next_price, np.asarray(price_contract, float), next_month, price)


def vol_carry_signal(price: np.ndarray, carry: np.ndarray, forward: np.ndarray, price_contract: np.ndarray,
                     carry_contract: np.ndarray, forward_contract: np.ndarray, returns: np.ndarray,
                     is_vol: np.ndarray, smooth: int = 10, vol_halflife: float = VOL_HALFLIFE,
                     vol_floor: float = VOL_FLOOR, clip: float = CLIP,
                     long_in_backwardation: bool = True) -> np.ndarray:
    """Short vol in contango [sessions × instruments] in [−clip, clip]; NaN for non-vol instruments."""
    is_vol = np.asarray(is_vol, dtype=bool)
    out = np.full(np.shape(price), np.nan)
    if not is_vol.any():
        return out
    cols = np.flatnonzero(is_vol)
    slope = term_structure_slope(*(np.asarray(a, float)[:, cols] for a in (
        price, carry, forward, price_contract, carry_contract, forward_contract)))
    smoothed = nan_rolling_mean(-slope, smooth, min_valid(smooth))
    sig = _normalise(smoothed, np.asarray(returns, float)[:, cols], vol_halflife, vol_floor, clip)
    if not long_in_backwardation:
        sig = np.minimum(sig, 0.0)
    out[:, cols] = sig
    return out


def lookback(smooth: int = 90, vol_halflife: float = VOL_HALFLIFE) -> int:
    """Sessions before the signal is settled: a full smoothing window plus one vol half-life."""
    return int(smooth) + int(np.ceil(vol_halflife))


def vol_carry_lookback(smooth: int = 10, vol_halflife: float = VOL_HALFLIFE) -> int:
    return lookback(smooth, vol_halflife)
