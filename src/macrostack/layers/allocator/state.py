"""Allocator state (Layer 6, SYSTEM.md §6): daily features from data `<= d` only.

Two kinds of input, treated differently because of when they are known:

- asset returns `r[d, i]` are known for the whole run before the simulation starts, so the
  mean pairwise correlation is computed for every session at once, before the simulation
  (`mean_pairwise_correlation`); the value at `d` reads only rows `d-window+1 .. d`;
- the portfolio's net P&L `p[d]` depends on the allocator's own past decisions, so the
  portfolio features are computed incrementally (`StateFeatures.update`, a compiled kernel),
  session by session, each reading only `p[:d+1]`.

All windows count SESSIONS of the run calendar (a daily series, never weekly rows —
predecessor defects 8 and 9) and annualise with 252 sessions per year.
"""

from __future__ import annotations

import numpy as np

from macrostack.engines._columns import run_in_blocks
from macrostack.kernels import kernel
from macrostack.kernels.allocator_layout import (  # noqa: F401  (CORR_LONG/SHORT, VOL_LONG: for the simulator)
    CORR_LONG,
    CORR_SHORT,
    FEATURES,
    VOL_LONG,
)

# Called once per rebalance with the feature table, wealth and correlations made by StateFeatures
# itself and `net` made C-ordered float64 by `update`: no per-call argument checks.
_ADVANCE_FEATURES = kernel("advance_features", checked=False)
_MEAN_CORRELATIONS = kernel("mean_correlations")

# --------------------------------------------------------------------------------------
# Mean pairwise correlation of asset returns (every session, before the simulation)
# --------------------------------------------------------------------------------------


def mean_pairwise_correlation(returns: np.ndarray, window: int) -> np.ndarray:
    """Mean off-diagonal Pearson correlation of asset returns over each trailing window.

    `returns` is `[T × N]` simple daily returns (NaN = no return). For each session `d`, the
    window is sessions `[d-window+1, d]`; the instruments used are those with a finite return
    on every session of the window and at least one change between consecutive sessions of
    the window (`k` of them). Result `[T]`: the mean of `ρ_ij` over the `k(k-1)` ordered pairs
    `i != j`; NaN when `k < 2` or `d < window-1`.

    Computed with the identity (same ddof everywhere, so it cancels)

        Σ_{i,j} ρ_ij = Var_t( Σ_i r[t,i] / s_i ),   s_i = std of instrument i on the window,

    whose diagonal terms sum to `k`, so `mean ρ = (Var_t(Y) − k) / (k(k − 1))` with
    `Y[t] = Σ_i r[t,i]/s_i`, by the kernel `kernels.correlation.mean_correlations`.
    """
    return mean_pairwise_correlations(returns, (window,))[window]


def mean_pairwise_correlations(returns: np.ndarray, windows: tuple[int, ...]) -> dict[int, np.ndarray]:
    """`mean_pairwise_correlation` for several windows, in one pass over the sessions."""
    r = np.ascontiguousarray(returns, dtype=np.float64)
    if r.ndim != 2:
        raise ValueError(f"returns must be [T x N], got shape {r.shape}")
    if min(windows) < 2:
        raise ValueError(f"correlation window must be >= 2 sessions, got {min(windows)}")
    out = np.full((len(windows), r.shape[0]), np.nan)
    if r.shape[1] >= 2:
        lengths = np.array(windows, dtype=np.int64)
        # Sessions are independent of one another: blocks of them in threads (the kernel releases the GIL).
        run_in_blocks(lambda d0, d1: _MEAN_CORRELATIONS(r, lengths, d0, d1, out), r.shape[0])
    return {w: out[j] for j, w in enumerate(windows)}


class StateFeatures:
    """Daily portfolio-state features, computed incrementally from the net P&L.

    For session `d` (everything reads `p[start : d+1]` only; NaN until enough history):

    - `port_rvol_20[d] = std(p[d-19 .. d], ddof=1) · √252`   (annualised, fraction of NAV)
    - `port_rvol_60[d] = std(p[d-59 .. d], ddof=1) · √252`
    - `vol_accel[d]    = port_rvol_20[d] / port_rvol_60[d]`   (NaN when rvol60 is 0 or NaN)
    - `dd_level[d]     = E[d] / max(E[start .. d]) − 1`, `E[d] = Π_{t=start}^{d} (1 + p[t])`
      (≤ 0; −0.10 = 10% below the running peak)
    - `dd_slope_10[d]  = dd_level[d] − dd_level[d-10]`
    - `corr_20[d]`, `corr_60[d]`: mean pairwise correlations of asset returns over 20 / 60
      sessions (precomputed with `mean_pairwise_correlation`)
    - `corr_shock[d]   = corr_20[d] − corr_60[d]`

    `start` (default 0) is the first session of the portfolio's P&L: sessions before it
    (warm-up, no position held) are not part of any window and their features stay NaN, so
    a run of warm-up zeros is never read as a calm market.

    Windows count sessions; the net series must be the daily one (SYSTEM.md §0). The
    session loop is a numba kernel (`kernels.state.advance_features`): the simulator calls `update` once
    per rebalance, ~17,500 sessions a run.
    """

    def __init__(self, n_sessions: int, corr20: np.ndarray, corr60: np.ndarray, *, start: int = 0):
        corr20 = np.ascontiguousarray(corr20, dtype=float)
        corr60 = np.ascontiguousarray(corr60, dtype=float)
        if corr20.shape != (n_sessions,) or corr60.shape != (n_sessions,):
            raise ValueError(
                f"corr20/corr60 must have shape ({n_sessions},), got {corr20.shape} and {corr60.shape}"
            )
        if not 0 <= start <= n_sessions:
            raise ValueError(f"start must lie in [0, {n_sessions}], got {start}")
        self.n_sessions = n_sessions
        self.start = start
        self._corr20, self._corr60 = corr20, corr60
        self.table = np.full((n_sessions, len(FEATURES)), np.nan)  # [T, FEATURES]; NaN = not computed
        self._wealth = np.array([1.0, -np.inf])  # equity and its running peak since `start`
        self._next = 0

    @property
    def next_session(self) -> int:
        """First session not yet processed."""
        return self._next

    @property
    def values(self) -> dict[str, np.ndarray]:
        """Each feature as an array of length `n_sessions`, NaN where not computed yet."""
        return {name: self.table[:, j].copy() for j, name in enumerate(FEATURES)}

    def update(self, net: np.ndarray, upto: int) -> None:
        """Compute the features of sessions `next_session .. upto` (inclusive).

        Reads only `net[start : upto+1]`; session `d` depends on `net[:d+1]` only. The
        values already consumed must not change between calls. Calling with an `upto`
        already processed does nothing. A non-finite net P&L is refused before anything
        of the call is computed.
        """
        if upto >= self.n_sessions:
            raise ValueError(f"upto={upto} is past the last session ({self.n_sessions - 1})")
        first = self._next
        if upto < first:
            return
        if len(net) <= upto:
            raise ValueError(f"net has {len(net)} sessions, cannot update through session {upto}")
        net = np.ascontiguousarray(net, dtype=float)
        lo = max(first, self.start)
        finite = np.isfinite(net[lo: upto + 1])
        if not finite.all():
            raise ValueError(f"net P&L is not finite at session {lo + int(np.argmin(finite))}")
        _ADVANCE_FEATURES(net, first, upto, self.start, self._corr20, self._corr60, self.table, self._wealth)
        self._next = upto + 1
