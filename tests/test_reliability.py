"""Nothing lost, nothing escapes, every failure one line: hostile run ids and names, concurrent
runs against one --out with a reader holding the catalog, runs and ingests killed at several
points, a full disk, damaged or foreign catalogs and stores. Real runs on the default dataset."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from macrostack.cli import app
from macrostack.errors import InputError
from macrostack.runner import run_stack
from macrostack.runs import catalog
from macrostack.runs.directory import clean_stale, publish, stage
from macrostack.runs.ids import check_run_id, inside

SHORT = ["--start", "2019-01-01", "--end", "2019-12-31", "--no-report"]
SHORT_KW = {"start": "2019-01-01", "end": "2019-12-31", "report": False}


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


def cli(args, store, **kw) -> subprocess.CompletedProcess:
    """`macrostack ARGS` in a child process (real signals, real exit codes)."""
    env = {**os.environ, "MACROSTACK_STORE": str(store)}
    return subprocess.run([sys.executable, "-m", "macrostack.cli", *args], env=env, capture_output=True, text=True,
                          timeout=300, **kw)


def one_error_line(proc) -> str:
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


def staging_left(out: Path) -> list[str]:
    """Half-made folders: run staging in `out`, panel staging in `out/.market`."""
    folders = [f for f in (out, out / ".market") if f.is_dir()]
    return [p.name for f in folders for p in f.iterdir() if ".tmp-" in p.name or ".old-" in p.name]


# ------------------------------------------------------------------ 1. ids and names are data
@pytest.mark.parametrize("bad", [".", "..", "../../x", "a/b", "/etc", "catalog.duckdb", "CATALOG.DUCKDB", ".hidden",
                                 "x y", "", "a" * 101, "latest", "report.html", "r\x00", "é", "-"])
def test_hostile_run_ids_are_refused(bad):
    if bad == "-":
        assert check_run_id("a-") == "a-"  # a dash inside is fine; only a leading dot is not
        bad = "-lead"
    with pytest.raises(InputError, match="--run-id"):
        check_run_id(bad)


def test_hostile_ids_through_the_cli_write_nothing(tf_store_path, tmp_path):
    runner = CliRunner()
    out = tmp_path / "sandbox" / "runs"
    out.mkdir(parents=True)
    (out / "keep").mkdir()
    (out / "keep" / "manifest.json").write_text("{}")
    before = files_under(tmp_path)
    for bad in (".", "..", "../../x", "catalog.duckdb", "keep/../..", ".lock"):
        r = runner.invoke(app, ["run", "trend_only", *SHORT, "--out", str(out), "--run-id", bad],
                          env={"MACROSTACK_STORE": str(tf_store_path)})
        assert r.exit_code == 2, (bad, r.output)
        assert r.output.count("error:") == 1
    evil = tmp_path / "evil.yaml"
    evil.write_text("name: ../../evil\n")
    r = runner.invoke(app, ["run", str(evil), "--out", str(out)], env={"MACROSTACK_STORE": str(tf_store_path)})
    assert r.exit_code == 2 and "name '../../evil' is not a valid name" in r.output
    assert files_under(tmp_path) == before | {evil}


name_chars = st.sampled_from(list("aZ09._-/\\ ~$*:é\n") + ["..", "../", "catalog.duckdb", ".lock"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(run_id=st.one_of(st.none(), st.lists(name_chars, min_size=1, max_size=8).map("".join)),
       name=st.lists(name_chars, min_size=1, max_size=8).map("".join))
def test_property_nothing_is_written_outside_out(tf_store_path, tmp_path, run_id, name):
    """For random run ids and config names: a run either lands directly under --out or is refused;
    nothing is ever created outside --out."""
    from macrostack.config import load_config, parse_config

    sandbox = Path(tmp_path) / f"s{abs(hash((run_id, name)))}"
    out = sandbox / "a" / "b" / "out"
    out.mkdir(parents=True)
    before = files_under(sandbox)
    raw = load_config("trend_only").resolved()
    raw["name"] = name
    try:
        res = run_stack(parse_config(raw), **SHORT_KW, run_id=run_id, out=out, store=tf_store_path)
        assert res.path.parent == out and res.path.name == (run_id or res.run_id)
    except InputError:
        pass
    assert all(out in p.parents or p == out for p in files_under(sandbox) - before)
    shutil.rmtree(sandbox)


def test_inside_refuses_a_symlink_out_of_the_folder(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "link").symlink_to(tmp_path)
    with pytest.raises(InputError, match="outside"):
        inside(out, "link")


# ------------------------------------------------------------------ 2. concurrency
def test_concurrent_runs_all_land_and_are_listed_while_a_reader_holds_the_catalog(tf_store_path, tmp_path):
    out = tmp_path / "runs"
    first = cli(["run", "trend_only", *SHORT, "--out", str(out), "--run-id", "r0", "-q"], tf_store_path)
    assert first.returncode == 0, first.stderr
    reader = duckdb.connect(str(out / "catalog.duckdb"), read_only=True)  # a notebook holding the catalog
    try:
        env = {**os.environ, "MACROSTACK_STORE": str(tf_store_path)}
        procs = [subprocess.Popen([sys.executable, "-m", "macrostack.cli", "run", "trend_only", *SHORT, "--out",
                                   str(out), "--run-id", f"r{i}", "-q"], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for i in range(1, 5)]
        results = [p.communicate(timeout=300) + (p.returncode,) for p in procs]
        assert [rc for _, _, rc in results] == [0] * 4, results
        assert all("catalog" in err and "busy" in err for _, err, _ in results)  # told, not failed
        assert reader.execute("SELECT count(*) FROM runs").fetchone()[0] == 1  # the reader was never disturbed
    finally:
        reader.close()
    listed = json.loads(cli(["runs", "--out", str(out), "--json"], tf_store_path).stdout)
    assert sorted(r["run_id"] for r in listed) == [f"r{i}" for i in range(5)]
    with duckdb.connect(str(out / "catalog.duckdb"), read_only=True) as con:  # repaired on read
        assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 5
    assert staging_left(out) == []


def test_concurrent_identical_runs_one_lands_the_other_is_told(tf_store_path, tmp_path):
    out = tmp_path / "runs"
    env = {**os.environ, "MACROSTACK_STORE": str(tf_store_path)}
    procs = [subprocess.Popen([sys.executable, "-m", "macrostack.cli", "run", "trend_only", *SHORT, "--out", str(out),
                               "-q"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [p.communicate(timeout=300) + (p.returncode,) for p in procs]
    assert sorted(rc for _, _, rc in results) == [0, 2], results
    assert any("already exists" in err for _, err, _ in results)
    assert len(catalog.run_folders(out)) == 1 and staging_left(out) == []


def test_concurrent_first_runs_share_one_ingest_of_a_fresh_store(tmp_path):
    store = tmp_path / "fresh" / "market.duckdb"
    env = {**os.environ, "MACROSTACK_STORE": str(store)}
    procs = [subprocess.Popen([sys.executable, "-m", "macrostack.cli", "run", "trend_only", *SHORT, "--out",
                               str(tmp_path / "runs"), "--run-id", f"first{i}", "-q"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    results = [p.communicate(timeout=600) + (p.returncode,) for p in procs]
    assert [rc for _, _, rc in results] == [0, 0], results
    with duckdb.connect(str(store), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM datasets").fetchone()[0] == 1


def test_a_run_waits_for_an_ingest_holding_the_store(tf_store_path, tmp_path):
    store = tmp_path / "market.duckdb"
    shutil.copy(tf_store_path, store)
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\n"
                               "from macrostack.data.store import MarketStore\n"
                               "with MarketStore(sys.argv[1]):\n    print('held', flush=True); time.sleep(3)",
                               str(store)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    t0 = time.monotonic()
    r = cli(["run", "trend_only", *SHORT, "--out", str(tmp_path / "runs"), "-q", "--store", str(store)], store)
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - t0 > 1.0  # it queued behind the writer instead of failing on DuckDB's lock
    holder.wait(timeout=60)


def test_runs_lists_complete_folders_without_rows_and_never_half_made_ones(core_like_run, tmp_path):
    out = tmp_path / "runs"
    shutil.copytree(core_like_run.path, out / "copied")  # complete, never catalogued here
    (out / ".x.tmp-999999").mkdir()  # half-made
    (out / "junk").mkdir()  # not a run
    listed = catalog.list_runs(out)
    assert list(listed["run_id"]) == ["copied"]  # found by its folder's name
    assert listed["path"].iloc[0] == str((out / "copied").resolve())


@pytest.fixture(scope="module")
def core_like_run(tf_store_path, tmp_path_factory):
    return run_stack("trend_only", **SHORT_KW, out=tmp_path_factory.mktemp("base"), store=tf_store_path)


def test_rows_of_deleted_folders_are_dropped(tf_store_path, tmp_path):
    out = tmp_path / "runs"
    for rid in ("a", "b"):
        run_stack("trend_only", **SHORT_KW, run_id=rid, out=out, store=tf_store_path)
    shutil.rmtree(out / "a")
    assert list(catalog.list_runs(out)["run_id"]) == ["b"]


# ------------------------------------------------------------------ 3. nothing replaced silently
def test_an_existing_run_is_left_untouched_unless_force(tf_store_path, tmp_path):
    out = tmp_path / "runs"
    res = run_stack("trend_only", **SHORT_KW, out=out, store=tf_store_path)
    (res.path / "report.html").write_text("the user's own report")
    before = {p: p.read_bytes() for p in res.path.rglob("*") if p.is_file()}
    r = cli(["run", "trend_only", *SHORT, "--out", str(out)], tf_store_path)
    assert r.returncode == 2 and "already exists" in one_error_line(r) and "--force" in r.stderr
    assert {p: p.read_bytes() for p in res.path.rglob("*") if p.is_file()} == before
    r = cli(["run", "trend_only", *SHORT, "--out", str(out), "--force", "-q"], tf_store_path)
    assert r.returncode == 0, r.stderr
    assert not (res.path / "report.html").exists()  # replaced whole (this run wrote no report)
    assert staging_left(out) == []


def test_force_never_replaces_something_that_is_not_a_run(tf_store_path, tmp_path):
    out = tmp_path / "runs"
    (out / "mine").mkdir(parents=True)
    (out / "mine" / "thesis.tex").write_text("x")
    with pytest.raises(InputError, match="not a run folder"):
        run_stack("trend_only", **SHORT_KW, run_id="mine", out=out, store=tf_store_path, force=True)
    assert (out / "mine" / "thesis.tex").read_text() == "x"


def test_publish_without_rename_exchange_and_restore_after_a_crash(tmp_path, monkeypatch):
    """The fallback replace (two renames) and the recovery of a replace interrupted between them."""
    import macrostack.runs.directory as directory

    out = tmp_path / "runs"
    old = out / "r"
    old.mkdir(parents=True)
    (old / "manifest.json").write_text('"old"')
    tmp = stage(out, "r")
    (tmp / "manifest.json").write_text('"new"')
    monkeypatch.setattr(directory, "_exchange", lambda a, b: False)
    publish(tmp, old, force=True)
    assert (old / "manifest.json").read_text() == '"new"' and staging_left(out) == []
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (old).rename(out / f".r.old-{dead.pid}")  # died between the two renames: only the old run exists
    (out / f".q.tmp-{dead.pid}").mkdir()  # and a dead run's staging folder
    done = clean_stale(out)
    assert (old / "manifest.json").read_text() == '"new"' and staging_left(out) == [] and len(done) == 2


# ------------------------------------------------------------------ 4. interrupted work
DRIVER = """
import os, signal, sys
import macrostack.runner as run
sig, point = sys.argv[1], sys.argv[2]
original = getattr(run, point)
def patched(*args, **kwargs):
    result = original(*args, **kwargs)
    os.kill(os.getpid(), getattr(signal, sig))
    return result
