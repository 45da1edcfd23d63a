"""Ingest orchestration: pick the source by format name, load, write to the store."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from macrostack.data.store import DEFAULT_DATASET, MarketStore, default_store_path
from macrostack.errors import InputError
from macrostack.runs.ids import NAME_PATTERN, NAME_RULE

FORMATS = ("trendfollowing", "pysystemtrade", "generic")
Progress = Callable[[int, str], None]


def load_source(fmt: str, path: str | Path | None = None, name: str | None = None,
                progress: Progress | None = None, **options):
    """Read a dataset of format `fmt` (not yet written anywhere)."""
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}", "data ingest", f"use one of {', '.join(FORMATS)}")
    if name is not None and not re.fullmatch(NAME_PATTERN, name):
        raise InputError(f"invalid dataset name {name[:80]!r}", "data ingest --name", f"use {NAME_RULE}")
    if fmt != "generic" and options:
        flags = ", ".join("--" + k.removesuffix("_path") for k in sorted(options))
        raise InputError(f"{flags} only apply to the generic format", "data ingest", f"drop them for {fmt}")
    if fmt == "trendfollowing":
        if path is not None:
            raise InputError("the trendfollowing dataset comes from its package and takes no PATH", "data ingest",
                             "macrostack data ingest trendfollowing (or macrostack data init)")
        from macrostack.data.sources import trendfollowing
        return trendfollowing.load(name=name or "trendfollowing", progress=progress)
    if path is None:
        raise InputError(f"format {fmt!r} needs a PATH", "data ingest", f"macrostack data ingest {fmt} PATH")
    if fmt == "pysystemtrade":
        from macrostack.data.sources import pysystemtrade
        return pysystemtrade.load(path, name=name or "pysystemtrade", progress=progress)
    from macrostack.data.sources import generic
    return generic.load(path, name=name or "generic", progress=progress, **options)


def ingest(store: MarketStore, fmt: str, path=None, name=None, progress: Progress | None = None, **options) -> dict:
    """Load a source and replace its dataset in the (open) store atomically; returns the dataset row."""
    dataset = load_source(fmt, path, name, progress, **options)
    return store.ingest(dataset)


def ingest_into(store_path, fmt: str, path=None, name=None, progress: Progress | None = None,
                if_missing: bool = False, **options) -> dict | None:
    """`ingest` into the store file at `store_path`, opened only once the source has loaded:
    bad input never creates (or locks) a store file. With `if_missing`, a dataset that another
    process ingested meanwhile is left as it is (returns None)."""
    dataset = load_source(fmt, path, name, progress, **options)
    with MarketStore(store_path) as store:
        if if_missing and store.has_dataset(dataset.name):
            return None
        return store.ingest(dataset)


def ensure_default_dataset(store_path=None, progress: Progress | None = None) -> bool:
    """Ingest the default dataset if the store lacks it. Returns True when it ingested."""
    path = Path(store_path).expanduser() if store_path else default_store_path()
    if path.exists():
        with MarketStore(path, read_only=True) as store:
            if store.has_dataset(DEFAULT_DATASET):
                return False
    # Concurrent first runs each load the source; the store's lock lets one write it.
    return ingest_into(path, "trendfollowing", progress=progress, if_missing=True) is not None
