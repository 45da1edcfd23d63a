"""Numba kernels of the allocator's regime rule (`macrostack.layers.allocator.regime`, whose
docstring states the rule): flags, candidates, hysteresis and the smoothed scalar, session by
session from the feature table."""

from __future__ import annotations

from numba import njit

from macrostack.kernels import preload_blas
from macrostack.kernels.allocator_layout import (
    CORR_SHOCK, CRISIS, DD_LEVEL, DD_SLOPE, ENTER, EXIT, REGIME, SCALAR, STRESS, TARGET, VOL_ACCEL,
)

preload_blas()  # before numba's first compile: its BLAS probe would import all of scipy.linalg

_JIT = dict(cache=True, nogil=True, error_model="numpy")


@njit(**_JIT)
def count_flags(vol_accel, corr_shock, dd_level, dd_slope, limits):
    """Number of flagged features; `limits` = (vol_accel, corr_shock, dd_level, dd_slope_10).

    Comparisons with NaN are False, so a feature without enough history never flags.
    """
    vol_limit, corr_limit, dd_limit, slope_limit = limits
    return (int(vol_accel >= vol_limit) + int(corr_shock >= corr_limit) + int(dd_level <= dd_limit)
            + int(dd_slope <= slope_limit))


@njit(**_JIT)
def candidate(flags, dd_level, dd_stress, dd_crisis):
    if dd_level <= dd_crisis:
        return CRISIS
    regime = flags if flags < CRISIS else CRISIS
    if dd_level <= dd_stress and regime < STRESS:
        return STRESS
    return regime


@njit(**_JIT)
def next_regime(current, held, enter_candidate, exit_candidate, min_sessions_in_regime):
    """The hysteresis rule (module docstring, step 3): escalate at once, de-escalate late."""
    if enter_candidate > current:
        return enter_candidate
    if held >= min_sessions_in_regime and exit_candidate < current:
        # exit_candidate >= enter_candidate (looser thresholds), so this is exit_candidate
        return exit_candidate if exit_candidate > enter_candidate else enter_candidate
    return current


@njit(**_JIT)
def smooth(previous, target, alpha, minimum):
    s = previous + alpha * (target - previous)
    if s > 1.0:
        return 1.0
    return s if s > minimum else minimum


@njit(**_JIT)
def advance_regime(features, first, upto, enter_limits, exit_limits, dd_stress, dd_crisis, scalars, alpha,
                    minimum, min_sessions_in_regime, decisions, carry):
    """Fill `decisions[first .. upto]` from the feature table (module docstring, steps 1–4).

    `carry = [regime, sessions held, scalar]` after session `first − 1`, updated in place.
    """
    current, held, scalar = int(carry[0]), int(carry[1]), carry[2]
    for d in range(first, upto + 1):
        f = features[d]
        enter = count_flags(f[VOL_ACCEL], f[CORR_SHOCK], f[DD_LEVEL], f[DD_SLOPE], enter_limits)
        exit_ = count_flags(f[VOL_ACCEL], f[CORR_SHOCK], f[DD_LEVEL], f[DD_SLOPE], exit_limits)
        new = next_regime(current, held, candidate(enter, f[DD_LEVEL], dd_stress, dd_crisis),
                          candidate(exit_, f[DD_LEVEL], dd_stress, dd_crisis), min_sessions_in_regime)
        held = held + 1 if new == current else 1
        current = new
        target = scalars[new]
        scalar = smooth(scalar, target, alpha, minimum)
        row = decisions[d]
        row[REGIME], row[ENTER], row[EXIT], row[TARGET], row[SCALAR] = new, enter, exit_, target, scalar
    carry[0], carry[1], carry[2] = current, held, scalar
