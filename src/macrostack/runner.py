"""One backtest run end to end: config → market data → simulate → artifacts → audit → catalog."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from macrostack import __version__
from macrostack.audit import audit_run
from macrostack.config import StackConfig, load_config
from macrostack.data.ingest import ensure_default_dataset
from macrostack.data.check import run_quality_evidence
from macrostack.data.market import load_market_data
from macrostack.data.quality import LEVEL_BASIS, flagged_pnl, run_universe, session_mask
from macrostack.data.store import DEFAULT_DATASET, MarketStore
from macrostack.engines import ENGINES, data_fields
from macrostack.errors import InputError
from macrostack.layers.risk_targeting import portfolio_variance
from macrostack.metrics import performance_metrics
from macrostack.periods import headline_tables
from macrostack.risk_forecast import risk_forecast_check
from macrostack import risk_views
from macrostack.benchmark import benchmark_view
from macrostack.runs import catalog
from macrostack.attribution import attribute, sleeve_contributions, sleeve_summary, sleeves_frame
from macrostack.runs.address import resolve_run, runs_dir
from macrostack.runs.artifacts import check_run_tables, read_json, read_table, write_json, write_table
from macrostack.runs.directory import check_replace, clean_stale, out_lock, publish, stage
from macrostack.runs.ids import check_run_id, inside
from macrostack.runs.panels import panels_intact, write_panels
from macrostack.runs.writer import write_ledger
from macrostack.simulate import Ledger, check_history, simulate, warmup_sessions

PNL_CONTRACT = "simple USD returns; weights decided at close t held t+L..t_next+L-1; costs Σk|Δw| on the first held session; net = gross − costs"


@dataclass
class RunResult:
    run_id: str
    path: Path
    manifest: dict
    audit: dict
    ledger: Ledger
    timings: dict
    catalogued: bool = True  # False: the catalog was busy; `list_runs` indexes the run on read


def with_dates(cfg: StackConfig, start=None, end=None) -> StackConfig:
    """The config with `data.start`/`data.end` overridden (re-validated)."""
    if start is None and end is None:
        return cfg
    raw = cfg.resolved()
    if start is not None:
        raw["data"]["start"] = str(start)
    if end is not None:
        raw["data"]["end"] = str(end)
    from macrostack.config import parse_config
    return parse_config(raw, "--start/--end")


def needed_fields(cfg: StackConfig) -> tuple[str, ...]:
    """The MarketData panels the configured engines and policy gates read."""
    fields = set(data_fields(s.engine for s in cfg.sleeves.values() if s.weight > 0))
    if any(g.feature != "realised_vol_percentile" for g in cfg.policy.gates):
        fields.update(("price", "carry", "forward", "price_contract", "carry_contract", "forward_contract"))
    if cfg.execution.capital is not None:
        fields.update(("price", "fx"))
    return tuple(sorted(fields))


def uses_derived(cfg: StackConfig) -> bool:
    """Does a configured engine trade derived instruments (then `universe: null` includes them)?"""
    return any(ENGINES[s.engine].uses_derived for s in cfg.sleeves.values() if s.weight > 0)


def market_data(cfg: StackConfig, st: MarketStore):
    """The MarketData a config runs on, from an open store: its universe (level-return instruments
    only when allowed), its period with every component's warm-up, the panels its layers read,
    and derived instruments when an engine trades them. Runs and sweep workers both load here."""
    universe, _ = run_universe(st.instruments(cfg.data.dataset), cfg.data.universe,
                               cfg.data.allow_level_returns, cfg.data.dataset, uses_derived(cfg))
    return load_market_data(st, cfg.data.dataset, universe, cfg.data.start, cfg.data.end,
                            warmup=warmup_sessions(cfg), fields=needed_fields(cfg), include_derived=uses_derived(cfg))


def _open_store(cfg: StackConfig, store: Path | None, progress=None) -> MarketStore:
    """The store, read-only, holding the config's dataset (the default one is ingested on first
    use), opened once for everything a run reads from it."""
    if cfg.data.dataset == DEFAULT_DATASET:
        try:
            st = MarketStore(store, read_only=True)
        except InputError:  # no store yet (or not one: ensure_default_dataset says so)
            st = None
        if st is not None and st.has_dataset(DEFAULT_DATASET):
            return st
        if st is not None:
            st.close()
        ensure_default_dataset(store, progress=progress)
    return MarketStore(store, read_only=True)


def load_run_data(cfg: StackConfig, store: Path | None = None, progress=None):
    """MarketData for a config: the default dataset is ingested on first use; warm-up included.
    Instruments with level-based returns are left out unless `data.allow_level_returns`
    (`quality.run_universe`; `run_data_quality` lists them)."""
    with _open_store(cfg, store, progress) as st:
        md = market_data(cfg, st)
    check_history(cfg, md)
    return md


def _quality_inputs(cfg: StackConfig, md, st: MarketStore) -> tuple:
    """What `run_data_quality` reads from the store: the dataset's instruments and the evidence."""
    return st.instruments(cfg.data.dataset), run_quality_evidence(st, cfg.data.dataset, list(md.symbols))


