"""Damaged run directories: every reading command fails with one line naming the file, exit 2;
and an audit never passes a run whose artifacts disagree with each other.

Each case copies a real short run (`short_runs`) into tmp_path and damages the copy: a missing
file, a truncated file, a manifest that is not an object or lacks a key, a table one row or
one column short, dates that disagree; then edited numbers that only the audit can catch.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from macrostack.cli import app
from macrostack.runs.artifacts import write_table

TABLES = ["weights.parquet", "daily.parquet", "positions.parquet", "returns.parquet", "costs.parquet",
          "sleeves.parquet", "layers/risk_targeting.parquet", "layers/allocator.parquet",
          "layers/execution_events.parquet", "layers/policy.parquet", "layers/construction.parquet"]
COMMANDS = {"show": ["show", "core"], "audit": ["audit", "core"], "report": ["report", "core"],
            "compare": ["compare", "trend_only", "core", "--json"]}


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _edit_manifest(run: Path, change) -> None:
    manifest = json.loads((run / "manifest.json").read_text())
    (run / "manifest.json").write_text(json.dumps(change(manifest)))


def _drop_key(*keys):
    def change(manifest):
        target = manifest
        for k in keys[:-1]:
            target = target[k]
        del target[keys[-1]]
        return manifest
    return change


def _edit_table(name: str, change) -> callable:
    def damage(run: Path) -> None:
        write_table(run / name, change(pd.read_parquet(run / name)))
    return damage


def _shift_date(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[len(frame) // 2, "date"] += pd.Timedelta(days=1)
    return frame


# damage name → (function of the run directory, the file the message must name)
DAMAGES = {f"missing {f}": ((lambda f: lambda run: (run / f).unlink())(f), f)
           for f in ["manifest.json", "audit.json", *TABLES]}
# resolve_run (being rewritten elsewhere) finds no run without its manifest: "no run 'core'".
DAMAGES["missing manifest.json"] = (DAMAGES["missing manifest.json"][0], "manifest.json|no run 'core'")
DAMAGES |= {f"truncated {f}": ((lambda f: lambda run: _truncate(run / f))(f), f)
            for f in ["manifest.json", "audit.json", *TABLES]}
DAMAGES |= {
    "manifest is a list": (lambda run: (run / "manifest.json").write_text("[1, 2]"), "manifest.json"),
    "manifest is a number": (lambda run: (run / "manifest.json").write_text("42"), "manifest.json"),
    "audit.json is a string": (lambda run: (run / "audit.json").write_text('"PASS"'), "audit.json"),
    "audit.json without verdict": (lambda run: (run / "audit.json").write_text('{"failed": []}'), "audit.json"),
    **{f"manifest without {'.'.join(k)}": ((lambda k: lambda run: _edit_manifest(run, _drop_key(*k)))(k), "manifest.json")
       for k in [("metrics",), ("config",), ("run_id",), ("data",), ("ready_index",), ("n_rebalances",),
                 ("data", "symbols"), ("metrics", "n_sessions")]},
    "manifest run_id a number": (lambda run: _edit_manifest(run, lambda m: {**m, "run_id": 7}), "manifest.json"),
    **{f"{f} one row short": (_edit_table(f, lambda t: t.drop(index=len(t) // 2).reset_index(drop=True)), f)
       for f in TABLES if "execution_events" not in f},
    "daily.parquet without net": (_edit_table("daily.parquet", lambda t: t.drop(columns="net")), "daily.parquet"),
    "positions.parquet without ES": (_edit_table("positions.parquet", lambda t: t.drop(columns="ES")), "positions.parquet"),
    "returns.parquet without date": (_edit_table("returns.parquet", lambda t: t.drop(columns="date")), "returns.parquet"),
    "weights.parquet without weight": (_edit_table("weights.parquet", lambda t: t.drop(columns="weight")), "weights.parquet"),
    "sleeves.parquet without trend:gross": (_edit_table("sleeves.parquet", lambda t: t.drop(columns="trend:gross")),
                                            "sleeves.parquet"),
    "risk_targeting without leverage": (_edit_table("layers/risk_targeting.parquet", lambda t: t.drop(columns="leverage")),
                                        "risk_targeting.parquet"),
    "positions.parquet dates shifted": (_edit_table("positions.parquet", _shift_date), "positions.parquet"),
    "returns.parquet dates shifted": (_edit_table("returns.parquet", _shift_date), "returns.parquet"),
}
# Dates are compared where the tables are read in full (audit, report, compare); `show` reads
# the manifest, audit.json and the tables' footers only.
FULL_READ_ONLY = {"positions.parquet dates shifted", "returns.parquet dates shifted"}


@pytest.fixture()
def runs_dir(short_runs, tmp_path) -> Path:
    out = tmp_path / "runs"
    for name in ("core", "trend_only"):
        shutil.copytree(short_runs[name], out / name, ignore=shutil.ignore_patterns("report.html"))
    return out


def _invoke(args: list[str], out: Path):
    return CliRunner().invoke(app, [*args, "--out", str(out)])


# `show` reads the manifest, the audit and every table's footer, not the tables' rows: dates
# shifted inside a table of the right length are for the commands that read rows (a known
# limit of `show`, not a case that passes silently elsewhere).
CASES = [(c, d) for c in COMMANDS for d in DAMAGES if not (c == "show" and d in FULL_READ_ONLY)]


@pytest.mark.parametrize("command, damage", CASES)
def test_damaged_run_is_one_line_naming_the_file(runs_dir, command, damage):
    apply, name = DAMAGES[damage]
    apply(runs_dir / "core")
    r = _invoke(COMMANDS[command], runs_dir)
    assert r.exit_code == 2, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), r.output
    assert any(n in lines[0] for n in name.split("|")), r.output


def _nonzero_cell(frame: pd.DataFrame, columns: list[str]) -> tuple[int, str]:
    """(row, column) of the largest |value| among `columns` in the second half of `frame`."""
    half = frame.iloc[len(frame) // 2:][columns].abs()
    col = half.max().idxmax()
    return int(half[col].idxmax()), col


def _edit_weight(stage: str):
    def change(w: pd.DataFrame) -> pd.DataFrame:
        rows = w.index[w["stage"] == stage]
        k = rows[int(np.argmax(np.abs(w.loc[rows, "weight"].to_numpy())))]
        w.loc[k, "weight"] += 0.01
        return w
    return change


def _edit_panel(frame: pd.DataFrame) -> pd.DataFrame:
    row, col = _nonzero_cell(frame, [c for c in frame.columns if c != "date"])
    frame.loc[row, col] *= 1.5
    return frame


def _edit_return_where_held(run: Path) -> None:
    held = pd.read_parquet(run / "positions.parquet")
    row, col = _nonzero_cell(held, [c for c in held.columns if c != "date"])
    returns = pd.read_parquet(run / "returns.parquet")
    returns.loc[row, col] = (returns.loc[row, col] if np.isfinite(returns.loc[row, col]) else 0.0) + 0.01
    write_table(run / "returns.parquet", returns)


def _edit_where_nothing_is_held(name: str):
    """A return or cost edited on a cell with no position: no P&L identity can see it, the
    manifest's sha256 of the market panels does."""
    def change(run: Path) -> None:
        held = pd.read_parquet(run / "positions.parquet")
        frame = pd.read_parquet(run / name)
        symbol = next(c for c in held.columns if c != "date")
        row = int(np.flatnonzero(held[symbol].to_numpy() == 0)[-1])
        frame.loc[row, symbol] = (frame.loc[row, symbol] if np.isfinite(frame.loc[row, symbol]) else 0.0) + 1e-6
        (run / name).unlink()  # the run's file is a read-only link to the shared panels
        write_table(run / name, frame)
    return change


