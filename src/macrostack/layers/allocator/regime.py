"""Regime classification with hysteresis and the smoothed risk scalar (Layer 6, SYSTEM.md §6).

Per session `d`, from the features of `state.StateFeatures` (data `<= d` only):

1. Flags. A feature is flagged at a threshold when it is at or beyond it; NaN never flags.

       feature       enter    exit    flagged when
       vol_accel     1.30     1.15    >= threshold
       corr_shock    0.10     0.05    >= threshold
       dd_level     −0.10    −0.06    <= threshold
       dd_slope_10  −0.06    −0.03    <= threshold

   `enter_score` = number of enter flags, `exit_score` = number of exit flags (the exit
   thresholds are looser, so `exit_score >= enter_score`).
2. Candidate regime of a score: 0 NORMAL, 1 ELEVATED, 2 STRESS, >=3 CRISIS; then the
   drawdown overrides: `dd_level <= −0.12` → at least STRESS, `dd_level <= −0.20` → CRISIS.
   `enter_candidate` uses the enter score, `exit_candidate` the exit score (same overrides),
   so `exit_candidate >= enter_candidate`.
3. Hysteresis. With `R` the regime after session `d−1` (NORMAL before the first session) and
   `held` the number of sessions that closed in `R` (counted up to `d−1`):
   - if `enter_candidate > R`: regime `enter_candidate` at once (escalation; `held` restarts);
   - elif `held >= min_sessions_in_regime` (5) and `exit_candidate < R`: regime
     `exit_candidate` (= max(exit_candidate, enter_candidate)); `held` restarts;
   - else: stay in `R`.
   So a regime entered at session `e` can first be left downwards at session
   `e + min_sessions_in_regime`, and only as far down as the exit flags allow.
4. Scalar. `target[d] = profile.scalars[regime[d]]`;
   `s[d] = clip(s[d−1] + α (target[d] − s[d−1]), profile.minimum, 1)` with `s[−1] = 1`.
   Hence `0 < minimum <= s[d] <= 1`. The simulator applies `s[t_prev]` to the book decided
   at rebalance `t` (one-rebalance lag, SYSTEM.md §6).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from macrostack.layers.allocator.profiles import RiskProfile
from macrostack.layers.allocator.state import CORR_LONG, CORR_SHORT, StateFeatures, mean_pairwise_correlations
from macrostack.kernels import kernel
from macrostack.kernels.allocator_layout import ENTER, EXIT, REGIME, SCALAR, TARGET

_COUNT_FLAGS, _CANDIDATE, _NEXT_REGIME, _SMOOTH = (
    kernel(name) for name in ("count_flags", "candidate", "next_regime", "smooth"))
# Called once per rebalance with the tables Allocator made itself: no per-call argument checks.
_ADVANCE_REGIME = kernel("advance_regime", checked=False)

INITIAL_SCALAR = 1.0  # the scalar before the first session: no brake without evidence


class Regime(IntEnum):
    """Market regime of the portfolio, ordered by severity."""

    NORMAL = 0
    ELEVATED = 1
    STRESS = 2
    CRISIS = 3


@dataclass(frozen=True)
class Thresholds:
    """Enter / exit thresholds of the four regime features and the drawdown overrides.

    Units: `vol_accel` a ratio of annualised vols; `corr_shock` a correlation difference;
    `dd_level`, `dd_slope_10` fractions of equity (negative = below the peak / falling).
    """

    vol_accel: tuple[float, float] = (1.30, 1.15)  # (enter, exit), flag when >=
    corr_shock: tuple[float, float] = (0.10, 0.05)  # flag when >=
    dd_level: tuple[float, float] = (-0.10, -0.06)  # flag when <=
    dd_slope_10: tuple[float, float] = (-0.06, -0.03)  # flag when <=
    dd_stress: float = -0.12  # dd_level at or below: at least STRESS
    dd_crisis: float = -0.20  # dd_level at or below: CRISIS

    def limits(self, side: int) -> tuple[float, float, float, float]:
        """(vol_accel, corr_shock, dd_level, dd_slope_10) thresholds; side 0 enter, 1 exit."""
        return self.vol_accel[side], self.corr_shock[side], self.dd_level[side], self.dd_slope_10[side]


DEFAULT_THRESHOLDS = Thresholds()
REGIMES = tuple(r.name for r in Regime)  # names by code: NORMAL, ELEVATED, STRESS, CRISIS


def score(vol_accel: float, corr_shock: float, dd_level: float, dd_slope: float, side: int,
          th: Thresholds = DEFAULT_THRESHOLDS) -> int:
    """Number of features flagged at the enter (`side=0`) or exit (`side=1`) thresholds."""
    return int(_COUNT_FLAGS(float(vol_accel), float(corr_shock), float(dd_level), float(dd_slope), th.limits(side)))


def candidate(flags: int, dd_level: float, th: Thresholds = DEFAULT_THRESHOLDS) -> int:
    """Regime implied by a flag count, raised by the drawdown overrides."""
    return int(_CANDIDATE(int(flags), float(dd_level), th.dd_stress, th.dd_crisis))


def next_regime(current: int, held: int, enter_candidate: int, exit_candidate: int,
                min_sessions_in_regime: int) -> int:
    """The hysteresis rule (module docstring, step 3): escalate at once, de-escalate late."""
    return int(_NEXT_REGIME(current, held, enter_candidate, exit_candidate, min_sessions_in_regime))


def smooth_scalar(previous: float, target: float, profile: RiskProfile) -> float:
    """One EWMA step towards `target`, clipped: `clip(s + α (target − s), minimum, 1)`."""
    return float(_SMOOTH(float(previous), float(target), profile.alpha, profile.minimum))


class Allocator:
    """Layer 6 in the simulation loop: features → regime → smoothed scalar, day by day.

    The simulator calls `update(net, upto)` at each rebalance with the net P&L known through
    session `upto`, then reads `scalar_at(d)`. Sessions are processed once, in order; the
    result does not depend on how the calls are chunked. The session loops are compiled
    kernels (`kernels.state.advance_features`, `kernels.regime.advance_regime`).
    """

    def __init__(self, profile: RiskProfile, n_sessions: int, corr20: np.ndarray, corr60: np.ndarray,
                 min_sessions_in_regime: int = 5, *, start: int = 0,
                 thresholds: Thresholds = DEFAULT_THRESHOLDS):
        if not isinstance(profile, RiskProfile):
            raise TypeError(f"profile must be a RiskProfile (use get_profile), got {type(profile).__name__}")
        if min_sessions_in_regime < 1:
            raise ValueError(f"min_sessions_in_regime must be >= 1, got {min_sessions_in_regime}")
        self.profile = profile
        self.n_sessions = n_sessions
        self.min_sessions_in_regime = min_sessions_in_regime
        self.thresholds = thresholds
        self.features = StateFeatures(n_sessions, corr20, corr60, start=start)
        self._rule = (thresholds.limits(0), thresholds.limits(1), thresholds.dd_stress, thresholds.dd_crisis,
                      np.array(profile.scalars, dtype=float), profile.alpha, profile.minimum,
                      int(min_sessions_in_regime))
        # One row (regime, enter score, exit score, target, scalar) per session; NaN = not processed.
        self._decisions = np.full((n_sessions, 5), np.nan)
        self._carry = np.array([float(Regime.NORMAL), 0.0, INITIAL_SCALAR])  # regime, sessions held, scalar

    @classmethod
    def from_returns(cls, profile: RiskProfile, returns: np.ndarray, **kwargs) -> Allocator:
        """An allocator for a run whose asset returns `[T × N]` are known up front."""
        returns = np.asarray(returns, dtype=float)
        corr = mean_pairwise_correlations(returns, (CORR_SHORT, CORR_LONG))
        return cls(profile, returns.shape[0], corr[CORR_SHORT], corr[CORR_LONG], **kwargs)

    @property
    def next_session(self) -> int:
        """First session not yet processed."""
        return self.features.next_session

    def update(self, net: np.ndarray, upto: int) -> None:
        """Advance features, regime and scalar through session `upto` (inclusive).

        Session `d` reads `net[:d+1]` only. Already processed sessions are not recomputed.
        """
        first = self.features.next_session
        self.features.update(net, upto)
        if upto >= first:
            _ADVANCE_REGIME(self.features.table, first, upto, *self._rule, self._decisions, self._carry)

    def loop_state(self) -> tuple:
        """What the compiled rebalance loop (`kernels.book.book_rebalances`) reads and advances in
        place: the rule as one array (enter limits, exit limits, dd_stress, dd_crisis, alpha, minimum,
        min_sessions_in_regime), the regime scalars, corr20, corr60, start and the state tables."""
        enter, exit_, dd_stress, dd_crisis, scalars, alpha, minimum, min_sessions = self._rule
        rule = np.array([*enter, *exit_, dd_stress, dd_crisis, alpha, minimum, min_sessions], dtype=float)
        f = self.features
        return (rule, scalars, f._corr20, f._corr60, f.start, f.table, f._wealth, self._decisions, self._carry)

    def advanced_through(self, upto: int) -> None:
        """Sessions through `upto` were processed by the compiled loop (on `loop_state`'s tables)."""
        self.features._next = max(self.features._next, upto + 1)

    def scalar_at(self, d: int) -> float:
        """The smoothed scalar after session `d` (0 <= d < next_session).

        Before the first session the scalar is `INITIAL_SCALAR` (1.0); ask for it explicitly
        rather than with a negative index, which Python would read from the end.
        """
        if not 0 <= d < self.next_session:
            raise ValueError(f"scalar of session {d} not computed (processed sessions: 0..{self.next_session - 1})")
        return float(self._decisions[d, SCALAR])

    def diagnostics(self) -> dict[str, np.ndarray]:
        """Every feature, `regime` (int8), `target_scalar`, `scalar`, `enter_score`, `exit_score`.

        Arrays of length `n_sessions`; NaN / −1 where not computed yet.
        """
        out = self.features.values
        done = self.next_session
        for j, name in ((REGIME, "regime"), (ENTER, "enter_score"), (EXIT, "exit_score")):
            column = np.full(self.n_sessions, -1, dtype=np.int8)
            column[:done] = self._decisions[:done, j]
            out[name] = column
        for j, name in ((TARGET, "target_scalar"), (SCALAR, "scalar")):
            out[name] = self._decisions[:, j].copy()
        return out
