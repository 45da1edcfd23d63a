"""Bad data files end in one line naming the file (and symbol, row), exit code 2, and leave the
store as it was: wrong units, unknown columns, unreadable files. Real data is not refused."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from macrostack.cli import app
from macrostack.data import dataset
from macrostack.data.store import MarketStore
from tests.conftest import PYSYSTEMTRADE
from tests.test_config_input import one_error_line
from tests.test_source_pysystemtrade import TINY

runner = CliRunner()
DAYS = [str(d.date()) for d in pd.bdate_range("2024-01-01", periods=8)]


def generic_csv(tmp_path, values, header="date,symbol,close,return", name="p.csv"):
    """A generic file: symbol A on 8 sessions, one row per value (`close,return` text)."""
    path = tmp_path / name
    path.write_text(header + "\n" + "".join(f"{d},A,{v}\n" for d, v in zip(DAYS, values)))
    return path


def ingest_fails(tmp_path, args, *expected, store=None):
    """`data ingest ARGS` exits 2 with one line; the store is not created, or unchanged."""
    store = store or tmp_path / "new" / "market.duckdb"
    before = store.read_bytes() if store.exists() else None
    r = runner.invoke(app, ["data", "ingest", *map(str, args), "--store", str(store)])
    line = one_error_line(r, *expected)
    assert (store.read_bytes() == before) if before is not None else not store.exists()
    return line


@pytest.fixture
def store_with_data(tmp_path):
    """An existing store holding a good generic dataset (to show a failed ingest leaves it as is)."""
    store = tmp_path / "store" / "market.duckdb"
    good = generic_csv(tmp_path, [f"{100 + i},0.001" for i in range(8)], name="good.csv")
    assert runner.invoke(app, ["data", "ingest", "generic", str(good), "--store", str(store)]).exit_code == 0
    return store


# ---------------------------------------------------------------------------- units


def test_returns_in_percent_are_refused_with_file_symbol_and_row(tmp_path, store_with_data):
    path = generic_csv(tmp_path, ["100,", "101,1.5", "100,-0.8", "102,2.1", "101,-1.2", "102,0.9", "103,1.1", "102,-0.7"])
    line = ingest_fails(tmp_path, ["generic", path], "p.csv, row 3", "A: median |daily return|", "percent",
                        "divide them by 100", store=store_with_data)
    assert "2024-01-02" in line  # the date of that row


def test_a_move_of_thousands_of_percent_is_refused(tmp_path, store_with_data):
    path = generic_csv(tmp_path, ["100,", "101,0.01", "100,-0.01", "2500,24", "2490,-0.004", "2500,0.004",
                                  "2510,0.004", "2500,-0.004"])
    ingest_fails(tmp_path, ["generic", path], "p.csv, row 5", "A on 2024-01-04", "daily return 24",
                 "+2,400%", store=store_with_data)


@pytest.mark.parametrize("jump, row", [(5000, 5), (2, 5)])  # ×50 up, ÷50 down (−98 %: inside the return bound)
def test_a_close_jumping_fifty_fold_is_refused_when_it_is_the_return_basis(tmp_path, jump, row):
    path = generic_csv(tmp_path, [100, 101, 100, jump, 100, 101, 100, 99], header="date,symbol,close")
    ingest_fails(tmp_path, ["generic", path], f"p.csv, row {row}", "A on 2024-01-04", "close jumps from 100")


def test_a_contract_price_jumping_fifty_fold_is_refused_naming_the_multiple_prices_file(tmp_path):
    for rel, text in TINY.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text.replace("2024-01-10 21:00:00,216,20240900,215,",
                                                 "2024-01-10 21:00:00,216,20240900,10750,"))
    ingest_fails(tmp_path, ["pysystemtrade", tmp_path], "multiple_prices_csv/AAA.csv", "session 2024-01-10",
                 "column PRICE", "AAA on 2024-01-10: PRICE jumps from 211 to 10750")


def test_a_wild_adjusted_price_is_refused_naming_the_files(tmp_path):
    for rel, text in TINY.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text.replace("2024-01-10 21:00:00,103", "2024-01-10 21:00:00,10300"))
    ingest_fails(tmp_path, ["pysystemtrade", tmp_path], "adjusted_prices_csv/AAA.csv and multiple_prices_csv/AAA.csv",
                 "AAA", "2024-01-10")


def test_moves_a_real_market_can_make_are_accepted_and_flagged(tmp_path):
    """A 40 % crash day and oil's −300 % day (a negative price) are ingested; `data check` flags them."""
    path = generic_csv(tmp_path, ["100,", "101,0.01", "60,-0.4", "61,0.01", "60,-3.06", "61,0.01", "60,-0.01",
                                  "61,0.01"])
    store = tmp_path / "m.duckdb"
    assert runner.invoke(app, ["data", "ingest", "generic", str(path), "--store", str(store)]).exit_code == 0
    r = runner.invoke(app, ["data", "check", "-d", "generic", "--store", str(store)], terminal_width=200)
    assert r.exit_code == 0 and "1 instruments, 1 flagged" in r.output


