"""The promotion gate for a sleeve: does its signal's sign alone make money?

Sign-only, equal-weight, daily, no overlay, no risk targeting: at every session t,
`w_i = sign(s_i[t]) / n[t]` over the n instruments with a signal, held from t+1 under the
one P&L contract (lag 1, constant holding, costs from the data). A spread engine (curve RV, the
VRP calendar spread) is checked per spread: `sign(s_spread) · legs / Σ|legs|`, equal weight
across the ready spreads, so the hedge ratios survive. A sleeve that cannot pass this on real
data has no business in a portfolio.
"""

from __future__ import annotations

import numpy as np

from macrostack.config import StackConfig
from macrostack.data.market import MarketData
from macrostack.engines import ENGINES
from macrostack.errors import InputError
from macrostack.metrics import performance_metrics
from macrostack.pnl import held_panel


def sanity_check(cfg: StackConfig, sleeve: str, md: MarketData) -> dict:
    if sleeve not in cfg.sleeves:
        raise InputError(f"unknown sleeve {sleeve!r}", "sanity", f"use one of {', '.join(cfg.sleeves)}")
    sc = cfg.sleeves[sleeve]
    engine = ENGINES[sc.engine]
    why = engine.inert_reason(md, sc.params)
    if why:
        raise InputError(f"sleeve {sleeve!r} is INERT: {why}", "sanity",
                         "use a dataset that has the data (macrostack data ingest pysystemtrade PATH)")
    w = engine.sanity_weights(md, sc.params)
    reb = np.arange(md.n_sessions)
    out = held_panel(w, reb, md.returns, md.field("cost"), lag=1, holding="constant")
    first = np.flatnonzero(np.abs(w).sum(axis=1) > 0)
    if not len(first):
        raise InputError(f"sleeve {sleeve!r} never produces a signal in this period", "sanity", "use a longer period")
    start = max(int(first[0]) + 1, md.start_index)
    net = performance_metrics(out["net"], md.dates, gross=out["gross"], costs=out["cost"], traded=out["traded"],
                              start=start)
    gross = performance_metrics(out["gross"], md.dates, start=start)
    return {"sleeve": sleeve, "engine": sc.engine, "sharpe_gross": gross["sharpe"], "sharpe_net": net["sharpe"],
            "ann_return_net": net["ann_return"], "ann_vol": net["ann_vol"], "turnover_per_year": net["turnover_per_year"],
            "first_date": net["first_date"], "last_date": net["last_date"]}
