"""The Python API for notebooks: the same engine as the CLI, results as one object.

    import macrostack as ms
    run = ms.run("core", start="2010-01-01")          # or a YAML path, or a StackConfig
    run.metrics["sharpe"], run.daily["equity"].plot()
    w = run.weights("w_rt")                           # rebalances × symbols
    cfg = ms.load_config("core").with_(**{"risk_targeting.target_vol": 0.15})
    other = ms.run(cfg, start="2010-01-01")
    run.compare(other)["metrics"]["sharpe"]
    ms.load_run("latest"), ms.load_run("core"), ms.load_run("core-3f")   # id, prefix, latest, name

A `Run` reads its folder lazily: nothing is loaded until asked for, and every frame is the
run's own Parquet file (no second computation of anything).
"""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd

from macrostack.config import StackConfig
from macrostack.runs.address import resolve_run
from macrostack.runs.artifacts import read_audit, read_manifest, read_table

HELD = "held"  # the daily held weights (positions.parquet): the panel the P&L uses


class Run:
    """One run folder: `.id`, `.path`, `.config`, `.metrics`, `.daily`, `.weights(stage)`, `.stages`,
    `.sleeves`, `.audit`, `.report()`, `.compare(other)`."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __repr__(self) -> str:
        m = self.metrics
        return (f"Run({self.id!r}: {m.get('first_date')} → {m.get('last_date')}, Sharpe {m.get('sharpe', float('nan')):.2f}, "
                f"audit {self.manifest.get('audit')})")

    @functools.cached_property
    def manifest(self) -> dict:
        return read_manifest(self.path / "manifest.json")

    @property
    def id(self) -> str:
        return self.path.name

    @functools.cached_property
    def config(self) -> StackConfig:
        """The resolved config the run used (validated again, so it can be changed and rerun)."""
        from macrostack.config import parse_config
        return parse_config(self.manifest["config"], str(self.path / "manifest.json"))

    @property
    def metrics(self) -> dict:
        """Headline metrics over the ready period (the manifest's)."""
        return dict(self.manifest["metrics"])

    @functools.cached_property
    def daily(self) -> pd.DataFrame:
        """Per session, indexed by date: gross, cost, net, equity, traded, gross/net exposure,
        leverage, risk_scalar, regime (daily.parquet; every session loaded, warm-up included)."""
        return read_table(self.path / "daily.parquet").set_index("date")

    @functools.cached_property
    def stages(self) -> list[str]:
        """Stage names in weights.parquet (signals, sleeves, w_pre, w_rt, w_alloc, w_exec) plus 'held'."""
        import pyarrow.parquet as pq
        stage = pq.read_table(self.path / "weights.parquet", columns=["stage"]).column("stage")
        return [str(s) for s in stage.unique().to_pylist()] + [HELD]

    def weights(self, stage: str = "w_exec") -> pd.DataFrame:
        """One stage's weights, wide: rebalance dates × symbols (multiples of NAV); `held` gives
        sessions × symbols, the held panel that earned the P&L."""
        if stage == HELD:
            return read_table(self.path / "positions.parquet").set_index("date")
        if stage not in self.stages:
            from macrostack.errors import InputError
            raise InputError(f"unknown stage {stage!r}", f"run {self.id}", f"use one of {', '.join(self.stages)}")
        from macrostack.report.data import load_weights
        long = load_weights(self.path, stages=[stage])
        wide = long.pivot(index="date", columns="symbol", values="weight")
        return wide[list(self.manifest["data"]["symbols"])].rename_axis(columns=None)

    @functools.cached_property
    def sleeves(self) -> pd.DataFrame | None:
        """Exact per-sleeve daily P&L (sleeves + residual = portfolio), indexed by date."""
        path = self.path / "sleeves.parquet"
        return read_table(path).set_index("date") if path.exists() else None

    @property
    def audit(self) -> dict:
        """The weight-lifecycle audit written with the run (verdict, checks, questions)."""
        return read_audit(self.path / "audit.json")

    def report(self, path: str | Path | None = None) -> Path:
        """(Re)write the HTML report (works offline; Plotly linked from the run folder); returns its path (default RUN/report.html)."""
        from macrostack.report import write_report
        return write_report(self.path, Path(path) if path is not None else None)

    def compare(self, other: Run | str, html: str | Path | None = None) -> dict:
        """Two-pass comparison with `other` (a Run or a run reference) as in `macrostack compare`."""
        from macrostack.compare import compare_runs
        other_path = other.path if isinstance(other, Run) else resolve_run(self.path.parent, other)
        return compare_runs(self.path, other_path, Path(html) if html is not None else None)


def run(config: str | Path | StackConfig = "core", *, start=None, end=None, store: str | Path | None = None,
        out: str | Path | None = None, report: bool = True, run_id: str | None = None, force: bool = False) -> Run:
    """Run a stack (profile name, YAML path or StackConfig) exactly as `macrostack run` does."""
    from macrostack.runner import run_stack
    result = run_stack(config, start=start, end=end, run_id=run_id, out=out, store=store, report=report, force=force)
    return Run(result.path)


def load_run(ref: str = "latest", out: str | Path | None = None) -> Run:
    """A finished run by path, id, unique prefix, `latest` or config name (see `runs.address`)."""
    return Run(resolve_run(out, ref))
