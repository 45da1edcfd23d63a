"""What a Dask worker runs: a chunk of sweep points over one MarketData, upstream work shared.

A worker process keeps the market panels it has loaded (read from the store once per
market key, never shipped per task) and one `Memo` per panel set, so engine signals, sleeve
sizing and the allocator's correlations are computed once per key per worker and reused by
every later point and chunk that needs them. Each point goes through the same `simulate`
and `runner.headline_metrics` as `macrostack run`: its net series and metrics are the run's,
bit for bit. A point that fails is returned with its one-line error; the others go on.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from typing import Any

import numpy as np

MAX_MARKETS = 2  # panel sets kept per worker (each is a few tens of MB on the default data)
_MARKETS: OrderedDict[str, tuple[Any, Any]] = OrderedDict()


def market_key(cfg, store: str | None) -> str:
    """What the loaded panels depend on: the store, the data section, the warm-up, the fields and
    whether derived instruments are loaded (`runner.market_data`)."""
    from macrostack.runner import needed_fields, uses_derived
    from macrostack.simulate import warmup_sessions
    return json.dumps([store, cfg.data.model_dump(mode="json"), warmup_sessions(cfg), needed_fields(cfg),
                       uses_derived(cfg)])


def upstream_key(cfg) -> str:
    """What layers 1–3 depend on besides the data: points sharing it share engine and sizing work."""
    rt = cfg.risk_targeting
    engines = {k: [v.engine, v.params.model_dump(mode="json")] for k, v in cfg.sleeves.items() if v.weight > 0}
    return json.dumps([engines, cfg.signals.model_dump(mode="json"), cfg.data.schedule, rt.vol_lookback,
                       rt.estimator, rt.ewma_lambda, rt.newey_west_lags], sort_keys=True)


def _market(cfg, store: str | None):
    """(MarketData, Memo) for `cfg`, loaded once per worker and market key (least recently used dropped)."""
    from macrostack.data.store import MarketStore
    from macrostack.memo import Memo
    from macrostack.runner import market_data

    key = market_key(cfg, store)
    if key in _MARKETS:
        _MARKETS.move_to_end(key)
        return _MARKETS[key]
    with MarketStore(store, read_only=True) as st:
        md = market_data(cfg, st)
    _MARKETS[key] = (md, Memo())
    while len(_MARKETS) > MAX_MARKETS:
        _MARKETS.popitem(last=False)
    return _MARKETS[key]


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if type(exc).__name__ == "InputError" else f"{type(exc).__name__}: {text}"


def evaluate_point(cfg, store: str | None) -> dict:
    """One point: simulate + headline metrics; its ready-period net series (float64) and dates."""
    from macrostack.runner import headline_metrics
    from macrostack.simulate import check_history, simulate

    md, memo = _market(cfg, store)
    check_history(cfg, md)  # as `macrostack run`: lookbacks longer than the data are this point's error
    ledger = simulate(cfg, md, memo=memo)
    metrics, start = headline_metrics(cfg, ledger, md)
    return {"metrics": metrics, "dates": np.asarray(ledger.dates[start:], dtype="datetime64[D]"),
            "net": np.asarray(ledger.daily["net"][start:], dtype=np.float64), "data_hash": md.data_hash}


def evaluate_chunk(store: str | None, points: list[tuple[int, str, dict]]) -> list[dict]:
    """Evaluate `(index, config hash, resolved config)` points; every point gives a result row."""
    from macrostack.config import parse_config

    rows = []
    for index, config_hash, raw in points:
        t0 = time.perf_counter()
        row: dict[str, Any] = {"point": index, "config_hash": config_hash}
        try:
            row.update(evaluate_point(parse_config(raw, f"point {index}"), store), status="ok", error="")
        except Exception as exc:  # a failing point is recorded, the sweep goes on
            row.update(status="failed", error=_one_line(exc)[:500], metrics={}, dates=None, net=None, data_hash=None)
        row["seconds"] = time.perf_counter() - t0
        rows.append(row)
    return rows