def test_thresholds_leave_room_above_the_real_data(tf_store):
    """The refusal thresholds are far above what the default dataset does (see dataset.py)."""
    stats = tf_store.con.execute("SELECT max(abs(ret)), max(med) FROM bars, (SELECT max(m) AS med FROM "
                                 "(SELECT median(abs(ret)) AS m FROM bars WHERE dataset = 'trendfollowing' "
                                 "GROUP BY symbol)) WHERE dataset = 'trendfollowing'").fetchone()
    assert stats[0] < dataset.MAX_ABS_RETURN / 10 and stats[1] < dataset.MAX_MEDIAN_ABS_RETURN / 3


def test_the_real_pysystemtrade_folder_still_ingests_via_the_cli(tmp_path):
    store = tmp_path / "m.duckdb"
    r = runner.invoke(app, ["data", "ingest", "pysystemtrade", str(PYSYSTEMTRADE), "--store", str(store)])
    assert r.exit_code == 0, r.output
    with MarketStore(store, read_only=True) as st:
        assert st.require_dataset("pysystemtrade")["n_instruments"] == 44   # 42 files + VIX_FRONT, V2X_FRONT


# ---------------------------------------------------------------------------- columns


@pytest.mark.parametrize("header, expected", [
    ("date,symbol,close,returns", ("unknown column(s) ['returns']", "optionally return")),
    ("date,symbol,close,volume", ("unknown column(s) ['volume']",)),
    ("date,symbol,closing", ("missing column(s) ['close']", "closing")),
    ("date,symbol,close,Close", ("['close'] appear twice",)),
])
def test_misspelt_or_unknown_columns_are_errors(tmp_path, header, expected):
    values = [",".join(["100"] * (header.count(",") - 1)) for _ in DAYS]
    ingest_fails(tmp_path, ["generic", generic_csv(tmp_path, values, header=header)], "p.csv", *expected)


def test_column_names_ignore_case(tmp_path):
    path = generic_csv(tmp_path, [f"{100 + i},0.01" for i in range(8)], header="Date,Symbol,Close,Return")
    r = runner.invoke(app, ["data", "ingest", "generic", str(path), "--store", str(tmp_path / "m.duckdb")])
    assert r.exit_code == 0, r.output


# ---------------------------------------------------------------------------- unreadable files


def test_generic_file_that_is_a_directory(tmp_path):
    (tmp_path / "p.csv").mkdir()
    ingest_fails(tmp_path, ["generic", tmp_path / "p.csv"], "p.csv", "is a directory")


@pytest.mark.parametrize("name, content", [
    ("p.csv", b"date,symbol,close\n2024-01-02,\xff\xfe,1\n"),       # invalid UTF-8
    ("p.parquet", b"PAR1\x00\x01garbage\x00PAR1"),                    # binary garbage
    ("p.csv", bytes(range(256)) * 4),
])
def test_garbage_generic_files(tmp_path, name, content):
    (tmp_path / name).write_bytes(content)
    ingest_fails(tmp_path, ["generic", tmp_path / name], name)


def deny(monkeypatch, path: Path):
    """Make `open(path)` fail as for a file without read permission (root reads any file)."""
    real_open = open

    def fake(file, *args, **kwargs):
        if Path(str(file)) == path:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)
    monkeypatch.setattr("builtins.open", fake)


def test_permission_denied_generic_and_instruments_files(tmp_path, monkeypatch):
    path = generic_csv(tmp_path, [f"{100 + i}" for i in range(8)], header="date,symbol,close")
    ins = tmp_path / "ins.csv"
    ins.write_text("symbol,cost\nA,0.001\n")
    deny(monkeypatch, ins)
    ingest_fails(tmp_path, ["generic", path, "--instruments", ins], "ins.csv", "permission denied")
    deny(monkeypatch, path)
    ingest_fails(tmp_path, ["generic", path], "p.csv", "permission denied")


@pytest.mark.parametrize("rel, make", [
    ("multiple_prices_csv/AAA.csv", "dir"),
    ("adjusted_prices_csv/AAA.csv", "binary"),
    ("csvconfig/instrumentconfig.csv", "denied"),
    ("fx_prices_csv/EURUSD.csv", "dir"),
])
def test_unreadable_pysystemtrade_files(tmp_path, monkeypatch, rel, make):
    for r, text in TINY.items():
        (tmp_path / r).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / r).write_text(text)
    target = tmp_path / rel
    if make == "dir":
        target.unlink()
        target.mkdir()
    elif make == "binary":
        target.write_bytes(b"\x00\xff\xfe" * 50)
    else:
        deny(monkeypatch, target)
    ingest_fails(tmp_path, ["pysystemtrade", tmp_path], rel)


def test_dataset_errors_name_the_file():
    ds = dataset.Dataset(name="x", source="t", parameters={}, origin="/data/p.csv",
                         instruments=pd.DataFrame({"symbol": ["A"]}),
                         bars=pd.DataFrame({"symbol": ["A"], "date": pd.to_datetime(["2024-01-06"]),
                                            "ret": [np.nan]}))
    with pytest.raises(dataset.InputError, match=r"/data/p.csv \(dataset 'x'\).*weekend"):
        ds.validate()
