"""Rebalance schedules pick the last session of each period."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from macrostack.data.calendar import rebalance_indices
from macrostack.errors import InputError


def sessions(*days):
    return np.array(days, dtype="datetime64[D]")


def test_weekly_uses_last_session_of_week_even_if_friday_is_a_holiday():
    # 2024-03-25 Mon … 2024-03-28 Thu (Good Friday 29th closed), then Mon 1 Apr … Fri 5 Apr
    d = sessions("2024-03-25", "2024-03-26", "2024-03-27", "2024-03-28",
                 "2024-04-01", "2024-04-02", "2024-04-05")
    assert list(rebalance_indices(d, "W-FRI")) == [3, 6]


def test_monthly_and_daily():
    d = sessions("2024-01-30", "2024-01-31", "2024-02-01", "2024-02-29", "2024-03-01")
    assert list(rebalance_indices(d, "M")) == [1, 3, 4]
    assert list(rebalance_indices(d, "D")) == [0, 1, 2, 3, 4]


def test_unknown_schedule_is_an_input_error():
    with pytest.raises(InputError, match="W-FRI"):
        rebalance_indices(sessions("2024-01-02"), "weekly")


@given(st.lists(st.integers(0, 5000), min_size=1, max_size=300, unique=True))
def test_weekly_rebalances_are_the_last_weekday_of_each_week(offsets):
    days = np.sort(np.datetime64("2000-01-03") + np.array(offsets))
    days = days[(days.astype(np.int64) + 3) % 7 < 5]  # weekdays only
    if len(days) == 0:
        return
    idx = rebalance_indices(days, "W-FRI")
    weeks = (days.astype(np.int64) + 3) // 7
    assert len(idx) == len(np.unique(weeks))
    for i in idx:  # each is the last session of its week
        assert i == len(days) - 1 or weeks[i + 1] != weeks[i]
