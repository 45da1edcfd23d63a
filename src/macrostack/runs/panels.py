"""The market panels a run used (returns, costs): stored once per content, linked into each run.

The audit and the report re-derive P&L from the returns and costs the run saw, so every run
folder holds returns.parquet and costs.parquet. Written per run they cost ~5–10 MB each for
data that most runs share. Here the panels are written once into `OUT/.market/<key>/`, `key`
= sha256 of the session dates, the symbol order and the two float64 panels, and hard-linked
into each run folder: a run folder stays self-contained (copy it anywhere and it still
audits), while N runs on the same data and period take the disk space of one. Where the
filesystem cannot link, the file is copied. The shared files are read-only, so an edit
through one run's path fails instead of changing every run.

The key is recorded in the manifest (`market_panels`) and the audit recomputes it from the
files it reads: an edited return or cost is caught even where no position was held.

Beside the shared files, `sha256.json` records the sha256 of the bytes written. A run that
links an existing shared copy hashes its bytes against it (`panels_intact`, ~20 ms) instead of
decoding both panels again for its audit: the same bytes are the same panels.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np

MARKET_DIR = ".market"
PANELS = ("returns", "costs")
DIGESTS = "sha256.json"


def panels_key(dates, symbols, returns: np.ndarray, costs: np.ndarray) -> str:
    """sha256 over the session dates (days), the symbol order and both panels' float64 bytes."""
    h = hashlib.sha256()
    h.update(np.asarray(dates, dtype="datetime64[D]").astype(np.int64).tobytes())
    h.update("\x1f".join(symbols).encode())
    for panel in (returns, costs):
        h.update(np.ascontiguousarray(panel, dtype=np.float64).tobytes())
    return h.hexdigest()


def _store_once(out: Path, key: str, dates, symbols, returns: np.ndarray, costs: np.ndarray) -> Path:
    """`out/.market/<key>/` with both panels, written whole (staged, renamed) unless already there."""
    from macrostack.runs.artifacts import panel_frame, write_table

    final = Path(out) / MARKET_DIR / key
    if (final / "costs.parquet").is_file():
        return final
    tmp = final.with_name(f".{key}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        digests = {}
        for name, panel in zip(PANELS, (returns, costs)):
            write_table(tmp / f"{name}.parquet", panel_frame(dates, symbols, panel))
            os.chmod(tmp / f"{name}.parquet", 0o444)
            digests[f"{name}.parquet"] = _sha256(tmp / f"{name}.parquet")
        (tmp / DIGESTS).write_text(json.dumps(digests, sort_keys=True))
        os.chmod(tmp / DIGESTS, 0o444)
        try:
            tmp.rename(final)
        except OSError:
            if not (final / "costs.parquet").is_file():  # not merely a concurrent writer of the same key
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def panels_intact(out: Path, run_dir: Path, key: str) -> bool:
    """Are the run's returns.parquet and costs.parquet byte for byte the shared copy as it was
    written for `key` (its recorded sha256)? False when unsure (no record, another filesystem):
    the caller then reads the files back."""
    try:
        digests = json.loads((Path(out) / MARKET_DIR / key / DIGESTS).read_text())
        return all(_sha256(Path(run_dir) / f"{name}.parquet") == digests[f"{name}.parquet"] for name in PANELS)
    except (OSError, ValueError, KeyError, TypeError):
        return False


def write_panels(out: Path, run_dir: Path, dates, symbols, returns: np.ndarray, costs: np.ndarray) -> str:
    """Put returns.parquet and costs.parquet into `run_dir` (links to the shared copy); returns the key."""
    key = panels_key(dates, symbols, returns, costs)
    shared = _store_once(out, key, dates, symbols, returns, costs)
    for name in PANELS:
        source, target = shared / f"{name}.parquet", Path(run_dir) / f"{name}.parquet"
        try:
            os.link(source, target)
        except OSError:  # no hard links here (another filesystem, FAT, some network shares): copy
            shutil.copyfile(source, target)
    return key
