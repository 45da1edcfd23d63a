"""Ingest orchestration: pick the source by format name, load, write to the store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from macrostack.data.store import DEFAULT_DATASET, MarketStore
from macrostack.errors import InputError

FORMATS = ("trendfollowing", "pysystemtrade", "generic")
Progress = Callable[[int, str], None]


def load_source(fmt: str, path: str | Path | None = None, name: str | None = None,
                progress: Progress | None = None, **options):
    """Read a dataset of format `fmt` (not yet written anywhere)."""
    if fmt == "trendfollowing":
        from macrostack.data.sources import trendfollowing
        return trendfollowing.load(name=name or "trendfollowing", progress=progress)
    if path is None:
        raise InputError(f"format {fmt!r} needs a PATH", "data ingest", f"macrostack data ingest {fmt} PATH")
    if fmt == "pysystemtrade":
        from macrostack.data.sources import pysystemtrade
        return pysystemtrade.load(path, name=name or "pysystemtrade", progress=progress)
    if fmt == "generic":
        from macrostack.data.sources import generic
        return generic.load(path, name=name or "generic", progress=progress, **options)
    raise InputError(f"unknown format {fmt!r}", "data ingest", f"use one of {', '.join(FORMATS)}")


def ingest(store: MarketStore, fmt: str, path=None, name=None, progress: Progress | None = None, **options) -> dict:
    """Load a source and replace its dataset in the store atomically; returns the dataset row."""
    dataset = load_source(fmt, path, name, progress, **options)
    return store.ingest(dataset)


def ensure_default_dataset(store_path=None, progress: Progress | None = None) -> bool:
    """Ingest the default dataset if the store lacks it. Returns True when it ingested."""
    with MarketStore(store_path) as store:
        if store.has_dataset(DEFAULT_DATASET):
            return False
        ingest(store, "trendfollowing", progress=progress)
        return True
