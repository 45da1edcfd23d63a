"""Market store: atomic ingest, replacement, read-only runs; MarketData alignment."""

import numpy as np
import pandas as pd
import pytest

from macrostack.data.dataset import Dataset
from macrostack.data.market import load_market_data
from macrostack.data.store import MarketStore
from macrostack.errors import InputError


def small_dataset(name="toy", ret_b=0.02, price_a=10.0):
    ins = pd.DataFrame({"symbol": ["A", "B"], "name": ["a", "b"], "asset_class": ["X", "Y"],
                        "currency": ["USD", "USD"], "point_size": [1.0, 1.0], "cost": [0.001, 0.002],
                        "source_ticker": ["A", "B"], "return_basis": ["t", "t"]})
    bars = pd.DataFrame({
        "symbol": ["A", "A", "A", "B", "B"],
        "date": pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-05", "2024-01-03", "2024-01-04"]),
        "adjusted_close": [1.0, 1.1, 1.2, 5.0, 5.1],
        "price": [price_a, 11.0, 12.0, np.nan, np.nan],
        "ret": [np.nan, 0.01, 0.02, np.nan, ret_b],
        "cost": [0.001, 0.001, 0.001, 0.002, 0.002],
    })
    return Dataset(name=name, source="test", parameters={}, instruments=ins, bars=bars, content_hash="h")


def snapshot(path):
    with MarketStore(path, read_only=True) as s:
        return {t: s.con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in ("datasets", "instruments", "bars", "fx")}


def test_ingest_then_load_aligns_panels_without_backfill(tmp_path):
    path = tmp_path / "m.duckdb"
    with MarketStore(path) as s:
        s.ingest(small_dataset())
    with MarketStore(path, read_only=True) as s:
        md = load_market_data(s, "toy", fields=("adjusted_close", "price", "ret", "cost"))
    assert [str(d) for d in md.dates] == ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"]
    assert md.symbols == ("A", "B")
    ret = md.returns
    np.testing.assert_array_equal(ret[:, 0], [np.nan, 0.01, np.nan, 0.02])  # A has no bar on the 4th
    np.testing.assert_array_equal(ret[:, 1], [np.nan, np.nan, 0.02, np.nan])
    # cost carries forward (the cost in force), never backwards
    np.testing.assert_array_equal(md.field("cost")[:, 1], [np.nan, 0.002, 0.002, 0.002])


def test_warmup_sessions_before_start(tmp_path):
    path = tmp_path / "m.duckdb"
    with MarketStore(path) as s:
        s.ingest(small_dataset())
        md = load_market_data(s, "toy", start="2024-01-04", warmup=1)
        assert str(md.dates[0]) == "2024-01-03" and md.start_index == 1
        md = load_market_data(s, "toy", start="2024-01-04", warmup=10)
        assert md.start_index == 2  # only the history there is
        with pytest.raises(InputError, match="unknown symbols"):
            load_market_data(s, "toy", symbols=["A", "Z"])
        with pytest.raises(InputError, match="after end"):
            load_market_data(s, "toy", start="2024-02-01", end="2024-01-01")


def test_reingest_replaces_dataset(tmp_path):
    path = tmp_path / "m.duckdb"
    with MarketStore(path) as s:
        s.ingest(small_dataset(ret_b=0.02))
        s.ingest(small_dataset(ret_b=0.03))
        assert s.con.execute("SELECT count(*) FROM bars").fetchone()[0] == 5
        assert s.con.execute("SELECT ret FROM bars WHERE symbol='B' AND ret IS NOT NULL").fetchone()[0] == 0.03


def test_failed_ingest_leaves_store_exactly_as_before(tmp_path, monkeypatch):
    path = tmp_path / "m.duckdb"
    with MarketStore(path) as s:
        s.ingest(small_dataset())
    before = snapshot(path)
    with MarketStore(path) as s:
        with pytest.raises(InputError, match="non-positive contract price"):
            s.ingest(small_dataset(price_a=-1.0))
        # a failure inside the transaction (after the old rows were deleted) rolls back too
        real_insert = MarketStore._insert

        def failing_insert(self, table, frame, columns):
            if table == "fx":
                raise RuntimeError("disk full")
            real_insert(self, table, frame, columns)

        monkeypatch.setattr(MarketStore, "_insert", failing_insert)
        with pytest.raises(RuntimeError, match="disk full"):
            s.ingest(small_dataset(ret_b=0.05))
    assert snapshot(path) == before


@pytest.mark.parametrize("mutate, message", [
    (lambda ds: ds.bars.__setitem__("ret", [np.nan, np.inf, 0.0, np.nan, 0.0]), "non-finite ret"),
    (lambda ds: ds.bars.__setitem__("date", pd.to_datetime(["2024-01-02", "2024-01-02", "2024-01-05", "2024-01-03", "2024-01-04"])), "duplicate session"),
    (lambda ds: ds.bars.__setitem__("date", pd.to_datetime(["2024-01-02", "2024-01-06", "2024-01-05", "2024-01-03", "2024-01-04"])), "weekend"),
    (lambda ds: ds.bars.__setitem__("cost", [0.001, -0.001, 0.001, 0.001, 0.001]), "negative cost"),
    (lambda ds: ds.instruments.__setitem__("symbol", ["A", " "]), "instruments row 2 has no symbol"),
])
def test_dataset_validation(mutate, message):
    ds = small_dataset()
    mutate(ds)
    with pytest.raises(InputError, match=message):
        ds.validate()


def test_read_only_store_must_exist(tmp_path):
    with pytest.raises(InputError, match="data init"):
        MarketStore(tmp_path / "nope.duckdb", read_only=True)
    assert not (tmp_path / "nope.duckdb").exists()


def test_cli_ingest_bad_input_creates_no_store_and_refuses_foreign_options(tmp_path):
    from typer.testing import CliRunner

    from macrostack.cli import app

    runner = CliRunner()
    store = tmp_path / "fresh.duckdb"
    for args, message in ((["pysystemtrade", str(tmp_path / "nowhere")], "adjusted_prices_csv"),
                          (["pysystemtrade", str(tmp_path), "--cost", "0.001"], "--cost only apply to the generic"),
                          (["trendfollowing", str(tmp_path)], "takes no PATH")):
        r = runner.invoke(app, ["data", "ingest", *args, "--store", str(store)])
        assert r.exit_code == 2 and message in r.output, r.output
        assert not store.exists()  # the store is opened only after the source has loaded
