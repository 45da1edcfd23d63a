"""Tests of the pysystemtrade source: real data (hand-checked returns) and tiny fixtures.

Expected values are computed here from the raw CSV lines with the `csv` module, so they do
not share code with the loader. Session rule: a row's session is its calendar date, and
Saturday/Sunday-stamped rows belong to the following Monday. Session close of an adjusted
price: the last row stamped at or before 22:00:00 (rows after it count only on a session
without one); multiple prices and FX: the session's last row.
"""

from __future__ import annotations

import csv
import math
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from macrostack.data.sources import pysystemtrade as pst
from macrostack.errors import InputError


def _shared_data() -> Path | None:
    """The shared pysystemtrade folder (next to the repo, or under $MACROSTACK_SHARED)."""
    candidates = [Path(__file__).resolve().parents[2] / "shared/data/pysystemtrade"]
    if os.environ.get("MACROSTACK_SHARED"):
        env = Path(os.environ["MACROSTACK_SHARED"])
        candidates += [env / "data/pysystemtrade", env / "pysystemtrade", env]
    return next((c for c in candidates if (c / "adjusted_prices_csv").is_dir()), None)


DATA = _shared_data()
needs_data = pytest.mark.skipif(DATA is None, reason="shared pysystemtrade data not found")

NO_MULTIPLE = {"DAX", "FTSE100", "US20", "US30", "EURIBOR", "HEATOIL", "GBP", "MXP", "NZD",
               "SILVER", "GASOILINE", "CAD", "CHF", "BRENT_W"}


@pytest.fixture(scope="module")
def full():
    """The whole folder loaded once; also records load time and progress calls."""
    calls = []
    start = time.perf_counter()
    ds = pst.load(DATA, progress=lambda advance, description: calls.append((advance, description)))
    seconds = time.perf_counter() - start
    print(f"\nfull pysystemtrade load: {seconds:.2f} s")
    return ds, seconds, calls


def bar(ds, symbol: str, date: str) -> pd.Series:
    rows = ds.bars[(ds.bars["symbol"] == symbol) & (ds.bars["date"] == pd.Timestamp(date))]
    assert len(rows) == 1, f"expected one bar for {symbol} {date}"
    return rows.iloc[0]


def last_row(path: Path, days: set[str], column: str) -> dict:
    """Last raw row whose DATETIME calendar date is in `days` and whose `column` is non-empty."""
    with open(path, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["DATETIME"][:10] in days and r[column] != ""]
    assert rows, f"no rows for {days} in {path}"
    return rows[-1]


def close_row(path: Path, days: set[str], column: str = "price") -> dict:
    """The session close of an adjusted-price file: the last non-empty row of `days` stamped at
    or before 22:00:00, or the last non-empty row if there is none."""
    with open(path, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["DATETIME"][:10] in days and r[column] != ""]
    assert rows, f"no rows for {days} in {path}"
    observed = [r for r in rows if r["DATETIME"][11:] <= "22:00:00"]
    return (observed or rows)[-1]