def run_data_quality(cfg: StackConfig, md, held: np.ndarray, start: int, store: Path | None = None,
                     inputs: tuple | None = None) -> dict:
    """The manifest's `data_quality`: the instruments excluded (and why), the quality evidence
    of the run's instruments over their whole stored history (`macrostack.data.quality`), and
    the share of the run's gross P&L earned on flagged instrument-sessions from `start` on.
    `inputs`: `_quality_inputs`, read while the run had the store open (else it is opened)."""
    if inputs is None:
        with MarketStore(store, read_only=True) as st:
            inputs = _quality_inputs(cfg, md, st)
    ins, evidence = inputs
    _, excluded = run_universe(ins, cfg.data.universe, cfg.data.allow_level_returns, cfg.data.dataset)
    level = [s for s, b in zip(ins["symbol"], ins["return_basis"]) if b == LEVEL_BASIS and s in set(md.symbols)]
    mask = session_mask(evidence, md.dates, md.symbols, level)
    return {"flagged_pnl": flagged_pnl(held, md.returns, mask, start), "excluded": excluded,
            "allow_level_returns": cfg.data.allow_level_returns, "level_return_symbols": level, **evidence.manifest()}


def run_risk_forecast(cfg: StackConfig, md, ledger: Ledger, start: int) -> dict:
    """The manifest's `risk_forecast`: realised vs ex-ante vol of the executed book at the
    daily / weekly / monthly horizon (`macrostack.risk_forecast`), with the run's own estimator."""
    rt = cfg.risk_targeting
    var = portfolio_variance(ledger.stages["w_exec"], md.returns, ledger.rebalance_idx, rt.vol_lookback, rt.estimator,
                             rt.ewma_lambda, rt.newey_west_lags)
    return {"estimator": rt.estimator, **({"newey_west_lags": rt.newey_west_lags} if rt.estimator == "newey_west" else {}),
            "horizons": risk_forecast_check(ledger.daily["net"], var, ledger.rebalance_idx, cfg.execution.lag, start)}


def run_risk_views(cfg: StackConfig, md, ledger: Ledger, sleeve_parts: dict, start: int, ppy: float) -> tuple[dict, dict]:
    """The `layers/risk_contributions.parquet` and `layers/trading.parquet` tables (`macrostack.risk_views`:
    Euler risk contributions with the run's RT estimator, exposure, turnover and cost by asset class
    and by sleeve) and the manifest's `risk_views` (latest snapshot, ready-period averages)."""
    classes = dict(zip(md.instruments["symbol"], md.instruments["asset_class"].fillna("Unknown")))
    views = risk_views.run_views(ledger.dates, md.symbols, classes, ledger.stages["w_exec"], sleeve_parts,
                                 ledger.rebalance_idx, md.returns, md.field("cost"), cfg.execution.lag,
                                 cfg.execution.holding, cfg.risk_targeting)
    first = ledger.dates[start]
    summary = {"estimator": cfg.risk_targeting.estimator, "lookback": cfg.risk_targeting.vol_lookback,
               "latest": risk_views.latest_snapshot(views["risk_contributions"]),
               "average": risk_views.average_shares(views["risk_contributions"], first),
               "trading_per_year": risk_views.trading_per_year(views["trading"], first, ppy, len(ledger.dates) - start)}
    return views, {"risk_views": summary}


def layers_hash(cfg: StackConfig, data_hash: str) -> str:
    """Identity of the data and layers 1–5: a precomputed allocator replay requires it to match."""
    raw = cfg.resolved()
    key = {k: raw[k] for k in ("data", "sleeves", "signals", "policy", "construction", "overlay", "risk_targeting")}
    if cfg.overlay.file:  # the tilts themselves, not just the file name
        key["overlay_file"] = hashlib.sha256(Path(cfg.overlay.file).read_bytes()).hexdigest()
    key["data_hash"] = data_hash
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def _precomputed(cfg: StackConfig, out: Path, this_layers_hash: str) -> np.ndarray:
    source = resolve_run(out, cfg.allocator.precomputed_run)
    manifest = read_json(source / "manifest.json")
    if manifest["config"]["allocator"]["mode"] != "compute":
        raise InputError(f"run {manifest['run_id']} did not compute allocator scalars", "allocator.precomputed_run",
                         "replay a run made with allocator.mode: compute")
    if manifest["layers_hash"] != this_layers_hash:
        raise InputError(f"run {manifest['run_id']} used different data or layers 1–5", "allocator.precomputed_run",
                         "replay a run with the same dataset, dates, sleeves, signals, construction and risk targeting")
    if manifest["config"]["allocator"]["profile"] != cfg.allocator.profile:
        raise InputError(f"run {manifest['run_id']} used allocator profile {manifest['config']['allocator']['profile']}",
                         "allocator.profile", "the configured profile is the profile used: make them equal")
    path = source / "layers" / "allocator.parquet"
    scalars = read_table(path, ["scalar_at_rebalance"])["scalar_at_rebalance"].to_numpy(dtype=float)
    bad = ~((scalars > 0) & (scalars <= 1))  # NaN too: a replayed scalar is an allocator's, in (0, 1]
    if bad.any():
        raise InputError(f"scalar_at_rebalance is {scalars[bad][0]} at row {int(np.argmax(bad))}, outside (0, 1]",
                         str(path), "re-run that run with `macrostack run`, or restore the file")
    return scalars


