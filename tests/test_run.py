"""End-to-end runs on the real default dataset: artifacts, audit, determinism, replay, CLI."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from macrostack.audit import _factorized, _worst, audit_run
from macrostack.cli import app
from macrostack.config import load_config, parse_config
from macrostack.errors import InputError
from macrostack.runs.artifacts import write_table
from macrostack.runner import run_stack

PERIOD = {"start": "2016-01-01", "end": "2020-12-31"}


def cfg_with(name, **allocator):
    raw = load_config(name).resolved()
    raw["allocator"].update(allocator)
    return parse_config(raw)


@pytest.fixture(scope="module")
def core_run(tf_store_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    return run_stack("core", **PERIOD, out=out, store=tf_store_path), out


def test_core_run_writes_every_artifact_and_passes_the_audit(core_run):
    res, out = core_run
    assert res.audit["verdict"] == "PASS", res.audit["failed"]
    for name in ("manifest.json", "weights.parquet", "daily.parquet", "positions.parquet", "audit.md", "audit.json",
                 "layers/risk_targeting.parquet", "layers/allocator.parquet", "layers/execution_events.parquet"):
        assert (res.path / name).exists(), name
    manifest = json.loads((res.path / "manifest.json").read_text())
    assert manifest["audit"] == "PASS" and manifest["config"]["allocator"]["profile"] == "H"
    assert manifest["ready_date"] >= "2016-01-01"  # warm-up loaded before start: ready at start
    assert manifest["ready_date"] <= "2016-01-08"
    assert {p.name for p in out.iterdir() if p.name.startswith(".")} == {".lock", ".market", ".assets"}  # no staging left
    shared = out / ".market" / manifest["market_panels"] / "returns.parquet"
    assert shared.stat().st_ino == (res.path / "returns.parquet").stat().st_ino  # linked, not copied
    daily = pd.read_parquet(res.path / "daily.parquet")
    # defect 3 and 6: costs reach the reported P&L, and the metrics are those of the exported curve
    assert daily["cost"].sum() > 0
    np.testing.assert_array_equal(daily["net"], daily["gross"] - daily["cost"])
    assert manifest["metrics"]["cost_drag"] > 0


def test_macrostack_run_never_imports_plotly_py(tf_store_path, tmp_path):
    """`macrostack run` writes its report's figures as JSON itself: plotly.py (~0.1 s to import, more to
    build figure objects) is never imported, only its JS bundle is linked beside the page."""
    code = ("import sys\nfrom macrostack.cli import app\n"
            f"app(['run', 'core', '--start', '2019-01-01', '--end', '2020-12-31', '--quiet', '--out', {str(tmp_path)!r}, "
            f"'--store', {str(tf_store_path)!r}], standalone_mode=False)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'plotly'))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "[]"
    (page,) = tmp_path.glob("core-*/report.html")
    assert 'id="fig-riskviews"' in page.read_text() and next(page.parent.glob("plotly-*.min.js")).stat().st_size > 1e6


def test_realised_vol_is_near_the_ex_ante_vol_of_the_traded_book(core_run):
    res, _ = core_run
    rt = pd.read_parquet(res.path / "layers" / "risk_targeting.parquet")
    alloc = pd.read_parquet(res.path / "layers" / "allocator.parquet")
    ex_ante = float(np.nanmean(rt["ex_ante_vol"] * alloc["scalar_applied"]))
    m = res.manifest
    realised = m["metrics"]["ann_vol"] * (252 / m["periods_per_year"]) ** 0.5  # on RT's own 252 basis, like ex_ante
    assert 0.7 < realised / ex_ante < 1.3


def test_audit_detects_a_tampered_position(core_run, tmp_path):
    res, _ = core_run
    copy = tmp_path / "tampered"
    shutil.copytree(res.path, copy)
    pos = pd.read_parquet(copy / "positions.parquet")
    pos.iloc[600, 3] += 0.01
    pos.to_parquet(copy / "positions.parquet")
    result = audit_run(copy, json.loads((copy / "manifest.json").read_text()), write=False)
    assert result["verdict"] == "FAIL"
    failed = {c["check"] for c in result["checks"] if not c["passed"]}
    assert 5 in failed and 6 in failed


def test_two_runs_are_byte_identical(tf_store_path, tmp_path):
    """Reproducibility on one machine and install (README): the same config on the same data
    gives byte-identical artifacts, and the manifest records what identifies the run."""
    a = run_stack("trend_only", **PERIOD, out=tmp_path / "a", store=tf_store_path)
    b = run_stack("trend_only", **PERIOD, out=tmp_path / "b", store=tf_store_path)
    files = sorted(p.relative_to(a.path) for p in a.path.rglob("*") if p.is_file())
    assert len(files) >= 10
    for f in files:
        assert (a.path / f).read_bytes() == (b.path / f).read_bytes(), f
    manifest = json.loads((a.path / "manifest.json").read_text())
    assert manifest["config_hash"] and manifest["data"]["content_hash"] and manifest["macrostack_version"]


def test_precomputed_replay_is_bit_identical_and_guarded(core_run, tf_store_path):
    res, out = core_run
    replay = run_stack(cfg_with("core", mode="precomputed", precomputed_run=res.run_id), **PERIOD, out=out,
                       store=tf_store_path, run_id="replay")
    assert replay.audit["verdict"] == "PASS"
    for name in ("weights.parquet", "positions.parquet"):
        assert (replay.path / name).read_bytes() == (res.path / name).read_bytes(), name
    a, b = pd.read_parquet(res.path / "daily.parquet"), pd.read_parquet(replay.path / "daily.parquet")
    np.testing.assert_array_equal(a["net"], b["net"])
    with pytest.raises(InputError, match="different data or layers"):
        run_stack(cfg_with("core", mode="precomputed", precomputed_run=res.run_id), start="2017-01-01",
                  end=PERIOD["end"], out=out, store=tf_store_path)
    with pytest.raises(InputError, match="allocator.profile"):
        run_stack(cfg_with("core", mode="precomputed", precomputed_run=res.run_id, profile="L"), **PERIOD, out=out,
                  store=tf_store_path)
    edited = out / "edited"  # a copy whose replayed scalars were edited out of the allocator's range
    shutil.copytree(res.path, edited)
    table = pd.read_parquet(edited / "layers" / "allocator.parquet")
    table.loc[3, "scalar_at_rebalance"] = np.nan
    write_table(edited / "layers" / "allocator.parquet", table)
    before = sorted(p.name for p in out.iterdir())
    with pytest.raises(InputError, match="outside"):
        run_stack(cfg_with("core", mode="precomputed", precomputed_run=str(edited)), **PERIOD, out=out,
                  store=tf_store_path, run_id="replay-edited")
    assert sorted(p.name for p in out.iterdir()) == before  # nothing written


def test_defect5_configured_profile_is_the_profile_used(core_run, tf_store_path, tmp_path):
    res, _ = core_run
    low = run_stack(cfg_with("core", profile="L"), **PERIOD, out=tmp_path, store=tf_store_path)
    s_h = pd.read_parquet(res.path / "layers" / "allocator.parquet")["scalar_applied"]
    s_l = pd.read_parquet(low.path / "layers" / "allocator.parquet")["scalar_applied"]
    assert low.manifest["config"]["allocator"]["profile"] == "L"
    assert s_l.min() < s_h.min()  # L brakes harder in the same stress


def test_cli_run_show_audit_and_bad_config(tf_store_path, tmp_path):
    runner = CliRunner()
    env = {"MACROSTACK_STORE": str(tf_store_path)}
    out = tmp_path / "runs"
    r = runner.invoke(app, ["run", "trend_only", "--start", "2019-01-01", "--end", "2020-06-30", "--out", str(out),
                            "--run-id", "t1"], env=env)
    assert r.exit_code == 0, r.output
    assert "audit: PASS" in r.output and "Sharpe" in r.output
    assert runner.invoke(app, ["audit", "t1", "--out", str(out)], env=env).exit_code == 0
    assert runner.invoke(app, ["show", "t1", "--out", str(out)], env=env).exit_code == 0
    assert "t1" in runner.invoke(app, ["runs", "--out", str(out)], env=env).output
    assert runner.invoke(app, ["run", "trend_only", "--start", "2019-01-01", "--end", "2020-06-30", "--out", str(out),
                               "--run-id", "t0", "--no-report", "-q"], env=env).exit_code == 0
    assert not (out / "t0" / "report.html").exists() and (out / "t1" / "report.html").exists()
    r = runner.invoke(app, ["report", "t0", "--out", str(out)], env=env)
    assert r.exit_code == 0 and (out / "t0" / "report.html").exists()
    r = runner.invoke(app, ["compare", "t0", "t1", "--out", str(out), "--json"], env=env)
    assert r.exit_code == 0 and json.loads(r.output)["metrics"]["sharpe"]["delta"] == 0.0
    r = runner.invoke(app, ["show", "t1", "--out", str(out), "--json"], env=env)
    assert json.loads(r.output)["audit"]["verdict"] == "PASS"
    bad = tmp_path / "bad.yaml"
    bad.write_text("risk_targeting:\n  target_vol: 0.2\n  leverage_floor: 9\n")
    out2 = tmp_path / "runs2"
    r = runner.invoke(app, ["run", str(bad), "--out", str(out2)], env=env)
    assert r.exit_code == 2
    assert "leverage_floor must be <= leverage_cap" in r.output
    assert not out2.exists()  # nothing written
    bad.write_text("risk_targetting:\n  target_vol: 0.2\n")
    r = runner.invoke(app, ["run", str(bad), "--out", str(out2)], env=env)
    assert r.exit_code == 2 and "unknown config key 'risk_targetting'" in r.output


def test_core_carry_on_the_contract_level_sample(pst_store, tmp_path):
    res = run_stack("core_carry", start="2014-01-01", out=tmp_path, store=pst_store)
    assert res.audit["verdict"] == "PASS", res.audit["failed"]
    statuses = res.manifest["stage_statuses"]
    assert all(statuses[f"sleeve:{k}"] == "effective" for k in ("trend", "ewmac", "csmom", "carry", "vol_carry"))
    sleeves = pd.read_parquet(res.path / "sleeves.parquet")
    assert {"carry", "vol_carry", "residual"} <= set(sleeves.columns)
    check10 = next(c for c in res.audit["checks"] if c["check"] == 10)
    assert check10["passed"] and check10["max_error"] <= 1e-12
    assert 0.7 < res.manifest["metrics"]["realised_vol_ratio"] < 1.3


def test_carry_sleeve_on_the_default_dataset_is_inert_and_says_how_to_fix(tf_store_path, tmp_path):
    raw = load_config("core").resolved()
    raw["sleeves"]["carry"] = {"engine": "carry", "weight": 0.2, "required": False}
    res = run_stack(parse_config(raw), **PERIOD, out=tmp_path, store=tf_store_path)
    assert res.manifest["stage_statuses"]["sleeve:carry"] == "inert"
    assert "macrostack data ingest pysystemtrade" in res.manifest["inert_sleeves"]["carry"]


def test_contract_rounding_with_capital_trades_whole_contracts(pst_store, tmp_path):
    raw = load_config("core_carry").resolved()
    raw["data"]["universe"] = ["SP500", "US10", "GOLD", "EUR", "JGB", "EUROSTX"]
    raw["sleeves"] = {"trend": {"engine": "trend"}}
    raw["execution"]["capital"] = 20_000_000
    res = run_stack(parse_config(raw), start="2018-01-01", out=tmp_path, store=pst_store)
    assert res.audit["verdict"] == "PASS", res.audit["failed"]
    events = pd.read_parquet(res.path / "layers" / "execution_events.parquet")
    assert (events["reason"] == "contract_rounding").sum() > 100
    # executed weight × NAV / contract value is a whole number of contracts
    from macrostack.data.market import load_market_data
    from macrostack.data.store import MarketStore
    from macrostack.simulate import contract_notional
    w = pd.read_parquet(res.path / "weights.parquet")
    w = w[w["stage"] == "w_exec"]
    reb_dates = pd.DatetimeIndex(pd.unique(w["date"]))
    w_exec = w["weight"].to_numpy().reshape(len(reb_dates), -1)
    with MarketStore(pst_store, read_only=True) as st:
        md = load_market_data(st, "pysystemtrade", raw["data"]["universe"], "2018-01-01", warmup=600,
                              fields=("ret", "cost", "price", "fx"))
    reb = pd.DatetimeIndex(md.dates).get_indexer(reb_dates)
    assert (reb >= 0).all()
    daily = pd.read_parquet(res.path / "daily.parquet").set_index("date")
    nav = 20_000_000 * daily["equity"].reindex(reb_dates).to_numpy()
    contracts = w_exec * nav[:, None] / contract_notional(md, reb)
    live = np.isfinite(contracts)
    np.testing.assert_allclose(contracts[live], np.round(contracts[live]), atol=1e-6)
    assert np.abs(contracts[live]).max() >= 1


def test_contract_rounding_needs_point_sizes(tf_store_path, tmp_path):
    raw = load_config("trend_only").resolved()
    raw["execution"]["capital"] = 1e7
    with pytest.raises(InputError, match="contract rounding needs point sizes"):
        run_stack(parse_config(raw), **PERIOD, out=tmp_path, store=tf_store_path)
    assert not any(tmp_path.iterdir())


def test_broken_run_files_are_one_line_errors(short_runs, tmp_path):
    """A damaged run directory (corrupt JSON or Parquet, a missing file) and bad report/compare
    options end in one line naming the file or option, exit code 2, not a traceback."""
    runner = CliRunner()
    out = tmp_path / "runs"
    for name in ("core", "trend_only"):
        shutil.copytree(short_runs[name], out / name)

    def fails(args, *expected):
        r = runner.invoke(app, [*args, "--out", str(out)])
        assert r.exit_code == 2, r.output
        assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
        assert all(e in r.output for e in expected), r.output

    fails(["report", "core", "--start", "someday"], "report --start", "cannot parse date 'someday'")
    fails(["compare", "trend_only", "core", "--json", "--html", str(tmp_path / "c.html")], "compare --html")
    (out / "core" / "audit.json").write_text("{not json")
    fails(["show", "core"], "audit.json", "unreadable JSON")
    shutil.copy(short_runs["core"] / "audit.json", out / "core" / "audit.json")
    (out / "core" / "daily.parquet").write_bytes(b"PAR1 broken")
    fails(["audit", "core"], "daily.parquet", "unreadable Parquet")
    (out / "trend_only" / "costs.parquet").unlink()
    fails(["audit", "trend_only"], "costs.parquet", "run file missing")
    r = runner.invoke(app, ["compare", "trend_only", "core", "--out", str(out)])
    assert r.exit_code == 2 and not list(out.glob("*.html")) and not list(out.glob(".*.tmp"))


def test_compare_writes_its_html_under_out_by_default(short_runs, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "runs"
    for name in ("core", "trend_only"):
        shutil.copytree(short_runs[name], out / name)
    r = CliRunner().invoke(app, ["compare", "trend_only", "core", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert (out / "compare-trend_only-vs-core.html").exists() and not (tmp_path / "compare.html").exists()


@settings(max_examples=300, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 4)),
              elements=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, 1e-17]))))
def test_the_audits_largest_error_is_nan_to_num_s(err):
    """The audit's worst error and its date, found without a copy, are what the |err| copy with NaN as
    inf (and inf as the largest float) gave: first occurrence of the maximum."""
    dates = pd.date_range("2000-01-03", periods=err.shape[0])
    flat = np.nan_to_num(np.abs(err), nan=np.inf)
    k = int(np.argmax(flat))
    assert _worst(err, dates) == (float(flat.reshape(-1)[k]), str(dates[np.unravel_index(k, err.shape)[0]].date()))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-1, 3), max_size=40), st.permutations(["w_pre", "w_rt", "w_alloc", "signal:x"]),
       st.booleans())
def test_the_audits_stage_codes_are_pandas_factorize(codes, categories, blocks):
    """The audit reads the stage column's categorical codes at block boundaries instead of hashing
    it: the same codes and names as pd.factorize(sort=False), whatever the category order."""
    codes = np.sort(codes) if blocks else np.array(codes, dtype=int)
    column = pd.Series(pd.Categorical.from_codes(np.asarray(codes, dtype=int), categories))
    want, want_names = pd.factorize(column, sort=False)
    got, got_names, starts = _factorized(column)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(starts, np.flatnonzero(np.r_[True, want[1:] != want[:-1]]) if len(want) else [])
    assert [str(x) for x in got_names] == [str(x) for x in want_names]
