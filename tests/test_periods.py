"""Sub-period, trailing-return and worst-drawdown tables against hand-computed series."""

import math

import numpy as np
import pytest

from macrostack.metrics import performance_metrics
from macrostack.periods import (
    decade_windows,
    headline_tables,
    split_windows,
    sub_period_table,
    trailing_returns,
    worst_drawdowns,
)


def days(*d):
    return np.array(d, dtype="datetime64[D]")


def test_decades_and_partial_decades():
    d = days("1968-03-01", "1969-12-31", "1970-01-02", "1975-06-02", "1979-12-28", "1980-01-02", "1981-06-30")
    w = decade_windows(d)
    assert [(x.label, x.lo, x.hi, x.partial) for x in w] == [
        ("1960s", 0, 2, True),    # starts in March 1968
        ("1970s", 2, 5, False),   # 2 January .. 28 December: within a week of both ends
        ("1980s", 5, 7, True),    # ends mid-1981
    ]


# five sessions around the millennium; the run's ppy is given (250) so every row is annualised alike
D = days("1999-12-29", "1999-12-30", "1999-12-31", "2000-01-03", "2000-01-04")
NET = np.array([0.01, -0.02, 0.03, 0.01, -0.01])
COSTS = np.array([0.0, 0.0, 0.0, 0.001, 0.002])
TRADED = np.array([0.0, 0.0, 0.0, 1.0, 2.0])
PPY = 250.0


def test_sub_period_table_by_hand():
    rows = {r["period"]: r for r in sub_period_table(NET, COSTS, TRADED, D, PPY)}
    # full, the two (partial) decades, since 2000; since 2010 is after the run, the run is shorter than 5 y
    assert list(rows) == ["full period", "1990s", "2000s", "since 2000"]
    assert rows["1990s"]["partial"] and rows["2000s"]["partial"] and not rows["full period"]["partial"]

    s = rows["since 2000"]  # sessions 2000-01-03, 2000-01-04: +1 %, −1 %
    assert (s["first"], s["last"], s["n_sessions"]) == ("2000-01-03", "2000-01-04", 2)
    assert s["cagr"] == pytest.approx((1.01 * 0.99) ** (250 / 2) - 1)            # −0.0125 ...
    assert s["ann_vol"] == pytest.approx(math.sqrt(2e-4) * math.sqrt(250))      # std(ddof=1) of ±1 % = √2 %
    assert s["sharpe"] == pytest.approx(0.0, abs=1e-12)                          # mean 0
    assert s["max_drawdown"] == pytest.approx(1.01 * 0.99 / 1.01 - 1)           # −1 % from the 1.01 peak
    assert s["cost_drag"] == pytest.approx(0.0015 * 250)                         # mean cost × ppy
    assert s["turnover_per_year"] == pytest.approx(1.5 * 250)

    n = rows["1990s"]  # +1 %, −2 %, +3 %: its own equity starts at 1
    assert n["cagr"] == pytest.approx((1.01 * 0.98 * 1.03) ** (250 / 3) - 1)
    assert n["max_drawdown"] == pytest.approx(0.98 - 1)
    assert n["cost_drag"] == 0.0


def test_the_full_period_row_is_the_headline():
    full = sub_period_table(NET, COSTS, TRADED, D, PPY)[0]
    m = performance_metrics(NET, D, gross=NET + COSTS, costs=COSTS, traded=TRADED, ppy=PPY)
    for k in ("cagr", "ann_vol", "sharpe", "max_drawdown", "cost_drag", "turnover_per_year", "n_sessions"):
        assert full[k] == m[k], k


