"""Cross-sectional momentum engine (Layer 1): which markets trend more than the others?

Market neutral by construction (SYSTEM.md §1). On the total-return log index
`X[t] = Σ_{k<=t} log(1 + r[k])` (missing returns inside an instrument's history count as 0,
like `trend.log_index`; a return below −99% counts as −99%), per lookback h (63/126/252 sessions, weights 0.4/0.35/0.25):

    m_h[t, i] = (X[t] − X[t−h]) / (σ_h[t, i] · sqrt(h))

the return over the lookback divided by its expected size: σ_h the sample std (ddof 1) of
the daily simple returns over the same h sessions (a t-statistic-like move, as in the trend
engine; no skip period). Then, across the instruments *ready* at t:

    z_h[t, i] = (m_h − mean_i m_h) / std_i m_h          (population std over ready i)
    c[t, i]   = Σ_h w_h z_h / Σ_h w_h
    s[t, i]   = clip((c − mean_i c) / std_i c, ±3) / 3  − its cross-sectional mean

so Σ_i s[t, i] = 0 (to rounding, |Σ| < 1e-12) on every session with at least 2 ready
instruments; a session with fewer than 2 is NaN throughout, and a constant cross-section
(std 0) gives 0. The final demeaning is done after the clip, so |s| can slightly exceed 1
(at most 2). Instrument i is ready at t when it has a full history for the longest
lookback (`X[t − max h]` defined), a return within the last `stale_after` sessions (a
market whose data stopped is not ranked and does not count in the sums; 10 = the sleeve
layer's default `signal.stale_after`), and σ_h > 1e-6 on every lookback (a smaller daily std
means stale prices). Not-ready instruments are NaN. Every value at session t reads returns
<= t only.
"""

from __future__ import annotations

import numpy as np

from macrostack.engines.trend import log_index
from macrostack.rolling import cumsum_sessions, last_bar

LOOKBACKS: dict[int, float] = {63: 0.4, 126: 0.35, 252: 0.25}
Z_CLIP = 3.0
MIN_DAILY_VAR = 1e-12  # daily σ <= 1e-6 over a lookback: stale prices, not ranked


def _cross_z(v: np.ndarray, ready_f: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Cross-sectional z-score over the ready instruments of each row (`ready_f` 1.0/0.0);
    0 for not-ready instruments and where the cross-sectional std is 0. A new array."""
    z = np.where(ready_f > 0, v, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        z -= (z.sum(axis=1) / count)[:, None]
        z *= ready_f
        sd = np.sqrt(np.einsum("ij,ij->i", z, z) / count)
        z *= np.where(sd > 0, 1.0 / sd, 0.0)[:, None]
    return z


def signal(returns: np.ndarray, lookbacks: dict[int, float] | None = None, stale_after: int = 10,
           z_clip: float = Z_CLIP, rows: np.ndarray | None = None) -> np.ndarray:
    """Market-neutral momentum scores [sessions × instruments], NaN where not ready.

    With `rows` (session indices), only those sessions' scores [len(rows) × instruments]:
    the same values as `signal(returns)[rows]`, bit for bit, since every score is one
    session's cross-section of window sums; only the cumulative sums run over all sessions.
    """
    lookbacks = {int(h): float(w) for h, w in (lookbacks or LOOKBACKS).items() if w > 0}
    returns = np.asarray(returns, dtype=float)
    t_len, n = returns.shape
    at = np.arange(t_len) if rows is None else np.asarray(rows, dtype=np.int64)
    h_max = max(lookbacks)
    ok = ~np.isnan(returns)
    # Panels are made a few at a time and dropped once their rows are taken (peak memory).
    # Ready: X[t − h_max] defined (a bar at or before t − h_max), a bar in the last `stale_after`
    # sessions, and a usable σ on every lookback. Sessions before h_max are never ready.
    # (A bar at or before t − h_max means there is one at or before t: `last_bar`'s −1 never passes.)
    ready = np.zeros((len(at), n), dtype=bool)
    late = at >= h_max
    t = at[late]
    ready[late] = (last_bar(returns, t - h_max) >= 0) & (last_bar(returns, t) > (t - stale_after)[:, None])

    daily = np.ascontiguousarray(np.where(ok, returns, 0.0))   # C order (the input may be F)
    del ok
    c1 = cumsum_sessions(daily)
    daily *= daily
    c2 = cumsum_sessions(daily, out=daily)                      # the squares are summed in place
    del daily
    sigma = {}                                                  # σ_h · √h at the late rows
    for h in lookbacks:
        late = at >= h                                          # sessions < h are never ready
        t = at[late]
        s1 = c1[t] - c1[t - h]
        hvar = c2[t] - c2[t - h]                                 # h · sample variance, below
        s1 *= s1
        s1 *= 1.0 / h
        hvar -= s1
        hvar *= h / (h - 1.0)
        ready[late] &= hvar > MIN_DAILY_VAR * h
        with np.errstate(invalid="ignore"):                    # not-ready sessions may be < 0
            sigma[h] = np.sqrt(hvar, out=hvar)
    del c1, c2

    x = log_index(returns)                                      # NaN before each first return
    moves = {}
    for h in lookbacks:
        m = np.zeros((len(at), n))
        late = at >= h
        t = at[late]
        with np.errstate(invalid="ignore", divide="ignore"):   # not-ready sessions may be 0
            m[late] = (x[t] - x[t - h]) / sigma.pop(h)
        moves[h] = m
    del x
    count = np.count_nonzero(ready, axis=1)
    ready &= (count >= 2)[:, None]
    count = np.count_nonzero(ready, axis=1).astype(float)
    ready_f = ready.astype(float)

    total = sum(lookbacks.values())
    composite = np.zeros((len(at), n))
    for h, w in lookbacks.items():
        composite += (w / total) * _cross_z(moves[h], ready_f, count)
    s = _cross_z(composite, ready_f, count)
    np.clip(s, -z_clip, z_clip, out=s)
    s *= 1.0 / z_clip                                   # not-ready entries are exactly 0 here
    with np.errstate(invalid="ignore", divide="ignore"):
        s -= (s.sum(axis=1) / count)[:, None]
    s[~ready] = np.nan
    return s


def lookback(lookbacks: dict[int, float] | None = None) -> int:
    """Sessions of history before an instrument can be ranked (the longest lookback + 1)."""
    return max(int(h) for h, w in (lookbacks or LOOKBACKS).items() if w > 0) + 1
