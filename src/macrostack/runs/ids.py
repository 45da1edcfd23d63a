"""Run ids and names are data, never paths.

A run id names a folder directly under `--out`. It must match `ID_PATTERN` (letters, digits,
`.`, `_`, `-`; no leading dot, so it can never be `.`, `..` or a hidden staging folder;
at most 100 characters) and must not be a name the output folder reserves for itself
(the catalog, its lock and WAL files, compare pages). Every id is checked before anything
is computed, and every output path is proven to lie inside `--out` before it is written.
"""

from __future__ import annotations

import re
from pathlib import Path

from macrostack.errors import InputError

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"  # config `name` (+ "-" + 10 hex chars makes the default id)
RESERVED_NAMES = {"catalog.duckdb", "catalog.duckdb.wal", "sweeps", "latest"}
RESERVED_SUFFIXES = (".duckdb", ".wal", ".lock", ".html", ".tmp")
ID_RULE = "letters, digits, '.', '_' or '-', not starting with '.', at most 100 characters"
NAME_RULE = ID_RULE.replace("100", "64")


def check_run_id(run_id: str, where: str = "--run-id") -> str:
    """`run_id` if it is a valid, unreserved run id; InputError naming `where` otherwise."""
    if not isinstance(run_id, str) or not ID_PATTERN.fullmatch(run_id):
        raise InputError(f"invalid run id {str(run_id)[:120]!r}", where, f"use {ID_RULE}")
    if run_id.lower() in RESERVED_NAMES or run_id.lower().endswith(RESERVED_SUFFIXES):
        raise InputError(f"run id {run_id!r} is reserved for the output folder's own files", where,
                         "choose another id")
    return run_id


def inside(out: Path, name: str) -> Path:
    """`out/name`, proven to be a direct child of `out` once symlinks are resolved."""
    path = Path(out) / name
    if path.resolve().parent != Path(out).resolve():
        raise InputError(f"{name!r} would be written outside {out}", str(path), "use a plain run id")
    return path
