"""Rates curve relative-value engine (Layer 1): is one part of the government bond curve
trending (or stretched) against the others, once the level of rates is hedged out?

Data: daily returns of government bond futures at four tenors (`tenors`: 2, 5, 10, 30 years;
the first symbol of each list that the run's data has: US2/US5/US10/US30 on the pysystemtrade
sample, TU/FV/TY/US on the default dataset). No DV01 or contract data: each spread is made
duration-neutral by a trailing regression of daily returns. INERT, with the missing tenors,
when no configured spread has all its legs.

Spreads (`spreads`), long the first tenor named, hedged with the others:
- `2s10s`: y = 10y, x = 2y;  `5s30s`: y = 30y, x = 5y  (long the long end, short β of the short end:
  gains when the curve flattens by more than the level move explains);
- `2s5s10s` butterfly: y = 5y (body), x = (2y, 10y) (wings).

Hedge ratios at session t: OLS (with intercept) of r_y on r_x over the spread's last
`hedge_window` sessions (252 by default, ≈ one year; at least `hedge_min_periods`) ending at t,
counted on the sessions where every leg has a return: `β = Cov(x)⁻¹ Cov(x, y)` (β = Cov(y,x)/Var(x)
for a slope). The spread's daily return books the hedge set at the previous close:

    r_s[d] = r_y[d] − β[d−1] · r_x[d]          (fraction of the long leg's notional)
    C[t]   = Σ_{d<=t} r_s[d]                     (cumulative return; 0 before β exists)
    z[t]   = clip((C[t] − mean C) / std C, ±z_clip) over the last `z_window` values (ddof 1,
             at least `z_min_periods`)
    s[t]   = z/z_clip (`mode: momentum`) or −z/z_clip (`mode: mean_reversion`), in [−1, 1]

and the spread is vol-normalised: legs `(1, −β[t])` × s / max(σ_s, 1 %), σ_s the annualised
EWMA vol (half-life 63) of r_s. The sleeve's weights are the sum over spreads of those leg
weights, on the bond futures themselves (so notional, turnover and costs are real), ready
where every leg of a spread had a return in the last 10 sessions. Units: weights in notional
per unit of annualised spread vol; the sleeve layer scales the sum to unit risk. Lookback:
hedge_window + z_window sessions. Every value at session t reads data <= t only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from macrostack.engines._spreads import Spread, last_row_within, leg_weights, sign_weights, spread_vol, trailing_z

SPREADS: dict[str, tuple[str, tuple[str, ...]]] = {
    "2s10s": ("10", ("2",)), "5s30s": ("30", ("5",)), "2s5s10s": ("5", ("2", "10")),
}
STALE_AFTER = 10


def hedge_ratios(ry: np.ndarray, rx: np.ndarray, window: int, min_periods: int) -> np.ndarray:
    """Rolling OLS slopes (with intercept) of ry [n] on rx [n, k] over the trailing `window`
    rows ending at each row: [n, k], NaN below `min_periods` rows or for a singular Cov(x).
    Rows must hold no NaN."""
    n, k = rx.shape
    roll = lambda a: pd.DataFrame(a).rolling(int(window), min_periods=int(min_periods)).mean().to_numpy()  # noqa: E731
    mx, my = roll(rx), roll(ry[:, None])[:, 0]
    cxx = np.empty((n, k, k))
    for a in range(k):
        for b in range(a, k):
            c = roll((rx[:, a] * rx[:, b])[:, None])[:, 0] - mx[:, a] * mx[:, b]
            cxx[:, a, b] = cxx[:, b, a] = c
    cxy = roll(rx * ry[:, None]) - mx * my[:, None]
    beta = np.full((n, k), np.nan)
    ok = np.isfinite(cxx).all(axis=(1, 2)) & np.isfinite(cxy).all(axis=1)
    ok[ok] &= np.abs(np.linalg.det(cxx[ok])) > 1e-30
    if ok.any():
        beta[ok] = np.linalg.solve(cxx[ok], cxy[ok][..., None])[..., 0]
    return beta


def spread_from_returns(ry: np.ndarray, rx: np.ndarray, cols: np.ndarray, p) -> Spread:
    """One spread from its long-leg returns ry [T] and hedge-leg returns rx [T, k] (module
    docstring). Statistics run on the rows where every leg has a return; values are carried
    forward to the other rows while every leg traded in the last STALE_AFTER sessions."""
    t_len, k = rx.shape
    rows = np.flatnonzero(np.isfinite(ry) & np.isfinite(rx).all(axis=1))
    legs = np.full((t_len, k + 1), np.nan)
    signal, vol = np.full(t_len, np.nan), np.full(t_len, np.nan)
    if len(rows) > 2:
        y, x = ry[rows], rx[rows]
        beta = hedge_ratios(y, x, p.hedge_window, p.hedge_min_periods)
        prev = np.vstack([np.full((1, k), np.nan), beta[:-1]])
        rs = y - (prev * x).sum(axis=1)
        rs[~np.isfinite(prev).all(axis=1)] = np.nan
        cum = np.cumsum(np.nan_to_num(rs))
        started = np.isfinite(rs)
        z = np.full(len(rows), np.nan)
        first = int(np.argmax(started)) if started.any() else len(rows)
        z[first:] = trailing_z(cum[first:], p.z_window, p.z_min_periods, p.z_clip)
        s = z / p.z_clip if p.mode == "momentum" else -z / p.z_clip
        legs[rows, 0] = 1.0
        legs[rows, 1:] = -beta
        signal[rows], vol[rows] = s, spread_vol(rs)
        # Carry forward over sessions where a leg has no bar (forward only), while fresh.
        ok = np.zeros(t_len, bool)
        ok[rows] = True
        pos = np.maximum.accumulate(np.where(ok, np.arange(t_len), -1))
        have = pos >= 0
        for a in (legs, signal, vol):
            a[have] = a[pos[have]]
        fresh = last_row_within(ok, STALE_AFTER)
        legs[~fresh], signal[~fresh], vol[~fresh] = np.nan, np.nan, np.nan
    return Spread(np.asarray(cols), legs, signal, vol)


def resolve_tenors(symbols, tenors: dict[str, list[str]]) -> dict[str, int]:
    """Tenor → column of the first configured symbol the data has."""
    idx = {s: i for i, s in enumerate(symbols)}
    return {t: idx[next(s for s in syms if s in idx)] for t, syms in tenors.items() if any(s in idx for s in syms)}


def why_inert(md, p) -> str | None:
    have = resolve_tenors(md.symbols, p.tenors)
    usable = [name for name in p.spreads if all(t in have for t in (SPREADS[name][0], *SPREADS[name][1]))]
    if usable:
        return None
    lacking = sorted({t for name in p.spreads for t in (SPREADS[name][0], *SPREADS[name][1]) if t not in have},
                     key=float)
    return (f"dataset {md.dataset!r} has none of the bond futures for tenor(s) "
            f"{', '.join(f'{t}y {p.tenors[t]}' for t in lacking)} needed by spreads {list(p.spreads)}")


def spreads(md, p) -> list[Spread]:
    have = resolve_tenors(md.symbols, p.tenors)
    out = []
    for name in p.spreads:
        y, xs = SPREADS[name]
        if not all(t in have for t in (y, *xs)):
            continue
        cols = np.array([have[y], *(have[t] for t in xs)])
        out.append(spread_from_returns(md.returns[:, cols[0]], md.returns[:, cols[1:]], cols, p))
    return out


def signal_panel(md, p) -> np.ndarray:
    return leg_weights(spreads(md, p), *md.returns.shape)


def sign_panel(md, p) -> np.ndarray:
    return sign_weights(spreads(md, p), *md.returns.shape)


def lookback(p) -> int:
    return int(p.hedge_window) + int(p.z_window)
