"""Shared fixtures: a market store with the default dataset, and the shared real data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from macrostack.data.ingest import ingest
from macrostack.data.store import MarketStore

SHARED = Path(os.environ.get("MACROSTACK_SHARED", Path(__file__).resolve().parents[2] / "shared"))
PYSYSTEMTRADE = SHARED / "data" / "pysystemtrade"


@pytest.fixture(scope="session")
def tf_store_path(tmp_path_factory) -> Path:
    """A store file holding the default `trendfollowing` dataset (ingested once per session)."""
    path = tmp_path_factory.mktemp("store") / "market.duckdb"
    with MarketStore(path) as store:
        ingest(store, "trendfollowing")
    return path


@pytest.fixture()
def tf_store(tf_store_path):
    with MarketStore(tf_store_path, read_only=True) as store:
        yield store
