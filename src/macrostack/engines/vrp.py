"""Volatility-risk-premium engines (Layer 1): is implied volatility priced above the volatility
the equity market is actually realising, by more than usual?

Data. A volatility future with contract prices (pysystemtrade VIX; V2X where configured) and its
equity index future (SP500; EUROSTX for V2X), pairs given by `pairs` (vol future → equity
future; vrp_convergence reads only the vol futures, `vol_futures`). The implied level is the *front volatility future's price* (index points = vol %):
the datasets carry no spot VIX/VSTOXX, so the front future stands in for it (the run's
manifest says so in `sleeve_notes`). Front price per session: CARRY when the carry contract is
nearer than the held one (VIX/V2X: CarryOffset −1, the dataset holds the second month), the
held PRICE when the carry contract is later; NaN otherwise. On a dataset without contract
prices or without the pair's instruments the sleeve is INERT and says which is missing.

Realised vol (annualised, in vol points like the implied level) of the equity future E:

    RV_n[t] = 100 · sqrt(252 · mean(r_E² over E's last n returns ending at or before t))

(zero-mean realised variance, the convention implied vol is compared with: a crash of steady
down days is high realised vol, which a std around the window's mean would understate),

counted on E's own sessions (sessions where E has a return), carried forward to sessions
without one. Every z-score below is the trailing z of a spread x on the vol future's own
sessions (those with a spread value): `z[t] = (x[t] − mean) / std` over the last `z_window`
(252) values ending at t, ddof 1, at least `z_min_periods` (126), clipped at ±`z_clip` (3); the
signal is carried forward to sessions without a spread value (data <= t only).

- `vrp_core` (`rv_window` 21): x = implied − RV21; s = clip(−z / 3, −1, 1) — short vol when the
  premium is unusually high, long when unusually low.
- `vrp_alt` (`rv_window` 5): x = implied − RV5; s = clip(−z / 3, −1, 0), short-only.
- `vrp_convergence`: the seed used spot VIX − VX1; without a spot index, the term slope
  x = front − second (F − P_held, vol points, on sessions where the front is nearer than the
  held contract); s = clip(min(z, 0) / 3, −1, 0), short-only, traded as a calendar spread:
  the derived front-contract instrument `<V>_FRONT` (built at ingest, see
  `data/sources/pysystemtrade.py`) gets s contracts, the held contract `<V>` gets −s, so the
  net vol-future exposure in contracts is zero. As weights (notional / NAV) at t:

      w_front = s/σ · P_F / ref,   w_held = −s/σ · P_2 / ref,   ref = (P_F + P_2) / 2

  (same point size and FX on both legs, so contracts ∝ w / P are equal and opposite), with σ
  the annualised EWMA vol (half-life 63) of the spread's daily return
  `P_F[d−1]/ref[d−1] · r_F[d] − P_2[d−1]/ref[d−1] · r_2[d]`, floored at 1 %. INERT, with why,
  when the dataset has no `<V>_FRONT` (its multiple prices do not carry the nearer contract).

`vrp_core` and `vrp_alt` trade the vol future the dataset holds (`<V>`: the held contract of the
multiple prices, rolling with the data), sized like every instrument signal (s / σ_i). Units:
signals are dimensionless in [−1, 1]. Lookback: rv_window + z_window sessions. Every value at
session t reads data <= t only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from macrostack.engines._spreads import Spread, leg_weights, on_own_rows, sign_weights, spread_vol, trailing_z

FRONT_SUFFIX = "_FRONT"
IMPLIED_NOTE = ("implied volatility = the front volatility future's price (index points = vol %): the dataset has "
                "no spot volatility index")


def front_price(price: np.ndarray, carry: np.ndarray, price_contract: np.ndarray,
                carry_contract: np.ndarray) -> np.ndarray:
    """The front contract's price: CARRY when its contract is nearer than the held one, PRICE
    when the carry contract is later; NaN when unknown. Any shape."""
    nearer = carry_contract < price_contract
    later = carry_contract > price_contract
    return np.where(nearer, carry, np.where(later, price, np.nan))


def realised_vol(equity_returns: np.ndarray, window: int) -> np.ndarray:
    """100 · sqrt(252 · mean r²) over the last `window` returns (E's own sessions), [T]."""
    r = np.asarray(equity_returns, float)

    def rv(x):
        return 100.0 * np.sqrt(252.0 * pd.Series(x * x).rolling(int(window), min_periods=int(window)).mean().to_numpy())
    return on_own_rows(r, np.isfinite(r), rv)


def spread_z(spread: np.ndarray, z_window: int, z_min_periods: int, z_clip: float) -> np.ndarray:
    """Trailing z of a spread on its own sessions (finite values), carried forward, [T]."""
    return on_own_rows(spread, np.isfinite(spread), lambda x: trailing_z(x, z_window, z_min_periods, z_clip))


def vrp_spread(implied: np.ndarray, equity_returns: np.ndarray, rv_window: int) -> np.ndarray:
    """implied − RV_n (vol points), NaN where either is unknown, [T]."""
    return implied - realised_vol(equity_returns, rv_window)


def premium_signal(implied: np.ndarray, equity_returns: np.ndarray, rv_window: int, z_window: int = 252,
                   z_min_periods: int = 126, z_clip: float = 3.0, short_only: bool = False) -> np.ndarray:
    """vrp_core (short_only False) / vrp_alt (True) signal of one pair, [T] in [−1, 1]."""
    z = spread_z(vrp_spread(implied, equity_returns, rv_window), z_window, z_min_periods, z_clip)
    return np.clip(-z / z_clip, -1.0, 0.0 if short_only else 1.0)


def convergence_signal(front: np.ndarray, second: np.ndarray, z_window: int = 252, z_min_periods: int = 126,
                       z_clip: float = 3.0) -> np.ndarray:
    """vrp_convergence signal of one pair: clip(min(z(front − second), 0) / 3, −1, 0), [T]."""
    z = spread_z(front - second, z_window, z_min_periods, z_clip)
    return np.clip(np.minimum(z, 0.0) / z_clip, -1.0, 0.0)


def calendar_spread(front: np.ndarray, second: np.ndarray, r_front: np.ndarray, r_second: np.ndarray,
                    signal: np.ndarray, cols: tuple[int, int]) -> Spread:
    """The calendar spread front = s, second = −s contracts as a `Spread` (leg coefficients
    P/ref, so equal and opposite contracts); its vol from the legs held over each session."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ref = (front + second) / 2.0
        legs = np.column_stack([front / ref, -second / ref])
    prev = np.vstack([np.full((1, 2), np.nan), legs[:-1]])
    r = prev[:, 0] * r_front + prev[:, 1] * r_second          # NaN when a leg has no return
    return Spread(np.array(cols), legs, signal, spread_vol(r))


# --------------------------------------------------------------------------- on MarketData


def usable_pairs(md, pairs: dict[str, str | None], need_front: bool = False
                 ) -> tuple[list[tuple[int, int, int]], str | None]:
    """Pairs present in `md` as (vol col, equity col or −1, front col or −1), and why none are
    when none. An equity future of None is not needed (the calendar spread)."""
    idx = {s: i for i, s in enumerate(md.symbols)}
    have_contracts = all(f in md.panels for f in ("price", "carry", "price_contract", "carry_contract"))
    out, lacking = [], []
    for vol, equity in pairs.items():
        missing = [s for s in (vol, equity) if s is not None and s not in idx]
        if vol in idx and have_contracts and not np.isfinite(md.panels["price_contract"][:, idx[vol]]).any():
            missing.append(f"contract prices of {vol}")
        if need_front and vol + FRONT_SUFFIX not in idx:
            missing.append(f"{vol}{FRONT_SUFFIX} (the front contract derived at ingest from {vol}'s multiple "
                           "prices, which must carry the nearer contract)")
        if missing or not have_contracts:
            lacking.append(", ".join(missing) or f"contract prices of {vol}")
            continue
        out.append((idx[vol], idx.get(equity, -1), idx.get(vol + FRONT_SUFFIX, -1)))
    if out:
        return out, None
    what = "; ".join(lacking) if have_contracts else "a volatility future with contract prices"
    shown = {v: e for v, e in pairs.items() if e is not None}
    return [], (f"dataset {md.dataset!r} has no {what} (" + (f"pairs {shown}: volatility future → equity future)"
                                                            if shown else f"volatility futures {list(pairs)})"))


def _front(md, col: int) -> np.ndarray:
    f = md.panels
    return front_price(f["price"][:, col], f["carry"][:, col], f["price_contract"][:, col], f["carry_contract"][:, col])


def premium_panel(md, p, short_only: bool) -> np.ndarray:
    """vrp_core / vrp_alt signals [T, N] (NaN off the vol futures)."""
    out = np.full(md.returns.shape, np.nan)
    for v, e, _ in usable_pairs(md, p.pairs)[0]:
        out[:, v] = premium_signal(_front(md, v), md.returns[:, e], p.rv_window, p.z_window, p.z_min_periods,
                                   p.z_clip, short_only)
    return out


def convergence_spreads(md, p) -> list[Spread]:
    spreads = []
    for v, _, fc in usable_pairs(md, dict.fromkeys(p.vol_futures), need_front=True)[0]:
        f = md.panels
        front, second = f["price"][:, fc], f["price"][:, v]
        # Only where the derived front is the contract just before the held one.
        ok = f["price_contract"][:, fc] < f["price_contract"][:, v]
        front = np.where(ok, front, np.nan)
        s = convergence_signal(front, second, p.z_window, p.z_min_periods, p.z_clip)
        spreads.append(calendar_spread(front, second, md.returns[:, fc], md.returns[:, v], s, (fc, v)))
    return spreads


def convergence_panel(md, p) -> np.ndarray:
    return leg_weights(convergence_spreads(md, p), *md.returns.shape)


def convergence_sign_weights(md, p) -> np.ndarray:
    return sign_weights(convergence_spreads(md, p), *md.returns.shape)


def lookback(p) -> int:
    """Sessions before the signal can be settled: the RV window plus the z window."""
    return int(getattr(p, "rv_window", 0)) + int(p.z_window)