setattr(run, point, patched)
from macrostack.cli import app
app(sys.argv[3:], prog_name="macrostack")
"""


@pytest.mark.parametrize("sig, point, code", [
    ("SIGTERM", "write_ledger", 143), ("SIGINT", "write_ledger", 130), ("SIGTERM", "audit_run", 143),
    ("SIGKILL", "write_ledger", -9), ("SIGKILL", "publish", -9), ("SIGTERM", "publish", 143)])
def test_a_run_killed_at_several_points_leaves_nothing_half_made(tf_store_path, tmp_path, sig, point, code):
    out = tmp_path / "runs"
    env = {**os.environ, "MACROSTACK_STORE": str(tf_store_path)}
    proc = subprocess.run([sys.executable, "-c", DRIVER, sig, point, "run", "trend_only", *SHORT, "--out", str(out),
                           "--run-id", "k"], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == code, proc.stderr
    if sig != "SIGKILL":
        assert ("terminated" if sig == "SIGTERM" else "interrupted") in one_error_line(proc)
    published = point == "publish"  # killed after the rename: the run is complete
    assert (out / "k" / "manifest.json").exists() == published
    assert (out / "k").exists() == published
    if sig != "SIGKILL":
        assert staging_left(out) == []
    # the next run cleans what a SIGKILL left, and `runs` lists the complete run even without its row
    assert cli(["run", "trend_only", *SHORT, "--out", str(out), "--run-id", "next", "-q"], tf_store_path).returncode == 0
    assert staging_left(out) == []
    listed = {r["run_id"] for r in json.loads(cli(["runs", "--out", str(out), "--json"], tf_store_path).stdout)}
    assert listed == ({"k", "next"} if published else {"next"})


INGEST_DRIVER = """
import os, signal, sys
from macrostack.data.store import MarketStore
sig = sys.argv[1]
original = MarketStore._insert
def patched(self, table, *args):
    original(self, table, *args)
    if table == "bars":  # mid-transaction: bars replaced, fx and the dataset row not yet
        os.kill(os.getpid(), getattr(signal, sig))
