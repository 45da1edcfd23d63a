"""The terminal tells the truth: progress only on a terminal, --version, commented `config show`
that round-trips, aligned `config list`, case-insensitive `data info` with suggestions, the
sanity gate's verdict, and the cold-kernel notice."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml
from typer.testing import CliRunner

from macrostack import __version__
from macrostack.cli import app
from macrostack.config import bundled_profiles, load_config
from macrostack.kernels import kernels_cold

runner = CliRunner()


def test_version():
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and r.output.strip() == f"macrostack {__version__}"


@pytest.mark.parametrize("profile", bundled_profiles())
def test_config_show_documents_itself_and_round_trips(profile, tmp_path):
    r = runner.invoke(app, ["config", "show", profile], terminal_width=50)
    assert r.exit_code == 0
    assert "# annualised ex-ante vol of the book\n  target_vol:" in r.output
    assert "# sessions of returns for the covariance Σ_t" in r.output
    path = tmp_path / "mine.yaml"
    path.write_text(r.output)
    assert load_config(path).config_hash() == load_config(profile).config_hash()
    assert yaml.safe_load(r.output) == load_config(profile).resolved()


def test_config_list_is_aligned():
    lines = runner.invoke(app, ["config", "list"]).output.splitlines()
    starts = {len(line) - len(line.split("  ", 1)[1].lstrip()) for line in lines}
    assert len(lines) == len(bundled_profiles()) and len(starts) == 1


def test_data_info_is_case_insensitive_and_suggests(tf_store_path):
    env = {"MACROSTACK_STORE": str(tf_store_path)}
    r = runner.invoke(app, ["data", "info", "es"], env=env, terminal_width=200)
    assert r.exit_code == 0 and "ES (trendfollowing)" in r.output
    r = runner.invoke(app, ["data", "info", "ESS"], env=env, terminal_width=200)
    assert r.exit_code == 2 and "did you mean ES" in r.output


def test_sanity_prints_a_verdict_against_its_threshold(tf_store_path):
    env = {"MACROSTACK_STORE": str(tf_store_path)}
    args = ["sanity", "trend", "--start", "2010-01-01", "--end", "2015-12-31"]
    low = runner.invoke(app, [*args, "--min-sharpe", "-5"], env=env, terminal_width=200)
    assert low.exit_code == 0 and "gate: PASS" in low.output
    high = runner.invoke(app, [*args, "--min-sharpe", "5"], env=env, terminal_width=200)
    assert high.exit_code == 1 and "gate: FAIL" in high.output


def test_no_progress_or_noise_when_not_a_terminal_or_quiet(tf_store_path, tmp_path):
    env = {**os.environ, "MACROSTACK_STORE": str(tf_store_path)}
    base = [sys.executable, "-m", "macrostack.cli", "run", "trend_only", "--start", "2019-01-01", "--end",
            "2019-06-30", "--no-report", "--out", str(tmp_path)]
    quiet = subprocess.run([*base, "--run-id", "q", "-q"], env=env, capture_output=True, text=True)
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout.strip() == str(tmp_path / "q")
    as_json = subprocess.run([*base, "--run-id", "j", "--json"], env=env, capture_output=True, text=True)
    assert as_json.returncode == 0 and as_json.stderr == "" and json.loads(as_json.stdout)["run_id"] == "j"
    piped = subprocess.run([*base, "--run-id", "p"], env=env, capture_output=True, text=True)
    assert piped.returncode == 0 and piped.stderr == ""  # stdout is not a terminal: no live display
    assert "audit: PASS" in piped.stdout and "time: load" in piped.stdout


def test_cold_kernel_cache_is_detected(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "plain.py").write_text("x = 1\n")
    (pkg / "sub" / "k.py").write_text("from numba import njit\n@njit(" + "cache" + "=True)\ndef f(x):\n    return x\n")
    assert kernels_cold(pkg)
    (pkg / "sub" / "__pycache__").mkdir()
    (pkg / "sub" / "__pycache__" / "k.f-3.py311.nbi").write_bytes(b"")
    assert not kernels_cold(pkg)