def _edit_net(daily: pd.DataFrame) -> pd.DataFrame:
    daily.loc[len(daily) - 10, "net"] += 1e-4
    return daily


EDITS = {
    **{f"weights.parquet {s} edited": _edit_table("weights.parquet", _edit_weight(s)) for s in ("w_pre", "w_rt", "w_alloc", "w_exec")},
    "daily.parquet net edited": _edit_table("daily.parquet", _edit_net),
    "positions.parquet edited": _edit_table("positions.parquet", _edit_panel),
    "returns.parquet edited where held": _edit_return_where_held,
    "returns.parquet edited where nothing is held": _edit_where_nothing_is_held("returns.parquet"),
    "costs.parquet edited where nothing is held": _edit_where_nothing_is_held("costs.parquet"),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_audit_never_passes_artifacts_that_disagree(runs_dir, edit):
    EDITS[edit](runs_dir / "core")
    r = _invoke(["audit", "core", "--json"], runs_dir)
    assert r.exit_code in (1, 2), r.output
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    if r.exit_code == 1:
        assert json.loads(r.output)["verdict"] == "FAIL"


def test_the_undamaged_copy_passes(runs_dir):
    for command, args in COMMANDS.items():
        assert _invoke(args, runs_dir).exit_code == 0, command


@pytest.mark.parametrize("order", ["stages reversed", "stage as plain strings"])
def test_weights_in_another_row_order_audit_the_same(runs_dir, order):
    """The audit reads a run's own weights.parquet by stage blocks; stage blocks in another order
    (or a stage column that is not categorical) are read by the stage codes: the same checks."""
    before = json.loads(_invoke(["audit", "core", "--json"], runs_dir).output)
    frame = pd.read_parquet(runs_dir / "core" / "weights.parquet")
    if order == "stages reversed":
        frame = pd.concat([g for _, g in frame.groupby("stage", sort=False, observed=True)][::-1], ignore_index=True)
    else:
        frame["stage"] = frame["stage"].astype(str)
    write_table(runs_dir / "core" / "weights.parquet", frame)
    r = _invoke(["audit", "core", "--json"], runs_dir)
    assert r.exit_code == 0, r.output
    after = json.loads(r.output)
    assert after["verdict"] == "PASS" and after["checks"] == before["checks"]
