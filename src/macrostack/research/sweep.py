"""Run a sweep on Dask: plan chunks, ship them to workers, stream the results to disk.

By default an embedded `LocalCluster` sized to the machine (one single-threaded worker process
per core); `scheduler=ADDRESS` sends the same tasks to an existing cluster unchanged (its
workers must see the market store at the same path). A task is a chunk of points that share
their market data and upstream layers (`worker.upstream_key`), so a worker computes engine
signals and sleeve sizing once per key and scheduling is paid per chunk, not per point.
Workers load the market panels from the store themselves, once each (never shipped per task).

Results stream: each finished chunk becomes one points part and one returns part under
`OUT/sweeps/<id>/` and one catalog row per point; nothing is held across chunks. Started
again, a sweep skips the points already finished on the same data (by config hash); failed
points are tried again. A chunk whose worker died is retried by Dask; past that its points are
recorded as failed with the reason and the sweep goes on.
"""

from __future__ import annotations

import logging
import math
import os
import signal
from collections.abc import Callable
from pathlib import Path

from macrostack.errors import InputError
from macrostack.research.results import read_points, sweep_folder, write_part, write_sweep_file
from macrostack.research.spec import Point, Sweep
from macrostack.research.worker import evaluate_chunk, market_key, upstream_key

MAX_CHUNK = 25  # points per task: large enough to amortise scheduling, small enough to stream and balance
RETRIES = 2


def plan_chunks(points: list[Point], store: str, workers: int, chunk_size: int | None = None) -> list[list[Point]]:
    """Points grouped by (market key, upstream key), each group cut into chunks of at most
    `chunk_size` (default: the group spread over ~2 chunks per worker, at most MAX_CHUNK)."""
    groups: dict[tuple[str, str], list[Point]] = {}
    for p in points:
        groups.setdefault((market_key(p.config, store), upstream_key(p.config)), []).append(p)
    chunks = []
    for group in groups.values():
        size = chunk_size or max(1, min(MAX_CHUNK, math.ceil(len(group) / (2 * workers))))
        chunks.extend(group[i:i + size] for i in range(0, len(group), size))
    return chunks


def _store_path(store) -> str:
    from macrostack.data.store import default_store_path
    return str(Path(store).expanduser().resolve() if store else default_store_path().resolve())


def _data_hashes(sweep: Sweep, store: str) -> dict[str, str]:
    """Content hash of every dataset the points use (ingesting the default dataset on first use)."""
    from macrostack.data.ingest import ensure_default_dataset
    from macrostack.data.store import DEFAULT_DATASET, MarketStore

    datasets = sorted({p.config.data.dataset for p in sweep.points})
    if DEFAULT_DATASET in datasets:
        ensure_default_dataset(store)
    with MarketStore(store, read_only=True) as st:  # a dataset the store lacks fails its points, not the sweep
        return {d: st.require_dataset(d)["content_hash"] for d in datasets if st.has_dataset(d)}


def finished_hashes(folder: Path, data_hashes: dict[str, str]) -> set[str]:
    """Config hashes of points already finished on the data the store holds now."""
    done = read_points(folder)
    current = set(data_hashes.values())
    return set(done.loc[(done["status"] == "ok") & done["data_hash"].isin(current), "config_hash"])


class _Cluster:
    """A Dask client: to `scheduler` if given, else to an embedded LocalCluster of `workers` processes."""

    def __init__(self, scheduler: str | None, workers: int):
        from dask.distributed import Client, LocalCluster

        self.cluster = None
        if scheduler:
            try:
                self.client = Client(scheduler, timeout="10s")
            except (OSError, TimeoutError, ValueError) as exc:  # ValueError: not an address at all
                raise InputError(f"no Dask scheduler answers ({' '.join(str(exc).split())[:160]})", scheduler,
                                 "give tcp://HOST:PORT of a running `dask scheduler`, or drop --scheduler") from None
        else:
            # Workers start with SIGINT ignored (Python keeps an inherited SIG_IGN): Ctrl-C reaches the
            # driver alone, which closes the cluster, instead of every worker printing a traceback.
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
            try:
                self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                            dashboard_address=None, silence_logs=logging.CRITICAL)
            finally:
                signal.signal(signal.SIGINT, previous)
            self.client = Client(self.cluster)

    @property
    def n_workers(self) -> int:
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def run_sweep(sweep: Sweep, *, out=None, store=None, scheduler: str | None = None, workers: int | None = None,
              chunk_size: int | None = None, on_progress: Callable[[int, int], None] | None = None,
              on_start: Callable[[int, int], None] | None = None) -> dict:
    """Run every point not yet finished; returns {sweep_id, folder, points, skipped, ran, failed}.

    `on_start(to_run, skipped)` is told once the work is planned; `on_progress(done, failed)`
    after each chunk (counts of that chunk)."""
    from dask.distributed import as_completed

    from macrostack.runs import catalog
    from macrostack.runs.address import runs_dir

    out = runs_dir(out)
    store_path = _store_path(store)
    data_hashes = _data_hashes(sweep, store_path)
    folder = sweep_folder(out, sweep.sweep_id)
    write_sweep_file(folder, sweep)
    done = finished_hashes(folder, data_hashes)
    todo = [p for p in sweep.points if p.config_hash not in done]
    values = {p.index: p.values for p in sweep.points}
    if on_start:
        on_start(len(todo), len(sweep.points) - len(todo))
    ran = failed = 0
    if todo or scheduler:  # a given scheduler is contacted even with nothing to do: a bad address is an error
        cluster = _Cluster(scheduler, workers or os.cpu_count() or 1)
        try:
            chunks = plan_chunks(todo, store_path, cluster.n_workers, chunk_size)
            futures = {cluster.client.submit(evaluate_chunk, store_path,
                                             [(p.index, p.config_hash, p.config.resolved()) for p in chunk],
                                             pure=False, retries=RETRIES): chunk for chunk in chunks}
            for future in as_completed(futures):
                try:
                    rows = future.result()
                except Exception as exc:  # the chunk's worker died past its retries
                    why = f"chunk lost: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
                    rows = [{"point": p.index, "config_hash": p.config_hash, "status": "failed", "error": why,
                             "metrics": {}, "dates": None, "net": None, "data_hash": None, "seconds": 0.0}
                            for p in futures[future]]
                write_part(folder, rows, values)
                catalog.record_sweep_points(out, sweep.sweep_id, rows, values)
                bad = sum(r["status"] != "ok" for r in rows)
                ran, failed = ran + len(rows), failed + bad
                if on_progress:
                    on_progress(len(rows), bad)
                future.release()
        finally:
            cluster.close()
    return {"sweep_id": sweep.sweep_id, "folder": str(folder), "points": len(sweep.points),
            "skipped": len(sweep.points) - len(todo), "ran": ran, "failed": failed}
