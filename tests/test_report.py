"""The run report: every chart's numbers against the P&L contract, the HTML file, and the page
in a real headless browser (offline)."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from plotly.offline import get_plotlyjs

from macrostack.errors import InputError
from macrostack.metrics import max_drawdown, periods_per_year, rolling_sharpe, rolling_vol
import macrostack.report as report_module
from macrostack.metrics import drawdown, equity
from macrostack.report import charts, figures, load_run, risk_views, write_report
from macrostack.report.data import HEATMAP_STAGES, REGIMES, load_weights
from macrostack.report.page import figure_json, plotly_bundle
from tests import browser

GOLDEN = Path(__file__).resolve().parent / "golden" / "report_figures.npz"
TIME_CHARTS = ["fig-equity", "fig-rolling", "fig-risk", "fig-allocator", "fig-exposure", "fig-sleeves", "fig-classes"]

@pytest.fixture(scope="module")
def runs(short_runs):
    """Real runs on a short period: core (allocator on) and trend_only (allocator off)."""
    return short_runs


@pytest.fixture(scope="module")
def core(runs):
    return load_run(runs["core"])


def _net(run):
    return run.daily["net"].to_numpy()


def _ppy(run):
    """The run's periods per year: its ready-period calendar's (n - 1) / elapsed years."""
    d = run.dates
    return (len(d) - 1) / ((d[-1] - d[0]).days / 365.25)


def test_the_manifest_records_the_calendar_periods_per_year(core):
    assert core.manifest["periods_per_year"] == pytest.approx(_ppy(core), rel=1e-12)
    assert core.manifest["periods_per_year"] == periods_per_year(core.dates.to_numpy())
    assert 255 < core.manifest["periods_per_year"] < 262  # a weekday calendar, less holidays


# --------------------------------------------------------------------------- loading


def test_load_run_is_the_ready_period(core):
    m = core.manifest
    assert core.dates[0] == pd.Timestamp(m["ready_date"])
    assert len(core.dates) == m["metrics"]["n_sessions"]
    assert core.positions.shape == core.returns.shape == (len(core.dates), len(core.symbols))
    assert core.rt["date"].min() >= core.dates[0]
    assert set(core.asset_classes) == set(core.symbols)


def test_load_run_refuses_a_directory_that_is_not_a_run(tmp_path):
    with pytest.raises(InputError, match="not a complete run directory"):
        load_run(tmp_path)


def test_asset_classes_fall_back_to_all_without_the_manifest_field(runs, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(runs["core"], copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    del manifest["data"]["asset_classes"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    run = load_run(copy)
    assert set(run.asset_classes.values()) == {"all"}
    ac = figures.asset_class_pnl(run.positions, run.returns, run.symbols, run.asset_classes, run.dates)
    assert list(ac.columns) == ["all"]
    np.testing.assert_allclose(ac["all"], run.daily["gross"], rtol=0, atol=1e-12)


# --------------------------------------------------------------------------- figure data


def test_equity_and_drawdown_match_the_manifest_metrics(core):
    net = _net(core)
    ed = figures.equity_drawdown(net, core.dates)
    assert ed["drawdown"].min() == pytest.approx(core.manifest["metrics"]["max_drawdown"], abs=1e-12)
    assert ed["drawdown"].min() == max_drawdown(net)
    assert (ed["drawdown"] <= 0).all()
    years = len(net) / _ppy(core)
    assert ed["equity"].iloc[-1] ** (1 / years) - 1 == pytest.approx(core.manifest["metrics"]["cagr"], abs=1e-12)


def test_rolling_stats_are_the_trailing_window(core):
    net = _net(core)
    ppy = _ppy(core)
    rs = figures.rolling_stats(net, core.dates, ppy)
    w = round(ppy)
    assert rs["return"].iloc[: w - 1].isna().all() and np.isfinite(rs["return"].iloc[w - 1:]).all()
    d = len(net) - 1
    assert rs["return"].iloc[d] == pytest.approx(np.prod(1 + net[d - w + 1: d + 1]) - 1, abs=1e-12)
    assert rs["return"].iloc[w - 1] == pytest.approx(np.prod(1 + net[:w]) - 1, abs=1e-12)
    np.testing.assert_array_equal(rs["vol"].to_numpy(), rolling_vol(net, w, ppy))
    np.testing.assert_array_equal(rs["sharpe"].to_numpy(), rolling_sharpe(net, w, ppy))


def test_drag_waterfall_adds_up_to_the_net_return_exactly(core):
    d = core.daily
    wf = figures.drag_waterfall(d["gross"].to_numpy(), d["cost"].to_numpy(), d["net"].to_numpy(), d["risk_scalar"].to_numpy(),
                                core.manifest["periods_per_year"])
    assert wf["gross_unbraked"] - wf["allocator_drag"] - wf["costs"] == pytest.approx(wf["net"], abs=1e-12)
    m = core.manifest["metrics"]
    assert wf["net"] == pytest.approx(m["ann_return"], abs=1e-12)  # Σ/years = mean·ppy
    assert wf["costs"] == pytest.approx(m["cost_drag"], abs=1e-12)
    assert wf["costs"] > 0
    # the brake cut the book at some point in 2016-2020, so it removed gross P&L (either sign)
    assert (d["risk_scalar"] < 1).any() and wf["allocator_drag"] != 0


def test_drag_waterfall_on_known_numbers():
    gross = np.array([0.01, -0.02, 0.03, 0.0])
    cost = np.array([0.001, 0.0, 0.0, 0.002])
    scalar = np.array([np.nan, 0.5, 1.0, 0.25])  # NaN: before the first rebalance, no brake
    wf = figures.drag_waterfall(gross, cost, gross - cost, scalar, 260.0)
    years = 4 / 260
    assert wf["allocator_drag"] == pytest.approx(-0.02 / years)  # (1/0.5 − 1)·(−0.02)
    assert wf["gross_unbraked"] == pytest.approx((0.01 - 0.04 + 0.03) / years)
    assert wf["gross_unbraked"] - wf["allocator_drag"] - wf["costs"] == pytest.approx(wf["net"], abs=1e-15)
    off = figures.drag_waterfall(gross, cost, gross - cost, np.ones(4), 260.0)
    assert off["allocator_drag"] == 0.0 and off["gross_unbraked"] == pytest.approx(gross.sum() / years)


def test_asset_class_pnl_sums_to_the_portfolio_gross(core):
    ac = figures.asset_class_pnl(core.positions, core.returns, core.symbols, core.asset_classes, core.dates)
    assert list(ac.columns) == sorted(set(core.asset_classes.values()))
    assert len(ac.columns) > 1
    np.testing.assert_allclose(ac.sum(axis=1), core.daily["gross"], rtol=0, atol=1e-12)
    s = figures.pnl_summary(ac, _ppy(core))
    assert s["share"].sum() == pytest.approx(1.0)
    assert s["contribution"].sum() == pytest.approx(core.daily["gross"].sum() / (len(ac) / _ppy(core)))


def test_sleeve_pnl_sums_to_the_portfolio_net(core):
    sp = figures.sleeve_pnl(core.sleeves)
    assert sp is not None and "trend" in sp.columns and "residual" in sp.columns
    assert len(sp) == len(core.dates)
    np.testing.assert_allclose(sp.sum(axis=1), core.daily["net"], rtol=0, atol=1e-12)
    assert figures.sleeve_pnl(None) is None


def test_monthly_cells_compound_to_the_yearly_return(core):
    net = _net(core)
    table, yearly = figures.monthly_table(net, core.dates)
    assert list(table.columns) == list(range(1, 13))
    assert list(table.index) == sorted(set(core.dates.year))
    for year, row in table.iterrows():
        cells = row.dropna().to_numpy()
        assert np.prod(1 + cells) - 1 == pytest.approx(yearly[year], abs=1e-12)
        in_year = net[core.dates.year == year]
        assert yearly[year] == pytest.approx(np.prod(1 + in_year) - 1, abs=1e-12)
    assert np.nanmin(table.to_numpy()) == pytest.approx(core.manifest["metrics"]["worst_month"], abs=1e-12)


def test_allocator_series_and_regime_shares(core, runs):
    al = figures.allocator_series(core.daily)
    assert al is not None
    np.testing.assert_array_equal(al["risk_scalar"].to_numpy(), core.daily["risk_scalar"].to_numpy())
    shares = figures.regime_shares(al["regime"].to_numpy(), _ppy(core))
    assert sum(shares["shares"].values()) == pytest.approx(1.0)
    assert figures.allocator_series(load_run(runs["trend_only"]).daily) is None


def test_regime_shares_on_known_codes():
    codes = np.array([0, 0, 1, 1, 2, 3, 0, np.nan] + [0] * 244, dtype=float)
    out = figures.regime_shares(codes, 260.0)
    assert out["shares"]["NORMAL"] == pytest.approx(247 / 251)
    assert out["shares"]["CRISIS"] == pytest.approx(1 / 251)
    assert out["transitions"] == 4
    assert out["transitions_per_year"] == pytest.approx(4 / (251 / 260))


def test_risk_targeting_series_is_the_layer_table(core):
    rts = figures.risk_targeting_series(core.rt)
    rt = core.rt.loc[np.isfinite(core.rt["leverage"])]
    np.testing.assert_array_equal(rts["leverage"].to_numpy(), rt["leverage"].to_numpy())
    cap = core.manifest["config"]["risk_targeting"]["leverage_cap"]
    assert (rts["leverage"] <= cap + 1e-12).all()
    target = core.target_vol
    unclipped = ~rts["clipped"] & (rts["sigma_unit"] >= core.manifest["config"]["risk_targeting"]["vol_floor"])
    np.testing.assert_allclose(rts.loc[unclipped, "ex_ante_vol"], target, atol=1e-10)


def test_weights_heatmap_defaults_to_the_last_two_years(core):
    reb = pd.DatetimeIndex(core.rt["date"])
    start, end = figures.default_weights_window(reb)
    assert end == reb.max() and start == end - pd.DateOffset(years=2)
    w = load_weights(core.path, HEATMAP_STAGES, start, end)
    assert set(w["stage"]) == set(HEATMAP_STAGES)
    assert w["date"].min() >= start and w["date"].max() == end
    order = figures.symbol_order(core.symbols, core.asset_classes)
    m = figures.weights_matrix(w, "w_exec", order)
    assert list(m.index) == order and m.shape == (len(core.symbols), w["date"].nunique())
    classes = [core.asset_classes[s] for s in order]
    assert classes == sorted(classes)
    # executed weights of a rebalance are the held weights a lag later (constant holding)
    reb_date = m.columns[-2]
    held = core.positions[core.dates.get_loc(reb_date) + core.lag]
    np.testing.assert_allclose(m[reb_date].reindex(core.symbols).to_numpy(), held, atol=1e-12)


def test_display_index_keeps_every_recent_session_and_the_older_extremes():
    dates = pd.bdate_range("1980-01-01", "2020-12-31")
    rng = np.random.default_rng(3)
    net = rng.normal(0.0003, 0.01, len(dates))
    eq, dd = equity(net), drawdown(net)
    idx = figures.display_index(dates, extremes=(eq, dd))
    assert idx[0] == 0 and idx[-1] == len(dates) - 1 and (np.diff(idx) > 0).all()
    recent = np.flatnonzero(dates >= pd.Timestamp("2010-12-31"))
    assert set(recent) <= set(idx)  # the last 10 years at full resolution
    assert dd[idx].min() == dd.min() and eq[idx].max() == eq.max() and eq[idx].min() == eq.min()
    assert len(idx) < 0.55 * len(dates)
    old = idx[idx < recent[0]]
    assert len(old) <= 600 * 5  # first + min/max of two series per bucket
    short = pd.bdate_range("2016-01-01", "2020-12-31")
    assert list(figures.display_index(short)) == list(range(len(short)))  # shorter than 10 years: everything


def test_change_indices():
    v = np.array([1.0, 1.0, 0.8, 0.8, np.nan, np.nan, 1.0])
    assert list(figures.change_index(v)) == [0, 2, 4, 6]
    assert list(figures.change_index(v[:-1])) == [0, 2, 4, 5]
    assert list(figures.change_index(v[:-1], include_last=False)) == [0, 2, 4]


# --------------------------------------------------------------------------- figures as drawn


def _kept_figures(module, monkeypatch) -> dict:
    """The figures `module` hands to `figure_html` from now on, by div id (filled as they are drawn)."""
    figs = {}
    original = module.figure_html

    def keep(fig, div_id):
        figs[div_id] = fig
        return original(fig, div_id)

    monkeypatch.setattr(module, "figure_html", keep)
    return figs


def _built_figures(run, monkeypatch) -> tuple[dict, str]:
    """Build the report page of `run`, keeping every figure dict handed to `figure_html`."""
    figs = _kept_figures(report_module, monkeypatch)
    return figs, report_module.build_report_html(run)


_ROUNDING = re.compile(r"\d\.\d+e[-+]\d+(</td><td>\d{4}-\d\d-\d\d)?")  # an error of 1e-15 and its date


def _golden_run(golden, run) -> bool:
    """Whether `run` is, bit for bit, the run the golden was captured from (True), or the same run to
    rounding (False: another CPU rounds a few operations differently, e.g. BLAS kernels or numpy's SIMD
    log1p, by ~1e-17; then drawn numbers are compared to rounding). A larger difference means the
    run itself changed: recapture with tests/golden/capture_report_figures.py."""
    net = run.daily["net"].to_numpy()
    np.testing.assert_allclose(net, golden["run|net"], rtol=0, atol=1e-15)
    return np.array_equal(net, golden["run|net"])


def _assert_drawn(drawn, want, exact: bool, key: str) -> None:
    if exact or want.dtype.kind not in "fc":
        np.testing.assert_array_equal(drawn, want, err_msg=key)
    else:
        np.testing.assert_allclose(drawn, want, rtol=1e-9, atol=1e-12, err_msg=key)


def _values(arr) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.dtype.kind == "M":
        return np.datetime_as_string(arr.astype("datetime64[D]"), unit="D")
    return arr


def test_the_report_draws_todays_numbers(core, monkeypatch):
    """Every array every chart drew at 5445114 (captured by tests/golden/capture_report_figures.py; at
    3f24d2f the same test held the figures written as JSON and thinned to the plotly.py figures before
    them) is drawn today, value for value, and every table is the same HTML. On this 5-year run nothing
    is thinned (full resolution over 10 years)."""
    golden = np.load(GOLDEN)
    exact = _golden_run(golden, core)
    figs, html = _built_figures(core, monkeypatch)
    tables = re.findall(r"<table.*?</table>", html, flags=re.S)
    # Today's tables, in order, unchanged; sections added since (risk views) come in between. The
    # audit's table reports rounding errors (and their dates), which depend on the CPU and on the
    # order in which the audit re-derives its sums: those numbers are masked, everything else
    # (verdicts, counts, every performance number) must be the same.
    def same(t):
        return _ROUNDING.sub("#", t)

    it = iter(tables)
    assert all(any(same(t) == same(g) for t in it) for g in golden["page|tables"])
    checked = 0
    for key in golden.files:
        if not key.startswith("fig-"):
            continue
        div, rest = key.split("|", 1)
        index, rest = rest.split(":", 1)
        name, axis = rest.rsplit(":", 1)
        traces = figs[div]["data"]
        named = [t for t in traces if t.get("name") == name]
        trace = named[0] if len(named) == 1 else traces[int(index)]
        _assert_drawn(_values(trace[axis]), _values(golden[key]), exact, key)
        checked += 1
    assert checked == len(golden.files) - 2  # every array but the run's net series and the tables


def _rounded(value):
    """JSON values with floats rounded to 12 digits (subplot domains computed in another order)."""
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return round(value, 12) if isinstance(value, float) else value


def test_the_risk_views_draw_the_plotly_figures_numbers(core, runs, tf_store_path, monkeypatch):
    """The risk-view figures (written as dicts since 5445114) draw every array the plotly.py figures drew
    (captured at 5445114 by tests/golden/capture_report_figures.py --risk-views, with `report --benchmark ES`),
    value for value, and with everything else the same: trace names, colours, stacking, legend groups, hover
    formats, axes (domains, titles, formats, ranges), subplot titles and shapes."""
    from macrostack.benchmark import benchmark_of_run
    from tests.golden.capture_report_figures import figure_spec

    golden = np.load(GOLDEN.with_name("risk_view_figures.npz"))
    exact = _golden_run(golden, core)
    figs = _kept_figures(risk_views, monkeypatch)
    risk_views.sections(core, report_module.run_ppy(core), benchmark_of_run(runs["core"], core.manifest, "ES", tf_store_path))
    assert sorted(figs) == ["fig-benchmark", "fig-riskviews", "fig-sleevecorr", "fig-trading"]
    checked = 0
    for key in golden.files:
        div, rest = key.split("|", 1)
        if not div.startswith("fig-") or rest == "spec":
            continue
        index, rest = rest.split(":", 1)
        name, axis = rest.rsplit(":", 1)
        trace = figs[div]["data"][int(index)]
        assert str(trace.get("name") or trace["type"]) == name, key
        _assert_drawn(_values(trace[axis]), golden[key], exact, key)
        checked += 1
    assert checked == len(golden.files) - 5  # every array but the run's net series and the four specs
    for div, fig in figs.items():
        assert isinstance(fig, dict) and not fig.get("time"), div  # not on the page's shared time axis, as before
        spec = json.loads(figure_spec(fig))
        if div == "fig-benchmark":  # mode now explicit: "lines" is plotly.js's default for >= 20 points
            assert all(t.pop("mode") == "lines" for t in spec["data"]) and len(golden["fig-benchmark|0:correlation:x"]) >= 20
        assert _rounded(spec) == _rounded(json.loads(str(golden[f"{div}|spec"]))), div


def test_regime_shading_is_the_daily_regime(core):
    al = figures.allocator_series(core.daily)
    fig = charts.allocator_figure(al)
    shades = [t for t in fig["data"] if (t.get("meta") or {}).get("shade")]
    assert shades and all(t["line"]["shape"] == "hv" for t in shades)
    codes = al["regime"].to_numpy()
    for t in shades:
        code = REGIMES.index(t["name"].removesuffix(" regime"))
        # the step through the change points, read back at every session, is the daily indicator
        pos = np.searchsorted(t["x"], np.asarray(al.index, dtype="datetime64[D]"), side="right") - 1
        np.testing.assert_array_equal(np.asarray(t["y"])[pos], (codes == code).astype(float))


def test_every_time_chart_spans_exactly_its_data(core, monkeypatch):
    figs, _ = _built_figures(core, monkeypatch)
    first, last = str(core.dates[0].date()), str(core.dates[-1].date())
    assert [k for k, f in figs.items() if f.get("time")] == TIME_CHARTS
    for div in TIME_CHARTS:
        layout = figs[div]["layout"]
        for key, axis in layout.items():
            if key.startswith("xaxis"):
                assert axis["range"] == [first, last], (div, key)
        for trace in figs[div]["data"]:
            x = _values(trace["x"])
            assert first <= x[0] and x[-1] <= last, div
    eq = figs["fig-equity"]["data"][0]
    assert eq["meta"]["rebase"] == "ratio" and figs["fig-sleeves"]["data"][0]["meta"]["rebase"] == "diff"


def test_figure_json_shares_x_and_is_exact():
    x = np.array(["2020-01-01", "2020-01-02"], dtype="datetime64[D]")
    y = np.array([1.0 / 3.0, np.nan])
    text = figure_json({"data": [dict(x=x, y=y), dict(x=x, y=y * 2)], "layout": {"title": "</script>"}})
    doc = json.loads(text.replace("<\\/", "</"))
    assert doc["data"][1]["x"] == {"ref": 0} and doc["data"][0]["x"]["dtype"] == "days"
    import base64
    back = np.frombuffer(base64.b64decode(doc["data"][0]["y"]["bdata"]), dtype="<f8")
    np.testing.assert_array_equal(back, y)
    assert np.frombuffer(base64.b64decode(doc["data"][0]["x"]["bdata"]), dtype="<i4").tolist() == [18262, 18263]
    assert "</script>" not in text


# --------------------------------------------------------------------------- the HTML file


SECTION_IDS = ("equity", "rolling", "drag", "monthly", "risk", "allocator", "exposure", "sleeves", "classes", "weights",
               "audit", "manifest")


def _assert_self_contained(text: str) -> None:
    assert not re.search(r"<script[^>]+src=", text), "a script is loaded from elsewhere"
    assert not re.search(r"<link[^>]+href=[\"']?https?:", text), "a stylesheet is loaded from the network"
    assert text.count(get_plotlyjs()[:80]) == 1, "Plotly JS must be embedded exactly once"


def _assert_linked(text: str, page: Path) -> Path:
    """The page loads Plotly from one relative path that exists, and from nowhere else."""
    assert get_plotlyjs()[:80] not in text
    assert not re.search(r"(src|href)=[\"']?(https?:|//|/)", text), "an absolute or network URL"
    sources = re.findall(r'<script[^>]+src="([^"]+)"', text)
    version, _ = plotly_bundle()
    assert sources in ([f"plotly-{version}.min.js"], [f".assets/plotly-{version}.min.js"]), sources
    asset = (page.parent / sources[0]).resolve()
    assert asset.read_bytes() == Path(plotly_bundle()[1]).read_bytes()
    return asset


def test_write_report_shares_one_plotly_bundle_per_output_folder(core, runs):
    t0 = time.perf_counter()
    path = write_report(runs["core"])
    elapsed = time.perf_counter() - t0
    assert path == runs["core"] / "report.html"
    text = path.read_text()
    asset = _assert_linked(text, path)
    assert asset.parent == runs["core"]  # the run folder stays self-contained ...
    shared = runs["core"].parent / ".assets" / asset.name
    assert asset.stat().st_ino == shared.stat().st_ino  # ... with a link to the output folder's one copy
    other = write_report(runs["trend_only"])
    assert _assert_linked(other.read_text(), other).stat().st_ino == shared.stat().st_ino
    assert len(text) < 2_000_000
    assert text.count('class="plotly-graph-div"') == 10 + 3  # every chart of an allocator run with sleeves; + risk views
    for section in SECTION_IDS:
        assert f'<section id="{section}">' in text
    assert core.manifest["data"]["content_hash"] in text and core.manifest["config_hash"] in text
    assert "risk_targeting:" in text and "target_vol: 0.2" in text  # the config YAML
    assert f"{core.manifest['metrics']['sharpe']:.2f}" in text
    assert elapsed < 10  # a 5-year run; the full core run takes ~1 s


def test_the_runs_report_from_memory_is_the_report_of_its_folder(tf_store_path, tmp_path, monkeypatch):
    """A run reports on itself from the frames it has just written (nothing read back from its tables),
    and that page is byte for byte the one `macrostack report RUN` writes from the folder."""
    from typer.testing import CliRunner

    from macrostack.cli import app
    from macrostack.report import data
    from macrostack.runner import run_stack

    def no_disk(*args, **kwargs):
        raise AssertionError("the run's report read a table from disk")

    from macrostack.runs import artifacts

    with monkeypatch.context() as m:
        m.setattr(data, "read_table", no_disk)
        m.setattr(artifacts, "read_session_panel", no_disk)  # what data.session_panel reads a file with
        m.setattr(data.pq, "read_table", no_disk)
        path = run_stack("core", start="2018-01-01", end="2020-12-31", out=tmp_path, store=tf_store_path, benchmark="ES").path
    from_memory = (path / "report.html").read_bytes()
    assert b'id="fig-benchmark"' in from_memory and b'id="fig-weights"' in from_memory
    res = CliRunner().invoke(app, ["report", str(path)])
    assert res.exit_code == 0, res.output
    assert (path / "report.html").read_bytes() == from_memory


def test_embed_writes_one_self_contained_file(runs, tmp_path):
    out = write_report(runs["core"], tmp_path / "share" / "report.html", embed=True)
    _assert_self_contained(out.read_text())
    assert not (tmp_path / "share" / ".assets").exists()


def test_write_report_custom_out_and_weights_range(runs, tmp_path):
    out = write_report(runs["core"], tmp_path / "sub" / "r.html", start="2019-01-01", end="2019-06-30")
    assert out.exists() and not list(tmp_path.glob("sub/.*.tmp"))  # nothing half-written left
    _assert_linked(out.read_text(), out)  # its own .assets beside it
    text = out.read_text()
    assert "Rebalances from 2019-01-01 to 2019-06-30 (26 rebalances)" in text


def test_report_without_sleeves_parquet_skips_the_sleeve_chart(runs, tmp_path):
    """A run made before attribution: no sleeves.parquet and no attribution in its manifest."""
    copy = tmp_path / "run"
    shutil.copytree(runs["core"], copy)
    (copy / "sleeves.parquet").unlink()
    manifest = json.loads((copy / "manifest.json").read_text())
    del manifest["attribution"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    (copy / "report.html").unlink(missing_ok=True)
    text = write_report(copy).read_text()
    assert '<section id="sleeves">' not in text and '<section id="classes">' in text
    assert text.count('class="plotly-graph-div"') == 9 + 2  # + risk views and trading (no sleeve correlation)


def test_report_of_a_run_without_allocator(runs):
    text = write_report(runs["trend_only"]).read_text()
    assert "The allocator is <b>off</b>" in text
    assert 'id="fig-allocator"' not in text
    assert text.count('class="plotly-graph-div"') == 9 + 2  # + risk views and trading (one sleeve: no correlation)


# --------------------------------------------------------------------------- in a browser


def test_report_renders_in_a_headless_browser_offline(runs):
    path = write_report(runs["core"])
    with browser.chromium() as driver:
        browser.open_page(driver, path)
        charts = browser.chart_status(driver)
        errors = browser.console_errors(driver)
        shot = browser.screenshot(driver, "report_core.png")
        browser.section_screenshots(driver, "report_core")
        visible = {stage: browser.choose_dropdown(driver, "fig-weights", f"stage: {stage}") for stage in HEATMAP_STAGES}
        errors += browser.console_errors(driver)
    assert not errors, errors
    for k, stage in enumerate(HEATMAP_STAGES):  # the dropdown shows exactly the chosen stage
        assert visible[stage] == [j == k for j in range(len(HEATMAP_STAGES))], stage
    assert [c["id"] for c in charts] == ["fig-equity", "fig-rolling", "fig-drag", "fig-monthly", "fig-risk", "fig-allocator",
                                         "fig-exposure", "fig-sleeves", "fig-classes", "fig-weights",
                                         "fig-riskviews", "fig-sleevecorr", "fig-trading"]
    for chart in charts:
        assert chart["rendered"], chart["id"]
        assert chart["traces"], f"{chart['id']} has no trace"
        for trace in chart["traces"]:
            assert trace["points"] > 0, f"{chart['id']}: trace {trace['name'] or trace['type']} has no points"
    assert shot.stat().st_size > 50_000


def test_report_of_a_run_without_allocator_renders_offline(runs):
    path = write_report(runs["trend_only"])
    with browser.chromium() as driver:
        browser.open_page(driver, path)
        charts = browser.chart_status(driver)
        errors = browser.console_errors(driver)
        browser.screenshot(driver, "report_trend_only.png")
    assert not errors, errors
    assert len(charts) == 9 + 2 and all(t["points"] > 0 for c in charts for t in c["traces"])


def test_missing_browser_fails_under_ci_and_skips_otherwise(monkeypatch, tmp_path):
    monkeypatch.setattr(browser, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="install-browser"):
        browser.require_browser()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="no-chromium"):
        browser.require_browser()


# --------------------------------------------------------------------------- the time axis in a browser

TIME_STATE_JS = """
return MS.charts().map((id) => {
  const gd = document.getElementById(id), fl = gd._fullLayout;
  const ys = Object.keys(fl).filter((k) => /^yaxis\\d*$/.test(k) && !fl[k].overlaying && !fl[k].fixedrange)
    .map((k) => [k, fl[k].range.map(Number)]);
  const xs = Object.keys(fl).filter((k) => /^xaxis\\d*$/.test(k)).map((k) => fl[k].range.map((v) => String(v).slice(0, 10)));
  const eq = gd.data.find((t) => t.meta && t.meta.rebase === 'ratio');
  let firstEquity = null;
  if (eq) { const x0 = fl.xaxis.range[0]; const i = eq.x.findIndex((x) => x >= String(x0).slice(0, 10)); firstEquity = eq.y[i]; }
  const dataX = gd.data.filter((t) => t.x && t.x.length && typeof t.x[0] === 'string').map((t) => [t.x[0], t.x[t.x.length - 1]]);
  return {id, xs, ys: Object.fromEntries(ys), firstEquity, dataX};
});
"""


def _click_window(driver, label: str) -> list[dict]:
    from selenium.webdriver.common.by import By

    button = next(b for b in driver.find_elements(By.CSS_SELECTOR, "nav .range button") if b.text == label)
    button.click()
    time.sleep(0.8)  # Plotly.react redraws asynchronously
    return driver.execute_script(TIME_STATE_JS)


def test_time_charts_share_one_axis_and_the_window_buttons_zoom_rescale_and_rebase(runs):
    path = write_report(runs["core"])
    run = load_run(runs["core"])
    first, last = str(run.dates[0].date()), str(run.dates[-1].date())
    one_year = str((run.dates[-1] - pd.DateOffset(years=1)).date())
    with browser.chromium() as driver:
        browser.open_page(driver, path)
        start = driver.execute_script(TIME_STATE_JS)
        assert driver.execute_script("return MS.span()") == [first, last]
        year = _click_window(driver, "1y")
        browser.screenshot(driver, "report_core_1y.png")
        browser.section_screenshots(driver, "report_core_1y")
        # a zoom on one chart moves them all (as the buttons do)
        driver.execute_script("Plotly.relayout('fig-rolling', {'xaxis.range': ['2018-01-02', '2018-12-31']});")
        time.sleep(0.8)
        zoomed = driver.execute_script(TIME_STATE_JS)
        back = _click_window(driver, "all")
        errors = browser.console_errors(driver)
    assert not errors, errors
    assert [c["id"] for c in start] == TIME_CHARTS
    for chart in start:  # no axis past the data, no data past the axis
        for x0, x1 in chart["xs"]:
            assert (x0, x1) == (first, last), chart["id"]
        for a, b in chart["dataX"]:
            assert first <= a and b <= last, chart["id"]
    by_id = {c["id"]: c for c in start}
    assert sum(bool(c["ys"]) for c in year) == len(TIME_CHARTS) - 1  # all but the scalar's fixed 0..1
    for chart in year:
        assert all(xs == [one_year, last] for xs in chart["xs"]), (chart["id"], chart["xs"])
        changed = [k for k, r in chart["ys"].items() if not np.allclose(r, by_id[chart["id"]]["ys"][k])]
        assert changed or not chart["ys"], f"{chart['id']}: the y-axes did not rescale to the window"
    # equity 1 at the window's start (the close before its first session): 1 + that session's return
    net = run.daily["net"].to_numpy()
    i = int(np.searchsorted(run.dates, pd.Timestamp(one_year)))
    assert next(c for c in year if c["id"] == "fig-equity")["firstEquity"] == pytest.approx(1 + net[i], abs=1e-12)
    assert next(c for c in start if c["id"] == "fig-equity")["firstEquity"] == pytest.approx(1 + net[0], abs=1e-12)
    assert next(c for c in back if c["id"] == "fig-equity")["firstEquity"] == pytest.approx(1 + net[0], abs=1e-12)
    assert all(xs == ["2018-01-02", "2018-12-31"] for c in zoomed for xs in c["xs"])
    for chart in back:
        assert all(xs == [first, last] for xs in chart["xs"]), chart["id"]
        for k, r in chart["ys"].items():  # "all" comes back to the whole history's y-ranges (rescaled to the data)
            assert np.isfinite(r).all()


def test_a_copied_run_folder_still_draws_its_report(runs, tmp_path):
    write_report(runs["core"])
    copy = tmp_path / "elsewhere" / "core"
    shutil.copytree(runs["core"], copy)
    with browser.chromium() as driver:
        browser.open_page(driver, copy / "report.html")
        charts_ = browser.chart_status(driver)
        errors = browser.console_errors(driver)
    assert not errors and len(charts_) == 10 + 3 and all(c["rendered"] for c in charts_)  # + risk views


def test_a_report_copied_without_its_bundle_says_how_to_fix_it(runs, tmp_path):
    copy = tmp_path / "report.html"
    shutil.copy(write_report(runs["core"]), copy)
    with browser.chromium() as driver:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.emulateNetworkConditions",
                               {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
        driver.get(copy.as_uri())
        shown = driver.execute_script("const e = document.getElementById('ms-missing'); "
                                      "return [getComputedStyle(e).display, e.textContent];")
    assert shown[0] == "block" and "--embed" in shown[1]


def test_embedded_report_renders_offline(runs, tmp_path):
    path = write_report(runs["core"], tmp_path / "report.html", embed=True)
    with browser.chromium() as driver:
        browser.open_page(driver, path)
        charts_ = browser.chart_status(driver)
        errors = browser.console_errors(driver)
    assert not errors, errors
    assert len(charts_) == 10 + 3 and all(c["rendered"] for c in charts_)  # + risk views