def test_user_splits_cut_consecutive_windows():
    w = split_windows(D, ["2000-01-01", "1990-01-01", "2030-01-01"])  # outside the run: dropped
    assert [(x.label, x.lo, x.hi) for x in w] == [("to 2000-01-01", 0, 3), ("from 2000-01-01", 3, 5)]
    rows = sub_period_table(NET, COSTS, TRADED, D, PPY, splits=["2000-01-01", "2000-01-04"])
    assert [r["period"] for r in rows] == ["full period", "1990s", "2000s", "to 2000-01-01",
                                           "2000-01-01 – 2000-01-04", "from 2000-01-04"]
    assert [r["n_sessions"] for r in rows[3:]] == [3, 1, 1]


def test_last_5_years_and_since_rows_on_a_long_run():
    d = np.arange(np.datetime64("2003-01-06"), np.datetime64("2012-01-02"), 7)  # Mondays
    x = np.full(d.size, 0.001)
    rows = {r["period"]: r for r in sub_period_table(x, np.zeros(d.size), np.zeros(d.size), d, 52.0)}
    assert "since 2000" not in rows and "since 2010" in rows  # 2000 is before the run: that is the full period
    last = rows["last 5 y"]
    assert last["first"] > "2006-12-26" and last["last"] == "2011-12-26"  # sessions after 2006-12-26
    assert last["n_sessions"] == 261


def test_trailing_returns_by_hand():
    d = days("2020-01-13", "2021-01-14", "2021-01-15", "2022-06-01", "2023-01-13")
    net = np.array([0.5, 0.1, -0.1, 0.2, 0.05])
    out = trailing_returns(net, d)
    assert [r["years"] for r in out] == [1, 3]  # the run is not 5 or 10 years long: left out, not shortened
    one, three = out
    # 1 y: sessions after 2022-01-13 -> 2022-06-01, 2023-01-13
    assert (one["from"], one["to"], one["n_sessions"]) == ("2022-06-01", "2023-01-13", 2)
    assert one["return"] == pytest.approx(1.2 * 1.05 - 1) and one["annualised"] == one["return"]
    # 3 y: sessions after 2020-01-13 (the first session is the base NAV, its own return is not in)
    r3 = 1.1 * 0.9 * 1.2 * 1.05 - 1
    assert three["return"] == pytest.approx(r3)
    assert three["annualised"] == pytest.approx((1 + r3) ** (1 / 3) - 1)


def test_worst_drawdowns_by_hand():
    # equity 1.1, 0.99, 1.1, 1.21, 0.968, 1.1616, 1.21, 1.2705, 1.14345
    net = np.array([0.1, -0.1, 1.1 / 0.99 - 1, 0.1, -0.2, 0.2, 1.21 / 1.1616 - 1, 0.05, -0.1])
    d = np.arange(np.datetime64("2024-01-01"), np.datetime64("2024-01-10"))
    out = worst_drawdowns(net, d)
    assert [r["depth"] for r in out] == pytest.approx([-0.2, -0.1, -0.1])
    deepest, second, third = out
    assert deepest == {"depth": pytest.approx(-0.2), "peak": "2024-01-04", "trough": "2024-01-05",
                       "recovery": "2024-01-07", "duration": 3, "recovered": True}
    assert (second["peak"], second["trough"], second["recovery"], second["duration"]) == (
        "2024-01-01", "2024-01-02", "2024-01-03", 2)
    assert (third["recovery"], third["recovered"], third["duration"]) == (None, False, 1)  # peak 01-08, last 01-09
    assert len(worst_drawdowns(net, d, n=2)) == 2
    # from the starting NAV: no peak session; the duration counts from before the first session
    start = worst_drawdowns(np.array([-0.1, 0.2]), d[:2])[0]
    assert (start["peak"], start["trough"], start["recovery"], start["duration"]) == (None, "2024-01-01", "2024-01-02", 2)


def test_headline_tables_are_plain_values():
    t = headline_tables(NET, COSTS, TRADED, D, PPY)
    assert set(t) == {"sub_periods", "trailing", "drawdowns"}
    for rows in t.values():
        for row in rows:
            for v in row.values():
                assert v is None or type(v) in (str, int, float, bool), (row, type(v))


# --------------------------------------------------------------------------- a real run (2016–2020)


