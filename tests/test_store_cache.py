"""The caches beside the market store (`macrostack.data.cache`): a hit is exactly what the store
gives, a damaged entry is recomputed, entries of a content hash the store no longer holds are
pruned, and a store folder that cannot hold a cache still works."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from macrostack.data import cache
from macrostack.data.check import quality_evidence, run_quality_evidence
from macrostack.data.market import load_market_data
from macrostack.data.store import MarketStore

SYMBOLS = ["ES", "US", "CL", "GC", "JY"]


@pytest.fixture
def store_copy(tf_store_path, tmp_path):
    path = tmp_path / "market.duckdb"
    shutil.copyfile(tf_store_path, path)
    return path


def _load(path, **kw):
    with MarketStore(path, read_only=True) as st:
        symbols = [s for s in SYMBOLS if s in set(st.instruments("trendfollowing")["symbol"])]
        return load_market_data(st, symbols=symbols, start="2010-01-04", end="2015-12-31", warmup=300,
                                fields=("ret", "cost", "price"), **kw)


def _same(a, b) -> None:
    assert a.symbols == b.symbols and a.start_index == b.start_index and a.data_hash == b.data_hash
    assert np.array_equal(a.dates, b.dates) and a.dates.dtype == b.dates.dtype
    assert list(a.panels) == list(b.panels)
    for name in a.panels:
        x, y = a.panels[name], b.panels[name]
        assert x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes(), name


def _entries(path, prefix):
    return [p for p in cache.cache_root(path).glob(f"*/{prefix}*")]


def test_cached_panels_are_the_store_panels_and_a_damaged_entry_is_recomputed(store_copy):
    first = _load(store_copy)  # computed from DuckDB, then written beside the store
    entries = _entries(store_copy, "panels-")
    assert len(entries) == 1 and (entries[0] / "arrays.json").is_file()
    _same(first, _load(store_copy))  # from the cache
    (entries[0] / "ret.npy").write_bytes((entries[0] / "ret.npy").read_bytes()[:100])  # damaged
    _same(first, _load(store_copy))  # recomputed, and the entry replaced
    _same(first, _load(store_copy))


def test_quality_evidence_from_the_cache_equals_computing_it(store_copy):
    with MarketStore(store_copy, read_only=True) as st:
        computed = quality_evidence(st, "trendfollowing", SYMBOLS)
        a = run_quality_evidence(st, "trendfollowing", SYMBOLS)  # miss: computed and cached
        b = run_quality_evidence(st, "trendfollowing", SYMBOLS)  # hit
    assert len(_entries(store_copy, "quality-")) == 1
    for got in (a, b):
        assert got.manifest() == computed.manifest() or repr(got.manifest()) == repr(computed.manifest())
        assert list(got.flagged["symbol"]) == list(computed.flagged["symbol"])
        assert np.array_equal(got.flagged["date"].to_numpy().astype("datetime64[D]"),
                              computed.flagged["date"].to_numpy().astype("datetime64[D]"))


def test_entries_of_a_hash_the_store_no_longer_holds_are_pruned(store_copy):
    stale = cache.cache_root(store_copy) / ("0" * 64)
    stale.mkdir(parents=True)
    (stale / "x.npz").write_bytes(b"old")
    _load(store_copy)  # a miss writes an entry and prunes
    assert not stale.exists() and _entries(store_copy, "panels-")


def test_a_store_folder_that_cannot_hold_a_cache_still_loads(store_copy):
    cache.cache_root(store_copy).write_text("not a folder")  # mkdir fails: no cache, no error
    first = _load(store_copy)
    _same(first, _load(store_copy))
    with MarketStore(store_copy, read_only=True) as st:
        assert run_quality_evidence(st, "trendfollowing", SYMBOLS).manifest()
