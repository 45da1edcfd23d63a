"""Generic long-format CSV/Parquet source: happy path and every bad input."""

import numpy as np
import pandas as pd
import pytest

from macrostack.data.sources import generic
from macrostack.errors import InputError

GOOD = "date,symbol,close\n2024-01-02,A,100\n2024-01-03,A,101\n2024-01-04,A,99.99\n2024-01-02,B,50\n2024-01-03,B,49\n"


def write(tmp_path, text, name="p.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_returns_from_close_by_hand(tmp_path):
    ds = generic.load(write(tmp_path, GOOD), cost=0.0005)
    bars = ds.bars.set_index(["symbol", "date"])
    assert np.isnan(bars.loc[("A", pd.Timestamp("2024-01-02")), "ret"])
    assert bars.loc[("A", pd.Timestamp("2024-01-03")), "ret"] == pytest.approx(0.01, abs=1e-15)
    assert bars.loc[("A", pd.Timestamp("2024-01-04")), "ret"] == pytest.approx(99.99 / 101 - 1, abs=1e-15)
    assert bars.loc[("B", pd.Timestamp("2024-01-03")), "ret"] == pytest.approx(-0.02, abs=1e-15)
    assert (ds.instruments["cost"] == 0.0005).all()


def test_parquet_with_return_column_and_instruments_file(tmp_path):
    frame = pd.DataFrame({"date": pd.to_datetime(["2024-01-02", "2024-01-03"]), "symbol": ["A", "A"],
                          "close": [-1.0, -0.5], "return": [np.nan, 0.004]})
    frame.to_parquet(tmp_path / "p.parquet")
    write(tmp_path, "symbol,asset_class,cost\nA,Rates,0.0001\n", "ins.csv")
    ds = generic.load(tmp_path / "p.parquet", tmp_path / "ins.csv")
    assert ds.bars["ret"].iloc[1] == 0.004
    assert ds.instruments.iloc[0]["asset_class"] == "Rates" and ds.instruments.iloc[0]["cost"] == 0.0001


@pytest.mark.parametrize("text, message", [
    ("date,symbol\n2024-01-02,A\n", "missing column"),
    ("date,symbol,close\n2024-13-45,A,1\n", "row 2, column 'date'"),
    ("date,symbol,close\n2024-01-02,A,1\n2024-01-02,A,2\n", "row 3: duplicate date"),
    ("date,symbol,close\n2024-01-03,A,1\n2024-01-02,A,2\n", "row 3: date 2024-01-02 of A is not after"),
    ("date,symbol,close\n2024-01-02,A,inf\n", "not a finite number"),
    ("date,symbol,close\n2024-01-02,A,abc\n", "not a finite number"),
    ("date,symbol,close\n2024-01-06,A,1\n", "weekend"),
    ("date,symbol,close\n2024-01-02,A,0\n2024-01-03,A,1\n", "<= 0 and no 'return' column"),
    ("date,symbol,close,return\n2024-01-02,A,1,\n2024-01-03,A,1,oops\n", "row 3, column 'return'"),
    ("date,symbol,close\n03/01/2024,A,1\n", "row 2, column 'date'"),       # not ISO: day or month first?
    ("date,symbol,close\n2024-01-02T00:00:00Z,A,1\n", "time zone"),
])
def test_bad_input_names_file_and_row(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(InputError, match=message) as err:
        generic.load(path)
    assert str(path) in str(err.value)


def test_unknown_instrument_columns_rejected(tmp_path):
    write(tmp_path, "symbol,sector\nA,x\n", "ins.csv")
    with pytest.raises(InputError, match="unknown column"):
        generic.load(write(tmp_path, GOOD), tmp_path / "ins.csv")


def test_unknown_file_type(tmp_path):
    with pytest.raises(InputError, match="unknown file type"):
        generic.load(write(tmp_path, GOOD, "p.xlsx"))


def test_instruments_file_numbers_are_checked_and_cost_is_part_of_the_data_identity(tmp_path):
    write(tmp_path, "symbol,cost\nA,cheap\n", "ins.csv")
    with pytest.raises(InputError, match="ins.csv.*row 2, column 'cost'"):
        generic.load(write(tmp_path, GOOD), tmp_path / "ins.csv")
    path = write(tmp_path, GOOD)
    assert generic.load(path, cost=0.0).content_hash != generic.load(path, cost=0.001).content_hash