MarketStore._insert = patched
from macrostack.cli import app
app(sys.argv[2:], prog_name="macrostack")
"""


def _generic_csv(path: Path, scale: float) -> Path:
    rows = ["date,symbol,close"] + [f"2024-01-{d:02d},{s},{scale * (100 + d)}" for s in "AB" for d in range(2, 31)
                                    if (d % 7) not in (6, 0)]
    path.write_text("\n".join(rows) + "\n")
    return path


def _store_state(store: Path):
    with duckdb.connect(str(store), read_only=True) as con:
        return (con.execute("SELECT dataset, content_hash, n_bars FROM datasets ORDER BY 1").fetchall(),
                con.execute("SELECT symbol, date, adjusted_close FROM bars ORDER BY 1, 2").fetchall())


@pytest.mark.parametrize("sig, code", [("SIGTERM", 143), ("SIGINT", 130), ("SIGKILL", -9)])
def test_an_ingest_killed_mid_transaction_leaves_the_store_as_it_was(tmp_path, sig, code):
    store = tmp_path / "market.duckdb"
    assert cli(["data", "ingest", "generic", str(_generic_csv(tmp_path / "v1.csv", 1.0)), "--name", "g"],
               store).returncode == 0
    before = _store_state(store)
    proc = subprocess.run([sys.executable, "-c", INGEST_DRIVER, sig, "data", "ingest", "generic",
                           str(_generic_csv(tmp_path / "v2.csv", 2.0)), "--name", "g", "--store", str(store)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == code, proc.stderr
    if sig != "SIGKILL":
        one_error_line(proc)
    assert _store_state(store) == before


# ------------------------------------------------------------------ 5. OS failures
def _limit_file_size(nbytes: int):
    def apply():
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))
    return apply


def test_a_full_disk_is_one_line_and_leaves_runs_and_catalog_as_they_were(tf_store_path, tmp_path):
    out = tmp_path / "runs"
    assert cli(["run", "trend_only", *SHORT, "--out", str(out), "--run-id", "ok", "-q"], tf_store_path).returncode == 0
    catalog_bytes = (out / "catalog.duckdb").read_bytes()
    proc = cli(["run", "trend_only", *SHORT, "--out", str(out), "--run-id", "big"], tf_store_path,
               preexec_fn=_limit_file_size(20_000))  # like a disk that fills after 20 kB
    assert proc.returncode == 2
    line = one_error_line(proc)
    assert "File too large" in line and "fix:" in line
    assert sorted(catalog.run_folders(out)) == ["ok"] and staging_left(out) == []
    assert (out / "catalog.duckdb").read_bytes() == catalog_bytes


def test_a_full_disk_during_ingest_leaves_the_store_as_it_was(tmp_path):
    store = tmp_path / "market.duckdb"
    assert cli(["data", "ingest", "generic", str(_generic_csv(tmp_path / "v1.csv", 1.0)), "--name", "g"],
               store).returncode == 0
    before = _store_state(store)
    big = tmp_path / "big.csv"
    rows = ["date,symbol,close"] + [f"{day.date()},S{i},{100 + j % 7}" for i in range(40)
                                    for j, day in enumerate(__import__("pandas").bdate_range("1990-01-01", periods=3000))]
    big.write_text("\n".join(rows) + "\n")
    proc = cli(["data", "ingest", "generic", str(big), "--name", "g"], store,
               preexec_fn=_limit_file_size(store.stat().st_size + 50_000))
    assert proc.returncode == 2, proc.stderr
    one_error_line(proc)
    assert _store_state(store) == before


def test_permission_denied_on_the_output_folder_is_one_line(tf_store_path, tmp_path, monkeypatch):
    import macrostack.runner as run_module

    def denied(out, run_id):
        raise PermissionError(13, "Permission denied", str(out))
    monkeypatch.setattr(run_module, "stage", denied)
    r = CliRunner().invoke(app, ["run", "trend_only", *SHORT, "--out", str(tmp_path / "o")],
                           env={"MACROSTACK_STORE": str(tf_store_path)})
    assert r.exit_code == 2
    assert f"error: {tmp_path / 'o'}: Permission denied — fix: check the path's permissions" in r.output


def test_a_file_where_a_folder_is_expected_and_back(tf_store_path, tmp_path):
    a_file = tmp_path / "f"
    a_file.write_text("x")
    r = cli(["run", "trend_only", *SHORT, "--out", str(a_file)], tf_store_path)
    assert r.returncode == 2 and "is a file, not a folder" in one_error_line(r)
    r = cli(["run", "trend_only", *SHORT, "--out", str(a_file / "sub")], tf_store_path)
    assert r.returncode == 2 and "fix:" in one_error_line(r)
    r = cli(["data", "list", "--store", str(tmp_path)], tf_store_path)
    assert r.returncode == 2 and "is a folder" in one_error_line(r)
    assert a_file.read_text() == "x"


@pytest.mark.parametrize("damage", ["garbage", "foreign"])
def test_a_damaged_or_foreign_catalog_is_refused_before_any_work(tf_store_path, tmp_path, damage):
    out = tmp_path / "runs"
    out.mkdir()
    cat = out / "catalog.duckdb"
    if damage == "garbage":
        cat.write_bytes(b"not a database\n" * 400)
    else:
        with duckdb.connect(str(cat)) as con:
            con.execute("CREATE TABLE prices (x INTEGER)")
    before = cat.read_bytes()
    for args in (["run", "trend_only", *SHORT, "--out", str(out)], ["runs", "--out", str(out)]):
        r = cli(args, tf_store_path)
        assert r.returncode == 2
        line = one_error_line(r)
        assert str(cat) in line and "rebuilds the catalog" in line
    assert cat.read_bytes() == before and sorted(p.name for p in out.iterdir() if p.name != ".lock") == ["catalog.duckdb"]


def test_damaged_foreign_and_locked_stores(tf_store_path, tmp_path):
    garbage = tmp_path / "garbage.duckdb"
    garbage.write_bytes(b"\x00junk" * 1000)
    r = cli(["run", "trend_only", *SHORT, "--out", str(tmp_path / "o"), "--store", str(garbage)], tf_store_path)
    assert r.returncode == 2 and "cannot open market store" in one_error_line(r)
    foreign = tmp_path / "foreign.duckdb"
    with duckdb.connect(str(foreign)) as con:
        con.execute("CREATE TABLE invoices (x INTEGER)")
    before = foreign.read_bytes()
    r = cli(["data", "ingest", "generic", str(_generic_csv(tmp_path / "v.csv", 1.0)), "--store", str(foreign)],
            tf_store_path)
    assert r.returncode == 2 and "not a market store" in one_error_line(r)
    assert foreign.read_bytes() == before
    store = tmp_path / "mine.duckdb"
    shutil.copy(tf_store_path, store)
    writer = duckdb.connect(str(store))  # another process ingesting
    try:
        r = cli(["run", "trend_only", *SHORT, "--out", str(tmp_path / "o"), "--store", str(store)], tf_store_path)
        assert r.returncode == 2 and "close the other process" in one_error_line(r)
    finally:
        writer.close()
    assert not (tmp_path / "o").exists()


def test_rollback_does_not_mask_the_error_when_the_transaction_is_gone(tmp_path):
    from macrostack.data.dataset import Dataset
    from macrostack.data.store import MarketStore
    from macrostack.data.sources import generic

    ds: Dataset = generic.load(_generic_csv(tmp_path / "v.csv", 1.0))
    with MarketStore(tmp_path / "m.duckdb") as st:
        def fail(table, frame, columns):
            st.con.execute("ROLLBACK")  # the transaction ends under us (as a fatal I/O error does)
            raise OSError(28, "No space left on device")
        st._insert = fail
        with pytest.raises(OSError, match="No space left"):
            st.ingest(ds)


def test_ctrl_c_is_one_line_and_exit_130(tf_store_path, tmp_path):
    env = {**os.environ, "MACROSTACK_STORE": str(tf_store_path)}
    proc = subprocess.Popen([sys.executable, "-m", "macrostack.cli", "run", "core", "--out", str(tmp_path / "o")],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2.5)  # importing and loading: the signal lands mid-run
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode in (130, 0), err  # 0 only if the whole run beat the signal
    if proc.returncode == 130:
        assert [ln for ln in err.splitlines() if ln.strip()] == [
            "error: interrupted (Ctrl-C) — nothing half-made was left behind"]
    assert staging_left(tmp_path / "o") == []


def test_signals_are_ignored_once_the_command_is_over():
    """After the command (here `--help`), the teardown is not interruptible: Ctrl-C there killed the
    process silently (exit −2) after its run was published. The entry point is `main`."""
    code = ("import signal, sys\n"
            "from macrostack.cli import main\n"
            "sys.argv = ['macrostack', '--help']\n"
            "try:\n    main()\nexcept SystemExit as e:\n    assert e.code in (0, None)\n"
            "assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN\n"
            "assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    import tomllib
    scripts = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["macrostack"] == "macrostack.cli:main"


@pytest.mark.parametrize("command", ["report", "compare"])
def test_an_explicit_html_path_never_replaces_a_file_silently(short_runs, tmp_path, command):
    out = short_runs["core"].parent
    victim = tmp_path / "notes.txt"
    victim.write_text("mine")
    args = ["report", "core"] if command == "report" else ["compare", "trend_only", "core"]
    r = CliRunner().invoke(app, [*args, "--out", str(out), "--html", str(victim)])
    assert r.exit_code == 2 and "exists and would be replaced" in r.output and victim.read_text() == "mine"
    r = CliRunner().invoke(app, [*args, "--out", str(out), "--html", str(tmp_path)])
    assert r.exit_code == 2 and "is a folder" in r.output and list(tmp_path.iterdir()) == [victim]
    r = CliRunner().invoke(app, [*args, "--out", str(out), "--html", str(victim), "--force"])
    assert r.exit_code == 0, r.output
    assert victim.read_text().startswith("<!DOCTYPE html>")