def headline_metrics(cfg: StackConfig, ledger: Ledger, md) -> tuple[dict, int]:
    """The run's headline metrics (the manifest's `metrics`) over its ready period, and the index of
    that period's first session: the later of the stack's first held weights and the data's `start`.
    A sweep point calls this too, so its metrics are those of `macrostack run` of its config."""
    d = ledger.daily
    start_idx = max(ledger.ready_index, md.start_index)
    metrics = performance_metrics(
        d["net"], ledger.dates, gross=d["gross"], costs=d["cost"], gross_exposure=d["gross_exposure"],
        net_exposure=d["net_exposure"], traded=d["traded"], target_vol=cfg.risk_targeting.target_vol, start=start_idx)
    metrics["execution_events"] = len(ledger.events["reason"])
    return metrics, start_idx


def default_run_id(cfg: StackConfig, data_hash: str) -> str:
    """`<config name>-<10 hex chars of sha256(config hash + data hash)>`: same config, same data, same id."""
    return f"{cfg.name}-{hashlib.sha256((cfg.config_hash() + data_hash).encode()).hexdigest()[:10]}"


def _final_folder(out: Path, run_id: str, force: bool) -> Path:
    """`out/<run id>`, checked before any work: inside `out`, and not an existing run unless `force`."""
    final = inside(out, run_id)
    check_replace(final, force)
    return final


