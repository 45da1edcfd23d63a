"""Allocator state (Layer 6, SYSTEM.md §6): daily features from data `<= d` only.

Two kinds of input, treated differently because of when they are known:

- asset returns `r[d, i]` are known for the whole run before the simulation starts, so the
  mean pairwise correlation is computed for every session at once, before the simulation
  (`mean_pairwise_correlation`); the value at `d` reads only rows `d-window+1 .. d`;
- the portfolio's net P&L `p[d]` depends on the allocator's own past decisions, so the
  portfolio features are computed incrementally (`StateFeatures.update`, a numba kernel),
  session by session, each reading only `p[:d+1]`.

All windows count SESSIONS of the run calendar (a daily series, never weekly rows —
predecessor defects 8 and 9) and annualise with 252 sessions per year.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from macrostack.data.calendar import SESSIONS_PER_YEAR
from macrostack.engines._columns import run_in_blocks
from macrostack.kernels import preload_blas

preload_blas()  # before numba's first compile: its BLAS probe would import all of scipy.linalg

VOL_SHORT = 20  # sessions in the short realised-vol window (port_rvol_20)
VOL_LONG = 60  # sessions in the long realised-vol window (port_rvol_60)
DD_SLOPE_LAG = 10  # sessions between the two drawdowns of dd_slope_10
CORR_SHORT = 20  # sessions in the short correlation window (corr_20)
CORR_LONG = 60  # sessions in the long correlation window (corr_60)

_ANNUALISE = math.sqrt(SESSIONS_PER_YEAR)
_JIT = dict(cache=True, nogil=True, error_model="numpy")

FEATURES = (
    "port_rvol_20",
    "port_rvol_60",
    "vol_accel",
    "dd_level",
    "dd_slope_10",
    "corr_20",
    "corr_60",
    "corr_shock",
)


# --------------------------------------------------------------------------------------
# Mean pairwise correlation of asset returns (every session, before the simulation)
# --------------------------------------------------------------------------------------


_CORR_CHUNK = 256  # sessions per chunk of the transposed copy of the returns


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
    `Y[t] = Σ_i r[t,i]/s_i`, by the kernel `_mean_correlations`.
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
        run_in_blocks(lambda d0, d1: _mean_correlations(r, lengths, d0, d1, out), r.shape[0])
    return {w: out[j] for j, w in enumerate(windows)}


@njit(**_JIT)
def _mean_correlations(r, windows, d0, d1, out):
    """`out[j, d]` = mean pairwise correlation of `r` over the `windows[j]` sessions ending at
    `d` (see `mean_pairwise_correlation`), for `d0 <= d < d1` where the window is full; the
    rest of `out` is left as it is.

    Per window, the missing returns and the changes between consecutive sessions are exact
    integer counts carried from session to session (+ the session that enters, − the one
    that leaves), started from 0 at `s0 = max(0, d0 − longest window)`, so a block of sessions
    needs nothing from the block before it. The sums are recomputed from the window's rows,
    so nothing drifts: per instrument `m_i = Σ_t r/w`, `s_i² = Σ_t (r − m_i)² / (w − 1)` (two
    passes), then `Y[t] = Σ_i r[t,i]/s_i` over the k valid instruments and `Var(Y)` in two
    passes. The instruments' sums step over rows (all instruments at once); `Y` steps over
    sessions, from a transposed copy of the rows the current chunk of sessions reads
    (`_CORR_CHUNK` sessions plus the longest window)."""
    n = r.shape[1]
    n_w = windows.shape[0]
    w_max = windows.max()
    rt = np.empty((n, _CORR_CHUNK + w_max - 1))  # rt[i, t - lo] = r[t, i]
    missing = np.zeros((n_w, n), np.int64)  # sessions without a return in the window
    changes = np.zeros((n_w, n), np.int64)  # r[t] != r[t-1] for t - 1, t in the window
    mean = np.empty(n)
    ssd = np.empty(n)
    inv_std = np.empty(n)
    y = np.empty(w_max)
    s0 = max(0, d0 - w_max)
    for c0 in range(s0, d1, _CORR_CHUNK):
        c1 = min(c0 + _CORR_CHUNK, d1)
        lo = max(0, c0 - w_max + 1)
        for t in range(lo, c1):
            for i in range(n):
                rt[i, t - lo] = r[t, i]
        for d in range(c0, c1):
            for j in range(n_w):
                w = windows[j]
                first = d - w + 1
                for i in range(n):  # session d enters the window, first − 1 leaves it
                    missing[j, i] += 0 if np.isfinite(r[d, i]) else 1
                    if d > s0:
                        changes[j, i] += 1 if r[d, i] != r[d - 1, i] else 0
                    if first > s0:
                        missing[j, i] -= 0 if np.isfinite(r[first - 1, i]) else 1
                        changes[j, i] -= 1 if r[first, i] != r[first - 1, i] else 0
                if first < 0 or d < d0:
                    continue
                mean[:] = 0.0
                ssd[:] = 0.0
                for t in range(first, d + 1):
                    for i in range(n):
                        mean[i] += r[t, i]
                mean /= w
                for t in range(first, d + 1):
                    for i in range(n):
                        dev = r[t, i] - mean[i]
                        ssd[i] += dev * dev
                k = 0
                for i in range(n):
                    var = ssd[i] / (w - 1)
                    use = (missing[j, i] == 0) & (changes[j, i] > 0) & (var > 0.0)
                    inv_std[i] = 1.0 / np.sqrt(var) if use else 0.0
                    k += 1 if use else 0
                if k < 2:
                    out[j, d] = np.nan
                    continue
                y[:w] = 0.0
                for i in range(n):
                    if inv_std[i] != 0.0:
                        a = inv_std[i]
                        row = rt[i, first - lo: d + 1 - lo]
                        for t in range(w):
                            y[t] += row[t] * a
                y_mean = 0.0
                for t in range(w):
                    y_mean += y[t]
                y_mean /= w
                y_ssd = 0.0
                for t in range(w):
                    y_ssd += (y[t] - y_mean) * (y[t] - y_mean)
                out[j, d] = (y_ssd / (w - 1) - k) / (k * (k - 1.0))


# --------------------------------------------------------------------------------------
# Portfolio features (incremental, session by session; numba kernel)
# --------------------------------------------------------------------------------------

# Columns of the feature table, in FEATURES order.
RVOL_SHORT, RVOL_LONG, VOL_ACCEL, DD_LEVEL, DD_SLOPE, CORR_S, CORR_L, CORR_SHOCK = range(len(FEATURES))
# A constant window computed in two passes keeps at most ~(w ε)² Σx² of rounding in its sum of
# squared deviations; below this fraction of Σx² the window is constant.
_NOISE = (4 * VOL_LONG * np.finfo(float).eps) ** 2


@njit(**_JIT)
def window_std(x: np.ndarray, d: int, window: int) -> float:
    """Sample std (ddof=1) of `x[d-window+1 .. d]`, in two passes (mean, then squared
    deviations), so nothing drifts across sessions. Exactly 0 for a constant window (e.g. a
    flat book), so that vol_accel is never a ratio of two rounding errors."""
    lo = d - window + 1
    total = 0.0
    for i in range(lo, d + 1):
        total += x[i]
    mean = total / window
    sum_sq_dev = 0.0
    sum_sq = 0.0
    for i in range(lo, d + 1):
        dev = x[i] - mean
        sum_sq_dev += dev * dev
        sum_sq += x[i] * x[i]
    if sum_sq_dev <= _NOISE * sum_sq:
        return 0.0
    return math.sqrt(sum_sq_dev / (window - 1))


@njit(**_JIT)
def _advance_features(net, first, upto, start, corr20, corr60, table, wealth):
    """Fill `table[first .. upto]` (see `StateFeatures`); `wealth = [equity, peak]` carries
    the drawdown state from one call to the next. Session d reads `net[start .. d]` only."""
    for d in range(max(first, start), upto + 1):
        seen = d - start + 1
        rvol_short = window_std(net, d, VOL_SHORT) * _ANNUALISE if seen >= VOL_SHORT else np.nan
        rvol_long = window_std(net, d, VOL_LONG) * _ANNUALISE if seen >= VOL_LONG else np.nan
        wealth[0] *= 1.0 + net[d]
        if wealth[0] > wealth[1]:
            wealth[1] = wealth[0]
        # A peak <= 0 means the book was wiped out on its first session: total drawdown.
        dd = wealth[0] / wealth[1] - 1.0 if wealth[1] > 0.0 else -1.0
        row = table[d]
        row[RVOL_SHORT] = rvol_short
        row[RVOL_LONG] = rvol_long
        row[VOL_ACCEL] = rvol_short / rvol_long if rvol_long > 0.0 else np.nan  # NaN compares False: no 0/0
        row[DD_LEVEL] = dd
        row[DD_SLOPE] = dd - table[d - DD_SLOPE_LAG, DD_LEVEL] if d - DD_SLOPE_LAG >= start else np.nan
        row[CORR_S] = corr20[d]
        row[CORR_L] = corr60[d]
        row[CORR_SHOCK] = corr20[d] - corr60[d]


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
    session loop is a numba kernel (`_advance_features`): the simulator calls `update` once
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
        _advance_features(net, first, upto, self.start, self._corr20, self._corr60, self.table, self._wealth)
        self._next = upto + 1
