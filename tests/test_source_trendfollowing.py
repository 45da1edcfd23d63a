"""The default dataset equals the trendfollowing package's own files."""

import numpy as np
import pandas as pd

from macrostack.data.market import load_market_data
from macrostack.data.sources.trendfollowing import clean_symbols, package_files


def test_symbols_are_clean_and_unique():
    desc = pd.read_csv(package_files()["descriptive"])
    symbols = clean_symbols(list(desc["ticker"]))
    assert len(symbols) == 84 and len(set(symbols.values())) == 84
    assert symbols["ES1 Index"] == "ES"
    assert symbols["Z 1 Index"] == "Z"
    assert symbols["SFR5 Comdty"] == "SFR"
    # roots that occur under two yellow keys keep the key as a suffix
    assert symbols["SM1 Index"] == "SM_IDX" and symbols["SM1 Comdty"] == "SM_CMD"


def test_store_lists_84_instruments_with_asset_classes(tf_store):
    ins = tf_store.instruments("trendfollowing")
    assert len(ins) == 84
    assert set(ins["asset_class"]) == {"Equities", "Bonds", "STIR", "FX", "Energy", "Metals", "Agriculture"}
    es = ins.set_index("symbol").loc["ES"]
    assert es["source_ticker"] == "ES1 Index" and es["name"] == "S&P 500"


def test_returns_equal_package_usd_return_file(tf_store):
    """Every stored return equals the package's own USD return file, bit for bit.

    Bit-exact across the two CSV parsers (the source reads with pyarrow's, this test with
    pandas' C parser) because both round correctly (pandas >= 3.1 has one converter for every
    float_precision): one decimal text has one nearest double, on any CPU."""
    files = package_files()
    expected = pd.read_csv(files["returns"], index_col=0, parse_dates=True)
    prices = pd.read_csv(files["prices"], index_col=0, parse_dates=True)
    md = load_market_data(tf_store)
    desc = pd.read_csv(files["descriptive"])
    ticker_of = dict(zip(clean_symbols(list(desc["ticker"])).values(), desc["ticker"]))
    exp = expected[[ticker_of[s] for s in md.symbols]]
    exp = exp.where(prices[exp.columns].notna())  # a bar exists only where the price does
    exp = exp.reindex(pd.DatetimeIndex(md.dates))
    np.testing.assert_array_equal(md.returns, exp.to_numpy())
    # spot checks on named dates: ES on Black Monday and crude oil on 2020-04-21
    day = np.flatnonzero(md.dates == np.datetime64("1987-10-19"))[0]
    assert md.returns[day, md.symbols.index("ES")] == expected.loc["1987-10-19", "ES1 Index"]
    assert md.returns[day, md.symbols.index("ES")] < -0.2
    day = np.flatnonzero(md.dates == np.datetime64("2020-04-21"))[0]
    assert md.returns[day, md.symbols.index("CL")] == expected.loc["2020-04-21", "CL1 Comdty"]


def test_costs_are_time_varying_per_unit_notional(tf_store):
    md = load_market_data(tf_store, symbols=["ES"])
    cost = md.field("cost")[:, 0]
    d = {str(x)[:10]: c for x, c in zip(md.dates, cost)}
    assert d["1990-01-02"] == 0.0034 and d["2000-01-03"] == 0.0011 and d["2026-07-10"] == 0.0006
