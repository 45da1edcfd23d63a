"""The notebook API (macrostack.run / load_run / Run / load_config().with_) and run addressing,
on short real runs of the default dataset."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import macrostack as ms
from macrostack.errors import InputError
from macrostack.runs.address import resolve_run

PERIOD = {"start": "2019-01-01", "end": "2020-12-31", "report": False}


@pytest.fixture(scope="module")
def home(tf_store_path, tmp_path_factory):
    """An output folder with core_baseline, then core, then a second core variant (newest)."""
    out = tmp_path_factory.mktemp("home")
    runs = {name: ms.run(name, **PERIOD, store=tf_store_path, out=out) for name in ("core_baseline", "core")}
    cfg = ms.load_config("core").with_(**{"risk_targeting.target_vol": 0.15})
    runs["core15"] = ms.run(cfg, **PERIOD, store=tf_store_path, out=out)
    return out, runs


def test_run_frames_are_the_run_files(home):
    out, runs = home
    run = runs["core"]
    assert run.id.startswith("core-") and run.path.parent == out
    assert run.config.name == "core" and run.metrics["sharpe"] == run.manifest["metrics"]["sharpe"]
    daily = pd.read_parquet(run.path / "daily.parquet")
    np.testing.assert_array_equal(run.daily["net"].to_numpy(), daily["net"].to_numpy())
    assert list(run.daily.columns) == ["gross", "cost", "net", "equity", "traded", "gross_exposure", "net_exposure",
                                       "leverage", "risk_scalar", "regime"]
    long = pd.read_parquet(run.path / "weights.parquet")
    rt = long[long["stage"] == "w_rt"]
    wide = run.weights("w_rt")
    assert wide.shape == (rt["date"].nunique(), len(run.manifest["data"]["symbols"]))
    row = rt[rt["date"] == rt["date"].iloc[-1]].set_index("symbol")["weight"]
    np.testing.assert_array_equal(wide.iloc[-1].to_numpy(), row[wide.columns].to_numpy())
    assert run.weights("held").shape == (len(daily), wide.shape[1])
    assert {"w_pre", "w_rt", "w_alloc", "w_exec", "held"} <= set(run.stages)
    assert run.audit["verdict"] == "PASS"
    assert run.sleeves is not None and len(run.sleeves) == len(daily)
    with pytest.raises(InputError, match="unknown stage"):
        run.weights("w_typo")


def test_with_changes_dotted_paths_and_validates_like_yaml(home):
    _, runs = home
    a, b = (runs[k].path / "returns.parquet" for k in ("core", "core15"))
    assert a.stat().st_ino == b.stat().st_ino  # same data and period: one copy on disk, linked into both
    cfg = runs["core15"].config
    assert cfg.risk_targeting.target_vol == 0.15 and cfg.name == "core"
    assert runs["core15"].manifest["metrics"]["ann_vol"] < runs["core"].manifest["metrics"]["ann_vol"]
    with pytest.raises(InputError, match="unknown config key 'risk_targeting.target_volx'"):
        ms.load_config("core").with_(**{"risk_targeting.target_volx": 0.1})
    with pytest.raises(InputError, match="leverage_floor must be <= leverage_cap"):
        ms.load_config("core").with_(**{"risk_targeting.leverage_floor": 9.0})


def test_addressing_by_id_prefix_latest_and_name(home):
    out, runs = home
    assert resolve_run(out, runs["core"].id) == runs["core"].path
    assert resolve_run(out, "latest") == runs["core15"].path
    assert resolve_run(out, "core") == runs["core15"].path  # a config name: its newest run
    assert resolve_run(out, "core_baseline") == runs["core_baseline"].path
    assert resolve_run(out, runs["core"].id[:8]) == runs["core"].path or runs["core"].id[:8] == runs["core15"].id[:8]
    assert ms.load_run("core_b", out=out).path == runs["core_baseline"].path  # a unique prefix
    with pytest.raises(InputError, match="matches several runs") as err:
        resolve_run(out, "co")
    assert runs["core"].id in str(err.value) and runs["core_baseline"].id in str(err.value)
    with pytest.raises(InputError, match="no run 'nothing'"):
        resolve_run(out, "nothing")


def test_compare_by_names_as_the_readme_types_it(home, tf_store_path):
    out, runs = home
    result = runs["core_baseline"].compare("core")
    assert result["other"]["run_id"] == runs["core15"].id
    env = {**os.environ, "MACROSTACK_RUNS": str(out), "MACROSTACK_STORE": str(tf_store_path)}
    proc = subprocess.run([sys.executable, "-m", "macrostack.cli", "compare", "core_baseline", "core", "--json"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["base"]["run_id"] == runs["core_baseline"].id


def test_runs_and_show_work_from_any_folder(home, tmp_path):
    out, runs = home
    env = {**os.environ, "MACROSTACK_RUNS": str(out)}
    cli = [sys.executable, "-m", "macrostack.cli"]
    listed = subprocess.run([*cli, "runs", "--json"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert sorted(r["run_id"] for r in json.loads(listed.stdout)) == sorted(r.id for r in runs.values())
    shown = subprocess.run([*cli, "show", "latest", "--json"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert json.loads(shown.stdout)["run_id"] == runs["core15"].id
    empty = subprocess.run([*cli, "runs"], env={**env, "MACROSTACK_RUNS": str(tmp_path / "none")}, cwd=tmp_path,
                           capture_output=True, text=True)
    assert empty.returncode == 0 and "no runs in" in empty.stdout


def test_import_is_light():
    """`import macrostack` must not pull in pandas, duckdb or plotly (the API loads them on first use)."""
    code = "import sys, macrostack; print(sorted(m for m in ('pandas', 'duckdb', 'plotly', 'numba') if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "[]"