def raw_rows(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


# --------------------------------------------------------------------------- real data


@needs_data
def test_instruments_and_metadata(full):
    ds, seconds, calls = full
    ins = ds.instruments.set_index("symbol")
    # 42 files + the front contracts of the two vol futures, derived from their multiple prices
    assert len(ins) == 44
    derived = ins.index[ins["return_basis"] == "derived_front"]
    assert set(derived) == {"VIX_FRONT", "V2X_FRONT"}
    assert all(ins.loc[d, "source_ticker"] == d.removesuffix("_FRONT") for d in derived)
    ins = ins.drop(derived)
    assert set(ins.index) == {p.stem for p in (DATA / "adjusted_prices_csv").glob("*.csv")}
    config = {r["Instrument"]: r for r in raw_rows(DATA / "csvconfig/instrumentconfig.csv")}
    for code, row in ins.iterrows():
        assert row["asset_class"] == config[code]["AssetClass"]
        assert row["currency"] == config[code]["Currency"]
        assert row["name"] == config[code]["Description"]
        assert row["point_size"] == float(config[code]["Pointsize"])
        assert row["source_ticker"] == code
    assert ins.loc["EUROSTX", "currency"] == "EUR" and ins.loc["JGB", "currency"] == "JPY"
    assert ins.loc["HANG", "currency"] == "HKD" and ins.loc["GILT", "currency"] == "GBP"
    assert set(ins.index[ins["return_basis"] == "adjusted_level"]) == NO_MULTIPLE
    assert (ins.loc[sorted(set(ins.index) - NO_MULTIPLE), "return_basis"] == "contract_price").all()
    assert set(ds.fx["currency"]) == {"EUR", "GBP", "JPY", "HKD"}
    assert ds.source == "pysystemtrade" and ds.parameters == {"path": str(DATA.resolve())}
    assert len(ds.content_hash) == 64


@needs_data
def test_load_time_and_progress(full):
    ds, seconds, calls = full
    assert seconds < 30, f"full load took {seconds:.1f} s"
    assert len(calls) == 42 and all(advance == 1 for advance, _ in calls)
    files = ds.instruments["return_basis"] != "derived_front"   # one progress step per file read
    assert sorted(d for _, d in calls) == sorted(ds.instruments["symbol"][files])


@needs_data
def test_hand_check_usd_roll_nasdaq_2019_03_11(full):
    """NASDAQ (USD), session Mon 2019-03-11 vs Fri 2019-03-08, intraday rows. The held
    contract rolls 20190300 → 20190600; the roll row is Sunday-stamped (2019-03-10 23:30)."""
    ds = full[0]
    adj, mult = DATA / "adjusted_prices_csv/NASDAQ.csv", DATA / "multiple_prices_csv/NASDAQ.csv"
    prev_days, days = {"2019-03-08"}, {"2019-03-09", "2019-03-10", "2019-03-11"}
    adj_prev, adj_now = close_row(adj, prev_days), close_row(adj, days)
    m_prev, m_now = last_row(mult, prev_days, "PRICE"), last_row(mult, days, "PRICE")
    # not the 23:00 daily bars (8209.25 on Friday, 8237.75 on Monday = Friday's close) nor the
    # 23:15-23:45 rows (Tuesday's evening trading)
    assert adj_prev["DATETIME"] == "2019-03-08 21:45:00" and adj_now["DATETIME"] == "2019-03-11 21:45:00"
    assert (m_prev["PRICE_CONTRACT"], m_now["PRICE_CONTRACT"]) == ("20190300", "20190600")
    assert any(r["DATETIME"] == "2019-03-10 23:30:00" and r["PRICE_CONTRACT"] == "20190600" for r in raw_rows(mult))

    expected = (float(adj_now["price"]) - float(adj_prev["price"])) / float(m_prev["PRICE"])
    now = bar(ds, "NASDAQ", "2019-03-11")
    assert now["ret"] == pytest.approx(expected, rel=0, abs=1e-12)
    assert now["price"] == float(m_now["PRICE"]) and now["price_contract"] == "20190600"
    assert now["adjusted_close"] == float(adj_now["price"])
    assert bar(ds, "NASDAQ", "2019-03-08")["price_contract"] == "20190300"


@needs_data
def test_hand_check_non_usd_jgb_2022_07_19(full):
    """JGB (JPY), session Tue 2022-07-19 vs Mon 2022-07-18. Monday was a Japanese holiday:
    the 2022-07-18 session is the single Saturday-stamped row 2022-07-16 23:00."""
    ds = full[0]
    adj, mult = DATA / "adjusted_prices_csv/JGB.csv", DATA / "multiple_prices_csv/JGB.csv"
    fx = DATA / "fx_prices_csv/JPYUSD.csv"
    prev_days, days = {"2022-07-16", "2022-07-17", "2022-07-18"}, {"2022-07-19"}
    adj_prev, adj_now = close_row(adj, prev_days), close_row(adj, days)
    price_prev = last_row(mult, prev_days, "PRICE")
    fx_prev, fx_now = last_row(fx, prev_days, "PRICE"), last_row(fx, days, "PRICE")
    assert adj_prev["DATETIME"] == "2022-07-16 23:00:00" and price_prev["DATETIME"] == "2022-07-16 23:00:00"
    assert adj_now["DATETIME"] == "2022-07-19 21:00:00"
    assert (fx_prev["DATETIME"], fx_now["DATETIME"]) == ("2022-07-18 23:00:00", "2022-07-19 23:00:00")

    local = (float(adj_now["price"]) - float(adj_prev["price"])) / float(price_prev["PRICE"])
    expected = local * float(fx_now["PRICE"]) / float(fx_prev["PRICE"])
    assert bar(ds, "JGB", "2022-07-19")["ret"] == pytest.approx(expected, rel=0, abs=1e-12)
    assert expected != pytest.approx(local, rel=0, abs=1e-9)  # the FX factor matters here
    fx_table = ds.fx[(ds.fx["currency"] == "JPY") & (ds.fx["date"] == pd.Timestamp("2022-07-19"))]
    assert fx_table["usd_per_unit"].tolist() == [float(fx_now["PRICE"])]


@needs_data
def test_hand_check_ordinary_usd_day_sp500_2023_03_14(full):
    """SP500 (USD), session Tue 2023-03-14 vs Mon 2023-03-13, intraday rows, no roll."""
    ds = full[0]
    adj, mult = DATA / "adjusted_prices_csv/SP500.csv", DATA / "multiple_prices_csv/SP500.csv"
    adj_prev, adj_now = close_row(adj, {"2023-03-13"}), close_row(adj, {"2023-03-14"})
    m_prev, m_now = last_row(mult, {"2023-03-13"}, "PRICE"), last_row(mult, {"2023-03-14"}, "PRICE")
    assert m_prev["PRICE_CONTRACT"] == m_now["PRICE_CONTRACT"] == "20230600"
    assert adj_now["DATETIME"] == "2023-03-14 20:00:00"
    expected = (float(adj_now["price"]) - float(adj_prev["price"])) / float(m_prev["PRICE"])
    now = bar(ds, "SP500", "2023-03-14")
    assert now["ret"] == pytest.approx(expected, rel=0, abs=1e-12)
    assert (now["carry"], now["carry_contract"]) == (float(m_now["CARRY"]), m_now["CARRY_CONTRACT"])
    assert (now["forward"], now["forward_contract"]) == (float(m_now["FORWARD"]), m_now["FORWARD_CONTRACT"])


@needs_data
def test_session_rule_weekend_rows(full):
    """No weekend sessions; the Sunday row SOFR 2018-12-23 23:00 is Monday 2018-12-24's close
    (the Monday row's price is empty), with CARRY/FORWARD taken from that same row."""
    ds = full[0]
    assert (ds.bars["date"].dt.day_of_week < 5).all()
    assert (ds.bars["date"] == ds.bars["date"].dt.normalize()).all()
    adj, mult = DATA / "adjusted_prices_csv/SOFR.csv", DATA / "multiple_prices_csv/SOFR.csv"
    sunday_adj = next(r for r in raw_rows(adj) if r["DATETIME"] == "2018-12-23 23:00:00")
    sunday_mult = next(r for r in raw_rows(mult) if r["DATETIME"] == "2018-12-23 23:00:00")
    monday_mult = next(r for r in raw_rows(mult) if r["DATETIME"] == "2018-12-24 23:00:00")
    assert monday_mult["PRICE"] == "" and monday_mult["FORWARD"] != ""  # so the Sunday row wins
    monday = bar(ds, "SOFR", "2018-12-24")
    assert monday["adjusted_close"] == float(sunday_adj["price"])
    assert monday["price"] == float(sunday_mult["PRICE"])
    assert monday["carry"] == float(sunday_mult["CARRY"])
    assert math.isnan(monday["forward"])  # empty in the Sunday row; not filled from the Monday row
    friday_adj = close_row(adj, {"2018-12-21"})
    friday_price = last_row(mult, {"2018-12-21"}, "PRICE")
    expected = (float(sunday_adj["price"]) - float(friday_adj["price"])) / float(friday_price["PRICE"])
    assert monday["ret"] == pytest.approx(expected, rel=0, abs=1e-12)
    # JGB: the Saturday row 2022-07-16 23:00 forms Monday 2022-07-18's session.
    assert bar(ds, "JGB", "2022-07-18")["adjusted_close"] == 143.57000000000002


@needs_data
def test_session_close_is_not_the_stale_daily_bar(full):
    """In the hourly era the 23:00 daily bar is mostly the previous session's close. Taking it
    as the session close gave SILVER/GOLD a daily-return correlation of 0.20 and US30/US20 0.11
    over 2013-2017; two markets that move together must correlate like it."""
    ret = full[0].bars.pivot(index="date", columns="symbol", values="ret").loc["2013":"2017"]
    for a, b in (("SILVER", "GOLD"), ("US30", "US20"), ("BRENT_W", "CRUDE_W"), ("SP500", "RUSSELL")):
        pair = ret[[a, b]].dropna()
        assert len(pair) > 700 and pair[a].corr(pair[b]) > 0.55, (a, b)


@needs_data
def test_first_session_nan_and_fx_start(full):
    ds = full[0]
    firsts = ds.bars.sort_values("date").groupby("symbol").head(1)
    assert firsts["ret"].isna().all()
    # EURIBOR (EUR) starts 1989, EURUSD on 1999-09-06: no USD return before both rates exist.
    euribor = ds.bars[ds.bars["symbol"] == "EURIBOR"].set_index("date")["ret"]
    assert euribor[:"1999-09-06"].isna().all()
    assert euribor["1999-09-08":].notna().mean() > 0.99


@needs_data
def test_cost_from_last_price(full):
    """k = SpreadCost / P + PerBlock / (P × Pointsize) + Percentage, P = last PRICE."""
    ds = full[0]
    last_price = float([r for r in raw_rows(DATA / "multiple_prices_csv/SP500.csv") if r["PRICE"]][-1]["PRICE"])
    expected = 0.13 / last_price + 2.25 / (last_price * 50) + 0
    ins = ds.instruments.set_index("symbol")
    assert ins.loc["SP500", "cost"] == pytest.approx(expected, rel=1e-12)
    sp = ds.bars[ds.bars["symbol"] == "SP500"]
    assert (sp["cost"] == ins.loc["SP500", "cost"]).all()
    assert ins["cost"].notna().all() and (ins["cost"] > 0).all()


def test_session_dates_helper():
    ts = pd.Series(pd.to_datetime(["2024-01-05 23:00:00", "2024-01-06 10:00:00", "2024-01-07 23:00:00",
                                   "2024-01-08 01:00:00"]))
    assert [d.strftime("%Y-%m-%d") for d in pst.session_dates(ts)] == [
        "2024-01-05", "2024-01-08", "2024-01-08", "2024-01-08"]


# --------------------------------------------------------------------------- tiny fixture

MULT_HEADER = "DATETIME,CARRY,CARRY_CONTRACT,PRICE,PRICE_CONTRACT,FORWARD,FORWARD_CONTRACT"
TINY = {
    # AAA: USD, with multiple prices. Fri 01-05, Mon 01-08 (incl. a Sunday row), Tue 01-09
    # empty (dropped), Wed 01-10.
    # Fri 01-05 closes at 21:00 (the 23:00 daily bar and the 23:30 evening row come after the
    # 22:00 cut-off); the Sunday 23:00 row is Monday's only until Monday's 21:00 row.
    "adjusted_prices_csv/AAA.csv": """DATETIME,price
2024-01-05 10:00:00,99
2024-01-05 21:00:00,100
2024-01-05 23:00:00,98
2024-01-05 23:30:00,100.2
2024-01-07 23:00:00,100.5
2024-01-08 21:00:00,101
2024-01-09 21:00:00,
2024-01-10 21:00:00,103
""",
    # No PRICE on Mon 01-08 (held-contract price forward-filled from Fri); 01-09 has no adjusted session.
    "multiple_prices_csv/AAA.csv": f"""{MULT_HEADER}
2024-01-05 21:00:00,201,20240600,200,20240300,201,20240600
2024-01-08 21:00:00,205,20240600,,20240300,205,20240600
2024-01-09 21:00:00,212,20240900,211,20240600,212,20240900
2024-01-10 21:00:00,216,20240900,215,20240600,,20240900
""",
    # BBB: EUR, no multiple prices (adjusted-level basis). FX starts on 01-05. Thu 01-04 has
    # only rows after 22:00: its last one is the close.
    "adjusted_prices_csv/BBB.csv": """DATETIME,price
2024-01-04 23:00:00,49
2024-01-04 23:15:00,50
2024-01-05 21:00:00,51
2024-01-08 21:00:00,52
2024-01-09 21:00:00,-1
2024-01-10 21:00:00,2
""",
    "fx_prices_csv/EURUSD.csv": """DATETIME,PRICE
2024-01-05 21:00:00,1.1
2024-01-08 21:00:00,1.2
""",
    "csvconfig/instrumentconfig.csv": """Instrument,Description,Pointsize,Currency,AssetClass,PerBlock,Percentage,PerTrade,Region
AAA,Test future A,10,USD,Equity,2,0.001,5,US
BBB,Test future B,5,EUR,Bond,1,0,0,EMEA
""",
    "csvconfig/spreadcosts.csv": "Instrument,SpreadCost\nAAA,0.5\n",
    "csvconfig/rollconfig.csv": "Instrument,HoldRollCycle,RollOffsetDays,CarryOffset,PricedRollCycle,ExpiryOffset\n"
                                "AAA,HMUZ,-5,1,HMUZ,15\nBBB,HMUZ,-5,1,HMUZ,15\n",
    "csvconfig/moreinstrumentinfo.csv": "Instrument,AssetClass,SubClass,SubSubClass,Style,Country,Duration,Description\n"
                                        "AAA,Equity,US,,,US,,Test A\nBBB,Bond,EU,,,DE,,Test B\n",
}


@pytest.fixture
def tiny(tmp_path):
    """A 2-instrument folder built in tmp_path."""
    for rel, text in TINY.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_tiny_happy_path(tiny):
    ds = pst.load(tiny, name="tiny")
    ret = ds.bars.set_index(["symbol", ds.bars["date"].dt.strftime("%Y-%m-%d")])["ret"]
    # AAA (USD): r = Δadj / PRICE of the previous session (forward-filled over 01-08).
    assert math.isnan(ret["AAA", "2024-01-05"])
    assert ret["AAA", "2024-01-08"] == pytest.approx((101 - 100) / 200, abs=1e-15)  # = 0.005
    assert ret["AAA", "2024-01-10"] == pytest.approx((103 - 101) / 200, abs=1e-15)  # 01-08 has no PRICE
    assert ("AAA", "2024-01-09") not in ret.index  # empty adjusted price: no session
    # BBB (EUR, adjusted-level basis): r = Δadj / adj[d-1] × fx[d] / fx[d-1].
    assert math.isnan(ret["BBB", "2024-01-04"]) and math.isnan(ret["BBB", "2024-01-05"])  # no FX on 01-04
    assert ret["BBB", "2024-01-08"] == pytest.approx((52 - 51) / 51 * 1.2 / 1.1, abs=1e-15)
    # (−1 − 52)/52 = −102%: on an adjusted-level basis a move beyond ±50% is an artefact, not a return
    assert math.isnan(ret["BBB", "2024-01-09"])
    assert math.isnan(ret["BBB", "2024-01-10"])  # previous adjusted level <= 0

    bars = ds.bars.set_index(["symbol", ds.bars["date"].dt.strftime("%Y-%m-%d")])
    fri, mon, wed = bars.loc[("AAA", "2024-01-05")], bars.loc[("AAA", "2024-01-08")], bars.loc[("AAA", "2024-01-10")]
    assert fri["adjusted_close"] == 100 and bars.loc[("BBB", "2024-01-04"), "adjusted_close"] == 50
    assert mon["adjusted_close"] == 101 and math.isnan(mon["price"]) and pd.isna(mon["price_contract"])
    assert (fri["price"], fri["price_contract"], fri["carry_contract"]) == (200, "20240300", "20240600")
    assert wed["price"] == 215 and math.isnan(wed["forward"]) and wed["forward_contract"] == "20240900"

    ins = ds.instruments.set_index("symbol")
    assert ins.loc["AAA", "cost"] == pytest.approx(0.5 / 215 + 2 / (215 * 10) + 0.001, rel=1e-12)
    assert ins.loc["BBB", "cost"] == pytest.approx(0 / 2 + 1 / (2 * 5), rel=1e-12)  # no spread row → 0
    assert list(ins["return_basis"]) == ["contract_price", "adjusted_level"]
    assert (bars.loc["AAA", "cost"] == ins.loc["AAA", "cost"]).all()
    assert ds.fx["usd_per_unit"].tolist() == [1.1, 1.2] and set(ds.fx["currency"]) == {"EUR"}
    assert ds.name == "tiny" and len(ds.content_hash) == 64


def test_tiny_hash_changes_with_content(tiny):
    before = pst.load(tiny).content_hash
    path = tiny / "csvconfig/spreadcosts.csv"
    path.write_text(path.read_text().replace("0.5", "0.6"))
    assert pst.load(tiny).content_hash != before


def _replace(rel: str, old: str, new: str):
    def mutate(root: Path) -> None:
        path = root / rel
        text = path.read_text()
        assert old in text, f"{old!r} not in {rel}"
        path.write_text(text.replace(old, new, 1))
    return mutate


def _remove(rel: str):
    return lambda root: (root / rel).unlink()


def _add(rel: str, text: str):
    return lambda root: (root / rel).write_text(text)


BAD_CASES = {
    "missing column": (_replace("adjusted_prices_csv/AAA.csv", "DATETIME,price", "DATETIME,close"),
                       "adjusted_prices_csv/AAA.csv", "missing column"),
    "missing multiple column": (_replace("multiple_prices_csv/AAA.csv", ",FORWARD_CONTRACT", ",FWD_CONTRACT"),
                                "multiple_prices_csv/AAA.csv", "FORWARD_CONTRACT"),
    "unparsable date": (_replace("adjusted_prices_csv/BBB.csv", "2024-01-05 21:00:00", "2024-13-05 21:00:00"),
                        "adjusted_prices_csv/BBB.csv", "line 4, column DATETIME"),
    "duplicate timestamp": (_replace("adjusted_prices_csv/AAA.csv", "2024-01-07 23:00:00", "2024-01-05 23:30:00"),
                            "adjusted_prices_csv/AAA.csv", "duplicate timestamp"),
    "unordered timestamps": (_replace("multiple_prices_csv/AAA.csv", "2024-01-09 21:00:00", "2024-01-02 21:00:00"),
                             "multiple_prices_csv/AAA.csv", "line 4"),
    "inf value": (_replace("adjusted_prices_csv/AAA.csv", ",101\n", ",inf\n"),
                  "adjusted_prices_csv/AAA.csv", "non-finite"),
    "text value": (_replace("multiple_prices_csv/AAA.csv", ",211,", ",abc,"),
                   "multiple_prices_csv/AAA.csv", "column PRICE"),
    "non-positive PRICE": (_replace("multiple_prices_csv/AAA.csv", ",211,", ",0,"),
                           "multiple_prices_csv/AAA.csv", "non-positive contract price"),
    "bad contract id": (_replace("multiple_prices_csv/AAA.csv", ",20240300,", ",Z5,"),
                        "multiple_prices_csv/AAA.csv", "line 2, column PRICE_CONTRACT: contract id 'Z5'"),
    "negative CARRY": (_replace("multiple_prices_csv/AAA.csv", ",212,", ",-3,"),
                       "multiple_prices_csv/AAA.csv", "column CARRY"),
    "inf FX": (_replace("fx_prices_csv/EURUSD.csv", "1.2", "inf"), "fx_prices_csv/EURUSD.csv", "non-finite"),
    "non-USD without FX file": (_remove("fx_prices_csv/EURUSD.csv"), "EURUSD.csv", "BBB"),
    "unknown instrument": (_add("adjusted_prices_csv/CCC.csv", "DATETIME,price\n2024-01-05 21:00:00,1\n"),
                           "adjusted_prices_csv/CCC.csv", "'CCC' has no row"),
    "missing adjusted folder": (lambda root: shutil.rmtree(root / "adjusted_prices_csv"), None,
                                "adjusted_prices_csv/ not found"),
    "missing Pointsize": (_replace("csvconfig/instrumentconfig.csv", "Test future B,5,", "Test future B,,"),
                          "instrumentconfig.csv", "line 3, column Pointsize"),
    "missing config file": (_remove("csvconfig/spreadcosts.csv"), "spreadcosts.csv", "not found"),
    "ragged row": (_replace("adjusted_prices_csv/AAA.csv", ",103\n", ",103,7\n"),
                   "adjusted_prices_csv/AAA.csv", "cannot parse CSV"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_input_raises_input_error_naming_the_file(tiny, case):
    mutate, file_part, detail = BAD_CASES[case]
    mutate(tiny)
    with pytest.raises(InputError) as err:
        pst.load(tiny)
    message = str(err.value)
    assert (file_part or str(tiny.resolve())) in message, message
    assert detail in message, message
    assert "fix:" in message, message


def test_inf_error_names_line_and_column(tiny):
    _replace("adjusted_prices_csv/AAA.csv", ",101\n", ",inf\n")(tiny)
    with pytest.raises(InputError, match=r"AAA\.csv, line 7, column price"):
        pst.load(tiny)


def test_missing_spread_row_is_zero_but_unknown_config_row_is_error(tiny):
    # BBB has no spreadcosts row (→ 0, checked in the happy path); dropping its config row is an error.
    _replace("csvconfig/instrumentconfig.csv", "BBB,Test future B,5,EUR,Bond,1,0,0,EMEA\n", "")(tiny)
    with pytest.raises(InputError, match="BBB.csv"):
        pst.load(tiny)


def test_instrument_without_rows_after_dropping_empty_prices(tiny):
    """An instrument whose multiple file has no PRICE at all: bars exist, price/ret NaN, cost NaN."""
    (tiny / "multiple_prices_csv/AAA.csv").write_text(f"{MULT_HEADER}\n2024-01-05 21:00:00,1,20240600,,20240300,1,20240600\n")
    ds = pst.load(tiny)
    aaa = ds.bars[ds.bars["symbol"] == "AAA"]
    assert len(aaa) == 3 and aaa["price"].isna().all() and aaa["ret"].isna().all()
    assert np.isnan(ds.instruments.set_index("symbol").loc["AAA", "cost"])