def run_stack(config: str | Path | StackConfig = "core", *, start=None, end=None, run_id: str | None = None,
              out: Path | None = None, store: Path | None = None, on_stage=None, report: bool = True,
              force: bool = False, splits=None, benchmark: str | None = None) -> RunResult:
    """Run a stack end to end and publish `out/<run id>/` whole, or nothing.

    The run id (given, or `default_run_id`) is checked before anything is computed; an
    existing run of that id is left untouched unless `force` (then replaced atomically).
    `on_stage(text)` is told as each stage starts (load, the layers, artifacts, audit, report);
    `splits` (dates) cut the sub-period table instead of since 2000 / 2010 / last 5 y;
    `benchmark` (a symbol of the dataset or a CSV/Parquet file, `macrostack.benchmark`) adds
    the manifest's `benchmark` and `layers/benchmark.parquet`."""
    tell = on_stage or (lambda text: None)
    t0 = time.perf_counter()
    if run_id is not None:
        check_run_id(run_id)
    cfg = config if isinstance(config, StackConfig) else load_config(config)
    cfg = with_dates(cfg, start, end)
    out = runs_dir(out)
    if out.exists() and not out.is_dir():
        raise InputError("is a file, not a folder", str(out), "pass --out a folder (it is created if missing)")
    catalog.check(out)
    if run_id is not None:
        _final_folder(out, run_id, force)
    tell("load market data")
    with _open_store(cfg, store, lambda n, text: tell(f"first run: ingest {DEFAULT_DATASET}: {text}")) as st:
        md = market_data(cfg, st)
        quality_inputs = _quality_inputs(cfg, md, st)
    check_history(cfg, md)
    t_load = time.perf_counter() - t0
    run_id = run_id or check_run_id(default_run_id(cfg, md.data_hash), "config name")
    final = _final_folder(out, run_id, force)
    lhash = layers_hash(cfg, md.data_hash)
    scalars = _precomputed(cfg, out, lhash) if cfg.allocator.mode == "precomputed" else None

    ledger = simulate(cfg, md, scalars, on_stage=tell)
    tell("metrics and attribution")
    d = ledger.daily
    metrics, start_idx = headline_metrics(cfg, ledger, md)
    ready = slice(start_idx, None)
    tables = headline_tables(d["net"][ready], d["cost"][ready], d["traded"][ready], ledger.dates[ready],
                             metrics["periods_per_year"], splits)
    sleeve_parts = sleeve_contributions(ledger.sleeve_pre, ledger.stages["w_pre"],
                                        ledger.layers["risk_targeting"]["leverage"],
                                        ledger.layers["allocator"]["scalar_applied"])
    parts = attribute(sleeve_parts, ledger.stages["w_exec"], ledger.rebalance_idx, md.returns, md.field("cost"),
                      cfg.execution.lag, cfg.execution.holding)
    attribution = sleeve_summary(parts, start_idx, metrics["periods_per_year"])
    tell("data quality and risk forecasts")
    data_quality = run_data_quality(cfg, md, ledger.held, start_idx, inputs=quality_inputs)
    risk_forecast = run_risk_forecast(cfg, md, ledger, start_idx)
    tell("risk views" + (f" and benchmark {benchmark}" if benchmark else ""))
    views, views_manifest = run_risk_views(cfg, md, ledger, sleeve_parts, start_idx, metrics["periods_per_year"])
    if benchmark:
        views_manifest["benchmark"], views["benchmark"] = benchmark_view(
            benchmark, cfg.data.dataset, store, d["net"][ready], ledger.dates[ready], metrics["periods_per_year"])
    manifest = {
        "run_id": run_id, "macrostack_version": __version__, "config": cfg.resolved(), "config_hash": cfg.config_hash(),
        "layers_hash": lhash,
        "data": {"dataset": md.dataset, "content_hash": md.data_hash, "symbols": list(md.symbols),
                 "first_session": str(md.dates[0]), "last_session": str(md.dates[-1]),
                 "warmup_sessions": int(md.start_index),
                 "asset_classes": dict(zip(md.instruments["symbol"], md.instruments["asset_class"].fillna("Unknown")))},
        "pnl_contract": {"lag": cfg.execution.lag, "holding": cfg.execution.holding, "definition": PNL_CONTRACT},
        "stage_statuses": ledger.statuses, "ready_index": int(start_idx),
        "ready_date": str(ledger.dates[start_idx]), "n_rebalances": len(ledger.rebalance_idx),
        "metrics": metrics, "attribution": attribution, "inert_sleeves": ledger.inert, "sleeve_notes": ledger.notes, "audit": "PENDING",
        "periods_per_year": metrics["periods_per_year"], **tables,  # sub_periods, trailing, drawdowns
        "data_quality": data_quality, "risk_forecast": risk_forecast, **views_manifest,  # risk_views[, benchmark]
    }
    t1 = time.perf_counter()
    with out_lock(out):
        clean_stale(out)
    tmp = stage(out, run_id)
    try:
        tell("artifacts")
        manifest["market_panels"] = write_panels(out, tmp, md.dates, md.symbols, md.returns, md.field("cost"))
        written = {"sleeves.parquet": sleeves_frame(ledger.dates, parts)}  # the audit reads these, not the files
        writes = []
        # One thread encodes and writes the tables (Arrow releases the GIL) while the audit checks
        # the same frames in memory; the files' footers are checked once they are all written.
        with ThreadPoolExecutor(max_workers=1) as pool:
            def write_async(path: Path, frame) -> None:
                writes.append(pool.submit(write_table, path, frame))

            write_ledger(tmp, ledger, cfg.execution.lag, keep=written, writer=write_async)
            write_async(tmp / "sleeves.parquet", written["sleeves.parquet"])
            for name, frame in views.items():  # risk views: layer tables the audit does not check
                write_async(tmp / "layers" / f"{name}.parquet", frame)
            write_json(tmp / "manifest.json", manifest)
            tell("audit")
            panels = ({"returns": md.returns, "costs": md.field("cost")}
                      if panels_intact(out, tmp, manifest["market_panels"]) else None)
            audited = read_json(tmp / "manifest.json")
            audit = audit_run(tmp, audited, tables=written, panels=panels, check_files=False)
            for done in writes:
                done.result()
        check_run_tables(tmp, audited)
        manifest["audit"] = audit["verdict"]
        write_json(tmp / "manifest.json", manifest)
        if report:
            from macrostack.report import load_run, write_report  # only when reporting
            t_report = time.perf_counter()
            tell("report")
            # From the frames just written (and the returns panel, when the audit trusted it): the same
            # data as `macrostack report` reads back, without decoding it again.
            tables = {**written, **{f"layers/{name}.parquet": frame for name, frame in views.items()}}
            write_report(tmp, run=load_run(tmp, tables, panels["returns"] if panels is not None else None))
            t_report = time.perf_counter() - t_report
        tell("publish")
        with out_lock(out):
            publish(tmp, final, force)
            catalogued = catalog.record(out, manifest, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # gone already once published
    timings = {"load": t_load, **ledger.timings, "artifacts+audit+report": time.perf_counter() - t1,
               "report": t_report if report else 0.0, "total": time.perf_counter() - t0}
    return RunResult(run_id, final, manifest, audit, ledger, timings, catalogued)
