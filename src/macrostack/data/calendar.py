"""Sessions and rebalance schedules.

One session calendar per run: the weekdays on which any instrument of the universe has a
bar (no weekend rows). Windows count sessions of this calendar. `SESSIONS_PER_YEAR` (252) is
the convention the stack's own estimators annualise with (risk targeting's ex-ante vol,
allocator and policy vol features, where it cancels in ratios); reported metrics use the
calendar's measured sessions per year instead (`metrics.periods_per_year`, ~260.9). A rebalance schedule picks sessions from it:

- `D`: every session;
- `W-FRI`: the last session of each Monday–Friday week (Friday, or the last session before
  it when Friday is a holiday);
- `M`: the last session of each calendar month.
"""

from __future__ import annotations

import numpy as np

from macrostack.errors import InputError

SCHEDULES = ("D", "W-FRI", "M")
SESSIONS_PER_YEAR = 252


def rebalance_indices(dates: np.ndarray, schedule: str) -> np.ndarray:
    """Indices into `dates` (sorted datetime64[D] sessions) of the rebalance sessions.

    A period's last session is a rebalance even when it is the last session of the data
    (the period may be incomplete); callers that must not trade on a partial period drop it.
    """
    if schedule not in SCHEDULES:
        raise InputError(f"unknown rebalance schedule {schedule!r}", "schedule", f"use one of {', '.join(SCHEDULES)}")
    days = dates.astype("datetime64[D]")
    n = len(days)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if schedule == "D":
        return np.arange(n, dtype=np.int64)
    if schedule == "W-FRI":
        # 1970-01-01 was a Thursday: (days + 3) // 7 numbers Monday-start weeks.
        period = (days.astype(np.int64) + 3) // 7
    else:
        period = days.astype("datetime64[M]").astype(np.int64)
    last_of_period = np.flatnonzero(np.diff(period) != 0)
    return np.append(last_of_period, n - 1).astype(np.int64)


def asof(src_dates: np.ndarray, src_values: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Value at the latest `src_dates` <= each query date (forward fill only); NaN if none.

    `src_dates` must be sorted; NaT queries give NaN."""
    idx = np.searchsorted(src_dates, query, side="right") - 1
    ok = (idx >= 0) & ~np.isnat(query)
    out = np.full(len(query), np.nan)
    out[ok] = src_values[idx[ok]]
    return out
