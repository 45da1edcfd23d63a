"""Data-quality evidence (`macrostack.data.quality`): hand-checked statistics, synthetic smoothed and
stale series, listing dates, the flagged-P&L share, level-return exclusion, and the real default data."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from macrostack.data import quality as q
from macrostack.data.check import check_dataset, quality_evidence
from macrostack.data.store import MarketStore
from macrostack.errors import InputError


def _bars(series: dict[str, np.ndarray], start: str = "2010-01-01") -> pd.DataFrame:
    frames = []
    for sym, ret in series.items():
        dates = pd.bdate_range(start, periods=len(ret))
        frames.append(pd.DataFrame({"symbol": sym, "date": dates, "ret": ret}))
    return pd.concat(frames, ignore_index=True)


def _instruments(symbols, **columns) -> pd.DataFrame:
    return pd.DataFrame({"symbol": list(symbols), "return_basis": "source_return", **columns})


# --------------------------------------------------------------------------- hand-checked statistics

def test_lag1_autocorr_and_variance_ratio_by_hand():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    # x̃ = [-1.5, -.5, .5, 1.5]: Σx̃² = 5, Σ x̃_t x̃_{t-1} = .75 - .25 + .75 = 1.25
    assert q.lag1_autocorr(x) == pytest.approx(0.25, abs=1e-15)
    # 2-sums [3, 5, 7]: var 4; var(x) = 5/3; VR(2) = 4 / (2 · 5/3) = 1.2
    assert q.variance_ratio(x, 2) == pytest.approx(1.2, abs=1e-15)
    assert q.variance_ratio_se(5, 2600) == pytest.approx(np.sqrt(2 * 9 * 4 / (15 * 2600)))


def test_grouped_statistics_equal_one_group_at_a_time():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(300), rng.standard_normal(200).cumsum() * 0.01
    g = np.r_[np.zeros(300, int), np.ones(200, int)]
    both = np.r_[a, b]
    np.testing.assert_allclose(q.grouped_lag1_autocorr(both, g), [q.lag1_autocorr(a), q.lag1_autocorr(b)], rtol=1e-12)
    np.testing.assert_allclose(q.grouped_variance_ratio(both, g, 5), [q.variance_ratio(a), q.variance_ratio(b)],
                               rtol=1e-12)


# --------------------------------------------------------------------------- synthetic series

def test_smoothed_series_flagged_and_iid_not():
    rng = np.random.default_rng(7)
    e = rng.standard_normal(2602) * 0.01
    smooth = (e[2:] + e[1:-1] + e[:-2]) / 3  # 3-session average: ρ₁ = 2/3, VR(5) ≈ 2.3
    iid = rng.standard_normal(2600) * 0.01
    ev = q.assess(_bars({"SMOOTH": smooth, "IID": iid}, "2010-01-01"), _instruments(["SMOOTH", "IID"]))
    ins = ev.instruments.set_index("symbol")
    assert ins.loc["SMOOTH", "smoothed_decades"] == "2010s" and "smoothed" in ins.loc["SMOOTH", "flags"]
    assert ins.loc["IID", "flags"] == ""
    row = ev.decades.set_index("symbol").loc["SMOOTH"]
    assert row["ac1"] == pytest.approx(2 / 3, abs=0.05) and row["vr"] > 1.8
    # every bar of the smoothed decade is flagged, none of the iid one
    assert set(ev.flagged["symbol"]) == {"SMOOTH"} and len(ev.flagged) == len(smooth)


def test_short_or_mildly_correlated_decades_are_not_judged_smoothed():
    assert not q.is_smoothed(0.5, 2.0, q.MIN_RETURNS - 1)       # too few returns
    assert not q.is_smoothed(0.12, 1.15, 2600)                   # ρ₁ high, VR not (IJ in the 2010s)
    assert not q.is_smoothed(0.11, 1.25, 600)                    # ρ₁ below 3 standard errors at n = 600
    assert q.is_smoothed(0.15, 1.3, 2600)


def test_stale_runs_and_catch_up_session():
    ret = np.array([0.01, 0, 0, 0, 0, 0, 0.05, 0.01, 0, 0, 0, 0.02, np.nan, 0.0])
    runs = q.zero_run_lengths(ret, np.zeros(len(ret), int))
    np.testing.assert_array_equal(runs, [0, 5, 5, 5, 5, 5, 0, 0, 3, 3, 3, 0, 0, 1])
    stale = q.stale_flags(ret, np.zeros(len(ret), int))
    np.testing.assert_array_equal(np.flatnonzero(stale), [1, 2, 3, 4, 5, 6])  # the run and its catch-up (0.05)
    # a run never crosses instruments: 3 zeros at the end of A and 3 at the start of B are two runs of 3
    ret2 = np.array([0.01, 0, 0, 0, 0, 0, 0, 0.01])
    sym = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    assert not q.stale_flags(ret2, sym).any()
    ev = q.assess(_bars({"S": ret[:12]}), _instruments(["S"]))
    r = ev.instruments.iloc[0]
    assert (r["longest_zero_run"], r["stale_sessions"], r["flags"]) == (5, 6, "stale")


def test_history_before_listing_date_is_flagged():
    ret = np.full(30, 0.001) * np.r_[1, -1] .repeat(15)
    bars = _bars({"A": ret, "B": ret}, "2020-01-01")
    ins = _instruments(["A", "B"], listing_date=[pd.Timestamp("2020-01-15"), pd.NaT])
    ev = q.assess(bars, ins)
    r = ev.instruments.set_index("symbol")
    assert r.loc["A", "pre_listing"] == 10 and r.loc["A", "flags"] == "pre-listing"  # Jan 1–14: 10 weekdays
    assert r.loc["B", "pre_listing"] == 0 and r.loc["B", "flags"] == ""
    assert ev.flagged["date"].max() == np.datetime64("2020-01-14")


# --------------------------------------------------------------------------- the run's P&L share

def test_flagged_pnl_share_hand_checked():
    held = np.array([[1.0, 0.5], [1.0, -1.0], [0.5, 0.5]])
    ret = np.array([[0.01, 0.02], [-0.01, np.nan], [0.02, 0.04]])
    mask = np.array([[False, True], [False, False], [True, False]])
    # π = [[.01, .01], [-.01, 0], [.01, .02]]: gross .04, flagged .01 + .01 = .02
    f = q.flagged_pnl(held, ret, mask)
    assert f["share"] == pytest.approx(0.5) and f["gross"] == pytest.approx(0.04)
    assert f["abs_share"] == pytest.approx(0.02 / 0.06)          # Σ|π| = .06
    assert f["exposure_share"] == pytest.approx(1.0 / 4.5)       # flagged |w| .5 + .5 of 4.5
    assert f["flagged_instrument_sessions"] == 2
    # from session 1 on: gross -.01 + 0 + .01 + .02 = .02, flagged .01
    assert q.flagged_pnl(held, ret, mask, start=1)["share"] == pytest.approx(0.5)


def test_session_mask_maps_flagged_bars_onto_the_run_calendar():
    ev = q.QualityEvidence(pd.DataFrame(), pd.DataFrame(),
                           pd.DataFrame({"symbol": ["A", "B", "C"],
                                         "date": pd.to_datetime(["2020-01-02", "2020-01-03", "2020-01-02"])}))
    dates = np.array(["2020-01-01", "2020-01-02", "2020-01-03"], dtype="datetime64[D]")
    m = q.session_mask(ev, dates, ("A", "B", "L"), level_symbols=["L"])
    np.testing.assert_array_equal(m, [[False, False, True], [True, False, True], [False, True, True]])


# --------------------------------------------------------------------------- level returns

def test_level_return_instruments_excluded_unless_opted_in():
    ins = pd.DataFrame({"symbol": ["A", "LVL"], "return_basis": ["contract_price", "adjusted_level"]})
    symbols, excluded = q.run_universe(ins, None, False, "ds")
    assert symbols == ["A"] and list(excluded) == ["LVL"] and "allow_level_returns" in excluded["LVL"]
    assert q.run_universe(ins, None, True, "ds") == (None, {})
    with pytest.raises(InputError, match="allow_level_returns"):
        q.run_universe(ins, ["A", "LVL"], False, "ds")
    assert q.run_universe(ins, ["A", "LVL"], True, "ds") == (["A", "LVL"], {})


@pytest.fixture(scope="module")
def pst_store_path(tmp_path_factory):
    from macrostack.data.ingest import ingest
    from tests.conftest import PYSYSTEMTRADE

    if not PYSYSTEMTRADE.exists():
        pytest.skip("pysystemtrade sample not available")
    path = tmp_path_factory.mktemp("pst") / "market.duckdb"
    with MarketStore(path) as st:
        ingest(st, "pysystemtrade", PYSYSTEMTRADE)
    return path


def test_pysystemtrade_fallback_instruments_excluded_from_runs_by_default(pst_store_path):
    from macrostack.config import load_config
    from macrostack.runner import load_run_data

    cfg = load_config("trend_only").with_(**{"data.dataset": "pysystemtrade", "data.start": "2015-01-02"})
    md = load_run_data(cfg, pst_store_path)
    with MarketStore(pst_store_path, read_only=True) as st:
        ins = st.instruments("pysystemtrade")
    level = set(ins.loc[ins["return_basis"] == "adjusted_level", "symbol"])
    derived = set(ins.loc[ins["return_basis"].fillna("").str.startswith("derived"), "symbol"])
    assert len(level) == 14 and len(derived) == 2 and len(ins) == 44
    assert not (level | derived) & set(md.symbols) and len(md.symbols) == 44 - 14 - 2
    md_all = load_run_data(cfg.with_(**{"data.allow_level_returns": True}), pst_store_path)
    assert level <= set(md_all.symbols) and len(md_all.symbols) == 42
    with pytest.raises(InputError, match="allow_level_returns"):
        load_run_data(cfg.with_(**{"data.universe": ["SP500", "DAX"]}), pst_store_path)


def test_ingest_and_data_check_say_so(pst_store_path):
    from typer.testing import CliRunner

    from macrostack.cli import app

    out = CliRunner().invoke(app, ["data", "check", "-d", "pysystemtrade", "--store", str(pst_store_path)],
                             env={"COLUMNS": "250"})
    assert out.exit_code == 0, out.output
    assert "runs exclude them unless the config sets `data.allow_level_returns: true`" in " ".join(out.output.split())
    assert "serial correlation of daily returns by decade" in out.output


# --------------------------------------------------------------------------- stores and the generic source

def test_old_store_gains_listing_date_and_reads_without_it(tmp_path):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    from macrostack.data.store import SCHEMA
    con.execute(SCHEMA.replace("    listing_date DATE, PRIMARY KEY", "    PRIMARY KEY"))  # the schema before it
    con.execute("INSERT INTO datasets VALUES ('d', 'generic', '{}', 'h', now()::TIMESTAMP, 1, 2, NULL, NULL)")
    con.execute("INSERT INTO instruments (dataset, symbol, return_basis) VALUES ('d', 'A', 'source_return')")
    con.execute("INSERT INTO bars (dataset, symbol, date, ret) VALUES ('d', 'A', '2020-01-01', NULL), "
                "('d', 'A', '2020-01-02', 0.01)")
    con.close()
    with MarketStore(path, read_only=True) as st:  # read-only: no migration, readers cope
        assert "listing_date" not in st.instruments("d").columns
        assert check_dataset(st, "d")["pre_listing"].tolist() == [0]
    with MarketStore(path) as st:  # writable: migrated, data kept
        ins = st.instruments("d")
        assert "listing_date" in ins.columns and ins["listing_date"].isna().all() and list(ins["symbol"]) == ["A"]


def test_generic_listing_date_is_stored_and_flags_early_history(tmp_path):
    from macrostack.data.ingest import ingest

    dates = pd.bdate_range("2019-12-02", periods=40)
    rng = np.random.default_rng(3)
    prices = pd.DataFrame({"date": np.tile(dates.strftime("%Y-%m-%d"), 2), "symbol": ["ES"] * 40 + ["NQ"] * 40,
                           "close": 100 * np.exp(np.cumsum(rng.standard_normal(80) * 0.01))})
    prices.to_csv(tmp_path / "p.csv", index=False)
    pd.DataFrame({"symbol": ["ES", "NQ"], "listing_date": ["2020-01-02", ""]}).to_csv(tmp_path / "i.csv", index=False)
    with MarketStore(tmp_path / "s.duckdb") as st:
        ingest(st, "generic", tmp_path / "p.csv", "g", instruments_path=tmp_path / "i.csv")
        ins = st.instruments("g").set_index("symbol")
        assert str(ins.loc["ES", "listing_date"])[:10] == "2020-01-02" and pd.isna(ins.loc["NQ", "listing_date"])
        rep = check_dataset(st, "g").set_index("symbol")
    assert rep.loc["ES", "pre_listing"] == 23 and "pre-listing" in rep.loc["ES", "flags"]  # 2019-12-02 .. 2020-01-01: 23 weekdays
    assert "pre-listing" not in rep.loc["NQ", "flags"]
    pd.DataFrame({"symbol": ["ES"], "listing_date": ["02/01/2020x"]}).to_csv(tmp_path / "bad.csv", index=False)
    with MarketStore(tmp_path / "s.duckdb") as st, pytest.raises(InputError, match="listing_date"):
        ingest(st, "generic", tmp_path / "p.csv", "g", instruments_path=tmp_path / "bad.csv")


# --------------------------------------------------------------------------- the real default data

def test_default_data_1960s_smoothed_2010s_not(tf_store):
    ev = quality_evidence(tf_store, "trendfollowing")
    summary = q.decade_summary(ev.decades).set_index("decade")
    assert summary.loc["1960s", "flagged"] and summary.loc["1960s", "share"] > 0.5
    assert summary.loc["1960s", "median_ac1"] > 0.10 and summary.loc["1960s", "median_vr"] > 1.2
    assert not summary.loc["2010s", "flagged"] and summary.loc["2010s", "smoothed"] <= 2
    assert abs(summary.loc["2010s", "median_ac1"]) < 0.02
    smoothed_1960s = set(ev.decades.query("decade == 1960 and smoothed")["symbol"])
    assert {"TY", "US", "ES"} <= smoothed_1960s and not {"C", "S", "W"} & smoothed_1960s  # bonds yes, grains no