@pytest.fixture(scope="module")
def core_dir(short_runs):
    return short_runs["core"]


def test_a_run_records_the_tables_and_the_full_row_is_the_headline(core_dir):
    import json

    m = json.loads((core_dir / "manifest.json").read_text())
    full, *rest = m["sub_periods"]
    for k in ("cagr", "ann_vol", "sharpe", "max_drawdown", "cost_drag", "turnover_per_year", "n_sessions"):
        assert full[k] == m["metrics"][k], k
    assert [(r["period"], r["partial"]) for r in rest] == [("2010s", True), ("2020s", True)]  # no since-rows: all after 2010
    assert [r["years"] for r in m["trailing"]] == [1, 3]
    assert m["drawdowns"][0]["depth"] == m["metrics"]["max_drawdown"]
    assert m["drawdowns"][0]["trough"] == m["metrics"]["max_dd_trough"]
    assert m["periods_per_year"] == m["metrics"]["periods_per_year"]


def test_show_and_report_take_splits(core_dir, tmp_path):
    from typer.testing import CliRunner

    from macrostack.cli import app

    runner = CliRunner()
    out, run = str(core_dir.parent), core_dir.name
    r = runner.invoke(app, ["show", run, "--out", out, "--splits", "2018-01-01"], env={"COLUMNS": "120"})
    assert r.exit_code == 0, r.output
    assert "from 2018-01-01" in r.output and "to 2018-01-01" in r.output and "not recovered" in r.output
    r = runner.invoke(app, ["show", run, "--out", out, "--json"])
    assert r.exit_code == 0 and {"sub_periods", "trailing", "drawdowns", "periods_per_year"} <= set(json_of(r.output))
    r = runner.invoke(app, ["show", run, "--out", out, "--splits", "2018-13-01"])
    assert r.exit_code == 2 and "--splits" in r.output
    html = tmp_path / "r.html"
    r = runner.invoke(app, ["report", run, "--out", out, "--html", str(html), "--splits", "2018-01-01,2019-06-30"])
    assert r.exit_code == 0, r.output
    page = html.read_text()
    assert "2018-01-01 – 2019-06-30" in page and "drawdowns" in page and "not recovered" in page


def json_of(text):
    import json

    return json.loads(text)


def test_report_start_end_restricts_every_tile_and_table(core_dir, tmp_path):
    import pandas as pd

    from macrostack.metrics import sharpe
    from macrostack.report import load_run, restricted, write_report

    whole = load_run(core_dir)
    run = restricted(whole, pd.Timestamp("2019-01-01"), pd.Timestamp("2019-06-30"))
    assert run.dates[0] >= pd.Timestamp("2019-01-01") and run.dates[-1] <= pd.Timestamp("2019-06-30")
    net = run.daily["net"].to_numpy()
    m = run.manifest["metrics"]
    assert m["n_sessions"] == len(net) == len(run.positions) == len(run.returns) and len(run.sleeves) == len(net)
    ppy = whole.manifest["periods_per_year"]  # the run's calendar, not the window's
    assert m["periods_per_year"] == ppy and m["sharpe"] == pytest.approx(sharpe(net, ppy), rel=1e-12)
    assert run.manifest["sub_periods"][0]["first"] == m["first_date"] == str(run.dates[0].date())
    assert run.rt["date"].between("2019-01-01", "2019-06-30").all() and run.manifest["n_rebalances"] == len(run.rt)
    parts = run.manifest["attribution"]["sleeves"]
    assert sum(p["contribution"] for p in parts.values()) == pytest.approx(m["ann_return"], abs=1e-12)
    text = write_report(core_dir, tmp_path / "w.html", start="2019-01-01", end="2019-06-30").read_text()
    assert f"{m['first_date']} → {m['last_date']} ({m['n_sessions']} sessions" in text
    with pytest.raises(Exception, match="no ready sessions between"):
        restricted(whole, pd.Timestamp("2030-01-01"), None)
