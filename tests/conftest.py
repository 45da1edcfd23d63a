"""Shared fixtures: a market store with the default dataset, and the shared real data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from macrostack.data.ingest import ingest
from macrostack.data.store import MarketStore

SHARED = Path(os.environ.get("MACROSTACK_SHARED", Path(__file__).resolve().parents[2] / "shared"))
PYSYSTEMTRADE = SHARED / "data" / "pysystemtrade"


@pytest.fixture(scope="session", autouse=True)
def runs_home(tmp_path_factory) -> Path:
    """The default output folder of every test (and its child processes): never the user's own."""
    path = tmp_path_factory.mktemp("runs_home")
    os.environ["MACROSTACK_RUNS"] = str(path)
    return path


@pytest.fixture(scope="session")
def tf_store_path(tmp_path_factory) -> Path:
    """A store file holding the default `trendfollowing` dataset (ingested once per session)."""
    path = tmp_path_factory.mktemp("store") / "market.duckdb"
    with MarketStore(path) as store:
        ingest(store, "trendfollowing")
    return path


@pytest.fixture(scope="session")
def short_runs(tf_store_path, tmp_path_factory) -> dict[str, Path]:
    """Real runs on 2016–2020, made once for the report and compare tests (which only read them,
    or copy them before changing anything): `core` (allocator on), `trend_only` (allocator off)."""
    from macrostack.runner import run_stack

    out = tmp_path_factory.mktemp("short_runs")
    return {name: run_stack(name, start="2016-01-01", end="2020-12-31", out=out, store=tf_store_path).path
            for name in ("core", "trend_only")}


@pytest.fixture()
def tf_store(tf_store_path):
    with MarketStore(tf_store_path, read_only=True) as store:
        yield store


@pytest.fixture(scope="session")
def pst_store(tmp_path_factory) -> Path:
    """A store with the default dataset and the contract-level pysystemtrade sample (ingested once
    per session; tests only read it)."""
    path = tmp_path_factory.mktemp("pst") / "market.duckdb"
    with MarketStore(path) as store:
        ingest(store, "trendfollowing")
        ingest(store, "pysystemtrade", PYSYSTEMTRADE)
    return path
