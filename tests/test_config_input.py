"""Bad config files end in one line `error: <where>: <what> — fix: <how>`, exit code 2, nothing
written; `config show NAME > f.yaml` round-trips to the same config hash."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from macrostack.cli import app
from macrostack.config import load_config, parse_config
from macrostack.errors import InputError

runner = CliRunner()


def one_error_line(result, *expected) -> str:
    """The CLI exited 2 with one line `error: … — fix: …` holding every `expected` text."""
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and " — fix: " in lines[0], result.output
    assert all(e in lines[0] for e in expected), lines[0]
    return lines[0]


def run_fails(tmp_path, config, *expected, store=None, args=()):
    """`macrostack run CONFIG` fails with one line and writes nothing: no run directory, and
    the store is not created (or, when given, left byte for byte as it was)."""
    out = tmp_path / "runs"
    store_path = store or tmp_path / "store" / "market.duckdb"
    before = store_path.read_bytes() if store else None
    r = runner.invoke(app, ["run", str(config), *args, "--out", str(out), "--store", str(store_path), "-q"])
    line = one_error_line(r, *expected)
    assert not out.exists()
    assert (store_path.read_bytes() == before) if store else not store_path.exists()
    return line


def write(tmp_path, text, name="c.yaml"):
    path = tmp_path / name
    path.write_text(text) if isinstance(text, str) else path.write_bytes(text)
    return path


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_config_file(tmp_path, text):
    run_fails(tmp_path, write(tmp_path, text), "c.yaml", "config file is empty")


def test_duplicate_top_level_block_names_key_and_lines(tmp_path):
    text = "risk_targeting:\n  target_vol: 0.1\nallocator:\n  mode: 'off'\nrisk_targeting:\n  target_vol: 0.3\n"
    run_fails(tmp_path, write(tmp_path, text), "c.yaml, line 5", "duplicate key 'risk_targeting'", "first on line 1")


def test_duplicate_nested_key_names_its_path(tmp_path):
    text = "sleeves:\n  trend:\n    engine: trend\n    params:\n      z_window: 200\n      z_window: 300\n"
    run_fails(tmp_path, write(tmp_path, text), "line 6", "duplicate key 'sleeves.trend.params.z_window'",
              "first on line 5")


def test_yaml_merge_keys_may_be_overridden():
    text = "base: &b {target_vol: 0.1}\n"
    from macrostack.config import load_yaml
    assert load_yaml(text + "rt:\n  <<: *b\n  target_vol: 0.2\n", "x")["rt"] == {"target_vol": 0.2}


def test_yaml_syntax_error_names_file_line_and_column(tmp_path):
    line = run_fails(tmp_path, write(tmp_path, "risk_targeting:\n  target_vol: 0.2\n leverage_cap: 3\n"),
                     "c.yaml, line 3, column 2", "invalid YAML")
    assert "\n" not in line


def test_invalid_utf8_config(tmp_path):
    run_fails(tmp_path, write(tmp_path, b"name: ok\ndescription: caf\xe9\n"), "c.yaml", "not UTF-8", "line 2")


def test_config_path_is_a_directory(tmp_path):
    (tmp_path / "stack.yaml").mkdir()
    run_fails(tmp_path, tmp_path / "stack.yaml", "stack.yaml", "is a directory")


def test_missing_config_file(tmp_path):
    run_fails(tmp_path, tmp_path / "nope.yaml", "nope.yaml", "not found")


def test_unreadable_config_file(tmp_path, monkeypatch):
    path = write(tmp_path, "name: x\n")
    real_open = open

    def denied(file, *args, **kwargs):  # root reads any file: simulate the permission error
        if Path(file) == path:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)
    monkeypatch.setattr("builtins.open", denied)
    run_fails(tmp_path, path, "c.yaml", "permission denied")


def test_missing_overlay_file_fails_at_config_load(tmp_path):
    run_fails(tmp_path, write(tmp_path, "overlay:\n  file: tilts.csv\n"), "c.yaml: overlay.file",
              str(tmp_path / "tilts.csv"), "not found")


def test_relative_overlay_path_is_read_from_the_config_folder(tmp_path, monkeypatch):
    folder = tmp_path / "configs"
    folder.mkdir()
    (folder / "tilts.csv").write_text("start,end,scope,target,tilt,reason\n")
    config = write(folder, "overlay:\n  file: tilts.csv\n")
    monkeypatch.chdir(tmp_path)  # not the config's folder
    cfg = load_config(config)
    assert cfg.overlay.file == str(folder / "tilts.csv")
    with pytest.raises(InputError, match="overlay.file"):
        load_config(write(tmp_path, "overlay:\n  file: configs/missing.csv\n"))


def test_empty_universe(tmp_path):
    run_fails(tmp_path, write(tmp_path, "data:\n  universe: []\n"), "c.yaml", "data.universe is empty")


def test_config_show_round_trips_through_the_cli(tmp_path):
    """`config show` output is exact YAML (no rich wrapping) that loads to the same hash."""
    raw = load_config("core").resolved()
    raw["description"] = "a long description with ünïcode — " + "x" * 200  # wider than any terminal
    source = write(tmp_path, __import__("yaml").safe_dump(raw), "long.yaml")
    for name in ("core", "trend_only", str(source)):
        r = runner.invoke(app, ["config", "show", name], terminal_width=60)
        assert r.exit_code == 0, r.output
        shown = write(tmp_path, r.output, "shown.yaml")
        assert r.output.splitlines()[-1] == f"# config hash: {load_config(name).config_hash()}"
        assert load_config(shown).config_hash() == load_config(name).config_hash()


def test_parse_config_still_takes_dicts():
    assert parse_config({"data": {"universe": ["ES"]}}).data.universe == ["ES"]


@pytest.fixture(scope="module")
def short_store(tmp_path_factory):
    """A store whose only dataset `short` has 100 sessions (2024-01-01 → 2024-05-17) of two symbols."""
    from macrostack.data.ingest import ingest_into
    folder = tmp_path_factory.mktemp("short")
    days = __import__("pandas").bdate_range("2024-01-01", periods=100)
    rows = [f"{d.date()},{sym},{100 + i % 7}" for sym in ("A", "B") for i, d in enumerate(days)]
    (folder / "p.csv").write_text("date,symbol,close\n" + "\n".join(rows) + "\n")
    store = folder / "market.duckdb"
    ingest_into(store, "generic", folder / "p.csv", "short")
    return store


@pytest.mark.parametrize("args, expected", [
    (["--start", "2030-01-01"], ("data.start", "start 2030-01-01 is outside the data", "2024-01-01 → 2024-05-17")),
    (["--start", "2023-06-01"], ("data.start", "start 2023-06-01 is outside the data", "2024-01-01 → 2024-05-17")),
    (["--end", "2023-12-29"], ("data.end", "end 2023-12-29 is outside the data", "2024-01-01 → 2024-05-17")),
    (["--end", "2025-01-01"], ("data.end", "end 2025-01-01", "2024-01-01 → 2024-05-17")),
])
def test_dates_outside_the_data_name_the_date_and_the_range(tmp_path, short_store, args, expected):
    config = write(tmp_path, "data:\n  dataset: short\nsleeves:\n  csmom: {engine: csmom}\n")
    run_fails(tmp_path, config, *expected, store=short_store, args=args)


def test_lookback_longer_than_the_data_names_the_sleeve_and_its_need(tmp_path, short_store):
    config = write(tmp_path, "data:\n  dataset: short\nsleeves:\n  slow: {engine: trend}\n")
    line = run_fails(tmp_path, config, "sleeves.slow", "sleeve 'slow' (trend) needs 379 sessions",
                     "dataset 'short' has 100", store=short_store)
    assert "ingest" not in line  # not the unrelated contract-data hint
    # a two-month window inside the data: the history before start is what is short
    run_fails(tmp_path, config, "data.start", "needs 379 sessions of history before start 2024-02-01",
              "has 23 (from 2024-01-01)", store=short_store, args=["--start", "2024-02-01", "--end", "2024-03-29"])


def test_a_stack_that_fits_the_data_runs(tmp_path, short_store):
    config = write(tmp_path, "data:\n  dataset: short\n  schedule: D\nsleeves:\n  m: {engine: csmom, params: {lookbacks: {5: 1.0}}}\n"
                   "risk_targeting: {vol_lookback: 5}\nallocator: {mode: 'off'}\n")
    r = runner.invoke(app, ["run", str(config), "--out", str(tmp_path / "runs"), "--store", str(short_store), "-q",
                            "--no-report"])
    assert r.exit_code in (0, 1), r.output  # runs (the audit verdict is not the point here)


def test_overlay_yaml_with_a_duplicate_key_is_an_error(tmp_path):
    from macrostack.config import OverlayConfig
    from macrostack.layers.overlay import read_tilts
    path = write(tmp_path, "tilts:\n  - start: 2020-01-01\n    start: 2021-01-01\n", "tilts.yaml")
    with pytest.raises(InputError, match=r"tilts.yaml, line 3.*duplicate key 'tilts.0.start'"):
        read_tilts(OverlayConfig(file=str(path)).file)
