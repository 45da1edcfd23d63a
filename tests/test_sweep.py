"""Sweeps: every point validated up front, results bit-identical to `macrostack run`, streamed and
resumable, failures recorded, one-line errors for bad sweep files and a silent scheduler."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import duckdb
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from macrostack.cli import app
from macrostack.errors import InputError
from macrostack.research.results import read_points, read_returns, sweep_folder
from macrostack.research.spec import expand, load_sweep
from macrostack.research.sweep import run_sweep
from macrostack.runner import run_stack

GRID = """base: core
start: 2019-01-01
end: 2020-12-31
grid:
  risk_targeting.target_vol: [0.1, 0.2]
  allocator.profile: [H, L]
"""


def write(tmp_path, text, name="s.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def grid_sweep(tf_store_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep")
    sweep = load_sweep(write(folder, GRID))
    out = folder / "runs"
    result = run_sweep(sweep, out=out, store=tf_store_path, workers=2)
    return sweep, out, result


def test_grid_expands_in_order_and_random_is_reproducible(tmp_path):
    sweep = load_sweep(write(tmp_path, GRID))
    assert [p.values for p in sweep.points] == [
        {"risk_targeting.target_vol": 0.1, "allocator.profile": "H"},
        {"risk_targeting.target_vol": 0.1, "allocator.profile": "L"},
        {"risk_targeting.target_vol": 0.2, "allocator.profile": "H"},
        {"risk_targeting.target_vol": 0.2, "allocator.profile": "L"}]
    assert sweep.points[3].config.risk_targeting.target_vol == 0.2 and sweep.points[3].config.allocator.profile == "L"
    rnd = ("base: core\nrandom:\n  n: 50\n  seed: 3\n  params:\n"
           "    risk_targeting.target_vol: {low: 0.05, high: 0.3}\n"
           "    risk_targeting.vol_lookback: {low: 21, high: 252, int: true}\n    allocator.profile: [H, M]\n")
    a, b = load_sweep(write(tmp_path, rnd, "r.yaml")), load_sweep(write(tmp_path, rnd, "r2.yaml"))
    assert [p.values for p in a.points] == [p.values for p in b.points]
    lookbacks = [p.values["risk_targeting.vol_lookback"] for p in a.points]
    assert all(isinstance(v, int) and 21 <= v <= 252 for v in lookbacks)
    assert all(0.05 <= p.values["risk_targeting.target_vol"] <= 0.3 for p in a.points)
    dup = load_sweep(write(tmp_path, "base: core\ngrid:\n  allocator.profile: [H, H, M]\n", "d.yaml"))
    assert len(dup.points) == 2 and dup.dropped_duplicates == 1


@pytest.mark.parametrize("text, message", [
    ("base: core\ngrid:\n  risk_targeting.target_vol: [0.1, -1]\n", "point 1"),
    ("base: core\ngrid:\n  risk_targeting.target_volx: [0.1]\n", "unknown config key 'risk_targeting.target_volx'"),
    ("base: core\ngrid: {}\n", "grid: is empty"),
    ("base: core\ngrid:\n  allocator.profile: []\n", "an empty list of values"),
    ("base: core\n", "exactly one of `grid` or `random`"),
    ("base: core\nrandom:\n  n: 3\n  params:\n    risk_targeting.target_vol: {low: a, high: 1}\n", "random.params"),
    ("base: core\nrandom:\n  n: 3\n  params:\n    risk_targeting.target_vol: {low: 2, high: 1}\n", "low <= high"),
    ("base: nope\ngrid:\n  allocator.profile: [H]\n", "unknown profile 'nope'"),
    ("base: core\ngrids:\n  allocator.profile: [H]\n", "unknown sweep key 'grids'"),
    ("base: core\ngrid:\n  allocator.mode: [precomputed]\n", "point 0"),
])
def test_bad_sweep_files_are_one_line_before_anything_runs(tmp_path, text, message):
    path = write(tmp_path, text)
    r = CliRunner().invoke(app, ["sweep", str(path), "--out", str(tmp_path / "runs")])
    assert r.exit_code == 2, r.output
    assert message in " ".join(r.output.split()) and r.output.count("error:") == 1
    assert not (tmp_path / "runs").exists()


def test_each_point_is_bit_identical_to_macrostack_run(grid_sweep, tf_store_path, tmp_path):
    sweep, out, result = grid_sweep
    assert result["ran"] == 4 and result["failed"] == 0
    folder = sweep_folder(out, sweep.sweep_id)
    points, returns = read_points(folder), read_returns(folder)
    for p in (sweep.points[0], sweep.points[3]):
        run = run_stack(p.config, out=tmp_path, store=tf_store_path, report=False)
        ready = run.manifest["ready_index"]
        np.testing.assert_array_equal(returns[p.config_hash].dropna().to_numpy(), run.ledger.daily["net"][ready:])
        row = points.set_index("config_hash").loc[p.config_hash]
        for key in ("sharpe", "cagr", "ann_vol", "max_drawdown", "turnover_per_year"):
            assert row[key] == run.manifest["metrics"][key], key


def test_results_are_catalogued_and_listed(grid_sweep):
    sweep, out, _ = grid_sweep
    with duckdb.connect(str(out / "catalog.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT point, status FROM sweep_points WHERE sweep_id = ? ORDER BY point",
                           [sweep.sweep_id]).fetchall()
    assert rows == [(0, "ok"), (1, "ok"), (2, "ok"), (3, "ok")]
    r = CliRunner().invoke(app, ["sweeps", "--out", str(out), "--json"])
    assert json.loads(r.output)[0]["finished"] == 4
    r = CliRunner().invoke(app, ["sweep", "show", sweep.sweep_id[:6], "--out", str(out), "--json"])
    shown = json.loads(r.output)
    assert shown["finished"] == 4 and shown["best"][0]["sharpe"] == max(b["sharpe"] for b in shown["best"])


def test_a_rerun_skips_finished_points_and_reruns_a_lost_part(grid_sweep, tf_store_path):
    sweep, out, _ = grid_sweep
    again = run_sweep(sweep, out=out, store=tf_store_path, workers=1)
    assert again["ran"] == 0 and again["skipped"] == 4
    folder = sweep_folder(out, sweep.sweep_id)
    part = sorted((folder / "points").glob("part-*.parquet"))[0]
    n_lost = len(pd.read_parquet(part))
    part.unlink()  # as if the sweep had been killed before this chunk finished
    resumed = run_sweep(sweep, out=out, store=tf_store_path, workers=1)
    assert resumed["ran"] == n_lost and len(read_points(folder)) == 4


def test_a_failing_point_is_recorded_and_the_others_go_on(tf_store_path, tmp_path):
    text = ("base: trend_only\nstart: 2019-01-01\nend: 2019-12-31\ngrid:\n"
            "  data.universe: [[ES, TY], [NOPE]]\n")
    sweep = load_sweep(write(tmp_path, text))
    result = run_sweep(sweep, out=tmp_path / "runs", store=tf_store_path, workers=1)
    assert result["ran"] == 2 and result["failed"] == 1
    points = read_points(sweep_folder(tmp_path / "runs", sweep.sweep_id))
    bad = points[points["status"] == "failed"].iloc[0]
    assert "NOPE" in bad["error"] and "\n" not in bad["error"]
    assert (points["status"] == "ok").sum() == 1


def test_a_killed_sweep_resumes_where_it_stopped(tf_store_path, tmp_path):
    text = ("base: trend_only\nstart: 2019-01-01\nend: 2019-12-31\ngrid:\n"
            "  risk_targeting.target_vol: [0.05, 0.08, 0.1, 0.12, 0.15, 0.18, 0.2, 0.25]\n")
    path = write(tmp_path, text)
    out = tmp_path / "runs"
    env = {**os.environ, "MACROSTACK_STORE": str(tf_store_path)}
    cmd = [sys.executable, "-m", "macrostack.cli", "sweep", str(path), "--out", str(out), "--workers", "1",
           "--chunk-size", "1", "-q"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    sweep = load_sweep(path)
    parts = sweep_folder(out, sweep.sweep_id) / "points"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and len(list(parts.glob("part-*.parquet"))) < 2 and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its Dask workers, mid-way
    proc.wait()
    before = len(read_points(sweep_folder(out, sweep.sweep_id)))
    assert 0 < before
    done = subprocess.run(cmd[:-1] + ["--json"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["skipped"] == before and result["ran"] == 8 - before
    points = read_points(sweep_folder(out, sweep.sweep_id))
    assert len(points) == 8 and (points["status"] == "ok").all()


def test_a_scheduler_that_does_not_answer_is_one_line(tmp_path):
    path = write(tmp_path, "base: core\ngrid:\n  allocator.profile: [H]\n")
    r = CliRunner().invoke(app, ["sweep", str(path), "--out", str(tmp_path / "runs"), "--scheduler",
                                 "tcp://127.0.0.1:9"])
    assert r.exit_code == 2 and "no Dask scheduler answers" in r.output


def test_expand_grid_is_the_cartesian_product():
    from macrostack.research.spec import SweepSpec
    spec = SweepSpec.model_validate({"grid": {"a.b": [1, 2, 3], "c.d": ["x", "y"]}})
    assert len(expand(spec)) == 6 and expand(spec)[1] == {"a.b": 1, "c.d": "y"}
    with pytest.raises(Exception):
        SweepSpec.model_validate({"grid": {"a": [1]}, "random": {"n": 1, "params": {"a": [1]}}})
    with pytest.raises(InputError):
        load_sweep("nope.txt")


def test_show_reports_dsr_and_pbo_and_walkforward_stitches_out_of_sample(grid_sweep, tf_store_path, tmp_path):
    sweep, out, _ = grid_sweep
    r = CliRunner().invoke(app, ["sweep", "show", sweep.sweep_id, "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    rob = json.loads(r.output)["robustness"]
    assert 0.0 <= rob["dsr"] <= 1.0 and 0.0 <= rob["pbo"] <= 1.0
    path = tmp_path / "s.yaml"
    path.write_text(GRID)
    env = {"MACROSTACK_STORE": str(tf_store_path)}
    r = CliRunner().invoke(app, ["walkforward", str(path), "--train", "6m", "--test", "3m", "--out", str(out),
                                 "--workers", "1", "--json"], env=env)
    assert r.exit_code == 0, r.output
    shown = json.loads(r.output)
    wf = shown["walkforward"]
    assert len(wf["selections"]) >= 5 and all(s["chosen"].startswith("#") for s in wf["selections"])
    assert (out / "sweeps" / sweep.sweep_id / "sweep.html").is_file() and shown["html"].endswith("sweep.html")
    bad = CliRunner().invoke(app, ["walkforward", str(path), "--train", "ten years", "--out", str(out)], env=env)
    assert bad.exit_code == 2 and "--train" in bad.output


def test_memo_drops_least_recently_used_past_its_budget():
    from macrostack.memo import Memo

    memo = Memo(budget_bytes=3 * 800)
    for k in range(5):
        memo.get(Memo.key("a", k), lambda: np.zeros(100))  # 800 bytes each
    assert memo.nbytes == 2400 and Memo.key("a", 0) not in memo and Memo.key("a", 4) in memo
    memo.get(Memo.key("a", 2), lambda: pytest.fail("a hit must not recompute"))
    memo.get(Memo.key("a", 5), lambda: np.zeros(100))
    assert Memo.key("a", 2) in memo and Memo.key("a", 3) not in memo  # 2 was used more recently than 3
    frozen = memo.get(Memo.key("a", 5), lambda: None)
    with pytest.raises(ValueError):
        frozen[0] = 1.0  # cached arrays are read-only
