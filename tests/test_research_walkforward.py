"""research.walkforward: choices from past rows only, held and stitched out of sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from macrostack import metrics
from macrostack.errors import InputError
from macrostack.research.walkforward import SELECTORS, parse_period, walk_forward


def _days(start, end):
    return pd.bdate_range(start, end).to_numpy().astype("datetime64[D]")


# --------------------------------------------------------------------------- periods


@pytest.mark.parametrize(("text", "kwargs"), [("10y", {"years": 10}), ("2Y", {"years": 2}), (" 6m ", {"months": 6}),
                                              ("26w", {"weeks": 26}), ("90d", {"days": 90})])
def test_parse_period(text, kwargs):
    assert parse_period(text) == pd.DateOffset(**kwargs)


@pytest.mark.parametrize("bad", ["10", "y", "0y", "-2y", "1.5y", "10x", "", "10 years", 10, None])
def test_parse_period_refuses_bad_input_with_where_and_fix(bad):
    with pytest.raises(InputError) as err:
        parse_period(bad, "--train")
    assert str(err.value).startswith("--train: ") and "fix: write a whole number and a unit" in str(err.value)


# --------------------------------------------------------------------------- a hand-checked case


def _segmented_case():
    """4 years of sessions cut at the boundaries 2001-01-03, 2002-01-03, 2003-01-03 (train 1y,
    test 1y from 2000-01-03). In each segment every column has a constant drift plus the SAME
    ±0.001 alternating noise, so within a segment the Sharpe ranks columns by drift."""
    days = _days("2000-01-03", "2003-12-31")
    bounds = np.array(["2001-01-03", "2002-01-03", "2003-01-03"], dtype="datetime64[D]")
    segment = np.searchsorted(bounds, days, side="left")  # 0: <= b0, 1: (b0, b1], ...
    drift = np.array([[1, 3, 2],   # segment 0: column 1 best
                      [3, 1, 2],   # segment 1: column 0 best
                      [2, 1, 3],   # segment 2: column 2 best
                      [1, 2, 3]]) * 1e-4
    noise = 0.001 * (-1.0) ** np.arange(days.size)
    return days, segment, drift[segment] + noise[:, None]


def test_walk_forward_hand_checked_case():
    days, segment, x = _segmented_case()
    wf = walk_forward(pd.DataFrame(x, columns=["a", "b", "c"]), days, train="1y", test="1y")
    sel = wf.selections
    assert list(sel["boundary"]) == list(pd.to_datetime(["2001-01-03", "2002-01-03", "2003-01-03"]))
    assert list(sel["column"]) == [1, 0, 2] and list(sel["chosen"]) == ["b", "a", "c"]
    # held: column 1 over segment 1, column 0 over segment 2, column 2 over segment 3
    expected = np.concatenate([x[segment == 1, 1], x[segment == 2, 0], x[segment == 3, 2]])
    np.testing.assert_array_equal(wf.stitched.to_numpy(), expected)
    np.testing.assert_array_equal(wf.stitched.index.to_numpy().astype("datetime64[D]"), days[segment >= 1])
    ppy = metrics.periods_per_year(days)
    # rolling train window at 2001-01-03 is (2000-01-03, 2001-01-03]: segment 0 without its first session
    assert sel["train_first"][0] == pd.Timestamp("2000-01-04") and sel["train_last"][0] == pd.Timestamp("2001-01-03")
    assert sel["is_sharpe"][0] == metrics.sharpe(x[1:int((segment == 0).sum()), 1], ppy)
    assert sel["is_metric"][1] == sel["is_sharpe"][1] == metrics.sharpe(x[segment == 1, 0], ppy)
    assert sel["oos_metric"][2] == sel["oos_sharpe"][2] == metrics.sharpe(x[segment == 3, 2], ppy)
    assert wf.oos_sharpe == metrics.sharpe(expected, ppy)
    assert wf.is_sharpe == pytest.approx(sel["is_sharpe"].mean(), rel=1e-15)
    assert wf.gap == wf.is_sharpe - wf.oos_sharpe and wf.ppy == ppy


def test_anchored_windows_start_at_the_first_session():
    days, _, x = _segmented_case()
    seen = []

    def spy(window):
        if window.shape[1] == x.shape[1]:  # a choice (one-column calls report oos_metric)
            seen.append(window.copy())
        return window.mean(axis=0)

    wf = walk_forward(x, days, train="1y", test="1y", anchored=True, select=spy)
    for window, last in zip(seen, wf.selections["train_last"]):
        hi = int(np.searchsorted(days, np.datetime64(last.date()), side="right"))
        np.testing.assert_array_equal(window, x[:hi])  # every row from the first session to b_k
    assert list(wf.selections["column"]) == [int(np.argmax(w.mean(axis=0))) for w in seen]


# --------------------------------------------------------------------------- no look-ahead


def _random_case(seed=0):
    days = _days("1995-01-02", "2006-12-29")
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0002, 0.01, (days.size, 8)) + rng.normal(0.0, 0.0003, 8)  # some columns better
    return days, x


@pytest.mark.parametrize("anchored", [False, True])
@pytest.mark.parametrize("select", ["sharpe", "calmar"])
def test_no_choice_uses_data_after_its_boundary(anchored, select):
    """For every boundary b_k: make the returns after b_k of a column NOT chosen at b_k
    enormous (it would win any look-ahead), and separately replace every row after b_k with
    noise. The choices and in-sample metrics at b_0..b_k do not change."""
    days, x = _random_case()
    base = walk_forward(x, days, train="3y", test="1y", anchored=anchored, select=select).selections
    assert base["column"].nunique() > 1
    for k, row in base.iterrows():
        after = days > np.datetime64(row["boundary"].date())
        rival = (row["column"] + 1) % x.shape[1]
        lured = x.copy()
        lured[after, rival] += 0.05  # +5% more every session
        noisy = x.copy()
        noisy[after] = np.random.default_rng(k).normal(0.0, 0.05, (int(after.sum()), x.shape[1]))
        for corrupted in (lured, noisy):
            sel = walk_forward(corrupted, days, train="3y", test="1y", anchored=anchored, select=select).selections
            pd.testing.assert_frame_equal(sel.loc[:k, ["boundary", "column", "is_metric", "is_sharpe"]],
                                          base.loc[:k, ["boundary", "column", "is_metric", "is_sharpe"]])
        if k + 1 < len(base):  # the lure does work on the next boundary, which sees it
            later = walk_forward(lured, days, train="3y", test="1y", anchored=anchored, select=select).selections
            assert later["column"][k + 1] == rival


def test_select_gets_a_copy_of_rows_up_to_the_boundary_only():
    days, x = _random_case()
    calls = []

    def spy(window):
        if window.shape[1] == x.shape[1]:  # a choice (one-column calls report oos_metric)
            calls.append((window.shape[0], np.shares_memory(window, x), window[-1].copy()))
        return window.sum(axis=0)

    wf = walk_forward(x, days, train="3y", test="1y", select=spy)
    assert len(calls) == len(wf.selections)
    for (n_rows, shared, last_row), (_, row) in zip(calls, wf.selections.iterrows()):
        b = np.datetime64(row["boundary"].date())
        in_window = (days <= b) & (days > np.datetime64((row["boundary"] - pd.DateOffset(years=3)).date()))
        assert n_rows == in_window.sum() and not shared
        np.testing.assert_array_equal(last_row, x[np.flatnonzero(days <= b)[-1]])


# --------------------------------------------------------------------------- windows and edge cases


def test_step_shorter_than_test_holds_until_the_next_boundary():
    days, x = _random_case()
    wf = walk_forward(x, days, train="3y", test="1y", step="6m")
    assert wf.stitched.index.is_unique and wf.stitched.index.is_monotonic_increasing
    first = np.datetime64(wf.selections["test_first"][0].date())
    np.testing.assert_array_equal(wf.stitched.index.to_numpy().astype("datetime64[D]"), days[days >= first])
    held = wf.selections["test_last"] - wf.selections["test_first"]
    assert (held[:-1] < pd.Timedelta(days=190)).all()


def test_step_longer_than_test_leaves_gaps():
    days, x = _random_case()
    wf = walk_forward(x, days, train="3y", test="6m", step="1y")
    covered = wf.stitched.index.to_numpy().astype("datetime64[D]")
    assert covered.size < (days > np.datetime64(wf.selections["boundary"][0].date())).sum()
    for _, row in wf.selections.iterrows():  # each stretch is the sessions in (b, b + 6m]
        b = row["boundary"]
        inside = (days > np.datetime64(b.date())) & (days <= np.datetime64((b + pd.DateOffset(months=6)).date()))
        assert (row["test_first"], row["test_last"]) == (pd.Timestamp(days[inside][0]), pd.Timestamp(days[inside][-1]))


def test_every_selector_runs_and_matches_its_metrics_helper():
    days, x = _random_case()
    ppy = metrics.periods_per_year(days)
    for name, fn in SELECTORS.items():
        wf = walk_forward(x, days, train="3y", test="1y", select=name)
        row = wf.selections.iloc[0]
        hi = int(np.searchsorted(days, np.datetime64(row["train_last"].date()), side="right"))
        lo = int(np.searchsorted(days, np.datetime64(row["train_first"].date())))
        scores = [fn(x[lo:hi, j], ppy) for j in range(x.shape[1])]
        assert row["column"] == int(np.nanargmax(scores)) and row["is_metric"] == scores[row["column"]]


def test_no_finite_score_holds_flat():
    days, x = _random_case()
    x[: int(np.searchsorted(days, np.datetime64("1999-06-01")))] = 0.0  # nothing traded yet: Sharpe NaN
    wf = walk_forward(x, days, train="3y", test="1y")
    first = wf.selections.iloc[0]
    assert first["column"] == -1 and pd.isna(first["chosen"]) and np.isnan(first["is_metric"])
    held = wf.stitched[first["test_first"]:first["test_last"]]
    assert (held == 0.0).all() and wf.selections["column"].iloc[-1] >= 0


def test_walk_forward_refuses_bad_input():
    days, x = _random_case()
    with pytest.raises(InputError, match="--test"):
        walk_forward(x, days, train="3y", test="2q")
    with pytest.raises(InputError, match="--step"):
        walk_forward(x, days, train="3y", test="1y", step="0m")
    with pytest.raises(InputError, match="not longer than the train period"):
        walk_forward(x, days, train="20y", test="1y")
    with pytest.raises(InputError, match="--select"):
        walk_forward(x, days, train="3y", test="1y", select="omega")
    with pytest.raises(InputError, match="one date per row"):
        walk_forward(x, days[1:], train="3y", test="1y")
    with pytest.raises(InputError, match="strictly increasing"):
        walk_forward(x, days[::-1], train="3y", test="1y")
    with pytest.raises(InputError, match="nothing to walk forward"):
        walk_forward(x[:1], days[:1], train="3y", test="1y")
